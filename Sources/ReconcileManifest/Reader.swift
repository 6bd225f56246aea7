/// Typed access to `MNode`s that reports every mismatch to the sink and carries on.
struct Reader {
    let sink: DiagnosticSink

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The entries of a map; null counts as an empty map.
    func map(_ node: MNode, _ path: String) -> [MEntry]? {
        if node.isNull { return [] }
        if let entries = node.entries { return entries }
        sink.error(node.pos, path, "expected a map, got \(node.kindDescription)")
        return nil
    }

    /// Reports keys that are not in `supported`. Keys in `unsupported` are Compose keys
    /// reconcile does not implement; `x-*` keys are extension fields and ignored.
    func checkKeys(
        _ entries: [MEntry], _ path: String, supported: [String], unsupported: [String: String] = [:],
        refused: [String: String] = [:], extensions: Bool = true
    ) {
        for entry in entries {
            if supported.contains(entry.key) { continue }
            if let reason = refused[entry.key] {
                // A Compose key that cannot work with this engine or tool: the reason is the message.
                sink.error(entry.keyPos, Self.join(path, entry.key), reason)
                continue
            }
            if extensions && entry.key.hasPrefix("x-") {
                // Extension fields are ignored, so a misspelled `x-reconcile` would silently do nothing.
                if supported.contains("x-reconcile"), Values.editDistance(entry.key, "x-reconcile") <= 2 {
                    sink.warning(
                        entry.keyPos, Self.join(path, entry.key), "extension field ignored",
                        hint: "did you mean `x-reconcile`?")
                }
                continue
            }
            let keyPath = Self.join(path, entry.key)
            if let why = unsupported[entry.key] {
                sink.error(
                    entry.keyPos, keyPath, "`\(entry.key)` is a Compose key that reconcile does not support yet",
                    hint: why.isEmpty ? nil : why)
                continue
            }
            let hint = Values.suggestion(for: entry.key, among: supported).map { "did you mean `\($0)`?" }
            sink.error(entry.keyPos, keyPath, "unknown key", hint: hint ?? "valid keys here: \(supported.sorted().joined(separator: ", "))")
        }
    }

    func string(_ node: MNode, _ path: String) -> String? {
        if case .scalar = node.value, let text = node.scalarText { return text }
        sink.error(node.pos, path, "expected a string, got \(node.kindDescription)")
        return nil
    }

    /// A string that must be one of `allowed`.
    func choice(_ node: MNode, _ path: String, _ allowed: [String]) -> String? {
        guard let text = string(node, path) else { return nil }
        if allowed.contains(text) { return text }
        let hint = Values.suggestion(for: text, among: allowed).map { "did you mean `\($0)`?" }
            ?? "use one of: \(allowed.joined(separator: ", "))"
        sink.error(node.pos, path, "invalid value `\(text)`", hint: hint)
        return nil
    }

    func int(_ node: MNode, _ path: String, min: Int? = nil, max: Int? = nil) -> Int? {
        guard case .scalar = node.value, let text = node.scalarText else {
            sink.error(node.pos, path, "expected a whole number, got \(node.kindDescription)")
            return nil
        }
        guard let value = Int(text.trimmed(" ")) else {
            sink.error(node.pos, path, "expected a whole number, got `\(text)`")
            return nil
        }
        if let min, value < min {
            sink.error(node.pos, path, "must be at least \(min), got \(value)")
            return nil
        }
        if let max, value > max {
            sink.error(node.pos, path, "must be at most \(max), got \(value)")
            return nil
        }
        return value
    }

    func double(_ node: MNode, _ path: String, min: Double? = nil) -> Double? {
        guard case .scalar = node.value, let text = node.scalarText else {
            sink.error(node.pos, path, "expected a number, got \(node.kindDescription)")
            return nil
        }
        guard let value = Double(text.trimmed(" ")), value.isFinite else {
            sink.error(node.pos, path, "expected a number, got `\(text)`")
            return nil
        }
        if let min, value < min {
            sink.error(node.pos, path, "must be at least \(min), got \(text)")
            return nil
        }
        return value
    }

    func bool(_ node: MNode, _ path: String) -> Bool? {
        if case .scalar = node.value, let text = node.scalarText {
            switch text.lowercased() {
            case "true", "yes", "on": return true
            case "false", "no", "off": return false
            default: break
            }
        }
        sink.error(node.pos, path, "expected true or false, got \(node.kindDescription)")
        return nil
    }

    /// Seconds from a duration like "1m30s".
    func duration(_ node: MNode, _ path: String) -> Double? {
        guard let text = string(node, path) else { return nil }
        if let seconds = Values.duration(text) { return seconds }
        sink.error(
            node.pos, path, "invalid duration `\(text)`",
            hint: "write a number with a unit, e.g. `10s`, `1m30s`, `500ms`, `2h`")
        return nil
    }

    /// Bytes from a size like "512m".
    func bytes(_ node: MNode, _ path: String) -> Int64? {
        guard let text = string(node, path) else { return nil }
        if let bytes = Values.bytes(text) { return bytes }
        sink.error(
            node.pos, path, "invalid size `\(text)`",
            hint: "write bytes or a number with a unit, e.g. `512m`, `1g`, `1GiB`")
        return nil
    }

    /// A list of strings; with `single`, a lone string is a one-item list.
    func stringList(_ node: MNode, _ path: String, single: Bool = false) -> [String]? {
        if single, case .scalar = node.value, let text = node.scalarText { return [text] }
        guard let items = node.items else {
            if node.isNull { return [] }
            sink.error(node.pos, path, "expected \(single ? "a string or a list" : "a list"), got \(node.kindDescription)")
            return nil
        }
        var out: [String] = []
        var ok = true
        for (index, item) in items.enumerated() {
            if let text = string(item, "\(path)[\(index)]") { out.append(text) } else { ok = false }
        }
        return ok ? out : nil
    }

    /// A map of strings in map form or list form (`KEY=VALUE`); a key without value maps to nil.
    func keyValues(_ node: MNode, _ path: String) -> [(key: String, value: String?, pos: Position)]? {
        if let entries = node.entries {
            var out: [(String, String?, Position)] = []
            for entry in entries {
                let value: String?
                if entry.value.isNull {
                    value = nil
                } else if case .scalar = entry.value.value {
                    value = entry.value.scalarText
                } else {
                    sink.error(
                        entry.value.pos, Self.join(path, entry.key),
                        "expected a string, a number or a boolean, got \(entry.value.kindDescription)")
                    continue
                }
                out.append((entry.key, value, entry.keyPos))
            }
            return out
        }
        if let items = node.items {
            var out: [(String, String?, Position)] = []
            for (index, item) in items.enumerated() {
                guard let text = string(item, "\(path)[\(index)]") else { continue }
                if let eq = text.firstIndex(of: "=") {
                    out.append((String(text[..<eq]), String(text[text.index(after: eq)...]), item.pos))
                } else {
                    out.append((text, nil, item.pos))
                }
            }
            return out
        }
        if node.isNull { return [] }
        sink.error(node.pos, path, "expected a list or a map, got \(node.kindDescription)")
        return nil
    }

    /// Like `keyValues`, but a key without value is an empty string (labels, options).
    func stringMap(_ node: MNode, _ path: String) -> [String: String]? {
        guard let pairs = keyValues(node, path) else { return nil }
        var out: [String: String] = [:]
        for pair in pairs { out[pair.key] = pair.value ?? "" }
        return out
    }
}
