import Foundation
import NIOCore
import Testing

@testable import DockerEngine
import Crypto

/// SHA-256 as hex, as the docker CLI names a context's folders.
enum SHA256Digest {
    static func hex(_ text: String) -> String { SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined() }
}

@Suite("Docker endpoint and configuration")
struct EndpointTests {
    @Test("unix:// and tcp:// hosts parse, with docker's default ports")
    func parsesHosts() throws {
        #expect(try DockerEndpoint(parsing: "unix:///var/run/docker.sock") == .unix(path: "/var/run/docker.sock"))
        #expect(try DockerEndpoint(parsing: "unix:///tmp/a b/docker.sock") == .unix(path: "/tmp/a b/docker.sock"))
        #expect(try DockerEndpoint(parsing: "tcp://10.0.0.5:2375") == .tcp(host: "10.0.0.5", port: 2375))
        #expect(try DockerEndpoint(parsing: "tcp://docker.example") == .tcp(host: "docker.example", port: 2375))
        #expect(try DockerEndpoint(parsing: "tcp://docker.example", tls: true) == .tcp(host: "docker.example", port: 2376))
        #expect(try DockerEndpoint(parsing: "tcp://[::1]:2376/") == .tcp(host: "::1", port: 2376))
        #expect(DockerEndpoint.tcp(host: "::1", port: 2376).description == "tcp://[::1]:2376")
        #expect(DockerEndpoint.defaultUnix.description == "unix:///var/run/docker.sock")
    }

    @Test("unsupported or malformed hosts are refused with a sentence naming the value")
    func refusesBadHosts() {
        for bad in ["npipe:////./pipe/docker_engine", "/var/run/docker.sock", "unix://relative.sock", "tcp://host:http", "tcp://:2375", "tcp://host:99999"] {
            #expect(throws: DockerConfigurationError.self) { try DockerEndpoint(parsing: bad) }
        }
        let error = #expect(throws: DockerConfigurationError.self) { try DockerEndpoint(parsing: "npipe:////./pipe/docker_engine") }
        #expect(error?.description.contains("'npipe'") == true && error?.description.contains("ssh://") == true)
    }

