import AsyncHTTPClient
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A typed async client of the Docker Engine API.
///
/// Every endpoint goes through one ``send(_:_:query:body:timeout:versioned:)``:
/// it prefixes the path with the negotiated `/v1.xx`, counts the request, sets
/// the headers, and turns failures into ``DockerError``. The endpoint groups
/// (`Containers.swift`, `Networks.swift`, …) are thin typed wrappers over it.
///
/// Call ``shutdown()`` when done.
public final class DockerClient: Sendable {
    public let configuration: Configuration
    private let http: HTTPClient
    private let state = NIOLockedValueBox(State())
    /// Bounds the requests in flight below the HTTP connection pool, for every command in
    /// one place: a caller that starts hundreds of calls at once (a destroy of 200
    /// containers) waits here, without a deadline, instead of timing out in the pool's
    /// queue, where a busy engine would look like an absent one.
    private let permits: RequestPermits
    /// The `ssh` forward of an `ssh://` endpoint.
    private let tunnel: SSHTunnel?

    private struct State {
        var requestCount = 0
        var negotiation: Task<APIVersion, any Error>?
    }

    public init(configuration: Configuration) throws {
        self.configuration = configuration
        var httpConfiguration = HTTPClient.Configuration(
            timeout: .init(connect: configuration.connectTimeout, read: nil))
        // Room above the bound for the long-lived streams (events), which hold no permit.
        httpConfiguration.connectionPool = .init(
            idleTimeout: .seconds(30),
            concurrentHTTP1ConnectionsPerHostSoftLimit: configuration.maximumConcurrentRequests + Self.streamConnections)
        self.permits = RequestPermits(configuration.maximumConcurrentRequests)
        // The engine never redirects; a 3xx (304 Not Modified) is an answer.
        httpConfiguration.redirectConfiguration = .disallow
        if case .tcp = configuration.endpoint, let files = configuration.tls {
            httpConfiguration.tlsConfiguration = try Self.makeTLSConfiguration(files)
        }
        if case .ssh(let destination) = configuration.endpoint {
            tunnel = try SSHTunnel(destination, options: configuration.sshOptions)
        } else {
            tunnel = nil
        }
        self.http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: httpConfiguration)
    }

    /// A client configured as the docker CLI would be; see ``Configuration/fromEnvironment(host:context:environment:)``.
    public static func fromEnvironment(host: String? = nil, context: String? = nil) throws -> DockerClient {
        try DockerClient(configuration: .fromEnvironment(host: host, context: context))
    }

    /// Closes the connections. The client cannot be used afterwards.
    public func shutdown() async throws {
        state.withLockedValue { $0.negotiation?.cancel() }
        defer { tunnel?.close() }
        try await http.shutdown()
    }

    /// The number of HTTP requests sent so far, the negotiating `GET /_ping` included.
    public var requestCount: Int { state.withLockedValue { $0.requestCount } }

    /// The endpoint as people write it, for messages.
    public var endpointDescription: String { configuration.endpoint.description }

    // MARK: - Version negotiation

    /// The API version in use: ``Configuration/apiVersion`` if pinned, otherwise
    /// `min(engine's, APIVersion.maximumSupported)` from one `GET /_ping` (its `Api-Version`
    /// header, as the docker CLI negotiates: about 0.4 ms, where `GET /version` takes 5–6 ms),
    /// or `GET /version` when a proxy in between drops that header.
    /// Throws `.transport` for an engine older than ``APIVersion/minimumSupported``.
    public func apiVersion() async throws -> APIVersion {
        if let pinned = configuration.apiVersion { return pinned }
        let task = state.withLockedValue { state -> Task<APIVersion, any Error> in
            if let existing = state.negotiation { return existing }
            let task = Task { try await self.negotiate() }
            state.negotiation = task
            return task
        }
        do {
            return try await task.value
        } catch {
            // Forget a failed negotiation so that the next call tries again.
            state.withLockedValue { if $0.negotiation == task { $0.negotiation = nil } }
            throw error
        }
    }

    /// Starts negotiating the API version in the background, so that it overlaps the
    /// caller's own work (loading manifests) instead of delaying the first request.
    /// A failure is kept for nobody: the next request negotiates again and reports it.
    public func negotiateInBackground() {
        guard configuration.apiVersion == nil else { return }
        Task { _ = try? await self.apiVersion() }
    }

    private func negotiate() async throws -> APIVersion {
        let ping = try await send(.GET, "/_ping", versioned: false)
        let server: APIVersion
        let product: String
        if let header = ping.headers.first(name: "Api-Version"), let parsed = APIVersion(header) {
            server = parsed
            // "Docker/20.10.24+dfsg1 (linux)"
            product = ping.headers.first(name: "Server")?.split(separator: " ").first.map(String.init)?.replacingOccurrences(of: "/", with: " ") ?? "Docker"
        } else {
            let version: SystemVersion = try await decode(
                send(.GET, "/version", versioned: false), as: SystemVersion.self, method: .GET, path: "/version")
            guard let parsed = APIVersion(version.apiVersion) else {
                throw DockerError.decoding(
                    type: "APIVersion", method: "GET", path: "/version",
                    underlying: DockerConfigurationError("ApiVersion '\(version.apiVersion)' is not a version"))
            }
            server = parsed
            product = "Docker \(version.version)"
        }
        guard let chosen = APIVersion.negotiate(server: server) else {
            throw DockerError.transport(
                message:
                    "the Docker engine at \(endpointDescription) speaks API \(server) (\(product)), older than \(APIVersion.minimumSupported) (Docker 20.10) which reconcile needs; upgrade Docker",
                underlying: nil)
        }
        return chosen
    }

    // MARK: - Requests

    /// Connections of the pool left for streams (events) beyond ``Configuration/maximumConcurrentRequests``.
    static let streamConnections = 8

    /// How long a request may take before it is abandoned.
    enum Deadline: Sendable {
        /// ``Configuration/requestTimeout``.
        case standard
        case after(TimeAmount)
        /// Calls that wait on the engine by design (a container's exit, the event stream).
        case none
    }

    /// A fully read response.
    public struct Response: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var body: ByteBuffer

        public var bytes: [UInt8] { Array(body.readableBytesView) }
    }

    /// The largest body read into memory (a long container list or log).
    static let maximumBodySize = 256 * 1024 * 1024

    /// Sends one request and reads the whole body, holding one of the client's permits.
    /// Statuses >= 400 throw `.status` with the engine's message; 1xx–3xx are returned.
    /// `timeout` nil is ``Configuration/requestTimeout``.
    func send(
        _ method: HTTPMethod,
        _ path: String,
        query: [(String, String)] = [],
        body: ByteBuffer? = nil,
        timeout: TimeAmount? = nil,
        versioned: Bool = true
    ) async throws -> Response {
        try await send(method, path, query: query, body: body, deadline: timeout.map { .after($0) } ?? .standard, versioned: versioned)
    }

    func send(
        _ method: HTTPMethod,
        _ path: String,
        query: [(String, String)] = [],
        body: ByteBuffer? = nil,
        deadline: Deadline,
        versioned: Bool = true
    ) async throws -> Response {
        // Negotiate before taking a permit: the negotiation's own request needs one.
        if versioned { _ = try await apiVersion() }
        await permits.acquire()
        defer { permits.release() }
        let response = try await open(method, path, query: query, body: body, deadline: deadline, versioned: versioned)
        do {
            let bytes = try await response.body.collect(upTo: Self.maximumBodySize)
            return Response(status: Int(response.status.code), headers: response.headers, body: bytes)
        } catch {
            throw transportError(error)
        }
    }

    /// Sends one request and returns as soon as the head arrives, with the body
    /// still streaming (events, followed logs). Holds no permit: a caller that reads a
    /// whole body goes through ``send(_:_:query:body:deadline:versioned:)``.
    func open(
        _ method: HTTPMethod,
        _ path: String,
        query: [(String, String)] = [],
        body: ByteBuffer? = nil,
        deadline: Deadline,
        versioned: Bool = true,
        contentType: String? = nil
    ) async throws -> HTTPClientResponse {
        if let tunnel { try await tunnel.waitReady() }
        if case .unix(let socketPath) = configuration.endpoint, !FileManager.default.fileExists(atPath: socketPath) {
            // Fail at once: the HTTP client would retry a missing socket until the connect timeout.
            throw transportError(IOError(errnoCode: ENOENT, reason: "connect"))
        }
        let prefix = versioned ? "/v\(try await apiVersion())" : ""
        var request = HTTPClientRequest(url: url(prefix + path, query: query))
        request.method = method
        if tunnel != nil || configuration.endpoint.isUnix {
            // AHC sends an empty Host header over unix sockets, which the engine rejects with 400.
            request.headers.replaceOrAdd(name: "Host", value: "docker")
        }
        request.headers.add(name: "User-Agent", value: "reconcile-docker-engine")
        if let body {
            // Every body is JSON but the tar an archive or build endpoint takes.
            request.headers.add(
                name: "Content-Type", value: contentType ?? (path.hasSuffix("/archive") ? "application/x-tar" : "application/json"))
            request.body = .bytes(body)
        }
        state.withLockedValue { $0.requestCount += 1 }
        let cut = CrashHook.willSend(method, path)

        let response: HTTPClientResponse
        do {
            let until: NIODeadline
            switch deadline {
            case .standard: until = .now() + configuration.requestTimeout
            case .after(let amount): until = .now() + amount
            case .none: until = .distantFuture
            }
            response = try await http.execute(request, deadline: until)
        } catch {
            throw transportError(error)
        }
        CrashHook.answered(cut)
        guard response.status.code < 400 else {
            let bytes = try? await response.body.collect(upTo: 1024 * 1024)
            throw DockerError.status(
                code: Int(response.status.code),
                message: Self.engineMessage(bytes, status: response.status),
                method: method.rawValue,
                path: prefix + path)
        }
        return response
    }

    /// Decodes a response body, naming the call in the error.
    func decode<T: Decodable>(_ response: Response, as type: T.Type, method: HTTPMethod, path: String) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(response.body.readableBytesView))
        } catch {
            throw DockerError.decoding(type: String(describing: T.self), method: method.rawValue, path: path, underlying: error)
        }
    }

    /// `GET path`, decoded as `T`.
    func get<T: Decodable>(_ path: String, query: [(String, String)] = [], as type: T.Type = T.self) async throws -> T {
        try decode(await send(.GET, path, query: query), as: T.self, method: .GET, path: path)
    }

    /// `POST path` with a JSON body, decoded as `T`.
    func post<T: Decodable>(
        _ path: String, query: [(String, String)] = [], body: some Encodable, as type: T.Type = T.self
    ) async throws -> T {
        try decode(await send(.POST, path, query: query, body: encode(body)), as: T.self, method: .POST, path: path)
    }

    /// `POST path`, the body ignored; returns the status (204, or 304 for "already so").
    @discardableResult
    func post(
        _ path: String, query: [(String, String)] = [], body: (any Encodable)? = nil, timeout: TimeAmount? = nil
    ) async throws -> Int {
        let encoded = try body.map { try encode($0) }
        return try await send(.POST, path, query: query, body: encoded, timeout: timeout).status
    }

    /// `DELETE path`, the body ignored.
    func delete(_ path: String, query: [(String, String)] = []) async throws {
        _ = try await send(.DELETE, path, query: query)
    }

    func encode(_ value: any Encodable) throws -> ByteBuffer {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return ByteBuffer(bytes: try encoder.encode(value))
    }

    // MARK: - URLs

    private func url(_ path: String, query: [(String, String)]) -> String {
        var url: String
        switch configuration.endpoint {
        case .unix(let socketPath):
            let host = socketPath.addingPercentEncoding(withAllowedCharacters: .urlHostAllowed) ?? socketPath
            url = "http+unix://\(host)"
        case .tcp(let host, let port):
            let scheme = configuration.tls == nil ? "http" : "https"
            let hostPart = host.contains(":") ? "[\(host)]" : host
            url = "\(scheme)://\(hostPart):\(port)"
        case .ssh:
            let socketPath = tunnel?.localSocket ?? ""
            url = "http+unix://" + (socketPath.addingPercentEncoding(withAllowedCharacters: .urlHostAllowed) ?? socketPath)
        }
        url += path
        if !query.isEmpty {
            url += "?" + query.map { "\(Self.percentEncode($0.0))=\(Self.percentEncode($0.1))" }.joined(separator: "&")
        }
        return url
    }

    private static let unreserved: CharacterSet = {
        var set = CharacterSet()
        set.insert(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return set
    }()

    /// Percent-encodes everything but RFC 3986's unreserved characters.
    static func percentEncode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    /// One path segment (a container name, an ID); `/` and `:` are kept so image
    /// references such as `library/busybox:1` reach the engine's router intact.
    static func pathSegment(_ text: String, keepingSlashes: Bool = false) -> String {
        var allowed = unreserved
        allowed.insert(charactersIn: ":@")
        if keepingSlashes { allowed.insert("/") }
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    // MARK: - Errors

    /// The engine's `{"message": "..."}`, or the body as text, or the status reason.
    static func engineMessage(_ body: ByteBuffer?, status: HTTPResponseStatus) -> String {
        struct ErrorResponse: Decodable {
            var message: String
            enum CodingKeys: String, CodingKey { case message }
        }
        guard let body, body.readableBytes > 0 else { return status.reasonPhrase }
        let data = Data(body.readableBytesView)
        if let decoded = try? JSONDecoder().decode(ErrorResponse.self, from: data) { return decoded.message }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? status.reasonPhrase : text
    }

    private func transportError(_ error: any Error) -> any Error {
        if error is DockerError || error is CancellationError { return error }
        if let busy = Self.busyReason(error) {
            // The engine is there and answering others: saying "is dockerd running?" would send
            // a person looking for a problem that does not exist.
            return DockerError.transport(
                message: "the Docker engine at \(endpointDescription) is busy: \(busy); it is running, so try again, or lower --parallelism",
                underlying: error)
        }
        let reason = Self.transportReason(error, endpoint: configuration.endpoint)
        let hint: String
        switch configuration.endpoint {
        case .unix: hint = "is dockerd running? set --host or DOCKER_HOST"
        case .tcp: hint = "is dockerd listening there? set --host or DOCKER_HOST"
        case .ssh(let destination): hint = "is dockerd running there, with its socket at \(destination.socket)? set --host, --context or DOCKER_HOST"
        }
        return DockerError.transport(
            message: "cannot reach the Docker engine at \(endpointDescription): \(reason); \(hint)",
            underlying: error)
    }

    /// A few words when the engine is reachable but did not answer in time, else nil: a live
    /// engine that is slow is not an unreachable one.
    static func busyReason(_ error: any Error) -> String? {
        guard let client = error as? HTTPClientError else { return nil }
        switch client {
        case .getConnectionFromPoolTimeout: return "no connection to it came free in time"
        case .deadlineExceeded: return "a request got no answer before its deadline"
        case .readTimeout: return "it stopped answering a request"
        default: return nil
        }
    }

    /// A few words for why the connection failed.
    static func transportReason(_ error: any Error, endpoint: DockerEndpoint) -> String {
        // The socket file is the most common culprit, and the clearest thing to name.
        if case .unix(let path) = endpoint, !FileManager.default.fileExists(atPath: path) {
            return "no such socket"
        }
        if let io = error as? IOError {
            switch io.errnoCode {
            case ENOENT: return "no such socket"
            case ECONNREFUSED: return "connection refused"
            case EACCES, EPERM: return "permission denied"
            default: return String(cString: strerror(io.errnoCode)).lowercased()
            }
        }
        if let client = error as? HTTPClientError {
            switch client {
            case .connectTimeout: return "connection timed out"
            case .deadlineExceeded: return "the request timed out"
            case .readTimeout: return "the engine stopped answering"
            case .remoteConnectionClosed: return "the engine closed the connection"
            default: return "\(client)"
            }
        }
        if error is NIOSSLError { return "TLS failed (\(error))" }
        if let connection = error as? NIOConnectionError, let first = connection.connectionErrors.first {
            return transportReason(first.error, endpoint: endpoint)
        }
        return "\(error)"
    }

    // MARK: - TLS

    static func makeTLSConfiguration(_ files: DockerTLSFiles) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        do {
            tls.trustRoots = .file(files.caPath)
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(files.certificatePath).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: files.keyPath, format: .pem))
        } catch {
            throw DockerConfigurationError(
                "cannot load the Docker TLS files (\(files.certificatePath), \(files.keyPath)): \(error); set DOCKER_CERT_PATH to the directory holding ca.pem, cert.pem and key.pem"
            )
        }
        tls.certificateVerification = files.verify ? .fullVerification : .none
        return tls
    }
}

/// `{}` in JSON: the value type of `ExposedPorts` and `Volumes`, and an absent body.
public struct EmptyObject: Codable, Sendable, Hashable {
    public init() {}
}

/// A counting semaphore, first come first served, released synchronously.
final class RequestPermits: Sendable {
    private struct State {
        var free: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state: NIOLockedValueBox<State>

    init(_ count: Int) { state = NIOLockedValueBox(State(free: max(1, count))) }

    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = state.withLockedValue { state -> Bool in
                if state.free > 0 {
                    state.free -= 1
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if granted { continuation.resume() }
        }
    }

    func release() {
        let next = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.free += 1
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
