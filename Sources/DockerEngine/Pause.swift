extension DockerClient {
    /// Resumes a paused container.
    ///
    /// Maps to `POST /containers/{id}/unpause`.
    public func unpauseContainer(_ id: String) async throws {
        try await post("/containers/\(Self.pathSegment(id))/unpause")
    }
}
