import ArgumentParser
import DockerEngine
import Foundation
import ReconcileCore
import ReconcileRuntime

/// `reconcile rollback [REVISION]`: re-applies a revision from history.
struct RollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Re-apply a revision from history (default: the one before the current), with the image ids it ran.",
        discussion: """
            Goes through the normal rollout rules (update_config, health gates), validates, and records a new \
            revision. Services and networks the revision does not have are removed; volumes never are. History \
            keeps no secret values: they come from the manifest at hand (-f, or compose.yaml here).
            """
    )

    @OptionGroup var manifest: ManifestOptions
    @OptionGroup var engine: EngineOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var gpuOptions: GPUOptions

    @Argument(help: "The revision to put back (default: the applied revision before the current one).")
    var revision: Int?

    @OptionGroup var rollout: RolloutOptions
    @OptionGroup var validation: ValidationFlags
    @OptionGroup var target: TargetOptions

    func run() async throws {
        let timeoutSeconds = try rollout.timeoutSeconds()
        let trap = SignalTrap()
        do {
            if target.isSwarm(manifest) {
                let code = try await SwarmCommands.rollback(
                    manifest: manifest, engine: engine, format: output.output, revision: revision, yes: rollout.yes, timeout: timeoutSeconds)
                if code != 0 { throw ExitCode(code) }
                return
            }
            // The manifest at hand supplies the project name and the secret values.
            let atHand = manifest.files.isEmpty ? try? manifest.load().project : try manifest.load().project
            guard let name = manifest.project ?? atHand?.name else {
                throw CLIError("which project? pass -p NAME, or -f with its manifest")
            }
            let ok = try await withEngine(engine) { client in
                try await rollback(project: name, atHand: atHand, client: client, timeout: timeoutSeconds, stop: trap.stop)
            }
            if !ok { throw ExitCode.failure }
        } catch let error as ExitCode {
            throw error
        } catch {
            try report(error, format: output.output)
            throw ExitCode.failure
        }
    }

    private func rollback(project name: String, atHand: Project?, client: DockerClient, timeout: Double, stop: StopSignal) async throws -> Bool {
        let history = History(client: client, project: name)
        let revisions = try await history.list().revisions
        guard let current = Revision.current(revisions) else {
            throw CLIError("\(name) has no applied revision in history: nothing to roll back from")
        }
        let target: Revision
        if let revision {
            guard let found = revisions.first(where: { $0.number == revision }) else {
                throw CLIError("no revision \(revision) of \(name) in history (have: \(revisions.map { String($0.number) }.joined(separator: ", ")))")
            }
            target = found
        } else {
            guard let previous = revisions.last(where: { $0.number < current.number && $0.outcome == .applied }) else {
                throw CLIError("\(name) has no applied revision before revision \(current.number): name one (reconcile history)")
            }
            target = previous
        }
        let desired = gpuOptions.apply(to: try target.desired.restoring(secretsFrom: atHand, pinning: target.services))
        for service in target.services where !service.imageID.isEmpty {
            do { _ = try await client.inspectImage(service.imageID) } catch where error.isDockerNotFound {
                throw CLIError("image \(RevisionText.shortID(service.imageID)) (\(service.image)) that revision \(target.number) ran for \(service.name) is no longer on this host: it cannot be restored exactly")
            }
        }
        let observer = Observer(client: client)
        let observed = try await observer.observe(project: desired)
        var steps = try plan(desired: desired, observed: observed, options: PlanOptions(prune: true, preferredGPUs: target.gpuPlacement, gateTimeout: timeout))
        if output.output == .text {
            Console.out("Rolling \(name) back to revision \(target.number) (\(RevisionText.time(target.time)), \(target.command)).")
            Console.out(PlanText.render(steps, color: Console.useColor()))
        }
        if !steps.isEmpty && !confirmed("Roll back?", yes: rollout.yes, format: output.output) { return true }
        guard let (carried, deployed) = try await deployUnderLock(
            client: client, project: desired, planOptions: PlanOptions(prune: true, preferredGPUs: target.gpuPlacement, gateTimeout: timeout),
            options: .init(
                execution: rollout.execution(timeout: timeout, stop: stop),
                validate: !validation.noValidate, validation: validation.options(client), prune: true,
                command: "rollback to \(target.number)", rollbackOf: target.number),
            format: output.output, shown: ShownPlan(plan: steps, observed: observed.fingerprintLines()),
            onChange: { [format = output.output] changes, fresh in
            // A rollback's goal is the revision, not one plan to it: go on, saying why the plan differs.
            if format == .text {
                Console.err("The engine changed since the plan was shown (\(changes.joined(separator: "; "))); rolling back with:")
                Console.out(PlanText.render(fresh, color: Console.useColor()))
            }
            return true
        })
        else { return true }
        steps = carried
        switch output.output {
        case .json: try Console.json(ApplyReport(plan: steps, result: deployed.execution, deployment: deployed))
        case .text:
            for failure in deployed.execution.failures {
                Console.err("error: \(steps.steps[failure.step].resource): \(failure.message)")
            }
            if deployed.execution.succeeded {
                Console.out(String(format: "Rolled back to revision %d in %.1f s (%d steps).", target.number, deployed.execution.seconds, steps.steps.count))
            }
            ValidationView.report(deployed)
            if let error = deployed.historyError { Console.err("warning: \(error)") }
        }
        return deployed.succeeded
    }
}
