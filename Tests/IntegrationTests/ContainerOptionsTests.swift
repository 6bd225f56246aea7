import DockerEngine
import Foundation
import ReconcileCore
import Testing

/// Services using a representative set of the pass-through keys.
func optionsStack(somaxconn: Int = 1024) -> String {
    """
    services:
      web:
        image: \(ProjectFixture.image1)
        command: ["httpd", "-f", "-p", "8080", "-h", "/var/www"]
        init: true
        container_name: PROJECT-the-web
        tty: true
        stdin_open: true
        read_only: true
        tmpfs: [/tmp]
        sysctls:
          net.core.somaxconn: \(somaxconn)
        dns: [10.0.0.53]
        dns_search: [example.internal]
        cpu_shares: 512
        mem_reservation: 32m
        oom_score_adj: 100
        security_opt: [no-new-privileges:true]
        devices: ["/dev/null:/dev/extra-null:rw"]
        volumes: [hooks:/hooks]
        post_start:
          - command: ["sh", "-c", "echo started > /tmp/post-start"]
        pre_stop:
          - command: ["sh", "-c", "echo stopping >> /hooks/pre-stop"]
        x-reconcile:
          allow: ["device:/dev/null"]
      sidecar:
        image: \(ProjectFixture.image1)
        command: ["sleep", "100000"]
        init: true
        network_mode: service:web
        volumes_from: [web:ro]
    volumes:
      hooks: {}
    """
}

@Suite("pass-through keys against a real engine", .tags(.engine), .serialized)
struct ContainerOptionsIntegrationTests {
    @Test("the engine gets the pass-through keys: inspect shows each one, and the post_start hook ran")
    func engineGetsThem() async throws {
        try await ProjectFixture.run("options") { f in
            try f.write(optionsStack().replacingOccurrences(of: "PROJECT", with: f.project))
            let applied = try f.reconcile("apply", "--yes")
            #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
            let containers = try await f.containers()
            let webName = "\(f.project)-the-web"
            #expect(Set(containers.keys) == [webName, f.name("sidecar", 1)])
            let web = try await f.client.inspectContainer(webName)
            #expect(web.config?.tty == true && web.config?.openStdin == true)
            let host = try #require(web.hostConfig)
            #expect(host.readonlyRootfs == true)
            #expect(host.sysctls == ["net.core.somaxconn": "1024"])
            #expect(host.dns == ["10.0.0.53"] && host.dnsSearch == ["example.internal"])
            #expect(host.cpuShares == 512 && host.memoryReservation == 32 << 20 && host.oomScoreAdj == 100)
            #expect(host.securityOpt == ["no-new-privileges:true"])
            #expect(host.devices == [DockerEngine.DeviceMapping(pathOnHost: "/dev/null", pathInContainer: "/dev/extra-null", cgroupPermissions: "rw")])

            // The hook's file is there, in the container's tmpfs.
            let exec = try await f.client.createExec(webName, ExecCreateRequest(cmd: ["cat", "/tmp/post-start"]))
            let output = LogDemultiplexer.demultiplex(try await f.client.startExec(exec)).map { String(decoding: $0.bytes, as: UTF8.self) }.joined()
            #expect(output == "started\n")

            let sidecar = try await f.client.inspectContainer(f.name("sidecar", 1))
            #expect(sidecar.hostConfig?.networkMode == "container:\(web.id)" || sidecar.hostConfig?.networkMode == "container:\(webName)")
            #expect(sidecar.hostConfig?.volumesFrom == ["\(webName):ro"])

            // Nothing changed: nothing to do.
            let again = try f.reconcile("plan", "--detailed-exitcode")
            #expect(again.status == 0, "\(again.stdout)\(again.stderr)")

            // One sysctl changed: web is recreated with the field named, and the sidecar,
            // which lives in web's network stack, follows it.
            try f.write(optionsStack(somaxconn: 2048).replacingOccurrences(of: "PROJECT", with: f.project))
            let plan = try f.reconcile("plan")
            #expect(plan.stdout.contains("sysctls.net.core.somaxconn: \"1024\" → \"2048\""), "\(plan.stdout)")
            #expect(plan.stdout.contains("service:sidecar:1") && plan.stdout.contains("shares the network stack of \(webName)"), "\(plan.stdout)")
            let changed = try f.reconcile("apply", "--yes")
            #expect(changed.status == 0, "\(changed.stdout)\(changed.stderr)")
            let after = try await f.client.inspectContainer(webName)
            #expect(after.id != web.id && after.hostConfig?.sysctls == ["net.core.somaxconn": "2048"])
            // The old web container ran its pre_stop hook before it was stopped.
            let read = try await f.client.createExec(webName, ExecCreateRequest(cmd: ["cat", "/hooks/pre-stop"]))
            let stopped = LogDemultiplexer.demultiplex(try await f.client.startExec(read)).map { String(decoding: $0.bytes, as: UTF8.self) }.joined()
            #expect(stopped == "stopping\n")
            let newSidecar = try await f.client.inspectContainer(f.name("sidecar", 1))
            #expect(newSidecar.state?.running == true)
            #expect(newSidecar.hostConfig?.networkMode == "container:\(after.id)" || newSidecar.hostConfig?.networkMode == "container:\(webName)")
        }
    }

