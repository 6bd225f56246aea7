import DockerEngine
import Foundation
import ReconcileCore

/// Translates a replica's configuration into the engine's container-create body.
///
/// The engine before API 1.44 accepts one network in `NetworkingConfig`; the others are
/// returned in `extraNetworks` for the executor to connect before the container starts.
public struct ContainerSpec: Sendable {
    public var name: String
    public var request: ContainerCreateRequest
    /// Networks to connect after creation: engine name and endpoint settings.
    public var extraNetworks: [(name: String, endpoint: EndpointSettings)]
    /// Every network with the endpoint settings of a replica in service (aliases included).
    public var servingEndpoints: [(name: String, endpoint: EndpointSettings)]
    /// Secrets and configs to write into the container after it is created and before it
    /// starts (`environment` and `content` sources; `file` sources are bind mounts).
    public var files: GrantedFiles = GrantedFiles()
    /// `platform`, sent as the create call's query parameter.
    public var platform: String?
    /// `post_start` hooks, run through the exec API once the container started.
    public var postStart: [LifecycleHook]

    public init(
        project: Project, service: Service, replica: Int, name: String, devices: [ReconcileCore.DeviceRequest]? = nil,
        surgeName: String? = nil, hostPorts: [Int]? = nil
    ) {
        let config = ReplicaConfig(service: service, project: project, devices: devices)
        var labels = config.containerLabels(project: project.name, service: service, replica: replica, key: project.hashKey)
        labels[LabelKey.version] = "1"
        if let surgeName { labels[LabelKey.surge] = surgeName }
        self.name = surgeName ?? name

        var exposed: [String: EmptyObject] = [:]
        var bindings: [String: [PortBinding]?] = [:]
        var rangedIndex = 0
        for port in config.ports {
            let key = "\(port.target)/\(port.proto)"
            exposed[key] = EmptyObject()
            var list = (bindings[key] ?? nil) ?? []
            var hostPort = port.published.map(String.init) ?? ""
            if let range = port.hostRange {
                // The planner's choice for this replica; without one (a validation job) the engine picks in the range.
                if let ports = hostPorts, rangedIndex < ports.count { hostPort = String(ports[rangedIndex]) } else { hostPort = "\(range.lowerBound)-\(range.upperBound)" }
                rangedIndex += 1
            }
            list.append(PortBinding(hostIp: port.hostIP ?? "", hostPort: hostPort))
            bindings[key] = list
        }
        for expose in config.expose {
            exposed[expose.contains("/") ? expose : "\(expose)/tcp"] = EmptyObject()
        }

        let healthcheck: HealthConfig?
        if let check = config.healthcheck {
            if check.disabled {
                healthcheck = HealthConfig(test: ["NONE"])
            } else {
                var health = HealthConfig(
                    test: check.test ?? [], interval: check.interval.map(Self.nanoseconds), timeout: check.timeout.map(Self.nanoseconds),
                    retries: check.retries, startPeriod: check.startPeriod.map(Self.nanoseconds))
                // Engines before API 1.44 have no start interval: `adapt(to:)` takes it out there.
                health.startInterval = check.startInterval.map { HealthConfig.nanoseconds(Self.nanoseconds($0)) }
                healthcheck = health
            }
        } else {
            healthcheck = nil
        }

        var containerConfig = ContainerConfig(
            hostname: config.hostname, user: config.user, exposedPorts: exposed.isEmpty ? nil : exposed,
            env: config.environment.keys.sorted().map { "\($0)=\(config.environment[$0] ?? "")" },
            cmd: config.command, healthcheck: healthcheck, image: service.pinnedImageID ?? config.image, workingDir: config.workingDir,
            entrypoint: config.entrypoint, labels: labels, stopSignal: config.stopSignal,
            stopTimeout: config.stopGracePeriod.map { Int($0.rounded(.up)) })

        var host = HostConfig()
        host.portBindings = bindings.isEmpty ? nil : bindings
        host.restartPolicy = Self.restartPolicy(config.restart)
        host.mounts = config.mounts.map { mount in
            DockerEngine.Mount(type: mount.type.rawValue, source: mount.source, target: mount.target, readOnly: mount.readOnly)
        }
        files = GrantedFiles(config: config, project: project)
        if !files.binds.isEmpty { host.mounts = (host.mounts ?? []) + files.binds }
        if let cpus = config.limits.cpus { host.nanoCpus = Int64(cpus * 1e9) }
        host.memory = config.limits.memoryBytes
        host.pidsLimit = config.limits.pids.map(Int64.init)
        host.deviceRequests = config.devices.isEmpty ? nil : config.devices.map { device in
            let count: Int?
            switch device.count {
            case .none: count = device.deviceIDs == nil ? -1 : nil
            case .all: count = -1
            case .exactly(let n): count = n
            }
            return DockerEngine.DeviceRequest(
                driver: device.driver, count: count, deviceIDs: device.deviceIDs, capabilities: [device.capabilities],
                options: device.options.isEmpty ? nil : device.options)
        }
        host.initProcess = config.initProcess
        host.shmSize = config.shmSize
        host.ipcMode = config.ipc
        host.ulimits = config.ulimits.isEmpty ? nil : config.ulimits.map { DockerEngine.Ulimit(name: $0.name, soft: $0.soft, hard: $0.hard) }
        if !config.tmpfs.isEmpty {
            var tmpfs: [String: String] = [:]
            for entry in config.tmpfs {
                let parts = entry.split(separator: ":", maxSplits: 1).map(String.init)
                tmpfs[parts[0]] = parts.count > 1 ? parts[1] : ""
            }
            host.tmpfs = tmpfs
        }
        host.extraHosts = config.extraHosts.isEmpty ? nil : config.extraHosts
        host.capAdd = config.capAdd.isEmpty ? nil : config.capAdd
        host.capDrop = config.capDrop.isEmpty ? nil : config.capDrop
        if let logging = config.logging, let driver = logging.driver {
            host.logConfig = LogConfig(type: driver, config: logging.options.isEmpty ? nil : logging.options)
        }
        host.runtime = config.runtime
        let options = config.options ?? ContainerOptions()
        Self.apply(options, project: project, to: &containerConfig, &host)
        platform = options.platform
        postStart = options.postStart ?? []

        let served: [(String, EndpointSettings)] = config.networks.map { network in
            var aliases = network.aliases
            // Replicas answer to the service name on every network, as in Compose.
            if !aliases.contains(service.name) { aliases.insert(service.name, at: 0) }
            let ipam = network.ipv4Address.map { EndpointIPAMConfig(ipv4Address: $0) }
            return (network.key, EndpointSettings(ipamConfig: ipam, aliases: aliases))
        }
        servingEndpoints = served
        // A surge container must not receive the service's traffic before it passes its
        // health gate: it joins its networks without the service's aliases, and gets them
        // only once healthy (`Rollouts` reconnects it with `servingEndpoints`).
        var endpoints: [(String, EndpointSettings)] =
            surgeName == nil ? served : served.map { ($0.0, EndpointSettings(ipamConfig: $0.1.ipamConfig)) }
        if let mode = options.networkMode {
            // The container has no network of the project: the engine's mode is all it gets.
            host.networkMode = Self.engineNetworkMode(mode, project: project)
            endpoints = []
            request = ContainerCreateRequest(config: containerConfig, hostConfig: host)
        } else if let first = endpoints.first {
            host.networkMode = first.0
            endpoints.removeFirst()
            request = ContainerCreateRequest(
                config: containerConfig, hostConfig: host,
                networkingConfig: NetworkingConfig(endpointsConfig: [first.0: first.1]))
        } else {
            request = ContainerCreateRequest(config: containerConfig, hostConfig: host)
        }
        extraNetworks = endpoints.map { (name: $0.0, endpoint: $0.1) }
    }

