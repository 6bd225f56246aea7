import DockerEngine
import Foundation
import ReconcileCore

/// Reads the live state of one project from the engine into an `ObservedState`.
///
/// One pass makes, in parallel: three list calls, the project's containers and volumes
/// (label filters) and networks; one inspect per distinct image the manifest names (what
/// its tag points at now); and one more volume list, by name, only for declared volumes
/// that are not the project's (external or pre-existing ones, or not created yet).
/// Images are inspected, not listed: the engine builds the whole list, sizes included,
/// for every `GET /images/json`, even a filtered one, and that takes 10–17 ms on a host
/// with 35 images against ~1 ms for an inspect; a host that builds models keeps many more.
/// Volumes are never listed whole: reconcile's history lives in volume labels, so the
/// host's full list grows with every project's revisions. Only containers that exited are
/// inspected, for their exit code. No decisions are made here.
///
/// A project that asks for GPUs also gets the GPU inventory and the GPUs other containers
/// hold: one more list call of the running containers, and an inspect of each one that
/// is not ours and carries no reconcile GPU label (only inspect shows `DeviceRequests`).
public struct Observer: Sendable {
    public let client: any ContainerEngine
    public var gpuDiscovery: GPUDiscovery

    public init(client: any ContainerEngine, gpuDiscovery: GPUDiscovery = GPUDiscovery()) {
        self.client = client
        self.gpuDiscovery = gpuDiscovery
    }

    public func observe(project: Project) async throws -> ObservedState {
        async let containers = client.listContainers(all: true, filters: .label(LabelKey.project, project.name))
        async let networks = client.listNetworks()
        async let volumes = client.listVolumes(filters: .label(LabelKey.project, project.name))
        async let images = Observer.imageIDs(of: project, client: client)
        var (containerList, networkList, volumeList, imageIDs) = try await (containers, networks, volumes, images)
        let unlisted = Set(project.volumes.map(\.name)).subtracting(volumeList.map(\.name))
        if !unlisted.isEmpty {
            // The name filter matches substrings: keep exact names only.
            volumeList += try await client.listVolumes(filters: DockerFilters(["name": unlisted.sorted()])).filter { unlisted.contains($0.name) }
        }

        var observed = ObservedState()
        observed.containers = try await withThrowingTaskGroup(of: ObservedContainer?.self) { group in
            for summary in containerList {
                group.addTask { try await Observer.container(from: summary, client: client) }
            }
            var out: [ObservedContainer] = []
            for try await container in group { if let container { out.append(container) } }
            return out.sorted { $0.name < $1.name }
        }
        if project.services.contains(where: { GPUPlacement.ask(for: $0) != nil }) || project.extensions.gpus != nil {
            let (gpus, source) = await gpuDiscovery.discover(project: project, client: client)
            observed.gpus = gpus
            observed.gpuSource = source
            observed.containers += try await foreignGPUHolders(project: project, inventory: gpus ?? [])
        }
        let wantedNetworks = Set(project.networks.map(\.name))
        observed.networks = networkList.filter {
            wantedNetworks.contains($0.name) || $0.labels?[LabelKey.project] == project.name
        }.map { ObservedNetwork(id: $0.id, name: $0.name, labels: $0.labels ?? [:], driver: $0.driver ?? "") }
        observed.volumes = volumeList.map { ObservedVolume(name: $0.name, labels: $0.labels ?? [:], driver: $0.driver ?? "") }
        observed.volumesListed = true
        observed.networksListed = true
        observed.images = imageIDs
        if project.needsEngineFacts {
            // One more request, only for projects that ask for a platform or for fields of
            // newer API versions: the planner checks those against the engine.
            let version = try await client.version()
            observed.engine = ObservedEngine(os: version.os ?? "linux", arch: version.arch ?? "", apiVersion: version.apiVersion)
        }
        return observed
    }

