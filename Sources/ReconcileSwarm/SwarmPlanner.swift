import DockerEngine
import ReconcileCore

/// The Swarm planner: desired service specs against what the swarm runs, one step per
/// service (`create`, `update`, `scale`, `remove`) and per network. Pure: no I/O, no clock;
/// what it has to say about the cluster (nodes down, tasks not running, GPUs) it returns
/// as warnings in the plan.
public enum SwarmPlanner {
    public struct Options: Sendable, Equatable {
        /// Remove the project's services and networks the manifest no longer has.
        public var prune: Bool
        /// Planned without a swarm (`plan --offline`): what depends on the nodes (GPUs) is
        /// left to apply time, in `Plan.deferred`.
        public var offline: Bool
        public init(prune: Bool = false, offline: Bool = false) {
            self.prune = prune
            self.offline = offline
        }
    }

    public static func plan(desired: SwarmDesired, observed: SwarmObservedState, options: Options = .init()) throws -> Plan {
        var problems = desired.problems.map(\.description)
        var plan = Plan(project: desired.project, warnings: desired.warnings.map(\.description))
        plan.target = "swarm"
        var steps: [PlanStep] = []
        var networkSteps: [String: Int] = [:]

        for network in desired.networks {
            let found = observed.networks.first { $0.name == network.name }
            if network.external {
                if found == nil { problems.append("networks.\(network.key): external network \(network.name) does not exist; create it (docker network create -d overlay --attachable \(network.name)) or drop `external`") }
                continue
            }
            if let found {
                if found.scope != nil, found.scope != "swarm" {
                    problems.append("networks.\(network.key): network \(network.name) exists with scope \(found.scope ?? "") (driver \(found.driver ?? "")); Swarm services need an overlay network: remove it or rename the network")
                }
                continue
            }
            networkSteps[network.key] = steps.count
            steps.append(
                PlanStep(
                    resource: "network:\(network.key)", action: .createNetwork, cause: .networkMissing(name: network.name),
                    engineName: network.name))
        }

        if !problems.isEmpty { throw PlanningError(problems: problems) }

        for service in desired.services {
            let depends = (service.spec.taskTemplate.networks ?? []).compactMap { attachment in
                desired.networks.first { $0.name == attachment.target }.flatMap { networkSteps[$0.key] }
            }.sorted()
            guard let current = observed.service(named: service.spec.name) else {
                steps.append(
                    PlanStep(
                        resource: "service:\(service.name)", action: .create, cause: .newService(gpus: nil), dependsOn: depends,
                        service: service.name, engineName: service.spec.name))
                continue
            }
            let want = SpecFields.fields(service.spec)
            let have = SpecFields.fields(current.spec, networkNames: observed.networkNames)
            let changes = SpecFields.changes(from: have, to: want).map { mask($0, secretEnv: service.secretEnv) }
            noteTasks(service: service.name, current: current, observed: observed, warnings: &plan.warnings)
            if changes.isEmpty {
                plan.unchanged += 1
                if let state = current.updateState, ["paused", "rollback_paused"].contains(state) {
                    plan.warnings.append(
                        "service \(service.name): its last update is \(state)" + (current.updateMessage.map { " (\($0))" } ?? "")
                            + "; fix the cause and apply a changed manifest, or resume it with `docker service update \(service.spec.name)`")
                }
                continue
            }
            if let state = current.updateState, ["rollback_completed", "rollback_paused", "paused"].contains(state) {
                plan.warnings.append(
                    "service \(service.name): the last update is \(state)" + (current.updateMessage.map { " (\($0))" } ?? "")
                        + "; applying sends the manifest's spec again")
            }
            if changes.map(\.field) == ["deploy.replicas"] {
                let from = Int(have["deploy.replicas"] ?? "") ?? 0
                let to = service.replicas ?? 0
                steps.append(
                    PlanStep(
                        resource: "service:\(service.name)", action: .scale, cause: .scale(from: from, to: to), changes: changes,
                        dependsOn: depends, service: service.name, containerID: current.id, engineName: service.spec.name))
                continue
            }
            steps.append(
                PlanStep(
                    resource: "service:\(service.name)", action: .update,
                    cause: .serviceSpecChanged(fields: changes.map(\.field), rolling: SwarmConversion.rolling(service.spec)),
                    changes: changes, dependsOn: depends, service: service.name, containerID: current.id,
                    engineName: service.spec.name))
        }

        let wantedNames = Set(desired.services.map(\.spec.name))
        var removals: [Int] = []
        for current in observed.services where !wantedNames.contains(current.name) {
            let name = current.composeName(project: desired.project)
            guard options.prune else {
                plan.warnings.append("service \(name) (\(current.name)) is no longer in the manifest; kept (apply --prune removes it)")
                continue
            }
            removals.append(steps.count)
            steps.append(
                PlanStep(
                    resource: "service:\(name)", action: .remove, cause: .serviceRemoved(service: name), service: name,
                    containerID: current.id, engineName: current.name))
        }
        if options.prune {
            let declared = Set(desired.networks.map(\.name))
            for network in observed.networks
            where !declared.contains(network.name) && network.labels[LabelKey.project] == desired.project {
                let key = network.labels[LabelKey.resourceKey] ?? network.name
                steps.append(
                    PlanStep(
                        resource: "network:\(key)", action: .removeNetwork, cause: .networkNotInManifest, dependsOn: removals,
                        engineName: network.name))
            }
        }
        let updating = Set(steps.filter { $0.action == .update }.compactMap(\.service))
        if options.offline {
            if desired.services.contains(where: { $0.spec.taskTemplate.resources?.reservations?.genericResources != nil }) {
                plan.deferred.append("whether the swarm's nodes advertise the generic resources (GPUs) the services reserve")
            }
        } else if let gpuProblem = gpuCheck(desired: desired, observed: observed, updating: updating, warnings: &plan.warnings) {
            throw PlanningError(problems: [gpuProblem])
        }
        for index in steps.indices { steps[index].id = index }
        plan.steps = steps
        return plan
    }

