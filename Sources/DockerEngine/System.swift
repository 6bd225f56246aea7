extension DockerClient {
    /// Checks that the engine answers. Does not negotiate a version.
    ///
    /// Maps to `GET /_ping`.
    public func ping() async throws {
        _ = try await send(.GET, "/_ping", versioned: false)
    }

    /// The engine's version and API version.
    ///
    /// Maps to `GET /version` (unversioned, so it also works before negotiation).
    public func version() async throws -> SystemVersion {
        try decode(await send(.GET, "/version", versioned: false), as: SystemVersion.self, method: .GET, path: "/version")
    }

    /// System-wide information: runtimes, cgroup driver, resources.
    ///
    /// Maps to `GET /info`.
    public func info() async throws -> SystemInfo {
        try await get("/info")
    }
}
