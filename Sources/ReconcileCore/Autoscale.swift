/// `x-reconcile.autoscale`: how many replicas a service runs, decided on its measured load
/// the way the Kubernetes Horizontal Pod Autoscaler decides (docs/autoscale.md).
public struct AutoscaleSpec: Sendable, Equatable, Codable {
    /// Fewest and most replicas; `1 <= min <= max`.
    public var min: Int
    public var max: Int
    public var metric: AutoscaleMetric
    /// The metric's wanted average per replica (a percentage for `cpu` and `memory`).
    public var target: Double
    /// Seconds between scrapes and decisions (default 15).
    public var interval: Double
    public var scaleUp: ScalingRules
    public var scaleDown: ScalingRules
    /// The band around a ratio of 1 in which nothing is scaled (the HPA's 0.1).
    public var tolerance: Double

    public init(
        min: Int, max: Int, metric: AutoscaleMetric, target: Double, interval: Double = 15,
        scaleUp: ScalingRules = .defaultScaleUp, scaleDown: ScalingRules = .defaultScaleDown, tolerance: Double = 0.1
    ) {
        self.min = min
        self.max = max
        self.metric = metric
        self.target = target
        self.interval = interval
        self.scaleUp = scaleUp
        self.scaleDown = scaleDown
        self.tolerance = tolerance
    }

    /// `count` brought within `[min, max]`.
    public func clamp(_ count: Int) -> Int { Swift.min(max, Swift.max(min, count)) }
}

/// What is measured on each replica.
public enum AutoscaleMetric: Sendable, Equatable, Codable {
    /// A metric scraped from each replica's Prometheus endpoint: a gauge as it is, a counter
    /// as its rate per second between two scrapes, a histogram as its `quantile` over the
    /// observations between two scrapes.
    case prometheus(name: String, port: Int, path: String, quantile: Double?)
    /// CPU use in percent of the replica's `cpus` limit (of one core without a limit).
    case cpu
    /// Memory use in percent of the replica's memory limit.
    case memory

    /// How the metric is named in plans, logs and `/metrics`.
    public var name: String {
        switch self {
        case .prometheus(let name, _, _, let quantile):
            return quantile.map { "\(name) p\(AutoscaleText.number($0 * 100))" } ?? name
        case .cpu: return "cpu %"
        case .memory: return "memory %"
        }
    }
}

/// The HPA's `behavior.scaleUp` / `behavior.scaleDown`: a stabilisation window and rate
/// limits. With several policies the one allowing the largest change applies (`selectPolicy: Max`).
public struct ScalingRules: Sendable, Equatable, Codable {
    /// Seconds of past recommendations considered: scale-up takes the lowest of them,
    /// scale-down the highest.
    public var window: Double
    public var policies: [ScalingPolicy]

    public init(window: Double, policies: [ScalingPolicy]) {
        self.window = window
        self.policies = policies
    }

    /// The HPA's default: no window; at most double, or 4 more, per 15 s, whichever is more.
    public static let defaultScaleUp = ScalingRules(
        window: 0, policies: [.init(kind: .percent, value: 100, period: 15), .init(kind: .replicas, value: 4, period: 15)])
    /// The HPA's default: 300 s window; any number removed per 15 s.
    public static let defaultScaleDown = ScalingRules(window: 300, policies: [.init(kind: .percent, value: 100, period: 15)])
}

public struct ScalingPolicy: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable { case replicas, percent }
    public var kind: Kind
    public var value: Int
    /// Seconds.
    public var period: Double

    public init(kind: Kind, value: Int, period: Double) {
        self.kind = kind
        self.value = value
        self.period = period
    }
}

/// One replica's measurement at a decision.
public struct ReplicaSample: Sendable, Equatable, Codable {
    public var replica: Int
    /// The metric's value; nil when it could not be measured (not listening yet, no sample).
    public var value: Double?
    /// Passed its health check (or runs without one).
    public var ready: Bool

    public init(replica: Int, value: Double?, ready: Bool = true) {
        self.replica = replica
        self.value = value
        self.ready = ready
    }
}

