import DockerEngine
import Foundation
import ReconcileCore
import ReconcileRuntime
import ReconcileTestSupport
import Testing

@Suite("Executor against the fake engine")
struct ExecutorTests {
    @Test("a cold start creates the network, the volume and every replica; the engine calls are those the steps imply")
    func coldStart() async throws {
        let runner = Runner(engine: await demoEngine())
        let (plan, result) = try await runner.apply(demoProject())
        #expect(result.succeeded, "\(result.describe(plan))")
        let calls = await runner.engine.calls
        let mutating = calls.filter(\.route.isMutating)
        #expect(mutating.filter { $0.route == .createNetwork }.map(\.target) == ["demo_default"])
        #expect(mutating.filter { $0.route == .createVolume }.map(\.target) == ["demo_data"])
        let creates = plan.steps.filter { $0.action == .create }
        #expect(Set(mutating.filter { $0.route == .createContainer }.map(\.target)) == Set(creates.compactMap(\.containerName)))
        #expect(mutating.filter { $0.route == .startContainer }.count == creates.count)
        #expect(mutating.filter { [.stopContainer, .removeContainer, .removeNetwork, .removeVolume].contains($0.route) }.isEmpty)
        try await runner.expectConverged(demoProject())
    }

    @Test("a stopped replica is started, a paused one unpaused, and a removed one created again")
    func repairs() async throws {
        let runner = Runner(engine: await demoEngine())
        try await runner.apply(demoProject())
        try await runner.engine.stopContainer("demo-worker-1", timeout: 0)
        try await runner.engine.pauseContainer("demo-api-1")
        try await runner.engine.removeContainer("demo-api-2", force: true, removeVolumes: false)
        await runner.engine.resetCallLog()
        let (plan, result) = try await runner.apply(demoProject())
        #expect(Set(plan.steps.map(\.action)) == [.start, .create], "\(plan.steps.map(\.resource))")
        #expect(result.succeeded, "\(result.describe(plan))")
        let routes = await runner.engine.calls.filter(\.route.isMutating).map(\.route)
        #expect(routes.contains(.unpauseContainer))
        try await runner.expectConverged(demoProject())
    }

    @Test("scaling down removes the extra replicas and keeps the volume")
    func scaleDown() async throws {
        let runner = Runner(engine: await demoEngine())
        try await runner.apply(demoProject(apiReplicas: 3))
        let (plan, result) = try await runner.apply(demoProject(apiReplicas: 1))
        #expect(plan.steps.map(\.action) == [.remove, .remove])
        #expect(result.succeeded, "\(result.describe(plan))")
        try await runner.expectConverged(demoProject(apiReplicas: 1))
    }

    @Test("a configuration change recreates each replica, start-first and stop-first alike", arguments: [UpdatePolicy.Order.startFirst, .stopFirst])
    func recreate(order: UpdatePolicy.Order) async throws {
        let runner = Runner(engine: await demoEngine())
        try await runner.apply(demoProject(order: order))
        let before = await runner.engine.snapshot().filter { $0.name.hasPrefix("demo-api") }.map(\.id)
        let edited = demoProject(apiEnv: ["LOG_LEVEL": "debug"], order: order)
        let (plan, result) = try await runner.apply(edited)
        #expect(plan.steps.map(\.action) == [.recreate, .recreate])
        #expect(plan.steps.allSatisfy { $0.strategy == (order == .startFirst ? .startFirst : .stopFirst) })
        #expect(result.succeeded, "\(result.describe(plan))")
        let after = await runner.engine.snapshot().filter { $0.name.hasPrefix("demo-api") }.map(\.id)
        #expect(Set(before).isDisjoint(with: after))
        try await runner.expectConverged(edited)
    }

