import DockerEngine
import Foundation
import ReconcileCore
import ReconcileRuntime
import ReconcileTestSupport
import Testing

@Suite("Engine lock and history against the fake engine")
struct EngineLockTests {
    @Test("a lock held by a process elsewhere is refused naming its holder; our own is released")
    func exclusive() async throws {
        let engine = FakeEngine()
        _ = try await engine.createVolume(
            VolumeCreateRequest(
                name: EngineLock.volumeName(project: "other"),
                labels: [
                    "io.reconcile.lock.token": "their-token", "io.reconcile.lock.host": "another-host",
                    "io.reconcile.lock.pid": "1", "io.reconcile.lock.purpose": "apply", LabelKey.lockHolder: "reconcile apply (ci@another-host)",
                ]))
        let refusal = await #expect(throws: EngineLock.Held.self) {
            _ = try await EngineLock.acquire(client: engine, project: "other", purpose: "apply")
        }
        #expect(refusal?.holder == "reconcile apply (ci@another-host)")

        let lock = try await EngineLock.acquire(client: engine, project: "demo", purpose: "apply")
        #expect(try await EngineLock.holder(client: engine, project: "demo") != nil)
        await lock.release()
        #expect(try await EngineLock.holder(client: engine, project: "demo") == nil)
    }

    @Test("history appends numbered revisions and keeps the newest")
    func history() async throws {
        let engine = FakeEngine()
        let history = History(client: engine, project: "demo")
        for _ in 0..<3 {
            try await history.record(Project(name: "demo"), command: "apply", outcome: .applied)
        }
        let listed = try await history.list()
        #expect(listed.revisions.map(\.number) == [1, 2, 3])
    }
}
