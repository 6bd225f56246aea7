import Foundation
import ReconcileCore
import ReconcileTestSupport
import Testing

@Suite("Planner: missing things on a listed host, offline GPUs, the observed state's round trip")
struct ObservedStateBugTests {
    @Test("a missing external network is a planning error on a host whose networks were listed, even when the project has none yet")
    func missingExternalNetworkOnEmptyHost() throws {
        var project = stack()
        project.networks = [Network(key: "default", name: "shared-net", external: true)]
        var listed = ObservedState()
        listed.networksListed = true
        #expect(throws: PlanningError.self) { try plan(desired: project, observed: listed) }
        // Offline nothing is known about the host's networks: not checked, and said so.
        let offline = try plan(desired: project, observed: .empty)
        #expect(!offline.steps.contains { $0.resource == "network:default" })
        #expect(offline.warnings.contains { $0.contains("shared-net") && $0.contains("not checked") })
        listed.networks = [ObservedNetwork(id: "n1", name: "shared-net")]
        let present = try plan(desired: project, observed: listed)
        #expect(!present.steps.contains { $0.resource.hasPrefix("network:") })
    }

    @Test("an observed state keeps every field through JSON, the listed flags included")
    func observedRoundTrip() throws {
        var state = ObservedState(
            containers: [ObservedContainer(id: "c1", name: "demo-api-1", labels: [LabelKey.project: "demo"], image: "a", networks: ["demo_default"])],
            networks: [ObservedNetwork(id: "n1", name: "demo_default")], volumes: [ObservedVolume(name: "demo_data")],
            images: ["a": "sha256:1"], gpus: gpus(2), gpuSource: "--gpus")
        state.volumesListed = true
        state.networksListed = true
        let decoded = try JSONDecoder().decode(ObservedState.self, from: JSONEncoder().encode(state))
        #expect(decoded == state)
    }

    @Test("offline, a service that needs distinct GPUs is planned with its GPUs assigned at apply time, and the plan says so")
    func offlineGPUPlan() throws {
        let result = try plan(desired: gpuProject(replicas: 2), observed: .empty, options: PlanOptions(offline: true))
        #expect(result.steps.filter { $0.action == .create }.count == 2)
        #expect(result.steps.allSatisfy { $0.gpus == nil })
        #expect(result.deferred.contains { $0.contains("train") && $0.contains("apply time") })
        // Online, GPUs unknown stays an error: the exact check is kept.
        #expect(throws: PlanningError.self) { try plan(desired: gpuProject(replicas: 2), observed: .empty) }
    }
}
