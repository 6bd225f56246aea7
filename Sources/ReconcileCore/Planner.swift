/// Plans the steps that take `observed` to `desired`.
///
/// Pure: no I/O, no clock, no logging. Everything it has to say is in the returned plan
/// (warnings, reasons) or in the thrown `PlanningError`. Objects without the project's
/// label are never planned on, and volumes are never removed.
public func plan(desired: Project, observed: ObservedState, options: PlanOptions = .init()) throws -> Plan {
    var planner = Planner(desired: desired, observed: observed, options: options)
    return try planner.run()
}

struct Planner {
    let desired: Project
    let observed: ObservedState
    let options: PlanOptions

    private var steps: [PlanStep] = []
    private var warnings: [String] = []
    private var problems: [String] = []
    private var unchanged = 0
    /// Step ids that create each network/volume key, so containers can depend on them.
    private var networkSteps: [String: Int] = [:]
    private var volumeSteps: [String: Int] = [:]
    /// Step ids of each service's container steps, so dependents can wait for them.
    private var serviceSteps: [String: [Int]] = [:]
    /// Field maps of configs already flattened: replicas of one service share them.
    private var desiredFields: [String: [String: String]] = [:]
    private var observedFields: [String: [String: String]] = [:]

    init(desired: Project, observed: ObservedState, options: PlanOptions) {
        self.desired = desired
        self.observed = observed
        self.options = options
    }

    mutating func run() throws -> Plan {
        planNetworks()
        planVolumes()
        let ours = observed.containers.filter { $0.project == desired.name && $0.state != .removing }
        var byService: [String: [ObservedContainer]] = [:]
        for container in ours {
            byService[container.service ?? "", default: []].append(container)
        }
        for index in serviceOrder() {
            planService(desired.services[index], observed: byService[desired.services[index].name] ?? [])
        }
        planOrphans(byService)
        planNetworkPrune()
        if !problems.isEmpty { throw PlanningError(problems: problems) }
        return Plan(project: desired.name, steps: steps, warnings: warnings, unchanged: unchanged)
    }

    // MARK: networks and volumes

