import Foundation
import ReconcileCore

/// Validation figures across revisions: per service and figure, an SVG drawn on the server
/// (revision on x, every validation run one marker, the threshold a dashed line; applied,
/// failed and rolled-back revisions marked by different shapes) and a table of the same numbers.
enum Figures {
    /// The figures charted, their titles, and the check that holds each one's threshold.
    static let charted: [(key: String, title: String, check: String?)] = [
        ("accuracy", "accuracy", "min_accuracy"), ("p50_ms", "p50 latency (ms)", nil), ("p99_ms", "p99 latency (ms)", "max_p99_ms"),
        ("requests_per_second", "throughput (requests/s)", "min_throughput"),
    ]

    struct Point {
        var revision: Int
        var outcome: String
        var kind: Revision.Outcome
        var target: String
        var raw: Double
        var value: String
        var threshold: String
        var thresholdValue: Double?
    }

    struct Chart {
        var id: String
        var title: String
        var figure: String
        var svg: String
        var points: [Point]
    }

    struct Model {
        var project: String, nav: DashboardPages.Nav, live: Bool, generation: Int, renderedAt: String, apiPath: String, actions: Bool
        var shown: Int, total: Int
        var charts: [Chart]
    }

    /// Charts cover the newest `shown` revisions (all with `shown` nil).
    static let defaultShown = 100

    static func page(_ pages: DashboardPages, history: DashboardData.History, shown: Int? = defaultShown) throws -> String {
        let f = pages.frame(DashboardPages.Nav(figures: true), api: "/api/history")
        return pages.render(
            "figures",
            Model(
                project: f.project, nav: f.nav, live: false, generation: 0, renderedAt: f.renderedAt, apiPath: f.apiPath, actions: false,
                shown: min(shown ?? history.revisions.count, history.revisions.count), total: history.revisions.count,
                charts: charts(Array(history.revisions.suffix(shown ?? history.revisions.count)))))
    }

    static func charts(_ revisions: [Revision]) -> [Chart] {
        let services = Set(revisions.flatMap { $0.validations.map(\.service) }).sorted()
        var charts: [Chart] = []
        for service in services {
            for (key, title, check) in charted {
                var points: [Point] = []
                for revision in revisions {
                    for report in revision.validations where report.service == service {
                        for run in report.runs {
                            guard let value = run.figures[key], value.isFinite else { continue }
                            let threshold = check.flatMap { name in run.checks.first { $0.name == name }?.threshold }
                            points.append(
                                Point(
                                    revision: revision.number, outcome: DashboardPages.outcomeText(revision.outcome), kind: revision.outcome,
                                    target: run.target, raw: value, value: "\(RevisionText.number(value)) (\(run.target))",
                                    threshold: threshold.map(RevisionText.number) ?? "–", thresholdValue: threshold))
                        }
                    }
                }
                guard !points.isEmpty else { continue }
                let id = "chart-" + String((service + "-" + key).map { $0.isLetter || $0.isNumber ? $0 : "-" })
                let chartTitle = "\(service): \(title) by revision"
                charts.append(Chart(id: id, title: chartTitle, figure: title, svg: svg(id: id, title: chartTitle, figure: title, points: points), points: points))
            }
        }
        return charts
    }

    /// One decimal, without Foundation's `String(format:)` (slow on Linux, and a chart has thousands of coordinates).
    static func format(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        let sign = tenths < 0 ? "-" : ""
        return "\(sign)\(abs(tenths) / 10).\(abs(tenths) % 10)"
    }

