import Foundation
import ReconcileCore
import ReconcileRuntime
import Synchronization

/// Renders executor events: JSON lines on stderr with `--output json`; on a terminal, finished steps
/// as lines and the running ones on a status line redrawn in place with their elapsed
/// time; otherwise plain lines, one per event.
final class ProgressView: Sendable {
    let format: OutputFormat
    let color: Bool
    let live: Bool
    private let running = Mutex<[Int: (step: PlanStep, since: ContinuousClock.Instant, note: String?)]>([:])
    private let ticker = Mutex<Task<Void, Never>?>(nil)

    init(format: OutputFormat) {
        self.format = format
        color = Console.useColor()
        live = format == .text && Console.stdoutIsTerminal && ProcessInfo.processInfo.environment["TERM"] != "dumb"
        if live {
            let task = Task { [weak self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(100))
                    self?.redraw()
                }
            }
            ticker.withLock { $0 = task }
        }
    }

    /// Stops the status line; call once the run is over.
    func finish() {
        ticker.withLock { $0?.cancel() }
        if live { FileHandle.standardOutput.write(Data("\r\u{1B}[K".utf8)) }
    }

    func handle(_ event: ProgressEvent) {
        switch format {
        // Progress as JSON lines on stderr, so that stdout holds exactly one JSON document:
        // the command's report.
        case .json: Console.err(jsonLine(event))
        case .text:
            if live {
                track(event)
                if let line = textLine(event) {
                    FileHandle.standardOutput.write(Data(("\r\u{1B}[K" + line + "\n").utf8))
                    redraw()
                }
            } else if let line = textLine(event) {
                Console.out(line)
            }
        }
    }

    private func track(_ event: ProgressEvent) {
        running.withLock { running in
            switch event {
            case .stepStarted(let step): running[step.id] = (step, .now, nil)
            case .stepProgress(let step, let note): running[step.id]?.note = note
            case .stepFinished(let step, _), .stepFailed(let step, _, _), .stepSkipped(let step, _):
                running[step.id] = nil
            default: break
            }
        }
    }

    private func redraw() {
        let now = ContinuousClock.now
        let parts = running.withLock { running in
            running.values.sorted { $0.step.id < $1.step.id }.map { entry -> String in
                let seconds = Double((now - entry.since).components.seconds) + Double((now - entry.since).components.attoseconds) / 1e18
                return "\(entry.step.resource) \(entry.note ?? entry.step.action.rawValue) \(String(format: "%.1fs", seconds))"
            }
        }
        guard !parts.isEmpty else { return }
        var line = "  ⠿ " + parts.joined(separator: " · ")
        if line.count > 200 { line = String(line.prefix(199)) + "…" }
        FileHandle.standardOutput.write(Data(("\r\u{1B}[K" + line).utf8))
    }

    private func paint(_ text: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }

    private func textLine(_ event: ProgressEvent) -> String? {
        switch event {
        case .stepStarted(let step):
            return live ? nil : "  \(step.action.symbol) \(step.resource) \(step.action.rawValue)…"
        case .stepProgress(let step, let what): return live ? nil : "    \(step.resource): \(what)"
        case .stepFinished(let step, let seconds):
            return "  \(paint("✓", "32")) \(step.action.symbol) \(step.resource) \(step.action.rawValue) \(String(format: "(%.1fs)", seconds))"
        case .stepFailed(let step, let message, let seconds):
            return "  \(paint("✗", "31")) \(step.action.symbol) \(step.resource) \(step.action.rawValue) failed after \(String(format: "%.1fs", seconds)): \(message)"
        case .stepSkipped(let step, let reason): return "  \(paint("-", "33")) \(step.resource) skipped: \(reason)"
        case .stepRolledBack(let step): return "  \(paint("↺", "33")) \(step.resource) rolled back"
        case .note(let text): return "  \(text)"
        }
    }

    private func jsonLine(_ event: ProgressEvent) -> String {
        var object: [String: Any] = [:]
        func put(_ step: PlanStep) {
            object["step"] = step.id
            object["resource"] = step.resource
            object["action"] = step.action.rawValue
        }
        switch event {
        case .stepStarted(let step):
            object["event"] = "started"
            put(step)
        case .stepProgress(let step, let what):
            object["event"] = "progress"
            put(step)
            object["message"] = what
        case .stepFinished(let step, let seconds):
            object["event"] = "finished"
            put(step)
            object["seconds"] = seconds
        case .stepFailed(let step, let message, let seconds):
            object["event"] = "failed"
            put(step)
            object["message"] = message
            object["seconds"] = seconds
        case .stepSkipped(let step, let reason):
            object["event"] = "skipped"
            put(step)
            object["message"] = reason
        case .stepRolledBack(let step):
            object["event"] = "rolled-back"
            put(step)
        case .note(let text):
            object["event"] = "note"
            object["message"] = text
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
