extension DockerClient {
    /// Lists secrets (names and labels; never the data).
    ///
    /// Maps to `GET /secrets`.
    public func listSecrets(filters: DockerFilters = [:]) async throws -> [SwarmFileObject] {
        try await get("/secrets", query: filters.isEmpty ? [] : [("filters", filters.jsonString())])
    }

    /// Creates a secret. A taken name throws `.status(409)`.
    ///
    /// Maps to `POST /secrets/create`.
    public func createSecret(_ spec: SwarmFileObjectSpec) async throws -> SwarmObjectCreateResponse {
        try await post("/secrets/create", body: spec)
    }

    /// Removes a secret; one in use by a service throws `.status(400)`.
    ///
    /// Maps to `DELETE /secrets/{id}`.
    public func removeSecret(_ id: String) async throws {
        try await delete("/secrets/\(Self.pathSegment(id))")
    }

    /// Lists configs.
    ///
    /// Maps to `GET /configs`.
    public func listConfigs(filters: DockerFilters = [:]) async throws -> [SwarmFileObject] {
        try await get("/configs", query: filters.isEmpty ? [] : [("filters", filters.jsonString())])
    }

    /// Creates a config.
    ///
    /// Maps to `POST /configs/create`.
    public func createConfig(_ spec: SwarmFileObjectSpec) async throws -> SwarmObjectCreateResponse {
        try await post("/configs/create", body: spec)
    }

    /// Removes a config.
    ///
    /// Maps to `DELETE /configs/{id}`.
    public func removeConfig(_ id: String) async throws {
        try await delete("/configs/\(Self.pathSegment(id))")
    }
}
