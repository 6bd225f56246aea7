import ArgumentParser
import DockerEngine
import Foundation
import ReconcileCore
import ReconcileRuntime

/// `--yes`, `--parallelism` and `--timeout`: how apply and rollback carry out a plan.
struct RolloutOptions: ParsableArguments {
    @Flag(name: [.customShort("y"), .long], help: "Do not ask for confirmation.")
    var yes = false

    @Option(help: "Steps in flight at once (default: 4 per core).")
    var parallelism: Int = ExecutionOptions.defaultParallelism

    @Option(help: "Longest wait for a health gate, a dependency or apply's --wait, e.g. 90s, 5m.")
    var timeout: String = "120s"

    /// `--timeout` in seconds.
    func timeoutSeconds() throws -> Double {
        guard let seconds = parseSeconds(timeout) else {
            throw ValidationError("--timeout \(timeout): expected a duration such as 30s, 2m or 1m30s")
        }
        return seconds
    }

    func execution(timeout: Double, stop: StopSignal) -> ExecutionOptions {
        ExecutionOptions(parallelism: parallelism, gateTimeout: timeout, stop: stop)
    }
}

/// `--no-validate` and `--workload-image`, shared by apply and rollback.
struct ValidationFlags: ParsableArguments {
    @Flag(help: "Skip x-reconcile.validate after the rollout.")
    var noValidate = false

    @Option(help: "Image of validation jobs without validate.image (default: $RECONCILE_WORKLOAD_IMAGE, else reconcile:dev).")
    var workloadImage: String?

    func options(_ client: DockerClient) -> ValidationOptions {
        var options = ValidationOptions.forEngine(client)
        if let workloadImage { options.workloadImage = workloadImage }
        return options
    }
}

/// Text views of validation, rollback and the revision written, after a rollout.
enum ValidationView {
    static func report(_ deployed: Deployment.Result) {
        if !deployed.validations.isEmpty {
            Console.out("Validation:")
            for report in deployed.validations { Console.out(indent(RevisionText.validation(report))) }
        }
        if !deployed.unhealthy.isEmpty {
            Console.err("error: not running and healthy in time: \(deployed.unhealthy.joined(separator: ", "))")
        }
        for failure in deployed.blockingFailures {
            Console.err("error: validation of \(failure.service) failed: \(failure.failure ?? "failed") (on_failure: \(failure.onFailure.rawValue))")
        }
        if let rollback = deployed.rollback {
            if rollback.revision > 0 {
                Console.err("rolled back to revision \(rollback.revision): \(rollback.plan.steps.count) steps, \(rollback.execution.succeeded ? "converged" : "did not converge")")
                for report in rollback.validations { Console.err(indent(RevisionText.validation(report))) }
            }
            if let why = rollback.impossible { Console.err("error: \(why)") }
        }
        if let revision = deployed.revision {
            let line = "Revision \(revision.number) recorded (\(revision.outcome.rawValue))."
            if revision.outcome == .applied { Console.out(line) } else { Console.err(line) }
        }
    }

    static func indent(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n")
    }
}

/// Under the project's lock: plans again (the host may have changed since the plan was
/// shown) and runs the deployment with a progress view. Returns the plan it ran.
/// The plan a person was shown (or a saved plan), and the observed state it was made from.
struct ShownPlan {
    var plan: Plan
    /// `ObservedState.fingerprintLines()` of the state it was planned against.
    var observed: [String]
}

/// What to do when the state observed under the lock differs from the one the shown plan was
/// made from: given what changed and the fresh plan, return true to carry out the fresh
/// plan (after showing it and asking, or `--replan`), false to apply nothing (the person
/// said no), or throw `StalePlanError`.
typealias ReplanDecision = (_ changes: [String], _ fresh: Plan) throws -> Bool

/// Takes the project's lock, observes again and carries out a plan under it. With `shown`,
/// that plan is carried out exactly when the engine still holds what it was made from;
/// otherwise `onChange` decides (nil: refused as stale). Without `shown`, the plan made under
/// the lock is carried out. Nil when the person declined the new plan.
func deployUnderLock(
    client: DockerClient, project: Project, planOptions: PlanOptions, options: Deployment.Options, format: OutputFormat,
    shown: ShownPlan? = nil, onChange: ReplanDecision? = nil
) async throws -> (plan: Plan, result: Deployment.Result)? {
    let lock = try await EngineLock.acquire(client: client, project: project.name, purpose: options.rollbackOf == nil ? "apply" : "rollback")
    do {
        let observed = try await Observer(client: client).observe(project: project)
        var steps: Plan
        if let shown {
            let now = observed.fingerprintLines()
            if now == shown.observed {
                steps = shown.plan
            } else {
                let fresh = try plan(desired: project, observed: observed, options: planOptions)
                let changes = SavedPlan.changes(from: shown.observed, to: now)
                guard let onChange else {
                    throw StalePlanError(reasons: ["the engine changed since the plan was made: " + changes.joined(separator: "; ")])
                }
                guard try onChange(changes, fresh) else {
                    await lock.release()
                    return nil
                }
                steps = fresh
            }
        } else {
            steps = try plan(desired: project, observed: observed, options: planOptions)
        }
        let view = ProgressView(format: format)
        let result = await Deployment(client: client, options: options, emit: { view.handle($0) }).run(project, plan: steps)
        view.finish()
        await lock.release()
        return (steps, result)
    } catch {
        await lock.release()
        throw error
    }
}

/// On a terminal in text mode, unless --yes: asks, and says "Nothing applied." on no.
func confirmed(_ question: String, yes: Bool, format: OutputFormat) -> Bool {
    guard !yes && Console.stdinIsTerminal && Console.stdoutIsTerminal && format == .text else { return true }
    FileHandle.standardOutput.write(Data("\n\(question) [y/N] ".utf8))
    let answer = readLine()?.lowercased() ?? ""
    guard answer == "y" || answer == "yes" else {
        Console.out("Nothing applied.")
        return false
    }
    return true
}

extension ManifestOptions {
    /// `--project`, else the manifest's project name.
    func projectName() throws -> String {
        if let project { return project }
        return try load().project.name
    }
}
