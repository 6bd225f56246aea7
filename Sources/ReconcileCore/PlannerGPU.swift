/// How the planner places GPUs: before any step is planned, every GPU service's slots are
/// decided (which replicas stay, go and come) so that one placement over all services can
/// see every holder at once; then each replica's config, and so its hash, carries its ids.
struct GPUServicePass {
    var slots: Planner.Slots
    /// Replica slot → GPU ids it runs on; an empty list runs it on CPU. A slot absent here
    /// keeps the devices as declared (shared placement without an inventory, or a failed placement).
    var gpus: [Int: [String]]
    /// True when the ids come from a placement over a known inventory.
    var placed: Bool
    var ask: GPUPlacement.Ask
}

extension Planner {
    /// Places the GPUs of every service that asks for them, and records problems and warnings.
    mutating func placeGPUs(_ byService: [String: [ObservedContainer]]) {
        let services = desired.services.filter { GPUPlacement.ask(for: $0) != nil }
        guard !services.isEmpty else { return }
        let inventory = observed.gpus ?? desired.extensions.gpus
        var demands: [GPUPlacement.Demand] = []
        var leaving: [GPUPlacement.Holder] = []
        var passes: [String: GPUServicePass] = [:]

        for service in services {
            guard let ask = GPUPlacement.ask(for: service) else { continue }
            // Current: matches the manifest on the GPUs it holds (placement may still move it),
            // or on the devices as declared.
            let currency = ReplicaCurrency(service: service, project: desired, observed: observed)
            let slots = Planner.slots(of: service, project: desired.name, byService[service.name] ?? []) { currency.isCurrent($0) }
            for container in slots.cleanup.map(\.container) + slots.victims where !container.gpuDeviceIDs.isEmpty {
                leaving.append(GPUPlacement.Holder(name: "container \(container.name)", ids: container.gpuDeviceIDs))
            }
            var replicas: [Int: [String]] = [:]
            for (slot, container) in slots.current { replicas[slot] = container.gpuDeviceIDs }
            for slot in slots.new { replicas[slot] = [] }
            let known = Set((inventory ?? []).map(\.id))
            for (slot, ids) in options.preferredGPUs[service.name] ?? [:] where replicas[slot] != nil && !ids.isEmpty {
                if ids.allSatisfy(known.contains) { replicas[slot] = ids }
            }
            demands.append(
                GPUPlacement.Demand(
                    service: service.name, ask: ask, placement: service.extensions.gpuPlacement,
                    requirement: service.extensions.gpu, minMemoryBytes: service.extensions.gpuMemoryBytes, replicas: replicas))
            passes[service.name] = GPUServicePass(slots: slots, gpus: [:], placed: inventory != nil, ask: ask)
        }

        guard let inventory else {
            for demand in demands {
                let slots = demand.replicas.keys.sorted()
                if options.offline && demand.placement == .distinct {
                    // The devices stay as declared; apply places them on the host it runs against.
                    if !slots.isEmpty {
                        deferred.append(
                            "service \(demand.service): the GPUs of each replica are assigned at apply time (the host's GPUs are unknown offline)")
                    }
                    continue
                }
                switch (demand.placement, demand.requirement) {
                case (.shared, _):
                    continue
                case (.distinct, .optional):
                    for slot in slots { passes[demand.service]?.gpus[slot] = [] }
                    if !slots.isEmpty {
                        warnings.append(
                            "service \(demand.service) runs on CPU (x-reconcile.gpu is optional): the host's GPUs are unknown\(inventoryNote); pass --gpus or set x-reconcile.gpus to place GPUs"
                        )
                    }
                case (.distinct, .required):
                    problems.append(
                        "service \(demand.service) asks for GPUs with distinct placement, but the host's GPUs are unknown\(inventoryNote): pass --gpus 0,1,… or set `x-reconcile.gpus` at the top of the manifest, or set `x-reconcile.gpu: optional` to run on CPU"
                    )
                }
            }
            gpuServices = passes
            return
        }

        let ours = Set(services.map(\.name))
        var foreign: [GPUPlacement.Holder] = []
        for container in observed.containers where !container.gpuDeviceIDs.isEmpty && container.state != .removing {
            if container.project != desired.name {
                let whose = container.project.map { "of project \($0)" } ?? "not managed by reconcile"
                foreign.append(GPUPlacement.Holder(name: "container \(container.name) (\(whose))", ids: container.gpuDeviceIDs))
            } else if let service = container.service, !ours.contains(service) {
                // Our container whose service no longer asks for GPUs: recreated or removed by
                // this plan, except a service gone from the manifest without --prune, which stays.
                let kept = desired.service(named: service) == nil && !options.prune
                let holder = GPUPlacement.Holder(
                    name: "container \(container.name)\(kept ? " (service no longer in the manifest)" : "")", ids: container.gpuDeviceIDs)
                if kept { foreign.append(holder) } else { leaving.append(holder) }
            }
        }

        let result = GPUPlacement.place(inventory: inventory, demands: demands, foreign: foreign, leaving: leaving)
        problems.append(contentsOf: result.problems)
        warnings.append(contentsOf: result.warnings)
        for (service, slots) in result.assignments { passes[service]?.gpus.merge(slots) { _, new in new } }
        for (service, slots) in result.cpu {
            for slot in slots { passes[service]?.gpus[slot] = [] }
        }
        spareGPUs = result.spare
        gpuServices = passes
    }

