import DockerEngine
import Foundation
import ReconcileCore
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// `reconcile controller` against the private dockerd: each test starts the real binary on a
/// project of its own, changes the host or the manifest behind its back, and watches the
/// engine (and the controller's endpoints) for the outcome.
///
/// The engine restart is simulated by a proxy between the controller and the shared test
/// daemon that the test cuts and restores: the controller sees exactly what a dockerd restart
/// shows it (the event stream breaks, requests are refused, then the engine answers again),
/// while other suites using the same daemon are left alone.
@Suite("reconcile controller", .tags(.engine), .serialized)
struct ControllerTests {
    static let sleeper = """
        services:
          web:
            image: reconcile-test/busybox:1
            command: ["sleep", "3600"]
            init: true
            stop_grace_period: 1s
            deploy:
              replicas: REPLICAS
        """

    @Test("a killed, stopped or removed replica is back within seconds")
    func driftRepair() async throws {
        try await ProjectFixture.run("ctl-drift") { fixture in
            try fixture.write(Self.sleeper.replacingOccurrences(of: "REPLICAS", with: "3"))
            let controller = try ControllerProcess(fixture)
            defer { controller.terminate() }
            try await controller.waitRunning(fixture, service: "web", count: 3)

            // kill: the same container is started again.
            let one = try await fixture.client.inspectContainer(fixture.name("web", 1))
            try await fixture.client.killContainer(fixture.name("web", 1))
            #expect(try await restarted(fixture, fixture.name("web", 1), after: one), "killed replica not restarted\n\(controller.log())")

            // stop
            let two = try await fixture.client.inspectContainer(fixture.name("web", 2))
            _ = try await fixture.client.stopContainer(fixture.name("web", 2), timeout: 1)
            #expect(try await restarted(fixture, fixture.name("web", 2), after: two), "stopped replica not restarted\n\(controller.log())")

            // docker rm -f: a new container takes the name.
            let three = try await fixture.client.inspectContainer(fixture.name("web", 3))
            try await fixture.client.removeContainer(fixture.name("web", 3), force: true)
            let replaced = try await fixture.eventually(within: 10) {
                guard let c = try await fixture.containers()[fixture.name("web", 3)] else { return false }
                return c.id != three.id && c.state == "running"
            }
            #expect(replaced, "removed replica not replaced\n\(controller.log())")

            let metrics = try controller.get("/metrics")
            #expect(try Self.value(metrics, "reconcile_controller_drift_repairs_total", ["service": "web"]) ?? 0 >= 3)
        }
    }

    @Test("a manifest edit (scale and environment) is applied with apply's rollout")
    func manifestEdit() async throws {
        try await ProjectFixture.run("ctl-edit") { fixture in
            try fixture.write(Self.sleeper.replacingOccurrences(of: "REPLICAS", with: "2"))
            let controller = try ControllerProcess(fixture)
            defer { controller.terminate() }
            try await controller.waitRunning(fixture, service: "web", count: 2)

            try fixture.write(
                Self.sleeper.replacingOccurrences(of: "REPLICAS", with: "3")
                    + "\n    environment:\n      GREETING: hi\n")
            let applied = try await fixture.eventually(within: 30) {
                let containers = try await fixture.containers().values.filter { $0.state == "running" && !($0.name ?? "").hasSuffix("-next") }
                guard containers.count == 3 else { return false }
                for c in containers {
                    // A replica listed a moment ago may already be replaced: not converged yet.
                    guard let inspect = try? await fixture.client.inspectContainer(c.id) else { return false }
                    if !(inspect.config?.env ?? []).contains("GREETING=hi") { return false }
                }
                return true
            }
            #expect(applied, "edit not applied\n\(controller.log())")
            // Each manifest the controller converged to is a revision in history, as with apply.
            let recorded = try await fixture.eventually(within: 10) {
                let revisions = (try? fixture.history().json.revisions) ?? []
                return revisions.map(\.command) == ["controller", "controller"]
                    && revisions.last?.desired.services.first?.environment["GREETING"] == "hi"
                    && revisions.last?.services.first?.replicas == 3
            }
            #expect(recorded, "history: \((try? fixture.history().text) ?? "unreadable")\n\(controller.log())")
        }
    }

