import Foundation
import ReconcileCore
import ReconcileTestSupport
import Testing

@Suite("GPU placement")
struct GPUPlacementTests {
    typealias Demand = GPUPlacement.Demand

    @Test("new replicas are packed in inventory order; what nobody holds is spare")
    func packed() {
        let result = GPUPlacement.place(
            inventory: gpus(4), demands: [Demand(service: "a", ask: .count(1), replicas: [1: [], 2: [], 3: []])])
        #expect(result.assignments == ["a": [1: ["0"], 2: ["1"], 3: ["2"]]])
        #expect(result.spare == ["3"])
        #expect(result.problems.isEmpty)
    }

    @Test("a replica keeps the GPUs it holds; others fill around it")
    func stable() {
        let result = GPUPlacement.place(
            inventory: gpus(4), demands: [Demand(service: "a", ask: .count(1), replicas: [1: [], 2: ["3"], 3: []])])
        #expect(result.assignments == ["a": [1: ["0"], 2: ["3"], 3: ["1"]]])
    }

    @Test("two replicas claiming one GPU: the lowest slot keeps it, the other moves to a free one")
    func conflictingClaims() {
        let result = GPUPlacement.place(
            inventory: gpus(3),
            demands: [
                Demand(service: "b", ask: .count(1), replicas: [1: ["0"]]),
                Demand(service: "a", ask: .count(1), replicas: [1: ["1"], 2: ["1"]]),
            ])
        #expect(result.assignments == ["a": [1: ["1"], 2: ["2"]], "b": [1: ["0"]]])
    }

    @Test("UUIDs a container holds are read as the inventory's ids")
    func uuids() {
        let inventory = [GPUDevice(id: "0", uuid: "GPU-a"), GPUDevice(id: "1", uuid: "GPU-b")]
        let result = GPUPlacement.place(
            inventory: inventory, demands: [Demand(service: "a", ask: .count(1), replicas: [1: []])],
            foreign: [.init(name: "container x", ids: ["GPU-a"])])
        #expect(result.assignments == ["a": [1: ["1"]]])
    }

    @Test("gpu_memory skips GPUs too small, and the message names them")
    func memory() {
        let inventory = [
            GPUDevice(id: "0", memoryBytes: 24 << 30), GPUDevice(id: "1", memoryBytes: 80 << 30), GPUDevice(id: "2", memoryBytes: 80 << 30),
        ]
        let ok = GPUPlacement.place(
            inventory: inventory, demands: [Demand(service: "a", ask: .count(1), minMemoryBytes: 40 << 30, replicas: [1: [], 2: []])])
        #expect(ok.assignments == ["a": [1: ["1"], 2: ["2"]]])
        let short = GPUPlacement.place(
            inventory: inventory, demands: [Demand(service: "a", ask: .count(1), minMemoryBytes: 40 << 30, replicas: [1: [], 2: [], 3: []])])
        #expect(short.problems.count == 1)
        #expect(short.problems.first?.contains("smaller than gpu_memory 40 GiB: 0 (24 GiB)") == true)
    }

    @Test("explicit device_ids: one distinct replica can hold them, a second is a problem")
    func explicitIDs() {
        let one = GPUPlacement.place(inventory: gpus(4), demands: [Demand(service: "a", ask: .ids(["2", "3"]), replicas: [1: []])])
        #expect(one.assignments == ["a": [1: ["2", "3"]]])
        let two = GPUPlacement.place(inventory: gpus(4), demands: [Demand(service: "a", ask: .ids(["2"]), replicas: [1: [], 2: []])])
        #expect(two.problems.first?.hasPrefix("service a asks for GPU 2 per replica for 2 replicas (distinct placement), but replica 2 cannot get its GPUs") == true)
    }

