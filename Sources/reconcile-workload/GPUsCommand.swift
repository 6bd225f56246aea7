import ArgumentParser
import Foundation
import WorkloadCore

struct GPUsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gpus",
        abstract: "List the GPUs visible to this process as JSON.",
        discussion: "Exits 0 with \"available\": false and a reason when there is no usable GPU.")

    func run() async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(GPUInventory.probe()), as: UTF8.self))
    }
}
