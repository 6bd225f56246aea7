import DockerEngine
import Foundation
import ReconcileCore

/// The recreates of each service in one run: how many run at once (`update_config.parallelism`,
/// `delay`), which old containers were retired and can be put back, and whether the rollout
/// stopped. Old containers are stopped and renamed, not removed, until the service's rollout
/// ends, so a `rollback` failure action can put every one of them back.
actor Rollouts {
    struct Retired {
        var step: Int
        var finalName: String
        var oldID: String
        var retiredName: String
        var newID: String
        /// Networks the old container left while draining, to rejoin if it is put back.
        var endpoints: [(name: String, endpoint: EndpointSettings)] = []
    }

    struct ServiceRollout {
        /// As the plan decided it: batch, delay, gate, failure action, whether old containers are kept.
        var plan: ReconcileCore.ServiceRollout
        var inFlight = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
        var retired: [Retired] = []
        var failure: String?
        var limit: Int { max(1, plan.batch) }
    }

    private var services: [String: ServiceRollout] = [:]

    init(plan: Plan) {
        for rollout in plan.rollouts {
            services[rollout.service] = ServiceRollout(plan: rollout)
        }
    }

    /// The health gate the plan set for a service's new replicas.
    func gate(of service: String) -> HealthGate? { services[service]?.plan.gate }

    /// Why a service's remaining recreates must not start, or nil.
    func halted(_ service: String) -> String? {
        guard let rollout = services[service], let failure = rollout.failure else { return nil }
        if rollout.plan.failureAction == .continue { return nil }
        return "rollout of \(service) stopped: \(failure)"
    }

    private func acquire(_ service: String) async {
        guard var rollout = services[service] else { return }
        if rollout.inFlight < rollout.limit {
            rollout.inFlight += 1
            services[service] = rollout
            return
        }
        await withCheckedContinuation { continuation in
            services[service]?.waiters.append(continuation)
        }
    }

    private func release(_ service: String) {
        guard var rollout = services[service] else { return }
        if rollout.waiters.isEmpty {
            rollout.inFlight -= 1
        } else {
            rollout.waiters.removeFirst().resume()
        }
        services[service] = rollout
    }

    /// Whether replaced containers are kept until the service's rollout ends: only
    /// `failure_action: rollback` may put them back.
    private func keepsReplaced(_ service: String) -> Bool { services[service]?.plan.keepsReplaced == true }

    private func record(_ service: String, _ retired: Retired) { services[service]?.retired.append(retired) }

    /// A stop-first replica's old container, stopped and renamed, once its replacement passed
    /// its gate: kept until the rollout ends where a rollback may put it back, else removed now.
    private func settle(_ service: String, _ retired: Retired, executor: Executor) async {
        if !keepsReplaced(service) {
            do {
                try await executor.withSlot {
                    try await executor.client.removeContainer(retired.oldID, force: true, removeVolumes: false)
                }
                return
            } catch where error.isDockerNotFound {
                return
            } catch {
                // Left for `finish` to try again; a later run removes it as a leftover.
            }
        }
        record(service, retired)
    }

    private func fail(_ service: String, _ message: String) {
        if services[service]?.failure == nil { services[service]?.failure = message }
    }

    /// Replaces one replica according to its step's strategy, inside the service's limit.
    func recreate(_ step: PlanStep, executor: Executor) async throws {
        guard let (service, replica, name) = executor.target(of: step), let oldID = step.containerID else { return }
        await acquire(service.name)
        var released = false
        /// Frees the slot (after `delay`): at the end, or as soon as the new container serves.
        func releaseSlot() {
            guard !released else { return }
            released = true
            let delay = services[service.name]?.plan.delay ?? 0
            if delay > 0 {
                Task {
                    try? await Task.sleep(for: .seconds(delay))
                    self.release(service.name)
                }
            } else {
                release(service.name)
            }
        }
        defer { releaseSlot() }
        if let reason = halted(service.name) { throw ExecutionError(reason) }
        executor.emit(.stepStarted(step))
        let client = executor.client
        let retiredName = "\(name)-old-\(oldID.prefix(8))"
        let devices = executor.devices(step, service)
        do {
            if step.strategy == .startFirst {
                let surge = Naming.surgeName(project: executor.project.name, service: service.name, replica: replica)
                let spec = ContainerSpec(
                    project: executor.project, service: service, replica: replica, name: name, devices: devices, surgeName: surge,
                    hostPorts: step.hostPorts)
                let newID = try await executor.withStartingSlot { try await executor.createAndStart(spec) }
                do {
                    try await executor.gate(newID, gate(of: service.name), step: step)
                    // Healthy: now it may take the service's traffic.
                    try await executor.withSlot {
                        for network in spec.servingEndpoints {
                            try await client.disconnectNetwork(network.name, container: newID, force: true)
                            try await client.connectNetwork(network.name, container: newID, endpoint: network.endpoint)
                        }
                    }
                } catch {
                    try? await executor.stopAndRemove(newID, grace: 0)
                    throw error
                }
                // Take the old container out of the service's name: no new request is sent to
                // it. Docker cannot drop a network alias without disconnecting, and the
                // disconnect ends the connections the old container had on that network, so
                // waiting before the stop would serve nobody: it is stopped at once.
                for network in spec.servingEndpoints {
                    try? await client.disconnectNetwork(network.name, container: oldID, force: true)
                }
                // The new container serves in the old one's place: the service is back at its
                // replica count, so the next replica's surge may start while this one's old
                // container stops (as Kubernetes does not count terminating pods as surge).
                releaseSlot()
                try await executor.runPreStop(service.options?.preStop ?? [], in: oldID)
                // Stopping waits out the old container's grace period: the engine's time, no slot.
                // An old container already gone (removed by someone, or by its `--rm`) has
                // nothing left to stop or keep: the replacement simply takes its name.
                var oldGone = false
                do {
                    _ = try await client.stopContainer(oldID, timeout: service.stopGracePeriod.map { Int($0.rounded(.up)) })
                } catch where error.isDockerNotFound {
                    oldGone = true
                }
                // Only `failure_action: rollback` may want the old container back: set it aside
                // for that, else remove it, which frees the replica's name for the new one.
                let keep = keepsReplaced(service.name) && !oldGone
                try await executor.withSlot {
                    if keep {
                        try await Self.retire(oldID, as: retiredName, client: client)
                    } else if !oldGone {
                        do { try await client.removeContainer(oldID, force: true, removeVolumes: false) } catch where error.isDockerNotFound {}
                    }
                    try await client.renameContainer(newID, to: name)
                }
                if keep {
                    record(
                        service.name,
                        Retired(
                            step: step.id, finalName: name, oldID: oldID, retiredName: retiredName, newID: newID,
                            endpoints: spec.servingEndpoints))
                }
            } else {
                try await executor.withStartingSlot {
                    try await executor.runPreStop(service.options?.preStop ?? [], in: oldID)
                    _ = try await client.stopContainer(oldID, timeout: service.stopGracePeriod.map { Int($0.rounded(.up)) })
                    try await Self.retire(oldID, as: retiredName, client: client)
                }
                let spec = ContainerSpec(
                    project: executor.project, service: service, replica: replica, name: name, devices: devices, hostPorts: step.hostPorts)
                var newID: String? = nil
                do {
                    newID = try await executor.withSlot { try await executor.createAndStart(spec) }
                    if let newID { try await executor.gate(newID, gate(of: service.name), step: step) }
                } catch {
                    // Put the old container back where it was; a failure to do so is part of
                    // what the step reports, since the replica is then down.
                    var restore: [String] = []
                    if let newID {
                        do { try await executor.stopAndRemove(newID, grace: 0) } catch { restore.append("removing \(newID.prefix(12)): \(Executor.describe(error))") }
                    }
                    do { try await client.renameContainer(oldID, to: name) } catch { restore.append("renaming it back to \(name): \(Executor.describe(error))") }
                    do { _ = try await client.startContainer(oldID) } catch { restore.append("starting it again: \(Executor.describe(error))") }
                    guard restore.isEmpty else {
                        throw ExecutionError(
                            "\(Executor.describe(error)); putting the old container back failed: \(restore.joined(separator: "; "))")
                    }
                    throw error
                }
                if let newID {
                    await settle(
                        service.name, Retired(step: step.id, finalName: name, oldID: oldID, retiredName: retiredName, newID: newID),
                        executor: executor)
                }
            }
        } catch {
            // Interrupted before any engine work: nothing of this replica changed.
            if !(error is NotStarted) {
                fail(service.name, "\(name): \(Executor.describe(error).split(separator: "\n").first ?? "")")
            }
            throw error
        }
    }

    /// Runs one restore call; what went wrong, or nil.
    static func attempt(_ what: String, _ body: () async throws -> Void) async -> String? {
        do {
            try await body()
            return nil
        } catch {
            return "\(what): \(Executor.describe(error))"
        }
    }

    /// Renames the replaced container out of the replica's name. A run killed just after
    /// this rename leaves the container retired already, and the next run plans to replace
    /// it again: then the rename has nothing to do.
    static func retire(_ id: String, as retiredName: String, client: any ContainerEngine) async throws {
        do {
            try await client.renameContainer(id, to: retiredName)
        } catch {
            if let name = try? await client.inspectContainer(id).name, name == retiredName || name == "/" + retiredName { return }
            throw error
        }
    }

    /// Ends every rollout: removes retired containers, or puts them back where the service's
    /// failure action is `rollback` and a replica failed. Returns the steps whose outcome changed.
    func finish(executor: Executor) async -> [Int: ExecutionResult.Outcome] {
        var changed: [Int: ExecutionResult.Outcome] = [:]
        for name in services.keys.sorted() {
            guard let rollout = services[name] else { continue }
            if rollout.failure != nil && rollout.plan.keepsReplaced {
                for retired in rollout.retired {
                    executor.emit(.note("rolling back \(retired.finalName) to its previous container"))
                    // Every restore call is tried even when one fails; any failure makes the step
                    // failed, not rolled back: the replica is not what ran before.
                    var problems: [String] = []
                    if let problem = await Self.attempt("removing the new container", { try await executor.stopAndRemove(retired.newID, grace: 0) }) {
                        problems.append(problem)
                    }
                    if let problem = await Self.attempt("renaming the old container back to \(retired.finalName)", {
                        try await executor.client.renameContainer(retired.oldID, to: retired.finalName)
                    }) {
                        problems.append(problem)
                    }
                    for network in retired.endpoints {
                        let problem = await Self.attempt("reconnecting it to \(network.name)") {
                            do {
                                try await executor.client.connectNetwork(network.name, container: retired.oldID, endpoint: network.endpoint)
                            } catch where error.isDockerConflict || error.isDockerForbidden {
                                // Still attached (it was never disconnected): the state wanted.
                            }
                        }
                        if let problem { problems.append(problem) }
                    }
                    if let problem = await Self.attempt("starting the old container", { _ = try await executor.client.startContainer(retired.oldID) }) {
                        problems.append(problem)
                    }
                    if problems.isEmpty {
                        changed[retired.step] = .rolledBack
                    } else {
                        let message = "rollback of \(retired.finalName) failed: \(problems.joined(separator: "; "))"
                        executor.emit(.note(message))
                        changed[retired.step] = .failed(message)
                    }
                }
            } else {
                // Retired containers were stopped when they were set aside: removing them is all
                // that is left (a stop first would be one more engine call for nothing).
                await withTaskGroup(of: Void.self) { group in
                    for retired in rollout.retired {
                        group.addTask {
                            try? await executor.withSlot {
                                do {
                                    try await executor.client.removeContainer(retired.oldID, force: true, removeVolumes: false)
                                } catch where error.isDockerNotFound {}
                            }
                        }
                    }
                }
            }
        }
        return changed
    }
}
