import Foundation

/// The engine client's fuzz entry points (see `ReconcileManifest.ManifestFuzzing`): the
/// decoders of what a Docker engine sends back. An engine, or whatever answers on its socket,
/// is not trusted to send well-formed data: any bytes must decode or fail, never trap.
public enum EngineFuzzing {
    /// JSON bodies: the first byte picks the model, the rest is the body.
    public static func json(_ data: [UInt8]) {
        guard let selector = data.first else { return }
        let body = Data(data.dropFirst())
        let decoder = JSONDecoder()
        switch selector % 10 {
        case 0: _ = try? decoder.decode([ContainerSummary].self, from: body)
        case 1: _ = try? decoder.decode(ContainerInspect.self, from: body)
        case 2: _ = try? decoder.decode([Network].self, from: body)
        case 3: _ = try? decoder.decode(VolumeListResponse.self, from: body)
        case 4: _ = try? decoder.decode(ImageInspect.self, from: body)
        case 5: _ = try? decoder.decode(SystemInfo.self, from: body)
        case 6: _ = try? decoder.decode(SystemVersion.self, from: body)
        case 7: _ = try? decoder.decode(ContainerWaitResponse.self, from: body)
        case 8: _ = try? decoder.decode([ImageSummary].self, from: body)
        default: _ = try? decoder.decode(ContainerCreateResponse.self, from: body)
        }
    }

    /// The event stream: bytes split into lines as they arrive, each line decoded.
    public static func events(_ data: [UInt8]) {
        var splitter = LineSplitter()
        // The first byte cuts the input in two deliveries, as a stream arrives in pieces.
        let cut = data.isEmpty ? 0 : min(Int(data[0]), data.count)
        var lines = splitter.feed(data[..<cut])
        lines += splitter.feed(data[cut...])
        for line in lines { _ = try? JSONDecoder().decode(DockerEvent.self, from: Data(line)) }
    }

    /// The log stream of a container without a TTY, fed in pieces whose sizes the input picks.
    public static func demultiplex(_ data: [UInt8]) {
        guard let step = data.first.map({ Int($0) + 1 }) else { return }
        let body = Array(data.dropFirst())
        var demultiplexer = LogDemultiplexer()
        var out = 0
        var index = 0
        while index < body.count {
            let end = min(index + step, body.count)
            out += demultiplexer.feed(body[index..<end]).reduce(0) { $0 + $1.bytes.count }
            index = end
        }
        precondition(out + demultiplexer.pendingByteCount <= body.count, "the demultiplexer made bytes up")
    }
}
