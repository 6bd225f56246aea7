import DockerEngine
import Foundation
import ReconcileCore

/// A rollout as `apply` and `rollback` carry it out: execute the plan, wait for the changed
/// services to be healthy, validate those that declare it, record the revision, and, when
/// validation fails with `on_failure: rollback`, put the previous revision back (same image
/// ids, same config), validate that again and record how it went.
///
/// The caller holds the project's lock for the whole of it.
public struct Deployment: Sendable {
    public struct Options: Sendable {
        public var execution: ExecutionOptions
        /// False for `--no-validate`.
        public var validate: Bool
        public var validation: ValidationOptions
        /// Remove services and networks the manifest no longer has.
        public var prune: Bool
        /// "apply", "rollback to 3", …: stored with the revision.
        public var command: String
        /// Set by `reconcile rollback`: the revision re-applied.
        public var rollbackOf: Int?

        public init(execution: ExecutionOptions, validate: Bool = true, validation: ValidationOptions = .init(), prune: Bool = false,
                    command: String = "apply", rollbackOf: Int? = nil) {
            self.execution = execution
            self.validate = validate
            self.validation = validation
            self.prune = prune
            self.command = command
            self.rollbackOf = rollbackOf
        }
    }

    public struct Result: Sendable {
        public var execution: ExecutionResult
        public var validations: [ServiceValidation] = []
        /// The revision recorded; nil when nothing new was deployed (same state as the
        /// current revision) or history could not be written (see `historyError`).
        public var revision: Revision?
        public var historyError: String?
        /// When validation failed and the previous revision was put back.
        public var rollback: Rollback?
        /// Services still not running and healthy when the wait for them ended.
        public var unhealthy: [String] = []

        public struct Rollback: Sendable {
            public var revision: Int
            public var plan: Plan
            public var execution: ExecutionResult
            public var validations: [ServiceValidation]
            /// Why no rollback happened though one was asked for.
            public var impossible: String?
        }

        /// The host matches the manifest and every blocking validation passed.
        public var succeeded: Bool {
            execution.succeeded && unhealthy.isEmpty && blockingFailures.isEmpty
        }

        /// Failed validations whose `on_failure` is not `ignore`.
        public var blockingFailures: [ServiceValidation] {
            validations.filter { !$0.passed && $0.onFailure != .ignore }
        }
    }

    let client: any ContainerEngine
    let options: Options
    let emit: @Sendable (ProgressEvent) -> Void

    public init(client: any ContainerEngine, options: Options, emit: @escaping @Sendable (ProgressEvent) -> Void = { _ in }) {
        self.client = client
        self.options = options
        self.emit = emit
    }

