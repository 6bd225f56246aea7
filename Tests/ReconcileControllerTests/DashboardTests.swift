import DockerEngine
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import ReconcileCommands
import ReconcileCore
import ReconcileManifest
import ReconcileRuntime
import ReconcileTestSupport
import Synchronization
import Testing

@testable import ReconcileController

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// A controller on the fake engine whose journal hears its log, converged, with two
/// revisions in history (the second one failed validation), for the dashboard's routes.
func dashboardController(engine: FakeEngine, capacity: Int = 2000) async throws -> (Controller, ControllerJournal) {
    await engine.addImage("local/worker:1")
    let journal = ControllerJournal(capacity: capacity, maxStreams: 2)
    let initial = LoadedManifest(project: workerProject(), warnings: [], files: [], digest: "initial")
    let controller = Controller(
        client: engine, initial: initial,
        configuration: ControllerConfiguration(paths: [], resync: 3600, manifestPoll: 0.02, parallelism: 4, gateTimeout: 5),
        load: { initial }, logger: Logger(label: "test", factory: { _ in TimelineLogHandler(journal: journal) }),
        observer: Observer(client: engine, gpuDiscovery: GPUDiscovery(probe: nil, environment: [:])), journal: journal)
    return (controller, journal)
}

func recordRevisions(_ engine: FakeEngine) async throws {
    let history = History(client: engine, project: "demo")
    func validation(_ accuracy: Double, _ p99: Double) -> [ServiceValidation] {
        [
            ServiceValidation(
                service: "worker", mode: .endpoint, seconds: 1.5,
                runs: [
                    .init(
                        target: "replica 1", passed: accuracy >= 0.9,
                        checks: [.init(name: "min_accuracy", threshold: 0.9, value: accuracy, passed: accuracy >= 0.9)],
                        figures: ["accuracy": accuracy, "p50_ms": p99 / 3, "p99_ms": p99, "requests_per_second": 120])
                ], onFailure: .rollback)
        ]
    }
    for (index, (accuracy, outcome)) in [(0.95, Revision.Outcome.applied), (0.5, .rolledBack), (0.97, .applied)].enumerated() {
        var project = workerProject(env: ["GREETING": "hello \(index)"])
        project.services[0].secretEnv = ["GREETING"]
        try await history.append { number in
            Revision(
                number: number, project: "demo", time: 1_800_000_000 + Double(index) * 60, user: "ada", host: "lab", command: "apply",
                services: [.init(name: "worker", image: "local/worker:1", imageID: "sha256:" + String(repeating: "a", count: 64), configHash: "c", replicas: 2)],
                validations: validation(accuracy, 10 + Double(index)), outcome: outcome,
                message: outcome == .rolledBack ? "worker: min_accuracy 0.5 against 0.9" : nil, desired: project)
        }
    }
}

/// Parses `text` as XML; the error, or nil when it is well-formed.
func xmlError(_ text: String) -> String? {
    let parser = XMLParser(data: Data(text.utf8))
    if parser.parse() { return nil }
    return parser.parserError.map { "\($0) at line \(parser.lineNumber), column \(parser.columnNumber)" } ?? "not well-formed"
}

func body(_ response: TestResponse) -> String { String(buffer: response.body) }

let pagePaths = ["/", "/revisions", "/revisions?page=1", "/revisions/1", "/revisions/3", "/revisions/1/diff/3", "/plan", "/timeline", "/figures"]
let apiPaths = ["/api/status", "/api/controller", "/api/history", "/api/history/2", "/api/diff/1/3", "/api/plan", "/api/timeline"]

@Suite("Dashboard routes against the fake engine", .serialized)
struct DashboardTests {
    func app(_ controller: Controller, access: DashboardAccess = DashboardAccess()) throws -> some ApplicationProtocol {
        try buildControllerApplication(
            controller: controller, address: ListenAddress(), status: { _, _, _ in "{}" }, logger: quietLogger, dashboard: .cli, access: access)
    }

