import Yams

/// A YAML value with the position it came from, independent of Yams so that merged trees
/// from several files keep each value's own file, line and column.
struct MNode: Sendable, Equatable {
    enum Value: Sendable, Equatable {
        case scalar(Scalar)
        case mapping([MEntry])
        case sequence([MNode])
    }

    struct Scalar: Sendable, Equatable {
        var text: String
        /// Unquoted plain style: only these can be YAML null.
        var plain: Bool
    }

    var value: Value
    var pos: Position
    /// A local tag such as `!reset` or `!override` (Compose merge directives), else nil.
    var tag: String?

    init(_ value: Value, _ pos: Position, tag: String? = nil) {
        self.value = value
        self.pos = pos
        self.tag = tag
    }

    static func string(_ text: String, _ pos: Position) -> MNode {
        MNode(.scalar(Scalar(text: text, plain: false)), pos)
    }

    static func null(_ pos: Position) -> MNode {
        MNode(.scalar(Scalar(text: "", plain: true)), pos)
    }

    var isNull: Bool {
        if case .scalar(let s) = value, s.plain, ["", "~", "null", "Null", "NULL"].contains(s.text) { return true }
        return false
    }

    /// The text of a non-null scalar.
    var scalarText: String? {
        if case .scalar(let s) = value, !isNull { return s.text }
        return nil
    }

    var entries: [MEntry]? {
        if case .mapping(let entries) = value { return entries }
        return nil
    }

    var items: [MNode]? {
        if case .sequence(let items) = value { return items }
        return nil
    }

    subscript(key: String) -> MNode? {
        entries?.last { $0.key == key }?.value
    }

    /// "a string", "a list", … for "expected X, got Y" messages.
    var kindDescription: String {
        switch value {
        case .mapping: return "a map"
        case .sequence: return "a list"
        case .scalar(let s):
            if isNull { return "nothing (null)" }
            if s.plain {
                if Int(s.text) != nil { return "a number (\(s.text))" }
                if Double(s.text) != nil { return "a number (\(s.text))" }
                if ["true", "false"].contains(s.text.lowercased()) { return "a boolean (\(s.text))" }
            }
            return "a string"
        }
    }
}

struct MEntry: Sendable, Equatable {
    var key: String
    var keyPos: Position
    var value: MNode
}

enum TreeBuilder {
    /// The most bytes a manifest file may have: Compose files are a few KiB; this bounds the
    /// time and memory a hostile or broken file can cost before anything is parsed.
    static let maximumBytes = 2 << 20
    /// The most values (scalars, maps, lists) one document may expand to, aliases expanded:
    /// an alias bomb (nine levels of nine-way aliases: 9^9 values from 1 KiB) stops here,
    /// in well under a second and a few MiB.
    static let maximumValues = 100_000

    /// Parses one YAML document into an `MNode`, or reports why it cannot.
    static func parse(yaml: String, file: String, sink: DiagnosticSink) -> MNode? {
        if yaml.utf8.count > maximumBytes {
            sink.error(.start(of: file), "", "the file has \(yaml.utf8.count) bytes, more than the \(maximumBytes >> 20) MiB a manifest may have",
                       hint: "split it with `include`, or check that this is the file you meant")
            return nil
        }
        let root: Node?
        do {
            // The basic resolver: the tree keeps each scalar's text and style and the values
            // are typed by the parsers (Values.swift), so Yams' implicit typing is not needed,
            // and its default resolver compiles seven regular expressions on first use
            // (2–3 ms of every command). Explicit local tags (`!reset`) are kept either way.
            root = try Yams.compose(yaml: yaml, .basic)
        } catch let error as YamlError {
            report(error, file: file, sink: sink)
            return nil
        } catch {
            sink.error(.start(of: file), "", "cannot parse YAML: \(error)")
            return nil
        }
        guard let root else {
            // An empty file is an empty manifest.
            return MNode(.mapping([]), .start(of: file))
        }
        var budget = Budget(left: maximumValues)
        var path: [Step] = []
        let tree = convert(root, file: file, path: &path, sink: sink, budget: &budget)
        if budget.exceeded {
            sink.error(.start(of: file), "", "the document expands to more than \(maximumValues) values through its aliases (`*name`)",
                       hint: "an alias bomb? Use fewer nested aliases")
            return nil
        }
        return tree
    }

