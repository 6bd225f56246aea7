import Foundation
import ReconcileCore

/// What the service parser needs from the rest of the manifest.
struct ServiceContext {
    var projectDirectory: String
    var environment: [String: String]
    var declaredVolumes: Set<String>
    var declaredNetworks: Set<String>
    /// Loaded for a swarm: the keys only Swarm honours are accepted.
    var swarm = false
}

/// A parsed service plus the positions cross-service checks report against.
struct ParsedService {
    var service: Service
    var namePos: Position
    var portPositions: [Position]
    var dependencyPositions: [String: Position]
    var replicasPos: Position?
    var devicePositions: [Position]
    var usesDefaultNetwork: Bool
    /// Services named by `network_mode: service:`, `volumes_from` and `links`, with where.
    var references: [(service: String, pos: Position, path: String)] = []
    /// Where `build:` is, for errors about its context found once the project is known.
    var buildPos: Position? = nil
}

enum ServiceKeys {
    static let supported = [
        "image", "command", "entrypoint", "environment", "env_file", "ports", "volumes", "networks",
        "depends_on", "healthcheck", "restart", "labels", "working_dir", "user", "stop_signal",
        "stop_grace_period", "deploy", "scale", "init", "profiles", "expose", "shm_size", "ipc", "ulimits",
        "tmpfs", "extra_hosts", "hostname", "cap_add", "cap_drop", "pull_policy", "logging", "runtime", "gpus",
        "build", "mem_limit", "cpus", "pids_limit", "x-reconcile", "secrets", "configs",
    ] + ServiceOptionKeys.supported

    /// Compose service keys reconcile rejects, with what to do instead (none today: the keys
    /// refused for a reason true of this engine are in `ServiceOptionKeys.refused`).
    static let unsupported: [String: String] = [:]
}

struct ServiceParser {
    let reader: Reader
    let context: ServiceContext
    var sink: DiagnosticSink { reader.sink }

