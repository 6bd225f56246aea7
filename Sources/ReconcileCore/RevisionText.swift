import Foundation

/// What changed between two revisions: the same field-level view as a plan's recreate
/// steps, over the desired states history keeps (secret values masked).
public struct RevisionDiff: Sendable, Equatable, Codable {
    public struct ServiceChange: Sendable, Equatable, Codable {
        /// "+" added, "-" removed, "~" changed.
        public var action: String
        public var service: String
        public var changes: [FieldChange]
    }

    public var from: Int
    public var to: Int
    public var services: [ServiceChange]
    /// "+ network x", "- volume y".
    public var resources: [String]

    public var isEmpty: Bool { services.isEmpty && resources.isEmpty }

    public init(_ a: Revision, _ b: Revision) {
        from = a.number
        to = b.number
        var services: [ServiceChange] = []
        let names = Set(a.desired.services.map(\.name)).union(b.desired.services.map(\.name)).sorted()
        for name in names {
            switch (a.desired.service(named: name), b.desired.service(named: name)) {
            case (nil, .some):
                services.append(ServiceChange(action: "+", service: name, changes: []))
            case (.some, nil):
                services.append(ServiceChange(action: "-", service: name, changes: []))
            case let (.some(old), .some(new)):
                let changes = RevisionDiff.changes(old, a, new, b)
                if !changes.isEmpty { services.append(ServiceChange(action: "~", service: name, changes: changes)) }
            case (nil, nil):
                break
            }
        }
        self.services = services
        var resources: [String] = []
        let oldNetworks = Set(a.desired.networks.map(\.name)), newNetworks = Set(b.desired.networks.map(\.name))
        resources += newNetworks.subtracting(oldNetworks).sorted().map { "+ network \($0)" }
        resources += oldNetworks.subtracting(newNetworks).sorted().map { "- network \($0)" }
        let oldVolumes = Set(a.desired.volumes.map(\.name)), newVolumes = Set(b.desired.volumes.map(\.name))
        resources += newVolumes.subtracting(oldVolumes).sorted().map { "+ volume \($0)" }
        resources += oldVolumes.subtracting(newVolumes).sorted().map { "- volume \($0) (its data is kept)" }
        self.resources = resources
    }

    private static func changes(_ old: Service, _ a: Revision, _ new: Service, _ b: Revision) -> [FieldChange] {
        let before = ReplicaConfig(service: old, project: a.desired).masked(secrets: old.secretEnv).fields()
        let after = ReplicaConfig(service: new, project: b.desired).masked(secrets: new.secretEnv).fields()
        var out: [FieldChange] = []
        for field in Set(before.keys).union(after.keys).sorted() where before[field] != after[field] {
            out.append(FieldChange(field: field, from: ReplicaConfig.shown(before[field]), to: ReplicaConfig.shown(after[field])))
        }
        let oldRecord = a.service(named: old.name), newRecord = b.service(named: new.name)
        if let o = oldRecord?.imageID, let n = newRecord?.imageID, o != n, !o.isEmpty || !n.isEmpty {
            out.append(FieldChange(field: "image id", from: RevisionText.shortID(o), to: RevisionText.shortID(n)))
        }
        if old.replicas != new.replicas {
            out.append(FieldChange(field: "replicas", from: String(old.replicas), to: String(new.replicas)))
        }
        if let o = oldRecord?.gpus, let n = newRecord?.gpus, o != n {
            out.append(FieldChange(field: "gpus", from: RevisionText.gpus(o), to: RevisionText.gpus(n)))
        }
        if out.isEmpty, let o = oldRecord?.configHash, let n = newRecord?.configHash, o != n {
            // Only a masked value differs: say so without showing it.
            out.append(FieldChange(field: "secret_env", from: ReplicaConfig.sensitive, to: ReplicaConfig.sensitive))
        }
        return out
    }
}

/// Text views of history, diffs and validation reports.
public enum RevisionText {
    /// One line per revision, newest last.
    public static func history(_ revisions: [Revision], color: Bool = false) -> String {
        guard !revisions.isEmpty else { return "No revisions recorded." }
        var rows: [[String]] = [["REV", "TIME (UTC)", "OUTCOME", "BY", "COMMAND", "VALIDATION", "DIGEST"]]
        for revision in revisions {
            rows.append([
                String(revision.number), time(revision.time), revision.outcome.rawValue, "\(revision.user)@\(revision.host)",
                revision.command, validationSummary(revision.validations), String(revision.manifestDigest.dropFirst(7).prefix(12)),
            ])
        }
        let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        var lines = rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        for revision in revisions {
            if let message = revision.message { lines.append("  \(revision.number): \(message)") }
        }
        return lines.joined(separator: "\n")
    }

