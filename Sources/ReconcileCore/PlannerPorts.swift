/// Host port ranges (`"127.0.0.1:8000-8010:80"`): each replica takes a free port of the
/// range and keeps it. The planner chooses, from what is observed, so the choice is shown
/// in the plan and the same state always gives the same ports.
extension Planner {
    /// The ranged port mappings of a service, in order.
    static func rangedPorts(_ service: Service) -> [PortMapping] {
        service.ports.filter { $0.hostRange != nil }
    }

    static func portKey(_ port: Int, _ proto: String) -> String { "\(port)/\(proto)" }

    /// Host ports held by the project's containers as observed, once per plan.
    mutating func takenHostPorts() -> Set<String> {
        if let taken = hostPortsTaken { return taken }
        var taken: Set<String> = []
        for container in observed.containers where container.state != .removing {
            for port in container.ports ?? [] {
                if let published = port.published { taken.insert(Self.portKey(published, port.proto)) }
            }
        }
        hostPortsTaken = taken
        return taken
    }

    /// The port of `mapping`'s range a container holds, if it holds one.
    static func heldPort(_ container: ObservedContainer?, _ mapping: PortMapping) -> Int? {
        guard let range = mapping.hostRange else { return nil }
        return container?.ports?.first { port in
            port.target == mapping.target && port.proto == mapping.proto && port.published.map(range.contains) == true
        }?.published
    }

    /// The lowest port of the range nobody holds or was given in this plan.
    private mutating func freePort(_ mapping: PortMapping) -> Int? {
        guard let range = mapping.hostRange else { return nil }
        let taken = takenHostPorts()
        guard let port = range.first(where: { !taken.contains(Self.portKey($0, mapping.proto)) }) else { return nil }
        hostPortsTaken?.insert(Self.portKey(port, mapping.proto))
        return port
    }

    /// Ports for a new replica: the lowest free port of each range. A range with no free
    /// port is a planning problem.
    mutating func portsForNewReplica(_ service: Service, replica: Int) -> [Int]? {
        let ranged = Self.rangedPorts(service)
        guard !ranged.isEmpty else { return nil }
        var out: [Int] = []
        for mapping in ranged {
            guard let port = freePort(mapping) else {
                let range = mapping.hostRange.map { "\($0.lowerBound)-\($0.upperBound)" } ?? "?"
                problems.append(
                    "service \(service.name) replica \(replica) needs a host port of \(range)/\(mapping.proto), and every port of the range is taken: widen the range or run fewer replicas"
                )
                return out
            }
            out.append(port)
        }
        return out
    }

    /// Ports for a replaced replica. Stop-first keeps the old container's port; start-first
    /// needs a free port for the surge, which the replica then keeps; without one it is
    /// replaced stop-first on its own port.
    mutating func portsForReplacement(
        _ service: Service, container: ObservedContainer, strategy: RolloutChoice
    ) -> (ports: [Int]?, strategy: RolloutChoice) {
        let ranged = Self.rangedPorts(service)
        guard !ranged.isEmpty else { return (nil, strategy) }
        if strategy.strategy == .startFirst {
            var taken = takenHostPorts()
            var spare: [Int] = []
            for mapping in ranged {
                guard let range = mapping.hostRange,
                      let port = range.first(where: { !taken.contains(Self.portKey($0, mapping.proto)) }) else { break }
                taken.insert(Self.portKey(port, mapping.proto))
                spare.append(port)
            }
            if spare.count == ranged.count {
                hostPortsTaken = taken
                return (spare, RolloutChoice(.startFirst, .surgeOnFreePorts(base: strategy.why, ports: spare)))
            }
            let range = ranged.compactMap(\.hostRange).map { "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: ", ")
            let held = ranged.compactMap { Self.heldPort(container, $0) }
            return (
                held.count == ranged.count ? held : nil,
                RolloutChoice(.stopFirst, .noFreePortInRange(ranges: range))
            )
        }
        let held = ranged.compactMap { Self.heldPort(container, $0) }
        if held.count == ranged.count { return (held, strategy) }
        return (portsForNewReplica(service, replica: container.replica ?? 0), strategy)
    }
}
