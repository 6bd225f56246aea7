extension DockerClient {
    /// Freezes a container's processes.
    ///
    /// Maps to `POST /containers/{id}/pause`.
    public func pauseContainer(_ id: String) async throws {
        try await post("/containers/\(Self.pathSegment(id))/pause")
    }

    /// Resumes a paused container.
    ///
    /// Maps to `POST /containers/{id}/unpause`.
    public func unpauseContainer(_ id: String) async throws {
        try await post("/containers/\(Self.pathSegment(id))/unpause")
    }
}
