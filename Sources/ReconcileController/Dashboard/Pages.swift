import Foundation
import Mustache
import ReconcileCore

/// Turns the CLI's JSON (decoded again) into the values the templates print. Formatting only
/// (times, symbols, joined lists): what is true of the host comes from the JSON.
struct DashboardPages: Sendable {
    let library: MustacheLibrary
    let project: String

    init(project: String) throws {
        library = try DashboardTemplates.library()
        self.project = project
    }

    struct Nav {
        var overview = false, revisions = false, figures = false, plan = false, timeline = false
    }

    struct Frame {
        var project: String
        var nav: Nav
        var live: Bool
        var generation: Int
        var renderedAt: String
        var apiPath: String
        var actions: Bool
    }

    func frame(_ nav: Nav, api: String, live: Bool = false, generation: Int = 0, actions: Bool = false) -> Frame {
        Frame(
            project: project, nav: nav, live: live, generation: generation, renderedAt: RevisionText.time(Date().timeIntervalSince1970),
            apiPath: api, actions: actions)
    }

    func render(_ name: String, _ model: Any) -> String {
        library.render(model, withTemplate: name) ?? ""
    }

    // MARK: overview

    struct OverviewModel {
        var project: String, nav: Nav, live: Bool, generation: Int, renderedAt: String, apiPath: String, actions: Bool
        var controller: ControllerStatus
        var hasBackoff: Bool
        var hasCurrent: Bool
        var current: Int
        var observedAt: String
        var hasStatus: Bool
        var status: StatusModel?
        var statusError: String
    }

    struct StatusModel {
        var services: [ServiceRow]
    }

    struct ServiceRow {
        var name: String, desired: Int, running: Int, healthy: Int, converged: Bool
        var containers: [ContainerRow]
    }

    struct ContainerRow {
        var name: String, id: String, state: String, stateText: String, healthText: String, image: String, imageID: String
        var upToDate: Bool
        var gpusText: String
    }

    static func stateText(_ state: String) -> String {
        switch state {
        case "running": return "▶ running"
        case "exited": return "■ exited"
        case "dead": return "✗ dead"
        case "restarting": return "↻ restarting"
        case "paused": return "⏸ paused"
        case "created": return "○ created"
        case "removing": return "− removing"
        default: return state
        }
    }

    static func healthText(_ health: String) -> String {
        switch health {
        case "healthy": return "✓ healthy"
        case "unhealthy": return "✗ unhealthy"
        case "starting": return "… starting"
        default: return "– no healthcheck"
        }
    }

    func overview(
        statusJSON: String?, statusError: String, controller: ControllerStatus, observedAt: Double?, current: Int?, generation: Int,
        actions: Bool
    ) throws -> String {
        let f = frame(Nav(overview: true), api: "/api/status", live: true, generation: generation, actions: actions)
        var status: StatusModel?
        if let statusJSON {
            let data = try DashboardData.decode(DashboardData.Status.self, statusJSON)
            status = StatusModel(
                services: data.services.map { s in
                    ServiceRow(
                        name: s.name, desired: s.desired, running: s.running, healthy: s.healthy,
                        // The same test as `reconcile status`'s "(not converged)".
                        converged: s.running == s.desired,
                        containers: s.containers.map { c in
                            ContainerRow(
                                name: c.name, id: c.id, state: c.state, stateText: Self.stateText(c.state), healthText: Self.healthText(c.health),
                                image: c.image, imageID: data.images[c.image].map(RevisionText.shortID) ?? "not on the host",
                                upToDate: c.upToDate, gpusText: c.gpus.isEmpty ? "none" : c.gpus.joined(separator: ", "))
                        })
                })
        }
        let model = OverviewModel(
            project: f.project, nav: f.nav, live: f.live, generation: f.generation, renderedAt: f.renderedAt, apiPath: f.apiPath,
            actions: f.actions, controller: controller, hasBackoff: !controller.backoff.isEmpty, hasCurrent: current != nil,
            current: current ?? 0, observedAt: observedAt.map { RevisionText.time($0) + " UTC" } ?? "not yet", hasStatus: status != nil,
            status: status, statusError: statusError)
        return render("overview", model)
    }

    // MARK: revisions