    /// How many more values a document may expand to.
    struct Budget {
        var left: Int
        var exceeded = false

        /// Takes one value; false (and nothing more is converted) once the budget is spent.
        mutating func take() -> Bool {
            if left == 0 { exceeded = true; return false }
            left -= 1
            return true
        }
    }

    private static func report(_ error: YamlError, file: String, sink: DiagnosticSink) {
        switch error {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let pos = Position(file: file, line: mark.line, column: mark.column)
            let message = [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ", ")
            sink.error(pos, "", "invalid YAML: \(message)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let pos = Position(file: file, line: context.mark.line, column: context.mark.column)
            let keys = duplicates.map { "`\($0)`" }.joined(separator: ", ")
            sink.error(pos, "", "duplicate key \(keys) in the same map", hint: "keep one of them")
        case .reader(let problem, _, _, _):
            sink.error(.start(of: file), "", "cannot read YAML: \(problem)")
        default:
            sink.error(.start(of: file), "", "invalid YAML: \(error)")
        }
    }

    private static func position(_ mark: Mark?, _ file: String) -> Position {
        guard let mark else { return .start(of: file) }
        return Position(file: file, line: mark.line, column: mark.column)
    }

    private static func localTag(_ tag: Tag) -> String? {
        let name = tag.description
        return name.hasPrefix("!") && !name.hasPrefix("!!") ? name : nil
    }

    /// One step of the key path to a value; joined into text only for a diagnostic, since
    /// building every value's path would cost more than converting it.
    enum Step {
        case key(String)
        case index(Int)

        static func text(_ steps: [Step]) -> String {
            var out = ""
            for step in steps {
                switch step {
                case .key(let key): out += out.isEmpty ? key : "." + key
                case .index(let index): out += "[\(index)]"
                }
            }
            return out
        }
    }

    private static func convert(_ node: Node, file: String, path: inout [Step], sink: DiagnosticSink, budget: inout Budget) -> MNode {
        guard budget.take() else { return MNode(.scalar(.init(text: "", plain: true)), .start(of: file)) }
        switch node {
        case .scalar(let scalar):
            let plain = scalar.style == .plain || scalar.style == .any
            return MNode(
                .scalar(.init(text: scalar.string, plain: plain)), position(scalar.mark, file),
                tag: localTag(scalar.tag))
        case .alias(let alias):
            return MNode(.scalar(.init(text: "", plain: true)), position(alias.mark, file))
        case .sequence(let sequence):
            var items: [MNode] = []
            items.reserveCapacity(sequence.count)
            for (index, item) in sequence.enumerated() {
                path.append(.index(index))
                items.append(convert(item, file: file, path: &path, sink: sink, budget: &budget))
                path.removeLast()
            }
            return MNode(.sequence(items), position(sequence.mark, file), tag: localTag(sequence.tag))
        case .mapping(let mapping):
            var entries: [MEntry] = []
            var merged: [MEntry] = []
            for (keyNode, valueNode) in mapping {
                let keyPos = position(keyNode.mark, file)
                guard case .scalar(let keyScalar) = keyNode else {
                    sink.error(keyPos, Step.text(path), "map keys must be plain strings, got \(keyNode.mapping != nil ? "a map" : "a list")")
                    continue
                }
                let key = keyScalar.string
                path.append(.key(key))
                defer { path.removeLast() }
                let value = convert(valueNode, file: file, path: &path, sink: sink, budget: &budget)
                if key == "<<" && keyScalar.style == .plain {
                    // YAML merge key: the referenced maps supply keys this map does not set itself.
                    let sources = value.items ?? [value]
                    for source in sources {
                        if let sourceEntries = source.entries {
                            for entry in sourceEntries where !merged.contains(where: { $0.key == entry.key }) {
                                merged.append(entry)
                            }
                        } else {
                            sink.error(source.pos, Step.text(path), "a `<<` merge key needs a map or a list of maps, got \(source.kindDescription)")
                        }
                    }
                    continue
                }
                entries.append(MEntry(key: key, keyPos: keyPos, value: value))
            }
            for entry in merged where !entries.contains(where: { $0.key == entry.key }) {
                entries.append(entry)
            }
            return MNode(.mapping(entries), position(mapping.mark, file), tag: localTag(mapping.tag))
        }
    }
}
