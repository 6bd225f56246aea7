import ArgumentParser
import Foundation
import ReconcileCore
import ReconcileManifest
import ReconcileRuntime

/// `reconcile plan`: a pure dry run.
struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what apply would change, without changing anything.",
        discussion: """
            Observes the engine once (read-only), or plans against an empty host (--offline) or a saved \
            observed state (--state FILE, as written by `reconcile status --output json`).
            With --detailed-exitcode: 0 no changes, 2 changes pending, 1 error.
            """
    )

    @OptionGroup var manifest: ManifestOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var engine: EngineOptions
    @OptionGroup var gpuOptions: GPUOptions

    @Flag(help: "Exit 2 when changes are pending, 0 when there are none, 1 on error.")
    var detailedExitcode = false

    @Flag(help: "Plan against an empty host; no engine is contacted.")
    var offline = false

    @Option(help: "Plan against an observed state saved as JSON (reconcile status --output json).")
    var state: String?

    @Flag(help: "Plan removal of services and networks no longer in the manifest.")
    var prune = false

    func validate() throws {
        if offline && state != nil { throw ValidationError("--offline and --state exclude each other") }
    }

    func run() async throws {
        do {
            let (loaded, project, observed) = try await loadAndObserve()
            let result = try plan(desired: project, observed: observed, options: PlanOptions(prune: prune))
            switch output.output {
            case .json: try Console.json(result)
            case .text:
                Console.diagnostics(loaded.warnings)
                Console.out(PlanText.render(result, color: Console.useColor()))
            }
            if detailedExitcode && !result.isEmpty { throw ExitCode(2) }
        } catch let error as ExitCode {
            throw error
        } catch {
            try report(error, format: output.output)
            throw ExitCode.failure
        }
    }

    /// The manifests, the project they declare, and the state to plan against. Against the
    /// live engine, the manifests load while the client negotiates.
    private func loadAndObserve() async throws -> (LoadedManifest, Project, ObservedState) {
        guard offline || state != nil else {
            return try await withEngine(engine) { client in
                let loaded = try manifest.load()
                let project = gpuOptions.apply(to: loaded.project)
                return (loaded, project, try await Observer(client: client).observe(project: project))
            }
        }
        let loaded = try manifest.load()
        return (loaded, gpuOptions.apply(to: loaded.project), try observedState())
    }

    /// `.empty` offline, else the state file `--state` names.
    private func observedState() throws -> ObservedState {
        guard let state, !offline else { return .empty }
        guard let data = FileManager.default.contents(atPath: state) else {
            throw CLIError("cannot read observed state \(state): no such file")
        }
        do {
            return try JSONDecoder().decode(ObservedState.self, from: data)
        } catch {
            throw CLIError("\(state) is not an observed state written by `reconcile status --output json`: \(error)")
        }
    }
}

/// Prints an error in the chosen format.
func report(_ error: any Error, format: OutputFormat) throws {
    let diagnostics = (error as? ManifestError)?.diagnostics
    let message: String
    switch error {
    case let error as ManifestError:
        let count = error.diagnostics.filter { $0.severity == .error }.count
        message = "the manifest has \(count) error\(count == 1 ? "" : "s")"
    case let error as PlanningError: message = error.description
    default: message = String(describing: error)
    }
    switch format {
    case .json: try Console.json(ErrorView(error: message, diagnostics: diagnostics?.map(DiagnosticView.init)))
    case .text:
        if let diagnostics { Console.diagnostics(diagnostics) }
        Console.err("error: \(message)")
    }
}
