import Foundation
import Logging
import ReconcileCore
import ReconcileRuntime
import Synchronization

/// The clock the autoscaler waits on and reads its decisions' times from: the continuous
/// clock in the daemon, a `TestClock` in tests (advanced instead of waited for).
public struct AutoscaleClock: Sendable {
    let sleepUntil: @Sendable (Duration) async throws -> Void
    let elapsed: @Sendable () -> Double

    public init<C: Clock & Sendable>(_ clock: C) where C.Duration == Duration, C.Instant: Sendable {
        let origin = clock.now
        sleepUntil = { offset in try await clock.sleep(until: origin.advanced(by: offset), tolerance: nil) }
        elapsed = { seconds(origin.duration(to: clock.now)) }
    }

    public static var continuous: AutoscaleClock { AutoscaleClock(ContinuousClock()) }

    /// Seconds since the clock was wrapped.
    public func now() -> Double { elapsed() }

    /// Waits until `time` (seconds on `now()`'s scale): a deadline, not a length, so a
    /// test clock advanced before the wait began does not push it further.
    public func sleep(until time: Double) async throws { try await sleepUntil(.milliseconds(Int64((time * 1000).rounded(.up)))) }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// What `/status`, `reconcile status` and `/metrics` show of one autoscaled service.
public struct AutoscaleStatus: Codable, Sendable, Equatable {
    public var service: String
    public var metric: String
    /// The average per replica at the last decision; nil when no replica reported it.
    public var value: Double?
    public var target: Double
    public var current: Int
    public var desired: Int
    /// `metric`, `within-tolerance`, `stabilized`, `rate-limited`, `at-max`, `at-min`, `gpus`, `no-metrics`, `conservative`, `rollout`.
    public var reason: String
    /// The decision as the plan and the log say it.
    public var decision: String
    /// Seconds on the controller's autoscale clock.
    public var decidedAt: Double
}

/// The autoscaler's memory in the controller: per service, the HPA's history and the
/// decision in force (which the planner reaches and keeps).
struct AutoscaleMemory {
    var histories: [String: AutoscaleHistory] = [:]
    var decisions: [String: AutoscaleDecision] = [:]
    var status: [String: AutoscaleStatus] = [:]
    /// Services whose rollout the running pass carries out: no decision is taken for them.
    var rollingOut: Set<String> = []
}

extension Controller {
    /// The decisions the next pass plans with.
    func decisionsInForce() -> [String: AutoscaleDecision] {
        autoscale.withLock { $0.decisions }
    }

    /// Services rolled out by the pass that starts now (empty when it ends).
    func setRollingOut(_ services: Set<String>) {
        autoscale.withLock { $0.rollingOut = services }
    }

    public func autoscaleStatus() -> [AutoscaleStatus] {
        autoscale.withLock { $0.status.values.sorted { $0.service < $1.service } }
    }

    /// Scrapes and decides for every autoscaled service on its interval, and asks for a pass
    /// when a decision changes a count. Idle (a 5 s look) while no service is autoscaled.
    func autoscaleLoop() async {
        let clock = configuration.autoscaleClock
        var due: [String: Double] = [:]
        while !Task.isCancelled {
            let project = state.withLock { $0.project }
            let specs = project.services.compactMap { service in service.extensions.autoscale.map { (service, $0) } }
            let now = clock.now()
            let names = Set(specs.map(\.0.name))
            due = due.filter { names.contains($0.key) }
            autoscale.withLock { memory in
                memory.decisions = memory.decisions.filter { names.contains($0.key) }
                memory.status = memory.status.filter { names.contains($0.key) }
            }
            for (service, spec) in specs where due[service.name] == nil { due[service.name] = now + spec.interval }
            guard let next = due.values.min() else {
                do { try await clock.sleep(until: now + 5) } catch { return }
                continue
            }
            if next > now {
                do { try await clock.sleep(until: next) } catch { return }
                continue
            }
            let ready = specs.filter { (due[$0.0.name] ?? .infinity) <= now }
            await autoscaleTick(project: project, services: ready, now: now)
            for (service, spec) in ready { due[service.name] = now + spec.interval }
        }
    }

    func autoscaleTick(project: Project, services: [(Service, AutoscaleSpec)], now: Double) async {
        var log = logger
        log[metadataKey: "component"] = "autoscaler"
        let observed: ObservedState
        do {
            observed = try await observer.observe(project: project)
        } catch {
            log.warning("autoscale skipped: cannot observe the engine", metadata: ["error": "\(error)"])
            return
        }
        var changed = false
        for (service, spec) in services {
            let rolling = autoscale.withLock { $0.rollingOut.contains(service.name) }
                || observed.containers.contains { $0.project == project.name && $0.service == service.name && $0.isSurge }
            if rolling {
                log.info("autoscale waits: the service is rolling out", metadata: ["service": "\(service.name)"])
                continue
            }
            let measurement: ReplicaMeter.Measurement
            do {
                measurement = try await meter.measure(project: project, service: service, spec: spec, now: now)
            } catch {
                log.warning("autoscale skipped: cannot measure", metadata: ["service": "\(service.name)", "error": "\(error)"])
                continue
            }
            for problem in measurement.problems {
                log.info("replica not measured", metadata: ["service": "\(service.name)", "detail": "\(problem)"])
            }
            let inventory = observed.gpus ?? project.extensions.gpus
            let bound = Autoscaler.gpuCapacity(service: service, current: measurement.current, observed: observed, inventory: inventory)
            let decision = autoscale.withLock { memory -> AutoscaleDecision in
                var history = memory.histories[service.name] ?? AutoscaleHistory()
                let decision = Autoscaler.decide(
                    service: service.name, spec: spec, current: measurement.current, samples: measurement.samples, capacity: bound?.capacity,
                    now: now, history: &history)
                memory.histories[service.name] = history
                memory.decisions[service.name] = decision
                memory.status[service.name] = AutoscaleStatus(
                    service: service.name, metric: decision.metric, value: decision.value, target: decision.target, current: decision.from,
                    desired: decision.to, reason: decision.reason.label, decision: decision.text, decidedAt: now)
                return decision
            }
            metrics.autoscale(decision)
            var metadata: Logger.Metadata = [
                "service": "\(service.name)", "metric": "\(decision.metric)", "target": "\(decision.target)",
                "current": "\(decision.from)", "desired": "\(decision.to)", "reason": "\(decision.reason.label)",
            ]
            if let value = decision.value { metadata["value"] = "\(rounded(value))" }
            if decision.to != decision.from { changed = true }
            log.info("autoscale decision", metadata: metadata.merging(["decision": "\(decision.text)"]) { a, _ in a })
        }
        if changed { enqueue("autoscale") }
    }
}
