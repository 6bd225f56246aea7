import ArgumentParser
import Foundation
import WorkloadCore

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "One-shot benchmark: warm-up, timed iterations per batch size, accuracy or error against the CPU, JSON report.",
        discussion: "Exit status: 0 all checks passed, 1 a threshold failed, 2 the benchmark could not run.")

    @OptionGroup var model: ModelOptions

    @Option(help: "Digits data set for the accuracy check. Default: $RECONCILE_WORKLOAD_DATA, else the bundled copy.")
    var data: String?

    @Option(help: "Comma-separated batch sizes.")
    var batchSizes = "1,32,256"

    @Option(help: "Timed iterations per batch size.")
    var iterations = 50

    @Option(help: "Untimed warm-up iterations per batch size.")
    var warmup = 5

    @Option(help: "Fail unless held-out accuracy (digits) is at least this.")
    var minAccuracy: Double?

    @Option(help: "Fail if any batch size's p99 latency exceeds this many milliseconds.")
    var maxP99Ms: Double?

    @Option(help: "Fail unless the best batch size reaches this many rows per second.")
    var minThroughput: Double?

    @Option(help: "Fail if max |device − CPU| / max(1, |CPU|) exceeds this.")
    var maxError = BenchmarkThresholds.defaultMaxError

    func run() async throws {
        let sizes = batchSizes.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !sizes.isEmpty, sizes.count == batchSizes.split(separator: ",").count else {
            throw ValidationError("--batch-sizes must be comma-separated integers (got \(batchSizes))")
        }
        let report: BenchmarkReport
        do {
            let loaded = try model.load()
            let backend = try DeviceSelection.open(try model.deviceChoice(), model: loaded)
            note("device: \(backend.device.kind) (\(backend.device.name)): \(backend.device.reason)")
            let digits = loaded.isClassifier ? try DigitsDataset.load(path: try ModelLocation.dataPath(data)) : nil
            report = try await Benchmark.run(
                backend,
                .init(
                    batchSizes: sizes, iterations: iterations, warmup: warmup,
                    thresholds: .init(minAccuracy: minAccuracy, maxP99Ms: maxP99Ms, minThroughput: minThroughput, maxError: maxError),
                    digits: digits, inputSeed: model.seed))
        } catch let error as ValidationError {
            throw error
        } catch {
            throw fail(error)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(report), as: UTF8.self))
        for check in report.checks where !check.passed {
            note("FAIL \(check.name): \(check.value) against threshold \(check.threshold)")
        }
        if !report.passed { throw ExitCode(1) }
    }
}
