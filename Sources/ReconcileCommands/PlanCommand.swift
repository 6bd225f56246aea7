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
            --out FILE (or -out FILE) saves the plan with a fingerprint of the manifest and of the observed state; \
            `reconcile apply FILE` carries out exactly that plan, or refuses it (exit 3) when either changed.
            --output markdown prints a pull-request comment.
            """
    )

    @OptionGroup var manifest: ManifestOptions
    @Option(name: .long, help: "Output format: text, json or markdown (a pull-request comment).")
    var output: PlanOutputFormat = .text
    @OptionGroup var engine: EngineOptions
    @OptionGroup var gpuOptions: GPUOptions
    @OptionGroup var target: TargetOptions

    @Flag(help: "Exit 2 when changes are pending, 0 when there are none, 1 on error.")
    var detailedExitcode = false

    @Flag(help: "Plan against an empty host; no engine is contacted.")
    var offline = false

    @Option(help: "Plan against an observed state saved as JSON (reconcile status --output json).")
    var state: String?

    @Flag(help: "Plan removal of services and networks no longer in the manifest.")
    var prune = false

    @Option(name: [.customLong("out"), .customLong("out", withSingleDash: true)], help: "Save the plan to FILE, for `reconcile apply FILE`.")
    var out: String?

    func validate() throws {
        if offline && state != nil { throw ValidationError("--offline and --state exclude each other") }
    }

    func run() async throws {
        do {
            if target.isSwarm(manifest) { return try await SwarmCommands.plan(self) }
            let (loaded, project, observed) = try await loadAndObserve()
            let result = try plan(desired: project, observed: observed, options: PlanOptions(prune: prune, offline: offline))
            if let out {
                let saved = try SavedPlanFile.make(
                    plan: result, project: project, observed: observed, manifest: manifest, gpus: gpuOptions, prune: prune,
                    observedFrom: offline ? "offline" : state.map { "state \($0)" } ?? "engine")
                try SavedPlanFile.write(saved, to: out)
            }
            switch output {
            case .json: try Console.json(result)
            case .markdown: FileHandle.standardOutput.write(Data(PlanText.markdown(result).utf8))
            case .text:
                Console.diagnostics(loaded.warnings)
                Console.out(PlanText.render(result, color: Console.useColor()))
                if let out {
                    if result.deferred.isEmpty {
                        Console.out("\nSaved the plan to \(out). Carry it out exactly with: reconcile apply \(out)")
                    } else {
                        Console.err("warning: saved the plan to \(out), but it leaves decisions to apply time: `reconcile apply \(out)` will refuse it")
                    }
                }
            }
            if detailedExitcode && !result.isEmpty { throw ExitCode(2) }
        } catch let error as ExitCode {
            throw error
        } catch {
            try report(error, format: output == .json ? .json : .text)
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

enum PlanOutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, markdown
}

/// Prints an error in the chosen format.
func report(_ error: any Error, format: OutputFormat) throws {
    let view = ErrorView(describing: error)
    switch format {
    case .json: try Console.json(view)
    case .text:
        if let diagnostics = (error as? ManifestError)?.diagnostics { Console.diagnostics(diagnostics) }
        Console.err("error: \(view.error)")
    }
}

extension ErrorView {
    /// The one sentence and the diagnostics a failed command prints.
    init(describing error: any Error) {
        let message: String
        switch error {
        case let error as ManifestError:
            let count = error.diagnostics.filter { $0.severity == .error }.count
            message = "the manifest has \(count) error\(count == 1 ? "" : "s")"
        case let error as PlanningError: message = error.description
        case let error as StalePlanError: message = error.description
        default: message = String(describing: error)
        }
        self.init(error: message, diagnostics: (error as? ManifestError)?.diagnostics.map(DiagnosticView.init))
    }
}
