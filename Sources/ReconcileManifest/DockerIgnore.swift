/// `.dockerignore` with Docker's rules (moby/patternmatcher): one pattern a line, `#`
/// comments, paths cleaned and taken from the context root (a leading `/` is dropped),
/// `*` and `?` within one path element, `**` across any number of them, `[…]` classes,
/// `\` escapes, and `!` exceptions; the last pattern that matches a path decides. A
/// pattern matches a path when it matches the path or one of its parent folders.
public struct DockerIgnore: Sendable, Equatable {
    public struct Pattern: Sendable, Equatable {
        public var text: String
        public var exclusion: Bool
        fileprivate var bytes: [UInt8]
    }

    public private(set) var patterns: [Pattern]

    public init(_ text: String) {
        var patterns: [Pattern] = []
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            var line = String(raw)
            if line.hasSuffix("\r") { line.removeLast() }
            if line.hasPrefix("#") { continue }
            line = line.trimmingSpaces()
            if line.isEmpty { continue }
            var exclusion = false
            if line.hasPrefix("!") {
                exclusion = true
                line = String(line.dropFirst()).trimmingSpaces()
                if line.isEmpty { continue }
            }
            let cleaned = DockerIgnore.clean(line)
            patterns.append(Pattern(text: cleaned, exclusion: exclusion, bytes: Array(cleaned.utf8)))
        }
        self.patterns = patterns
    }

    /// True when some pattern is an exception (`!…`): an excluded folder must then still be
    /// walked, since a file inside it may be let back in.
    public var hasExceptions: Bool { patterns.contains { $0.exclusion } }

    /// True when `path` (relative to the context, `/`-separated, no leading `./`) is left out.
    public func excludes(_ path: String) -> Bool {
        let bytes = Array(path.utf8)
        var excluded = false
        for pattern in patterns where pattern.exclusion == excluded {
            // Only a pattern that would flip the answer needs testing.
            if DockerIgnore.matchesOrParent(pattern.bytes, bytes) { excluded = !pattern.exclusion }
        }
        return excluded
    }

    static func matchesOrParent(_ pattern: [UInt8], _ path: [UInt8]) -> Bool {
        if glob(pattern, 0, path, 0, end: path.count) { return true }
        // Parent folders, shortest first.
        var index = 0
        while index < path.count {
            if path[index] == slash, glob(pattern, 0, path, 0, end: index) { return true }
            index += 1
        }
        return false
    }

    /// Go's `filepath.Clean` for relative, `/`-separated paths, with a leading `/` dropped.
    static func clean(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                if !parts.isEmpty && parts.last != ".." { parts.removeLast() }
                continue  // above the root is the root
            }
            parts.append(part)
        }
        return parts.isEmpty ? "." : parts.joined(separator: "/")
    }

    private static let slash = UInt8(ascii: "/")
    private static let star = UInt8(ascii: "*")

    /// Glob match of `p[pi...]` against `s[si..<end]`, with Docker's meaning of `**`.
    static func glob(_ p: [UInt8], _ pi: Int, _ s: [UInt8], _ si: Int, end: Int) -> Bool {
        var pi = pi
        var si = si
        while pi < p.count {
            let c = p[pi]
            switch c {
            case star:
                if pi + 1 < p.count && p[pi + 1] == star {
                    // `**` (and `**/`): Docker compiles it to `(.*/)?`, or `.*` at the end.
                    var next = pi + 2
                    if next < p.count && p[next] == slash { next += 1 }
                    if next >= p.count { return true }
                    if glob(p, next, s, si, end: end) { return true }
                    var k = si
                    while k < end {
                        if s[k] == slash && glob(p, next, s, k + 1, end: end) { return true }
                        k += 1
                    }
                    return false
                }
                // `*`: any run within one path element.
                var k = si
                while true {
                    if glob(p, pi + 1, s, k, end: end) { return true }
                    if k >= end || s[k] == slash { return false }
                    k += 1
                }
            case UInt8(ascii: "?"):
                if si >= end || s[si] == slash { return false }
                pi += 1
                si += 1
            case UInt8(ascii: "["):
                guard si < end, s[si] != slash, let (matched, classEnd) = matchClass(p, pi, s[si]) else { return false }
                if !matched { return false }
                pi = classEnd
                si += 1
            case UInt8(ascii: "\\"):
                guard pi + 1 < p.count, si < end, s[si] == p[pi + 1] else { return false }
                pi += 2
                si += 1
            default:
                guard si < end, s[si] == c else { return false }
                pi += 1
                si += 1
            }
        }
        return si == end
    }

    /// A `[…]` class at `p[start]` against one byte: whether it matches and where the class ends.
    /// nil for a class that is never closed (which matches nothing, as in Go).
    private static func matchClass(_ p: [UInt8], _ start: Int, _ byte: UInt8) -> (Bool, Int)? {
        var i = start + 1
        var negate = false
        if i < p.count && (p[i] == UInt8(ascii: "^") || p[i] == UInt8(ascii: "!")) {
            negate = true
            i += 1
        }
        var matched = false
        var first = true
        while i < p.count {
            if p[i] == UInt8(ascii: "]") && !first { return (matched != negate, i + 1) }
            first = false
            var low = p[i]
            if low == UInt8(ascii: "\\"), i + 1 < p.count {
                i += 1
                low = p[i]
            }
            var high = low
            if i + 2 < p.count && p[i + 1] == UInt8(ascii: "-") && p[i + 2] != UInt8(ascii: "]") {
                high = p[i + 2]
                i += 2
            }
            if byte >= low && byte <= high { matched = true }
            i += 1
        }
        return nil
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        var view = Substring(self)
        while let first = view.first, first == " " || first == "\t" { view.removeFirst() }
        while let last = view.last, last == " " || last == "\t" { view.removeLast() }
        return String(view)
    }
}
