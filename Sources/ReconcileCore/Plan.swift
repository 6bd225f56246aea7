/// What the planner decided: a list of steps, each one engine-side change to one resource,
/// with the reason a person reads. Pure data; the executor carries it out, the views render it.
public struct Plan: Sendable, Equatable, Codable {
    public var project: String
    public var steps: [PlanStep]
    /// Things a person should know that change nothing (kept services, foreign objects, …).
    public var warnings: [String]
    /// Replicas that already match the manifest.
    public var unchanged: Int
    /// Decisions the plan leaves to apply time because what they depend on was not observed
    /// (an offline plan does not know the host's GPUs). A plan with any cannot be applied
    /// as saved: apply plans again on the host.
    public var deferred: [String]
    /// How each service with recreates is rolled out: batch, gate, failure action.
    public var rollouts: [ServiceRollout]
    /// The engine the plan is for: nil for one host, "swarm" for services of a Docker Swarm
    /// (whose steps are one per service, and `unchanged` counts services).
    public var target: String?

    public init(
        project: String, steps: [PlanStep] = [], warnings: [String] = [], unchanged: Int = 0, deferred: [String] = [],
        rollouts: [ServiceRollout] = []
    ) {
        self.project = project
        self.steps = steps
        self.warnings = warnings
        self.unchanged = unchanged
        self.deferred = deferred
        self.rollouts = rollouts
    }

    /// The rollout of `service`, when it has recreates.
    public func rollout(of service: String) -> ServiceRollout? { rollouts.first { $0.service == service } }

    public var isEmpty: Bool { steps.isEmpty }

    public var summary: Summary {
        var summary = Summary(unchanged: unchanged)
        for step in steps {
            switch step.action.kind {
            case .create: summary.create += 1
            case .update: summary.update += 1
            case .recreate: summary.recreate += 1
            case .remove: summary.remove += 1
            }
        }
        return summary
    }

    public struct Summary: Sendable, Equatable, Codable {
        public var create = 0
        public var update = 0
        public var recreate = 0
        public var remove = 0
        public var unchanged = 0
    }

    enum CodingKeys: String, CodingKey { case project, target, steps, rollouts, warnings, deferred, summary }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        project = try container.decode(String.self, forKey: .project)
        target = try container.decodeIfPresent(String.self, forKey: .target)
        steps = try container.decode([PlanStep].self, forKey: .steps)
        warnings = try container.decodeIfPresent([String].self, forKey: .warnings) ?? []
        deferred = try container.decodeIfPresent([String].self, forKey: .deferred) ?? []
        rollouts = try container.decodeIfPresent([ServiceRollout].self, forKey: .rollouts) ?? []
        unchanged = try container.decodeIfPresent(Summary.self, forKey: .summary)?.unchanged ?? 0
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(project, forKey: .project)
        try container.encodeIfPresent(target, forKey: .target)
        try container.encode(steps, forKey: .steps)
        if !rollouts.isEmpty { try container.encode(rollouts, forKey: .rollouts) }
        try container.encode(warnings, forKey: .warnings)
        if !deferred.isEmpty { try container.encode(deferred, forKey: .deferred) }
        try container.encode(summary, forKey: .summary)
    }
}

public enum PlanAction: String, Sendable, Equatable, Codable, CaseIterable {
    case create
    /// Start a replica that exists with the right configuration but is not running.
    case start
    case recreate
    case remove
    case createNetwork = "create-network"
    case createVolume = "create-volume"
    case removeNetwork = "remove-network"
    /// Only in the plan of `destroy --volumes`: the volume and its data.
    case removeVolume = "remove-volume"
    /// Build a service's image from its context (resource `image:<service>`).
    case build
    /// Swarm target: replace a service's spec; the swarm rolls its tasks.
    case update
    /// Swarm target: change only a service's replica count.
    case scale

    public enum Kind: Sendable { case create, update, recreate, remove }

    public var kind: Kind {
        switch self {
        case .create, .createNetwork, .createVolume, .build: return .create
        case .start, .scale: return .update
        case .recreate, .update: return .recreate
        case .remove, .removeNetwork, .removeVolume: return .remove
        }
    }

    /// `+` create, `~` update in place, `±` recreate, `-` remove.
    public var symbol: String {
        switch kind {
        case .create: return "+"
        case .update: return "~"
        case .recreate: return "±"
        case .remove: return "-"
        }
    }
}

/// How a replica is replaced.
public enum RolloutStrategy: String, Sendable, Equatable, Codable {
    /// Start the new container under a temporary name, wait for it to be healthy, then
    /// remove the old one and rename the new one: no moment with fewer replicas serving.
    case startFirst = "start-first"
    /// Stop and remove the old container, then create the new one.
    case stopFirst = "stop-first"
}

