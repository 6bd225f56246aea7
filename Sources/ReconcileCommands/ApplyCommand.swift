import ArgumentParser
import DockerEngine
import Foundation
import ReconcileCore
import ReconcileManifest
import ReconcileRuntime

/// `reconcile apply`: one converging run.
struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Make the engine match the manifests, or carry out a saved plan.",
        discussion: """
            Observes once, plans, shows the plan, and carries it out: networks and volumes first, services in \
            depends_on order, recreates by each service's update_config (start-first where possible). \
            Asks for confirmation on a terminal unless --yes. The plan carried out is the one shown: it is made \
            under the project's lock, and when the engine changed while it waited for an answer, apply says what \
            changed and asks again (--replan: carries out the new plan, shown, without asking).
            `reconcile apply PLANFILE` carries out a plan saved by `reconcile plan --out PLANFILE` exactly, or \
            refuses it (exit 3) when the manifest or the engine changed since it was made.
            Exits 0 when the host matches, 1 otherwise, 3 for a stale plan.
            """
    )

    /// A stale plan: the manifest or the engine changed since it was made.
    static let staleExitCode: Int32 = 3

    @Argument(help: "A plan saved by `reconcile plan --out FILE`, to carry out exactly.")
    var planFile: String?

    @OptionGroup var manifest: ManifestOptions
    @OptionGroup var engine: EngineOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var gpuOptions: GPUOptions

    @Flag(help: "Remove containers of services, and networks, no longer in the manifest.")
    var prune = false

    @Flag(help: "Wait until every replica is running and healthy.")
    var wait = false

    @Flag(help: "When the engine changed while the plan waited for confirmation, carry out the new plan (shown) without asking again.")
    var replan = false

    @OptionGroup var rollout: RolloutOptions
    @OptionGroup var validation: ValidationFlags
    @OptionGroup var target: TargetOptions

    func validate() throws {
        if planFile != nil {
            if !manifest.files.isEmpty || manifest.project != nil || !manifest.profiles.isEmpty || gpuOptions.gpus != nil || prune {
                throw ValidationError("a saved plan records its manifest and options: give the plan file alone, without -f, -p, --profile, --gpus or --prune")
            }
            if replan { throw ValidationError("--replan does not apply to a saved plan: it is carried out exactly or refused") }
        }
    }

    func run() async throws {
        let timeoutSeconds = try rollout.timeoutSeconds()
        let trap = SignalTrap()
        do {
            let ok: Bool
            if planFile == nil, target.isSwarm(manifest) {
                let code = try await SwarmCommands.apply(
                    manifest: manifest, engine: engine, format: output.output, prune: prune, yes: rollout.yes, timeout: timeoutSeconds)
                if code != 0 { throw ExitCode(code) }
                return
            }
            if let planFile {
                let saved = try SavedPlanFile.read(planFile)
                let (loaded, project) = try saved.loadManifest()
                if output.output == .text { Console.diagnostics(loaded.warnings) }
                ok = try await withEngine(engine) { client in
                    try await applySaved(saved, project: project, client: client, timeout: timeoutSeconds, stop: trap.stop)
                }
            } else {
                ok = try await withEngine(engine) { client in
                    let loaded = try manifest.load()
                    if output.output == .text { Console.diagnostics(loaded.warnings) }
                    return try await apply(gpuOptions.apply(to: loaded.project), client: client, timeout: timeoutSeconds, stop: trap.stop)
                }
            }
            if !ok { throw ExitCode.failure }
        } catch let error as ExitCode {
            throw error
        } catch let error as StalePlanError {
            try report(error, format: output.output)
            throw ExitCode(ApplyCommand.staleExitCode)
        } catch {
            try report(error, format: output.output)
            throw ExitCode.failure
        }
    }

    /// Plans, and when something is to change takes the lock and plans again under it: the plan
    /// shown is made under the lock, so it is the plan carried out. When a person read it at a
    /// prompt, the engine is looked at once more after the answer, and a different plan is
    /// shown and asked for again (or, with --replan, carried out).
    private func apply(_ project: Project, client: DockerClient, timeout: Double, stop: StopSignal) async throws -> Bool {
        let observer = Observer(client: client)
        let options = PlanOptions(prune: prune, gateTimeout: timeout)
        // Without the lock first: a host that already matches is told so without taking it.
        let seen = try await observer.observe(project: project)
        let unlocked = try plan(desired: project, observed: seen, options: options)
        if unlocked.isEmpty {
            // Nothing to change needs no lock; but a lock left by an apply that was killed (its
            // holder gone from this host) is cleared on the way, so none outlives its holder.
            // The observation lists the lock volume (it carries the project's label): no extra request.
            if seen.volumes.contains(where: { $0.name == EngineLock.volumeName(project: project.name) }),
               let stale = try? await EngineLock.acquire(client: client, project: project.name, purpose: "apply") {
                await stale.release()
            }
            return try await reportNoChanges(unlocked, project, client: client, timeout: timeout)
        }

        let lock = try await EngineLock.acquire(client: client, project: project.name, purpose: "apply")
        do {
            let ok = try await applyLocked(project, lock: lock, observer: observer, options: options, client: client, timeout: timeout, stop: stop)
            await lock.release()
            return ok
        } catch {
            await lock.release()
            throw error
        }
    }

    private func applyLocked(
        _ project: Project, lock: EngineLock, observer: Observer, options: PlanOptions, client: DockerClient, timeout: Double,
        stop: StopSignal
    ) async throws -> Bool {
        let observed = lock.tookOver ? try await observer.settled(project: project) : try await observer.observe(project: project)
        var current = try plan(desired: project, observed: observed, options: options)
        if current.isEmpty { return try await reportNoChanges(current, project, client: client, timeout: timeout) }
        if output.output == .text { Console.out(PlanText.render(current, color: Console.useColor())) }
        guard confirmed("Apply these changes?", yes: rollout.yes, format: output.output) else { return true }
        let asked = !rollout.yes && Console.stdinIsTerminal && Console.stdoutIsTerminal && output.output == .text
        var shownLines = observed.fingerprintLines()
        while asked {
            // The person took their time: the engine may have moved (someone's docker CLI).
            let now = try await observer.observe(project: project)
            let lines = now.fingerprintLines()
            if lines == shownLines { break }
            let fresh = try plan(desired: project, observed: now, options: options)
            if fresh.steps == current.steps { break }
            Console.err("The engine changed since the plan was shown:")
            for change in SavedPlan.changes(from: shownLines, to: lines) { Console.err("  \(change)") }
            Console.out("The plan is now:")
            Console.out(PlanText.render(fresh, color: Console.useColor()))
            current = fresh
            shownLines = lines
            if replan { break }
            guard confirmed("Apply the new plan?", yes: false, format: output.output) else { return true }
        }
        let deployed = await deploy(
            client: client, project: project, plan: current,
            options: .init(
                execution: rollout.execution(timeout: timeout, stop: stop),
                validate: !validation.noValidate, validation: validation.options(client), prune: prune, command: "apply"),
            format: output.output)
        return try await finish(current, deployed, project, client: client, timeout: timeout)
    }

    private func reportNoChanges(_ current: Plan, _ project: Project, client: DockerClient, timeout: Double) async throws -> Bool {
        if output.output == .json {
            try Console.json(ApplyReport(plan: current, result: nil))
        } else {
            for warning in current.warnings { Console.err("warning: \(warning)") }
            Console.out(PlanText.summaryLine(current))
        }
        return wait ? try await waitHealthy(project, client: client, timeout: timeout) : true
    }

    /// Carries out a saved plan exactly, or refuses it as stale.
    private func applySaved(_ saved: SavedPlan, project: Project, client: DockerClient, timeout: Double, stop: StopSignal) async throws -> Bool {
        if let destroy = saved.options.destroy {
            return try await applySavedDestroy(saved, destroy, project: project, client: client)
        }
        if output.output == .text {
            Console.out("Saved plan for project \(saved.plan.project), made \(saved.created) UTC:")
            Console.out(PlanText.render(saved.plan, color: Console.useColor()))
        }
        let options = PlanOptions(prune: saved.options.prune)
        return try await carryOut(
            project, client: client, timeout: timeout, stop: stop, planOptions: options,
            shown: ShownPlan(plan: saved.plan, observed: saved.observed), strict: true, onChange: nil)
    }

    /// A plan of `destroy --out`: carried out under the lock exactly, or refused when the
    /// engine changed since (the manifest was checked on load).
    private func applySavedDestroy(_ saved: SavedPlan, _ destroy: DestroyOptions, project: Project, client: DockerClient) async throws -> Bool {
        if output.output == .text { Console.out("Saved destroy plan for project \(saved.plan.project), made \(saved.created) UTC:") }
        let lock = try await EngineLock.acquire(client: client, project: project.name, purpose: "destroy")
        do {
            let observer = Observer(client: client)
            let observed = lock.tookOver ? try await observer.settled(project: project) : try await observer.observe(project: project)
            let now = observed.fingerprintLines()
            guard now == saved.observed else {
                throw StalePlanError(reasons: ["the engine changed since the plan was made: " + SavedPlan.changes(from: saved.observed, to: now).joined(separator: "; ")])
            }
            let ok = try await carryOutDestroy(saved.plan, project: project, client: client, options: destroy, format: output.output)
            await lock.release()
            return ok
        } catch {
            await lock.release()
            throw error
        }
    }

    private func carryOut(
        _ project: Project, client: DockerClient, timeout: Double, stop: StopSignal, planOptions: PlanOptions,
        shown: ShownPlan, strict: Bool = false, onChange: ReplanDecision?
    ) async throws -> Bool {
        guard let (current, deployed) = try await deployUnderLock(
            client: client, project: project, planOptions: planOptions,
            options: .init(
                execution: rollout.execution(timeout: timeout, stop: stop),
                validate: !validation.noValidate, validation: validation.options(client), prune: planOptions.prune, command: "apply"),
            format: output.output, shown: shown, strict: strict, onChange: onChange)
        else { return true }
        return try await finish(current, deployed, project, client: client, timeout: timeout)
    }

    private func finish(_ current: Plan, _ deployed: Deployment.Result, _ project: Project, client: DockerClient, timeout: Double) async throws -> Bool {
        let result = deployed.execution
        var ok = deployed.succeeded
        if ok && wait { ok = try await waitHealthy(project, client: client, timeout: timeout) }
        switch output.output {
        case .json: try Console.json(ApplyReport(plan: current, result: result, deployment: deployed))
        case .text:
            let failures = result.failures
            if result.interrupted {
                Console.err("interrupted: \(result.outcomes.values.filter { $0 == .succeeded }.count) of \(current.steps.count) steps done; run apply again to converge")
            } else if !failures.isEmpty {
                for failure in failures {
                    Console.err("error: \(current.steps[failure.step].resource): \(failure.message)")
                }
                Console.err("apply did not converge: fix the cause and run apply again")
            } else {
                Console.out(String(format: "Applied %d steps in %.1f s.", current.steps.count, result.seconds))
                ValidationView.report(deployed)
            }
            if let error = deployed.historyError { Console.err("warning: \(error)") }
        }
        return ok
    }

    /// Polls until every replica of every service is running and, where it has a healthcheck, healthy.
    private func waitHealthy(_ project: Project, client: DockerClient, timeout: Double) async throws -> Bool {
        let pending = await Readiness(client: client, project: project).wait(timeout: timeout)
        if !pending.isEmpty { Console.err("timed out waiting for: \(pending.joined(separator: ", "))") }
        return pending.isEmpty
    }
}

