import DockerEngine
import Foundation
import NIOConcurrencyHelpers

/// An in-memory swarm manager for the Swarm planner and executor tests.
///
/// Its limits, on purpose: every task starts at once and runs (no scheduling, no images);
/// an update settles at once, `completed`, unless its image is in `failingImages`, when the
/// service rolls back to its previous spec (`rollback_completed`); no node ever fails; the
/// generic resources of tasks are not assigned. It enforces what the engine enforces and
/// the executor relies on: unique service names (409), the version index of updates
/// (`update out of sequence`), unknown ids (404). It counts every call by name.
public final class FakeSwarm: SwarmEngine, @unchecked Sendable {
    private struct State {
        var services: [SwarmService] = []
        var tasks: [SwarmTask] = []
        var networks: [Network] = []
        var nextID = 1
        var calls: [String: Int] = [:]
        var outOfSequence = 0
    }

    private let state = NIOLockedValueBox(State())
    public let nodes: [SwarmNode]
    /// Updates to these images fail and roll back.
    public let failingImages: Set<String>

    public init(nodes: [SwarmNode] = [SwarmNode(id: "node1", hostname: "node1", role: "manager", leader: true)], failingImages: Set<String> = []) {
        self.nodes = nodes
        self.failingImages = failingImages
    }

    public var endpointDescription: String { "fake swarm" }

    /// How many times each method was called ("updateService", "createService", …).
    public func calls(_ name: String) -> Int { state.withLockedValue { $0.calls[name] ?? 0 } }

    /// The next `count` updates are refused as out of sequence, as when someone else updated the service meanwhile.
    public func refuseNextUpdates(_ count: Int) { state.withLockedValue { $0.outOfSequence = count } }

    /// Replaces a service's spec behind reconcile's back (a hand edit with `docker service update`).
    public func editByHand(_ name: String, _ change: (inout ServiceSpec) -> Void) {
        state.withLockedValue { state in
            guard let index = state.services.firstIndex(where: { $0.spec.name == name }) else { return }
            change(&state.services[index].spec)
            state.services[index].version.index += 1
            Self.reschedule(&state, index)
        }
    }

    public var services: [SwarmService] { state.withLockedValue { $0.services } }

    private func count(_ name: String) { state.withLockedValue { $0.calls[name, default: 0] += 1 } }

    public func inspectSwarm() async throws -> SwarmInfo { count("inspectSwarm"); return SwarmInfo(id: "fake") }
    public func listNodes(filters: DockerFilters) async throws -> [SwarmNode] { count("listNodes"); return nodes }

    public func listServices(filters: DockerFilters) async throws -> [SwarmService] {
        count("listServices")
        return state.withLockedValue { $0.services.filter { Self.matches($0.spec.labels ?? [:], filters) } }
    }

    public func inspectService(_ id: String) async throws -> SwarmService {
        count("inspectService")
        guard let service = state.withLockedValue({ $0.services.first { $0.id == id || $0.spec.name == id } }) else {
            throw DockerError.status(code: 404, message: "service \(id) not found", method: "GET", path: "/services/\(id)")
        }
        return service
    }

    public func createService(_ spec: ServiceSpec) async throws -> ServiceCreateResponse {
        count("createService")
        return try state.withLockedValue { state in
            if state.services.contains(where: { $0.spec.name == spec.name }) {
                throw DockerError.status(code: 409, message: "name conflicts with an existing object", method: "POST", path: "/services/create")
            }
            let id = "svc\(state.nextID)"
            state.nextID += 1
            state.services.append(SwarmService(id: id, version: 1, spec: spec))
            Self.reschedule(&state, state.services.count - 1)
            return ServiceCreateResponse(id: id, warning: nil)
        }
    }

