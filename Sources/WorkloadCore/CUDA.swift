import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The CUDA driver API, loaded at run time from `libcuda.so.1`, which the NVIDIA
/// container runtime mounts into GPU containers. Nothing links against CUDA, so the
/// same binary runs on hosts without a GPU; kernels are PTX text that the driver
/// compiles for whatever GPU it finds, so the image needs no CUDA toolkit.
final class CUDADriver: @unchecked Sendable {
    // @unchecked: the fields are immutable after init; the driver API itself is thread-safe.
    typealias CUresult = Int32
    typealias CUdevice = Int32
    typealias CUdeviceptr = UInt64

    let cuInit: @convention(c) (UInt32) -> CUresult
    let cuDriverGetVersion: @convention(c) (UnsafeMutablePointer<Int32>) -> CUresult
    let cuDeviceGetCount: @convention(c) (UnsafeMutablePointer<Int32>) -> CUresult
    let cuDeviceGet: @convention(c) (UnsafeMutablePointer<CUdevice>, Int32) -> CUresult
    let cuDeviceGetName: @convention(c) (UnsafeMutablePointer<CChar>, Int32, CUdevice) -> CUresult
    let cuDeviceTotalMem: @convention(c) (UnsafeMutablePointer<Int>, CUdevice) -> CUresult
    let cuDeviceGetAttribute: @convention(c) (UnsafeMutablePointer<Int32>, Int32, CUdevice) -> CUresult
    let cuDeviceGetUuid: @convention(c) (UnsafeMutablePointer<UInt8>, CUdevice) -> CUresult
    let cuDevicePrimaryCtxRetain: @convention(c) (UnsafeMutablePointer<OpaquePointer?>, CUdevice) -> CUresult
    let cuCtxSetCurrent: @convention(c) (OpaquePointer?) -> CUresult
    let cuCtxSynchronize: @convention(c) () -> CUresult
    let cuModuleLoadDataEx: @convention(c) (
        UnsafeMutablePointer<OpaquePointer?>, UnsafeRawPointer, UInt32, UnsafeMutablePointer<Int32>?,
        UnsafeMutablePointer<UnsafeMutableRawPointer?>?
    ) -> CUresult
    let cuModuleGetFunction: @convention(c) (UnsafeMutablePointer<OpaquePointer?>, OpaquePointer?, UnsafePointer<CChar>) -> CUresult
    let cuMemAlloc: @convention(c) (UnsafeMutablePointer<CUdeviceptr>, Int) -> CUresult
    let cuMemFree: @convention(c) (CUdeviceptr) -> CUresult
    let cuMemcpyHtoD: @convention(c) (CUdeviceptr, UnsafeRawPointer, Int) -> CUresult
    let cuMemcpyDtoH: @convention(c) (UnsafeMutableRawPointer, CUdeviceptr, Int) -> CUresult
    let cuLaunchKernel: @convention(c) (
        OpaquePointer?, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, OpaquePointer?,
        UnsafeMutablePointer<UnsafeMutableRawPointer?>?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?
    ) -> CUresult
    let cuGetErrorName: @convention(c) (CUresult, UnsafeMutablePointer<UnsafePointer<CChar>?>) -> CUresult

    static let library = "libcuda.so.1"

    /// The driver, loaded once per process; the error says what is missing.
    static let shared: Result<CUDADriver, WorkloadError> = Result { () throws(WorkloadError) in try CUDADriver() }

    /// Where the NVIDIA container runtime puts the driver library, tried when the loader's
    /// cache does not know it (an image without a full ld.so configuration).
    static let fallbackPaths = [
        "/usr/lib/x86_64-linux-gnu/libcuda.so.1", "/usr/lib/aarch64-linux-gnu/libcuda.so.1", "/usr/lib64/libcuda.so.1",
    ]

