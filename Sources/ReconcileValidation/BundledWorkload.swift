import Foundation
import ReconcileCore

/// The bundled inference workload as a validation provider: its `/v1/predict` route and
/// golden digits for `mode: endpoint`, its benchmark command and report for `mode: job`.
public struct BundledWorkload: EndpointProvider {
    public var path: String
    public let cases: [EndpointCase]
    public var prediction: JSONPath
    public var devicePath: String? { "/healthz" }

    /// The workload's answer: `{"predictions": [7], ...}`.
    public static let predictionPath = try! JSONPath(parsing: "$.predictions[0]")

    public init(path: String = "/v1/predict", prediction: JSONPath = BundledWorkload.predictionPath) {
        self.path = path
        self.prediction = prediction
        cases = GoldenDigits.rows.indices.map { EndpointCase(body: GoldenDigits.body($0), expect: .number(Double(GoldenDigits.label($0)))) }
    }

    // MARK: job

    /// `reconcile-workload run` with the spec's thresholds, on the GPU when the replica has one.
    public static func benchmarkCommand(_ spec: ValidationSpec, gpu: Bool) -> [String] {
        var command = ["reconcile-workload", "run", "--device", gpu ? "gpu" : "cpu", "--batch-sizes", "1,32,256", "--iterations", "30"]
        if let v = spec.minAccuracy { command += ["--min-accuracy", String(v)] }
        if let v = spec.maxError { command += ["--max-error", String(v)] }
        if let v = spec.maxP99Ms { command += ["--max-p99-ms", String(v)] }
        if let v = spec.minThroughput { command += ["--min-throughput", String(v)] }
        return command
    }

    /// What a job's benchmark report says, or, for a user's own check image, its exit status
    /// (0 passes) with the last lines it printed.
    public static func jobRun(target: String, gpus: [String], exitCode: Int, stdout: String, stderr: String) -> ServiceValidation.Run {
        let tail = stderr.split(separator: "\n").suffix(8).joined(separator: "\n")
        guard let start = stdout.firstIndex(of: "{"),
              let report = try? JSONDecoder().decode(BenchmarkSummary.self, from: Data(stdout[start...].utf8))
        else {
            let passed = exitCode == 0
            let why = exitCode == 2 ? "the benchmark could not run (exit 2)" : "the job exited with code \(exitCode)"
            let lines = tail.isEmpty ? stdout.split(separator: "\n").suffix(8).joined(separator: "\n") : tail
            return .init(target: target, gpus: gpus, passed: passed, message: passed ? nil : ([why, lines].filter { !$0.isEmpty }.joined(separator: ":\n")))
        }
        var figures: [String: Double] = [:]
        if let accuracy = report.accuracy { figures["accuracy"] = accuracy }
        if let maxError = report.maxError { figures["max_error"] = maxError }
        if let worst = report.batches.map(\.p99Ms).max() { figures["p99_ms"] = worst }
        if let first = report.batches.first { figures["p50_ms"] = first.p50Ms }
        if let best = report.batches.map(\.rowsPerSecond).max() { figures["rows_per_second"] = best }
        let checks = report.checks.map { ServiceValidation.Check(name: $0.name, threshold: $0.threshold, value: $0.value, passed: $0.passed) }
        let passed = exitCode == 0 && report.passed
        let device = report.device.map { [$0.kind, $0.name].compactMap { $0 }.joined(separator: " ") }
        return .init(target: target, gpus: gpus, passed: passed, checks: checks, figures: figures,
                     message: passed ? nil : (tail.isEmpty ? "the job exited with code \(exitCode)" : tail), device: device)
    }

    /// The part of the workload's benchmark report validation reads.
    struct BenchmarkSummary: Decodable {
        struct Device: Decodable { var kind: String?; var name: String? }
        struct Batch: Decodable { var p50Ms: Double; var p99Ms: Double; var rowsPerSecond: Double }
        struct Check: Decodable { var name: String; var threshold: Double; var value: Double; var passed: Bool }
        var device: Device?
        var accuracy: Double?
        var maxError: Double?
        var batches: [Batch]
        var checks: [Check]
        var passed: Bool
    }
}

extension GoldenDigits {
    public static func pixels(_ row: Int) -> [Int] {
        rows[row].map { Int(String($0), radix: 17) ?? 0 }
    }

    public static func label(_ row: Int) -> Int {
        let index = labels.index(labels.startIndex, offsetBy: row)
        return Int(String(labels[index])) ?? -1
    }

    /// `{"inputs":[[…64 pixels…]]}`
    public static func body(_ row: Int) -> String {
        "{\"inputs\":[[" + pixels(row).map(String.init).joined(separator: ",") + "]]}"
    }
}
