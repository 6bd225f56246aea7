import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ReconcileCore
import ReconcileManifest
import ReconcileRuntime
import Synchronization

/// Who may reach the controller's pages and what they may do.
public struct DashboardAccess: Sendable {
    /// When set, every route but `/healthz` and `/readyz` needs it (`Authorization: Bearer
    /// TOKEN`, or HTTP Basic with TOKEN as the password, which a browser asks for), and the
    /// actions (pause, resume, roll back) exist. Without it the server is read-only.
    public var token: String?
    /// Seconds between heartbeats on an idle live-update stream.
    public var heartbeat: Double

    public init(token: String? = nil, heartbeat: Double = 15) {
        self.token = token
        self.heartbeat = heartbeat
    }

    public var actions: Bool { token != nil }

    /// The header every answer carries: nothing from elsewhere, no inline script or style.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
}

/// The dashboard: pages rendered on the server from the CLI's JSON, that JSON under `/api`,
/// server-sent events for live updates, and the actions when a token allows them.
struct Dashboard: Sendable {
    let controller: Controller
    let json: DashboardJSON
    let access: DashboardAccess
    let pages: DashboardPages
    let cache = HistoryCache()
    /// The status JSON of the last observation: rendered once per observation, whatever the page views.
    let statusCache = StatusCache()

    var journal: ControllerJournal { controller.journal }

    init(controller: Controller, json: DashboardJSON, access: DashboardAccess) throws {
        self.controller = controller
        self.json = json
        self.access = access
        pages = try DashboardPages(project: controller.projectName)
    }

    func register(on router: Router<BasicRequestContext>) {
        router.get("/") { _, _ in await html { try await overview() } }
        router.get("/revisions") { request, _ in
            let page = request.uri.queryParameters.get("page", as: Int.self) ?? 1
            return await html {
                let (revisions, current) = try await history()
                return try pages.revisions(history: .init(project: controller.projectName, current: current, revisions: revisions), page: page)
            }
        }
        // One parameter name for one position: the router refuses `:n` beside `:a`.
        router.get("/revisions/:a") { _, context in
            guard let n = context.parameters.get("a", as: Int.self) else { return notFound("no such revision") }
            return await html {
                let (revisions, current) = try await history()
                guard let revision = revisions.first(where: { $0.number == n }) else { return nil }
                return try pages.revision(revisionJSON: try json.revision(revision), current: current, actions: access.actions)
            }
        }
        router.get("/revisions/:a/diff/:b") { _, context in
            guard let a = context.parameters.get("a", as: Int.self), let b = context.parameters.get("b", as: Int.self) else {
                return notFound("no such revisions")
            }
            return await html {
                guard let diff = try await diff(a, b) else { return nil }
                return try pages.diff(diffJSON: try json.diff(diff))
            }
        }
        router.get("/plan") { _, _ in
            await html {
                let generation = journal.generation
                let (plan, failure) = await pendingPlan()
                return try pages.plan(planJSON: plan, failureJSON: failure, generation: generation)
            }
        }
        router.get("/timeline") { _, _ in
            await html { pages.timeline(journal.events, journal: journal, generation: journal.generation) }
        }
        router.get("/figures") { request, _ in
            let all = request.uri.queryParameters.get("revisions") == "all"
            return await html {
                let (revisions, current) = try await history()
                return try Figures.page(
                    pages, history: .init(project: controller.projectName, current: current, revisions: revisions),
                    shown: all ? nil : Figures.defaultShown)
            }
        }
        router.get("/events") { request, _ in events(head: request.method == .head) }
        router.get("/static/dashboard.css") { _, _ in
            text(DashboardTemplates.css, type: "text/css; charset=utf-8", cache: true)
        }
        router.get("/static/live.js") { _, _ in
            text(DashboardTemplates.liveScript, type: "text/javascript; charset=utf-8", cache: true)
        }

        router.get("/api/status") { _, _ in
            guard let observation = journal.lastObservation else {
                return text("no observation yet: the controller's first pass has not observed the engine\n", status: .serviceUnavailable)
            }
            return apiJSON { try statusJSON(observation) }
        }
        router.get("/api/controller") { _, _ in apiJSON { try Self.encode(controller.status()) } }
        router.get("/api/history") { _, _ in await apiJSONAsync { try await historyJSON() } }
        router.get("/api/history/:n") { _, context in
            guard let n = context.parameters.get("n", as: Int.self) else { return notFound("no such revision") }
            return await apiJSONAsync {
                guard let revision = try await history().revisions.first(where: { $0.number == n }) else { return nil }
                return try json.revision(revision)
            }
        }
        router.get("/api/diff/:a/:b") { _, context in
            guard let a = context.parameters.get("a", as: Int.self), let b = context.parameters.get("b", as: Int.self) else {
                return notFound("no such revisions")
            }
            return await apiJSONAsync { try await diff(a, b).map { try json.diff($0) } }
        }
        router.get("/api/plan") { _, _ in
            let (plan, failure) = await pendingPlan()
            if let plan { return text(plan + "\n", type: "application/json") }
            return text((failure ?? "{}") + "\n", status: .unprocessableContent, type: "application/json")
        }
        router.get("/api/timeline") { _, _ in apiJSON { try Self.encode(journal.events) } }

        guard access.actions else { return }
        registerActions(on: router)
    }

