import Prometheus
import ReconcileCore
import Synchronization

/// The controller's Prometheus metrics, in one registry that `/metrics` renders.
///
/// Kept in a registry of its own rather than the process-wide swift-metrics bootstrap, so a
/// test can build two controllers in one process and read each one's figures.
public final class ControllerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()

    let passDuration: DurationHistogram
    let reconnects: Counter
    let streamConnected: Gauge
    let manifestErrors: Counter
    let manifestValid: Gauge
    let replicasInBackoff: Gauge
    let lastPassSucceeded: Gauge
    /// Label sets set last time, so a service or replica that went away reads 0 rather than
    /// keeping its last value.
    private let known = Mutex<(services: Set<String>, backoff: Set<String>, reasons: [String: String])>(([], [], [:]))

    public init() {
        passDuration = registry.makeDurationHistogram(
            descriptor: describe("reconcile_controller_pass_duration_seconds", "Time of one pass: observe, plan and execute."), buckets: [.milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
                      .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60)])
        reconnects = registry.makeCounter(
            descriptor: describe("reconcile_controller_event_stream_reconnects_total", "Times the engine's event stream was connected again after it broke."))
        streamConnected = registry.makeGauge(
            descriptor: describe("reconcile_controller_event_stream_connected", "1 while the engine's event stream is connected."))
        manifestErrors = registry.makeCounter(
            descriptor: describe("reconcile_controller_manifest_errors_total", "Manifest edits that did not load; the last good manifest stayed in force."))
        manifestValid = registry.makeGauge(
            descriptor: describe("reconcile_controller_manifest_valid", "1 when the manifest on disk loads, 0 while an invalid edit is ignored."))
        replicasInBackoff = registry.makeGauge(
            descriptor: describe("reconcile_controller_replicas_in_backoff", "Crash-looping replicas whose next start is being held back."))
        lastPassSucceeded = registry.makeGauge(
            descriptor: describe("reconcile_controller_last_pass_succeeded", "1 when the last pass converged without a failed step."))
        manifestValid.set(1.0)
    }

    func pass(result: String) {
        registry.makeCounter(descriptor: describe("reconcile_controller_passes_total", "Passes, by result."), labels: [("result", result)]).increment()
    }

    func step(action: PlanAction, result: String) {
        registry.makeCounter(
            descriptor: describe("reconcile_controller_steps_total", "Plan steps executed, by action and result."), labels: [("action", action.rawValue), ("result", result)]
        ).increment()
    }

    func driftRepair(service: String) {
        registry.makeCounter(
            descriptor: describe("reconcile_controller_drift_repairs_total", "Replicas put back after they drifted (killed, stopped, removed, crashed) with the manifest unchanged."), labels: [("service", service)]
        ).increment()
    }

    func crashBackoff(service: String) {
        registry.makeCounter(
            descriptor: describe("reconcile_controller_crash_backoffs_total", "Times a crashed replica's restart was held back by its backoff."), labels: [("service", service)]
        ).increment()
    }

    /// Desired, running and healthy replicas per service, from one observation.
    func replicas(project: Project, observed: ObservedState) {
        var counts: [String: (desired: Int, running: Int, healthy: Int)] = [:]
        for service in project.services { counts[service.name] = (service.replicas, 0, 0) }
        for container in observed.containers where container.project == project.name && !container.isSurge {
            guard let service = container.service else { continue }
            var entry = counts[service] ?? (0, 0, 0)
            if container.state == .running { entry.running += 1 }
            if container.health == .healthy { entry.healthy += 1 }
            counts[service] = entry
        }
        let gone = known.withLock { known -> Set<String> in
            let gone = known.services.subtracting(counts.keys)
            known.services = Set(counts.keys)
            return gone
        }
        for service in gone { counts[service] = (0, 0, 0) }
        for (service, count) in counts {
            for (state, value) in [("desired", count.desired), ("running", count.running), ("healthy", count.healthy)] {
                registry.makeGauge(
                    descriptor: describe("reconcile_controller_replicas", "Replicas per service: desired by the manifest, running, and healthy by their healthcheck."), labels: [("service", service), ("state", state)]
                ).set(Double(value))
            }
        }
    }

    /// The backoff of each waiting replica, in seconds until its next start (0 once it may start).
    func backoff(_ waiting: [(key: String, failures: Int, until: Double)], now: Double) {
        replicasInBackoff.set(Double(waiting.count))
        var values: [String: (failures: Int, seconds: Double)] = [:]
        for entry in waiting { values[entry.key] = (entry.failures, max(0, entry.until - now)) }
        let gone = known.withLock { known -> Set<String> in
            let gone = known.backoff.subtracting(values.keys)
            known.backoff = Set(values.keys)
            return gone
        }
        for key in gone { values[key] = (0, 0) }
        for (key, value) in values {
            let parts = key.split(separator: ":").map(String.init)
            let labels = [("service", parts.first ?? key), ("replica", parts.count > 1 ? parts[1] : "")]
            registry.makeGauge(
                descriptor: describe(
                    "reconcile_controller_backoff_seconds", "Seconds until a crash-looping replica may be started again (0 when not held back)."),
                labels: labels
            ).set(value.seconds)
            registry.makeGauge(
                descriptor: describe("reconcile_controller_backoff_failures", "Consecutive quick crashes of a replica that is held back."),
                labels: labels
            ).set(Double(value.failures))
        }
    }

    /// One autoscale decision: the metric, its target, the count decided, and why.
    func autoscale(_ decision: AutoscaleDecision) {
        let service = [("service", decision.service)]
        // Left at its last value when no replica reported the metric (the text format's NaN
        // is not what swift-prometheus writes for Double.nan).
        if let value = decision.value {
            registry.makeGauge(
                descriptor: describe("reconcile_autoscale_metric", "The autoscaled metric's average per replica at the last decision."), labels: service
            ).set(value)
        }
        registry.makeGauge(descriptor: describe("reconcile_autoscale_target", "The autoscaled metric's target per replica."), labels: service)
            .set(decision.target)
        registry.makeGauge(descriptor: describe("reconcile_autoscale_current_replicas", "Replicas when the autoscaler last decided."), labels: service)
            .set(Double(decision.from))
        registry.makeGauge(descriptor: describe("reconcile_autoscale_desired_replicas", "Replicas the autoscaler decided."), labels: service)
            .set(Double(decision.to))
        let last = known.withLock { known -> String? in
            defer { known.reasons[decision.service] = decision.reason.label }
            return known.reasons[decision.service]
        }
        if let last, last != decision.reason.label {
            registry.makeGauge(
                descriptor: describe("reconcile_autoscale_last_decision", "1 for the reason of the service's last autoscale decision."),
                labels: service + [("reason", last)]
            ).set(0.0)
        }
        registry.makeGauge(
            descriptor: describe("reconcile_autoscale_last_decision", "1 for the reason of the service's last autoscale decision."),
            labels: service + [("reason", decision.reason.label)]
        ).set(1.0)
        let limited: String?
        switch decision.reason {
        case .gpuBound: limited = "gpus"
        case .atMax where decision.recommended > decision.to: limited = "max"
        case .rateLimited where decision.to > decision.from || decision.recommended > decision.to: limited = "rate"
        default: limited = nil
        }
        if let limited {
            registry.makeCounter(
                descriptor: describe("reconcile_autoscale_limited", "Autoscale decisions that wanted more replicas than allowed, by what bounded them."),
                labels: service + [("reason", limited)]
            ).increment()
        }
    }

    public func render() -> String { registry.emitToString() }
}

/// A full metric name and its help text.
private func describe(_ name: String, _ help: String) -> MetricNameDescriptor {
    MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
}
