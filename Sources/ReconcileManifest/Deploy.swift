import Foundation
import ReconcileCore
import ReconcileValidation

extension ServiceParser {
    func deploy(_ node: MNode, _ path: String, service: inout Service, result: inout ParsedService, replicas: inout Int?) {
        guard let entries = reader.map(node, path) else { return }
        for entry in entries { sink.keyPositions["\(path).\(entry.key)"] = entry.keyPos }
        if context.swarm {
            swarmDeploy(node, entries, path, service: &service)
        } else {
            reader.checkKeys(
                entries, path,
                supported: ["mode", "replicas", "resources", "update_config", "rollback_config", "restart_policy", "labels"],
                unsupported: [
                    "placement": "reconcile runs on one host; GPU placement is `x-reconcile.gpu_placement` (on a swarm, with `--target swarm`, placement is honoured)",
                    "endpoint_mode": "reconcile runs on one host (on a swarm, with `--target swarm`, it is honoured)",
                ])
            if let mode = node["mode"], let text = reader.choice(mode, "\(path).mode", ["replicated", "global"]), text == "global" {
                sink.error(mode.pos, "\(path).mode", "`mode: global` is not supported: reconcile runs on one host", hint: "use `replicas: 1`, or deploy to a swarm with `--target swarm`")
            }
        }
        if let n = node["replicas"], let count = reader.int(n, "\(path).replicas") {
            if count < 0 {
                sink.error(n.pos, "\(path).replicas", "the replica count cannot be negative, got \(count)")
            } else {
                replicas = count
                result.replicasPos = n.pos
            }
        }
        if !context.swarm, let labels = entries.last(where: { $0.key == "labels" }) {
            _ = reader.stringMap(labels.value, "\(path).labels")
            sink.warning(labels.keyPos, "\(path).labels", "`deploy.labels` label Swarm services and are ignored", hint: "use the service's `labels` for container labels")
        }
        if let resources = node["resources"] { self.resources(resources, "\(path).resources", service: &service, result: &result) }
        if let update = node["update_config"] { service.updateConfig = updatePolicy(update, "\(path).update_config") }
        if let rollback = node["rollback_config"] { service.rollbackConfig = updatePolicy(rollback, "\(path).rollback_config") }
        if let policy = node["restart_policy"] { restartPolicy(policy, "\(path).restart_policy", service: &service) }
    }

    private func resources(_ node: MNode, _ path: String, service: inout Service, result: inout ParsedService) {
        guard let entries = reader.map(node, path) else { return }
        reader.checkKeys(entries, path, supported: ["limits", "reservations"])
        if let limits = node["limits"], let sub = reader.map(limits, "\(path).limits") {
            reader.checkKeys(sub, "\(path).limits", supported: ["cpus", "memory", "pids"])
            if let n = limits["cpus"], let cpus = reader.double(n, "\(path).limits.cpus", min: 0) {
                if cpus == 0 {
                    sink.error(n.pos, "\(path).limits.cpus", "a CPU limit of 0 is not a limit", hint: "remove it, or give a positive number such as 0.5")
                } else {
                    service.limits.cpus = cpus
                }
            }
            if let n = limits["memory"] { service.limits.memoryBytes = reader.bytes(n, "\(path).limits.memory") }
            if let n = limits["pids"] { service.limits.pids = reader.int(n, "\(path).limits.pids", min: -1) }
        }
        if let reservations = node["reservations"], let sub = reader.map(reservations, "\(path).reservations") {
            if context.swarm {
                swarmReservations(reservations, sub, "\(path).reservations", service: &service)
            } else {
                reader.checkKeys(
                    sub, "\(path).reservations", supported: ["devices"],
                    unsupported: ["cpus": "", "memory": "", "generic_resources": "for GPUs use `devices` (on a swarm, with `--target swarm`, generic resources are honoured)"])
            }
            if let devices = reservations["devices"] {
                let devicesPath = "\(path).reservations.devices"
                if let items = devices.items {
                    for (index, item) in items.enumerated() {
                        if let request = deviceRequest(item, "\(devicesPath)[\(index)]", defaultCapabilities: nil) {
                            service.devices.append(request)
                            result.devicePositions.append(item.pos)
                        }
                    }
                } else if !devices.isNull {
                    sink.error(devices.pos, devicesPath, "expected a list, got \(devices.kindDescription)")
                }
            }
        }
    }

