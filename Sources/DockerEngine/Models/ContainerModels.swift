// Container types of the Engine API (moby api/swagger.yaml, v1.41), with only the
// fields reconcile uses. Property names are Swift's; coding keys are the engine's.

/// The portable part of a container's configuration (`ContainerConfig`), as sent
/// to `POST /containers/create` and returned in `Config` by inspect.
public struct ContainerConfig: Codable, Sendable, Equatable {
    public var hostname: String?
    public var domainname: String?
    public var user: String?
    /// `"80/tcp"` → `{}`.
    public var exposedPorts: [String: EmptyObject]?
    public var tty: Bool?
    public var openStdin: Bool?
    public var env: [String]?
    public var cmd: [String]?
    public var healthcheck: HealthConfig?
    public var image: String?
    /// Anonymous volume paths declared by the image (`"/data"` → `{}`).
    public var volumes: [String: EmptyObject]?
    public var workingDir: String?
    public var entrypoint: [String]?
    public var labels: [String: String]?
    public var stopSignal: String?
    /// Seconds to wait after the stop signal before SIGKILL.
    public var stopTimeout: Int?
    /// The container's MAC address on its first network (API 1.41; later versions take it per endpoint).
    public var macAddress: String?

    public init(
        hostname: String? = nil, domainname: String? = nil, user: String? = nil,
        exposedPorts: [String: EmptyObject]? = nil, tty: Bool? = nil, openStdin: Bool? = nil,
        env: [String]? = nil, cmd: [String]? = nil, healthcheck: HealthConfig? = nil, image: String? = nil,
        volumes: [String: EmptyObject]? = nil, workingDir: String? = nil, entrypoint: [String]? = nil,
        labels: [String: String]? = nil, stopSignal: String? = nil, stopTimeout: Int? = nil
    ) {
        self.hostname = hostname
        self.domainname = domainname
        self.user = user
        self.exposedPorts = exposedPorts
        self.tty = tty
        self.openStdin = openStdin
        self.env = env
        self.cmd = cmd
        self.healthcheck = healthcheck
        self.image = image
        self.volumes = volumes
        self.workingDir = workingDir
        self.entrypoint = entrypoint
        self.labels = labels
        self.stopSignal = stopSignal
        self.stopTimeout = stopTimeout
    }

    enum CodingKeys: String, CodingKey {
        case hostname = "Hostname", domainname = "Domainname", user = "User", exposedPorts = "ExposedPorts"
        case tty = "Tty", openStdin = "OpenStdin", env = "Env", cmd = "Cmd", healthcheck = "Healthcheck"
        case image = "Image", volumes = "Volumes", workingDir = "WorkingDir", entrypoint = "Entrypoint"
        case labels = "Labels", stopSignal = "StopSignal", stopTimeout = "StopTimeout", macAddress = "MacAddress"
    }
}

/// `HealthConfig`. Durations are nanoseconds; 0 means "inherit from the image".
public struct HealthConfig: Codable, Sendable, Equatable {
    /// `[]` inherit, `["NONE"]` disable, `["CMD", args…]`, `["CMD-SHELL", command]`.
    public var test: [String]?
    public var interval: Int64?
    public var timeout: Int64?
    public var retries: Int?
    public var startPeriod: Int64?
    /// API 1.44 and later: the interval between checks during the start period.
    public var startInterval: Int64?

    public init(
        test: [String]? = nil, interval: Int64? = nil, timeout: Int64? = nil, retries: Int? = nil,
        startPeriod: Int64? = nil
    ) {
        self.test = test
        self.interval = interval
        self.timeout = timeout
        self.retries = retries
        self.startPeriod = startPeriod
    }

    /// A healthcheck with durations given as `Duration`.
    public init(test: [String], interval: Duration? = nil, timeout: Duration? = nil, retries: Int? = nil, startPeriod: Duration? = nil) {
        self.init(
            test: test, interval: interval.map(Self.nanoseconds), timeout: timeout.map(Self.nanoseconds),
            retries: retries, startPeriod: startPeriod.map(Self.nanoseconds))
    }

