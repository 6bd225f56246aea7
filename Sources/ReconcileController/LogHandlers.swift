import Foundation
import Logging
import ReconcileCore
import Synchronization

/// How the controller writes its log lines.
public enum LogFormat: String, Sendable, CaseIterable {
    /// `2026-01-01T12:00:00.000Z info pass finished pass=3 project=demo steps=1`
    case text
    /// One JSON object per line: `{"level":"info","message":"pass finished","pass":"3",…}`
    case json
}

/// A log handler that writes one line per message to standard error, as text or JSON lines.
/// Messages are fixed strings; what varies is in the metadata.
public struct LineLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let format: LogFormat

    public init(label: String, format: LogFormat, level: Logger.Level = .info) {
        self.label = label
        self.format = format
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        let time = LineLogHandler.timestamp()
        let line: String
        switch format {
        case .text:
            let fields = merged.keys.sorted().map { key in "\(key)=\(LineLogHandler.quoted(merged[key].map(LineLogHandler.flatten) ?? ""))" }
            line = ([time, event.level.rawValue, event.message.description] + fields).joined(separator: " ")
        case .json:
            var object: [String: String] = [:]
            for (key, value) in merged { object[key] = LineLogHandler.flatten(value) }
            object["time"] = time
            object["level"] = event.level.rawValue
            object["message"] = event.message.description
            object["logger"] = label
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            guard let data = try? encoder.encode(object) else { return }
            line = String(decoding: data, as: UTF8.self)
        }
        LineLogHandler.write(line + "\n")
    }

    private static let output = Mutex(())

    /// One `write` per line under a lock, so lines from concurrent tasks never interleave.
    static func write(_ text: String) {
        output.withLock { _ in
            var bytes = Array(text.utf8)
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeMutableBytes { buffer in
                    Foundation.write(2, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                }
                if written <= 0 { return }
                offset += written
            }
            bytes.removeAll()
        }
    }

    static func flatten(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let text): return text
        case .stringConvertible(let value): return value.description
        case .array(let values): return values.map(flatten).joined(separator: ",")
        case .dictionary(let values): return values.keys.sorted().map { "\($0):\(values[$0].map(flatten) ?? "")" }.joined(separator: ",")
        }
    }

    static func quoted(_ text: String) -> String {
        if !text.isEmpty && !text.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }) { return text }
        let escaped = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
        return "\"\(escaped)\""
    }

    /// UTC, millisecond precision (`UTCTime.iso8601`).
    static func timestamp() -> String { UTCTime.iso8601(UTCTime.now()) }
}
