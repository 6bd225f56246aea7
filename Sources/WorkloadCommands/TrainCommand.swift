import ArgumentParser
import Foundation
import WorkloadCore

struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the digits classifier with the fixed seed and split, and write weights.bin and model.json.",
        discussion: "The result is bit-for-bit the same on every machine; the committed workload/models/digits-mlp is its output.")

    @Option(help: "The digits data set (gzip CSV).")
    var data = "workload/data/digits.csv.gz"

    @Option(help: "Model directory to write.")
    var output = "workload/models/digits-mlp"

    func run() async throws {
        do {
            let dataset = try DigitsDataset.load(path: data)
            let start = Date()
            let model = DigitsTrainer.standard.train(dataset, dataFileName: URL(fileURLWithPath: data).lastPathComponent)
            try model.save(directory: output)
            let accuracy = (model.metadata.heldOutAccuracy ?? 0) * 100
            note(String(format: "trained in %.1f s: held-out accuracy %.2f%%, weights sha256 %@, written to %@",
                Date().timeIntervalSince(start), accuracy, model.metadata.weightsSHA256, output))
        } catch {
            throw fail(error)
        }
    }
}
