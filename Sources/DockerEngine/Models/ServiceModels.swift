/// Swarm service types of the Engine API (`ServiceSpec`, `Service`, `Task`, …), with the
/// fields reconcile sends or reads. Every optional is left out of the JSON when nil, so a
/// spec encodes as the docker CLI's stack conversion sends it.

/// `ServiceSpec`: what `POST /services/create` and `POST /services/{id}/update` take, and
/// what `GET /services/{id}` returns as `Spec`.
public struct ServiceSpec: Codable, Sendable, Equatable {
    public var name: String
    public var labels: [String: String]?
    public var taskTemplate: TaskSpec
    public var mode: ServiceMode?
    public var updateConfig: SwarmUpdateConfig?
    public var rollbackConfig: SwarmUpdateConfig?
    public var endpointSpec: EndpointSpec?

    public init(
        name: String, labels: [String: String]? = nil, taskTemplate: TaskSpec, mode: ServiceMode? = nil,
        updateConfig: SwarmUpdateConfig? = nil, rollbackConfig: SwarmUpdateConfig? = nil, endpointSpec: EndpointSpec? = nil
    ) {
        self.name = name
        self.labels = labels
        self.taskTemplate = taskTemplate
        self.mode = mode
        self.updateConfig = updateConfig
        self.rollbackConfig = rollbackConfig
        self.endpointSpec = endpointSpec
    }

    enum CodingKeys: String, CodingKey {
        case name = "Name", labels = "Labels", taskTemplate = "TaskTemplate", mode = "Mode"
        case updateConfig = "UpdateConfig", rollbackConfig = "RollbackConfig", endpointSpec = "EndpointSpec"
    }
}

/// `TaskSpec`: the template every task of a service is made from.
public struct TaskSpec: Codable, Sendable, Equatable {
    public var containerSpec: SwarmContainerSpec?
    public var resources: SwarmResourceRequirements?
    public var restartPolicy: SwarmRestartPolicy?
    public var placement: SwarmPlacement?
    public var networks: [NetworkAttachmentConfig]?
    public var logDriver: SwarmDriver?
    /// Bumped to force tasks to be replaced without a spec change.
    public var forceUpdate: Int?
    public var runtime: String?

    public init(
        containerSpec: SwarmContainerSpec? = nil, resources: SwarmResourceRequirements? = nil,
        restartPolicy: SwarmRestartPolicy? = nil, placement: SwarmPlacement? = nil,
        networks: [NetworkAttachmentConfig]? = nil, logDriver: SwarmDriver? = nil, forceUpdate: Int? = nil,
        runtime: String? = nil
    ) {
        self.containerSpec = containerSpec
        self.resources = resources
        self.restartPolicy = restartPolicy
        self.placement = placement
        self.networks = networks
        self.logDriver = logDriver
        self.forceUpdate = forceUpdate
        self.runtime = runtime
    }

    enum CodingKeys: String, CodingKey {
        case containerSpec = "ContainerSpec", resources = "Resources", restartPolicy = "RestartPolicy"
        case placement = "Placement", networks = "Networks", logDriver = "LogDriver", forceUpdate = "ForceUpdate"
        case runtime = "Runtime"
    }
}

/// `ContainerSpec` of a task.
public struct SwarmContainerSpec: Codable, Sendable, Equatable {
    public var image: String
    public var labels: [String: String]?
    /// The entrypoint (the docker CLI's stack conversion puts `entrypoint` here).
    public var command: [String]?
    /// The arguments (`command`).
    public var args: [String]?
    public var hostname: String?
    /// "KEY=VALUE", sorted.
    public var env: [String]?
    public var dir: String?
    public var user: String?
    public var mounts: [SwarmMount]?
    /// Nanoseconds.
    public var stopGracePeriod: Int64?
    public var stopSignal: String?
    public var healthCheck: SwarmHealthConfig?
    /// "IP HOSTNAME" entries for /etc/hosts.
    public var hosts: [String]?
    public var secrets: [SecretReference]?
    public var configs: [ConfigReference]?
    public var `init`: Bool?
    public var capabilityAdd: [String]?
    public var capabilityDrop: [String]?
    public var ulimits: [SwarmUlimit]?
    public var readOnly: Bool?
    public var isolation: String?

    public init(image: String) { self.image = image }

