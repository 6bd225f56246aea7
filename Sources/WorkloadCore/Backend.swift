import COpenBLAS
import Foundation

/// The device a backend computes on, as reported by `/info` and the benchmark.
public struct DeviceInfo: Codable, Sendable, Equatable {
    /// "cpu" or "gpu".
    public var kind: String
    /// A human name: the CPU model and BLAS, or the GPU's name.
    public var name: String
    /// Why this device was chosen (what `--device` asked, what was found).
    public var reason: String

    public init(kind: String, name: String, reason: String) {
        self.kind = kind
        self.name = name
        self.reason = reason
    }
}

/// Something that runs a model's forward pass on a batch. The server and the
/// benchmark see only this, so a test can stand in for the real devices.
public protocol InferenceBackend: Sendable {
    var model: MLPModel { get }
    var device: DeviceInfo { get }
    /// `input` is `rows × model.inputWidth` row-major; returns `rows × model.outputWidth`.
    func forward(_ input: [Float], rows: Int) async throws -> [Float]
    /// GFLOP/s of the model's matrix products alone at `rows` (no copies to or from the
    /// device), median over `iterations`; nil when the backend cannot time them apart.
    func matmulGFLOPS(rows: Int, iterations: Int, warmup: Int) throws -> Double?
}

extension InferenceBackend {
    public func matmulGFLOPS(rows: Int, iterations: Int, warmup: Int) throws -> Double? { nil }
}

/// The CPU backend: each layer is one `cblas_sgemm` into a buffer pre-filled with the
/// bias (beta = 1), then ReLU in place.
public struct CPUBackend: InferenceBackend {
    public let model: MLPModel
    public let device: DeviceInfo

    public init(model: MLPModel, reason: String = "--device cpu") {
        self.model = model
        self.device = DeviceInfo(kind: "cpu", name: "\(CPUInfo.current.modelName) via \(BLAS.description)", reason: reason)
    }

    public func forward(_ input: [Float], rows: Int) throws -> [Float] {
        try Self.forward(model, input, rows: rows)
    }

    public func matmulGFLOPS(rows: Int, iterations: Int, warmup: Int) -> Double? {
        Benchmark.matmulGFLOPS(model, rows: rows, iterations: iterations, warmup: warmup)
    }

    public static func forward(_ model: MLPModel, _ input: [Float], rows: Int) throws(WorkloadError) -> [Float] {
        guard input.count == rows * model.inputWidth else {
            throw WorkloadError(.input, "expected \(rows) × \(model.inputWidth) values, got \(input.count)")
        }
        var current = input
        if model.metadata.inputScale != 1 {
            let scale = model.metadata.inputScale
            for i in current.indices { current[i] *= scale }
        }
        for layer in model.layers {
            var output = [Float](repeating: 0, count: rows * layer.outputs)
            output.withUnsafeMutableBufferPointer { out in
                for r in 0..<rows {
                    for j in 0..<layer.outputs { out[r * layer.outputs + j] = layer.bias[j] }
                }
            }
            BLAS.gemm(m: rows, n: layer.outputs, k: layer.inputs, a: current, b: layer.weights, c: &output, beta: 1)
            if layer.activation == .relu {
                output.withUnsafeMutableBufferPointer { out in
                    for i in out.indices where out[i] < 0 { out[i] = 0 }
                }
            }
            current = output
        }
        return current
    }
}

/// The one place the workload calls BLAS.
public enum BLAS {
    /// Ends OpenBLAS's worker threads, which it starts when the binary loads and which spin
    /// on the CPU for their first ~0.1 s. The image's one binary calls this when it runs as
    /// `reconcile`, which does no BLAS work: on a 2-core host a no-op apply of S(20) took
    /// 57 ms with them spinning and 49 ms without. A later BLAS call starts them again.
    public static func stopThreads() {
        _ = blas_thread_shutdown_()
    }

    /// `c = a · b + beta c`, all row-major float32: a is m×k, b is k×n, c is m×n.
    public static func gemm(m: Int, n: Int, k: Int, a: [Float], b: [Float], c: inout [Float], beta: Float = 0) {
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    gemm(m: m, n: n, k: k, a: a.baseAddress, b: b.baseAddress, c: c.baseAddress, beta: beta)
                }
            }
        }
    }

    public static func gemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>?, b: UnsafePointer<Float>?, c: UnsafeMutablePointer<Float>?, beta: Float) {
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasNoTrans, blasint(m), blasint(n), blasint(k),
            1, a, blasint(k), b, blasint(n), beta, c, blasint(n))
    }

    /// "OpenBLAS 0.3.21 (Haswell kernels, 2 threads)", from OpenBLAS itself.
    public static var description: String {
        let config = openblas_get_config().map { String(cString: $0) } ?? "OpenBLAS"
        let core = openblas_get_corename().map { String(cString: $0) } ?? "?"
        return "\(config.split(separator: " ").prefix(2).joined(separator: " ")) (\(core) kernels, \(openblas_get_num_threads()) threads)"
    }

    public static var threads: Int { Int(openblas_get_num_threads()) }
}

/// What /proc/cpuinfo says about the CPU, for reports and the theoretical peak.
public struct CPUInfo: Sendable {
    public var modelName: String
    public var flags: Set<String>
    public var cores: Int
    public var megahertz: Double

    public static let current: CPUInfo = {
        let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        var name = "unknown CPU"
        var flags = Set<String>()
        var mhz = 0.0
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { continue }
            switch parts[0] {
            case "model name": name = parts[1]
            case "flags": flags = Set(parts[1].split(separator: " ").map(String.init))
            case "cpu MHz": mhz = Double(parts[1]) ?? mhz
            default: break
            }
        }
        return CPUInfo(modelName: name, flags: flags, cores: ProcessInfo.processInfo.activeProcessorCount, megahertz: mhz)
    }()

    /// Single-precision FLOPs per cycle per core from the vector flags, assuming two
    /// FMA pipes of the widest vector width: 64 with AVX-512, 32 with AVX2+FMA, 8 with
    /// SSE (separate add and multiply). Under a hypervisor the CPU model may be generic,
    /// so the flags are the only trustworthy description of what the core can issue.
    public var flopsPerCycle: Double {
        if flags.contains("avx512f") { return 64 }
        if flags.contains("avx2") && flags.contains("fma") { return 32 }
        return 8
    }

    /// cores × GHz × FLOPs per cycle.
    public var peakGFLOPS: Double { Double(cores) * megahertz / 1000 * flopsPerCycle }
}
