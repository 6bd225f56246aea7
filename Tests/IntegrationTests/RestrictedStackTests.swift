import DockerEngine
import Foundation
import ReconcileCore
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@Suite("the restricted example stack against a real engine", .tags(.engine), .serialized)
struct RestrictedStackTests {
    static var example: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("examples/restricted/compose.yaml").path
    }

    @Test("examples/restricted deploys, serves on loopback, and every container passes docker-bench-security's container-runtime checks that apply")
    func deploys() async throws {
        try await ProjectFixture.run("restricted") { f in
            try FileManager.default.copyItem(atPath: Self.example, toPath: f.manifestPath)
            let env = ["PROJECT": f.project, "WEB_PORT": ""]
            let applied = try f.reconcile(["apply", "--yes"], environment: env)
            try #require(applied.status == 0, "\(applied.stdout)\(applied.stderr)")

            let containers = try await f.containers()
            #expect(Set(containers.keys) == [f.name("web", 1), f.name("worker", 1), f.name("worker", 2)])
            for (name, summary) in containers {
                let inspect = try await f.client.inspectContainer(summary.id)
                let host = try #require(inspect.hostConfig)
                let failures = Self.benchFailures(inspect, host)
                #expect(failures.isEmpty, "\(name): \(failures)")
            }
            let web = try await f.client.inspectContainer(f.name("web", 1))
            let healthy = try await f.eventually(within: 30) {
                try await f.client.inspectContainer(f.name("web", 1)).state?.health?.status == "healthy"
            }
            #expect(healthy, "the web replica passes its healthcheck as uid 65534 on a read-only root")
            let bindings = (web.networkSettings?.ports?["8080/tcp"] ?? nil) ?? []
            #expect(bindings.allSatisfy { $0.hostIp == "127.0.0.1" } && !bindings.isEmpty)
            let port = try #require(bindings.compactMap(\.hostPort).first)
            let (body, _) = try await URLSession.shared.data(from: try #require(URL(string: "http://127.0.0.1:\(port)/")))
            #expect(String(decoding: body, as: UTF8.self).contains("reconcile test image"))
            let plan = try f.reconcile(["plan", "--detailed-exitcode"], environment: env)
            #expect(plan.status == 0, "\(plan.stdout)\(plan.stderr)")
        }
    }

    /// The container-runtime checks of docker-bench-security (CIS Docker Benchmark section 5,
    /// and 4.1) that a container's inspect answers, written as predicates: the names of the
    /// checks that fail.
    static func benchFailures(_ inspect: ContainerInspect, _ host: HostConfig) -> [String] {
        var failures: [String] = []
        func check(_ id: String, _ ok: Bool) { if !ok { failures.append(id) } }
        let user = inspect.config?.user ?? ""
        check("4.1 non-root user", !user.isEmpty && !user.hasPrefix("root") && !user.hasPrefix("0:") && user != "0")
        let security = host.securityOpt ?? []
        check("5.1 AppArmor not unconfined", !security.contains { $0.hasPrefix("apparmor") && $0.hasSuffix("unconfined") })
        check("5.3 no added capabilities", (host.capAdd ?? []).isEmpty)
        check("5.3 capabilities dropped", (host.capDrop ?? []).contains("ALL"))
        check("5.4 not privileged", host.privileged != true)
        let binds = (host.binds ?? []) + (inspect.mounts ?? []).compactMap(\.source)
        check("5.5 no sensitive host folder", !binds.contains { ["/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr"].contains(String($0.split(separator: ":").first ?? "")) })
        check("5.9 not on the host network", host.networkMode != "host")
        check("5.10 memory limited", (host.memory ?? 0) > 0)
        check("5.12 read-only root filesystem", host.readonlyRootfs == true)
        let bindings = (host.portBindings ?? [:]).values.compactMap { $0 }.flatMap { $0 }
        check("5.13 ports bound to one address", bindings.allSatisfy { ($0.hostIp ?? "") != "" && $0.hostIp != "0.0.0.0" })
        let restart = host.restartPolicy
        check("5.14 on-failure restarts at most 5", restart?.name != "always" && (restart?.name != "on-failure" || (restart?.maximumRetryCount ?? 0) <= 5))
        check("5.15 host PID namespace not shared", host.pidMode != "host")
        check("5.16 host IPC namespace not shared", host.ipcMode != "host")
        check("5.17 no host devices", (host.devices ?? []).isEmpty)
        check("5.20 host UTS namespace not shared", host.utsMode != "host")
        check("5.21 seccomp not unconfined", !security.contains { $0.hasPrefix("seccomp") && $0.hasSuffix("unconfined") })
        check("5.25 no new privileges", security.contains { $0.hasPrefix("no-new-privileges") })
        check("5.28 PIDs limited", (host.pidsLimit ?? 0) > 0)
        check("5.30 host user namespace not shared", host.usernsMode != "host")
        check("5.31 Docker socket not mounted", !binds.contains { $0.contains("docker.sock") })
        return failures
    }
}
