import DockerEngine
import Foundation
import ReconcileCore

/// What the Swarm executor reports as it goes.
public enum SwarmProgress: Sendable, Equatable {
    case stepStarted(PlanStep)
    /// A rollout or convergence in progress: `running` of `desired` tasks on the new spec.
    case rollout(service: String, state: String, running: Int, desired: Int?)
    case retried(service: String, attempt: Int)
    case stepFinished(PlanStep, outcome: SwarmOutcome)

    /// One line for a person.
    public var text: String {
        switch self {
        case .stepStarted(let step): return "\(step.action.symbol) \(step.resource): \(step.action.rawValue)…"
        case .rollout(let service, let state, let running, let desired):
            return "  \(service): \(state), \(running)\(desired.map { "/\($0)" } ?? "") tasks running"
        case .retried(let service, let attempt):
            return "  \(service): the service changed while we sent the update (out of sequence); read again, attempt \(attempt)"
        case .stepFinished(let step, let outcome): return "\(step.action.symbol) \(step.resource): \(outcome.text)"
        }
    }
}

/// How one step ended.
public enum SwarmOutcome: Sendable, Equatable, Codable {
    case done
    /// The update completed (`UpdateStatus.State` completed, or every task on the new spec).
    case completed
    /// The swarm paused the update (a task failed and failure_action is pause).
    case paused(message: String)
    /// The swarm rolled back to the previous spec (failure_action rollback).
    case rolledBack(message: String)
    case failed(message: String)
    /// Not started: a step it depends on did not succeed.
    case skipped

    public var succeeded: Bool {
        switch self {
        case .done, .completed: return true
        default: return false
        }
    }

    public var text: String {
        switch self {
        case .done: return "done"
        case .completed: return "update completed"
        case .paused(let message): return "update paused" + (message.isEmpty ? "" : ": \(message)")
        case .rolledBack(let message): return "update rolled back" + (message.isEmpty ? "" : ": \(message)")
        case .failed(let message): return "failed: \(message)"
        case .skipped: return "skipped: a step it depends on did not succeed"
        }
    }
}

/// What apply reports: each step's outcome, in plan order.
public struct SwarmApplyResult: Sendable, Equatable {
    public struct StepResult: Sendable, Equatable {
        public var step: PlanStep
        public var outcome: SwarmOutcome
    }

    public var outcomes: [StepResult]

    public var succeeded: Bool { outcomes.allSatisfy { $0.outcome.succeeded } }
    public var rolledBack: Bool { outcomes.contains { if case .rolledBack = $0.outcome { return true } else { return false } } }
    public var paused: Bool { outcomes.contains { if case .paused = $0.outcome { return true } else { return false } } }
}

/// Carries out a Swarm plan: one engine call per step (networks first, then services), and
/// follows each service until the swarm has done what was asked. It decides how, never
/// whether: every step is in the plan.
public struct SwarmExecutor: Sendable {
    public let engine: any SwarmEngine
    public let desired: SwarmDesired
    /// How long one service may take to converge (`--timeout`).
    public var timeout: Double
    /// Seconds between looks at a rollout.
    public var pollInterval: Double
    /// Attempts at an update the engine refuses as out of sequence.
    public static let updateAttempts = 3

    public init(engine: any SwarmEngine, desired: SwarmDesired, timeout: Double = 300, pollInterval: Double = 0.25) {
        self.engine = engine
        self.desired = desired
        self.timeout = timeout
        self.pollInterval = pollInterval
    }

    public func execute(_ plan: Plan, onProgress: @escaping @Sendable (SwarmProgress) -> Void = { _ in }) async -> SwarmApplyResult {
        var outcomes: [Int: SwarmOutcome] = [:]
        var pending = plan.steps
        // In waves: every step whose dependencies have finished runs at once with the others
        // of its wave (services are created and followed side by side; a network before the
        // services on it, a network removal after the services that used it).
        while !pending.isEmpty {
            let ready = pending.filter { $0.dependsOn.allSatisfy { outcomes[$0] != nil } }
            guard !ready.isEmpty else {
                // Dependencies on steps outside the plan: nothing can run.
                for step in pending { outcomes[step.id] = .skipped }
                break
            }
            pending.removeAll { step in ready.contains { $0.id == step.id } }
            let finished = await withTaskGroup(of: (Int, SwarmOutcome).self) { group in
                for step in ready {
                    if step.dependsOn.contains(where: { outcomes[$0]?.succeeded != true }) {
                        onProgress(.stepFinished(step, outcome: .skipped))
                        group.addTask { (step.id, .skipped) }
                        continue
                    }
                    group.addTask {
                        onProgress(.stepStarted(step))
                        let outcome: SwarmOutcome
                        do {
                            outcome = try await carryOut(step, onProgress: onProgress)
                        } catch {
                            outcome = .failed(message: String(describing: error))
                        }
                        onProgress(.stepFinished(step, outcome: outcome))
                        return (step.id, outcome)
                    }
                }
                var done: [(Int, SwarmOutcome)] = []
                for await entry in group { done.append(entry) }
                return done
            }
            for (id, outcome) in finished { outcomes[id] = outcome }
        }
        return SwarmApplyResult(outcomes: plan.steps.map { .init(step: $0, outcome: outcomes[$0.id] ?? .skipped) })
    }

