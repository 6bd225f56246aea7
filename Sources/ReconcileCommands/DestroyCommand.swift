import ArgumentParser
import DockerEngine
import Foundation
import ReconcileCore
import ReconcileManifest
import ReconcileRuntime

/// `reconcile destroy`: remove what the project owns, as a plan like any other.
struct DestroyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "destroy",
        abstract: "Remove the project's containers and networks; its named volumes only with --volumes.",
        discussion: """
            Only objects labelled with the project are removed. Volume data survives unless --volumes is given. \
            Prints the destroy plan and carries it out under the project's lock; --out FILE (or -out FILE) saves \
            the plan instead, for `reconcile apply FILE`, which carries it out exactly or refuses it (exit 3) when \
            the manifest or the engine changed since.
            """
    )

    @OptionGroup var manifest: ManifestOptions
    @OptionGroup var engine: EngineOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var target: TargetOptions

    @Flag(help: "Also remove the project's volumes and their data.")
    var volumes = false

    @Flag(help: "Also remove the project's revision history (kept by default, so a later apply or rollback can use it).")
    var history = false

    @Option(name: [.customLong("out"), .customLong("out", withSingleDash: true)], help: "Save the destroy plan to FILE, for `reconcile apply FILE`, instead of carrying it out.")
    var out: String?

    func run() async throws {
        do {
            if target.isSwarm(manifest) { return try await SwarmCommands.destroy(manifest: manifest, engine: engine, format: output.output) }
            let loaded = try manifest.load()
            let project = loaded.project
            if output.output == .text { Console.diagnostics(loaded.warnings) }
            let ok = try await withEngine(engine) { client in
                if let out {
                    let observed = try await Observer(client: client).observe(project: project)
                    let result = destroyPlan(project: project, observed: observed, removeVolumes: volumes)
                    var noGPUs = GPUOptions()
                    noGPUs.gpus = nil
                    var saved = try SavedPlanFile.make(
                        plan: result, project: project, observed: observed, manifest: manifest, gpus: noGPUs, prune: false,
                        observedFrom: "engine")
                    saved.options.destroy = DestroyOptions(volumes: volumes, history: history)
                    try SavedPlanFile.write(saved, to: out)
                    switch output.output {
                    case .json: try Console.json(result)
                    case .text:
                        Console.out(PlanText.render(result, color: Console.useColor()))
                        Console.out("\nSaved the destroy plan to \(out). Carry it out exactly with: reconcile apply \(out)")
                    }
                    return true
                }
                let lock = try await EngineLock.acquire(client: client, project: project.name, purpose: "destroy")
                do {
                    let observer = Observer(client: client)
                    let observed = lock.tookOver ? try await observer.settled(project: project) : try await observer.observe(project: project)
                    let result = destroyPlan(project: project, observed: observed, removeVolumes: volumes)
                    let ok = try await carryOutDestroy(
                        result, project: project, client: client, options: DestroyOptions(volumes: volumes, history: history), format: output.output)
                    await lock.release()
                    return ok
                } catch {
                    await lock.release()
                    throw error
                }
            }
            if !ok { throw ExitCode.failure }
        } catch let error as ExitCode {
            throw error
        } catch {
            try report(error, format: output.output)
            throw ExitCode.failure
        }
    }
}

/// Carries out a destroy plan (made now, or saved by `destroy --out`) with progress, then
/// removes what no plan step covers: leftover validation jobs and, when asked, the history.
/// The caller holds the project's lock. A step the engine refuses (a network another
/// container still uses) does not stop the others: the volumes asked for and the history
/// are still removed, and what is left is named. Returns whether everything went.
func carryOutDestroy(_ plan: Plan, project: Project, client: DockerClient, options: DestroyOptions, format: OutputFormat) async throws -> Bool {
    if format == .text {
        Console.out(PlanText.render(plan, color: Console.useColor()))
    }
    let view = ProgressView(format: format)
    let result = await Executor(client: client, project: project, emit: { view.handle($0) }).run(plan)
    view.finish()
    var extra: [String] = []
    let jobs = try await client.listContainers(all: true, filters: .label(LabelKey.validation, project.name))
    for job in jobs {
        try? await client.removeContainer(job.id, force: true)
        extra.append("validation job \(job.name ?? job.id)")
    }
    var historyRemoved: Int?
    if options.history {
        let count = try await History(client: client, project: project.name).removeAll()
        historyRemoved = count
        if count > 0 { extra.append("history (\(count) revision\(count == 1 ? "" : "s"))") }
    }
    let removed = plan.steps.filter { result.outcomes[$0.id] == .succeeded }.map(removedName) + extra
    switch format {
    case .json:
        var report = DestroyReport(report: ApplyReport(plan: plan, result: result))
        report.removedHistory = historyRemoved
        report.removedValidationJobs = jobs.count
        try Console.json(report)
    case .text:
        for name in removed.sorted() { Console.out("  - \(name)") }
        for failure in result.failures {
            Console.err("error: \(plan.steps[failure.step].resource): \(failure.message)")
        }
        let kept = plan.warnings
        for warning in kept { Console.out(warning) }
        let left = plan.steps.count - plan.steps.filter { result.outcomes[$0.id] == .succeeded }.count
        Console.out(
            left == 0
                ? "Destroyed project \(project.name): \(removed.count) objects removed."
                : "Destroyed project \(project.name) in part: \(removed.count) objects removed, \(left) left; run destroy again once the cause is fixed.")
    }
    return result.succeeded
}

private func removedName(_ step: PlanStep) -> String {
    switch step.action {
    case .removeNetwork: return "network \(step.engineName ?? step.resource)"
    case .removeVolume: return "volume \(step.engineName ?? step.resource)"
    default: return "container \(step.containerName ?? step.resource)"
    }
}

/// `destroy --output json`: apply's report of the plan and its steps, and what no step covers.
struct DestroyReport: Encodable {
    var report: ApplyReport
    var removedValidationJobs = 0
    var removedHistory: Int?

    func encode(to encoder: any Encoder) throws {
        try report.encode(to: encoder)
        enum Keys: String, CodingKey { case removedValidationJobs, removedHistory }
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(removedValidationJobs, forKey: .removedValidationJobs)
        try container.encodeIfPresent(removedHistory, forKey: .removedHistory)
    }
}

/// `reconcile unlock`: clear a lock whose holder is gone for good.
struct UnlockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unlock",
        abstract: "Remove a project's engine-side lock, whoever holds it. Only when its holder is gone for good."
    )

    @OptionGroup var manifest: ManifestOptions
    @OptionGroup var engine: EngineOptions

    func run() async throws {
        let name = try manifest.project ?? manifest.load().project.name
        try await withEngine(engine) { client in
            if let holder = try await EngineLock.holder(client: client, project: name) {
                try await EngineLock.forceRelease(client: client, project: name)
                Console.out("removed the lock of project \(name), held by \(holder)")
            } else {
                Console.out("project \(name) is not locked")
            }
        }
    }
}
