/// How the replacements of one service are carried out: the plan decides, the executor
/// follows. One per service that has recreates in the plan.
public struct ServiceRollout: Sendable, Equatable, Codable {
    public var service: String
    /// The recreate steps of the service, in plan order.
    public var steps: [Int]
    /// At most this many replicas are being replaced at once.
    public var batch: Int
    public var batchCause: BatchCause
    /// Seconds to wait after a replacement serves before its batch slot is free again.
    public var delay: Double
    public var gate: HealthGate
    public var failureAction: UpdatePolicy.FailureAction
    /// Old containers are stopped and kept until the whole rollout passed, so a failed gate
    /// can put every one of them back (`failure_action: rollback`); otherwise each is removed
    /// once its replacement serves.
    public var keepsReplaced: Bool

    public enum BatchCause: Sendable, Equatable, Codable {
        /// `update_config.parallelism`.
        case parallelism(Int)
        /// `update_config.parallelism: 0`: all at once.
        case all
        /// A GPU replica replaced in place takes its GPUs down with it: one at a time.
        case gpuInPlace
        /// Half the replicas, rounded up: Kubernetes' default budget (25% surge plus 25%
        /// unavailable), all of it spent on surge, since start-first never goes below the count.
        case halfOfReplicas(Int)

        public var text: String {
            switch self {
            case .parallelism(let n): return "update_config.parallelism is \(n)"
            case .all: return "update_config.parallelism is 0: all at once"
            case .gpuInPlace: return "GPU replicas are replaced one at a time"
            case .halfOfReplicas(let n): return "half of \(n) replica\(n == 1 ? "" : "s"), rounded up"
            }
        }
    }

    public var text: String {
        let count = steps.count
        var parts = ["\(count) replica\(count == 1 ? "" : "s"), \(batch) at a time (\(batchCause.text))"]
        if delay > 0 { parts.append("\(PlanText.seconds(delay)) between batches") }
        parts.append("gate: \(gate.text)")
        let failure: String
        switch failureAction {
        case .rollback: failure = "on failure: rollback (old containers kept until the rollout passes)"
        case .pause: failure = "on failure: pause (old containers removed as replacements serve)"
        case .continue: failure = "on failure: continue (old containers removed as replacements serve)"
        }
        parts.append(failure)
        return "rollout \(service): " + parts.joined(separator: "; ")
    }
}

/// When a new replica counts as serving.
public struct HealthGate: Sendable, Equatable, Codable {
    /// The manifest declares a healthcheck (an image may bring one too: the engine's health
    /// status is used whenever the container has one).
    public var healthcheck: Bool
    /// Without a health status: seconds the container must stay running.
    public var monitor: Double
    /// From `update_config.monitor`, or the default.
    public var monitorDeclared: Bool
    /// Seconds after which a replica that is not serving fails its gate.
    public var timeout: Double

    public init(healthcheck: Bool, monitor: Double, monitorDeclared: Bool, timeout: Double) {
        self.healthcheck = healthcheck
        self.monitor = monitor
        self.monitorDeclared = monitorDeclared
        self.timeout = timeout
    }

    public var text: String {
        let limit = "\(PlanText.seconds(timeout)) at most"
        if healthcheck { return "its healthcheck (\(limit))" }
        let running = "running \(PlanText.seconds(monitor))\(monitorDeclared ? " (update_config.monitor)" : "")"
        return "the image's healthcheck, else \(running) (\(limit))"
    }
}

extension Planner {
    /// The rollout of every service that has recreates, from its update policy and placement.
    func planRollouts() -> [ServiceRollout] {
        var byService: [String: [Int]] = [:]
        var order: [String] = []
        for step in steps where step.action == .recreate {
            guard let service = step.service else { continue }
            if byService[service] == nil { order.append(service) }
            byService[service, default: []].append(step.id)
        }
        return order.compactMap { name in
            guard let service = desired.service(named: name), let ids = byService[name] else { return nil }
            let policy = service.updateConfig
            let replicas = max(service.replicas, 1)
            let batch: Int
            let cause: ServiceRollout.BatchCause
            if let parallelism = policy.parallelism {
                batch = parallelism <= 0 ? ids.count : parallelism
                cause = parallelism <= 0 ? .all : .parallelism(parallelism)
            } else if service.devices.contains(where: \.isGPU) {
                batch = 1
                cause = .gpuInPlace
            } else {
                batch = max(1, (replicas + 1) / 2)
                cause = .halfOfReplicas(replicas)
            }
            let gate = HealthGate(
                healthcheck: service.healthcheck.map { $0.disabled != true } ?? false,
                monitor: policy.monitor ?? options.defaultMonitor, monitorDeclared: policy.monitor != nil,
                timeout: options.gateTimeout)
            return ServiceRollout(
                service: name, steps: ids, batch: batch, batchCause: cause, delay: policy.delay, gate: gate,
                failureAction: policy.failureAction, keepsReplaced: policy.failureAction == .rollback)
        }
    }
}
