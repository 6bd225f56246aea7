import Foundation

/// Pass/fail thresholds of a benchmark run; nil means "not checked".
public struct BenchmarkThresholds: Sendable, Codable, Equatable {
    public var minAccuracy: Double?
    /// Applies to every batch size.
    public var maxP99Ms: Double?
    /// Rows per second, at the best batch size.
    public var minThroughput: Double?
    /// Largest |device − CPU reference| / max(1, |reference|) over all outputs.
    public var maxError: Double

    /// float32 GEMMs that sum in a different order (GPU tiles vs OpenBLAS blocks) differ
    /// by about sqrt(K) ulps of the result; 1e-3 leaves room for K in the thousands and
    /// deep models while still catching a wrong kernel, whose error is of order one.
    public static let defaultMaxError = 1e-3

    public init(minAccuracy: Double? = nil, maxP99Ms: Double? = nil, minThroughput: Double? = nil, maxError: Double = defaultMaxError) {
        self.minAccuracy = minAccuracy
        self.maxP99Ms = maxP99Ms
        self.minThroughput = minThroughput
        self.maxError = maxError
    }
}

public struct BenchmarkConfiguration: Sendable {
    public var batchSizes: [Int]
    public var iterations: Int
    public var warmup: Int
    public var thresholds: BenchmarkThresholds
    /// The digits data set, to measure a classifier's held-out accuracy.
    public var digits: DigitsDataset?
    /// Seed of the synthetic inputs.
    public var inputSeed: UInt64

    public init(batchSizes: [Int], iterations: Int, warmup: Int, thresholds: BenchmarkThresholds, digits: DigitsDataset?, inputSeed: UInt64 = 1) {
        self.batchSizes = batchSizes
        self.iterations = iterations
        self.warmup = warmup
        self.thresholds = thresholds
        self.digits = digits
        self.inputSeed = inputSeed
    }
}

public struct BenchmarkReport: Codable, Sendable {
    public struct Model: Codable, Sendable {
        public var name: String
        public var version: String
        public var source: String
        public var weightsSHA256: String
        public var layers: String
        public var flopsPerRow: Double
    }

    public struct Batch: Codable, Sendable {
        public var batchSize: Int
        public var iterations: Int
        public var p50Ms: Double
        public var p95Ms: Double
        public var p99Ms: Double
        public var meanMs: Double
        public var rowsPerSecond: Double
        /// Whole forward passes (GEMM, bias, activation, copies).
        public var gflops: Double
        /// The GEMMs alone (on a GPU: the kernels, without copies): the figure to compare
        /// with another BLAS on the same shapes.
        public var matmulGflops: Double?
    }

    public struct Check: Codable, Sendable {
        public var name: String
        public var threshold: Double
        public var value: Double
        public var passed: Bool
    }

    public var device: DeviceInfo
    public var model: Model
    public var accuracy: Double?
    public var heldOutRows: Int?
    public var maxError: Double
    public var errorReference: String
    public var batches: [Batch]
    public var checks: [Check]
    public var passed: Bool
}

