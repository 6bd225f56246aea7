/// Merges Compose files in order, following the Compose Specification's merge rules:
/// maps merge recursively with later scalars winning, sequences append (ports and volumes
/// unique by their key), `command`, `entrypoint` and `healthcheck.test` are replaced, and the
/// `!reset` / `!override` tags clear or replace a value. Every node keeps the position of
/// the file that contributed it.
enum Merger {
    /// Service keys whose list and map forms are both keyed by name.
    private static let keyedServiceKeys: Set<String> = [
        "environment", "labels", "depends_on", "networks", "ulimits", "sysctls", "annotations",
    ]
    /// Service keys whose value replaces the earlier one whatever its form.
    private static let replacedServiceKeys: Set<String> = ["command", "entrypoint"]
    /// Service keys that may be a single string or a list; both append.
    private static let stringOrListKeys: Set<String> = ["tmpfs", "env_file", "dns", "dns_search", "profiles"]

    static func merge(_ base: MNode, _ over: MNode, path: [String]) -> MNode {
        if over.tag == "!override" { return stripped(over) }
        // An empty value (`services:` with nothing under it) adds nothing; `!reset` is how to clear.
        if over.isNull && over.tag == nil && !base.isNull, base.entries != nil || base.items != nil { return base }
        // Service-level special cases.
        if path.count == 3, path[0] == "services" {
            let key = path[2]
            if replacedServiceKeys.contains(key) { return over }
            if keyedServiceKeys.contains(key) {
                return mergeMaps(asMap(base, key: key), asMap(over, key: key), path: path)
            }
            if key == "volumes" { return mergeUnique(base, over, identity: volumeTarget) }
            if key == "ports" { return mergeUnique(base, over, identity: portIdentity) }
            if key == "secrets" || key == "configs" { return mergeUnique(base, over, identity: grantTarget) }
            if key == "extra_hosts" { return appendUnique(hostsAsList(base), hostsAsList(over)) }
            if stringOrListKeys.contains(key) { return appendUnique(asList(base), asList(over)) }
        }
        if path.count == 4, path[0] == "services", path[2] == "healthcheck", path[3] == "test" { return over }
        if path.count >= 4, path[0] == "services", path[2] == "x-reconcile", path[3] != "secret_env" { return replaceSequences(base, over, path: path) }
        if path == ["x-reconcile", "gpus"] { return over }
        return replaceSequences(base, over, path: path, appendLists: true)
    }

    private static func replaceSequences(_ base: MNode, _ over: MNode, path: [String], appendLists: Bool = false) -> MNode {
        switch (base.value, over.value) {
        case (.mapping, .mapping):
            return mergeMaps(base, over, path: path)
        case (.sequence, .sequence) where appendLists:
            return appendUnique(base, over)
        default:
            return over
        }
    }

    private static func mergeMaps(_ base: MNode, _ over: MNode, path: [String]) -> MNode {
        guard case .mapping(var entries) = base.value, case .mapping(let overEntries) = over.value else { return over }
        for entry in overEntries {
            if entry.value.tag == "!reset" {
                entries.removeAll { $0.key == entry.key }
                continue
            }
            if let index = entries.firstIndex(where: { $0.key == entry.key }) {
                var merged = entries[index]
                merged.value = merge(entries[index].value, entry.value, path: path + [entry.key])
                merged.keyPos = entry.keyPos
                entries[index] = merged
            } else {
                entries.append(entry)
            }
        }
        var result = over
        result.value = .mapping(entries)
        result.pos = base.pos
        return result
    }

    private static func appendUnique(_ base: MNode, _ over: MNode) -> MNode {
        guard case .sequence(var items) = base.value, case .sequence(let overItems) = over.value else { return over }
        for item in overItems where !items.contains(where: { $0.value == item.value }) {
            items.append(item)
        }
        var result = base
        result.value = .sequence(items)
        return result
    }

    /// Appends, replacing an earlier entry with the same identity.
    private static func mergeUnique(_ base: MNode, _ over: MNode, identity: (MNode) -> String?) -> MNode {
        guard case .sequence(var items) = base.value, case .sequence(let overItems) = over.value else { return over }
        for item in overItems {
            if let id = identity(item), let index = items.firstIndex(where: { identity($0) == id }) {
                items[index] = item
            } else if !items.contains(where: { $0.value == item.value }) {
                items.append(item)
            }
        }
        var result = base
        result.value = .sequence(items)
        return result
    }

    static func volumeTarget(_ node: MNode) -> String? {
        if let text = node.scalarText {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            return parts.count >= 2 ? parts[1] : parts.first
        }
        return node["target"]?.scalarText
    }

    /// A grant is unique by its target, which defaults to its source's name.
    private static func grantTarget(_ node: MNode) -> String? {
        if let text = node.scalarText { return text }
        return node["target"]?.scalarText ?? node["source"]?.scalarText
    }

    private static func portIdentity(_ node: MNode) -> String? {
        if let text = node.scalarText { return text }
        let fields = ["host_ip", "target", "published", "protocol"].map { node[$0]?.scalarText ?? "" }
        return fields.joined(separator: "|")
    }

    private static func asList(_ node: MNode) -> MNode {
        if case .scalar = node.value, !node.isNull { return MNode(.sequence([node]), node.pos) }
        return node
    }

    private static func hostsAsList(_ node: MNode) -> MNode {
        guard let entries = node.entries else { return node }
        var items: [MNode] = []
        for entry in entries {
            for value in entry.value.items ?? [entry.value] {
                items.append(.string("\(entry.key)=\(value.scalarText ?? "")", value.pos))
            }
        }
        return MNode(.sequence(items), node.pos)
    }

    /// The map form of a key that also has a list form: `["A=1", "B"]` becomes `{A: "1", B: null}`.
    static func asMap(_ node: MNode, key: String) -> MNode {
        guard let items = node.items else { return node }
        var entries: [MEntry] = []
        for item in items {
            guard let text = item.scalarText else { return node }
            if key == "environment" || key == "labels" || key == "annotations" || key == "sysctls" {
                if let eq = text.firstIndex(of: "=") {
                    let name = String(text[..<eq])
                    entries.removeAll { $0.key == name }
                    entries.append(MEntry(key: name, keyPos: item.pos, value: .string(String(text[text.index(after: eq)...]), item.pos)))
                } else {
                    entries.removeAll { $0.key == text }
                    entries.append(MEntry(key: text, keyPos: item.pos, value: .null(item.pos)))
                }
            } else {
                entries.removeAll { $0.key == text }
                entries.append(MEntry(key: text, keyPos: item.pos, value: .null(item.pos)))
            }
        }
        return MNode(.mapping(entries), node.pos, tag: node.tag)
    }

    /// Removes `!reset` entries left in a single file and drops merge tags.
    static func stripped(_ node: MNode) -> MNode {
        var node = node
        node.tag = nil
        switch node.value {
        case .scalar: break
        case .mapping(let entries):
            node.value = .mapping(entries.filter { $0.value.tag != "!reset" }.map { entry in
                var entry = entry
                entry.value = stripped(entry.value)
                return entry
            })
        case .sequence(let items):
            node.value = .sequence(items.filter { $0.tag != "!reset" }.map(stripped))
        }
        return node
    }
}