    private init() throws(WorkloadError) {
        var loaded = dlopen(Self.library, RTLD_NOW | RTLD_LOCAL)
        let firstError = loaded == nil ? dlerror().map { String(cString: $0) } : nil
        for path in Self.fallbackPaths where loaded == nil {
            loaded = dlopen(path, RTLD_NOW | RTLD_LOCAL)
        }
        guard let handle = loaded else {
            let detail = firstError ?? "dlopen failed"
            throw WorkloadError(
                .gpuUnavailable,
                "\(Self.library) not found: the container has no NVIDIA driver; run it with --gpus (docker run --gpus all) or on a host with the NVIDIA container runtime",
                cause: detail)
        }
        func symbol<T>(_ name: String, _: T.Type) throws(WorkloadError) -> T {
            guard let pointer = dlsym(handle, name) else {
                throw WorkloadError(.gpuUnavailable, "\(Self.library) has no \(name): the NVIDIA driver is too old for this workload (needs CUDA 11 or later)")
            }
            return unsafeBitCast(pointer, to: T.self)
        }
        cuInit = try symbol("cuInit", type(of: cuInit))
        cuDriverGetVersion = try symbol("cuDriverGetVersion", type(of: cuDriverGetVersion))
        cuDeviceGetCount = try symbol("cuDeviceGetCount", type(of: cuDeviceGetCount))
        cuDeviceGet = try symbol("cuDeviceGet", type(of: cuDeviceGet))
        cuDeviceGetName = try symbol("cuDeviceGetName", type(of: cuDeviceGetName))
        cuDeviceTotalMem = try symbol("cuDeviceTotalMem_v2", type(of: cuDeviceTotalMem))
        cuDeviceGetAttribute = try symbol("cuDeviceGetAttribute", type(of: cuDeviceGetAttribute))
        cuDeviceGetUuid = try symbol("cuDeviceGetUuid", type(of: cuDeviceGetUuid))
        cuDevicePrimaryCtxRetain = try symbol("cuDevicePrimaryCtxRetain", type(of: cuDevicePrimaryCtxRetain))
        cuCtxSetCurrent = try symbol("cuCtxSetCurrent", type(of: cuCtxSetCurrent))
        cuCtxSynchronize = try symbol("cuCtxSynchronize", type(of: cuCtxSynchronize))
        cuModuleLoadDataEx = try symbol("cuModuleLoadDataEx", type(of: cuModuleLoadDataEx))
        cuModuleGetFunction = try symbol("cuModuleGetFunction", type(of: cuModuleGetFunction))
        cuMemAlloc = try symbol("cuMemAlloc_v2", type(of: cuMemAlloc))
        cuMemFree = try symbol("cuMemFree_v2", type(of: cuMemFree))
        cuMemcpyHtoD = try symbol("cuMemcpyHtoD_v2", type(of: cuMemcpyHtoD))
        cuMemcpyDtoH = try symbol("cuMemcpyDtoH_v2", type(of: cuMemcpyDtoH))
        cuLaunchKernel = try symbol("cuLaunchKernel", type(of: cuLaunchKernel))
        cuGetErrorName = try symbol("cuGetErrorName", type(of: cuGetErrorName))
        try check(cuInit(0), "cuInit", hint: "the driver library is present but cannot talk to a GPU (is /dev/nvidia* mounted into the container?)")
    }

    /// Turns a CUresult into an error naming the call and the driver's error name.
    func check(_ result: CUresult, _ call: String, hint: String? = nil) throws(WorkloadError) {
        guard result != 0 else { return }
        var name: UnsafePointer<CChar>?
        _ = cuGetErrorName(result, &name)
        let text = name.map { String(cString: $0) } ?? "CUDA error \(result)"
        let code: WorkloadError.Code = call == "cuInit" ? .gpuUnavailable : .gpu
        throw WorkloadError(code, "\(call) failed: \(text)" + (hint.map { "; \($0)" } ?? ""))
    }

    var version: String {
        var v: Int32 = 0
        guard cuDriverGetVersion(&v) == 0 else { return "unknown" }
        return "\(v / 1000).\((v % 1000) / 10)"
    }
}

