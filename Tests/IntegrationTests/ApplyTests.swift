import DockerEngine
import Foundation
import ReconcileCore
import Testing

/// A stack of busybox services with fast stops (init: true).
func webStack(replicas: Int = 2, level: String = "info", workerReplicas: Int = 1, image: String = ProjectFixture.image1) -> String {
    """
    services:
      web:
        image: \(image)
        command: ["httpd", "-f", "-p", "8080", "-h", "/var/www"]
        init: true
        environment:
          LOG_LEVEL: \(level)
        deploy:
          replicas: \(replicas)
      worker:
        image: \(ProjectFixture.image1)
        command: ["sleep", "100000"]
        init: true
        deploy:
          replicas: \(workerReplicas)
    """
}

@Suite("apply against a real engine", .tags(.engine), .serialized)
struct ApplyTests {
    @Test("a cold apply creates every replica, and a second apply changes nothing and keeps the same container ids")
    func coldThenNoop() async throws {
        try await ProjectFixture.run("cold") { f in
            try f.write(webStack())
            let first = try f.reconcile("apply", "--yes")
            #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
            let before = try await f.containers()
            #expect(Set(before.keys) == [f.name("web", 1), f.name("web", 2), f.name("worker", 1)])
            #expect(before.values.allSatisfy { $0.state == "running" })
            let second = try f.reconcile(["apply", "--yes"], environment: ["RECONCILE_REPORT_REQUESTS": "1"])
            #expect(second.status == 0)
            #expect(second.stdout.contains("No changes. 3 replicas up to date."))
            // The issue's bound is 6: here the ping, the project's containers, networks, the
            // project's volumes, and one inspect of the one image both services use.
            #expect(second.stderr.contains("engine requests: 5"), "\(second.stderr)")
            let after = try await f.containers()
            #expect(after.mapValues(\.id) == before.mapValues(\.id))
            let plan = try f.reconcile("plan", "--detailed-exitcode")
            #expect(plan.status == 0, "\(plan.stdout)")
        }
    }

    @Test("a stopped replica is started and a paused one unpaused, keeping their ids")
    func stoppedAndPausedAreStarted() async throws {
        try await ProjectFixture.run("startpause") { f in
            try f.write(webStack())
            #expect(try f.reconcile("apply", "--yes").status == 0)
            let before = try await f.containers()
            let stopped = try #require(before[f.name("web", 1)]?.id)
            let paused = try #require(before[f.name("web", 2)]?.id)
            _ = try await f.client.stopContainer(stopped, timeout: 0)
            try await f.client.pauseContainer(paused)
            let plan = try f.reconcile("plan")
            #expect(plan.stdout.contains("container is paused"), "\(plan.stdout)")
            let apply = try f.reconcile("apply", "--yes")
            #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
            let after = try await f.containers()
            #expect(after.mapValues(\.id) == before.mapValues(\.id))
            #expect(after.values.allSatisfy { $0.state == "running" }, "\(after.mapValues(\.state))")
            #expect(try f.reconcile("plan", "--detailed-exitcode").status == 0)
        }
    }

    @Test("a replica disconnected from its network (as an interrupted drain leaves it) is recreated and attached again")
    func detachedReplicaIsRepaired() async throws {
        try await ProjectFixture.run("detach") { f in
            try f.write(webStack())
            #expect(try f.reconcile("apply", "--yes").status == 0)
            let before = try await f.containers()
            let victim = try #require(before[f.name("web", 2)]?.id)
            try await f.client.disconnectNetwork("\(f.project)_default", container: victim, force: true)
            let plan = try f.reconcile("plan")
            #expect(plan.stdout.contains("not attached to \(f.project)_default"), "\(plan.stdout)")
            #expect(try f.reconcile("apply", "--yes").status == 0)
            let after = try await f.containers()
            let replaced = try #require(after[f.name("web", 2)]?.id)
            #expect(replaced != victim)
            #expect(after[f.name("web", 1)]?.id == before[f.name("web", 1)]?.id, "the attached replicas are kept")
            let networks = try await f.client.inspectContainer(replaced).networkSettings?.networks?.keys.sorted() ?? []
            #expect(networks == ["\(f.project)_default"])
            #expect(try f.reconcile("plan", "--detailed-exitcode").status == 0)
        }
    }

