import Foundation
import Hummingbird
import Logging
import WorkloadCore

/// What the server needs besides the backend.
public struct WorkloadServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Rows per `/v1/predict` request.
    public var maxBatch: Int
    /// Bytes of a request body.
    public var maxBodyBytes: Int

    public init(host: String = "127.0.0.1", port: Int = 8080, maxBatch: Int = 1024, maxBodyBytes: Int = 4 << 20) {
        self.host = host
        self.port = port
        self.maxBatch = maxBatch
        self.maxBodyBytes = maxBodyBytes
    }
}

/// Builds the workload's HTTP application: the executable runs it, the tests drive it
/// through HummingbirdTesting, both through this one function.
public func buildApplication(
    backend: any InferenceBackend, configuration: WorkloadServerConfiguration, logger: Logger = Logger(label: "reconcile-workload")
) -> some ApplicationProtocol {
    let router = buildRouter(backend: backend, configuration: configuration, metrics: WorkloadMetrics(backend: backend))
    return Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "reconcile-workload"),
        logger: logger)
}

/// The routes: `POST /v1/predict`, `GET /healthz`, `GET /info`, `GET /metrics`.
public func buildRouter(backend: any InferenceBackend, configuration: WorkloadServerConfiguration, metrics: WorkloadMetrics) -> Router<BasicRequestContext> {
    let router = Router()
    router.add(middleware: MetricsMiddleware(metrics: metrics))
    router.get("/healthz") { _, _ in
        HealthResponse(status: "ok", model: backend.model.metadata.name, version: backend.model.metadata.version, device: backend.device.kind)
    }
    router.get("/info") { _, _ in
        InfoResponse(backend: backend, configuration: configuration)
    }
    router.get("/metrics") { _, _ in
        Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: metrics.render())))
    }
    router.post("/v1/predict") { request, _ in
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: configuration.maxBodyBytes)
        } catch {
            throw HTTPError(.contentTooLarge, message: "request body is larger than \(configuration.maxBodyBytes) bytes")
        }
        let batch = try PredictRequest.parse(body, model: backend.model, maxBatch: configuration.maxBatch)
        let start = DispatchTime.now().uptimeNanoseconds
        let outputs = try await backend.forward(batch.values, rows: batch.rows)
        metrics.recordInference(rows: batch.rows, seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        return PredictResponse(model: backend.model, device: backend.device.kind, outputs: outputs, rows: batch.rows)
    }
    return router
}

struct HealthResponse: ResponseEncodable {
    var status: String
    var model: String
    var version: String
    var device: String
}

struct InfoResponse: ResponseEncodable {
    struct Model: Encodable {
        var name: String
        var version: String
        var weightsSHA256: String
        var source: String
        var sourceKind: String
        var format: String
        var layers: [ModelMetadata.Layer]
        var inputWidth: Int
        var outputWidth: Int
        var classes: Int?
        var heldOutAccuracy: Double?
        var trainerCodeVersion: String?
        var datasetSHA256: String?
    }

    struct Limits: Encodable {
        var maxBatch: Int
        var maxBodyBytes: Int
    }

    var model: Model
    var device: DeviceInfo
    var limits: Limits

    init(backend: any InferenceBackend, configuration: WorkloadServerConfiguration) {
        let m = backend.model
        model = Model(
            name: m.metadata.name, version: m.metadata.version, weightsSHA256: m.metadata.weightsSHA256, source: m.source.description,
            sourceKind: m.source.kind, format: m.metadata.format, layers: m.metadata.layers, inputWidth: m.inputWidth,
            outputWidth: m.outputWidth, classes: m.metadata.classes, heldOutAccuracy: m.metadata.heldOutAccuracy,
            trainerCodeVersion: m.metadata.trainer?.codeVersion, datasetSHA256: m.metadata.dataset?.sha256)
        device = backend.device
        limits = Limits(maxBatch: configuration.maxBatch, maxBodyBytes: configuration.maxBodyBytes)
    }
}

