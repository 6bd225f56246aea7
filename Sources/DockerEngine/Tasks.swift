extension DockerClient {
    /// Lists tasks; `filters` takes `service`, `node`, `desired-state`, `label`, `name`, `id`.
    ///
    /// Maps to `GET /tasks`.
    public func listTasks(filters: DockerFilters = [:]) async throws -> [SwarmTask] {
        try await get("/tasks", query: filters.isEmpty ? [] : [("filters", filters.jsonString())])
    }
}
