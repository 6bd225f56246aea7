import Foundation

/// One deployment of a project, as history keeps it: what was asked for (secret values
/// masked), what it ran (image ids, config hashes, GPUs), how validation went, and how it
/// ended. Enough to show, compare and re-apply it; never a secret value.
public struct Revision: Sendable, Equatable, Codable {
    public enum Outcome: String, Sendable, Codable {
        /// Deployed and, where declared, validated.
        case applied
        /// Deployed, failed validation, and the previous revision was put back.
        case rolledBack = "rolled-back"
        /// Deployed but did not converge or failed validation, and was left in place.
        case failed
    }

    /// Per service: what ran.
    public struct ServiceRecord: Sendable, Equatable, Codable {
        public var name: String
        /// The image reference of the manifest.
        public var image: String
        /// The image id (sha256:…) the replicas ran; "" when it was not on the host.
        public var imageID: String
        public var configHash: String
        public var replicas: Int
        /// Replica number (as a string, for stable JSON) to the GPU ids it held.
        public var gpus: [String: [String]]

        public init(name: String, image: String, imageID: String, configHash: String, replicas: Int, gpus: [String: [String]] = [:]) {
            self.name = name
            self.image = image
            self.imageID = imageID
            self.configHash = configHash
            self.replicas = replicas
            self.gpus = gpus
        }
    }

    public var number: Int
    public var project: String
    /// Unix seconds.
    public var time: Double
    public var user: String
    public var host: String
    /// What made it: "apply", "rollback to 3", "controller".
    public var command: String
    /// SHA-256 of the masked desired state: equal digests, equal manifests (up to secret values).
    public var manifestDigest: String
    public var services: [ServiceRecord]
    public var validations: [ServiceValidation]
    public var outcome: Outcome
    /// Why it failed or was rolled back, in one sentence.
    public var message: String?
    /// The revision this one re-applied (`reconcile rollback`).
    public var rollbackOf: Int?
    /// For `rolled-back`: the revision that was put back, and how its validation went.
    public var restored: Int?
    public var restoredValidations: [ServiceValidation]?
    /// The desired state, secret values replaced by `(sensitive)`, images as written.
    public var desired: Project

    public init(
        number: Int, project: String, time: Double, user: String, host: String, command: String, services: [ServiceRecord],
        validations: [ServiceValidation] = [], outcome: Outcome, message: String? = nil, rollbackOf: Int? = nil,
        restored: Int? = nil, restoredValidations: [ServiceValidation]? = nil, desired: Project
    ) {
        self.number = number
        self.project = project
        self.time = time
        self.user = user
        self.host = host
        self.command = command
        self.desired = desired.maskingSecrets().unpinned()
        self.manifestDigest = Revision.digest(of: desired)
        self.services = services.sorted { $0.name < $1.name }
        self.validations = validations
        self.outcome = outcome
        self.message = message
        self.rollbackOf = rollbackOf
        self.restored = restored
        self.restoredValidations = restoredValidations
    }

    /// The digest of a desired state with secret values masked: the same manifest gives the
    /// same digest, whatever its secret values are.
    public static func digest(of project: Project) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(project.maskingSecrets().unpinned())) ?? Data()
        return "sha256:" + SHA256.hex(data)
    }

    /// The revision in force: the newest one that was applied (a rolled-back or failed one
    /// is not what runs, or not what should).
    public static func current(_ revisions: [Revision]) -> Revision? {
        revisions.max { a, b in (a.outcome == .applied ? a.number : -1) < (b.outcome == .applied ? b.number : -1) }
            .flatMap { $0.outcome == .applied ? $0 : nil }
    }

    /// The GPUs each replica ran on, as `PlanOptions.preferredGPUs` takes them.
    public var gpuPlacement: [String: [Int: [String]]] {
        var out: [String: [Int: [String]]] = [:]
        for service in services where !service.gpus.isEmpty {
            out[service.name] = Dictionary(uniqueKeysWithValues: service.gpus.compactMap { key, ids in Int(key).map { ($0, ids) } })
        }
        return out
    }

    public func service(named name: String) -> ServiceRecord? { services.first { $0.name == name } }

    /// Compact JSON, as stored.
    public func encoded() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    public static func decode(_ text: String) throws -> Revision {
        try JSONDecoder().decode(Revision.self, from: Data(text.utf8))
    }
}

extension Project {
    /// A copy whose secret environment values read `(sensitive)`, without the content of
    /// secrets and configs, and with only the fingerprint of a secret's digest.
    public func maskingSecrets() -> Project {
        var copy = self
        for index in copy.services.indices {
            for name in copy.services[index].secretEnv where copy.services[index].environment[name] != nil {
                copy.services[index].environment[name] = ReplicaConfig.sensitive
            }
        }
        copy.secrets = secrets?.map { object in
            var object = object
            object.content = nil
            object.digest = FileObject.fingerprint(object.digest)
            return object
        }
        copy.configs = configs?.map { object in
            var object = object
            object.content = nil
            return object
        }
        return copy
    }

    /// A copy without pinned image ids: the state as a manifest would write it.
    public func unpinned() -> Project {
        var copy = self
        for index in copy.services.indices { copy.services[index].pinnedImageID = nil }
        return copy
    }

