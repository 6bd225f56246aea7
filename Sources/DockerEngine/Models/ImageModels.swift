/// An item of `GET /images/json` (`ImageSummary`).
public struct ImageSummary: Decodable, Sendable, Equatable {
    public var id: String
    public var parentId: String?
    public var repoTags: [String]?
    public var repoDigests: [String]?
    /// Unix seconds.
    public var created: Int64?
    public var size: Int64?
    public var labels: [String: String]?

    enum CodingKeys: String, CodingKey {
        case id = "Id", parentId = "ParentId", repoTags = "RepoTags", repoDigests = "RepoDigests"
        case created = "Created", size = "Size", labels = "Labels"
    }
}

/// The answer to `GET /images/{name}/json` (`ImageInspect`).
public struct ImageInspect: Decodable, Sendable, Equatable {
    /// `sha256:…`
    public var id: String
    public var repoTags: [String]?
    public var repoDigests: [String]?
    public var created: String?
    public var architecture: String?
    public var os: String?
    public var size: Int64?
    /// The image's defaults (Cmd, Entrypoint, Env, ExposedPorts, Healthcheck, Labels, …).
    public var config: ContainerConfig?

    enum CodingKeys: String, CodingKey {
        case id = "Id", repoTags = "RepoTags", repoDigests = "RepoDigests", created = "Created"
        case architecture = "Architecture", os = "Os", size = "Size", config = "Config"
    }
}