    /// Carries out `plan` (made for `project`) and everything after it.
    public func run(_ project: Project, plan: Plan) async -> Result {
        let executor = Executor(client: client, project: project, options: options.execution, emit: emit)
        var result = Result(execution: await executor.run(plan))
        let history = History(client: client, project: project.name)
        guard result.execution.succeeded else {
            if !result.execution.interrupted {
                let message = result.execution.failures.first.map { "did not converge: \(plan.steps[$0.step].resource): \($0.message.split(separator: "\n").first ?? "")" }
                await record(project, outcome: .failed, message: message, into: &result, history: history)
            }
            return result
        }

        let checked = await validateChanged(project, plan: plan)
        result.unhealthy = checked.unhealthy
        result.validations = checked.validations
        if !checked.unhealthy.isEmpty {
            result.validations = checked.services.map { service in
                ServiceValidation(
                    service: service.name, mode: service.extensions.validate?.mode ?? .job, seconds: 0,
                    runs: [.init(target: "service", passed: false, message: "not healthy in time: \(checked.unhealthy.joined(separator: ", "))")],
                    onFailure: service.extensions.validate?.onFailure ?? .rollback)
            }
        }

        let failures = result.blockingFailures
        guard !failures.isEmpty else {
            await record(project, outcome: .applied, message: nil, into: &result, history: history, skipIfCurrent: true)
            return result
        }
        let summary = failures.compactMap { f in f.failure.map { "\(f.service): \($0)" } }.joined(separator: "; ")
        guard failures.contains(where: { $0.onFailure == .rollback }) else {
            await record(project, outcome: .failed, message: "validation failed (on_failure: pause): \(summary)", into: &result, history: history)
            return result
        }

        // Roll back: the newest applied revision is what ran before this one.
        let previous: Revision?
        do {
            previous = Revision.current(try await history.list().revisions)
        } catch {
            previous = nil
            result.historyError = "could not read history: \(Executor.describe(error))"
        }
        guard let previous else {
            result.rollback = .init(revision: 0, plan: Plan(project: project.name), execution: .init(), validations: [],
                                    impossible: "there is no earlier applied revision to roll back to; the failed one is left in place")
            await record(project, outcome: .failed, message: "validation failed: \(summary); no earlier revision to roll back to", into: &result, history: history)
            return result
        }
        emit(.note("validation failed (\(summary)): rolling back to revision \(previous.number)"))
        let restored: Project
        do {
            restored = try previous.desired.restoring(secretsFrom: project, pinning: previous.services)
        } catch {
            result.rollback = .init(revision: previous.number, plan: Plan(project: project.name), execution: .init(), validations: [],
                                    impossible: "\(error)")
            await record(project, outcome: .failed, message: "validation failed: \(summary); rollback impossible: \(error)", into: &result, history: history)
            return result
        }
        var rollback = Result.Rollback(revision: previous.number, plan: Plan(project: project.name), execution: .init(), validations: [])
        do {
            let observed = try await Observer(client: client).observe(project: restored)
            rollback.plan = try ReconcileCore.plan(
                desired: restored, observed: observed, options: PlanOptions(
                    prune: true, preferredGPUs: previous.gpuPlacement, defaultMonitor: options.execution.defaultMonitor,
                    gateTimeout: options.execution.gateTimeout))
            rollback.execution = await Executor(client: client, project: restored, options: options.execution, emit: emit).run(rollback.plan)
            if rollback.execution.succeeded {
                let checked = await validateChanged(restored, plan: rollback.plan)
                rollback.validations = checked.validations
                if !checked.unhealthy.isEmpty {
                    rollback.impossible = "the restored revision was not healthy in time: \(checked.unhealthy.joined(separator: ", "))"
                }
            } else {
                rollback.impossible = "the rollback did not converge: " + rollback.execution.failures.map(\.message).joined(separator: "; ")
            }
        } catch {
            rollback.impossible = "the rollback could not be planned: \(Executor.describe(error))"
        }
        result.rollback = rollback
        var message = "validation failed: \(summary); rolled back to revision \(previous.number)"
        if let why = rollback.impossible { message += ", but \(why)" }
        // A rollback that did not restore the previous revision is a failure, whatever it tried.
        await record(project, outcome: rollback.impossible == nil ? .rolledBack : .failed, message: message, into: &result, history: history,
                     restored: previous.number, restoredValidations: rollback.validations)
        return result
    }

    /// The services `plan` changed that declare validation, once their replicas are running
    /// and healthy: validated, or (when not healthy in time) the replicas still pending.
    private func validateChanged(_ project: Project, plan: Plan) async -> (services: [Service], validations: [ServiceValidation], unhealthy: [String]) {
        let validator = Validator(client: client, project: project, options: options.validation) { emit(.note($0)) }
        let services = options.validate ? validator.services(Set(plan.steps.compactMap(\.service))) : []
        guard !services.isEmpty else { return ([], [], []) }
        let pending = await Readiness(client: client, project: project)
            .wait(services: services.map(\.name), timeout: options.execution.gateTimeout)
        guard pending.isEmpty else { return (services, [], pending) }
        return (services, await validator.validate(services), [])
    }