public struct FieldChange: Sendable, Equatable, Codable {
    /// The field's path in manifest spelling, e.g. "environment.LOG_LEVEL".
    public var field: String
    /// Display values; nil when absent on that side. Secret values read `(sensitive)`.
    public var from: String?
    public var to: String?

    public init(field: String, from: String?, to: String?) {
        self.field = field
        self.from = from
        self.to = to
    }
}

public struct PlanStep: Sendable, Equatable, Codable {
    /// Index in `Plan.steps`.
    public var id: Int
    /// "service:api:2", "network:default", "volume:data".
    public var resource: String
    public var action: PlanAction
    /// Why the step is planned, as data.
    public var cause: StepCause
    /// `cause` as a person reads it; for people only, never branched on.
    public var reason: String
    public var changes: [FieldChange]
    /// Ids of steps that must finish first.
    public var dependsOn: [Int]

    /// For container steps: the service and replica slot.
    public var service: String?
    public var replica: Int?
    /// The container's final name (create, recreate) or current name (start, remove).
    public var containerName: String?
    /// The existing container this step replaces, starts or removes.
    public var containerID: String?
    /// The config hash the new container gets (create, recreate).
    public var configHash: String?
    /// For recreate: how.
    public var strategy: RolloutStrategy?
    /// GPU device ids the replica is placed on.
    public var gpus: [String]?
    /// For network and volume steps: the engine-side name; for a build step, the content tag.
    public var engineName: String?
    /// For create and recreate: the host port each host port range of the service gives this
    /// replica, in the order of its ranged port mappings.
    public var hostPorts: [Int]?

    public init(
        id: Int = 0, resource: String, action: PlanAction, cause: StepCause, changes: [FieldChange] = [],
        dependsOn: [Int] = [], service: String? = nil, replica: Int? = nil, containerName: String? = nil,
        containerID: String? = nil, configHash: String? = nil, strategy: RolloutStrategy? = nil,
        gpus: [String]? = nil, engineName: String? = nil
    ) {
        self.id = id
        self.resource = resource
        self.action = action
        self.cause = cause
        self.reason = cause.text
        self.changes = changes
        self.dependsOn = dependsOn
        self.service = service
        self.replica = replica
        self.containerName = containerName
        self.containerID = containerID
        self.configHash = configHash
        self.strategy = strategy
        self.gpus = gpus
        self.engineName = engineName
    }
}

/// Options that change what is planned.
public struct PlanOptions: Sendable, Equatable {
    /// Remove containers of services no longer in the manifest, and networks no longer declared.
    public var prune: Bool
    /// Service → replica → GPU ids to place it on when they are valid and free: a rollback
    /// asks for the GPUs the restored revision ran on.
    public var preferredGPUs: [String: [Int: [String]]]
    /// The plan is made without a host (CI's dry run): what depends on the host's hardware,
    /// such as the GPUs each replica gets, is left to apply time and listed in `Plan.deferred`
    /// instead of failing for want of an inventory.
    public var offline: Bool
    /// Seconds a replica without a health status must stay running to pass its gate, when its
    /// `update_config.monitor` does not say: 0.5 s, between Kubernetes (a pod without a
    /// readiness probe is ready when it runs, `minReadySeconds` 0) and Swarm (5 s). It catches
    /// a process that dies at once (a bad flag, a missing file); a service that takes longer
    /// to fail, or to be ready, wants a healthcheck or a `monitor`.
    public var defaultMonitor: Double
    /// Seconds a new replica may take to pass its gate (`--timeout`).
    public var gateTimeout: Double
    /// The autoscaler's decisions by service (the controller's): the count each autoscaled
    /// service is planned to. A service without one keeps the count it runs, within its bounds.
    public var autoscale: [String: AutoscaleDecision]

    public init(
        prune: Bool = false, preferredGPUs: [String: [Int: [String]]] = [:], offline: Bool = false, defaultMonitor: Double = 0.5,
        gateTimeout: Double = 120, autoscale: [String: AutoscaleDecision] = [:]
    ) {
        self.autoscale = autoscale
        self.prune = prune
        self.preferredGPUs = preferredGPUs
        self.offline = offline
        self.defaultMonitor = defaultMonitor
        self.gateTimeout = gateTimeout
    }
}

/// The desired state cannot be reached; nothing should be applied.
public struct PlanningError: Error, Sendable, Equatable, CustomStringConvertible {
    public var problems: [String]

    public init(problems: [String]) { self.problems = problems }

    public var description: String { problems.joined(separator: "\n") }
}