    /// The engine's unit for healthcheck durations.
    public static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    enum CodingKeys: String, CodingKey {
        case test = "Test", interval = "Interval", timeout = "Timeout", retries = "Retries", startPeriod = "StartPeriod"
        case startInterval = "StartInterval"
    }
}

/// `HostConfig`: the host-specific part of a container's configuration
/// (resources included, as the engine flattens `Resources` into it).
public struct HostConfig: Codable, Sendable, Equatable {
    /// `source:target[:options]`.
    public var binds: [String]?
    public var logConfig: LogConfig?
    /// `bridge`, `host`, `none`, `container:<id>` or a network name.
    public var networkMode: String?
    /// `"80/tcp"` → host bindings. Inspect may return null for a port with none.
    public var portBindings: [String: [PortBinding]?]?
    public var restartPolicy: RestartPolicy?
    public var autoRemove: Bool?
    public var mounts: [Mount]?
    public var capAdd: [String]?
    public var capDrop: [String]?
    public var dns: [String]?
    /// `host:ip`.
    public var extraHosts: [String]?
    public var ipcMode: String?
    public var pidMode: String?
    public var privileged: Bool?
    public var readonlyRootfs: Bool?
    public var securityOpt: [String]?
    /// Container path → mount options, for example `"/run"` → `"size=64m"`.
    public var tmpfs: [String: String]?
    /// Bytes of `/dev/shm`.
    public var shmSize: Int64?
    public var sysctls: [String: String]?
    /// An OCI runtime registered with the engine (`runc`, `nvidia`).
    public var runtime: String?
    /// Run an init process (tini) as PID 1.
    public var initProcess: Bool?
    // Resources
    /// Bytes; 0 is unlimited.
    public var memory: Int64?
    public var memoryReservation: Int64?
    public var memorySwap: Int64?
    /// CPU quota in units of 10⁻⁹ CPUs.
    public var nanoCpus: Int64?
    public var cpuShares: Int?
    public var cpusetCpus: String?
    /// -1 or 0 is unlimited.
    public var pidsLimit: Int64?
    public var deviceRequests: [DeviceRequest]?
    public var ulimits: [Ulimit]?
    /// `container[:ro|rw]` to mount every volume of.
    public var volumesFrom: [String]?
    /// `container:alias`.
    public var links: [String]?
    public var devices: [DeviceMapping]?
    public var dnsOptions: [String]?
    public var dnsSearch: [String]?
    public var groupAdd: [String]?
    public var utsMode: String?
    public var usernsMode: String?
    /// `host` or `private`.
    public var cgroupnsMode: String?
    public var cgroupParent: String?
    /// Windows only; a Linux engine discards it.
    public var cpuCount: Int64?
    /// Windows only; a Linux engine discards it.
    public var cpuPercent: Int64?
    /// Microseconds.
    public var cpuPeriod: Int64?
    /// Microseconds.
    public var cpuQuota: Int64?
    public var cpuRealtimePeriod: Int64?
    public var cpuRealtimeRuntime: Int64?
    public var memorySwappiness: Int64?
    public var oomKillDisable: Bool?
    public var oomScoreAdj: Int?
    public var blkioWeight: Int?
    public var blkioWeightDevice: [WeightDevice]?
    public var blkioDeviceReadBps: [ThrottleDevice]?
    public var blkioDeviceWriteBps: [ThrottleDevice]?
    public var blkioDeviceReadIOps: [ThrottleDevice]?
    public var blkioDeviceWriteIOps: [ThrottleDevice]?
    public var deviceCgroupRules: [String]?
    public var storageOpt: [String: String]?
    /// API 1.43 and later.
    public var annotations: [String: String]?

