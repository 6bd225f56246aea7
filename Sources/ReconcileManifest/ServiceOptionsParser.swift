import Foundation
import ReconcileCore

/// The service keys that pass through to the engine's container configuration.
enum ServiceOptionKeys {
    static let supported = [
        "container_name", "platform", "network_mode", "volumes_from", "links", "external_links", "privileged",
        "devices", "sysctls", "tty", "stdin_open", "read_only", "security_opt", "pid", "uts", "userns_mode", "cgroup",
        "cgroup_parent", "dns", "dns_search", "dns_opt", "domainname", "mac_address", "group_add", "cpu_count",
        "cpu_percent", "cpu_shares", "cpu_period", "cpu_quota", "cpu_rt_runtime", "cpu_rt_period", "cpuset",
        "mem_reservation", "mem_swappiness", "memswap_limit", "oom_kill_disable", "oom_score_adj", "blkio_config",
        "device_cgroup_rules", "storage_opt", "annotations", "label_file", "attach", "develop", "post_start", "pre_stop",
    ]

    /// Service keys of the Compose Specification refused for a reason that is true of this
    /// engine and tool; each reason is shown with the error.
    static let refused: [String: String] = [
        "isolation": "`isolation` chooses the isolation technology of Windows containers; this engine runs Linux containers, whose only isolation is `default`",
        "credential_spec": "`credential_spec` configures gMSA credentials for Windows containers; this engine runs Linux containers",
        "use_api_socket": "`use_api_socket` is a Docker Desktop feature that hands the container the engine's socket and the CLI's registry credentials; reconcile never gives a container control of the engine it manages",
        "models": "`models` binds a service to models served by Docker Model Runner, a Docker Desktop component this engine does not have",
        "provider": "`provider` delegates a service to a Compose provider plugin run by the docker CLI; reconcile runs containers through the Engine API only",
    ]
}