    /// This state (read from history, secrets masked) with the secret values taken from
    /// `source` (the manifest at hand), and each service's image pinned to the id it ran.
    /// Throws `MissingSecrets` naming every secret that `source` does not have.
    public func restoring(secretsFrom source: Project?, pinning records: [Revision.ServiceRecord]) throws -> Project {
        var copy = self
        var missing: [String] = []
        for index in copy.services.indices {
            let name = copy.services[index].name
            for variable in copy.services[index].secretEnv where copy.services[index].environment[variable] != nil {
                if let value = source?.service(named: name)?.environment[variable] {
                    copy.services[index].environment[variable] = value
                } else {
                    missing.append("\(name).environment.\(variable)")
                }
            }
            if let record = records.first(where: { $0.name == name }), !record.imageID.isEmpty {
                copy.services[index].pinnedImageID = record.imageID
            }
        }
        // History keeps neither the content of secrets and configs nor a secret's digest:
        // both come from the manifest at hand, for the objects some service uses.
        let usedSecrets = Set(copy.services.flatMap { $0.secrets ?? [] }.map(\.source))
        let usedConfigs = Set(copy.services.flatMap { $0.configs ?? [] }.map(\.source))
        copy.secrets = Self.restoring(secrets, from: source?.secrets, used: usedSecrets, kind: "secrets", missing: &missing)
        copy.configs = Self.restoring(configs, from: source?.configs, used: usedConfigs, kind: "configs", missing: &missing)
        if !missing.isEmpty { throw MissingSecrets(variables: missing) }
        return copy
    }
}

extension Project {
    fileprivate static func restoring(
        _ objects: [FileObject]?, from source: [FileObject]?, used: Set<String>, kind: String, missing: inout [String]
    ) -> [FileObject]? {
        objects?.map { object in
            guard used.contains(object.key), object.source != .external else { return object }
            guard let atHand = source?.first(where: { $0.key == object.key }), atHand.source == object.source,
                  atHand.source != .file || atHand.reference == object.reference
            else {
                missing.append("\(kind).\(object.key)")
                return object
            }
            var restored = object
            restored.content = atHand.content
            restored.digest = atHand.digest
            return restored
        }
    }
}

/// Secret values a revision needs and history does not keep.
public struct MissingSecrets: Error, Sendable, CustomStringConvertible {
    public var variables: [String]
    public var description: String {
        "history keeps no secret values, and the manifest at hand has none for \(variables.joined(separator: ", ")): pass -f with a manifest (or environment) that sets them"
    }
}

/// How one service's validation went: one run per replica (endpoint) or per distinct GPU
/// set (job).
public struct ServiceValidation: Sendable, Equatable, Codable {
    public struct Check: Sendable, Equatable, Codable {
        public var name: String
        public var threshold: Double
        public var value: Double
        public var passed: Bool

        public init(name: String, threshold: Double, value: Double, passed: Bool) {
            self.name = name
            self.threshold = threshold
            self.value = value
            self.passed = passed
        }
    }

    public struct Run: Sendable, Equatable, Codable {
        /// "replica 2", "job on GPUs 0,1", "job on CPU".
        public var target: String
        public var gpus: [String]
        public var passed: Bool
        public var checks: [Check]
        /// Figures measured: accuracy, p50_ms, p99_ms, requests_per_second, rows_per_second, errors, …
        public var figures: [String: Double]
        /// Why it did not pass, when it did not: the check, or the last lines of the job's log.
        public var message: String?
        public var device: String?

        public init(
            target: String, gpus: [String] = [], passed: Bool, checks: [Check] = [], figures: [String: Double] = [:],
            message: String? = nil, device: String? = nil
        ) {
            self.target = target
            self.gpus = gpus
            self.passed = passed
            self.checks = checks
            self.figures = figures
            self.message = message
            self.device = device
        }
    }

    public var service: String
    public var mode: ValidationSpec.Mode
    public var passed: Bool
    public var seconds: Double
    public var runs: [Run]
    public var onFailure: ValidationSpec.OnFailure

    public init(service: String, mode: ValidationSpec.Mode, seconds: Double, runs: [Run], onFailure: ValidationSpec.OnFailure) {
        self.service = service
        self.mode = mode
        self.passed = !runs.isEmpty && runs.allSatisfy(\.passed)
        self.seconds = seconds
        self.runs = runs
        self.onFailure = onFailure
    }

    /// The first reason it failed, for one-line summaries.
    public var failure: String? {
        guard !passed else { return nil }
        guard let run = runs.first(where: { !$0.passed }) else { return "no replica was running to validate" }
        if let check = run.checks.first(where: { !$0.passed }) {
            return "\(run.target): \(check.name) \(RevisionText.number(check.value)) against \(RevisionText.number(check.threshold))"
        }
        // One line: the last line of a log says most (the error a job exited with).
        let lines = (run.message ?? "failed").split(separator: "\n")
        let head = lines.first.map { $0.hasSuffix(":") ? String($0.dropLast()) : String($0) } ?? "failed"
        let line = lines.count > 1 ? "\(head): \(lines[lines.count - 1])" : head
        return "\(run.target): \(line.prefix(400))"
    }
}
