import ReconcileCore
import Testing

@testable import ReconcileManifest

@Suite("Service keys")
struct ServiceKeyTests {
    @Test("command and entrypoint: the string form is shell-split, the list form is kept as is")
    func commandForms() throws {
        let s = try loadService("""
            command: python -m app --name "my app" 'x y' a\\ b
            entrypoint: ["/bin/sh", "-c"]
            """)
        #expect(s.command == ["python", "-m", "app", "--name", "my app", "x y", "a b"])
        #expect(s.entrypoint == ["/bin/sh", "-c"])
        let t = try loadService("command: [echo, \"$$HOME\"]\nentrypoint: /entry.sh --flag")
        #expect(t.command == ["echo", "$HOME"])
        #expect(t.entrypoint == ["/entry.sh", "--flag"])
    }

    @Test("environment: map and list forms; a name without value comes from the environment or is dropped")
    func environmentForms() throws {
        let map = try loadService("environment:\n  A: 1\n  B: \"two\"\n  C:\n  D: true\n  GONE:", env: ["C": "from-env"])
        #expect(map.environment == ["A": "1", "B": "two", "C": "from-env", "D": "true"])
        let list = try loadService("environment:\n  - A=1\n  - B=x=y\n  - C\n  - GONE\n  - E=", env: ["C": "c"])
        #expect(list.environment == ["A": "1", "B": "x=y", "C": "c", "E": ""])
    }

    @Test("env_file: string, list and long form with required: false; environment wins over env_file")
    func envFiles() throws {
        let fixture = try Fixture([
            "docker-compose.yml": """
                services:
                  a:
                    image: x
                    env_file: app.env
                    environment: {B: override}
                  b:
                    image: x
                    env_file:
                      - app.env
                      - path: ./missing.env
                        required: false
                      - path: more.env
                """,
            "app.env": "# comment\nA=1\nexport B=\"two\\nlines\"\nC='single $X'\nD=plain # trailing\nE=${HOST_VAR}\n",
            "more.env": "A=2\n",
        ])
        defer { fixture.remove() }
        let project = try fixture.load(env: ["HOST_VAR": "h"]).project
        #expect(project.service(named: "a")?.environment == ["A": "1", "B": "override", "C": "single $X", "D": "plain", "E": "h"])
        #expect(project.service(named: "b")?.environment["A"] == "2")
        let errs = try serviceErrors("env_file: nope.env")
        #expect(errs.count == 1)
        #expect(errs.first?.message.contains("nope.env") == true)
        #expect(errs.first?.line == 4)
    }

