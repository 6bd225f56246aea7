import Foundation
import Logging
import ReconcileCore
import Synchronization

/// What only the running controller knows, kept for its pages: the last observation of the
/// project (so a page view costs no engine call), a bounded ring of its recent events (the
/// timeline), and the open live-update streams, told whenever either changes.
///
/// Events come from the controller's own log lines (`TimelineLogHandler`): each has a fixed
/// message and its metadata, so the timeline says what the log says, no more.
public final class ControllerJournal: Sendable {
    /// One timeline entry.
    public struct Event: Sendable, Codable, Equatable {
        /// Counts from 1 since the controller started; a gap never happens, old ones fall off.
        public var sequence: Int
        /// Unix seconds.
        public var time: Double
        /// Seconds since the controller started.
        public var sinceStart: Double
        public var level: String
        public var message: String
        public var metadata: [String: String]
    }

    /// The project in force and what the engine held for it, as one pass saw it.
    public struct Observation: Sendable {
        public var project: Project
        public var observed: ObservedState
        /// Unix seconds.
        public var time: Double
        /// Counts observations since the start: equal numbers, the same observation.
        public var number: Int
    }

    public let capacity: Int
    /// How many live-update streams may be open at once; more are refused.
    public let maxStreams: Int
    /// Unix seconds when the controller started.
    public let started: Double

    private struct State {
        var ring: [Event] = []
        var head = 0
        var sequence = 0
        var observation: Observation?
        var observations = 0
        /// Raised on every change a page could show.
        var generation = 0
        /// Raised when the controller wrote history.
        var historyGeneration = 0
        var streams: [Int: AsyncStream<Int>.Continuation] = [:]
        var nextStream = 0
    }

    private let state = Mutex(State())

    public init(capacity: Int = 2000, maxStreams: Int = 16, started: Double = Date().timeIntervalSince1970) {
        self.capacity = max(1, capacity)
        self.maxStreams = maxStreams
        self.started = started
    }

    // MARK: writing

    public func record(level: Logger.Level, message: String, metadata: [String: String], time: Double = Date().timeIntervalSince1970) {
        notify { state in
            state.sequence += 1
            let event = Event(
                sequence: state.sequence, time: time, sinceStart: ((time - started) * 1000).rounded() / 1000, level: level.rawValue,
                message: message, metadata: metadata)
            if state.ring.count < capacity {
                state.ring.append(event)
            } else {
                state.ring[state.head] = event
                state.head = (state.head + 1) % capacity
            }
        }
    }

    public func observed(_ project: Project, _ observed: ObservedState, time: Double = Date().timeIntervalSince1970) {
        notify { state in
            state.observations += 1
            state.observation = Observation(project: project, observed: observed, time: time, number: state.observations)
        }
    }

    /// The controller recorded a revision: cached history is stale.
    public func historyChanged() {
        notify { $0.historyGeneration += 1 }
    }

    private func notify(_ change: (inout State) -> Void) {
        let (generation, streams) = state.withLock { state -> (Int, [AsyncStream<Int>.Continuation]) in
            change(&state)
            state.generation += 1
            return (state.generation, Array(state.streams.values))
        }
        for stream in streams { stream.yield(generation) }
    }

    // MARK: reading

    /// Oldest first.
    public var events: [Event] {
        state.withLock { state in Array(state.ring[state.head...] + state.ring[..<state.head]) }
    }

    public var lastObservation: Observation? { state.withLock { $0.observation } }
    public var generation: Int { state.withLock { $0.generation } }
    public var historyGeneration: Int { state.withLock { $0.historyGeneration } }
    public var openStreams: Int { state.withLock { $0.streams.count } }

    /// A stream of generations, one element per change (coalesced when the reader is slow),
    /// or nil when `maxStreams` are open already. Ends when the caller's task ends it.
    public func subscribe() -> (id: Int, changes: AsyncStream<Int>)? {
        let (stream, continuation) = AsyncStream<Int>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { state -> Int? in
            guard state.streams.count < maxStreams else { return nil }
            state.nextStream += 1
            state.streams[state.nextStream] = continuation
            return state.nextStream
        }
        guard let id else { return nil }
        continuation.onTermination = { [weak self] _ in self?.unsubscribe(id) }
        return (id, stream)
    }

    public func unsubscribe(_ id: Int) {
        let continuation = state.withLock { $0.streams.removeValue(forKey: id) }
        continuation?.finish()
    }

    /// Ends every open stream (shutdown).
    public func closeStreams() {
        let all = state.withLock { state -> [AsyncStream<Int>.Continuation] in
            defer { state.streams = [:] }
            return Array(state.streams.values)
        }
        for stream in all { stream.finish() }
    }
}

/// Writes the controller's log events at `info` and above into its journal's timeline.
public struct TimelineLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let journal: ControllerJournal

    public init(journal: ControllerJournal) { self.journal = journal }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        var flat: [String: String] = [:]
        for (key, value) in merged where key != "project" { flat[key] = LineLogHandler.flatten(value) }
        journal.record(level: event.level, message: event.message.description, metadata: flat)
    }
}
