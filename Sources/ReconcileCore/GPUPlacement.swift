/// Which GPUs each replica runs on: a pure function of the host's inventory, what each
/// service asks for, and who holds GPUs now.
///
/// The rules, in the order they are applied:
/// 1. GPUs held by containers outside the plan (other projects, other tools, our own
///    services no longer in the manifest) are never given to anyone.
/// 2. A replica that holds a valid set of GPUs keeps it (stable across passes and recreates).
///    Valid: the count asked for, every id in the inventory, big enough, and not held by
///    anyone placed before it (foreign holders, then services by name, then slots by number).
/// 3. Every other replica gets GPUs in inventory order ("packed"), preferring GPUs it
///    already held, then GPUs nobody holds, then GPUs freed by containers this plan removes.
/// 4. With `distinct` placement no GPU goes to two replicas; with `shared` all replicas of
///    the service use one set, which other shared services may also use, but never a
///    distinct replica.
///
/// Not enough GPUs is a problem for `required` services and a CPU fallback (a warning) for
/// `optional` ones. The result depends only on the inputs, never on their order.
public enum GPUPlacement {
    /// What one service asks for, per replica.
    public enum Ask: Sendable, Equatable, Hashable {
        case count(Int)
        /// Every GPU of the inventory.
        case all
        /// Exactly these devices.
        case ids([String])
    }

    /// One service's GPU demand.
    public struct Demand: Sendable, Equatable {
        public var service: String
        public var ask: Ask
        public var placement: ServiceExtensions.GPUPlacement
        public var requirement: ServiceExtensions.GPURequirement
        public var minMemoryBytes: Int64?
        /// The replica slots that exist once the plan is applied, each with the GPU ids its
        /// container holds now (empty for a replica still to be created).
        public var replicas: [Int: [String]]

        public init(
            service: String, ask: Ask, placement: ServiceExtensions.GPUPlacement = .distinct,
            requirement: ServiceExtensions.GPURequirement = .required, minMemoryBytes: Int64? = nil,
            replicas: [Int: [String]]
        ) {
            self.service = service
            self.ask = ask
            self.placement = placement
            self.requirement = requirement
            self.minMemoryBytes = minMemoryBytes
            self.replicas = replicas
        }
    }

    /// GPUs a container outside the demands holds.
    public struct Holder: Sendable, Equatable {
        /// How messages name it, e.g. "container jupyter (not managed by reconcile)".
        public var name: String
        public var ids: [String]

        public init(name: String, ids: [String]) {
            self.name = name
            self.ids = ids
        }
    }

    public struct Result: Sendable, Equatable {
        /// Service → replica slot → GPU ids, in inventory order. Replicas of optional
        /// services that found no GPU are absent here and listed in `cpu`.
        public var assignments: [String: [Int: [String]]] = [:]
        /// Service → replica slots that run without GPUs.
        public var cpu: [String: [Int]] = [:]
        /// GPUs nobody holds now and nobody is placed on, in inventory order: what a
        /// start-first surge may use.
        public var spare: [String] = []
        public var warnings: [String] = []
        public var problems: [String] = []

        public init() {}
    }

    /// What `service` asks for per replica, or nil when it asks for no GPU.
    ///
    /// Several GPU requests add up; a request without count or ids means all GPUs, as in Compose.
    public static func ask(for service: Service) -> Ask? {
        var total = 0
        var ids: [String] = []
        var all = false
        var any = false
        for device in service.devices where device.isGPU {
            any = true
            if let deviceIDs = device.deviceIDs, !deviceIDs.isEmpty {
                ids.append(contentsOf: deviceIDs)
                continue
            }
            switch device.count {
            case .none, .all: all = true
            case .exactly(let n): total += max(0, n)
            }
        }
        guard any else { return nil }
        if all { return .all }
        if total == 0 && ids.isEmpty { return nil }
        if total == 0 { return .ids(ids) }
        return .count(total + ids.count)
    }

