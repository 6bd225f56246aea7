import Foundation
import Testing
@testable import WorkloadCore

@Suite("run")
struct BenchmarkTests {
    static func config(_ thresholds: BenchmarkThresholds, sizes: [Int] = [1, 16]) -> BenchmarkConfiguration {
        .init(batchSizes: sizes, iterations: 5, warmup: 1, thresholds: thresholds, digits: Fixtures.digits)
    }

    @Test("run passes when accuracy, latency and throughput meet their thresholds")
    func passes() async throws {
        let report = try await Benchmark.run(
            CPUBackend(model: Fixtures.model), Self.config(.init(minAccuracy: 0.95, maxP99Ms: 10_000, minThroughput: 1)))
        #expect(report.passed)
        #expect(report.checks.map(\.name) == ["max-error", "min-accuracy", "max-p99-ms", "min-throughput"])
        #expect((report.accuracy ?? 0) >= 0.95)
        #expect(report.batches.map(\.batchSize) == [1, 16])
        #expect(report.batches.allSatisfy { $0.p50Ms <= $0.p95Ms && $0.p95Ms <= $0.p99Ms && $0.gflops > 0 })
    }

    @Test("run fails on an unreachable accuracy, p99 or throughput threshold, and says which")
    func failsOnThresholds() async throws {
        let report = try await Benchmark.run(
            CPUBackend(model: Fixtures.model), Self.config(.init(minAccuracy: 0.999, maxP99Ms: 0, minThroughput: 1e12)))
        #expect(!report.passed)
        #expect(Set(report.checks.filter { !$0.passed }.map(\.name)) == ["min-accuracy", "max-p99-ms", "min-throughput"])
    }

    /// A device whose results are off by 0.01: the CPU reference check must catch it.
    struct SkewedBackend: InferenceBackend {
        let model: MLPModel
        let device = DeviceInfo(kind: "gpu", name: "skewed", reason: "test")
        func forward(_ input: [Float], rows: Int) async throws -> [Float] {
            try CPUBackend.forward(model, input, rows: rows).map { $0 + 0.01 }
        }
    }

    @Test("a device whose outputs differ from the CPU reference beyond the tolerance fails max-error")
    func failsOnError() async throws {
        let model = try MLPModel.synthetic(width: 64, depth: 2, seed: 1)
        let report = try await Benchmark.run(SkewedBackend(model: model), Self.config(.init()))
        #expect(!report.passed)
        #expect(report.maxError > BenchmarkThresholds.defaultMaxError)
        let exact = try await Benchmark.run(CPUBackend(model: model), Self.config(.init()))
        #expect(exact.passed)
        #expect(exact.maxError == 0)
    }

    @Test("the executable exits 0 when run passes and 1 when a threshold fails, printing the JSON report")
    func exitStatus() throws {
        let binary = Repo.product("reconcile-workload")
        let common = ["run", "--device", "cpu", "--model", Repo.model, "--data", Repo.data, "--iterations", "3", "--batch-sizes", "1,8"]
        let pass = try runProcess(binary, common + ["--min-accuracy", "0.95"])
        #expect(pass.status == 0, "\(pass.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(pass.stdout.utf8)) as? [String: Any]
        #expect(report?["passed"] as? Bool == true)
        #expect((report?["device"] as? [String: Any])?["kind"] as? String == "cpu")
        let fail = try runProcess(binary, common + ["--min-accuracy", "0.9999"])
        #expect(fail.status == 1)
        #expect(fail.stderr.contains("FAIL min-accuracy"))
    }
}