struct ApplyReport: Encodable {
    var plan: Plan
    var steps: [StepOutcome]?
    var succeeded: Bool
    var seconds: Double?
    var validations: [ServiceValidation]?
    var revision: Int?
    var rollback: RollbackReport?
    var historyError: String?

    struct RollbackReport: Encodable {
        var revision: Int
        var plan: Plan
        var succeeded: Bool
        var validations: [ServiceValidation]
        var impossible: String?
    }

    struct StepOutcome: Encodable {
        var step: Int
        var resource: String
        var outcome: String
        var message: String?
    }

    init(plan: Plan, result: ExecutionResult?, deployment: Deployment.Result? = nil) {
        self.plan = plan
        succeeded = deployment?.succeeded ?? result?.succeeded ?? true
        seconds = result?.seconds
        validations = deployment?.validations
        revision = deployment?.revision?.number
        historyError = deployment?.historyError
        rollback = deployment?.rollback.map {
            RollbackReport(revision: $0.revision, plan: $0.plan, succeeded: $0.execution.succeeded && $0.impossible == nil,
                           validations: $0.validations, impossible: $0.impossible)
        }
        steps = result.map { result in
            plan.steps.map { step in
                switch result.outcomes[step.id] ?? .skipped("not run") {
                case .succeeded: return StepOutcome(step: step.id, resource: step.resource, outcome: "succeeded")
                case .failed(let message): return StepOutcome(step: step.id, resource: step.resource, outcome: "failed", message: message)
                case .skipped(let message): return StepOutcome(step: step.id, resource: step.resource, outcome: "skipped", message: message)
                case .rolledBack: return StepOutcome(step: step.id, resource: step.resource, outcome: "rolled-back")
                }
            }
        }
    }
}

/// "90s", "2m", "1m30s", "500ms", or a bare number of seconds: the manifest's parser.
func parseSeconds(_ text: String) -> Double? { Durations.seconds(text) }
