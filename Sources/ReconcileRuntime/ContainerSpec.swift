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

    public init(
        project: Project, service: Service, replica: Int, name: String, devices: [ReconcileCore.DeviceRequest]? = nil,
        surgeName: String? = nil
    ) {
        let config = ReplicaConfig(service: service, project: project, devices: devices)
        var labels = config.containerLabels(project: project.name, service: service, replica: replica)
        labels[LabelKey.version] = "1"
        if let surgeName { labels[LabelKey.surge] = surgeName }
        self.name = surgeName ?? name

        var exposed: [String: EmptyObject] = [:]
        var bindings: [String: [PortBinding]?] = [:]
        for port in config.ports {
            let key = "\(port.target)/\(port.proto)"
            exposed[key] = EmptyObject()
            var list = (bindings[key] ?? nil) ?? []
            list.append(PortBinding(hostIp: port.hostIP ?? "", hostPort: port.published.map(String.init) ?? ""))
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
                healthcheck = HealthConfig(
                    test: check.test ?? [], interval: check.interval.map(Self.nanoseconds), timeout: check.timeout.map(Self.nanoseconds),
                    retries: check.retries, startPeriod: check.startPeriod.map(Self.nanoseconds))
            }
        } else {
            healthcheck = nil
        }

        let containerConfig = ContainerConfig(
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
        if let first = endpoints.first {
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
