import ReconcileCore

/// Exponential delays: `initial`, twice that, … up to `cap`.
public struct BackoffPolicy: Sendable, Equatable {
    public var initial: Double
    public var cap: Double

    public init(initial: Double, cap: Double) {
        self.initial = initial
        self.cap = cap
    }

    /// The delay before attempt number `failures` + 1; zero before the first failure.
    public func delay(afterFailures failures: Int) -> Double {
        guard failures > 0 else { return 0 }
        // 2^62 would overflow; anything past 2^40 is far beyond any cap.
        let exponent = Double(min(failures - 1, 40))
        return min(cap, initial * pow2(exponent))
    }

    private func pow2(_ exponent: Double) -> Double {
        var value = 1.0
        var left = Int(exponent)
        while left > 0 {
            value *= 2
            left -= 1
        }
        return value
    }

    /// Crash-looping replicas: 1 s, 2 s, 4 s … 5 min.
    public static let replica = BackoffPolicy(initial: 1, cap: 300)
    /// A pass that failed (engine unreachable, a step failed): retried soon, then ever less often.
    public static let pass = BackoffPolicy(initial: 0.1, cap: 300)
    /// Reconnecting the event stream: at most a second apart, so an engine that comes back
    /// is noticed within a second (one connection attempt a second costs the engine nothing).
    public static let reconnect = BackoffPolicy(initial: 0.1, cap: 1)
}

/// Per-replica crash-loop backoff, on a clock the caller passes in (seconds on any
/// monotonic scale), so tests drive it with plain numbers.
///
/// A replica that exits on its own within `resetAfter` seconds of the controller last
/// starting it has failed again: its next start waits 1 s, then 2 s, 4 s … up to the cap.
/// One that ran at least `resetAfter` seconds starts again at once, and its count starts
/// over. The first repair of a replica is never delayed, so drift is repaired at once.
public struct ReplicaBackoff: Sendable {
    public struct Entry: Sendable, Equatable {
        /// Consecutive quick failures.
        public var failures = 0
        /// When the controller last started or created the replica.
        public var lastAttempt: Double?
        /// No new attempt before this time, while the replica waits out its backoff.
        public var notBefore: Double?
    }

    public enum Decision: Sendable, Equatable {
        case now
        case wait(until: Double)
    }

    public let policy: BackoffPolicy
    public let resetAfter: Double
    public private(set) var entries: [String: Entry] = [:]

    public init(policy: BackoffPolicy = .replica, resetAfter: Double = 60) {
        self.policy = policy
        self.resetAfter = resetAfter
    }

    /// Whether the replica `key`, found crashed at `now`, may be started now. Counts the failure
    /// the first time it is asked about one crash; asking again while waiting changes nothing.
    public mutating func crashed(_ key: String, now: Double) -> Decision {
        var entry = entries[key] ?? Entry()
        defer { entries[key] = entry }
        if let notBefore = entry.notBefore {
            return now >= notBefore ? .now : .wait(until: notBefore)
        }
        guard let last = entry.lastAttempt, now - last < resetAfter else {
            entry.failures = 0
            return .now
        }
        entry.failures += 1
        let until = now + policy.delay(afterFailures: entry.failures)
        entry.notBefore = until
        return .wait(until: until)
    }

    /// Whether a replica that did not crash (it is missing, or was stopped by someone) may be
    /// started: only a backoff already running holds it back.
    public func mayRepair(_ key: String, now: Double) -> Decision {
        guard let notBefore = entries[key]?.notBefore, now < notBefore else { return .now }
        return .wait(until: notBefore)
    }

    /// The controller started or created the replica at `now`.
    public mutating func attempted(_ key: String, now: Double) {
        var entry = entries[key] ?? Entry()
        entry.lastAttempt = now
        entry.notBefore = nil
        entries[key] = entry
    }

    /// Drops entries with nothing left to remember: no wait pending and the last start long
    /// enough ago that a crash now would start the count over anyway.
    public mutating func forgetSettled(now: Double) {
        entries = entries.filter { _, entry in
            entry.notBefore != nil || (entry.lastAttempt.map { now - $0 < resetAfter } ?? false)
        }
    }

    /// Replicas whose next start is held back, with the time it is due.
    public func waiting(now: Double) -> [(key: String, failures: Int, until: Double)] {
        entries.compactMap { key, entry in
            guard let until = entry.notBefore, until > now else { return nil }
            return (key, entry.failures, until)
        }.sorted { $0.key < $1.key }
    }
}

extension Plan {
    /// The plan without the steps in `ids` and every step that depends on them, directly or
    /// not (they would wait for a step that never runs), renumbered so each step's id is its
    /// index again. Returns the dropped steps too.
    public func deferring(_ ids: Set<Int>) -> (plan: Plan, deferred: [PlanStep]) {
        guard !ids.isEmpty else { return (self, []) }
        var dropped = ids
        var grew = true
        while grew {
            grew = false
            for step in steps where !dropped.contains(step.id) && step.dependsOn.contains(where: dropped.contains) {
                dropped.insert(step.id)
                grew = true
            }
        }
        var newID: [Int: Int] = [:]
        var kept: [PlanStep] = []
        var deferred: [PlanStep] = []
        for step in steps {
            if dropped.contains(step.id) {
                deferred.append(step)
                continue
            }
            newID[step.id] = kept.count
            kept.append(step)
        }
        for index in kept.indices {
            kept[index].id = index
            kept[index].dependsOn = kept[index].dependsOn.compactMap { newID[$0] }
        }
        var plan = self
        plan.steps = kept
        return (plan, deferred)
    }
}