public enum Benchmark {
    public static func run(_ backend: any InferenceBackend, _ configuration: BenchmarkConfiguration) async throws -> BenchmarkReport {
        let model = backend.model
        guard configuration.iterations > 0, configuration.warmup >= 0, !configuration.batchSizes.isEmpty,
            configuration.batchSizes.allSatisfy({ $0 > 0 && $0 <= 1 << 16 })
        else {
            throw WorkloadError(.usage, "need iterations ≥ 1, warm-up ≥ 0 and batch sizes in 1…65536")
        }
        var accuracy: Double?
        var heldOutRows: Int?
        var maxError = 0.0
        var inputs: [Float]
        let checkRows: Int

        if model.isClassifier, let digits = configuration.digits, model.inputWidth == DigitsDataset.features {
            let split = digits.split(seed: model.metadata.dataset?.splitSeed ?? DigitsTrainer.standard.splitSeed, heldOut: model.metadata.dataset?.heldOut ?? DigitsTrainer.standard.heldOut)
            let batch = digits.batch(split.heldOut)
            let logits = try await backend.forward(batch.pixels, rows: split.heldOut.count)
            let classes = model.outputWidth
            var correct = 0
            for r in 0..<split.heldOut.count where DigitsTrainer.argmax(logits[(r * classes)..<((r + 1) * classes)]) == batch.labels[r] {
                correct += 1
            }
            accuracy = Double(correct) / Double(split.heldOut.count)
            heldOutRows = split.heldOut.count
            maxError = try relativeError(logits, reference: CPUBackend.forward(model, batch.pixels, rows: split.heldOut.count))
            inputs = batch.pixels
            checkRows = split.heldOut.count
        } else {
            checkRows = min(configuration.batchSizes.max() ?? 1, 256)
            inputs = MLPModel.syntheticInputs(rows: checkRows, width: model.inputWidth, seed: configuration.inputSeed)
            let out = try await backend.forward(inputs, rows: checkRows)
            maxError = try relativeError(out, reference: CPUBackend.forward(model, inputs, rows: checkRows))
        }

        var batches: [BenchmarkReport.Batch] = []
        for batchSize in configuration.batchSizes {
            let x = (0..<batchSize).flatMap { r in inputs[((r % checkRows) * model.inputWidth)..<((r % checkRows + 1) * model.inputWidth)] }
            for _ in 0..<configuration.warmup { _ = try await backend.forward(x, rows: batchSize) }
            var times: [Double] = []
            times.reserveCapacity(configuration.iterations)
            for _ in 0..<configuration.iterations {
                let start = DispatchTime.now().uptimeNanoseconds
                _ = try await backend.forward(x, rows: batchSize)
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
            let mean = times.reduce(0, +) / Double(times.count)
            let matmul = try backend.matmulGFLOPS(rows: batchSize, iterations: configuration.iterations, warmup: configuration.warmup)
            batches.append(
                .init(
                    batchSize: batchSize, iterations: configuration.iterations, p50Ms: percentile(times, 50), p95Ms: percentile(times, 95),
                    p99Ms: percentile(times, 99), meanMs: mean, rowsPerSecond: Double(batchSize) / (mean / 1000),
                    gflops: model.flopsPerRow * Double(batchSize) / (mean / 1000) / 1e9, matmulGflops: matmul))
        }

        let t = configuration.thresholds
        var checks: [BenchmarkReport.Check] = [
            .init(name: "max-error", threshold: t.maxError, value: maxError, passed: maxError <= t.maxError)
        ]
        if let min = t.minAccuracy {
            let value = accuracy ?? 0
            checks.append(.init(name: "min-accuracy", threshold: min, value: value, passed: accuracy != nil && value >= min))
        }
        if let max = t.maxP99Ms {
            let worst = batches.map(\.p99Ms).max() ?? 0
            checks.append(.init(name: "max-p99-ms", threshold: max, value: worst, passed: worst <= max))
        }
        if let min = t.minThroughput {
            let best = batches.map(\.rowsPerSecond).max() ?? 0
            checks.append(.init(name: "min-throughput", threshold: min, value: best, passed: best >= min))
        }
        return BenchmarkReport(
            device: backend.device,
            model: .init(
                name: model.metadata.name, version: model.metadata.version, source: model.source.description,
                weightsSHA256: model.metadata.weightsSHA256,
                layers: ([model.inputWidth] + model.layers.map(\.outputs)).map(String.init).joined(separator: "-"),
                flopsPerRow: model.flopsPerRow),
            accuracy: accuracy, heldOutRows: heldOutRows, maxError: maxError,
            errorReference: "CPU forward pass through OpenBLAS on the same inputs (\(checkRows) rows)",
            batches: batches, checks: checks, passed: checks.allSatisfy(\.passed))
    }

    /// max |a − b| / max(1, |b|).
    public static func relativeError(_ a: [Float], reference b: [Float]) throws(WorkloadError) -> Double {
        guard a.count == b.count else { throw WorkloadError(.gpu, "device returned \(a.count) values, the CPU reference \(b.count)") }
        var worst = 0.0
        for i in a.indices {
            let e = Double(abs(a[i] - b[i])) / max(1, Double(abs(b[i])))
            // NaN on one side is an infinite error, not a comparison that quietly fails.
            if e.isNaN { return .infinity }
            worst = max(worst, e)
        }
        return worst
    }

    /// Nearest-rank percentile.
    public static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    /// GFLOP/s of the model's GEMMs alone at `rows`, median over iterations, with
    /// buffers allocated once: the shape-for-shape comparison with another BLAS caller.
    public static func matmulGFLOPS(_ model: MLPModel, rows: Int, iterations: Int, warmup: Int) -> Double {
        let width = max(model.inputWidth, model.layers.map(\.outputs).max() ?? 0)
        var a = MLPModel.syntheticInputs(rows: rows, width: width, seed: 3)
        var c = [Float](repeating: 0, count: rows * width)
        var times: [Double] = []
        for iteration in 0..<(warmup + iterations) {
            let start = DispatchTime.now().uptimeNanoseconds
            for layer in model.layers {
                a.withUnsafeBufferPointer { a in
                    layer.weights.withUnsafeBufferPointer { w in
                        c.withUnsafeMutableBufferPointer { c in
                            BLAS.gemm(m: rows, n: layer.outputs, k: layer.inputs, a: a.baseAddress, b: w.baseAddress, c: c.baseAddress, beta: 0)
                        }
                    }
                }
                swap(&a, &c)
            }
            if iteration >= warmup { times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
        }
        return model.flopsPerRow * Double(rows) / percentile(times, 50) / 1e9
    }
}