    public static func place(
        inventory: [GPUDevice], demands: [Demand], foreign: [Holder] = [], leaving: [Holder] = []
    ) -> Result {
        var placer = Placer(inventory: inventory)
        return placer.run(demands: demands.sorted { $0.service < $1.service }, foreign: foreign, leaving: leaving)
    }
}

private struct Placer {
    let inventory: [GPUDevice]
    let position: [String: Int]
    let uuidToID: [String: String]

    /// Who holds each GPU, for messages: a foreign container or "api replica 2".
    var owner: [String: String] = [:]
    /// GPUs no other replica may use: foreign, or placed on a distinct replica.
    var exclusive: Set<String> = []
    /// GPUs placed on shared services.
    var shared: Set<String> = []
    /// GPUs freed by containers this plan removes: used last.
    var leaving: Set<String> = []
    var result = GPUPlacement.Result()

    init(inventory: [GPUDevice]) {
        self.inventory = inventory
        var position: [String: Int] = [:]
        var uuidToID: [String: String] = [:]
        for (index, device) in inventory.enumerated() where position[device.id] == nil {
            position[device.id] = index
            if let uuid = device.uuid { uuidToID[uuid] = device.id }
        }
        self.position = position
        self.uuidToID = uuidToID
    }

    /// The inventory id for an id or UUID, or nil when the inventory does not know it.
    func normal(_ raw: String) -> String? {
        if position[raw] != nil { return raw }
        return uuidToID[raw]
    }

    func ordered(_ ids: some Sequence<String>) -> [String] {
        ids.sorted { (position[$0] ?? Int.max, $0) < (position[$1] ?? Int.max, $1) }
    }

    func device(_ id: String) -> GPUDevice? { position[id].map { inventory[$0] } }

    func fits(_ id: String, _ demand: GPUPlacement.Demand) -> Bool {
        guard let minimum = demand.minMemoryBytes, let memory = device(id)?.memoryBytes else { return true }
        return memory >= minimum
    }

    func need(_ demand: GPUPlacement.Demand) -> Int {
        switch demand.ask {
        case .count(let n): return n
        case .all: return inventory.count
        case .ids(let ids): return Set(ids).count
        }
    }

    /// The normalised ids a replica holds, or nil when they do not form a valid placement for `demand`.
    func validHolding(_ raw: [String], _ demand: GPUPlacement.Demand) -> [String]? {
        guard !raw.isEmpty else { return nil }
        let ids = raw.compactMap(normal)
        guard ids.count == raw.count, Set(ids).count == ids.count, ids.count == need(demand) else { return nil }
        if case .ids(let wanted) = demand.ask, Set(ids) != Set(wanted.compactMap(normal)) { return nil }
        guard ids.allSatisfy({ fits($0, demand) }) else { return nil }
        return ordered(ids)
    }

    mutating func run(demands: [GPUPlacement.Demand], foreign: [GPUPlacement.Holder], leaving: [GPUPlacement.Holder]) -> GPUPlacement.Result {
        for holder in foreign.sorted(by: { $0.name < $1.name }) {
            for id in holder.ids.compactMap(normal) where owner[id] == nil {
                owner[id] = holder.name
                exclusive.insert(id)
            }
        }
        for holder in leaving {
            for id in holder.ids.compactMap(normal) where !exclusive.contains(id) { self.leaving.insert(id) }
        }
        var heldNow = exclusive.union(self.leaving)
        for demand in demands {
            for ids in demand.replicas.values { heldNow.formUnion(ids.compactMap(normal)) }
        }

        // Keepers first, so that a replica placed anew never takes a GPU someone already has.
        for demand in demands where demand.placement == .distinct { keepDistinct(demand) }
        for demand in demands where demand.placement == .shared { keepShared(demand) }
        for demand in demands {
            switch demand.placement {
            case .distinct: placeDistinct(demand)
            case .shared: placeShared(demand)
            }
        }
        result.spare = inventory.map(\.id).filter { !heldNow.contains($0) && owner[$0] == nil && !shared.contains($0) }
        return result
    }

