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
    /// Parses one YAML document into an `MNode`, or reports why it cannot.
    static func parse(yaml: String, file: String, sink: DiagnosticSink) -> MNode? {
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
        return convert(root, file: file, path: "", sink: sink)
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

    private static func convert(_ node: Node, file: String, path: String, sink: DiagnosticSink) -> MNode {
        switch node {
        case .scalar(let scalar):
            let plain = scalar.style == .plain || scalar.style == .any
            return MNode(
                .scalar(.init(text: scalar.string, plain: plain)), position(scalar.mark, file),
                tag: localTag(scalar.tag))
        case .alias(let alias):
            return MNode(.scalar(.init(text: "", plain: true)), position(alias.mark, file))
        case .sequence(let sequence):
            let items = sequence.enumerated().map { index, item in
                convert(item, file: file, path: "\(path)[\(index)]", sink: sink)
            }
            return MNode(.sequence(items), position(sequence.mark, file), tag: localTag(sequence.tag))
        case .mapping(let mapping):
            var entries: [MEntry] = []
            var merged: [MEntry] = []
            for (keyNode, valueNode) in mapping {
                let keyPos = position(keyNode.mark, file)
                guard case .scalar(let keyScalar) = keyNode else {
                    sink.error(keyPos, path, "map keys must be plain strings, got \(keyNode.mapping != nil ? "a map" : "a list")")
                    continue
                }
                let key = keyScalar.string
                let childPath = path.isEmpty ? key : "\(path).\(key)"
                let value = convert(valueNode, file: file, path: childPath, sink: sink)
                if key == "<<" && keyScalar.style == .plain {
                    // YAML merge key: the referenced maps supply keys this map does not set itself.
                    let sources = value.items ?? [value]
                    for source in sources {
                        if let sourceEntries = source.entries {
                            for entry in sourceEntries where !merged.contains(where: { $0.key == entry.key }) {
                                merged.append(entry)
                            }
                        } else {
                            sink.error(source.pos, childPath, "a `<<` merge key needs a map or a list of maps, got \(source.kindDescription)")
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
