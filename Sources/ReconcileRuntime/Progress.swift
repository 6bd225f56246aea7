import ReconcileCore
import Synchronization

/// What the executor reports as it works. Views (terminal, plain, JSON lines) render these;
/// the executor never prints.
public enum ProgressEvent: Sendable {
    case stepStarted(PlanStep)
    /// A long step says what it waits for ("waiting for health").
    case stepProgress(PlanStep, String)
    case stepFinished(PlanStep, seconds: Double)
    case stepFailed(PlanStep, message: String, seconds: Double)
    case stepSkipped(PlanStep, reason: String)
    /// A step that had succeeded was undone by a rollback of its service.
    case stepRolledBack(PlanStep)
    /// Anything else worth a line (rollbacks, cleanup).
    case note(String)
}

/// How a run ended, step by step.
public struct ExecutionResult: Sendable {
    public enum Outcome: Sendable, Equatable {
        case succeeded, failed(String), skipped(String), rolledBack
    }

    public var outcomes: [Int: Outcome] = [:]
    public var seconds: Double = 0
    /// True when interrupted (SIGINT/SIGTERM) before every step ran.
    public var interrupted = false

    public var failures: [(step: Int, message: String)] {
        outcomes.compactMap { id, outcome in
            if case .failed(let message) = outcome { return (id, message) }
            return nil
        }.sorted { $0.step < $1.step }
    }

    public var succeeded: Bool {
        !interrupted && outcomes.values.allSatisfy { $0 == .succeeded }
    }
}

/// A flag the signal handlers set; the executor checks it before starting each step.
public final class StopSignal: Sendable {
    private let raised = Mutex(false)

    public init() {}

    public func raise() { raised.withLock { $0 = true } }
    public var isRaised: Bool { raised.withLock { $0 } }
}
