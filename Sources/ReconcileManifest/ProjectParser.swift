import ReconcileCore

/// Reads the merged top level: name, networks, volumes, x-reconcile, services, and the
/// checks that span services (dependencies, cycles, host ports).
struct ProjectParser {
    let reader: Reader
    let environment: [String: String]
    let projectDirectory: String
    let profiles: [String]
    let projectNameOverride: String?
    let defaultName: String
    /// `--target`; nil reads `x-reconcile.target`.
    var target: DeployTarget? = nil
    /// Whether `build:` contexts are read and digested (not for a manifest checked from memory).
    var resolveBuilds = true
    var sink: DiagnosticSink { reader.sink }

    static let topLevelKeys = ["name", "services", "volumes", "networks", "version", "secrets", "configs", "x-reconcile"]
    static let unsupportedTopLevel: [String: String] = [:]
    static let refusedTopLevel: [String: String] = [
        "models": "`models` declares models served by Docker Model Runner, a Docker Desktop component this engine does not have",
    ]

    func parse(_ root: MNode) -> Project? {
        guard let entries = root.entries else { return nil }
        reader.checkKeys(
            entries, "", supported: Self.topLevelKeys, unsupported: Self.unsupportedTopLevel, refused: Self.refusedTopLevel)
        if let version = entries.last(where: { $0.key == "version" }) {
            sink.warning(version.keyPos, "version", "`version` is obsolete and ignored", hint: "remove it")
        }
        let name = projectName(root)

        var networks: [Network] = []
        var volumes: [Volume] = []
        if let node = root["networks"], let items = reader.map(node, "networks") {
            for entry in items {
                if let network = self.network(entry, project: name ?? "") { networks.append(network) }
            }
        }
        if let node = root["volumes"], let items = reader.map(node, "volumes") {
            for entry in items {
                if let volume = self.volume(entry, project: name ?? "") { volumes.append(volume) }
            }
        }
        var extensions = ProjectExtensions()
        if let node = root["x-reconcile"] { extensions = projectExtensions(node, "x-reconcile") }
        let secrets = root["secrets"].map { fileObjects($0, .secret) } ?? []
        let configs = root["configs"].map { fileObjects($0, .config) } ?? []

        // Services: every service is checked, only active ones (by profile) are kept.
        var parsed: [ParsedService] = []
        var allNames: [String] = []
        let serviceEntries: [MEntry]
        if let node = root["services"] {
            serviceEntries = reader.map(node, "services") ?? []
        } else {
            serviceEntries = []
        }
        allNames = serviceEntries.map(\.key)
        let context = ServiceContext(
            projectDirectory: projectDirectory, environment: environment, declaredVolumes: Set(volumes.map(\.key)),
            declaredNetworks: Set(networks.map(\.key)), swarm: (target ?? extensions.target) == .swarm)
        let serviceParser = ServiceParser(reader: reader, context: context)
        for entry in serviceEntries {
            if !ServiceParser.isValidName(entry.key) {
                sink.error(entry.keyPos, "services.\(entry.key)", "invalid service name `\(entry.key)`",
                           hint: "use letters, digits, `_`, `.` and `-`, starting with a letter or digit")
                continue
            }
            if var service = serviceParser.parse(name: entry.key, namePos: entry.keyPos, node: entry.value) {
                grantFiles(entry.value, to: &service.service, secrets: secrets, configs: configs)
                parsed.append(service)
            }
        }
        if serviceEntries.isEmpty {
            sink.warning(root["services"]?.pos ?? root.pos, "services", "the manifest declares no service")
        }

        if let name, resolveBuilds {
            let resolver = BuildResolver(sink: sink, project: name, cacheDirectory: BuildResolver.cacheDirectory(environment))
            for index in parsed.indices where isActive(parsed[index].service) { resolver.resolve(&parsed[index]) }
        }
        let active = parsed.filter { isActive($0.service) }
        let activeNames = Set(active.map(\.service.name))
        var kept: [ParsedService] = []
        for var service in active {
            service.service.dependsOn = checkDependencies(service, all: allNames, active: activeNames)
            kept.append(service)
        }
        checkCycles(kept)
        checkReferences(kept, all: allNames, active: activeNames)
        checkPorts(kept, swarm: (target ?? extensions.target) == .swarm)
        checkGPUs(kept, inventory: extensions.gpus)
        checkFileObjects(secrets, .secret, used: kept.map(\.service))
        checkFileObjects(configs, .config, used: kept.map(\.service))

        if kept.contains(where: \.usesDefaultNetwork) && !networks.contains(where: { $0.key == "default" }) {
            networks.append(Network(key: "default", name: Naming.resourceName(project: name ?? "", key: "default")))
        }
        guard let name else { return nil }
        var project = Project(
            name: name, services: kept.map(\.service), networks: networks, volumes: volumes, extensions: extensions)
        project.secrets = secrets.isEmpty ? nil : secrets.map(\.object).sorted { $0.key < $1.key }
        project.configs = configs.isEmpty ? nil : configs.map(\.object).sorted { $0.key < $1.key }
        return project
    }

