import Foundation

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
        for rollout in plan.rollouts {
            lines.append(rollout.text)
        }
        for warning in plan.warnings {
            lines.append(color ? "\u{1B}[33mwarning:\u{1B}[0m \(warning)" : "warning: \(warning)")
        }
        for decision in plan.deferred {
            lines.append("deferred: \(decision)")
        }
        if !lines.isEmpty { lines.append("") }
        lines.append(summaryLine(plan))
        return lines.joined(separator: "\n")
    }

    /// A pull-request comment: a heading, the summary line, the steps with their reasons and
    /// field changes in a `diff` block (GitHub and GitLab colour `+` and `-` lines), then
    /// warnings and deferred decisions. Values are as the plan holds them, secrets masked.
    public static func markdown(_ plan: Plan, title: String? = nil) -> String {
        var lines: [String] = []
        lines.append("### \(title ?? "reconcile plan for project `\(plan.project)`")")
        lines.append("")
        lines.append("**\(summaryLine(plan))**")
        if !plan.steps.isEmpty {
            lines.append("")
            lines.append("```diff")
            let width = plan.steps.map(\.resource.count).max() ?? 0
            for step in plan.steps {
                // `!` marks a change in diff highlighting; `±` and `~` are not highlighted.
                let symbol = step.action.kind == .recreate || step.action.kind == .update ? "!" : step.action.symbol
                let resource = step.resource.padding(toLength: width, withPad: " ", startingAt: 0)
                lines.append(fenced("\(symbol) \(resource)  \(step.action.rawValue): \(step.reason)"))
                for change in step.changes {
                    lines.append(fenced("    \(change.field): \(change.from ?? "(none)") → \(change.to ?? "(none)")"))
                }
            }
            lines.append("```")
        }
        if !plan.rollouts.isEmpty {
            lines.append("")
            for rollout in plan.rollouts { lines.append("- \(inline(rollout.text))") }
        }
        if !plan.warnings.isEmpty || !plan.deferred.isEmpty {
            lines.append("")
            for warning in plan.warnings { lines.append("- **warning:** \(inline(warning))") }
            for decision in plan.deferred { lines.append("- **deferred to apply:** \(inline(decision))") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// "0.5 s", "120 s", "1.25 s".
    public static func seconds(_ value: Double) -> String {
        if value == value.rounded() { return "\(Int(value)) s" }
        return "\(value) s"
    }

    /// A line inside a fenced block cannot close it.
    private static func fenced(_ line: String) -> String {
        line.replacingOccurrences(of: "```", with: "`\u{200B}``")
    }

    /// Text in a list item: no raw HTML, no accidental emphasis or code spans.
    private static func inline(_ text: String) -> String {
        var out = ""
        for ch in text {
            if "\\`*_<>[]|".contains(ch) { out.append("\\") }
            out.append(ch)
        }
        return out
    }

    /// "Plan: 3 to create, 1 to recreate, 0 to remove." or "No changes. …".
    public static func summaryLine(_ plan: Plan) -> String {
        let summary = plan.summary
        if plan.target == "swarm" { return swarmSummaryLine(plan) }
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

    /// "Plan: 1 to create, 1 to update, 1 to scale, 0 to remove." for a Swarm plan, whose
    /// steps are one per service and whose unchanged count is of services.
    private static func swarmSummaryLine(_ plan: Plan) -> String {
        if plan.steps.isEmpty {
            return "No changes. \(plan.unchanged) service\(plan.unchanged == 1 ? "" : "s") up to date."
        }
        let count = { (actions: Set<PlanAction>) in plan.steps.filter { actions.contains($0.action) }.count }
        var parts = ["\(count([.create, .createNetwork, .createVolume])) to create"]
        parts.append("\(count([.update])) to update")
        let scale = count([.scale])
        if scale > 0 { parts.append("\(scale) to scale") }
        parts.append("\(count([.remove, .removeNetwork])) to remove")
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