    /// `deploy` for a swarm: the single-host keys plus `mode: global`, `placement`,
    /// `endpoint_mode` and `labels` (of the service).
    private func swarmDeploy(_ node: MNode, _ entries: [MEntry], _ path: String, service: inout Service) {
        reader.checkKeys(
            entries, path,
            supported: [
                "mode", "replicas", "resources", "update_config", "rollback_config", "restart_policy", "labels", "placement",
                "endpoint_mode",
            ])
        var swarm = service.swarm ?? SwarmDeploy()
        if let mode = node["mode"], let text = reader.choice(mode, "\(path).mode", ["replicated", "global"]) {
            swarm.global = text == "global"
            if swarm.global, let replicas = node["replicas"] {
                sink.error(replicas.pos, "\(path).replicas", "`replicas` has no meaning with `mode: global` (one task per node)", hint: "remove one of them")
            }
        }
        if let n = node["endpoint_mode"] { swarm.endpointMode = reader.choice(n, "\(path).endpoint_mode", ["vip", "dnsrr"]) }
        if let n = node["labels"] { swarm.labels = reader.stringMap(n, "\(path).labels") ?? [:] }
        if let placement = node["placement"], let sub = reader.map(placement, "\(path).placement") {
            reader.checkKeys(sub, "\(path).placement", supported: ["constraints", "preferences", "max_replicas_per_node"])
            if let n = placement["constraints"] { swarm.constraints = reader.stringList(n, "\(path).placement.constraints") ?? [] }
            if let n = placement["max_replicas_per_node"] { swarm.maxReplicasPerNode = reader.int(n, "\(path).placement.max_replicas_per_node", min: 0) }
            if let n = placement["preferences"], let items = n.items {
                for (index, item) in items.enumerated() {
                    let itemPath = "\(path).placement.preferences[\(index)]"
                    guard let itemEntries = reader.map(item, itemPath) else { continue }
                    reader.checkKeys(itemEntries, itemPath, supported: ["spread"])
                    if let spread = item["spread"], let text = reader.string(spread, "\(itemPath).spread") { swarm.spreads.append(text) }
                }
            }
        }
        service.swarm = swarm
    }

    /// `resources.reservations` for a swarm: CPUs and memory the scheduler reserves, and
    /// generic resources (`{discrete_resource_spec: {kind: NVIDIA-GPU, value: 1}}`).
    private func swarmReservations(_ node: MNode, _ entries: [MEntry], _ path: String, service: inout Service) {
        reader.checkKeys(entries, path, supported: ["devices", "cpus", "memory", "generic_resources"])
        var swarm = service.swarm ?? SwarmDeploy()
        if let n = node["cpus"] { swarm.reservedCPUs = reader.double(n, "\(path).cpus", min: 0) }
        if let n = node["memory"] { swarm.reservedMemoryBytes = reader.bytes(n, "\(path).memory") }
        if let n = node["generic_resources"] {
            if let items = n.items {
                for (index, item) in items.enumerated() {
                    let itemPath = "\(path).generic_resources[\(index)]"
                    guard let itemEntries = reader.map(item, itemPath) else { continue }
                    reader.checkKeys(itemEntries, itemPath, supported: ["discrete_resource_spec"])
                    guard let spec = item["discrete_resource_spec"], let specEntries = reader.map(spec, "\(itemPath).discrete_resource_spec") else { continue }
                    reader.checkKeys(specEntries, "\(itemPath).discrete_resource_spec", supported: ["kind", "value"])
                    guard let kind = spec["kind"].flatMap({ reader.string($0, "\(itemPath).discrete_resource_spec.kind") }),
                        let value = spec["value"].flatMap({ reader.int($0, "\(itemPath).discrete_resource_spec.value", min: 1) })
                    else {
                        sink.error(spec.pos, "\(itemPath).discrete_resource_spec", "needs `kind` and `value`", hint: "e.g. {kind: NVIDIA-GPU, value: 1}")
                        continue
                    }
                    swarm.genericResources[kind, default: 0] += Int64(value)
                }
            } else if !n.isNull {
                sink.error(n.pos, "\(path).generic_resources", "expected a list, got \(n.kindDescription)")
            }
        }
        service.swarm = swarm
    }

