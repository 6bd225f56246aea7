import Crypto

/// A compact, unambiguous byte encoding of a `ReplicaConfig`, hashed with SHA-256.
///
/// Written by hand rather than through `JSONEncoder` because the planner hashes every
/// service on every pass and the encoder dominated planning time. Fields come in a
/// fixed order, optional values carry a presence byte, optional blocks a marker byte, and
/// every variable-length value is length-prefixed, so two different configs never encode to the same bytes. A test changes each stored property in turn and checks the hash moves,
/// so a new field cannot be forgotten here silently.
struct CanonicalWriter {
    var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(1024) }

    /// Fields are written in a fixed order, so the name is documentation only: writing it
    /// would only lengthen what SHA-256 has to digest.
    mutating func tag(_ name: StaticString) {}

    mutating func raw(_ string: String) {
        let utf8 = string.utf8
        int(utf8.count)
        bytes.append(contentsOf: utf8)
    }

    /// LEB128 of the zigzag encoding: small numbers, small bytes.
    mutating func int(_ value: Int) {
        var v = UInt64(bitPattern: Int64((value << 1) ^ (value >> 63)))
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func string(_ name: StaticString, _ value: String?) {
        tag(name)
        if let value { bytes.append(1); raw(value) } else { bytes.append(0) }
    }

    mutating func int(_ name: StaticString, _ value: Int?) {
        tag(name)
        if let value { bytes.append(1); int(value) } else { bytes.append(0) }
    }

    mutating func int64(_ name: StaticString, _ value: Int64?) { int(name, value.map { Int($0) }) }

    mutating func double(_ name: StaticString, _ value: Double?) {
        tag(name)
        if let value { bytes.append(1); int(Int(truncatingIfNeeded: value.bitPattern)) } else { bytes.append(0) }
    }

    mutating func bool(_ name: StaticString, _ value: Bool?) {
        tag(name)
        bytes.append(value == nil ? 0 : value == true ? 2 : 1)
    }

    mutating func strings(_ name: StaticString, _ values: [String]?) {
        tag(name)
        guard let values else { bytes.append(0); return }
        bytes.append(1)
        int(values.count)
        for value in values { raw(value) }
    }

    mutating func map(_ name: StaticString, _ values: [String: String]) {
        tag(name)
        int(values.count)
        for key in values.keys.sorted() {
            raw(key)
            raw(values[key] ?? "")
        }
    }

    mutating func list<T>(_ name: StaticString, _ values: [T], _ each: (inout CanonicalWriter, T) -> Void) {
        tag(name)
        int(values.count)
        for value in values { each(&self, value) }
    }
}

/// The per-project key of the config hash (docs/security.md). The hash covers secret values,
/// so that a new secret recreates its replicas; keyed, it tells nobody who reads the labels
/// whether a guessed secret is the right one, and equal secrets in two projects give
/// different labels.
///
/// `secret` is the content of the project's key file (ReconcileManifest reads or creates it);
/// the key is HMAC-SHA256(secret, project name), so one key file shared by several projects
/// still gives each its own key. Never encoded, logged or printed.
public struct ConfigHashKey: Sendable, Equatable, CustomStringConvertible {
    let key: SymmetricKey

    public init(secret: [UInt8], project: String) {
        let derived = HMAC<Crypto.SHA256>.authenticationCode(
            for: Array("reconcile config-hash v1\u{0}\(project)".utf8), using: SymmetricKey(data: secret))
        key = SymmetricKey(data: Array(derived))
    }

    public static func == (a: ConfigHashKey, b: ConfigHashKey) -> Bool {
        a.key.withUnsafeBytes { x in b.key.withUnsafeBytes { y in x.elementsEqual(y) } }
    }

    public var description: String { "ConfigHashKey(redacted)" }

    func mac(_ bytes: [UInt8]) -> String {
        Array(HMAC<Crypto.SHA256>.authenticationCode(for: bytes, using: key)).hexString
    }
}

extension ReplicaConfig {
    /// The unkeyed config hash: SHA-256 of the canonical encoding, secret values included so
    /// that changing a secret recreates the replica. What labels held before hashes were
    /// keyed, and what a project without a key (one built in code) still uses.
    public func hash() -> String { Self.digest(encoding(legacy: false)) }

    /// The config hash stored in `io.reconcile.config-hash`: HMAC-SHA256 of the canonical
    /// encoding under the project's key; the plain hash when there is no key.
    public func hash(key: ConfigHashKey?) -> String {
        guard let key else { return hash() }
        return key.mac(encoding(legacy: false))
    }

