import AsyncHTTPClient
import Foundation
import NIOCore

extension DockerClient {
    /// Subscribes to the engine's events.
    ///
    /// Maps to `GET /events?filters=&since=&until=`: a never-ending response of
    /// newline-delimited JSON. Returns once the engine has accepted the
    /// subscription, so an event caused after this returns is delivered.
    /// The stream finishes when the connection ends (or `until` passes) and
    /// throws `.transport` if it breaks; cancelling the consuming task, or
    /// dropping the stream, closes the connection.
    public func events(
        filters: DockerFilters = [:], since: Date? = nil, until: Date? = nil
    ) async throws -> AsyncThrowingStream<DockerEvent, any Error> {
        var query: [(String, String)] = []
        if let since { query.append(("since", Self.unixTime(since))) }
        if let until { query.append(("until", Self.unixTime(until))) }
        if !filters.isEmpty { query.append(("filters", filters.jsonString())) }
        let response = try await open(.GET, "/events", query: query, deadline: .none)

        let (stream, continuation) = AsyncThrowingStream<DockerEvent, any Error>.makeStream()
        let reader = Task {
            var splitter = LineSplitter()
            do {
                for try await buffer in response.body {
                    for line in splitter.feed(buffer.readableBytesView) {
                        do {
                            continuation.yield(try JSONDecoder().decode(DockerEvent.self, from: Data(line)))
                        } catch {
                            throw DockerError.decoding(type: "DockerEvent", method: "GET", path: "/events", underlying: error)
                        }
                    }
                }
                continuation.finish()
            } catch is CancellationError {
                continuation.finish()
            } catch let error as DockerError {
                continuation.finish(throwing: error)
            } catch {
                continuation.finish(
                    throwing: DockerError.transport(
                        message: "the event stream from the Docker engine at \(self.endpointDescription) broke: \(error)",
                        underlying: error))
            }
        }
        continuation.onTermination = { _ in reader.cancel() }
        return stream
    }

    /// `seconds.nanoseconds`, the engine's timestamp format.
    static func unixTime(_ date: Date) -> String {
        let interval = date.timeIntervalSince1970
        let seconds = Int64(interval.rounded(.down))
        let nanos = Int64(((interval - Double(seconds)) * 1_000_000_000).rounded())
        return "\(seconds).\(String(format: "%09lld", min(nanos, 999_999_999)))"
    }
}

/// Splits a byte stream into non-empty lines.
struct LineSplitter {
    private var pending: [UInt8] = []

    mutating func feed<Bytes: Sequence>(_ bytes: Bytes) -> [[UInt8]] where Bytes.Element == UInt8 {
        var lines: [[UInt8]] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                if !pending.isEmpty { lines.append(pending) }
                pending.removeAll(keepingCapacity: true)
            } else {
                pending.append(byte)
            }
        }
        return lines
    }
}
