import Foundation
import ReconcileCore

/// Top-level `secrets` / `configs`, and the grants of a service.
enum FileObjectKind {
    case secret, config

    /// The manifest key: `secrets` or `configs`.
    var key: String { self == .secret ? "secrets" : "configs" }
    var singular: String { self == .secret ? "secret" : "config" }

    /// Where a grant's file goes: a secret under `/run/secrets/`, a config under `/`, unless
    /// the target is absolute.
    func target(_ text: String) -> String {
        if text.hasPrefix("/") { return text }
        return (self == .secret ? "/run/secrets/" : "/") + text
    }
}

/// A top-level secret or config with what its checks need.
struct ParsedFileObject {
    var object: FileObject
    var keyPos: Position
    /// Why its content is not at hand (an unset variable, an unreadable file), at the value
    /// that says where it comes from: an error once a service uses it.
    var problem: (pos: Position, path: String, message: String, hint: String?)?
}

extension ProjectParser {
    /// Keys of a secret or config that only a Swarm secret store has.
    private static let swarmKeys = ["driver", "driver_opts", "template_driver"]

    func fileObjects(_ node: MNode, _ kind: FileObjectKind) -> [ParsedFileObject] {
        guard let entries = reader.map(node, kind.key) else { return [] }
        var out: [ParsedFileObject] = []
        for entry in entries {
            let path = "\(kind.key).\(entry.key)"
            guard let fields = reader.map(entry.value, path) else { continue }
            reader.checkKeys(
                fields, path, supported: ["file", "environment", "content", "external", "name", "labels"] + Self.swarmKeys)
            for key in Self.swarmKeys {
                if let field = fields.last(where: { $0.key == key }) {
                    sink.error(field.keyPos, "\(path).\(key)", "`\(key)` configures Docker Swarm's \(kind.singular) store; a single engine has none",
                               hint: "remove `\(key)`")
                }
            }
            if let labels = fields.last(where: { $0.key == "labels" }) {
                sink.warning(labels.keyPos, "\(path).labels", "ignored: labels belong to Swarm's \(kind.singular) objects, which a single engine does not create")
            }
            let name = entry.value["name"].flatMap { reader.string($0, "\(path).name") }
            let isExternal = entry.value["external"].flatMap { reader.bool($0, "\(path).external") } ?? false
            let sources = fields.filter { ["file", "environment", "content"].contains($0.key) }
            if isExternal {
                for other in fields where !["external", "name"].contains(other.key) && !other.key.hasPrefix("x-") {
                    sink.error(other.keyPos, "\(path).\(other.key)", "an external \(kind.singular) is used as it is; `\(other.key)` cannot be set",
                               hint: "remove `\(other.key)`, or `external: true`")
                }
                out.append(ParsedFileObject(object: FileObject(key: entry.key, name: name, source: .external), keyPos: entry.keyPos))
                continue
            }
            guard let source = sources.first else {
                sink.error(entry.keyPos, path, "\(kind.singular) `\(entry.key)` has no source", hint: "set `file`, `environment` or `content`")
                continue
            }
            for extra in sources.dropFirst() {
                sink.error(extra.keyPos, "\(path).\(extra.key)", "`\(source.key)` and `\(extra.key)` are both set; a \(kind.singular) has one source",
                           hint: "keep one of them")
            }
            guard let text = reader.string(source.value, "\(path).\(source.key)") else { continue }
            var parsed = ParsedFileObject(
                object: FileObject(key: entry.key, name: name, source: .content), keyPos: entry.keyPos)
            let at = "\(path).\(source.key)"
            switch source.key {
            case "file":
                let absolute = text.hasPrefix("~") && environment["HOME"] != nil
                    ? PathTools.resolve((environment["HOME"] ?? "") + text.dropFirst(), against: "/")
                    : PathTools.resolve(text, against: projectDirectory)
                parsed.object.source = .file
                parsed.object.reference = absolute
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: absolute, isDirectory: &isDirectory), isDirectory.boolValue {
                    parsed.problem = (source.value.pos, at, "`\(text)` is a folder; a \(kind.singular) is one file", hint: "name a file, or mount the folder with `volumes`")
                } else if let data = BoundedFile.contents(atPath: absolute) {
                    parsed.object.digest = SHA256.hex(data)
                } else {
                    parsed.problem = (source.value.pos, at, "the \(kind.singular) file `\(text)` cannot be read (looked at \(absolute))", hint: "create it, or fix the path")
                }
            case "environment":
                parsed.object.source = .environment
                parsed.object.reference = text
                if let value = environment[text] {
                    parsed.object.content = value
                    parsed.object.digest = SHA256.hex(value)
                } else {
                    parsed.problem = (source.value.pos, at, "the variable `\(text)` that \(kind.singular) `\(entry.key)` reads is not set",
                                      hint: "set it in the environment or in .env")
                }
            default:
                parsed.object.content = text
                parsed.object.digest = SHA256.hex(text)
            }
            out.append(parsed)
        }
        return out
    }

    /// Reads a service's `secrets` and `configs` into its grants.
    func grantFiles(_ serviceNode: MNode, to service: inout Service, secrets: [ParsedFileObject], configs: [ParsedFileObject]) {
        var targets: [String: String] = [:]
        for (kind, declared) in [(FileObjectKind.secret, secrets), (.config, configs)] {
            guard let node = serviceNode[kind.key] else { continue }
            let path = "services.\(service.name).\(kind.key)"
            guard let items = node.items else {
                if !node.isNull { sink.error(node.pos, path, "expected a list, got \(node.kindDescription)") }
                continue
            }
            var grants: [FileGrant] = []
            var written: [Position] = []
            for (index, item) in items.enumerated() {
                let itemPath = "\(path)[\(index)]"
                guard let parsed = grant(item, itemPath, kind) else { continue }
                var grant = parsed.grant
                guard let object = declared.first(where: { $0.object.key == grant.source }) else {
                    let hint = Values.suggestion(for: grant.source, among: declared.map(\.object.key)).map { "did you mean `\($0)`?" }
                        ?? "declare it under the top-level `\(kind.key):` with `file`, `environment` or `content`"
                    sink.error(parsed.sourcePos, itemPath, "\(kind.singular) `\(grant.source)` is not declared in the top-level `\(kind.key)`", hint: hint)
                    continue
                }
                switch object.object.source {
                case .external:
                    sink.error(
                        parsed.sourcePos, itemPath,
                        "\(kind.singular) `\(grant.source)` is external (\(object.keyPos.file):\(object.keyPos.line)): external \(kind.key) live in Docker Swarm's store, which a single engine does not have",
                        hint: "give it a `file`, `environment` or `content` source")
                    continue
                case .file:
                    if grant.uid != nil || grant.gid != nil || grant.mode != nil {
                        sink.warning(item.pos, itemPath, "`uid`, `gid` and `mode` are ignored for a \(kind.singular) from a file: it is bind-mounted read-only as it is on the host, as in Compose",
                                     hint: "set them on the host file, or use `content` or `environment`")
                        grant.uid = nil
                        grant.gid = nil
                        grant.mode = nil
                    }
                case .environment, .content:
                    written.append(item.pos)
                }
                if let other = targets[grant.target] {
                    sink.error(item.pos, itemPath, "`\(grant.target)` is already the target of \(other)", hint: "set another `target`")
                    continue
                }
                targets[grant.target] = "\(kind.singular) \(grant.source)"
                grants.append(grant)
            }
            if let readOnly = serviceNode["read_only"], readOnly.scalarText.map({ ["true", "yes", "on"].contains($0.lowercased()) }) == true,
               let first = written.first {
                sink.error(first, path, "a read-only container cannot have \(kind.key) written into it: only a `file` source, bind-mounted, works with `read_only: true`",
                           hint: "use a `file` source, or remove `read_only`")
            }
            let sorted = grants.sorted { $0.target < $1.target }
            if kind == .secret {
                service.secrets = sorted.isEmpty ? nil : sorted
            } else {
                service.configs = sorted.isEmpty ? nil : sorted
            }
        }
    }

    private func grant(_ item: MNode, _ path: String, _ kind: FileObjectKind) -> (grant: FileGrant, sourcePos: Position)? {
        if case .scalar = item.value, let text = item.scalarText {
            return (FileGrant(source: text, target: kind.target(text)), item.pos)
        }
        guard let entries = item.entries else {
            sink.error(item.pos, path, "expected a \(kind.singular) name or a map {source, target, uid, gid, mode}, got \(item.kindDescription)")
            return nil
        }
        reader.checkKeys(entries, path, supported: ["source", "target", "uid", "gid", "mode"])
        guard let sourceNode = item["source"] else {
            sink.error(item.pos, path, "missing `source`", hint: "name the \(kind.singular) from the top-level `\(kind.key)`")
            return nil
        }
        guard let source = reader.string(sourceNode, "\(path).source") else { return nil }
        var grant = FileGrant(source: source, target: kind.target(source))
        if let node = item["target"], let text = reader.string(node, "\(path).target") {
            if text.trimmed(" ").isEmpty {
                sink.error(node.pos, "\(path).target", "the target is empty")
            } else {
                grant.target = kind.target(text)
            }
        }
        grant.uid = item["uid"].flatMap { numericID($0, "\(path).uid") }
        grant.gid = item["gid"].flatMap { numericID($0, "\(path).gid") }
        grant.mode = item["mode"].flatMap { mode($0, "\(path).mode") }
        return (grant, sourceNode.pos)
    }

    private func numericID(_ node: MNode, _ path: String) -> String? {
        guard let text = reader.string(node, path) else { return nil }
        guard !text.isEmpty, text.allSatisfy(\.isASCIIDigit), Int(text) != nil else {
            sink.error(node.pos, path, "expected a numeric id, got `\(text)`", hint: "names are not looked up in the image; write the number")
            return nil
        }
        return text
    }

    /// Permission bits, octal: `0440`, `0o440` or `"440"`; an unquoted number without a
    /// leading 0 is decimal, as YAML reads it (and Compose after it).
    private func mode(_ node: MNode, _ path: String) -> Int? {
        guard case .scalar(let scalar) = node.value, let text = node.scalarText else {
            sink.error(node.pos, path, "expected a mode such as 0440, got \(node.kindDescription)")
            return nil
        }
        let value: Int?
        if text.hasPrefix("0o") {
            value = Int(text.dropFirst(2), radix: 8)
        } else if !scalar.plain || (text.hasPrefix("0") && text.count > 1) {
            value = Int(text, radix: 8)
        } else {
            value = Int(text)
        }
        guard let value, (0...0o7777).contains(value) else {
            sink.error(node.pos, path, "invalid mode `\(text)`", hint: "write octal permission bits, e.g. 0440")
            return nil
        }
        return value
    }

    /// Reports what keeps a used object's content out of reach.
    func checkFileObjects(_ objects: [ParsedFileObject], _ kind: FileObjectKind, used services: [Service]) {
        let used = Set(services.flatMap { (kind == .secret ? $0.secrets : $0.configs) ?? [] }.map(\.source))
        for object in objects where used.contains(object.object.key) {
            if let problem = object.problem {
                sink.error(problem.pos, problem.path, problem.message, hint: problem.hint)
            }
        }
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
