import DockerEngine
import ReconcileCore

/// A service spec as flat fields in manifest spelling ("environment.MODEL_VERSION",
/// "deploy.update_config.order"), the form the planner compares and the plan shows.
///
/// The same function reads the desired spec and the spec the engine returns, so a field
/// the engine fills with its default (`Isolation: default`, `ForceUpdate: 0`, `Runtime:
/// container`, `EndpointSpec.Mode: vip`) and an empty value count as absent on both sides.
public enum SpecFields {
    public static let sensitive = "(sensitive)"

    /// `networkNames` maps network ids to names: the engine stores a service's networks by
    /// id whatever it was given.
    public static func fields(_ spec: ServiceSpec, secretEnv: [String] = [], networkNames: [String: String] = [:]) -> [String: String] {
        var out: [String: String] = [:]
        func put(_ key: String, _ value: String?) {
            guard let value, !value.isEmpty else { return }
            out[key] = value
        }
        func list(_ values: [String]?) -> String? {
            guard let values, !values.isEmpty else { return nil }
            return "[" + values.map(quoted).joined(separator: ", ") + "]"
        }
        func seconds(_ ns: Int64?) -> String? {
            guard let ns, ns != 0 else { return nil }
            return PlanText.seconds(Double(ns) / 1e9)
        }
        let task = spec.taskTemplate
        if let c = task.containerSpec {
            put("image", c.image)
            put("entrypoint", list(c.command))
            put("command", list(c.args))
            put("hostname", c.hostname)
            put("working_dir", c.dir)
            put("user", c.user)
            put("stop_signal", c.stopSignal)
            if let grace = c.stopGracePeriod, grace != 10_000_000_000 { put("stop_grace_period", seconds(grace)) }
            if c.`init` == true { put("init", "true") }
            if c.readOnly == true { put("read_only", "true") }
            put("cap_add", list(c.capabilityAdd))
            put("cap_drop", list(c.capabilityDrop))
            put("extra_hosts", list(c.hosts))
            for entry in c.env ?? [] {
                let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(parts[0])
                let value = parts.count > 1 ? String(parts[1]) : ""
                out["environment.\(name)"] = secretEnv.contains(name) ? sensitive : quoted(value)
            }
            for (key, value) in c.labels ?? [:] where key != stackNamespaceLabel {
                out["labels.\(key)"] = quoted(value)
            }
            for ulimit in c.ulimits ?? [] { out["ulimits.\(ulimit.name)"] = "\(ulimit.soft):\(ulimit.hard)" }
            if let health = c.healthCheck {
                put("healthcheck.test", list(health.test))
                put("healthcheck.interval", seconds(health.interval))
                put("healthcheck.timeout", seconds(health.timeout))
                put("healthcheck.start_period", seconds(health.startPeriod))
                if let retries = health.retries, retries != 0 { put("healthcheck.retries", String(retries)) }
            }
            for mount in c.mounts ?? [] {
                var text = mount.type + ":" + (mount.source.map { $0 + ":" } ?? "") + mount.target
                if mount.readOnly == true { text += ":ro" }
                out["volumes.\(mount.target)"] = text
            }
        }
        for (key, value) in spec.labels ?? [:] where key != stackNamespaceLabel && key != stackImageLabel && !key.hasPrefix("io.reconcile.") {
            out["deploy.labels.\(key)"] = quoted(value)
        }
        for network in task.networks ?? [] {
            out["networks.\(networkNames[network.target] ?? network.target)"] = list(network.aliases) ?? "[]"
        }
        for port in spec.endpointSpec?.ports ?? [] {
            let proto = port.protocol ?? "tcp"
            let published = port.publishedPort.map { "\($0):" } ?? ""
            out["ports.\(published)\(port.targetPort)/\(proto)"] = port.publishMode ?? "ingress"
        }
        if let mode = spec.endpointSpec?.mode, mode != "vip" { put("deploy.endpoint_mode", mode) }
        if spec.mode?.global != nil {
            out["deploy.mode"] = "global"
        } else {
            out["deploy.replicas"] = String(spec.mode?.replicated?.replicas ?? 1)
        }
        if let resources = task.resources {
            if let limits = resources.limits {
                if let cpus = limits.nanoCPUs, cpus != 0 { out["deploy.resources.limits.cpus"] = String(Double(cpus) / 1e9) }
                if let memory = limits.memoryBytes, memory != 0 { out["deploy.resources.limits.memory"] = String(memory) }
                if let pids = limits.pids, pids != 0 { out["deploy.resources.limits.pids"] = String(pids) }
            }
            if let reservations = resources.reservations {
                if let cpus = reservations.nanoCPUs, cpus != 0 { out["deploy.resources.reservations.cpus"] = String(Double(cpus) / 1e9) }
                if let memory = reservations.memoryBytes, memory != 0 { out["deploy.resources.reservations.memory"] = String(memory) }
                for resource in reservations.genericResources ?? [] {
                    if let discrete = resource.discreteResourceSpec {
                        out["deploy.resources.reservations.generic_resources.\(discrete.kind)"] = String(discrete.value)
                    }
                }
            }
        }
        if let policy = task.restartPolicy {
            // The engine's defaults (any, 5 s) count as absent.
            if let condition = policy.condition, condition != "any" { put("deploy.restart_policy.condition", condition) }
            if let attempts = policy.maxAttempts, attempts != 0 { put("deploy.restart_policy.max_attempts", String(attempts)) }
            if let delay = policy.delay, delay != 5_000_000_000 { put("deploy.restart_policy.delay", seconds(delay)) }
            put("deploy.restart_policy.window", seconds(policy.window))
        }
        if let constraints = task.placement?.constraints, !constraints.isEmpty {
            put("deploy.placement.constraints", list(constraints.sorted()))
        }
        if let driver = task.logDriver {
            put("logging.driver", driver.name)
            for (key, value) in driver.options ?? [:] { out["logging.options.\(key)"] = quoted(value) }
        }
        for (prefix, config) in [("deploy.update_config", spec.updateConfig), ("deploy.rollback_config", spec.rollbackConfig)] {
            guard let config else { continue }
            if let parallelism = config.parallelism, parallelism != 1 { out["\(prefix).parallelism"] = String(parallelism) }
            put("\(prefix).delay", seconds(config.delay))
            if let action = config.failureAction, action != "pause", !action.isEmpty { out["\(prefix).failure_action"] = action }
            if let monitor = config.monitor, monitor != 5_000_000_000 { put("\(prefix).monitor", seconds(monitor)) }
            if let order = config.order, order != "stop-first" { out["\(prefix).order"] = order }
            if let ratio = config.maxFailureRatio, ratio != 0 { out["\(prefix).max_failure_ratio"] = String(ratio) }
        }
        return out
    }

    /// The fields that differ, sorted by name; values as `fields` renders them.
    public static func changes(from observed: [String: String], to desired: [String: String]) -> [FieldChange] {
        Set(observed.keys).union(desired.keys).sorted().compactMap { key in
            let from = observed[key], to = desired[key]
            return from == to ? nil : FieldChange(field: key, from: from, to: to)
        }
    }

    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
