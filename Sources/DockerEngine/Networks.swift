extension DockerClient {
    /// Lists networks.
    ///
    /// Maps to `GET /networks`. Lists leave `containers` empty; inspect fills it.
    public func listNetworks(filters: DockerFilters = [:]) async throws -> [Network] {
        try await get("/networks", query: filters.isEmpty ? [] : [("filters", filters.jsonString())])
    }

    /// Reads one network by ID or name.
    ///
    /// Maps to `GET /networks/{id}`. A missing network throws `.status(404)`.
    public func inspectNetwork(_ id: String) async throws -> Network {
        try await get("/networks/\(Self.pathSegment(id))")
    }

    /// Creates a network; `checkDuplicate` (default true) makes a taken name a `.status(409)`.
    ///
    /// Maps to `POST /networks/create`.
    public func createNetwork(_ request: NetworkCreateRequest) async throws -> NetworkCreateResponse {
        try await post("/networks/create", body: request)
    }

    /// Removes a network. One with containers attached throws `.status(403)`
    /// (older engines) or `.status(409)`.
    ///
    /// Maps to `DELETE /networks/{id}`.
    public func removeNetwork(_ id: String) async throws {
        try await delete("/networks/\(Self.pathSegment(id))")
    }

    /// Attaches a container to a network, with aliases or a static address.
    ///
    /// Maps to `POST /networks/{id}/connect`.
    public func connectNetwork(_ network: String, container: String, endpoint: EndpointSettings? = nil) async throws {
        struct Body: Encodable {
            var container: String
            var endpointConfig: EndpointSettings?
            enum CodingKeys: String, CodingKey { case container = "Container", endpointConfig = "EndpointConfig" }
        }
        try await post(
            "/networks/\(Self.pathSegment(network))/connect", body: Body(container: container, endpointConfig: endpoint))
    }

    /// Detaches a container from a network.
    ///
    /// Maps to `POST /networks/{id}/disconnect`.
    public func disconnectNetwork(_ network: String, container: String, force: Bool = false) async throws {
        struct Body: Encodable {
            var container: String
            var force: Bool
            enum CodingKeys: String, CodingKey { case container = "Container", force = "Force" }
        }
        try await post("/networks/\(Self.pathSegment(network))/disconnect", body: Body(container: container, force: force))
    }
}
