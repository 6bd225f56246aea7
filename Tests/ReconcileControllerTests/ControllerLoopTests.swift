import DockerEngine
import Foundation
import Logging
import ReconcileCore
import ReconcileManifest
import ReconcileRuntime
import ReconcileTestSupport
import Testing

@testable import ReconcileController

@Suite("Controller loop against the fake engine")
struct ControllerLoopTests {
    @Test("the first pass converges the host and the controller is ready")
    func converges() async throws {
        let engine = FakeEngine()
        await engine.addImage("local/worker:1")
        let controller = makeController(engine: engine)
        try await whileRunning(controller) {
            #expect(await eventually { controller.status().ready })
            #expect(await runningWorkers(engine) == ["demo-worker-1", "demo-worker-2"])
        }
    }

    @Test("a lost event stream is reconnected and the reconnection's pass repairs what changed meanwhile")
    func resyncAfterLostStream() async throws {
        let engine = FakeEngine()
        await engine.addImage("local/worker:1")
        let controller = makeController(engine: engine, resync: 3600)
        try await whileRunning(controller) {
            #expect(await eventually { controller.status().ready && controller.status().eventStreamConnected })
            // The next subscription fails once; the stream drops; a replica goes while nobody listens.
            await engine.inject(.serverError(on: .events, times: 1))
            await engine.dropEventStreams()
            try await engine.removeContainer("demo-worker-2", force: true, removeVolumes: false)
            #expect(await runningWorkers(engine) == ["demo-worker-1"])
            #expect(await eventually { await runningWorkers(engine) == ["demo-worker-1", "demo-worker-2"] })
            #expect(await eventually { controller.status().eventStreamConnected })
            #expect(await engine.calls.filter { $0.route == .events }.count >= 3)
        }
    }

    @Test("a failed pass is retried with backoff until one succeeds")
    func backoffAfterFailures() async throws {
        let engine = FakeEngine()
        await engine.addImage("local/worker:1")
        await engine.inject(.serverError(on: .listContainers, times: 3))
        let controller = makeController(engine: engine)
        try await whileRunning(controller) {
            #expect(await eventually { controller.status().lastPassSucceeded })
            let status = controller.status()
            #expect(status.passes >= 4, "\(status.passes) passes")
            #expect(await runningWorkers(engine) == ["demo-worker-1", "demo-worker-2"])
        }
    }

    @Test("triggers that arrive during a pass are coalesced into one more pass")
    func debounce() async throws {
        let engine = FakeEngine()
        await engine.addImage("local/worker:1")
        // Converged before the controller starts: every pass is one observation and no step.
        let observed = try await Observer(client: engine, gpuDiscovery: GPUDiscovery(probe: nil, environment: [:])).observe(project: workerProject())
        let steps = try plan(desired: workerProject(), observed: observed)
        #expect(await Executor(client: engine, project: workerProject()).run(steps).succeeded)
        await engine.resetCallLog()
        let controller = makeController(engine: engine)
        func lists() async -> Int { await engine.calls.filter { $0.route == .listContainers }.count }
        try await whileRunning(controller) {
            #expect(await eventually { controller.status().ready && controller.status().eventStreamConnected })
            #expect(await eventually { await lists() == controller.status().passes })
            let baseline = await lists()
            // Hold the next pass in its observation while 50 more triggers arrive.
            await engine.inject(.init(route: .listContainers, effect: .delay(.milliseconds(300))))
            controller.enqueue("test")
            #expect(await eventually { await lists() == baseline + 1 })
            let atStart = controller.status().passes
            for index in 0..<50 { controller.enqueue("burst \(index)") }
            #expect(await eventually { await lists() == baseline + 2 && controller.status().passes == atStart + 1 })
            #expect(await eventually { controller.status().lastPassSucceeded })
            controller.enqueue("probe")
            #expect(await eventually { await lists() == baseline + 3 })
            #expect(controller.status().passes == atStart + 2)
        }
    }
}
