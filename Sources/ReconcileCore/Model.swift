/// The desired state of one project, as the manifest loader resolves it.
///
/// Every value here is already normalised: Compose's alternative forms (short and long
/// port syntax, list and map environment, `gpus:` and device reservations, …) are folded
/// into one shape, interpolation is done, profiles are filtered. The planner only ever
/// sees this shape.
public struct Project: Sendable, Equatable, Codable {
    /// The project name: `--project`, else the manifest's `name:`, else the folder name.
    public var name: String
    /// Services sorted by name.
    public var services: [Service]
    /// Networks sorted by key. The implicit `default` network is present when a service uses it.
    public var networks: [Network]
    /// Volumes sorted by key.
    public var volumes: [Volume]
    /// Top-level `x-reconcile` settings.
    public var extensions: ProjectExtensions
    /// Top-level `secrets` and `configs`, sorted by key; nil when the manifest has none.
    public var secrets: [FileObject]?
    public var configs: [FileObject]?
    /// The key of the config hash (`ConfigHashKey`); nil for a project built in code, whose
    /// hashes are plain SHA-256. Not encoded: it never leaves the process.
    public var hashKey: ConfigHashKey? = nil

    enum CodingKeys: String, CodingKey { case name, services, networks, volumes, extensions, secrets, configs }

    public init(
        name: String, services: [Service] = [], networks: [Network] = [], volumes: [Volume] = [],
        extensions: ProjectExtensions = .init()
    ) {
        self.name = name
        self.services = services.sorted { $0.name < $1.name }
        self.networks = networks.sorted { $0.key < $1.key }
        self.volumes = volumes.sorted { $0.key < $1.key }
        self.extensions = extensions
    }

    public func service(named name: String) -> Service? { services.first { $0.name == name } }
    public func network(key: String) -> Network? { networks.first { $0.key == key } }
    public func volume(key: String) -> Volume? { volumes.first { $0.key == key } }
}

/// Top-level `x-reconcile` settings.
public struct ProjectExtensions: Sendable, Equatable, Codable {
    /// An explicit GPU inventory (`x-reconcile.gpus`), overriding discovery.
    public var gpus: [GPUDevice]?
    /// How many revisions of history to keep (`x-reconcile.history_limit`, default 20).
    public var historyLimit: Int?
    /// Where the project runs (`x-reconcile.target`); nil is one host. `--target` overrides it.
    public var target: DeployTarget?

    public init(gpus: [GPUDevice]? = nil, historyLimit: Int? = nil, target: DeployTarget? = nil) {
        self.gpus = gpus
        self.historyLimit = historyLimit
        self.target = target
    }
}

/// The engine a project is deployed to.
public enum DeployTarget: String, Sendable, Equatable, Codable, CaseIterable {
    /// Containers on one Docker engine.
    case host
    /// Services of the Docker Swarm the engine manages.
    case swarm
}

/// One GPU the host offers.
public struct GPUDevice: Sendable, Equatable, Hashable, Codable {
    /// The id Docker's `DeviceIDs` takes: the index as a string ("0") or a UUID.
    public var id: String
    public var uuid: String?
    /// Memory in bytes, where known.
    public var memoryBytes: Int64?

    public init(id: String, uuid: String? = nil, memoryBytes: Int64? = nil) {
        self.id = id
        self.uuid = uuid
        self.memoryBytes = memoryBytes
    }
}

