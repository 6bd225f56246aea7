/// Swarm cluster types of the Engine API: the swarm itself, its nodes, secrets and configs.

/// The answer to `GET /swarm` (managers only): the cluster's id and join tokens are left out.
public struct SwarmInfo: Decodable, Sendable, Equatable {
    public var id: String
    public var createdAt: String?

    public init(id: String, createdAt: String? = nil) {
        self.id = id
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey { case id = "ID", createdAt = "CreatedAt" }
}

/// `Node`: an item of `GET /nodes`.
public struct SwarmNode: Decodable, Sendable, Equatable {
    public var id: String
    public var spec: Spec?
    public var description: Description?
    public var status: Status?
    public var managerStatus: ManagerStatus?

    public init(id: String, hostname: String, role: String = "worker", availability: String = "active", state: String = "ready",
                addr: String? = nil, genericResources: [GenericResource] = [], leader: Bool = false) {
        self.id = id
        self.spec = Spec(role: role, availability: availability)
        self.description = Description(hostname: hostname, resources: .init(genericResources: genericResources))
        self.status = Status(state: state, addr: addr)
        self.managerStatus = role == "manager" ? ManagerStatus(leader: leader, reachability: "reachable") : nil
    }

    /// The node's name as `docker node ls` shows it.
    public var hostname: String { description?.hostname ?? id }

    public struct Spec: Decodable, Sendable, Equatable {
        public var role: String?
        /// `active`, `pause` or `drain`.
        public var availability: String?
        public var labels: [String: String]?
        enum CodingKeys: String, CodingKey { case role = "Role", availability = "Availability", labels = "Labels" }
        init(role: String?, availability: String?) { self.role = role; self.availability = availability }
    }

    public struct Description: Decodable, Sendable, Equatable {
        public var hostname: String?
        public var resources: Resources?
        enum CodingKeys: String, CodingKey { case hostname = "Hostname", resources = "Resources" }
        init(hostname: String?, resources: Resources?) { self.hostname = hostname; self.resources = resources }

        public struct Resources: Decodable, Sendable, Equatable {
            public var nanoCPUs: Int64?
            public var memoryBytes: Int64?
            public var genericResources: [GenericResource]?
            enum CodingKeys: String, CodingKey { case nanoCPUs = "NanoCPUs", memoryBytes = "MemoryBytes", genericResources = "GenericResources" }
            init(genericResources: [GenericResource]?) { self.genericResources = genericResources }
        }
    }

    public struct Status: Decodable, Sendable, Equatable {
        /// `unknown`, `down`, `ready` or `disconnected`.
        public var state: String
        public var message: String?
        public var addr: String?
        enum CodingKeys: String, CodingKey { case state = "State", message = "Message", addr = "Addr" }
        init(state: String, addr: String?) { self.state = state; self.addr = addr }
    }

    public struct ManagerStatus: Decodable, Sendable, Equatable {
        public var leader: Bool?
        public var reachability: String?
        enum CodingKeys: String, CodingKey { case leader = "Leader", reachability = "Reachability" }
    }

    enum CodingKeys: String, CodingKey {
        case id = "ID", spec = "Spec", description = "Description", status = "Status", managerStatus = "ManagerStatus"
    }
}

/// A secret or config as listed (`GET /secrets`, `GET /configs`); the data is never returned.
public struct SwarmFileObject: Decodable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var labels: [String: String]

    public init(id: String, name: String, labels: [String: String] = [:]) {
        self.id = id
        self.name = name
        self.labels = labels
    }

    enum CodingKeys: String, CodingKey { case id = "ID", spec = "Spec" }
    enum SpecKeys: String, CodingKey { case name = "Name", labels = "Labels" }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        let spec = try container.nestedContainer(keyedBy: SpecKeys.self, forKey: .spec)
        name = try spec.decode(String.self, forKey: .name)
        labels = try spec.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
    }
}

/// The body of `POST /secrets/create` and `POST /configs/create`: `data` is base64.
public struct SwarmFileObjectSpec: Encodable, Sendable, Equatable {
    public var name: String
    public var labels: [String: String]
    public var data: String

    public init(name: String, labels: [String: String], data: [UInt8]) {
        self.name = name
        self.labels = labels
        self.data = Data(data).base64EncodedString()
    }

    enum CodingKeys: String, CodingKey { case name = "Name", labels = "Labels", data = "Data" }
}

/// The answer to `POST /secrets/create` and `POST /configs/create`.
public struct SwarmObjectCreateResponse: Decodable, Sendable, Equatable {
    public var id: String
    enum CodingKeys: String, CodingKey { case id = "ID" }
}

import Foundation