    /// Fits the request to the API version the engine speaks: fields it does not know are
    /// taken out where leaving them out only loses a refinement (the start interval), and
    /// refused where it would change what runs (annotations; the plan refuses those first).
    public mutating func adapt(to version: APIVersion) throws {
        if version < APIVersion(1, 44) { request.config.healthcheck?.startInterval = nil }
        if version < APIVersion(1, 43), request.hostConfig?.annotations != nil {
            throw ExecutionError("annotations need Engine API 1.43; this engine speaks \(version)")
        }
    }

    /// `network_mode` as the engine takes it: a service's replica 1 by its container name.
    static func engineNetworkMode(_ mode: String, project: Project) -> String {
        guard mode.hasPrefix("service:") else { return mode }
        let name = String(mode.dropFirst("service:".count))
        return "container:" + containerName(of: name, project: project)
    }

    /// The container name of replica 1 of the service `name`.
    static func containerName(of name: String, project: Project) -> String {
        if let service = project.service(named: name) { return Naming.containerName(project: project.name, service: service, replica: 1) }
        return Naming.containerName(project: project.name, service: name, replica: 1)
    }

    /// The pass-through keys, each into the engine field of the same meaning.
    static func apply(_ o: ContainerOptions, project: Project, to config: inout ContainerConfig, _ host: inout HostConfig) {
        config.tty = o.tty
        config.openStdin = o.stdinOpen
        config.domainname = o.domainname
        config.macAddress = o.macAddress
        host.privileged = o.privileged
        host.readonlyRootfs = o.readOnly
        host.securityOpt = o.securityOpt
        host.sysctls = o.sysctls
        host.pidMode = o.pid.map { mode in
            mode.hasPrefix("service:") ? "container:" + containerName(of: String(mode.dropFirst("service:".count)), project: project) : mode
        }
        host.utsMode = o.uts
        host.usernsMode = o.usernsMode
        host.cgroupnsMode = o.cgroup
        host.cgroupParent = o.cgroupParent
        host.dns = o.dns
        host.dnsSearch = o.dnsSearch
        host.dnsOptions = o.dnsOpt
        host.groupAdd = o.groupAdd
        host.devices = o.devices?.map {
            DockerEngine.DeviceMapping(pathOnHost: $0.source, pathInContainer: $0.target, cgroupPermissions: $0.permissions)
        }
        host.deviceCgroupRules = o.deviceCgroupRules
        host.cpuCount = o.cpuCount
        host.cpuPercent = o.cpuPercent
        host.cpuShares = o.cpuShares.map { Int($0) }
        host.cpuPeriod = o.cpuPeriod
        host.cpuQuota = o.cpuQuota
        host.cpuRealtimeRuntime = o.cpuRtRuntime
        host.cpuRealtimePeriod = o.cpuRtPeriod
        host.cpusetCpus = o.cpuset
        host.memoryReservation = o.memReservation
        host.memorySwappiness = o.memSwappiness
        host.memorySwap = o.memswapLimit
        host.oomKillDisable = o.oomKillDisable
        host.oomScoreAdj = o.oomScoreAdj.map { Int($0) }
        if let blkio = o.blkio {
            host.blkioWeight = blkio.weight.map { Int($0) }
            host.blkioWeightDevice = blkio.weightDevice?.map { WeightDevice(path: $0.path, weight: Int($0.weight)) }
            func throttle(_ rates: [BlkioConfig.Rate]?) -> [ThrottleDevice]? { rates?.map { ThrottleDevice(path: $0.path, rate: $0.rate) } }
            host.blkioDeviceReadBps = throttle(blkio.deviceReadBps)
            host.blkioDeviceWriteBps = throttle(blkio.deviceWriteBps)
            host.blkioDeviceReadIOps = throttle(blkio.deviceReadIops)
            host.blkioDeviceWriteIOps = throttle(blkio.deviceWriteIops)
        }
        host.storageOpt = o.storageOpt
        host.annotations = o.annotations
        var volumesFrom: [String] = []
        for entry in o.volumesFrom ?? [] {
            var parts = entry.split(separator: ":").map(String.init)
            guard parts.count >= 2 else { continue }
            let kind = parts.removeFirst()
            let name = parts.removeFirst()
            let container = kind == "service" ? containerName(of: name, project: project) : name
            volumesFrom.append(([container] + parts).joined(separator: ":"))
        }
        host.volumesFrom = volumesFrom.isEmpty ? nil : volumesFrom
        var links: [String] = []
        for link in o.links ?? [] {
            let parts = link.split(separator: ":").map(String.init)
            guard let service = parts.first else { continue }
            links.append("\(containerName(of: service, project: project)):\(parts.count > 1 ? parts[1] : service)")
        }
        for link in o.externalLinks ?? [] {
            let parts = link.split(separator: ":").map(String.init)
            guard let container = parts.first else { continue }
            links.append("\(container):\(parts.count > 1 ? parts[1] : container)")
        }
        host.links = links.isEmpty ? nil : links
    }

    static func nanoseconds(_ seconds: Double) -> Duration {
        .nanoseconds(Int64(seconds * 1e9))
    }

    static func restartPolicy(_ value: String?) -> RestartPolicy? {
        guard let value else { return nil }
        if value.hasPrefix("on-failure") {
            let retries = value.split(separator: ":").dropFirst().first.flatMap { Int($0) }
            return RestartPolicy(name: "on-failure", maximumRetryCount: retries)
        }
        return RestartPolicy(name: value == "no" ? "no" : value)
    }
}
