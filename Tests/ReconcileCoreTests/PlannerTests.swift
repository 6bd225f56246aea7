import Foundation
import ReconcileCore
import ReconcileTestSupport
import Testing

/// A small stack: api (2 replicas) depends on db (healthy), db has a volume, worker has none.
func stack(
    apiEnv: [String: String] = ["LOG_LEVEL": "info"], apiReplicas: Int = 2, workerReplicas: Int = 1,
    apiPorts: [PortMapping] = [], dbPassword: String = "s3cret"
) -> Project {
    let net = [ServiceNetwork(key: "default")]
    return Project(
        name: "demo",
        services: [
            Service(
                name: "api", image: "local/api:1", environment: apiEnv, ports: apiPorts, networks: net,
                dependsOn: [Dependency(service: "db", condition: .healthy)], replicas: apiReplicas),
            Service(
                name: "db", image: "postgres:16", environment: ["POSTGRES_PASSWORD": dbPassword],
                secretEnv: ["POSTGRES_PASSWORD"], mounts: [Mount(type: .volume, source: "data", target: "/var/lib/postgresql/data")],
                networks: net),
            Service(name: "worker", image: "local/worker:1", command: ["sleep", "infinity"], networks: net, replicas: workerReplicas),
        ],
        networks: [Network(key: "default", name: "demo_default")],
        volumes: [Volume(key: "data", name: "demo_data")])
}

/// Applies a plan in memory and returns the resulting host.
func converged(_ project: Project, from host: InMemoryHost = InMemoryHost(), prune: Bool = false) throws -> InMemoryHost {
    var host = host
    let first = try plan(desired: project, observed: host.state, options: PlanOptions(prune: prune))
    host.apply(first, desired: project)
    return host
}

@Suite("Planner")
struct PlannerTests {
    @Test("a missing external volume is a planning error on a listed host, even one with no volumes at all; offline it is not checked")
    func missingExternalVolume() throws {
        var project = stack()
        project.volumes = [Volume(key: "data", name: "shared-data", external: true)]
        var listed = ObservedState()
        listed.volumesListed = true
        #expect(throws: PlanningError.self) { try plan(desired: project, observed: listed) }
        let offline = try plan(desired: project, observed: .empty)
        #expect(!offline.steps.contains { $0.resource == "volume:data" })
        listed.volumes = [ObservedVolume(name: "shared-data", labels: [:], driver: "local")]
        let present = try plan(desired: project, observed: listed)
        #expect(!present.steps.contains { $0.resource == "volume:data" })
    }

