/// The Prometheus text exposition format (version 0.0.4), read as far as the autoscaler needs:
/// `# TYPE` lines and samples with their labels. Timestamps on samples are ignored.
public enum PrometheusText {
    public struct Sample: Sendable, Equatable {
        public var name: String
        public var labels: [String: String]
        public var value: Double
    }

    public struct Exposition: Sendable, Equatable {
        public var samples: [Sample] = []
        /// Metric family name → `counter`, `gauge`, `histogram`, `summary`, `untyped`.
        public var types: [String: String] = [:]
    }

    public static func parse(_ text: String) -> Exposition {
        var out = Exposition()
        for raw in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let line = raw.drop(while: { $0 == " " || $0 == "\t" })
            if line.isEmpty { continue }
            if line.hasPrefix("#") {
                let parts = line.split(separator: " ", omittingEmptySubsequences: true)
                if parts.count >= 4, parts[1] == "TYPE" { out.types[String(parts[2])] = String(parts[3]) }
                continue
            }
            if let sample = sample(Substring(line)) { out.samples.append(sample) }
        }
        return out
    }

    private static func sample(_ line: Substring) -> Sample? {
        var index = line.startIndex
        while index < line.endIndex, line[index] != "{", line[index] != " ", line[index] != "\t" { index = line.index(after: index) }
        let name = String(line[line.startIndex..<index])
        guard !name.isEmpty else { return nil }
        var labels: [String: String] = [:]
        if index < line.endIndex, line[index] == "{" {
            index = line.index(after: index)
            while index < line.endIndex, line[index] != "}" {
                while index < line.endIndex, line[index] == "," || line[index] == " " { index = line.index(after: index) }
                if index < line.endIndex, line[index] == "}" { break }
                let keyStart = index
                while index < line.endIndex, line[index] != "=" { index = line.index(after: index) }
                guard index < line.endIndex else { return nil }
                let key = String(line[keyStart..<index]).trimmingSpaces
                index = line.index(after: index)
                guard index < line.endIndex, line[index] == "\"" else { return nil }
                index = line.index(after: index)
                var value = ""
                while index < line.endIndex, line[index] != "\"" {
                    if line[index] == "\\" {
                        index = line.index(after: index)
                        guard index < line.endIndex else { return nil }
                        switch line[index] {
                        case "n": value.append("\n")
                        default: value.append(line[index])
                        }
                    } else {
                        value.append(line[index])
                    }
                    index = line.index(after: index)
                }
                guard index < line.endIndex else { return nil }
                index = line.index(after: index)
                labels[key] = value
            }
            guard index < line.endIndex else { return nil }
            index = line.index(after: index)
        }
        let rest = line[index...].split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard let first = rest.first, let value = number(first) else { return nil }
        return Sample(name: name, labels: labels, value: value)
    }

    static func number(_ text: Substring) -> Double? {
        switch text {
        case "+Inf", "Inf": return .infinity
        case "-Inf": return -.infinity
        case "NaN": return .nan
        default: return Double(text)
        }
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var text = Substring(self)
        while text.first == " " { text.removeFirst() }
        while text.last == " " { text.removeLast() }
        return String(text)
    }
}

/// Turns successive scrapes of one replica into the value the autoscaler compares with its
/// target: a gauge as it reads, a counter as its rate per second since the previous scrape,
/// a histogram as a quantile of the observations since the previous scrape (linear within a
/// bucket, as Prometheus's `histogram_quantile`), a summary as its reported quantile.
/// Pure: the time of each scrape is an input.
public struct MetricReader: Sendable {
    public let name: String
    public let quantile: Double?
    /// The previous scrape: its time and the counter or bucket values it read.
    private var previous: (time: Double, counter: Double?, buckets: [Double: Double])?

    public init(name: String, quantile: Double?) {
        self.name = name
        self.quantile = quantile
    }

    /// What went wrong reading a scrape: the metric is absent, or not of a usable type.
    public enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        case absent(String)
        case needsQuantile(String)
        /// A counter's first scrape: a rate needs two.
        case firstScrape

        public var description: String {
            switch self {
            case .absent(let name): return "the metrics endpoint has no \(name)"
            case .needsQuantile(let name): return "\(name) is a histogram: set `quantile:` (e.g. 0.99)"
            case .firstScrape: return "a counter's rate needs a second scrape"
            }
        }
    }

    /// Reads one scrape taken at `time` (seconds).
    public mutating func read(_ exposition: PrometheusText.Exposition, at time: Double) -> Result<Double, Problem> {
        let type = exposition.types[name] ?? exposition.types[name.hasSuffix("_total") ? String(name.dropLast(6)) : name] ?? "untyped"
        switch type {
        case "histogram":
            guard let quantile else { return .failure(.needsQuantile(name)) }
            var buckets: [Double: Double] = [:]
            for sample in exposition.samples where sample.name == name + "_bucket" {
                guard let le = sample.labels["le"].flatMap({ PrometheusText.number(Substring($0)) }) else { continue }
                buckets[le, default: 0] += sample.value
            }
            guard !buckets.isEmpty else { return .failure(.absent(name)) }
            var window = buckets
            if let before = previous?.buckets, !before.isEmpty,
               !buckets.contains(where: { $0.value < (before[$0.key] ?? 0) }) {
                for (le, count) in buckets { window[le] = count - (before[le] ?? 0) }
            }
            previous = (time, nil, buckets)
            return .success(Self.histogramQuantile(quantile, window))
        case "summary":
            let wanted = quantile ?? 0.5
            let matching = exposition.samples.filter { $0.name == name && $0.labels["quantile"].flatMap(Double.init) == wanted }
            guard let sample = matching.first else { return .failure(.absent(name)) }
            return .success(sample.value.isNaN ? 0 : sample.value)
        case "counter":
            let samples = exposition.samples.filter { $0.name == name || $0.name == name + "_total" }
            guard !samples.isEmpty else { return .failure(.absent(name)) }
            let total = samples.reduce(0) { $0 + $1.value }
            defer { previous = (time, total, [:]) }
            guard let before = previous, let counter = before.counter, time > before.time else { return .failure(.firstScrape) }
            // A counter that went down restarted from 0 (the replica restarted).
            let increase = total >= counter ? total - counter : total
            return .success(increase / (time - before.time))
        default:
            let samples = exposition.samples.filter { $0.name == name }
            guard !samples.isEmpty else { return .failure(.absent(name)) }
            return .success(samples.reduce(0) { $0 + $1.value })
        }
    }

    /// The `q` quantile of cumulative bucket counts (upper bound → count); 0 without observations.
    public static func histogramQuantile(_ q: Double, _ buckets: [Double: Double]) -> Double {
        let sorted = buckets.sorted { $0.key < $1.key }
        guard let total = sorted.last?.value, total > 0 else { return 0 }
        let rank = q * total
        var lowerBound = 0.0
        var lowerCount = 0.0
        for (upper, count) in sorted {
            if count >= rank {
                if upper.isInfinite { return lowerBound }
                let inBucket = count - lowerCount
                guard inBucket > 0 else { return upper }
                return lowerBound + (upper - lowerBound) * (rank - lowerCount) / inBucket
            }
            lowerBound = upper
            lowerCount = count
        }
        return lowerBound
    }
}