public struct Service: Sendable, Equatable, Codable {
    public var name: String
    /// The image reference. For a service with `build`, the content tag of the image built
    /// from its context (`BuildSpec.contentTag`); an `image:` beside `build` is an extra tag.
    public var image: String
    /// `command`, exec form; nil keeps the image's default.
    public var command: [String]?
    /// `entrypoint`, exec form; nil keeps the image's default.
    public var entrypoint: [String]?
    /// Resolved environment (`env_file` entries first, then `environment`).
    public var environment: [String: String]
    /// Names of environment variables whose values must never be shown or stored.
    public var secretEnv: [String]
    /// Port mappings; ranges are expanded to one mapping per port.
    public var ports: [PortMapping]
    /// Container ports exposed without publishing (`expose`), as "80" or "80/udp".
    public var expose: [String]
    public var mounts: [Mount]
    /// Networks the service joins, sorted by key.
    public var networks: [ServiceNetwork]
    public var dependsOn: [Dependency]
    public var healthcheck: Healthcheck?
    /// `restart`: "no", "always", "on-failure", "on-failure:N", "unless-stopped".
    public var restart: String?
    public var labels: [String: String]
    public var workingDir: String?
    public var user: String?
    public var stopSignal: String?
    /// `stop_grace_period` in seconds.
    public var stopGracePeriod: Double?
    /// `deploy.replicas`, default 1.
    public var replicas: Int
    public var limits: ResourceLimits
    /// GPU and other device requests (`deploy.resources.reservations.devices` and `gpus:`).
    public var devices: [DeviceRequest]
    public var updateConfig: UpdatePolicy
    public var rollbackConfig: UpdatePolicy
    /// `init: true` runs Docker's tiny init as PID 1.
    public var initProcess: Bool?
    public var profiles: [String]
    /// `shm_size` in bytes.
    public var shmSize: Int64?
    public var ipc: String?
    public var ulimits: [Ulimit]
    /// `tmpfs` mount targets, each "PATH" or "PATH:OPTIONS".
    public var tmpfs: [String]
    /// `extra_hosts`, each "HOST:IP".
    public var extraHosts: [String]
    public var hostname: String?
    public var capAdd: [String]
    public var capDrop: [String]
    /// `pull_policy`: always, never, missing, build, if_not_present, daily, weekly, every_<duration>.
    public var pullPolicy: String?
    public var logging: Logging?
    /// `runtime`, e.g. "nvidia" (the older GPU form).
    public var runtime: String?
    public var extensions: ServiceExtensions
    /// The image id to run instead of resolving `image`: set when a revision is re-applied
    /// from history, so a rollback runs exactly the image it ran then, even if the tag has
    /// moved since. Never read from a manifest; not part of the config hash.
    public var pinnedImageID: String?
    /// `secrets` and `configs` granted to the service, sorted by target; nil when none.
    public var secrets: [FileGrant]?
    public var configs: [FileGrant]?
    /// Keys passed through to the engine's container configuration (`network_mode`,
    /// `sysctls`, `cpu_*`, hooks…); nil when the manifest sets none of them.
    public var options: ContainerOptions?
    /// `build:`, resolved; nil for a service that runs an image as it is.
    public var build: BuildSpec?
    /// `deploy` keys only a swarm honours; nil when the manifest sets none or is not
    /// loaded for a swarm (the single-host target refuses them).
    public var swarm: SwarmDeploy?

    public init(
        name: String, image: String, command: [String]? = nil, entrypoint: [String]? = nil,
        environment: [String: String] = [:], secretEnv: [String] = [], ports: [PortMapping] = [],
        expose: [String] = [], mounts: [Mount] = [], networks: [ServiceNetwork] = [],
        dependsOn: [Dependency] = [], healthcheck: Healthcheck? = nil, restart: String? = nil,
        labels: [String: String] = [:], workingDir: String? = nil, user: String? = nil,
        stopSignal: String? = nil, stopGracePeriod: Double? = nil, replicas: Int = 1,
        limits: ResourceLimits = .init(), devices: [DeviceRequest] = [],
        updateConfig: UpdatePolicy = .init(), rollbackConfig: UpdatePolicy = .init(),
        initProcess: Bool? = nil, profiles: [String] = [], shmSize: Int64? = nil, ipc: String? = nil,
        ulimits: [Ulimit] = [], tmpfs: [String] = [], extraHosts: [String] = [], hostname: String? = nil,
        capAdd: [String] = [], capDrop: [String] = [], pullPolicy: String? = nil, logging: Logging? = nil,
        runtime: String? = nil, extensions: ServiceExtensions = .init()
    ) {
        self.name = name
        self.image = image
        self.command = command
        self.entrypoint = entrypoint
        self.environment = environment
        self.secretEnv = secretEnv.sorted()
        self.ports = ports
        self.expose = expose
        self.mounts = mounts
        self.networks = networks.sorted { $0.key < $1.key }
        self.dependsOn = dependsOn
        self.healthcheck = healthcheck
        self.restart = restart
        self.labels = labels
        self.workingDir = workingDir
        self.user = user
        self.stopSignal = stopSignal
        self.stopGracePeriod = stopGracePeriod
        self.replicas = replicas
        self.limits = limits
        self.devices = devices
        self.updateConfig = updateConfig
        self.rollbackConfig = rollbackConfig
        self.initProcess = initProcess
        self.profiles = profiles
        self.shmSize = shmSize
        self.ipc = ipc
        self.ulimits = ulimits
        self.tmpfs = tmpfs
        self.extraHosts = extraHosts
        self.hostname = hostname
        self.capAdd = capAdd
        self.capDrop = capDrop
        self.pullPolicy = pullPolicy
        self.logging = logging
        self.runtime = runtime
        self.extensions = extensions
    }