    /// A secret variable's values never appear in a plan.
    static func mask(_ change: FieldChange, secretEnv: [String]) -> FieldChange {
        guard change.field.hasPrefix("environment.") else { return change }
        let name = String(change.field.dropFirst("environment.".count))
        guard secretEnv.contains(name) else { return change }
        return FieldChange(
            field: change.field, from: change.from.map { _ in SpecFields.sensitive }, to: change.to.map { _ in SpecFields.sensitive })
    }

    /// Tasks that should run and do not, and the nodes they are on, as plan warnings.
    static func noteTasks(service: String, current: ObservedSwarmService, observed: SwarmObservedState, warnings: inout [String]) {
        let tasks = observed.tasks(of: current.id).filter { $0.desiredState == "running" }
        let running = tasks.filter(\.isRunning).count
        let wanted = current.spec.mode?.replicated?.replicas
        if let wanted, running < wanted {
            let waiting = tasks.filter { !$0.isRunning }.map { task in
                "\(task.state)" + (task.error.map { ": \($0)" } ?? "")
            }
            warnings.append(
                "service \(service): \(running) of \(wanted) tasks running"
                    + (waiting.isEmpty ? "" : " (others \(Array(Set(waiting)).sorted().joined(separator: "; ")))")
                    + "; the swarm reschedules them itself")
        }
        _ = observed
    }

    /// GPUs the manifest reserves against those the schedulable nodes advertise, at the peak
    /// of the rollout: a start-first update of a service in `updating` holds up to
    /// `parallelism` more tasks' GPUs while old and new tasks overlap. Returns a problem when
    /// the rollout cannot be placed; notes the count in the plan otherwise.
    static func gpuCheck(desired: SwarmDesired, observed: SwarmObservedState, updating: Set<String>, warnings: inout [String]) -> String? {
        var needed: Int64 = 0
        var surge: Int64 = 0
        var perTask: [String: Int64] = [:]
        let schedulable = observed.nodes.filter(\.schedulable)
        for service in desired.services {
            let gpus = (service.spec.taskTemplate.resources?.reservations?.genericResources ?? [])
                .compactMap(\.discreteResourceSpec).filter { $0.kind == SwarmConversion.gpuResourceKind }.map(\.value).reduce(0, +)
            guard gpus > 0 else { continue }
            perTask[service.name] = gpus
            let replicas = Int64(service.replicas ?? schedulable.count)
            needed += gpus * replicas
            let rolling = SwarmConversion.rolling(service.spec)
            if updating.contains(service.name), rolling.order == "start-first" {
                let batch = rolling.parallelism == 0 ? replicas : min(Int64(rolling.parallelism), replicas)
                surge = max(surge, batch * gpus)
            }
        }
        guard needed > 0 else { return nil }
        let total = Int64(schedulable.map(\.gpus.count).reduce(0, +))
        let down = observed.nodes.filter { !$0.schedulable && !$0.gpus.isEmpty }
        let downNote = down.isEmpty ? "" : "; \(down.map(\.gpus.count).reduce(0, +)) more on nodes not schedulable (\(down.map(\.hostname).joined(separator: ", ")))"
        let perTaskText = perTask.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value) per task" }.joined(separator: ", ")
        if needed > total {
            return "the manifest reserves \(needed) GPUs (\(perTaskText)) and the schedulable nodes advertise \(total)\(downNote); add nodes with GPUs (node-generic-resources NVIDIA-GPU=<id> in their daemon.json) or lower the replicas"
        }
        if needed + surge > total {
            return "the manifest reserves \(needed) GPUs (\(perTaskText)) and a start-first update holds \(surge) more while old and new tasks overlap, but the schedulable nodes advertise \(total)\(downNote); lower update_config.parallelism, use order: stop-first, or add GPUs"
        }
        warnings.append("GPUs: the manifest reserves \(needed) of the \(total) the schedulable nodes advertise" + (surge > 0 ? ", \(surge) more during the start-first update" : "") + downNote)
        return nil
    }
}