    @Test("count all takes the whole inventory, and a foreign holder makes it impossible")
    func all() {
        #expect(
            GPUPlacement.place(inventory: gpus(2), demands: [Demand(service: "a", ask: .all, replicas: [1: []])]).assignments
                == ["a": [1: ["0", "1"]]])
        let blocked = GPUPlacement.place(
            inventory: gpus(2), demands: [Demand(service: "a", ask: .all, replicas: [1: []])],
            foreign: [.init(name: "container x (not managed by reconcile)", ids: ["1"])])
        #expect(blocked.problems.first?.contains("held: 1 by container x (not managed by reconcile)") == true)
    }

    @Test("GPUs freed by removed containers are used after free ones")
    func leavingLast() {
        let result = GPUPlacement.place(
            inventory: gpus(3), demands: [Demand(service: "a", ask: .count(1), replicas: [1: [], 2: []])],
            leaving: [.init(name: "container old", ids: ["0"])])
        #expect(result.assignments == ["a": [1: ["1"], 2: ["2"]]])
        #expect(result.spare.isEmpty)
    }

    @Test("shared services share among themselves but never with a distinct replica")
    func sharedAndDistinct() {
        let result = GPUPlacement.place(
            inventory: gpus(2),
            demands: [
                Demand(service: "a", ask: .count(1), replicas: [1: []]),
                Demand(service: "s", ask: .count(1), placement: .shared, replicas: [1: [], 2: []]),
                Demand(service: "t", ask: .count(1), placement: .shared, replicas: [1: []]),
            ])
        #expect(result.assignments == ["a": [1: ["0"]], "s": [1: ["1"], 2: ["1"]], "t": [1: ["1"]]])
    }

    @Test("an optional service puts the replicas that find no GPU on CPU")
    func optional() {
        let result = GPUPlacement.place(
            inventory: gpus(1), demands: [Demand(service: "a", ask: .count(1), requirement: .optional, replicas: [1: [], 2: [], 3: []])])
        #expect(result.assignments == ["a": [1: ["0"]]])
        #expect(result.cpu == ["a": [2, 3]])
        #expect(result.problems.isEmpty)
        #expect(result.warnings.first?.hasPrefix("replicas 2, 3 of service a run on CPU") == true)
    }

    // MARK: properties

    /// A random host: inventory, demands with random current holdings (some of them stale
    /// or invalid), foreign holders.
    static func randomCase(_ rng: inout SeededGenerator) -> (inventory: [GPUDevice], demands: [Demand], foreign: [GPUPlacement.Holder]) {
        let size = Int.random(in: 0...8, using: &rng)
        let inventory = (0..<size).map { GPUDevice(id: String($0), uuid: "GPU-\($0)", memoryBytes: Bool.random(using: &rng) ? 80 << 30 : 24 << 30) }
        func someIDs() -> [String] {
            guard size > 0 else { return [] }
            return (0..<Int.random(in: 0...2, using: &rng)).map { _ in
                let i = Int.random(in: 0..<(size + 1), using: &rng)  // sometimes an id the inventory lacks
                return Bool.random(using: &rng) ? String(i) : "GPU-\(i)"
            }
        }
        var demands: [Demand] = []
        for index in 0..<Int.random(in: 1...4, using: &rng) {
            let ask: GPUPlacement.Ask
            switch Int.random(in: 0..<10, using: &rng) {
            case 0: ask = .all
            case 1: ask = .ids(size > 0 ? [String(Int.random(in: 0..<size, using: &rng))] : ["0"])
            default: ask = .count(Int.random(in: 1...2, using: &rng))
            }
            var replicas: [Int: [String]] = [:]
            for slot in 1...Int.random(in: 1...4, using: &rng) where Int.random(in: 0..<5, using: &rng) > 0 {
                replicas[slot] = someIDs()
            }
            demands.append(
                Demand(
                    service: "s\(index)", ask: ask, placement: Int.random(in: 0..<4, using: &rng) == 0 ? .shared : .distinct,
                    requirement: Bool.random(using: &rng) ? .optional : .required,
                    minMemoryBytes: Int.random(in: 0..<4, using: &rng) == 0 ? 40 << 30 : nil, replicas: replicas))
        }
        let foreign = (0..<Int.random(in: 0...2, using: &rng)).map { GPUPlacement.Holder(name: "container f\($0)", ids: someIDs()) }
        return (inventory, demands, foreign)
    }

    @Test("never double-booked: distinct replicas, shared sets and foreign holders never overlap", arguments: 0..<300)
    func neverDoubleBooked(seed: Int) {
        var rng = SeededGenerator(seed: UInt64(seed) &* 7919)
        let (inventory, demands, foreign) = Self.randomCase(&rng)
        let result = GPUPlacement.place(inventory: inventory, demands: demands, foreign: foreign)
        let known = Set(inventory.map(\.id))
        let uuidToID = Dictionary(inventory.compactMap { d in d.uuid.map { ($0, d.id) } }, uniquingKeysWith: { a, _ in a })
        var taken = Set(foreign.flatMap(\.ids).compactMap { known.contains($0) ? $0 : uuidToID[$0] })
        var sharedIDs: Set<String> = []
        for demand in demands {
            let slots = result.assignments[demand.service] ?? [:]
            for (slot, ids) in slots {
                #expect(demand.replicas[slot] != nil, "only asked-for slots are placed")
                #expect(ids.allSatisfy(known.contains))
                #expect(Set(ids).count == ids.count)
                switch demand.ask {
                case .count(let n): #expect(ids.count == n)
                case .all: #expect(ids.count == inventory.count)
                case .ids(let wanted): #expect(Set(ids) == Set(wanted))
                }
                if let minimum = demand.minMemoryBytes {
                    #expect(ids.allSatisfy { id in (inventory.first { $0.id == id }?.memoryBytes ?? .max) >= minimum })
                }
            }
            if demand.placement == .shared { sharedIDs.formUnion(slots.values.flatMap { $0 }) }
        }
        for demand in demands where demand.placement == .distinct {
            for ids in (result.assignments[demand.service] ?? [:]).values {
                #expect(taken.isDisjoint(with: ids), "\(demand.service) double-booked \(ids)")
                taken.formUnion(ids)
            }
        }
        #expect(taken.isDisjoint(with: sharedIDs))
        // Every slot is placed, on CPU, or the plan fails.
        for demand in demands {
            let placed = Set((result.assignments[demand.service] ?? [:]).keys).union(result.cpu[demand.service] ?? [])
            if placed != Set(demand.replicas.keys) { #expect(!result.problems.isEmpty) }
            if demand.requirement == .optional { #expect(placed == Set(demand.replicas.keys)) }
        }
        #expect(Set(result.spare).isDisjoint(with: taken.union(sharedIDs)))
    }

    @Test("deterministic: the order of demands, slots and holders does not matter", arguments: 0..<100)
    func deterministic(seed: Int) {
        var rng = SeededGenerator(seed: UInt64(seed) &* 104_729)
        let (inventory, demands, foreign) = Self.randomCase(&rng)
        let first = GPUPlacement.place(inventory: inventory, demands: demands, foreign: foreign)
        let second = GPUPlacement.place(inventory: inventory, demands: demands.shuffled(using: &rng), foreign: foreign.shuffled(using: &rng))
        #expect(first == second)
    }

    @Test("stable: placing again from the result changes nothing, and removing a replica moves no other", arguments: 0..<100)
    func stableAcrossPasses(seed: Int) {
        var rng = SeededGenerator(seed: UInt64(seed) &* 15_485_863)
        let (inventory, demands, foreign) = Self.randomCase(&rng)
        let first = GPUPlacement.place(inventory: inventory, demands: demands, foreign: foreign)
        guard first.problems.isEmpty else { return }
        var next = demands
        for index in next.indices {
            let assigned = first.assignments[next[index].service] ?? [:]
            for slot in next[index].replicas.keys { next[index].replicas[slot] = assigned[slot] ?? [] }
        }
        let again = GPUPlacement.place(inventory: inventory, demands: next, foreign: foreign)
        #expect(again.assignments == first.assignments)

        // Scale one service down by its highest slot: every remaining replica keeps its GPUs.
        guard let index = next.indices.first(where: { next[$0].replicas.count > 1 }) else { return }
        let top = next[index].replicas.keys.max() ?? 0
        var smaller = next
        smaller[index].replicas[top] = nil
        let after = GPUPlacement.place(inventory: inventory, demands: smaller, foreign: foreign)
        for demand in smaller where demand.placement == .distinct {
            for slot in demand.replicas.keys where first.assignments[demand.service]?[slot] != nil {
                #expect(after.assignments[demand.service]?[slot] == first.assignments[demand.service]?[slot])
            }
        }
    }
}
