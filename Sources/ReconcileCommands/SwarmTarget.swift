import ArgumentParser
import DockerEngine
import Foundation
import ReconcileCore
import ReconcileManifest
import ReconcileRuntime
import ReconcileSwarm

extension DeployTarget: ExpressibleByArgument {}

/// `--target`: one host or a swarm. The single-host commands do not know about Swarm: each
/// one asks `isSwarm` first and hands over to the functions below.
struct TargetOptions: ParsableArguments {
    @Option(help: "host (containers on one engine) or swarm (services of the Docker Swarm the engine manages). Default: the manifest's x-reconcile.target, else host.")
    var target: DeployTarget?

    /// The flag, else what the manifests declare.
    func isSwarm(_ manifest: ManifestOptions) -> Bool {
        if let target { return target == .swarm }
        guard let paths = try? manifest.resolvedPaths() else { return false }
        return ManifestLoader.declaredTarget(paths: paths) == .swarm
    }
}

/// The Swarm target's side of the commands: the same manifest, the same plan vocabulary and
/// views, through `ReconcileSwarm`'s observer, planner and executor.
enum SwarmCommands {
    /// Exit code of an apply whose update the swarm paused (failure_action: pause).
    static let pausedExitCode: Int32 = 4
    /// Exit code of an apply whose update the swarm rolled back (failure_action: rollback).
    static let rolledBackExitCode: Int32 = 5

    /// Loads the manifests for a swarm: the keys only Swarm honours are accepted.
    static func load(_ manifest: ManifestOptions) throws -> LoadedManifest {
        var loader = manifest.loader()
        loader.target = .swarm
        var loaded = try loader.load(paths: try manifest.resolvedPaths())
        let converted = SwarmConversion.convert(loaded.project)
        let errors = converted.problems.map { diagnostic($0, .error, loaded) }
        if !errors.isEmpty {
            let all = errors + converted.warnings.map { diagnostic($0, .warning, loaded) }
            throw ManifestError(diagnostics: all.sorted { ($0.file, $0.line, $0.column) < ($1.file, $1.line, $1.column) })
        }
        loaded.warnings += converted.warnings.map { diagnostic($0, .warning, loaded) }
        return loaded
    }

    /// A conversion issue at the position of its key (or of the nearest key above it).
    static func diagnostic(_ issue: SwarmIssue, _ severity: Diagnostic.Severity, _ loaded: LoadedManifest) -> Diagnostic {
        let at = loaded.position(of: issue.keyPath) ?? ManifestPosition(file: loaded.files.first ?? "", line: 1, column: 1)
        return Diagnostic(severity: severity, file: at.file, line: at.line, column: at.column, keyPath: issue.keyPath, message: issue.message)
    }

    /// The desired swarm; its warnings are already in the loaded manifest's.
    static func swarmDesired(_ loaded: LoadedManifest) -> SwarmDesired {
        var desired = SwarmConversion.convert(loaded.project)
        desired.warnings = []
        return desired
    }

    static func observe(_ client: DockerClient, _ desired: SwarmDesired) async throws -> SwarmObservedState {
        try await SwarmObserver(engine: client).observe(project: desired.project, networkNames: desired.networks.map(\.name))
    }

    // MARK: plan

    static func plan(_ command: PlanCommand) async throws {
        if command.state != nil { throw CLIError("--state is not supported with --target swarm yet: plan against the swarm, or --offline") }
        if command.out != nil { throw CLIError("--out is not supported with --target swarm yet: apply plans again against the swarm") }
        let loaded: LoadedManifest
        let observed: SwarmObservedState
        if command.offline {
            loaded = try load(command.manifest)
            observed = .empty
        } else {
            (loaded, observed) = try await withEngine(command.engine) { client in
                let loaded = try load(command.manifest)
                return (loaded, try await observe(client, swarmDesired(loaded)))
            }
        }
        let result = try SwarmPlanner.plan(desired: swarmDesired(loaded), observed: observed, options: .init(prune: command.prune, offline: command.offline))
        switch command.output {
        case .json: try Console.json(result)
        case .markdown: FileHandle.standardOutput.write(Data(PlanText.markdown(result).utf8))
        case .text:
            Console.diagnostics(loaded.warnings)
            Console.out(PlanText.render(result, color: Console.useColor()))
        }
        if command.detailedExitcode && !result.isEmpty { throw ExitCode(2) }
    }