    enum CodingKeys: String, CodingKey {
        case image = "Image", labels = "Labels", command = "Command", args = "Args", hostname = "Hostname", env = "Env"
        case dir = "Dir", user = "User", mounts = "Mounts", stopGracePeriod = "StopGracePeriod"
        case stopSignal = "StopSignal", healthCheck = "Healthcheck", hosts = "Hosts", secrets = "Secrets"
        case configs = "Configs", `init` = "Init", capabilityAdd = "CapabilityAdd", capabilityDrop = "CapabilityDrop"
        case ulimits = "Ulimits", readOnly = "ReadOnly", isolation = "Isolation"
    }
}

/// `Mount` of a task's container.
public struct SwarmMount: Codable, Sendable, Equatable {
    /// `volume`, `bind` or `tmpfs`.
    public var type: String
    public var source: String?
    public var target: String
    public var readOnly: Bool?
    public var volumeOptions: VolumeOptions?

    public init(type: String, source: String? = nil, target: String, readOnly: Bool? = nil, volumeOptions: VolumeOptions? = nil) {
        self.type = type
        self.source = source
        self.target = target
        self.readOnly = readOnly
        self.volumeOptions = volumeOptions
    }

    public struct VolumeOptions: Codable, Sendable, Equatable {
        public var labels: [String: String]?
        public var driverConfig: SwarmDriver?
        public var noCopy: Bool?

        public init(labels: [String: String]? = nil, driverConfig: SwarmDriver? = nil, noCopy: Bool? = nil) {
            self.labels = labels
            self.driverConfig = driverConfig
            self.noCopy = noCopy
        }

        enum CodingKeys: String, CodingKey { case labels = "Labels", driverConfig = "DriverConfig", noCopy = "NoCopy" }
    }

    enum CodingKeys: String, CodingKey {
        case type = "Type", source = "Source", target = "Target", readOnly = "ReadOnly", volumeOptions = "VolumeOptions"
    }
}

/// `HealthConfig`; durations in nanoseconds.
public struct SwarmHealthConfig: Codable, Sendable, Equatable {
    public var test: [String]?
    public var interval: Int64?
    public var timeout: Int64?
    public var retries: Int?
    public var startPeriod: Int64?

    public init(test: [String]? = nil, interval: Int64? = nil, timeout: Int64? = nil, retries: Int? = nil, startPeriod: Int64? = nil) {
        self.test = test
        self.interval = interval
        self.timeout = timeout
        self.retries = retries
        self.startPeriod = startPeriod
    }

    enum CodingKeys: String, CodingKey {
        case test = "Test", interval = "Interval", timeout = "Timeout", retries = "Retries", startPeriod = "StartPeriod"
    }
}

public struct SwarmUlimit: Codable, Sendable, Equatable {
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

/// A driver name and its options (log driver, volume driver).
public struct SwarmDriver: Codable, Sendable, Equatable {
    public var name: String?
    public var options: [String: String]?

    public init(name: String? = nil, options: [String: String]? = nil) {
        self.name = name
        self.options = options
    }

    enum CodingKeys: String, CodingKey { case name = "Name", options = "Options" }
}

/// A secret granted to a service's tasks.
public struct SecretReference: Codable, Sendable, Equatable {
    public var file: FileTarget?
    public var secretID: String
    public var secretName: String

    public init(file: FileTarget?, secretID: String, secretName: String) {
        self.file = file
        self.secretID = secretID
        self.secretName = secretName
    }

    enum CodingKeys: String, CodingKey { case file = "File", secretID = "SecretID", secretName = "SecretName" }
}

/// A config granted to a service's tasks.
public struct ConfigReference: Codable, Sendable, Equatable {
    public var file: FileTarget?
    public var configID: String
    public var configName: String

    public init(file: FileTarget?, configID: String, configName: String) {
        self.file = file
        self.configID = configID
        self.configName = configName
    }

    enum CodingKeys: String, CodingKey { case file = "File", configID = "ConfigID", configName = "ConfigName" }
}

/// Where a secret or config appears in the task's container.
public struct FileTarget: Codable, Sendable, Equatable {
    public var name: String
    public var uid: String
    public var gid: String
    /// File mode, e.g. 0o444 (292).
    public var mode: UInt32

    public init(name: String, uid: String = "0", gid: String = "0", mode: UInt32 = 0o444) {
        self.name = name
        self.uid = uid
        self.gid = gid
        self.mode = mode
    }

    enum CodingKeys: String, CodingKey { case name = "Name", uid = "UID", gid = "GID", mode = "Mode" }
}

/// `ResourceRequirements` of a task.
public struct SwarmResourceRequirements: Codable, Sendable, Equatable {
    public var limits: SwarmResources?
    public var reservations: SwarmResources?