    public init(
        binds: [String]? = nil, logConfig: LogConfig? = nil, networkMode: String? = nil,
        portBindings: [String: [PortBinding]?]? = nil, restartPolicy: RestartPolicy? = nil, autoRemove: Bool? = nil,
        mounts: [Mount]? = nil, capAdd: [String]? = nil, capDrop: [String]? = nil, dns: [String]? = nil,
        extraHosts: [String]? = nil, ipcMode: String? = nil, pidMode: String? = nil, privileged: Bool? = nil,
        readonlyRootfs: Bool? = nil, securityOpt: [String]? = nil, tmpfs: [String: String]? = nil,
        shmSize: Int64? = nil, sysctls: [String: String]? = nil, runtime: String? = nil, initProcess: Bool? = nil,
        memory: Int64? = nil, memoryReservation: Int64? = nil, memorySwap: Int64? = nil, nanoCpus: Int64? = nil,
        cpuShares: Int? = nil, cpusetCpus: String? = nil, pidsLimit: Int64? = nil,
        deviceRequests: [DeviceRequest]? = nil, ulimits: [Ulimit]? = nil
    ) {
        self.binds = binds
        self.logConfig = logConfig
        self.networkMode = networkMode
        self.portBindings = portBindings
        self.restartPolicy = restartPolicy
        self.autoRemove = autoRemove
        self.mounts = mounts
        self.capAdd = capAdd
        self.capDrop = capDrop
        self.dns = dns
        self.extraHosts = extraHosts
        self.ipcMode = ipcMode
        self.pidMode = pidMode
        self.privileged = privileged
        self.readonlyRootfs = readonlyRootfs
        self.securityOpt = securityOpt
        self.tmpfs = tmpfs
        self.shmSize = shmSize
        self.sysctls = sysctls
        self.runtime = runtime
        self.initProcess = initProcess
        self.memory = memory
        self.memoryReservation = memoryReservation
        self.memorySwap = memorySwap
        self.nanoCpus = nanoCpus
        self.cpuShares = cpuShares
        self.cpusetCpus = cpusetCpus
        self.pidsLimit = pidsLimit
        self.deviceRequests = deviceRequests
        self.ulimits = ulimits
    }

    enum CodingKeys: String, CodingKey {
        case binds = "Binds", logConfig = "LogConfig", networkMode = "NetworkMode", portBindings = "PortBindings"
        case restartPolicy = "RestartPolicy", autoRemove = "AutoRemove", mounts = "Mounts", capAdd = "CapAdd"
        case capDrop = "CapDrop", dns = "Dns", extraHosts = "ExtraHosts", ipcMode = "IpcMode", pidMode = "PidMode"
        case privileged = "Privileged", readonlyRootfs = "ReadonlyRootfs", securityOpt = "SecurityOpt"
        case tmpfs = "Tmpfs", shmSize = "ShmSize", sysctls = "Sysctls", runtime = "Runtime", initProcess = "Init"
        case memory = "Memory", memoryReservation = "MemoryReservation", memorySwap = "MemorySwap"
        case nanoCpus = "NanoCpus", cpuShares = "CpuShares", cpusetCpus = "CpusetCpus", pidsLimit = "PidsLimit"
        case deviceRequests = "DeviceRequests", ulimits = "Ulimits"
        case volumesFrom = "VolumesFrom", links = "Links", devices = "Devices", dnsOptions = "DnsOptions"
        case dnsSearch = "DnsSearch", groupAdd = "GroupAdd", utsMode = "UTSMode", usernsMode = "UsernsMode"
        case cgroupnsMode = "CgroupnsMode", cgroupParent = "CgroupParent", cpuCount = "CpuCount", cpuPercent = "CpuPercent"
        case cpuPeriod = "CpuPeriod", cpuQuota = "CpuQuota", cpuRealtimePeriod = "CpuRealtimePeriod"
        case cpuRealtimeRuntime = "CpuRealtimeRuntime", memorySwappiness = "MemorySwappiness"
        case oomKillDisable = "OomKillDisable", oomScoreAdj = "OomScoreAdj", blkioWeight = "BlkioWeight"
        case blkioWeightDevice = "BlkioWeightDevice", blkioDeviceReadBps = "BlkioDeviceReadBps"
        case blkioDeviceWriteBps = "BlkioDeviceWriteBps", blkioDeviceReadIOps = "BlkioDeviceReadIOps"
        case blkioDeviceWriteIOps = "BlkioDeviceWriteIOps", deviceCgroupRules = "DeviceCgroupRules"
        case storageOpt = "StorageOpt", annotations = "Annotations"
    }
}

