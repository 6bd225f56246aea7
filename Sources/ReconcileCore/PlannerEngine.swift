/// The engine as the observer found it, for checks that depend on what it runs and speaks.
public struct ObservedEngine: Sendable, Equatable, Codable {
    /// `linux`, `windows`.
    public var os: String
    /// `amd64`, `arm64`, … (Go's names, as `/version` reports them).
    public var arch: String
    /// The newest Engine API version the engine serves, e.g. "1.41".
    public var apiVersion: String

    public init(os: String, arch: String, apiVersion: String) {
        self.os = os
        self.arch = arch
        self.apiVersion = apiVersion
    }

    /// Go's architecture name for the names other tools use (`uname -m`, `/info`).
    static func normalizedArch(_ arch: String) -> String {
        switch arch.lowercased() {
        case "x86_64", "x86-64": return "amd64"
        case "aarch64": return "arm64"
        case "armhf", "armel": return "arm"
        case "i386", "i686": return "386"
        default: return arch.lowercased()
        }
    }

    /// True when a container of `platform` ("os[/arch[/variant]]") runs natively here.
    public func runs(_ platform: String) -> Bool {
        let parts = platform.lowercased().split(separator: "/").map(String.init)
        guard let wantedOS = parts.first, wantedOS == os.lowercased() else { return false }
        guard parts.count > 1 else { return true }
        return Self.normalizedArch(parts[1]) == Self.normalizedArch(arch)
    }

    /// True when the engine serves at least API `major.minor`.
    public func speaks(_ major: Int, _ minor: Int) -> Bool {
        let parts = apiVersion.split(separator: ".").compactMap { Int($0) }
        guard parts.count == 2 else { return false }
        return (parts[0], parts[1]) >= (major, minor)
    }
}

extension Project {
    /// True when planning this project needs the engine's platform and API version.
    public var needsEngineFacts: Bool {
        services.contains { service in
            let options = service.options
            return options?.platform != nil || options?.annotations != nil || service.healthcheck?.startInterval != nil
                || options?.cpuCount != nil || options?.cpuPercent != nil
        }
    }
}

extension ObservedState {
    /// A copy in which a container labelled with the hash an earlier encoding gave its
    /// configuration carries today's hash of that same configuration, so that upgrading
    /// reconcile recreates nothing that did not change. See `ReplicaConfig.legacyHash()`;
    /// for a project with a hash key, the unkeyed hash of the same configuration (what
    /// labels held before hashes were keyed) counts as today's too.
    public func upgradingLegacyHashes(for project: Project) -> ObservedState {
        var copy = self
        var cache: [String: [(legacy: String, current: String)]] = [:]
        for index in copy.containers.indices {
            let container = copy.containers[index]
            guard container.project == project.name, let hash = container.configHash, let name = container.service,
                  let service = project.service(named: name) else { continue }
            let placed = container.gpuDeviceIDs
            let key = name + "\u{0}" + placed.joined(separator: ",")
            var candidates: [(legacy: String, current: String)] = []
            for devices in [nil, placed.isEmpty ? nil : service.devices(placedOn: placed)] {
                let cacheKey = devices == nil ? name : key
                if cache[cacheKey] == nil {
                    let config = ReplicaConfig(service: service, project: project, devices: devices)
                    let current = config.hash(key: project.hashKey)
                    // The earlier encoding, and with a key the unkeyed hash of both encodings.
                    var earlier = [config.legacyHash()]
                    if project.hashKey != nil { earlier.append(config.hash()) }
                    cache[cacheKey] = earlier.compactMap { $0 }.map { ($0, current) }
                }
                candidates.append(contentsOf: cache[cacheKey] ?? [])
            }
            if let match = candidates.first(where: { $0.legacy == hash }) {
                copy.containers[index].labels[LabelKey.configHash] = match.current
            }
        }
        return copy
    }
}

extension Planner {
    /// What the pass-through keys ask of the engine, checked against the engine observed;
    /// an offline plan (no engine) skips these checks.
    mutating func checkEngine() {
        guard let engine = observed.engine else { return }
        let platform = "\(engine.os)/\(engine.arch)"
        for service in desired.services {
            let options = service.options
            if let wanted = options?.platform, !engine.runs(wanted) {
                problems.append(
                    "service \(service.name) asks for platform \(wanted), but the engine runs \(platform) containers: use an image built for \(platform) and set `platform: \(platform)` (or remove `platform`)"
                )
            }
            if options?.annotations != nil, !engine.speaks(1, 43) {
                problems.append(
                    "service \(service.name): annotations need Engine API 1.43; this engine speaks \(engine.apiVersion): remove `annotations` or upgrade the engine (Docker 24 or later)"
                )
            }
            if service.healthcheck?.startInterval != nil, !engine.speaks(1, 44) {
                warnings.append(
                    "service \(service.name): healthcheck.start_interval is not sent: it needs Engine API 1.44; this engine speaks \(engine.apiVersion), so the healthcheck runs every `interval` from the start"
                )
            }
            if engine.os == "linux", options?.cpuCount != nil || options?.cpuPercent != nil {
                warnings.append(
                    "service \(service.name): cpu_count and cpu_percent are Windows engine settings; this Linux engine discards them: use `cpus` or `cpu_quota`"
                )
            }
        }
    }

    /// The replica 1 container a container of `service` should share its network stack with,
    /// when the container shares another's (an earlier one, replaced by a run that stopped
    /// before its dependents followed). Nil when it shares the right one or it is not observed.
    func staleNetworkStack(_ container: ObservedContainer, _ service: Service) -> String? {
        guard let other = service.options?.networkModeService, let mode = container.networkMode, mode.hasPrefix("container:"),
              let target = observed.containers.first(where: {
                  $0.project == desired.name && $0.service == other && $0.replica == 1 && !$0.isSurge && $0.state != .removing
              })
        else { return nil }
        let reference = String(mode.dropFirst("container:".count))
        if reference == target.name || (!reference.isEmpty && target.id.hasPrefix(reference)) { return nil }
        return target.name
    }

    /// True when the container whose network namespace `service` joins (`network_mode:
    /// service:NAME`, replica 1) is created or replaced by this plan: its replicas must be
    /// recreated to join the new one.
    func joinedNetworkReplaced(_ service: Service) -> String? {
        guard let other = service.options?.networkModeService else { return nil }
        let replaced = steps.contains { step in
            step.service == other && step.replica == 1 && (step.action == .create || step.action == .recreate)
        }
        guard replaced, let target = desired.service(named: other) else { return nil }
        return Naming.containerName(project: desired.name, service: target, replica: 1)
    }
}