/// What the autoscaler remembers between decisions: the HPA's recommendation history and
/// scale events, per service. Values in seconds on the caller's clock.
public struct AutoscaleHistory: Sendable, Equatable, Codable {
    public struct Recommendation: Sendable, Equatable, Codable {
        public var time: Double
        public var replicas: Int
    }
    public struct ScaleEvent: Sendable, Equatable, Codable {
        public var time: Double
        /// Replicas added (positive) or removed (negative).
        public var change: Int
    }
    public var recommendations: [Recommendation] = []
    public var events: [ScaleEvent] = []

    public init() {}
}

/// Why a decision came out as it did: data, rendered by `AutoscaleDecision.text`.
public enum AutoscaleReason: Sendable, Equatable, Codable {
    /// The ratio of metric to target is within the tolerance: nothing to do.
    case withinTolerance
    /// The count the metric asks for (after stabilisation and rate limits).
    case metric
    /// The metric asks for fewer, but a higher recommendation within the scale-down window holds.
    case stabilized(window: Double)
    /// More would be added than the scale-up policies allow in their period.
    case rateLimited
    case atMax
    case atMin
    /// The host has no more free GPUs for another replica.
    case gpuBound(free: Int)
    /// No replica reported the metric.
    case noMetrics
    /// Missing or not-yet-ready replicas, counted as the HPA counts them, reverse the direction
    /// or bring the ratio within the tolerance.
    case conservative

    public var label: String {
        switch self {
        case .withinTolerance: return "within-tolerance"
        case .metric: return "metric"
        case .stabilized: return "stabilized"
        case .rateLimited: return "rate-limited"
        case .atMax: return "at-max"
        case .atMin: return "at-min"
        case .gpuBound: return "gpus"
        case .noMetrics: return "no-metrics"
        case .conservative: return "conservative"
        }
    }
}

/// One decision of the autoscaler for one service.
public struct AutoscaleDecision: Sendable, Equatable, Codable {
    public var service: String
    public var from: Int
    public var to: Int
    /// The metric's name as shown (`inference_requests_in_flight`, `cpu %`).
    public var metric: String
    /// The average per replica over the replicas measured; nil without any measurement.
    public var value: Double?
    public var target: Double
    /// The count the metric alone asks for, before stabilisation, rate limits and bounds.
    public var recommended: Int
    public var reason: AutoscaleReason

    public init(
        service: String, from: Int, to: Int, metric: String, value: Double?, target: Double, recommended: Int,
        reason: AutoscaleReason
    ) {
        self.service = service
        self.from = from
        self.to = to
        self.metric = metric
        self.value = value
        self.target = target
        self.recommended = recommended
        self.reason = reason
    }

    /// "autoscale 2 → 4 (inference_requests_in_flight 38.1 per replica > target 20)".
    public var text: String {
        var detail: String
        if let value {
            let comparison = value > target ? ">" : value < target ? "<" : "="
            detail = "\(metric) \(AutoscaleText.number(value)) per replica \(comparison) target \(AutoscaleText.number(target))"
        } else {
            detail = "no replica reported \(metric)"
        }
        switch reason {
        case .metric, .noMetrics: break
        case .withinTolerance: detail += ", within the tolerance"
        case .stabilized(let window): detail += "; held by the highest recommendation of the last \(AutoscaleText.number(window)) s"
        case .rateLimited: detail += "; limited by the scale-up rate (wants \(recommended))"
        case .atMax: detail += "; at max (wants \(recommended))"
        case .atMin: detail += "; at min"
        case .gpuBound(let free):
            detail += "; GPU-bound: \(free) GPU\(free == 1 ? "" : "s") free (wants \(recommended))"
        case .conservative: detail += "; missing or unready replicas counted conservatively"
        }
        return "autoscale \(from) → \(to) (\(detail))"
    }
}

