import NIOCore

extension DockerClient {
    /// Lists containers.
    ///
    /// Maps to `GET /containers/json`.
    /// - Parameters:
    ///   - all: include stopped containers (the engine's default lists only running ones).
    ///   - filters: for example `.label("com.example.project", "web")`.
    public func listContainers(all: Bool = true, filters: DockerFilters = [:]) async throws -> [ContainerSummary] {
        var query = [("all", all ? "1" : "0")]
        if !filters.isEmpty { query.append(("filters", filters.jsonString())) }
        return try await get("/containers/json", query: query)
    }

    /// Reads one container's full state and configuration by ID or name.
    ///
    /// Maps to `GET /containers/{id}/json`. A missing container throws `.status(404)`.
    public func inspectContainer(_ id: String) async throws -> ContainerInspect {
        try await get("/containers/\(Self.pathSegment(id))/json")
    }

    /// Creates a container; it is not started.
    ///
    /// Maps to `POST /containers/create?name=&platform=`. A name already in use throws `.status(409)`;
    /// a missing image throws `.status(404)`, as does an image that is not there for `platform`.
    public func createContainer(
        name: String?, _ request: ContainerCreateRequest, platform: String? = nil
    ) async throws -> ContainerCreateResponse {
        var query: [(String, String)] = []
        if let name { query.append(("name", name)) }
        if let platform { query.append(("platform", platform)) }
        return try await post("/containers/create", query: query, body: request)
    }

    /// Starts a container. Returns false when it was already running (the engine answers 304).
    ///
    /// Maps to `POST /containers/{id}/start`.
    @discardableResult
    public func startContainer(_ id: String) async throws -> Bool {
        try await post("/containers/\(Self.pathSegment(id))/start") != 304
    }

    /// Stops a container: its stop signal, then SIGKILL after `timeout` seconds
    /// (nil: the container's `StopTimeout`, else the engine's 10 s).
    /// Returns false when it was already stopped (304).
    ///
    /// Maps to `POST /containers/{id}/stop?t=`.
    @discardableResult
    public func stopContainer(_ id: String, timeout: Int? = nil) async throws -> Bool {
        var query: [(String, String)] = []
        if let timeout { query.append(("t", String(timeout))) }
        // The engine answers only once the container has stopped.
        let grace = TimeAmount.seconds(Int64(timeout ?? 10))
        let status = try await post(
            "/containers/\(Self.pathSegment(id))/stop", query: query, timeout: configuration.requestTimeout + grace)
        return status != 304
    }

    /// Sends a signal (default SIGKILL). A container that is not running throws `.status(409)`.
    ///
    /// Maps to `POST /containers/{id}/kill?signal=`.
    public func killContainer(_ id: String, signal: String? = nil) async throws {
        var query: [(String, String)] = []
        if let signal { query.append(("signal", signal)) }
        try await post("/containers/\(Self.pathSegment(id))/kill", query: query)
    }

    /// Removes a container. Its anonymous volumes are kept unless `removeVolumes`
    /// is true: reconcile never removes volumes implicitly.
    ///
    /// Maps to `DELETE /containers/{id}?force=&v=`.
    public func removeContainer(_ id: String, force: Bool = false, removeVolumes: Bool = false) async throws {
        try await delete(
            "/containers/\(Self.pathSegment(id))",
            query: [("force", force ? "1" : "0"), ("v", removeVolumes ? "1" : "0")])
    }

    /// Renames a container. A name in use throws `.status(409)`.
    ///
    /// Maps to `POST /containers/{id}/rename?name=`.
    public func renameContainer(_ id: String, to name: String) async throws {
        try await post("/containers/\(Self.pathSegment(id))/rename", query: [("name", name)])
    }

    /// Changes resources or the restart policy of a container in place.
    ///
    /// Maps to `POST /containers/{id}/update`.
    @discardableResult
    public func updateContainer(_ id: String, _ request: ContainerUpdateRequest) async throws -> [String] {
        let response: ContainerUpdateResponse = try await post("/containers/\(Self.pathSegment(id))/update", body: request)
        return response.warnings ?? []
    }

    /// Blocks until the container meets `condition`; returns its exit code.
    /// `timeout` nil waits as long as it takes.
    ///
    /// Maps to `POST /containers/{id}/wait?condition=`.
    public func waitContainer(
        _ id: String, condition: WaitCondition = .notRunning, timeout: TimeAmount? = nil
    ) async throws -> ContainerWaitResponse {
        let path = "/containers/\(Self.pathSegment(id))/wait"
        let response = try await send(
            .POST, path, query: [("condition", condition.rawValue)], deadline: timeout.map { .after($0) } ?? .none)
        return try decode(response, as: ContainerWaitResponse.self, method: .POST, path: path)
    }

    /// Reads a container's logs so far (`tail` last lines per stream, or all).
    ///
    /// Maps to `GET /containers/{id}/logs?stdout=1&stderr=1&tail=`. Without a TTY
    /// the engine multiplexes stdout and stderr behind 8-byte headers, which are
    /// decoded into chunks; with a TTY the output is one raw stdout stream.
    /// - Parameter tty: whether the container has a TTY; nil asks the engine
    ///   (one more request) unless the response's content type says so.
    public func containerLogs(
        _ id: String, tail: Int? = nil, stdout: Bool = true, stderr: Bool = true, timestamps: Bool = false,
        tty: Bool? = nil
    ) async throws -> [LogChunk] {
        let response = try await send(
            .GET, "/containers/\(Self.pathSegment(id))/logs",
            query: [
                ("stdout", stdout ? "1" : "0"), ("stderr", stderr ? "1" : "0"),
                ("timestamps", timestamps ? "1" : "0"), ("tail", tail.map(String.init) ?? "all"),
            ])
        let multiplexed: Bool
        switch response.headers.first(name: "Content-Type") {
        case "application/vnd.docker.multiplexed-stream": multiplexed = true
        case "application/vnd.docker.raw-stream": multiplexed = false
        default:
            if let tty { multiplexed = !tty } else { multiplexed = !(try await inspectContainer(id).config?.tty ?? false) }
        }
        if multiplexed { return LogDemultiplexer.demultiplex(response.bytes) }
        return response.bytes.isEmpty ? [] : [LogChunk(stream: .stdout, bytes: response.bytes)]
    }
}