    /// Where the inventory came from, when the observer said: " (the probe image is missing)".
    private var inventoryNote: String {
        observed.gpuSource.map { " (\($0))" } ?? ""
    }

    /// The config of a replica on `gpus` (nil: devices as declared), secrets masked.
    mutating func desiredConfig(_ service: Service, _ gpus: [String]?) -> ReplicaConfig {
        placedConfig(service, gpus).masked
    }

    mutating func gpuHash(_ service: Service, _ gpus: [String]) -> String {
        placedConfig(service, gpus).hash
    }

    private mutating func placedConfig(_ service: Service, _ gpus: [String]?) -> (masked: ReplicaConfig, hash: String) {
        let key = service.name + "\u{0}" + (gpus.map { "[" + $0.joined(separator: ",") } ?? "declared")
        if let cached = gpuConfigs[key] { return cached }
        let config = ReplicaConfig(service: service, project: desired, devices: service.devices(placedOn: gpus))
        let value = (config.masked(secrets: service.secretEnv), config.hash(key: desired.hashKey))
        gpuConfigs[key] = value
        return value
    }

    /// How a replica that holds `gpus` is replaced: start-first onto spare GPUs when enough are
    /// spare for the surge to run beside the old container, else stop-first on its own GPUs.
    mutating func gpuRollout(
        _ service: Service, _ pass: GPUServicePass, holding gpus: [String], base: RolloutChoice
    ) -> (choice: RolloutChoice, gpus: [String]) {
        if base.strategy == .stopFirst { return (RolloutChoice(.stopFirst, .gpu(base: base.why, .staysOnOwn(gpus: gpus))), gpus) }
        if service.extensions.gpuPlacement == .shared {
            return (RolloutChoice(.startFirst, .gpu(base: base.why, .sharesOwn(gpus: gpus))), gpus)
        }
        if case .ids = pass.ask {
            return (RolloutChoice(.stopFirst, .gpu(base: base.why, .fixedIDs(own: gpus))), gpus)
        }
        let inventory = observed.gpus ?? desired.extensions.gpus ?? []
        let minimum = service.extensions.gpuMemoryBytes
        let fitting = spareGPUs.filter { id in
            guard let minimum, let memory = inventory.first(where: { $0.id == id })?.memoryBytes else { return true }
            return memory >= minimum
        }
        guard fitting.count >= gpus.count else {
            return (RolloutChoice(.stopFirst, .gpu(base: base.why, .noSpare(needed: gpus.count, own: gpus, spare: spareGPUs))), gpus)
        }
        let taken = Array(fitting.prefix(gpus.count))
        spareGPUs.removeAll { taken.contains($0) }
        return (RolloutChoice(.startFirst, .gpu(base: base.why, .surgeOnSpare(spare: taken, own: gpus))), taken)
    }

    /// A replica placed on a GPU that a container removed by this plan still holds waits
    /// for that removal, so no GPU is ever held twice, even for a moment.
    mutating func waitForFreedGPUs() {
        var gpusOf: [String: [String]] = [:]
        for container in observed.containers where container.project == desired.name && !container.gpuDeviceIDs.isEmpty {
            gpusOf[container.id] = container.gpuDeviceIDs
        }
        var removing: [String: Int] = [:]  // GPU id → step removing its holder
        for step in steps where step.action == .remove {
            guard let id = step.containerID, let gpus = gpusOf[id] else { continue }
            for gpu in gpus { removing[gpu] = step.id }
        }
        guard !removing.isEmpty else { return }
        for index in steps.indices where steps[index].action == .create || steps[index].action == .recreate {
            for gpu in steps[index].gpus ?? [] {
                if let remover = removing[gpu], remover != index, !steps[index].dependsOn.contains(remover) {
                    steps[index].dependsOn.append(remover)
                }
            }
        }
    }
}
