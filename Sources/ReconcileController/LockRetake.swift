import Logging
import ReconcileRuntime

/// Takes a project's lock again after it was removed under the running controller.
///
/// Only another holder ends the controller (two must never act on one project); any other
/// error (the engine restarting, a request that timed out) is retried with `policy`'s
/// growing delays until the lock is taken, another process holds it, or the task is cancelled.
public enum LockRetake {
    /// The new lock, or nil when another process holds it (or the task was cancelled).
    /// `sleep` waits that many seconds; tests pass one that records instead of waiting.
    public static func run<Lock: Sendable>(
        policy: BackoffPolicy = .reconnect, logger: Logger,
        sleep: @Sendable (Double) async throws -> Void = { try await Task.sleep(for: .seconds($0)) },
        acquire: @Sendable () async throws -> Lock
    ) async -> Lock? {
        var failures = 0
        while !Task.isCancelled {
            do {
                return try await acquire()
            } catch let held as EngineLock.Held {
                logger.error("another process holds the project lock", metadata: ["holder": "\(held.holder)"])
                return nil
            } catch is CancellationError {
                return nil
            } catch {
                failures += 1
                let delay = policy.delay(afterFailures: failures)
                logger.warning(
                    "could not take the project lock again; retrying",
                    metadata: ["error": "\(error)", "attempt": "\(failures)", "retry_in": "\(rounded(delay))"])
                do { try await sleep(delay) } catch { return nil }
            }
        }
        return nil
    }
}
