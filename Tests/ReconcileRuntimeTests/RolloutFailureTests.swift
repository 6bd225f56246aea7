import DockerEngine
import Foundation
import ReconcileCore
import ReconcileRuntime
import ReconcileTestSupport
import Testing

@Suite("Rollouts: failures and rollbacks")
struct RolloutFailureTests {
    @Test("an old container already gone when a start-first recreate stops it is success: the replacement takes its name")
    func oldContainerGoneAtStop() async throws {
        let runner = Runner(engine: await demoEngine())
        try await runner.apply(demoProject(order: .startFirst))
        let old = try #require(await runner.engine.snapshot().first { $0.name == "demo-api-1" }).id
        let edited = demoProject(apiEnv: ["LOG_LEVEL": "debug"], order: .startFirst)
        let plan = try await runner.plan(edited)
        // Someone removes the old container between the plan and the recreate's stop: the engine answers 404.
        try await runner.engine.removeContainer(old, force: true, removeVolumes: false)
        let result = await runner.execute(plan, edited)
        #expect(result.succeeded, "\(result.describe(plan))")
        #expect(await runner.engine.calls.contains { $0.route == .stopContainer && $0.target == old })
        #expect(await runner.engine.containerNames.contains("demo-api-1"))
    }

    @Test("a rollback that puts every old container back reports the replaced replicas as rolled back")
    func rollbackSucceeds() async throws {
        let runner = Runner(engine: await demoEngine())
        try await runner.apply(demoProject(order: .startFirst, failureAction: .rollback))
        let before = Set(await runner.engine.snapshot().filter { $0.name.hasPrefix("demo-api") }.map(\.id))
        // The first replica's replacement is created; the second's create fails, so the rollout rolls back.
        await runner.engine.inject(.init(route: .createContainer, target: "demo-api", skip: 1, effect: .fail(status: 500, message: "no space left")))
        let edited = demoProject(apiEnv: ["LOG_LEVEL": "debug"], order: .startFirst, failureAction: .rollback)
        let (plan, result) = try await runner.apply(edited)
        let outcomes = plan.steps.compactMap { result.outcomes[$0.id] }
        #expect(outcomes.contains(.rolledBack), "\(result.describe(plan))")
        let after = await runner.engine.snapshot().filter { $0.name.hasPrefix("demo-api") }
        #expect(Set(after.map(\.id)) == before, "\(after.map(\.name))")
        #expect(after.allSatisfy { $0.status == "running" })
    }

    @Test("a rollback whose own steps fail is reported as failed, not rolled back")
    func rollbackFails() async throws {
        let runner = Runner(engine: await demoEngine())
        try await runner.apply(demoProject(order: .startFirst, failureAction: .rollback))
        await runner.engine.inject(.init(route: .createContainer, target: "demo-api", skip: 1, effect: .fail(status: 500, message: "no space left")))
        // Renaming the retired container back to its replica's name fails.
        await runner.engine.inject(.init(route: .renameContainer, target: "-old-", times: .max, effect: .fail(status: 500, message: "rename refused")))
        let edited = demoProject(apiEnv: ["LOG_LEVEL": "debug"], order: .startFirst, failureAction: .rollback)
        let (plan, result) = try await runner.apply(edited)
        let outcomes = plan.steps.compactMap { result.outcomes[$0.id] }
        #expect(!outcomes.contains(.rolledBack), "\(result.describe(plan))")
        #expect(result.failures.contains { $0.message.contains("rollback of demo-api-1 failed") && $0.message.contains("rename refused") },
                "\(result.describe(plan))")
        #expect(!result.succeeded)
    }

    @Test("a stop-first replacement that fails and cannot put the old container back says so")
    func stopFirstRestoreFails() async throws {
        let runner = Runner(engine: await demoEngine(), gateTimeout: 0.3)
        try await runner.apply(demoProject(apiReplicas: 1, order: .stopFirst))
        await runner.engine.setBehavior("local/api:1", .init(exitsWith: 1))
        await runner.engine.inject(.init(route: .renameContainer, target: "-old-", times: .max, effect: .fail(status: 500, message: "rename refused")))
        let (plan, result) = try await runner.apply(demoProject(apiEnv: ["LOG_LEVEL": "debug"], apiReplicas: 1, order: .stopFirst))
        #expect(!result.succeeded)
        #expect(result.failures.contains { $0.message.contains("putting the old container back failed") && $0.message.contains("rename refused") },
                "\(result.describe(plan))")
    }
}
