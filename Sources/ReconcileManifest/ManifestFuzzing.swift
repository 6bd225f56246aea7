import Foundation
import ReconcileCore

/// The manifest side's fuzz entry points: what the libFuzzer targets of `Fuzz/` call with
/// each input, and what the fail-case replay test (`FuzzReplayTests`) calls with each saved
/// finding. Each takes any bytes and must return without crashing, hanging or exhausting
/// memory.
public enum ManifestFuzzing {
    /// A bug planted for `scripts/fuzz --planted`, to show the harness finds what it should:
    /// with `RECONCILE_FUZZ_PLANTED=1`, a `.env` line `BUG=` with a value that starts with
    /// `!` crashes.
    static let planted = ProcessInfo.processInfo.environment["RECONCILE_FUZZ_PLANTED"] == "1"

    /// The whole loader on one manifest held in memory, loaded from `workingDirectory`
    /// (an empty folder: what the manifest names on disk is not there).
    public static func manifest(_ data: [UInt8], workingDirectory: String) {
        let loader = ManifestLoader(environment: ["HOME": workingDirectory, "SET": "value"], workingDirectory: workingDirectory)
        let (loaded, diagnostics) = loader.check(yaml: String(decoding: data, as: UTF8.self))
        for diagnostic in diagnostics { precondition(diagnostic.line >= 1 && diagnostic.column >= 1, "\(diagnostic)") }
        if let loaded {
            // A loaded project plans against an empty host without trapping.
            _ = try? plan(desired: loaded.project, observed: ObservedState())
        }
    }

    /// `.env` parsing.
    public static func dotEnv(_ data: [UInt8]) {
        let parsed = DotEnv.parse(String(decoding: data, as: UTF8.self))
        if planted {
            // Byte by byte, as a parser's own checks are: each match is new coverage to climb.
            for entry in parsed.entries {
                let key = Array(entry.key.utf8)
                if key.count == 3, key[0] == UInt8(ascii: "B") {
                    if key[1] == UInt8(ascii: "U") {
                        if key[2] == UInt8(ascii: "G") {
                            if entry.value?.utf8.first == UInt8(ascii: "!") { fatalError("the planted bug: BUG=!") }
                        }
                    }
                }
            }
        }
        for entry in parsed.entries { precondition(!entry.key.isEmpty && entry.line >= 1) }
    }

    /// `${VAR}` interpolation of one value, with a few variables set.
    public static func interpolation(_ data: [UInt8]) {
        let sink = DiagnosticSink()
        let environment = ["SET": "value", "EMPTY": "", "NESTED": "${SET}", "DOLLAR": "$$"]
        let node = MNode.string(String(decoding: data, as: UTF8.self), .start(of: "fuzz"))
        _ = Interpolator(environment: environment, sink: sink).apply(node, path: "x")
    }
}
