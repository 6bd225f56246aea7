/// `Network`: the answer to `GET /networks/{id}` and an item of `GET /networks`.
public struct Network: Decodable, Sendable, Equatable {
    public var name: String
    public var id: String
    public var created: String?
    /// `local` or `swarm`.
    public var scope: String?
    public var driver: String?
    public var enableIPv6: Bool?
    public var ipam: IPAM?
    public var `internal`: Bool?
    public var attachable: Bool?
    /// Container ID → its endpoint on this network (inspect only; empty in lists).
    public var containers: [String: NetworkContainer]?
    public var options: [String: String]?
    public var labels: [String: String]?

    enum CodingKeys: String, CodingKey {
        case name = "Name", id = "Id", created = "Created", scope = "Scope", driver = "Driver"
        case enableIPv6 = "EnableIPv6", ipam = "IPAM", `internal` = "Internal", attachable = "Attachable"
        case containers = "Containers", options = "Options", labels = "Labels"
    }
}

/// `IPAM`: a network's address management.
public struct IPAM: Codable, Sendable, Equatable {
    public var driver: String?
    public var config: [IPAMConfig]?
    public var options: [String: String]?

    public init(driver: String? = nil, config: [IPAMConfig]? = nil, options: [String: String]? = nil) {
        self.driver = driver
        self.config = config
        self.options = options
    }

    enum CodingKeys: String, CodingKey { case driver = "Driver", config = "Config", options = "Options" }
}

/// `IPAMConfig`: one address pool of a network.
public struct IPAMConfig: Codable, Sendable, Equatable {
    public var subnet: String?
    public var ipRange: String?
    public var gateway: String?

    public init(subnet: String? = nil, ipRange: String? = nil, gateway: String? = nil) {
        self.subnet = subnet
        self.ipRange = ipRange
        self.gateway = gateway
    }

    enum CodingKeys: String, CodingKey { case subnet = "Subnet", ipRange = "IPRange", gateway = "Gateway" }
}

/// `NetworkContainer`: a container's endpoint as the network reports it.
public struct NetworkContainer: Decodable, Sendable, Equatable {
    public var name: String?
    public var endpointID: String?
    public var macAddress: String?
    public var ipv4Address: String?
    public var ipv6Address: String?

    enum CodingKeys: String, CodingKey {
        case name = "Name", endpointID = "EndpointID", macAddress = "MacAddress", ipv4Address = "IPv4Address"
        case ipv6Address = "IPv6Address"
    }
}

/// The body of `POST /networks/create`.
public struct NetworkCreateRequest: Encodable, Sendable, Equatable {
    public var name: String
    /// Refuse a second network of the same name (the engine otherwise allows duplicates).
    public var checkDuplicate: Bool
    public var driver: String?
    public var `internal`: Bool?
    public var attachable: Bool?
    public var ipam: IPAM?
    public var enableIPv6: Bool?
    public var options: [String: String]?
    public var labels: [String: String]?

    public init(
        name: String, checkDuplicate: Bool = true, driver: String? = nil, internal: Bool? = nil,
        attachable: Bool? = nil, ipam: IPAM? = nil, enableIPv6: Bool? = nil, options: [String: String]? = nil,
        labels: [String: String]? = nil
    ) {
        self.name = name
        self.checkDuplicate = checkDuplicate
        self.driver = driver
        self.internal = `internal`
        self.attachable = attachable
        self.ipam = ipam
        self.enableIPv6 = enableIPv6
        self.options = options
        self.labels = labels
    }

    enum CodingKeys: String, CodingKey {
        case name = "Name", checkDuplicate = "CheckDuplicate", driver = "Driver", `internal` = "Internal"
        case attachable = "Attachable", ipam = "IPAM", enableIPv6 = "EnableIPv6", options = "Options"
        case labels = "Labels"
    }
}

/// The answer to `POST /networks/create`.
public struct NetworkCreateResponse: Decodable, Sendable, Equatable {
    public var id: String
    public var warning: String?

    enum CodingKeys: String, CodingKey { case id = "Id", warning = "Warning" }
}
