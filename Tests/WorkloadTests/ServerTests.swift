import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import WorkloadCore
import WorkloadServer

@Suite("serve")
struct ServerTests {
    static func app(backend: any InferenceBackend = CPUBackend(model: Fixtures.model), maxBatch: Int = 64, maxBodyBytes: Int = 64 << 10) -> some ApplicationProtocol {
        buildApplication(backend: backend, configuration: .init(host: "127.0.0.1", port: 0, maxBatch: maxBatch, maxBodyBytes: maxBodyBytes))
    }

    static func json(_ object: Any) throws -> ByteBuffer {
        ByteBuffer(data: try JSONSerialization.data(withJSONObject: object))
    }

    static func heldOutRows(_ n: Int) -> (rows: [[Float]], labels: [Int]) {
        let split = Fixtures.digits.split(seed: 42, heldOut: 360)
        let batch = Fixtures.digits.batch(Array(split.heldOut.prefix(n)))
        return ((0..<n).map { Array(batch.pixels[($0 * 64)..<(($0 + 1) * 64)]) }, batch.labels)
    }

    @Test("POST /v1/predict classifies held-out digits correctly")
    func predicts() async throws {
        let (rows, labels) = Self.heldOutRows(40)
        try await Self.app().test(.router) { client in
            try await client.execute(uri: "/v1/predict", method: .post, body: try Self.json(["inputs": rows])) { response in
                #expect(response.status == .ok)
                let body = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                let predictions = try #require(body?["predictions"] as? [Int])
                #expect(predictions.count == 40)
                let correct = zip(predictions, labels).filter { $0 == $1 }.count
                #expect(correct >= 38)
                let probabilities = try #require(body?["probabilities"] as? [[Double]])
                #expect(abs((probabilities.first ?? []).reduce(0, +) - 1) < 1e-4)
                #expect(body?["version"] as? String == Fixtures.model.metadata.version)
            }
        }
    }

    @Test("GET /healthz, /info and /metrics report the model, its version, source and device")
    func infoAndHealth() async throws {
        try await Self.app().test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/info", method: .get) { response in
                #expect(response.status == .ok)
                let body = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                let model = try #require(body?["model"] as? [String: Any])
                #expect(model["weightsSHA256"] as? String == Fixtures.model.metadata.weightsSHA256)
                #expect(model["version"] as? String == Fixtures.model.metadata.version)
                #expect(model["sourceKind"] as? String == "bundled")
                #expect((body?["device"] as? [String: Any])?["kind"] as? String == "cpu")
            }
            try await client.execute(uri: "/v1/predict", method: .post, body: ByteBuffer(string: "{")) { #expect($0.status == .badRequest) }
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(text.contains("reconcile_workload_info{model=\"digits-mlp\""))
                #expect(text.contains("reconcile_workload_http_requests_total{route=\"/v1/predict\",method=\"POST\",status=\"400\"} 1"))
                #expect(text.contains("# TYPE reconcile_workload_requests_in_flight gauge\nreconcile_workload_requests_in_flight 0"))
                #expect(text.contains("# TYPE reconcile_workload_inference_seconds histogram"))
            }
        }
    }

    @Test("bad requests get a 4xx with a sentence saying what is wrong, and the server keeps serving")
    func rejectsBadRequests() async throws {
        let good = Self.heldOutRows(1).rows
        let cases: [(String, ByteBuffer, HTTPResponse.Status, String)] = [
            ("not JSON", ByteBuffer(string: "pixels please"), .badRequest, "not JSON"),
            ("empty body", ByteBuffer(), .badRequest, "empty body"),
            ("no inputs key", try Self.json(["rows": good]), .unprocessableContent, "missing key \\\"inputs\\\""),
            ("short row", try Self.json(["inputs": [[1, 2, 3]]]), .unprocessableContent, "inputs[0] has 3 values"),
            ("second row long", try Self.json(["inputs": [good[0], good[0] + [1]]]), .unprocessableContent, "inputs[1] has 65 values"),
            ("strings", try Self.json(["inputs": [["a"]]]), .unprocessableContent, "wrong type"),
            ("flat", try Self.json(["inputs": good[0]]), .unprocessableContent, "wrong type"),
            ("empty batch", try Self.json(["inputs": [[Float]]()]), .unprocessableContent, "is empty"),
            ("too many rows", try Self.json(["inputs": Array(repeating: good[0], count: 65)]), .contentTooLarge, "limit is 64"),
            ("too many bytes", ByteBuffer(string: String(repeating: " ", count: 70 << 10)), .contentTooLarge, "larger than"),
        ]
        try await Self.app().test(.router) { client in
            for (name, body, status, message) in cases {
                try await client.execute(uri: "/v1/predict", method: .post, body: body) { response in
                    #expect(response.status == status, "\(name)")
                    #expect(String(buffer: response.body).contains(message), "\(name): \(String(buffer: response.body))")
                }
            }
            try await client.execute(uri: "/v1/predict", method: .post, body: try Self.json(["inputs": good])) { #expect($0.status == .ok) }
        }
    }

    /// Stands in for a device: fails every call, to show a backend error is a 500, not a crash.
    struct BrokenBackend: InferenceBackend {
        let model = Fixtures.model
        let device = DeviceInfo(kind: "gpu", name: "broken", reason: "test")
        func forward(_ input: [Float], rows: Int) async throws -> [Float] {
            throw WorkloadError(.gpu, "cuLaunchKernel failed: CUDA_ERROR_LAUNCH_FAILED")
        }
    }

    @Test("a failing backend gives 500 to that request and the server stays up")
    func backendFailure() async throws {
        try await Self.app(backend: BrokenBackend()).test(.router) { client in
            try await client.execute(uri: "/v1/predict", method: .post, body: try Self.json(["inputs": Self.heldOutRows(1).rows])) {
                #expect($0.status == .internalServerError)
            }
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test("the live server answers over a real socket")
    func live() async throws {
        try await Self.app().test(.live) { client in
            try await client.execute(uri: "/v1/predict", method: .post, body: try Self.json(["inputs": Self.heldOutRows(2).rows])) {
                #expect($0.status == .ok)
            }
        }
    }
}
