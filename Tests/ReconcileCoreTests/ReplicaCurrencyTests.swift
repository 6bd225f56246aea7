import ReconcileCore
import ReconcileTestSupport
import Testing

@Suite("one answer to current, ready and order")
struct ReplicaCurrencyTests {
    @Test("a replica is current exactly when the planner keeps it: converged, changed config, moved image")
    func currentMatchesThePlanner() throws {
        let host = try converged(stack())
        let project = stack()
        for container in host.state.containers {
            let service = try #require(project.service(named: container.service ?? ""))
            #expect(ReplicaCurrency(service: service, project: project, observed: host.state).isCurrent(container))
        }
        // A changed environment: api's replicas are not current, and they are exactly the ones recreated.
        let edited = stack(apiEnv: ["LOG_LEVEL": "debug"])
        let recreated = Set(try plan(desired: edited, observed: host.state).steps.filter { $0.action == .recreate }.compactMap(\.containerID))
        let stale = Set(host.state.containers.filter { container in
            let service = edited.service(named: container.service ?? "")!
            return !ReplicaCurrency(service: service, project: edited, observed: host.state).isCurrent(container)
        }.map(\.id))
        #expect(!stale.isEmpty && stale == recreated)
        // The reference now names another image: not current by image, current by config.
        var moved = host.state
        let index = try #require(moved.containers.firstIndex { $0.service == "worker" })
        moved.containers[index].imageID = "sha256:old"
        moved.images["local/worker:1"] = "sha256:new"
        let worker = moved.containers[index]
        let currency = ReplicaCurrency(service: project.service(named: "worker")!, project: project, observed: moved)
        #expect(currency.configIsCurrent(worker) && !currency.imageIsCurrent(worker) && !currency.isCurrent(worker))
    }

    @Test("ready is running and, with a health check, healthy")
    func ready() {
        var container = ObservedContainer(id: "1", name: "a", labels: [:], image: "x", imageID: "x", state: .running)
        #expect(container.isReady)
        container.health = .starting
        #expect(!container.isReady)
        container.health = .healthy
        #expect(container.isReady)
        container.state = .exited
        #expect(!container.isReady)
    }

    @Test("one graph orders services and finds each cycle once, through depends_on and shared containers")
    func graph() {
        func service(_ name: String, _ deps: [String], networkMode: String? = nil) -> Service {
            var s = Service(name: name, image: "x", dependsOn: deps.map { Dependency(service: $0) })
            if let networkMode {
                var options = ContainerOptions()
                options.networkMode = networkMode
                s.options = options
            }
            return s
        }
        let ordered = ServiceGraph.order([service("api", ["db"]), service("db", []), service("sidecar", [], networkMode: "service:api")])
        #expect(ordered.order == [1, 0, 2] && ordered.cycles.isEmpty)
        let cyclic = ServiceGraph.order([service("a", ["b"]), service("b", [], networkMode: "service:a"), service("c", ["c"])])
        #expect(cyclic.cycles == [["a", "b", "a"], ["c", "c"]])
    }
}
