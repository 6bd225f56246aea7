/// The part of JSONPath that names one value: `predictions[0]`, `result.label`,
/// `["class name"]`, `[0]`, each with or without a leading `$` (which a Compose file writes
/// `$$`, as every literal `$`).
public struct JSONPath: Sendable, Hashable, CustomStringConvertible {
    public enum Component: Sendable, Hashable {
        case key(String)
        case index(Int)
    }

    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
    }

    public var components: [Component]
    public let description: String

    public init(parsing text: String) throws {
        description = text
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        if rest.hasPrefix("$") { rest = rest.dropFirst() }
        var components: [Component] = []
        func fail(_ why: String) -> ParseError { ParseError(description: "`\(text)` is not a JSON path: \(why) (write e.g. `predictions[0]` or `result.label`)") }
        while !rest.isEmpty {
            if rest.hasPrefix(".") || components.isEmpty && !rest.hasPrefix("[") {
                if rest.hasPrefix(".") { rest = rest.dropFirst() }
                let key = rest.prefix { $0 != "." && $0 != "[" }
                guard !key.isEmpty else { throw fail("a `.` without a key") }
                components.append(.key(String(key)))
                rest = rest.dropFirst(key.count)
            } else if rest.hasPrefix("[") {
                guard let close = rest.firstIndex(of: "]") else { throw fail("`[` without `]`") }
                let inside = rest[rest.index(after: rest.startIndex)..<close].trimmingCharacters(in: .whitespaces)
                if let index = Int(inside) {
                    guard index >= 0 else { throw fail("a negative index") }
                    components.append(.index(index))
                } else if inside.count >= 2, let quote = inside.first, quote == "\"" || quote == "'", inside.last == quote {
                    components.append(.key(String(inside.dropFirst().dropLast())))
                } else {
                    throw fail("`[\(inside)]` is neither an index nor a quoted key")
                }
                rest = rest[rest.index(after: close)...]
            } else {
                throw fail("unexpected `\(rest.prefix(1))`")
            }
        }
        self.components = components
    }

    /// The value the path names in `value`, or nil when it is not there.
    public func evaluate(_ value: JSONValue) -> JSONValue? {
        var current = value
        for component in components {
            switch (component, current) {
            case (.key(let key), .object(let members)):
                guard let next = members[key] else { return nil }
                current = next
            case (.index(let index), .array(let items)):
                guard items.indices.contains(index) else { return nil }
                current = items[index]
            default:
                return nil
            }
        }
        return current
    }
}

import Foundation
