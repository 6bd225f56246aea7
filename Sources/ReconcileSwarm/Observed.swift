import DockerEngine
import ReconcileCore

/// What one look at a swarm found for a project: its nodes, the project's services with
/// their specs and tasks, and the networks. A plain value; the planner reads only this.
public struct SwarmObservedState: Sendable, Equatable {
    public var nodes: [ObservedNode]
    /// Services labelled with the project's stack namespace.
    public var services: [ObservedSwarmService]
    /// Tasks of those services whose desired state is running (or that run still).
    public var tasks: [ObservedTask]
    public var networks: [ObservedSwarmNetwork]

    public init(nodes: [ObservedNode] = [], services: [ObservedSwarmService] = [], tasks: [ObservedTask] = [], networks: [ObservedSwarmNetwork] = []) {
        self.nodes = nodes
        self.services = services
        self.tasks = tasks
        self.networks = networks
    }

    public static let empty = SwarmObservedState()

    public func service(named engineName: String) -> ObservedSwarmService? { services.first { $0.name == engineName } }
    public func tasks(of serviceID: String) -> [ObservedTask] { tasks.filter { $0.serviceID == serviceID } }
    public func node(_ id: String?) -> ObservedNode? { nodes.first { $0.id == id } }
    /// Network id → name, for specs the engine returns with network ids.
    public var networkNames: [String: String] { Dictionary(networks.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a }) }
}

public struct ObservedNode: Sendable, Equatable, Codable {
    public var id: String
    public var hostname: String
    /// `manager` or `worker`.
    public var role: String
    /// `ready`, `down`, `disconnected`, `unknown`.
    public var state: String
    /// `active`, `pause`, `drain`.
    public var availability: String
    /// The GPU ids the node advertises (`NVIDIA-GPU` named generic resources).
    public var gpus: [String]

    public init(id: String, hostname: String, role: String, state: String, availability: String, gpus: [String]) {
        self.id = id
        self.hostname = hostname
        self.role = role
        self.state = state
        self.availability = availability
        self.gpus = gpus
    }

    /// The scheduler places new tasks here.
    public var schedulable: Bool { state == "ready" && availability == "active" }
}

public struct ObservedSwarmService: Sendable, Equatable {
    public var id: String
    public var name: String
    /// `Version.Index`, which an update must name.
    public var version: UInt64
    public var spec: ServiceSpec
    public var updateState: String?
    public var updateMessage: String?

    public init(id: String, name: String, version: UInt64, spec: ServiceSpec, updateState: String? = nil, updateMessage: String? = nil) {
        self.id = id
        self.name = name
        self.version = version
        self.spec = spec
        self.updateState = updateState
        self.updateMessage = updateMessage
    }

    /// The Compose service name, from reconcile's label or the stack's naming.
    public func composeName(project: String) -> String {
        if let name = spec.labels?[LabelKey.service] { return name }
        let prefix = project + "_"
        return name.hasPrefix(prefix) ? String(name.dropFirst(prefix.count)) : name
    }
}

public struct ObservedTask: Sendable, Equatable, Codable {
    public var id: String
    public var serviceID: String
    public var slot: Int?
    public var nodeID: String?
    /// The task's state (`running`, `pending`, `failed`, …).
    public var state: String
    public var desiredState: String
    public var message: String?
    public var error: String?
    /// GPU ids the scheduler assigned.
    public var gpus: [String]
    /// The image the task runs (its spec's), to tell old tasks from new during an update.
    public var image: String?

    public init(
        id: String, serviceID: String, slot: Int?, nodeID: String?, state: String, desiredState: String, message: String? = nil,
        error: String? = nil, gpus: [String] = [], image: String? = nil
    ) {
        self.id = id
        self.serviceID = serviceID
        self.slot = slot
        self.nodeID = nodeID
        self.state = state
        self.desiredState = desiredState
        self.message = message
        self.error = error
        self.gpus = gpus
        self.image = image
    }

    public var isRunning: Bool { state == "running" && desiredState == "running" }
}

public struct ObservedSwarmNetwork: Sendable, Equatable, Codable {
    public var id: String
    public var name: String
    public var driver: String?
    public var scope: String?
    public var labels: [String: String]

    public init(id: String, name: String, driver: String?, scope: String?, labels: [String: String]) {
        self.id = id
        self.name = name
        self.driver = driver
        self.scope = scope
        self.labels = labels
    }
}

/// Reads a project's state from a swarm manager: four list calls (nodes, services, tasks,
/// networks), whatever the number of services.
public struct SwarmObserver: Sendable {
    public let engine: any SwarmEngine

    public init(engine: any SwarmEngine) { self.engine = engine }

    public func observe(project: String, networkNames: [String]) async throws -> SwarmObservedState {
        do {
            _ = try await engine.inspectSwarm()
        } catch let error as DockerError where error.statusCode == 503 || error.statusCode == 406 {
            throw SwarmTargetError(
                "the engine at \(engine.endpointDescription) is not a swarm manager: run `docker swarm init` there (or point --host at a manager), or drop --target swarm to deploy to this host alone")
        }
        async let nodes = engine.listNodes(filters: [:])
        async let services = engine.listServices(filters: .label(stackNamespaceLabel, project))
        async let tasks = engine.listTasks(filters: ["label": ["\(stackNamespaceLabel)=\(project)"], "desired-state": ["running", "accepted"]])
        async let networks = engine.listNetworks(filters: [:])
        let wanted = Set(networkNames)
        return SwarmObservedState(
            nodes: try await nodes.map { node in
                ObservedNode(
                    id: node.id, hostname: node.hostname, role: node.spec?.role ?? "worker", state: node.status?.state ?? "unknown",
                    availability: node.spec?.availability ?? "active",
                    gpus: (node.description?.resources?.genericResources ?? []).compactMap {
                        $0.namedResourceSpec.flatMap { $0.kind == SwarmConversion.gpuResourceKind ? $0.value : nil }
                    }.sorted())
            }.sorted { $0.hostname < $1.hostname },
            services: try await services.map {
                ObservedSwarmService(
                    id: $0.id, name: $0.spec.name, version: $0.version.index, spec: $0.spec, updateState: $0.updateStatus?.state,
                    updateMessage: $0.updateStatus?.message)
            }.sorted { $0.name < $1.name },
            tasks: try await tasks.map(ObservedTask.init(task:)).sorted { ($0.serviceID, $0.slot ?? 0, $0.id) < ($1.serviceID, $1.slot ?? 0, $1.id) },
            networks: try await networks.filter { wanted.contains($0.name) || $0.labels?[stackNamespaceLabel] == project }.map {
                ObservedSwarmNetwork(id: $0.id, name: $0.name, driver: $0.driver, scope: $0.scope, labels: $0.labels ?? [:])
            }.sorted { $0.name < $1.name })
    }
}

extension ObservedTask {
    init(task: SwarmTask) {
        self.init(
            id: task.id, serviceID: task.serviceID, slot: task.slot, nodeID: task.nodeID, state: task.status.state,
            desiredState: task.desiredState ?? "", message: task.status.message, error: task.status.err,
            gpus: (task.assignedGenericResources ?? []).compactMap { $0.namedResourceSpec?.value }.sorted(),
            image: task.spec?.containerSpec?.image)
    }
}

/// The Swarm target cannot proceed; the text says what to do.
public struct SwarmTargetError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