/// `DeviceMapping`: a host device in the container.
public struct DeviceMapping: Codable, Sendable, Equatable {
    public var pathOnHost: String
    public var pathInContainer: String
    /// Some of `r`, `w`, `m`.
    public var cgroupPermissions: String

    public init(pathOnHost: String, pathInContainer: String, cgroupPermissions: String) {
        self.pathOnHost = pathOnHost
        self.pathInContainer = pathInContainer
        self.cgroupPermissions = cgroupPermissions
    }

    enum CodingKeys: String, CodingKey {
        case pathOnHost = "PathOnHost", pathInContainer = "PathInContainer", cgroupPermissions = "CgroupPermissions"
    }
}

/// `ResourcesBlkioWeightDevice`.
public struct WeightDevice: Codable, Sendable, Equatable {
    public var path: String
    public var weight: Int

    public init(path: String, weight: Int) {
        self.path = path
        self.weight = weight
    }

    enum CodingKeys: String, CodingKey { case path = "Path", weight = "Weight" }
}

/// `ThrottleDevice`: a rate limit on one block device.
public struct ThrottleDevice: Codable, Sendable, Equatable {
    public var path: String
    public var rate: Int64

    public init(path: String, rate: Int64) {
        self.path = path
        self.rate = rate
    }

    enum CodingKeys: String, CodingKey { case path = "Path", rate = "Rate" }
}

/// `PortBinding`: where a container port is published on the host.
public struct PortBinding: Codable, Sendable, Hashable {
    /// Empty or nil binds every address.
    public var hostIp: String?
    /// Empty or nil lets the engine choose.
    public var hostPort: String?

    public init(hostIp: String? = nil, hostPort: String? = nil) {
        self.hostIp = hostIp
        self.hostPort = hostPort
    }

    enum CodingKeys: String, CodingKey { case hostIp = "HostIp", hostPort = "HostPort" }
}

/// `RestartPolicy`.
public struct RestartPolicy: Codable, Sendable, Equatable {
    /// `""`/`no`, `always`, `unless-stopped`, `on-failure`.
    public var name: String?
    /// For `on-failure` only.
    public var maximumRetryCount: Int?

    public init(name: String?, maximumRetryCount: Int? = nil) {
        self.name = name
        self.maximumRetryCount = maximumRetryCount
    }

    enum CodingKeys: String, CodingKey { case name = "Name", maximumRetryCount = "MaximumRetryCount" }
}

/// `DeviceRequest`: devices from a device driver (`nvidia` for GPUs).
public struct DeviceRequest: Codable, Sendable, Equatable {
    public var driver: String?
    /// -1 means all devices. Exclusive with `deviceIDs`.
    public var count: Int?
    public var deviceIDs: [String]?
    /// An OR of ANDs of capabilities, for example `[["gpu"]]`.
    public var capabilities: [[String]]?
    public var options: [String: String]?

    public init(
        driver: String? = nil, count: Int? = nil, deviceIDs: [String]? = nil, capabilities: [[String]]? = nil,
        options: [String: String]? = nil
    ) {
        self.driver = driver
        self.count = count
        self.deviceIDs = deviceIDs
        self.capabilities = capabilities
        self.options = options
    }

