import DockerEngine
import Foundation
import Logging
import ReconcileCore
import ReconcileTestSupport
import Testing

@testable import ReconcileController

@Suite("Engine restarts under the controller (fake engine)")
struct EngineRestartTests {
    /// What a dockerd restart shows the controller: the event stream breaks, the engine is
    /// away a moment (the next subscription fails), every replica stops with no one to hear
    /// its `die`, and then the engine answers again.
    static func restartEngine(_ engine: FakeEngine, _ controller: Controller) async throws {
        await engine.inject(.serverError(on: .events, times: 1))
        await engine.dropEventStreams()
        // A dockerd going down ends the stream before its restart stops what it ran.
        #expect(await eventually { !controller.status().eventStreamConnected })
        for container in await engine.snapshot() where container.status == "running" {
            try await engine.exit(container.id, code: 137)
        }
    }

    @Test("six engine restarts in a row: replicas stopped by the engine are started again at once, keep their containers, and never wait a crash backoff")
    func sixRestarts() async throws {
        let engine = FakeEngine()
        await engine.addImage("local/worker:1")
        let controller = makeController(engine: engine)
        try await whileRunning(controller) {
            #expect(await eventually { controller.status().ready })
            let ids = Set(await engine.snapshot().map(\.id))
            for round in 1...6 {
                try await Self.restartEngine(engine, controller)
                #expect(await runningWorkers(engine).isEmpty)
                let back = await eventually(within: .seconds(10)) { await runningWorkers(engine) == ["demo-worker-1", "demo-worker-2"] }
                #expect(back, "round \(round)")
                // Not a crash: no replica's crash count grows, so no backoff (1 s, 2 s, 4 s … from
                // round 2 on) is ever waited. Asserted on the backoff itself, not on a clock.
                let failures = controller.state.withLock { $0.backoff.entries.mapValues(\.failures) }
                #expect(failures.values.allSatisfy { $0 == 0 }, "round \(round): \(failures)")
                #expect(controller.status().backoff.isEmpty, "round \(round): \(controller.status().backoff)")
                #expect(Set(await engine.snapshot().map(\.id)) == ids, "round \(round): the same containers")
            }
        }
    }

    @Test("a replica that crashes on its own while the engine stays up still backs off")
    func realCrashStillBacksOff() async throws {
        let engine = FakeEngine()
        await engine.addImage("local/worker:1")
        let controller = makeController(engine: engine)
        try await whileRunning(controller) {
            #expect(await eventually { controller.status().ready })
            try await engine.exit("demo-worker-1", code: 1)
            #expect(await eventually { await runningWorkers(engine) == ["demo-worker-1", "demo-worker-2"] })
            try await engine.exit("demo-worker-1", code: 1)
            #expect(await eventually { !controller.status().backoff.isEmpty }, "the second quick crash waits")
        }
    }
}
