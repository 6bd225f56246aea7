import DockerEngine
import Foundation
import ReconcileCore
import ReconcileRuntime
import ReconcileTestSupport
import Testing

/// api (2 replicas, a healthcheck) depends on db (a volume), worker (no healthcheck), all on
/// one network. `order` and `failureAction` are api's update policy.
func demoProject(
    apiEnv: [String: String] = ["LOG_LEVEL": "info"], apiReplicas: Int = 2, order: UpdatePolicy.Order? = nil,
    failureAction: UpdatePolicy.FailureAction = .pause, workerEnv: [String: String] = [:]
) -> Project {
    let net = [ServiceNetwork(key: "default")]
    return Project(
        name: "demo",
        services: [
            Service(
                name: "api", image: "local/api:1", environment: apiEnv, networks: net,
                dependsOn: [Dependency(service: "db")], healthcheck: Healthcheck(test: ["CMD", "true"], interval: 1),
                replicas: apiReplicas, updateConfig: UpdatePolicy(order: order, failureAction: failureAction)),
            Service(
                name: "db", image: "local/db:1", mounts: [Mount(type: .volume, source: "data", target: "/data")], networks: net),
            Service(name: "worker", image: "local/worker:1", environment: workerEnv, networks: net),
        ],
        networks: [Network(key: "default", name: "demo_default")],
        volumes: [Volume(key: "data", name: "demo_data")])
}

/// A fake engine with the demo's images.
func demoEngine() async -> FakeEngine {
    let engine = FakeEngine()
    for image in ["local/api:1", "local/db:1", "local/worker:1"] { await engine.addImage(image) }
    return engine
}

/// Observe, plan and execute against one engine, as `apply` does.
struct Runner {
    let engine: FakeEngine
    var gateTimeout: Double = 2

    func observe(_ project: Project) async throws -> ObservedState {
        try await Observer(client: engine, gpuDiscovery: GPUDiscovery(probe: nil, environment: [:])).observe(project: project)
    }

    func plan(_ project: Project, prune: Bool = false) async throws -> Plan {
        try ReconcileCore.plan(
            desired: project, observed: try await observe(project),
            options: PlanOptions(prune: prune, defaultMonitor: 0, gateTimeout: gateTimeout))
    }

    func execute(_ plan: Plan, _ project: Project) async -> ExecutionResult {
        await Executor(
            client: engine, project: project,
            options: ExecutionOptions(parallelism: 4, gateTimeout: gateTimeout, defaultMonitor: 0)
        ).run(plan)
    }

    @discardableResult
    func apply(_ project: Project, prune: Bool = false) async throws -> (Plan, ExecutionResult) {
        let steps = try await plan(project, prune: prune)
        return (steps, await execute(steps, project))
    }

    /// The host matches `project`: a fresh plan is empty, every replica has exactly one
    /// container (no surge or retired one left), and every declared volume exists.
    func expectConverged(_ project: Project, prune: Bool = false, _ context: String = "", sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let again = try await plan(project, prune: prune)
        #expect(again.steps.isEmpty, "\(context): still to do: \(again.steps.map { "\($0.action) \($0.resource)" })", sourceLocation: sourceLocation)
        let containers = await engine.snapshot().filter { $0.labels[LabelKey.project] == project.name }
        var slots: [String: [String]] = [:]
        for container in containers {
            slots["\(container.labels[LabelKey.service] ?? "?"):\(container.labels[LabelKey.replica] ?? "?")", default: []].append(container.name)
        }
        let expected = project.services.flatMap { service in (1...max(service.replicas, 1)).map { "\(service.name):\($0)" } }
        #expect(Set(slots.keys) == Set(expected), "\(context): replica slots \(slots.keys.sorted())", sourceLocation: sourceLocation)
        for (slot, names) in slots where names.count != 1 {
            Issue.record("\(context): replica \(slot) has \(names.count) containers: \(names)", sourceLocation: sourceLocation)
        }
        for container in containers {
            #expect(container.status == "running", "\(context): \(container.name) is \(container.status)", sourceLocation: sourceLocation)
        }
        let volumes = await engine.volumeNames
        for volume in project.volumes {
            #expect(volumes.contains(volume.name), "\(context): volume \(volume.name) is gone", sourceLocation: sourceLocation)
        }
    }
}

extension ExecutionResult {
    /// Each step's outcome, by resource, for messages.
    func describe(_ plan: Plan) -> String {
        plan.steps.map { "\($0.action) \($0.resource): \(outcomes[$0.id].map { "\($0)" } ?? "none")" }.joined(separator: "\n")
    }
}
