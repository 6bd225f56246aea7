import Foundation
import Testing

@testable import DockerEngine

extension Tag {
    /// Tests that need the private dockerd started by scripts/with-test-dockerd.
    @Tag static var integration: Self
}

/// A client of the private test dockerd, plus a unique run ID that names and
/// labels everything a test creates, so that cleanup removes exactly that (and
/// never anything else on the daemon), even when the test fails.
struct EngineFixture: Sendable {
    static let hostVariable = "RECONCILE_TEST_DOCKER_HOST"
    static let runLabel = "reconcile.test.run"
    static let image1 = "reconcile-test/busybox:1"
    static let image2 = "reconcile-test/busybox:2"

    let client: DockerClient
    let runID: String

    /// The label every test object carries.
    var labels: [String: String] { [Self.runLabel: runID] }
    var filters: DockerFilters { .label(Self.runLabel, runID) }

    /// A name unique to this run.
    func name(_ suffix: String) -> String { "\(runID)-\(suffix)" }

    /// Runs `body` against the private daemon and removes what it labelled:
    /// containers, then networks, then volumes. Records a failure (the test
    /// does not pass) when the daemon's address is not set.
    static func run(_ body: (EngineFixture) async throws -> Void) async throws {
        guard let host = ProcessInfo.processInfo.environment[hostVariable], !host.isEmpty else {
            Issue.record(
                "\(hostVariable) is not set: run the Docker engine tests through scripts/with-test-dockerd, for example `scripts/with-test-dockerd swift test --filter DockerEngineTests`"
            )
            return
        }
        let client = try DockerClient(configuration: .init(endpoint: DockerEndpoint(parsing: host)))
        let fixture = EngineFixture(client: client, runID: "rct-" + UUID().uuidString.prefix(8).lowercased())
        var failure: (any Error)?
        do {
            try await body(fixture)
        } catch {
            failure = error
        }
        await fixture.cleanUp()
        try await client.shutdown()
        if let failure { throw failure }
    }

    func cleanUp() async {
        do {
            for container in try await client.listContainers(all: true, filters: filters) {
                try? await client.removeContainer(container.id, force: true, removeVolumes: true)
            }
            for network in try await client.listNetworks(filters: filters) {
                try? await client.removeNetwork(network.id)
            }
            for volume in try await client.listVolumes(filters: filters) {
                try? await client.removeVolume(volume.name, force: true)
            }
        } catch {
            Issue.record("cleanup of \(runID) failed: \(error)")
        }
    }

    /// Polls `condition` every 200 ms until it holds or `seconds` pass.
    func eventually(within seconds: Double, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        return try await condition()
    }
}
