import Foundation
import NIOCore

/// Where the engine listens.
public enum DockerEndpoint: Sendable, Equatable, CustomStringConvertible {
    /// A unix socket, such as `/var/run/docker.sock`.
    case unix(path: String)
    /// A TCP address; plain HTTP, or HTTPS when the configuration carries TLS.
    case tcp(host: String, port: Int)

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
        default:
            throw DockerConfigurationError(
                "cannot use Docker host '\(value)': the scheme '\(scheme)' is not supported; use unix:// or tcp://")
        }
    }

    public var description: String {
        switch self {
        case .unix(let path): return "unix://\(path)"
        case .tcp(let host, let port): return host.contains(":") ? "tcp://[\(host)]:\(port)" : "tcp://\(host):\(port)"
        }
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

        /// The configuration the docker CLI would use: `host` (from `--host`) if
        /// given, else `DOCKER_HOST`, else `unix:///var/run/docker.sock`. TLS is on
        /// when `DOCKER_TLS_VERIFY` is non-empty, with `ca.pem`, `cert.pem` and
        /// `key.pem` from `DOCKER_CERT_PATH` (default `~/.docker`).
        /// `DOCKER_API_VERSION` pins the API version.
        public static func fromEnvironment(
            host: String?,
            environment: [String: String] = ProcessInfo.processInfo.environment
        ) throws -> Configuration {
            let tlsVerify = !(environment["DOCKER_TLS_VERIFY"] ?? "").isEmpty
            let hostValue = [host, environment["DOCKER_HOST"]].compactMap { $0 }.first { !$0.isEmpty }
            let endpoint = try hostValue.map { try DockerEndpoint(parsing: $0, tls: tlsVerify) } ?? .defaultUnix
            var configuration = Configuration(endpoint: endpoint)
            if tlsVerify, case .tcp = endpoint {
                let certPath =
                    environment["DOCKER_CERT_PATH"].flatMap { $0.isEmpty ? nil : $0 }
                    ?? ((environment["HOME"] ?? NSHomeDirectory()) + "/.docker")
                configuration.tls = DockerTLSFiles(directory: certPath, verify: true)
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