/// One GPU as `reconcile-workload gpus` lists it.
public struct GPUDescription: Codable, Sendable, Equatable {
    public var index: Int
    public var name: String
    public var uuid: String
    public var memoryBytes: Int
    public var computeCapability: String
    public var multiprocessors: Int
    public var clockKHz: Int
}

/// The GPU inventory as seen from inside this process.
public struct GPUInventory: Codable, Sendable, Equatable {
    public var available: Bool
    public var driverVersion: String?
    public var nvidiaVisibleDevices: String?
    public var gpus: [GPUDescription]
    /// Why there is no usable GPU, when there is none.
    public var reason: String?

    public static func probe(environment: [String: String] = ProcessInfo.processInfo.environment) -> GPUInventory {
        let visible = environment["NVIDIA_VISIBLE_DEVICES"]
        if let refusal = DeviceSelection.visibleDevicesRefusal(visible) {
            return GPUInventory(available: false, driverVersion: nil, nvidiaVisibleDevices: visible, gpus: [], reason: refusal)
        }
        let driver: CUDADriver
        switch CUDADriver.shared {
        case .success(let d): driver = d
        case .failure(let error): return GPUInventory(available: false, driverVersion: nil, nvidiaVisibleDevices: visible, gpus: [], reason: error.description)
        }
        do {
            let gpus = try CUDADevice.list(driver)
            return GPUInventory(
                available: !gpus.isEmpty, driverVersion: driver.version, nvidiaVisibleDevices: visible, gpus: gpus,
                reason: gpus.isEmpty ? "the NVIDIA driver reports no GPU" : nil)
        } catch {
            return GPUInventory(available: false, driverVersion: driver.version, nvidiaVisibleDevices: visible, gpus: [], reason: error.description)
        }
    }
}

enum CUDADevice {
    // CUdevice_attribute values from cuda.h.
    static let attrClockRate: Int32 = 13
    static let attrMultiprocessorCount: Int32 = 16
    static let attrComputeCapabilityMajor: Int32 = 75
    static let attrComputeCapabilityMinor: Int32 = 76

    static func list(_ driver: CUDADriver) throws(WorkloadError) -> [GPUDescription] {
        var count: Int32 = 0
        try driver.check(driver.cuDeviceGetCount(&count), "cuDeviceGetCount")
        var out: [GPUDescription] = []
        for index in 0..<count {
            var device: CUDADriver.CUdevice = 0
            try driver.check(driver.cuDeviceGet(&device, index), "cuDeviceGet")
            var name = [CChar](repeating: 0, count: 256)
            try driver.check(driver.cuDeviceGetName(&name, Int32(name.count), device), "cuDeviceGetName")
            var memory = 0
            try driver.check(driver.cuDeviceTotalMem(&memory, device), "cuDeviceTotalMem")
            var uuid = [UInt8](repeating: 0, count: 16)
            try driver.check(driver.cuDeviceGetUuid(&uuid, device), "cuDeviceGetUuid")
            func attribute(_ a: Int32) throws(WorkloadError) -> Int {
                var v: Int32 = 0
                try driver.check(driver.cuDeviceGetAttribute(&v, a, device), "cuDeviceGetAttribute")
                return Int(v)
            }
            let hex = uuid.map { String(format: "%02x", $0) }.joined()
            let groups = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { r in
                String(hex[hex.index(hex.startIndex, offsetBy: r.lowerBound)..<hex.index(hex.startIndex, offsetBy: r.upperBound)])
            }
            out.append(
                GPUDescription(
                    index: Int(index), name: String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self),
                    uuid: "GPU-" + groups.joined(separator: "-"), memoryBytes: memory,
                    computeCapability: "\(try attribute(attrComputeCapabilityMajor)).\(try attribute(attrComputeCapabilityMinor))",
                    multiprocessors: try attribute(attrMultiprocessorCount), clockKHz: try attribute(attrClockRate)))
        }
        return out
    }
}

