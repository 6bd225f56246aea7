/// Compose variable interpolation (`$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
/// `${VAR:?error}`, `${VAR?error}`, `${VAR:+alt}`, `${VAR+alt}`, `$$`), applied to every
/// scalar value of a tree; keys are left alone.
struct Interpolator {
    var environment: [String: String]
    var sink: DiagnosticSink

    private struct Failure: Error {
        var message: String
        var hint: String?
    }

    func apply(_ node: MNode, path: String) -> MNode {
        var node = node
        switch node.value {
        case .scalar(let scalar):
            guard scalar.text.contains("$") else { return node }
            do {
                var unset: [String] = []
                let text = try substitute(scalar.text, unset: &unset)
                for name in unset {
                    sink.warning(
                        node.pos, path, "variable `\(name)` is not set; using an empty string",
                        hint: "set it in the environment or in `.env`, or write `${\(name):-default}`")
                }
                // An interpolated value is a string even when it came out empty, never YAML null.
                node.value = .scalar(.init(text: text, plain: false))
            } catch let failure as Failure {
                sink.error(node.pos, path, failure.message, hint: failure.hint)
            } catch {
                sink.error(node.pos, path, "\(error)")
            }
        case .mapping(let entries):
            node.value = .mapping(entries.map { entry in
                var entry = entry
                entry.value = apply(entry.value, path: join(path, entry.key))
                return entry
            })
        case .sequence(let items):
            node.value = .sequence(items.enumerated().map { index, item in apply(item, path: "\(path)[\(index)]") })
        }
        return node
    }

    private func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    private static func isNameStart(_ c: Character) -> Bool { c == "_" || (c.isASCII && c.isLetter) }
    private static func isNameChar(_ c: Character) -> Bool { c == "_" || (c.isASCII && (c.isLetter || c.isNumber)) }

    private func substitute(_ text: String, unset: inout [String]) throws -> String {
        let chars = Array(text)
        var out = ""
        var i = 0
        while i < chars.count {
            let c = chars[i]
            guard c == "$" else {
                out.append(c)
                i += 1
                continue
            }
            guard i + 1 < chars.count else {
                throw Failure(
                    message: "invalid interpolation: `$` at the end of `\(text)`",
                    hint: "write `$$` for a literal `$`")
            }
            let next = chars[i + 1]
            if next == "$" {
                out.append("$")
                i += 2
            } else if next == "{" {
                // Find the matching brace, allowing nested `${…}` in defaults.
                var depth = 1
                var j = i + 2
                while j < chars.count {
                    if chars[j] == "$" && j + 1 < chars.count && chars[j + 1] == "{" {
                        depth += 1
                        j += 2
                        continue
                    }
                    if chars[j] == "}" {
                        depth -= 1
                        if depth == 0 { break }
                    }
                    j += 1
                }
                guard j < chars.count else {
                    throw Failure(
                        message: "unterminated `${` in `\(text)`",
                        hint: "close it with `}`, or write `$$` for a literal `$`")
                }
                out += try expand(String(chars[(i + 2)..<j]), whole: text, unset: &unset)
                i = j + 1
            } else if Self.isNameStart(next) {
                var j = i + 1
                while j < chars.count && Self.isNameChar(chars[j]) { j += 1 }
                let name = String(chars[(i + 1)..<j])
                if let value = environment[name] {
                    out += value
                } else {
                    unset.append(name)
                }
                i = j
            } else {
                throw Failure(
                    message: "invalid interpolation: `$\(next)` in `\(text)`",
                    hint: "a `$` must start `$NAME` or `${NAME}`; write `$$` for a literal `$`")
            }
        }
        return out
    }