    @Test("a replica left stopped under its retired name (apply killed mid-recreate) is replaced, with and without a config change")
    func retiredLeftover() async throws {
        try await ProjectFixture.run("retired") { f in
            try f.write(webStack())
            #expect(try f.reconcile("apply", "--yes").status == 0)
            for changed in [false, true] {
                let old = try #require(try await f.containers()[f.name("web", 1)]?.id)
                _ = try await f.client.stopContainer(old, timeout: 1)
                try await f.client.renameContainer(old, to: "\(f.name("web", 1))-old-\(old.prefix(8))")
                if changed { try f.write(webStack(level: "debug")) }
                let apply = try f.reconcile("apply", "--yes")
                #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
                let after = try await f.containers()
                #expect(after[f.name("web", 1)]?.state == "running")
                #expect(!after.keys.contains { $0.contains("-old-") }, "\(after.keys.sorted())")
                #expect(try f.reconcile("plan", "--detailed-exitcode").status == 0)
            }
        }
    }

    @Test("scale up fills the next slots and scale down removes the highest numbers")
    func scaling() async throws {
        try await ProjectFixture.run("scale") { f in
            try f.write(webStack(replicas: 2))
            #expect(try f.reconcile("apply", "--yes").status == 0)
            let two = try await f.containers()
            try f.write(webStack(replicas: 4))
            #expect(try f.reconcile("plan", "--detailed-exitcode").status == 2)
            #expect(try f.reconcile("apply", "--yes").status == 0)
            let four = try await f.containers()
            #expect(four.keys.filter { $0.contains("-web-") }.count == 4)
            #expect(four[f.name("web", 1)]?.id == two[f.name("web", 1)]?.id)
            try f.write(webStack(replicas: 1))
            #expect(try f.reconcile("apply", "--yes").status == 0)
            let one = try await f.containers()
            #expect(one.keys.filter { $0.contains("-web-") }.sorted() == [f.name("web", 1)])
            #expect(one[f.name("web", 1)]?.id == two[f.name("web", 1)]?.id)
        }
    }

    @Test("an env change recreates every replica of that service and no other")
    func envChange() async throws {
        try await ProjectFixture.run("env") { f in
            try f.write(webStack(replicas: 2))
            #expect(try f.reconcile("apply", "--yes").status == 0)
            let before = try await f.containers()
            try f.write(webStack(replicas: 2, level: "debug"))
            let plan = try f.reconcile("plan")
            #expect(plan.stdout.contains("environment.LOG_LEVEL: \"info\" → \"debug\""))
            let applied = try f.reconcile("apply", "--yes")
            #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
            let after = try await f.containers()
            #expect(Set(after.keys) == Set(before.keys), "no leftover surge or retired container")
            #expect(after[f.name("web", 1)]?.id != before[f.name("web", 1)]?.id)
            #expect(after[f.name("web", 2)]?.id != before[f.name("web", 2)]?.id)
            #expect(after[f.name("worker", 1)]?.id == before[f.name("worker", 1)]?.id)
            let inspect = try await f.client.inspectContainer(f.name("web", 1))
            #expect(inspect.config?.env?.contains("LOG_LEVEL=debug") == true)
        }
    }

    @Test("a service removed from the manifest is kept with a warning, and removed with --prune")
    func prune() async throws {
        try await ProjectFixture.run("prune") { f in
            try f.write(webStack())
            #expect(try f.reconcile("apply", "--yes").status == 0)
            try f.write(
                """
                services:
                  web:
                    image: \(ProjectFixture.image1)
                    command: ["httpd", "-f", "-p", "8080", "-h", "/var/www"]
                    init: true
                    environment:
                      LOG_LEVEL: info
                    deploy:
                      replicas: 2
                """)
            let kept = try f.reconcile("apply", "--yes")
            #expect(kept.stderr.contains("service worker is no longer in the manifest"))
            #expect(try await f.containers()[f.name("worker", 1)] != nil)
            #expect(try f.reconcile("apply", "--yes", "--prune").status == 0)
            #expect(try await f.containers()[f.name("worker", 1)] == nil)
        }
    }