/// The GPU backend: weights uploaded once, one kernel launch per layer (GEMM, bias
/// and ReLU fused), one copy in and one copy out per batch. Calls are serialized:
/// one context, one default stream.
///
/// Layers with enough output for the GPU's multiprocessors use the 128×128-tile kernel,
/// smaller ones the 16×16-tile kernel, which keeps more of the GPU busy
/// (`Kernels.usesLargeTiles`).
/// `RECONCILE_WORKLOAD_KERNEL=large|small` forces one (for measuring them).
public final class CUDABackend: InferenceBackend, @unchecked Sendable {
    // @unchecked: mutable device state is only touched under `lock`.
    public let model: MLPModel
    public let device: DeviceInfo
    public let gpu: GPUDescription
    private let driver: CUDADriver
    private let context: OpaquePointer?
    private let kernels: Kernels
    private var layerBuffers: [(weights: CUDADriver.CUdeviceptr, bias: CUDADriver.CUdeviceptr)] = []
    private var scratch: [CUDADriver.CUdeviceptr] = []
    private var scratchRows = 0
    private let lock = NSLock()

    /// Opens GPU `index` of those visible, compiles the PTX and uploads the weights.
    public init(model: MLPModel, index: Int = 0, reason: String) throws(WorkloadError) {
        let driver = try CUDADriver.shared.get()
        let gpus = try CUDADevice.list(driver)
        guard index < gpus.count else {
            throw WorkloadError(.gpuUnavailable, gpus.isEmpty ? "the NVIDIA driver is loaded but reports no GPU: none was granted to this container (NVIDIA_VISIBLE_DEVICES)" : "GPU \(index) requested but only \(gpus.count) visible")
        }
        self.driver = driver
        self.model = model
        self.gpu = gpus[index]
        self.device = DeviceInfo(kind: "gpu", name: "\(gpus[index].name) (\(gpus[index].uuid), CUDA driver \(driver.version))", reason: reason)
        var cuDevice: CUDADriver.CUdevice = 0
        try driver.check(driver.cuDeviceGet(&cuDevice, Int32(index)), "cuDeviceGet")
        var context: OpaquePointer?
        try driver.check(driver.cuDevicePrimaryCtxRetain(&context, cuDevice), "cuDevicePrimaryCtxRetain")
        self.context = context
        try driver.check(driver.cuCtxSetCurrent(context), "cuCtxSetCurrent")
        self.kernels = try Self.loadKernels(
            driver, choice: ProcessInfo.processInfo.environment["RECONCILE_WORKLOAD_KERNEL"], multiprocessors: gpus[index].multiprocessors)
        for layer in model.layers {
            layerBuffers.append((try upload(layer.weights), try upload(layer.bias)))
        }
    }

    deinit {
        _ = driver.cuCtxSetCurrent(context)
        for (w, b) in layerBuffers { _ = driver.cuMemFree(w); _ = driver.cuMemFree(b) }
        for s in scratch { _ = driver.cuMemFree(s) }
    }

    /// The two entry points of the PTX module and which one a batch gets.
    struct Kernels {
        var large: OpaquePointer?
        var small: OpaquePointer?
        /// "large", "small" or nil (by the layer's shape).
        var forced: String?
        var multiprocessors: Int

        /// Whether a `rows` × `n` output takes the 128×128 tiles: when it fills at least a
        /// quarter as many of them as the GPU has multiprocessors. Measured on an H200 (132
        /// SMs, bench/gpu.sh and docs/gpus.md): for widths 512 to 8192 the small tiles were
        /// faster at 32 tiles' worth of output (by 10–20%), the large ones at 64 (by 1.6–2×).
        static func usesLargeTiles(rows: Int, n: Int, multiprocessors: Int) -> Bool {
            rows * n >= max(1, multiprocessors / 4) * PTX.largeTile * PTX.largeTile
        }

        /// The function, grid and block for a layer of `rows` × `n`.
        func launch(rows: Int, n: Int) -> (function: OpaquePointer?, grid: (UInt32, UInt32), block: (UInt32, UInt32)) {
            let useLarge = forced.map { $0 == "large" } ?? Self.usesLargeTiles(rows: rows, n: n, multiprocessors: multiprocessors)
            if useLarge {
                let t = PTX.largeTile
                return (large, (UInt32((n + t - 1) / t), UInt32((rows + t - 1) / t)), (UInt32(PTX.largeThreads), 1))
            }
            let t = PTX.smallTile
            return (small, (UInt32((n + t - 1) / t), UInt32((rows + t - 1) / t)), (UInt32(t), UInt32(t)))
        }
    }