    @Test("every page is well-formed, has the security headers, and says state in words and symbols")
    func pages() async throws {
        let engine = FakeEngine()
        let (controller, _) = try await dashboardController(engine: engine)
        try await recordRevisions(engine)
        try await whileRunning(controller) {
            #expect(await eventually { controller.status().ready })
            // The controller records what it converged to as revision 4.
            #expect(await eventually { (try? await History(client: engine, project: "demo").list().revisions.count) == 4 })
            try await app(controller).test(.router) { client in
                for path in pagePaths {
                    try await client.execute(uri: path, method: .get) { response in
                        #expect(response.status == .ok, "\(path): \(response.status)")
                        #expect(response.headers[.contentType] == "text/html; charset=utf-8", "\(path)")
                        #expect(response.headers[.contentSecurityPolicy]?.contains("default-src 'none'") == true, "\(path)")
                        let text = body(response)
                        #expect(xmlError(text) == nil, "\(path): \(xmlError(text) ?? "")\n\(text)")
                        #expect(!text.contains("http://") && !text.contains("https://") || text.contains("http://www.w3.org/2000/svg"), "\(path) names an external URL")
                        #expect(!text.contains("style=\"") && !text.contains("<script>"), "\(path) has inline style or script")
                        #expect(!text.contains("hello 0") && !text.contains("hello 2"), "\(path) shows a secret value")
                    }
                }
                let overview = try await client.execute(uri: "/", method: .get) { body($0) }
                #expect(overview.contains("✓ ready"))
                #expect(overview.contains("demo-worker-1") && overview.contains("▶ running") && overview.contains("✓ up to date"))
                #expect(overview.contains("<a href=\"/revisions/4\">revision 4</a>"))
                let revisions = try await client.execute(uri: "/revisions", method: .get) { body($0) }
                #expect(revisions.contains("★ revision 4") && revisions.contains("↺ rolled back") && revisions.contains("/revisions/1/diff/4"))
                let order = ["revision-4", "revision-3", "revision-2", "revision-1"].compactMap { revisions.range(of: "id=\"\($0)\"")?.lowerBound }
                #expect(order.count == 4 && order == order.sorted(), "newest first")
                let diff = try await client.execute(uri: "/revisions/1/diff/3", method: .get) { body($0) }
                #expect(diff.contains("environment.GREETING: (sensitive) → (sensitive)") || diff.contains("deploy the same state"))
                let figures = try await client.execute(uri: "/figures", method: .get) { body($0) }
                #expect(figures.contains("<svg") && figures.contains("worker: accuracy by revision") && figures.contains("threshold 0.9"))
                #expect(figures.contains("<title id=") && figures.contains("<desc id="))
                let timeline = try await client.execute(uri: "/timeline", method: .get) { body($0) }
                #expect(timeline.contains("Events since the controller started") && timeline.contains("controller started"))
                let plan = try await client.execute(uri: "/plan", method: .get) { body($0) }
                #expect(plan.contains("✓ Nothing to do"))
            }
        }
    }