    @Test("an invalid edit is reported and the last good manifest stays in force")
    func invalidEdit() async throws {
        try await ProjectFixture.run("ctl-invalid") { fixture in
            try fixture.write(Self.sleeper.replacingOccurrences(of: "REPLICAS", with: "2"))
            let controller = try ControllerProcess(fixture)
            defer { controller.terminate() }
            try await controller.waitRunning(fixture, service: "web", count: 2)
            let before = Set(try await fixture.containers().values.map(\.id))

            try fixture.write("services:\n  web:\n    image: reconcile-test/busybox:1\n    replicas_typo: 0\n    deploy: {replicas: [\n")
            let reported = try await fixture.eventually(within: 10) {
                (try Self.value(try controller.get("/metrics"), "reconcile_controller_manifest_errors_total") ?? 0) >= 1
            }
            #expect(reported, "invalid edit not counted\n\(controller.log())")
            #expect(try Self.value(try controller.get("/metrics"), "reconcile_controller_manifest_valid") == 0)
            #expect(controller.log().contains("manifest invalid"))
            #expect(try controller.get("/status").contains("\"manifestValid\" : false"))

            // The old state stays, and drift is still repaired under the last good manifest.
            try await fixture.client.killContainer(fixture.name("web", 1))
            #expect(try await controller.waitRunning(fixture, service: "web", count: 2, throwing: false))
            let after = Set(try await fixture.containers().values.map(\.id))
            #expect(after == before)
        }
    }

    @Test("a crash-looping replica backs off instead of restarting in a hot loop")
    func crashLoop() async throws {
        try await ProjectFixture.run("ctl-crash") { fixture in
            try fixture.write(
                """
                services:
                  crash:
                    image: reconcile-test/busybox:1
                    command: ["sh", "-c", "sleep 0.2; exit 3"]
                """)
            // Watched live, from before the controller starts: the engine keeps only its last
            // 256 events for a later query, and the other suites running meanwhile flood it.
            let since = Date()
            let events = try await fixture.client.events(
                filters: ["type": ["container"], "event": ["start"], "label": ["\(LabelKey.project)=\(fixture.project)"]],
                since: since, until: since.addingTimeInterval(12))
            let counting = Task {
                var starts = 0
                for try await _ in events { starts += 1 }
                return starts
            }
            let controller = try ControllerProcess(fixture)
            defer { controller.terminate() }
            let starts = try await counting.value
            // Without backoff the container (0.2 s of life, ~0.3 s to start) would start ~20 times;
            // with 1 s, 2 s, 4 s … it starts at about 0, 1.5, 4, 8.5 s.
            #expect(starts >= 2 && starts <= 6, "\(starts) starts in 12 s\n\(controller.log())")
            let status = try controller.get("/status")
            #expect(status.contains("\"backoff\""))
            let metrics = try controller.get("/metrics")
            #expect(try Self.value(metrics, "reconcile_controller_crash_backoffs_total", ["service": "crash"]) ?? 0 >= 2)
            #expect(controller.log().contains("replica crash-looping"))
        }
    }

    @Test("the event stream breaking (as when dockerd restarts) is survived: reconnect, then a full resync")
    func engineOutage() async throws {
        try await ProjectFixture.run("ctl-outage") { fixture in
            try fixture.write(Self.sleeper.replacingOccurrences(of: "REPLICAS", with: "2"))
            guard fixture.host.hasPrefix("unix://") else {
                Issue.record("the outage test needs the test engine on a unix socket, not \(fixture.host)")
                return
            }
            let proxy = try UnixProxy(target: String(fixture.host.dropFirst("unix://".count)), path: fixture.directory.path + "/engine.sock")
            defer { proxy.close() }
            let controller = try ControllerProcess(fixture, host: "unix://" + proxy.path)
            defer { controller.terminate() }
            try await controller.waitRunning(fixture, service: "web", count: 2)
            #expect(try await fixture.eventually(within: 10) { (try? controller.get("/readyz")) != nil })

            proxy.cut()
            let unready = try await fixture.eventually(within: 10) { (try? controller.get("/readyz")) == nil }
            #expect(unready, "/readyz still answers 200 with the engine gone\n\(controller.log())")
            // Drift while the controller cannot see: only a resync after the reconnect finds it.
            try await fixture.client.killContainer(fixture.name("web", 2))
            try await Task.sleep(for: .seconds(1))
            try proxy.restore()

            #expect(try await controller.waitRunning(fixture, service: "web", count: 2, throwing: false), "\(controller.log())")
            #expect(try await fixture.eventually(within: 10) { (try? controller.get("/readyz")) != nil })
            let metrics = try controller.get("/metrics")
            #expect(try Self.value(metrics, "reconcile_controller_event_stream_reconnects_total") ?? 0 >= 1)
        }
    }