    @Test("a cold start creates networks and volumes first, then services in depends_on order")
    func coldStart() throws {
        let result = try plan(desired: stack(), observed: .empty)
        #expect(
            PlanText.render(result) == """
                + network:default   create-network: network demo_default does not exist
                + volume:data       create-volume: volume demo_data does not exist
                + service:db:1      create: new service
                + service:api:1     create: new service
                + service:api:2     create: replica 2 is missing
                + service:worker:1  create: new service

                Plan: 6 to create, 0 to recreate, 0 to remove.
                """)
        let db = try #require(result.steps.first { $0.resource == "service:db:1" })
        #expect(Set(db.dependsOn) == [0, 1])
        let api = try #require(result.steps.first { $0.resource == "service:api:1" })
        #expect(api.dependsOn.contains(db.id))
        #expect(api.containerName == "demo-api-1")
    }

    @Test("an unchanged manifest plans nothing")
    func unchangedPlansNothing() throws {
        let host = try converged(stack())
        let again = try plan(desired: stack(), observed: host.state)
        #expect(again.steps.isEmpty)
        #expect(again.summary.unchanged == 4)
        #expect(PlanText.render(again) == "No changes. 4 replicas up to date.")
    }

    @Test("an env change recreates every replica of that service and no other, naming the field")
    func envChange() throws {
        let host = try converged(stack())
        let result = try plan(desired: stack(apiEnv: ["LOG_LEVEL": "debug"]), observed: host.state)
        #expect(
            PlanText.render(result) == """
                ± service:api:1  recreate: configuration changed (start-first: no fixed port or device prevents a surge)
                    environment.LOG_LEVEL: "info" → "debug"
                ± service:api:2  recreate: configuration changed (start-first: no fixed port or device prevents a surge)
                    environment.LOG_LEVEL: "info" → "debug"
                rollout api: 2 replicas, 1 at a time (half of 2 replicas, rounded up); gate: the image's healthcheck, else running 0.5 s (120 s at most); on failure: pause (old containers removed as replacements serve)

                Plan: 0 to create, 2 to recreate, 0 to remove.
                """)
        #expect(result.steps.allSatisfy { $0.strategy == .startFirst })
    }

    @Test("a changed secret is masked in the plan and in stored labels")
    func secretMasked() throws {
        let host = try converged(stack())
        for container in host.state.containers {
            #expect(!container.labels.values.contains { $0.contains("s3cret") })
        }
        let result = try plan(desired: stack(dbPassword: "hunter2"), observed: host.state)
        let text = PlanText.render(result)
        #expect(!text.contains("hunter2") && !text.contains("s3cret"))
        #expect(text.contains("secret_env: (sensitive) → (sensitive)"))
        let json = String(decoding: try JSONEncoder().encode(result), as: UTF8.self)
        #expect(!json.contains("hunter2") && !json.contains("s3cret"))
    }

    @Test("scale up fills gaps first; scale down removes out-of-date replicas first, then the highest numbers")
    func scaling() throws {
        var host = try converged(stack(apiReplicas: 4))
        host.state.containers.removeAll { $0.name == "demo-api-2" }
        let up = try plan(desired: stack(apiReplicas: 5), observed: host.state)
        #expect(up.steps.map(\.resource) == ["service:api:2", "service:api:5"])

        var stale = try converged(stack(apiReplicas: 4))
        let index = try #require(stale.state.containers.firstIndex { $0.name == "demo-api-2" })
        stale.state.containers[index].labels[LabelKey.configHash] = "old"
        let down = try plan(desired: stack(apiReplicas: 2), observed: stale.state)
        #expect(down.steps.filter { $0.action == .remove }.map(\.resource) == ["service:api:2", "service:api:4"])
        #expect(down.steps.first { $0.action == .remove }?.reason == "scale down from 4 to 2 replicas")
    }

    @Test("services no longer in the manifest are kept with a warning, and removed with --prune")
    func prune() throws {
        let host = try converged(stack())
        var smaller = stack()
        smaller.services.removeAll { $0.name == "worker" }
        let kept = try plan(desired: smaller, observed: host.state)
        #expect(kept.steps.isEmpty)
        #expect(kept.warnings == ["service worker is no longer in the manifest; its containers (demo-worker-1) are kept: run with --prune to remove them"])
        let pruned = try plan(desired: smaller, observed: host.state, options: PlanOptions(prune: true))
        #expect(pruned.steps.map { "\($0.action.rawValue) \($0.resource)" } == ["remove service:worker:1"])
    }

    @Test("containers and networks of other projects are never touched")
    func foreignUntouched() throws {
        var host = try converged(stack())
        host.state.containers.append(
            ObservedContainer(id: "f1", name: "other-api-1", labels: [LabelKey.project: "other", LabelKey.service: "api", LabelKey.replica: "1"], image: "x"))
        host.state.containers.append(ObservedContainer(id: "f2", name: "hand-made", labels: [:], image: "x"))
        host.state.networks.append(ObservedNetwork(id: "n", name: "other_default", labels: [LabelKey.project: "other"]))
        let result = try plan(desired: Project(name: "demo"), observed: host.state, options: PlanOptions(prune: true))
        #expect(!result.steps.contains { $0.containerID == "f1" || $0.containerID == "f2" || $0.engineName == "other_default" })
        #expect(result.steps.filter { $0.action == .remove }.count == 4)
        #expect(!result.steps.contains { $0.resource.hasPrefix("volume:") })
    }

    @Test("a leftover surge container is removed and duplicate claimants of a slot resolve deterministically")
    func surgeAndDuplicates() throws {
        var host = try converged(stack())
        var surge = try #require(host.state.containers.first { $0.name == "demo-api-1" })
        surge.id = "surge"
        surge.name = "demo-api-1-next"
        surge.labels[LabelKey.surge] = surge.name
        host.state.containers.append(surge)
        var twin = try #require(host.state.containers.first { $0.name == "demo-api-2" })
        twin.id = "0000twin"
        twin.name = "demo-api-2-copy"
        twin.created = 99
        host.state.containers.append(twin)
        let result = try plan(desired: stack(), observed: host.state)
        #expect(
            result.steps.map { "\($0.action.rawValue) \($0.containerName ?? ""): \($0.reason)" } == [
                "remove demo-api-1-next: leftover of an interrupted start-first rollout",
                "remove demo-api-2-copy: duplicate of replica 2 (keeping demo-api-2)",
            ])
        // Order of observation must not change the choice.
        host.state.containers.reverse()
        #expect(try plan(desired: stack(), observed: host.state).steps.map(\.containerID) == result.steps.map(\.containerID))
    }

    @Test("a stopped replica is started in place; a finished one-shot job is left alone")
    func startStopped() throws {
        var project = stack()
        project.services.append(Service(name: "migrate", image: "local/api:1", networks: [ServiceNetwork(key: "default")]))
        project.services[0].dependsOn.append(Dependency(service: "migrate", condition: .completedSuccessfully))
        var host = try converged(project)
        for index in host.state.containers.indices {
            if host.state.containers[index].name == "demo-worker-1" {
                host.state.containers[index].state = .exited
                host.state.containers[index].exitCode = 137
            }
            if host.state.containers[index].name == "demo-migrate-1" {
                host.state.containers[index].state = .exited
                host.state.containers[index].exitCode = 0
            }
        }
        let result = try plan(desired: project, observed: host.state)
        #expect(PlanText.render(result).hasPrefix("~ service:worker:1  start: container exited (code 137)"))
        #expect(result.steps.count == 1)
        #expect(PlanText.summaryLine(result) == "Plan: 0 to create, 1 to start, 0 to recreate, 0 to remove.")
    }

    @Test("a fixed host port forces stop-first and the plan says why")
    func stopFirstForFixedPort() throws {
        let ports = [PortMapping(target: 80, published: 8080, hostIP: "127.0.0.1")]
        let host = try converged(stack(apiReplicas: 1, apiPorts: ports))
        var changed = stack(apiEnv: ["LOG_LEVEL": "warn"], apiReplicas: 1, apiPorts: ports)
        changed.services[0].updateConfig.order = .startFirst
        let result = try plan(desired: changed, observed: host.state)
        #expect(result.steps.first?.strategy == .stopFirst)
        #expect(
            result.steps.first?.reason
                == "configuration changed (stop-first: start-first is impossible: it publishes fixed host port 8080, which the old and new container cannot both hold)"
        )
    }

    @Test("an image tag that now points to a different image recreates its replicas")
    func imageMoved() throws {
        var host = InMemoryHost(state: ObservedState(images: ["local/worker:1": "sha256:aaaaaaaaaaaaaaaa"]))
        host = try converged(stack(), from: host)
        host.state.images["local/worker:1"] = "sha256:bbbbbbbbbbbbbbbb"
        let result = try plan(desired: stack(), observed: host.state)
        #expect(result.steps.map(\.resource) == ["service:worker:1"])
        #expect(result.steps.first?.changes == [FieldChange(field: "image id", from: "aaaaaaaaaaaa", to: "bbbbbbbbbbbb")])
    }

    @Test("replica count, depends_on and update policy do not change the config hash")
    func hashScope() throws {
        let base = stack()
        var other = base
        other.services[0].replicas = 7
        other.services[0].dependsOn = []
        other.services[0].updateConfig = UpdatePolicy(parallelism: 3, delay: 5, order: .stopFirst)
        let a = ReplicaConfig(service: base.services[0], project: base).hash()
        let b = ReplicaConfig(service: other.services[0], project: other).hash()
        #expect(a == b)
        other.services[0].limits.memoryBytes = 1 << 30
        #expect(ReplicaConfig(service: other.services[0], project: other).hash() != a)
    }

    @Test("a depends_on cycle is a planning error and nothing is planned")
    func cycle() throws {
        var project = stack()
        project.services[1].dependsOn = [Dependency(service: "api")]
        #expect(throws: PlanningError(problems: ["depends_on has a cycle: api → db → api"])) {
            try plan(desired: project, observed: .empty)
        }
    }

    @Test("the JSON form has the documented shape")
    func jsonShape() throws {
        let result = try plan(desired: stack(), observed: .empty)
        let data = try JSONEncoder().encode(result)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["project"] as? String == "demo")
        let summary = try #require(object["summary"] as? [String: Int])
        #expect(summary == ["create": 6, "update": 0, "recreate": 0, "remove": 0, "unchanged": 0])
        let steps = try #require(object["steps"] as? [[String: Any]])
        #expect(steps[2]["resource"] as? String == "service:db:1")
        #expect(steps[2]["action"] as? String == "create")
        #expect(try JSONDecoder().decode(Plan.self, from: data) == result)
    }

    @Test("SHA-256 matches the standard test vectors")
    func sha256() {
        #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            SHA256.hex(String(repeating: "a", count: 1000))
                == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }
}