    struct RevisionsModel {
        var project: String, nav: Nav, live: Bool, generation: Int, renderedAt: String, apiPath: String, actions: Bool
        var count: Int, page: Int, pages: Int
        var hasCurrent: Bool
        var current: Int
        var rows: [RevisionRow]
        var newer: Int?
        var older: Int?
    }

    struct RevisionRow {
        var number: Int, isCurrent: Bool, time: String, outcomeText: String, rollbackOf: Int?, user: String, host: String
        var command: String, validation: String, images: String, diffPath: String?
    }

    static func outcomeText(_ outcome: Revision.Outcome) -> String {
        switch outcome {
        case .applied: return "● applied"
        case .failed: return "✗ failed"
        case .rolledBack: return "↺ rolled back"
        }
    }

    static func validationText(_ reports: [ServiceValidation]) -> String {
        guard !reports.isEmpty else { return "– none" }
        let failed = reports.filter { !$0.passed }.map(\.service)
        return failed.isEmpty ? "✓ passed (\(reports.count))" : "✗ failed: \(failed.joined(separator: ", "))"
    }

    static let pageSize = 50

    /// The first few services' images; the revision's page has them all.
    static func images(_ services: [Revision.ServiceRecord], shown: Int = 3) -> String {
        let listed = services.prefix(shown).map { "\($0.name): \($0.image) (\(RevisionText.shortID($0.imageID)))" }.joined(separator: "; ")
        return services.count > shown ? listed + "; and \(services.count - shown) more" : listed
    }

    /// `history`: the values of `reconcile history --output json`, as read (not decoded again:
    /// a long history is large, and only one page of it is shown).
    func revisions(history: DashboardData.History, page requested: Int) throws -> String {
        let count = history.revisions.count
        let pages = max(1, (count + Self.pageSize - 1) / Self.pageSize)
        let page = min(max(1, requested), pages)
        let end = count - (page - 1) * Self.pageSize
        let slice = history.revisions[max(0, end - Self.pageSize)..<max(0, end)].reversed()
        let f = frame(Nav(revisions: true), api: "/api/history")
        let model = RevisionsModel(
            project: f.project, nav: f.nav, live: false, generation: 0, renderedAt: f.renderedAt, apiPath: f.apiPath, actions: false,
            count: count, page: page, pages: pages, hasCurrent: history.current != nil, current: history.current ?? 0,
            rows: slice.map { r in
                RevisionRow(
                    number: r.number, isCurrent: r.number == history.current, time: RevisionText.time(r.time),
                    outcomeText: Self.outcomeText(r.outcome), rollbackOf: r.rollbackOf, user: r.user, host: r.host, command: r.command,
                    validation: Self.validationText(r.validations),
                    images: Self.images(r.services),
                    diffPath: history.current.flatMap { $0 == r.number ? nil : "/revisions/\(r.number)/diff/\($0)" })
            }, newer: page > 1 ? page - 1 : nil, older: page < pages ? page + 1 : nil)
        return render("revisions", model)
    }

    struct RevisionModel {
        var project: String, nav: Nav, live: Bool, generation: Int, renderedAt: String, apiPath: String, actions: Bool
        var r: Revision
        var isCurrent: Bool
        var current: Int
        var outcomeText: String
        var time: String
        var diffPath: String?
        var services: [ServiceRecordRow]
        var hasValidation: Bool
        var validation: [ValidationRow]
        var text: String
    }

    struct ServiceRecordRow {
        var name: String, image: String, imageID: String, replicas: Int, config: String, gpus: String
    }

    struct ValidationRow {
        var service: String, target: String, passed: Bool, figures: String, failed: String
    }

