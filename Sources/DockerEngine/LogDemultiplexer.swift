/// Which stream a piece of container output came from.
public enum LogStream: UInt8, Sendable, Equatable {
    case stdin = 0
    case stdout = 1
    case stderr = 2
}

/// One piece of container output.
public struct LogChunk: Sendable, Equatable {
    public var stream: LogStream
    public var bytes: [UInt8]

    public init(stream: LogStream, bytes: [UInt8]) {
        self.stream = stream
        self.bytes = bytes
    }

    public var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// Splits the engine's multiplexed stream (containers without a TTY) into chunks.
///
/// Each frame is an 8-byte header `[stream, 0, 0, 0, size (UInt32, big-endian)]`
/// followed by `size` bytes. Frames may arrive split across reads, so bytes are
/// buffered until a frame is complete.
public struct LogDemultiplexer: Sendable {
    private var buffer: [UInt8] = []

    public init() {}

    /// Feeds more bytes; returns the frames they complete.
    public mutating func feed<Bytes: Sequence>(_ bytes: Bytes) -> [LogChunk] where Bytes.Element == UInt8 {
        buffer.append(contentsOf: bytes)
        var chunks: [LogChunk] = []
        var offset = 0
        while buffer.count - offset >= 8 {
            let size =
                Int(buffer[offset + 4]) << 24 | Int(buffer[offset + 5]) << 16
                | Int(buffer[offset + 6]) << 8 | Int(buffer[offset + 7])
            guard buffer.count - offset - 8 >= size else { break }
            // An unknown stream byte is reported as stdout rather than dropped.
            let stream = LogStream(rawValue: buffer[offset]) ?? .stdout
            chunks.append(LogChunk(stream: stream, bytes: Array(buffer[(offset + 8)..<(offset + 8 + size)])))
            offset += 8 + size
        }
        buffer.removeFirst(offset)
        return chunks
    }

    /// Bytes of an incomplete frame left at the end of the stream.
    public var pendingByteCount: Int { buffer.count }

    /// Demultiplexes a complete body at once.
    public static func demultiplex(_ bytes: [UInt8]) -> [LogChunk] {
        var demux = LogDemultiplexer()
        return demux.feed(bytes)
    }
}
