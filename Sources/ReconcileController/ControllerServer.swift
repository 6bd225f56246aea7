import Foundation
import Hummingbird
import Logging
import ReconcileCore

/// Where the endpoints listen: `127.0.0.1:9464` unless `--listen` says otherwise.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String = "127.0.0.1", port: Int = 9464) {
        self.host = host
        self.port = port
    }

    /// `HOST:PORT`, `[IPV6]:PORT` or `:PORT` (loopback).
    public init?(parsing text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.host = host.isEmpty ? "127.0.0.1" : host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Only this machine can connect: 127.0.0.0/8, ::1 or localhost.
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

/// Turns the project, an observation and the controller's own state into the `/status`
/// body; the command supplies it so that `/status` is exactly `reconcile status --output json`.
public typealias StatusRenderer = @Sendable (Project, ObservedState, ControllerStatus) throws -> String

/// The controller's HTTP endpoints: `/healthz`, `/readyz`, `/metrics`, `/status`, and with
/// `dashboard` the pages, `/api/…` and the live-update stream (`Dashboard`).
public func buildControllerApplication(
    controller: Controller, address: ListenAddress, status render: @escaping StatusRenderer, logger: Logger,
    dashboard: DashboardJSON? = nil, access: DashboardAccess = DashboardAccess()
) throws -> some ApplicationProtocol {
    let router = Router(options: .autoGenerateHeadEndpoints)
    router.add(middleware: GuardMiddleware(access: access))
    router.get("/healthz") { _, _ in
        Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
    }
    router.get("/readyz") { _, _ in
        let status = controller.status()
        var reasons: [String] = []
        if !status.eventStreamConnected { reasons.append("the engine's event stream is not connected") }
        if !status.lastPassSucceeded { reasons.append("the last pass did not succeed" + (status.lastError.map { ": \($0)" } ?? "")) }
        let text = reasons.isEmpty ? "ready\n" : "not ready: " + reasons.joined(separator: "; ") + "\n"
        return Response(
            status: reasons.isEmpty ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }
    router.get("/metrics") { _, _ in
        Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: controller.metrics.render())))
    }
    // The controller's last observation: a request costs no engine call.
    router.get("/status") { _, _ in
        do {
            guard let observation = controller.journal.lastObservation else {
                return Response(
                    status: .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8"],
                    body: .init(byteBuffer: ByteBuffer(string: "no observation yet: the controller's first pass has not observed the engine\n")))
            }
            let body = try render(observation.project, observation.observed, controller.status())
            return Response(
                status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body + "\n")))
        } catch {
            return Response(
                status: .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: "cannot observe the engine: \(error)\n")))
        }
    }
    if let dashboard { try Dashboard(controller: controller, json: dashboard, access: access).register(on: router) }
    return Application(
        router: router, configuration: .init(address: .hostname(address.host, port: address.port), serverName: "reconcile-controller"),
        logger: logger)
}