/// The HPA's algorithm as a pure function: no clock (time is an input), no I/O. Usable by any
/// target: it decides a count, and the caller's planner makes it so.
public enum Autoscaler {
    /// Decides the replica count of one service.
    ///
    /// - Parameters:
    ///   - current: replicas the service runs now (its slots).
    ///   - samples: a measurement per replica; replicas without one are the HPA's "missing".
    ///   - capacity: the most replicas the host can hold (free GPUs); nil when unbounded.
    ///   - now: seconds on the caller's clock, the same clock as earlier calls with `history`.
    ///   - history: updated with this recommendation and, when the count changes, a scale event.
    public static func decide(
        service: String, spec: AutoscaleSpec, current: Int, samples: [ReplicaSample], capacity: Int? = nil, now: Double,
        history: inout AutoscaleHistory
    ) -> AutoscaleDecision {
        let metricName = spec.metric.name
        func decision(_ to: Int, _ value: Double?, _ recommended: Int, _ reason: AutoscaleReason) -> AutoscaleDecision {
            if to != current { history.events.append(.init(time: now, change: to - current)) }
            prune(&history, spec: spec, now: now)
            return AutoscaleDecision(
                service: service, from: current, to: to, metric: metricName, value: value, target: spec.target, recommended: recommended,
                reason: reason)
        }
        // Out of bounds (the manifest changed): back within them first, as the HPA does.
        if current > spec.max { return decision(spec.max, nil, spec.max, .atMax) }
        if current < spec.min { return decision(spec.min, nil, spec.min, .atMin) }

        let raw = recommend(spec: spec, current: current, samples: samples)
        guard let average = raw.average else { return decision(current, nil, current, .noMetrics) }

        // Stabilisation: every raw recommendation is recorded; the count moves only as far as
        // the lowest (up) and highest (down) recommendation within the windows allow.
        var up = raw.replicas
        var down = raw.replicas
        for past in history.recommendations {
            if past.time > now - spec.scaleUp.window { up = Swift.min(up, past.replicas) }
            if past.time > now - spec.scaleDown.window { down = Swift.max(down, past.replicas) }
        }
        history.recommendations.append(.init(time: now, replicas: raw.replicas))
        var stabilized = current
        if stabilized < up { stabilized = up }
        if stabilized > down { stabilized = down }

        var reason: AutoscaleReason = raw.reason
        if stabilized != raw.replicas && raw.replicas < current { reason = .stabilized(window: spec.scaleDown.window) }
        var target = stabilized
        if target > current {
            let limit = Swift.max(current, scaleUpLimit(current: current, rules: spec.scaleUp, events: history.events, now: now))
            if spec.max <= limit {
                if target > spec.max { target = spec.max; reason = .atMax }
            } else if target > limit {
                target = limit
                reason = .rateLimited
            }
            if let capacity, target > Swift.max(current, capacity) {
                target = Swift.max(current, capacity)
                reason = .gpuBound(free: Swift.max(0, capacity - current))
            }
        } else if target < current {
            let limit = Swift.min(current, scaleDownLimit(current: current, rules: spec.scaleDown, events: history.events, now: now))
            if spec.min >= limit {
                if target < spec.min { target = spec.min; reason = .atMin }
            } else if target < limit {
                target = limit
                reason = .rateLimited
            }
        }
        return decision(target, average, raw.replicas, reason)
    }

    /// The HPA's replica calculation for an average-value target, before stabilisation:
    /// `ceil(ready × average / target)`, nothing within the tolerance, and missing or
    /// not-yet-ready replicas counted conservatively (0 on a scale-up, the target on a
    /// scale-down; unready ones only matter on a scale-up).
    public static func recommend(spec: AutoscaleSpec, current: Int, samples: [ReplicaSample])
        -> (replicas: Int, average: Double?, reason: AutoscaleReason)
    {
        let measured = samples.filter { $0.ready && $0.value != nil }.compactMap(\.value)
        let unready = samples.filter { !$0.ready }.count
        let missing = samples.filter { $0.ready && $0.value == nil }.count
        guard !measured.isEmpty, spec.target > 0 else { return (current, nil, .noMetrics) }
        let average = measured.reduce(0, +) / Double(measured.count)
        let ratio = average / spec.target
        let within = { (r: Double) in abs(r - 1) <= spec.tolerance }
        let scaleUpWithUnready = unready > 0 && ratio > 1
        if !scaleUpWithUnready && missing == 0 {
            if within(ratio) { return (current, average, .withinTolerance) }
            return (Int((ratio * Double(measured.count)).rounded(.up)), average, .metric)
        }
        var values = measured
        if missing > 0 { values += Array(repeating: ratio < 1 ? spec.target : 0, count: missing) }
        if scaleUpWithUnready { values += Array(repeating: 0, count: unready) }
        let newRatio = values.reduce(0, +) / Double(values.count) / spec.target
        if within(newRatio) || (ratio < 1 && newRatio > 1) || (ratio > 1 && newRatio < 1) {
            return (current, average, .conservative)
        }
        let replicas = Int((newRatio * Double(values.count)).rounded(.up))
        if (newRatio < 1 && replicas > current) || (newRatio > 1 && replicas < current) { return (current, average, .conservative) }
        return (replicas, average, .metric)
    }

