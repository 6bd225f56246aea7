extension DockerClient {
    /// Lists volumes.
    ///
    /// Maps to `GET /volumes`.
    public func listVolumes(filters: DockerFilters = [:]) async throws -> [Volume] {
        let response: VolumeListResponse = try await get(
            "/volumes", query: filters.isEmpty ? [] : [("filters", filters.jsonString())])
        return response.volumes ?? []
    }

    /// Reads one volume.
    ///
    /// Maps to `GET /volumes/{name}`. A missing volume throws `.status(404)`.
    public func inspectVolume(_ name: String) async throws -> Volume {
        try await get("/volumes/\(Self.pathSegment(name))")
    }

    /// Creates a volume. The engine returns the existing volume when the name is
    /// taken by the same driver, so compare labels when that matters.
    ///
    /// Maps to `POST /volumes/create`.
    public func createVolume(_ request: VolumeCreateRequest) async throws -> Volume {
        try await post("/volumes/create", body: request)
    }

    /// Removes a volume. One in use by a container throws `.status(409)`.
    ///
    /// Maps to `DELETE /volumes/{name}`.
    public func removeVolume(_ name: String, force: Bool = false) async throws {
        try await delete("/volumes/\(Self.pathSegment(name))", query: force ? [("force", "1")] : [])
    }
}
