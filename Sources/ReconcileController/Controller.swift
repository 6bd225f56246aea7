import DockerEngine
import Foundation
import Logging
import ReconcileCore
import ReconcileManifest
import ReconcileRuntime
import ServiceLifecycle
import Synchronization

public struct ControllerConfiguration: Sendable {
    /// The `-f` paths, watched for edits.
    public var paths: [String]
    public var prune: Bool
    /// Seconds between full passes when nothing else asks for one.
    public var resync: Double
    /// Seconds between looks at the manifest files.
    public var manifestPoll: Double
    public var parallelism: Int
    /// Longest wait for a health gate or a dependency, as `apply --timeout`.
    public var gateTimeout: Double
    public var replicaBackoff: BackoffPolicy
    /// A replica that ran this long before it crashed is started again at once.
    public var backoffReset: Double
    /// Takes the project's lock again when it is removed under the controller (`reconcile
    /// unlock` while it runs); false when another process holds it now. Nil: not watched.
    public var relock: (@Sendable () async -> Bool)?
    /// The clock autoscale intervals are waited on and decisions timed by.
    public var autoscaleClock: AutoscaleClock
    /// Reads a replica's metrics page (nil: an HTTP GET); tests answer from memory.
    public var scrape: ReplicaMeter.Fetch?

    public init(
        paths: [String], prune: Bool = false, resync: Double = 30, manifestPoll: Double = 1,
        parallelism: Int = ExecutionOptions.defaultParallelism, gateTimeout: Double = 120,
        replicaBackoff: BackoffPolicy = .replica, backoffReset: Double = 60, relock: (@Sendable () async -> Bool)? = nil,
        autoscaleClock: AutoscaleClock = .continuous, scrape: ReplicaMeter.Fetch? = nil
    ) {
        self.relock = relock
        self.autoscaleClock = autoscaleClock
        self.scrape = scrape
        self.paths = paths
        self.prune = prune
        self.resync = resync
        self.manifestPoll = manifestPoll
        self.parallelism = parallelism
        self.gateTimeout = gateTimeout
        self.replicaBackoff = replicaBackoff
        self.backoffReset = backoffReset
    }
}

/// What `/status` and `/readyz` report about the controller itself.
public struct ControllerStatus: Codable, Sendable {
    public var ready: Bool
    public var eventStreamConnected: Bool
    public var lastPassSucceeded: Bool
    public var passes: Int
    public var lastError: String?
    public var manifestValid: Bool
    public var manifestError: String?
    public var manifestDigest: String
    public var backoff: [Backoff]
    /// Each autoscaled service's last decision.
    public var autoscale: [AutoscaleStatus] = []
    /// Paused from the dashboard: observing, changing nothing.
    public var paused: Bool = false
    /// A revision put back from the dashboard, in force until the manifest files change.
    public var heldRevision: Int?

    public struct Backoff: Codable, Sendable {
        public var service: String
        public var replica: Int
        public var failures: Int
        public var retryInSeconds: Double
    }
}

/// Keeps one project on one engine converged: a loop around the same observer, planner and
/// executor as `apply`.
///
/// Level-triggered: engine events, manifest edits, a periodic resync and retries only ask
/// for a pass; requests that arrive while a pass runs are coalesced into one more pass.
/// Each pass observes the whole project, plans and executes. The controller's one decision
/// of its own is when to leave a step out: the start of a crash-looping replica waits out
/// that replica's backoff (`ReplicaBackoff`), and a pass that failed is retried with a
/// growing delay. A graceful shutdown lets the running pass finish and starts no other.
public final class Controller: ServiceLifecycle.Service, Sendable {
    public let client: any ContainerEngine
    public let configuration: ControllerConfiguration
    public let metrics: ControllerMetrics
    /// The last observation and recent events, for the dashboard.
    public let journal: ControllerJournal
    let load: @Sendable () throws -> LoadedManifest
    let logger: Logger
    let observer: Observer
    let projectName: String
    let state: Mutex<State>
    let autoscale = Mutex(AutoscaleMemory())
    let meter: ReplicaMeter
    private let wakeups: AsyncStream<Void>
    private let wakeup: AsyncStream<Void>.Continuation
    private let origin = ContinuousClock.now
    /// Never raised: a drain lets the running pass finish its steps.
    private let noStop = StopSignal()

