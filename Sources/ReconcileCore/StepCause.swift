/// Why the planner planned a step: typed, so views, tests and scripts read the decision
/// itself, and the sentence a person reads (`PlanStep.reason`) is only its rendering.
/// Nothing branches on the sentence.
public enum StepCause: Sendable, Equatable, Codable {
    case networkMissing(name: String)
    case volumeMissing(name: String)
    /// A network the project created that the manifest no longer declares (`--prune`).
    case networkNotInManifest
    /// The first replica of a service that has none; `gpus` as placed (empty: on CPU), and
    /// the host ports it takes from a published range.
    case newService(gpus: [String]?, hostPorts: [Int]? = nil)
    case replicaMissing(replica: Int, gpus: [String]?, hostPorts: [Int]? = nil)
    /// An existing replica is replaced, and how.
    case replace(Replacement, rollout: RolloutChoice)
    /// An up-to-date container that is not running.
    case start(StartCause)
    /// A container that holds no valid replica slot.
    case cleanup(Cleanup)
    case scaleDown(from: Int, to: Int)
    /// A replica added or removed by the autoscaler's decision; for an added one, its
    /// placement as for `replicaMissing`.
    case autoscale(decision: AutoscaleDecision, gpus: [String]?, hostPorts: [Int]?)
    /// A container of a service no longer in the manifest (`--prune`).
    case serviceRemoved(service: String)
    /// A `build:` service's image is built.
    case build(BuildCause)
    /// Swarm target: the service's spec differs from the manifest in these fields (manifest
    /// spelling), and the swarm rolls its tasks as `rolling` says.
    case serviceSpecChanged(fields: [String], rolling: SwarmRolling)
    /// Swarm target: only the replica count differs.
    case scale(from: Int, to: Int)
    /// Swarm target: the service's last update is not settled (paused, rolled back): the
    /// spec is sent again to resume it.
    case updateNotSettled(state: String)
    /// Swarm target: a secret or config the manifest grants does not exist in the swarm.
    case swarmObjectMissing(kind: String, name: String)
    /// Swarm target: a secret or config of the project that nothing in the manifest uses.
    case swarmObjectUnused(kind: String)
    /// `reconcile destroy`: the project's objects are removed.
    case destroy(Destroyed)

    public enum Destroyed: String, Sendable, Equatable, Codable {
        case container
        case network
        /// Only with `destroy --volumes`: the volume and its data.
        case volumeData = "volume-data"
    }

    public enum BuildCause: Sendable, Equatable, Codable {
        /// `pull_policy: build`: built on every apply.
        case pullPolicyBuild
        /// The files of the context that differ from the context the replicas run.
        case contextChanged(files: [String])
        /// The context is the same but an option that changes the image is not.
        case optionsChanged
        /// The content tag is not on the host (and what changed is not known).
        case imageMissing(tag: String)
    }

    public enum Replacement: Sendable, Equatable, Codable {
        case dead
        case configChanged
        /// Under another name (retired by a rollout that was killed before its replacement took the name).
        case misnamed(actual: String, expected: String)
        /// Not attached to networks it should be on (left so by an interrupted rollout).
        case detached(networks: [String])
        /// The image reference now points to another image id.
        case imageMoved(image: String)
        /// `network_mode: service:X`: X's first replica is replaced by this plan.
        case sharedStackReplaced(container: String)
        /// `network_mode: service:X`: the container it shares a stack with is gone.
        case sharedStackGone(expected: String)
    }

    public enum StartCause: Sendable, Equatable, Codable {
        case paused
        case createdNeverStarted
        case exited(code: Int?)
    }

    public enum Cleanup: Sendable, Equatable, Codable {
        case leftoverSurge
        case noReplicaLabel
        case duplicate(replica: Int, keeping: String)
    }

