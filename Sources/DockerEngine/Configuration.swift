import Foundation
import NIOCore

/// Where the engine listens.
public enum DockerEndpoint: Sendable, Equatable, CustomStringConvertible {
    /// A unix socket, such as `/var/run/docker.sock`.
    case unix(path: String)
    /// A TCP address; plain HTTP, or HTTPS when the configuration carries TLS.
    case tcp(host: String, port: Int)
    /// An engine on another machine reached through `ssh` (`ssh://user@host:port`), whose
    /// socket is forwarded to a local one for the life of the client.
    case ssh(SSHDestination)

    /// The engine's default address on Linux.
    public static let defaultUnix = DockerEndpoint.unix(path: "/var/run/docker.sock")

    /// Parses a `--host` / `DOCKER_HOST` value: `unix:///path` or `tcp://host[:port]`.
    /// A TCP address without a port gets 2376 when `tls` is true, else 2375, as the docker CLI does.
    public init(parsing value: String, tls: Bool = false) throws {
        let text = value.trimmingCharacters(in: .whitespaces)
        guard let schemeEnd = text.range(of: "://") else {
            throw DockerConfigurationError(
                "cannot use Docker host '\(value)': write it as unix:///path/to/docker.sock or tcp://host:port")
        }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        let rest = String(text[schemeEnd.upperBound...])
        switch scheme {
        case "unix":
            guard rest.hasPrefix("/") else {
                throw DockerConfigurationError(
                    "cannot use Docker host '\(value)': a unix socket needs an absolute path, as in unix:///var/run/docker.sock")
            }
            self = .unix(path: rest)
        case "tcp":
            var hostPort = rest
            if hostPort.hasSuffix("/") { hostPort.removeLast() }
            guard !hostPort.isEmpty, !hostPort.contains("/") else {
                throw DockerConfigurationError("cannot use Docker host '\(value)': write it as tcp://host:port")
            }
            let defaultPort = tls ? 2376 : 2375
            let host: String
            var portText: Substring? = nil
            if hostPort.hasPrefix("[") {
                // [IPv6]:port
                guard let close = hostPort.firstIndex(of: "]") else {
                    throw DockerConfigurationError("cannot use Docker host '\(value)': unclosed '[' in the IPv6 address")
                }
                host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
                let after = hostPort[hostPort.index(after: close)...]
                if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty {
                    throw DockerConfigurationError("cannot use Docker host '\(value)': write it as tcp://[address]:port")
                }
            } else if let colon = hostPort.lastIndex(of: ":") {
                host = String(hostPort[..<colon])
                portText = hostPort[hostPort.index(after: colon)...]
            } else {
                host = hostPort
            }
            let port: Int
            if let portText {
                guard let parsed = Int(portText), (1...65535).contains(parsed) else {
                    throw DockerConfigurationError("cannot use Docker host '\(value)': '\(portText)' is not a port number")
                }
                port = parsed
            } else {
                port = defaultPort
            }
            guard !host.isEmpty else {
                throw DockerConfigurationError("cannot use Docker host '\(value)': the host name is missing")
            }
            self = .tcp(host: host, port: port)
        case "ssh":
            self = .ssh(try SSHDestination(parsing: rest, original: value))
        default:
            throw DockerConfigurationError(
                "cannot use Docker host '\(value)': the scheme '\(scheme)' is not supported; use unix://, tcp:// or ssh://")
        }
    }

    var isUnix: Bool {
        if case .unix = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .unix(let path): return "unix://\(path)"
        case .tcp(let host, let port): return host.contains(":") ? "tcp://[\(host)]:\(port)" : "tcp://\(host):\(port)"
        case .ssh(let destination): return destination.description
        }
    }
}

/// `ssh://[user@]host[:port][/remote/docker.sock]`: where `ssh` logs in, and the engine's
/// socket there (default `/var/run/docker.sock`; the path is reconcile's addition to the
/// docker CLI's form, for rootless or non-default engines).
public struct SSHDestination: Sendable, Equatable, CustomStringConvertible {
    public var user: String?
    public var host: String
    public var port: Int?
    public var socket: String

    public static let defaultSocket = "/var/run/docker.sock"

    public init(user: String? = nil, host: String, port: Int? = nil, socket: String = SSHDestination.defaultSocket) {
        self.user = user
        self.host = host
        self.port = port
        self.socket = socket
    }

    init(parsing rest: String, original: String) throws {
        var authority = Substring(rest)
        var socket = SSHDestination.defaultSocket
        if let slash = authority.firstIndex(of: "/") {
            let path = String(authority[slash...])
            if path != "/" { socket = path }
            authority = authority[..<slash]
        }
        var user: String?
        if let at = authority.lastIndex(of: "@") {
            user = String(authority[..<at])
            authority = authority[authority.index(after: at)...]
            if user?.isEmpty == true { user = nil }
        }
        var host = String(authority)
        var port: Int?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else {
                throw DockerConfigurationError("cannot use Docker host '\(original)': unclosed '[' in the IPv6 address")
            }
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":") {
                guard let parsed = Int(after.dropFirst()), (1...65535).contains(parsed) else {
                    throw DockerConfigurationError("cannot use Docker host '\(original)': '\(after.dropFirst())' is not a port number")
                }
                port = parsed
            }
            host = String(host[host.index(after: host.startIndex)..<close])
        } else if let colon = host.lastIndex(of: ":") {
            let text = host[host.index(after: colon)...]
            guard let parsed = Int(text), (1...65535).contains(parsed) else {
                throw DockerConfigurationError("cannot use Docker host '\(original)': '\(text)' is not a port number")
            }
            port = parsed
            host = String(host[..<colon])
        }
        guard !host.isEmpty else {
            throw DockerConfigurationError("cannot use Docker host '\(original)': the host name is missing; write ssh://user@host")
        }
        self.init(user: user, host: host, port: port, socket: socket)
    }

    public var description: String {
        var text = "ssh://"
        if let user { text += "\(user)@" }
        text += host.contains(":") ? "[\(host)]" : host
        if let port { text += ":\(port)" }
        if socket != SSHDestination.defaultSocket { text += socket }
        return text
    }
}

