extension DockerClient {
    /// Lists services; `filters` takes `label`, `name`, `id`, `mode`.
    ///
    /// Maps to `GET /services`.
    public func listServices(filters: DockerFilters = [:]) async throws -> [SwarmService] {
        try await get("/services", query: filters.isEmpty ? [] : [("filters", filters.jsonString())])
    }

    /// Reads one service by id or name. A missing service throws `.status(404)`.
    ///
    /// Maps to `GET /services/{id}`.
    public func inspectService(_ id: String) async throws -> SwarmService {
        try await get("/services/\(Self.pathSegment(id))")
    }

    /// Creates a service. A taken name throws `.status(409)`.
    ///
    /// Maps to `POST /services/create`.
    public func createService(_ spec: ServiceSpec) async throws -> ServiceCreateResponse {
        try await post("/services/create", body: spec)
    }

    /// Replaces a service's spec. `version` is the `Version.Index` the spec was read at: an
    /// update made since throws `.status(500)` "update out of sequence" (see
    /// ``DockerError/isOutOfSequence``). `rollback` asks the engine to go back to the
    /// previous spec instead (`spec` is then the current one).
    ///
    /// Maps to `POST /services/{id}/update?version=N`.
    public func updateService(_ id: String, version: UInt64, spec: ServiceSpec, rollback: Bool = false) async throws -> ServiceUpdateResponse {
        var query = [("version", String(version))]
        if rollback { query.append(("rollback", "previous")) }
        return try await post("/services/\(Self.pathSegment(id))/update", query: query, body: spec)
    }

    /// Removes a service; its tasks are shut down by the swarm.
    ///
    /// Maps to `DELETE /services/{id}`.
    public func removeService(_ id: String) async throws {
        try await delete("/services/\(Self.pathSegment(id))")
    }
}

extension DockerError {
    /// The engine refused an update because the service changed since it was read
    /// (swarmkit's `errSequence`, which the API reports as a 500 with this text: there is
    /// no status code of its own, so this one check reads the message).
    public var isOutOfSequence: Bool {
        guard case .status(_, let message, _, _) = self else { return false }
        return message.contains("update out of sequence")
    }
}
