import ArgumentParser
import DockerEngine
import Foundation
import ReconcileCore
import ReconcileRuntime

/// `reconcile history`: the revisions the engine keeps for a project.
struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "List the project's revisions, or show one in full.",
        discussion: """
            History lives with the engine (one labelled volume per revision), so every client of the \
            same engine sees the same history. Secret values are never stored.
            """
    )

    @OptionGroup var manifest: ManifestOptions
    @OptionGroup var engine: EngineOptions
    @OptionGroup var output: OutputOptions

    @Argument(help: "Show this revision in full.")
    var revision: Int?

    func run() async throws {
        do {
            let name = try manifest.projectName()
            let (revisions, unreadable) = try await withEngine(engine) { client in try await History(client: client, project: name).list() }
            for volume in unreadable where output.output == .text {
                Console.err("warning: history volume \(volume) has no record this version can read; it is skipped")
            }
            if let revision {
                guard let found = revisions.first(where: { $0.number == revision }) else {
                    throw CLIError("no revision \(revision) of \(name) in history (have: \(revisions.map { String($0.number) }.joined(separator: ", ")))")
                }
                switch output.output {
                case .json: try Console.json(found)
                case .text: Console.out(RevisionText.revision(found))
                }
                return
            }
            switch output.output {
            case .json: try Console.json(HistoryReport(project: name, current: Revision.current(revisions)?.number, revisions: revisions))
            case .text: Console.out(RevisionText.history(revisions))
            }
        } catch {
            try report(error, format: output.output)
            throw ExitCode.failure
        }
    }
}

struct HistoryReport: Encodable {
    var project: String
    /// The revision in force: the newest applied one.
    var current: Int?
    var revisions: [Revision]
}

/// `reconcile diff REV1 REV2`: what changed between two revisions.
struct DiffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Show what changed between two revisions (secret values masked)."
    )

    @OptionGroup var manifest: ManifestOptions
    @OptionGroup var engine: EngineOptions
    @OptionGroup var output: OutputOptions

    @Argument(help: "The older revision.")
    var from: Int

    @Argument(help: "The newer revision (default: the current one).")
    var to: Int?

    func run() async throws {
        do {
            let name = try manifest.projectName()
            let revisions = try await withEngine(engine) { client in try await History(client: client, project: name).list().revisions }
            func find(_ number: Int) throws -> Revision {
                guard let found = revisions.first(where: { $0.number == number }) else {
                    throw CLIError("no revision \(number) of \(name) in history (have: \(revisions.map { String($0.number) }.joined(separator: ", ")))")
                }
                return found
            }
            guard let target = try to.map(find) ?? Revision.current(revisions) else { throw CLIError("\(name) has no applied revision") }
            let diff = RevisionDiff(try find(from), target)
            switch output.output {
            case .json: try Console.json(diff)
            case .text: Console.out(RevisionText.diff(diff))
            }
        } catch {
            try report(error, format: output.output)
            throw ExitCode.failure
        }
    }
}
