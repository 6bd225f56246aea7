/// The TCP sockets listening in a container's network namespace, read from its
/// `/proc/net/tcp` and `/proc/net/tcp6`, to say in one sentence why a validated port
/// accepts no connection.
public struct Listener: Sendable, Hashable, CustomStringConvertible {
    public var address: String
    public var port: Int

    public init(address: String, port: Int) {
        self.address = address
        self.port = port
    }

    /// Loopback only: reachable from inside the container, never through a published port.
    public var isLoopback: Bool { address.hasPrefix("127.") || address == "::1" || address.hasPrefix("::ffff:127.") }

    public var description: String { address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)" }

    /// The listening sockets of `/proc/net/tcp` and `/proc/net/tcp6` text (state `0A`).
    public static func parse(procNetTCP text: String) -> [Listener] {
        var found: [Listener] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count > 3, fields[3] == "0A" else { continue }
            let local = fields[1].split(separator: ":")
            guard local.count == 2, let port = Int(local[1], radix: 16), let address = Self.address(hex: String(local[0])) else { continue }
            let listener = Listener(address: address, port: port)
            if !found.contains(listener) { found.append(listener) }
        }
        return found
    }

    /// `0100007F` → 127.0.0.1; 32 hex digits (four little-endian words) → an IPv6 address.
    static func address(hex: String) -> String? {
        let bytes = stride(from: 0, to: hex.count, by: 2).compactMap { offset -> UInt8? in
            let start = hex.index(hex.startIndex, offsetBy: offset)
            return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16)
        }
        switch bytes.count {
        case 4:
            return bytes.reversed().map(String.init).joined(separator: ".")
        case 16:
            var ordered: [UInt8] = []
            for word in 0..<4 { ordered += bytes[(word * 4)..<(word * 4 + 4)].reversed() }
            if ordered[0..<10].allSatisfy({ $0 == 0 }) && ordered[10] == 0xff && ordered[11] == 0xff {
                return "::ffff:" + ordered[12...].map(String.init).joined(separator: ".")
            }
            let groups = stride(from: 0, to: 16, by: 2).map { Int(ordered[$0]) << 8 | Int(ordered[$0 + 1]) }
            return compress(groups)
        default:
            return nil
        }
    }

    /// RFC 5952 text: the longest run of zero groups (two or more) becomes `::`.
    static func compress(_ groups: [Int]) -> String {
        var best = (start: -1, length: 0)
        var index = 0
        while index < groups.count {
            guard groups[index] == 0 else { index += 1; continue }
            var end = index
            while end < groups.count && groups[end] == 0 { end += 1 }
            if end - index > best.length && end - index >= 2 { best = (index, end - index) }
            index = end
        }
        let text = groups.map { String($0, radix: 16) }
        guard best.start >= 0 else { return text.joined(separator: ":") }
        let head = text[..<best.start].joined(separator: ":")
        let tail = text[(best.start + best.length)...].joined(separator: ":")
        return head + "::" + tail
    }

    /// Why a replica accepts no connection on `port`, from what listens inside it; nil when
    /// something listens on all addresses there (the refusal comes from elsewhere).
    public static func explain(port: Int, replica: String, listeners: [Listener]) -> String? {
        let onPort = listeners.filter { $0.port == port }
        if !onPort.isEmpty && onPort.allSatisfy(\.isLoopback) {
            return "\(replica) accepts no connection on port \(port): its server listens on \(onPort.map(\.description).joined(separator: ", ")) "
                + "inside the container, which published ports cannot reach; make it listen on all addresses (0.0.0.0 or ::)"
        }
        if onPort.isEmpty {
            let others = listeners.map(\.description).joined(separator: ", ")
            return "\(replica) accepts no connection on port \(port): nothing listens on \(port) inside the container"
                + (others.isEmpty ? " (nothing listens at all: is the server still starting, or did it exit?)" : " (it listens on \(others)); set validate.port or the server's port")
        }
        return nil
    }
}