    @Test("ssh:// hosts parse: user, port, IPv6 and an optional remote socket path")
    func parsesSSH() throws {
        #expect(try DockerEndpoint(parsing: "ssh://deploy@gpu-1") == .ssh(SSHDestination(user: "deploy", host: "gpu-1")))
        #expect(try DockerEndpoint(parsing: "ssh://gpu-1:2222") == .ssh(SSHDestination(host: "gpu-1", port: 2222)))
        #expect(try DockerEndpoint(parsing: "ssh://me@[::1]:22/run/user/1000/docker.sock")
            == .ssh(SSHDestination(user: "me", host: "::1", port: 22, socket: "/run/user/1000/docker.sock")))
        #expect(try DockerEndpoint(parsing: "ssh://me@[::1]:22/run/user/1000/docker.sock").description == "ssh://me@[::1]:22/run/user/1000/docker.sock")
        #expect(try DockerEndpoint(parsing: "ssh://gpu-1/").description == "ssh://gpu-1")
        for bad in ["ssh://", "ssh://me@", "ssh://host:notaport", "ssh://[::1"] {
            #expect(throws: DockerConfigurationError.self, "\(bad)") { try DockerEndpoint(parsing: bad) }
        }
    }

    @Test("docker contexts: --context, then DOCKER_HOST, then DOCKER_CONTEXT, then the CLI's current context; TLS from the context")
    func contexts() throws {
        let dir = NSTemporaryDirectory() + "reconcile-contexts-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func add(_ name: String, host: String, tls: Bool = false) throws {
            let digest = SHA256Digest.hex(name)
            try FileManager.default.createDirectory(atPath: "\(dir)/contexts/meta/\(digest)", withIntermediateDirectories: true)
            try #"{"Name":"\#(name)","Endpoints":{"docker":{"Host":"\#(host)","SkipTLSVerify":false}}}"#
                .write(toFile: "\(dir)/contexts/meta/\(digest)/meta.json", atomically: true, encoding: .utf8)
            if tls {
                try FileManager.default.createDirectory(atPath: "\(dir)/contexts/tls/\(digest)/docker", withIntermediateDirectories: true)
                for file in ["ca.pem", "cert.pem", "key.pem"] {
                    FileManager.default.createFile(atPath: "\(dir)/contexts/tls/\(digest)/docker/\(file)", contents: Data())
                }
            }
        }
        try add("lab", host: "unix:///run/lab.sock")
        try add("prod", host: "tcp://prod:2376", tls: true)
        try add("far", host: "ssh://deploy@gpu-1")
        let env = ["DOCKER_CONFIG": dir]
        typealias C = DockerClient.Configuration
        #expect(try C.fromEnvironment(host: nil, context: "lab", environment: env).endpoint == .unix(path: "/run/lab.sock"))
        let prod = try C.fromEnvironment(host: nil, context: "prod", environment: env)
        #expect(prod.endpoint == .tcp(host: "prod", port: 2376) && prod.tls?.certificatePath == "\(dir)/contexts/tls/\(SHA256Digest.hex("prod"))/docker/cert.pem")
        #expect(try C.fromEnvironment(host: "unix:///x.sock", context: "lab", environment: env).endpoint == .unix(path: "/x.sock"), "--host wins")
        #expect(try C.fromEnvironment(host: nil, environment: env.merging(["DOCKER_CONTEXT": "far"]) { $1 }).endpoint
            == .ssh(SSHDestination(user: "deploy", host: "gpu-1")))
        #expect(try C.fromEnvironment(host: nil, environment: env.merging(["DOCKER_CONTEXT": "far", "DOCKER_HOST": "unix:///y.sock"]) { $1 }).endpoint
            == .unix(path: "/y.sock"), "DOCKER_HOST wins over DOCKER_CONTEXT, as in the docker CLI")
        try #"{"currentContext": "lab"}"#.write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        #expect(try C.fromEnvironment(host: nil, environment: env).endpoint == .unix(path: "/run/lab.sock"))
        #expect(try C.fromEnvironment(host: nil, context: "default", environment: env).endpoint == .defaultUnix)
        #expect(throws: DockerConfigurationError.self) { try C.fromEnvironment(host: nil, context: "nowhere", environment: env) }
    }

    @Test("--host wins over DOCKER_HOST, which wins over the default socket")
    func hostPrecedence() throws {
        let env = ["DOCKER_HOST": "tcp://127.0.0.1:2375"]
        #expect(try DockerClient.Configuration.fromEnvironment(host: "unix:///x.sock", environment: env).endpoint == .unix(path: "/x.sock"))
        #expect(try DockerClient.Configuration.fromEnvironment(host: nil, environment: env).endpoint == .tcp(host: "127.0.0.1", port: 2375))
        #expect(try DockerClient.Configuration.fromEnvironment(host: nil, environment: [:]).endpoint == .defaultUnix)
        #expect(try DockerClient.Configuration.fromEnvironment(host: "", environment: [:]).endpoint == .defaultUnix)
    }

    @Test("DOCKER_TLS_VERIFY turns on TLS with ca.pem, cert.pem and key.pem from DOCKER_CERT_PATH")
    func tlsFromEnvironment() throws {
        let env = ["DOCKER_HOST": "tcp://docker.example", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": "/certs"]
        let configuration = try DockerClient.Configuration.fromEnvironment(host: nil, environment: env)
        #expect(configuration.endpoint == .tcp(host: "docker.example", port: 2376))
        #expect(configuration.tls == DockerTLSFiles(caPath: "/certs/ca.pem", certificatePath: "/certs/cert.pem", keyPath: "/certs/key.pem", verify: true))

        let home = try DockerClient.Configuration.fromEnvironment(
            host: nil, environment: ["DOCKER_HOST": "tcp://h:1", "DOCKER_TLS_VERIFY": "yes", "HOME": "/home/me"])
        #expect(home.tls?.caPath == "/home/me/.docker/ca.pem")

        let plain = try DockerClient.Configuration.fromEnvironment(host: nil, environment: ["DOCKER_HOST": "tcp://h:1", "DOCKER_CERT_PATH": "/certs"])
        #expect(plain.tls == nil)
    }

    @Test("missing TLS files are a configuration error naming DOCKER_CERT_PATH")
    func missingTLSFiles() {
        let configuration = DockerClient.Configuration(
            endpoint: .tcp(host: "127.0.0.1", port: 2376), tls: DockerTLSFiles(directory: "/nonexistent-reconcile-certs"))
        let error = #expect(throws: DockerConfigurationError.self) { _ = try DockerClient(configuration: configuration) }
        #expect(error?.description.contains("DOCKER_CERT_PATH") == true)
    }

    @Test("DOCKER_API_VERSION pins the API version")
    func pinnedVersion() throws {
        let configuration = try DockerClient.Configuration.fromEnvironment(host: nil, environment: ["DOCKER_API_VERSION": "1.43"])
        #expect(configuration.apiVersion == APIVersion(1, 43))
        #expect(throws: DockerConfigurationError.self) {
            try DockerClient.Configuration.fromEnvironment(host: nil, environment: ["DOCKER_API_VERSION": "latest"])
        }
    }
}

