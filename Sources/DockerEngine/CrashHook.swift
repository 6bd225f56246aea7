import Foundation
import NIOConcurrencyHelpers
import NIOHTTP1

/// A test-only fault for the crash-consistency sweep (Tests/IntegrationTests/CrashSweepTests):
/// with `RECONCILE_TEST_CRASH_AT=before:N` the process kills itself (SIGKILL, as a power cut
/// would end it) just before it sends its N-th engine-changing request; with `after:N`, just
/// after the engine answered it. Engine-changing: every request but GET, HEAD and the
/// container wait. Unset (always, outside that test), it costs one branch per request.
enum CrashHook {
    enum Phase: String { case before, after }

    static let cut: (phase: Phase, call: Int)? = {
        guard let text = ProcessInfo.processInfo.environment["RECONCILE_TEST_CRASH_AT"] else { return nil }
        let parts = text.split(separator: ":")
        guard parts.count == 2, let phase = Phase(rawValue: String(parts[0])), let call = Int(parts[1]), call > 0 else { return nil }
        return (phase, call)
    }()

    private static let count = NIOLockedValueBox(0)

    static func changes(_ method: HTTPMethod, _ path: String) -> Bool {
        method != .GET && method != .HEAD && !path.hasSuffix("/wait")
    }

    /// Numbers an engine-changing request; kills the process when it is the one to cut before.
    static func willSend(_ method: HTTPMethod, _ path: String) -> Int? {
        guard let cut, changes(method, path) else { return nil }
        let number = count.withLockedValue { value -> Int in
            value += 1
            return value
        }
        if cut.phase == .before && number == cut.call { die() }
        return number
    }

    /// The engine answered request `number`: kills the process when it is the one to cut after.
    static func answered(_ number: Int?) {
        guard let cut, let number, cut.phase == .after, number == cut.call else { return }
        die()
    }

    private static func die() -> Never {
        kill(getpid(), SIGKILL)
        fatalError("unreachable: SIGKILL")
    }
}
