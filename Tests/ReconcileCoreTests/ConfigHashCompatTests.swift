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

@Suite("Container options in the hash and the plan")
struct ContainerOptionsHashTests {
    /// One value per field of `ContainerOptions`; the count keeps a new field from being forgotten.
    static var mutations: [(String, (inout ContainerOptions) -> Void)] { [
        ("container_name", { $0.containerName = "x" }), ("platform", { $0.platform = "linux/amd64" }),
        ("network_mode", { $0.networkMode = "host" }), ("volumes_from", { $0.volumesFrom = ["service:a"] }),
        ("links", { $0.links = ["a"] }), ("external_links", { $0.externalLinks = ["c:a"] }), ("privileged", { $0.privileged = true }),
        ("devices", { $0.devices = [DeviceMapping(source: "/dev/null")] }), ("sysctls", { $0.sysctls = ["a": "1"] }),
        ("tty", { $0.tty = true }), ("stdin_open", { $0.stdinOpen = true }), ("read_only", { $0.readOnly = true }),
        ("security_opt", { $0.securityOpt = ["no-new-privileges"] }), ("pid", { $0.pid = "host" }), ("uts", { $0.uts = "host" }),
        ("userns_mode", { $0.usernsMode = "host" }), ("cgroup", { $0.cgroup = "host" }), ("cgroup_parent", { $0.cgroupParent = "p" }),
        ("dns", { $0.dns = ["1.1.1.1"] }), ("dns_search", { $0.dnsSearch = ["x"] }), ("dns_opt", { $0.dnsOpt = ["ndots:1"] }),
        ("domainname", { $0.domainname = "d" }), ("mac_address", { $0.macAddress = "02:42:ac:11:00:02" }),
        ("group_add", { $0.groupAdd = ["1"] }), ("cpu_count", { $0.cpuCount = 1 }), ("cpu_percent", { $0.cpuPercent = 1 }),
        ("cpu_shares", { $0.cpuShares = 1 }), ("cpu_period", { $0.cpuPeriod = 1 }), ("cpu_quota", { $0.cpuQuota = 1 }),
        ("cpu_rt_runtime", { $0.cpuRtRuntime = 1 }), ("cpu_rt_period", { $0.cpuRtPeriod = 1 }), ("cpuset", { $0.cpuset = "0" }),
        ("mem_reservation", { $0.memReservation = 1 }), ("mem_swappiness", { $0.memSwappiness = 1 }),
        ("memswap_limit", { $0.memswapLimit = 1 }), ("oom_kill_disable", { $0.oomKillDisable = true }),
        ("oom_score_adj", { $0.oomScoreAdj = 1 }), ("blkio_config", { $0.blkio = BlkioConfig(); $0.blkio?.weight = 10 }),
        ("device_cgroup_rules", { $0.deviceCgroupRules = ["c 1:3 r"] }), ("storage_opt", { $0.storageOpt = ["size": "1G"] }),
        ("annotations", { $0.annotations = ["a": "b"] }), ("post_start", { $0.postStart = [LifecycleHook(command: ["true"])] }),
        ("pre_stop", { $0.preStop = [LifecycleHook(command: ["true"])] }),
    ] }

    @Test("every field of ContainerOptions moves the hash, each to a different one, and is named in the field diff")
    func everyFieldIsHashed() {
        let project = pinnedProject()
        let base = ReplicaConfig(service: project.services[0], project: project)
        #expect(Mirror(reflecting: ContainerOptions()).children.count == Self.mutations.count)
        var seen: Set<String> = [base.hash()]
        for (name, mutate) in Self.mutations {
            var options = ContainerOptions()
            mutate(&options)
            var changed = base
            changed.options = options
            let hash = changed.hash()
            #expect(!seen.contains(hash), "setting \(name) must give a hash of its own")
            seen.insert(hash)
            #expect(changed.fields().keys.contains { $0 == name || $0.hasPrefix(name + ".") }, "the field diff names \(name)")
        }
        // Options with nothing set are no options: the configuration keeps its hash and label.
        var empty = base
        empty.options = ContainerOptions()
        #expect(empty.hash() == base.hash())
    }

