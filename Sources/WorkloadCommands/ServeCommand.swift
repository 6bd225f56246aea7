import ArgumentParser
import Hummingbird
import Logging
import WorkloadCore
import WorkloadServer

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Serve the model over HTTP.")

    @OptionGroup var model: ModelOptions

    @Option(help: "Address to listen on. Default: $RECONCILE_WORKLOAD_HOST, else 127.0.0.1 (the image sets 0.0.0.0, so a container listens on all its addresses whatever command a manifest gives it).")
    var host: String?

    @Option(help: "Port to listen on. Default: $RECONCILE_WORKLOAD_PORT, else 8080.")
    var port: Int?

    @Option(help: "Most rows in one /v1/predict request.")
    var maxBatch = 1024

    @Option(help: "Largest request body in bytes.")
    var maxBodyBytes = 4 << 20

    func run() async throws {
        let backend: any InferenceBackend
        do {
            backend = try DeviceSelection.open(try model.deviceChoice(), model: try model.load())
            // One forward pass before listening, so /healthz is only up when inference works.
            _ = try await backend.forward([Float](repeating: 0, count: backend.model.inputWidth), rows: 1)
        } catch let error as ValidationError {
            throw error
        } catch {
            throw fail(error)
        }
        var logger = Logger(label: "reconcile-workload")
        logger.logLevel = .info
        logger.info(
            "serving",
            metadata: [
                "model": "\(backend.model.metadata.name)", "version": "\(backend.model.metadata.version)",
                "source": "\(backend.model.source)", "device": "\(backend.device.kind)", "reason": "\(backend.device.reason)",
            ])
        let app = buildApplication(
            backend: backend, configuration: .init(host: resolvedHost(host), port: resolvedPort(port), maxBatch: maxBatch, maxBodyBytes: maxBodyBytes), logger: logger)
        try await app.runService()
    }
}