    private func isActive(_ service: Service) -> Bool {
        if service.profiles.isEmpty { return true }
        if profiles.contains("*") { return true }
        return service.profiles.contains { profiles.contains($0) }
    }

    // MARK: - Name

    private func projectName(_ root: MNode) -> String? {
        if let override = projectNameOverride {
            let normalized = Naming.normalizeProjectName(override)
            if normalized != override || normalized.isEmpty {
                sink.error(root.pos, "name", "invalid project name `\(override)` given to reconcile",
                           hint: normalized.isEmpty ? "use lowercase letters, digits, `-` and `_`" : "use `\(normalized)`")
                return nil
            }
            return override
        }
        if let node = root["name"], let text = reader.string(node, "name") {
            let normalized = Naming.normalizeProjectName(text)
            if normalized != text || normalized.isEmpty {
                sink.error(node.pos, "name", "invalid project name `\(text)`",
                           hint: normalized.isEmpty ? "use lowercase letters, digits, `-` and `_`" : "use `\(normalized)`")
                return nil
            }
            return text
        }
        let normalized = Naming.normalizeProjectName(defaultName)
        if normalized.isEmpty {
            sink.error(root.pos, "name", "cannot derive a project name from the folder `\(defaultName)`",
                       hint: "set `name:` in the manifest")
            return nil
        }
        return normalized
    }

    // MARK: - Networks and volumes

    private func external(_ entry: MEntry, _ path: String, name: inout String?) -> Bool {
        guard let node = entry.value["external"] else { return false }
        if let entries = node.entries {
            // Legacy `external: {name: x}`.
            reader.checkKeys(entries, "\(path).external", supported: ["name"])
            if let n = node["name"], let text = reader.string(n, "\(path).external.name") {
                sink.warning(node.pos, "\(path).external", "`external: {name: …}` is deprecated", hint: "write `external: true` and `name: \(text)`")
                if let existing = name, existing != text {
                    sink.error(n.pos, "\(path).external.name", "conflicts with `name: \(existing)`")
                }
                name = text
            }
            return true
        }
        return reader.bool(node, "\(path).external") ?? false
    }

