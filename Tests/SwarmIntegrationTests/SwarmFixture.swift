import DockerEngine
import Foundation
import ReconcileCore
import ReconcileSwarm
import Testing

/// One test project on the private swarm of scripts/swarm-cluster (never on the shared
/// test daemon): a unique project name, a folder for its manifest, the `reconcile` binary,
/// and removal of everything labelled with the project's stack namespace, even when the
/// test fails.
struct SwarmFixture: Sendable {
    static let hostVariable = "RECONCILE_TEST_SWARM_HOST"
    static let image1 = "reconcile-test/busybox:1"
    static let image2 = "reconcile-test/busybox:2"

    let client: DockerClient
    let host: String
    let project: String
    let directory: URL

    var manifestPath: String { directory.appendingPathComponent("compose.yaml").path }

    static func run(_ prefix: String, _ body: (SwarmFixture) async throws -> Void) async throws {
        guard let host = ProcessInfo.processInfo.environment[hostVariable], !host.isEmpty else {
            Issue.record("\(hostVariable) is not set: run these tests through scripts/test, which starts a private swarm with scripts/swarm-cluster")
            return
        }
        let client = try DockerClient(configuration: .init(endpoint: DockerEndpoint(parsing: host)))
        let project = "\(prefix)\(UUID().uuidString.prefix(6).lowercased())"
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("reconcile-swarm-it-\(project)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let fixture = SwarmFixture(client: client, host: host, project: project, directory: directory)
        var failure: (any Error)?
        do { try await body(fixture) } catch { failure = error }
        await fixture.cleanUp()
        try? FileManager.default.removeItem(at: directory)
        try await client.shutdown()
        if let failure { throw failure }
    }

    func cleanUp() async {
        let filter = DockerFilters.label(stackNamespaceLabel, project)
        do {
            for service in try await client.listServices(filters: filter) { try? await client.removeService(service.id) }
            // Networks go once the swarm has shut down the tasks attached to them.
            _ = try await eventually(within: 30) {
                for network in try await client.listNetworks(filters: filter) { try? await client.removeNetwork(network.id) }
                return try await client.listNetworks(filters: filter).isEmpty
            }
            for container in try await client.listContainers(all: true, filters: .label(LabelKey.lock, project)) {
                try? await client.removeContainer(container.id, force: true, removeVolumes: true)
            }
            for volume in try await client.listVolumes(filters: .label(LabelKey.lock, project)) {
                try? await client.removeVolume(volume.name, force: true)
            }
            // Named volumes the tasks made on the node, once their containers are gone.
            _ = try await eventually(within: 30) {
                for volume in try await client.listVolumes(filters: filter) { try? await client.removeVolume(volume.name, force: false) }
                return try await client.listVolumes(filters: filter).isEmpty
            }
        } catch {
            Issue.record("cleanup of \(project) failed: \(error)")
        }
    }

    /// Writes the manifest with `name: <project>` first.
    func write(_ yaml: String) throws {
        try ("name: \(project)\n" + yaml).write(toFile: manifestPath, atomically: true, encoding: .utf8)
    }

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The built `reconcile` binary, beside the test bundle.
    static var binary: String {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent("reconcile").path), url.path != "/" {
            url = url.deletingLastPathComponent()
        }
        return url.appendingPathComponent("reconcile").path
    }

    /// Runs `reconcile ARGS -f compose.yaml --host HOST` to the end.
    @discardableResult
    func reconcile(_ arguments: String..., environment extra: [String: String] = [:]) throws -> Output {
        try run(Self.binary, arguments + ["-f", manifestPath, "--host", host], environment: extra)
    }

    /// Runs the docker CLI against the private swarm.
    @discardableResult
    func docker(_ arguments: String..., environment: [String: String] = [:]) throws -> Output {
        let docker = ["/usr/bin/docker", "/usr/local/bin/docker"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/bin/docker"
        return try run(docker, ["--host", host] + arguments, environment: environment)
    }

    private func run(_ executable: String, _ arguments: [String], environment extra: [String: String]) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        var environment = ProcessInfo.processInfo.environment
        environment["NO_COLOR"] = "1"
        environment["DOCKER_HOST"] = nil
        environment.merge(extra) { _, new in new }
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }

    func service(_ name: String) async throws -> SwarmService { try await client.inspectService("\(project)_\(name)") }

    func runningTasks(_ name: String) async throws -> [SwarmTask] {
        try await client.listTasks(filters: ["service": ["\(project)_\(name)"], "desired-state": ["running"]]).filter { $0.status.state == "running" }
    }

    /// Polls until `condition` holds or `seconds` pass; returns whether it held.
    func eventually(within seconds: Double, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        return try await condition()
    }
}