    @Test("SIGTERM drains and exits 0; the containers keep running; --log-format json writes JSON lines")
    func sigterm() async throws {
        try await ProjectFixture.run("ctl-term") { fixture in
            try fixture.write(Self.sleeper.replacingOccurrences(of: "REPLICAS", with: "2"))
            let controller = try ControllerProcess(fixture, arguments: ["--log-format", "json"])
            try await controller.waitRunning(fixture, service: "web", count: 2)
            let before = try await fixture.containers()
            kill(controller.process.processIdentifier, SIGTERM)
            let exited = try await fixture.eventually(within: 20) { !controller.process.isRunning }
            #expect(exited)
            if !exited { controller.terminate() }
            #expect(controller.process.terminationStatus == 0, "\(controller.log())")
            let after = try await fixture.containers()
            #expect(after.count == 2 && after.values.allSatisfy { $0.state == "running" })
            #expect(Set(after.values.map(\.id)) == Set(before.values.map(\.id)))
            #expect(try await EngineLock_holder(fixture) == nil, "lock left behind")
            let lines = controller.log().split(separator: "\n")
            #expect(lines.count >= 3)
            for line in lines {
                let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                #expect(object?["message"] is String && object?["level"] is String, "not a JSON log line: \(line)")
            }
            #expect(lines.contains { $0.contains("\"message\":\"draining") })
        }
    }

    @Test("a second controller is refused, and apply says a controller holds the project")
    func exclusive() async throws {
        try await ProjectFixture.run("ctl-excl") { fixture in
            try fixture.write(Self.sleeper.replacingOccurrences(of: "REPLICAS", with: "1"))
            let controller = try ControllerProcess(fixture)
            defer { controller.terminate() }
            try await controller.waitRunning(fixture, service: "web", count: 1)

            let second = try ControllerProcess(fixture)
            let exited = try await fixture.eventually(within: 20) { !second.process.isRunning }
            if !exited { second.terminate() }
            #expect(exited && second.process.terminationStatus == 1)
            #expect(second.log().contains("kept converged by reconcile controller"), "\(second.log())")

            // An apply with something to do is refused with the same sentence. (The fixture adds
            // compose.yaml after this file, so the change must be one compose.yaml does not undo.)
            let other = fixture.directory.appendingPathComponent("other.yaml").path
            try "name: \(fixture.project)\nservices:\n  web:\n    environment:\n      CHANGED: \"yes\"\n"
                .write(toFile: other, atomically: true, encoding: .utf8)
            let apply = try fixture.reconcile("apply", "--yes", "-f", other)
            #expect(apply.status == 1)
            #expect(apply.stderr.contains("kept converged by reconcile controller"), "\(apply.stderr)")
        }
    }

    @Test("a lock removed under a running controller (reconcile unlock) is taken again, so an apply is still refused")
    func relocksAfterUnlock() async throws {
        try await ProjectFixture.run("ctl-relock") { fixture in
            try fixture.write(Self.sleeper.replacingOccurrences(of: "REPLICAS", with: "1"))
            let controller = try ControllerProcess(fixture)
            defer { controller.terminate() }
            try await controller.waitRunning(fixture, service: "web", count: 1)
            let lock = "reconcile-lock-\(fixture.project)"
            let before = try await fixture.client.inspectVolume(lock).labels?["io.reconcile.lock.token"]
            #expect(try fixture.reconcile("unlock").status == 0)
            let retaken = try await fixture.eventually(within: 10) {
                guard let volume = try? await fixture.client.inspectVolume(lock) else { return false }
                return volume.labels?["io.reconcile.lock.purpose"] == "controller" && volume.labels?["io.reconcile.lock.token"] != before
            }
            #expect(retaken, "lock not taken again\n\(controller.log())")
            // The log line follows the engine call that took the lock.
            #expect(try await fixture.eventually(within: 10) { controller.log().contains("project lock taken again") }, "\(controller.log())")
            #expect(controller.process.isRunning)
        }
    }