    public func updateService(_ id: String, version: UInt64, spec: ServiceSpec, rollback: Bool) async throws -> ServiceUpdateResponse {
        count("updateService")
        let failing = failingImages
        return try state.withLockedValue { state in
            guard let index = state.services.firstIndex(where: { $0.id == id || $0.spec.name == id }) else {
                throw DockerError.status(code: 404, message: "service \(id) not found", method: "POST", path: "/services/\(id)/update")
            }
            if state.outOfSequence > 0 || state.services[index].version.index != version {
                state.outOfSequence = max(0, state.outOfSequence - 1)
                state.services[index].version.index += 1
                throw DockerError.status(code: 500, message: "rpc error: code = Unknown desc = update out of sequence", method: "POST", path: "/services/\(id)/update")
            }
            let previous = state.services[index].spec
            state.services[index].previousSpec = previous
            state.services[index].version.index += 1
            let tasksChange = previous.taskTemplate != spec.taskTemplate
            if tasksChange, let image = spec.taskTemplate.containerSpec?.image, failing.contains(image) {
                state.services[index].updateStatus = UpdateStatus(state: "rollback_completed", message: "rollback completed: task failed")
                state.services[index].version.index += 1
                return ServiceUpdateResponse(warnings: nil)
            }
            state.services[index].spec = spec
            state.services[index].updateStatus = tasksChange ? UpdateStatus(state: "completed", message: "update completed") : state.services[index].updateStatus
            Self.reschedule(&state, index)
            return ServiceUpdateResponse(warnings: nil)
        }
    }

    public func removeService(_ id: String) async throws {
        count("removeService")
        try state.withLockedValue { state in
            guard let index = state.services.firstIndex(where: { $0.id == id || $0.spec.name == id }) else {
                throw DockerError.status(code: 404, message: "service \(id) not found", method: "DELETE", path: "/services/\(id)")
            }
            let serviceID = state.services[index].id
            state.services.remove(at: index)
            state.tasks.removeAll { $0.serviceID == serviceID }
        }
    }

    public func listTasks(filters: DockerFilters) async throws -> [SwarmTask] {
        count("listTasks")
        return state.withLockedValue { state in
            state.tasks.filter { task in
                if let ids = filters.values["service"], !ids.isEmpty, !ids.contains(task.serviceID) { return false }
                if let labels = filters.values["label"], !labels.isEmpty {
                    let service = state.services.first { $0.id == task.serviceID }
                    return Self.matches(service?.spec.labels ?? [:], ["label": labels])
                }
                return true
            }
        }
    }

    public func listNetworks(filters: DockerFilters) async throws -> [Network] { count("listNetworks"); return state.withLockedValue { $0.networks } }

    public func createNetwork(_ request: NetworkCreateRequest) async throws -> NetworkCreateResponse {
        count("createNetwork")
        return try state.withLockedValue { state in
            if state.networks.contains(where: { $0.name == request.name }) {
                throw DockerError.status(code: 409, message: "network with name \(request.name) already exists", method: "POST", path: "/networks/create")
            }
            let id = "net\(state.nextID)"
            state.nextID += 1
            let data = try JSONSerialization.data(withJSONObject: [
                "Name": request.name, "Id": id, "Scope": "swarm", "Driver": request.driver ?? "overlay", "Labels": request.labels ?? [:],
            ])
            state.networks.append(try JSONDecoder().decode(Network.self, from: data))
            return try JSONDecoder().decode(NetworkCreateResponse.self, from: JSONSerialization.data(withJSONObject: ["Id": id]))
        }
    }

    public func removeNetwork(_ id: String) async throws {
        count("removeNetwork")
        state.withLockedValue { $0.networks.removeAll { $0.id == id || $0.name == id } }
    }

    public func listSecrets(filters: DockerFilters) async throws -> [SwarmFileObject] { [] }
    public func createSecret(_ spec: SwarmFileObjectSpec) async throws -> SwarmObjectCreateResponse { throw Unsupported() }
    public func removeSecret(_ id: String) async throws {}
    public func listConfigs(filters: DockerFilters) async throws -> [SwarmFileObject] { [] }
    public func createConfig(_ spec: SwarmFileObjectSpec) async throws -> SwarmObjectCreateResponse { throw Unsupported() }
    public func removeConfig(_ id: String) async throws {}

    struct Unsupported: Error {}

    /// Replaces the service's tasks with running ones on its current spec.
    private static func reschedule(_ state: inout State, _ index: Int) {
        let service = state.services[index]
        state.tasks.removeAll { $0.serviceID == service.id }
        let count = service.spec.mode?.replicated?.replicas ?? 1
        for slot in 0..<count {
            state.tasks.append(
                SwarmTask(
                    id: "task\(state.nextID)", serviceID: service.id, nodeID: "node1", slot: slot + 1, desiredState: "running",
                    state: "running", spec: service.spec.taskTemplate))
            state.nextID += 1
        }
    }

    private static func matches(_ labels: [String: String], _ filters: DockerFilters) -> Bool {
        for filter in filters.values["label"] ?? [] {
            let parts = filter.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 ? labels[parts[0]] != parts[1] : labels[parts[0]] == nil { return false }
        }
        return true
    }
}