    private func carryOut(_ step: PlanStep, onProgress: @escaping @Sendable (SwarmProgress) -> Void) async throws -> SwarmOutcome {
        let name = step.engineName ?? ""
        switch step.action {
        case .createNetwork:
            guard let network = desired.networks.first(where: { $0.name == name }) else { return .failed(message: "network \(name) is not in the manifest") }
            do { _ = try await engine.createNetwork(network.request) } catch let error as DockerError where error.isConflict {}
            return .done
        case .removeNetwork:
            return try await removeNetwork(name)
        case .remove:
            do { try await engine.removeService(name) } catch let error as DockerError where error.isNotFound {}
            return .done
        case .create:
            guard let service = desired.services.first(where: { $0.spec.name == name }) else { return .failed(message: "service \(name) is not in the manifest") }
            let created = try await engine.createService(service.spec)
            return try await follow(service: service, id: created.id, previousUpdate: nil, onProgress: onProgress)
        case .update, .scale:
            guard let service = desired.services.first(where: { $0.spec.name == name }) else { return .failed(message: "service \(name) is not in the manifest") }
            var attempt = 1
            while true {
                let current = try await engine.inspectService(name)
                do {
                    _ = try await engine.updateService(current.id, version: current.version.index, spec: service.spec, rollback: false)
                    // An update starts a new UpdateStatus; a scale keeps the old one.
                    return try await follow(
                        service: service, id: current.id, previousUpdate: step.action == .scale ? current.updateStatus : nil,
                        onProgress: onProgress)
                } catch let error as DockerError where error.isOutOfSequence && attempt < Self.updateAttempts {
                    attempt += 1
                    onProgress(.retried(service: service.name, attempt: attempt))
                }
            }
        case .start, .recreate, .createVolume, .removeVolume, .build:
            return .failed(message: "\(step.action.rawValue) is a step of a single-host plan; apply it without --target swarm")
        }
    }

    /// Waits until the service has settled: its update completed, paused or rolled back, or
    /// (create, scale) its replicas run on the spec sent.
    private func follow(
        service: DesiredSwarmService, id: String, previousUpdate: UpdateStatus?, onProgress: @escaping @Sendable (SwarmProgress) -> Void
    ) async throws -> SwarmOutcome {
        let start = ContinuousClock.now
        var lastReport = ""
        while true {
            let current = try await engine.inspectService(id)
            let tasks = try await engine.listTasks(filters: ["service": [id], "desired-state": ["running"]])
            let wanted = Self.taskFields(service.spec.taskTemplate)
            let onSpec = tasks.filter { $0.spec.map(Self.taskFields) == wanted }
            let running = onSpec.filter { $0.status.state == "running" }.count
            let status = current.updateStatus == previousUpdate ? nil : current.updateStatus
            let state = status?.state ?? "converging"
            let report = "\(state) \(running)"
            if report != lastReport {
                onProgress(.rollout(service: service.name, state: state, running: running, desired: service.replicas))
                lastReport = report
            }
            switch status?.state {
            case "completed"?: return .completed
            case "paused"?: return .paused(message: status?.message ?? "")
            case "rollback_completed"?: return .rolledBack(message: status?.message ?? "")
            // The rollback itself hit a failure: neither spec runs everywhere.
            case "rollback_paused"?: return .paused(message: "the rollback paused: " + (status?.message ?? ""))
            case "updating"?, "rollback_started"?: break
            default:
                // No update in progress (a create, a scale, a change the tasks do not see):
                // settled when every task that should run runs the spec sent.
                if let replicas = service.replicas, running == replicas, tasks.count == replicas { return .done }
                if service.replicas == nil, !tasks.isEmpty, running == tasks.count { return .done }
            }
            if ContinuousClock.now - start > .seconds(timeout) {
                let errors = Set(tasks.compactMap { $0.status.err }).sorted()
                return .failed(
                    message: "not settled after \(PlanText.seconds(timeout)) (\(state), \(running) tasks running"
                        + (errors.isEmpty ? "" : "; task errors: \(errors.joined(separator: "; "))") + ")")
            }
            try await Task.sleep(for: .seconds(pollInterval))
        }
    }

    /// A task's spec as the fields that make it current: what the swarm compares to decide
    /// that a task must be replaced.
    static func taskFields(_ spec: TaskSpec) -> [String: String] {
        // Networks are left out: the engine names them by id in task specs.
        SpecFields.fields(ServiceSpec(name: "", taskTemplate: spec)).filter { $0.key != "deploy.replicas" && !$0.key.hasPrefix("networks.") }
    }

    /// A network is removed once the swarm has shut down the tasks of removed services that
    /// were attached to it. The engine's answer is not enough to tell: a manager that cannot
    /// remove a swarm network yet (tasks still attached) falls back to its local networks and
    /// answers 404, or 500 "not found", while the network stays. So each attempt is checked
    /// by listing, and retried until the network is gone or `timeout` passes.
    private func removeNetwork(_ name: String) async throws -> SwarmOutcome {
        let start = ContinuousClock.now
        while true {
            let found = try await engine.listNetworks(filters: ["name": [name]]).filter { $0.name == name }
            guard let network = found.first else { return .done }
            do {
                try await engine.removeNetwork(network.id)
            } catch is DockerError {
                // Judged by the listing above on the next turn.
            }
            if try await engine.listNetworks(filters: ["name": [name]]).allSatisfy({ $0.name != name }) { return .done }
            if ContinuousClock.now - start > .seconds(timeout) {
                return .failed(message: "network \(name) is still in use after \(PlanText.seconds(timeout))")
            }
            try await Task.sleep(for: .seconds(pollInterval))
        }
    }
}