    /// Expands the inside of `${…}`.
    private func expand(_ inner: String, whole: String, unset: inout [String]) throws -> String {
        let chars = Array(inner)
        var j = 0
        while j < chars.count && Self.isNameChar(chars[j]) { j += 1 }
        let name = String(chars[0..<j])
        guard let first = name.first, Self.isNameStart(first) else {
            throw Failure(
                message: "invalid interpolation `${\(inner)}` in `\(whole)`: `\(inner)` is not a variable name",
                hint: "names are letters, digits and `_`, not starting with a digit")
        }
        let value = environment[name]
        if j == chars.count {
            if let value { return value }
            unset.append(name)
            return ""
        }
        var op = String(chars[j])
        if op == ":" && j + 1 < chars.count { op += String(chars[j + 1]) }
        let rest = String(chars[(j + op.count)...])
        let isSet = value != nil
        let isNonEmpty = !(value ?? "").isEmpty
        switch op {
        case ":-": return isNonEmpty ? (value ?? "") : try substitute(rest, unset: &unset)
        case "-": return isSet ? (value ?? "") : try substitute(rest, unset: &unset)
        case ":+": return isNonEmpty ? try substitute(rest, unset: &unset) : ""
        case "+": return isSet ? try substitute(rest, unset: &unset) : ""
        case ":?", "?":
            let ok = op == ":?" ? isNonEmpty : isSet
            if ok { return value ?? "" }
            let detail = try substitute(rest, unset: &unset)
            let why = op == ":?" ? "is not set or empty" : "is not set"
            throw Failure(
                message: "required variable `\(name)` \(why)" + (detail.isEmpty ? "" : ": \(detail)"),
                hint: "set `\(name)` in the environment or in `.env`")
        default:
            throw Failure(
                message: "invalid interpolation `${\(inner)}` in `\(whole)`",
                hint: "use `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:?error}`, `${NAME?error}` or `${NAME:+alt}`")
        }
    }
}

/// Reads a `.env` or `env_file` file: `KEY=VALUE` lines, `#` comments, optional `export `,
/// single quotes literal, double quotes with `\n`, `\t`, `\"`, `\\` escapes.
enum DotEnv {
    struct Line: Sendable {
        var key: String
        var value: String?
        var line: Int
        /// Single-quoted: taken literally, never interpolated.
        var literal = false
    }

    static func parse(_ text: String) -> (entries: [Line], errors: [(line: Int, message: String)]) {
        var entries: [Line] = []
        var errors: [(Int, String)] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = String(raw).trimmed(" \t\r")
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmed(" \t") }
            guard let eq = line.firstIndex(of: "=") else {
                // A bare name takes its value from the environment, like `environment: [NAME]`.
                if line.allSatisfy({ $0 == "_" || $0 == "." || $0 == "-" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }) {
                    entries.append(Line(key: line, value: nil, line: index + 1))
                } else {
                    // The line is not echoed: it may hold a secret.
                    errors.append((index + 1, "expected `KEY=VALUE`"))
                }
                continue
            }
            let key = String(line[..<eq]).trimmed(" \t")
            if key.isEmpty || key.contains(" ") {
                errors.append((index + 1, "invalid variable name `\(key)`"))
                continue
            }
            var value = String(line[line.index(after: eq)...]).trimmed(" \t")
            var literal = false
            if value.hasPrefix("'") && value.dropFirst().contains("'") {
                literal = true
                let body = value.dropFirst()
                value = String(body[..<(body.firstIndex(of: "'") ?? body.endIndex)])
            } else if value.hasPrefix("\"") {
                var result = ""
                var escaped = false
                var closed = false
                for c in value.dropFirst() {
                    if escaped {
                        switch c {
                        case "n": result.append("\n")
                        case "t": result.append("\t")
                        case "r": result.append("\r")
                        default: result.append(c)
                        }
                        escaped = false
                    } else if c == "\\" {
                        escaped = true
                    } else if c == "\"" {
                        closed = true
                        break
                    } else {
                        result.append(c)
                    }
                }
                if !closed {
                    errors.append((index + 1, "unterminated double quote in the value of `\(key)`"))
                    continue
                }
                value = result
            } else if let hash = value.range(of: " #") {
                value = String(value[..<hash.lowerBound]).trimmed(" \t")
            }
            entries.append(Line(key: key, value: value, line: index + 1, literal: literal))
        }
        return (entries, errors)
    }
}

extension String {
    func trimmed(_ set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}