    @Test("each /api route answers the JSON the matching command prints")
    func api() async throws {
        let engine = FakeEngine()
        let (controller, journal) = try await dashboardController(engine: engine)
        try await recordRevisions(engine)
        try await whileRunning(controller) {
            #expect(await eventually { controller.status().ready && journal.lastObservation != nil })
            #expect(await eventually { (try? await History(client: engine, project: "demo").list().revisions.count) == 4 })
            let revisions = try await History(client: engine, project: "demo").list().revisions
            let observation = try #require(journal.lastObservation)
            let expected: [String: String] = [
                "/api/history": try DashboardJSON.cli.history("demo", Revision.current(revisions)?.number, revisions),
                "/api/history/2": try DashboardJSON.cli.revision(revisions[1]),
                "/api/diff/1/3": try DashboardJSON.cli.diff(RevisionDiff(revisions[0], revisions[2])),
            ]
            _ = observation
            try await app(controller).test(.router) { client in
                for (path, json) in expected {
                    try await client.execute(uri: path, method: .get) { response in
                        #expect(response.status == .ok, "\(path)")
                        #expect(body(response) == json + "\n", "\(path)")
                    }
                }
                // The plan is made from the controller's last observation, which a pass may renew
                // between two reads: compare with the plan of the observation it holds then.
                var samePlan = false
                for _ in 0..<20 where !samePlan {
                    let served = try await client.execute(uri: "/api/plan", method: .get) { body($0) }
                    let now = try #require(journal.lastObservation)
                    let json = try DashboardJSON.cli.plan(try plan(desired: workerProject(), observed: now.observed, options: PlanOptions(gateTimeout: 5)))
                    samePlan = served == json + "\n"
                    if !samePlan { try await Task.sleep(for: .milliseconds(50)) }
                }
                #expect(samePlan, "/api/plan is the plan of the manifest against the controller's last observation")
                // The controller may observe again between two reads: compare with the observation it serves.
                var same = false
                for _ in 0..<20 where !same {
                    let served = try await client.execute(uri: "/api/status", method: .get) { body($0) }
                    let last = try #require(journal.lastObservation)
                    same = served == (try DashboardJSON.cli.status(last.project, last.observed)) + "\n"
                    if !same { try await Task.sleep(for: .milliseconds(50)) }
                }
                #expect(same, "/api/status")
                _ = observation
                for path in apiPaths {
                    try await client.execute(uri: path, method: .get) { response in
                        #expect(response.status == .ok, "\(path)")
                        #expect(response.headers[.contentType] == "application/json", "\(path)")
                        #expect((try? JSONSerialization.jsonObject(with: Data(body(response).utf8))) != nil, "\(path)")
                    }
                }
                try await client.execute(uri: "/api/history/99", method: .get) { #expect($0.status == .notFound) }
                try await client.execute(uri: "/revisions/x", method: .get) { #expect($0.status == .notFound) }
                try await client.execute(uri: "/revisions/1/diff/99", method: .get) { #expect($0.status == .notFound) }
            }
        }
    }

    @Test("read-only by default: anything but GET and HEAD is 405, and there are no actions")
    func readOnly() async throws {
        let engine = FakeEngine()
        let (controller, _) = try await dashboardController(engine: engine)
        try await app(controller).test(.router) { client in
            for method in [HTTPRequest.Method.post, .put, .delete, .patch, .options] {
                for path in ["/", "/api/status", "/actions/pause", "/status", "/nowhere"] {
                    try await client.execute(uri: path, method: method) { response in
                        #expect(response.status == .methodNotAllowed, "\(method) \(path)")
                        #expect(response.headers[.allow] == "GET, HEAD")
                    }
                }
            }
            try await client.execute(uri: "/", method: .head) { #expect($0.status == .ok) }
            // HEAD of the live-update stream holds no slot.
            for _ in 0..<5 { try await client.execute(uri: "/events", method: .head) { #expect($0.status == .ok) } }
            #expect(controller.journal.openStreams == 0)
            try await client.execute(uri: "/actions/pause", method: .get) { #expect($0.status == .notFound) }
        }
    }

    @Test("with a token: 401 without it, actions need it and a same-origin request, and pause holds")
    func token() async throws {
        let engine = FakeEngine()
        let (controller, _) = try await dashboardController(engine: engine)
        let token = "0123456789abcdef0123"
        let bearer: HTTPFields = [.authorization: "Bearer \(token)"]
        let basic: HTTPFields = [.authorization: "Basic " + Data("anyone:\(token)".utf8).base64EncodedString()]
        try await whileRunning(controller) {
            #expect(await eventually { controller.status().ready })
            try await app(controller, access: DashboardAccess(token: token)).test(.router) { client in
                for path in ["/", "/api/status", "/status", "/metrics", "/events"] {
                    try await client.execute(uri: path, method: .get) { response in
                        #expect(response.status == .unauthorized, "\(path)")
                        #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Basic") == true)
                    }
                    try await client.execute(uri: path, method: .get, headers: [.authorization: "Bearer wrong-token-0000000"]) {
                        #expect($0.status == .unauthorized, "\(path)")
                    }
                }
                try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
                try await client.execute(uri: "/", method: .get, headers: bearer) { #expect($0.status == .ok) }
                try await client.execute(uri: "/", method: .get, headers: basic) { #expect($0.status == .ok) }
                // The confirmation page comes first, then a same-origin POST.
                try await client.execute(uri: "/actions/pause", method: .get, headers: bearer) { response in
                    #expect(response.status == .ok)
                    #expect(body(response).contains("<form method=\"post\" action=\"/actions/pause\">"))
                }
                var crossSite = bearer
                crossSite[.origin] = "http://evil.example"
                try await client.execute(uri: "/actions/pause", method: .post, headers: crossSite) { #expect($0.status == .forbidden) }
                try await client.execute(uri: "/actions/pause", method: .post, headers: bearer) { #expect($0.status == .forbidden) }
                var hidden = bearer
                hidden[.origin] = "null"
                try await client.execute(uri: "/actions/pause", method: .post, headers: hidden) { #expect($0.status == .forbidden) }
                hidden[HTTPField.Name("Sec-Fetch-Site")!] = "cross-site"
                try await client.execute(uri: "/actions/pause", method: .post, headers: hidden) { #expect($0.status == .forbidden) }
                #expect(!controller.isPaused)
                // A browser hides the origin (`null`) under some referrer policies; Sec-Fetch-Site still says same-origin.
                hidden[HTTPField.Name("Sec-Fetch-Site")!] = "same-origin"
                try await client.execute(uri: "/actions/pause", method: .post, headers: hidden) { #expect($0.status == .seeOther) }
                #expect(controller.isPaused)
                controller.setPaused(false)
                var sameOrigin = bearer
                // The test client sends every request to `localhost`.
                sameOrigin[.origin] = "http://localhost"
                try await client.execute(uri: "/actions/pause", method: .post, headers: sameOrigin) { response in
                    #expect(response.status == .seeOther)
                }
                #expect(controller.isPaused)
                #expect(controller.status().paused)
                // Paused: a killed replica stays down.
                try await engine.removeContainer("demo-worker-1", force: true, removeVolumes: false)
                try await Task.sleep(for: .milliseconds(300))
                #expect(await runningWorkers(engine) == ["demo-worker-2"])
                try await client.execute(uri: "/actions/resume", method: .post, headers: sameOrigin) { #expect($0.status == .seeOther) }
                #expect(await eventually { await runningWorkers(engine) == ["demo-worker-1", "demo-worker-2"] })
                try await client.execute(uri: "/", method: .put, headers: sameOrigin) { #expect($0.status == .methodNotAllowed) }
            }
        }
    }

    @Test("a rollback from the page shows its plan, then holds the revision until the manifest changes")
    func rollbackHolds() async throws {
        let engine = FakeEngine()
        await engine.addImage("local/worker:1")
        let token = "0123456789abcdef0123"
        let manifest = Mutex(workerProject(env: ["GREETING": "v1"]))
        let digest = Mutex("v1")
        let journal = ControllerJournal()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("dashboard-rollback-\(UUID().uuidString).yaml").path
        try "v1".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        // The watcher sees the file change (its size does); the loader returns the project set here.
        func edit(_ version: String, filler: String) throws {
            manifest.withLock { $0 = workerProject(env: ["GREETING": version]) }
            digest.withLock { $0 = version }
            try filler.write(toFile: file, atomically: true, encoding: .utf8)
        }
        let controller = Controller(
            client: engine, initial: LoadedManifest(project: manifest.withLock { $0 }, warnings: [], files: [], digest: "v1"),
            configuration: ControllerConfiguration(paths: [file], resync: 0.2, manifestPoll: 0.02, parallelism: 4, gateTimeout: 5),
            load: { LoadedManifest(project: manifest.withLock { $0 }, warnings: [], files: [], digest: digest.withLock { $0 }) },
            logger: quietLogger, observer: Observer(client: engine, gpuDiscovery: GPUDiscovery(probe: nil, environment: [:])), journal: journal)
        let headers: HTTPFields = [
            .authorization: "Bearer \(token)", .origin: "http://localhost", .contentType: "application/x-www-form-urlencoded",
        ]
        func greeting() async throws -> [String] {
            var out: [String] = []
            for name in await runningWorkers(engine) {
                let inspect = try await engine.inspectContainer(name)
                out.append((inspect.config?.env ?? []).first { $0.hasPrefix("GREETING=") } ?? "")
            }
            return out
        }
        try await whileRunning(controller) {
            #expect(await eventually { controller.status().ready })
            #expect(await eventually { (try? await History(client: engine, project: "demo").list().revisions.count) == 1 })
            // An edit: revision 2.
            try edit("v2", filler: "v2 edit")
            #expect(await eventually { (try? await greeting()) == ["GREETING=v2", "GREETING=v2"] })
            #expect(await eventually { (try? await History(client: engine, project: "demo").list().revisions.count) == 2 })
            try await app(controller, access: DashboardAccess(token: token)).test(.router) { client in
                try await client.execute(uri: "/actions/rollback/1", method: .get, headers: headers) { response in
                    #expect(response.status == .ok)
                    let text = body(response)
                    #expect(text.contains("recreate") && text.contains("environment.GREETING"), "\(text)")
                    #expect(xmlError(text) == nil)
                }
                try await client.execute(uri: "/actions/rollback/1", method: .post, headers: headers) { #expect($0.status == .seeOther) }
            }
            #expect(await eventually { (try? await greeting()) == ["GREETING=v1", "GREETING=v1"] })
            #expect(controller.heldRevision == 1)
            // Resync passes come and go; the revision holds.
            let passes = controller.status().passes
            #expect(await eventually { controller.status().passes >= passes + 3 })
            #expect(try await greeting() == ["GREETING=v1", "GREETING=v1"])
            let revisions = try await History(client: engine, project: "demo").list().revisions
            #expect(revisions.last?.command == "rollback to 1" && revisions.last?.rollbackOf == 1)
            // The manifest changes: it is in force again.
            try edit("v3", filler: "v3 edit, longer")
            #expect(await eventually { (try? await greeting()) == ["GREETING=v3", "GREETING=v3"] })
            #expect(controller.heldRevision == nil)
        }
    }

    @Test("page views cost no engine call: /status and the overview from the last observation, history read once")
    func noEngineCallPerRequest() async throws {
        let engine = FakeEngine()
        let (controller, _) = try await dashboardController(engine: engine)
        try await recordRevisions(engine)
        try await whileRunning(controller) {
            #expect(await eventually { controller.status().ready })
            #expect(await eventually { (try? await History(client: engine, project: "demo").list().revisions.count) == 4 })
            // The controller's own passes are done (resync is an hour away) once its calls stop growing.
            var last = -1
            #expect(await eventually {
                let now = await engine.calls.count
                defer { last = now }
                if now == last { return true }
                try? await Task.sleep(for: .milliseconds(200))
                return false
            })
            try await app(controller).test(.router) { client in
                // The first view reads history once; revisions never change, so later views read nothing.
                _ = try await client.execute(uri: "/", method: .get)
                let before = await engine.calls.count
                let paths = ["/status", "/api/status", "/revisions/2", "/revisions/1/diff/3", "/figures", "/plan", "/timeline", "/api/history", "/api/plan"]
                for _ in 0..<20 {
                    for path in paths {
                        try await client.execute(uri: path, method: .get) { #expect($0.status == .ok, "\(path)") }
                    }
                }
                let calls = await engine.calls.count - before
                #expect(calls == 0, "\(calls) engine calls for \(20 * paths.count) page views")
            }
        }
    }

    @Test("the timeline keeps the newest events in a bounded ring")
    func ring() {
        let journal = ControllerJournal(capacity: 1000)
        for index in 1...2500 { journal.record(level: .info, message: "event", metadata: ["n": "\(index)"]) }
        let events = journal.events
        #expect(events.count == 1000)
        #expect(events.first?.sequence == 1501 && events.last?.sequence == 2500)
        #expect(events.map(\.sequence) == Array(1501...2500))
    }

    @Test("live-update streams are bounded, and each change reaches every open one")
    func streams() async throws {
        let journal = ControllerJournal(maxStreams: 2)
        let one = try #require(journal.subscribe())
        let two = try #require(journal.subscribe())
        #expect(journal.subscribe() == nil)
        journal.record(level: .info, message: "pass finished", metadata: [:])
        var first = one.changes.makeAsyncIterator()
        var second = two.changes.makeAsyncIterator()
        #expect(await first.next() == 1)
        #expect(await second.next() == 1)
        journal.unsubscribe(one.id)
        #expect(journal.openStreams == 1)
        #expect(journal.subscribe() != nil)
        journal.closeStreams()
        #expect(journal.openStreams == 0)
    }
}

@Suite("Dashboard pending plan")
struct DashboardPlanTests {
    @Test("a broken edit shows its diagnostics on /plan, and /api/plan answers 422 with the error JSON apply would print")
    func brokenEdit() async throws {
        let engine = FakeEngine()
        await engine.addImage("local/worker:1")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dashboard-plan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("compose.yaml").path
        try "name: demo\nservices:\n  worker:\n    image: local/worker:1\n    deploy: {replicas: 2}\n".write(toFile: path, atomically: true, encoding: .utf8)
        let load: @Sendable () throws -> LoadedManifest = { try ManifestLoader(environment: [:]).load(paths: [path]) }
        let initial = try load()
        let controller = Controller(
            client: engine, initial: initial,
            configuration: ControllerConfiguration(paths: [path], resync: 3600, manifestPoll: 0.02, parallelism: 4, gateTimeout: 5),
            load: load, logger: quietLogger, observer: Observer(client: engine, gpuDiscovery: GPUDiscovery(probe: nil, environment: [:])))
        let app = try buildControllerApplication(
            controller: controller, address: ListenAddress(), status: { _, _, _ in "{}" }, logger: quietLogger, dashboard: .cli)
        try await whileRunning(controller) {
            #expect(await eventually { controller.status().ready })
            try "name: demo\nservices:\n  worker:\n    image: local/worker:1\n    replicas_typo: 3\n".write(toFile: path, atomically: true, encoding: .utf8)
            #expect(await eventually { !controller.status().manifestValid })
            try await app.test(.router) { client in
                try await client.execute(uri: "/plan", method: .get) { response in
                    let text = body(response)
                    #expect(response.status == .ok)
                    #expect(xmlError(text) == nil)
                    #expect(text.contains("✗ The manifest on disk does not load: the manifest has 1 error"), "\(text)")
                    #expect(text.contains("compose.yaml:5:") && text.contains("replicas_typo"), "\(text)")
                }
                try await client.execute(uri: "/api/plan", method: .get) { response in
                    #expect(response.status == .unprocessableContent)
                    let expected = DashboardJSON.cli.error(try #require(Result { try load() }.failure))
                    #expect(body(response) == expected + "\n")
                }
                let overview = try await client.execute(uri: "/", method: .get) { body($0) }
                #expect(overview.contains("✗ invalid, the last good one stays in force"))
            }
        }
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