    private func network(_ entry: MEntry, project: String) -> Network? {
        let path = "networks.\(entry.key)"
        guard let entries = reader.map(entry.value, path) else { return nil }
        reader.checkKeys(
            entries, path,
            supported: ["external", "name", "driver", "driver_opts", "labels", "internal", "attachable", "enable_ipv6", "ipam"],
            unsupported: ["enable_ipv4": "", "label_file": ""])
        var name = entry.value["name"].flatMap { reader.string($0, "\(path).name") }
        let isExternal = external(entry, path, name: &name)
        var network = Network(key: entry.key, name: name ?? (isExternal ? entry.key : Naming.resourceName(project: project, key: entry.key)))
        network.external = isExternal
        if isExternal {
            for other in entries where !["external", "name"].contains(other.key) && !other.key.hasPrefix("x-") {
                sink.error(other.keyPos, "\(path).\(other.key)", "an external network is used as it is; `\(other.key)` cannot be set",
                           hint: "remove `\(other.key)`, or `external: true` to let reconcile create the network")
            }
            return network
        }
        if let n = entry.value["driver"] { network.driver = reader.string(n, "\(path).driver") }
        if let n = entry.value["driver_opts"] { network.driverOpts = reader.stringMap(n, "\(path).driver_opts") ?? [:] }
        if let n = entry.value["labels"] { network.labels = labels(n, "\(path).labels") }
        if let n = entry.value["internal"] { network.internal = reader.bool(n, "\(path).internal") ?? false }
        if let n = entry.value["attachable"] { network.attachable = reader.bool(n, "\(path).attachable") ?? false }
        if let n = entry.value["enable_ipv6"] { network.enableIPv6 = reader.bool(n, "\(path).enable_ipv6") ?? false }
        if let ipam = entry.value["ipam"], let ipamEntries = reader.map(ipam, "\(path).ipam") {
            reader.checkKeys(ipamEntries, "\(path).ipam", supported: ["driver", "config"], unsupported: ["options": ""])
            if let n = ipam["driver"], let driver = reader.string(n, "\(path).ipam.driver"), driver != "default" {
                sink.error(n.pos, "\(path).ipam.driver", "IPAM driver `\(driver)` is not supported yet", hint: "remove it to use the default driver")
            }
            if let config = ipam["config"] {
                if let items = config.items {
                    for (index, item) in items.enumerated() {
                        let itemPath = "\(path).ipam.config[\(index)]"
                        guard let itemEntries = reader.map(item, itemPath) else { continue }
                        reader.checkKeys(
                            itemEntries, itemPath, supported: ["subnet"],
                            unsupported: ["ip_range": "", "gateway": "", "aux_addresses": ""])
                        if let n = item["subnet"], let subnet = reader.string(n, "\(itemPath).subnet") {
                            if subnet.contains("/") {
                                network.subnets.append(subnet)
                            } else {
                                sink.error(n.pos, "\(itemPath).subnet", "invalid subnet `\(subnet)`", hint: "write CIDR, e.g. 172.28.0.0/16")
                            }
                        }
                    }
                } else if !config.isNull {
                    sink.error(config.pos, "\(path).ipam.config", "expected a list, got \(config.kindDescription)")
                }
            }
        }
        return network
    }

    private func volume(_ entry: MEntry, project: String) -> Volume? {
        let path = "volumes.\(entry.key)"
        guard let entries = reader.map(entry.value, path) else { return nil }
        reader.checkKeys(entries, path, supported: ["external", "name", "driver", "driver_opts", "labels"], unsupported: ["label_file": ""])
        var name = entry.value["name"].flatMap { reader.string($0, "\(path).name") }
        let isExternal = external(entry, path, name: &name)
        var volume = Volume(key: entry.key, name: name ?? (isExternal ? entry.key : Naming.resourceName(project: project, key: entry.key)))
        volume.external = isExternal
        if isExternal {
            for other in entries where !["external", "name"].contains(other.key) && !other.key.hasPrefix("x-") {
                sink.error(other.keyPos, "\(path).\(other.key)", "an external volume is used as it is; `\(other.key)` cannot be set",
                           hint: "remove `\(other.key)`, or `external: true` to let reconcile create the volume")
            }
            return volume
        }
        if let n = entry.value["driver"] { volume.driver = reader.string(n, "\(path).driver") }
        if let n = entry.value["driver_opts"] { volume.driverOpts = reader.stringMap(n, "\(path).driver_opts") ?? [:] }
        if let n = entry.value["labels"] { volume.labels = labels(n, "\(path).labels") }
        return volume
    }

    private func labels(_ node: MNode, _ path: String) -> [String: String] {
        let parser = ServiceParser(reader: reader, context: ServiceContext(
            projectDirectory: projectDirectory, environment: environment, declaredVolumes: [], declaredNetworks: []))
        return parser.labels(node, path)
    }

    // MARK: - x-reconcile