    @Test("a platform other than the engine's is a planning error naming the service; a failing post_start hook fails apply with its exit code")
    func platformAndHookFailure() async throws {
        try await ProjectFixture.run("platform") { f in
            let version = try await f.client.version()
            let other = version.arch == "arm64" ? "amd64" : "arm64"
            try f.write("""
                services:
                  app:
                    image: \(ProjectFixture.image1)
                    command: ["sleep", "100000"]
                    platform: linux/\(other)
                """)
            let plan = try f.reconcile("plan")
            #expect(plan.status == 1)
            #expect(plan.stderr.contains("service app asks for platform linux/\(other)"), "\(plan.stdout)\(plan.stderr)")
            #expect(try f.reconcile("plan", "--offline").status == 0, "offline plans skip the check")

            try f.write("""
                services:
                  app:
                    image: \(ProjectFixture.image1)
                    command: ["sleep", "100000"]
                    init: true
                    platform: linux/\(version.arch ?? "amd64")
                    post_start:
                      - command: ["sh", "-c", "echo no luck; exit 3"]
                """)
            let applied = try f.reconcile("apply", "--yes")
            #expect(applied.status == 1)
            #expect((applied.stdout + applied.stderr).contains("post_start hook `sh -c echo no luck; exit 3`"), "\(applied.stdout)\(applied.stderr)")
            #expect((applied.stdout + applied.stderr).contains("exited with code 3"))
        }
    }

    @Test("a host port range: three replicas take three ports of it, keep them across applies, and a rollout keeps them in the range")
    func portRange() async throws {
        try await ProjectFixture.run("portrange") { f in
            func stack(_ level: String) -> String {
                """
                services:
                  web:
                    image: \(ProjectFixture.image1)
                    command: ["httpd", "-f", "-p", "8080", "-h", "/var/www"]
                    init: true
                    environment: {LEVEL: \(level)}
                    ports: ["127.0.0.1:28400-28404:8080"]
                    deploy: {replicas: 3}
                """
            }
            func ports() async throws -> [String: Int] {
                var out: [String: Int] = [:]
                for (name, summary) in try await f.containers() {
                    out[name] = summary.ports?.first { $0.privatePort == 8080 }?.publicPort
                }
                return out
            }
            try f.write(stack("a"))
            let applied = try f.reconcile("apply", "--yes")
            #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
            let first = try await ports()
            #expect(first == [f.name("web", 1): 28400, f.name("web", 2): 28401, f.name("web", 3): 28402])
            #expect(try f.reconcile("apply", "--yes").stdout.contains("No changes"))
            #expect(try await ports() == first)

            try f.write(stack("b"))
            let rolled = try f.reconcile("apply", "--yes")
            #expect(rolled.status == 0, "\(rolled.stdout)\(rolled.stderr)")
            let after = try await ports()
            #expect(after.count == 3)
            #expect(Set(after.values).count == 3 && after.values.allSatisfy { (28400...28404).contains($0) }, "\(after)")
            #expect(try f.reconcile("plan", "--detailed-exitcode").status == 0)
        }
    }
}
