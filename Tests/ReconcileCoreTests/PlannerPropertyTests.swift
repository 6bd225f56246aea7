import Foundation
import ReconcileCore
import ReconcileTestSupport
import Testing

/// Random desired states and random (possibly messy) observed states: the planner's
/// invariants must hold for every one of them.
@Suite("Planner properties")
struct PlannerPropertyTests {
    static let seeds: [UInt64] = Array(1...300)

    static func randomProject(_ rng: inout SeededGenerator) -> Project {
        let names = ["api", "db", "worker", "cache", "model"].filter { _ in Bool.random(using: &rng) }
        var services: [Service] = []
        for (index, name) in names.enumerated() {
            var deps: [Dependency] = []
            if index > 0, Bool.random(using: &rng) {
                deps.append(Dependency(service: names[Int.random(in: 0..<index, using: &rng)]))
            }
            services.append(
                Service(
                    name: name, image: "img/\(name):\(Int.random(in: 1...2, using: &rng))",
                    environment: ["V": String(Int.random(in: 0...2, using: &rng)), "SECRET": "p\(Int.random(in: 0...1, using: &rng))"],
                    secretEnv: ["SECRET"],
                    mounts: Bool.random(using: &rng) ? [Mount(type: .volume, source: "data", target: "/data")] : [],
                    networks: [ServiceNetwork(key: "default")], dependsOn: deps,
                    replicas: Int.random(in: 0...4, using: &rng)))
        }
        return Project(
            name: "p", services: services, networks: [Network(key: "default", name: "p_default")],
            volumes: [Volume(key: "data", name: "p_data")])
    }

    /// Mess up a converged host: remove, stop, duplicate, corrupt and leave surge containers, add foreigners.
    static func perturb(_ host: inout InMemoryHost, _ rng: inout SeededGenerator) {
        var containers = host.state.containers
        for index in containers.indices.reversed() {
            switch Int.random(in: 0..<10, using: &rng) {
            case 0: containers.remove(at: index)
            case 1:
                containers[index].state = .exited
                containers[index].exitCode = 1
            case 2:
                var copy = containers[index]
                copy.id += "dup"
                copy.created += 1
                containers.append(copy)
            case 3: containers[index].labels[LabelKey.configHash] = "stale"
            case 4:
                var surge = containers[index]
                surge.id += "surge"
                surge.name += "-next"
                surge.labels[LabelKey.surge] = surge.name
                containers.append(surge)
            case 5: containers[index].labels[LabelKey.replica] = String(Int.random(in: 1...6, using: &rng))
            default: break
            }
        }
        containers.append(ObservedContainer(id: "foreign1", name: "x-api-1", labels: [LabelKey.project: "x", LabelKey.service: "api", LabelKey.replica: "1"], image: "i"))
        containers.append(ObservedContainer(id: "foreign2", name: "handmade", labels: [:], image: "i"))
        host.state.containers = containers
        host.state.networks.append(ObservedNetwork(id: "fn", name: "x_default", labels: [LabelKey.project: "x"]))
        host.state.volumes.append(ObservedVolume(name: "x_data", labels: [LabelKey.project: "x"]))
    }

    @Test("applying the plan converges, planning again is empty, foreign objects and volumes are untouched", arguments: seeds)
    func convergence(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        let before = Self.randomProject(&rng)
        var host = InMemoryHost()
        host.apply(try plan(desired: before, observed: host.state), desired: before)
        Self.perturb(&host, &rng)
        let after = Self.randomProject(&rng)
        let prune = Bool.random(using: &rng)
        let volumesBefore = host.state.volumes
        let step = try plan(desired: after, observed: host.state, options: PlanOptions(prune: prune))

        for s in step.steps {
            #expect(s.containerID != "foreign1" && s.containerID != "foreign2")
            #expect(s.engineName != "x_default")
            #expect(s.action != .removeNetwork || prune)
        }
        host.apply(step, desired: after)
        #expect(host.state.volumes.count >= volumesBefore.count)
        for volume in volumesBefore { #expect(host.state.volumes.contains(volume)) }

        let again = try plan(desired: after, observed: host.state, options: PlanOptions(prune: prune))
        #expect(again.steps.isEmpty, "seed \(seed): \(PlanText.render(again))")

        // Exactly the desired replicas of our project run, one container per slot.
        let ours = host.state.containers.filter { $0.project == "p" && after.service(named: $0.service ?? "") != nil }
        let expected = after.services.reduce(0) { $0 + $1.replicas }
        #expect(ours.count == expected, "seed \(seed)")
        let slots = Set(ours.map { "\($0.service ?? ""):\($0.replica ?? 0)" })
        #expect(slots.count == ours.count)
        #expect(host.state.containers.contains { $0.id == "foreign1" } && host.state.containers.contains { $0.id == "foreign2" })
    }

    @Test("planning is deterministic whatever the order of observation", arguments: seeds.prefix(50))
    func deterministic(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        let project = Self.randomProject(&rng)
        var host = InMemoryHost()
        host.apply(try plan(desired: project, observed: host.state), desired: project)
        Self.perturb(&host, &rng)
        let target = Self.randomProject(&rng)
        let a = try plan(desired: target, observed: host.state)
        var shuffled = host.state
        shuffled.containers.shuffle(using: &rng)
        let b = try plan(desired: target, observed: shuffled)
        #expect(PlanText.render(a) == PlanText.render(b))
    }
}