    /// The hash an earlier encoding gave this configuration, when it differs from `hash()`:
    /// that encoding wrote the healthcheck and logging blocks without a presence marker, so
    /// a container labelled with it has this very configuration and must not be recreated
    /// by an upgrade. Nil when the hashes agree or the configuration uses fields that
    /// encoding did not know.
    public func legacyHash() -> String? {
        guard healthcheck != nil || logging != nil, options == nil, !ports.contains(where: { $0.publishedEnd != nil }) else { return nil }
        return Self.digest(encoding(legacy: true))
    }

    /// Marks an optional block as present. Every field that can follow an optional block
    /// starts with a byte below 0x80 and a presence byte (0, 1 or 2) or a count, never 0xFF.
    private static let presentBlock: UInt8 = 0xFF

    private static func digest(_ bytes: [UInt8]) -> String {
        var hasher = SHA256()
        bytes.withUnsafeBufferPointer { hasher.update($0) }
        return hasher.finalize().hexString
    }

    private func encoding(legacy: Bool) -> [UInt8] {
        var w = CanonicalWriter()
        w.string("image", image)
        w.strings("command", command)
        w.strings("entrypoint", entrypoint)
        w.map("environment", environment)
        w.list("ports", ports) { w, p in
            w.int("target", p.target)
            w.int("published", p.published)
            w.string("host_ip", p.hostIP)
            w.string("protocol", p.proto)
            if let end = p.publishedEnd {
                // Only for a range, after a marker no port field starts with.
                w.bytes.append(0xFF)
                w.int(end)
            }
        }
        w.strings("expose", expose)
        w.list("mounts", mounts) { w, m in
            w.string("type", m.type.rawValue)
            w.string("source", m.source)
            w.string("target", m.target)
            w.bool("read_only", m.readOnly)
        }
        w.list("networks", networks) { w, n in
            w.string("name", n.key)
            w.strings("aliases", n.aliases)
            w.string("ipv4", n.ipv4Address)
        }
        w.tag("healthcheck")
        if let h = healthcheck {
            if !legacy { w.bytes.append(Self.presentBlock) }
            w.strings("test", h.test)
            w.double("interval", h.interval)
            w.double("timeout", h.timeout)
            w.double("start_period", h.startPeriod)
            w.double("start_interval", h.startInterval)
            w.int("retries", h.retries)
            w.bool("disable", h.disabled)
        }
        w.string("restart", restart)
        w.map("labels", labels)
        w.string("working_dir", workingDir)
        w.string("user", user)
        w.string("stop_signal", stopSignal)
        w.double("stop_grace_period", stopGracePeriod)
        w.double("cpus", limits.cpus)
        w.int64("memory", limits.memoryBytes)
        w.int("pids", limits.pids)
        w.list("devices", devices) { w, d in
            w.string("driver", d.driver)
            switch d.count {
            case .none: w.int("count", nil)
            case .all: w.int("count", -1)
            case .exactly(let n): w.int("count", n)
            }
            w.strings("device_ids", d.deviceIDs)
            w.strings("capabilities", d.capabilities)
            w.map("options", d.options)
        }
        w.bool("init", initProcess)
        w.int64("shm_size", shmSize)
        w.string("ipc", ipc)
        w.list("ulimits", ulimits) { w, u in
            w.string("name", u.name)
            w.int64("soft", u.soft)
            w.int64("hard", u.hard)
        }
        w.strings("tmpfs", tmpfs)
        w.strings("extra_hosts", extraHosts)
        w.string("hostname", hostname)
        w.strings("cap_add", capAdd)
        w.strings("cap_drop", capDrop)
        w.tag("logging")
        if let logging {
            if !legacy { w.bytes.append(Self.presentBlock) }
            w.string("driver", logging.driver)
            w.map("options", logging.options)
        }
        w.string("runtime", runtime)
        // Fields added since are written after everything else and only when set, so a
        // configuration that does not use them keeps the hash it always had: secrets and
        // configs under their own name, then the container options after a marker.
        if let secrets { w.mountedFiles("secrets", secrets) }
        if let configs { w.mountedFiles("configs", configs) }
        if let options, !options.isEmpty {
            w.bytes.append(Self.presentBlock)
            options.write(into: &w)
        }
        return w.bytes
    }
}

extension CanonicalWriter {
    /// A marker naming the field, then the files; the content counts through its digest.
    mutating func mountedFiles(_ name: String, _ files: [MountedFile]) {
        raw(name)
        list("files", files) { w, f in
            w.string("name", f.name)
            w.string("target", f.target)
            w.string("host_path", f.hostPath)
            w.string("uid", f.uid)
            w.string("gid", f.gid)
            w.int("mode", f.mode)
            w.string("digest", f.digest)
        }
    }
}