    // MARK: apply

    struct ApplyReport: Encodable {
        var plan: Plan
        var steps: [StepOutcome]
        var succeeded: Bool
        var paused: Bool
        var rolledBack: Bool
        var seconds: Double

        struct StepOutcome: Encodable {
            var step: Int
            var resource: String
            var outcome: String
            var message: String?
        }
    }

    /// Returns the exit code: 0 converged, 1 failed, 4 paused, 5 rolled back.
    static func apply(
        manifest: ManifestOptions, engine: EngineOptions, format: OutputFormat, prune: Bool, yes: Bool, timeout: Double
    ) async throws -> Int32 {
        try await withEngine(engine) { client in
            let loaded = try load(manifest)
            if format == .text { Console.diagnostics(loaded.warnings) }
            let desired = swarmDesired(loaded)
            let options = SwarmPlanner.Options(prune: prune)
            let unlocked = try SwarmPlanner.plan(desired: desired, observed: try await observe(client, desired), options: options)
            if unlocked.isEmpty {
                if format == .json {
                    try Console.json(ApplyReport(plan: unlocked, steps: [], succeeded: true, paused: false, rolledBack: false, seconds: 0))
                } else {
                    for warning in unlocked.warnings { Console.err("warning: \(warning)") }
                    Console.out(PlanText.summaryLine(unlocked))
                }
                return 0
            }
            // The lock lives on the manager's engine, as a single-host project's lives on its host.
            let lock = try await EngineLock.acquire(client: client, project: desired.project, purpose: "apply")
            do {
                let code = try await applyLocked(
                    desired, project: loaded.project, client: client, options: options, format: format, yes: yes, timeout: timeout,
                    command: "apply --target swarm")
                await lock.release()
                return code
            } catch {
                await lock.release()
                throw error
            }
        }
    }

    static func applyLocked(
        _ desired: SwarmDesired, project: Project, client: DockerClient, options: SwarmPlanner.Options, format: OutputFormat, yes: Bool,
        timeout: Double, command: String, rollbackOf: Int? = nil
    ) async throws -> Int32 {
        let plan = try SwarmPlanner.plan(desired: desired, observed: try await observe(client, desired), options: options)
        if format == .text { Console.out(PlanText.render(plan, color: Console.useColor())) }
        if plan.isEmpty { return 0 }
        guard confirmed("Apply these changes?", yes: yes, format: format) else { return 0 }
        let started = ContinuousClock.now
        let executor = SwarmExecutor(engine: client, desired: desired, timeout: timeout)
        let result = await executor.execute(plan) { event in
            if format == .text { Console.out(event.text) }
        }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let historyError = await record(project, desired: desired, result: result, client: client, command: command, rollbackOf: rollbackOf)
        if let historyError, format == .text { Console.err("warning: \(historyError)") }
        switch format {
        case .json:
            try Console.json(
                ApplyReport(
                    plan: plan,
                    steps: result.outcomes.map {
                        ApplyReport.StepOutcome(step: $0.step.id, resource: $0.step.resource, outcome: $0.outcome.kind, message: $0.outcome.message)
                    },
                    succeeded: result.succeeded, paused: result.paused, rolledBack: result.rolledBack, seconds: seconds))
        case .text:
            if result.succeeded {
                Console.out(String(format: "Applied %d steps in %.1f s.", plan.steps.count, seconds))
            } else {
                for entry in result.outcomes where !entry.outcome.succeeded {
                    Console.err("error: \(entry.step.resource): \(entry.outcome.text)")
                }
                Console.err("apply did not converge: fix the cause and run apply again")
            }
        }
        if result.succeeded { return 0 }
        if result.rolledBack { return rolledBackExitCode }
        if result.paused { return pausedExitCode }
        return 1
    }