    /// One `devices` entry (or one `gpus` list entry, where capabilities default to gpu).
    func deviceRequest(_ node: MNode, _ path: String, defaultCapabilities: [String]?) -> DeviceRequest? {
        guard let entries = reader.map(node, path) else { return nil }
        reader.checkKeys(entries, path, supported: ["driver", "count", "device_ids", "capabilities", "options"])
        var request = DeviceRequest()
        var ok = true
        if let n = node["driver"] { request.driver = reader.string(n, "\(path).driver") }
        let countNode = node["count"], idsNode = node["device_ids"]
        if let countNode, let idsNode {
            sink.error(idsNode.pos, "\(path).device_ids", "`count` and `device_ids` are mutually exclusive", hint: "keep one of them")
            _ = countNode
            ok = false
        }
        if let countNode {
            if countNode.scalarText?.lowercased() == "all" {
                request.count = .all
            } else if let count = reader.int(countNode, "\(path).count", min: 1) {
                request.count = .exactly(count)
            } else {
                ok = false
            }
        }
        if let idsNode {
            if let ids = reader.stringList(idsNode, "\(path).device_ids") {
                if ids.isEmpty {
                    sink.error(idsNode.pos, "\(path).device_ids", "the list of device ids is empty")
                    ok = false
                }
                request.deviceIDs = ids
            } else {
                ok = false
            }
        }
        if countNode == nil && idsNode == nil { request.count = .all }
        if let n = node["capabilities"] {
            if let caps = reader.stringList(n, "\(path).capabilities") {
                if caps.isEmpty {
                    sink.error(n.pos, "\(path).capabilities", "the list of capabilities is empty", hint: "for GPUs use `[gpu]`")
                    ok = false
                }
                request.capabilities = caps
            } else {
                ok = false
            }
        } else if let defaultCapabilities {
            request.capabilities = defaultCapabilities
        } else {
            sink.error(node.pos, path, "missing `capabilities`", hint: "for GPUs add `capabilities: [gpu]`")
            ok = false
        }
        if let n = node["options"] { request.options = reader.stringMap(n, "\(path).options") ?? [:] }
        return ok ? request : nil
    }

    /// The service-level `gpus:` key: `all`, a count, or a list of device maps.
    func gpus(_ node: MNode, _ path: String) -> [DeviceRequest] {
        if let items = node.items {
            return items.enumerated().compactMap { index, item in
                deviceRequest(item, "\(path)[\(index)]", defaultCapabilities: ["gpu"])
            }
        }
        if let text = node.scalarText {
            if text.lowercased() == "all" { return [DeviceRequest(count: .all)] }
            if let count = Int(text), count >= 1 { return [DeviceRequest(count: .exactly(count))] }
        }
        sink.error(node.pos, path, "expected `all`, a number of GPUs or a list of device maps, got \(node.kindDescription)")
        return []
    }

    /// `runtime: nvidia` with `NVIDIA_VISIBLE_DEVICES`: the older GPU form, turned into a device
    /// request so that reconcile's placement sees the GPUs.
    func nvidiaRuntime(_ node: MNode, _ path: String, service: inout Service, result: inout ParsedService) {
        guard service.devices.filter(\.isGPU).isEmpty else {
            sink.warning(node.pos, path, "`runtime: nvidia` is ignored: the service already requests GPUs as devices")
            service.runtime = nil
            return
        }
        let visible = service.environment["NVIDIA_VISIBLE_DEVICES"]?.trimmed(" ")
        let request: DeviceRequest?
        let how: String
        switch visible {
        case nil, "", "all":
            request = DeviceRequest(driver: "nvidia", count: .all)
            how = "all GPUs"
        case "none", "void":
            request = nil
            how = "no GPU (NVIDIA_VISIBLE_DEVICES=\(visible ?? ""))"
        case let list?:
            let ids = list.split(separator: ",").map { String($0).trimmed(" ") }.filter { !$0.isEmpty }
            request = DeviceRequest(driver: "nvidia", deviceIDs: ids)
            how = "device ids \(ids.joined(separator: ","))"
        }
        if let request {
            service.devices.append(request)
            result.devicePositions.append(node.pos)
        }
        service.environment.removeValue(forKey: "NVIDIA_VISIBLE_DEVICES")
        service.runtime = nil
        sink.warning(
            node.pos, path,
            "`runtime: nvidia` is the older GPU form; reconcile turned it into a GPU device request for \(how) and dropped NVIDIA_VISIBLE_DEVICES",
            hint: "write `deploy.resources.reservations.devices` (driver: nvidia, count or device_ids, capabilities: [gpu]) instead")
    }

