import Foundation

/// `--device cpu|gpu|auto`.
public enum DeviceChoice: String, CaseIterable, Sendable {
    case cpu, gpu, auto
}

/// Chooses and opens the backend for a model, and says why.
public enum DeviceSelection {
    /// Why `NVIDIA_VISIBLE_DEVICES` grants no GPU, or nil when it may grant one. The
    /// NVIDIA container runtime reads it: "none" and "void" mean no GPU, an empty value
    /// means the same; unset means "not a GPU container" (a bare host may still have one).
    public static func visibleDevicesRefusal(_ value: String?) -> String? {
        guard let value else { return nil }
        switch value.trimmingCharacters(in: .whitespaces).lowercased() {
        case "", "none", "void": return "NVIDIA_VISIBLE_DEVICES=\(value.isEmpty ? "\"\"" : value) grants no GPU to this container"
        default: return nil
        }
    }

    public static func open(
        _ choice: DeviceChoice, model: MLPModel, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(WorkloadError) -> any InferenceBackend {
        let visible = environment["NVIDIA_VISIBLE_DEVICES"]
        switch choice {
        case .cpu:
            return CPUBackend(model: model, reason: "--device cpu")
        case .gpu:
            if let refusal = visibleDevicesRefusal(visible) {
                throw WorkloadError(.gpuUnavailable, "--device gpu: \(refusal); run the container with --gpus or set NVIDIA_VISIBLE_DEVICES to a GPU index or UUID")
            }
            do {
                return try CUDABackend(model: model, reason: "--device gpu" + (visible.map { " (NVIDIA_VISIBLE_DEVICES=\($0))" } ?? ""))
            } catch {
                throw WorkloadError(error.code, "--device gpu: " + error.message, cause: error.cause)
            }
        case .auto:
            if let refusal = visibleDevicesRefusal(visible) {
                return CPUBackend(model: model, reason: "--device auto chose the CPU: \(refusal)")
            }
            do {
                return try CUDABackend(model: model, reason: "--device auto chose the GPU: the CUDA driver is loaded and reports one" + (visible.map { " (NVIDIA_VISIBLE_DEVICES=\($0))" } ?? ""))
            } catch {
                return CPUBackend(model: model, reason: "--device auto chose the CPU: no usable GPU: \(error.message)")
            }
        }
    }
}
