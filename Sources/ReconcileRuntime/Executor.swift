import DockerEngine
import Foundation
import ReconcileCore

public struct ExecutionOptions: Sendable {
    /// Steps doing engine work at once, across services. A replica waiting for its health
    /// gate, for its service's rollout to let it start, or for an old container to drain
    /// does not count: those waits are the engine's or the clock's, not work.
    public var parallelism: Int
    /// How long a replica may take to become healthy (or a dependency to meet its condition).
    public var gateTimeout: Double
    /// How long a replica without a healthcheck must stay running to pass its gate, when
    /// its `update_config.monitor` does not say: 0.5 s, between Kubernetes (a pod without a
    /// readiness probe is ready when it runs, `minReadySeconds` 0) and Swarm (5 s). It
    /// catches a process that dies at once (a bad flag, a missing file); a service that
    /// takes longer to fail, or to be ready, wants a healthcheck or a `monitor`.
    public var defaultMonitor: Double
    public var stop: StopSignal
    /// Seconds a replica the autoscaler removes keeps serving after it left the service's
    /// name, before its stop signal: clients that resolved the name just before still reach it.
    public var drainDelay: Double

    public init(
        parallelism: Int = ExecutionOptions.defaultParallelism, gateTimeout: Double = 120, defaultMonitor: Double = 0.5,
        stop: StopSignal = StopSignal(), drainDelay: Double = 1
    ) {
        self.drainDelay = drainDelay
        self.parallelism = max(1, parallelism)
        self.gateTimeout = gateTimeout
        self.defaultMonitor = defaultMonitor
        self.stop = stop
    }

    /// Engine calls are mostly waiting, not computing: several per core.
    public static var defaultParallelism: Int { max(4, ProcessInfo.processInfo.activeProcessorCount * 4) }
}

/// Carries out a plan's steps against the engine: in dependency order, in parallel where
/// the graph allows, with each service's update policy for recreates. It decides how,
/// never whether: every step comes from the plan.
public struct Executor: Sendable {
    public let client: any ContainerEngine
    public let project: Project
    public let options: ExecutionOptions
    let emit: @Sendable (ProgressEvent) -> Void
    /// `options.parallelism` slots for engine work.
    let slots: Slots

    public init(
        client: any ContainerEngine, project: Project, options: ExecutionOptions = .init(),
        emit: @escaping @Sendable (ProgressEvent) -> Void = { _ in }
    ) {
        self.client = client
        self.project = project
        self.options = options
        self.emit = emit
        self.slots = Slots(options.parallelism)
    }

    static let notStarted = "interrupted before it started"

