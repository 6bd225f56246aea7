/// What the engine holds, read once per pass. The planner's only view of the host.
///
/// The observer fills it from a single label-filtered container list plus the network and
/// volume lists and an inspect of each image the project names; `reconcile status
/// --output json` writes it and `reconcile plan --state FILE` reads it back.
public struct ObservedState: Sendable, Equatable, Codable {
    /// Containers labelled with the project (and, for GPU placement, foreign containers
    /// that hold GPUs: those have no `io.reconcile.project` label of ours).
    public var containers: [ObservedContainer]
    public var networks: [ObservedNetwork]
    public var volumes: [ObservedVolume]
    /// Image reference → image id, for the references the project uses that exist on the host.
    public var images: [String: String]
    /// The host's GPUs, when known; an empty list is a host without GPUs.
    public var gpus: [GPUDevice]?
    /// Where `gpus` came from ("--gpus", "x-reconcile.gpus", "nvidia-smi", "probe container"),
    /// or why it is unknown; shown by `status` and in planning errors.
    public var gpuSource: String?
    /// True when the volumes were read from an engine (a missing external volume is then an
    /// error); nil in a state without them, such as an offline plan's empty host.
    public var volumesListed: Bool?
    /// True when the networks were read from an engine (a missing external network is then
    /// an error); nil in a state without them, such as an offline plan's empty host.
    public var networksListed: Bool?
    /// The engine's platform and API version, read when the project asks for something that
    /// depends on them (`platform`, `annotations`, `start_interval`); nil otherwise and offline.
    public var engine: ObservedEngine?

    public init(
        containers: [ObservedContainer] = [], networks: [ObservedNetwork] = [], volumes: [ObservedVolume] = [],
        images: [String: String] = [:], gpus: [GPUDevice]? = nil, gpuSource: String? = nil
    ) {
        self.containers = containers
        self.networks = networks
        self.volumes = volumes
        self.images = images
        self.gpus = gpus
        self.gpuSource = gpuSource
    }

    /// An empty host.
    public static let empty = ObservedState()
}

public struct ObservedContainer: Sendable, Equatable, Codable {
    public enum State: String, Sendable, Codable {
        case created, running, paused, restarting, removing, exited, dead
    }
    public enum Health: String, Sendable, Codable {
        case none, starting, healthy, unhealthy
    }

    public var id: String
    /// Without the leading slash.
    public var name: String
    public var labels: [String: String]
    /// The image reference the container was created from.
    public var image: String
    /// The image id (sha256:…) the container runs.
    public var imageID: String
    public var state: State
    public var health: Health
    /// Unix seconds.
    public var created: Int64
    /// GPU device ids the container holds (from `HostConfig.DeviceRequests`).
    public var gpuDeviceIDs: [String]
    /// Exit code when exited.
    public var exitCode: Int?
    /// Engine names of the networks the container is attached to; nil when not observed.
    public var networks: [String]?
    /// Host ports the container publishes (target, published, host IP, protocol); nil when not observed.
    public var ports: [PortMapping]?
    /// The engine's network mode of the container (`container:<id>` for a shared network stack); nil when not observed.
    public var networkMode: String?

    public init(
        id: String, name: String, labels: [String: String], image: String, imageID: String = "",
        state: State = .running, health: Health = .none, created: Int64 = 0, gpuDeviceIDs: [String] = [],
        exitCode: Int? = nil, networks: [String]? = nil
    ) {
        self.id = id
        self.name = name
        self.labels = labels
        self.image = image
        self.imageID = imageID
        self.state = state
        self.health = health
        self.created = created
        self.gpuDeviceIDs = gpuDeviceIDs
        self.exitCode = exitCode
        self.networks = networks
    }

    public var project: String? { labels[LabelKey.project] }
    public var service: String? { labels[LabelKey.service] }
    public var replica: Int? { labels[LabelKey.replica].flatMap { Int($0) } }
    public var configHash: String? { labels[LabelKey.configHash] }
    /// Still under its temporary start-first name: a rollout that did not finish. Once renamed
    /// to the replica's name it is an ordinary replica (labels cannot change after creation).
    public var isSurge: Bool { labels[LabelKey.surge].map { $0 == name } ?? false }
}

public struct ObservedNetwork: Sendable, Equatable, Codable {
    public var id: String
    public var name: String
    public var labels: [String: String]
    public var driver: String

    public init(id: String, name: String, labels: [String: String] = [:], driver: String = "bridge") {
        self.id = id
        self.name = name
        self.labels = labels
        self.driver = driver
    }
}

public struct ObservedVolume: Sendable, Equatable, Codable {
    public var name: String
    public var labels: [String: String]
    public var driver: String

    public init(name: String, labels: [String: String] = [:], driver: String = "local") {
        self.name = name
        self.labels = labels
        self.driver = driver
    }
}
