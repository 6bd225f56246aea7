import Foundation
import ReconcileCore
import ReconcileTestSupport
import Testing

@Suite("Saved plans")
struct SavedPlanCoreTests {
    @Test("the observed lines name what the planner reads, leave the lock and labels out, and their changes read as facts")
    func observedLinesAndChanges() {
        var before = ObservedState(
            containers: [
                ObservedContainer(
                    id: "c1", name: "demo-api-1", labels: [LabelKey.project: "demo", "secret-ish": "tok-123"], image: "a",
                    networks: ["demo_default"])
            ],
            volumes: [
                ObservedVolume(name: "demo_data", labels: [LabelKey.project: "demo"]),
                ObservedVolume(name: "reconcile-lock-demo", labels: [LabelKey.project: "demo", LabelKey.lock: "demo"]),
            ],
            images: ["a": "sha256:1"])
        before.volumesListed = true
        let lines = before.fingerprintLines()
        #expect(lines == [
            "container demo-api-1 id=c1 state=running networks=demo_default",
            "host volumes listed",
            "image a id=sha256:1",
            "volume demo_data project=demo",
        ])
        #expect(!lines.joined().contains("tok-123"))

        var after = before
        after.containers[0].state = .exited
        after.containers[0].exitCode = 137
        after.images["a"] = "sha256:2"
        after.volumes.removeAll { $0.name == "demo_data" }
        after.networks.append(ObservedNetwork(id: "n1", name: "demo_default", labels: [LabelKey.project: "demo"]))
        #expect(SavedPlan.changes(from: lines, to: after.fingerprintLines()) == [
            "container demo-api-1: state running → exited, exit (none) → 137",
            "image a: id sha256:1 → sha256:2",
            "network demo_default: appeared",
            "volume demo_data: gone",
        ])
        #expect(SavedPlan.observedDigest(lines) != SavedPlan.observedDigest(after.fingerprintLines()))
    }

    @Test("the manifest digest moves with any value, secrets included, and depends on the salt")
    func manifestDigest() throws {
        let a = try SavedPlan.manifestDigest(stack(), salt: "s1")
        #expect(a == (try SavedPlan.manifestDigest(stack(), salt: "s1")))
        #expect(a != (try SavedPlan.manifestDigest(stack(dbPassword: "other"), salt: "s1")))
        #expect(a != (try SavedPlan.manifestDigest(stack(), salt: "s2")))
        #expect(SavedPlan.newSalt() != SavedPlan.newSalt())
    }

    @Test("a plan keeps its typed causes and rollouts through JSON")
    func planRoundTrip() throws {
        var host = InMemoryHost()
        host.apply(try plan(desired: stack(), observed: host.state), desired: stack())
        let changed = try plan(desired: stack(apiEnv: ["LOG_LEVEL": "debug"]), observed: host.state)
        #expect(changed.rollouts.map(\.service) == ["api"])
        #expect(changed.steps.allSatisfy {
            if case .replace(.configChanged, _) = $0.cause { return true }
            return false
        })
        let decoded = try JSONDecoder().decode(Plan.self, from: JSONEncoder().encode(changed))
        #expect(decoded == changed)
    }
}
