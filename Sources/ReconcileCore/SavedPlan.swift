import Foundation

/// A plan written by `reconcile plan --out FILE`, to be carried out later, exactly, by
/// `reconcile apply FILE`, or refused as stale.
///
/// It records what the plan was made from, as digests: the resolved manifest (after
/// interpolation, env files and profiles) and the observed state the planner read. Apply
/// loads the same manifest files again and observes the engine under the project's lock;
/// when either digest differs the plan no longer describes what apply would do, and it is
/// refused with what changed.
///
/// No secret value is stored: the manifest digest is salted (a digest of a short secret
/// could otherwise be guessed offline), the observed state is reduced to names, ids,
/// states and hashes, and the plan's own field changes are masked as everywhere.
public struct SavedPlan: Sendable, Equatable, Codable {
    public static let currentFormat = "reconcile-plan/1"

    public var format: String
    /// The reconcile version that wrote it; a different version may plan differently.
    public var version: String
    /// When it was made, "2026-12-02 03:14:15" UTC.
    public var created: String
    public var manifest: ManifestSource
    public var options: Options
    public var fingerprint: Fingerprint
    /// The observed state as comparable lines (see `ObservedState.fingerprintLines`), so a
    /// refusal can say what changed on the engine.
    public var observed: [String]
    public var plan: Plan

    /// How to load the manifest again: what `-f`, `-p` and `--profile` said.
    public struct ManifestSource: Sendable, Equatable, Codable {
        /// Absolute paths of the files (or folders) given, in order.
        public var files: [String]
        public var projectName: String?
        public var profiles: [String]
        /// The `--gpus` override, when given.
        public var gpus: String?

        public init(files: [String], projectName: String? = nil, profiles: [String] = [], gpus: String? = nil) {
            self.files = files
            self.projectName = projectName
            self.profiles = profiles
            self.gpus = gpus
        }
    }

    public struct Options: Sendable, Equatable, Codable {
        public var prune: Bool
        /// Made against an empty host (`--offline`) or a saved state (`--state`), not the engine.
        public var observedFrom: String
        /// A plan of `reconcile destroy --out`: `apply FILE` removes the project instead of
        /// deploying it (and records no revision).
        public var destroy: DestroyOptions?

        public init(prune: Bool, observedFrom: String, destroy: DestroyOptions? = nil) {
            self.prune = prune
            self.observedFrom = observedFrom
            self.destroy = destroy
        }
    }

    public struct Fingerprint: Sendable, Equatable, Codable {
        /// Random, per file: the manifest digest is SHA-256 of salt and manifest.
        public var salt: String
        public var manifest: String
        public var observed: String

        public init(salt: String, manifest: String, observed: String) {
            self.salt = salt
            self.manifest = manifest
            self.observed = observed
        }
    }

    public init(
        version: String, created: String, manifest: ManifestSource, options: Options, fingerprint: Fingerprint,
        observed: [String], plan: Plan
    ) {
        format = SavedPlan.currentFormat
        self.version = version
        self.created = created
        self.manifest = manifest
        self.options = options
        self.fingerprint = fingerprint
        self.observed = observed
        self.plan = plan
    }

