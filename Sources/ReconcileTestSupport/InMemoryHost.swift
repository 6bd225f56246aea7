import Foundation
import ReconcileCore

/// A host held in memory: applies a plan's steps to an `ObservedState` the way the real
/// executor changes the engine, so planner properties (convergence, idempotence) can be
/// checked without Docker.
///
/// Limits: containers start instantly and are `running` with no health status; image ids
/// come from `state.images`; rollout order, health gates and failures are not modelled.
public struct InMemoryHost: Sendable {
    public var state: ObservedState
    private var nextID = 1

    public init(state: ObservedState = .empty) {
        self.state = state
    }

    public mutating func apply(_ plan: Plan, desired: Project) {
        for step in plan.steps {
            switch step.action {
            case .createNetwork:
                state.networks.append(
                    ObservedNetwork(
                        id: newID(), name: step.engineName ?? "",
                        labels: [LabelKey.project: desired.name, LabelKey.resourceKey: resourceKey(step)]))
            case .createVolume:
                state.volumes.append(
                    ObservedVolume(
                        name: step.engineName ?? "", labels: [LabelKey.project: desired.name, LabelKey.resourceKey: resourceKey(step)]))
            case .removeNetwork:
                state.networks.removeAll { $0.name == step.engineName }
            case .removeVolume:
                state.volumes.removeAll { $0.name == step.engineName }
            case .build:
                state.images[step.engineName ?? ""] = newID()
            case .remove:
                state.containers.removeAll { $0.id == step.containerID }
            case .start:
                if let index = state.containers.firstIndex(where: { $0.id == step.containerID }) {
                    state.containers[index].state = .running
                    state.containers[index].exitCode = nil
                }
            case .create, .recreate:
                if step.action == .recreate { state.containers.removeAll { $0.id == step.containerID } }
                guard let name = step.service, let service = desired.service(named: name), let replica = step.replica else { continue }
                let config = ReplicaConfig(service: service, project: desired, devices: step.gpus.map { service.devices(placedOn: $0) })
                let labels = config.containerLabels(project: desired.name, service: service, replica: replica, key: desired.hashKey)
                state.containers.append(
                    ObservedContainer(
                        id: newID(), name: step.containerName ?? "", labels: labels,
                        image: service.image, imageID: state.images[service.image] ?? "", state: .running,
                        gpuDeviceIDs: labels[LabelKey.gpus].map { $0.split(separator: ",").map(String.init) } ?? [],
                        networks: service.networks.compactMap { desired.network(key: $0.key)?.name }.sorted()))
                // Published ports as the engine binds them: fixed ones as declared, ranged ones as planned.
                var ranged = (step.hostPorts ?? [])[...]
                state.containers[state.containers.count - 1].ports = service.ports.compactMap { port in
                    guard port.published != nil else { return nil }
                    var bound = port
                    bound.publishedEnd = nil
                    if port.hostRange != nil { bound.published = ranged.popFirst() }
                    return bound
                }
            case .update, .scale:
                // Swarm steps; this host runs containers only.
                continue
            }
        }
    }

    private func resourceKey(_ step: PlanStep) -> String {
        String(step.resource.split(separator: ":", maxSplits: 1).last ?? "")
    }

    private mutating func newID() -> String {
        defer { nextID += 1 }
        return String(format: "%064x", nextID)
    }
}

/// The deterministic generator property tests draw from (ReconcileCore's SplitMix64).
public typealias SeededGenerator = SplitMix64
