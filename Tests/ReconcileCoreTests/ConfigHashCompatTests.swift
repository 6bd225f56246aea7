import Foundation
import ReconcileCore
import ReconcileTestSupport
import Testing

/// A configuration that uses most of the fields reconcile has always hashed, and no
/// healthcheck or logging block.
func pinnedService() -> Service {
    Service(
        name: "api", image: "local/api:1", command: ["serve", "--port", "80"], entrypoint: ["/entry"],
        environment: ["A": "1", "B": "two"], ports: [PortMapping(target: 80, published: 8080, hostIP: "127.0.0.1")],
        expose: ["9090"], mounts: [Mount(type: .volume, source: "data", target: "/data", readOnly: true)],
        networks: [ServiceNetwork(key: "default", aliases: ["web"])], restart: "always", labels: ["team": "ml"],
        workingDir: "/app", user: "1000", stopSignal: "SIGINT", stopGracePeriod: 5,
        limits: ResourceLimits(cpus: 0.5, memoryBytes: 1 << 30, pids: 100), devices: [DeviceRequest(count: .exactly(1))],
        initProcess: true, shmSize: 1 << 26, ipc: "private", ulimits: [Ulimit(name: "nofile", soft: 1024, hard: 2048)],
        tmpfs: ["/run"], extraHosts: ["db:10.0.0.2"], hostname: "api", capAdd: ["NET_ADMIN"], capDrop: ["ALL"],
        runtime: "runc")
}

func pinnedProject(_ service: Service = pinnedService()) -> Project {
    Project(
        name: "demo", services: [service], networks: [Network(key: "default", name: "demo_default")],
        volumes: [Volume(key: "data", name: "demo_data")])
}

@Suite("Config hash compatibility")
struct ConfigHashCompatTests {
    /// Upgrading reconcile must not recreate containers whose configuration did not change:
    /// these hashes were computed by the encoding every release so far has written.
    @Test("the hash of existing configurations without optional blocks is unchanged")
    func pinnedHashes() {
        let project = pinnedProject()
        #expect(ReplicaConfig(service: project.services[0], project: project).hash() == "6b6676eabe916ca1abcb3c75f07abc5d5d3afa293f2cbfea095530b889fa54c8")
        let plain = Project(
            name: "demo", services: [Service(name: "web", image: "nginx:1.27", networks: [ServiceNetwork(key: "default")])],
            networks: [Network(key: "default", name: "demo_default")])
        #expect(ReplicaConfig(service: plain.services[0], project: plain).hash() == "18cc2090a733da642aff66e86bb391dd410ef4e94db390e50a89e743867e2f59")
    }

    /// Two configurations that differ (one has a healthcheck, the other not) but whose
    /// encodings were the same bytes when optional blocks carried no presence marker.
    static func collidingPair() -> (ReplicaConfig, ReplicaConfig) {
        let project = Project(name: "demo", services: [Service(name: "s", image: "x")])
        let base = ReplicaConfig(service: project.services[0], project: project)
        var a = base
        a.restart = "\u{0}"
        a.user = "\u{0}\u{0}"
        a.stopSignal = ""
        a.ipc = "\u{0}\u{0}\u{0}\u{0}"
        a.hostname = "\u{1}\u{2}"
        a.runtime = "\u{0}\u{0}"
        a.limits = ResourceLimits(cpus: Double(bitPattern: 1), memoryBytes: 0, pids: 0)
        a.capAdd = ["", ""]
        var b = base
        b.healthcheck = Healthcheck(test: [""], startPeriod: Double(bitPattern: 2), disabled: false)
        b.workingDir = "\u{1}"
        b.stopSignal = ""
        b.limits = ResourceLimits(pids: 4)
        b.hostname = "\u{1}\u{2}"
        b.capAdd = ["", ""]
        b.runtime = "\u{0}\u{0}"
        return (a, b)
    }

    @Test("a configuration with a healthcheck and one without never share a hash")
    func optionalBlocksAreMarked() {
        let (a, b) = Self.collidingPair()
        #expect(a != b)
        #expect(a.hash() != b.hash())
    }

    /// The marker changes the hash of configurations with a healthcheck or logging block;
    /// a container created by an earlier release with the earlier hash is current.
    @Test("a container labelled with the earlier encoding's hash of the same configuration is not recreated")
    func legacyHashIsCurrent() throws {
        var service = pinnedService()
        service.devices = []
        service.healthcheck = Healthcheck(test: ["CMD", "true"], interval: 5)
        service.logging = Logging(driver: "json-file", options: ["max-size": "1m"])
        let project = pinnedProject(service)
        let config = ReplicaConfig(service: service, project: project)
        // Computed by the encoding without presence markers.
        let earlier = "261fc582659085984ef232bd38c0573a6cda85f2540923e5cf2162565794d1df"
        #expect(config.legacyHash() == earlier)
        #expect(config.hash() != earlier)

        var host = InMemoryHost()
        host.apply(try plan(desired: project, observed: host.state), desired: project)
        let index = try #require(host.state.containers.firstIndex { $0.name == "demo-api-1" })
        host.state.containers[index].labels[LabelKey.configHash] = earlier
        #expect(try plan(desired: project, observed: host.state).isEmpty, "an upgrade recreates nothing")

        // A real change is still a change, named field by field.
        var changed = service
        changed.healthcheck?.interval = 10
        let result = try plan(desired: pinnedProject(changed), observed: host.state)
        #expect(result.steps.map(\.action) == [.recreate])
        #expect(result.steps.first?.changes.map(\.field) == ["healthcheck.interval"])
    }
}
