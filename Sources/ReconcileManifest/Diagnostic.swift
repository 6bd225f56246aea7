/// One problem found in a manifest, with the position of the value that caused it.
public struct Diagnostic: Sendable, Equatable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, warning }

    public var severity: Severity
    /// The manifest path as it was given (a file inside a given folder is joined to it).
    public var file: String
    /// 1-based line.
    public var line: Int
    /// 1-based column.
    public var column: Int
    /// Where in the manifest, e.g. "services.api.ports[0].published"; empty for the document itself.
    public var keyPath: String
    /// What is wrong.
    public var message: String
    /// What to do about it, e.g. "did you mean `environment`?".
    public var hint: String?

    public init(
        severity: Severity, file: String, line: Int, column: Int, keyPath: String, message: String,
        hint: String? = nil
    ) {
        self.severity = severity
        self.file = file
        self.line = line
        self.column = column
        self.keyPath = keyPath
        self.message = message
        self.hint = hint
    }

    /// "docker-compose.yml:12:5: error: services.api.enviroment: unknown key. Did you mean `environment`?"
    public var description: String {
        var text = "\(file):\(line):\(column): \(severity.rawValue): "
        if !keyPath.isEmpty { text += "\(keyPath): " }
        text += message
        if let hint, !hint.isEmpty {
            if let last = message.last, !".!?:".contains(last) { text += "." }
            text += " " + hint.prefix(1).uppercased() + hint.dropFirst()
        }
        return text
    }
}

/// Thrown by `ManifestLoader.load(paths:)`: every error found, in file and line order.
public struct ManifestError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]

    public init(diagnostics: [Diagnostic]) {
        self.diagnostics = diagnostics
    }

    public var description: String {
        diagnostics.map(\.description).joined(separator: "\n")
    }
}

/// Where a value came from.
struct Position: Sendable, Equatable, Hashable {
    var file: String
    var line: Int
    var column: Int

    static func start(of file: String) -> Position { Position(file: file, line: 1, column: 1) }
}

/// Collects diagnostics during one load; one instance per load, never shared between threads.
final class DiagnosticSink {
    private(set) var diagnostics: [Diagnostic] = []
    /// Where each service key and `deploy` key was written ("services.api.depends_on"), for
    /// checks made after the load (a target's conversion) to point at.
    var keyPositions: [String: Position] = [:]

    func error(_ pos: Position, _ keyPath: String, _ message: String, hint: String? = nil) {
        add(.error, pos, keyPath, message, hint)
    }

    func warning(_ pos: Position, _ keyPath: String, _ message: String, hint: String? = nil) {
        add(.warning, pos, keyPath, message, hint)
    }

    var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

    private func add(_ severity: Diagnostic.Severity, _ pos: Position, _ keyPath: String, _ message: String, _ hint: String?) {
        let diagnostic = Diagnostic(
            severity: severity, file: pos.file, line: pos.line, column: pos.column, keyPath: keyPath,
            message: message, hint: hint)
        // The same value can be visited twice (e.g. by a merge and by validation); say it once.
        if !diagnostics.contains(diagnostic) { diagnostics.append(diagnostic) }
    }
}