    /// `withSlot` for a step's first engine work: throws `NotStarted` instead when a stop
    /// was asked for while it waited.
    func withStartingSlot<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await withSlot {
            if options.stop.isRaised { throw NotStarted() }
            return try await body()
        }
    }

    /// Runs `body` holding one of the engine-work slots.
    func withSlot<T: Sendable>(_ body: () async throws -> T) async rethrows -> T {
        await slots.acquire()
        do {
            let value = try await body()
            await slots.release()
            return value
        } catch {
            await slots.release()
            throw error
        }
    }

    public func run(_ plan: Plan) async -> ExecutionResult {
        let started = ContinuousClock.now
        var result = ExecutionResult()
        let rollouts = Rollouts(plan: plan)
        var pending = Set(plan.steps.map(\.id))
        var finished: [Int: Bool] = [:]

        // Every step whose dependencies are done starts at once; `slots` bounds the engine
        // work, so a step waiting on a health gate holds no slot.
        await withTaskGroup(of: (Int, ExecutionResult.Outcome).self) { group in
            var running = 0
            while true {
                var progressed = true
                while progressed {
                    progressed = false
                    for id in pending.sorted() {
                        let step = plan.steps[id]
                        if let failed = step.dependsOn.first(where: { finished[$0] == false }) {
                            let reason = "\(plan.steps[failed].resource) did not succeed"
                            result.outcomes[id] = .skipped(reason)
                            emit(.stepSkipped(step, reason: reason))
                            finished[id] = false
                            pending.remove(id)
                            progressed = true
                            continue
                        }
                        guard !options.stop.isRaised, step.dependsOn.allSatisfy({ finished[$0] == true })
                        else { continue }
                        pending.remove(id)
                        running += 1
                        group.addTask { (id, await self.perform(step, rollouts: rollouts)) }
                        progressed = true
                    }
                }
                guard running > 0, let (id, outcome) = await group.next() else { break }
                running -= 1
                result.outcomes[id] = outcome
                finished[id] = outcome == .succeeded
                if outcome == .skipped(Executor.notStarted) { result.interrupted = true }
            }
        }
        for id in pending.sorted() {
            result.outcomes[id] = .skipped(Executor.notStarted)
            emit(.stepSkipped(plan.steps[id], reason: Executor.notStarted))
            result.interrupted = true
        }
        for (id, outcome) in await rollouts.finish(executor: self) {
            result.outcomes[id] = outcome
        }
        let elapsed = ContinuousClock.now - started
        result.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return result
    }

    // MARK: steps

    private func perform(_ step: PlanStep, rollouts: Rollouts) async -> ExecutionResult.Outcome {
        let clock = ContinuousClock.now
        func seconds() -> Double {
            let d = ContinuousClock.now - clock
            return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        }
        if step.action == .recreate, let service = step.service, let reason = await rollouts.halted(service) {
            emit(.stepSkipped(step, reason: reason))
            return .skipped(reason)
        }
        do {
            // Creates and recreates take slots themselves, for their engine work only (not
            // while they wait for dependencies, rollout turns or health); a recreate reports
            // its start once its service's rollout lets it begin.
            switch step.action {
            case .recreate:
                try await carryOut(step, rollouts: rollouts)
            case .create:
                emit(.stepStarted(step))
                try await carryOut(step, rollouts: rollouts)
            default:
                try await withStartingSlot {
                    emit(.stepStarted(step))
                    try await carryOut(step, rollouts: rollouts)
                }
            }
            emit(.stepFinished(step, seconds: seconds()))
            return .succeeded
        } catch is NotStarted {
            emit(.stepSkipped(step, reason: Executor.notStarted))
            return .skipped(Executor.notStarted)
        } catch {
            let message = Executor.describe(error)
            emit(.stepFailed(step, message: message, seconds: seconds()))
            return .failed(message)
        }
    }

    private func carryOut(_ step: PlanStep, rollouts: Rollouts) async throws {
        switch step.action {
        case .createNetwork: try await createNetwork(step)
        case .createVolume: try await createVolume(step)
        case .removeNetwork:
            do { try await client.removeNetwork(step.engineName ?? "") } catch where error.isDockerNotFound {}
        case .removeVolume:
            // Only a destroy --volumes plan has this step: the user asked for the data to go.
            do { try await client.removeVolume(step.engineName ?? "", force: false) } catch where error.isDockerNotFound {}
        case .remove: try await removeContainer(step)
        case .start: try await startContainer(step)
        case .create: try await createReplica(step)
        case .recreate: try await rollouts.recreate(step, executor: self)
        case .build: try await buildImage(step)
        case .update, .scale:
            // Swarm steps: the single-host planner never plans them.
            throw ExecutorRefusal("\(step.action.rawValue) is a step of a Swarm plan; apply it with --target swarm")
        }
    }

    private func createNetwork(_ step: PlanStep) async throws {
        let key = Executor.key(of: step)
        guard let network = project.network(key: key) else { return }
        var labels = network.labels
        labels[LabelKey.project] = project.name
        labels[LabelKey.resourceKey] = key
        let ipam = network.subnets.isEmpty ? nil : IPAM(config: network.subnets.map { IPAMConfig(subnet: $0) })
        do {
            _ = try await client.createNetwork(
                NetworkCreateRequest(
                    name: network.name, driver: network.driver, internal: network.internal, attachable: network.attachable,
                    ipam: ipam, enableIPv6: network.enableIPv6, options: network.driverOpts.isEmpty ? nil : network.driverOpts,
                    labels: labels))
        } catch where error.isDockerConflict {
            // Created meanwhile (another run, or a retry): the name is what matters.
        }
    }

    private func createVolume(_ step: PlanStep) async throws {
        let key = Executor.key(of: step)
        guard let volume = project.volume(key: key) else { return }
        var labels = volume.labels
        labels[LabelKey.project] = project.name
        labels[LabelKey.resourceKey] = key
        _ = try await client.createVolume(
            VolumeCreateRequest(
                name: volume.name, driver: volume.driver, driverOpts: volume.driverOpts.isEmpty ? nil : volume.driverOpts,
                labels: labels))
    }

    private func removeContainer(_ step: PlanStep) async throws {
        guard let id = step.containerID else { return }
        if case .autoscale = step.cause, let service = step.service.flatMap({ project.service(named: $0) }) {
            try await drain(id, service: service)
        }
        let grace = step.service.flatMap { project.service(named: $0)?.stopGracePeriod }
        try await runPreStop(preStopHooks(step.service), in: id)
        try await stopAndRemove(id, grace: grace)
    }

    /// Takes a replica out of its service's name before it is stopped, so no new request is
    /// sent to it: Docker changes an endpoint's aliases only by disconnecting it, so it is
    /// connected again at once without them, on the same address where the network lets
    /// the address be chosen (a network with a configured subnet), so the connections it
    /// serves survive; elsewhere the engine gives it the lowest free address, which is the
    /// same one unless a lower one is free. Then it keeps serving what reaches it for
    /// `drainDelay` seconds before its stop signal and grace period.
    func drain(_ id: String, service: Service) async throws {
        let inspect: ContainerInspect
        do { inspect = try await client.inspectContainer(id) } catch where error.isDockerNotFound { return }
        guard inspect.state?.running == true else { return }
        let serving = Set([service.name] + service.networks.flatMap(\.aliases))
        var left = false
        for (network, endpoint) in (inspect.networkSettings?.networks ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard let aliases = endpoint.aliases, aliases.contains(where: serving.contains) else { continue }
            let kept = aliases.filter { !serving.contains($0) && !inspect.id.hasPrefix($0) }
            try await withSlot {
                try await client.disconnectNetwork(network, container: id, force: false)
                let address = endpoint.ipAddress.flatMap { $0.isEmpty ? nil : $0 }
                do {
                    try await client.connectNetwork(
                        network, container: id,
                        endpoint: EndpointSettings(ipamConfig: address.map { EndpointIPAMConfig(ipv4Address: $0) }, aliases: kept))
                } catch let error as DockerError where address != nil && error.statusCode == 400 {
                    // No configured subnet: the engine chooses the address.
                    try await client.connectNetwork(network, container: id, endpoint: EndpointSettings(aliases: kept))
                }
            }
            left = true
        }
        if left, options.drainDelay > 0 {
            try? await Task.sleep(for: .seconds(options.drainDelay))
        }
    }

    func stopAndRemove(_ id: String, grace: Double?) async throws {
        do {
            _ = try await client.stopContainer(id, timeout: grace.map { Int($0.rounded(.up)) })
            // Never the container's volumes: named and anonymous volume data stays.
            try await client.removeContainer(id, force: true, removeVolumes: false)
        } catch where error.isDockerNotFound {}
    }

    /// Starts a stopped replica, or unpauses a paused one. The start goes first, with no
    /// inspect before it: a repair is one round trip sooner; the engine refuses to start a
    /// paused container (409), and only then is it inspected and unpaused.
    private func startContainer(_ step: PlanStep) async throws {
        guard let id = step.containerID else { return }
        do {
            _ = try await client.startContainer(id)
        } catch where error.isDockerConflict {
            guard try await client.inspectContainer(id).state?.paused == true else { throw error }
            try await client.unpauseContainer(id)
        }
    }

    private func createReplica(_ step: PlanStep) async throws {
        guard let (service, replica, name) = target(of: step) else { return }
        try await waitForDependencies(of: service, step: step)
        let spec = ContainerSpec(
            project: project, service: service, replica: replica, name: name, devices: devices(step, service), hostPorts: step.hostPorts)
        try await withStartingSlot { _ = try await createAndStart(spec) }
    }

    /// Creates the container, joins its other networks, writes its secret and config
    /// files, and starts it.
    func createAndStart(_ spec: ContainerSpec) async throws -> String {
        if let missing = spec.files.unavailable.first {
            throw ExecutionError("\(missing) has no content at hand: load the manifest that defines it")
        }
        var spec = spec
        try spec.adapt(to: try await client.apiVersion())
        let created: ContainerCreateResponse
        do {
            created = try await client.createContainer(name: spec.name, spec.request, platform: spec.platform)
        } catch where error.isDockerNotFound {
            throw ExecutionError(
                "image \(spec.request.config.image ?? "?") not found on this host: build it or pull it first (\(Executor.describe(error)))")
        }
        for network in spec.extraNetworks {
            try await client.connectNetwork(network.name, container: created.id, endpoint: network.endpoint)
        }
        try await spec.files.write(into: created.id, client: client)
        _ = try await client.startContainer(created.id)
        try await runHooks(spec.postStart, in: created.id, kind: "post_start")
        return created.id
    }

    /// The devices of the step's replica, exactly as the planner hashed them: nil keeps the
    /// declared ones, an empty list runs the replica on CPU, ids replace the GPU requests.
    func devices(_ step: PlanStep, _ service: Service) -> [ReconcileCore.DeviceRequest]? {
        step.gpus.map { service.devices(placedOn: $0) }
    }

    func target(of step: PlanStep) -> (Service, Int, String)? {
        guard let name = step.service, let service = project.service(named: name), let replica = step.replica else { return nil }
        return (service, replica, step.containerName ?? Naming.containerName(project: project.name, service: service, replica: replica))
    }

    // MARK: gates

    /// Waits until a dependency meets its `depends_on` condition, for every replica.
    private func waitForDependencies(of service: Service, step: PlanStep) async throws {
        for dependency in service.dependsOn where dependency.condition != .started {
            guard let other = project.service(named: dependency.service), other.replicas > 0 else { continue }
            for replica in 1...other.replicas {
                let name = Naming.containerName(project: project.name, service: other, replica: replica)
                emit(.stepProgress(step, "waiting for \(name) to be \(dependency.condition == .healthy ? "healthy" : "completed")"))
                try await waitFor(name, condition: dependency.condition)
            }
        }
    }

    private func waitFor(_ container: String, condition: Dependency.Condition) async throws {
        let deadline = ContinuousClock.now + .seconds(options.gateTimeout)
        while true {
            let inspect: ContainerInspect
            do {
                inspect = try await client.inspectContainer(container)
            } catch where error.isDockerNotFound {
                throw ExecutionError("dependency \(container) does not exist")
            }
            let state = inspect.state
            switch condition {
            case .started: return
            case .healthy:
                if state?.health == nil {
                    throw ExecutionError("\(container) has no healthcheck, so `condition: service_healthy` can never be met: add a healthcheck")
                }
                if state?.health?.status == "healthy" { return }
                if state?.status == "exited" || state?.status == "dead" {
                    throw ExecutionError("dependency \(container) exited with code \(state?.exitCode ?? -1) before it was healthy")
                }
            case .completedSuccessfully:
                if state?.status == "exited" {
                    if state?.exitCode == 0 { return }
                    throw ExecutionError("dependency \(container) exited with code \(state?.exitCode ?? -1)")
                }
            }
            if ContinuousClock.now > deadline {
                throw ExecutionError("timed out after \(Int(options.gateTimeout)) s waiting for \(container)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// A replica's health gate as the plan set it: healthy by Docker's healthcheck when the
    /// container has one, else still running after `monitor` seconds, within `timeout`.
    /// Throws with the last lines of its log on failure.
    func gate(_ id: String, _ gate: HealthGate?, step: PlanStep) async throws {
        let monitor = gate?.monitor ?? options.defaultMonitor
        let timeout = gate?.timeout ?? options.gateTimeout
        let started = ContinuousClock.now
        let deadline = started + .seconds(timeout)
        emit(.stepProgress(step, "waiting for health"))
        while true {
            let state = try await client.inspectContainer(id).state
            if state?.status == "exited" || state?.status == "dead" {
                throw await gateFailure(id, "exited with code \(state?.exitCode ?? -1)")
            }
            if let health = state?.health?.status {
                if health == "healthy" { return }
                if health == "unhealthy" { throw await gateFailure(id, "is unhealthy") }
            } else if state?.status == "running", ContinuousClock.now - started >= .seconds(monitor) {
                return
            }
            if ContinuousClock.now > deadline {
                throw await gateFailure(id, "was not healthy after \(PlanText.seconds(timeout))")
            }
            // Every 100 ms, and at the end of the monitor period rather than up to 100 ms after it.
            let untilMonitor = started + .seconds(monitor) - ContinuousClock.now
            let poll: Duration = state?.health == nil && untilMonitor > .zero ? min(.milliseconds(100), untilMonitor) : .milliseconds(100)
            try await Task.sleep(for: poll)
        }
    }

    private func gateFailure(_ id: String, _ what: String) async -> ExecutionError {
        var message = "health gate failed: the new container \(what)"
        if let chunks = try? await client.containerLogs(id, tail: 10) {
            let text = SecretRedactor(project: project).redact(chunks.map { String(decoding: $0.bytes, as: UTF8.self) }.joined())
                .split(separator: "\n").suffix(10).map { "    | \($0)" }.joined(separator: "\n")
            if !text.isEmpty { message += "; last log lines:\n" + text }
        }
        return ExecutionError(message)
    }

    // MARK: helpers

    static func key(of step: PlanStep) -> String {
        String(step.resource.split(separator: ":", maxSplits: 1).last ?? "")
    }

    public static func describe(_ error: any Error) -> String {
        if let error = error as? ExecutionError { return error.message }
        return String(describing: error)
    }
}

public struct ExecutionError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A step that was interrupted (SIGINT/SIGTERM) before its first engine call.
struct NotStarted: Error {}

/// A counting semaphore for engine work, first come first served.
actor Slots {
    private var free: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(_ count: Int) { free = max(1, count) }

    func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty {
            free += 1
        } else {
            waiters.removeFirst().resume()
        }
    }
}

/// A step this executor does not carry out.
struct ExecutorRefusal: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
