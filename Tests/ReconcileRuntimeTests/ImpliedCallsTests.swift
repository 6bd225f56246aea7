import DockerEngine
import Foundation
import ReconcileCore
import ReconcileRuntime
import ReconcileTestSupport
import Testing

/// The executor only performs: every engine-changing call it makes is one the plan's steps
/// imply, by a fixed rule per step kind, and nothing else. A decision taken in the executor
/// (an extra stop, a rediscovered container, a network it chose to touch) shows up here as
/// a call no step implies.
@Suite("Engine calls are exactly those the plan implies")
struct ImpliedCallsTests {
    /// The engine-changing calls one step implies, as route and target (a container id, or
    /// "new:NAME" for a container the step creates, "surge:NAME" for a start-first surge by
    /// the name it takes, or an engine-side name). The rule per step kind is the executor's
    /// contract; the plan's rollout says whether an old container is kept for a rollback.
    static func implied(_ step: PlanStep, plan: Plan, project: Project) -> [String] {
        let service = step.service.flatMap { project.service(named: $0) }
        let networks = service?.networks.count ?? 1
        let joins = max(0, networks - 1)
        let old = step.containerID ?? ""
        let keeps = step.service.flatMap { plan.rollout(of: $0)?.keepsReplaced } ?? false
        func createAndStart(_ name: String) -> [String] {
            ["createContainer \(name)"] + Array(repeating: "connectNetwork \(name)", count: joins) + ["startContainer \(name)"]
        }
        switch step.action {
        case .createNetwork: return ["createNetwork \(step.engineName ?? "")"]
        case .createVolume: return ["createVolume \(step.engineName ?? "")"]
        case .removeNetwork: return ["removeNetwork \(step.engineName ?? "")"]
        case .removeVolume: return ["removeVolume \(step.engineName ?? "")"]
        case .build: return ["build \(step.engineName ?? "")"]
        case .start: return ["startContainer \(old)"]
        case .remove:
            if case .autoscale = step.cause {
                // An autoscale removal first leaves the service's name (each network it serves
                // on is disconnected and connected again without the aliases), then stops.
                return Array(repeating: "disconnectNetwork \(old)", count: networks) + Array(repeating: "connectNetwork \(old)", count: networks)
                    + ["stopContainer \(old)", "removeContainer \(old)"]
            }
            return ["stopContainer \(old)", "removeContainer \(old)"]
        case .create: return createAndStart("new:\(step.containerName ?? "")")
        // Swarm steps: the single-host executor refuses them without an engine call.
        case .update, .scale: return []
        case .recreate:
            switch step.strategy ?? .stopFirst {
            case .stopFirst:
                // The old container is stopped and set aside under a retired name (so it can be
                // put back if its replacement fails its gate), then removed once it passed.
                return ["stopContainer \(old)", "renameContainer \(old)"] + createAndStart("new:\(step.containerName ?? "")")
                    + ["removeContainer \(old)"]
            case .startFirst:
                // The surge starts under a temporary name, off the service's alias; once healthy
                // it joins the alias and the old container leaves it (drains), stops, and is
                // removed, or set aside until the rollout ends where a rollback may want it;
                // then the surge takes the replica's name.
                let surge = "surge:\(step.containerName ?? "")"
                return createAndStart(surge)
                    + Array(repeating: "disconnectNetwork \(surge)", count: networks)
                    + Array(repeating: "connectNetwork \(surge)", count: networks)
                    + Array(repeating: "disconnectNetwork \(old)", count: networks)
                    + ["stopContainer \(old)"]
                    + (keeps ? ["renameContainer \(old)", "removeContainer \(old)"] : ["removeContainer \(old)"])
                    + ["renameContainer \(surge)"]
            }
        }
    }