    private static func loadKernels(_ driver: CUDADriver, choice: String?, multiprocessors: Int) throws(WorkloadError) -> Kernels {
        if let choice, choice != "large", choice != "small", !choice.isEmpty {
            throw WorkloadError(.usage, "RECONCILE_WORKLOAD_KERNEL must be large or small (got \(choice))")
        }
        var module: OpaquePointer?
        var log = [CChar](repeating: 0, count: 8192)
        // CU_JIT_ERROR_LOG_BUFFER (5) and its size (6): the driver's compiler messages.
        var options: [Int32] = [5, 6]
        let result = PTX.module.withCString { source in
            log.withUnsafeMutableBufferPointer { logBuffer in
                var values: [UnsafeMutableRawPointer?] = [
                    UnsafeMutableRawPointer(logBuffer.baseAddress), UnsafeMutableRawPointer(bitPattern: logBuffer.count),
                ]
                return driver.cuModuleLoadDataEx(&module, source, 2, &options, &values)
            }
        }
        let message = String(decoding: log.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        try driver.check(result, "cuModuleLoadDataEx", hint: message.isEmpty ? nil : "PTX compiler said: \(message)")
        var large: OpaquePointer?, small: OpaquePointer?
        try driver.check(driver.cuModuleGetFunction(&large, module, PTX.denseKernelName), "cuModuleGetFunction(\(PTX.denseKernelName))")
        try driver.check(driver.cuModuleGetFunction(&small, module, PTX.smallKernelName), "cuModuleGetFunction(\(PTX.smallKernelName))")
        return Kernels(large: large, small: small, forced: choice?.isEmpty == true ? nil : choice, multiprocessors: multiprocessors)
    }

    private func upload(_ values: [Float]) throws(WorkloadError) -> CUDADriver.CUdeviceptr {
        var pointer: CUDADriver.CUdeviceptr = 0
        try driver.check(driver.cuMemAlloc(&pointer, max(values.count, 1) * 4), "cuMemAlloc")
        let result = values.withUnsafeBytes { bytes in
            // An empty layer has nothing to copy; CUDA_SUCCESS is 0.
            bytes.baseAddress.map { driver.cuMemcpyHtoD(pointer, $0, bytes.count) } ?? 0
        }
        try driver.check(result, "cuMemcpyHtoD")
        return pointer
    }

    /// Two ping-pong activation buffers large enough for `rows` of the widest layer.
    private func ensureScratch(rows: Int) throws(WorkloadError) {
        guard rows > scratchRows else { return }
        for s in scratch { _ = driver.cuMemFree(s) }
        scratch = []
        let widest = max(model.inputWidth, model.layers.map(\.outputs).max() ?? 0)
        for _ in 0..<2 {
            var pointer: CUDADriver.CUdeviceptr = 0
            try driver.check(driver.cuMemAlloc(&pointer, rows * widest * 4), "cuMemAlloc")
            scratch.append(pointer)
        }
        scratchRows = rows
    }

    public func forward(_ input: [Float], rows: Int) throws -> [Float] {
        try forwardLocked(input, rows: rows)
    }

    private func forwardLocked(_ input: [Float], rows: Int) throws(WorkloadError) -> [Float] {
        guard input.count == rows * model.inputWidth else {
            throw WorkloadError(.input, "expected \(rows) × \(model.inputWidth) values, got \(input.count)")
        }
        lock.lock()
        defer { lock.unlock() }
        try driver.check(driver.cuCtxSetCurrent(context), "cuCtxSetCurrent")
        try ensureScratch(rows: rows)
        var scaled = input
        if model.metadata.inputScale != 1 {
            for i in scaled.indices { scaled[i] *= model.metadata.inputScale }
        }
        let copyIn = scaled.withUnsafeBytes { bytes in
            bytes.baseAddress.map { driver.cuMemcpyHtoD(scratch[0], $0, bytes.count) } ?? 0
        }
        try driver.check(copyIn, "cuMemcpyHtoD")
        let source = try launchLayers(rows: rows)
        try driver.check(driver.cuCtxSynchronize(), "cuCtxSynchronize")
        var output = [Float](repeating: 0, count: rows * model.outputWidth)
        let copyOut = output.withUnsafeMutableBytes { bytes in
            bytes.baseAddress.map { driver.cuMemcpyDtoH($0, scratch[source], bytes.count) } ?? 0
        }
        try driver.check(copyOut, "cuMemcpyDtoH")
        return output
    }

    /// Launches every layer on the activations in `scratch[0]`; returns the index of the
    /// scratch buffer that holds the output. Asynchronous: the caller synchronizes.
    private func launchLayers(rows: Int) throws(WorkloadError) -> Int {
        var source = 0
        for (index, layer) in model.layers.enumerated() {
            var a = scratch[source], b = layerBuffers[index].weights, bias = layerBuffers[index].bias, c = scratch[1 - source]
            var m = UInt32(rows), n = UInt32(layer.outputs), k = UInt32(layer.inputs), relu: UInt32 = layer.activation == .relu ? 1 : 0
            let plan = kernels.launch(rows: rows, n: layer.outputs)
            let result = withUnsafeMutablePointer(to: &a) { pa in
                withUnsafeMutablePointer(to: &b) { pb in
                    withUnsafeMutablePointer(to: &bias) { pbias in
                        withUnsafeMutablePointer(to: &c) { pc in
                            withUnsafeMutablePointer(to: &m) { pm in
                                withUnsafeMutablePointer(to: &n) { pn in
                                    withUnsafeMutablePointer(to: &k) { pk in
                                        withUnsafeMutablePointer(to: &relu) { pr in
                                            var params: [UnsafeMutableRawPointer?] = [
                                                UnsafeMutableRawPointer(pa), UnsafeMutableRawPointer(pb), UnsafeMutableRawPointer(pbias),
                                                UnsafeMutableRawPointer(pc), UnsafeMutableRawPointer(pm), UnsafeMutableRawPointer(pn),
                                                UnsafeMutableRawPointer(pk), UnsafeMutableRawPointer(pr),
                                            ]
                                            return driver.cuLaunchKernel(
                                                plan.function, plan.grid.0, plan.grid.1, 1, plan.block.0, plan.block.1, 1, 0, nil, &params, nil)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            try driver.check(result, "cuLaunchKernel")
            source = 1 - source
        }
        return source
    }

    /// The kernels alone: the activations stay on the GPU, each iteration is every layer's
    /// launch and one synchronize, timed by the wall clock; the median iteration.
    public func matmulGFLOPS(rows: Int, iterations: Int, warmup: Int) throws -> Double? {
        lock.lock()
        defer { lock.unlock() }
        try driver.check(driver.cuCtxSetCurrent(context), "cuCtxSetCurrent")
        try ensureScratch(rows: rows)
        let input = MLPModel.syntheticInputs(rows: rows, width: model.inputWidth, seed: 3)
        let copyIn = input.withUnsafeBytes { bytes in
            bytes.baseAddress.map { driver.cuMemcpyHtoD(scratch[0], $0, bytes.count) } ?? 0
        }
        try driver.check(copyIn, "cuMemcpyHtoD")
        var times: [Double] = []
        for iteration in 0..<(warmup + iterations) {
            let start = DispatchTime.now().uptimeNanoseconds
            // Ping-pong leaves the input buffer overwritten on odd layer counts; the
            // values do not matter for timing.
            _ = try launchLayers(rows: rows)
            try driver.check(driver.cuCtxSynchronize(), "cuCtxSynchronize")
            if iteration >= warmup { times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
        }
        return model.flopsPerRow * Double(rows) / Benchmark.percentile(times, 50) / 1e9
    }
}