    func parse(name: String, namePos: Position, node: MNode) -> ParsedService? {
        let path = "services.\(name)"
        guard let entries = reader.map(node, path) else { return nil }
        reader.checkKeys(
            entries, path, supported: ServiceKeys.supported, unsupported: ServiceKeys.unsupported,
            refused: ServiceOptionKeys.refused)
        func value(_ key: String) -> MNode? { entries.last { $0.key == key }?.value }
        func at(_ key: String) -> String { "\(path).\(key)" }
        sink.keyPositions[path] = namePos
        for entry in entries { sink.keyPositions[at(entry.key)] = entry.keyPos }

        var result = ParsedService(
            service: Service(name: name, image: ""), namePos: namePos, portPositions: [], dependencyPositions: [:],
            replicasPos: nil, devicePositions: [], usesDefaultNetwork: false)
        var service = result.service

        // image and build
        let image = value("image").flatMap { reader.string($0, at("image")) }
        if let image, image.trimmed(" ").isEmpty, let node = value("image") {
            sink.error(node.pos, at("image"), "the image reference is empty")
        }
        if let build = entries.last(where: { $0.key == "build" }) {
            service.build = self.build(build.value, at("build"))
            result.buildPos = build.keyPos
        } else if value("image") == nil {
            sink.error(namePos, path, "service \(name) has no `image`", hint: "set `image: NAME[:TAG]` or `build: FOLDER`")
        }
        service.image = image ?? ""

        if let node = value("command") { service.command = commandLine(node, at("command")) }
        if let node = value("entrypoint") { service.entrypoint = commandLine(node, at("entrypoint")) }

        // environment: env_file entries first, then `environment`.
        var environment: [String: String] = [:]
        if let node = value("env_file") { envFiles(node, at("env_file"), into: &environment) }
        if let node = value("environment"), let pairs = reader.keyValues(node, at("environment")) {
            for pair in pairs {
                if pair.key.isEmpty {
                    sink.error(pair.pos, at("environment"), "empty variable name")
                } else if let value = pair.value {
                    environment[pair.key] = value
                } else if let value = context.environment[pair.key] {
                    environment[pair.key] = value
                } else {
                    environment.removeValue(forKey: pair.key)
                }
            }
        }
        service.environment = environment

        if let node = value("ports") {
            let parsed = ports(node, at("ports"))
            service.ports = parsed.mappings
            result.portPositions = parsed.positions
        }
        if let node = value("expose") { service.expose = expose(node, at("expose")) }
        if let node = value("volumes") { service.mounts = mounts(node, at("volumes"), tmpfs: &service.tmpfs) }
        if let node = value("tmpfs"), let list = reader.stringList(node, at("tmpfs"), single: true) {
            for (index, item) in list.enumerated() {
                if !item.hasPrefix("/") {
                    sink.error(node.items?[index].pos ?? node.pos, "\(at("tmpfs"))[\(index)]", "a tmpfs path must be absolute, got `\(item)`")
                }
            }
            service.tmpfs = list + service.tmpfs
        }

        if let node = value("networks") {
            service.networks = serviceNetworks(node, at("networks"))
        } else {
            service.networks = [ServiceNetwork(key: "default")]
            result.usesDefaultNetwork = true
        }
        if service.networks.contains(where: { $0.key == "default" }) { result.usesDefaultNetwork = true }

        if let node = value("depends_on") {
            service.dependsOn = dependencies(node, at("depends_on"), positions: &result.dependencyPositions)
        }
        if let node = value("healthcheck") { service.healthcheck = healthcheck(node, at("healthcheck")) }
        if let node = value("restart") { service.restart = restart(node, at("restart")) }
        if let node = value("labels") { service.labels = labels(node, at("labels")) }
        if let node = value("working_dir") { service.workingDir = reader.string(node, at("working_dir")) }
        if let node = value("user") { service.user = reader.string(node, at("user")) }
        if let node = value("stop_signal") { service.stopSignal = reader.string(node, at("stop_signal")) }
        if let node = value("stop_grace_period") { service.stopGracePeriod = reader.duration(node, at("stop_grace_period")) }
        if let node = value("init") { service.initProcess = reader.bool(node, at("init")) }
        if let node = value("profiles"), let list = reader.stringList(node, at("profiles")) {
            for (index, profile) in list.enumerated() where !Self.isValidName(profile) {
                sink.error(node.items?[index].pos ?? node.pos, "\(at("profiles"))[\(index)]", "invalid profile name `\(profile)`",
                           hint: "use letters, digits, `_`, `.` and `-`, starting with a letter or digit")
            }
            service.profiles = Array(Set(list)).sorted()
        }
        if let node = value("shm_size") { service.shmSize = reader.bytes(node, at("shm_size")) }
        if let node = value("ipc") { service.ipc = reader.string(node, at("ipc")) }
        if let node = value("ulimits") { service.ulimits = ulimits(node, at("ulimits")) }
        if let node = value("extra_hosts") { service.extraHosts = extraHosts(node, at("extra_hosts")) }
        if let node = value("hostname") { service.hostname = reader.string(node, at("hostname")) }
        if let node = value("cap_add"), let list = reader.stringList(node, at("cap_add")) { service.capAdd = Array(Set(list)).sorted() }
        if let node = value("cap_drop"), let list = reader.stringList(node, at("cap_drop")) { service.capDrop = Array(Set(list)).sorted() }
        if let node = value("pull_policy") { service.pullPolicy = pullPolicyValue(node, at("pull_policy")) }
        if let node = value("logging") { service.logging = logging(node, at("logging")) }
        if let node = value("runtime") { service.runtime = reader.string(node, at("runtime")) }

        containerOptions(entries, path, service: &service, result: &result)

        // Replicas, resources, devices and update policies.
        var deployReplicas: Int?
        var legacy = ResourceLimits()
        if let node = value("mem_limit") { legacy.memoryBytes = reader.bytes(node, at("mem_limit")) }
        if let node = value("cpus") { legacy.cpus = reader.double(node, at("cpus"), min: 0) }
        if let node = value("pids_limit") { legacy.pids = reader.int(node, at("pids_limit"), min: -1) }
        if let node = value("deploy") {
            deploy(node, at("deploy"), service: &service, result: &result, replicas: &deployReplicas)
        }
        func mergeLegacy<T: Equatable>(_ key: String, _ deployKey: String, _ legacyValue: T?, _ current: inout T?) {
            guard let legacyValue, let node = value(key) else { return }
            if let current, current != legacyValue {
                sink.error(node.pos, at(key), "`\(key)` conflicts with `deploy.resources.limits.\(deployKey)`", hint: "set only one of them")
            }
            current = legacyValue
        }
        mergeLegacy("mem_limit", "memory", legacy.memoryBytes, &service.limits.memoryBytes)
        mergeLegacy("cpus", "cpus", legacy.cpus, &service.limits.cpus)
        mergeLegacy("pids_limit", "pids", legacy.pids, &service.limits.pids)

        if let node = value("scale"), let scale = reader.int(node, at("scale")) {
            if scale < 0 {
                sink.error(node.pos, at("scale"), "the replica count cannot be negative, got \(scale)")
            } else if let deployReplicas, deployReplicas != scale {
                sink.error(node.pos, at("scale"), "`scale: \(scale)` conflicts with `deploy.replicas: \(deployReplicas)`", hint: "keep only `deploy.replicas`")
            } else {
                deployReplicas = scale
                result.replicasPos = node.pos
            }
        }
        service.replicas = deployReplicas ?? 1

        if let node = value("gpus") {
            let requests = gpus(node, at("gpus"))
            service.devices += requests
            result.devicePositions += requests.map { _ in node.pos }
        }
        if service.runtime == "nvidia", let node = value("runtime") {
            nvidiaRuntime(node, at("runtime"), service: &service, result: &result)
        }

        // update_config.parallelism 0 means "all at once", as in Swarm.
        if service.updateConfig.parallelism == 0 { service.updateConfig.parallelism = max(service.replicas, 1) }
        if service.rollbackConfig.parallelism == 0 { service.rollbackConfig.parallelism = max(service.replicas, 1) }

        if let node = value("x-reconcile") {
            service.extensions = extensions(node, at("x-reconcile"), service: &service)
        }
        result.service = Service(
            name: service.name, image: service.image, command: service.command, entrypoint: service.entrypoint,
            environment: service.environment, secretEnv: service.secretEnv, ports: service.ports,
            expose: service.expose, mounts: service.mounts, networks: service.networks,
            dependsOn: service.dependsOn.sorted { $0.service < $1.service }, healthcheck: service.healthcheck,
            restart: service.restart, labels: service.labels, workingDir: service.workingDir, user: service.user,
            stopSignal: service.stopSignal, stopGracePeriod: service.stopGracePeriod, replicas: service.replicas,
            limits: service.limits, devices: service.devices, updateConfig: service.updateConfig,
            rollbackConfig: service.rollbackConfig, initProcess: service.initProcess, profiles: service.profiles,
            shmSize: service.shmSize, ipc: service.ipc, ulimits: service.ulimits.sorted { $0.name < $1.name },
            tmpfs: service.tmpfs, extraHosts: service.extraHosts, hostname: service.hostname, capAdd: service.capAdd,
            capDrop: service.capDrop, pullPolicy: service.pullPolicy, logging: service.logging,
            runtime: service.runtime, extensions: service.extensions)
        result.service.options = service.options
        checkOptionsAgainstReplicas(entries, path, service: result.service)
        result.service.build = service.build
        result.service.swarm = service.swarm
        return result
    }

    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.isASCIIAlnum else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCIIAlnum || $0 == "_" || $0 == "." || $0 == "-" }
    }

    // MARK: - Command lines

    /// String form is split like a shell does; list form is taken as is.
    func commandLine(_ node: MNode, _ path: String) -> [String]? {
        if node.isNull { return nil }
        if case .scalar = node.value, let text = node.scalarText {
            guard let words = Values.shellSplit(text) else {
                sink.error(node.pos, path, "unterminated quote or trailing backslash in `\(text)`")
                return nil
            }
            return words
        }
        return reader.stringList(node, path, single: true)
    }

    // MARK: - Environment files

    func envFiles(_ node: MNode, _ path: String, into environment: inout [String: String]) {
        var specs: [(path: String, required: Bool, pos: Position, keyPath: String)] = []
        let items = node.items ?? [node]
        for (index, item) in items.enumerated() {
            let itemPath = node.items == nil ? path : "\(path)[\(index)]"
            if let text = item.scalarText, item.entries == nil {
                specs.append((text, true, item.pos, itemPath))
            } else if let entries = item.entries {
                reader.checkKeys(entries, itemPath, supported: ["path", "required", "format"])
                guard let pathNode = item["path"] else {
                    sink.error(item.pos, itemPath, "missing `path`")
                    continue
                }
                guard let file = reader.string(pathNode, "\(itemPath).path") else { continue }
                let required = item["required"].flatMap { reader.bool($0, "\(itemPath).required") } ?? true
                if let format = item["format"], let text = reader.string(format, "\(itemPath).format"), text != "raw" {
                    sink.error(format.pos, "\(itemPath).format", "unknown env_file format `\(text)`", hint: "only `raw` is known")
                }
                specs.append((file, required, pathNode.pos, "\(itemPath).path"))
            } else {
                sink.error(item.pos, itemPath, "expected a path or a map with `path`, got \(item.kindDescription)")
            }
        }
        for spec in specs {
            let full = PathTools.resolve(spec.path, against: context.projectDirectory)
            guard let data = BoundedFile.contents(atPath: full), let text = String(data: data, encoding: .utf8) else {
                if spec.required {
                    sink.error(spec.pos, spec.keyPath, "env_file `\(spec.path)` cannot be read (looked at \(full))",
                               hint: "create it, or use the long form with `required: false`")
                }
                continue
            }
            let parsed = DotEnv.parse(text)
            for error in parsed.errors {
                sink.error(Position(file: full, line: error.line, column: 1), spec.keyPath, error.message)
            }
            let interpolator = Interpolator(environment: context.environment, sink: sink)
            for line in parsed.entries {
                if let value = line.value, line.literal {
                    environment[line.key] = value
                } else if let value = line.value {
                    let node = interpolator.apply(.string(value, Position(file: full, line: line.line, column: 1)), path: spec.keyPath)
                    environment[line.key] = node.scalarText ?? value
                } else if let value = context.environment[line.key] {
                    environment[line.key] = value
                }
            }
        }
    }

    // MARK: - Ports

    func ports(_ node: MNode, _ path: String) -> (mappings: [PortMapping], positions: [Position]) {
        var result: (mappings: [PortMapping], positions: [Position]) = ([], [])
        guard let items = node.items else {
            if !node.isNull { sink.error(node.pos, path, "expected a list, got \(node.kindDescription)") }
            return result
        }
        for (index, item) in items.enumerated() {
            let itemPath = "\(path)[\(index)]"
            var mappings: [PortMapping] = []
            if case .scalar = item.value, let text = item.scalarText {
                switch Values.shortPort(text) {
                case .ok(let list): mappings = list
                case .failure(let message, let hint): sink.error(item.pos, itemPath, message, hint: hint)
                }
            } else if let entries = item.entries {
                reader.checkKeys(entries, itemPath, supported: ["target", "published", "host_ip", "protocol", "mode", "name", "app_protocol"])
                guard let targetNode = item["target"] else {
                    sink.error(item.pos, itemPath, "missing `target` (the container port)")
                    continue
                }
                guard let target = reader.int(targetNode, "\(itemPath).target", min: 1, max: 65535) else { continue }
                var published: ClosedRange<Int>?
                if let publishedNode = item["published"], let text = reader.string(publishedNode, "\(itemPath).published") {
                    guard let range = Values.portRange(text) else {
                        sink.error(publishedNode.pos, "\(itemPath).published", "invalid host port `\(text)`",
                                   hint: "a port is a number from 1 to 65535")
                        continue
                    }
                    published = range
                }
                var proto = "tcp"
                if let protoNode = item["protocol"], let text = reader.choice(protoNode, "\(itemPath).protocol", ["tcp", "udp", "sctp"]) {
                    proto = text
                }
                if let modeNode = item["mode"] { _ = reader.choice(modeNode, "\(itemPath).mode", ["host", "ingress"]) }
                if let appNode = item["app_protocol"] { _ = reader.string(appNode, "\(itemPath).app_protocol") }
                if let nameNode = item["name"] { _ = reader.string(nameNode, "\(itemPath).name") }
                let hostIP = item["host_ip"].flatMap { reader.string($0, "\(itemPath).host_ip") }
                let text = "\(published.map { "\($0.lowerBound)-\($0.upperBound)" } ?? ""):\(target)"
                switch Values.expand(targets: target...target, published: published, hostIP: hostIP, proto: proto, text: text) {
                case .ok(let list): mappings = list
                case .failure(let message, let hint): sink.error(item.pos, itemPath, message, hint: hint)
                }
            } else {
                sink.error(item.pos, itemPath, "expected a string or a map, got \(item.kindDescription)")
            }
            for mapping in mappings {
                result.mappings.append(mapping)
                result.positions.append(item.pos)
            }
        }
        return result
    }

    func expose(_ node: MNode, _ path: String) -> [String] {
        guard let list = reader.stringList(node, path) else { return [] }
        var out: [String] = []
        for (index, item) in list.enumerated() {
            var spec = item
            var proto: String?
            if let slash = spec.lastIndex(of: "/") {
                proto = String(spec[spec.index(after: slash)...]).lowercased()
                spec = String(spec[..<slash])
            }
            guard let range = Values.portRange(spec), proto.map(Values.protocols.contains) ?? true else {
                sink.error(node.items?[index].pos ?? node.pos, "\(path)[\(index)]", "invalid port `\(item)`",
                           hint: "write `80`, `80/udp` or a range like `8000-8010`")
                continue
            }
            for port in range {
                let entry = proto.map { $0 == "tcp" ? "\(port)" : "\(port)/\($0)" } ?? "\(port)"
                if !out.contains(entry) { out.append(entry) }
            }
        }
        return out
    }

    // MARK: - Volumes

    func mounts(_ node: MNode, _ path: String, tmpfs: inout [String]) -> [Mount] {
        guard let items = node.items else {
            if !node.isNull { sink.error(node.pos, path, "expected a list, got \(node.kindDescription)") }
            return []
        }
        var byTarget: [String: Mount] = [:]
        for (index, item) in items.enumerated() {
            let itemPath = "\(path)[\(index)]"
            let mount: Mount?
            if case .scalar = item.value, let text = item.scalarText {
                mount = shortMount(text, item.pos, itemPath)
            } else if item.entries != nil {
                mount = longMount(item, itemPath, tmpfs: &tmpfs)
            } else {
                sink.error(item.pos, itemPath, "expected a string or a map, got \(item.kindDescription)")
                mount = nil
            }
            guard let mount else { continue }
            if byTarget[mount.target] != nil {
                sink.error(item.pos, itemPath, "two mounts target `\(mount.target)`", hint: "keep one of them")
            }
            byTarget[mount.target] = mount
        }
        return byTarget.values.sorted { $0.target < $1.target }
    }

    private func checkTarget(_ target: String, _ pos: Position, _ path: String) -> Bool {
        if target.hasPrefix("/") { return true }
        sink.error(pos, path, "the mount target must be an absolute path in the container, got `\(target)`")
        return false
    }

    private func volumeSource(_ name: String, _ pos: Position, _ path: String) -> Bool {
        if context.declaredVolumes.contains(name) { return true }
        let hint = Values.suggestion(for: name, among: Array(context.declaredVolumes)).map { "did you mean `\($0)`?" }
            ?? "declare it under the top-level `volumes:` (e.g. `volumes: { \(name): {} }`), or write `./\(name)` for a folder next to the manifest"
        sink.error(pos, path, "named volume `\(name)` is not declared in the top-level `volumes`", hint: hint)
        return false
    }

    private func bindSource(_ source: String, _ pos: Position, _ path: String) -> String? {
        if source.hasPrefix("~") {
            guard let home = context.environment["HOME"] else {
                sink.error(pos, path, "cannot expand `~` in `\(source)`: HOME is not set")
                return nil
            }
            return PathTools.resolve(home + source.dropFirst(), against: "/")
        }
        return PathTools.resolve(source, against: context.projectDirectory)
    }

    private static func isHostPath(_ source: String) -> Bool {
        source.hasPrefix("/") || source.hasPrefix(".") || source.hasPrefix("~")
    }

    func shortMount(_ text: String, _ pos: Position, _ path: String) -> Mount? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard (1...3).contains(parts.count), !parts.contains(where: \.isEmpty) else {
            sink.error(pos, path, "invalid volume `\(text)`", hint: "write `SOURCE:TARGET[:ro]` or `TARGET`")
            return nil
        }
        if parts.count == 1 {
            guard checkTarget(parts[0], pos, path) else { return nil }
            return Mount(type: .volume, source: nil, target: parts[0])
        }
        let source = parts[0], target = parts[1]
        guard checkTarget(target, pos, path) else { return nil }
        var readOnly = false
        if parts.count == 3 {
            for option in parts[2].split(separator: ",").map(String.init) {
                switch option {
                case "ro": readOnly = true
                case "rw": readOnly = false
                case "z", "Z", "nocopy", "cached", "delegated", "consistent":
                    sink.warning(pos, path, "volume option `\(option)` is ignored by reconcile")
                case "shared", "rshared", "slave", "rslave", "private", "rprivate":
                    sink.error(pos, path, "bind propagation `\(option)` is not supported yet")
                default:
                    let hint = Values.suggestion(for: option, among: ["ro", "rw"]).map { "did you mean `\($0)`?" } ?? "use `ro` or `rw`"
                    sink.error(pos, path, "unknown volume option `\(option)` in `\(text)`", hint: hint)
                }
            }
        }
        if Self.isHostPath(source) {
            guard let resolved = bindSource(source, pos, path) else { return nil }
            return Mount(type: .bind, source: resolved, target: target, readOnly: readOnly)
        }
        guard volumeSource(source, pos, path) else { return nil }
        return Mount(type: .volume, source: source, target: target, readOnly: readOnly)
    }

    func longMount(_ node: MNode, _ path: String, tmpfs: inout [String]) -> Mount? {
        guard let entries = node.entries else { return nil }
        reader.checkKeys(
            entries, path, supported: ["type", "source", "target", "read_only", "consistency", "bind", "volume", "tmpfs"],
            unsupported: ["image": "", "npipe": ""])
        guard let typeNode = node["type"] else {
            sink.error(node.pos, path, "missing `type`", hint: "set `type: volume`, `bind` or `tmpfs`")
            return nil
        }
        guard let typeText = reader.choice(typeNode, "\(path).type", ["volume", "bind", "tmpfs"]),
              let kind = Mount.Kind(rawValue: typeText) else { return nil }
        guard let targetNode = node["target"] else {
            sink.error(node.pos, path, "missing `target`")
            return nil
        }
        guard let target = reader.string(targetNode, "\(path).target"),
              checkTarget(target, targetNode.pos, "\(path).target") else { return nil }
        let readOnly = node["read_only"].flatMap { reader.bool($0, "\(path).read_only") } ?? false
        let sourceNode = node["source"].flatMap { $0.isNull ? nil : $0 }
        let source = sourceNode.flatMap { reader.string($0, "\(path).source") }
        if let sub = node["consistency"] { _ = reader.string(sub, "\(path).consistency") }
        for other in ["bind", "volume", "tmpfs"] where other != typeText {
            if let sub = entries.last(where: { $0.key == other }) {
                sink.error(sub.keyPos, "\(path).\(other)", "`\(other)` options on a mount of type \(typeText)")
            }
        }
        switch kind {
        case .volume:
            if let sub = node["volume"], let subEntries = reader.map(sub, "\(path).volume") {
                reader.checkKeys(subEntries, "\(path).volume", supported: ["nocopy"], unsupported: ["subpath": ""])
                if let nocopy = sub["nocopy"], reader.bool(nocopy, "\(path).volume.nocopy") == true {
                    sink.warning(nocopy.pos, "\(path).volume.nocopy", "`nocopy` is ignored by reconcile")
                }
            }
            if let source, let sourceNode {
                guard volumeSource(source, sourceNode.pos, "\(path).source") else { return nil }
            }
            return Mount(type: .volume, source: source, target: target, readOnly: readOnly)
        case .bind:
            if let sub = node["bind"], let subEntries = reader.map(sub, "\(path).bind") {
                reader.checkKeys(subEntries, "\(path).bind", supported: ["create_host_path"], unsupported: ["propagation": "", "selinux": ""])
                if let create = sub["create_host_path"] { _ = reader.bool(create, "\(path).bind.create_host_path") }
            }
            guard let source, let sourceNode else {
                sink.error(node.pos, path, "a bind mount needs `source` (a host path)")
                return nil
            }
            guard let resolved = bindSource(source, sourceNode.pos, "\(path).source") else { return nil }
            return Mount(type: .bind, source: resolved, target: target, readOnly: readOnly)
        case .tmpfs:
            if let sourceNode {
                sink.error(sourceNode.pos, "\(path).source", "a tmpfs mount has no `source`")
            }
            var options: [String] = []
            if let sub = node["tmpfs"], let subEntries = reader.map(sub, "\(path).tmpfs") {
                reader.checkKeys(subEntries, "\(path).tmpfs", supported: ["size", "mode"])
                if let size = sub["size"], let bytes = reader.bytes(size, "\(path).tmpfs.size") { options.append("size=\(bytes)") }
                if let mode = sub["mode"], let text = reader.string(mode, "\(path).tmpfs.mode") {
                    if text.allSatisfy({ ("0"..."7").contains($0) }) {
                        // YAML reads an unquoted 1777 as decimal; the mode is meant in octal either way.
                        options.append("mode=\(text)")
                    } else {
                        sink.error(mode.pos, "\(path).tmpfs.mode", "invalid mode `\(text)`", hint: "write octal digits, e.g. 1777")
                    }
                }
            }
            if readOnly { options.append("ro") }
            if !options.isEmpty {
                // Docker's tmpfs list takes size and mode; a Mount of type tmpfs does not carry them.
                tmpfs.append("\(target):\(options.joined(separator: ","))")
                return nil
            }
            return Mount(type: .tmpfs, source: nil, target: target, readOnly: readOnly)
        }
    }

    // MARK: - Networks and dependencies

    func serviceNetworks(_ node: MNode, _ path: String) -> [ServiceNetwork] {
        var out: [ServiceNetwork] = []
        func check(_ key: String, _ pos: Position, _ keyPath: String) -> Bool {
            if context.declaredNetworks.contains(key) || key == "default" { return true }
            let hint = Values.suggestion(for: key, among: Array(context.declaredNetworks)).map { "did you mean `\($0)`?" }
                ?? "declare it under the top-level `networks:`"
            sink.error(pos, keyPath, "network `\(key)` is not declared in the top-level `networks`", hint: hint)
            return false
        }
        if let items = node.items {
            for (index, item) in items.enumerated() {
                guard let key = reader.string(item, "\(path)[\(index)]") else { continue }
                if check(key, item.pos, "\(path)[\(index)]") && !out.contains(where: { $0.key == key }) {
                    out.append(ServiceNetwork(key: key))
                }
            }
        } else if let entries = node.entries {
            for entry in entries {
                let entryPath = "\(path).\(entry.key)"
                guard check(entry.key, entry.keyPos, entryPath) else { continue }
                var network = ServiceNetwork(key: entry.key)
                if let sub = reader.map(entry.value, entryPath) {
                    reader.checkKeys(
                        sub, entryPath, supported: ["aliases", "ipv4_address"],
                        unsupported: [
                            "ipv6_address": "", "priority": "", "gw_priority": "", "mac_address": "",
                            "link_local_ips": "", "driver_opts": "", "interface_name": "",
                        ])
                    if let aliases = entry.value["aliases"], let list = reader.stringList(aliases, "\(entryPath).aliases") {
                        network.aliases = Array(Set(list)).sorted()
                    }
                    if let ip = entry.value["ipv4_address"] { network.ipv4Address = reader.string(ip, "\(entryPath).ipv4_address") }
                }
                out.append(network)
            }
        } else {
            sink.error(node.pos, path, "expected a list or a map, got \(node.kindDescription)")
        }
        return out
    }

    func dependencies(_ node: MNode, _ path: String, positions: inout [String: Position]) -> [Dependency] {
        var out: [Dependency] = []
        if let items = node.items {
            for (index, item) in items.enumerated() {
                guard let name = reader.string(item, "\(path)[\(index)]") else { continue }
                if positions[name] == nil { out.append(Dependency(service: name)) }
                positions[name] = item.pos
            }
        } else if let entries = node.entries {
            for entry in entries {
                let entryPath = "\(path).\(entry.key)"
                var dependency = Dependency(service: entry.key)
                if let sub = reader.map(entry.value, entryPath) {
                    reader.checkKeys(sub, entryPath, supported: ["condition", "required", "restart"])
                    if let condition = entry.value["condition"],
                       let text = reader.choice(condition, "\(entryPath).condition", ["service_started", "service_healthy", "service_completed_successfully"]),
                       let parsed = Dependency.Condition(rawValue: text) {
                        dependency.condition = parsed
                    }
                    if let required = entry.value["required"], let flag = reader.bool(required, "\(entryPath).required") {
                        dependency.required = flag
                    }
                    if let restart = entry.value["restart"], reader.bool(restart, "\(entryPath).restart") == true {
                        sink.warning(restart.pos, "\(entryPath).restart", "`restart: true` is not applied yet: reconcile does not restart dependents when a dependency changes")
                    }
                }
                out.append(dependency)
                positions[entry.key] = entry.keyPos
            }
        } else {
            sink.error(node.pos, path, "expected a list or a map, got \(node.kindDescription)")
        }
        return out
    }

    // MARK: - Healthcheck, restart, labels, misc

    func healthcheck(_ node: MNode, _ path: String) -> Healthcheck? {
        guard let entries = reader.map(node, path) else { return nil }
        reader.checkKeys(entries, path, supported: ["test", "interval", "timeout", "start_period", "start_interval", "retries", "disable"])
        var check = Healthcheck()
        if let disable = node["disable"], reader.bool(disable, "\(path).disable") == true {
            return Healthcheck(test: ["NONE"], disabled: true)
        }
        if let test = node["test"] {
            if case .scalar = test.value, let text = test.scalarText {
                if text.trimmed(" ").isEmpty {
                    sink.error(test.pos, "\(path).test", "the healthcheck command is empty")
                } else {
                    check.test = ["CMD-SHELL", text]
                }
            } else if let list = reader.stringList(test, "\(path).test") {
                if let first = list.first, ["NONE", "CMD", "CMD-SHELL"].contains(first) {
                    if first == "NONE" { return Healthcheck(test: ["NONE"], disabled: true) }
                    if list.count < 2 {
                        sink.error(test.pos, "\(path).test", "`\(first)` needs a command after it")
                    }
                    check.test = list
                } else {
                    sink.error(test.pos, "\(path).test", "a healthcheck test list starts with `CMD`, `CMD-SHELL` or `NONE`",
                               hint: "write `[\"CMD\", \(list.first.map { "\"\($0)\"" } ?? "…"), …]` or a string for a shell command")
                }
            }
        }
        if let n = node["interval"] { check.interval = reader.duration(n, "\(path).interval") }
        if let n = node["timeout"] { check.timeout = reader.duration(n, "\(path).timeout") }
        if let n = node["start_period"] { check.startPeriod = reader.duration(n, "\(path).start_period") }
        if let n = node["start_interval"] { check.startInterval = reader.duration(n, "\(path).start_interval") }
        if let n = node["retries"] { check.retries = reader.int(n, "\(path).retries", min: 0) }
        return check
    }

    func restart(_ node: MNode, _ path: String) -> String? {
        guard let text = reader.string(node, path) else { return nil }
        // `restart: no` is YAML 1.1 for false; Compose means "no".
        let value = text == "false" ? "no" : text
        if ["no", "always", "on-failure", "unless-stopped"].contains(value) { return value }
        if value.hasPrefix("on-failure:"), let n = Int(value.dropFirst("on-failure:".count)), n >= 0 { return value }
        let hint = Values.suggestion(for: value, among: ["no", "always", "on-failure", "unless-stopped"]).map { "did you mean `\($0)`?" }
            ?? "use no, always, on-failure, on-failure:N or unless-stopped"
        sink.error(node.pos, path, "invalid restart policy `\(text)`", hint: hint)
        return nil
    }

    func labels(_ node: MNode, _ path: String) -> [String: String] {
        guard let pairs = reader.keyValues(node, path) else { return [:] }
        var out: [String: String] = [:]
        for pair in pairs {
            if pair.key.hasPrefix("io.reconcile.") {
                sink.error(pair.pos, "\(path).\(pair.key)", "label keys under `io.reconcile.` are reserved for reconcile itself")
                continue
            }
            out[pair.key] = pair.value ?? ""
        }
        return out
    }

    func logging(_ node: MNode, _ path: String) -> Logging? {
        guard let entries = reader.map(node, path) else { return nil }
        reader.checkKeys(entries, path, supported: ["driver", "options"])
        var logging = Logging()
        if let driver = node["driver"] { logging.driver = reader.string(driver, "\(path).driver") }
        if let options = node["options"] { logging.options = reader.stringMap(options, "\(path).options") ?? [:] }
        return logging
    }

    func ulimits(_ node: MNode, _ path: String) -> [Ulimit] {
        guard let entries = reader.map(node, path) else { return [] }
        var out: [Ulimit] = []
        for entry in entries {
            let entryPath = "\(path).\(entry.key)"
            if entry.value.entries != nil {
                reader.checkKeys(entry.value.entries ?? [], entryPath, supported: ["soft", "hard"])
                guard let softNode = entry.value["soft"], let hardNode = entry.value["hard"] else {
                    sink.error(entry.value.pos, entryPath, "a ulimit map needs both `soft` and `hard`")
                    continue
                }
                guard let soft = reader.int(softNode, "\(entryPath).soft", min: -1),
                      let hard = reader.int(hardNode, "\(entryPath).hard", min: -1) else { continue }
                if hard != -1 && (soft == -1 || soft > hard) {
                    sink.error(softNode.pos, "\(entryPath).soft", "the soft limit \(soft) is above the hard limit \(hard)")
                    continue
                }
                out.append(Ulimit(name: entry.key, soft: Int64(soft), hard: Int64(hard)))
            } else if let value = reader.int(entry.value, entryPath, min: -1) {
                out.append(Ulimit(name: entry.key, soft: Int64(value), hard: Int64(value)))
            }
        }
        return out
    }

    func extraHosts(_ node: MNode, _ path: String) -> [String] {
        var out: [String] = []
        func add(_ host: String, _ ip: String, _ pos: Position, _ keyPath: String) {
            let host = host.trimmed(" "), ip = ip.trimmed(" []")
            guard !host.isEmpty, !ip.isEmpty else {
                sink.error(pos, keyPath, "invalid extra host `\(host):\(ip)`", hint: "write `HOST:IP` or `HOST=IP`")
                return
            }
            out.append("\(host):\(ip)")
        }
        if let items = node.items {
            for (index, item) in items.enumerated() {
                let itemPath = "\(path)[\(index)]"
                guard let text = reader.string(item, itemPath) else { continue }
                if let eq = text.firstIndex(of: "=") {
                    add(String(text[..<eq]), String(text[text.index(after: eq)...]), item.pos, itemPath)
                } else if let colon = text.firstIndex(of: ":") {
                    add(String(text[..<colon]), String(text[text.index(after: colon)...]), item.pos, itemPath)
                } else {
                    sink.error(item.pos, itemPath, "invalid extra host `\(text)`", hint: "write `HOST:IP` or `HOST=IP`")
                }
            }
        } else if let entries = node.entries {
            for entry in entries {
                let entryPath = "\(path).\(entry.key)"
                if let ips = entry.value.items {
                    for (index, ip) in ips.enumerated() {
                        if let text = reader.string(ip, "\(entryPath)[\(index)]") { add(entry.key, text, ip.pos, entryPath) }
                    }
                } else if let text = reader.string(entry.value, entryPath) {
                    add(entry.key, text, entry.value.pos, entryPath)
                }
            }
        } else {
            sink.error(node.pos, path, "expected a list or a map, got \(node.kindDescription)")
        }
        return out
    }
}

extension Unicode.Scalar {
    var isASCIIAlnum: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) || ("0"..."9").contains(self) }
}

enum PathTools {
    /// An absolute, normalised path; relative paths are taken from `base`.
    static func resolve(_ path: String, against base: String) -> String {
        let full = path.hasPrefix("/") ? path : (base.hasSuffix("/") ? base + path : base + "/" + path)
        var parts: [Substring] = []
        for part in full.split(separator: "/") {
            if part == "." || part.isEmpty { continue }
            if part == ".." {
                if !parts.isEmpty { parts.removeLast() }
                continue
            }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }
}
