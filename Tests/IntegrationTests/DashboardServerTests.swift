import DockerEngine
import Foundation
import ReconcileCore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The controller's HTTP server as a process on the private dockerd: where it listens, who it
/// answers, and that malformed requests do not bring it down.
@Suite("controller HTTP server", .tags(.engine), .serialized)
struct DashboardServerTests {
    static let stack = ControllerTests.sleeper.replacingOccurrences(of: "REPLICAS", with: "1")

    /// Local addresses of the sockets listening on `port` (IPv4 and IPv6), from /proc/net.
    static func listening(port: Int) -> [String] {
        var found: [String] = []
        let hexPort = String(format: "%04X", port)
        for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                guard fields.count > 3, fields[3] == "0A" else { continue }  // LISTEN
                let local = fields[1].split(separator: ":")
                if local.count == 2 && local[1] == hexPort { found.append(String(local[0])) }
            }
        }
        return found
    }

    /// Sends `bytes` on a fresh connection and returns what comes back within a second.
    static func raw(port: Int, _ bytes: [UInt8]) -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return "" }
        _ = bytes.withUnsafeBufferPointer { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(fd, &buffer, buffer.count, 0)
        return count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self) : ""
    }

    @Test("the controller listens on loopback unless told otherwise")
    func loopbackByDefault() async throws {
        try await ProjectFixture.run("dash-listen") { fixture in
            try fixture.write(Self.stack)
            let port = Int.random(in: 20000...60000)
            // `--listen :PORT` names no host: loopback.
            let controller = try ControllerProcess(fixture, arguments: ["--listen", ":\(port)"])
            defer { controller.terminate() }
            try await controller.waitRunning(fixture, service: "web", count: 1)
            let addresses = try await fixture.eventually(within: 10) { !Self.listening(port: port).isEmpty } ? Self.listening(port: port) : []
            #expect(!addresses.isEmpty, "nothing listens on \(port)\n\(controller.log())")
            // 127.0.0.1 in /proc/net/tcp's little-endian hex.
            #expect(addresses.allSatisfy { $0 == "0100007F" }, "listening on \(addresses)")
        }
    }

    @Test("a non-loopback --listen needs --token-file, and then answers 401 without the token")
    func tokenForOtherAddresses() async throws {
        try await ProjectFixture.run("dash-token") { fixture in
            try fixture.write(Self.stack)
            let port = Int.random(in: 20000...60000)
            let refused = try fixture.reconcile(["controller", "--listen", "0.0.0.0:\(port)"], environment: [:])
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("--token-file"), "\(refused.stderr)")
            #expect(try await fixture.containers().isEmpty, "a refused controller started something")

            let token = "t-" + UUID().uuidString
            let tokenPath = fixture.directory.appendingPathComponent("token").path
            try (token + "\n").write(toFile: tokenPath, atomically: true, encoding: .utf8)
            let controller = try ControllerProcess(fixture, arguments: ["--listen", "0.0.0.0:\(port)", "--token-file", tokenPath])
            defer { controller.terminate() }
            try await controller.waitRunning(fixture, service: "web", count: 1)
            func status(_ path: String, _ headers: [String] = []) throws -> String {
                let curl = Process()
                curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
                curl.arguments = ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5"] + headers.flatMap { ["-H", $0] }
                    + ["http://127.0.0.1:\(port)\(path)"]
                let out = Pipe()
                curl.standardOutput = out
                try curl.run()
                let data = out.fileHandleForReading.readDataToEndOfFile()
                curl.waitUntilExit()
                return String(decoding: data, as: UTF8.self)
            }
            #expect(try await fixture.eventually(within: 10) { (try? status("/healthz")) == "200" })
            for path in ["/", "/status", "/metrics", "/api/status", "/revisions"] {
                #expect(try status(path) == "401", "\(path)")
                #expect(try status(path, ["Authorization: Bearer not-the-token"]) == "401", "\(path)")
            }
            #expect(try await fixture.eventually(within: 10) { (try? status("/api/status", ["Authorization: Bearer \(token)"])) == "200" })
            #expect(try status("/", ["Authorization: Bearer \(token)"]) == "200")
            #expect(!controller.log().contains(token), "the token is in the log")
        }
    }

    @Test("malformed requests are answered or dropped, and never bring the controller down")
    func malformed() async throws {
        try await ProjectFixture.run("dash-malformed") { fixture in
            try fixture.write(Self.stack)
            let controller = try ControllerProcess(fixture)
            defer { controller.terminate() }
            try await controller.waitRunning(fixture, service: "web", count: 1)
            #expect(try await fixture.eventually(within: 10) { (try? controller.get("/status")) != nil })
            let junk: [[UInt8]] = [
                Array("GARBAGE\r\n\r\n".utf8),
                Array("GET / HTTP/9.9\r\n\r\n".utf8),
                Array("GET /revisions/99999999999999999999999999/diff/-1 HTTP/1.1\r\nHost: x\r\n\r\n".utf8),
                Array("GET /static/../../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n".utf8),
                Array("GET /revisions?page=-5&page=abc HTTP/1.1\r\nHost: x\r\n\r\n".utf8),
                Array("GET / HTTP/1.1\r\nHost: x\r\nX-Long: \(String(repeating: "a", count: 200_000))\r\n\r\n".utf8),
                Array("POST /api/status HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\nabc".utf8),
                Array("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".utf8),
                [0, 1, 2, 255, 254, 13, 10, 13, 10],
                Array("GET /\u{0}\u{7f} HTTP/1.1\r\n\r\n".utf8),
            ]
            for bytes in junk {
                let answer = Self.raw(port: controller.port, bytes)
                #expect(!answer.contains("passwd:") && !answer.contains("root:x:0"), "served a host file: \(answer.prefix(200))")
            }
            #expect(controller.process.isRunning, "controller died\n\(controller.log())")
            #expect((try? controller.get("/healthz")) == "ok\n")
            #expect((try? controller.get("/")).map { $0.contains("<h1>Overview</h1>") } == true)
            #expect(Self.raw(port: controller.port, Array("DELETE / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)).hasPrefix("HTTP/1.1 405"))
        }
    }
}