    mutating func assign(_ demand: GPUPlacement.Demand, _ slot: Int, _ ids: [String]) {
        result.assignments[demand.service, default: [:]][slot] = ids
        for id in ids {
            if demand.placement == .distinct {
                exclusive.insert(id)
                owner[id] = "\(demand.service) replica \(slot)"
            } else {
                shared.insert(id)
                if owner[id] == nil { owner[id] = "\(demand.service) (shared)" }
            }
        }
    }

    mutating func keepDistinct(_ demand: GPUPlacement.Demand) {
        for slot in demand.replicas.keys.sorted() {
            guard let held = demand.replicas[slot], let ids = validHolding(held, demand),
                ids.allSatisfy({ !exclusive.contains($0) })
            else { continue }
            assign(demand, slot, ids)
        }
    }

    mutating func keepShared(_ demand: GPUPlacement.Demand) {
        // The lowest slot with a valid holding decides; replicas that disagree move to it.
        for slot in demand.replicas.keys.sorted() {
            guard let held = demand.replicas[slot], let ids = validHolding(held, demand),
                ids.allSatisfy({ !exclusive.contains($0) })
            else { continue }
            for each in demand.replicas.keys.sorted() { assign(demand, each, ids) }
            return
        }
    }

    mutating func placeDistinct(_ demand: GPUPlacement.Demand) {
        var failed: [Int] = []
        for slot in demand.replicas.keys.sorted() where result.assignments[demand.service]?[slot] == nil {
            if let ids = choose(demand, preferring: demand.replicas[slot] ?? [], usable: { !exclusive.contains($0) && !shared.contains($0) }) {
                assign(demand, slot, ids)
            } else {
                failed.append(slot)
            }
        }
        shortfall(demand, failed)
    }

    mutating func placeShared(_ demand: GPUPlacement.Demand) {
        let slots = demand.replicas.keys.sorted()
        guard !slots.isEmpty, result.assignments[demand.service] == nil else { return }
        let preferred = slots.first.flatMap { demand.replicas[$0] } ?? []
        // Other shared services' GPUs are usable, but only after GPUs nobody is placed on.
        let free = { (id: String) in !self.exclusive.contains(id) && !self.shared.contains(id) }
        if let ids = choose(demand, preferring: preferred, usable: free)
            ?? choose(demand, preferring: preferred, usable: { !self.exclusive.contains($0) })
        {
            for slot in slots { assign(demand, slot, ids) }
        } else {
            shortfall(demand, slots)
        }
    }

    /// `need` usable GPUs: those the replica held first, then free ones in inventory order,
    /// then ones this plan frees. Nil when there are not enough.
    func choose(_ demand: GPUPlacement.Demand, preferring held: [String], usable: (String) -> Bool) -> [String]? {
        if case .ids(let wanted) = demand.ask {
            let ids = wanted.compactMap(normal)
            guard ids.count == wanted.count, ids.allSatisfy({ usable($0) && fits($0, demand) }) else { return nil }
            return ordered(Set(ids))
        }
        let n = need(demand)
        guard n > 0 else { return [] }
        var chosen: [String] = []
        var seen: Set<String> = []
        func take(_ id: String) {
            guard chosen.count < n, !seen.contains(id), usable(id), fits(id, demand) else { return }
            seen.insert(id)
            chosen.append(id)
        }
        for id in ordered(held.compactMap(normal)) { take(id) }
        for device in inventory where !leaving.contains(device.id) { take(device.id) }
        for device in inventory where leaving.contains(device.id) { take(device.id) }
        return chosen.count == n ? ordered(chosen) : nil
    }

