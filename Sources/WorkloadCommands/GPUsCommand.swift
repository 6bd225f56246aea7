import ArgumentParser
import Foundation
import WorkloadCore

struct GPUsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gpus",
        abstract: "List the GPUs visible to this process as JSON, or as nvidia-smi's CSV.",
        discussion: """
            Exits 0 with "available": false and a reason when there is no usable GPU. \
            --format csv prints what `nvidia-smi --query-gpu=index,uuid,memory.total --format=csv,noheader` \
            prints, so reconcile's GPU probe reads either the same way.
            """)

    enum Format: String, ExpressibleByArgument { case json, csv }

    @Option(help: "json (default) or csv.")
    var format: Format = .json

    func run() async throws {
        let inventory = GPUInventory.probe()
        switch format {
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(inventory), as: UTF8.self))
        case .csv:
            for gpu in inventory.gpus {
                print("\(gpu.index), \(gpu.uuid), \(gpu.memoryBytes >> 20) MiB")
            }
        }
    }
}