    func updatePolicy(_ node: MNode, _ path: String) -> UpdatePolicy {
        var policy = UpdatePolicy()
        guard let entries = reader.map(node, path) else { return policy }
        reader.checkKeys(
            entries, path, supported: ["parallelism", "delay", "order", "failure_action", "monitor"],
            unsupported: ["max_failure_ratio": ""])
        if let n = node["parallelism"] { policy.parallelism = reader.int(n, "\(path).parallelism", min: 0) }
        if let n = node["delay"], let delay = reader.duration(n, "\(path).delay") { policy.delay = delay }
        if let n = node["order"], let text = reader.choice(n, "\(path).order", ["start-first", "stop-first"]) {
            policy.order = UpdatePolicy.Order(rawValue: text)
        }
        if let n = node["failure_action"], let text = reader.choice(n, "\(path).failure_action", ["pause", "rollback", "continue"]),
           let action = UpdatePolicy.FailureAction(rawValue: text) {
            policy.failureAction = action
        }
        if let n = node["monitor"] { policy.monitor = reader.duration(n, "\(path).monitor") }
        return policy
    }

    private func restartPolicy(_ node: MNode, _ path: String, service: inout Service) {
        guard let entries = reader.map(node, path) else { return }
        reader.checkKeys(entries, path, supported: ["condition", "max_attempts", "delay", "window"])
        var restart = "always"
        if let n = node["condition"], let text = reader.choice(n, "\(path).condition", ["none", "on-failure", "any"]) {
            restart = ["none": "no", "on-failure": "on-failure", "any": "always"][text] ?? "always"
        }
        if let n = node["max_attempts"], let attempts = reader.int(n, "\(path).max_attempts", min: 0), restart == "on-failure" {
            restart = "on-failure:\(attempts)"
        }
        for key in ["delay", "window"] {
            if let entry = entries.last(where: { $0.key == key }) {
                _ = reader.duration(entry.value, "\(path).\(key)")
                sink.warning(entry.keyPos, "\(path).\(key)", "`restart_policy.\(key)` is ignored: the engine restarts containers itself")
            }
        }
        if let existing = service.restart, existing != restart {
            sink.error(node.pos, path, "`deploy.restart_policy` conflicts with `restart: \(existing)`", hint: "set only one of them")
            return
        }
        service.restart = restart
    }

    // MARK: - x-reconcile

    func extensions(_ node: MNode, _ path: String, service: inout Service) -> ServiceExtensions {
        var ext = ServiceExtensions()
        guard let entries = reader.map(node, path) else { return ext }
        reader.checkKeys(
            entries, path, supported: ["gpu_placement", "gpu", "gpu_memory", "secret_env", "validate", "autoscale", "allow"], extensions: false)
        if let n = node["gpu_placement"], let text = reader.choice(n, "\(path).gpu_placement", ["distinct", "shared"]),
           let value = ServiceExtensions.GPUPlacement(rawValue: text) {
            ext.gpuPlacement = value
        }
        if let n = node["gpu"], let text = reader.choice(n, "\(path).gpu", ["required", "optional"]),
           let value = ServiceExtensions.GPURequirement(rawValue: text) {
            ext.gpu = value
        }
        if let n = node["gpu_memory"] { ext.gpuMemoryBytes = reader.bytes(n, "\(path).gpu_memory") }
        if service.devices.filter(\.isGPU).isEmpty {
            for key in ["gpu_placement", "gpu", "gpu_memory"] {
                if let entry = entries.last(where: { $0.key == key }) {
                    sink.warning(entry.keyPos, "\(path).\(key)", "`\(key)` has no effect: the service requests no GPU")
                }
            }
        }
        if let n = node["secret_env"], let names = reader.stringList(n, "\(path).secret_env") {
            for (index, name) in names.enumerated() where service.environment[name] == nil {
                let hint = Values.suggestion(for: name, among: Array(service.environment.keys)).map { "did you mean `\($0)`?" }
                sink.warning(n.items?[index].pos ?? n.pos, "\(path).secret_env[\(index)]",
                             "`\(name)` is not in the service's environment", hint: hint)
            }
            service.secretEnv = Array(Set(names)).sorted()
        }
        if let n = node["validate"] { ext.validate = validation(n, "\(path).validate", service: service) }
        if let n = node["autoscale"] { ext.autoscale = autoscale(n, "\(path).autoscale", service: &service) }
        return ext
    }