/// `{"inputs": [[x, …], …]}`: one row per example, each `inputWidth` numbers.
struct PredictRequest: Decodable {
    var inputs: [[Float]]

    /// Parses and checks a body, turning every problem into a 4xx with a sentence.
    static func parse(_ body: ByteBuffer, model: MLPModel, maxBatch: Int) throws -> (values: [Float], rows: Int) {
        let bytes = Data(buffer: body)
        guard !bytes.isEmpty else {
            throw HTTPError(.badRequest, message: "empty body: send JSON {\"inputs\": [[\(model.inputWidth) numbers], ...]}")
        }
        // Separate "not JSON" from "JSON of the wrong shape": the fixes differ.
        guard (try? JSONSerialization.jsonObject(with: bytes, options: [.fragmentsAllowed])) != nil else {
            throw HTTPError(.badRequest, message: "body is not JSON: send {\"inputs\": [[\(model.inputWidth) numbers], ...]}")
        }
        let request: PredictRequest
        do {
            request = try JSONDecoder().decode(PredictRequest.self, from: bytes)
        } catch DecodingError.keyNotFound(let key, _) {
            throw HTTPError(.unprocessableContent, message: "missing key \"\(key.stringValue)\": send {\"inputs\": [[\(model.inputWidth) numbers], ...]}")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined()
            throw HTTPError(.unprocessableContent, message: "\(path.isEmpty ? "body" : path) has the wrong type: \"inputs\" must be an array of arrays of \(model.inputWidth) numbers")
        } catch {
            throw HTTPError(.unprocessableContent, message: "\"inputs\" must be an array of arrays of \(model.inputWidth) numbers")
        }
        guard !request.inputs.isEmpty else {
            throw HTTPError(.unprocessableContent, message: "\"inputs\" is empty: send at least one row of \(model.inputWidth) numbers")
        }
        guard request.inputs.count <= maxBatch else {
            throw HTTPError(.contentTooLarge, message: "\(request.inputs.count) rows in one request; the limit is \(maxBatch) (--max-batch)")
        }
        var values: [Float] = []
        values.reserveCapacity(request.inputs.count * model.inputWidth)
        for (index, row) in request.inputs.enumerated() {
            guard row.count == model.inputWidth else {
                throw HTTPError(.unprocessableContent, message: "inputs[\(index)] has \(row.count) values; the model \(model.metadata.name) takes \(model.inputWidth)")
            }
            guard row.allSatisfy(\.isFinite) else {
                throw HTTPError(.unprocessableContent, message: "inputs[\(index)] has a value that is not a finite float32")
            }
            values.append(contentsOf: row)
        }
        return (values, request.inputs.count)
    }
}

struct PredictResponse: ResponseEncodable {
    var model: String
    var version: String
    var device: String
    /// Classifiers: the most likely class of each row.
    var predictions: [Int]?
    /// Classifiers: softmax probabilities; other models: raw outputs.
    var probabilities: [[Float]]?
    var outputs: [[Float]]?

    init(model: MLPModel, device: String, outputs flat: [Float], rows: Int) {
        self.model = model.metadata.name
        self.version = model.metadata.version
        self.device = device
        let width = model.outputWidth
        let rowsOut = (0..<rows).map { Array(flat[($0 * width)..<(($0 + 1) * width)]) }
        if model.isClassifier {
            let probabilities = rowsOut.map { row -> [Float] in
                let top = row.max() ?? 0
                let e = row.map { Float(Foundation.exp(Double($0 - top))) }
                let total = e.reduce(0, +)
                return e.map { $0 / total }
            }
            self.probabilities = probabilities
            self.predictions = probabilities.map { row in row.indices.max { row[$0] < row[$1] } ?? 0 }
        } else {
            self.outputs = rowsOut
        }
    }
}
