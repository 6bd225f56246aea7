import Foundation
import NIOCore

/// The engine operations reconcile's runtime and controller use, and nothing more: the seam
/// between them and the engine. ``DockerClient`` is the engine; `ReconcileTestSupport`'s
/// `FakeEngine` is an in-memory one with dockerd's rules, for tests.
///
/// Requirements carry every parameter; the extension below gives the defaults
/// ``DockerClient``'s own methods have. Errors are ``DockerError``s with the engine's status
/// codes (404 unknown, 409 conflict, 304 already so), which callers decide on.
public protocol ContainerEngine: Sendable {
    /// Where the engine is: a local socket or a remote host (the GPU inventory and
    /// validation reach published ports differently).
    var endpoint: DockerEndpoint { get }
    /// The endpoint as people write it, for messages.
    var endpointDescription: String { get }

    // Containers
    func listContainers(all: Bool, filters: DockerFilters) async throws -> [ContainerSummary]
    func inspectContainer(_ id: String) async throws -> ContainerInspect
    func createContainer(name: String?, _ request: ContainerCreateRequest, platform: String?) async throws -> ContainerCreateResponse
    @discardableResult func startContainer(_ id: String) async throws -> Bool
    @discardableResult func stopContainer(_ id: String, timeout: Int?) async throws -> Bool
    func killContainer(_ id: String, signal: String?) async throws
    func removeContainer(_ id: String, force: Bool, removeVolumes: Bool) async throws
    func renameContainer(_ id: String, to name: String) async throws
    func pauseContainer(_ id: String) async throws
    func unpauseContainer(_ id: String) async throws
    func waitContainer(_ id: String, condition: WaitCondition, timeout: TimeAmount?) async throws -> ContainerWaitResponse
    func containerLogs(
        _ id: String, tail: Int?, stdout: Bool, stderr: Bool, timestamps: Bool, tty: Bool?
    ) async throws -> [LogChunk]
    /// Extracts a tar archive into a container's filesystem (secrets and configs written before start).
    func putArchive(_ id: String, path: String, archive: [UInt8], copyUIDGID: Bool) async throws
    /// One sample of a running container's CPU and memory use (the autoscaler's `cpu` and `memory` metrics).
    func containerStats(_ id: String) async throws -> ContainerStats

    // Networks
    func listNetworks(filters: DockerFilters) async throws -> [Network]
    func inspectNetwork(_ id: String) async throws -> Network
    func createNetwork(_ request: NetworkCreateRequest) async throws -> NetworkCreateResponse
    func removeNetwork(_ id: String) async throws
    func connectNetwork(_ network: String, container: String, endpoint: EndpointSettings?) async throws
    func disconnectNetwork(_ network: String, container: String, force: Bool) async throws

    // Volumes
    func listVolumes(filters: DockerFilters) async throws -> [Volume]
    func inspectVolume(_ name: String) async throws -> Volume
    func createVolume(_ request: VolumeCreateRequest) async throws -> Volume
    func removeVolume(_ name: String, force: Bool) async throws

    // Images
    func inspectImage(_ reference: String) async throws -> ImageInspect
    /// Builds an image from a tar of its context (`POST /build`), reporting each progress line.
    func build(context: [UInt8], options: BuildOptions, onMessage: @Sendable (BuildMessage) -> Void) async throws -> String

    // Exec (lifecycle hooks)
    func createExec(_ container: String, _ request: ExecCreateRequest) async throws -> String
    func startExec(_ id: String, timeout: TimeAmount?) async throws -> [UInt8]
    func inspectExec(_ id: String) async throws -> ExecInspect

    // System
    /// The API version requests use (negotiated with the engine).
    func apiVersion() async throws -> APIVersion
    func version() async throws -> SystemVersion

    // Events
    func events(filters: DockerFilters, since: Date?, until: Date?) async throws -> AsyncThrowingStream<DockerEvent, any Error>
}

extension ContainerEngine {
    public func createContainer(name: String?, _ request: ContainerCreateRequest) async throws -> ContainerCreateResponse {
        try await createContainer(name: name, request, platform: nil)
    }

    public func startExec(_ id: String) async throws -> [UInt8] { try await startExec(id, timeout: nil) }

    public func listContainers(all: Bool = true) async throws -> [ContainerSummary] {
        try await listContainers(all: all, filters: [:])
    }

    public func listContainers(filters: DockerFilters) async throws -> [ContainerSummary] {
        try await listContainers(all: true, filters: filters)
    }

    @discardableResult
    public func stopContainer(_ id: String) async throws -> Bool { try await stopContainer(id, timeout: nil) }

    public func killContainer(_ id: String) async throws { try await killContainer(id, signal: nil) }

    public func removeContainer(_ id: String, force: Bool = false) async throws {
        try await removeContainer(id, force: force, removeVolumes: false)
    }

    public func waitContainer(_ id: String, timeout: TimeAmount? = nil) async throws -> ContainerWaitResponse {
        try await waitContainer(id, condition: .notRunning, timeout: timeout)
    }

    public func containerLogs(_ id: String, tail: Int? = nil, stderr: Bool = true, tty: Bool? = nil) async throws -> [LogChunk] {
        try await containerLogs(id, tail: tail, stdout: true, stderr: stderr, timestamps: false, tty: tty)
    }

    public func listNetworks() async throws -> [Network] { try await listNetworks(filters: [:]) }

    public func connectNetwork(_ network: String, container: String) async throws {
        try await connectNetwork(network, container: container, endpoint: nil)
    }

    public func listVolumes() async throws -> [Volume] { try await listVolumes(filters: [:]) }

    public func removeVolume(_ name: String) async throws { try await removeVolume(name, force: false) }

    public func events(filters: DockerFilters = [:]) async throws -> AsyncThrowingStream<DockerEvent, any Error> {
        try await events(filters: filters, since: nil, until: nil)
    }

    /// The image ID (`sha256:…`) a reference resolves to.
    public func imageID(_ reference: String) async throws -> String { try await inspectImage(reference).id }

    /// Whether the engine runs on this machine (a unix socket), where `nvidia-smi` sees its GPUs.
    public var isLocal: Bool {
        if case .unix = endpoint { return true }
        return false
    }
}

extension DockerClient: ContainerEngine {
    public var endpoint: DockerEndpoint { configuration.endpoint }
}
