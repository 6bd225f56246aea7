import Foundation
import ReconcileCore
import Testing

@testable import ReconcileManifest

@Suite("Pass-through service keys")
struct ContainerOptionsTests {
    @Test("the pass-through keys are read into the service's options, in both of Compose's forms where it has two")
    func representativeKeys() throws {
        let s = try loadService("""
            container_name: my-api
            platform: linux/AMD64
            privileged: true
            tty: true
            stdin_open: true
            read_only: true
            sysctls:
              net.core.somaxconn: 1024
            security_opt: [no-new-privileges:true]
            pid: host
            uts: host
            userns_mode: host
            cgroup: private
            cgroup_parent: /custom
            dns: 1.1.1.1
            dns_search: [example.com]
            dns_opt: [ndots:2]
            domainname: example.com
            mac_address: 02:42:AC:11:00:02
            group_add: [audio, 1000]
            cpu_count: 2
            cpu_percent: 50
            cpu_shares: 512
            cpu_period: 100ms
            cpu_quota: 50000
            cpu_rt_runtime: 400ms
            cpu_rt_period: 1000000
            cpuset: 0-1
            mem_reservation: 64m
            mem_swappiness: 10
            memswap_limit: -1
            oom_kill_disable: true
            oom_score_adj: -500
            devices:
              - /dev/null:/dev/mynull:rw
              - /dev/zero
              - source: /dev/random
                target: /dev/rnd
                permissions: r
            device_cgroup_rules: ["c 1:3 mr"]
            storage_opt: {size: 1G}
            annotations: [com.example.a=1]
            blkio_config:
              weight: 300
              device_read_bps: [{path: /dev/sda, rate: 12mb}]
              device_write_iops: [{path: /dev/sda, rate: 30}]
            external_links: [other-container:db]
            attach: false
            post_start:
              - command: touch /tmp/started
                user: root
                environment: {A: "1"}
            pre_stop:
              - command: ["sh", "-c", "echo bye"]
            x-reconcile:
              allow: [privileged, host-pid, host-uts, host-userns, device]
            """)
        let o = try #require(s.options)
        #expect(o.containerName == "my-api")
        #expect(o.platform == "linux/amd64")
        #expect(o.privileged == true && o.tty == true && o.stdinOpen == true && o.readOnly == true)
        #expect(o.sysctls == ["net.core.somaxconn": "1024"])
        #expect(o.securityOpt == ["no-new-privileges:true"])
        #expect(o.pid == "host" && o.uts == "host" && o.usernsMode == "host" && o.cgroup == "private" && o.cgroupParent == "/custom")
        #expect(o.dns == ["1.1.1.1"] && o.dnsSearch == ["example.com"] && o.dnsOpt == ["ndots:2"])
        #expect(o.domainname == "example.com" && o.macAddress == "02:42:ac:11:00:02")
        #expect(o.groupAdd == ["audio", "1000"])
        #expect(o.cpuCount == 2 && o.cpuPercent == 50 && o.cpuShares == 512)
        #expect(o.cpuPeriod == 100_000 && o.cpuQuota == 50_000 && o.cpuRtRuntime == 400_000 && o.cpuRtPeriod == 1_000_000)
        #expect(o.cpuset == "0-1" && o.memReservation == 64 << 20 && o.memSwappiness == 10 && o.memswapLimit == -1)
        #expect(o.oomKillDisable == true && o.oomScoreAdj == -500)
        #expect(o.devices == [
            DeviceMapping(source: "/dev/null", target: "/dev/mynull", permissions: "rw"), DeviceMapping(source: "/dev/zero"),
            DeviceMapping(source: "/dev/random", target: "/dev/rnd", permissions: "r"),
        ])
        #expect(o.deviceCgroupRules == ["c 1:3 mr"] && o.storageOpt == ["size": "1G"] && o.annotations == ["com.example.a": "1"])
        #expect(o.blkio?.weight == 300)
        #expect(o.blkio?.deviceReadBps == [BlkioConfig.Rate(path: "/dev/sda", rate: 12 << 20)])
        #expect(o.blkio?.deviceWriteIops == [BlkioConfig.Rate(path: "/dev/sda", rate: 30)])
        #expect(o.externalLinks == ["other-container:db"])
        #expect(o.postStart == [LifecycleHook(command: ["touch", "/tmp/started"], user: "root", environment: ["A": "1"])])
        #expect(o.preStop == [LifecycleHook(command: ["sh", "-c", "echo bye"])])
    }

    @Test("a service without any pass-through key has no options, so its hash is the one it always had")
    func noOptions() throws {
        let s = try loadService("environment: {A: 1}")
        #expect(s.options == nil)
    }

    @Test("network_mode: the service has no network; service:NAME joins that service; conflicts with networks are errors")
    func networkMode() throws {
        let project = try loadProject("""
            services:
              db:
                image: x
              sidecar:
                image: x
                network_mode: service:db
              host:
                image: x
                network_mode: host
                x-reconcile: {allow: [host-network]}
            """)
        let sidecar = try #require(project.service(named: "sidecar"))
        #expect(sidecar.networks.isEmpty)
        #expect(sidecar.options?.networkMode == "service:db")
        #expect(sidecar.options?.serviceReferences == ["db"])
        #expect(project.service(named: "host")?.networks.isEmpty == true)

        let conflict = try errors("""
            services:
              a:
                image: x
                network_mode: host
                networks: [default]
            """)
        #expect(conflict.contains { $0.keyPath == "services.a.networks" && $0.line == 5 && $0.message.contains("network_mode") })

        let unknown = try errors("services:\n  a:\n    image: x\n    network_mode: service:dbb\n  db:\n    image: x\n")
        let error = try #require(unknown.first { $0.keyPath == "services.a.network_mode" })
        #expect(error.line == 4 && error.message.contains("`dbb` is not a service") && error.hint == "did you mean `db`?")

        let ports = try errors("services:\n  a:\n    image: x\n    network_mode: container:other\n    ports: [\"80:80\"]\n")
        #expect(ports.contains { $0.keyPath == "services.a.ports" && $0.line == 5 })
        let bad = try serviceErrors("network_mode: bridged")
        #expect(bad.contains { $0.keyPath == "services.s.network_mode" && $0.message.contains("invalid network mode") })
    }

    @Test("container_name names one replica: more replicas are an error at the name")
    func containerNameReplicas() throws {
        let found = try serviceErrors("container_name: api\ndeploy:\n  replicas: 2")
        let error = try #require(found.first { $0.keyPath == "services.s.container_name" })
        #expect(error.line == 4 && error.message.contains("2 replicas"))
        #expect(try serviceErrors("container_name: -bad").contains { $0.message.contains("invalid container name") })
    }

    @Test("bad values are positioned errors naming the key")
    func badValues() throws {
        let cases: [(String, String, String)] = [
            ("cpu_percent: 150", "services.s.cpu_percent", "at most 100"),
            ("oom_score_adj: 2000", "services.s.oom_score_adj", "at most 1000"),
            ("sysctls: [net.core.somaxconn]", "services.s.sysctls.net.core.somaxconn", "has no value"),
            ("devices: [dev/null]", "services.s.devices[0]", "must be absolute"),
            ("devices: [\"/dev/null:/dev/null:rx\"]", "services.s.devices[0]", "invalid device permissions"),
            ("devices: [nvidia.com/gpu=all]", "services.s.devices[0]", "CDI"),
            ("mac_address: 02:42", "services.s.mac_address", "invalid MAC address"),
            ("platform: linux//amd64", "services.s.platform", "invalid platform"),
            ("cgroup: shared", "services.s.cgroup", "invalid value"),
            ("cpuset: all", "services.s.cpuset", "invalid cpuset"),
            ("blkio_config: {weight: 5}", "services.s.blkio_config.weight", "between 10 and 1000"),
            ("device_cgroup_rules: [\"x 1:3 r\"]", "services.s.device_cgroup_rules[0]", "invalid device cgroup rule"),
            ("post_start: [{user: root}]", "services.s.post_start[0]", "needs `command`"),
            ("links: [\"a:b:c\"]", "services.s.links[0]", "invalid link"),
            ("volumes_from: [\"db:rx\"]", "services.s.volumes_from[0]", "invalid volumes_from"),
            ("tty: maybe", "services.s.tty", "expected true or false"),
        ]
        for (body, path, text) in cases {
            let found = try serviceErrors(body)
            #expect(found.contains { $0.keyPath == path && $0.line == 4 && $0.message.contains(text) }, "\(body): \(found)")
        }
    }

    @Test("develop is accepted with a warning that it does nothing here")
    func develop() throws {
        let found = try warnings("services:\n  s:\n    image: x\n    develop:\n      watch: []\n")
        #expect(found.contains { $0.keyPath == "services.s.develop" && $0.line == 4 && $0.message.contains("does nothing here") })
    }

    @Test("label_file: labels from files, the service's own labels win")
    func labelFile() throws {
        let fixture = try Fixture([
            "docker-compose.yml": "services:\n  s:\n    image: x\n    label_file: ./app.labels\n    labels: {b: own}\n",
            "app.labels": "a=1\nb=from-file\n",
        ])
        defer { fixture.remove() }
        let service = try #require(try fixture.load().project.service(named: "s"))
        #expect(service.labels == ["a": "1", "b": "own"])
    }

    @Test("links and volumes_from name services that exist; they order creation")
    func references() throws {
        let project = try loadProject("""
            services:
              web:
                image: x
                links: [db:database]
                volumes_from: [db:ro, container:other]
              db:
                image: x
            """)
        let web = try #require(project.service(named: "web"))
        #expect(web.options?.links == ["db:database"])
        #expect(web.options?.volumesFrom == ["service:db:ro", "container:other"])
        #expect(web.options?.serviceReferences == ["db", "db"])
    }
}

@Suite("Host port ranges")
struct PortRangeManifestTests {
    @Test("a host range for one container port is one ranged mapping; too few ports for the replicas is an error at the port")
    func ranges() throws {
        let s = try loadService("ports: [\"127.0.0.1:8000-8010:80\"]\ndeploy: {replicas: 3}")
        #expect(s.ports == [PortMapping(target: 80, published: 8000, hostIP: "127.0.0.1", publishedEnd: 8010)])
        let found = try serviceErrors("ports: [\"8000-8001:80\"]\ndeploy: {replicas: 3}")
        #expect(found.contains { $0.keyPath == "services.s.ports" && $0.line == 4 && $0.message.contains("has 2 ports for 3 replicas") })
        let overlap = try errors("services:\n  a:\n    image: x\n    ports: [\"8000-8010:80\"]\n  b:\n    image: x\n    ports: [\"8005:80\"]\n")
        #expect(overlap.contains { $0.keyPath == "services.b.ports" && $0.message.contains("already published by service a") })
    }
}
