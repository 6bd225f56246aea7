import Foundation
import ReconcileCore

/// The CLI's JSON views, handed to the controller by the command that starts it, so that each
/// `/api/…` route answers exactly what the matching `reconcile … --output json` prints, and
/// each page renders that same JSON (decoded again) rather than values of its own.
public struct DashboardJSON: Sendable {
    /// `reconcile status --output json`.
    public var status: @Sendable (Project, ObservedState) throws -> String
    /// `reconcile history --output json`: project, current revision, revisions oldest first.
    public var history: @Sendable (String, Int?, [Revision]) throws -> String
    /// `reconcile history N --output json`.
    public var revision: @Sendable (Revision) throws -> String
    /// `reconcile diff A B --output json`.
    public var diff: @Sendable (RevisionDiff) throws -> String
    /// `reconcile plan --output json`.
    public var plan: @Sendable (Plan) throws -> String
    /// What a command prints under `--output json` when it fails: the error and any diagnostics.
    public var error: @Sendable (any Error) -> String

    public init(
        status: @escaping @Sendable (Project, ObservedState) throws -> String,
        history: @escaping @Sendable (String, Int?, [Revision]) throws -> String,
        revision: @escaping @Sendable (Revision) throws -> String, diff: @escaping @Sendable (RevisionDiff) throws -> String,
        plan: @escaping @Sendable (Plan) throws -> String, error: @escaping @Sendable (any Error) -> String
    ) {
        self.status = status
        self.history = history
        self.revision = revision
        self.diff = diff
        self.plan = plan
        self.error = error
    }
}

/// The decodable side of the JSON the pages read back: only the keys a page shows.
enum DashboardData {
    struct Status: Decodable {
        var project: String
        var services: [Service]
        var images: [String: String]

        struct Service: Decodable {
            var name: String
            var desired: Int
            var running: Int
            var healthy: Int
            var containers: [Container]
        }

        struct Container: Decodable {
            var name: String
            var id: String
            var state: String
            var health: String
            var image: String
            var upToDate: Bool
            var gpus: [String]
        }
    }

    /// `reconcile history --output json`'s values.
    struct History: Decodable {
        var project: String
        var current: Int?
        var revisions: [Revision]
    }

    struct Failure: Decodable {
        var error: String
        var diagnostics: [Diagnostic]?

        struct Diagnostic: Decodable {
            var severity: String
            var file: String
            var line: Int
            var column: Int
            var key: String
            var message: String
            var hint: String?
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }
}