    /// A fresh random salt, hex.
    public static func newSalt() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }.hexString
    }

    /// The salted digest of a resolved project: every value, secrets included, so any
    /// change of the manifest's meaning changes it; the salt keeps the values unguessable.
    public static func manifestDigest(_ project: Project, salt: String) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var hasher = SHA256()
        hasher.update(salt)
        hasher.update(Array(try encoder.encode(project)))
        return hasher.finalize().hexString
    }

    /// The digest of observed lines.
    public static func observedDigest(_ lines: [String]) -> String {
        var hasher = SHA256()
        for line in lines {
            hasher.update(line)
            hasher.update([0x0A])
        }
        return hasher.finalize().hexString
    }

    /// What differs between the lines a plan was made from and the lines observed now, as
    /// phrases: "container demo-api-1: state running → exited, exit (none) → 143",
    /// "network x: appeared".
    public static func changes(from before: [String], to after: [String]) -> [String] {
        /// "kind name k=v k=v": the first two words name the object, the rest are its facts.
        func keyed(_ lines: [String]) -> [String: [String: String]] {
            var out: [String: [String: String]] = [:]
            for line in lines {
                let words = line.split(separator: " ").map(String.init)
                var facts: [String: String] = [:]
                for word in words.dropFirst(2) {
                    let parts = word.split(separator: "=", maxSplits: 1).map(String.init)
                    facts[parts[0]] = parts.count > 1 ? parts[1] : ""
                }
                out[words.prefix(2).joined(separator: " ")] = facts
            }
            return out
        }
        let old = keyed(before)
        let new = keyed(after)
        var out: [String] = []
        for key in Set(old.keys).union(new.keys).sorted() {
            switch (old[key], new[key]) {
            case (nil, _?): out.append("\(key): appeared")
            case (_?, nil): out.append("\(key): gone")
            case (let was?, let now?) where was != now:
                // In the order lines are written: id, state, exit, networks, gpus, …
                let order = ["id", "state", "exit", "networks", "gpus", "network-mode", "ports", "project"]
                let facts = Set(was.keys).union(now.keys).filter { was[$0] != now[$0] }.sorted {
                    (order.firstIndex(of: $0) ?? order.count, $0) < (order.firstIndex(of: $1) ?? order.count, $1)
                }
                let said = facts.map { "\($0) \(was[$0] ?? "(none)") → \(now[$0] ?? "(none)")" }
                out.append("\(key): " + said.joined(separator: ", "))
            default: break
            }
        }
        return out
    }
}

extension ObservedState {
    /// Everything the planner reads, as sorted lines with no secret in them: the project's
    /// containers (id, state, exit code, networks, GPUs; the id stands for the labels,
    /// which never change after creation), GPU holders, networks, volumes, the image ids the
    /// manifest's references resolve to, the GPU inventory, and whether networks and
    /// volumes were listed. Health is left out: the planner does not read it; so is the
    /// project's lock, which apply holds while it observes.
    public func fingerprintLines() -> [String] {
        var lines: [String] = []
        for c in containers {
            var line = "container \(c.name) id=\(c.id) state=\(c.state.rawValue)"
            if let code = c.exitCode { line += " exit=\(code)" }
            if let networks = c.networks { line += " networks=\(networks.sorted().joined(separator: ","))" }
            if !c.gpuDeviceIDs.isEmpty { line += " gpus=\(c.gpuDeviceIDs.joined(separator: ","))" }
            if let mode = c.networkMode { line += " network-mode=\(mode)" }
            if let ports = c.ports, !ports.isEmpty {
                let published = ports.map { "\($0.hostIP ?? ""):\($0.published.map(String.init) ?? ""):\($0.target)/\($0.proto)" }
                line += " ports=\(published.sorted().joined(separator: ","))"
            }
            lines.append(line)
        }
        for n in networks {
            lines.append("network \(n.name) id=\(n.id) project=\(n.labels[LabelKey.project] ?? "-")")
        }
        // The project's lock volume comes and goes with every apply and plans nothing.
        for v in volumes where v.labels[LabelKey.lock] == nil {
            lines.append("volume \(v.name) project=\(v.labels[LabelKey.project] ?? "-")")
        }
        for (reference, id) in images {
            lines.append("image \(reference) id=\(id)")
        }
        if let gpus {
            lines.append("host gpus ids=\(gpus.map(\.id).joined(separator: ","))")
        }
        if let engine { lines.append("host engine platform=\(engine.os)/\(engine.arch) api=\(engine.apiVersion)") }
        if networksListed == true { lines.append("host networks listed") }
        if volumesListed == true { lines.append("host volumes listed") }
        return lines.sorted()
    }
}

/// A saved plan cannot be carried out as it is.
public struct StalePlanError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reasons: [String]

    public init(reasons: [String]) { self.reasons = reasons }

    public var description: String {
        "the saved plan is stale: " + reasons.joined(separator: "; ")
    }
}

/// What `reconcile destroy` was asked to remove beyond containers and networks.
public struct DestroyOptions: Sendable, Equatable, Codable {
    /// `--volumes`: the project's volumes and their data.
    public var volumes: Bool
    /// `--history`: the project's revision history.
    public var history: Bool

    public init(volumes: Bool = false, history: Bool = false) {
        self.volumes = volumes
        self.history = history
    }
}