    @Test("changing a sysctl recreates the replica, and the plan names the key with both values")
    func sysctlChangeIsNamed() throws {
        var service = pinnedService()
        service.devices = []
        service.options = ContainerOptions()
        service.options?.sysctls = ["net.core.somaxconn": "1024"]
        var host = InMemoryHost()
        host.apply(try plan(desired: pinnedProject(service), observed: host.state), desired: pinnedProject(service))
        #expect(try plan(desired: pinnedProject(service), observed: host.state).isEmpty)
        service.options?.sysctls = ["net.core.somaxconn": "2048"]
        let result = try plan(desired: pinnedProject(service), observed: host.state)
        #expect(result.steps.map(\.action) == [.recreate])
        let change = try #require(result.steps.first?.changes.first)
        #expect(change.field == "sysctls.net.core.somaxconn")
        #expect(change.from == "\"1024\"" && change.to == "\"2048\"")
        #expect(PlanText.render(result).contains("sysctls.net.core.somaxconn: \"1024\" → \"2048\""))
    }
}

@Suite("Planner and the pass-through keys")
struct ContainerOptionsPlannerTests {
    static func project(_ configure: (inout Service, inout Service) -> Void) -> Project {
        var db = Service(name: "db", image: "postgres:16", networks: [ServiceNetwork(key: "default")])
        var sidecar = Service(name: "sidecar", image: "busybox")
        sidecar.options = ContainerOptions()
        sidecar.options?.networkMode = "service:db"
        configure(&db, &sidecar)
        return Project(name: "demo", services: [db, sidecar], networks: [Network(key: "default", name: "demo_default")])
    }

    @Test("network_mode service:db: created after db, recreated stop-first with db, and named after db's container")
    func networkModeService() throws {
        let project = Self.project { _, _ in }
        let first = try plan(desired: project, observed: .empty)
        let db = try #require(first.steps.first { $0.resource == "service:db:1" })
        let sidecar = try #require(first.steps.first { $0.resource == "service:sidecar:1" })
        #expect(sidecar.dependsOn.contains(db.id))
        var host = InMemoryHost()
        host.apply(first, desired: project)
        #expect(try plan(desired: project, observed: host.state).isEmpty)

        let changed = Self.project { db, _ in db.environment = ["A": "1"] }
        let second = try plan(desired: changed, observed: host.state)
        #expect(second.steps.map(\.resource) == ["service:db:1", "service:sidecar:1"])
        let follow = try #require(second.steps.last)
        #expect(follow.reason.contains("shares the network stack of demo-db-1"))
        #expect(follow.strategy == .stopFirst)
        #expect(follow.dependsOn.contains(second.steps[0].id))
    }

    @Test("container_name names the replica's container in the plan")
    func containerName() throws {
        let project = Self.project { db, _ in db.options = ContainerOptions(); db.options?.containerName = "the-db" }
        let result = try plan(desired: project, observed: .empty)
        #expect(result.steps.first { $0.resource == "service:db:1" }?.containerName == "the-db")
    }

    @Test("the engine's platform and API version: a platform mismatch is a problem naming the service, annotations need 1.43, start_interval warns before 1.44; offline nothing is checked")
    func engineChecks() throws {
        let project = Self.project { db, sidecar in
            db.options = ContainerOptions()
            db.options?.platform = "linux/arm64"
            db.options?.annotations = ["a": "b"]
            sidecar.healthcheck = Healthcheck(test: ["CMD", "true"], startInterval: 1)
        }
        #expect(throws: Never.self) { try plan(desired: project, observed: .empty) }
        var observed = ObservedState.empty
        observed.engine = ObservedEngine(os: "linux", arch: "amd64", apiVersion: "1.41")
        let error = try #require(throws: PlanningError.self) { try plan(desired: project, observed: observed) }
        #expect(error.problems.contains { $0.contains("service db asks for platform linux/arm64, but the engine runs linux/amd64") })
        #expect(error.problems.contains { $0.contains("annotations need Engine API 1.43; this engine speaks 1.41") })

        observed.engine = ObservedEngine(os: "linux", arch: "aarch64", apiVersion: "1.41")
        var fine = project
        fine.services[0].options?.annotations = nil
        let result = try plan(desired: fine, observed: observed)
        #expect(result.warnings.contains { $0.contains("service sidecar: healthcheck.start_interval is not sent: it needs Engine API 1.44; this engine speaks 1.41") })
        observed.engine = ObservedEngine(os: "linux", arch: "arm64", apiVersion: "1.44")
        #expect(try plan(desired: project, observed: observed).warnings.allSatisfy { !$0.contains("start_interval") })
    }
}

