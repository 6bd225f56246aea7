import Foundation
import ReconcileCore
@testable import ReconcileRuntime
import ReconcileValidation
import Testing

/// How validation turns what it measured into a verdict: pure, no engine.
@Suite("validation reports")
struct ValidationReportTests {
    @Test("the benchmark's JSON report becomes checks and figures; exit 1 with a failed check fails")
    func jobReport() {
        let json = """
            {"device": {"kind": "cpu", "name": "OpenBLAS", "reason": "--device cpu"}, "accuracy": 0.5, "heldOutRows": 360,
             "maxError": 0, "errorReference": "cpu", "model": {"name": "m", "version": "1", "source": "s", "weightsSHA256": "x", "layers": "64", "flopsPerRow": 1},
             "batches": [{"batchSize": 1, "iterations": 5, "p50Ms": 0.1, "p95Ms": 0.2, "p99Ms": 0.3, "meanMs": 0.1, "rowsPerSecond": 9000, "gflops": 1},
                         {"batchSize": 32, "iterations": 5, "p50Ms": 1, "p95Ms": 2, "p99Ms": 3, "meanMs": 1, "rowsPerSecond": 30000, "gflops": 2}],
             "checks": [{"name": "min_accuracy", "threshold": 0.9, "value": 0.5, "passed": false}], "passed": false}
            """
        let run = BundledWorkload.jobRun(target: "job on CPU", gpus: [], exitCode: 1, stdout: "note\n" + json, stderr: "FAIL min_accuracy: 0.5 against threshold 0.9")
        #expect(!run.passed)
        #expect(run.checks == [ServiceValidation.Check(name: "min_accuracy", threshold: 0.9, value: 0.5, passed: false)])
        #expect(run.figures["accuracy"] == 0.5 && run.figures["p99_ms"] == 3 && run.figures["rows_per_second"] == 30000)
        #expect(run.device == "cpu OpenBLAS")
    }

    @Test("a job that could not run fails with the last lines of its log; another image passes by its exit status")
    func jobExitStatus() {
        let broken = BundledWorkload.jobRun(target: "job on GPUs 0", gpus: ["0"], exitCode: 2, stdout: "", stderr: "loading\nlibcuda.so.1 not found")
        #expect(!broken.passed && broken.message?.contains("could not run") == true && broken.message?.contains("libcuda.so.1") == true)
        let summary = ServiceValidation(service: "infer", mode: .job, seconds: 1, runs: [broken], onFailure: .rollback).failure
        #expect(summary == "job on GPUs 0: the benchmark could not run (exit 2): libcuda.so.1 not found")
        #expect(BundledWorkload.jobRun(target: "job on CPU", gpus: [], exitCode: 0, stdout: "ok", stderr: "").passed)
        #expect(!BundledWorkload.jobRun(target: "job on CPU", gpus: [], exitCode: 3, stdout: "", stderr: "").passed)
    }

    @Test("endpoint figures: accuracy counts failed requests as wrong, percentiles over answered ones, thresholds per replica")
    func endpointSummary() {
        var spec = ValidationSpec(mode: .endpoint, minAccuracy: 0.9, maxP99Ms: 50, minThroughput: 10)
        var samples = (0..<99).map { EndpointDriver.Sample(seconds: Double($0 + 1) / 1000, correct: true) }
        samples.append(EndpointDriver.Sample(seconds: 0, correct: false, error: "HTTP 500: boom"))
        let run = EndpointDriver.summarize(target: "replica 1", samples: samples, seconds: 2, spec: spec, device: "cpu")
        #expect(run.figures["accuracy"] == 0.99 && run.figures["errors"] == 1 && run.figures["requests"] == 100)
        #expect(run.figures["p50_ms"] == 50 && run.figures["p99_ms"] == 99)
        #expect(run.figures["requests_per_second"] == 49.5)
        #expect(!run.passed && run.checks.first { !$0.passed }?.name == "max_p99_ms")
        #expect(run.message?.contains("1 of 100 requests failed; first: HTTP 500: boom") == true)
        spec.maxP99Ms = nil
        #expect(EndpointDriver.summarize(target: "replica 1", samples: samples, seconds: 2, spec: spec, device: nil).passed)
        let none = EndpointDriver.summarize(
            target: "replica 2", samples: [EndpointDriver.Sample(seconds: 0, correct: false, error: "connection refused")], seconds: 1,
            spec: ValidationSpec(mode: .endpoint), device: nil)
        #expect(!none.passed, "no answer at all fails even without thresholds")
    }

    @Test("the default job command carries the thresholds and asks for the GPU only when the replica has one")
    func benchmarkCommand() {
        let spec = ValidationSpec(mode: .job, minAccuracy: 0.95, maxError: 0.001, maxP99Ms: 20, minThroughput: 1000)
        let gpu = BundledWorkload.benchmarkCommand(spec, gpu: true)
        #expect(gpu.starts(with: ["reconcile-workload", "run", "--device", "gpu"]))
        for flag in ["--min-accuracy", "--max-error", "--max-p99-ms", "--min-throughput"] { #expect(gpu.contains(flag)) }
        #expect(BundledWorkload.benchmarkCommand(ValidationSpec(mode: .job), gpu: false).contains("cpu"))
    }
}