/// A `--host`, `DOCKER_HOST` or TLS setting that cannot be used, said in one sentence.
public struct DockerConfigurationError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Client certificates for a TCP engine behind TLS, as the docker CLI finds them
/// in `DOCKER_CERT_PATH`.
public struct DockerTLSFiles: Sendable, Equatable {
    public var caPath: String
    public var certificatePath: String
    public var keyPath: String
    /// Verify the engine's certificate against `caPath` (and its host name).
    public var verify: Bool

    public init(caPath: String, certificatePath: String, keyPath: String, verify: Bool = true) {
        self.caPath = caPath
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.verify = verify
    }

    /// `ca.pem`, `cert.pem` and `key.pem` inside `directory`.
    public init(directory: String, verify: Bool = true) {
        let base = directory.hasSuffix("/") ? directory : directory + "/"
        self.init(caPath: base + "ca.pem", certificatePath: base + "cert.pem", keyPath: base + "key.pem", verify: verify)
    }
}

extension DockerClient {
    public struct Configuration: Sendable {
        public var endpoint: DockerEndpoint
        /// TLS for a `.tcp` endpoint; ignored for unix sockets.
        public var tls: DockerTLSFiles?
        public var connectTimeout: TimeAmount
        /// The deadline of an ordinary request. Calls that wait on the engine
        /// (stop, wait, events, follow logs) extend or lift it.
        public var requestTimeout: TimeAmount
        /// Speak this API version instead of asking `GET /version` (saves one request).
        public var apiVersion: APIVersion?
        /// Requests in flight at once; more wait their turn in the client. Below the
        /// engine's and the connection pool's limits, above what a step graph needs.
        public var maximumConcurrentRequests: Int = 32
        /// Extra `ssh` arguments for an `ssh://` endpoint (`RECONCILE_SSH_OPTS`, split on
        /// spaces), e.g. `-i key -o UserKnownHostsFile=…`; `~/.ssh/config` applies as usual.
        public var sshOptions: [String] = []

        public init(
            endpoint: DockerEndpoint = .defaultUnix,
            tls: DockerTLSFiles? = nil,
            connectTimeout: TimeAmount = .seconds(5),
            requestTimeout: TimeAmount = .seconds(60),
            apiVersion: APIVersion? = nil
        ) {
            self.endpoint = endpoint
            self.tls = tls
            self.connectTimeout = connectTimeout
            self.requestTimeout = requestTimeout
            self.apiVersion = apiVersion
        }

        /// The configuration the docker CLI would use, in its order: `host` (from `--host`),
        /// else the docker context `context` (from `--context`), else `DOCKER_HOST`, else the
        /// context `DOCKER_CONTEXT` names, else the CLI's current context (`docker context
        /// use`), else `unix:///var/run/docker.sock`. A host given directly uses TLS when
        /// `DOCKER_TLS_VERIFY` is non-empty, with `ca.pem`, `cert.pem` and `key.pem` from
        /// `DOCKER_CERT_PATH` (default `~/.docker`); a context brings its own TLS material.
        /// `DOCKER_API_VERSION` pins the API version.
        public static func fromEnvironment(
            host: String?,
            context: String? = nil,
            environment: [String: String] = ProcessInfo.processInfo.environment
        ) throws -> Configuration {
            let tlsVerify = !(environment["DOCKER_TLS_VERIFY"] ?? "").isEmpty
            func nonEmpty(_ value: String?) -> String? { value.flatMap { $0.isEmpty ? nil : $0 } }
            var configuration: Configuration
            let store = DockerContextStore(environment: environment)
            let named = nonEmpty(host) == nil
                ? (nonEmpty(context) ?? (nonEmpty(environment["DOCKER_HOST"]) == nil ? nonEmpty(environment["DOCKER_CONTEXT"]) ?? store.currentContext() : nil))
                : nil
            if let named, named != "default" {
                let found = try store.endpoint(of: named)
                configuration = Configuration(endpoint: try DockerEndpoint(parsing: found.host, tls: found.tls != nil))
                if case .tcp = configuration.endpoint { configuration.tls = found.tls }
            } else {
                let hostValue = [host, environment["DOCKER_HOST"]].compactMap { $0 }.first { !$0.isEmpty }
                let endpoint = try hostValue.map { try DockerEndpoint(parsing: $0, tls: tlsVerify) } ?? .defaultUnix
                configuration = Configuration(endpoint: endpoint)
                if tlsVerify, case .tcp = endpoint {
                    let certPath =
                        environment["DOCKER_CERT_PATH"].flatMap { $0.isEmpty ? nil : $0 }
                        ?? ((environment["HOME"] ?? NSHomeDirectory()) + "/.docker")
                    configuration.tls = DockerTLSFiles(directory: certPath, verify: true)
                }
            }
            if case .ssh = configuration.endpoint {
                configuration.sshOptions = (environment["RECONCILE_SSH_OPTS"] ?? "").split(separator: " ").map(String.init)
            }
            if let pinned = environment["DOCKER_API_VERSION"], !pinned.isEmpty {
                guard let version = APIVersion(pinned) else {
                    throw DockerConfigurationError("DOCKER_API_VERSION '\(pinned)' is not a version like 1.41")
                }
                configuration.apiVersion = version
            }
            return configuration
        }
    }
}
