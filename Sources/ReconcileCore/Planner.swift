/// Plans the steps that take `observed` to `desired`.
///
/// Pure: no I/O, no clock, no logging. Everything it has to say is in the returned plan
/// (warnings, reasons) or in the thrown `PlanningError`. Objects without the project's
/// label are never planned on, and volumes are never removed.
public func plan(desired: Project, observed: ObservedState, options: PlanOptions = .init()) throws -> Plan {
    var planner = Planner(desired: desired, observed: observed.upgradingLegacyHashes(for: desired), options: options)
    return try planner.run()
}

struct Planner {
    let desired: Project
    let observed: ObservedState
    let options: PlanOptions

    var steps: [PlanStep] = []
    var warnings: [String] = []
    var problems: [String] = []
    var deferred: [String] = []
    private var unchanged = 0
    /// Step ids that create each network/volume key, so containers can depend on them.
    private var networkSteps: [String: Int] = [:]
    private var volumeSteps: [String: Int] = [:]
    /// Step ids of each service's container steps, so dependents can wait for them.
    private var serviceSteps: [String: [Int]] = [:]
    /// Field maps of configs already flattened: replicas of one service share them.
    private var desiredFields: [String: [String: String]] = [:]
    private var observedFields: [String: [String: String]] = [:]
    /// GPU placement of each service that asks for GPUs; empty when none does.
    var gpuServices: [String: GPUServicePass] = [:]
    /// GPUs nobody holds or is placed on, consumed by start-first surges in plan order.
    var spareGPUs: [String] = []
    /// Configs and hashes of GPU replicas by service and placement: replicas differ only in their ids.
    var gpuConfigs: [String: (masked: ReplicaConfig, hash: String)] = [:]
    /// Host ports ("8000/tcp") held by observed containers or given by this plan; nil until first needed.
    var hostPortsTaken: Set<String>?

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
        let order = serviceOrder()
        placeGPUs(byService)
        for index in order {
            planService(desired.services[index], observed: byService[desired.services[index].name] ?? [])
        }
        planOrphans(byService)
        planNetworkPrune()
        checkEngine()
        if !gpuServices.isEmpty { waitForFreedGPUs() }
        if !problems.isEmpty { throw PlanningError(problems: problems) }
        return Plan(
            project: desired.name, steps: steps, warnings: warnings, unchanged: unchanged, deferred: deferred,
            rollouts: planRollouts())
    }

    // MARK: networks and volumes

    private mutating func planNetworks() {
        let byName = Dictionary(observed.networks.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for network in desired.networks {
            let existing = byName[network.name]
            if network.external {
                if existing == nil {
                    if observed.networksListed == true || !observed.networks.isEmpty {
                        problems.append(
                            "network \(network.name) is declared external but does not exist on the host: create it (docker network create \(network.name)) or remove `external: true`"
                        )
                    } else {
                        warnings.append("external network \(network.name) is not checked: the host's networks were not observed")
                    }
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
                    resource: "network:\(network.key)", action: .createNetwork, cause: .networkMissing(name: network.name),
                    engineName: network.name))
        }
    }

    private mutating func planVolumes() {
        let byName = Dictionary(observed.volumes.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for volume in desired.volumes {
            let existing = byName[volume.name]
            if volume.external {
                if existing == nil {
                    if observed.volumesListed == true || !observed.volumes.isEmpty {
                        problems.append(
                            "volume \(volume.name) is declared external but does not exist on the host: create it (docker volume create \(volume.name)) or remove `external: true`"
                        )
                    } else {
                        warnings.append("external volume \(volume.name) is not checked: the host's volumes were not observed")
                    }
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
                    resource: "volume:\(volume.key)", action: .createVolume, cause: .volumeMissing(name: volume.name),
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
            for reference in (services[i].options?.serviceReferences ?? []).sorted() {
                if let next = index[reference] { visit(next, path: path + [services[i].name]) }
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

    /// A service's containers sorted into replica slots: what goes, what stays, what is new.
    struct Slots {
        /// Containers removed before anything else (leftover surges, bad labels, duplicates), with the reason.
        var cleanup: [(container: ObservedContainer, cause: StepCause.Cleanup)] = []
        /// The container kept in each slot after scaling down.
        var current: [Int: ObservedContainer] = [:]
        /// Replicas removed to scale down, by slot number.
        var victims: [ObservedContainer] = []
        /// Kept replicas before scaling down.
        var before = 0
        /// Slots to create: gaps first, then the next numbers.
        var new: [Int] = []
    }

    /// Sorts a service's containers into slots. `isCurrent` says whether a container matches
    /// the manifest: current ones win a contested slot and survive a scale-down.
    static func slots(
        of service: Service, project: String, _ containers: [ObservedContainer], isCurrent: (ObservedContainer) -> Bool
    ) -> Slots {
        var out = Slots()
        // Visited in a fixed order so the plan does not depend on the engine's listing order.
        let containers = containers.count < 2 ? containers : containers.sorted {
            ($0.replica ?? 0, $0.name, $0.id) < ($1.replica ?? 0, $1.name, $1.id)
        }
        var claims: [Int: [ObservedContainer]] = [:]
        for container in containers {
            if container.isSurge {
                out.cleanup.append((container, .leftoverSurge))
            } else if let replica = container.replica, replica >= 1 {
                claims[replica, default: []].append(container)
            } else {
                out.cleanup.append((container, .noReplicaLabel))
            }
        }

        // Two containers claiming one slot: keep the best, deterministically.
        for replica in claims.keys.sorted() {
            guard let claimants = claims[replica] else { continue }
            if claimants.count == 1 {
                out.current[replica] = claimants[0]
                continue
            }
            let ranked = claimants.sorted { a, b in
                let (ac, bc) = (isCurrent(a), isCurrent(b))
                if ac != bc { return ac }
                let (ar, br) = (a.state == .running, b.state == .running)
                if ar != br { return ar }
                if a.name != b.name {
                    let expected = Naming.containerName(project: project, service: service, replica: replica)
                    if a.name == expected || b.name == expected { return a.name == expected }
                }
                if a.created != b.created { return a.created < b.created }
                return a.id < b.id
            }
            out.current[replica] = ranked[0]
            for extra in ranked.dropFirst() {
                out.cleanup.append((extra, .duplicate(replica: replica, keeping: ranked[0].name)))
            }
        }

        // Scale down: out-of-date replicas first, then the highest numbers.
        let target = max(0, service.replicas)
        out.before = out.current.count
        if out.current.count > target {
            let victims = out.current.values.sorted { a, b in
                let (ac, bc) = (isCurrent(a), isCurrent(b))
                if ac != bc { return !ac }
                return (a.replica ?? 0) > (b.replica ?? 0)
            }.prefix(out.current.count - target)
            out.victims = victims.sorted(by: { ($0.replica ?? 0) < ($1.replica ?? 0) })
            for victim in out.victims {
                if let replica = victim.replica { out.current[replica] = nil }
            }
        }

        var missing = target - out.current.count
        var replica = 1
        while missing > 0 {
            if out.current[replica] == nil {
                out.new.append(replica)
                missing -= 1
            }
            replica += 1
        }
        return out
    }

    private mutating func planService(_ service: Service, observed containers: [ObservedContainer]) {
        let gpu = gpuServices[service.name]
        let config = ReplicaConfig(service: service, project: desired)
        let hash = config.hash(key: desired.hashKey)
        let wantedImageID = service.pinnedImageID ?? observed.images[service.image]
        var dependencies = dependencySteps(of: service).sorted()
        if let build = planBuild(service) { dependencies.append(build) }
        var ids: [Int] = []

        /// The hash a replica's container must carry: per replica when GPUs are placed.
        func wanted(_ replica: Int?) -> (hash: String, gpus: [String]?) {
            guard let gpu, let replica, let gpus = gpu.gpus[replica] else { return (hash, nil) }
            return (gpuHash(service, gpus), gpus)
        }

        func imageIsCurrent(_ container: ObservedContainer) -> Bool {
            if let wantedImageID, !container.imageID.isEmpty, container.imageID != wantedImageID { return false }
            return true
        }

        let slots = gpu?.slots ?? Planner.slots(of: service, project: desired.name, containers) { container in
            container.configHash == hash && imageIsCurrent(container)
        }
        for (container, cleanup) in slots.cleanup {
            ids.append(add(removeStep(service.name, container, cause: .cleanup(cleanup))))
        }

        // New and replacement containers wait for the cleanup above, which frees their names.
        dependencies.append(contentsOf: ids)

        let target = max(0, service.replicas)
        for (index, victim) in slots.victims.enumerated() {
            ids.append(add(removeStep(service.name, victim, cause: .scaleDown(from: slots.before - index, to: target))))
        }

        // Existing replicas: recreate what differs, start what stopped.
        let rollout = rolloutStrategy(for: service)
        let current = slots.current
        for replica in current.keys.sorted() {
            guard let container = current[replica] else { continue }
            let name = Naming.containerName(project: desired.name, service: service, replica: replica)
            let resource = "service:\(service.name):\(replica)"
            var want = wanted(replica)
            let detached = missingNetworks(container, service)
            // Named otherwise (retired by a rollout that was killed before its replacement
            // took the name): replaced, so the replica has its name again.
            let misnamed = container.name != name
            let joined = joinedNetworkReplaced(service)
            let stale = joined == nil ? staleNetworkStack(container, service) : nil
            if container.configHash != want.hash || !imageIsCurrent(container) || container.state == .dead || !detached.isEmpty || misnamed
                || joined != nil || stale != nil {
                var strategy = rollout
                if let gpus = want.gpus, !gpus.isEmpty, let gpu {
                    if rollout.strategy == .startFirst, options.preferredGPUs[service.name]?[replica] == gpus,
                       Set(gpus) != Set(container.gpuDeviceIDs), gpusFree(gpus) {
                        // Back to the GPUs asked for (a rollback's), which nobody holds: the
                        // surge starts there while the old container still holds its own.
                        strategy = RolloutChoice(.startFirst, .revisionGPUsFree(gpus: gpus))
                    } else {
                        let moved = gpuRollout(service, gpu, holding: gpus, base: rollout)
                        strategy = moved.choice
                        if moved.gpus != gpus { want = (gpuHash(service, moved.gpus), moved.gpus) }
                    }
                }
                var changes: [FieldChange] = []
                let replacement: StepCause.Replacement
                if container.state == .dead {
                    replacement = .dead
                } else if container.configHash != want.hash {
                    let masked = want.gpus == nil ? config.masked(secrets: service.secretEnv) : desiredConfig(service, want.gpus)
                    changes = fieldChanges(from: container, to: masked, hash: want.hash)
                    replacement = .configChanged
                } else if misnamed {
                    replacement = .misnamed(actual: container.name, expected: name)
                } else if let joined {
                    replacement = .sharedStackReplaced(container: joined)
                } else if let stale {
                    replacement = .sharedStackGone(expected: stale)
                } else if !detached.isEmpty {
                    replacement = .detached(networks: detached)
                    changes = [FieldChange(field: "networks", from: (container.networks ?? []).joined(separator: ","), to: wantedNetworks(service).joined(separator: ","))]
                } else {
                    replacement = .imageMoved(image: service.image)
                    changes = [FieldChange(field: "image id", from: shortID(container.imageID), to: shortID(wantedImageID ?? ""))]
                }
                let ports = portsForReplacement(service, container: container, strategy: strategy)
                strategy = ports.strategy
                ids.append(
                    add(
                        hostPorts: ports.ports,
                        PlanStep(
                            resource: resource, action: .recreate, cause: .replace(replacement, rollout: strategy), changes: changes,
                            dependsOn: dependencies, service: service.name, replica: replica, containerName: name,
                            containerID: container.id, configHash: want.hash, strategy: strategy.strategy, gpus: want.gpus)))
            } else if let why = startReason(container, service: service) {
                ids.append(
                    add(
                        PlanStep(
                            resource: resource, action: .start, cause: .start(why), dependsOn: dependencies, service: service.name,
                            replica: replica, containerName: container.name, containerID: container.id)))
            } else {
                unchanged += 1
            }
        }

        // Scale up: fill gaps first, then the next numbers.
        for replica in slots.new {
            let want = wanted(replica)
            let ports = portsForNewReplica(service, replica: replica)
            let cause: StepCause = containers.isEmpty && replica == 1
                ? .newService(gpus: want.gpus, hostPorts: ports) : .replicaMissing(replica: replica, gpus: want.gpus, hostPorts: ports)
            ids.append(
                add(
                    hostPorts: ports,
                    PlanStep(
                        resource: "service:\(service.name):\(replica)", action: .create, cause: cause,
                        dependsOn: dependencies, service: service.name, replica: replica,
                        containerName: Naming.containerName(project: desired.name, service: service, replica: replica),
                        configHash: want.hash, gpus: want.gpus)))
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
        for reference in service.options?.serviceReferences ?? [] {
            out.formUnion(serviceSteps[reference] ?? [])
        }
        return Array(out)
    }

    func rolloutStrategy(for service: Service) -> RolloutChoice {
        let asked = service.updateConfig.order
        if asked == .stopFirst { return RolloutChoice(.stopFirst, .asked(.stopFirst)) }
        var blocker: RolloutBlocker? = nil
        if let port = service.ports.first(where: { $0.published != nil && $0.hostRange == nil }), let published = port.published {
            blocker = .fixedHostPort(published)
        } else if service.networks.contains(where: { $0.ipv4Address != nil }) {
            blocker = .fixedIP
        } else if service.options?.sharesNetworkNamespace == true, let mode = service.options?.networkMode {
            blocker = .sharedNetworkStack(mode: mode)
        } else if service.devices.contains(where: { $0.isGPU }), gpuServices[service.name]?.placed != true {
            // Without an inventory nothing says a GPU is spare for the surge.
            blocker = .gpusHeld
        }
        if let blocker {
            return RolloutChoice(.stopFirst, .blocked(blocker, asked: asked == .startFirst))
        }
        return RolloutChoice(.startFirst, asked == .startFirst ? .asked(.startFirst) : .noBlocker)
    }

    /// Why an up-to-date container needs starting, or nil when it is as it should be.
    private func startReason(_ container: ObservedContainer, service: Service) -> StepCause.StartCause? {
        switch container.state {
        case .running, .restarting, .removing, .dead: return nil
        case .paused: return .paused
        case .created: return .createdNeverStarted
        case .exited:
            if container.exitCode == 0 && isOneShot(service) { return nil }
            return .exited(code: container.exitCode)
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
            changes.append(FieldChange(field: field, from: ReplicaConfig.shown(before[field]), to: ReplicaConfig.shown(after[field])))
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

    /// True when no observed container holds any of `ids`.
    private func gpusFree(_ ids: [String]) -> Bool {
        !observed.containers.contains { container in container.state != .removing && container.gpuDeviceIDs.contains { ids.contains($0) } }
    }

    /// Engine names of the networks a replica of `service` must be attached to.
    private func wantedNetworks(_ service: Service) -> [String] {
        service.networks.compactMap { desired.network(key: $0.key)?.name }.sorted()
    }

    /// The service's networks a container is not attached to; empty when it is, or when its
    /// attachments were not observed.
    private func missingNetworks(_ container: ObservedContainer, _ service: Service) -> [String] {
        guard let attached = container.networks else { return [] }
        return wantedNetworks(service).filter { !attached.contains($0) }
    }

    // MARK: orphans

    private mutating func planOrphans(_ byService: [String: [ObservedContainer]]) {
        let known = Set(desired.services.map(\.name))
        for name in byService.keys.sorted() where !known.contains(name) {
            let containers = (byService[name] ?? []).sorted { $0.name < $1.name }
            if options.prune {
                for container in containers {
                    add(removeStep(name.isEmpty ? "?" : name, container, cause: .serviceRemoved(service: name)))
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
            // After every container step, not only removals: a start-first recreate keeps its
            // old container (still on the network) until the replacement serves.
            let removals = steps.filter { $0.service != nil }.map(\.id)
            for network in orphans {
                let key = network.labels[LabelKey.resourceKey] ?? network.name
                add(
                    PlanStep(
                        resource: "network:\(key)", action: .removeNetwork, cause: .networkNotInManifest,
                        dependsOn: removals, engineName: network.name))
            }
        } else {
            warnings.append(
                "networks no longer in the manifest are kept: \(orphans.map(\.name).joined(separator: ", ")); run with --prune to remove them"
            )
        }
    }

    // MARK: helpers

    private func removeStep(_ service: String, _ container: ObservedContainer, cause: StepCause) -> PlanStep {
        PlanStep(
            resource: "service:\(service):\(container.replica.map(String.init) ?? "?")", action: .remove, cause: cause,
            service: service, replica: container.replica, containerName: container.name, containerID: container.id)
    }

    @discardableResult
    private mutating func add(hostPorts: [Int]? = nil, _ step: PlanStep) -> Int {
        var step = step
        step.hostPorts = hostPorts
        step.id = steps.count
        steps.append(step)
        return step.id
    }

    private func shortID(_ id: String) -> String {
        let bare = id.hasPrefix("sha256:") ? String(id.dropFirst(7)) : id
        return String(bare.prefix(12))
    }
}