    /// Records the run as a revision in the project's history on the manager (the same
    /// history `reconcile history` and `rollback` read): Swarm keeps one previous spec only,
    /// and any update overwrites it. Returns why it could not, if it could not.
    static func record(
        _ project: Project, desired: SwarmDesired, result: SwarmApplyResult, client: DockerClient, command: String, rollbackOf: Int?
    ) async -> String? {
        let outcome: Revision.Outcome = result.succeeded ? .applied : result.rolledBack ? .rolledBack : .failed
        let message = result.outcomes.first { !$0.outcome.succeeded }.map { "\($0.step.resource): \($0.outcome.text)" }
        let (user, host) = Identity.current()
        let services = desired.services.map { service in
            Revision.ServiceRecord(
                name: service.name, image: service.spec.taskTemplate.containerSpec?.image ?? "", imageID: "",
                configHash: Revision.digest(of: Project(name: project.name, services: project.service(named: service.name).map { [$0] } ?? [])),
                replicas: service.replicas ?? 0)
        }
        do {
            try await History(client: client, project: project.name).append(limit: project.extensions.historyLimit ?? History.defaultLimit) { number in
                Revision(
                    number: number, project: project.name, time: Date().timeIntervalSince1970, user: user, host: host, command: command,
                    services: services, outcome: outcome, message: message, rollbackOf: rollbackOf, desired: project)
            }
            return nil
        } catch {
            return "the run was not recorded in history: \(error)"
        }
    }

    // MARK: rollback

    /// `reconcile rollback [N] --target swarm`: the spec of revision N (secrets from the
    /// manifest at hand), planned and applied like a manifest, pruning what it does not have.
    static func rollback(
        manifest: ManifestOptions, engine: EngineOptions, format: OutputFormat, revision wanted: Int?, yes: Bool, timeout: Double
    ) async throws -> Int32 {
        try await withEngine(engine) { client in
            let atHand = try? load(manifest)
            guard let name = manifest.project ?? atHand?.project.name else { throw CLIError("which project? pass -p NAME, or -f with its manifest") }
            let revisions = try await History(client: client, project: name).list().revisions
            guard let current = Revision.current(revisions) else {
                throw CLIError("\(name) has no applied revision in history: nothing to roll back from")
            }
            let target: Revision
            if let wanted {
                guard let found = revisions.first(where: { $0.number == wanted }) else {
                    throw CLIError("no revision \(wanted) of \(name) in history (have: \(revisions.map { String($0.number) }.joined(separator: ", ")))")
                }
                target = found
            } else {
                guard let previous = revisions.last(where: { $0.number < current.number && $0.outcome == .applied }) else {
                    throw CLIError("\(name) has no applied revision before revision \(current.number): name one (reconcile history)")
                }
                target = previous
            }
            // Swarm nodes resolve image tags themselves: a revision restores the spec and tags.
            let project = try target.desired.restoring(secretsFrom: atHand?.project, pinning: [])
            let desired = SwarmConversion.convert(project)
            if !desired.problems.isEmpty { throw PlanningError(problems: desired.problems.map(\.description)) }
            if format == .text { Console.out("Rolling \(name) back to revision \(target.number) (\(RevisionText.time(target.time)), \(target.command)).") }
            let lock = try await EngineLock.acquire(client: client, project: name, purpose: "rollback")
            do {
                let code = try await applyLocked(
                    desired, project: project, client: client, options: .init(prune: true), format: format, yes: yes, timeout: timeout,
                    command: "rollback to \(target.number) --target swarm", rollbackOf: target.number)
                await lock.release()
                return code
            } catch {
                await lock.release()
                throw error
            }
        }
    }

    // MARK: status

    struct StatusView: Encodable {
        var project: String
        var target = "swarm"
        var nodes: [ObservedNode]
        var services: [ServiceStatus]

        struct ServiceStatus: Encodable {
            var service: String
            var name: String
            var mode: String
            var desired: Int?
            var running: Int
            var upToDate: Bool
            var updateState: String?
            var updateMessage: String?
            var tasks: [TaskStatus]
        }

        struct TaskStatus: Encodable {
            var slot: Int?
            var node: String?
            var state: String
            var error: String?
            var gpus: [String]
        }
    }

