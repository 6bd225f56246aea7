import DockerEngine
import Foundation
import ReconcileCore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// web replicas whose healthcheck is `health`, rolled by `order` with `action` on failure.
func gatedStack(level: String, replicas: Int = 3, health: String = "true", action: String = "pause", parallelism: Int = 1) -> String {
    """
    services:
      web:
        image: \(ProjectFixture.image1)
        command: ["httpd", "-f", "-p", "8080", "-h", "/var/www"]
        init: true
        environment:
          LEVEL: \(level)
        healthcheck:
          test: ["CMD", "\(health)"]
          interval: 1s
          retries: 1
        deploy:
          replicas: \(replicas)
          update_config:
            parallelism: \(parallelism)
            failure_action: \(action)
    """
}

@Suite("rollouts against a real engine", .tags(.engine), .serialized)
struct RolloutTests {
    @Test("a start-first rollout under a steady stream of requests fails none of them")
    func zeroDowntime() async throws {
        try await ProjectFixture.run("zdt") { f in
            try f.write(gatedStack(level: "one"))
            #expect(try f.reconcile("apply", "--yes", "--wait").status == 0)
            // A client on the project's network hits the service alias in a loop.
            let loop = "while true; do if wget -q -O /dev/null http://web:8080/; then echo ok; else echo FAIL; fi; done"
            let client = try await f.client.createContainer(
                name: "\(f.project)-loadgen",
                ContainerCreateRequest(
                    config: ContainerConfig(cmd: ["sh", "-c", loop], image: ProjectFixture.image1, labels: ["reconcile.test": f.project]),
                    hostConfig: HostConfig(networkMode: "\(f.project)_default", initProcess: true)))
            defer { Task { try? await f.client.removeContainer(client.id, force: true) } }
            _ = try await f.client.startContainer(client.id)
            try await Task.sleep(for: .seconds(1))
            try f.write(gatedStack(level: "two"))
            let applied = try f.reconcile("apply", "--yes")
            #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
            #expect(applied.stdout.contains("start-first"))
            try await Task.sleep(for: .seconds(1))
            try await f.client.killContainer(client.id)
            let lines = try await f.client.containerLogs(client.id).map(\.text).joined().split(separator: "\n")
            try await f.client.removeContainer(client.id, force: true)
            let failed = lines.filter { $0 == "FAIL" }.count
            let ok = lines.filter { $0 == "ok" }.count
            #expect(ok > 50, "the load generator made \(ok) requests")
            #expect(failed == 0, "\(failed) of \(ok + failed) requests failed during the rollout")
        }
    }

    @Test("a replica that fails its health gate with failure_action rollback puts every previous container back")
    func rollback() async throws {
        try await ProjectFixture.run("rb") { f in
            try f.write(gatedStack(level: "one", action: "rollback", parallelism: 2))
            #expect(try f.reconcile("apply", "--yes", "--wait").status == 0)
            let before = try await f.containers()
            try f.write(gatedStack(level: "two", health: "false", action: "rollback", parallelism: 2))
            let applied = try f.reconcile("apply", "--yes", "--timeout", "20s")
            #expect(applied.status == 1)
            #expect(applied.stderr.contains("health gate failed"), "\(applied.stderr)")
            let after = try await f.containers()
            #expect(after.mapValues(\.id) == before.mapValues(\.id), "the previous containers are back under their names")
            #expect(after.values.allSatisfy { $0.state == "running" })
            for name in after.keys {
                let networks = try await f.client.inspectContainer(name).networkSettings?.networks ?? [:]
                #expect(networks["\(f.project)_default"]?.aliases?.contains("web") == true, "\(name) serves the service name again")
            }
        }
    }

