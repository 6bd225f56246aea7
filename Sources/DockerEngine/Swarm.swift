extension DockerClient {
    /// Reads the swarm this engine manages. An engine that is not a swarm manager throws
    /// `.status(503)` ("This node is not a swarm manager").
    ///
    /// Maps to `GET /swarm`.
    public func inspectSwarm() async throws -> SwarmInfo {
        try await get("/swarm")
    }

    /// Lists the swarm's nodes (managers only).
    ///
    /// Maps to `GET /nodes`.
    public func listNodes(filters: DockerFilters = [:]) async throws -> [SwarmNode] {
        try await get("/nodes", query: filters.isEmpty ? [] : [("filters", filters.jsonString())])
    }
}