    enum CodingKeys: String, CodingKey {
        case driver = "Driver", count = "Count", deviceIDs = "DeviceIDs", capabilities = "Capabilities"
        case options = "Options"
    }
}

/// `Ulimit` (`Resources.Ulimits` item).
public struct Ulimit: Codable, Sendable, Equatable {
    public var name: String
    public var soft: Int64
    public var hard: Int64

    public init(name: String, soft: Int64, hard: Int64) {
        self.name = name
        self.soft = soft
        self.hard = hard
    }

    enum CodingKeys: String, CodingKey { case name = "Name", soft = "Soft", hard = "Hard" }
}

/// `LogConfig`.
public struct LogConfig: Codable, Sendable, Equatable {
    /// `json-file`, `local`, `journald`, `none`, …
    public var type: String
    public var config: [String: String]?

    public init(type: String, config: [String: String]? = nil) {
        self.type = type
        self.config = config
    }

    enum CodingKeys: String, CodingKey { case type = "Type", config = "Config" }
}

/// `Mount`: a mount requested at create time.
public struct Mount: Codable, Sendable, Equatable {
    /// `bind`, `volume`, `tmpfs`, `npipe`.
    public var type: String
    /// Host path for `bind`, volume name for `volume`.
    public var source: String?
    public var target: String
    public var readOnly: Bool?
    public var bindOptions: BindOptions?
    public var volumeOptions: VolumeOptions?
    public var tmpfsOptions: TmpfsOptions?

    public init(
        type: String, source: String? = nil, target: String, readOnly: Bool? = nil, bindOptions: BindOptions? = nil,
        volumeOptions: VolumeOptions? = nil, tmpfsOptions: TmpfsOptions? = nil
    ) {
        self.type = type
        self.source = source
        self.target = target
        self.readOnly = readOnly
        self.bindOptions = bindOptions
        self.volumeOptions = volumeOptions
        self.tmpfsOptions = tmpfsOptions
    }

    public struct BindOptions: Codable, Sendable, Equatable {
        public var propagation: String?
        public init(propagation: String? = nil) { self.propagation = propagation }
        enum CodingKeys: String, CodingKey { case propagation = "Propagation" }
    }

    public struct VolumeOptions: Codable, Sendable, Equatable {
        public var noCopy: Bool?
        public var labels: [String: String]?
        public init(noCopy: Bool? = nil, labels: [String: String]? = nil) {
            self.noCopy = noCopy
            self.labels = labels
        }
        enum CodingKeys: String, CodingKey { case noCopy = "NoCopy", labels = "Labels" }
    }

    public struct TmpfsOptions: Codable, Sendable, Equatable {
        public var sizeBytes: Int64?
        public var mode: Int?
        public init(sizeBytes: Int64? = nil, mode: Int? = nil) {
            self.sizeBytes = sizeBytes
            self.mode = mode
        }
        enum CodingKeys: String, CodingKey { case sizeBytes = "SizeBytes", mode = "Mode" }
    }

    enum CodingKeys: String, CodingKey {
        case type = "Type", source = "Source", target = "Target", readOnly = "ReadOnly"
        case bindOptions = "BindOptions", volumeOptions = "VolumeOptions", tmpfsOptions = "TmpfsOptions"
    }
}

/// `MountPoint`: a mount as inspect and list report it.
public struct MountPoint: Codable, Sendable, Equatable {
    public var type: String?
    /// The volume name, for volumes.
    public var name: String?
    public var source: String?
    public var destination: String?
    public var driver: String?
    public var mode: String?
    public var rw: Bool?

    enum CodingKeys: String, CodingKey {
        case type = "Type", name = "Name", source = "Source", destination = "Destination", driver = "Driver"
        case mode = "Mode", rw = "RW"
    }
}