    @Test("a replica that fails its health gate with failure_action pause stops the rollout and keeps the service serving")
    func pause() async throws {
        try await ProjectFixture.run("pause") { f in
            try f.write(gatedStack(level: "one", action: "pause", parallelism: 1))
            #expect(try f.reconcile("apply", "--yes", "--wait").status == 0)
            let before = try await f.containers()
            try f.write(gatedStack(level: "two", health: "false", action: "pause", parallelism: 1))
            let applied = try f.reconcile("apply", "--yes", "--timeout", "20s")
            #expect(applied.status == 1)
            #expect(applied.stderr.contains("service:web:1"), "\(applied.stderr)")
            #expect(applied.stdout.contains("rollout of web stopped"), "\(applied.stdout)")
            let after = try await f.containers()
            #expect(after.count == 3)
            #expect(after.mapValues(\.id) == before.mapValues(\.id))
            #expect(after.values.allSatisfy { $0.state == "running" })
        }
    }

    @Test("depends_on service_healthy starts the dependent only once its dependency is healthy")
    func dependsOnHealthy() async throws {
        try await ProjectFixture.run("deps") { f in
            try f.write(
                """
                services:
                  db:
                    image: \(ProjectFixture.image1)
                    command: ["sh", "-c", "sleep 2; touch /shared/ready; exec sleep 100000"]
                    init: true
                    volumes: [shared:/shared]
                    healthcheck:
                      test: ["CMD", "test", "-f", "/shared/ready"]
                      interval: 1s
                      retries: 30
                  web:
                    image: \(ProjectFixture.image1)
                    command: ["sh", "-c", "test -f /shared/ready || exit 3; exec sleep 100000"]
                    init: true
                    volumes: [shared:/shared]
                    depends_on:
                      db:
                        condition: service_healthy
                volumes:
                  shared:
                """)
            let applied = try f.reconcile("apply", "--yes", "--wait", "--timeout", "30s")
            #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
            let web = try await f.client.inspectContainer(f.name("web", 1))
            #expect(web.state?.running == true, "web started before db was healthy and exited with \(web.state?.exitCode ?? -1)")
        }
    }

    @Test("killing apply with SIGKILL at any point and applying again converges with no leftovers", arguments: [300, 900, 1500, 2300])
    func sigkill(afterMilliseconds: Int) async throws {
        try await ProjectFixture.run("kill") { f in
            try f.write(gatedStack(level: "one", replicas: 3, parallelism: 2))
            #expect(try f.reconcile("apply", "--yes", "--wait").status == 0)
            try f.write(gatedStack(level: "two", replicas: 3, parallelism: 2))
            let (process, _, _) = try f.start(["apply", "--yes"])
            try await Task.sleep(for: .milliseconds(afterMilliseconds))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let again = try f.reconcile("apply", "--yes", "--wait")
            #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
            let names = try await f.containers().keys.sorted()
            #expect(names == [f.name("web", 1), f.name("web", 2), f.name("web", 3)])
            let plan = try f.reconcile("plan", "--detailed-exitcode")
            #expect(plan.status == 0, "\(plan.stdout)")
            // The lock left by the killed process is stale and was taken over, not left behind.
            #expect(try await EngineLockProbe.holder(f) == nil)
        }
    }

    @Test("a second apply while one is running is refused with a message naming the holder")
    func concurrentApplies() async throws {
        try await ProjectFixture.run("lock") { f in
            try f.write(gatedStack(level: "one", replicas: 2))
            #expect(try f.reconcile("apply", "--yes", "--wait").status == 0)
            try f.write(gatedStack(level: "two", replicas: 2))
            let (first, _, _) = try f.start(["apply", "--yes"])
            let held = try await f.eventually(within: 10) { try await EngineLockProbe.holder(f) != nil }
            #expect(held)
            let second = try f.reconcile("apply", "--yes")
            first.waitUntilExit()
            #expect(second.status == 1)
            #expect(second.stderr.contains("is locked by reconcile apply"), "\(second.stderr)")
            #expect(first.terminationStatus == 0)
            #expect(try await EngineLockProbe.holder(f) == nil)
        }
    }
}

enum EngineLockProbe {
    static func holder(_ f: ProjectFixture) async throws -> String? {
        do {
            let volume = try await f.client.inspectVolume("reconcile-lock-\(f.project)")
            return volume.labels?[LabelKey.lockHolder]
        } catch where error.isDockerNotFound {
            return nil
        }
    }
}