    /// True when an environment variable's value must be masked.
    public func isSecret(_ variable: String) -> Bool { secretEnv.contains(variable) }
}

public struct PortMapping: Sendable, Equatable, Hashable, Codable {
    /// Container port.
    public var target: Int
    /// Host port; nil lets the engine choose one.
    public var published: Int?
    /// Host IP to bind; nil binds all addresses.
    public var hostIP: String?
    /// "tcp" or "udp".
    public var proto: String
    /// The last port of a host port range (`"8000-8010:80"`): each replica takes one free
    /// port of `published...publishedEnd` and keeps it; nil for a single host port.
    public var publishedEnd: Int?

    public init(target: Int, published: Int? = nil, hostIP: String? = nil, proto: String = "tcp", publishedEnd: Int? = nil) {
        self.target = target
        self.published = published
        self.hostIP = hostIP
        self.proto = proto
        self.publishedEnd = publishedEnd
    }

    /// The host ports a replica may take, for a range; nil for a single or no host port.
    public var hostRange: ClosedRange<Int>? {
        guard let published, let publishedEnd, publishedEnd > published else { return nil }
        return published...publishedEnd
    }
}

public struct Mount: Sendable, Equatable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable { case volume, bind, tmpfs }
    public var type: Kind
    /// A volume key of the project (type volume), an absolute host path (bind), or nil
    /// (an anonymous volume, or tmpfs).
    public var source: String?
    public var target: String
    public var readOnly: Bool

    public init(type: Kind, source: String?, target: String, readOnly: Bool = false) {
        self.type = type
        self.source = source
        self.target = target
        self.readOnly = readOnly
    }
}

public struct ServiceNetwork: Sendable, Equatable, Hashable, Codable {
    /// The network's key in the manifest's `networks:`.
    public var key: String
    public var aliases: [String]
    public var ipv4Address: String?

    public init(key: String, aliases: [String] = [], ipv4Address: String? = nil) {
        self.key = key
        self.aliases = aliases
        self.ipv4Address = ipv4Address
    }
}

public struct Dependency: Sendable, Equatable, Hashable, Codable {
    public enum Condition: String, Sendable, Codable {
        case started = "service_started"
        case healthy = "service_healthy"
        case completedSuccessfully = "service_completed_successfully"
    }
    public var service: String
    public var condition: Condition
    /// `required: false` lets the dependent start when the dependency is absent.
    public var required: Bool

    public init(service: String, condition: Condition = .started, required: Bool = true) {
        self.service = service
        self.condition = condition
        self.required = required
    }
}

public struct Healthcheck: Sendable, Equatable, Hashable, Codable {
    /// Docker's form: ["CMD", …], ["CMD-SHELL", "…"], or ["NONE"] when disabled.
    public var test: [String]?
    /// Seconds.
    public var interval: Double?
    public var timeout: Double?
    public var startPeriod: Double?
    public var startInterval: Double?
    public var retries: Int?
    public var disabled: Bool

    public init(
        test: [String]? = nil, interval: Double? = nil, timeout: Double? = nil, startPeriod: Double? = nil,
        startInterval: Double? = nil, retries: Int? = nil, disabled: Bool = false
    ) {
        self.test = test
        self.interval = interval
        self.timeout = timeout
        self.startPeriod = startPeriod
        self.startInterval = startInterval
        self.retries = retries
        self.disabled = disabled
    }
}

public struct ResourceLimits: Sendable, Equatable, Hashable, Codable {
    /// CPUs, e.g. 0.5.
    public var cpus: Double?
    /// Bytes.
    public var memoryBytes: Int64?
    public var pids: Int?

    public init(cpus: Double? = nil, memoryBytes: Int64? = nil, pids: Int? = nil) {
        self.cpus = cpus
        self.memoryBytes = memoryBytes
        self.pids = pids
    }
}

public struct DeviceRequest: Sendable, Equatable, Hashable, Codable {
    public enum Count: Sendable, Equatable, Hashable, Codable {
        case all
        case exactly(Int)
    }
    /// e.g. "nvidia"; nil means the engine's default for the capabilities.
    public var driver: String?
    /// Devices per replica; nil when `deviceIDs` is given.
    public var count: Count?
    /// Explicit device ids; the replica gets exactly these.
    public var deviceIDs: [String]?
    public var capabilities: [String]
    public var options: [String: String]