    struct State {
        var project: Project
        var digest: String
        /// The files besides the manifests that the project in force was read from.
        var inputs: [String]
        /// The digest of the manifest the host last converged to; steps taken while it is
        /// still the manifest in force repair drift rather than roll out an edit.
        var convergedDigest: String?
        var manifestDirty = false
        var manifestError: String?
        var reasons: Set<String> = []
        var backoff: ReplicaBackoff
        /// Containers someone stopped or killed (the engine sent `kill` or `stop` before
        /// `die`): starting them again is drift repair, not a crash loop.
        var stoppedByOthers: Set<String> = []
        /// Containers the engine said died or stopped, by when (seconds on `now()`): the list
        /// call right after the event can still show them running, and then the pass looks again.
        var recentDeaths: [String: Double] = [:]
        /// The event stream came back after a break: the engine may have restarted, and
        /// replicas found stopped by the next pass died with it, not of a crash of their own.
        var engineReturned = false
        var streamConnected = false
        var lastPassSucceeded = false
        var lastError: String?
        var passes = 0
        var failedPasses = 0
        var wakeAt: Double?
        var wakeTask: Task<Void, Never>?
        var stopping = false
        /// Another process took the lock: the controller stops and exits non-zero.
        var lockLost = false
        /// Paused from the dashboard: passes observe but change nothing.
        var paused = false
        /// The revision put back from the dashboard: in force until the manifest files change.
        var heldRevision: Int?
    }

