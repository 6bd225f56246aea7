extension MNode {
    /// A canonical text form (map keys sorted, positions dropped) for hashing.
    var canonical: String {
        switch value {
        case .scalar(let s):
            if isNull { return "null" }
            return "\"" + s.text.replacingAll("\\", "\\\\").replacingAll("\"", "\\\"").replacingAll("\n", "\\n") + "\""
        case .sequence(let items):
            return "[" + items.map(\.canonical).joined(separator: ",") + "]"
        case .mapping(let entries):
            let sorted = entries.sorted { $0.key < $1.key }
            return "{" + sorted.map { MNode.string($0.key, $0.keyPos).canonical + ":" + $0.value.canonical }.joined(separator: ",") + "}"
        }
    }
}

extension String {
    func replacingAll(_ target: String, _ replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