    public init(limits: SwarmResources? = nil, reservations: SwarmResources? = nil) {
        self.limits = limits
        self.reservations = reservations
    }

    enum CodingKeys: String, CodingKey { case limits = "Limits", reservations = "Reservations" }
}

/// `Limit` and `ResourceObject`: CPUs in billionths, memory in bytes, generic resources.
public struct SwarmResources: Codable, Sendable, Equatable {
    public var nanoCPUs: Int64?
    public var memoryBytes: Int64?
    public var pids: Int64?
    public var genericResources: [GenericResource]?

    public init(nanoCPUs: Int64? = nil, memoryBytes: Int64? = nil, pids: Int64? = nil, genericResources: [GenericResource]? = nil) {
        self.nanoCPUs = nanoCPUs
        self.memoryBytes = memoryBytes
        self.pids = pids
        self.genericResources = genericResources
    }

    enum CodingKeys: String, CodingKey {
        case nanoCPUs = "NanoCPUs", memoryBytes = "MemoryBytes", pids = "Pids", genericResources = "GenericResources"
    }
}

/// One generic resource: a count of a kind (`DiscreteResourceSpec`, what a service reserves)
/// or one named unit (`NamedResourceSpec`, what a node advertises and a task is given).
public struct GenericResource: Codable, Sendable, Equatable, Hashable {
    public var discreteResourceSpec: Discrete?
    public var namedResourceSpec: Named?

    public init(discrete kind: String, value: Int64) { self.discreteResourceSpec = Discrete(kind: kind, value: value) }
    public init(named kind: String, value: String) { self.namedResourceSpec = Named(kind: kind, value: value) }

    public struct Discrete: Codable, Sendable, Equatable, Hashable {
        public var kind: String
        public var value: Int64
        enum CodingKeys: String, CodingKey { case kind = "Kind", value = "Value" }
    }

    public struct Named: Codable, Sendable, Equatable, Hashable {
        public var kind: String
        public var value: String
        enum CodingKeys: String, CodingKey { case kind = "Kind", value = "Value" }
    }

    enum CodingKeys: String, CodingKey { case discreteResourceSpec = "DiscreteResourceSpec", namedResourceSpec = "NamedResourceSpec" }
}

/// `RestartPolicy` of a task; durations in nanoseconds.
public struct SwarmRestartPolicy: Codable, Sendable, Equatable {
    /// `none`, `on-failure` or `any`.
    public var condition: String?
    public var delay: Int64?
    public var maxAttempts: Int?
    public var window: Int64?

    public init(condition: String? = nil, delay: Int64? = nil, maxAttempts: Int? = nil, window: Int64? = nil) {
        self.condition = condition
        self.delay = delay
        self.maxAttempts = maxAttempts
        self.window = window
    }

    enum CodingKeys: String, CodingKey { case condition = "Condition", delay = "Delay", maxAttempts = "MaxAttempts", window = "Window" }
}

/// `Placement`: constraints such as `node.role==manager`, spread preferences, a per-node cap.
public struct SwarmPlacement: Codable, Sendable, Equatable {
    public var constraints: [String]?
    public var preferences: [Preference]?
    public var maxReplicas: Int?

    public init(constraints: [String]? = nil, preferences: [Preference]? = nil, maxReplicas: Int? = nil) {
        self.constraints = constraints
        self.preferences = preferences
        self.maxReplicas = maxReplicas
    }

    public struct Preference: Codable, Sendable, Equatable {
        public var spread: Spread?
        public init(spread: String) { self.spread = Spread(spreadDescriptor: spread) }
        public struct Spread: Codable, Sendable, Equatable {
            public var spreadDescriptor: String
            enum CodingKeys: String, CodingKey { case spreadDescriptor = "SpreadDescriptor" }
        }
        enum CodingKeys: String, CodingKey { case spread = "Spread" }
    }

    enum CodingKeys: String, CodingKey { case constraints = "Constraints", preferences = "Preferences", maxReplicas = "MaxReplicas" }
}

/// A network a task attaches to, by name or id, with its DNS aliases.
public struct NetworkAttachmentConfig: Codable, Sendable, Equatable {
    public var target: String
    public var aliases: [String]?

    public init(target: String, aliases: [String]? = nil) {
        self.target = target
        self.aliases = aliases
    }

    enum CodingKeys: String, CodingKey { case target = "Target", aliases = "Aliases" }
}

/// `replicated` with a count, or `global` (one task per node).
public struct ServiceMode: Codable, Sendable, Equatable {
    public var replicated: Replicated?
    public var global: Global?

