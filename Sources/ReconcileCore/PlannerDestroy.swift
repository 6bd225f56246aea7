/// The plan of `reconcile destroy`: every container the project owns is removed (each with its
/// service's `pre_stop` hooks and stop grace period), then its networks, then, only when the
/// user asked for exactly that (`--volumes`), its volumes and their data. The project's lock
/// volume is never part of it. Pure, like `plan`: `destroy` prints it, `destroy --out` saves
/// it for `apply FILE`, and the executor carries it out as any other plan.
public func destroyPlan(project: Project, observed: ObservedState, removeVolumes: Bool) -> Plan {
    var steps: [PlanStep] = []
    func add(_ step: PlanStep) {
        var step = step
        step.id = steps.count
        steps.append(step)
    }
    let containers = observed.containers.filter { $0.project == project.name }
        .sorted { ($0.service ?? "", $0.replica ?? 0, $0.name) < ($1.service ?? "", $1.replica ?? 0, $1.name) }
    for container in containers {
        let service = container.service ?? "?"
        add(PlanStep(
            resource: "service:\(service):\(container.replica.map(String.init) ?? "?")", action: .remove, cause: .destroy(.container),
            service: container.service, replica: container.replica, containerName: container.name, containerID: container.id))
    }
    let removals = steps.map(\.id)
    let networks = observed.networks.filter { $0.labels[LabelKey.project] == project.name }.sorted { $0.name < $1.name }
    for network in networks {
        add(PlanStep(
            resource: "network:\(network.labels[LabelKey.resourceKey] ?? network.name)", action: .removeNetwork,
            cause: .destroy(.network), dependsOn: removals, engineName: network.name))
    }
    let volumes = observed.volumes.filter { $0.labels[LabelKey.project] == project.name && $0.labels[LabelKey.lock] == nil }
        .sorted { $0.name < $1.name }
    var warnings: [String] = []
    if removeVolumes {
        for volume in volumes {
            add(PlanStep(
                resource: "volume:\(volume.labels[LabelKey.resourceKey] ?? volume.name)", action: .removeVolume,
                cause: .destroy(.volumeData), dependsOn: removals, engineName: volume.name))
        }
    } else if !volumes.isEmpty {
        warnings.append("volumes are kept, with their data: \(volumes.map(\.name).joined(separator: ", ")); destroy --volumes removes them")
    }
    return Plan(project: project.name, steps: steps, warnings: warnings)
}