@Suite("API version negotiation")
struct APIVersionTests {
    @Test("versions parse and order numerically")
    func ordering() {
        #expect(APIVersion("1.41") == APIVersion(1, 41))
        #expect(APIVersion("1.9")! < APIVersion("1.10")!)
        #expect(APIVersion("1") == nil)
        #expect(APIVersion("1.x") == nil)
        #expect(APIVersion(1, 41).description == "1.41")
    }

    @Test("the client speaks min(engine, 1.47) and refuses engines older than 1.41")
    func picking() {
        #expect(APIVersion.negotiate(server: APIVersion(1, 41)) == APIVersion(1, 41))
        #expect(APIVersion.negotiate(server: APIVersion(1, 45)) == APIVersion(1, 45))
        #expect(APIVersion.negotiate(server: APIVersion(1, 47)) == APIVersion(1, 47))
        #expect(APIVersion.negotiate(server: APIVersion(1, 51)) == APIVersion.maximumSupported)
        #expect(APIVersion.negotiate(server: APIVersion(1, 40)) == nil)
        #expect(APIVersion.negotiate(server: APIVersion(2, 0)) == APIVersion.maximumSupported)
    }
}

@Suite("Request encoding")
struct EncodingTests {
    @Test("filters encode as the engine's JSON map, keys sorted, empty names dropped")
    func filters() {
        var filters: DockerFilters = ["label": ["b=2", "a=1"], "status": ["running"]]
        filters.add("name", "web")
        filters.add("label", "a=1")
        #expect(filters.jsonString() == #"{"label":{"a=1":true,"b=2":true},"name":{"web":true},"status":{"running":true}}"#)
        #expect(DockerFilters.label("com.example/x", "y").jsonString() == #"{"label":{"com.example/x=y":true}}"#)
        #expect(DockerFilters(["label": []]).isEmpty)
        #expect(DockerFilters(["label": []]).jsonString() == "{}")
    }

    @Test("query values are percent-encoded so filters JSON survives the URL")
    func percentEncoding() {
        #expect(DockerClient.percentEncode(#"{"label":{"a=b":true}}"#) == "%7B%22label%22%3A%7B%22a%3Db%22%3Atrue%7D%7D")
        #expect(DockerClient.percentEncode("a b&c") == "a%20b%26c")
        #expect(DockerClient.pathSegment("reconcile-test/busybox:1", keepingSlashes: true) == "reconcile-test/busybox:1")
        #expect(DockerClient.pathSegment("a/b") == "a%2Fb")
    }

    @Test("a create request puts HostConfig and NetworkingConfig beside the container config, in engine key names")
    func createBody() throws {
        let request = ContainerCreateRequest(
            config: ContainerConfig(
                exposedPorts: ["80/tcp": EmptyObject()], env: ["A=1"], cmd: ["httpd"],
                healthcheck: HealthConfig(test: ["CMD", "true"], interval: .milliseconds(1500)),
                image: "img", labels: ["k": "v"], stopTimeout: 5),
            hostConfig: HostConfig(
                portBindings: ["80/tcp": [PortBinding(hostIp: "127.0.0.1", hostPort: "8080")]],
                restartPolicy: RestartPolicy(name: "unless-stopped"), initProcess: true, nanoCpus: 500_000_000,
                pidsLimit: 100,
                deviceRequests: [DeviceRequest(driver: "nvidia", deviceIDs: ["0"], capabilities: [["gpu"]])]),
            networkingConfig: NetworkingConfig(endpointsConfig: [
                "net": EndpointSettings(ipamConfig: EndpointIPAMConfig(ipv4Address: "10.1.0.5"), aliases: ["web"])
            ]))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json = String(decoding: try encoder.encode(request), as: UTF8.self)
        #expect(
            json
                == #"{"Cmd":["httpd"],"Env":["A=1"],"ExposedPorts":{"80/tcp":{}},"Healthcheck":{"Interval":1500000000,"Test":["CMD","true"]},"HostConfig":{"DeviceRequests":[{"Capabilities":[["gpu"]],"DeviceIDs":["0"],"Driver":"nvidia"}],"Init":true,"NanoCpus":500000000,"PidsLimit":100,"PortBindings":{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"8080"}]},"RestartPolicy":{"Name":"unless-stopped"}},"Image":"img","Labels":{"k":"v"},"NetworkingConfig":{"EndpointsConfig":{"net":{"Aliases":["web"],"IPAMConfig":{"IPv4Address":"10.1.0.5"}}}},"StopTimeout":5}"#)
    }

    @Test("event timestamps are seconds.nanoseconds")
    func unixTime() {
        #expect(DockerClient.unixTime(Date(timeIntervalSince1970: 1_700_000_000.25)) == "1700000000.250000000")
    }
}