    /// - Parameters:
    ///   - initial: the manifest loaded before starting; its project is the one locked.
    ///   - load: loads the manifest again after an edit.
    public init(
        client: any ContainerEngine, initial: LoadedManifest, configuration: ControllerConfiguration,
        load: @escaping @Sendable () throws -> LoadedManifest, logger: Logger, metrics: ControllerMetrics = ControllerMetrics(),
        observer: Observer? = nil, journal: ControllerJournal = ControllerJournal()
    ) {
        self.journal = journal
        self.client = client
        self.configuration = configuration
        self.metrics = metrics
        self.load = load
        var logger = logger
        logger[metadataKey: "project"] = "\(initial.project.name)"
        self.logger = logger
        self.observer = observer ?? Observer(client: client)
        meter = ReplicaMeter(client: client, fetch: configuration.scrape)
        projectName = initial.project.name
        state = Mutex(
            State(
                project: initial.project, digest: initial.digest, inputs: initial.inputs,
                backoff: ReplicaBackoff(policy: configuration.replicaBackoff, resetAfter: configuration.backoffReset)))
        (wakeups, wakeup) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    // MARK: service

    public func run() async throws {
        logger.info("controller started", metadata: ["resync": "\(configuration.resync)", "prune": "\(configuration.prune)"])
        enqueue("start")
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.watchEvents() }
                group.addTask { await self.watchManifest() }
                group.addTask { await self.resyncLoop() }
                group.addTask { await self.autoscaleLoop() }
                await self.loop()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.drain()
        }
        state.withLock { $0.wakeTask?.cancel() }
        logger.info("controller stopped", metadata: ["passes": "\(state.withLock { $0.passes })"])
        if state.withLock({ $0.lockLost }) { throw LockLost(project: projectName) }
    }

    /// The controller stopped because another process holds the project's lock now.
    public struct LockLost: Error, CustomStringConvertible {
        public var project: String
        public var description: String {
            "the lock of \(project) was removed while this controller ran, and another process holds it now: stopped, so two never act on one project"
        }
    }

    /// The lock volume was removed under the running controller: take it again, or stop.
    private func lockRemoved() async {
        guard let relock = configuration.relock else { return }
        logger.warning("project lock removed while running; taking it again")
        if await relock() {
            logger.info("project lock taken again")
        } else {
            logger.error("another process holds the project lock now; stopping")
            state.withLock { $0.lockLost = true }
            drain()
        }
    }

    /// No new pass starts; the running one finishes.
    public func drain() {
        let first = state.withLock { state -> Bool in
            defer { state.stopping = true }
            return !state.stopping
        }
        if first { logger.info("draining: the running pass finishes, no new one starts") }
        wakeup.finish()
        journal.closeStreams()
    }

    private func loop() async {
        for await _ in wakeups {
            if state.withLock({ $0.stopping }) { break }
            await pass()
        }
    }

    // MARK: triggers

    /// Asks for a pass. Coalesced: however many arrive during a pass, one more pass follows.
    func enqueue(_ reason: String) {
        state.withLock { _ = $0.reasons.insert(reason) }
        wakeup.yield(())
    }

    /// Seconds since the controller was made, on the monotonic clock.
    func now() -> Double {
        let elapsed = ContinuousClock.now - origin
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// Asks for a pass at `time` (seconds on `now()`'s scale), unless one is due sooner.
    func schedule(at time: Double, reason: String) {
        let current = now()
        state.withLock { state in
            if let due = state.wakeAt, due > current, due <= time { return }
            state.wakeTask?.cancel()
            state.wakeAt = time
            state.wakeTask = Task { [weak self] in
                try? await Task.sleep(for: .seconds(max(0, time - current)))
                guard !Task.isCancelled, let self else { return }
                self.state.withLock { $0.wakeAt = nil }
                self.enqueue(reason)
            }
        }
    }

    private func resyncLoop() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: .seconds(configuration.resync)) } catch { return }
            enqueue("resync")
        }
    }

    private func watchManifest() async {
        let watcher = ManifestWatcher(paths: configuration.paths)
        var last = watcher.fingerprint(inputs: state.withLock { $0.inputs })
        while !Task.isCancelled {
            do { try await Task.sleep(for: .seconds(configuration.manifestPoll)) } catch { return }
            let next = watcher.fingerprint(inputs: state.withLock { $0.inputs })
            guard next != last else { continue }
            last = next
            state.withLock { $0.manifestDirty = true }
            enqueue("manifest")
        }
    }

    /// The engine's events about the project: each one only asks for a pass. Reconnects with
    /// backoff when the stream breaks, and asks for a full pass on every (re)connection,
    /// since events may have been missed meanwhile.
    private func watchEvents() async {
        let filters = DockerFilters([
            "type": ["container", "network", "volume"],
            "event": ["kill", "die", "stop", "start", "destroy", "oom", "health_status"],
        ])
        var failures = 0
        var connections = 0
        while !Task.isCancelled {
            var connectedAt: Double?
            do {
                let stream = try await client.events(filters: filters)
                connectedAt = now()
                connections += 1
                setStream(connected: true)
                if connections > 1 {
                    state.withLock { $0.engineReturned = true }
                    metrics.reconnects.increment()
                    logger.info("event stream reconnected", metadata: ["attempts": "\(failures)"])
                } else {
                    logger.info("event stream connected")
                }
                enqueue(connections > 1 ? "reconnect" : "connect")
                for try await event in stream { handle(event) }
                if Task.isCancelled { break }
                logger.warning("event stream ended")
            } catch {
                if Task.isCancelled { break }
                logger.warning("event stream broke", metadata: ["error": "\(error)"])
            }
            setStream(connected: false)
            // A stream that stayed up a while starts the reconnect delays over; one that breaks
            // at once keeps backing off, so a flapping engine is not hammered.
            if let connectedAt, now() - connectedAt > 5 { failures = 0 }
            failures += 1
            let delay = BackoffPolicy.reconnect.delay(afterFailures: failures)
            do { try await Task.sleep(for: .seconds(delay)) } catch { break }
        }
    }

    private func setStream(connected: Bool) {
        state.withLock { $0.streamConnected = connected }
        metrics.streamConnected.set(connected ? 1.0 : 0.0)
    }

    func handle(_ event: DockerEvent) {
        let attributes = event.actor.attributes
        switch event.type {
        case "container":
            guard attributes[LabelKey.project] == projectName else { return }
            let id = event.actor.id
            if event.action == "kill" || event.action == "stop" {
                state.withLock { state in
                    // Bounded: ids of containers long gone are of no use.
                    if state.stoppedByOthers.count > 4096 { state.stoppedByOthers.removeAll() }
                    state.stoppedByOthers.insert(id)
                }
            }
            if event.action == "kill" { return }
            if event.action == "start" {
                // Running again (the engine's restart policy, a person, or our own start):
                // the listing is right about it again. Not a trigger.
                state.withLock { _ = $0.recentDeaths.removeValue(forKey: id) }
                return
            }
            if event.action == "die" || event.action == "stop" {
                let time = now()
                state.withLock { $0.recentDeaths[id] = time }
            }
            logger.info(
                "engine event",
                metadata: [
                    "event": "\(event.action)", "container": "\(attributes["name"] ?? id)",
                    "service": "\(attributes[LabelKey.service] ?? "")", "replica": "\(attributes[LabelKey.replica] ?? "")",
                ])
            enqueue("event")
        case "network", "volume":
            // A volume's name is the event's actor id; a network's is in its attributes.
            guard event.action == "destroy", let name = attributes["name"] ?? (event.type == "volume" ? event.actor.id : nil) else { return }
            if event.type == "volume" && name == EngineLock.volumeName(project: projectName) {
                Task { await self.lockRemoved() }
                return
            }
            let ours = state.withLock { state in
                event.type == "network"
                    ? state.project.networks.contains { $0.name == name } : state.project.volumes.contains { $0.name == name }
            }
            guard ours else { return }
            logger.info("engine event", metadata: ["event": "\(event.type) \(event.action)", event.type: "\(name)"])
            enqueue("event")
        default:
            return
        }
    }

    // MARK: manifest

    private func reloadManifest(_ log: Logger) {
        let loaded: LoadedManifest
        do {
            loaded = try load()
        } catch {
            manifestInvalid(String(describing: error), log)
            return
        }
        guard loaded.project.name == projectName else {
            manifestInvalid(
                "the project name changed from \(projectName) to \(loaded.project.name): a controller keeps one project; start another controller for the new name",
                log)
            return
        }
        for warning in loaded.warnings { log.warning("manifest warning", metadata: ["diagnostic": "\(warning)"]) }
        let changed = state.withLock { state -> Bool in
            state.manifestError = nil
            state.inputs = loaded.inputs
            guard state.digest != loaded.digest else { return false }
            state.project = loaded.project
            state.digest = loaded.digest
            state.heldRevision = nil
            return true
        }
        metrics.manifestValid.set(1.0)
        if changed {
            log.info("manifest reloaded", metadata: ["digest": "\(loaded.digest.prefix(12))", "services": "\(loaded.project.services.count)"])
        }
    }

    private func manifestInvalid(_ message: String, _ log: Logger) {
        state.withLock { $0.manifestError = message }
        metrics.manifestErrors.increment()
        metrics.manifestValid.set(0.0)
        log.error("manifest invalid; keeping the last good one", metadata: ["error": "\(message)"])
    }

    // MARK: passes

    private func pass() async {
        let (id, dirty, reasons) = state.withLock { state -> (Int, Bool, Set<String>) in
            state.passes += 1
            defer {
                state.manifestDirty = false
                state.reasons = []
            }
            return (state.passes, state.manifestDirty, state.reasons)
        }
        var log = logger
        log[metadataKey: "pass"] = "\(id)"
        if dirty { reloadManifest(log) }
        let (project, digest) = state.withLock { ($0.project, $0.digest) }
        let started = ContinuousClock.now
        do {
            let observed = trustingEvents(try await observer.observe(project: project), log: log)
            journal.observed(project, observed)
            metrics.replicas(project: project.withAutoscaledCounts(observed: observed, decisions: decisionsInForce()), observed: observed)
            if state.withLock({ $0.paused }) {
                log.info("pass observed only: the controller is paused")
                return
            }
            let full = try ReconcileCore.plan(
                desired: project, observed: observed,
                options: PlanOptions(prune: configuration.prune, gateTimeout: configuration.gateTimeout, autoscale: decisionsInForce()))
            let (runnable, deferred) = admit(full, observed: observed, log: log)
            for warning in full.warnings where warning.contains("autoscale") {
                log.info("autoscale", metadata: ["detail": "\(warning)"])
            }
            var succeeded = true
            if !runnable.isEmpty {
                log.info("pass started", metadata: ["steps": "\(runnable.steps.count)", "reasons": "\(reasons.sorted().joined(separator: ","))"])
                setRollingOut(Set(runnable.steps.filter { $0.action == .recreate }.compactMap(\.service)))
                succeeded = await execute(runnable, project: project, digest: digest, log: log)
                setRollingOut([])
            }
            let seconds = elapsed(since: started)
            metrics.passDuration.record(ContinuousClock.now - started)
            if succeeded {
                let first = state.withLock { state -> Bool in
                    let first = state.lastPassSucceeded == false
                    state.lastPassSucceeded = true
                    state.lastError = nil
                    state.failedPasses = 0
                    if deferred.isEmpty { state.convergedDigest = digest }
                    return first
                }
                metrics.lastPassSucceeded.set(1.0)
                metrics.pass(result: runnable.isEmpty ? (deferred.isEmpty ? "unchanged" : "deferred") : "changed")
                if !runnable.isEmpty {
                    log.info("pass finished", metadata: ["steps": "\(runnable.steps.count)", "seconds": "\(rounded(seconds))"])
                    // Look again: what was just done is confirmed (and the gauges follow) by a pass that finds nothing to do.
                    enqueue("verify")
                } else if first {
                    log.info("converged", metadata: ["seconds": "\(rounded(seconds))"])
                }
            } else {
                failed("a step failed", log: log)
            }
        } catch {
            metrics.passDuration.record(ContinuousClock.now - started)
            failed(String(describing: error), log: log)
        }
        let current = now()
        let waiting = state.withLock { state in
            state.backoff.forgetSettled(now: current)
            return state.backoff.waiting(now: current)
        }
        metrics.backoff(waiting, now: current)
    }

    /// How long after a container's `die` event the list call may still show it running.
    static let staleWindow = 2.0

    /// The engine's container list can lag a moment behind its `die` event: a container
    /// just killed is still listed as running. A container that died (event) and has not
    /// started since (no `start` event) is not running, whatever a lagging list says: the
    /// pass plans its start now rather than looking again until the list catches up.
    /// After `staleWindow` the list is trusted again.
    private func trustingEvents(_ observed: ObservedState, log: Logger) -> ObservedState {
        let current = now()
        let dead = state.withLock { state -> [String: Double] in
            state.recentDeaths = state.recentDeaths.filter { current - $0.value < Self.staleWindow }
            return state.recentDeaths
        }
        guard !dead.isEmpty else { return observed }
        var corrected = observed
        for index in corrected.containers.indices where dead[corrected.containers[index].id] != nil {
            guard corrected.containers[index].state == .running else { continue }
            log.debug("listing lags behind a die event; taking the event's word", metadata: ["container": "\(corrected.containers[index].name)"])
            corrected.containers[index].state = .exited
            corrected.containers[index].health = .none
        }
        return corrected
    }

    private func failed(_ message: String, log: Logger) {
        let failures = state.withLock { state -> Int in
            state.lastPassSucceeded = false
            state.lastError = message
            state.failedPasses += 1
            return state.failedPasses
        }
        metrics.lastPassSucceeded.set(0.0)
        metrics.pass(result: "failed")
        let delay = BackoffPolicy.pass.delay(afterFailures: failures)
        log.error("pass failed", metadata: ["error": "\(message)", "retry_in": "\(rounded(delay))"])
        schedule(at: now() + delay, reason: "retry")
    }

    /// The plan less the starts that must wait for their replica's backoff, and the steps
    /// that depend on them. Asks for a pass when the earliest wait ends.
    private func admit(_ plan: Plan, observed: ObservedState, log: Logger) -> (Plan, [PlanStep]) {
        let current = now()
        var held: Set<Int> = []
        var wakeAt: Double?
        var notes: [(PlanStep, Int, Double)] = []
        state.withLock { state in
            if state.engineReturned || !state.streamConnected {
                // What stopped while the engine was away stopped with it (a restarted dockerd
                // stops what it ran): starting those is repair, never a crash loop, so an
                // engine that restarts often does not push every replica's backoff up. The
                // same holds while the event stream is down (a pass can see the engine again
                // before the stream reconnects): no `die` was heard, so no crash is counted.
                state.engineReturned = false
                for container in observed.containers where container.state == .exited || container.state == .dead {
                    state.stoppedByOthers.insert(container.id)
                }
            }
            for step in plan.steps {
                guard let service = step.service, let replica = step.replica else { continue }
                let key = "\(service):\(replica)"
                let decision: ReplicaBackoff.Decision
                switch step.action {
                case .start:
                    let container = step.containerID.flatMap { id in observed.containers.first { $0.id == id } }
                    let crashed = container.map { ($0.state == .exited || $0.state == .dead) && !state.stoppedByOthers.contains($0.id) } ?? false
                    if crashed {
                        let waitingAlready = state.backoff.entries[key]?.notBefore != nil
                        decision = state.backoff.crashed(key, now: current)
                        if case .wait(let until) = decision, !waitingAlready {
                            notes.append((step, state.backoff.entries[key]?.failures ?? 0, until - current))
                        }
                    } else {
                        decision = state.backoff.mayRepair(key, now: current)
                    }
                case .create:
                    decision = state.backoff.mayRepair(key, now: current)
                default:
                    // A recreate carries a configuration change (often the fix of a crash loop): never held.
                    decision = .now
                }
                if case .wait(let until) = decision {
                    held.insert(step.id)
                    wakeAt = min(wakeAt ?? until, until)
                }
            }
        }
        for (step, failures, delay) in notes {
            metrics.crashBackoff(service: step.service ?? "")
            log.warning(
                "replica crash-looping; holding its restart back",
                metadata: [
                    "service": "\(step.service ?? "")", "replica": "\(step.replica ?? 0)", "failures": "\(failures)",
                    "retry_in": "\(rounded(delay))",
                ])
        }
        if let wakeAt { schedule(at: wakeAt, reason: "backoff") }
        let (runnable, deferred) = plan.deferring(held)
        return (runnable, deferred)
    }

    private func execute(_ plan: Plan, project: Project, digest: String, log: Logger) async -> Bool {
        let executor = Executor(
            client: client, project: project,
            options: ExecutionOptions(parallelism: configuration.parallelism, gateTimeout: configuration.gateTimeout, stop: noStop),
            emit: { event in Controller.log(event, log) })
        let result = await executor.run(plan)
        let current = now()
        let repairs = state.withLock { state -> Bool in
            for step in plan.steps where [.start, .create, .recreate].contains(step.action) {
                guard let service = step.service, let replica = step.replica else { continue }
                if case .skipped = result.outcomes[step.id] ?? .skipped("") { continue }
                state.backoff.attempted("\(service):\(replica)", now: current)
                if let id = step.containerID {
                    state.stoppedByOthers.remove(id)
                    state.recentDeaths[id] = nil
                }
            }
            return state.convergedDigest == digest
        }
        for step in plan.steps {
            let outcome = result.outcomes[step.id] ?? .skipped("not run")
            let name: String
            switch outcome {
            case .succeeded: name = "succeeded"
            case .failed: name = "failed"
            case .skipped: name = "skipped"
            case .rolledBack: name = "rolled-back"
            }
            metrics.step(action: step.action, result: name)
            if repairs, outcome == .succeeded, [.start, .create, .recreate].contains(step.action), let service = step.service {
                metrics.driftRepair(service: service)
            }
        }
        if result.succeeded && !repairs {
            // A manifest the controller has not converged to before: a revision, as apply records one.
            let held = state.withLock { $0.heldRevision }
            do {
                if let revision = try await History(client: client, project: project.name)
                    .record(
                        project, command: held.map { "rollback to \($0)" } ?? "controller", outcome: .applied, rollbackOf: held,
                        skipIfCurrent: true) {
                    journal.historyChanged()
                    log.info("revision recorded", metadata: ["revision": "\(revision.number)"])
                }
            } catch {
                log.warning("revision not recorded", metadata: ["error": "\(Executor.describe(error))"])
            }
        }
        return result.succeeded
    }

    static func log(_ event: ProgressEvent, _ log: Logger) {
        func meta(_ step: PlanStep) -> Logger.Metadata {
            var metadata: Logger.Metadata = ["resource": "\(step.resource)", "action": "\(step.action.rawValue)"]
            if let service = step.service { metadata["service"] = "\(service)" }
            if let replica = step.replica { metadata["replica"] = "\(replica)" }
            return metadata
        }
        switch event {
        case .stepStarted(let step):
            var metadata = meta(step)
            metadata["reason"] = "\(step.reason)"
            log.info("step started", metadata: metadata)
        case .stepProgress(let step, let what):
            var metadata = meta(step)
            metadata["detail"] = "\(what)"
            log.debug("step progress", metadata: metadata)
        case .stepFinished(let step, let seconds):
            var metadata = meta(step)
            metadata["seconds"] = "\(rounded(seconds))"
            log.info("step finished", metadata: metadata)
        case .stepFailed(let step, let message, let seconds):
            var metadata = meta(step)
            metadata["error"] = "\(message)"
            metadata["seconds"] = "\(rounded(seconds))"
            log.error("step failed", metadata: metadata)
        case .stepSkipped(let step, let reason):
            var metadata = meta(step)
            metadata["reason"] = "\(reason)"
            log.warning("step skipped", metadata: metadata)
        case .stepRolledBack(let step):
            log.warning("step rolled back", metadata: meta(step))
        case .note(let text):
            log.info("executor note", metadata: ["detail": "\(text)"])
        }
    }

    // MARK: reading

    /// Ready: the event stream is connected and the last pass succeeded.
    public func status() -> ControllerStatus {
        let current = now()
        let scaled = autoscaleStatus()
        return state.withLock { state in
            ControllerStatus(
                ready: state.streamConnected && state.lastPassSucceeded, eventStreamConnected: state.streamConnected,
                lastPassSucceeded: state.lastPassSucceeded, passes: state.passes, lastError: state.lastError,
                manifestValid: state.manifestError == nil, manifestError: state.manifestError, manifestDigest: state.digest,
                backoff: state.backoff.waiting(now: current).map { entry in
                    let parts = entry.key.split(separator: ":")
                    return ControllerStatus.Backoff(
                        service: parts.first.map(String.init) ?? entry.key, replica: parts.count > 1 ? Int(parts[1]) ?? 0 : 0,
                        failures: entry.failures, retryInSeconds: rounded(entry.until - current))
                }, autoscale: scaled, paused: state.paused, heldRevision: state.heldRevision)
        }
    }

    /// Paused: passes go on observing (the pages stay current) but change nothing.
    public var isPaused: Bool { state.withLock { $0.paused } }

    public func setPaused(_ paused: Bool) {
        let changed = state.withLock { state -> Bool in
            defer { state.paused = paused }
            return state.paused != paused
        }
        guard changed else { return }
        logger.warning(paused ? "controller paused" : "controller resumed")
        enqueue(paused ? "pause" : "resume")
    }

    /// The revision put back with `hold(_:as:)`, while it is in force.
    public var heldRevision: Int? { state.withLock { $0.heldRevision } }

    /// The project in force, as it stands now.
    public var projectInForce: Project { state.withLock { $0.project } }

    /// Puts `revision` back: `desired` (the revision's state with secrets restored and images
    /// pinned) becomes the state in force until the manifest files change, so the controller
    /// keeps it rather than converging straight back to the files.
    public func hold(_ revision: Int, as desired: Project) {
        state.withLock { state in
            state.project = desired
            state.digest = "rollback-\(revision)-" + Revision.digest(of: desired)
            state.heldRevision = revision
            state.convergedDigest = nil
        }
        logger.warning("rolling back to a revision", metadata: ["revision": "\(revision)"])
        enqueue("rollback")
    }

    /// The project in force and a fresh observation of it, for `/status`.
    public func observeNow() async throws -> (Project, ObservedState) {
        let project = state.withLock { $0.project }
        return (project, try await observer.observe(project: project))
    }
}

func elapsed(since start: ContinuousClock.Instant) -> Double {
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

func rounded(_ seconds: Double) -> Double { (seconds * 1000).rounded() / 1000 }
