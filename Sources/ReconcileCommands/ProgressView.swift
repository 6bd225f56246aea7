import Foundation
import ReconcileCore
import ReconcileRuntime

/// Renders executor events: JSON lines with `--output json`, else one line per step
/// (coloured on a terminal, plain otherwise).
struct ProgressView: Sendable {
    let format: OutputFormat
    let color: Bool

    init(format: OutputFormat) {
        self.format = format
        color = Console.useColor()
    }

    func handle(_ event: ProgressEvent) {
        switch format {
        case .json: Console.out(jsonLine(event))
        case .text: if let line = textLine(event) { Console.out(line) }
        }
    }

    private func paint(_ text: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }

    private func textLine(_ event: ProgressEvent) -> String? {
        switch event {
        case .stepStarted(let step):
            return color ? nil : "  \(step.action.symbol) \(step.resource) \(step.action.rawValue)…"
        case .stepProgress(let step, let what): return "    \(step.resource): \(what)"
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