extension ServiceParser {
    /// Reads the pass-through keys into `service.options` and checks what can be checked
    /// within the service; references to other services are checked by the project parser.
    func containerOptions(_ entries: [MEntry], _ path: String, service: inout Service, result: inout ParsedService) {
        func value(_ key: String) -> MNode? { entries.last { $0.key == key }?.value }
        func entry(_ key: String) -> MEntry? { entries.last { $0.key == key } }
        func at(_ key: String) -> String { "\(path).\(key)" }
        func nonEmpty<T: Collection>(_ value: T?) -> T? { value.flatMap { $0.isEmpty ? nil : $0 } }
        var o = ContainerOptions()

        if let node = value("container_name"), let name = reader.string(node, at("container_name")) {
            if Self.isValidContainerName(name) {
                o.containerName = name
            } else {
                sink.error(node.pos, at("container_name"), "invalid container name `\(name)`",
                           hint: "use letters, digits, `_`, `.` and `-`, starting with a letter or digit")
            }
        }
        if let node = value("platform"), let text = reader.string(node, at("platform")) {
            let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            if (1...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty && !$0.contains(" ") }) {
                o.platform = text.lowercased()
            } else {
                sink.error(node.pos, at("platform"), "invalid platform `\(text)`", hint: "write OS[/ARCH[/VARIANT]], e.g. `linux/amd64`")
            }
        }
        if let node = value("network_mode"), let mode = reader.string(node, at("network_mode")) {
            networkMode(mode, node, at("network_mode"), entries: entries, service: &service, result: &result)
            o.networkMode = service.options?.networkMode
        }
        if let node = value("volumes_from"), let list = reader.stringList(node, at("volumes_from")) {
            var kept: [String] = []
            for (index, item) in list.enumerated() {
                let itemPath = "\(at("volumes_from"))[\(index)]"
                var parts = item.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
                var kind = "service"
                if parts.first == "service" || parts.first == "container" { kind = parts.removeFirst() }
                guard let name = parts.first, !name.isEmpty, parts.count <= 2, parts.count < 2 || ["ro", "rw"].contains(parts[1]) else {
                    sink.error(node.items?[index].pos ?? node.pos, itemPath, "invalid volumes_from `\(item)`",
                               hint: "write SERVICE, SERVICE:ro, container:NAME or container:NAME:rw")
                    continue
                }
                kept.append(([kind, name] + parts.dropFirst()).joined(separator: ":"))
                if kind == "service" { result.references.append((name, node.items?[index].pos ?? node.pos, itemPath)) }
            }
            o.volumesFrom = nonEmpty(kept)
        }
        if let node = value("links"), let list = reader.stringList(node, at("links")) {
            for (index, item) in list.enumerated() {
                let parts = item.split(separator: ":", omittingEmptySubsequences: false)
                let itemPath = "\(at("links"))[\(index)]"
                if parts.count > 2 || parts.contains(where: \.isEmpty) {
                    sink.error(node.items?[index].pos ?? node.pos, itemPath, "invalid link `\(item)`", hint: "write SERVICE or SERVICE:ALIAS")
                } else {
                    result.references.append((String(parts[0]), node.items?[index].pos ?? node.pos, itemPath))
                }
            }
            o.links = nonEmpty(list)
        }
        if let node = value("external_links"), let list = reader.stringList(node, at("external_links")) {
            o.externalLinks = nonEmpty(list)
        }
        if let node = value("privileged") { o.privileged = reader.bool(node, at("privileged")) }
        if let node = value("devices") { o.devices = nonEmpty(devices(node, at("devices"))) }
        if let node = value("sysctls") { o.sysctls = nonEmpty(requiredValues(node, at("sysctls"))) }
        if let node = value("tty") { o.tty = reader.bool(node, at("tty")) }
        if let node = value("stdin_open") { o.stdinOpen = reader.bool(node, at("stdin_open")) }
        if let node = value("read_only") { o.readOnly = reader.bool(node, at("read_only")) }
        if let node = value("security_opt") { o.securityOpt = nonEmpty(reader.stringList(node, at("security_opt"))) }
        if let node = value("pid") {
            o.pid = reader.string(node, at("pid"))
            if let mode = o.pid, mode.hasPrefix("service:") {
                result.references.append((String(mode.dropFirst("service:".count)), node.pos, at("pid")))
            }
        }
        if let node = value("uts") { o.uts = reader.choice(node, at("uts"), ["host"]) }
        if let node = value("userns_mode") { o.usernsMode = reader.string(node, at("userns_mode")) }
        if let node = value("cgroup") { o.cgroup = reader.choice(node, at("cgroup"), ["host", "private"]) }
        if let node = value("cgroup_parent") { o.cgroupParent = reader.string(node, at("cgroup_parent")) }
        if let node = value("dns") { o.dns = nonEmpty(reader.stringList(node, at("dns"), single: true)) }
        if let node = value("dns_search") { o.dnsSearch = nonEmpty(reader.stringList(node, at("dns_search"), single: true)) }
        if let node = value("dns_opt") { o.dnsOpt = nonEmpty(reader.stringList(node, at("dns_opt"))) }
        if let node = value("domainname") { o.domainname = reader.string(node, at("domainname")) }
        if let node = value("mac_address") {
            if let mac = reader.string(node, at("mac_address")) {
                let octets = mac.split(separator: ":", omittingEmptySubsequences: false)
                if octets.count == 6, octets.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isHexDigit) }) {
                    o.macAddress = mac.lowercased()
                } else {
                    sink.error(node.pos, at("mac_address"), "invalid MAC address `\(mac)`", hint: "write six hex pairs, e.g. 02:42:ac:11:00:02")
                }
            }
        }
        if let node = value("group_add") { o.groupAdd = nonEmpty(reader.stringList(node, at("group_add"))) }
        if let node = value("cpu_count") { o.cpuCount = reader.int(node, at("cpu_count"), min: 0).map(Int64.init) }
        if let node = value("cpu_percent") { o.cpuPercent = reader.int(node, at("cpu_percent"), min: 0, max: 100).map(Int64.init) }
        if let node = value("cpu_shares") { o.cpuShares = reader.int(node, at("cpu_shares"), min: 0).map(Int64.init) }
        if let node = value("cpu_period") { o.cpuPeriod = microseconds(node, at("cpu_period")) }
        if let node = value("cpu_quota") { o.cpuQuota = microseconds(node, at("cpu_quota"), allowMinusOne: true) }
        if let node = value("cpu_rt_runtime") { o.cpuRtRuntime = microseconds(node, at("cpu_rt_runtime")) }
        if let node = value("cpu_rt_period") { o.cpuRtPeriod = microseconds(node, at("cpu_rt_period")) }
        if let node = value("cpuset") {
            if let text = reader.string(node, at("cpuset")) {
                if !text.isEmpty, text.allSatisfy({ $0.isNumber || $0 == "," || $0 == "-" }) {
                    o.cpuset = text
                } else {
                    sink.error(node.pos, at("cpuset"), "invalid cpuset `\(text)`", hint: "write CPU numbers and ranges, e.g. `0-3,6`")
                }
            }
        }
        if let node = value("mem_reservation") { o.memReservation = reader.bytes(node, at("mem_reservation")) }
        if let node = value("mem_swappiness") { o.memSwappiness = reader.int(node, at("mem_swappiness"), min: 0, max: 100).map(Int64.init) }
        if let node = value("memswap_limit") {
            o.memswapLimit = node.scalarText == "-1" ? -1 : reader.bytes(node, at("memswap_limit"))
        }
        if let node = value("oom_kill_disable") { o.oomKillDisable = reader.bool(node, at("oom_kill_disable")) }
        if let node = value("oom_score_adj") { o.oomScoreAdj = reader.int(node, at("oom_score_adj"), min: -1000, max: 1000).map(Int64.init) }
        if let node = value("blkio_config") { o.blkio = blkio(node, at("blkio_config")) }
        if let node = value("device_cgroup_rules") {
            if let rules = reader.stringList(node, at("device_cgroup_rules")) {
                for (index, rule) in rules.enumerated() where !Self.isDeviceCgroupRule(rule) {
                    sink.error(node.items?[index].pos ?? node.pos, "\(at("device_cgroup_rules"))[\(index)]", "invalid device cgroup rule `\(rule)`",
                               hint: "write TYPE MAJOR:MINOR PERMISSIONS, e.g. `c 189:* rmw`")
                }
                o.deviceCgroupRules = nonEmpty(rules)
            }
        }
        if let node = value("storage_opt") { o.storageOpt = nonEmpty(reader.stringMap(node, at("storage_opt"))) }
        if let node = value("annotations") { o.annotations = nonEmpty(reader.stringMap(node, at("annotations"))) }
        if let node = value("label_file") { labelFiles(node, at("label_file"), into: &service.labels) }
        if let node = value("attach") { _ = reader.bool(node, at("attach")) }
        if let develop = entry("develop") {
            _ = reader.map(develop.value, at("develop"))
            sink.warning(develop.keyPos, at("develop"), "`develop` configures `docker compose watch`, a development loop; it does nothing here",
                         hint: "remove it, or keep it for `docker compose watch`")
        }
        if let node = value("post_start") { o.postStart = nonEmpty(hooks(node, at("post_start"))) }
        if let node = value("pre_stop") { o.preStop = nonEmpty(hooks(node, at("pre_stop"))) }
        service.options = o.isEmpty ? nil : o
    }

    /// Checks that need the replica count, which `deploy` and `scale` set after the options.
    func checkOptionsAgainstReplicas(_ entries: [MEntry], _ path: String, service: Service) {
        guard service.options?.containerName != nil, service.replicas > 1,
              let entry = entries.last(where: { $0.key == "container_name" }) else { return }
        sink.error(entry.value.pos, "\(path).container_name",
                   "`container_name` names one container, but the service has \(service.replicas) replicas",
                   hint: "remove `container_name` (replicas are named <project>-<service>-<n>) or run one replica")
    }

    static func isValidContainerName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.isASCIIAlnum else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCIIAlnum || $0 == "_" || $0 == "." || $0 == "-" }
    }

    static func isDeviceCgroupRule(_ rule: String) -> Bool {
        let parts = rule.split(separator: " ")
        guard parts.count == 3, ["a", "b", "c"].contains(parts[0]) else { return false }
        let numbers = parts[1].split(separator: ":", omittingEmptySubsequences: false)
        guard numbers.count == 2, numbers.allSatisfy({ $0 == "*" || (!$0.isEmpty && $0.allSatisfy(\.isNumber)) }) else { return false }
        return !parts[2].isEmpty && parts[2].allSatisfy { "rwm".contains($0) }
    }

    private func networkMode(
        _ mode: String, _ node: MNode, _ path: String, entries: [MEntry], service: inout Service, result: inout ParsedService
    ) {
        let isContainer = mode.hasPrefix("service:") || mode.hasPrefix("container:")
        guard ["host", "none", "bridge"].contains(mode) || (isContainer && !mode.hasSuffix(":")) else {
            sink.error(node.pos, path, "invalid network mode `\(mode)`", hint: "use host, none, bridge, service:NAME or container:NAME; for a network of the project use `networks`")
            return
        }
        if let networks = entries.last(where: { $0.key == "networks" }) {
            sink.error(networks.keyPos, "services.\(service.name).networks", "`networks` cannot be set with `network_mode: \(mode)`",
                       hint: "keep one of them: with `network_mode` the container has no network of the project")
        }
        if mode.hasPrefix("service:") {
            let name = String(mode.dropFirst("service:".count))
            result.references.append((name, node.pos, path))
        }
        // The engine refuses these with a container's network namespace (and ignores
        // published ports on the host's): said here, with the file and line.
        let conflicts: [(String, String)] = [
            ("ports", "port publishing"), ("expose", "exposed ports"), ("hostname", "a hostname"), ("dns", "DNS servers"),
            ("dns_search", "DNS search domains"), ("dns_opt", "DNS options"), ("extra_hosts", "extra hosts"), ("links", "links"),
            ("mac_address", "a MAC address"),
        ]
        for (key, what) in conflicts {
            guard let conflict = entries.last(where: { $0.key == key }) else { continue }
            if isContainer {
                sink.error(conflict.keyPos, "services.\(service.name).\(key)", "\(what) cannot be set with `network_mode: \(mode)`: the container uses another container's network stack",
                           hint: "set it on the service whose network it shares, or remove it")
            } else if mode == "host" && (key == "ports" || key == "mac_address") {
                sink.warning(conflict.keyPos, "services.\(service.name).\(key)", "\(what) has no effect with `network_mode: host`: the container uses the host's network stack")
            }
        }
        var options = service.options ?? ContainerOptions()
        options.networkMode = mode
        service.options = options
        service.networks = []
        result.usesDefaultNetwork = false
    }

    /// `KEY: VALUE` or `KEY=VALUE` where every key needs a value.
    private func requiredValues(_ node: MNode, _ path: String) -> [String: String]? {
        guard let pairs = reader.keyValues(node, path) else { return nil }
        var out: [String: String] = [:]
        for pair in pairs {
            guard let value = pair.value else {
                sink.error(pair.pos, "\(path).\(pair.key)", "`\(pair.key)` has no value", hint: "write `\(pair.key)=VALUE`")
                continue
            }
            out[pair.key] = value
        }
        return out
    }

    /// A number of microseconds, or a duration (`400ms`).
    private func microseconds(_ node: MNode, _ path: String, allowMinusOne: Bool = false) -> Int64? {
        guard let text = reader.string(node, path) else { return nil }
        if let number = Int64(text.trimmed(" ")) {
            if number >= 0 || (allowMinusOne && number == -1) { return number }
            sink.error(node.pos, path, "must be at least 0, got \(number)")
            return nil
        }
        if let seconds = Values.duration(text) { return Int64((seconds * 1e6).rounded()) }
        sink.error(node.pos, path, "invalid value `\(text)`", hint: "write microseconds (`100000`) or a duration (`100ms`)")
        return nil
    }

    private func devices(_ node: MNode, _ path: String) -> [DeviceMapping] {
        guard let items = node.items else {
            if !node.isNull { sink.error(node.pos, path, "expected a list, got \(node.kindDescription)") }
            return []
        }
        var out: [DeviceMapping] = []
        for (index, item) in items.enumerated() {
            let itemPath = "\(path)[\(index)]"
            var source: String?, target: String?, permissions = "rwm"
            if let entries = item.entries {
                reader.checkKeys(entries, itemPath, supported: ["source", "target", "permissions"])
                source = item["source"].flatMap { reader.string($0, "\(itemPath).source") }
                target = item["target"].flatMap { reader.string($0, "\(itemPath).target") }
                if let p = item["permissions"].flatMap({ reader.string($0, "\(itemPath).permissions") }) { permissions = p }
                if source == nil && item["source"] == nil { sink.error(item.pos, itemPath, "a device needs `source`") }
            } else if let text = reader.string(item, itemPath) {
                if text.contains("=") && !text.hasPrefix("/") {
                    sink.error(item.pos, itemPath, "`\(text)` is a CDI device name; CDI devices need Engine API 1.44 (Docker 25); this engine speaks 1.41",
                               hint: "for GPUs use `gpus` or `deploy.resources.reservations.devices`; for other devices give the host path, e.g. /dev/fuse")
                    continue
                }
                let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
                guard (1...3).contains(parts.count) else {
                    sink.error(item.pos, itemPath, "invalid device `\(text)`", hint: "write HOST_PATH[:CONTAINER_PATH[:PERMISSIONS]], e.g. /dev/fuse:/dev/fuse:rwm")
                    continue
                }
                source = parts[0]
                if parts.count >= 2 {
                    // "/dev/x:rw" is the host path and the permissions, as the docker CLI reads it.
                    if parts.count == 2 && !parts[1].hasPrefix("/") { permissions = parts[1] } else { target = parts[1] }
                }
                if parts.count == 3 { permissions = parts[2] }
            }
            guard let source else { continue }
            var ok = true
            for (what, value) in [("host path", source), ("container path", target ?? source)] where !value.hasPrefix("/") {
                sink.error(item.pos, itemPath, "the device's \(what) must be absolute, got `\(value)`")
                ok = false
            }
            if permissions.isEmpty || !permissions.allSatisfy({ "rwm".contains($0) }) {
                sink.error(item.pos, itemPath, "invalid device permissions `\(permissions)`", hint: "use some of r, w and m, e.g. `rwm`")
                ok = false
            }
            if ok { out.append(DeviceMapping(source: source, target: target, permissions: permissions)) }
        }
        return out
    }

    private func blkio(_ node: MNode, _ path: String) -> BlkioConfig? {
        guard let entries = reader.map(node, path) else { return nil }
        reader.checkKeys(
            entries, path,
            supported: ["weight", "weight_device", "device_read_bps", "device_write_bps", "device_read_iops", "device_write_iops"])
        var config = BlkioConfig()
        func weight(_ n: MNode, _ p: String) -> Int64? {
            guard let value = reader.int(n, p) else { return nil }
            guard (10...1000).contains(value) || value == 0 else {
                sink.error(n.pos, p, "a block IO weight is between 10 and 1000, got \(value)")
                return nil
            }
            return Int64(value)
        }
        if let n = node["weight"] { config.weight = weight(n, "\(path).weight") }
        func list(_ key: String) -> [MNode]? {
            guard let n = node[key] else { return nil }
            guard let items = n.items else {
                sink.error(n.pos, "\(path).\(key)", "expected a list of {path, \(key == "weight_device" ? "weight" : "rate")}, got \(n.kindDescription)")
                return nil
            }
            return items
        }
        if let items = list("weight_device") {
            config.weightDevice = items.enumerated().compactMap { index, item in
                let p = "\(path).weight_device[\(index)]"
                guard let e = reader.map(item, p) else { return nil }
                reader.checkKeys(e, p, supported: ["path", "weight"])
                guard let devicePath = item["path"].flatMap({ reader.string($0, "\(p).path") }),
                      let w = item["weight"].flatMap({ weight($0, "\(p).weight") }) else {
                    if item["path"] == nil || item["weight"] == nil { sink.error(item.pos, p, "needs `path` and `weight`") }
                    return nil
                }
                return BlkioConfig.Weight(path: devicePath, weight: w)
            }
        }
        func rates(_ key: String, bytes: Bool) -> [BlkioConfig.Rate]? {
            guard let items = list(key) else { return nil }
            return items.enumerated().compactMap { index, item in
                let p = "\(path).\(key)[\(index)]"
                guard let e = reader.map(item, p) else { return nil }
                reader.checkKeys(e, p, supported: ["path", "rate"])
                guard let devicePath = item["path"].flatMap({ reader.string($0, "\(p).path") }), let rateNode = item["rate"] else {
                    sink.error(item.pos, p, "needs `path` and `rate`")
                    return nil
                }
                let rate = bytes ? reader.bytes(rateNode, "\(p).rate") : reader.int(rateNode, "\(p).rate", min: 0).map(Int64.init)
                return rate.map { BlkioConfig.Rate(path: devicePath, rate: $0) }
            }
        }
        config.deviceReadBps = rates("device_read_bps", bytes: true)
        config.deviceWriteBps = rates("device_write_bps", bytes: true)
        config.deviceReadIops = rates("device_read_iops", bytes: false)
        config.deviceWriteIops = rates("device_write_iops", bytes: false)
        return config == BlkioConfig() ? nil : config
    }

    private func hooks(_ node: MNode, _ path: String) -> [LifecycleHook] {
        guard let items = node.items else {
            sink.error(node.pos, path, "expected a list of hooks ({command, user, privileged, working_dir, environment}), got \(node.kindDescription)")
            return []
        }
        var out: [LifecycleHook] = []
        for (index, item) in items.enumerated() {
            let p = "\(path)[\(index)]"
            guard let e = reader.map(item, p) else { continue }
            reader.checkKeys(e, p, supported: ["command", "user", "privileged", "working_dir", "environment"])
            guard let commandNode = item["command"] else {
                sink.error(item.pos, p, "a hook needs `command`")
                continue
            }
            guard let command = commandLine(commandNode, "\(p).command"), !command.isEmpty else {
                if commandNode.isNull { sink.error(commandNode.pos, "\(p).command", "the hook's command is empty") }
                continue
            }
            var hook = LifecycleHook(command: command)
            hook.user = item["user"].flatMap { reader.string($0, "\(p).user") }
            hook.privileged = item["privileged"].flatMap { reader.bool($0, "\(p).privileged") }
            hook.workingDir = item["working_dir"].flatMap { reader.string($0, "\(p).working_dir") }
            if let env = item["environment"], let pairs = reader.keyValues(env, "\(p).environment") {
                var environment: [String: String] = [:]
                for pair in pairs {
                    if let value = pair.value ?? context.environment[pair.key] { environment[pair.key] = value }
                }
                hook.environment = environment.isEmpty ? nil : environment
            }
            out.append(hook)
        }
        return out
    }

    /// `label_file`: files of `KEY=VALUE` lines; the service's own `labels` win.
    private func labelFiles(_ node: MNode, _ path: String, into labels: inout [String: String]) {
        guard let files = reader.stringList(node, path, single: true) else { return }
        var fromFiles: [String: String] = [:]
        for (index, file) in files.enumerated() {
            let pos = node.items?[index].pos ?? node.pos
            let full = PathTools.resolve(file, against: context.projectDirectory)
            guard let data = BoundedFile.contents(atPath: full), let text = String(data: data, encoding: .utf8) else {
                sink.error(pos, path, "cannot read the label file \(file) (looked at \(full))")
                continue
            }
            let parsed = DotEnv.parse(text)
            for error in parsed.errors {
                sink.error(Position(file: full, line: error.line, column: 1), path, error.message)
            }
            for line in parsed.entries {
                if line.key.hasPrefix("io.reconcile.") {
                    sink.error(Position(file: full, line: line.line, column: 1), path, "label keys under `io.reconcile.` are reserved for reconcile itself")
                    continue
                }
                fromFiles[line.key] = line.value ?? ""
            }
        }
        labels = fromFiles.merging(labels) { _, own in own }
    }
}

