import DockerEngine
import struct ReconcileCore.SHA256
import Foundation
import NIOCore

/// An in-memory engine with the rules of dockerd that reconcile depends on, and faults on demand.
///
/// Kept from dockerd (each checked against the real engine by the contract tests):
/// - a container name is unique: a create or rename to a taken name is a 409; a rename to
///   the container's own name is a 400; ids and names of unknown objects are 404s;
/// - starting a running container is a 304, a paused one a 409; stopping a stopped one a
///   304; killing or pausing one that is not running a 409; unpausing one that is not
///   paused a 500 (Docker 20.10's answer); removing a running or paused one without
///   `force` a 409;
/// - a container's networks are looked up when it starts, not when it is created: a create
///   naming a missing network succeeds and its start is a 404; connecting a container
///   twice to one network is a 403, as Docker 20.10 answers;
/// - a network with running containers attached cannot be removed (``networkInUseStatus``,
///   403 as Docker 20.10 answers, 409 on newer engines); nor can `bridge`, `host`, `none`;
/// - a second network create with a taken name is a 409; a second volume create with a
///   taken name returns the existing volume unchanged (labels included); a volume mounted
///   by any container, running or not, cannot be removed (409); named volumes a container
///   mounts are created on demand at container create, as dockerd does;
/// - a container with a healthcheck is `starting` when it starts, then healthy or unhealthy
///   as its image's ``Behavior`` says, or as the test sets it (``setHealth(_:_:)``);
/// - restart policies `always`, `unless-stopped` and `on-failure[:N]` restart a container
///   that exits on its own (``exit(_:code:)``), at once, counting `RestartCount`; a stop
///   through the API never restarts it;
/// - events (`create`, `start`, `kill`, `die`, `stop`, `destroy`, `rename`, `pause`,
///   `unpause`, `health_status: …`; network and volume `create`/`destroy`, network
///   `connect`/`disconnect`) with the container's labels and name as attributes, filtered
///   by `type`, `event` and `label`; list calls filter by `label` (key, or key=value),
///   `name` (substring), `id` and `status`.
///
/// Limits: no processes, ports, images layers, logs other than what a test appends, or
/// anonymous volumes; restart delays, health intervals and stop grace periods take no
/// time (stop exits the container at once with code 143); `since`/`until` of events are
/// ignored; a container's `Created` is a logical clock, one tick per create.
///
/// Faults (``inject(_:)``): fail a call (any, by number, by route, by target) with a status,
/// delay one, lose the answer of one that took effect, drop the event streams
/// (``dropEventStreams()``), an image whose containers never become healthy or exit at
/// once (``Behavior``), and ``crash(atMutatingCall:tookEffect:)``: from the k-th call
/// that changes anything on, every call fails as if the engine connection was gone.
public actor FakeEngine: ContainerEngine {
    public nonisolated let endpoint: DockerEndpoint
    public nonisolated var endpointDescription: String { endpoint.description }

    // MARK: model

    /// What containers of an image do once started.
    public struct Behavior: Sendable {
        public enum Health: Sendable { case healthy, unhealthy, staysStarting }
        /// What the healthcheck reports after `starting` (containers without one have no health).
        public var health: Health
        /// Exits with this code as soon as it starts.
        public var exitsWith: Int?

        public init(health: Health = .healthy, exitsWith: Int? = nil) {
            self.health = health
            self.exitsWith = exitsWith
        }
    }

    struct Container {
        var id: String
        var name: String
        var config: ContainerConfig
        var hostConfig: HostConfig
        var imageID: String
        var created: Int64
        var status = "created"
        var exitCode = 0
        var health: String?
        var restartCount = 0
        /// Network name to its endpoint settings.
        var networks: [String: EndpointSettings] = [:]
        var logs: [LogChunk] = []
        /// Stopped through the API: the restart policy does not bring it back.
        var stoppedByAPI = false

        var hasHealthcheck: Bool {
            guard let test = config.healthcheck?.test, let first = test.first else { return false }
            return first != "NONE"
        }
        var isRunning: Bool { status == "running" || status == "paused" || status == "restarting" }
        var labels: [String: String] { config.labels ?? [:] }
        var volumeNames: [String] {
            (hostConfig.mounts ?? []).filter { $0.type == "volume" }.compactMap(\.source)
                + (hostConfig.binds ?? []).compactMap { bind in
                    let source = bind.split(separator: ":").first.map(String.init) ?? ""
                    return source.hasPrefix("/") || source.isEmpty ? nil : source
                }
        }
    }

    struct NetworkRecord {
        var id: String
        var request: NetworkCreateRequest
        var builtIn = false
        var name: String { request.name }
    }

    private(set) var containers: [String: Container] = [:]
    private var networks: [String: NetworkRecord] = [:]
    private var volumes: [String: Volume] = [:]
    private var images: [String: String] = [:]
    private var behaviors: [String: Behavior] = [:]
    private var nextID = 1
    private var clock: Int64 = 1_700_000_000
    private var streams: [UUID: AsyncThrowingStream<DockerEvent, any Error>.Continuation] = [:]
    private var waiters: [String: [UUID: CheckedContinuation<Int, any Error>]] = [:]

    /// The status a refused network removal gets: 403 as Docker 20.10 answers, 409 newer.
    public var networkInUseStatus = 403

    public init(endpoint: DockerEndpoint = .unix(path: "/fake/docker.sock")) {
        self.endpoint = endpoint
        for name in ["bridge", "host", "none"] {
            let id = String(format: "%064x", 0xB000 + name.count)
            networks[id] = NetworkRecord(id: id, request: NetworkCreateRequest(name: name, driver: name == "none" ? "null" : name), builtIn: true)
        }
    }

    // MARK: set-up for tests

    /// Makes an image known, as a build or pull would. Returns its id.
    @discardableResult
    public func addImage(_ reference: String, id: String? = nil, behavior: Behavior = Behavior()) -> String {
        let imageID = id ?? "sha256:" + String(format: "%064x", 0xA000_0000 + images.count)
        images[reference] = imageID
        images[imageID] = imageID
        behaviors[imageID] = behavior
        return imageID
    }

    /// Changes what later-started containers of an image do.
    public func setBehavior(_ reference: String, _ behavior: Behavior) {
        if let id = images[reference] { behaviors[id] = behavior }
    }

    /// Sets a running container's health, as its healthcheck would.
    public func setHealth(_ idOrName: String, _ status: String) throws {
        guard var container = find(idOrName), container.hasHealthcheck else { throw notFound("container", idOrName) }
        guard container.health != status else { return }
        container.health = status
        store(container)
        emit("container", "health_status: \(status)", container)
    }

    /// The container's process exits on its own with `code`; its restart policy applies.
    public func exit(_ idOrName: String, code: Int) throws {
        guard var container = find(idOrName) else { throw notFound("container", idOrName) }
        guard container.isRunning else { return }
        container.status = "exited"
        container.exitCode = code
        store(container)
        emit("container", "die", container, ["exitCode": String(code)])
        resumeWaiters(container)
        let policy = container.hostConfig.restartPolicy
        let restarts: Bool
        switch policy?.name ?? "" {
        case "always", "unless-stopped": restarts = true
        case "on-failure":
            let limit = policy?.maximumRetryCount ?? 0
            restarts = code != 0 && (limit == 0 || container.restartCount < limit)
        default: restarts = false
        }
        if restarts {
            container.restartCount += 1
            begin(&container)
        }
    }

    /// Appends to a container's log.
    public func appendLog(_ idOrName: String, _ text: String, stream: LogStream = .stdout) {
        guard var container = find(idOrName) else { return }
        container.logs.append(LogChunk(stream: stream, bytes: Array(text.utf8)))
        store(container)
    }

    /// Ends every open event stream with a transport error, as a broken connection does.
    public func dropEventStreams() {
        for continuation in streams.values {
            continuation.finish(throwing: DockerError.transport(message: "the fake engine dropped the event stream", underlying: nil))
        }
        streams.removeAll()
    }

    /// Open event streams.
    public var eventStreamCount: Int { streams.count }

    // MARK: faults

    /// One fault: which calls it matches and what happens to them.
    public struct Fault: Sendable {
        public enum Effect: Sendable {
            /// The call fails with this status before it takes effect.
            case fail(status: Int, message: String)
            /// The call takes effect, then its answer is lost (a transport error).
            case loseAnswer
            /// The call waits this long, then proceeds.
            case delay(Duration)
            /// The call throws `CancellationError` before it takes effect.
            case cancel
        }

        public var route: Route?
        /// Matches a call whose target (id, name, reference) or container name contains this.
        public var target: String?
        public var mutatingOnly: Bool
        /// Matching calls let through before the fault applies.
        public var skip: Int
        /// Matching calls the fault applies to (then it is spent).
        public var times: Int
        public var effect: Effect

        public init(
            route: Route? = nil, target: String? = nil, mutatingOnly: Bool = false, skip: Int = 0, times: Int = 1, effect: Effect
        ) {
            self.route = route
            self.target = target
            self.mutatingOnly = mutatingOnly
            self.skip = skip
            self.times = times
            self.effect = effect
        }

        /// A 500 on every call of `route`.
        public static func serverError(on route: Route, times: Int = .max) -> Fault {
            Fault(route: route, times: times, effect: .fail(status: 500, message: "injected server error"))
        }

        /// Call number `n` (0-based, counted from when the fault is injected) fails with `status`.
        public static func failCall(_ n: Int, status: Int = 500, mutatingOnly: Bool = false) -> Fault {
            Fault(mutatingOnly: mutatingOnly, skip: n, times: 1, effect: .fail(status: status, message: "injected failure"))
        }
    }

    /// The engine operations, as faults and the call log name them.
    public enum Route: String, Sendable, CaseIterable {
        case listContainers, inspectContainer, createContainer, startContainer, stopContainer, killContainer
        case removeContainer, renameContainer, pauseContainer, unpauseContainer, waitContainer, containerLogs
        case listNetworks, inspectNetwork, createNetwork, removeNetwork, connectNetwork, disconnectNetwork
        case listVolumes, inspectVolume, createVolume, removeVolume, inspectImage, events, putArchive
        case createExec, startExec, inspectExec, build

        /// Whether the call can change the engine's state.
        public var isMutating: Bool {
            switch self {
            case .createContainer, .startContainer, .stopContainer, .killContainer, .removeContainer, .renameContainer,
                .pauseContainer, .unpauseContainer, .createNetwork, .removeNetwork, .connectNetwork, .disconnectNetwork,
                .createVolume, .removeVolume, .putArchive, .createExec, .startExec, .build:
                return true
            default: return false
            }
        }
    }

    /// One call as the fake received it.
    public struct Call: Sendable, Equatable, CustomStringConvertible {
        public var route: Route
        public var target: String
        public var description: String { target.isEmpty ? route.rawValue : "\(route.rawValue) \(target)" }
    }

    private struct ActiveFault {
        var fault: Fault
        var seen = 0
        var applied = 0
    }

    private var faults: [ActiveFault] = []
    private var crashAt: (call: Int, tookEffect: Bool)?
    private var crashed = false
    /// Every call received, in order (faulted ones included).
    public private(set) var calls: [Call] = []

    public func inject(_ fault: Fault) { faults.append(ActiveFault(fault: fault)) }

    /// Removes every fault and ends a crash.
    public func clearFaults() {
        faults = []
        crashAt = nil
        crashed = false
    }

    /// The mutating call number `k` (0-based, counted over ``calls``) is the last the engine
    /// gets: it fails before it takes effect, or after (its answer lost) when `tookEffect`,
    /// and every later call fails as if the connection was gone, until ``clearFaults()``.
    public func crash(atMutatingCall k: Int, tookEffect: Bool) {
        crashAt = (mutatingCalls + k, tookEffect)
    }

    /// Mutating calls received so far.
    public var mutatingCalls: Int { calls.filter(\.route.isMutating).count }

    public func resetCallLog() { calls = [] }

    /// The name each container had when it was created, by id (a surge is renamed later).
    private var namesAtCreation: [String: String] = [:]

    public func createdNames() -> [String: String] { namesAtCreation }

    private static func transport(_ what: String) -> DockerError {
        DockerError.transport(message: "the fake engine \(what)", underlying: nil)
    }

    /// Records the call and applies faults. Returns whether to lose the answer after the effect.
    private func admit(_ route: Route, _ target: String = "") async throws -> Bool {
        let mutatingIndex = route.isMutating ? mutatingCalls : nil
        calls.append(Call(route: route, target: target))
        if crashed { throw Self.transport("is gone (crashed)") }
        if let crash = crashAt, let index = mutatingIndex, index == crash.call {
            crashed = true
            if !crash.tookEffect { throw Self.transport("went away before the call took effect") }
            return true
        }
        let name = find(target)?.name
        var loseAnswer = false
        for index in faults.indices {
            let fault = faults[index].fault
            if let wanted = fault.route, wanted != route { continue }
            if fault.mutatingOnly && !route.isMutating { continue }
            if let wanted = fault.target, !target.contains(wanted) && !(name?.contains(wanted) ?? false) { continue }
            faults[index].seen += 1
            guard faults[index].seen > fault.skip, faults[index].applied < fault.times else { continue }
            faults[index].applied += 1
            switch fault.effect {
            case .fail(let status, let message):
                throw DockerError.status(code: status, message: message, method: "FAKE", path: "/\(route.rawValue)/\(target)")
            case .cancel:
                throw CancellationError()
            case .delay(let duration):
                try await Task.sleep(for: duration)
            case .loseAnswer:
                loseAnswer = true
            }
        }
        return loseAnswer
    }

    private func answer<T>(_ lose: Bool, _ value: T) throws -> T {
        if lose { throw Self.transport("lost the answer after the call took effect") }
        return value
    }

    // MARK: helpers

    private func newID() -> String {
        defer { nextID += 1 }
        return String(format: "%064x", nextID)
    }

    private func find(_ idOrName: String) -> Container? {
        guard !idOrName.isEmpty else { return nil }
        if let exact = containers[idOrName] { return exact }
        let name = idOrName.hasPrefix("/") ? String(idOrName.dropFirst()) : idOrName
        if let named = containers.values.first(where: { $0.name == name }) { return named }
        // dockerd takes a unique id prefix.
        let prefixed = containers.values.filter { $0.id.hasPrefix(idOrName) }
        return prefixed.count == 1 ? prefixed.first : nil
    }

    private func findNetwork(_ idOrName: String) -> NetworkRecord? {
        if let exact = networks[idOrName] { return exact }
        if let named = networks.values.first(where: { $0.name == idOrName }) { return named }
        let prefixed = networks.values.filter { $0.id.hasPrefix(idOrName) }
        return prefixed.count == 1 ? prefixed.first : nil
    }

    private func store(_ container: Container) { containers[container.id] = container }

    private func notFound(_ kind: String, _ what: String) -> DockerError {
        let message: String
        switch kind {
        case "container": message = "No such container: \(what)"
        case "network": message = "network \(what) not found"
        case "volume": message = "get \(what): no such volume"
        default: message = "No such image: \(what)"
        }
        return DockerError.status(code: 404, message: message, method: "FAKE", path: "/\(kind)s/\(what)")
    }

    private func status(_ code: Int, _ message: String, _ path: String) -> DockerError {
        DockerError.status(code: code, message: message, method: "FAKE", path: path)
    }

    private func emit(_ type: String, _ action: String, _ container: Container, _ extra: [String: String] = [:]) {
        var attributes = container.labels
        attributes["name"] = container.name
        attributes["image"] = container.config.image ?? ""
        for (key, value) in extra { attributes[key] = value }
        emit(DockerEvent(type: type, action: action, actor: .init(id: container.id, attributes: attributes), time: clock))
    }

    private func emit(_ event: DockerEvent) {
        for continuation in streams.values { continuation.yield(event) }
    }

    private func resumeWaiters(_ container: Container) {
        guard let pending = waiters.removeValue(forKey: container.id) else { return }
        for continuation in pending.values { continuation.resume(returning: container.exitCode) }
    }

    /// Starts the container's process, as dockerd does on start and on a policy restart.
    private func begin(_ container: inout Container) {
        container.status = "running"
        container.stoppedByAPI = false
        container.exitCode = 0
        container.health = container.hasHealthcheck ? "starting" : nil
        store(container)
        emit("container", "start", container)
        let behavior = behaviors[container.imageID] ?? Behavior()
        if let code = behavior.exitsWith {
            container.status = "exited"
            container.exitCode = code
            container.health = container.hasHealthcheck ? "unhealthy" : nil
            store(container)
            emit("container", "die", container, ["exitCode": String(code)])
            resumeWaiters(container)
            return
        }
        guard container.hasHealthcheck else { return }
        switch behavior.health {
        case .healthy: container.health = "healthy"
        case .unhealthy: container.health = "unhealthy"
        case .staysStarting: return
        }
        store(container)
        emit("container", "health_status: \(container.health ?? "")", container)
    }

    private func halt(_ container: inout Container, code: Int, byAPI: Bool) {
        let wasRunning = container.isRunning
        container.status = "exited"
        container.exitCode = code
        container.stoppedByAPI = byAPI
        store(container)
        if wasRunning {
            emit("container", "kill", container, ["signal": "15"])
            emit("container", "die", container, ["exitCode": String(code)])
            resumeWaiters(container)
        }
    }

    private static func matches(labels: [String: String], _ filters: DockerFilters) -> Bool {
        for wanted in filters.values["label"] ?? [] {
            let parts = wanted.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 {
                if labels[parts[0]] != parts[1] { return false }
            } else if labels[wanted] == nil {
                return false
            }
        }
        return true
    }

    private static func matches(name: String, _ filters: DockerFilters) -> Bool {
        guard let names = filters.values["name"], !names.isEmpty else { return true }
        return names.contains { name.contains($0.hasPrefix("/") ? String($0.dropFirst()) : $0) }
    }

    private func summaryStatus(_ container: Container) -> String {
        switch container.status {
        case "created": return "Created"
        case "exited": return "Exited (\(container.exitCode)) 1 second ago"
        case "paused": return "Up 1 second (Paused)"
        default:
            switch container.health {
            case "healthy": return "Up 1 second (healthy)"
            case "unhealthy": return "Up 1 second (unhealthy)"
            case "starting": return "Up 1 second (health: starting)"
            default: return "Up 1 second"
            }
        }
    }

    private func networkID(_ name: String) -> String? { findNetwork(name)?.id }

    private func endpoints(_ container: Container) -> [String: EndpointSettings] {
        var out: [String: EndpointSettings] = [:]
        for (name, settings) in container.networks {
            var settings = settings
            settings.networkID = networkID(name)
            out[name] = settings
        }
        return out
    }

    // MARK: containers

    public func listContainers(all: Bool, filters: DockerFilters) async throws -> [ContainerSummary] {
        let lose = try await admit(.listContainers)
        let statuses = filters.values["status"] ?? []
        let ids = filters.values["id"] ?? []
        let list = containers.values.filter { container in
            (all || container.isRunning) && Self.matches(labels: container.labels, filters)
                && Self.matches(name: container.name, filters) && (statuses.isEmpty || statuses.contains(container.status))
                && (ids.isEmpty || ids.contains { container.id.hasPrefix($0) })
        }
        .sorted { $0.created > $1.created }
        .map { container in
            ContainerSummary(
                id: container.id, names: ["/" + container.name], image: container.config.image, imageID: container.imageID,
                created: container.created, labels: container.labels, state: container.status, status: summaryStatus(container),
                networks: endpoints(container))
        }
        return try answer(lose, list)
    }

    public func inspectContainer(_ id: String) async throws -> ContainerInspect {
        let lose = try await admit(.inspectContainer, id)
        guard let container = find(id) else { throw notFound("container", id) }
        let state = ContainerState(
            status: container.status, running: container.isRunning, paused: container.status == "paused",
            restarting: container.status == "restarting", oomKilled: false, dead: container.status == "dead",
            exitCode: container.exitCode, health: container.health.map { Health(status: $0) })
        return try answer(
            lose,
            ContainerInspect(
                id: container.id, name: "/" + container.name, state: state, image: container.imageID,
                restartCount: container.restartCount, hostConfig: container.hostConfig, config: container.config,
                networkSettings: NetworkSettings(networks: endpoints(container))))
    }

    public func createContainer(name: String?, _ request: ContainerCreateRequest, platform: String?) async throws -> ContainerCreateResponse {
        let lose = try await admit(.createContainer, name ?? "")
        let path = "/containers/create"
        if let name {
            let valid = name.range(of: "^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$", options: .regularExpression) != nil
            guard valid else { throw status(400, "Invalid container name (\(name)), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", path) }
            let wanted = name.hasPrefix("/") ? String(name.dropFirst()) : name
            if let holder = containers.values.first(where: { $0.name == wanted }) {
                throw status(
                    409,
                    "Conflict. The container name \"/\(wanted)\" is already in use by container \"\(holder.id)\". You have to remove (or rename) that container to be able to reuse that name.",
                    path)
            }
        }
        let reference = request.config.image ?? ""
        guard let imageID = images[reference] else { throw notFound("image", reference) }
        let hostConfig = request.hostConfig ?? HostConfig()
        var attached: [String: EndpointSettings] = [:]
        let mode = hostConfig.networkMode ?? "default"
        let primary = mode == "default" ? "bridge" : mode
        // dockerd looks the networks up only at start: a create naming a missing one succeeds.
        if let endpoints = request.networkingConfig?.endpointsConfig, !endpoints.isEmpty {
            for (network, settings) in endpoints { attached[findNetwork(network)?.name ?? network] = settings }
        } else if !primary.hasPrefix("container:") {
            attached[findNetwork(primary)?.name ?? primary] = EndpointSettings()
        }
        var container = Container(
            id: newID(), name: name.map { $0.hasPrefix("/") ? String($0.dropFirst()) : $0 } ?? "fake_\(nextID)",
            config: request.config, hostConfig: hostConfig, imageID: imageID, created: clock)
        clock += 1
        container.networks = attached
        for volume in container.volumeNames where volumes[volume] == nil {
            volumes[volume] = Volume(name: volume, labels: [:])
            emit(DockerEvent(type: "volume", action: "create", actor: .init(id: volume, attributes: ["driver": "local"])))
        }
        store(container)
        namesAtCreation[container.id] = container.name
        emit("container", "create", container)
        return try answer(lose, ContainerCreateResponse(id: container.id))
    }

    @discardableResult
    public func startContainer(_ id: String) async throws -> Bool {
        let lose = try await admit(.startContainer, id)
        guard var container = find(id) else { throw notFound("container", id) }
        let path = "/containers/\(id)/start"
        if container.status == "paused" { throw status(409, "cannot start a paused container, try unpause instead", path) }
        if container.isRunning { return try answer(lose, false) }
        for network in container.networks.keys where findNetwork(network) == nil {
            throw notFound("network", network)
        }
        begin(&container)
        return try answer(lose, true)
    }

    @discardableResult
    public func stopContainer(_ id: String, timeout: Int?) async throws -> Bool {
        let lose = try await admit(.stopContainer, id)
        guard var container = find(id) else { throw notFound("container", id) }
        guard container.isRunning else { return try answer(lose, false) }
        halt(&container, code: 143, byAPI: true)
        emit("container", "stop", container)
        return try answer(lose, true)
    }

    public func killContainer(_ id: String, signal: String?) async throws {
        let lose = try await admit(.killContainer, id)
        guard var container = find(id) else { throw notFound("container", id) }
        guard container.isRunning else { throw status(409, "Container \(container.id) is not running", "/containers/\(id)/kill") }
        halt(&container, code: 137, byAPI: true)
        _ = try answer(lose, ())
    }

    public func removeContainer(_ id: String, force: Bool, removeVolumes: Bool) async throws {
        let lose = try await admit(.removeContainer, id)
        guard var container = find(id) else { throw notFound("container", id) }
        if container.isRunning {
            guard force else {
                let what = container.status == "paused" ? "paused" : "running"
                throw status(
                    409,
                    "You cannot remove a \(what) container \(container.id). Stop the container before attempting removal or force remove",
                    "/containers/\(id)")
            }
            halt(&container, code: 137, byAPI: true)
        }
        containers[container.id] = nil
        emit("container", "destroy", container)
        resumeWaiters(container)
        _ = try answer(lose, ())
    }

    public func renameContainer(_ id: String, to name: String) async throws {
        let lose = try await admit(.renameContainer, id)
        guard var container = find(id) else { throw notFound("container", id) }
        let path = "/containers/\(id)/rename"
        let wanted = name.hasPrefix("/") ? String(name.dropFirst()) : name
        if container.name == wanted { throw status(400, "Renaming a container with the same name as its current name", path) }
        if let holder = containers.values.first(where: { $0.name == wanted }) {
            throw status(409, "Conflict. The container name \"/\(wanted)\" is already in use by container \"\(holder.id)\".", path)
        }
        let old = container.name
        container.name = wanted
        store(container)
        emit("container", "rename", container, ["oldName": "/" + old])
        _ = try answer(lose, ())
    }

    public func pauseContainer(_ id: String) async throws {
        let lose = try await admit(.pauseContainer, id)
        guard var container = find(id) else { throw notFound("container", id) }
        let path = "/containers/\(id)/pause"
        if container.status == "paused" { throw status(409, "Container \(container.id) is already paused", path) }
        guard container.isRunning else { throw status(409, "Container \(container.id) is not running", path) }
        container.status = "paused"
        store(container)
        emit("container", "pause", container)
        _ = try answer(lose, ())
    }

    public func unpauseContainer(_ id: String) async throws {
        let lose = try await admit(.unpauseContainer, id)
        guard var container = find(id) else { throw notFound("container", id) }
        guard container.status == "paused" else {
            // Docker 20.10 answers 500 here (a plain error, not a typed conflict).
            throw status(500, "Container \(container.id) is not paused", "/containers/\(id)/unpause")
        }
        container.status = "running"
        store(container)
        emit("container", "unpause", container)
        _ = try answer(lose, ())
    }

    // MARK: builds

    /// Builds the fake was asked for, in order: the tags and the context's size. The fake
    /// runs no Dockerfile: the image id is a digest of the context.
    public private(set) var builds: [(tags: [String], contextBytes: Int)] = []

    public func build(context: [UInt8], options: BuildOptions, onMessage: @Sendable (BuildMessage) -> Void) async throws -> String {
        let lose = try await admit(.build, options.tags.first ?? "")
        let id = "sha256:" + SHA256.hex(context)
        for tag in options.tags { images[tag] = id }
        images[id] = id
        builds.append((options.tags, context.count))
        return try answer(lose, id)
    }

    // MARK: exec and system

    /// Exit code of every exec (lifecycle hooks); the fake runs nothing.
    public var execExitCode = 0
    /// Commands exec'd, by container id, in order.
    public private(set) var execs: [String: [[String]]] = [:]
    private var execTargets: [String: String] = [:]

    public func setExecExitCode(_ code: Int) { execExitCode = code }

    public func createExec(_ container: String, _ request: ExecCreateRequest) async throws -> String {
        let lose = try await admit(.createExec, container)
        guard let found = find(container) else { throw notFound("container", container) }
        guard found.status == "running" else {
            throw status(409, "Container \(found.id) is not running", "/containers/\(container)/exec")
        }
        let id = "exec-\(execTargets.count + 1)"
        execTargets[id] = found.id
        execs[found.id, default: []].append(request.cmd)
        return try answer(lose, id)
    }

    public func startExec(_ id: String, timeout: TimeAmount?) async throws -> [UInt8] {
        let lose = try await admit(.startExec, id)
        guard execTargets[id] != nil else { throw notFound("exec instance", id) }
        return try answer(lose, [])
    }

    public func inspectExec(_ id: String) async throws -> ExecInspect {
        let lose = try await admit(.inspectExec, id)
        guard execTargets[id] != nil else { throw notFound("exec instance", id) }
        let json = #"{"Running": false, "ExitCode": \#(execExitCode)}"#
        return try answer(lose, try JSONDecoder().decode(ExecInspect.self, from: Data(json.utf8)))
    }

    public func apiVersion() async throws -> APIVersion { APIVersion(1, 41) }

    public func version() async throws -> SystemVersion {
        let json = #"{"Version": "20.10.24", "ApiVersion": "1.41", "MinAPIVersion": "1.12", "Os": "linux", "Arch": "amd64"}"#
        return try JSONDecoder().decode(SystemVersion.self, from: Data(json.utf8))
    }

    /// Archives extracted into each container, by container id, in order: the fake keeps the
    /// bytes and does not unpack them.
    public private(set) var archives: [String: [(path: String, bytes: [UInt8])]] = [:]

    public func putArchive(_ id: String, path: String, archive: [UInt8], copyUIDGID: Bool) async throws {
        let lose = try await admit(.putArchive, id)
        guard let container = find(id) else { throw notFound("container", id) }
        archives[container.id, default: []].append((path, archive))
        _ = try answer(lose, ())
    }

    public func waitContainer(_ id: String, condition: WaitCondition, timeout: TimeAmount?) async throws -> ContainerWaitResponse {
        let lose = try await admit(.waitContainer, id)
        guard let container = find(id) else { throw notFound("container", id) }
        if condition == .notRunning, !container.isRunning {
            return try answer(lose, ContainerWaitResponse(statusCode: Int64(container.exitCode)))
        }
        let token = UUID()
        let containerID = container.id
        let expiry: Task<Void, Never>? = timeout.map { amount in
            Task {
                try? await Task.sleep(for: .nanoseconds(amount.nanoseconds))
                self.expireWaiter(containerID, token)
            }
        }
        defer { expiry?.cancel() }
        let code = try await withCheckedThrowingContinuation { continuation in
            waiters[containerID, default: [:]][token] = continuation
        }
        return try answer(lose, ContainerWaitResponse(statusCode: Int64(code)))
    }

    private func expireWaiter(_ id: String, _ token: UUID) {
        guard let continuation = waiters[id]?.removeValue(forKey: token) else { return }
        continuation.resume(throwing: Self.transport("did not answer the wait before its deadline"))
    }

    public func containerLogs(
        _ id: String, tail: Int?, stdout: Bool, stderr: Bool, timestamps: Bool, tty: Bool?
    ) async throws -> [LogChunk] {
        let lose = try await admit(.containerLogs, id)
        guard let container = find(id) else { throw notFound("container", id) }
        let chunks = container.logs.filter { ($0.stream == .stdout && stdout) || ($0.stream == .stderr && stderr) }
        return try answer(lose, tail.map { Array(chunks.suffix($0)) } ?? chunks)
    }

    // MARK: networks

    private func network(_ record: NetworkRecord, withContainers: Bool) -> Network {
        var attached: [String: NetworkContainer] = [:]
        if withContainers {
            for container in containers.values where container.isRunning && container.networks[record.name] != nil {
                attached[container.id] = NetworkContainer(name: container.name)
            }
        }
        let request = record.request
        return Network(
            name: record.name, id: record.id, driver: request.driver ?? "bridge", internal: request.internal,
            attachable: request.attachable, ipam: request.ipam, enableIPv6: request.enableIPv6,
            containers: withContainers ? attached : [:], options: request.options, labels: request.labels ?? [:])
    }

    public func listNetworks(filters: DockerFilters) async throws -> [Network] {
        let lose = try await admit(.listNetworks)
        let list = networks.values.filter {
            Self.matches(labels: $0.request.labels ?? [:], filters) && Self.matches(name: $0.name, filters)
        }
        .sorted { $0.name < $1.name }
        .map { network($0, withContainers: false) }
        return try answer(lose, list)
    }

    public func inspectNetwork(_ id: String) async throws -> Network {
        let lose = try await admit(.inspectNetwork, id)
        guard let record = findNetwork(id) else { throw notFound("network", id) }
        return try answer(lose, network(record, withContainers: true))
    }

    public func createNetwork(_ request: NetworkCreateRequest) async throws -> NetworkCreateResponse {
        let lose = try await admit(.createNetwork, request.name)
        if request.checkDuplicate, networks.values.contains(where: { $0.name == request.name }) {
            throw status(409, "network with name \(request.name) already exists", "/networks/create")
        }
        let record = NetworkRecord(id: newID(), request: request)
        networks[record.id] = record
        emit(DockerEvent(type: "network", action: "create", actor: .init(id: record.id, attributes: ["name": record.name, "type": request.driver ?? "bridge"])))
        return try answer(lose, NetworkCreateResponse(id: record.id))
    }

    public func removeNetwork(_ id: String) async throws {
        let lose = try await admit(.removeNetwork, id)
        guard let record = findNetwork(id) else { throw notFound("network", id) }
        let path = "/networks/\(id)"
        if record.builtIn { throw status(403, "\(record.name) is a pre-defined network and cannot be removed", path) }
        if containers.values.contains(where: { $0.isRunning && $0.networks[record.name] != nil }) {
            throw status(networkInUseStatus, "error while removing network: network \(record.name) id \(record.id) has active endpoints", path)
        }
        networks[record.id] = nil
        emit(DockerEvent(type: "network", action: "destroy", actor: .init(id: record.id, attributes: ["name": record.name, "type": record.request.driver ?? "bridge"])))
        _ = try answer(lose, ())
    }

    public func connectNetwork(_ network: String, container: String, endpoint: EndpointSettings?) async throws {
        let lose = try await admit(.connectNetwork, container)
        guard let record = findNetwork(network) else { throw notFound("network", network) }
        guard var target = find(container) else { throw notFound("container", container) }
        if target.networks[record.name] != nil {
            throw status(403, "endpoint with name \(target.name) already exists in network \(record.name)", "/networks/\(network)/connect")
        }
        target.networks[record.name] = endpoint ?? EndpointSettings()
        store(target)
        emit(DockerEvent(type: "network", action: "connect", actor: .init(id: record.id, attributes: ["name": record.name, "container": target.id])))
        _ = try answer(lose, ())
    }

    public func disconnectNetwork(_ network: String, container: String, force: Bool) async throws {
        let lose = try await admit(.disconnectNetwork, container)
        guard let record = findNetwork(network) else { throw notFound("network", network) }
        guard var target = find(container) else { throw notFound("container", container) }
        guard target.networks[record.name] != nil else {
            throw status(403, "container \(target.id) is not connected to network \(record.name)", "/networks/\(network)/disconnect")
        }
        target.networks[record.name] = nil
        store(target)
        emit(DockerEvent(type: "network", action: "disconnect", actor: .init(id: record.id, attributes: ["name": record.name, "container": target.id])))
        _ = try answer(lose, ())
    }

    // MARK: volumes

    public func listVolumes(filters: DockerFilters) async throws -> [Volume] {
        let lose = try await admit(.listVolumes)
        let list = volumes.values.filter { Self.matches(labels: $0.labels ?? [:], filters) && Self.matches(name: $0.name, filters) }
            .sorted { $0.name < $1.name }
        return try answer(lose, list)
    }

    public func inspectVolume(_ name: String) async throws -> Volume {
        let lose = try await admit(.inspectVolume, name)
        guard let volume = volumes[name] else { throw notFound("volume", name) }
        return try answer(lose, volume)
    }

    public func createVolume(_ request: VolumeCreateRequest) async throws -> Volume {
        let lose = try await admit(.createVolume, request.name)
        if let existing = volumes[request.name] { return try answer(lose, existing) }
        let volume = Volume(name: request.name, driver: request.driver ?? "local", labels: request.labels ?? [:], options: request.driverOpts)
        volumes[request.name] = volume
        emit(DockerEvent(type: "volume", action: "create", actor: .init(id: request.name, attributes: ["driver": volume.driver ?? "local"])))
        return try answer(lose, volume)
    }

    public func removeVolume(_ name: String, force: Bool) async throws {
        let lose = try await admit(.removeVolume, name)
        guard volumes[name] != nil else {
            if force { return try answer(lose, ()) }
            throw notFound("volume", name)
        }
        if let user = containers.values.first(where: { $0.volumeNames.contains(name) }) {
            throw status(409, "remove \(name): volume is in use - [\(user.id)]", "/volumes/\(name)")
        }
        volumes[name] = nil
        emit(DockerEvent(type: "volume", action: "destroy", actor: .init(id: name, attributes: ["driver": "local"])))
        _ = try answer(lose, ())
    }

    // MARK: images

    public func inspectImage(_ reference: String) async throws -> ImageInspect {
        let lose = try await admit(.inspectImage, reference)
        guard let id = images[reference] else {
            throw status(404, "image \(reference) not found on this host: build it or pull it first", "/images/\(reference)/json")
        }
        return try answer(lose, ImageInspect(id: id, repoTags: [reference]))
    }

    // MARK: events

    public func events(filters: DockerFilters, since: Date?, until: Date?) async throws -> AsyncThrowingStream<DockerEvent, any Error> {
        let lose = try await admit(.events)
        if lose { throw Self.transport("lost the answer after the call took effect") }
        let (stream, continuation) = AsyncThrowingStream<DockerEvent, any Error>.makeStream()
        let types = filters.values["type"] ?? []
        let actions = filters.values["event"] ?? []
        let token = UUID()
        let (filtered, output) = AsyncThrowingStream<DockerEvent, any Error>.makeStream()
        streams[token] = continuation
        let pump = Task {
            do {
                for try await event in stream {
                    // `health_status: healthy` matches the `health_status` filter, as dockerd does.
                    let action = event.action.split(separator: ":").first.map(String.init) ?? event.action
                    guard types.isEmpty || types.contains(event.type), actions.isEmpty || actions.contains(action),
                        Self.matches(labels: event.actor.attributes, filters)
                    else { continue }
                    output.yield(event)
                }
                output.finish()
            } catch {
                output.finish(throwing: error)
            }
        }
        output.onTermination = { _ in
            pump.cancel()
            Task { await self.closeStream(token) }
        }
        return filtered
    }

    private func closeStream(_ token: UUID) {
        streams.removeValue(forKey: token)?.finish()
    }

    // MARK: reading state (tests)

    /// Names of the containers that exist, sorted.
    public var containerNames: [String] { containers.values.map(\.name).sorted() }

    /// Every container with its name, status, labels and networks.
    public func snapshot() -> [(id: String, name: String, status: String, labels: [String: String], networks: [String])] {
        containers.values.sorted { $0.name < $1.name }.map { ($0.id, $0.name, $0.status, $0.labels, $0.networks.keys.sorted()) }
    }

    /// Names of the volumes that exist, sorted.
    public var volumeNames: [String] { volumes.keys.sorted() }

    /// Names of the networks that exist (built-in ones included), sorted.
    public var networkNames: [String] { networks.values.map(\.name).sorted() }
}
