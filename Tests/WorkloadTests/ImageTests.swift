import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

extension Tag {
    /// Tests that build the image from the Dockerfile and run it on the private dockerd.
    @Tag static var image: Self
}

/// The image built from the top-level Dockerfile by `scripts/build-image --prebuilt` on
/// the private test dockerd (scripts/test builds it once, before the tests, through
/// scripts/test-workload-image): the same runtime stage a user's `docker build` makes,
/// with binaries built on this host because no registry serves the swift image here.
@Suite("image", .tags(.image), .serialized)
struct ImageTests {
    static let hostVariable = "RECONCILE_TEST_DOCKER_HOST"
    static var tag: String {
        ProcessInfo.processInfo.environment["RECONCILE_TEST_WORKLOAD_IMAGE"] ?? "reconcile-test/reconcile:workload"
    }

    static var docker: String {
        ["/usr/local/bin/docker", "/usr/bin/docker"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "docker"
    }

    func docker(_ host: String, _ arguments: String...) throws -> Output {
        try runProcess(Self.docker, arguments, environment: ["DOCKER_HOST": host])
    }

    @Test("the image built from the Dockerfile starts as a non-root user, becomes healthy and answers /v1/predict on 127.0.0.1")
    func imageServes() async throws {
        guard let host = ProcessInfo.processInfo.environment[Self.hostVariable], !host.isEmpty else {
            Issue.record("\(Self.hostVariable) is not set: run these tests through scripts/with-test-dockerd (scripts/test does)")
            return
        }
        let present = try docker(host, "image", "inspect", "-f", "{{.Id}}", Self.tag)
        try #require(present.status == 0, "\(Self.tag) is not on the test engine: scripts/test builds it (scripts/test-workload-image)")

        let config = try docker(host, "image", "inspect", "-f", "{{.Config.User}} {{json .Config.Healthcheck.Test}} {{.Size}}", Self.tag)
        let fields = config.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ")
        #expect(fields.first == "reconcile:reconcile", "image user: \(config.stdout)")
        #expect(config.stdout.contains("healthcheck"), "HEALTHCHECK: \(config.stdout)")
        // The target: under 150 MB (one static binary on a scratch root).
        let size = Int(fields.last ?? "") ?? .max
        #expect(size < 150_000_000, "image is \(size / 1_000_000) MB")

        let name = "reconcile-wl-it-\(UUID().uuidString.prefix(6).lowercased())"
        let started = Date()
        let run = try docker(host, "run", "-d", "--name", name, "--label", "reconcile-test=workload", "-p", "127.0.0.1::8080", Self.tag)
        try #require(run.status == 0, "docker run failed: \(run.stderr)")
        defer { _ = try? docker(host, "rm", "-f", "-v", name) }

        var healthy = false
        while Date().timeIntervalSince(started) < 90 {
            let state = try docker(host, "inspect", "-f", "{{.State.Status}} {{.State.Health.Status}}", name).stdout
            if state.hasPrefix("running healthy") { healthy = true; break }
            if state.hasPrefix("exited") || state.contains("unhealthy") { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        let logs = try docker(host, "logs", name)
        try #require(healthy, "container never became healthy; logs:\n\(logs.stdout)\(logs.stderr)")

        let port = try docker(host, "port", name, "8080/tcp").stdout.split(separator: "\n").first.map(String.init) ?? ""
        #expect(port.hasPrefix("127.0.0.1:"), "published as \(port)")
        let url = try #require(URL(string: "http://\(port)/v1/predict"))
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        let (rows, labels) = ServerTests.heldOutRows(20)
        request.httpBody = try JSONSerialization.data(withJSONObject: ["inputs": rows])
        let (data, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        let body = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        let predictions = try #require(body?["predictions"] as? [Int], "body: \(String(decoding: data, as: UTF8.self))")
        #expect(zip(predictions, labels).filter { $0 == $1 }.count >= 19)
        #expect(body?["device"] as? String == "cpu")

        // The CLI and the benchmark ship in the same image.
        let cli = try docker(host, "run", "--rm", Self.tag, "reconcile", "--help")
        #expect(cli.status == 0 && cli.stdout.lowercased().contains("usage"), "reconcile --help: \(cli.stderr)")
        let bench = try docker(host, "run", "--rm", Self.tag, "reconcile-workload", "run", "--device", "auto", "--min-accuracy", "0.95", "--iterations", "3")
        #expect(bench.status == 0, "run in the image: \(bench.stderr)")
        #expect(bench.stderr.contains("--device auto chose the CPU"))
    }
}