    // MARK: data

    /// Revisions oldest first and the current one. History changes only through this
    /// controller while it holds the project's lock, so it is read again only after the
    /// controller wrote it (or after a while, for a history someone removed by hand).
    func history() async throws -> (revisions: [Revision], current: Int?) {
        let revisions = try await cache.revisions(generation: journal.historyGeneration) {
            try await History(client: controller.client, project: controller.projectName).list().revisions
        }
        return (revisions, Revision.current(revisions)?.number)
    }

    func statusJSON(_ observation: ControllerJournal.Observation) throws -> String {
        if let hit = statusCache.entry.withLock({ $0 }), hit.number == observation.number { return hit.json }
        let text = try json.status(observation.project, observation.observed)
        statusCache.entry.withLock { $0 = (observation.number, text) }
        return text
    }

    func historyJSON() async throws -> String {
        let (revisions, current) = try await history()
        return try json.history(controller.projectName, current, revisions)
    }

    func diff(_ a: Int, _ b: Int) async throws -> RevisionDiff? {
        let revisions = try await history().revisions
        guard let from = revisions.first(where: { $0.number == a }), let to = revisions.first(where: { $0.number == b }) else { return nil }
        return RevisionDiff(from, to)
    }

    /// The plan of the manifest on disk against the engine: the controller's last observation
    /// when the files are the ones in force, else a fresh one. Or the failure, as JSON.
    func pendingPlan() async -> (plan: String?, failure: String?) {
        do {
            let loaded = try controller.load()
            guard loaded.project.name == controller.projectName else {
                throw DashboardError(
                    "the project name changed from \(controller.projectName) to \(loaded.project.name): a controller keeps one project")
            }
            let observed: ObservedState
            if let last = journal.lastObservation, controller.status().manifestDigest == loaded.digest {
                observed = last.observed
            } else {
                observed = try await controller.observer.observe(project: loaded.project)
            }
            let plan = try ReconcileCore.plan(
                desired: loaded.project, observed: observed,
                options: PlanOptions(
                    prune: controller.configuration.prune, gateTimeout: controller.configuration.gateTimeout,
                    autoscale: controller.decisionsInForce()))
            return (try json.plan(plan), nil)
        } catch {
            return (nil, json.error(error))
        }
    }

    func overview() async throws -> String {
        let generation = journal.generation
        let observation = journal.lastObservation
        let status = controller.status()
        var statusJSON: String?
        var statusError = "the controller's first pass has not observed the engine yet"
        if let observation {
            do { statusJSON = try self.statusJSON(observation) } catch { statusError = "\(error)" }
        }
        let current = try? await history().current
        return try pages.overview(
            statusJSON: statusJSON, statusError: statusError, controller: status, observedAt: observation?.time, current: current ?? nil,
            generation: generation, actions: access.actions)
    }

    // MARK: live updates