    /// `x-reconcile.autoscale` (docs/autoscale.md). Every bad value is reported; nil when any is bad.
    private func autoscale(_ node: MNode, _ path: String, service: inout Service) -> AutoscaleSpec? {
        guard let entries = reader.map(node, path) else { return nil }
        reader.checkKeys(
            entries, path, supported: ["min", "max", "metric", "target", "interval", "scale_up_window", "scale_down_window", "tolerance"],
            extensions: false)
        var bad = false
        func need<T>(_ key: String, _ hint: String, _ read: (MNode) -> T?) -> T? {
            guard let n = node[key] else {
                sink.error(node.pos, path, "missing `\(key)`", hint: hint)
                bad = true
                return nil
            }
            guard let value = read(n) else { bad = true; return nil }
            return value
        }
        func optional<T>(_ key: String, _ read: (MNode) -> T?) -> T? {
            guard let n = node[key] else { return nil }
            guard let value = read(n) else { bad = true; return nil }
            return value
        }
        let minimum = need("min", "set `min: 1`, the fewest replicas to keep") { reader.int($0, "\(path).min", min: 1) }
        let maximum = need("max", "set `max:` to the most replicas the host may run") { reader.int($0, "\(path).max", min: 1) }
        let metric = need("metric", "set `metric: {prometheus: NAME, port: PORT, path: /metrics}`, `metric: cpu` or `metric: memory`") {
            autoscaleMetric($0, "\(path).metric", service: service)
        }
        let target = need("target", "set `target:` to the metric's wanted average per replica") { n -> Double? in
            guard let value = reader.double(n, "\(path).target", min: 0) else { return nil }
            if value <= 0 {
                sink.error(n.pos, "\(path).target", "the target must be above 0, got \(n.scalarText ?? "")")
                return nil
            }
            return value
        }
        func seconds(_ key: String, positive: Bool) -> Double? {
            optional(key) { n -> Double? in
                guard let value = reader.duration(n, "\(path).\(key)") else { return nil }
                if positive && value <= 0 {
                    sink.error(n.pos, "\(path).\(key)", "must be longer than 0 s, got \(n.scalarText ?? "")", hint: "e.g. `\(key): 15s`")
                    return nil
                }
                return value
            }
        }
        let interval = seconds("interval", positive: true)
        let upWindow = seconds("scale_up_window", positive: false)
        let downWindow = seconds("scale_down_window", positive: false)
        let tolerance = optional("tolerance") { n -> Double? in
            guard let value = reader.double(n, "\(path).tolerance", min: 0) else { return nil }
            if value >= 1 {
                sink.error(n.pos, "\(path).tolerance", "the tolerance is a fraction below 1 (0.1 is 10%), got \(n.scalarText ?? "")")
                return nil
            }
            return value
        }
        if let minimum, let maximum, minimum > maximum, let n = node["max"] {
            sink.error(n.pos, "\(path).max", "`max: \(maximum)` is below `min: \(minimum)`", hint: "set max to at least \(minimum)")
            bad = true
        }
        guard !bad, let minimum, let maximum, let metric, let target else { return nil }
        var spec = AutoscaleSpec(min: minimum, max: maximum, metric: metric, target: target)
        if let interval { spec.interval = interval }
        if let upWindow { spec.scaleUp.window = upWindow }
        if let downWindow { spec.scaleDown.window = downWindow }
        if let tolerance { spec.tolerance = tolerance }
        if service.replicas < minimum || service.replicas > maximum {
            let clamped = spec.clamp(service.replicas)
            sink.warning(
                node.pos, path, "`replicas: \(service.replicas)` is outside autoscale's [\(minimum), \(maximum)]: the service starts with \(clamped)",
                hint: "set `deploy.replicas` within min and max")
            service.replicas = clamped
        }
        return spec
    }

