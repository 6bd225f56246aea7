/// Every label key reconcile reads or writes, in one place.
///
/// Ownership is decided by these labels only: an object without `project` set to the
/// project's name is never touched.
public enum LabelKey {
    /// The project that owns a container, network or volume.
    public static let project = "io.reconcile.project"
    /// The service a container is a replica of.
    public static let service = "io.reconcile.service"
    /// The replica slot number (1-based) a container fills.
    public static let replica = "io.reconcile.replica"
    /// The hash of everything in the container's configuration that forces a recreate.
    public static let configHash = "io.reconcile.config-hash"
    /// The container's hashed configuration as JSON, secret values masked, so a plan can
    /// name each changed field with its old value without inspecting the container.
    public static let config = "io.reconcile.config"
    /// On a container started next to an old replica during a start-first rollout: its
    /// temporary name. Once renamed to the replica's name it is an ordinary replica; while
    /// its name still equals this value it is the leftover of an unfinished rollout.
    public static let surge = "io.reconcile.surge"
    /// The network or volume key in the manifest.
    public static let resourceKey = "io.reconcile.key"
    /// Marks the engine-side lock object of a project.
    public static let lock = "io.reconcile.lock"
    /// Who holds a lock: "user@host pid N since T".
    public static let lockHolder = "io.reconcile.lock.holder"
    /// The GPU device ids a replica was placed on, comma-separated.
    public static let gpus = "io.reconcile.gpus"
    /// The reconcile version that created the object.
    public static let version = "io.reconcile.version"
    /// On a history volume: the project whose revision it records. Deliberately not
    /// `project`, so the observer and planner never see history as a project volume.
    public static let history = "io.reconcile.history"
    /// On a history volume: the revision number.
    public static let historyRevision = "io.reconcile.history.revision"
    /// On a history volume: the revision record as JSON, secret values masked.
    public static let historyRecord = "io.reconcile.history.record"
    /// On a validation job container: the project it validates. Not `project` either: a
    /// job is never a replica, and the planner must not count or prune it.
    public static let validation = "io.reconcile.validation"
    /// On a GPU probe container (a remote engine's inventory): what it probes, "gpus".
    public static let probe = "io.reconcile.probe"
    /// On a validation job container: the service it validates.
    public static let validationService = "io.reconcile.validation.service"
}

/// Engine-side names derived from the project.
public enum Naming {
    /// "<project>-<service>-<n>": the name of a replica's container.
    public static func containerName(project: String, service: String, replica: Int) -> String {
        "\(project)-\(service)-\(replica)"
    }

    /// The name of a replica's container: `container_name` for a service that sets it (it
    /// has one replica), else "<project>-<service>-<n>".
    public static func containerName(project: String, service: Service, replica: Int) -> String {
        if replica == 1, let name = service.options?.containerName { return name }
        return containerName(project: project, service: service.name, replica: replica)
    }

    /// The temporary name of a start-first surge container for a replica slot.
    public static func surgeName(project: String, service: String, replica: Int) -> String {
        "\(project)-\(service)-\(replica)-next"
    }

    /// "<project>_<key>": Compose's default engine name of a network or volume.
    public static func resourceName(project: String, key: String) -> String {
        "\(project)_\(key)"
    }

    /// Normalises a name to what Compose accepts as a project name: lowercase letters,
    /// digits, dashes and underscores, starting with a letter or digit.
    public static func normalizeProjectName(_ raw: String) -> String {
        let lowered = raw.lowercased()
        var out = ""
        for ch in lowered.unicodeScalars {
            if ("a"..."z").contains(ch) || ("0"..."9").contains(ch) || ch == "-" || ch == "_" {
                out.unicodeScalars.append(ch)
            }
        }
        while let first = out.first, first == "-" || first == "_" { out.removeFirst() }
        return out
    }
}

extension ReplicaConfig {
    /// The labels a replica's container carries: the user's labels, then ours (ours win).
    /// The stored config is masked, so no secret value reaches the engine's labels.
    public func containerLabels(
        project: String, service: Service, replica: Int, hash: String? = nil, key: ConfigHashKey? = nil
    ) -> [String: String] {
        var labels = self.labels
        labels[LabelKey.project] = project
        labels[LabelKey.service] = service.name
        labels[LabelKey.replica] = String(replica)
        labels[LabelKey.configHash] = hash ?? self.hash(key: key)
        labels[LabelKey.config] = masked(secrets: service.secretEnv).canonicalJSON()
        if let ids = devices.compactMap(\.deviceIDs).first, !ids.isEmpty {
            labels[LabelKey.gpus] = ids.joined(separator: ",")
        }
        return labels
    }
}