    public init(
        driver: String? = nil, count: Count? = nil, deviceIDs: [String]? = nil, capabilities: [String] = ["gpu"],
        options: [String: String] = [:]
    ) {
        self.driver = driver
        self.count = count
        self.deviceIDs = deviceIDs
        self.capabilities = capabilities
        self.options = options
    }

    /// True when this request asks for GPUs.
    public var isGPU: Bool { capabilities.contains("gpu") || driver == "nvidia" }
}

public struct UpdatePolicy: Sendable, Equatable, Hashable, Codable {
    public enum Order: String, Sendable, Codable {
        case startFirst = "start-first"
        case stopFirst = "stop-first"
    }
    public enum FailureAction: String, Sendable, Codable {
        case pause, rollback, `continue`
    }
    /// Replicas updated at once; nil lets reconcile choose (half the replicas rounded up; one for GPU services).
    public var parallelism: Int?
    /// Seconds between batches.
    public var delay: Double
    /// nil lets reconcile choose: start-first where possible.
    public var order: Order?
    public var failureAction: FailureAction
    /// Seconds a replica without a healthcheck must stay running to count as healthy.
    public var monitor: Double?

    public init(
        parallelism: Int? = nil, delay: Double = 0, order: Order? = nil, failureAction: FailureAction = .pause,
        monitor: Double? = nil
    ) {
        self.parallelism = parallelism
        self.delay = delay
        self.order = order
        self.failureAction = failureAction
        self.monitor = monitor
    }
}

public struct Ulimit: Sendable, Equatable, Hashable, Codable {
    public var name: String
    public var soft: Int64
    public var hard: Int64

    public init(name: String, soft: Int64, hard: Int64) {
        self.name = name
        self.soft = soft
        self.hard = hard
    }
}

public struct Logging: Sendable, Equatable, Hashable, Codable {
    public var driver: String?
    public var options: [String: String]

    public init(driver: String? = nil, options: [String: String] = [:]) {
        self.driver = driver
        self.options = options
    }
}

/// Per-service `x-reconcile` settings.
public struct ServiceExtensions: Sendable, Equatable, Codable {
    public enum GPUPlacement: String, Sendable, Codable { case distinct, shared }
    public enum GPURequirement: String, Sendable, Codable { case required, optional }

    public var gpuPlacement: GPUPlacement
    public var gpu: GPURequirement
    /// Minimum memory per GPU in bytes (`gpu_memory: 40GiB`), where the inventory knows it.
    public var gpuMemoryBytes: Int64?
    public var validate: ValidationSpec?
    /// `x-reconcile.autoscale`: the replica count follows the measured load; `replicas` is
    /// then only the starting count. Not part of the config hash.
    public var autoscale: AutoscaleSpec?

    public init(
        gpuPlacement: GPUPlacement = .distinct, gpu: GPURequirement = .required, gpuMemoryBytes: Int64? = nil,
        validate: ValidationSpec? = nil, autoscale: AutoscaleSpec? = nil
    ) {
        self.gpuPlacement = gpuPlacement
        self.gpu = gpu
        self.gpuMemoryBytes = gpuMemoryBytes
        self.validate = validate
        self.autoscale = autoscale
    }
}

/// `x-reconcile.validate`: how a rollout of this service is checked after it is healthy.
public struct ValidationSpec: Sendable, Equatable, Codable {
    public enum Mode: String, Sendable, Codable { case job, endpoint }
    public enum OnFailure: String, Sendable, Codable { case rollback, pause, ignore }

    public var mode: Mode
    /// `job`: the image to run (default: the bundled workload image).
    public var image: String?
    /// `job`: arguments for the job container.
    public var command: [String]?
    /// `endpoint`: the container port to drive (default: the first published port).
    public var port: Int?
    public var minAccuracy: Double?
    public var maxError: Double?
    public var maxP99Ms: Double?
    public var minThroughput: Double?
    /// Seconds.
    public var timeout: Double?
    /// `endpoint`: concurrent requests and window length in seconds.
    public var concurrency: Int?
    public var duration: Double?
    /// `endpoint`: the HTTP path requests go to (default: the bundled workload's `/v1/predict`).
    public var path: String?
    /// `endpoint`: the user's requests file (JSON Lines of `{"request": ..., "expect": ...}`),
    /// as an absolute path; nil drives the bundled workload's golden requests.
    public var requests: String?
    /// `endpoint`: a JSON path to the prediction in an answer (default: `$.predictions[0]` for
    /// the bundled workload, the whole answer for a requests file).
    public var prediction: String?
    public var onFailure: OnFailure

