import DockerEngine
import Foundation
import Logging
import ReconcileCore
import ReconcileManifest
@testable import ReconcileRuntime
import ReconcileTestSupport
import Synchronization
import Testing

@testable import ReconcileController

@Suite("Controller: lock retake and manifest inputs")
struct LockAndManifestTests {
    @Test("a transient engine error while taking the lock again is retried with backoff, not a reason to exit")
    func retakeRetries() async throws {
        let engine = FakeEngine()
        await engine.inject(.init(route: .createVolume, times: 2, effect: .fail(status: 500, message: "engine restarting")))
        let delays = Mutex<[Double]>([])
        let lock = await LockRetake.run(
            policy: BackoffPolicy(initial: 0.1, cap: 1), logger: quietLogger, sleep: { delay in delays.withLock { $0.append(delay) } },
            acquire: { try await EngineLock.acquire(client: engine, project: "demo", purpose: "controller") })
        #expect(lock != nil)
        #expect(delays.withLock { $0 } == [0.1, 0.2])
    }

    @Test("another holder of the lock ends the retake at once")
    func retakeHeld() async throws {
        let attempts = Mutex(0)
        let lock: EngineLock? = await LockRetake.run(logger: quietLogger, sleep: { _ in }) {
            attempts.withLock { $0 += 1 }
            throw EngineLock.Held(project: "demo", holder: "someone else", purpose: "apply")
        }
        #expect(lock == nil)
        #expect(attempts.withLock { $0 } == 1)
    }

    /// A folder with a manifest whose worker reads `worker.env`.
    func manifestFolder(env: String) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("reconcile-envfile-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try """
            name: demo
            services:
              worker:
                image: local/worker:1
                env_file: worker.env
            """.write(toFile: folder + "/compose.yaml", atomically: true, encoding: .utf8)
        try env.write(toFile: folder + "/worker.env", atomically: true, encoding: .utf8)
        return folder
    }

    @Test("an env_file is part of the manifest digest and of what the watcher watches")
    func envFileInDigest() throws {
        let folder = try manifestFolder(env: "MODE=a\n")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let loader = ManifestLoader(environment: [:])
        let first = try loader.load(paths: [folder + "/compose.yaml"])
        #expect(first.inputs.contains(folder + "/worker.env"))
        let watcher = ManifestWatcher(paths: [folder + "/compose.yaml"])
        let before = watcher.fingerprint(inputs: first.inputs)
        try "MODE=bb\n".write(toFile: folder + "/worker.env", atomically: true, encoding: .utf8)
        #expect(watcher.fingerprint(inputs: first.inputs) != before)
        let second = try loader.load(paths: [folder + "/compose.yaml"])
        #expect(second.digest != first.digest)
    }

    @Test("the controller applies an edit of an env_file")
    func controllerAppliesEnvFileEdit() async throws {
        let folder = try manifestFolder(env: "MODE=a\n")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let engine = FakeEngine()
        await engine.addImage("local/worker:1")
        let paths = [folder + "/compose.yaml"]
        let load: @Sendable () throws -> LoadedManifest = { try ManifestLoader(environment: [:]).load(paths: paths) }
        let initial = try load()
        let controller = Controller(
            client: engine, initial: initial,
            configuration: ControllerConfiguration(paths: paths, resync: 3600, manifestPoll: 0.02, parallelism: 4, gateTimeout: 5),
            load: load, logger: quietLogger, observer: Observer(client: engine, gpuDiscovery: GPUDiscovery(probe: nil, environment: [:])))
        func mode() async -> String? {
            let env = try? await engine.inspectContainer("demo-worker-1").config?.env
            return env?.first { $0.hasPrefix("MODE=") }
        }
        try await whileRunning(controller) {
            #expect(await eventually { await mode() == "MODE=a" })
            try "MODE=bb\n".write(toFile: folder + "/worker.env", atomically: true, encoding: .utf8)
            #expect(await eventually { await mode() == "MODE=bb" })
        }
    }
}