    /// `text/event-stream`: a `change` event whenever the journal changes (the page fetches
    /// itself again), a comment line as heartbeat, at most `journal.maxStreams` at once.
    func events(head: Bool) -> Response {
        let headers: HTTPFields = [.contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-store"]
        // A HEAD request's body is never written: it must hold no slot.
        if head { return Response(status: .ok, headers: headers) }
        guard let subscription = journal.subscribe() else {
            return text(
                "too many live-update clients (at most \(journal.maxStreams)); pages still work without them\n", status: .serviceUnavailable,
                extra: [.retryAfter: "30"])
        }
        let (id, changes) = subscription
        let journal = journal
        let heartbeat = access.heartbeat
        let body = ResponseBody { writer in
            let (lines, out) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(16))
            let feeder = Task {
                for await generation in changes { out.yield("event: change\ndata: \(generation)\n\n") }
                out.finish()
            }
            let beat = Task {
                while !Task.isCancelled {
                    do { try await Task.sleep(for: .seconds(heartbeat)) } catch { return }
                    out.yield(": heartbeat\n\n")
                }
            }
            defer {
                feeder.cancel()
                beat.cancel()
                journal.unsubscribe(id)
            }
            out.yield("retry: 1000\nevent: hello\ndata: \(journal.generation)\n\n")
            for await line in lines { try await writer.write(ByteBuffer(string: line)) }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    // MARK: actions

    func registerActions(on router: Router<BasicRequestContext>) {
        router.get("/actions/pause") { _, _ in
            page(
                pages.confirm(
                    heading: "Pause the controller", explanation: "Paused, the controller goes on observing (these pages stay current) but repairs no drift and applies no edit until resumed. Nothing is stopped.",
                    plan: nil, action: "/actions/pause", button: "Pause", api: "/api/controller"))
        }
        router.post("/actions/pause") { _, _ in
            controller.setPaused(true)
            return seeOther("/")
        }
        router.get("/actions/resume") { _, _ in
            let (plan, _) = await pendingPlan()
            let text = try? plan.map { PlanText.render(try DashboardData.decode(Plan.self, $0)) }
            return page(
                pages.confirm(
                    heading: "Resume the controller", explanation: "Resumed, the controller carries out the pending plan at once:", plan: text ?? nil,
                    action: "/actions/resume", button: "Resume", api: "/api/plan"))
        }
        router.post("/actions/resume") { _, _ in
            controller.setPaused(false)
            return seeOther("/")
        }
        router.get("/actions/rollback/:n") { _, context in
            guard let n = context.parameters.get("n", as: Int.self) else { return notFound("no such revision") }
            return await html {
                guard let plan = try await rollback(to: n)?.1 else { return nil }
                return pages.confirm(
                    heading: "Roll back to revision \(n)",
                    explanation: "The controller puts revision \(n) back with the image ids it ran, and keeps it in force until the manifest files change. It would carry out this plan:",
                    plan: PlanText.render(plan), action: "/actions/rollback/\(n)", button: "Roll back to revision \(n)", api: "/api/history/\(n)")
            }
        }
        router.post("/actions/rollback/:n") { _, context in
            guard let n = context.parameters.get("n", as: Int.self) else { return notFound("no such revision") }
            do {
                guard let desired = try await rollback(to: n)?.0 else { return notFound("no revision \(n) in history") }
                controller.hold(n, as: desired)
                return seeOther("/")
            } catch {
                return page(pages.message("Cannot roll back", "\(error)"), status: .conflict)
            }
        }
    }

    /// The state revision `n` ran (secret values from the project in force, images pinned to
    /// the ids it ran) and the plan to it from what runs now; nil when there is no such revision.
    func rollback(to n: Int) async throws -> (Project, Plan)? {
        guard let target = try await history().revisions.first(where: { $0.number == n }) else { return nil }
        let desired = try target.desired.restoring(secretsFrom: controller.projectInForce, pinning: target.services)
        let observed = try await controller.observer.observe(project: desired)
        let plan = try ReconcileCore.plan(
            desired: desired, observed: observed,
            options: PlanOptions(
                prune: controller.configuration.prune, preferredGPUs: target.gpuPlacement, gateTimeout: controller.configuration.gateTimeout))
        return (desired, plan)
    }

    // MARK: responses

    func html(_ make: () async throws -> String?) async -> Response {
        do {
            guard let body = try await make() else { return notFound("not found") }
            return page(body)
        } catch {
            return page(pages.message("Cannot show this page", "\(error)"), status: .serviceUnavailable)
        }
    }

    func page(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
        text(body, status: status, type: "text/html; charset=utf-8")
    }

    func notFound(_ message: String) -> Response {
        page(pages.message("Not found", message), status: .notFound)
    }

    func apiJSON(_ make: () throws -> String) -> Response {
        do { return text(try make() + "\n", type: "application/json") } catch {
            return text(json.error(error) + "\n", status: .serviceUnavailable, type: "application/json")
        }
    }

    func apiJSONAsync(_ make: () async throws -> String?) async -> Response {
        do {
            guard let body = try await make() else { return text("{\"error\" : \"not found\"}\n", status: .notFound, type: "application/json") }
            return text(body + "\n", type: "application/json")
        } catch {
            return text(json.error(error) + "\n", status: .serviceUnavailable, type: "application/json")
        }
    }

    static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

func text(
    _ body: String, status: HTTPResponse.Status = .ok, type: String = "text/plain; charset=utf-8", cache: Bool = false,
    extra: HTTPFields = [:]
) -> Response {
    var headers: HTTPFields = [.contentType: type, .cacheControl: cache ? "max-age=300" : "no-store"]
    headers.append(contentsOf: extra)
    return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
}

func seeOther(_ location: String) -> Response {
    Response(status: .seeOther, headers: [.location: location, .contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: "see \(location)\n")))
}

struct DashboardError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

final class StatusCache: Sendable {
    let entry = Mutex<(number: Int, json: String)?>(nil)
}

/// Revisions as last read, until the controller writes history again or 30 s pass.
final class HistoryCache: Sendable {
    private struct Entry {
        var generation: Int
        var time: ContinuousClock.Instant
        var revisions: [Revision]
    }

    private let entry = Mutex<Entry?>(nil)
    static let maxAge: Duration = .seconds(30)

    func revisions(generation: Int, read: () async throws -> [Revision]) async throws -> [Revision] {
        if let hit = entry.withLock({ $0 }), hit.generation == generation, ContinuousClock.now - hit.time < Self.maxAge {
            return hit.revisions
        }
        let revisions = try await read()
        entry.withLock { $0 = Entry(generation: generation, time: .now, revisions: revisions) }
        return revisions
    }
}

/// Every answer's safety: only GET and HEAD (and POST to the actions when a token allows
/// them), the token when one is set, same-origin for actions, and the security headers.
struct GuardMiddleware<Context: RequestContext>: RouterMiddleware {
    let access: DashboardAccess

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await decide(request, context: context, next: next)
        response.headers[.contentSecurityPolicy] = DashboardAccess.contentSecurityPolicy
        response.headers[.xContentTypeOptions] = "nosniff"
        for (name, value) in SecurityHeaders.more { response.headers[name] = value }
        return response
    }

    private func decide(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        let action = access.actions && path.hasPrefix("/actions/")
        if request.method != .get && request.method != .head && !(action && request.method == .post) {
            return text(
                "method \(request.method.rawValue) not allowed: the controller's pages are read-only\n", status: .methodNotAllowed,
                extra: [.allow: action ? "GET, HEAD, POST" : "GET, HEAD"])
        }
        if let token = access.token, path != "/healthz", path != "/readyz", !Self.authorized(request.headers[.authorization], token: token) {
            return text(
                "a token is required: Authorization: Bearer TOKEN (or the token as the password)\n", status: .unauthorized,
                extra: [.wwwAuthenticate: "Basic realm=\"reconcile controller\", charset=\"UTF-8\""])
        }
        if request.method == .post && !Self.sameOrigin(request) {
            return text("actions need a same-origin request\n", status: .forbidden)
        }
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            return text((error.body ?? "\(error.status.reasonPhrase)") + "\n", status: error.status)
        }
    }