    @Test("ports: short forms, host IP, IPv6, ranges expand to one mapping per port, udp")
    func shortPorts() throws {
        let s = try loadService("""
            ports:
              - "8080:80"
              - "127.0.0.1:8443:443"
              - "8000-8001:90-91"
              - "3000"
              - "53:53/udp"
              - "[::1]:9000:9000"
              - "127.0.0.1::7000"
              - 6000
            """)
        #expect(s.ports == [
            PortMapping(target: 80, published: 8080),
            PortMapping(target: 443, published: 8443, hostIP: "127.0.0.1"),
            PortMapping(target: 90, published: 8000),
            PortMapping(target: 91, published: 8001),
            PortMapping(target: 3000),
            PortMapping(target: 53, published: 53, proto: "udp"),
            PortMapping(target: 9000, published: 9000, hostIP: "::1"),
            PortMapping(target: 7000, hostIP: "127.0.0.1"),
            PortMapping(target: 6000),
        ])
    }

    @Test("ports: long form with target, published, host_ip, protocol and mode")
    func longPorts() throws {
        let s = try loadService("""
            ports:
              - target: 80
                published: "8080"
                host_ip: 127.0.0.1
                protocol: udp
                mode: host
              - target: 81
            """)
        #expect(s.ports == [PortMapping(target: 80, published: 8080, hostIP: "127.0.0.1", proto: "udp"), PortMapping(target: 81)])
    }

    @Test("ports: bad ports are errors with the item's position")
    func badPorts() throws {
        let errs = try serviceErrors("ports:\n  - \"70000:80\"\n  - \"8000-8002:80-81\"\n  - \"80/xtp\"\n  - target: 0")
        #expect(errs.map(\.line) == [5, 6, 7, 8])
        #expect(errs[0].keyPath == "services.s.ports[0]")
        #expect(errs[1].message.contains("3 host port(s) to 2 container port(s)"))
        #expect(errs[3].keyPath == "services.s.ports[3].target")
    }

    @Test("volumes: short named, bind relative to the manifest folder, absolute bind, anonymous, read-only")
    func shortVolumes() throws {
        let fixture = try Fixture(["docker-compose.yml": """
            services:
              s:
                image: x
                volumes:
                  - data:/var/lib/data:ro
                  - ./conf:/etc/app
                  - ../shared:/shared:rw
                  - /srv/abs:/abs
                  - /anon
            volumes:
              data:
            """])
        defer { fixture.remove() }
        let s = try #require(try fixture.load().project.service(named: "s"))
        #expect(s.mounts == [
            Mount(type: .bind, source: "/srv/abs", target: "/abs"),
            Mount(type: .volume, source: nil, target: "/anon"),
            Mount(type: .bind, source: fixture.dir + "/conf", target: "/etc/app"),
            Mount(type: .bind, source: fixture.root + "/shared", target: "/shared"),
            Mount(type: .volume, source: "data", target: "/var/lib/data", readOnly: true),
        ])
    }

    @Test("volumes: long form volume, bind and tmpfs; tmpfs size and mode go to the tmpfs list")
    func longVolumes() throws {
        let s = try loadService("""
            volumes:
              - type: volume
                source: data
                target: /data
                read_only: true
                volume: {nocopy: false}
              - type: bind
                source: /etc/hosts
                target: /hosts
                bind: {create_host_path: true}
              - type: tmpfs
                target: /scratch
              - type: tmpfs
                target: /cache
                tmpfs: {size: 64m, mode: 1777}
            x-reconcile: {allow: [sensitive-bind]}
            """, top: "volumes:\n  data: {}\n")
        #expect(s.mounts == [
            Mount(type: .volume, source: "data", target: "/data", readOnly: true),
            Mount(type: .bind, source: "/etc/hosts", target: "/hosts"),
            Mount(type: .tmpfs, source: nil, target: "/scratch"),
        ])
        #expect(s.tmpfs == ["/cache:size=67108864,mode=1777"])
    }

    @Test("volumes: an undeclared named volume is an error with a suggestion")
    func undeclaredVolume() throws {
        let errs = try serviceErrors("volumes:\n  - dat:/data", top: "volumes:\n  data: {}\n")
        #expect(errs.count == 1)
        #expect(errs[0].message == "named volume `dat` is not declared in the top-level `volumes`")
        #expect(errs[0].hint == "did you mean `data`?")
        #expect(errs[0].line == 5)
        #expect(errs[0].column == 9)
    }

    @Test("networks: list and map forms with aliases and ipv4_address; no networks joins default")
    func networks() throws {
        let project = try loadProject("""
            services:
              a:
                image: x
                networks: [front, back]
              b:
                image: x
                networks:
                  back:
                    aliases: [db, database]
                    ipv4_address: 172.28.0.5
              c:
                image: x
            networks:
              front: {}
              back:
                ipam:
                  config:
                    - subnet: 172.28.0.0/16
            """)
        #expect(project.service(named: "a")?.networks == [ServiceNetwork(key: "back"), ServiceNetwork(key: "front")])
        #expect(project.service(named: "b")?.networks == [ServiceNetwork(key: "back", aliases: ["database", "db"], ipv4Address: "172.28.0.5")])
        #expect(project.service(named: "c")?.networks == [ServiceNetwork(key: "default")])
        #expect(project.networks.map(\.key) == ["back", "default", "front"])
        #expect(project.network(key: "default")?.name == "stack_default")
        #expect(project.network(key: "back")?.subnets == ["172.28.0.0/16"])
    }

    @Test("networks: the implicit default network is absent when no service uses it")
    func noDefaultNetwork() throws {
        let project = try loadProject("services:\n  a:\n    image: x\n    networks: [n]\nnetworks:\n  n: {}\n")
        #expect(project.networks.map(\.key) == ["n"])
    }

    @Test("depends_on: list and map with condition, required and restart")
    func dependsOn() throws {
        let project = try loadProject("""
            services:
              a:
                image: x
                depends_on:
                  db:
                    condition: service_healthy
                    restart: true
                  job:
                    condition: service_completed_successfully
                    required: false
              b:
                image: x
                depends_on: [db]
              db: {image: postgres}
              job: {image: x}
            """)
        #expect(project.service(named: "a")?.dependsOn == [
            Dependency(service: "db", condition: .healthy),
            Dependency(service: "job", condition: .completedSuccessfully, required: false),
        ])
        #expect(project.service(named: "b")?.dependsOn == [Dependency(service: "db")])
    }

    @Test("healthcheck: string test is CMD-SHELL, list as is, durations, disable")
    func healthcheck() throws {
        let a = try loadService("""
            healthcheck:
              test: curl -f http://localhost/
              interval: 1m30s
              timeout: 10s
              start_period: 500ms
              start_interval: 2s
              retries: 3
            """)
        #expect(a.healthcheck == Healthcheck(
            test: ["CMD-SHELL", "curl -f http://localhost/"], interval: 90, timeout: 10, startPeriod: 0.5,
            startInterval: 2, retries: 3))
        let b = try loadService("healthcheck:\n  test: [\"CMD\", \"pg_isready\"]")
        #expect(b.healthcheck?.test == ["CMD", "pg_isready"])
        let c = try loadService("healthcheck:\n  disable: true")
        #expect(c.healthcheck == Healthcheck(test: ["NONE"], disabled: true))
        let d = try loadService("healthcheck:\n  test: [\"NONE\"]")
        #expect(d.healthcheck?.disabled == true)
        let errs = try serviceErrors("healthcheck:\n  interval: 10 seconds\n  test: [pg_isready]")
        #expect(errs.count == 2)
        #expect(errs[0].message == "invalid duration `10 seconds`")
    }

    @Test("simple keys: restart, working_dir, user, stop_signal, stop_grace_period, init, hostname, ipc, shm_size, pull_policy, cap_add, cap_drop")
    func simpleKeys() throws {
        let s = try loadService("""
            restart: unless-stopped
            working_dir: /app
            user: "1000:1000"
            stop_signal: SIGINT
            stop_grace_period: 1m
            init: true
            hostname: box
            ipc: host
            shm_size: 1g
            pull_policy: missing
            cap_add: [SYS_PTRACE, NET_ADMIN]
            cap_drop: [ALL]
            runtime: runc
            x-reconcile: {allow: [host-ipc, capability]}
            """)
        #expect(s.restart == "unless-stopped")
        #expect(s.workingDir == "/app")
        #expect(s.user == "1000:1000")
        #expect(s.stopSignal == "SIGINT")
        #expect(s.stopGracePeriod == 60)
        #expect(s.initProcess == true)
        #expect(s.hostname == "box")
        #expect(s.ipc == "host")
        #expect(s.shmSize == 1 << 30)
        #expect(s.pullPolicy == "missing")
        #expect(s.capAdd == ["NET_ADMIN", "SYS_PTRACE"])
        #expect(s.capDrop == ["ALL"])
        #expect(s.runtime == "runc")
        #expect(try loadService("restart: no").restart == "no")
        #expect(try loadService("restart: on-failure:3").restart == "on-failure:3")
    }

    @Test("labels: map and list forms; io.reconcile. keys are reserved")
    func labels() throws {
        #expect(try loadService("labels:\n  a.b: c\n  n: 1").labels == ["a.b": "c", "n": "1"])
        #expect(try loadService("labels:\n  - a.b=c\n  - flag").labels == ["a.b": "c", "flag": ""])
        let errs = try serviceErrors("labels:\n  io.reconcile.project: x")
        #expect(errs.first?.message.contains("reserved") == true)
    }

    @Test("deploy: replicas, legacy scale, resource limits, update and rollback config, restart_policy")
    func deploy() throws {
        let s = try loadService("""
            deploy:
              replicas: 3
              resources:
                limits: {cpus: "0.5", memory: 512m, pids: 100}
              update_config:
                parallelism: 2
                delay: 10s
                order: start-first
                failure_action: rollback
                monitor: 30s
              rollback_config:
                parallelism: 0
                order: stop-first
                failure_action: continue
              restart_policy:
                condition: on-failure
                max_attempts: 5
            """)
        #expect(s.replicas == 3)
        #expect(s.limits == ResourceLimits(cpus: 0.5, memoryBytes: 512 << 20, pids: 100))
        #expect(s.updateConfig == UpdatePolicy(parallelism: 2, delay: 10, order: .startFirst, failureAction: .rollback, monitor: 30))
        #expect(s.rollbackConfig == UpdatePolicy(parallelism: 3, order: .stopFirst, failureAction: .continue))
        #expect(s.restart == "on-failure:5")
        #expect(try loadService("scale: 4").replicas == 4)
        #expect(try loadService("deploy: {replicas: 0}").replicas == 0)
        #expect(try loadService("cpus: 1.5\nmem_limit: 1GiB\npids_limit: 10").limits == ResourceLimits(cpus: 1.5, memoryBytes: 1 << 30, pids: 10))
        #expect(try loadService("deploy: {resources: {limits: {cpus: 2}}}").limits.cpus == 2)
    }

    @Test("deploy: negative replicas, and scale disagreeing with deploy.replicas, are errors")
    func badReplicas() throws {
        let errs = try serviceErrors("deploy:\n  replicas: -1")
        #expect(errs.count == 1)
        #expect(errs[0].message == "the replica count cannot be negative, got -1")
        #expect(errs[0].line == 5 && errs[0].column == 17)
        #expect(try serviceErrors("deploy: {replicas: 2}\nscale: 3").count == 1)
        #expect(try serviceErrors("scale: -2").count == 1)
    }

    @Test("devices: reservations with count, all, device_ids, options; count and device_ids together are an error")
    func deviceReservations() throws {
        let s = try loadService("""
            deploy:
              resources:
                reservations:
                  devices:
                    - driver: nvidia
                      count: 2
                      capabilities: [gpu]
                    - driver: nvidia
                      count: all
                      capabilities: [gpu, utility]
                    - driver: nvidia
                      device_ids: ["0", "3"]
                      capabilities: [gpu]
                      options: {mig: "1g.10gb"}
            """)
        #expect(s.devices == [
            DeviceRequest(driver: "nvidia", count: .exactly(2), capabilities: ["gpu"]),
            DeviceRequest(driver: "nvidia", count: .all, capabilities: ["gpu", "utility"]),
            DeviceRequest(driver: "nvidia", deviceIDs: ["0", "3"], capabilities: ["gpu"], options: ["mig": "1g.10gb"]),
        ])
        let errs = try serviceErrors("""
            deploy:
              resources:
                reservations:
                  devices:
                    - {driver: nvidia, count: 1, device_ids: ["0"], capabilities: [gpu]}
                    - {driver: nvidia, count: 1}
            """)
        #expect(errs.count == 2)
        #expect(errs[0].message == "`count` and `device_ids` are mutually exclusive")
        #expect(errs[1].message == "missing `capabilities`")
    }

    @Test("gpus: `all`, a count, and the list-of-maps form become device requests")
    func gpusKey() throws {
        #expect(try loadService("gpus: all").devices == [DeviceRequest(count: .all)])
        #expect(try loadService("gpus: 2").devices == [DeviceRequest(count: .exactly(2))])
        #expect(try loadService("gpus:\n  - driver: nvidia\n    device_ids: [\"1\"]").devices
            == [DeviceRequest(driver: "nvidia", deviceIDs: ["1"])])
    }

    @Test("runtime: nvidia with NVIDIA_VISIBLE_DEVICES becomes a device request, with a warning")
    func nvidiaRuntime() throws {
        let s = try loadService("runtime: nvidia\nenvironment:\n  NVIDIA_VISIBLE_DEVICES: \"0,1\"\n  OTHER: x")
        #expect(s.devices == [DeviceRequest(driver: "nvidia", deviceIDs: ["0", "1"])])
        #expect(s.runtime == nil)
        #expect(s.environment == ["OTHER": "x"])
        let all = try loadService("runtime: nvidia")
        #expect(all.devices == [DeviceRequest(driver: "nvidia", count: .all)])
        let warns = try warnings("services:\n  s:\n    image: x\n    runtime: nvidia\n")
        #expect(warns.count == 1)
        #expect(warns[0].message.contains("older GPU form"))
    }

    @Test("profiles, expose, ulimits, tmpfs, extra_hosts (list and map), logging")
    func miscKeys() throws {
        let s = try loadService("""
            expose: ["80", 81, "90-91/udp"]
            ulimits:
              nproc: 65535
              nofile: {soft: 20000, hard: 40000}
            tmpfs: /run
            extra_hosts:
              - "somehost:162.242.195.82"
              - "other=50.31.209.229"
              - "v6:::1"
            logging:
              driver: json-file
              options: {max-size: 10m, max-file: 3}
            """)
        #expect(s.expose == ["80", "81", "90/udp", "91/udp"])
        #expect(s.ulimits == [Ulimit(name: "nofile", soft: 20000, hard: 40000), Ulimit(name: "nproc", soft: 65535, hard: 65535)])
        #expect(s.tmpfs == ["/run"])
        #expect(s.extraHosts == ["somehost:162.242.195.82", "other:50.31.209.229", "v6:::1"])
        #expect(s.logging == Logging(driver: "json-file", options: ["max-size": "10m", "max-file": "3"]))
        let m = try loadService("extra_hosts:\n  a: 1.2.3.4\n  b: [\"::1\", 5.6.7.8]\ntmpfs: [/a, \"/b:size=1m\"]")
        #expect(m.extraHosts == ["a:1.2.3.4", "b:::1", "b:5.6.7.8"])
        #expect(m.tmpfs == ["/a", "/b:size=1m"])
    }

    @Test("container_name names the one replica; a service with only build is accepted and runs its content tag")
    func containerNameAndBuild() throws {
        #expect(try serviceErrors("container_name: fixed").isEmpty)
        #expect(try loadService("container_name: fixed").options?.containerName == "fixed")
        let fixture = try Fixture(["docker-compose.yml": "services:\n  web:\n    build: .\n", "Dockerfile": "FROM scratch\n"])
        defer { fixture.remove() }
        let web = try #require(fixture.load().project.service(named: "web"))
        #expect(web.image.hasPrefix("stack-web:"))
        #expect(web.image == web.build?.contentTag)
    }

    @Test("x-reconcile on a service: gpu placement, gpu requirement, gpu_memory, secret_env, validate")
    func serviceExtensions() throws {
        let s = try loadService("""
            gpus: all
            environment: {TOKEN: t, DB_PASSWORD: p}
            ports: ["8000"]
            x-other: ignored
            x-reconcile:
              gpu_placement: shared
              gpu: optional
              gpu_memory: 40GiB
              secret_env: [TOKEN, DB_PASSWORD]
              validate:
                mode: endpoint
                port: 8000
                max_p99_ms: 250
                min_throughput: 50
                concurrency: 8
                duration: 30s
                timeout: 2m
                on_failure: pause
            """)
        #expect(s.extensions.gpuPlacement == .shared)
        #expect(s.extensions.gpu == .optional)
        #expect(s.extensions.gpuMemoryBytes == 40 << 30)
        #expect(s.secretEnv == ["DB_PASSWORD", "TOKEN"])
        #expect(s.isSecret("TOKEN"))
        #expect(s.extensions.validate == ValidationSpec(
            mode: .endpoint, port: 8000, maxP99Ms: 250, minThroughput: 50, timeout: 120, concurrency: 8, duration: 30,
            onFailure: .pause))
        let job = try loadService("x-reconcile:\n  validate:\n    mode: job\n    image: eval:1\n    command: python eval.py --split test\n    min_accuracy: 0.9")
        #expect(job.extensions.validate == ValidationSpec(mode: .job, image: "eval:1", command: ["python", "eval.py", "--split", "test"], minAccuracy: 0.9))
    }

    @Test("x-reconcile on a service: unknown keys are errors with suggestions; unknown secret names are warnings")
    func serviceExtensionErrors() throws {
        let errs = try serviceErrors("x-reconcile:\n  gpu_placment: shared\n  validate:\n    mode: job\n    min_acuracy: 0.9")
        #expect(errs.count == 2)
        #expect(errs[0].hint == "did you mean `gpu_placement`?")
        #expect(errs[1].keyPath == "services.s.x-reconcile.validate.min_acuracy")
        #expect(errs[1].hint == "did you mean `min_accuracy`?")
        let warns = try warnings("services:\n  s:\n    image: x\n    environment: {TOKEN: a}\n    x-reconcile:\n      secret_env: [TOKNE]\n")
        #expect(warns.count == 1)
        #expect(warns[0].hint == "did you mean `TOKEN`?")
        #expect(warns[0].line == 6)
    }

    @Test("validate with a user's requests file: path, JSON path and the file are checked at load, errors name the file's line")
    func validationRequestsFile() throws {
        let body = """
            services:
              s:
                image: my-model:1
                ports: ["8000"]
                x-reconcile:
                  validate:
                    mode: endpoint
                    path: /predict
                    requests: ./checks/requests.jsonl
                    prediction: result.label
                    min_accuracy: 0.9

            """
        let good = try Fixture(["docker-compose.yml": body, "checks/requests.jsonl": "{\"request\": {\"x\": 1}, \"expect\": \"cat\"}\n"])
        defer { good.remove() }
        let spec = try #require(try good.load().project.service(named: "s")?.extensions.validate)
        #expect(spec.path == "/predict" && spec.prediction == "result.label")
        #expect(spec.requests == good.dir + "/checks/requests.jsonl")

        let bad = try Fixture(["docker-compose.yml": body, "checks/requests.jsonl": "{\"request\": {}, \"expect\": 1}\n\n{\"request\": {}}\nnot json\n"])
        defer { bad.remove() }
        let errors = bad.check().1.filter { $0.severity == .error }
        #expect(errors.map(\.line) == [3, 4], "\(errors)")
        #expect(errors.allSatisfy { $0.file.hasSuffix("checks/requests.jsonl") && $0.keyPath == "services.s.x-reconcile.validate.requests" })
        #expect(errors.first?.message.contains("missing `expect`") == true)

        let missing = try Fixture(["docker-compose.yml": body])
        defer { missing.remove() }
        #expect(missing.check().1.contains { $0.severity == .error && $0.message.contains("cannot be read") && $0.line == 9 })

        let wrong = try serviceErrors("ports: [\"80\"]\nx-reconcile:\n  validate:\n    mode: endpoint\n    path: predict\n    prediction: \"a[x]\"")
        #expect(wrong.map(\.keyPath) == ["services.s.x-reconcile.validate.path", "services.s.x-reconcile.validate.prediction"], "\(wrong)")
        let noPath = try Fixture(["docker-compose.yml": body.replacingOccurrences(of: "        path: /predict\n", with: ""), "checks/requests.jsonl": "{\"request\": 1, \"expect\": 1}"])
        defer { noPath.remove() }
        #expect(noPath.check().1.contains { $0.severity == .error && $0.message.contains("needs the HTTP path") })
        let dollar = try loadService("ports: [\"80\"]\nx-reconcile:\n  validate:\n    mode: endpoint\n    prediction: $$.predictions[0]")
        #expect(dollar.extensions.validate?.prediction == "$.predictions[0]", "a Compose `$$` is a literal `$`")
        let jobKeys = try serviceErrors("x-reconcile:\n  validate:\n    mode: job\n    path: /x")
        #expect(jobKeys.first?.message.contains("does not apply to `mode: job`") == true)
    }
}