    func revision(revisionJSON: String, current: Int?, actions: Bool) throws -> String {
        let r = try DashboardData.decode(Revision.self, revisionJSON)
        let f = frame(Nav(revisions: true), api: "/api/history/\(r.number)", actions: actions)
        var rows: [ValidationRow] = []
        for report in r.validations {
            for run in report.runs {
                rows.append(
                    ValidationRow(
                        service: report.service, target: run.target, passed: run.passed,
                        figures: run.figures.keys.sorted().map { "\($0) \(RevisionText.number(run.figures[$0] ?? 0))" }.joined(separator: ", "),
                        failed: run.checks.filter { !$0.passed }.map { "\($0.name) \(RevisionText.number($0.value)) against \(RevisionText.number($0.threshold))" }
                            .joined(separator: "; ")))
            }
            if report.runs.isEmpty {
                rows.append(ValidationRow(service: report.service, target: "no replica was running", passed: false, figures: "", failed: ""))
            }
        }
        let model = RevisionModel(
            project: f.project, nav: f.nav, live: false, generation: 0, renderedAt: f.renderedAt, apiPath: f.apiPath,
            actions: actions && current != r.number, r: r, isCurrent: current == r.number, current: current ?? 0,
            outcomeText: Self.outcomeText(r.outcome), time: RevisionText.time(r.time),
            diffPath: current.flatMap { $0 == r.number ? nil : "/revisions/\(r.number)/diff/\($0)" },
            services: r.services.map {
                ServiceRecordRow(
                    name: $0.name, image: $0.image, imageID: RevisionText.shortID($0.imageID), replicas: $0.replicas,
                    config: String($0.configHash.prefix(12)), gpus: $0.gpus.isEmpty ? "none" : RevisionText.gpus($0.gpus))
            }, hasValidation: !rows.isEmpty, validation: rows, text: RevisionText.revision(r))
        return render("revision", model)
    }

    struct DiffModel {
        var project: String, nav: Nav, live: Bool, generation: Int, renderedAt: String, apiPath: String, actions: Bool
        var from: Int, to: Int, text: String, hasChanges: Bool
        var changes: [ChangeRow]
    }

    struct ChangeRow {
        var service: String, action: String, field: String, from: String, to: String
    }

    func diff(diffJSON: String) throws -> String {
        let d = try DashboardData.decode(RevisionDiff.self, diffJSON)
        let f = frame(Nav(revisions: true), api: "/api/diff/\(d.from)/\(d.to)")
        var changes: [ChangeRow] = []
        for service in d.services {
            let action = service.action == "+" ? "+ added" : service.action == "-" ? "− removed" : "± changed"
            if service.changes.isEmpty { changes.append(ChangeRow(service: service.service, action: action, field: "", from: "", to: "")) }
            for change in service.changes {
                changes.append(
                    ChangeRow(service: service.service, action: action, field: change.field, from: change.from ?? "(unset)", to: change.to ?? "(unset)"))
            }
        }
        let model = DiffModel(
            project: f.project, nav: f.nav, live: false, generation: 0, renderedAt: f.renderedAt, apiPath: f.apiPath, actions: false,
            from: d.from, to: d.to, text: RevisionText.diff(d), hasChanges: !changes.isEmpty, changes: changes)
        return render("diff", model)
    }

    // MARK: plan

    struct PlanModel {
        var project: String, nav: Nav, live: Bool, generation: Int, renderedAt: String, apiPath: String, actions: Bool
        var valid: Bool, empty: Bool, summary: String, text: String
        var error: String
        var diagnostics: [DashboardData.Failure.Diagnostic]
    }

    func plan(planJSON: String?, failureJSON: String?, generation: Int) throws -> String {
        let f = frame(Nav(plan: true), api: "/api/plan", live: true, generation: generation)
        var model = PlanModel(
            project: f.project, nav: f.nav, live: f.live, generation: f.generation, renderedAt: f.renderedAt, apiPath: f.apiPath,
            actions: false, valid: true, empty: true, summary: "", text: "", error: "", diagnostics: [])
        if let planJSON {
            let plan = try DashboardData.decode(Plan.self, planJSON)
            model.empty = plan.isEmpty
            model.summary = PlanText.summaryLine(plan)
            model.text = PlanText.render(plan)
        } else if let failureJSON {
            let failure = try DashboardData.decode(DashboardData.Failure.self, failureJSON)
            model.valid = false
            model.error = failure.error
            model.diagnostics = failure.diagnostics ?? []
        }
        return render("plan", model)
    }

    // MARK: timeline

    struct TimelineModel {
        var project: String, nav: Nav, live: Bool, generation: Int, renderedAt: String, apiPath: String, actions: Bool
        var started: String, shown: Int, total: Int, capacity: Int
        var events: [EventRow]
    }

