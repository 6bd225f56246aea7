/// The Swarm operations reconcile's Swarm target uses: the seam between it and the engine.
/// ``DockerClient`` conforms; `ReconcileTestSupport.FakeSwarm` is the in-memory one.
/// Networks (overlay ones here) are the same calls as on a single host.
public protocol SwarmEngine: Sendable {
    var endpointDescription: String { get }

    func inspectSwarm() async throws -> SwarmInfo
    func listNodes(filters: DockerFilters) async throws -> [SwarmNode]

    func listServices(filters: DockerFilters) async throws -> [SwarmService]
    func inspectService(_ id: String) async throws -> SwarmService
    func createService(_ spec: ServiceSpec) async throws -> ServiceCreateResponse
    func updateService(_ id: String, version: UInt64, spec: ServiceSpec, rollback: Bool) async throws -> ServiceUpdateResponse
    func removeService(_ id: String) async throws

    func listTasks(filters: DockerFilters) async throws -> [SwarmTask]

    func listNetworks(filters: DockerFilters) async throws -> [Network]
    func createNetwork(_ request: NetworkCreateRequest) async throws -> NetworkCreateResponse
    func removeNetwork(_ id: String) async throws

    func listSecrets(filters: DockerFilters) async throws -> [SwarmFileObject]
    func createSecret(_ spec: SwarmFileObjectSpec) async throws -> SwarmObjectCreateResponse
    func removeSecret(_ id: String) async throws
    func listConfigs(filters: DockerFilters) async throws -> [SwarmFileObject]
    func createConfig(_ spec: SwarmFileObjectSpec) async throws -> SwarmObjectCreateResponse
    func removeConfig(_ id: String) async throws
}

extension DockerClient: SwarmEngine {}