    private func autoscaleMetric(_ node: MNode, _ path: String, service: Service) -> AutoscaleMetric? {
        if case .scalar = node.value, let text = node.scalarText {
            switch text {
            case "cpu": return .cpu
            case "memory":
                if service.limits.memoryBytes == nil {
                    sink.error(node.pos, path, "`metric: memory` is a percentage of the memory limit, and the service sets none",
                               hint: "set `deploy.resources.limits.memory`")
                    return nil
                }
                return .memory
            default:
                let hint = Values.suggestion(for: text, among: ["cpu", "memory", "prometheus"]).map { "did you mean `\($0)`?" }
                sink.error(node.pos, path, "unknown metric `\(text)`",
                           hint: hint ?? "use `cpu`, `memory`, or a map `{prometheus: NAME, port: PORT, path: /metrics}`")
                return nil
            }
        }
        guard let entries = reader.map(node, path) else { return nil }
        reader.checkKeys(entries, path, supported: ["prometheus", "port", "path", "quantile"], extensions: false)
        guard let nameNode = node["prometheus"] else {
            sink.error(node.pos, path, "missing `prometheus`", hint: "name the metric each replica exposes: `prometheus: inference_requests_in_flight`")
            return nil
        }
        var bad = false
        let name = reader.string(nameNode, "\(path).prometheus")
        if let name, name.isEmpty || !name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == ":") }) || name.first?.isNumber == true {
            sink.error(nameNode.pos, "\(path).prometheus", "`\(name)` is not a Prometheus metric name",
                       hint: "letters, digits, `_` and `:`, not starting with a digit")
            bad = true
        }
        var port: Int?
        if let n = node["port"] {
            port = reader.int(n, "\(path).port", min: 1, max: 65535)
            if port == nil { bad = true }
        } else if let first = service.expose.first.flatMap({ Int($0.split(separator: "/").first ?? "") }) ?? service.ports.first?.target {
            port = first
        } else {
            sink.error(node.pos, path, "missing `port`: the service exposes no port to scrape", hint: "set `port:` to the container port of the metrics endpoint")
            bad = true
        }
        var metricsPath = "/metrics"
        if let n = node["path"] {
            if let text = reader.string(n, "\(path).path") {
                if text.hasPrefix("/") { metricsPath = text } else {
                    sink.error(n.pos, "\(path).path", "the path must start with `/`, got `\(text)`", hint: "e.g. `path: /metrics`")
                    bad = true
                }
            } else { bad = true }
        }
        var quantile: Double?
        if let n = node["quantile"] {
            if let value = reader.double(n, "\(path).quantile", min: 0), value > 0, value < 1 {
                quantile = value
            } else {
                if node["quantile"].flatMap({ Double($0.scalarText ?? "") }) != nil {
                    sink.error(n.pos, "\(path).quantile", "a quantile is between 0 and 1 exclusive, got \(n.scalarText ?? "")", hint: "e.g. `quantile: 0.99`")
                }
                bad = true
            }
        }
        guard !bad, let name, let port else { return nil }
        return .prometheus(name: name, port: port, path: metricsPath, quantile: quantile)
    }

    private func validation(_ node: MNode, _ path: String, service: Service) -> ValidationSpec? {
        guard let entries = reader.map(node, path) else { return nil }
        // max_error compares the device's outputs with the CPU's, which only a job computes.
        let jobKeys = ["image", "command", "max_error"]
        let endpointKeys = ["port", "concurrency", "duration", "path", "requests", "prediction"]
        reader.checkKeys(
            entries, path,
            supported: ["mode", "min_accuracy", "max_p99_ms", "min_throughput", "timeout", "on_failure"] + jobKeys + endpointKeys,
            extensions: false)
        guard let modeNode = node["mode"] else {
            sink.error(node.pos, path, "missing `mode`", hint: "set `mode: job` (run a check container) or `mode: endpoint` (drive the service's port)")
            return nil
        }
        guard let modeText = reader.choice(modeNode, "\(path).mode", ["job", "endpoint"]),
              let mode = ValidationSpec.Mode(rawValue: modeText) else { return nil }
        var spec = ValidationSpec(mode: mode)
        let wrongKeys = mode == .job ? endpointKeys : jobKeys
        for entry in entries where wrongKeys.contains(entry.key) {
            sink.error(entry.keyPos, "\(path).\(entry.key)", "`\(entry.key)` does not apply to `mode: \(modeText)`")
        }
        if let n = node["image"] { spec.image = reader.string(n, "\(path).image") }
        if let n = node["command"] { spec.command = commandLine(n, "\(path).command") }
        if let n = node["port"] { spec.port = reader.int(n, "\(path).port", min: 1, max: 65535) }
        if let n = node["min_accuracy"] { spec.minAccuracy = reader.double(n, "\(path).min_accuracy", min: 0) }
        if let n = node["max_error"] { spec.maxError = reader.double(n, "\(path).max_error", min: 0) }
        if let n = node["max_p99_ms"] { spec.maxP99Ms = reader.double(n, "\(path).max_p99_ms", min: 0) }
        if let n = node["min_throughput"] { spec.minThroughput = reader.double(n, "\(path).min_throughput", min: 0) }
        if let n = node["timeout"] { spec.timeout = reader.duration(n, "\(path).timeout") }
        if let n = node["concurrency"] { spec.concurrency = reader.int(n, "\(path).concurrency", min: 1) }
        if let n = node["duration"] { spec.duration = reader.duration(n, "\(path).duration") }
        if let n = node["path"], let text = reader.string(n, "\(path).path") {
            if text.hasPrefix("/") {
                spec.path = text
            } else {
                sink.error(n.pos, "\(path).path", "`\(text)` is not an HTTP path", hint: "write it from the root, e.g. `/v1/predict`")
            }
        }
        if let n = node["prediction"], let text = reader.string(n, "\(path).prediction") {
            do {
                _ = try JSONPath(parsing: text)
                spec.prediction = text
            } catch {
                sink.error(n.pos, "\(path).prediction", "\(error)")
            }
        }
        if let n = node["requests"], let file = reader.string(n, "\(path).requests") {
            spec.requests = requestsFile(file, n.pos, "\(path).requests")
            if spec.path == nil {
                sink.error(n.pos, "\(path).requests", "a requests file needs the HTTP path to send it to",
                           hint: "set `path:` (e.g. `/predict`, `/invocations`)")
            }
        }
        if let n = node["on_failure"], let text = reader.choice(n, "\(path).on_failure", ["rollback", "pause", "ignore"]),
           let action = ValidationSpec.OnFailure(rawValue: text) {
            spec.onFailure = action
        }
        if mode == .endpoint && spec.port == nil && service.ports.isEmpty && service.expose.isEmpty {
            sink.error(node.pos, path, "endpoint validation needs a port, and the service publishes or exposes none",
                       hint: "set `port:` to the container port to drive")
        }
        return spec
    }

    /// Checks a requests file now, so a broken one is a positioned error of `check` and `plan`
    /// rather than a failed validation after the rollout; returns its absolute path.
    private func requestsFile(_ file: String, _ pos: Position, _ keyPath: String) -> String? {
        let full = PathTools.resolve(file, against: context.projectDirectory)
        guard let data = FileManager.default.contents(atPath: full) else {
            sink.error(pos, keyPath, "requests file `\(file)` cannot be read (looked at \(full))",
                       hint: "write one `{\"request\": ..., \"expect\": ...}` object per line (docs/validation.md)")
            return nil
        }
        let parsed = RequestFile.parse(String(decoding: data, as: UTF8.self))
        for error in parsed.errors {
            sink.error(Position(file: full, line: error.line, column: 1), keyPath, error.message)
        }
        return parsed.errors.isEmpty ? full : nil
    }
}