    /// Writes the revision. History that cannot be written does not undo a deployment: the
    /// error is reported and the next apply writes again.
    private func record(
        _ project: Project, outcome: Revision.Outcome, message: String?, into result: inout Result, history: History,
        skipIfCurrent: Bool = false, restored: Int? = nil, restoredValidations: [ServiceValidation]? = nil
    ) async {
        do {
            result.revision = try await history.record(
                project, command: options.command, outcome: outcome, message: message, validations: result.validations,
                rollbackOf: options.rollbackOf, restored: restored, restoredValidations: restoredValidations,
                skipIfCurrent: skipIfCurrent && options.rollbackOf == nil)
        } catch {
            result.historyError = "the revision was not recorded: \(Executor.describe(error))"
        }
    }
}

extension History {
    /// Records what runs now for `project` as a new revision. With `skipIfCurrent`, writes
    /// nothing and returns nil when that is the revision in force already (same manifest
    /// digest, same image ids): a repair, not a new revision.
    public func record(
        _ project: Project, command: String, outcome: Revision.Outcome, message: String? = nil, validations: [ServiceValidation] = [],
        rollbackOf: Int? = nil, restored: Int? = nil, restoredValidations: [ServiceValidation]? = nil, skipIfCurrent: Bool = false
    ) async throws -> Revision? {
        let services = try await Self.serviceRecords(client: client, project: project)
        let existing = try await list()
        if skipIfCurrent, let current = Revision.current(existing.revisions),
           current.manifestDigest == Revision.digest(of: project), current.services.map(\.imageID) == services.map(\.imageID) {
            return nil
        }
        let who = Identity.current()
        return try await append(limit: project.extensions.historyLimit ?? History.defaultLimit, existing: existing) { number in
            Revision(
                number: number, project: project.name, time: Date().timeIntervalSince1970, user: who.user, host: who.host,
                command: command, services: services, validations: validations, outcome: outcome, message: message,
                rollbackOf: rollbackOf, restored: restored, restoredValidations: restoredValidations, desired: project)
        }
    }

    /// What each service runs now: image id, config hash and GPUs per replica.
    static func serviceRecords(client: any ContainerEngine, project: Project) async throws -> [Revision.ServiceRecord] {
        let observed = try await Observer(client: client).observe(project: project)
        return project.services.map { service in
            let replicas = observed.containers.filter { $0.service == service.name && !$0.isSurge }
                .sorted { ($0.replica ?? 0) < ($1.replica ?? 0) }
            var gpus: [String: [String]] = [:]
            for container in replicas where !container.gpuDeviceIDs.isEmpty {
                if let replica = container.replica { gpus[String(replica)] = container.gpuDeviceIDs.sorted() }
            }
            let imageID = service.pinnedImageID ?? observed.images[service.image] ?? replicas.first?.imageID ?? ""
            let hash = replicas.first?.configHash ?? ReplicaConfig(service: service, project: project).hash(key: project.hashKey)
            return Revision.ServiceRecord(
                name: service.name, image: service.image, imageID: imageID, configHash: hash, replicas: service.replicas, gpus: gpus)
        }
    }
}

/// Waits until replicas are running and, where they have a health check, healthy.
public struct Readiness: Sendable {
    let client: any ContainerEngine
    let project: Project

    public init(client: any ContainerEngine, project: Project) {
        self.client = client
        self.project = project
    }

    /// The replica names still not ready when `timeout` passed; empty when all are.
    public func wait(services names: [String]? = nil, timeout: Double) async -> [String] {
        let deadline = ContinuousClock.now + .seconds(timeout)
        let observer = Observer(client: client)
        let services = project.services.filter { names?.contains($0.name) ?? true }
        var pending: [String] = []
        while true {
            guard let state = try? await observer.observe(project: project) else {
                pending = ["(the engine did not answer)"]
                if ContinuousClock.now > deadline { return pending }
                try? await Task.sleep(for: .milliseconds(200))
                continue
            }
            pending = services.flatMap { service -> [String] in
                (0..<max(service.replicas, 0)).compactMap { index in
                    let name = Naming.containerName(project: project.name, service: service, replica: index + 1)
                    guard let container = state.containers.first(where: { $0.name == name }) else { return name }
                    return container.isReady ? nil : name
                }
            }
            if pending.isEmpty || ContinuousClock.now > deadline { return pending }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }
}
