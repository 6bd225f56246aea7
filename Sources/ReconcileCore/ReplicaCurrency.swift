/// The one answer to "does this container run what the manifest asks for its service?",
/// which the planner (which replicas to keep), GPU placement and `status` ("up to date")
/// all ask, so they can never disagree.
///
/// A container is current when its config hash is the service's, as declared or, for a
/// GPU service, as placed on the GPUs the container holds (placement may still move it), and
/// its image is the one the service wants: the image id a revision pins, else the id the
/// reference names on the host now. Observed states should have legacy hashes upgraded first
/// (`ObservedState.upgradingLegacyHashes(for:)`), as `plan` does.
public struct ReplicaCurrency: Sendable {
    public let service: Service
    let project: Project
    /// The image id replicas must run, when known.
    public let wantedImageID: String?
    /// The hash of the service's configuration with its devices as declared (keyed with the
    /// project's hash key, as the labels are).
    public let declaredHash: String
    let usesGPUs: Bool

    public init(service: Service, project: Project, observed: ObservedState) {
        self.service = service
        self.project = project
        wantedImageID = service.pinnedImageID ?? observed.images[service.image]
        declaredHash = ReplicaConfig(service: service, project: project).hash(key: project.hashKey)
        usesGPUs = service.devices.contains(where: \.isGPU)
    }

    /// The image is the one wanted (or either side is unknown).
    public func imageIsCurrent(_ container: ObservedContainer) -> Bool {
        guard let wantedImageID, !container.imageID.isEmpty else { return true }
        return container.imageID == wantedImageID
    }

    /// The configuration is the manifest's: as declared, or on the GPUs the container holds.
    public func configIsCurrent(_ container: ObservedContainer) -> Bool {
        if container.configHash == declaredHash { return true }
        guard usesGPUs else { return false }
        return container.configHash == placedHash(container.gpuDeviceIDs)
    }

    public func isCurrent(_ container: ObservedContainer) -> Bool {
        imageIsCurrent(container) && configIsCurrent(container)
    }

    /// The hash of the service placed on `gpus`.
    public func placedHash(_ gpus: [String]) -> String {
        ReplicaConfig(service: service, project: project, devices: service.devices(placedOn: gpus)).hash(key: project.hashKey)
    }
}

extension ObservedContainer {
    /// Ready to serve: running and, where it has a health check, healthy. What `status`
    /// counts as ready, `apply --wait` and validation wait for, and the controller reports.
    public var isReady: Bool { state == .running && health != .starting && health != .unhealthy }
}
