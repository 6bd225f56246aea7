import Foundation
import ReconcileCore

/// Masks the project's secret values in text that comes from containers (a failed health
/// gate's log lines, a hook's or a validation job's output) before reconcile prints, logs or
/// stores it: a process that prints its environment must not put a secret in a terminal, a
/// CI log or the history (docs/security.md).
///
/// The values: every `secret_env` variable's value, the content of `environment` and
/// `content` secrets, and the content of `file` secrets (read here, up to 64 KiB), whole and
/// line by line. Values shorter than four characters are left alone: masking every "1"
/// would hide more than it protects.
public struct SecretRedactor: Sendable {
    public static let mask = ReplicaConfig.sensitive
    static let minimumLength = 4
    let values: [String]

    public init(project: Project) {
        var values: Set<String> = []
        for service in project.services {
            for name in service.secretEnv { if let value = service.environment[name] { values.insert(value) } }
        }
        for secret in project.secrets ?? [] {
            var content = secret.content
            if content == nil, secret.source == .file, let path = secret.reference,
               let handle = FileHandle(forReadingAtPath: path) {
                content = String(decoding: handle.readData(ofLength: 64 << 10), as: UTF8.self)
                try? handle.close()
            }
            guard let content else { continue }
            values.insert(content)
            values.insert(content.trimmingCharacters(in: .newlines))
            for line in content.split(whereSeparator: \.isNewline) { values.insert(String(line)) }
        }
        // Longest first, so a value that contains another is masked whole.
        self.values = values.filter { $0.count >= Self.minimumLength }.sorted { $0.count > $1.count }
    }

    public func redact(_ text: String) -> String {
        var out = text
        for value in values where out.contains(value) {
            out = out.replacingOccurrences(of: value, with: Self.mask)
        }
        return out
    }
}
