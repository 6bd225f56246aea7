/// The order services are created in, and the cycles that forbid one: the one graph the
/// manifest loader checks (each cycle a positioned error) and the planner follows.
///
/// A service follows the services it `depends_on` and those its container needs at create
/// time (`network_mode: service:X`, `pid: service:X`, `volumes_from`, `links`).
public enum ServiceGraph {
    /// The services `service` follows, `depends_on` first, each group by name; names not in
    /// the project are kept (the caller decides what a missing one means).
    public static func edges(of service: Service) -> [String] {
        var out: [String] = []
        for name in service.dependsOn.map(\.service).sorted() + (service.options?.serviceReferences ?? []).sorted() where !out.contains(name) {
            out.append(name)
        }
        return out
    }

    /// Indices of `services`, each after every service it follows (manifest order where the
    /// graph leaves a choice), and every distinct cycle as the names along it with the first
    /// repeated at the end (`a → b → a`). A service that follows itself is such a cycle.
    public static func order(_ services: [Service]) -> (order: [Int], cycles: [[String]]) {
        let index = Dictionary(services.indices.map { (services[$0].name, $0) }, uniquingKeysWith: { first, _ in first })
        var order: [Int] = []
        order.reserveCapacity(services.count)
        var state = [UInt8](repeating: 0, count: services.count)  // 1 visiting, 2 done
        var cycles: [[String]] = []
        var seen = Set<String>()
        func visit(_ i: Int, path: [String]) {
            if state[i] == 2 { return }
            if state[i] == 1 {
                let name = services[i].name
                let start = path.firstIndex(of: name) ?? 0
                let cycle = Array(path[start...]) + [name]
                let key = Set(cycle).sorted().joined(separator: "\u{0}")
                if seen.insert(key).inserted { cycles.append(cycle) }
                return
            }
            state[i] = 1
            for name in edges(of: services[i]) {
                if let next = index[name] { visit(next, path: path + [services[i].name]) }
            }
            state[i] = 2
            order.append(i)
        }
        for i in services.indices { visit(i, path: []) }
        return (order, cycles)
    }
}
