import ReconcileCore
import ReconcileTestSupport
import Testing

@Suite("Planner: destroy")
struct DestroyPlanTests {
    /// The converged stack, plus its lock volume, another project's container and a network of
    /// someone else.
    func host() throws -> InMemoryHost {
        var host = try converged(stack())
        host.state.volumes.append(ObservedVolume(name: "demo_lock", labels: [LabelKey.project: "demo", LabelKey.lock: "demo"]))
        host.state.containers.append(ObservedContainer(
            id: "other", name: "other-api-1", labels: [LabelKey.project: "other", LabelKey.service: "api", LabelKey.replica: "1"],
            image: "x", imageID: "x", state: .running))
        host.state.networks.append(ObservedNetwork(id: "foreign", name: "someone_else"))
        return host
    }

    @Test("destroy removes every container of the project, then its networks; volumes and their data stay unless asked")
    func keepsVolumes() throws {
        let result = destroyPlan(project: stack(), observed: try host().state, removeVolumes: false)
        #expect(PlanText.render(result, color: false) == """
            - service:api:1     remove: the project is destroyed
            - service:api:2     remove: the project is destroyed
            - service:db:1      remove: the project is destroyed
            - service:worker:1  remove: the project is destroyed
            - network:default   remove-network: the project is destroyed
            warning: volumes are kept, with their data: demo_data; destroy --volumes removes them

            Plan: 0 to create, 0 to recreate, 5 to remove.
            """)
        let network = try #require(result.steps.last)
        #expect(network.dependsOn == [0, 1, 2, 3] && network.engineName == "demo_default")
        #expect(result.steps.allSatisfy { $0.containerID != "other" })
    }

    @Test("destroy --volumes also removes the project's volumes (never its lock), after the containers, not after the networks")
    func removesVolumesWhenAsked() throws {
        let result = destroyPlan(project: stack(), observed: try host().state, removeVolumes: true)
        let volume = try #require(result.steps.first { $0.action == .removeVolume })
        #expect(volume.engineName == "demo_data" && volume.cause == .destroy(.volumeData))
        #expect(volume.reason == "the project is destroyed with --volumes: the volume's data is deleted")
        #expect(volume.dependsOn == [0, 1, 2, 3])
        #expect(result.steps.filter { $0.action == .removeVolume }.count == 1, "not the lock volume")
        #expect(result.warnings.isEmpty)
    }

    @Test("carried out, a destroy plan leaves nothing of the project, and planning it again is empty")
    func converges() throws {
        var host = try host()
        let result = destroyPlan(project: stack(), observed: host.state, removeVolumes: true)
        host.apply(result, desired: stack())
        #expect(host.state.containers.map(\.id) == ["other"])
        #expect(host.state.networks.map(\.name) == ["someone_else"])
        #expect(host.state.volumes.map(\.name) == ["demo_lock"])
        #expect(destroyPlan(project: stack(), observed: host.state, removeVolumes: true).isEmpty)
    }
}