    /// The calls the fake received, with ids of containers created during the run written
    /// as "new:NAME" (or "surge:NAME" for a start-first surge, by its final name).
    static func observedCalls(_ calls: [FakeEngine.Call], names: [String: String], before: Set<String>) -> [String] {
        calls.filter(\.route.isMutating).map { call in
            var target = call.target
            if let name = names[target], !before.contains(target) {
                target = name.hasSuffix("-next") ? "surge:\(finalName(name))" : "new:\(name)"
            } else if call.route == .createContainer, target.hasSuffix("-next") {
                target = "surge:\(finalName(target))"
            } else if call.route == .createContainer {
                target = "new:\(target)"
            }
            return "\(call.route.rawValue) \(target)"
        }
    }

    /// A surge's final name: its temporary name (`Naming.surgeName`) without `-next`.
    static func finalName(_ surge: String) -> String {
        surge.hasSuffix("-next") ? String(surge.dropLast(5)) : surge
    }

    @Test("for every plan shape, the mutating engine calls equal the calls its steps imply", arguments: CutPointTests.shapes)
    func callsAreImplied(_ shape: CutPointTests.Shape) async throws {
        let runner = try await CutPointTests().prepared(shape)
        let before = Set(await runner.engine.snapshot().map(\.id))
        let (plan, result) = try await runner.apply(shape.to, prune: shape.prune)
        #expect(result.succeeded, "\(result.describe(plan))")
        let calls = await runner.engine.calls
        let names = await runner.engine.createdNames()
        let actual = Self.observedCalls(calls, names: names, before: before).sorted()
        let expected = plan.steps.flatMap { Self.implied($0, plan: plan, project: shape.to) }.sorted()
        #expect(actual == expected, "\(shape.name):\n  not implied: \(Self.difference(actual, expected))\n  implied, not made: \(Self.difference(expected, actual))")
    }

    @Test("an autoscale scale-down drains each removed replica out of the service's name, then stops it, and calls nothing else")
    func autoscaleDrain() async throws {
        let engine = FakeEngine()
        await engine.addImage("local/api:1")
        var service = Service(name: "api", image: "local/api:1", networks: [ServiceNetwork(key: "default")], replicas: 3)
        service.extensions.autoscale = AutoscaleSpec(min: 1, max: 3, metric: .cpu, target: 50)
        let project = Project(name: "demo", services: [service], networks: [Network(key: "default", name: "demo_default")])
        let observer = Observer(client: engine, gpuDiscovery: GPUDiscovery(probe: nil, environment: [:]))
        let first = try plan(desired: project, observed: try await observer.observe(project: project))
        #expect(await Executor(client: engine, project: project).run(first).succeeded)
        await engine.resetCallLog()
        let decision = AutoscaleDecision(service: "api", from: 3, to: 1, metric: "cpu %", value: 5, target: 50, recommended: 1, reason: .metric)
        let down = try plan(desired: project, observed: try await observer.observe(project: project), options: PlanOptions(autoscale: ["api": decision]))
        #expect(down.steps.map(\.action) == [.remove, .remove])
        let result = await Executor(client: engine, project: project, options: ExecutionOptions(drainDelay: 0)).run(down)
        #expect(result.succeeded, "\(result.describe(down))")
        let actual = Self.observedCalls(await engine.calls, names: [:], before: []).sorted()
        let expected = down.steps.flatMap { Self.implied($0, plan: down, project: project) }.sorted()
        #expect(actual == expected, "not implied: \(Self.difference(actual, expected))\n  implied, not made: \(Self.difference(expected, actual))")
        // The survivor still answers to the service's name; the removed ones left it before they stopped.
        let calls = await engine.calls.map(\.description)
        for step in down.steps {
            let id = try #require(step.containerID)
            let left = try #require(calls.firstIndex(of: "connectNetwork \(id)"))
            let stopped = try #require(calls.firstIndex(of: "stopContainer \(id)"))
            #expect(left < stopped)
        }
    }

    static func difference(_ a: [String], _ b: [String]) -> [String] {
        var rest = b
        return a.filter { item in
            if let index = rest.firstIndex(of: item) { rest.remove(at: index); return false }
            return true
        }
    }
}