    /// The sentence `reconcile plan` prints.
    public var text: String {
        switch self {
        case .networkMissing(let name): return "network \(name) does not exist"
        case .volumeMissing(let name): return "volume \(name) does not exist"
        case .networkNotInManifest: return "network is no longer in the manifest"
        case .newService(let gpus, let ports): return "new service" + StepCause.placement(gpus) + StepCause.ports(ports)
        case .replicaMissing(let replica, let gpus, let ports):
            return "replica \(replica) is missing" + StepCause.placement(gpus) + StepCause.ports(ports)
        case .replace(let replacement, let rollout):
            let what: String
            switch replacement {
            case .dead: what = "container is dead"
            case .configChanged: what = "configuration changed"
            case .misnamed(let actual, let expected):
                what = "the replica runs as \(actual), not \(expected) (left so by an interrupted rollout)"
            case .detached(let networks):
                what = "not attached to \(networks.joined(separator: ", ")) (left so by an interrupted rollout)"
            case .imageMoved(let image): what = "image \(image) now points to a different image"
            case .sharedStackReplaced(let container): what = "it shares the network stack of \(container), which this plan replaces"
            case .sharedStackGone(let expected):
                what = "it shares the network stack of a container that is gone, not of \(expected) (left so by an interrupted run)"
            }
            return "\(what) (\(rollout.strategy.rawValue): \(rollout.why.text))"
        case .start(.paused): return "container is paused"
        case .start(.createdNeverStarted): return "container was created but never started"
        case .start(.exited(let code)): return "container exited" + (code.map { " (code \($0))" } ?? "")
        case .cleanup(.leftoverSurge): return "leftover of an interrupted start-first rollout"
        case .cleanup(.noReplicaLabel): return "container has no valid replica label"
        case .cleanup(.duplicate(let replica, let keeping)): return "duplicate of replica \(replica) (keeping \(keeping))"
        case .scaleDown(let from, let to): return "scale down from \(from) to \(to) replicas"
        case .autoscale(let decision, let gpus, let ports): return decision.text + StepCause.placement(gpus) + StepCause.ports(ports)
        case .serviceRemoved(let service): return "service \(service) is no longer in the manifest"
        case .build(.pullPolicyBuild): return "pull_policy is build, so the image is built on every apply"
        case .build(.contextChanged(let files)): return "context changed (\(Planner.list(files)))"
        case .build(.optionsChanged): return "build options changed"
        case .build(.imageMissing(let tag)): return "image \(tag) is not on the host"
        case .serviceSpecChanged(let fields, let rolling):
            return "\(Planner.list(fields)) changed (\(rolling.text))"
        case .scale(let from, let to): return "replicas \(from) → \(to)"
        case .updateNotSettled(let state): return "the last update is \(state); the spec is sent again"
        case .swarmObjectMissing(let kind, let name): return "\(kind) \(name) does not exist"
        case .swarmObjectUnused(let kind): return "\(kind) is no longer in the manifest"
        case .destroy(.container), .destroy(.network): return "the project is destroyed"
        case .destroy(.volumeData): return "the project is destroyed with --volumes: the volume's data is deleted"
        }
    }

    private static func ports(_ ports: [Int]?) -> String {
        guard let ports, !ports.isEmpty else { return "" }
        return " (host port\(ports.count == 1 ? "" : "s") \(ports.map(String.init).joined(separator: ",")))"
    }

    private static func placement(_ gpus: [String]?) -> String {
        guard let gpus else { return "" }
        if gpus.isEmpty { return " (on CPU)" }
        return " (GPU\(gpus.count == 1 ? "" : "s") \(gpus.joined(separator: ",")))"
    }
}

/// How a replica is replaced, and why that way.
public struct RolloutChoice: Sendable, Equatable, Codable {
    public var strategy: RolloutStrategy
    public var why: RolloutWhy

    public init(_ strategy: RolloutStrategy, _ why: RolloutWhy) {
        self.strategy = strategy
        self.why = why
    }
}

