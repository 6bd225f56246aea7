import DockerEngine
import Foundation
import ReconcileCore

/// Reads the live state of one project from the engine into an `ObservedState`.
///
/// One pass makes four list calls, in parallel: the project's containers (label filter),
/// networks, volumes and images. Only containers that exited are inspected, for their
/// exit code. No decisions are made here.
public struct Observer: Sendable {
    public let client: DockerClient

    public init(client: DockerClient) {
        self.client = client
    }

    public func observe(project: Project) async throws -> ObservedState {
        async let containers = client.listContainers(all: true, filters: .label(LabelKey.project, project.name))
        async let networks = client.listNetworks()
        async let volumes = client.listVolumes()
        async let images = client.listImages()
        let (containerList, networkList, volumeList, imageList) = try await (containers, networks, volumes, images)

        var observed = ObservedState()
        observed.containers = try await withThrowingTaskGroup(of: ObservedContainer?.self) { group in
            for summary in containerList {
                group.addTask { try await Observer.container(from: summary, client: client) }
            }
            var out: [ObservedContainer] = []
            for try await container in group { if let container { out.append(container) } }
            return out.sorted { $0.name < $1.name }
        }
        let wantedNetworks = Set(project.networks.map(\.name))
        observed.networks = networkList.filter {
            wantedNetworks.contains($0.name) || $0.labels?[LabelKey.project] == project.name
        }.map { ObservedNetwork(id: $0.id, name: $0.name, labels: $0.labels ?? [:], driver: $0.driver ?? "") }
        let wantedVolumes = Set(project.volumes.map(\.name))
        observed.volumes = volumeList.filter {
            wantedVolumes.contains($0.name) || $0.labels?[LabelKey.project] == project.name
        }.map { ObservedVolume(name: $0.name, labels: $0.labels ?? [:], driver: $0.driver ?? "") }
        let wantedImages = Set(project.services.map(\.image))
        for image in imageList {
            for tag in image.repoTags ?? [] {
                for reference in Observer.references(of: tag) where wantedImages.contains(reference) {
                    observed.images[reference] = image.id
                }
            }
        }
        return observed
    }

    /// The spellings a tag answers to: "busybox:latest" is also "busybox", and
    /// "docker.io/library/busybox:latest".
    static func references(of tag: String) -> [String] {
        var out = [tag]
        if tag.hasSuffix(":latest") { out.append(String(tag.dropLast(7))) }
        if !tag.contains("/") {
            out.append("docker.io/library/" + tag)
            out.append("library/" + tag)
        }
        return out
    }

    static func container(from summary: ContainerSummary, client: DockerClient) async throws -> ObservedContainer? {
        guard let name = summary.name else { return nil }
        let state = ObservedContainer.State(rawValue: summary.state ?? "") ?? .exited
        var container = ObservedContainer(
            id: summary.id, name: name, labels: summary.labels ?? [:], image: summary.image ?? "",
            imageID: summary.imageID ?? "", state: state, health: health(fromStatus: summary.status ?? ""),
            created: summary.created ?? 0)
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
