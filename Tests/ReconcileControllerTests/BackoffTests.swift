import ReconcileController
import ReconcileCore
import Testing

/// The clock is a plain number of seconds the tests advance by hand.
@Suite("Controller backoff")
struct BackoffTests {
    @Test("delays double from the initial one up to the cap")
    func policy() {
        let policy = BackoffPolicy(initial: 1, cap: 300)
        #expect(policy.delay(afterFailures: 0) == 0)
        #expect((1...10).map { policy.delay(afterFailures: $0) } == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300])
        #expect(policy.delay(afterFailures: 10_000) == 300)
    }

    @Test("the first repair of a replica is never delayed")
    func firstRepair() {
        var backoff = ReplicaBackoff()
        #expect(backoff.crashed("web:1", now: 0) == .now)
        #expect(backoff.mayRepair("web:2", now: 0) == .now)
    }

    @Test("a replica that crashes again soon after its start waits 1 s, 2 s, 4 s … and never less")
    func crashLoop() {
        var backoff = ReplicaBackoff(policy: .replica, resetAfter: 60)
        var now = 100.0
        #expect(backoff.crashed("web:1", now: now) == .now)
        backoff.attempted("web:1", now: now)
        var starts = 1
        var delays: [Double] = []
        // The container dies half a second after each start; passes come as often as events ask.
        while now < 100 + 600 {
            now += 0.5
            var due = 0.0
            switch backoff.crashed("web:1", now: now) {
            case .now: due = now
            case .wait(let until): due = until
            }
            // Asking again while it waits changes nothing.
            #expect(backoff.crashed("web:1", now: now + 0.1) == (due > now + 0.1 ? .wait(until: due) : .now))
            delays.append(due - now)
            now = due
            #expect(backoff.crashed("web:1", now: now) == .now)
            backoff.attempted("web:1", now: now)
            starts += 1
        }
        #expect(Array(delays.prefix(9)) == [1, 2, 4, 8, 16, 32, 64, 128, 256])
        #expect(delays.dropFirst(9).allSatisfy { $0 == 300 })
        // Ten minutes of a crash loop is a dozen starts, not a thousand.
        #expect(starts < 14)
    }

    @Test("a replica that ran for resetAfter seconds starts again at once and its count starts over")
    func reset() {
        var backoff = ReplicaBackoff(policy: .replica, resetAfter: 60)
        backoff.attempted("web:1", now: 0)
        #expect(backoff.crashed("web:1", now: 1) == .wait(until: 2))
        backoff.attempted("web:1", now: 2)
        #expect(backoff.crashed("web:1", now: 3) == .wait(until: 5))
        backoff.attempted("web:1", now: 5)
        // Healthy for a minute, then it crashes: no wait, and the next quick crash waits 1 s again.
        #expect(backoff.crashed("web:1", now: 65) == .now)
        backoff.attempted("web:1", now: 65)
        #expect(backoff.crashed("web:1", now: 66) == .wait(until: 67))
    }

    @Test("a replica waiting out its backoff is not created or started by another path meanwhile")
    func heldEverywhere() {
        var backoff = ReplicaBackoff()
        backoff.attempted("web:1", now: 0)
        #expect(backoff.crashed("web:1", now: 0.5) == .wait(until: 1.5))
        #expect(backoff.mayRepair("web:1", now: 1) == .wait(until: 1.5))
        #expect(backoff.mayRepair("web:1", now: 1.5) == .now)
        #expect(backoff.waiting(now: 1).map(\.key) == ["web:1"])
        #expect(backoff.waiting(now: 2).isEmpty)
    }

    @Test("settled entries are forgotten, waiting ones are kept")
    func forget() {
        var backoff = ReplicaBackoff(policy: .replica, resetAfter: 60)
        backoff.attempted("a:1", now: 0)
        backoff.attempted("b:1", now: 50)
        #expect(backoff.crashed("b:1", now: 51) == .wait(until: 52))
        backoff.forgetSettled(now: 70)
        #expect(Set(backoff.entries.keys) == ["b:1"])
    }

    @Test("deferring a step drops its dependents and renumbers the rest")
    func deferring() {
        let plan = Plan(
            project: "p",
            steps: [
                PlanStep(id: 0, resource: "network:default", action: .createNetwork, cause: .networkMissing(name: "n")),
                PlanStep(id: 1, resource: "service:db:1", action: .start, cause: .start(.paused), dependsOn: [0], service: "db", replica: 1),
                PlanStep(id: 2, resource: "service:web:1", action: .create, cause: .newService(gpus: nil), dependsOn: [0, 1], service: "web", replica: 1),
                PlanStep(id: 3, resource: "service:cache:1", action: .create, cause: .newService(gpus: nil), dependsOn: [0], service: "cache", replica: 1),
            ])
        let (kept, deferred) = plan.deferring([1])
        #expect(deferred.map(\.resource) == ["service:db:1", "service:web:1"])
        #expect(kept.steps.map(\.resource) == ["network:default", "service:cache:1"])
        #expect(kept.steps.map(\.id) == [0, 1])
        #expect(kept.steps[1].dependsOn == [0])
        #expect(plan.deferring([]).plan == plan)
    }
}
