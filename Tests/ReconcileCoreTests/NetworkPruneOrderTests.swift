import ReconcileCore
import ReconcileTestSupport
import Testing

@Suite("Planner: pruned networks")
struct NetworkPruneOrderTests {
    @Test("a pruned network is removed only after every container step, start-first recreates included")
    func removalWaitsForRecreates() throws {
        var host = try converged(stack())
        host.state.networks.append(
            ObservedNetwork(id: "old-net", name: "demo_old", labels: [LabelKey.project: "demo", LabelKey.resourceKey: "old"]))
        var edited = stack(apiEnv: ["LOG_LEVEL": "debug"])
        for index in edited.services.indices where edited.services[index].name == "api" {
            edited.services[index].updateConfig.order = .startFirst
        }
        let result = try plan(desired: edited, observed: host.state, options: PlanOptions(prune: true))
        let recreates = result.steps.filter { $0.action == .recreate }
        #expect(recreates.count == 2)
        let removal = try #require(result.steps.first { $0.action == .removeNetwork })
        for step in recreates {
            #expect(removal.dependsOn.contains(step.id), "\(removal.resource) must wait for \(step.resource)")
        }
    }
}
