import DockerEngine
import Foundation
import ReconcileCore
import Testing

extension Tag {
    /// Tests that drive the real private dockerd started by scripts/with-test-dockerd.
    @Tag static var engine: Self
}

/// One test project on the private dockerd: a unique project name, a folder for its
/// manifest, the `reconcile` binary to run, and cleanup of everything labelled with the
/// project (containers, networks, volumes, lock), in that order, even when the test fails.
struct ProjectFixture: Sendable {
    static let hostVariable = "RECONCILE_TEST_DOCKER_HOST"
    static let image1 = "reconcile-test/busybox:1"
    static let image2 = "reconcile-test/busybox:2"

    let client: DockerClient
    let host: String
    let project: String
    let directory: URL

    var manifestPath: String { directory.appendingPathComponent("compose.yaml").path }

    /// `host`: an engine other than the shared test daemon (the fault tests' own).
    static func run(_ prefix: String, host explicit: String? = nil, _ body: (ProjectFixture) async throws -> Void) async throws {
        guard let host = explicit ?? ProcessInfo.processInfo.environment[hostVariable], !host.isEmpty else {
            Issue.record("\(hostVariable) is not set: run these tests through scripts/with-test-dockerd (scripts/test does)")
            return
        }
        let client = try DockerClient(configuration: .init(endpoint: DockerEndpoint(parsing: host)))
        let project = "\(prefix)-\(UUID().uuidString.prefix(6).lowercased())"
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("reconcile-it-\(project)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let fixture = ProjectFixture(client: client, host: host, project: project, directory: directory)
        var failure: (any Error)?
        do { try await body(fixture) } catch { failure = error }
        await fixture.cleanUp()
        try? FileManager.default.removeItem(at: directory)
        try await client.shutdown()
        if let failure { throw failure }
    }

    func cleanUp() async {
        let filter = DockerFilters.label(LabelKey.project, project)
        do {
            for container in try await client.listContainers(all: true, filters: filter) {
                try? await client.removeContainer(container.id, force: true, removeVolumes: true)
            }
            for network in try await client.listNetworks(filters: filter) { try? await client.removeNetwork(network.id) }
            for volume in try await client.listVolumes(filters: filter) { try? await client.removeVolume(volume.name, force: true) }
            // History and validation jobs carry their own labels, never `project`.
            for volume in try await client.listVolumes(filters: .label(LabelKey.history, project)) {
                try? await client.removeVolume(volume.name, force: true)
            }
            for container in try await client.listContainers(all: true, filters: .label(LabelKey.validation, project)) {
                try? await client.removeContainer(container.id, force: true)
            }
        } catch {
            Issue.record("cleanup of \(project) failed: \(error)")
        }
    }

    /// Writes the manifest; `PROJECT` in the text becomes the project name.
    func write(_ yaml: String) throws {
        let text = "name: \(project)\n" + yaml
        try text.write(toFile: manifestPath, atomically: true, encoding: .utf8)
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

    /// Starts `reconcile ARGS -f compose.yaml -H host` without waiting; without `-f` when
    /// `manifest` is false (`apply PLANFILE`).
    /// `engine`: the arguments that name the engine (default: `--host` the test engine).
    func start(_ arguments: [String], environment extra: [String: String] = [:], manifest: Bool = true, engine: [String]? = nil) throws -> (Process, Pipe, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments + (manifest ? ["-f", manifestPath] : []) + (engine ?? ["--host", host])
        process.currentDirectoryURL = directory
        var environment = ProcessInfo.processInfo.environment
        environment["NO_COLOR"] = "1"
        environment.merge(extra) { _, new in new }
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return (process, out, err)
    }

    /// Runs `reconcile ARGS` to the end.
    @discardableResult
    func reconcile(_ arguments: String...) throws -> Output {
        try reconcile(arguments, environment: [:])
    }

    /// Runs `reconcile ARGS` to the end with `environment` added to this process's.
    @discardableResult
    func reconcile(_ arguments: [String], environment: [String: String], manifest: Bool = true, engine: [String]? = nil) throws -> Output {
        let (process, out, err) = try start(arguments, environment: environment, manifest: manifest, engine: engine)
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// The project's containers by name → id, running or not.
    func containers() async throws -> [String: ContainerSummary] {
        let list = try await client.listContainers(all: true, filters: .label(LabelKey.project, project))
        return Dictionary(list.compactMap { c in c.name.map { ($0, c) } }, uniquingKeysWith: { a, _ in a })
    }

    func name(_ service: String, _ replica: Int) -> String { "\(project)-\(service)-\(replica)" }

    /// Polls until `condition` holds or `seconds` pass; returns whether it held.
    func eventually(within seconds: Double, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return try await condition()
    }
}