    public static func replicated(_ count: Int) -> ServiceMode { ServiceMode(replicated: Replicated(replicas: count)) }
    public static var global: ServiceMode { ServiceMode(global: Global()) }

    public init(replicated: Replicated? = nil, global: Global? = nil) {
        self.replicated = replicated
        self.global = global
    }

    public struct Replicated: Codable, Sendable, Equatable {
        public var replicas: Int?
        public init(replicas: Int?) { self.replicas = replicas }
        enum CodingKeys: String, CodingKey { case replicas = "Replicas" }
    }

    public struct Global: Codable, Sendable, Equatable { public init() {} }

    enum CodingKeys: String, CodingKey { case replicated = "Replicated", global = "Global" }
}

/// `UpdateConfig` and `RollbackConfig`; delay and monitor in nanoseconds.
public struct SwarmUpdateConfig: Codable, Sendable, Equatable {
    public var parallelism: Int?
    public var delay: Int64?
    /// `continue`, `pause` or `rollback` (update only).
    public var failureAction: String?
    public var monitor: Int64?
    public var maxFailureRatio: Double?
    /// `stop-first` or `start-first`.
    public var order: String?

    public init(
        parallelism: Int? = nil, delay: Int64? = nil, failureAction: String? = nil, monitor: Int64? = nil,
        maxFailureRatio: Double? = nil, order: String? = nil
    ) {
        self.parallelism = parallelism
        self.delay = delay
        self.failureAction = failureAction
        self.monitor = monitor
        self.maxFailureRatio = maxFailureRatio
        self.order = order
    }

    enum CodingKeys: String, CodingKey {
        case parallelism = "Parallelism", delay = "Delay", failureAction = "FailureAction", monitor = "Monitor"
        case maxFailureRatio = "MaxFailureRatio", order = "Order"
    }
}

/// `EndpointSpec`: `vip` or `dnsrr`, and the published ports.
public struct EndpointSpec: Codable, Sendable, Equatable {
    public var mode: String?
    public var ports: [SwarmPortConfig]?

    public init(mode: String? = nil, ports: [SwarmPortConfig]? = nil) {
        self.mode = mode
        self.ports = ports
    }

    enum CodingKeys: String, CodingKey { case mode = "Mode", ports = "Ports" }
}

/// One published port: through the routing mesh (`ingress`) or on the task's node (`host`).
public struct SwarmPortConfig: Codable, Sendable, Equatable, Hashable {
    public var name: String?
    /// `tcp`, `udp` or `sctp`.
    public var `protocol`: String?
    public var targetPort: Int
    public var publishedPort: Int?
    /// `ingress` or `host`.
    public var publishMode: String?

    public init(name: String? = nil, protocol: String? = nil, targetPort: Int, publishedPort: Int? = nil, publishMode: String? = nil) {
        self.name = name
        self.protocol = `protocol`
        self.targetPort = targetPort
        self.publishedPort = publishedPort
        self.publishMode = publishMode
    }

    enum CodingKeys: String, CodingKey {
        case name = "Name", `protocol` = "Protocol", targetPort = "TargetPort", publishedPort = "PublishedPort"
        case publishMode = "PublishMode"
    }
}

/// `ObjectVersion`: the index an update must name (optimistic concurrency).
public struct ObjectVersion: Codable, Sendable, Equatable {
    public var index: UInt64
    public init(index: UInt64) { self.index = index }
    enum CodingKeys: String, CodingKey { case index = "Index" }
}

/// `Service`: an item of `GET /services` and the answer to `GET /services/{id}`.
public struct SwarmService: Decodable, Sendable, Equatable {
    public var id: String
    public var version: ObjectVersion
    public var createdAt: String?
    public var updatedAt: String?
    public var spec: ServiceSpec
    public var previousSpec: ServiceSpec?
    public var endpoint: Endpoint?
    public var updateStatus: UpdateStatus?

    /// The ports the routing mesh published, with the ones the engine chose.
    public struct Endpoint: Decodable, Sendable, Equatable {
        public var ports: [SwarmPortConfig]?
        public var virtualIPs: [VirtualIP]?
        public struct VirtualIP: Decodable, Sendable, Equatable {
            public var networkID: String?
            public var addr: String?
            enum CodingKeys: String, CodingKey { case networkID = "NetworkID", addr = "Addr" }
        }
        enum CodingKeys: String, CodingKey { case ports = "Ports", virtualIPs = "VirtualIPs" }
    }

