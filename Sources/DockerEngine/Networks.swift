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
    /// Docker 20.10 can also refuse a network that no container is attached to, because
    /// its count of the network's endpoints has leaked: containers created, stopped and
    /// removed concurrently on it lose decrements (`bench/endpoint-leak.sh` reproduces it
    /// with the docker CLI alone). Only a restart of the daemon clears that count; the error
    /// then says so instead of naming endpoints nobody can find.
    ///
    /// Maps to `DELETE /networks/{id}`.
    public func removeNetwork(_ id: String) async throws {
        do {
            try await delete("/networks/\(Self.pathSegment(id))")
        } catch let error as DockerError {
            guard case .status(let code, let message, let method, let path) = error, code == 403 || code == 409,
                message.contains("active endpoints"),
                let network = try? await inspectNetwork(id), (network.containers ?? [:]).isEmpty
            else { throw error }
            throw DockerError.status(
                code: code,
                message: "network \(network.name) has no containers attached, yet the engine counts endpoints on it "
                    + "(a Docker Engine bug: its endpoint count leaks when containers on a network are created and "
                    + "removed concurrently). Restart the Docker daemon to clear the count and run this again; "
                    + "until then the network is harmless, and apply reuses it",
                method: method, path: path)
        }
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