/// Why a replica is replaced start-first or stop-first.
public indirect enum RolloutWhy: Sendable, Equatable, Codable {
    /// `update_config.order` says so.
    case asked(RolloutStrategy)
    /// Nothing the service holds prevents a surge.
    case noBlocker
    /// Start-first is impossible; `asked` when the manifest asked for it.
    case blocked(RolloutBlocker, asked: Bool)
    /// A rollback's GPUs, which nobody holds: the surge starts there.
    case revisionGPUsFree(gpus: [String])
    /// GPU services: the base reason, and what happens to the GPUs.
    case gpu(base: RolloutWhy, GPURollout)
    /// A published host port range: the surge takes these free ports of it.
    case surgeOnFreePorts(base: RolloutWhy, ports: [Int])
    /// A published host port range with no free port for a surge.
    case noFreePortInRange(ranges: String)

    public enum GPURollout: Sendable, Equatable, Codable {
        /// Stop-first anyway: the replica stays on the GPUs it holds.
        case staysOnOwn(gpus: [String])
        /// Shared placement: the surge shares the service's GPUs.
        case sharesOwn(gpus: [String])
        /// Start-first onto spare GPUs while the old container holds its own.
        case surgeOnSpare(spare: [String], own: [String])
        /// Stop-first: the ids are fixed.
        case fixedIDs(own: [String])
        /// Stop-first: not enough spare GPUs for a surge.
        case noSpare(needed: Int, own: [String], spare: [String])
    }

    public var text: String {
        switch self {
        case .asked(let strategy): return "update_config.order is \(strategy.rawValue)"
        case .noBlocker: return "no fixed port or device prevents a surge"
        case .blocked(let blocker, let asked): return (asked ? "start-first is impossible: " : "") + blocker.text
        case .surgeOnFreePorts(let base, let ports):
            return base.text + "; the new container takes free host port \(ports.map(String.init).joined(separator: ",")) of its range"
        case .noFreePortInRange(let ranges):
            return "its host port range \(ranges) has no free port for a surge; replaced in place on its own port"
        case .revisionGPUsFree(let gpus):
            return "GPU \(gpus.joined(separator: ",")) (the revision's) is free, so the new container starts there"
        case .gpu(let base, let gpu):
            func noun(_ ids: [String]) -> String { ids.count == 1 ? "GPU" : "GPUs" }
            switch gpu {
            case .staysOnOwn(let own): return base.text + "; it stays on its own \(noun(own)) \(own.joined(separator: ","))"
            case .sharesOwn(let own): return base.text + "; the surge shares the service's \(noun(own)) \(own.joined(separator: ","))"
            case .surgeOnSpare(let spare, let own):
                let spareNoun = spare.count == 1 ? "GPU \(spare[0]) is" : "GPUs \(spare.joined(separator: ",")) are"
                return "\(spareNoun) spare, so the new container starts there while the old one still holds \(own.joined(separator: ","))"
            case .fixedIDs(let own):
                return StepCause.prefix(base) + "its device_ids are fixed, so a surge cannot hold them while the old container does"
                    + "; replaced in place on its own \(noun(own)) \(own.joined(separator: ","))"
            case .noSpare(let needed, let own, let spare):
                let spareText = spare.isEmpty ? "no GPU is spare" : "only \(spare.joined(separator: ",")) \(spare.count == 1 ? "is" : "are") spare"
                return StepCause.prefix(base)
                    + "a surge needs \(needed) spare \(needed == 1 ? "GPU" : "GPUs") while the old container holds \(own.joined(separator: ",")), and \(spareText)"
                    + "; replaced in place on its own \(noun(own)) \(own.joined(separator: ","))"
            }
        }
    }
}

extension StepCause {
    /// "start-first is impossible: " when the manifest asked for start-first.
    fileprivate static func prefix(_ base: RolloutWhy) -> String {
        base == .asked(.startFirst) ? "start-first is impossible: " : ""
    }
}

/// What makes a surge (two containers of one replica at once) impossible.
public enum RolloutBlocker: Sendable, Equatable, Codable {
    case fixedHostPort(Int)
    case fixedIP
    case gpusHeld
    /// `network_mode: service:…` or `container:…`.
    case sharedNetworkStack(mode: String)

    public var text: String {
        switch self {
        case .fixedHostPort(let port): return "it publishes fixed host port \(port), which the old and new container cannot both hold"
        case .fixedIP: return "it has a fixed IP address"
        case .gpusHeld: return "its GPUs are held by the old container and no spare GPU allows a surge"
        case .sharedNetworkStack(let mode):
            return "it shares a network stack (network_mode: \(mode)), where the old and new container would bind the same ports"
        }
    }
}

/// How a Swarm service update rolls its tasks: what the swarm does natively with the
/// service's `update_config`.
public struct SwarmRolling: Sendable, Equatable, Codable {
    /// Tasks replaced at once; 0 means all at once.
    public var parallelism: Int
    /// `start-first` or `stop-first`.
    public var order: String
    /// `pause`, `rollback` or `continue`.
    public var failureAction: String

    public init(parallelism: Int, order: String, failureAction: String) {
        self.parallelism = parallelism
        self.order = order
        self.failureAction = failureAction
    }

    /// "rolling: parallelism 2, start-first, on failure rollback".
    public var text: String {
        "rolling: parallelism \(parallelism == 0 ? "all" : String(parallelism)), \(order), on failure \(failureAction)"
    }
}