    /// A revision in full: services with image ids and GPUs, then validation.
    public static func revision(_ revision: Revision) -> String {
        var lines = [
            "revision \(revision.number) of \(revision.project): \(revision.outcome.rawValue)",
            "  applied \(time(revision.time)) by \(revision.user)@\(revision.host) (\(revision.command))",
            "  manifest \(revision.manifestDigest)",
        ]
        if let message = revision.message { lines.append("  \(message)") }
        for service in revision.services {
            var line = "  service \(service.name): \(service.image) (\(shortID(service.imageID))), \(service.replicas) replica\(service.replicas == 1 ? "" : "s"), config \(service.configHash.prefix(12))"
            if !service.gpus.isEmpty { line += ", GPUs \(gpus(service.gpus))" }
            lines.append(line)
        }
        if !revision.validations.isEmpty {
            lines.append("  validation:")
            lines.append(contentsOf: revision.validations.flatMap { validation($0).split(separator: "\n").map { "    " + $0 } })
        }
        if let restored = revision.restored {
            lines.append("  rolled back to revision \(restored)")
            for report in revision.restoredValidations ?? [] {
                lines.append(contentsOf: validation(report).split(separator: "\n").map { "    " + $0 })
            }
        }
        return lines.joined(separator: "\n")
    }

    public static func diff(_ diff: RevisionDiff) -> String {
        guard !diff.isEmpty else { return "revisions \(diff.from) and \(diff.to) deploy the same state" }
        var lines = ["revision \(diff.from) → \(diff.to):"]
        for service in diff.services {
            lines.append("  \(service.action) service \(service.service)")
            for change in service.changes {
                lines.append("      \(change.field): \(change.from ?? "(unset)") → \(change.to ?? "(unset)")")
            }
        }
        lines.append(contentsOf: diff.resources.map { "  " + $0 })
        return lines.joined(separator: "\n")
    }

    /// A service's validation: a header line, then one line per run.
    public static func validation(_ report: ServiceValidation) -> String {
        var lines = ["\(report.passed ? "PASS" : "FAIL") \(report.service) (\(report.mode.rawValue), \(String(format: "%.1f", report.seconds)) s)"]
        if report.runs.isEmpty { lines.append("  no replica was running to validate") }
        for run in report.runs {
            var parts: [String] = []
            for key in ["accuracy", "p50_ms", "p99_ms", "requests_per_second", "rows_per_second", "errors"] {
                if let value = run.figures[key] { parts.append("\(key) \(number(value))") }
            }
            let failed = run.checks.filter { !$0.passed }.map { "\($0.name) \(number($0.value)) against \(number($0.threshold))" }
            var line = "  \(run.passed ? "ok  " : "FAIL") \(run.target)"
            if let device = run.device { line += " [\(device)]" }
            if !parts.isEmpty { line += ": " + parts.joined(separator: ", ") }
            if !failed.isEmpty { line += "; failed " + failed.joined(separator: ", ") }
            lines.append(line)
            if !run.passed, let message = run.message {
                lines.append(contentsOf: message.split(separator: "\n").suffix(8).map { "      " + $0 })
            }
        }
        return lines.joined(separator: "\n")
    }

    static func validationSummary(_ reports: [ServiceValidation]) -> String {
        guard !reports.isEmpty else { return "-" }
        let failed = reports.filter { !$0.passed }.map(\.service)
        return failed.isEmpty ? "passed (\(reports.count))" : "failed: \(failed.joined(separator: ","))"
    }

    /// "2026-11-30 14:57:00", UTC (`UTCTime.text`).
    public static func time(_ unixSeconds: Double) -> String { UTCTime.text(unixSeconds) }

    public static func shortID(_ id: String) -> String {
        guard !id.isEmpty else { return "unknown id" }
        let hex = id.hasPrefix("sha256:") ? String(id.dropFirst(7)) : id
        return "sha256:" + hex.prefix(12)
    }

    public static func gpus(_ map: [String: [String]]) -> String {
        map.keys.sorted { (Int($0) ?? 0) < (Int($1) ?? 0) }.map { "\($0)=\(map[$0]?.joined(separator: ",") ?? "")" }.joined(separator: " ")
    }

    public static func number(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e9 { return String(Int(value)) }
        return abs(value) >= 100 ? String(format: "%.1f", value) : String(format: "%.3g", value)
    }
}

/// The one UTC time formatter: revisions, saved plans, pages and log lines. By hand from
/// `gmtime_r`: Foundation's date formatters reach into ICU, whose data pages would stay
/// resident for a daemon's lifetime, and no locale can change the output.
public enum UTCTime {
    /// "2026-11-30 14:57:00".
    public static func text(_ unixSeconds: Double) -> String {
        let p = parts(unixSeconds)
        return "\(p.date) \(p.time)"
    }

    /// "2026-11-30T14:57:00.123Z".
    public static func iso8601(_ unixSeconds: Double) -> String {
        let p = parts(unixSeconds)
        let millis = Int(((unixSeconds - unixSeconds.rounded(.down)) * 1000).rounded(.down))
        return "\(p.date)T\(p.time).\(pad(min(999, max(0, millis)), 3))Z"
    }

    /// Now, to the nanosecond the clock gives.
    public static func now() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    private static func parts(_ unixSeconds: Double) -> (date: String, time: String) {
        var seconds = time_t(unixSeconds.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return (
            "\(pad(Int(parts.tm_year) + 1900, 4))-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))",
            "\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2))"
        )
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
