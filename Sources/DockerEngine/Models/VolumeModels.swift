/// `Volume`.
public struct Volume: Decodable, Sendable, Equatable {
    public var name: String
    public var driver: String?
    public var mountpoint: String?
    public var createdAt: String?
    public var labels: [String: String]?
    /// `local` or `global`.
    public var scope: String?
    public var options: [String: String]?

    enum CodingKeys: String, CodingKey {
        case name = "Name", driver = "Driver", mountpoint = "Mountpoint", createdAt = "CreatedAt"
        case labels = "Labels", scope = "Scope", options = "Options"
    }
}

/// The body of `POST /volumes/create` (`VolumeCreateOptions`).
public struct VolumeCreateRequest: Encodable, Sendable, Equatable {
    public var name: String
    public var driver: String?
    public var driverOpts: [String: String]?
    public var labels: [String: String]?

    public init(name: String, driver: String? = nil, driverOpts: [String: String]? = nil, labels: [String: String]? = nil) {
        self.name = name
        self.driver = driver
        self.driverOpts = driverOpts
        self.labels = labels
    }

    enum CodingKeys: String, CodingKey { case name = "Name", driver = "Driver", driverOpts = "DriverOpts", labels = "Labels" }
}

/// The answer to `GET /volumes` (`VolumeListResponse`).
struct VolumeListResponse: Decodable {
    var volumes: [Volume]?
    var warnings: [String]?

    enum CodingKeys: String, CodingKey { case volumes = "Volumes", warnings = "Warnings" }
}