    mutating func shortfall(_ demand: GPUPlacement.Demand, _ slots: [Int]) {
        guard !slots.isEmpty else { return }
        let what = "service \(demand.service) asks for \(describe(demand.ask)) per replica for \(demand.replicas.count) replica\(demand.replicas.count == 1 ? "" : "s") (\(demand.placement.rawValue) placement)"
        let host = hostSummary(for: demand)
        let which = slots.count == 1 ? "replica \(slots[0])" : "replicas \(slots.map(String.init).joined(separator: ", "))"
        switch demand.requirement {
        case .required:
            result.problems.append(
                "\(what), but \(which) cannot get \(slots.count == 1 ? "its" : "their") GPUs: \(host). Free a GPU, lower the replicas or the count, set `x-reconcile.gpu: optional` to run the rest on CPU, or `x-reconcile.gpu_placement: shared` to let replicas share"
            )
        case .optional:
            if demand.placement == .shared { result.assignments[demand.service] = nil }
            result.cpu[demand.service, default: []].append(contentsOf: slots)
            result.warnings.append("\(which) of service \(demand.service) run\(slots.count == 1 ? "s" : "") on CPU (x-reconcile.gpu is optional): \(what), and \(host)")
        }
    }

    func describe(_ ask: GPUPlacement.Ask) -> String {
        switch ask {
        case .count(let n): return n == 1 ? "1 GPU" : "\(n) GPUs"
        case .all: return "all GPUs"
        case .ids(let ids): return "GPU\(ids.count == 1 ? "" : "s") \(ids.joined(separator: ","))"
        }
    }

    /// "the host has 4 GPUs (0, 1, 2, 3); free: 3; held: 0 by container x, 1 by api replica 1, …".
    func hostSummary(for demand: GPUPlacement.Demand) -> String {
        if inventory.isEmpty { return "the host has no GPUs" }
        let all = inventory.map(\.id)
        var free: [String] = []
        var held: [String] = []
        var small: [String] = []
        for id in all {
            if let who = owner[id] {
                held.append("\(id) by \(who)")
            } else if !fits(id, demand) {
                small.append("\(id) (\(Placer.gib(device(id)?.memoryBytes ?? 0)))")
            } else if owner[id] == nil {
                free.append(id)
            }
        }
        var text = "the host has \(all.count) GPU\(all.count == 1 ? "" : "s") (\(all.joined(separator: ", "))); free: \(free.isEmpty ? "none" : free.joined(separator: ", "))"
        if !held.isEmpty { text += "; held: \(held.joined(separator: ", "))" }
        if !small.isEmpty, let minimum = demand.minMemoryBytes {
            text += "; smaller than gpu_memory \(Placer.gib(minimum)): \(small.joined(separator: ", "))"
        }
        return text
    }

    static func gib(_ bytes: Int64) -> String {
        let tenths = Int((Double(bytes) / 1_073_741_824 * 10).rounded())
        return tenths % 10 == 0 ? "\(tenths / 10) GiB" : "\(tenths / 10).\(tenths % 10) GiB"
    }
}

extension Service {
    /// The service's device requests with a replica's placement applied: nil keeps them
    /// as declared; an empty list drops the GPU requests (the replica runs on CPU);
    /// otherwise the GPU requests become one request for exactly these ids, never a bare count.
    public func devices(placedOn gpus: [String]?) -> [DeviceRequest] {
        guard let gpus else { return devices }
        var out: [DeviceRequest] = []
        var merged: DeviceRequest? = nil
        for device in devices {
            guard device.isGPU else {
                out.append(device)
                continue
            }
            if var first = merged {
                for capability in device.capabilities where !first.capabilities.contains(capability) {
                    first.capabilities.append(capability)
                }
                first.options.merge(device.options) { current, _ in current }
                merged = first
            } else {
                var first = device
                first.count = nil
                first.deviceIDs = gpus
                merged = first
            }
        }
        if let merged, !gpus.isEmpty { out.insert(merged, at: 0) }
        return out
    }
}