    /// Replicas changed within the last `period` seconds: added (`up`) or removed.
    static func changed(_ events: [AutoscaleHistory.ScaleEvent], within period: Double, now: Double, up: Bool) -> Int {
        events.filter { $0.time > now - period && (up ? $0.change > 0 : $0.change < 0) }.reduce(0) { $0 + abs($1.change) }
    }

    static func scaleUpLimit(current: Int, rules: ScalingRules, events: [AutoscaleHistory.ScaleEvent], now: Double) -> Int {
        guard !rules.policies.isEmpty else { return Int.max }
        var result = Int.min
        for policy in rules.policies {
            let start = current - changed(events, within: policy.period, now: now, up: true)
                + changed(events, within: policy.period, now: now, up: false)
            let proposed = policy.kind == .replicas
                ? start + policy.value : Int((Double(start) * (1 + Double(policy.value) / 100)).rounded(.up))
            result = Swift.max(result, proposed)
        }
        return result
    }

    static func scaleDownLimit(current: Int, rules: ScalingRules, events: [AutoscaleHistory.ScaleEvent], now: Double) -> Int {
        guard !rules.policies.isEmpty else { return Int.min }
        var result = Int.max
        for policy in rules.policies {
            let start = current - changed(events, within: policy.period, now: now, up: true)
                + changed(events, within: policy.period, now: now, up: false)
            let proposed = policy.kind == .replicas
                ? start - policy.value : Int(Double(start) * (1 - Double(policy.value) / 100))
            result = Swift.min(result, proposed)
        }
        return result
    }

    /// Forgets what no window or period looks at any more.
    static func prune(_ history: inout AutoscaleHistory, spec: AutoscaleSpec, now: Double) {
        let keep = Swift.max(spec.scaleUp.window, spec.scaleDown.window)
        history.recommendations.removeAll { $0.time <= now - keep && $0.time < now }
        let periods = (spec.scaleUp.policies + spec.scaleDown.policies).map(\.period).max() ?? 0
        history.events.removeAll { $0.time <= now - periods }
    }

    /// The most replicas of a GPU service the host can hold now: its current count plus one
    /// per set of GPUs that nobody holds. Nil when the service asks for no GPUs, shares them,
    /// or the inventory is unknown: then nothing but `max` bounds it.
    public static func gpuCapacity(service: Service, current: Int, observed: ObservedState, inventory: [GPUDevice]?) -> (capacity: Int, free: Int)? {
        guard let ask = GPUPlacement.ask(for: service), service.extensions.gpuPlacement == .distinct, let inventory else { return nil }
        let held = Set(observed.containers.filter { $0.state != .removing }.flatMap(\.gpuDeviceIDs))
        let free = inventory.filter { !held.contains($0.id) && !($0.uuid.map(held.contains) ?? false) }.count
        let perReplica: Int
        switch ask {
        case .count(let n): perReplica = Swift.max(1, n)
        case .all, .ids: return (current, free)  // every GPU, or fixed ids: no second replica fits elsewhere
        }
        return (current + free / perReplica, free)
    }
}

enum AutoscaleText {
    /// "38.1", "20", "0.25": at most two decimals, no trailing zeros.
    static func number(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e15 { return String(Int(value)) }
        var text = String((value * 100).rounded() / 100)
        if text.contains("e") { return text }
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}
