import ReconcileController
import ReconcileCore

extension DashboardJSON {
    /// The JSON the commands print: `status`, `history`, `history N`, `diff A B`, `plan`, and a
    /// failure's `ErrorView`, each exactly as `--output json` writes it.
    public static let cli = DashboardJSON(
        status: { project, observed in try Console.jsonText(StatusReport(project: project, observed: observed)) },
        history: { project, current, revisions in
            try Console.jsonText(HistoryReport(project: project, current: current, revisions: revisions))
        },
        revision: { revision in try Console.jsonText(revision) },
        diff: { diff in try Console.jsonText(diff) },
        plan: { plan in try Console.jsonText(plan) },
        error: { error in (try? Console.jsonText(ErrorView(describing: error))) ?? "{}" })
}