@Suite("Config hash")
struct ConfigHashTests {
    @Test("every stored property of ReplicaConfig is covered by the hash")
    func coverage() {
        let project = stack()
        let base = ReplicaConfig(service: project.services[0], project: project)
        // A new stored property must be added to hash() and counted here.
        #expect(Mirror(reflecting: base).children.count == 31)
        let mutations: [(String, (inout ReplicaConfig) -> Void)] = [
            ("image", { $0.image = "x" }), ("command", { $0.command = ["x"] }), ("entrypoint", { $0.entrypoint = ["x"] }),
            ("environment", { $0.environment["X"] = "1" }), ("ports", { $0.ports = [PortMapping(target: 1)] }),
            ("expose", { $0.expose = ["1"] }), ("mounts", { $0.mounts = [Mount(type: .tmpfs, source: nil, target: "/t")] }), ("networks", { $0.networks = [] }),
            ("healthcheck", { $0.healthcheck = Healthcheck(retries: 2) }), ("restart", { $0.restart = "always" }),
            ("labels", { $0.labels["a"] = "b" }), ("workingDir", { $0.workingDir = "/x" }), ("user", { $0.user = "1" }),
            ("stopSignal", { $0.stopSignal = "SIGINT" }), ("stopGracePeriod", { $0.stopGracePeriod = 1 }),
            ("limits", { $0.limits.cpus = 1 }), ("devices", { $0.devices = [DeviceRequest(count: .all)] }),
            ("initProcess", { $0.initProcess = true }), ("shmSize", { $0.shmSize = 1 }), ("ipc", { $0.ipc = "host" }),
            ("ulimits", { $0.ulimits = [Ulimit(name: "nofile", soft: 1, hard: 2)] }), ("tmpfs", { $0.tmpfs = ["/t"] }),
            ("extraHosts", { $0.extraHosts = ["a:1.2.3.4"] }), ("hostname", { $0.hostname = "h" }),
            ("capAdd", { $0.capAdd = ["NET_ADMIN"] }), ("capDrop", { $0.capDrop = ["ALL"] }),
            ("logging", { $0.logging = Logging(driver: "none") }), ("runtime", { $0.runtime = "nvidia" }),
            ("secrets", { $0.secrets = [MountedFile(name: "s", target: "/run/secrets/s", digest: "00")] }),
            ("configs", { $0.configs = [MountedFile(name: "c", target: "/c", digest: "00")] }),
            ("options", { $0.options = ContainerOptions(); $0.options?.tty = true }),
        ]
        for (name, mutate) in mutations {
            var changed = base
            mutate(&changed)
            #expect(changed.hash() != base.hash(), "changing \(name) must change the hash")
        }
        // An empty value and an absent one differ; moving a boundary between two values changes the hash.
        var a = base, b = base
        a.command = ["ab", "c"]
        b.command = ["a", "bc"]
        #expect(a.hash() != b.hash())
        a.workingDir = ""
        b = base
        #expect(a.hash() != b.hash())
    }

    @Test("a replica left without one of its networks (an interrupted rollout) is recreated, and only that one")
    func detachedReplica() throws {
        var host = try converged(stack())
        let index = try #require(host.state.containers.firstIndex { $0.name == "demo-api-2" })
        #expect(try plan(desired: stack(), observed: host.state).isEmpty)
        host.state.containers[index].networks = []
        let result = try plan(desired: stack(), observed: host.state)
        #expect(result.steps.map(\.resource) == ["service:api:2"])
        #expect(result.steps.first?.reason.contains("not attached to demo_default") == true)
        host.state.containers[index].networks = nil
        #expect(try plan(desired: stack(), observed: host.state).isEmpty, "attachments not observed: nothing to say")
    }
}