    static func status(manifest: ManifestOptions, engine: EngineOptions, format: OutputFormat) async throws {
        let (loaded, observed) = try await withEngine(engine) { client in
            let loaded = try load(manifest)
            return (loaded, try await observe(client, swarmDesired(loaded)))
        }
        let desired = swarmDesired(loaded)
        var services: [StatusView.ServiceStatus] = []
        for service in desired.services {
            guard let current = observed.service(named: service.spec.name) else {
                services.append(.init(service: service.name, name: service.spec.name, mode: service.replicas == nil ? "global" : "replicated",
                                      desired: service.replicas, running: 0, upToDate: false, tasks: []))
                continue
            }
            let tasks = observed.tasks(of: current.id).filter { $0.desiredState == "running" }
            services.append(
                .init(
                    service: service.name, name: current.name, mode: current.spec.mode?.global != nil ? "global" : "replicated",
                    desired: current.spec.mode?.replicated?.replicas, running: tasks.filter(\.isRunning).count,
                    upToDate: SpecFields.fields(current.spec, networkNames: observed.networkNames) == SpecFields.fields(service.spec),
                    updateState: current.updateState, updateMessage: current.updateMessage,
                    tasks: tasks.map { .init(slot: $0.slot, node: observed.node($0.nodeID)?.hostname ?? $0.nodeID, state: $0.state, error: $0.error, gpus: $0.gpus) }))
        }
        let view = StatusView(project: desired.project, nodes: observed.nodes, services: services)
        if format == .json { try Console.json(view); return }
        Console.out("Project \(view.project) on a swarm of \(observed.nodes.count) node\(observed.nodes.count == 1 ? "" : "s"):")
        for node in observed.nodes {
            Console.out("  node \(node.hostname)  \(node.role)  \(node.state)  \(node.availability)" + (node.gpus.isEmpty ? "" : "  GPUs \(node.gpus.joined(separator: ","))"))
        }
        for service in services {
            var line = "\(service.service)  \(service.running)/\(service.desired.map(String.init) ?? "global") running"
            line += service.upToDate ? "  up to date" : "  differs from the manifest"
            if let state = service.updateState { line += "  update \(state)" }
            Console.out(line)
            for task in service.tasks {
                Console.out("    \(service.service).\(task.slot.map(String.init) ?? "-")  \(task.node ?? "(unassigned)")  \(task.state)"
                    + (task.gpus.isEmpty ? "" : "  GPU \(task.gpus.joined(separator: ","))") + (task.error.map { "  \($0)" } ?? ""))
            }
        }
    }

    // MARK: destroy

    static func destroy(manifest: ManifestOptions, engine: EngineOptions, format: OutputFormat) async throws {
        try await withEngine(engine) { client in
            let loaded = try load(manifest)
            let desired = swarmDesired(loaded)
            let observed = try await observe(client, desired)
            var steps: [PlanStep] = []
            for service in observed.services {
                steps.append(
                    PlanStep(
                        resource: "service:\(service.composeName(project: desired.project))", action: .remove,
                        cause: .serviceRemoved(service: service.composeName(project: desired.project)), engineName: service.name))
            }
            let removals = Array(steps.indices)
            for network in observed.networks where network.labels[LabelKey.project] == desired.project {
                steps.append(
                    PlanStep(
                        resource: "network:\(network.labels[LabelKey.resourceKey] ?? network.name)", action: .removeNetwork,
                        cause: .networkNotInManifest, dependsOn: removals, engineName: network.name))
            }
            for index in steps.indices { steps[index].id = index }
            var plan = Plan(project: desired.project, steps: steps)
            plan.target = "swarm"
            let result = await SwarmExecutor(engine: client, desired: desired).execute(plan) { event in
                if format == .text, case .stepFinished = event { Console.out(event.text) }
            }
            if format == .json {
                try Console.json(result.outcomes.map { ["resource": $0.step.resource, "outcome": $0.outcome.kind] })
            } else {
                Console.out("Removed \(result.outcomes.filter { $0.outcome.succeeded }.count) of \(steps.count) objects.")
            }
            if !result.succeeded { throw ExitCode.failure }
        }
    }
}

extension SwarmOutcome {
    /// One word for JSON: done, completed, paused, rolled-back, failed, skipped.
    var kind: String {
        switch self {
        case .done: return "done"
        case .completed: return "completed"
        case .paused: return "paused"
        case .rolledBack: return "rolled-back"
        case .failed: return "failed"
        case .skipped: return "skipped"
        }
    }

    var message: String? {
        switch self {
        case .paused(let message), .rolledBack(let message), .failed(let message): return message
        default: return nil
        }
    }
}
