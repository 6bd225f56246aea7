/// A top-level `secrets:` or `configs:` entry: a file's content that services are granted.
///
/// On a single engine there is no secret store: a `file` source is bind-mounted read-only
/// into each container that is granted it, and an `environment` or `content` source is
/// written into the container before it starts, as `docker compose` does. `external`
/// objects live in Docker Swarm's store; the loader refuses a service that uses one.
public struct FileObject: Sendable, Equatable, Codable {
    public enum Source: String, Sendable, Codable {
        case file, environment, content, external
    }

    /// The key in the manifest.
    public var key: String
    /// `name:`, where given: the engine-side name of an external object.
    public var name: String?
    public var source: Source
    /// `file`: the absolute host path. `environment`: the variable's name. Otherwise nil.
    public var reference: String?
    /// The content of an `environment` or `content` source, written into containers. Never
    /// shown, never stored: `maskingSecrets()` drops it before a project goes into history.
    public var content: String?
    /// SHA-256 (hex) of the content (of the file for `file`), so that a change of content
    /// changes the config hash of every replica that uses it. For a secret, history keeps
    /// only its `fingerprint`.
    public var digest: String?

    public init(
        key: String, name: String? = nil, source: Source, reference: String? = nil, content: String? = nil,
        digest: String? = nil
    ) {
        self.key = key
        self.name = name
        self.source = source
        self.reference = reference
        self.content = content
        self.digest = digest
    }

    /// The first four hex digits of a digest: enough to tell, in a plan or between two
    /// revisions, which secret changed; 16 bits are far too few to confirm a guessed value.
    public static func fingerprint(_ digest: String?) -> String? {
        digest.map { String($0.prefix(4)) }
    }
}

/// A service's grant of a secret or config (`secrets:` / `configs:` of a service).
public struct FileGrant: Sendable, Equatable, Hashable, Codable {
    /// The key of the top-level secret or config.
    public var source: String
    /// The absolute path of the file in the container.
    public var target: String
    /// Numeric owner and group of the written file; nil leaves root's.
    public var uid: String?
    public var gid: String?
    /// Permission bits; nil is 0444.
    public var mode: Int?

    public init(source: String, target: String, uid: String? = nil, gid: String? = nil, mode: Int? = nil) {
        self.source = source
        self.target = target
        self.uid = uid
        self.gid = gid
        self.mode = mode
    }

    /// World-readable, as in Compose.
    public static let defaultMode = 0o444
}

/// A granted secret or config as a replica's configuration holds it: where it goes, from
/// where, and the digest of its content (never the content).
public struct MountedFile: Sendable, Equatable, Hashable, Codable {
    /// The key of the top-level secret or config.
    public var name: String
    public var target: String
    /// For a `file` source: the host path, bind-mounted read-only. Otherwise nil: the
    /// content is written into the container before it starts.
    public var hostPath: String?
    public var uid: String?
    public var gid: String?
    public var mode: Int?
    /// SHA-256 of the content; for secrets, only the `FileObject.fingerprint` once masked.
    public var digest: String?

    public init(
        name: String, target: String, hostPath: String? = nil, uid: String? = nil, gid: String? = nil, mode: Int? = nil,
        digest: String? = nil
    ) {
        self.name = name
        self.target = target
        self.hostPath = hostPath
        self.uid = uid
        self.gid = gid
        self.mode = mode
        self.digest = digest
    }

    /// The service's grants resolved against the project's objects, sorted by target; nil
    /// when there are none, so configurations without any keep their encoding.
    static func list(_ grants: [FileGrant]?, _ objects: [FileObject]?) -> [MountedFile]? {
        guard let grants, !grants.isEmpty else { return nil }
        return grants.map { grant in
            let object = objects?.first { $0.key == grant.source }
            return MountedFile(
                name: grant.source, target: grant.target, hostPath: object?.source == .file ? object?.reference : nil,
                uid: grant.uid, gid: grant.gid, mode: grant.mode, digest: object?.digest)
        }.sorted { $0.target < $1.target }
    }
}

extension Project {
    public func secret(key: String) -> FileObject? { secrets?.first { $0.key == key } }
    public func config(key: String) -> FileObject? { configs?.first { $0.key == key } }
}