    private func projectExtensions(_ node: MNode, _ path: String) -> ProjectExtensions {
        var ext = ProjectExtensions()
        guard let entries = reader.map(node, path) else { return ext }
        reader.checkKeys(entries, path, supported: ["gpus", "history_limit", "target", "allow", "hash_key_file"], extensions: false)
        if let n = node["history_limit"] { ext.historyLimit = reader.int(n, "\(path).history_limit", min: 1) }
        if let n = node["target"], let text = reader.choice(n, "\(path).target", DeployTarget.allCases.map(\.rawValue)) {
            ext.target = DeployTarget(rawValue: text)
        }
        if let n = node["gpus"] {
            guard let items = n.items else {
                sink.error(n.pos, "\(path).gpus", "expected a list of GPU ids or of maps {id, uuid, memory}, got \(n.kindDescription)")
                return ext
            }
            var gpus: [GPUDevice] = []
            for (index, item) in items.enumerated() {
                let itemPath = "\(path).gpus[\(index)]"
                var device: GPUDevice?
                if case .scalar = item.value, let id = item.scalarText {
                    device = GPUDevice(id: id)
                } else if let itemEntries = item.entries {
                    reader.checkKeys(itemEntries, itemPath, supported: ["id", "uuid", "memory"], extensions: false)
                    guard let idNode = item["id"] else {
                        sink.error(item.pos, itemPath, "missing `id`", hint: "the index (\"0\") or the UUID Docker's device_ids takes")
                        continue
                    }
                    if let id = reader.string(idNode, "\(itemPath).id") {
                        device = GPUDevice(
                            id: id, uuid: item["uuid"].flatMap { reader.string($0, "\(itemPath).uuid") },
                            memoryBytes: item["memory"].flatMap { reader.bytes($0, "\(itemPath).memory") })
                    }
                } else {
                    sink.error(item.pos, itemPath, "expected a GPU id or a map {id, uuid, memory}, got \(item.kindDescription)")
                }
                guard let device else { continue }
                if gpus.contains(where: { $0.id == device.id }) {
                    sink.error(item.pos, itemPath, "GPU `\(device.id)` is listed twice")
                    continue
                }
                gpus.append(device)
            }
            ext.gpus = gpus
        }
        return ext
    }

    // MARK: - Checks across services

    private func checkDependencies(_ parsed: ParsedService, all: [String], active: Set<String>) -> [Dependency] {
        let name = parsed.service.name
        var kept: [Dependency] = []
        for dependency in parsed.service.dependsOn {
            let pos = parsed.dependencyPositions[dependency.service] ?? parsed.namePos
            let path = "services.\(name).depends_on.\(dependency.service)"
            if dependency.service == name {
                sink.error(pos, path, "service \(name) depends on itself")
                continue
            }
            if !all.contains(dependency.service) {
                let hint = Values.suggestion(for: dependency.service, among: all).map { "did you mean `\($0)`?" }
                sink.error(pos, path, "depends on `\(dependency.service)`, which is not a service of this manifest", hint: hint)
                continue
            }
            if !active.contains(dependency.service) {
                if dependency.required {
                    sink.error(pos, path, "depends on `\(dependency.service)`, which is not active with the selected profiles",
                               hint: "enable one of its profiles, or set `required: false`")
                } else {
                    sink.warning(pos, path, "optional dependency `\(dependency.service)` is not active with the selected profiles; ignored")
                }
                continue
            }
            kept.append(dependency)
        }
        return kept
    }

    /// The planner's own graph (`ServiceGraph`), so a manifest that loads is one it can order.
    private func checkCycles(_ services: [ParsedService]) {
        let byName = Dictionary(services.map { ($0.service.name, $0) }, uniquingKeysWith: { a, _ in a })
        // Names sorted, so the message names the chain from its first service by name.
        let sorted = services.sorted { $0.service.name < $1.service.name }
        for cycle in ServiceGraph.order(sorted.map(\.service)).cycles {
            // A service that depends on itself was reported where its entry is.
            guard cycle.count > 2, let first = byName[cycle[0]] else { continue }
            let viaDependsOn = first.service.dependsOn.contains { $0.service == cycle[1] }
            let pos = first.dependencyPositions[cycle[1]] ?? first.namePos
            let what = viaDependsOn ? "dependency cycle" : "cycle of services that need each other's containers (depends_on, network_mode, volumes_from, links)"
            sink.error(pos, "services.\(cycle[0])\(viaDependsOn ? ".depends_on" : "")", "\(what): \(cycle.joined(separator: " → "))",
                       hint: "remove one of these references")
        }
    }