/// `NetworkingConfig`: the networks to attach at create time.
public struct NetworkingConfig: Codable, Sendable, Equatable {
    /// Network name → endpoint settings. Engines before API 1.44 honour only one entry at create.
    public var endpointsConfig: [String: EndpointSettings]?

    public init(endpointsConfig: [String: EndpointSettings]? = nil) {
        self.endpointsConfig = endpointsConfig
    }

    enum CodingKeys: String, CodingKey { case endpointsConfig = "EndpointsConfig" }
}

/// `EndpointSettings`: a container's attachment to one network.
public struct EndpointSettings: Codable, Sendable, Equatable {
    public var ipamConfig: EndpointIPAMConfig?
    public var links: [String]?
    public var aliases: [String]?
    // Reported by the engine:
    public var networkID: String?
    public var endpointID: String?
    public var gateway: String?
    public var ipAddress: String?
    public var ipPrefixLen: Int?
    public var globalIPv6Address: String?
    public var macAddress: String?

    public init(ipamConfig: EndpointIPAMConfig? = nil, links: [String]? = nil, aliases: [String]? = nil) {
        self.ipamConfig = ipamConfig
        self.links = links
        self.aliases = aliases
    }

    enum CodingKeys: String, CodingKey {
        case ipamConfig = "IPAMConfig", links = "Links", aliases = "Aliases", networkID = "NetworkID"
        case endpointID = "EndpointID", gateway = "Gateway", ipAddress = "IPAddress", ipPrefixLen = "IPPrefixLen"
        case globalIPv6Address = "GlobalIPv6Address", macAddress = "MacAddress"
    }
}

/// `EndpointIPAMConfig`: static addresses on one network.
public struct EndpointIPAMConfig: Codable, Sendable, Equatable {
    public var ipv4Address: String?
    public var ipv6Address: String?

    public init(ipv4Address: String? = nil, ipv6Address: String? = nil) {
        self.ipv4Address = ipv4Address
        self.ipv6Address = ipv6Address
    }

    enum CodingKeys: String, CodingKey { case ipv4Address = "IPv4Address", ipv6Address = "IPv6Address" }
}

/// The body of `POST /containers/create`: `ContainerConfig` with `HostConfig`
/// and `NetworkingConfig` beside its fields, as the engine expects.
public struct ContainerCreateRequest: Encodable, Sendable, Equatable {
    public var config: ContainerConfig
    public var hostConfig: HostConfig?
    public var networkingConfig: NetworkingConfig?

    public init(config: ContainerConfig, hostConfig: HostConfig? = nil, networkingConfig: NetworkingConfig? = nil) {
        self.config = config
        self.hostConfig = hostConfig
        self.networkingConfig = networkingConfig
    }

    enum CodingKeys: String, CodingKey { case hostConfig = "HostConfig", networkingConfig = "NetworkingConfig" }

    public func encode(to encoder: any Encoder) throws {
        try config.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(hostConfig, forKey: .hostConfig)
        try container.encodeIfPresent(networkingConfig, forKey: .networkingConfig)
    }
}

/// The answer to `POST /containers/create`.
public struct ContainerCreateResponse: Decodable, Sendable, Equatable {
    public var id: String
    public var warnings: [String]?

    enum CodingKeys: String, CodingKey { case id = "Id", warnings = "Warnings" }
}

/// An item of `GET /containers/json` (`ContainerSummary`).
public struct ContainerSummary: Decodable, Sendable, Equatable {
    public var id: String
    /// With a leading slash: `/web-1`.
    public var names: [String]
    public var image: String?
    public var imageID: String?
    public var command: String?
    /// Unix seconds.
    public var created: Int64?
    public var ports: [Port]?
    public var labels: [String: String]?
    /// `created`, `running`, `paused`, `restarting`, `removing`, `exited`, `dead`.
    public var state: String?
    /// Human text such as `Up 3 minutes (healthy)`.
    public var status: String?
    public var networkSettings: SummaryNetworkSettings?
    public var mounts: [MountPoint]?
    /// The container's network mode (`HostConfig.NetworkMode` of the list call).
    public var networkMode: String?