extension ProjectParser {
    /// Services named by `network_mode: service:`, `volumes_from` and `links` must exist and
    /// be active; their replica 1 is what the container joins, mounts from or links to.
    func checkReferences(_ services: [ParsedService], all: [String], active: Set<String>) {
        let byName = Dictionary(services.map { ($0.service.name, $0.service) }, uniquingKeysWith: { a, _ in a })
        for parsed in services {
            for reference in parsed.references {
                if reference.service == parsed.service.name {
                    sink.error(reference.pos, reference.path, "service \(parsed.service.name) refers to itself")
                } else if !all.contains(reference.service) {
                    let hint = Values.suggestion(for: reference.service, among: all).map { "did you mean `\($0)`?" }
                    sink.error(reference.pos, reference.path, "`\(reference.service)` is not a service of this manifest", hint: hint)
                } else if !active.contains(reference.service) {
                    sink.error(reference.pos, reference.path, "`\(reference.service)` is not active with the selected profiles",
                               hint: "enable one of its profiles")
                } else if let target = byName[reference.service], target.replicas != 1,
                          reference.path.hasSuffix("network_mode") {
                    sink.error(reference.pos, reference.path,
                               "`network_mode: service:\(reference.service)` joins one container, but \(reference.service) has \(target.replicas) replicas",
                               hint: "join a service with one replica")
                }
            }
        }
    }
}
