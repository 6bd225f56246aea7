/// The answer to `GET /version` (`SystemVersion`).
public struct SystemVersion: Decodable, Sendable, Equatable {
    public var version: String
    public var apiVersion: String
    public var minAPIVersion: String?
    public var gitCommit: String?
    public var goVersion: String?
    public var os: String?
    public var arch: String?
    public var kernelVersion: String?

    enum CodingKeys: String, CodingKey {
        case version = "Version", apiVersion = "ApiVersion", minAPIVersion = "MinAPIVersion"
        case gitCommit = "GitCommit", goVersion = "GoVersion", os = "Os", arch = "Arch"
        case kernelVersion = "KernelVersion"
    }
}

/// The answer to `GET /info` (`SystemInfo`), the fields reconcile reads.
public struct SystemInfo: Decodable, Sendable, Equatable {
    public var id: String?
    public var name: String?
    public var serverVersion: String?
    public var operatingSystem: String?
    public var osType: String?
    public var architecture: String?
    public var ncpu: Int?
    public var memTotal: Int64?
    public var driver: String?
    public var containers: Int?
    public var containersRunning: Int?
    public var images: Int?
    public var defaultRuntime: String?
    /// Runtime name → its path.
    public var runtimes: [String: Runtime]?
    public var cgroupDriver: String?
    public var cgroupVersion: String?
    public var labels: [String]?
    public var warnings: [String]?

    public struct Runtime: Decodable, Sendable, Equatable {
        public var path: String?
        enum CodingKeys: String, CodingKey { case path }
    }

    enum CodingKeys: String, CodingKey {
        case id = "ID", name = "Name", serverVersion = "ServerVersion", operatingSystem = "OperatingSystem"
        case osType = "OSType", architecture = "Architecture", ncpu = "NCPU", memTotal = "MemTotal"
        case driver = "Driver", containers = "Containers", containersRunning = "ContainersRunning"
        case images = "Images", defaultRuntime = "DefaultRuntime", runtimes = "Runtimes"
        case cgroupDriver = "CgroupDriver", cgroupVersion = "CgroupVersion", labels = "Labels"
        case warnings = "Warnings"
    }
}

/// One item of `GET /events` (`EventMessage`).
public struct DockerEvent: Decodable, Sendable, Equatable {
    /// `container`, `network`, `volume`, `image`, `daemon`, …
    public var type: String
    /// `create`, `start`, `die`, `destroy`, `health_status: healthy`, `connect`, …
    public var action: String
    public var actor: Actor
    /// `local` or `swarm`.
    public var scope: String?
    /// Unix seconds.
    public var time: Int64?
    public var timeNano: Int64?

    /// `EventActor`: the object the event is about.
    public struct Actor: Decodable, Sendable, Equatable {
        public var id: String
        /// Labels and details such as `name` and `image`.
        public var attributes: [String: String]

        enum CodingKeys: String, CodingKey { case id = "ID", attributes = "Attributes" }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            id = try c.decodeIfPresent(String.self, forKey: .id) ?? ""
            attributes = try c.decodeIfPresent([String: String].self, forKey: .attributes) ?? [:]
        }
    }

    enum CodingKeys: String, CodingKey {
        case type = "Type", action = "Action", actor = "Actor", scope = "scope", time = "time", timeNano = "timeNano"
    }
}