    static func authorized(_ header: String?, token: String) -> Bool {
        guard let header else { return false }
        var presented: String?
        if header.lowercased().hasPrefix("bearer ") {
            presented = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        } else if header.lowercased().hasPrefix("basic "),
            let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let pair = String(data: data, encoding: .utf8), let colon = pair.firstIndex(of: ":") {
            presented = String(pair[pair.index(after: colon)...])
        }
        guard let presented else { return false }
        return constantTimeEqual(Array(presented.utf8), Array(token.utf8))
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }

    /// The Origin header names this server (the Host the request was sent to), or the browser
    /// says the request came from this same origin (`Sec-Fetch-Site`, which pages cannot set;
    /// a browser sends `Origin: null` where the referrer policy hides it).
    static func sameOrigin(_ request: Request) -> Bool {
        if let origin = request.headers[.origin], origin != "null" {
            guard let host = request.head.authority else { return false }
            return origin == "http://\(host)" || origin == "https://\(host)"
        }
        guard let fetchSite = SecurityHeaders.fetchSite else { return false }
        return request.headers[fetchSite] == "same-origin"
    }
}

enum SecurityHeaders {
    static let more: [(HTTPField.Name, String)] = [("Referrer-Policy", "same-origin"), ("X-Frame-Options", "DENY")].compactMap {
        name, value in HTTPField.Name(name).map { ($0, value) }
    }
    static let fetchSite = HTTPField.Name("Sec-Fetch-Site")
}