    /// The first name without its leading slash.
    public var name: String? { names.first.map { $0.hasPrefix("/") ? String($0.dropFirst()) : $0 } }

    public struct SummaryNetworkSettings: Decodable, Sendable, Equatable {
        public var networks: [String: EndpointSettings]?
        enum CodingKeys: String, CodingKey { case networks = "Networks" }
    }

    enum CodingKeys: String, CodingKey {
        case id = "Id", names = "Names", image = "Image", imageID = "ImageID", command = "Command"
        case created = "Created", ports = "Ports", labels = "Labels", state = "State", status = "Status"
        case networkSettings = "NetworkSettings", mounts = "Mounts", hostConfig = "HostConfig"
    }

    struct SummaryHostConfig: Decodable {
        var networkMode: String?
        enum CodingKeys: String, CodingKey { case networkMode = "NetworkMode" }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        names = try c.decodeIfPresent([String].self, forKey: .names) ?? []
        image = try c.decodeIfPresent(String.self, forKey: .image)
        imageID = try c.decodeIfPresent(String.self, forKey: .imageID)
        command = try c.decodeIfPresent(String.self, forKey: .command)
        created = try c.decodeIfPresent(Int64.self, forKey: .created)
        ports = try c.decodeIfPresent([Port].self, forKey: .ports)
        labels = try c.decodeIfPresent([String: String].self, forKey: .labels)
        state = try c.decodeIfPresent(String.self, forKey: .state)
        status = try c.decodeIfPresent(String.self, forKey: .status)
        networkSettings = try c.decodeIfPresent(SummaryNetworkSettings.self, forKey: .networkSettings)
        mounts = try c.decodeIfPresent([MountPoint].self, forKey: .mounts)
        networkMode = try c.decodeIfPresent(SummaryHostConfig.self, forKey: .hostConfig)?.networkMode
    }
}

/// `Port`: a published or exposed port in a container summary.
public struct Port: Codable, Sendable, Hashable {
    public var ip: String?
    public var privatePort: Int
    public var publicPort: Int?
    /// `tcp`, `udp`, `sctp`.
    public var type: String

    enum CodingKeys: String, CodingKey { case ip = "IP", privatePort = "PrivatePort", publicPort = "PublicPort", type = "Type" }
}

/// The answer to `GET /containers/{id}/json`.
public struct ContainerInspect: Decodable, Sendable, Equatable {
    public var id: String
    /// RFC 3339 with nanoseconds.
    public var created: String?
    public var path: String?
    public var args: [String]?
    public var state: ContainerState?
    /// The image ID (`sha256:…`).
    public var image: String?
    /// With a leading slash: `/web-1`.
    public var name: String
    public var restartCount: Int?
    public var driver: String?
    public var platform: String?
    public var hostConfig: HostConfig?
    public var mounts: [MountPoint]?
    public var config: ContainerConfig?
    public var networkSettings: NetworkSettings?

    enum CodingKeys: String, CodingKey {
        case id = "Id", created = "Created", path = "Path", args = "Args", state = "State", image = "Image"
        case name = "Name", restartCount = "RestartCount", driver = "Driver", platform = "Platform"
        case hostConfig = "HostConfig", mounts = "Mounts", config = "Config", networkSettings = "NetworkSettings"
    }
}

/// `ContainerState`.
public struct ContainerState: Decodable, Sendable, Equatable {
    /// `created`, `running`, `paused`, `restarting`, `removing`, `exited`, `dead`.
    public var status: String?
    public var running: Bool?
    public var paused: Bool?
    public var restarting: Bool?
    public var oomKilled: Bool?
    public var dead: Bool?
    public var pid: Int?
    public var exitCode: Int?
    public var error: String?
    public var startedAt: String?
    public var finishedAt: String?
    public var health: Health?