    @Test("the image runs the controller as a container with the socket mounted (as manifests/controller does): it converges, repairs, serves /readyz, and drains on docker stop")
    func controllerInContainer() async throws {
        try await ProjectFixture.run("ctl-box") { fixture in
            _ = try await fixture.requireWorkloadImage()
            let socket = try #require(fixture.host.hasPrefix("unix://") ? String(fixture.host.dropFirst(7)) : nil)
            let gid = try #require(try FileManager.default.attributesOfItem(atPath: socket)[.groupOwnerAccountID] as? NSNumber)
            // The managed project's manifest, in a folder the controller container mounts.
            let managed = fixture.directory.appendingPathComponent("managed")
            try FileManager.default.createDirectory(at: managed, withIntermediateDirectories: true)
            try ("name: \(fixture.project)\n" + Self.sleeper.replacingOccurrences(of: "REPLICAS", with: "2"))
                .write(to: managed.appendingPathComponent("compose.yaml"), atomically: true, encoding: .utf8)
            for path in [fixture.directory.path, managed.path, managed.appendingPathComponent("compose.yaml").path] {
                try FileManager.default.setAttributes([.posixPermissions: path.hasSuffix(".yaml") ? 0o644 : 0o755], ofItemAtPath: path)
            }
            // The controller's own project, shaped like manifests/controller/compose.yaml.
            let box = "\(fixture.project)-ctl"
            try """
                name: \(box)
                services:
                  controller:
                    image: \(ProjectFixture.workloadImage)
                    command: [reconcile, controller, -f, /manifests/compose.yaml, --listen, "0.0.0.0:9464", --token-file, /run/secrets/controller_token, --log-format, json]
                    user: "10001:\(gid.intValue)"
                    init: true
                    stop_grace_period: 30s
                    environment:
                      DOCKER_HOST: unix:///var/run/docker.sock
                    volumes:
                      - \(socket):/var/run/docker.sock
                      - \(managed.path):/manifests:ro
                    ports:
                      - "127.0.0.1::9464"
                    healthcheck:
                      disable: true
                    secrets:
                      - source: controller_token
                        uid: "10001"
                        mode: 0400
                    x-reconcile:
                      # It manages containers: the socket is what it is for.
                      allow: [docker-socket]
                secrets:
                  controller_token:
                    content: "\(UUID().uuidString)"
                """.write(toFile: fixture.manifestPath, atomically: true, encoding: .utf8)
            let boxFilter = DockerFilters.label(LabelKey.project, box)
            defer {
                Task {
                    for c in (try? await fixture.client.listContainers(all: true, filters: boxFilter)) ?? [] {
                        try? await fixture.client.removeContainer(c.id, force: true)
                    }
                }
            }
            let applied = try fixture.reconcile("apply", "--yes")
            try #require(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
            let boxID = try #require(try await fixture.client.listContainers(all: true, filters: boxFilter).first?.id)
            func logs() async -> String {
                ((try? await fixture.client.containerLogs(boxID)) ?? []).map(\.text).joined()
            }
            let running = try await fixture.eventually(within: 30) {
                try await fixture.containers().values.filter { $0.state == "running" }.count == 2
            }
            let log1 = await logs()
            #expect(running, "the controller in the container converged the managed project\n\(log1)")

            let inspect = try await fixture.client.inspectContainer(boxID)
            let bindings = (inspect.networkSettings?.ports?["9464/tcp"] ?? nil) ?? []
            let port = try #require(bindings.compactMap(\.hostPort).first)
            let (body, _) = try await URLSession.shared.data(from: try #require(URL(string: "http://127.0.0.1:\(port)/readyz")))
            #expect(String(decoding: body, as: UTF8.self).contains("ready"))

            let victim = try #require(try await fixture.containers()[fixture.name("web", 1)]?.id)
            try await fixture.client.removeContainer(victim, force: true)
            let repaired = try await fixture.eventually(within: 20) {
                guard let c = try await fixture.containers()[fixture.name("web", 1)] else { return false }
                return c.id != victim && c.state == "running"
            }
            let log2 = await logs()
            #expect(repaired, "a removed replica is replaced\n\(log2)")

            _ = try await fixture.client.stopContainer(boxID, timeout: 30)
            let exit = try await fixture.client.inspectContainer(boxID).state?.exitCode
            let log3 = await logs()
            #expect(exit == 0, "SIGTERM drains and exits 0\n\(log3)")
            #expect(try await fixture.containers().values.filter { $0.state == "running" }.count == 2, "the managed containers keep running")
            // The controller's own project: its container, network and history.
            #expect(try fixture.reconcile("destroy", "--history").status == 0)
        }
    }

    @Test("a controller that finds an apply holding the lock waits for it, then takes over")
    func waitsForApply() async throws {
        try await ProjectFixture.run("ctl-wait") { fixture in
            try fixture.write(Self.sleeper.replacingOccurrences(of: "REPLICAS", with: "1"))
            // An apply's lock, held from another machine (so it is never taken for stale).
            let lock = "reconcile-lock-\(fixture.project)"
            _ = try await fixture.client.createVolume(
                VolumeCreateRequest(
                    name: lock,
                    labels: [
                        LabelKey.lock: fixture.project, LabelKey.project: fixture.project, "io.reconcile.lock.token": "t",
                        "io.reconcile.lock.host": "elsewhere", "io.reconcile.lock.pid": "1", "io.reconcile.lock.purpose": "apply",
                        LabelKey.lockHolder: "reconcile apply (ci@elsewhere, pid 1, since now)",
                    ]))
            let controller = try ControllerProcess(fixture)
            defer { controller.terminate() }
            let waiting = try await fixture.eventually(within: 10) { controller.log().contains("waiting for its holder") }
            #expect(waiting, "\(controller.log())")
            try await Task.sleep(for: .seconds(1))
            #expect(controller.process.isRunning)
            #expect(try await fixture.containers().isEmpty)

            try await fixture.client.removeVolume(lock)
            #expect(try await controller.waitRunning(fixture, service: "web", count: 1, throwing: false), "\(controller.log())")
        }
    }

    @Test("/metrics is Prometheus text and its counters move; /healthz and /status answer")
    func metrics() async throws {
        try await ProjectFixture.run("ctl-metrics") { fixture in
            try fixture.write(Self.sleeper.replacingOccurrences(of: "REPLICAS", with: "2"))
            let controller = try ControllerProcess(fixture)
            defer { controller.terminate() }
            try await controller.waitRunning(fixture, service: "web", count: 2)
            #expect(try controller.get("/healthz") == "ok\n")
            let status = try controller.get("/status")
            let object = try JSONSerialization.jsonObject(with: Data(status.utf8)) as? [String: Any]
            #expect(object?["project"] as? String == fixture.project)
            #expect((object?["services"] as? [[String: Any]])?.first?["running"] as? Int == 2)

            let first = try controller.get("/metrics")
            try Self.checkExposition(first)
            let passes = Self.sum(first, "reconcile_controller_passes_total")
            #expect(try Self.value(first, "reconcile_controller_replicas", ["service": "web", "state": "desired"]) == 2)

            try await fixture.client.killContainer(fixture.name("web", 1))
            let moved = try await fixture.eventually(within: 10) {
                let text = try controller.get("/metrics")
                let starts = try Self.value(text, "reconcile_controller_steps_total", ["action": "start", "result": "succeeded"]) ?? 0
                return Self.sum(text, "reconcile_controller_passes_total") > passes && starts >= 1
            }
            #expect(moved, "\((try? controller.get("/metrics")) ?? "")")
            try Self.checkExposition(try controller.get("/metrics"))
        }
    }

    // MARK: helpers

    /// Waits until the container runs again, started after `before` was inspected.
    func restarted(_ fixture: ProjectFixture, _ name: String, after before: ContainerInspect) async throws -> Bool {
        try await fixture.eventually(within: 10) {
            guard let now = try? await fixture.client.inspectContainer(name) else { return false }
            return now.state?.running == true && (now.id != before.id || now.state?.startedAt != before.state?.startedAt)
        }
    }

    func EngineLock_holder(_ fixture: ProjectFixture) async throws -> String? {
        let volumes = try await fixture.client.listVolumes(filters: .label(LabelKey.lock, fixture.project))
        return volumes.first?.name
    }

    /// Every line is a comment (`# HELP`, `# TYPE`) or `name{labels} value`.
    static func checkExposition(_ text: String) throws {
        let sample = try Regex(#"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? [-+]?([0-9.eE+-]+|NaN|\+Inf|-Inf)$"#)
        let comment = try Regex(#"^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*$"#)
        for line in text.split(separator: "\n") {
            #expect(line.wholeMatch(of: sample) != nil || line.wholeMatch(of: comment) != nil, "not Prometheus text: \(line)")
        }
    }

    /// The value of the sample `name` whose labels include `labels`.
    static func value(_ text: String, _ name: String, _ labels: [String: String] = [:]) throws -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, String(parts[0]).split(separator: "{").first.map(String.init) == name else { continue }
            if labels.allSatisfy({ line.contains("\($0.key)=\"\($0.value)\"") }) { return Double(parts[1]) }
        }
        return nil
    }

    static func sum(_ text: String, _ name: String) -> Double {
        text.split(separator: "\n").filter { $0.hasPrefix(name + "{") || $0.hasPrefix(name + " ") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
    }
}

/// A `reconcile controller` process with its log in a file (a pipe nobody reads would fill
/// and block it) and its endpoints on a port of its own.
final class ControllerProcess: @unchecked Sendable {
    let process = Process()
    let port: Int
    let logPath: String

    init(_ fixture: ProjectFixture, host: String? = nil, arguments: [String] = []) throws {
        port = Int.random(in: 20000...60000)
        logPath = fixture.directory.appendingPathComponent("controller-\(port).log").path
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.executableURL = URL(fileURLWithPath: ProjectFixture.binary)
        process.arguments =
            ["controller", "-f", fixture.manifestPath, "--host", host ?? fixture.host, "--listen", "127.0.0.1:\(port)", "--resync", "30s"]
            + arguments
        process.currentDirectoryURL = fixture.directory
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    func log() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func terminate() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(15)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// GET on the controller's endpoint; throws unless it answers 2xx.
    func get(_ path: String) throws -> String {
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-sf", "--max-time", "5", "http://127.0.0.1:\(port)\(path)"]
        let out = Pipe()
        curl.standardOutput = out
        curl.standardError = FileHandle.nullDevice
        try curl.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        curl.waitUntilExit()
        guard curl.terminationStatus == 0 else { throw CurlFailure(path: path, status: curl.terminationStatus) }
        return String(decoding: data, as: UTF8.self)
    }

    struct CurlFailure: Error { var path: String; var status: Int32 }

    /// Waits until `count` replicas of `service` run.
    @discardableResult
    func waitRunning(_ fixture: ProjectFixture, service: String, count: Int, within: Double = 30, throwing: Bool = true) async throws -> Bool {
        let ok = try await fixture.eventually(within: within) {
            let running = try await fixture.containers().filter { name, c in
                c.state == "running" && c.labels?[LabelKey.service] == service && !name.hasSuffix("-next")
            }
            return running.count == count
        }
        if !ok && throwing {
            Issue.record("\(count) replicas of \(service) not running\n\(log())")
            throw CurlFailure(path: "wait", status: -1)
        }
        return ok
    }
}

/// A unix-socket proxy the test can cut (every connection closed, nothing listening) and
/// restore, to stand in for an engine that goes away and comes back.
final class UnixProxy: @unchecked Sendable {
    let target: String
    let path: String
    private let lock = NSLock()
    private var listener: Int32 = -1
    private var open: Set<Int32> = []

    init(target: String, path: String) throws {
        self.target = target
        self.path = path
        try restore()
    }

    func restore() throws {
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = UnixProxy.address(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard fd >= 0, bound == 0, listen(fd, 64) == 0 else { throw ProxyError() }
        lock.withLock { listener = fd }
        Thread.detachNewThread { [self] in
            while true {
                let client = accept(fd, nil, nil)
                guard client >= 0 else { return }
                let upstream = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
                var address = UnixProxy.address(target)
                let connected = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
                }
                guard connected == 0 else {
                    Glibc.close(client)
                    Glibc.close(upstream)
                    continue
                }
                lock.withLock {
                    open.insert(client)
                    open.insert(upstream)
                }
                Thread.detachNewThread { UnixProxy.pump(from: client, to: upstream) }
                Thread.detachNewThread { UnixProxy.pump(from: upstream, to: client) }
            }
        }
    }

    /// Closes the listener and every connection: requests are refused, streams break.
    func cut() {
        lock.withLock {
            if listener >= 0 {
                shutdown(listener, Int32(SHUT_RDWR))
                Glibc.close(listener)
                listener = -1
            }
            for fd in open { shutdown(fd, Int32(SHUT_RDWR)) }
            open.removeAll()
        }
        unlink(path)
    }

    func close() { cut() }

    static func pump(from: Int32, to: Int32) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(from, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            var offset = 0
            while offset < n {
                let w = buffer.withUnsafeBytes { write(to, $0.baseAddress.map { $0 + offset }, n - offset) }
                if w <= 0 { break }
                offset += w
            }
            if offset < n { break }
        }
        shutdown(from, Int32(SHUT_RDWR))
        shutdown(to, Int32(SHUT_RDWR))
    }

    static func address(_ path: String) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8.prefix(raw.count - 1))
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return address
    }

    struct ProxyError: Error {}
}
