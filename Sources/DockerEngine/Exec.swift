import NIOCore

extension DockerClient {
    /// Prepares a command to run in a running container; returns the exec instance's id.
    ///
    /// Maps to `POST /containers/{id}/exec`.
    public func createExec(_ container: String, _ request: ExecCreateRequest) async throws -> String {
        let response: ExecCreateResponse = try await post("/containers/\(Self.pathSegment(container))/exec", body: request)
        return response.id
    }

    /// Runs an exec instance attached and returns its output (stdout and stderr, as the
    /// engine multiplexes them) once the command has ended.
    ///
    /// Maps to `POST /exec/{id}/start` with `Detach: false`.
    public func startExec(_ id: String, timeout: TimeAmount? = nil) async throws -> [UInt8] {
        let body = try encode(ExecStartRequest(detach: false, tty: false))
        return try await send(.POST, "/exec/\(Self.pathSegment(id))/start", body: body, timeout: timeout).bytes
    }

    /// An exec instance's state and exit code.
    ///
    /// Maps to `GET /exec/{id}/json`.
    public func inspectExec(_ id: String) async throws -> ExecInspect {
        try await get("/exec/\(Self.pathSegment(id))/json")
    }
}

/// The body of `POST /containers/{id}/exec`.
public struct ExecCreateRequest: Encodable, Sendable, Equatable {
    public var cmd: [String]
    public var user: String?
    public var privileged: Bool?
    public var workingDir: String?
    /// `KEY=VALUE`.
    public var env: [String]?
    public var attachStdout = true
    public var attachStderr = true

    public init(cmd: [String], user: String? = nil, privileged: Bool? = nil, workingDir: String? = nil, env: [String]? = nil) {
        self.cmd = cmd
        self.user = user
        self.privileged = privileged
        self.workingDir = workingDir
        self.env = env
    }

    enum CodingKeys: String, CodingKey {
        case cmd = "Cmd", user = "User", privileged = "Privileged", workingDir = "WorkingDir", env = "Env"
        case attachStdout = "AttachStdout", attachStderr = "AttachStderr"
    }
}

struct ExecCreateResponse: Decodable {
    var id: String
    enum CodingKeys: String, CodingKey { case id = "Id" }
}

struct ExecStartRequest: Encodable {
    var detach: Bool
    var tty: Bool
    enum CodingKeys: String, CodingKey { case detach = "Detach", tty = "Tty" }
}

/// The answer to `GET /exec/{id}/json`.
public struct ExecInspect: Decodable, Sendable, Equatable {
    public var running: Bool
    /// Nil while running.
    public var exitCode: Int?

    enum CodingKeys: String, CodingKey { case running = "Running", exitCode = "ExitCode" }
}
