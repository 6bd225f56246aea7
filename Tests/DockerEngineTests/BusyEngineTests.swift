import Foundation
import Hummingbird
import Logging
import NIOCore
import Testing

@testable import DockerEngine

/// A stub engine on a unix socket: `GET /v1.41/containers/json` answers `[]` after `latency`.
func withStubEngine(latency: Duration, _ body: (String) async throws -> Void) async throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("rs-\(UUID().uuidString.prefix(8)).sock").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    let router = Router()
    router.get("/v1.41/containers/json") { _, _ -> Response in
        try await Task.sleep(for: latency)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "[]")))
    }
    let (ready, running) = AsyncStream<Void>.makeStream()
    let app = Application(
        router: router, configuration: .init(address: .unixDomainSocket(path: path)),
        onServerRunning: { _ in
            running.yield()
            running.finish()
        },
        logger: Logger(label: "stub-engine", factory: { _ in SwiftLogNoOpLogHandler() }))
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await app.runService(gracefulShutdownSignals: []) }
        for await _ in ready { break }
        do {
            try await body(path)
        } catch {
            group.cancelAll()
            throw error
        }
        group.cancelAll()
    }
}

@Suite("A busy engine")
struct BusyEngineTests {
    @Test("hundreds of requests at once wait their turn in the client instead of timing out in the connection pool")
    func boundedConcurrency() async throws {
        try await withStubEngine(latency: .milliseconds(100)) { path in
            var configuration = DockerClient.Configuration(
                endpoint: .unix(path: path), connectTimeout: .seconds(1), apiVersion: APIVersion(1, 41))
            configuration.maximumConcurrentRequests = 8
            let client = try DockerClient(configuration: configuration)
            // 160 requests at 100 ms each, 8 at a time: the last waits about 2 s, past the 1 s
            // a request may wait for a pooled connection.
            let failures = await withTaskGroup(of: String?.self) { group in
                for _ in 0..<160 {
                    group.addTask {
                        do {
                            _ = try await client.listContainers(all: true, filters: [:])
                            return nil
                        } catch {
                            return "\(error)"
                        }
                    }
                }
                var out: [String] = []
                for await failure in group { if let failure { out.append(failure) } }
                return out
            }
            try await client.shutdown()
            #expect(failures.isEmpty, "\(failures.count) failed, e.g. \(failures.first ?? "")")
        }
    }

    @Test("a request the engine does not answer in time says the engine is busy, not that it cannot be reached")
    func slowIsNotUnreachable() async throws {
        try await withStubEngine(latency: .seconds(3)) { path in
            let client = try DockerClient(
                configuration: .init(endpoint: .unix(path: path), requestTimeout: .milliseconds(200), apiVersion: APIVersion(1, 41)))
            let error = await #expect(throws: DockerError.self) { _ = try await client.listContainers(all: true, filters: [:]) }
            try await client.shutdown()
            let text = error.map { "\($0)" } ?? ""
            #expect(text.contains("is busy"), "\(text)")
            #expect(!text.contains("cannot reach"), "\(text)")
            #expect(!text.contains("is dockerd running"), "\(text)")
        }
    }
}