@Suite("Host port ranges for scaled services")
struct PortRangeTests {
    static func project(replicas: Int, env: String = "a", range: ClosedRange<Int> = 8000...8004) -> Project {
        let web = Service(
            name: "web", image: "busybox", environment: ["E": env],
            ports: [PortMapping(target: 80, published: range.lowerBound, hostIP: "127.0.0.1", publishedEnd: range.upperBound)],
            networks: [ServiceNetwork(key: "default")], replicas: replicas)
        return Project(name: "demo", services: [web], networks: [Network(key: "default", name: "demo_default")])
    }

    @Test("each replica takes the lowest free port of the range and keeps it; a re-plan changes nothing")
    func assignAndKeep() throws {
        var host = InMemoryHost()
        let first = try plan(desired: Self.project(replicas: 3), observed: host.state)
        #expect(first.steps.filter { $0.action == .create }.compactMap(\.hostPorts) == [[8000], [8001], [8002]])
        host.apply(first, desired: Self.project(replicas: 3))
        #expect(try plan(desired: Self.project(replicas: 3), observed: host.state).isEmpty)
        // A replica removed by hand comes back on a free port; the others keep theirs.
        host.state.containers.removeAll { $0.name == "demo-web-2" }
        let again = try plan(desired: Self.project(replicas: 3), observed: host.state)
        #expect(again.steps.map(\.resource) == ["service:web:2"])
        #expect(again.steps.first?.hostPorts == [8001])
    }

    @Test("a range with spare ports rolls start-first onto spare ports; one without spare ports rolls stop-first on the replica's own port")
    func rollouts() throws {
        var host = InMemoryHost()
        host.apply(try plan(desired: Self.project(replicas: 3), observed: host.state), desired: Self.project(replicas: 3))
        let changed = try plan(desired: Self.project(replicas: 3, env: "b"), observed: host.state)
        #expect(changed.steps.map(\.strategy) == [.startFirst, .startFirst, .stopFirst])
        #expect(changed.steps.map(\.hostPorts) == [[8003], [8004], [8002]])
        #expect(changed.steps[2].reason.contains("has no free port for a surge"))
        host.apply(changed, desired: Self.project(replicas: 3, env: "b"))
        #expect(try plan(desired: Self.project(replicas: 3, env: "b"), observed: host.state).isEmpty)

        var tight = InMemoryHost()
        let full = Self.project(replicas: 3, range: 8000...8002)
        tight.apply(try plan(desired: full, observed: tight.state), desired: full)
        let stop = try plan(desired: Self.project(replicas: 3, env: "b", range: 8000...8002), observed: tight.state)
        #expect(stop.steps.allSatisfy { $0.strategy == .stopFirst })
    }
}

@Suite("network_mode service: after an interrupted run")
struct StaleNetworkStackTests {
    @Test("a container left in the network stack of a replaced container is recreated into the current one")
    func staleStack() throws {
        let project = ContainerOptionsPlannerTests.project { _, _ in }
        var host = InMemoryHost()
        host.apply(try plan(desired: project, observed: host.state), desired: project)
        let db = try #require(host.state.containers.first { $0.name == "demo-db-1" })
        let index = try #require(host.state.containers.firstIndex { $0.name == "demo-sidecar-1" })
        host.state.containers[index].networkMode = "container:\(db.id)"
        #expect(try plan(desired: project, observed: host.state).isEmpty)
        host.state.containers[index].networkMode = "container:" + String(repeating: "f", count: 64)
        let result = try plan(desired: project, observed: host.state)
        #expect(result.steps.map(\.resource) == ["service:sidecar:1"])
        #expect(result.steps.first?.reason.contains("not of demo-db-1 (left so by an interrupted run)") == true)
    }
}
