import DockerEngine
import Foundation
import Logging
import ReconcileCore
import ReconcileManifest
import ReconcileRuntime
import ReconcileTestSupport
import Testing

@testable import ReconcileController

/// worker (2 replicas, no healthcheck) on one network.
func workerProject(env: [String: String] = [:]) -> Project {
    Project(
        name: "demo",
        services: [Service(name: "worker", image: "local/worker:1", environment: env, networks: [ServiceNetwork(key: "default")], replicas: 2)],
        networks: [Network(key: "default", name: "demo_default")])
}

let quietLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

/// Runs `controller` while `body` runs, then drains it and waits for it to stop.
func whileRunning(_ controller: Controller, _ body: () async throws -> Void) async throws {
    let task = Task { try await controller.run() }
    do {
        try await body()
    } catch {
        controller.drain()
        _ = try? await task.value
        throw error
    }
    controller.drain()
    try await task.value
}

/// Waits until `condition` holds, looking again as soon as other tasks have run, for at
/// most `limit`; false when it never held.
func eventually(within limit: Duration = .seconds(30), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return try await condition()
}

func makeController(
    engine: FakeEngine, project: Project = workerProject(), paths: [String] = [], resync: Double = 3600,
    load: (@Sendable () throws -> LoadedManifest)? = nil, relock: (@Sendable () async -> Bool)? = nil
) -> Controller {
    let initial = LoadedManifest(project: project, warnings: [], files: [], digest: "initial")
    return Controller(
        client: engine, initial: initial,
        configuration: ControllerConfiguration(paths: paths, resync: resync, manifestPoll: 0.02, parallelism: 4, gateTimeout: 5, relock: relock),
        load: load ?? { initial }, logger: quietLogger,
        observer: Observer(client: engine, gpuDiscovery: GPUDiscovery(probe: nil, environment: [:])))
}

func runningWorkers(_ engine: FakeEngine) async -> [String] {
    await engine.snapshot().filter { $0.labels[LabelKey.service] == "worker" && $0.status == "running" }.map(\.name).sorted()
}