    /// `swarm`: the routing mesh publishes one port for every task of a service.
    private func checkPorts(_ services: [ParsedService], swarm: Bool) {
        struct Claim { var service: String; var mapping: PortMapping; var pos: Position }
        var claims: [Claim] = []
        for parsed in services.sorted(by: { $0.service.name < $1.service.name }) {
            let service = parsed.service
            for (index, mapping) in service.ports.enumerated() {
                guard let published = mapping.published else { continue }
                let pos = index < parsed.portPositions.count ? parsed.portPositions[index] : parsed.namePos
                let path = "services.\(service.name).ports"
                let hostPorts = mapping.hostRange ?? published...published
                // An autoscaled service may run up to its `max`.
                let most = service.extensions.autoscale.map { max($0.max, service.replicas) } ?? service.replicas
                if let range = mapping.hostRange {
                    if most > range.count {
                        sink.error(pos, path, "the host port range \(range.lowerBound)-\(range.upperBound) has \(range.count) ports for \(most) replicas",
                                   hint: "widen the range to at least \(most) ports, or run fewer replicas")
                    }
                } else if most > 1, !swarm {
                    sink.error(pos, path, "host port \(published) is published by a service with \(most) replicas; only one container can bind it",
                               hint: "leave the host port out (e.g. `\"\(mapping.target)\"`) so the engine picks one per replica, or use one replica")
                }
                func overlaps(_ a: String?, _ b: String?) -> Bool {
                    let wild: Set<String> = ["", "0.0.0.0", "::"]
                    return a == b || wild.contains(a ?? "") || wild.contains(b ?? "")
                }
                if let other = claims.first(where: {
                    let theirs = $0.mapping.hostRange ?? ($0.mapping.published ?? 0)...($0.mapping.published ?? 0)
                    return theirs.overlaps(hostPorts) && $0.mapping.proto == mapping.proto && overlaps($0.mapping.hostIP, mapping.hostIP)
                }) {
                    let owner = other.service == service.name ? "this service" : "service \(other.service)"
                    let what = hostPorts.count == 1 ? "host port \(published)" : "host ports \(hostPorts.lowerBound)-\(hostPorts.upperBound)"
                    sink.error(pos, path, "\(what)/\(mapping.proto) \(hostPorts.count == 1 ? "is" : "overlap ports") already published by \(owner) (\(other.pos.file):\(other.pos.line))",
                               hint: "use another host port")
                    continue
                }
                claims.append(Claim(service: service.name, mapping: mapping, pos: pos))
            }
        }
    }

    private func checkGPUs(_ services: [ParsedService], inventory: [GPUDevice]?) {
        guard let inventory else { return }
        let ids = Set(inventory.flatMap { [$0.id] + ($0.uuid.map { [$0] } ?? []) })
        for parsed in services {
            for (index, request) in parsed.service.devices.enumerated() where request.isGPU {
                let pos = index < parsed.devicePositions.count ? parsed.devicePositions[index] : parsed.namePos
                for id in request.deviceIDs ?? [] where !ids.contains(id) {
                    sink.error(pos, "services.\(parsed.service.name)", "GPU `\(id)` is not in `x-reconcile.gpus`",
                               hint: "known GPUs: \(inventory.map(\.id).joined(separator: ", "))")
                }
                if case .exactly(let count) = request.count, count > inventory.count {
                    sink.error(pos, "services.\(parsed.service.name)", "asks for \(count) GPUs per replica, the host has \(inventory.count)")
                }
            }
        }
    }
}