    public init(
        mode: Mode, image: String? = nil, command: [String]? = nil, port: Int? = nil, minAccuracy: Double? = nil,
        maxError: Double? = nil, maxP99Ms: Double? = nil, minThroughput: Double? = nil, timeout: Double? = nil,
        concurrency: Int? = nil, duration: Double? = nil, path: String? = nil, requests: String? = nil,
        prediction: String? = nil, onFailure: OnFailure = .rollback
    ) {
        self.mode = mode
        self.image = image
        self.command = command
        self.port = port
        self.minAccuracy = minAccuracy
        self.maxError = maxError
        self.maxP99Ms = maxP99Ms
        self.minThroughput = minThroughput
        self.timeout = timeout
        self.concurrency = concurrency
        self.duration = duration
        self.path = path
        self.requests = requests
        self.prediction = prediction
        self.onFailure = onFailure
    }
}

public struct Network: Sendable, Equatable, Codable {
    /// The key in the manifest.
    public var key: String
    /// The engine-side name: `name:` if given, else "<project>_<key>".
    public var name: String
    /// External networks are used, never created or removed.
    public var external: Bool
    public var driver: String?
    public var driverOpts: [String: String]
    public var labels: [String: String]
    public var `internal`: Bool
    public var attachable: Bool
    public var enableIPv6: Bool
    /// IPAM subnets, e.g. ["172.28.0.0/16"].
    public var subnets: [String]

    public init(
        key: String, name: String, external: Bool = false, driver: String? = nil, driverOpts: [String: String] = [:],
        labels: [String: String] = [:], internal: Bool = false, attachable: Bool = false, enableIPv6: Bool = false,
        subnets: [String] = []
    ) {
        self.key = key
        self.name = name
        self.external = external
        self.driver = driver
        self.driverOpts = driverOpts
        self.labels = labels
        self.internal = `internal`
        self.attachable = attachable
        self.enableIPv6 = enableIPv6
        self.subnets = subnets
    }
}

public struct Volume: Sendable, Equatable, Codable {
    /// The key in the manifest.
    public var key: String
    /// The engine-side name: `name:` if given, else "<project>_<key>".
    public var name: String
    public var external: Bool
    public var driver: String?
    public var driverOpts: [String: String]
    public var labels: [String: String]

    public init(
        key: String, name: String, external: Bool = false, driver: String? = nil, driverOpts: [String: String] = [:],
        labels: [String: String] = [:]
    ) {
        self.key = key
        self.name = name
        self.external = external
        self.driver = driver
        self.driverOpts = driverOpts
        self.labels = labels
    }
}

/// The `deploy` keys of a service that only a Docker Swarm honours.
public struct SwarmDeploy: Sendable, Equatable, Codable {
    /// `mode: global`: one task per node instead of `replicas`.
    public var global: Bool
    /// `placement.constraints`, e.g. "node.role==worker".
    public var constraints: [String]
    /// `placement.preferences[].spread`, e.g. "node.labels.zone".
    public var spreads: [String]
    /// `placement.max_replicas_per_node`.
    public var maxReplicasPerNode: Int?
    /// `endpoint_mode`: vip or dnsrr.
    public var endpointMode: String?
    /// `deploy.labels`: labels of the service itself (not its containers).
    public var labels: [String: String]
    /// `resources.reservations.cpus`.
    public var reservedCPUs: Double?
    /// `resources.reservations.memory` in bytes.
    public var reservedMemoryBytes: Int64?
    /// `resources.reservations.generic_resources` of the discrete kind: kind → count per task.
    public var genericResources: [String: Int64]

    public init(
        global: Bool = false, constraints: [String] = [], spreads: [String] = [], maxReplicasPerNode: Int? = nil,
        endpointMode: String? = nil, labels: [String: String] = [:], reservedCPUs: Double? = nil,
        reservedMemoryBytes: Int64? = nil, genericResources: [String: Int64] = [:]
    ) {
        self.global = global
        self.constraints = constraints
        self.spreads = spreads
        self.maxReplicasPerNode = maxReplicasPerNode
        self.endpointMode = endpointMode
        self.labels = labels
        self.reservedCPUs = reservedCPUs
        self.reservedMemoryBytes = reservedMemoryBytes
        self.genericResources = genericResources
    }
}
