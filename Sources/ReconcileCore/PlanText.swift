/// The text form of a plan: what `reconcile plan` prints and what planner tests compare.
public enum PlanText {
    /// Renders a plan. `color` adds ANSI colours; callers pass false when not on a
    /// terminal or when NO_COLOR is set.
    public static func render(_ plan: Plan, color: Bool = false) -> String {
        var lines: [String] = []
        let width = plan.steps.map(\.resource.count).max() ?? 0
        for step in plan.steps {
            let symbol = paint(step.action.symbol, for: step.action, color: color)
            let resource = step.resource.padding(toLength: width, withPad: " ", startingAt: 0)
            lines.append("\(symbol) \(resource)  \(step.action.rawValue): \(step.reason)")
            for change in step.changes {
                lines.append("    \(change.field): \(change.from ?? "(none)") → \(change.to ?? "(none)")")
            }
        }
        for warning in plan.warnings {
            lines.append(color ? "\u{1B}[33mwarning:\u{1B}[0m \(warning)" : "warning: \(warning)")
        }
        if !lines.isEmpty { lines.append("") }
        lines.append(summaryLine(plan))
        return lines.joined(separator: "\n")
    }

    /// "Plan: 3 to create, 1 to recreate, 0 to remove." or "No changes. …".
    public static func summaryLine(_ plan: Plan) -> String {
        let summary = plan.summary
        if plan.steps.isEmpty {
            let noun = summary.unchanged == 1 ? "replica" : "replicas"
            return "No changes. \(summary.unchanged) \(noun) up to date."
        }
        var parts = ["\(summary.create) to create"]
        if summary.update > 0 { parts.append("\(summary.update) to start") }
        parts.append("\(summary.recreate) to recreate")
        parts.append("\(summary.remove) to remove")
        return "Plan: " + parts.joined(separator: ", ") + "."
    }

    private static func paint(_ text: String, for action: PlanAction, color: Bool) -> String {
        guard color else { return text }
        let code: String
        switch action.kind {
        case .create: code = "32"
        case .update: code = "36"
        case .recreate: code = "33"
        case .remove: code = "31"
        }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }
}

extension String {
    fileprivate func padding(toLength length: Int, withPad pad: String, startingAt _: Int) -> String {
        count >= length ? self : self + String(repeating: pad, count: length - count)
    }
}