    enum CodingKeys: String, CodingKey {
        case id = "ID", version = "Version", createdAt = "CreatedAt", updatedAt = "UpdatedAt", spec = "Spec"
        case previousSpec = "PreviousSpec", endpoint = "Endpoint", updateStatus = "UpdateStatus"
    }
}

/// Where the last update of a service stands.
public struct UpdateStatus: Codable, Sendable, Equatable {
    /// `updating`, `paused`, `completed`, `rollback_started`, `rollback_paused`, `rollback_completed`.
    public var state: String?
    public var startedAt: String?
    public var completedAt: String?
    public var message: String?

    public init(state: String? = nil, startedAt: String? = nil, completedAt: String? = nil, message: String? = nil) {
        self.state = state
        self.startedAt = startedAt
        self.completedAt = completedAt
        self.message = message
    }

    enum CodingKeys: String, CodingKey { case state = "State", startedAt = "StartedAt", completedAt = "CompletedAt", message = "Message" }
}

/// The answer to `POST /services/create`.
public struct ServiceCreateResponse: Decodable, Sendable, Equatable {
    public var id: String
    public var warning: String?
    public init(id: String, warning: String? = nil) {
        self.id = id
        self.warning = warning
    }
    enum CodingKeys: String, CodingKey { case id = "ID", warning = "Warning" }
}

/// The answer to `POST /services/{id}/update`.
public struct ServiceUpdateResponse: Decodable, Sendable, Equatable {
    public var warnings: [String]?
    public init(warnings: [String]? = nil) { self.warnings = warnings }
    enum CodingKeys: String, CodingKey { case warnings = "Warnings" }
}

/// `Task`: one scheduled instance of a service on a node.
public struct SwarmTask: Decodable, Sendable, Equatable {
    public var id: String
    public var serviceID: String
    public var nodeID: String?
    public var slot: Int?
    public var desiredState: String?
    public var status: Status
    public var spec: TaskSpec?
    public var createdAt: String?
    /// The generic resources (GPU ids) the scheduler gave this task.
    public var assignedGenericResources: [GenericResource]?
    public var networksAttachments: [Attachment]?

    public struct Status: Decodable, Sendable, Equatable {
        /// `new`, `pending`, `assigned`, `accepted`, `preparing`, `ready`, `starting`, `running`,
        /// `complete`, `shutdown`, `failed`, `rejected`, `remove`, `orphaned`.
        public var state: String
        public var message: String?
        public var err: String?
        public var timestamp: String?
        public var containerStatus: ContainerStatus?
        public struct ContainerStatus: Decodable, Sendable, Equatable {
            public var containerID: String?
            public var exitCode: Int?
            enum CodingKeys: String, CodingKey { case containerID = "ContainerID", exitCode = "ExitCode" }
        }
        enum CodingKeys: String, CodingKey {
            case state = "State", message = "Message", err = "Err", timestamp = "Timestamp", containerStatus = "ContainerStatus"
        }
    }

    public struct Attachment: Decodable, Sendable, Equatable {
        public var addresses: [String]?
        enum CodingKeys: String, CodingKey { case addresses = "Addresses" }
    }

    enum CodingKeys: String, CodingKey {
        case id = "ID", serviceID = "ServiceID", nodeID = "NodeID", slot = "Slot", desiredState = "DesiredState"
        case status = "Status", spec = "Spec", createdAt = "CreatedAt", assignedGenericResources = "GenericResources"
        case networksAttachments = "NetworksAttachments"
    }
}

extension SwarmService {
    public init(
        id: String, version: UInt64, spec: ServiceSpec, previousSpec: ServiceSpec? = nil, updateStatus: UpdateStatus? = nil,
        publishedPorts: [SwarmPortConfig]? = nil
    ) {
        self.id = id
        self.version = ObjectVersion(index: version)
        self.spec = spec
        self.previousSpec = previousSpec
        self.updateStatus = updateStatus
        self.endpoint = publishedPorts.map { Endpoint(ports: $0, virtualIPs: nil) }
    }
}

extension SwarmTask {
    public init(
        id: String, serviceID: String, nodeID: String?, slot: Int?, desiredState: String, state: String, message: String? = nil,
        err: String? = nil, spec: TaskSpec? = nil, assignedGenericResources: [GenericResource]? = nil, createdAt: String? = nil
    ) {
        self.id = id
        self.serviceID = serviceID
        self.nodeID = nodeID
        self.slot = slot
        self.desiredState = desiredState
        self.status = Status(state: state, message: message, err: err, timestamp: nil, containerStatus: nil)
        self.spec = spec
        self.assignedGenericResources = assignedGenericResources
        self.createdAt = createdAt
        self.networksAttachments = nil
    }
}