    @Test("a marker file in a named volume survives recreate, scale to zero and back, and destroy without --volumes")
    func volumeSurvives() async throws {
        try await ProjectFixture.run("vol") { f in
            func stack(_ replicas: Int, _ level: String) -> String {
                """
                services:
                  db:
                    image: \(ProjectFixture.image1)
                    command: ["sh", "-c", "test -f /data/marker || echo \(level) > /data/marker; exec sleep 100000"]
                    init: true
                    environment:
                      LEVEL: \(level)
                    volumes:
                      - data:/data
                    deploy:
                      replicas: \(replicas)
                volumes:
                  data:
                """
            }
            try f.write(stack(1, "first"))
            #expect(try f.reconcile("apply", "--yes").status == 0)
            try f.write(stack(1, "second"))
            #expect(try f.reconcile("apply", "--yes").status == 0)
            try f.write(stack(0, "second"))
            #expect(try f.reconcile("apply", "--yes").status == 0)
            #expect(try await f.containers().isEmpty)
            let destroyed = try f.reconcile("destroy")
            #expect(destroyed.status == 0)
            #expect(destroyed.stdout.contains("kept volumes"))
            try f.write(stack(1, "third"))
            #expect(try f.reconcile("apply", "--yes").status == 0)
            let logs = try await f.client.containerLogs(f.name("db", 1))
            _ = logs
            let volume = try await f.client.inspectVolume("\(f.project)_data")
            #expect(volume.labels?[LabelKey.project] == f.project)
            // The marker written by the first replica is still there.
            let check = try f.reconcile("status", "--output", "json")
            #expect(check.status == 0)
            let exec = try await readMarker(f)
            #expect(exec == "first")
            #expect(try f.reconcile("destroy", "--volumes").status == 0)
            await #expect(throws: (any Error).self) { try await f.client.inspectVolume("\(f.project)_data") }
        }
    }

    @Test("destroy carries on past a network the engine refuses: it removes the volumes asked for, names what is left, and exits 1")
    func destroyPastARefusedNetwork() async throws {
        try await ProjectFixture.run("destroyleft") { f in
            try f.write(
                """
                services:
                  db:
                    image: \(ProjectFixture.image1)
                    command: ["sleep", "100000"]
                    init: true
                    volumes: [data:/data]
                volumes:
                  data: {}
                """)
            #expect(try f.reconcile("apply", "--yes").status == 0)
            _ = try await f.client.inspectVolume("\(f.project)_data")
            // A container of someone else's on the project's network: the engine refuses to remove it.
            let foreign = try await f.client.createContainer(
                name: nil,
                ContainerCreateRequest(
                    config: ContainerConfig(cmd: ["sleep", "100000"], image: ProjectFixture.image1, labels: ["reconcile-test.foreign": f.project])))
            do {
                _ = try await f.client.startContainer(foreign.id)
                try await f.client.connectNetwork("\(f.project)_default", container: foreign.id)
                let destroyed = try f.reconcile("destroy", "--volumes")
                #expect(destroyed.status == 1, "\(destroyed.stdout)\(destroyed.stderr)")
                #expect(destroyed.stderr.contains("active endpoints"), "the engine's own reason: \(destroyed.stderr)")
                #expect(destroyed.stdout.contains("Destroyed project \(f.project) in part"), "\(destroyed.stdout)")
                #expect(try await f.containers().isEmpty, "the project's containers are gone")
                await #expect(throws: (any Error).self, "the volume asked for is gone") {
                    try await f.client.inspectVolume("\(f.project)_data")
                }
                try await f.client.removeContainer(foreign.id, force: true)
                let again = try f.reconcile("destroy", "--volumes")
                #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
                #expect(again.stdout.contains("network \(f.project)_default"), "\(again.stdout)")
            } catch {
                try? await f.client.removeContainer(foreign.id, force: true)
                throw error
            }
        }
    }

    /// Reads /data/marker through a one-shot container on the same volume.
    func readMarker(_ f: ProjectFixture) async throws -> String {
        let request = ContainerCreateRequest(
            config: ContainerConfig(cmd: ["cat", "/data/marker"], image: ProjectFixture.image1, labels: [LabelKey.project: f.project]),
            hostConfig: HostConfig(mounts: [DockerEngine.Mount(type: "volume", source: "\(f.project)_data", target: "/data")]))
        let created = try await f.client.createContainer(name: nil, request)
        _ = try await f.client.startContainer(created.id)
        _ = try await f.client.waitContainer(created.id)
        let chunks = try await f.client.containerLogs(created.id)
        try await f.client.removeContainer(created.id, force: true)
        return chunks.map { String(decoding: $0.bytes, as: UTF8.self) }.joined().trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("an engine that is not there gets one clear sentence and exit 1")
    func noDaemon() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ProjectFixture.binary)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("reconcile-nodaemon-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "services:\n  a:\n    image: x\n".write(to: dir.appendingPathComponent("compose.yaml"), atomically: true, encoding: .utf8)
        process.arguments = ["apply", "--yes", "-f", dir.appendingPathComponent("compose.yaml").path, "--host", "unix:///nonexistent/docker.sock"]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = Pipe()
        try process.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 1)
        #expect(text.contains("cannot reach the Docker engine at unix:///nonexistent/docker.sock"), "\(text)")
        #expect(text.split(separator: "\n").count <= 2)
    }
}