    enum CodingKeys: String, CodingKey {
        case status = "Status", running = "Running", paused = "Paused", restarting = "Restarting"
        case oomKilled = "OOMKilled", dead = "Dead", pid = "Pid", exitCode = "ExitCode", error = "Error"
        case startedAt = "StartedAt", finishedAt = "FinishedAt", health = "Health"
    }
}

/// `Health`: the healthcheck's current verdict.
public struct Health: Decodable, Sendable, Equatable {
    /// `none`, `starting`, `healthy`, `unhealthy`.
    public var status: String?
    public var failingStreak: Int?
    public var log: [HealthcheckResult]?

    enum CodingKeys: String, CodingKey { case status = "Status", failingStreak = "FailingStreak", log = "Log" }
}

/// `HealthcheckResult`: one probe.
public struct HealthcheckResult: Decodable, Sendable, Equatable {
    public var start: String?
    public var end: String?
    public var exitCode: Int?
    public var output: String?

    enum CodingKeys: String, CodingKey { case start = "Start", end = "End", exitCode = "ExitCode", output = "Output" }
}

/// `NetworkSettings` as inspect reports it.
public struct NetworkSettings: Decodable, Sendable, Equatable {
    /// `"80/tcp"` → bindings actually made; null for exposed ports not published.
    public var ports: [String: [PortBinding]?]?
    public var networks: [String: EndpointSettings]?
    public var ipAddress: String?

    enum CodingKeys: String, CodingKey { case ports = "Ports", networks = "Networks", ipAddress = "IPAddress" }
}

/// The answer to `POST /containers/{id}/wait`.
public struct ContainerWaitResponse: Decodable, Sendable, Equatable {
    public var statusCode: Int64
    public var error: WaitError?

    public struct WaitError: Decodable, Sendable, Equatable {
        public var message: String?
        enum CodingKeys: String, CodingKey { case message = "Message" }
    }

    enum CodingKeys: String, CodingKey { case statusCode = "StatusCode", error = "Error" }
}

/// The `condition` of `POST /containers/{id}/wait`.
public enum WaitCondition: String, Sendable {
    case notRunning = "not-running"
    case nextExit = "next-exit"
    case removed = "removed"
}

/// The body of `POST /containers/{id}/update`: resources and restart policy that
/// change on a running container without recreating it. Nil fields are left as they are.
public struct ContainerUpdateRequest: Encodable, Sendable, Equatable {
    public var memory: Int64?
    public var memoryReservation: Int64?
    public var memorySwap: Int64?
    public var nanoCpus: Int64?
    public var cpuShares: Int?
    public var pidsLimit: Int64?
    public var restartPolicy: RestartPolicy?

    public init(
        memory: Int64? = nil, memoryReservation: Int64? = nil, memorySwap: Int64? = nil, nanoCpus: Int64? = nil,
        cpuShares: Int? = nil, pidsLimit: Int64? = nil, restartPolicy: RestartPolicy? = nil
    ) {
        self.memory = memory
        self.memoryReservation = memoryReservation
        self.memorySwap = memorySwap
        self.nanoCpus = nanoCpus
        self.cpuShares = cpuShares
        self.pidsLimit = pidsLimit
        self.restartPolicy = restartPolicy
    }

    enum CodingKeys: String, CodingKey {
        case memory = "Memory", memoryReservation = "MemoryReservation", memorySwap = "MemorySwap"
        case nanoCpus = "NanoCpus", cpuShares = "CpuShares", pidsLimit = "PidsLimit", restartPolicy = "RestartPolicy"
    }
}

/// The answer to `POST /containers/{id}/update`.
public struct ContainerUpdateResponse: Decodable, Sendable, Equatable {
    public var warnings: [String]?
    enum CodingKeys: String, CodingKey { case warnings = "Warnings" }
}