    struct EventRow {
        var sequence: Int, time: String, since: String, level: String, message: String, details: String
    }

    static let timelineRows = 500

    func timeline(_ events: [ControllerJournal.Event], journal: ControllerJournal, generation: Int) -> String {
        let f = frame(Nav(timeline: true), api: "/api/timeline", live: true, generation: generation)
        let newest = events.reversed().prefix(Self.timelineRows)
        let model = TimelineModel(
            project: f.project, nav: f.nav, live: true, generation: generation, renderedAt: f.renderedAt, apiPath: f.apiPath, actions: false,
            started: RevisionText.time(journal.started), shown: newest.count, total: events.last?.sequence ?? 0, capacity: journal.capacity,
            events: newest.map { e in
                EventRow(
                    sequence: e.sequence, time: RevisionText.time(e.time), since: String(format: "%.3f", e.sinceStart),
                    level: e.level == "info" ? "info" : e.level == "warning" ? "⚠ warning" : e.level == "error" ? "✗ error" : e.level,
                    message: e.message, details: e.metadata.keys.sorted().map { "\($0)=\(e.metadata[$0] ?? "")" }.joined(separator: " "))
            })
        return render("timeline", model)
    }

    // MARK: forms and messages

    struct ConfirmModel {
        var project: String, nav: Nav, live: Bool, generation: Int, renderedAt: String, apiPath: String, actions: Bool
        var heading: String, explanation: String, hasPlan: Bool, plan: String, action: String, button: String
    }

    func confirm(heading: String, explanation: String, plan: String?, action: String, button: String, api: String) -> String {
        let f = frame(Nav(), api: api)
        return render(
            "confirm",
            ConfirmModel(
                project: f.project, nav: f.nav, live: false, generation: 0, renderedAt: f.renderedAt, apiPath: f.apiPath, actions: false,
                heading: heading, explanation: explanation, hasPlan: plan != nil, plan: plan ?? "", action: action, button: button))
    }

    struct MessageModel {
        var project: String, nav: Nav, live: Bool, generation: Int, renderedAt: String, apiPath: String, actions: Bool
        var heading: String, text: String
    }

    func message(_ heading: String, _ text: String, api: String = "/api/status") -> String {
        let f = frame(Nav(), api: api)
        return render(
            "message",
            MessageModel(
                project: f.project, nav: f.nav, live: false, generation: 0, renderedAt: f.renderedAt, apiPath: f.apiPath, actions: false,
                heading: heading, text: text))
    }
}

// Rows of long tables answer the template's lookups themselves: mustache otherwise reflects
// (`Mirror`) on every lookup of every row, which dominates the render of a large project.
extension DashboardPages.ServiceRow: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "name": return self.name
        case "desired": return desired
        case "running": return running
        case "healthy": return healthy
        case "converged": return converged
        case "containers": return containers
        default: return nil
        }
    }
}

extension DashboardPages.ContainerRow: MustacheParent {
    func child(named key: String) -> Any? {
        switch key {
        case "name": return name
        case "id": return id
        case "state": return state
        case "stateText": return stateText
        case "healthText": return healthText
        case "image": return image
        case "imageID": return imageID
        case "upToDate": return upToDate
        case "gpusText": return gpusText
        default: return nil
        }
    }
}

extension DashboardPages.RevisionRow: MustacheParent {
    func child(named key: String) -> Any? {
        switch key {
        case "number": return number
        case "isCurrent": return isCurrent
        case "time": return time
        case "outcomeText": return outcomeText
        case "rollbackOf": return rollbackOf
        case "user": return user
        case "host": return host
        case "command": return command
        case "validation": return validation
        case "images": return images
        case "diffPath": return diffPath
        default: return nil
        }
    }
}

extension DashboardPages.EventRow: MustacheParent {
    func child(named key: String) -> Any? {
        switch key {
        case "sequence": return sequence
        case "time": return time
        case "since": return since
        case "level": return level
        case "message": return message
        case "details": return details
        default: return nil
        }
    }
}

extension Figures.Point: MustacheParent {
    func child(named key: String) -> Any? {
        switch key {
        case "revision": return revision
        case "outcome": return outcome
        case "value": return value
        case "threshold": return threshold
        default: return nil
        }
    }
}
