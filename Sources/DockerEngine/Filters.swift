import Foundation

/// The `filters` query parameter of the list and events endpoints: a filter name
/// (`label`, `name`, `status`, `type`, …) to the values it accepts.
///
/// Encoded as `{"label":{"a=b":true}}`, the form every engine since 1.24 reads
/// (and the one the docker CLI sends). Several values of one name are ORed by the
/// engine; different names are ANDed.
public struct DockerFilters: Sendable, Equatable, ExpressibleByDictionaryLiteral {
    public var values: [String: [String]]

    public init(_ values: [String: [String]] = [:]) {
        self.values = values
    }

    public init(dictionaryLiteral elements: (String, [String])...) {
        var values: [String: [String]] = [:]
        for (name, list) in elements { values[name, default: []] += list }
        self.values = values
    }

    public var isEmpty: Bool { values.values.allSatisfy(\.isEmpty) }

    /// Adds one value to a filter name.
    public mutating func add(_ name: String, _ value: String) {
        values[name, default: []].append(value)
    }

    /// A copy with one more value.
    public func adding(_ name: String, _ value: String) -> DockerFilters {
        var copy = self
        copy.add(name, value)
        return copy
    }

    /// Matches objects carrying `key` (any value).
    public static func label(_ key: String) -> DockerFilters { ["label": [key]] }

    /// Matches objects whose label `key` equals `value`.
    public static func label(_ key: String, _ value: String) -> DockerFilters { ["label": ["\(key)=\(value)"]] }

    /// The JSON text for the query string, with sorted keys so equal filters encode equally.
    public func jsonString() -> String {
        var object: [String: [String: Bool]] = [:]
        for (name, list) in values where !list.isEmpty {
            object[name] = Dictionary(list.map { ($0, true) }, uniquingKeysWith: { a, _ in a })
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding [String: [String: Bool]] cannot fail.
        guard let data = try? encoder.encode(object) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
