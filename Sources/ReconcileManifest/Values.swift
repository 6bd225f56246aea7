import ReconcileCore

/// Parsers for Compose's string value formats. Each returns nil or a message on bad input;
/// callers attach the position.
enum Values {
    /// "1m30s", "10s", "500ms", "1.5h", "2us"; a bare number is seconds. Returns seconds.
    static func duration(_ text: String) -> Double? { Durations.seconds(text) }

    /// "512m", "1g", "1GiB", "2048k", "1.5gb", "100" (bytes). Binary multiples, like Docker.
    static func bytes(_ text: String) -> Int64? {
        let s = text.trimmed(" ").lowercased()
        var number = ""
        var unit = ""
        for c in s {
            if unit.isEmpty && (c.isNumber || c == ".") { number.append(c) } else { unit.append(c) }
        }
        guard let value = Double(number), value >= 0 else { return nil }
        let k: Double = 1024
        let factors: [String: Double] = [
            "": 1, "b": 1, "k": k, "kb": k, "kib": k, "m": k * k, "mb": k * k, "mib": k * k,
            "g": k * k * k, "gb": k * k * k, "gib": k * k * k, "t": k * k * k * k, "tb": k * k * k * k,
            "tib": k * k * k * k,
        ]
        guard let factor = factors[unit.trimmed(" ")] else { return nil }
        let bytes = value * factor
        guard bytes < 9.2e18 else { return nil }
        return Int64(bytes.rounded())
    }

    /// Splits a command line like a POSIX shell does (quotes and backslashes, no expansion).
    static func shellSplit(_ text: String) -> [String]? {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        for c in text {
            if escaped {
                if quote == "\"" && !"\"\\$`\n".contains(c) { current.append("\\") }
                if c != "\n" { current.append(c) }
                escaped = false
                inWord = true
                continue
            }
            if let q = quote {
                if c == q {
                    quote = nil
                } else if c == "\\" && q == "\"" {
                    escaped = true
                } else {
                    current.append(c)
                }
                continue
            }
            switch c {
            case "\\":
                escaped = true
            case "'", "\"":
                quote = c
                inWord = true
            case " ", "\t", "\n":
                if inWord {
                    words.append(current)
                    current = ""
                    inWord = false
                }
            default:
                current.append(c)
                inWord = true
            }
        }
        if quote != nil || escaped { return nil }
        if inWord { words.append(current) }
        return words
    }

    static let protocols: Set<String> = ["tcp", "udp", "sctp"]

    /// "a" or "a-b" as an inclusive range of ports.
    static func portRange(_ text: String) -> ClosedRange<Int>? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2 else { return nil }
        guard let low = Int(parts[0]), let high = Int(parts.count == 2 ? parts[1] : parts[0]) else { return nil }
        guard (1...65535).contains(low), (1...65535).contains(high), low <= high else { return nil }
        return low...high
    }

    enum PortResult {
        case ok([PortMapping])
        case failure(String, hint: String?)
    }

    /// `[[HOST_IP:][HOST_PORT[-RANGE]]:]CONTAINER_PORT[-RANGE][/PROTOCOL]`.
    static func shortPort(_ text: String) -> PortResult {
        var spec = text.trimmed(" ")
        var proto = "tcp"
        if let slash = spec.lastIndex(of: "/") {
            proto = String(spec[spec.index(after: slash)...]).lowercased()
            spec = String(spec[..<slash])
            guard protocols.contains(proto) else {
                return .failure("unknown protocol `\(proto)` in port `\(text)`", hint: "use tcp, udp or sctp")
            }
        }
        var hostIP: String?
        if spec.hasPrefix("[") {
            guard let close = spec.firstIndex(of: "]") else {
                return .failure("invalid port `\(text)`: unterminated `[` in the host IP", hint: nil)
            }
            hostIP = String(spec[spec.index(after: spec.startIndex)..<close])
            spec = String(spec[spec.index(after: close)...])
            guard spec.hasPrefix(":") else {
                return .failure("invalid port `\(text)`: expected `:` after the host IP", hint: nil)
            }
            spec.removeFirst()
        }
        var parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        if hostIP == nil && parts.count == 3 {
            hostIP = parts.removeFirst()
        }
        guard parts.count == 1 || parts.count == 2 else {
            return .failure(
                "invalid port `\(text)`",
                hint: "write `CONTAINER`, `HOST:CONTAINER` or `IP:HOST:CONTAINER`; put an IPv6 host IP in brackets")
        }
        if let ip = hostIP, ip.isEmpty {
            return .failure("invalid port `\(text)`: empty host IP", hint: nil)
        }
        guard let targets = portRange(parts[parts.count - 1]) else {
            return .failure(
                "invalid container port `\(parts[parts.count - 1])` in `\(text)`",
                hint: "a port is a number from 1 to 65535, or a range like 8000-8010")
        }
        var published: ClosedRange<Int>?
        if parts.count == 2 && !parts[0].isEmpty {
            guard let range = portRange(parts[0]) else {
                return .failure(
                    "invalid host port `\(parts[0])` in `\(text)`",
                    hint: "a port is a number from 1 to 65535, or a range like 8000-8010")
            }
            published = range
        }
        return expand(targets: targets, published: published, hostIP: hostIP, proto: proto, text: text)
    }

    static func expand(
        targets: ClosedRange<Int>, published: ClosedRange<Int>?, hostIP: String?, proto: String, text: String
    ) -> PortResult {
        if let published, targets.count == 1, published.count > 1 {
            // A host range for one container port: each replica takes a free port of it.
            return .ok([
                PortMapping(
                    target: targets.lowerBound, published: published.lowerBound, hostIP: hostIP, proto: proto,
                    publishedEnd: published.upperBound)
            ])
        }
        if let published, published.count != targets.count {
            return .failure(
                "port `\(text)` maps \(published.count) host port(s) to \(targets.count) container port(s)",
                hint: "give host and container ranges of the same size, or a host range for one container port")
        }
        let mappings = targets.enumerated().map { offset, target in
            PortMapping(
                target: target, published: published.map { $0.lowerBound + offset }, hostIP: hostIP, proto: proto)
        }
        return .ok(mappings)
    }

    /// Damerau-Levenshtein (optimal string alignment) distance.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.lowercased()), b = Array(b.lowercased())
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }

    /// The closest candidate within a distance that still looks like a typo.
    static func suggestion(for word: String, among candidates: [String]) -> String? {
        let limit = max(2, word.count / 3)
        let scored = candidates.map { ($0, editDistance(word, $0)) }.filter { $0.1 <= limit }
        if let best = scored.min(by: { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }) { return best.0 }
        // `enviroment_vars` and the like: a candidate that is a prefix or suffix of the word.
        return candidates.filter { $0.count >= 4 && (word.hasPrefix($0) || word.hasSuffix($0)) }.max { $0.count < $1.count }
    }
}