@Suite("Log demultiplexing")
struct LogDemuxTests {
    static func frame(_ stream: UInt8, _ text: String) -> [UInt8] {
        let payload = Array(text.utf8)
        let size = UInt32(payload.count)
        return [stream, 0, 0, 0, UInt8(size >> 24), UInt8((size >> 16) & 0xff), UInt8((size >> 8) & 0xff), UInt8(size & 0xff)] + payload
    }

    @Test("8-byte headers split the body into stdout and stderr chunks")
    func wholeBody() {
        let body = Self.frame(1, "out\n") + Self.frame(2, "err\n") + Self.frame(1, "")
        #expect(
            LogDemultiplexer.demultiplex(body) == [
                LogChunk(stream: .stdout, bytes: Array("out\n".utf8)),
                LogChunk(stream: .stderr, bytes: Array("err\n".utf8)),
                LogChunk(stream: .stdout, bytes: []),
            ])
    }

    @Test("frames split across reads are reassembled, byte by byte if need be")
    func splitFrames() {
        let long = String(repeating: "x", count: 70_000)
        let body = Self.frame(2, "hello") + Self.frame(1, long)
        var demux = LogDemultiplexer()
        var chunks: [LogChunk] = []
        for byte in body.prefix(20) { chunks += demux.feed([byte]) }
        chunks += demux.feed(body.dropFirst(20))
        #expect(chunks.map(\.stream) == [.stderr, .stdout])
        #expect(chunks.map(\.text) == ["hello", long])
        #expect(demux.pendingByteCount == 0)

        var partial = LogDemultiplexer()
        #expect(partial.feed(Self.frame(1, "abc").dropLast()) == [])
        #expect(partial.pendingByteCount == 10)
    }

    @Test("the event stream is split on newlines across reads")
    func lineSplitting() {
        var splitter = LineSplitter()
        #expect(splitter.feed(Array("{\"a\":1}\n{\"b\"".utf8)).map { String(decoding: $0, as: UTF8.self) } == [#"{"a":1}"#])
        #expect(splitter.feed(Array(":2}\n\n".utf8)).map { String(decoding: $0, as: UTF8.self) } == [#"{"b":2}"#])
    }
}

@Suite("Errors")
struct ErrorTests {
    @Test("a socket path that does not exist gives one clear sentence")
    func missingSocket() async throws {
        let path = "/tmp/reconcile-no-such-dir-\(UUID().uuidString)/docker.sock"
        let client = try DockerClient(configuration: .init(endpoint: .unix(path: path)))
        let error = await #expect(throws: DockerError.self) { try await client.listContainers() }
        #expect(
            error?.description
                == "cannot reach the Docker engine at unix://\(path): no such socket; is dockerd running? set --host or DOCKER_HOST")
        #expect(client.requestCount == 0, "nothing was sent")
        try await client.shutdown()
    }

    @Test("a socket nobody listens on says the connection was refused")
    func refusedSocket() async throws {
        let path = "/tmp/reconcile-stale-\(UUID().uuidString.prefix(8)).sock"
        try makeStaleSocket(at: path)
        defer { unlink(path) }
        let client = try DockerClient(configuration: .init(endpoint: .unix(path: path), connectTimeout: .seconds(1)))
        let error = await #expect(throws: DockerError.self) { try await client.ping() }
        #expect(
            error?.description
                == "cannot reach the Docker engine at unix://\(path): connection refused; is dockerd running? set --host or DOCKER_HOST")
        try await client.shutdown()
    }

    /// A socket file left behind by a process that no longer listens on it.
    private func makeStaleSocket(at path: String) throws {
        #if os(Linux)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        #expect(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8.prefix(raw.count - 1)) + [0])
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0)
    }

    @Test("status helpers decide by code, and the description keeps the engine's message")
    func statusHelpers() {
        let notFound = DockerError.status(code: 404, message: "No such container: x", method: "GET", path: "/v1.41/containers/x/json")
        #expect(notFound.isNotFound && !notFound.isConflict)
        #expect(notFound.description == "the Docker engine refused GET /v1.41/containers/x/json (HTTP 404): No such container: x")
        #expect(DockerError.status(code: 409, message: "", method: "POST", path: "/").isConflict)
        #expect(DockerError.transport(message: "m", underlying: nil).statusCode == nil)
        let erased: any Error = notFound
        #expect(erased.isDockerNotFound && !erased.isDockerConflict)
    }

    @Test("the engine's JSON message is kept, and a body that is not JSON is kept as text")
    func engineMessage() {
        #expect(DockerClient.engineMessage(ByteBuffer(string: #"{"message":"Conflict. The name is in use"}"#), status: .conflict) == "Conflict. The name is in use")
        #expect(DockerClient.engineMessage(ByteBuffer(string: "page not found\n"), status: .notFound) == "page not found")
        #expect(DockerClient.engineMessage(nil, status: .notFound) == "Not Found")
    }
}
