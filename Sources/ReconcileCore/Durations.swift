/// The one parser of durations, for the manifest ("1m30s", `stop_grace_period`, healthcheck
/// intervals, `x-reconcile` windows) and the command line (`--timeout 90s`): Go's
/// `time.ParseDuration` units, as Compose takes them, plus a bare number of seconds.
public enum Durations {
    /// Seconds, or nil for text that is not a duration (or is negative).
    public static func seconds(_ text: String) -> Double? {
        let s = text.trimmingSpaces()
        if s.isEmpty { return nil }
        if let plain = Double(s) { return plain >= 0 ? plain : nil }
        let units: [(String, Double)] = [
            ("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600),
        ]
        var total = 0.0
        var rest = Substring(s)
        while !rest.isEmpty {
            var number = ""
            while let c = rest.first, c.isNumber || c == "." {
                number.append(c)
                rest.removeFirst()
            }
            guard let value = Double(number) else { return nil }
            var unit = ""
            while let c = rest.first, !(c.isNumber || c == ".") {
                unit.append(c)
                rest.removeFirst()
            }
            guard let factor = units.first(where: { $0.0 == unit })?.1 else { return nil }
            total += value * factor
        }
        return total
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
