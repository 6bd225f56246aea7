import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The image's HEALTHCHECK: a GET of /healthz over a plain socket, so the runtime
/// image needs no curl or wget.
struct HealthcheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "healthcheck", abstract: "Exit 0 if GET /healthz on this host answers 200.")

    @Option(help: "Port of the local server. Default: $RECONCILE_WORKLOAD_PORT, else 8080.")
    var port: Int?

    @Option(help: "Seconds to wait for the answer.")
    var timeout = 3

    func run() async throws {
        guard let port = UInt16(exactly: resolvedPort(port)) else { throw ValidationError("--port must be 0…65535") }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw fail(Unhealthy(description: "socket() failed"), code: 1) }
        defer { close(fd) }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(port.bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw fail(Unhealthy(description: "nothing listens on 127.0.0.1:\(port)"), code: 1) }
        let request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = recv(fd, &buffer, buffer.count, 0)
        let head = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : ""
        guard head.hasPrefix("HTTP/1.1 200") else {
            throw fail(Unhealthy(description: "/healthz answered: \(head.split(separator: "\r\n").first ?? "nothing")"), code: 1)
        }
    }
}

/// Why the health check failed, printed before exiting 1.
struct Unhealthy: Error, CustomStringConvertible {
    var description: String
}