    @Test("--prune removes a network no longer in the manifest, after the containers that used it")
    func pruneNetwork() async throws {
        let runner = Runner(engine: await demoEngine())
        var project = demoProject()
        project.networks.append(Network(key: "old", name: "demo_old"))
        project.services = project.services.map { service in
            var service = service
            if service.name == "worker" { service.networks.append(ServiceNetwork(key: "old")) }
            return service
        }
        try await runner.apply(project)
        #expect(await runner.engine.networkNames.contains("demo_old"))
        let (plan, result) = try await runner.apply(demoProject(), prune: true)
        #expect(plan.steps.contains { $0.action == .removeNetwork })
        #expect(result.succeeded, "\(result.describe(plan))")
        #expect(await !runner.engine.networkNames.contains("demo_old"))
        try await runner.expectConverged(demoProject(), prune: true)
    }

    @Test("a failing engine call fails its step and skips the steps that depend on it")
    func failureSkipsDependents() async throws {
        let runner = Runner(engine: await demoEngine())
        await runner.engine.inject(.init(route: .createContainer, target: "demo-db-1", effect: .fail(status: 500, message: "disk full")))
        let (plan, result) = try await runner.apply(demoProject())
        #expect(!result.succeeded)
        let db = try #require(plan.steps.first { $0.resource == "service:db:1" })
        guard case .failed(let message) = result.outcomes[db.id] else {
            Issue.record("db: \(String(describing: result.outcomes[db.id]))")
            return
        }
        #expect(message.contains("disk full"))
        for api in plan.steps where api.service == "api" {
            guard case .skipped = result.outcomes[api.id] else {
                Issue.record("\(api.resource): \(String(describing: result.outcomes[api.id]))")
                continue
            }
        }
        await runner.engine.clearFaults()
        try await runner.apply(demoProject())
        try await runner.expectConverged(demoProject())
    }

    @Test("a missing image fails the create with a sentence saying to build or pull it")
    func missingImage() async throws {
        // Planned where the image is, carried out on an engine where it is not (removed meanwhile).
        let plan = try await Runner(engine: await demoEngine()).plan(demoProject())
        let bare = FakeEngine()
        await bare.addImage("local/db:1")
        await bare.addImage("local/worker:1")
        let result = await Runner(engine: bare).execute(plan, demoProject())
        #expect(!result.succeeded)
        #expect(result.failures.contains { $0.message.contains("image local/api:1 not found on this host: build it or pull it first") },
                "\(result.describe(plan))")
        #expect(await !bare.containerNames.contains { $0.hasPrefix("demo-api") })
    }

    @Test("a replica that never becomes healthy fails its gate, and the start-first surge is removed")
    func neverHealthy() async throws {
        let runner = Runner(engine: await demoEngine(), gateTimeout: 0.3)
        try await runner.apply(demoProject(order: .startFirst))
        await runner.engine.setBehavior("local/api:1", .init(health: .staysStarting))
        let edited = demoProject(apiEnv: ["LOG_LEVEL": "debug"], order: .startFirst)
        let (plan, result) = try await runner.apply(edited)
        #expect(!result.succeeded)
        #expect(result.failures.contains { $0.message.contains("not healthy after") }, "\(result.describe(plan))")
        // The old replicas still serve; no surge container is left behind.
        let names = await runner.engine.containerNames
        #expect(names.filter { $0.hasPrefix("demo-api") }.sorted() == ["demo-api-1", "demo-api-2"], "\(names)")
    }

    @Test("a replica whose container exits at once fails its gate (stop-first puts the old one back)")
    func exitsAtOnce() async throws {
        let runner = Runner(engine: await demoEngine(), gateTimeout: 0.3)
        try await runner.apply(demoProject(order: .stopFirst))
        let old = await runner.engine.snapshot().filter { $0.name.hasPrefix("demo-api") }.map(\.id).sorted()
        await runner.engine.setBehavior("local/api:1", .init(exitsWith: 2))
        let (plan, result) = try await runner.apply(demoProject(apiEnv: ["LOG_LEVEL": "debug"], order: .stopFirst))
        #expect(!result.succeeded)
        #expect(result.failures.contains { $0.message.contains("exited with code 2") }, "\(result.describe(plan))")
        let api = await runner.engine.snapshot().filter { $0.name.hasPrefix("demo-api") }
        // The failed replica's old container is back under its name and running.
        #expect(api.contains { old.contains($0.id) && $0.status == "running" && ($0.name == "demo-api-1" || $0.name == "demo-api-2") })
    }
}