    static func svg(id: String, title: String, figure: String, points: [Point]) -> String {
        let width = 640.0, height = 240.0, left = 64.0, right = 24.0, top = 16.0, bottom = 40.0, inset = 12.0
        let numbers = Array(Set(points.map(\.revision))).sorted()
        let positions = Dictionary(uniqueKeysWithValues: numbers.enumerated().map { ($1, $0) })
        let thresholds = points.compactMap(\.thresholdValue)
        let values = points.map(\.raw) + thresholds
        var low = values.min() ?? 0, high = values.max() ?? 1
        if high - low < 1e-9 { low -= 1; high += 1 }
        let pad = (high - low) * 0.1
        low -= pad
        high += pad
        func x(_ revision: Int) -> Double {
            guard numbers.count > 1, let index = positions[revision] else { return left + (width - left - right) / 2 }
            return left + inset + (width - left - right - inset) * Double(index) / Double(numbers.count - 1)
        }
        func y(_ value: Double) -> Double { top + (height - top - bottom) * (1 - (value - low) / (high - low)) }
        let failed = points.filter { $0.kind == .failed }.count, rolledBack = points.filter { $0.kind == .rolledBack }.count
        let description =
            "\(points.count) validation runs over revisions \(numbers.first ?? 0) to \(numbers.last ?? 0), \(figure) from \(RevisionText.number(points.map(\.raw).min() ?? 0)) to \(RevisionText.number(points.map(\.raw).max() ?? 0))"
            + (thresholds.isEmpty ? "" : ", threshold \(RevisionText.number(thresholds.last ?? 0))")
            + "; \(failed) runs of failed revisions, \(rolledBack) of rolled-back ones. The table below has the numbers."
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" aria-labelledby=\"\(id)-svg-title \(id)-svg-desc\">"
        out += "<title id=\"\(id)-svg-title\">\(escape(title))</title><desc id=\"\(id)-svg-desc\">\(escape(description))</desc>"
        // Axes and labels.
        out += "<g stroke=\"#444\" stroke-width=\"1\"><line x1=\"\(format(left))\" y1=\"\(format(top))\" x2=\"\(format(left))\" y2=\"\(format(height - bottom))\"/><line x1=\"\(format(left))\" y1=\"\(format(height - bottom))\" x2=\"\(format(width - right))\" y2=\"\(format(height - bottom))\"/></g>"
        out += "<g font-size=\"11\" fill=\"#222\" font-family=\"sans-serif\">"
        for value in [low + pad, (low + high) / 2, high - pad] {
            out += "<text x=\"\(format(left - 6))\" y=\"\(format(y(value) + 4))\" text-anchor=\"end\">\(escape(RevisionText.number(value)))</text>"
        }
        let step = max(1, numbers.count / 12)
        for (index, number) in numbers.enumerated() where index % step == 0 || index == numbers.count - 1 {
            out += "<text x=\"\(format(x(number)))\" y=\"\(format(height - bottom + 16))\" text-anchor=\"middle\">\(number)</text>"
        }
        out += "<text x=\"\(format((left + width - right) / 2))\" y=\"\(format(height - 6))\" text-anchor=\"middle\">revision</text></g>"
        if let threshold = thresholds.last {
            out += "<line x1=\"\(format(left))\" y1=\"\(format(y(threshold)))\" x2=\"\(format(width - right))\" y2=\"\(format(y(threshold)))\" stroke=\"#b35900\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>"
            out += "<text x=\"\(format(width - right))\" y=\"\(format(y(threshold) - 4))\" text-anchor=\"end\" font-size=\"11\" fill=\"#8a4500\" font-family=\"sans-serif\">threshold \(escape(RevisionText.number(threshold)))</text>"
        }
        for point in points {
            let px = format(x(point.revision)), py = format(y(point.raw))
            switch point.kind {
            case .applied:
                out += "<circle cx=\"\(px)\" cy=\"\(py)\" r=\"4\" fill=\"#155d27\"/>"
            case .failed:
                let cx = x(point.revision), cy = y(point.raw)
                out += "<path d=\"M\(format(cx - 5)) \(format(cy - 5))L\(format(cx + 5)) \(format(cy + 5))M\(format(cx - 5)) \(format(cy + 5))L\(format(cx + 5)) \(format(cy - 5))\" stroke=\"#9c1c1c\" stroke-width=\"2\"/>"
            case .rolledBack:
                let cx = x(point.revision), cy = y(point.raw)
                out += "<path d=\"M\(format(cx)) \(format(cy - 6))L\(format(cx + 6)) \(format(cy + 5))L\(format(cx - 6)) \(format(cy + 5))Z\" fill=\"none\" stroke=\"#5a2d82\" stroke-width=\"2\"/>"
            }
        }
        out += "</svg>"
        return out
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }
}
