import ArgumentParser
import Foundation
import WorkloadCore

/// Which model, shared by `serve` and `run`.
struct ModelOptions: ParsableArguments {
    @Option(name: .customLong("model"), help: "Model directory (model.json + weights), e.g. a mounted volume. Default: $RECONCILE_WORKLOAD_MODEL, else the bundled digits model.")
    var modelPath: String?

    @Flag(help: "Use the synthetic compute-heavy MLP instead of a model directory.")
    var synthetic = false

    @Option(help: "Synthetic model: layer width.")
    var width = 1024

    @Option(help: "Synthetic model: number of layers.")
    var depth = 4

    @Option(help: "Synthetic model: weight seed.")
    var seed: UInt64 = 1

    @Option(help: "Device: cpu, gpu or auto (GPU when the CUDA driver and a granted GPU are present).")
    var device: String = "auto"

    func load() throws -> MLPModel {
        if synthetic {
            if modelPath != nil { throw ValidationError("--synthetic and --model are exclusive") }
            return try MLPModel.synthetic(width: width, depth: depth, seed: seed)
        }
        return try ModelLocation.load(path: modelPath)
    }

    func deviceChoice() throws -> DeviceChoice {
        guard let choice = DeviceChoice(rawValue: device) else { throw ValidationError("--device must be cpu, gpu or auto (got \(device))") }
        return choice
    }
}

/// Writes a line to standard error: progress and reasons, never the report.
func note(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Prints an error sentence and exits with `code`.
func fail(_ error: any Error, code: Int32 = 2) -> ExitCode {
    note("reconcile-workload: \(error)")
    return ExitCode(code)
}

/// `--port`, else `RECONCILE_WORKLOAD_PORT` (the image sets it, so its health check and
/// server agree), else 8080.
func resolvedPort(_ flag: Int?) -> Int {
    flag ?? ProcessInfo.processInfo.environment["RECONCILE_WORKLOAD_PORT"].flatMap { Int($0) } ?? 8080
}

/// `--host`, else `RECONCILE_WORKLOAD_HOST` (the image sets 0.0.0.0, as model-server images
/// do, so that `command: ["reconcile-workload", "serve"]` in a manifest still answers through
/// published ports), else loopback.
func resolvedHost(_ flag: String?) -> String {
    flag ?? ProcessInfo.processInfo.environment["RECONCILE_WORKLOAD_HOST"].flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1"
}
