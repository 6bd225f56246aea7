/// A service's `build:`, resolved by the loader: paths are absolute and the context's
/// content digest is computed, so the planner decides whether to build without I/O.
public struct BuildSpec: Sendable, Equatable, Codable {
    /// The context folder, absolute.
    public var context: String
    /// The Dockerfile's path relative to the context ("Dockerfile" by default); for
    /// `dockerfile_inline`, or a Dockerfile outside the context, the name it is sent under.
    public var dockerfile: String
    /// `dockerfile_inline`, or the content of a Dockerfile outside the context.
    public var dockerfileInline: String?
    public var args: [String: String]
    public var target: String?
    public var labels: [String: String]
    /// Bytes.
    public var shmSize: Int64?
    /// Each "HOST:IP".
    public var extraHosts: [String]
    /// The network RUN instructions use ("host", "none", a network name).
    public var network: String?
    public var noCache: Bool
    public var pull: Bool
    /// Extra tags, `image:` first when the service sets both `image` and `build`.
    public var tags: [String]
    public var cacheFrom: [String]
    /// sha256 hex over the context's files (as `.dockerignore` leaves them), the Dockerfile
    /// and the options that change the image; the content tag is named from it.
    public var digest: String
    /// The tag the built image gets and the service's containers run:
    /// `<project>-<service>:<digest prefix>`.
    public var contentTag: String
    /// Content tags of earlier contexts this machine has digested → the files that differ
    /// from this one (sorted), so a plan can say what changed. Not encoded: it describes
    /// this machine's cache, not the build, and must not move history's digests.
    public var changedSince: [String: [String]] = [:]

    enum CodingKeys: String, CodingKey {
        case context, dockerfile, dockerfileInline, args, target, labels, shmSize, extraHosts, network, noCache, pull, tags,
            cacheFrom, digest, contentTag
    }

    public init(
        context: String, dockerfile: String = "Dockerfile", dockerfileInline: String? = nil, args: [String: String] = [:],
        target: String? = nil, labels: [String: String] = [:], shmSize: Int64? = nil, extraHosts: [String] = [],
        network: String? = nil, noCache: Bool = false, pull: Bool = false, tags: [String] = [], cacheFrom: [String] = [],
        digest: String = "", contentTag: String = "", changedSince: [String: [String]] = [:]
    ) {
        self.context = context
        self.dockerfile = dockerfile
        self.dockerfileInline = dockerfileInline
        self.args = args
        self.target = target
        self.labels = labels
        self.shmSize = shmSize
        self.extraHosts = extraHosts
        self.network = network
        self.noCache = noCache
        self.pull = pull
        self.tags = tags
        self.cacheFrom = cacheFrom
        self.digest = digest
        self.contentTag = contentTag
        self.changedSince = changedSince
    }

    /// Characters of the digest in the content tag.
    public static let tagDigestLength = 12

    /// `<project>-<service>:<digest prefix>`.
    public static func contentTag(project: String, service: String, digest: String) -> String {
        "\(project)-\(service):\(digest.prefix(tagDigestLength))"
    }
}
