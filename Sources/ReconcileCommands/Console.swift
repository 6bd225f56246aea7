import Foundation
import ReconcileCore
import ReconcileManifest

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Terminal facts and output helpers shared by the views.
enum Console {
    static var stdoutIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }
    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }
    static var stdinIsTerminal: Bool { isatty(STDIN_FILENO) == 1 }

    /// Colour only on a terminal, never with NO_COLOR (any value) or TERM=dumb.
    static func useColor(terminal: Bool = stdoutIsTerminal) -> Bool {
        let env = ProcessInfo.processInfo.environment
        if env["NO_COLOR"] != nil { return false }
        if env["TERM"] == "dumb" { return false }
        return terminal
    }

    static func out(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func err(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    static func json<T: Encodable>(_ value: T) throws {
        out(try jsonText(value))
    }

    /// What `--output json` prints, less the final newline.
    static func jsonText<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Prints diagnostics, errors red on a terminal.
    static func diagnostics(_ list: [Diagnostic]) {
        let color = useColor(terminal: stderrIsTerminal)
        for diagnostic in list {
            var line = diagnostic.description
            if color {
                let label = diagnostic.severity == .error ? "\u{1B}[31merror\u{1B}[0m" : "\u{1B}[33mwarning\u{1B}[0m"
                line = line.replacingOccurrences(of: ": \(diagnostic.severity.rawValue): ", with: ": \(label): ")
            }
            err(line)
        }
    }
}

/// Diagnostics in JSON form.
struct DiagnosticView: Encodable {
    var severity: String
    var file: String
    var line: Int
    var column: Int
    var key: String
    var message: String
    var hint: String?

    init(_ d: Diagnostic) {
        severity = d.severity.rawValue
        file = d.file
        line = d.line
        column = d.column
        key = d.keyPath
        message = d.message
        hint = d.hint
    }
}

/// The JSON shape of a failure under `--output json`.
struct ErrorView: Encodable {
    var error: String
    var diagnostics: [DiagnosticView]?
}