    private mutating func planNetworks() {
        let byName = Dictionary(observed.networks.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for network in desired.networks {
            let existing = byName[network.name]
            if network.external {
                if existing == nil && !observed.networks.isEmpty {
                    problems.append(
                        "network \(network.name) is declared external but does not exist on the host: create it (docker network create \(network.name)) or remove `external: true`"
                    )
                }
                continue
            }
            if let existing {
                if existing.labels[LabelKey.project] != desired.name {
                    warnings.append("network \(network.name) exists but was not created by reconcile for project \(desired.name); using it as it is")
                }
                continue
            }
            networkSteps[network.key] = add(
                PlanStep(
                    resource: "network:\(network.key)", action: .createNetwork, reason: "network \(network.name) does not exist",
                    engineName: network.name))
        }
    }

    private mutating func planVolumes() {
        let byName = Dictionary(observed.volumes.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for volume in desired.volumes {
            let existing = byName[volume.name]
            if volume.external {
                if existing == nil && !observed.volumes.isEmpty {
                    problems.append(
                        "volume \(volume.name) is declared external but does not exist on the host: create it (docker volume create \(volume.name)) or remove `external: true`"
                    )
                }
                continue
            }
            if let existing {
                if existing.labels[LabelKey.project] != desired.name {
                    warnings.append("volume \(volume.name) exists but was not created by reconcile for project \(desired.name); using it as it is")
                }
                continue
            }
            volumeSteps[volume.key] = add(
                PlanStep(
                    resource: "volume:\(volume.key)", action: .createVolume, reason: "volume \(volume.name) does not exist",
                    engineName: volume.name))
        }
    }

    // MARK: services

    /// Indices of services in `depends_on` order (dependencies first), ties by name. A cycle is a problem.
    private mutating func serviceOrder() -> [Int] {
        let services = desired.services
        let index = Dictionary(services.indices.map { (services[$0].name, $0) }, uniquingKeysWith: { first, _ in first })
        var order: [Int] = []
        order.reserveCapacity(services.count)
        var state = [UInt8](repeating: 0, count: services.count)  // 1 visiting, 2 done
        var cycle: [String]? = nil
        func visit(_ i: Int, path: [String]) {
            if state[i] == 2 { return }
            if state[i] == 1 {
                if cycle == nil { cycle = path + [services[i].name] }
                return
            }
            state[i] = 1
            if !services[i].dependsOn.isEmpty {
                for dependency in services[i].dependsOn.sorted(by: { $0.service < $1.service }) {
                    if let next = index[dependency.service] { visit(next, path: path + [services[i].name]) }
                }
            }
            state[i] = 2
            order.append(i)
        }
        for i in services.indices { visit(i, path: []) }
        if let cycle {
            problems.append("depends_on has a cycle: \(cycle.joined(separator: " → "))")
        }
        return order
    }

    private mutating func planService(_ service: Service, observed containers: [ObservedContainer]) {
        let config = ReplicaConfig(service: service, project: desired)
        let hash = config.hash()
        let masked = config.masked(secrets: service.secretEnv)
        let wantedImageID = observed.images[service.image]
        var dependencies = dependencySteps(of: service).sorted()
        var ids: [Int] = []

        func isCurrent(_ container: ObservedContainer) -> Bool {
            guard container.configHash == hash else { return false }
            if let wantedImageID, !container.imageID.isEmpty, container.imageID != wantedImageID { return false }
            return true
        }

        // Leftovers of an interrupted start-first rollout, and containers without a valid slot,
        // visited in a fixed order so the plan does not depend on the engine's listing order.
        let containers = containers.count < 2 ? containers : containers.sorted {
            ($0.replica ?? 0, $0.name, $0.id) < ($1.replica ?? 0, $1.name, $1.id)
        }
        var slots: [Int: [ObservedContainer]] = [:]
        for container in containers {
            if container.isSurge {
                ids.append(add(removeStep(service.name, container, reason: "leftover of an interrupted start-first rollout")))
            } else if let replica = container.replica, replica >= 1 {
                slots[replica, default: []].append(container)
            } else {
                ids.append(add(removeStep(service.name, container, reason: "container has no valid replica label")))
            }
        }

        // Two containers claiming one slot: keep the best, deterministically.
        var current: [Int: ObservedContainer] = [:]
        for (replica, claimants) in slots {
            let ranked = claimants.sorted { a, b in
                let (ac, bc) = (isCurrent(a), isCurrent(b))
                if ac != bc { return ac }
                let (ar, br) = (a.state == .running, b.state == .running)
                if ar != br { return ar }
                if a.name != b.name {
                    let expected = Naming.containerName(project: desired.name, service: service.name, replica: replica)
                    if a.name == expected || b.name == expected { return a.name == expected }
                }
                if a.created != b.created { return a.created < b.created }
                return a.id < b.id
            }
            current[replica] = ranked[0]
            for extra in ranked.dropFirst() {
                ids.append(add(removeStep(service.name, extra, reason: "duplicate of replica \(replica) (keeping \(ranked[0].name))")))
            }
        }

        // New and replacement containers wait for the cleanup above, which frees their names.
        dependencies.append(contentsOf: ids)

        // Scale down: out-of-date replicas first, then the highest numbers.
        let target = max(0, service.replicas)
        if current.count > target {
            let victims = current.values.sorted { a, b in
                let (ac, bc) = (isCurrent(a), isCurrent(b))
                if ac != bc { return !ac }
                return (a.replica ?? 0) > (b.replica ?? 0)
            }.prefix(current.count - target)
            for victim in victims.sorted(by: { ($0.replica ?? 0) < ($1.replica ?? 0) }) {
                ids.append(add(removeStep(service.name, victim, reason: "scale down from \(current.count) to \(target) replicas")))
                if let replica = victim.replica { current[replica] = nil }
            }
        }

        // Existing replicas: recreate what differs, start what stopped.
        let rollout = rolloutStrategy(for: service)
        for replica in current.keys.sorted() {
            guard let container = current[replica] else { continue }
            let name = Naming.containerName(project: desired.name, service: service.name, replica: replica)
            let resource = "service:\(service.name):\(replica)"
            if !isCurrent(container) || container.state == .dead {
                var changes: [FieldChange] = []
                var reason: String
                if container.state == .dead {
                    reason = "container is dead"
                } else if container.configHash != hash {
                    changes = fieldChanges(from: container, to: masked, hash: hash)
                    reason = "configuration changed"
                } else {
                    reason = "image \(service.image) now points to a different image"
                    changes = [FieldChange(field: "image id", from: shortID(container.imageID), to: shortID(wantedImageID ?? ""))]
                }
                reason += " (\(rollout.strategy.rawValue): \(rollout.why))"
                ids.append(
                    add(
                        PlanStep(
                            resource: resource, action: .recreate, reason: reason, changes: changes, dependsOn: dependencies,
                            service: service.name, replica: replica, containerName: name, containerID: container.id,
                            configHash: hash, strategy: rollout.strategy)))
            } else if let why = startReason(container, service: service) {
                ids.append(
                    add(
                        PlanStep(
                            resource: resource, action: .start, reason: why, dependsOn: dependencies, service: service.name,
                            replica: replica, containerName: container.name, containerID: container.id)))
            } else {
                unchanged += 1
            }
        }

        // Scale up: fill gaps first, then the next numbers.
        var missing = target - current.count
        var replica = 1
        while missing > 0 {
            if current[replica] == nil {
                let reason = containers.isEmpty && replica == 1 ? "new service" : "replica \(replica) is missing"
                ids.append(
                    add(
                        PlanStep(
                            resource: "service:\(service.name):\(replica)", action: .create, reason: reason,
                            dependsOn: dependencies, service: service.name, replica: replica,
                            containerName: Naming.containerName(project: desired.name, service: service.name, replica: replica),
                            configHash: hash)))
                missing -= 1
            }
            replica += 1
        }
        serviceSteps[service.name] = ids
    }

    /// Steps a service's containers wait for: its networks and volumes, and its dependencies' containers.
    private func dependencySteps(of service: Service) -> [Int] {
        var out: Set<Int> = []
        for network in service.networks {
            if let id = networkSteps[network.key] { out.insert(id) }
        }
        for mount in service.mounts where mount.type == .volume {
            if let key = mount.source, let id = volumeSteps[key] { out.insert(id) }
        }
        for dependency in service.dependsOn {
            out.formUnion(serviceSteps[dependency.service] ?? [])
        }
        return Array(out)
    }

    private func rolloutStrategy(for service: Service) -> (strategy: RolloutStrategy, why: String) {
        let asked = service.updateConfig.order
        if asked == .stopFirst { return (.stopFirst, "update_config.order is stop-first") }
        var blocker: String? = nil
        if let port = service.ports.first(where: { $0.published != nil }), let published = port.published {
            blocker = "it publishes fixed host port \(published), which the old and new container cannot both hold"
        } else if service.networks.contains(where: { $0.ipv4Address != nil }) {
            blocker = "it has a fixed IP address"
        } else if service.devices.contains(where: { $0.isGPU }) {
            blocker = "its GPUs are held by the old container and no spare GPU allows a surge"
        }
        if let blocker {
            return (.stopFirst, asked == .startFirst ? "start-first is impossible: \(blocker)" : blocker)
        }
        return (.startFirst, asked == .startFirst ? "update_config.order is start-first" : "no fixed port or device prevents a surge")
    }

    /// Why an up-to-date container needs starting, or nil when it is as it should be.
    private func startReason(_ container: ObservedContainer, service: Service) -> String? {
        switch container.state {
        case .running, .restarting, .removing, .dead: return nil
        case .paused: return "container is paused"
        case .created: return "container was created but never started"
        case .exited:
            if container.exitCode == 0 && isOneShot(service) { return nil }
            return "container exited" + (container.exitCode.map { " (code \($0))" } ?? "")
        }
    }

    /// A service that others wait on with `service_completed_successfully` is meant to run once.
    private func isOneShot(_ service: Service) -> Bool {
        desired.services.contains { other in
            other.dependsOn.contains { $0.service == service.name && $0.condition == .completedSuccessfully }
        }
    }

    private mutating func fieldChanges(from container: ObservedContainer, to desired: ReplicaConfig, hash: String) -> [FieldChange] {
        guard let label = container.labels[LabelKey.config], let before = decodedFields(label) else {
            return [FieldChange(field: "config hash", from: container.configHash.map { String($0.prefix(12)) }, to: String(hash.prefix(12)))]
        }
        let after = desiredFields[hash] ?? desired.fields()
        desiredFields[hash] = after
        var changes: [FieldChange] = []
        for field in Set(before.keys).union(after.keys).sorted() where before[field] != after[field] {
            changes.append(FieldChange(field: field, from: before[field], to: after[field]))
        }
        if changes.isEmpty {
            // Only a masked value differs: say so without showing it.
            changes.append(FieldChange(field: "secret_env", from: ReplicaConfig.sensitive, to: ReplicaConfig.sensitive))
        }
        return changes
    }

    private mutating func decodedFields(_ label: String) -> [String: String]? {
        if let cached = observedFields[label] { return cached }
        guard let config = ReplicaConfig.decode(label: label) else { return nil }
        let fields = config.fields()
        observedFields[label] = fields
        return fields
    }

    // MARK: orphans

    private mutating func planOrphans(_ byService: [String: [ObservedContainer]]) {
        let known = Set(desired.services.map(\.name))
        for name in byService.keys.sorted() where !known.contains(name) {
            let containers = (byService[name] ?? []).sorted { $0.name < $1.name }
            if options.prune {
                for container in containers {
                    add(removeStep(name.isEmpty ? "?" : name, container, reason: "service \(name) is no longer in the manifest"))
                }
            } else {
                let names = containers.map(\.name).joined(separator: ", ")
                warnings.append(
                    "service \(name) is no longer in the manifest; its containers (\(names)) are kept: run with --prune to remove them"
                )
            }
        }
    }

    private mutating func planNetworkPrune() {
        let wanted = Set(desired.networks.map(\.name))
        let orphans = observed.networks.filter { $0.labels[LabelKey.project] == desired.name && !wanted.contains($0.name) }
            .sorted { $0.name < $1.name }
        guard !orphans.isEmpty else { return }
        if options.prune {
            let removals = steps.filter { $0.action == .remove }.map(\.id)
            for network in orphans {
                let key = network.labels[LabelKey.resourceKey] ?? network.name
                add(
                    PlanStep(
                        resource: "network:\(key)", action: .removeNetwork, reason: "network is no longer in the manifest",
                        dependsOn: removals, engineName: network.name))
            }
        } else {
            warnings.append(
                "networks no longer in the manifest are kept: \(orphans.map(\.name).joined(separator: ", ")); run with --prune to remove them"
            )
        }
    }

    // MARK: helpers

    private func removeStep(_ service: String, _ container: ObservedContainer, reason: String) -> PlanStep {
        PlanStep(
            resource: "service:\(service):\(container.replica.map(String.init) ?? "?")", action: .remove, reason: reason,
            service: service, replica: container.replica, containerName: container.name, containerID: container.id)
    }

    @discardableResult
    private mutating func add(_ step: PlanStep) -> Int {
        var step = step
        step.id = steps.count
        steps.append(step)
        return step.id
    }

    private func shortID(_ id: String) -> String {
        let bare = id.hasPrefix("sha256:") ? String(id.dropFirst(7)) : id
        return String(bare.prefix(12))
    }
}