    /// Observes until two observations in a row, `interval` apart, agree, at most `limit`
    /// seconds: after taking over the lock of a holder that died, the engine may still be
    /// carrying out what it asked for just before (a create lands after the holder is gone),
    /// and a plan made before that lands would collide with it.
    public func settled(project: Project, interval: Duration = .milliseconds(250), limit: Duration = .seconds(3)) async throws -> ObservedState {
        let deadline = ContinuousClock.now + limit
        var last = try await observe(project: project)
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: interval)
            let now = try await observe(project: project)
            if now.fingerprintLines() == last.fingerprintLines() { return now }
            last = now
        }
        return last
    }

    /// The image ID each reference the manifest names resolves to on this host, by one
    /// inspect per distinct reference, in parallel; an image that is not here is left out
    /// (the planner says so). A service pinned to an image ID by a rollback needs none.
    static func imageIDs(of project: Project, client: any ContainerEngine) async throws -> [String: String] {
        let references = Set(project.services.filter { $0.pinnedImageID == nil }.map(\.image))
        return try await withThrowingTaskGroup(of: (String, String?).self) { group in
            for reference in references {
                group.addTask {
                    do {
                        return (reference, try await client.imageID(reference))
                    } catch where error.isDockerNotFound {
                        return (reference, nil)
                    }
                }
            }
            var out: [String: String] = [:]
            for try await (reference, id) in group { if let id { out[reference] = id } }
            return out
        }
    }

    /// Running containers of other projects and tools that hold GPUs, with the ids they hold.
    func foreignGPUHolders(project: Project, inventory: [GPUDevice]) async throws -> [ObservedContainer] {
        let running = try await client.listContainers(all: false)
        return try await withThrowingTaskGroup(of: ObservedContainer?.self) { group in
            for summary in running where summary.labels?[LabelKey.project] != project.name {
                guard let name = summary.name else { continue }
                let labels = summary.labels ?? [:]
                var container = ObservedContainer(
                    id: summary.id, name: name, labels: labels, image: summary.image ?? "", imageID: summary.imageID ?? "",
                    state: ObservedContainer.State(rawValue: summary.state ?? "") ?? .running, created: summary.created ?? 0)
                if labels[LabelKey.project] != nil {
                    // Another reconcile project: its label says which GPUs each replica holds.
                    guard let gpus = labels[LabelKey.gpus], !gpus.isEmpty else { continue }
                    container.gpuDeviceIDs = gpus.split(separator: ",").map(String.init)
                    group.addTask { container }
                    continue
                }
                group.addTask {
                    let inspect: ContainerInspect
                    do {
                        inspect = try await client.inspectContainer(summary.id)
                    } catch where error.isDockerNotFound {
                        return nil
                    }
                    container.gpuDeviceIDs = GPUDiscovery.heldIDs(inspect.hostConfig?.deviceRequests ?? [], inventory: inventory)
                    return container.gpuDeviceIDs.isEmpty ? nil : container
                }
            }
            var out: [ObservedContainer] = []
            for try await container in group { if let container { out.append(container) } }
            return out.sorted { $0.name < $1.name }
        }
    }

    static func container(from summary: ContainerSummary, client: any ContainerEngine) async throws -> ObservedContainer? {
        guard let name = summary.name else { return nil }
        let state = ObservedContainer.State(rawValue: summary.state ?? "") ?? .exited
        var container = ObservedContainer(
            id: summary.id, name: name, labels: summary.labels ?? [:], image: summary.image ?? "",
            imageID: summary.imageID ?? "", state: state, health: health(fromStatus: summary.status ?? ""),
            created: summary.created ?? 0)
        container.networks = summary.networkSettings?.networks.map { $0.keys.sorted() }
        container.networkMode = summary.networkMode
        container.ports = summary.ports.map { ports in
            ports.compactMap { port in
                port.publicPort.map { PortMapping(target: port.privatePort, published: $0, hostIP: port.ip, proto: port.type) }
            }
        }
        if let gpus = container.labels[LabelKey.gpus], !gpus.isEmpty {
            container.gpuDeviceIDs = gpus.split(separator: ",").map(String.init)
        }
        if state == .exited || state == .dead {
            do {
                let inspect = try await client.inspectContainer(summary.id)
                container.exitCode = inspect.state?.exitCode
            } catch where error.isDockerNotFound {
                return nil
            }
        }
        return container
    }

    /// The list call reports health only inside its human status ("Up 3 seconds (healthy)");
    /// this is the engine's documented format for it, and inspecting every container to
    /// get the same fact would multiply the requests of each pass.
    static func health(fromStatus status: String) -> ObservedContainer.Health {
        if status.hasSuffix("(healthy)") { return .healthy }
        if status.hasSuffix("(unhealthy)") { return .unhealthy }
        if status.hasSuffix("(health: starting)") { return .starting }
        return .none
    }
}
