import AsyncHTTPClient
import Foundation
import NIOCore

/// Options of `POST /build` (the classic builder: no session, so no BuildKit features).
public struct BuildOptions: Sendable, Equatable {
    /// Tags the image gets (`t`, repeated).
    public var tags: [String]
    /// The Dockerfile's path inside the context.
    public var dockerfile: String
    public var buildArgs: [String: String]
    public var target: String?
    public var labels: [String: String]
    public var shmSize: Int64?
    /// Each "HOST:IP".
    public var extraHosts: [String]
    public var networkMode: String?
    public var noCache: Bool
    public var pull: Bool
    public var cacheFrom: [String]

    public init(
        tags: [String], dockerfile: String = "Dockerfile", buildArgs: [String: String] = [:], target: String? = nil,
        labels: [String: String] = [:], shmSize: Int64? = nil, extraHosts: [String] = [], networkMode: String? = nil,
        noCache: Bool = false, pull: Bool = false, cacheFrom: [String] = []
    ) {
        self.tags = tags
        self.dockerfile = dockerfile
        self.buildArgs = buildArgs
        self.target = target
        self.labels = labels
        self.shmSize = shmSize
        self.extraHosts = extraHosts
        self.networkMode = networkMode
        self.noCache = noCache
        self.pull = pull
        self.cacheFrom = cacheFrom
    }

    var query: [(String, String)] {
        var query: [(String, String)] = tags.map { ("t", $0) }
        query.append(("dockerfile", dockerfile))
        // Intermediate containers go whether the build succeeds or not.
        query.append(("rm", "1"))
        query.append(("forcerm", "1"))
        if !buildArgs.isEmpty { query.append(("buildargs", Self.json(buildArgs))) }
        if let target { query.append(("target", target)) }
        if !labels.isEmpty { query.append(("labels", Self.json(labels))) }
        if let shmSize { query.append(("shmsize", String(shmSize))) }
        if !extraHosts.isEmpty { query.append(("extrahosts", extraHosts.joined(separator: ","))) }
        if let networkMode { query.append(("networkmode", networkMode)) }
        if noCache { query.append(("nocache", "1")) }
        if pull { query.append(("pull", "1")) }
        if !cacheFrom.isEmpty { query.append(("cachefrom", Self.json(cacheFrom))) }
        return query
    }

    private static func json(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}

/// One line of the build's JSON progress stream.
public struct BuildMessage: Sendable, Decodable, Equatable {
    public struct ErrorDetail: Sendable, Decodable, Equatable {
        public var code: Int?
        public var message: String?
    }
    public struct Aux: Sendable, Decodable, Equatable {
        // swift-format-ignore
        public var ID: String?
    }
    public var stream: String?
    public var status: String?
    public var progress: String?
    public var id: String?
    public var error: String?
    public var errorDetail: ErrorDetail?
    public var aux: Aux?
}

extension DockerClient {
    /// Builds an image from a tar of its context, reporting each progress line to
    /// `onMessage`. Returns the image ID (`sha256:…`). A failed build (an `error` line)
    /// throws `BuildFailure` with the builder's message and the output that came before it.
    ///
    /// Maps to `POST /build` (`Content-Type: application/x-tar`).
    public func build(
        context: [UInt8], options: BuildOptions, onMessage: @Sendable (BuildMessage) -> Void = { _ in }
    ) async throws -> String {
        let response = try await open(
            .POST, "/build", query: options.query, body: ByteBuffer(bytes: context), deadline: .none,
            contentType: "application/x-tar")
        var splitter = LineSplitter()
        var builtID: String?
        var output: [String] = []
        do {
            for try await buffer in response.body {
                for line in splitter.feed(buffer.readableBytesView) {
                    guard let message = try? JSONDecoder().decode(BuildMessage.self, from: Data(line)) else { continue }
                    onMessage(message)
                    if let id = message.aux?.ID { builtID = id }
                    if let stream = message.stream { output.append(stream) }
                    if let error = message.errorDetail?.message ?? message.error {
                        throw BuildFailure(message: error, output: output.joined())
                    }
                }
            }
        } catch let error as BuildFailure {
            throw error
        } catch let error as DockerError {
            throw error
        } catch {
            throw DockerError.transport(message: "the build stream from the Docker engine at \(endpointDescription) broke: \(error)", underlying: error)
        }
        if let builtID { return builtID }
        // The classic builder ends with "Successfully built <short id>" when it sends no aux line.
        if let tag = options.tags.first { return try await self.imageID(tag) }
        throw BuildFailure(message: "the engine ended the build without an image", output: output.joined())
    }
}

/// The builder reported an error: `message` is its own (e.g. "The command '/bin/sh -c false'
/// returned a non-zero code: 1"); `output` is what it printed before, whose last
/// "Step N/M" line says which instruction failed.
public struct BuildFailure: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var output: String

    public init(message: String, output: String) {
        self.message = message
        self.output = output
    }

    public var description: String { message }

    /// N of the last "Step N/M : …" line of the classic builder's output, if any.
    public var failedStep: Int? {
        for line in output.split(separator: "\n").reversed() where line.hasPrefix("Step ") {
            let number = line.dropFirst(5).prefix { $0.isNumber }
            if let step = Int(number) { return step }
        }
        return nil
    }
}

extension DockerClient {
    /// Removes an image by reference or ID (untagging it; the layers go when nothing else uses them).
    ///
    /// Maps to `DELETE /images/{name}?force=`.
    public func removeImage(_ reference: String, force: Bool = false) async throws {
        try await delete("/images/\(Self.pathSegment(reference, keepingSlashes: true))", query: [("force", force ? "1" : "0")])
    }
}
