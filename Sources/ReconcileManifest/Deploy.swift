import ReconcileCore

extension ServiceParser {
    func deploy(_ node: MNode, _ path: String, service: inout Service, result: inout ParsedService, replicas: inout Int?) {
        guard let entries = reader.map(node, path) else { return }
        reader.checkKeys(
            entries, path,
            supported: ["mode", "replicas", "resources", "update_config", "rollback_config", "restart_policy", "labels"],
            unsupported: [
                "placement": "reconcile runs on one host; GPU placement is `x-reconcile.gpu_placement`",
                "endpoint_mode": "reconcile runs on one host",
            ])
        if let mode = node["mode"], let text = reader.choice(mode, "\(path).mode", ["replicated", "global"]), text == "global" {
            sink.error(mode.pos, "\(path).mode", "`mode: global` is not supported: reconcile runs on one host", hint: "use `replicas: 1`")
        }
        if let n = node["replicas"], let count = reader.int(n, "\(path).replicas") {
            if count < 0 {
                sink.error(n.pos, "\(path).replicas", "the replica count cannot be negative, got \(count)")
            } else {
                replicas = count
                result.replicasPos = n.pos
            }
        }
        if let labels = entries.last(where: { $0.key == "labels" }) {
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
            reader.checkKeys(
                sub, "\(path).reservations", supported: ["devices"],
                unsupported: ["cpus": "", "memory": "", "generic_resources": "for GPUs use `devices`"])
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
            entries, path, supported: ["gpu_placement", "gpu", "gpu_memory", "secret_env", "validate", "allow"], extensions: false)
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
        return ext
    }

    private func validation(_ node: MNode, _ path: String, service: Service) -> ValidationSpec? {
        guard let entries = reader.map(node, path) else { return nil }
        // max_error compares the device's outputs with the CPU's, which only a job computes.
        let jobKeys = ["image", "command", "max_error"]
        let endpointKeys = ["port", "concurrency", "duration"]
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
}
