/// Autoscaled services in the planner: the count comes from the autoscaler's decision when
/// there is one (the controller's), else it is the count the host runs, kept within
/// `[min, max]` (what `apply` does, so it never undoes the autoscaler's work). `replicas` is
/// only the count a service starts with.
extension Planner {
    /// The slots a service holds on the host: replica numbers of its containers, surges and
    /// containers being removed left out.
    static func observedCount(of service: String, project: String, in observed: ObservedState) -> Int {
        Set(
            observed.containers.filter {
                $0.project == project && $0.service == service && $0.state != .removing && !$0.isSurge
            }.compactMap(\.replica).filter { $0 >= 1 }
        ).count
    }

    /// `desired` with each autoscaled service's count as the planner must reach it.
    static func autoscaledCounts(
        _ desired: Project, observed: ObservedState, decisions: [String: AutoscaleDecision]
    ) -> Project {
        var project = desired
        for index in project.services.indices {
            guard let spec = project.services[index].extensions.autoscale else { continue }
            let name = project.services[index].name
            if let decision = decisions[name] {
                project.services[index].replicas = spec.clamp(decision.to)
            } else {
                let running = observedCount(of: name, project: desired.name, in: observed)
                project.services[index].replicas = spec.clamp(running == 0 ? project.services[index].replicas : running)
            }
        }
        return project
    }
}

extension Project {
    /// The project with each autoscaled service's `replicas` set to the count a plan takes it
    /// to: the decision's, else the count `observed` runs (the starting count when none),
    /// within `[min, max]`. What `status` and the controller's gauges call desired.
    public func withAutoscaledCounts(observed: ObservedState, decisions: [String: AutoscaleDecision] = [:]) -> Project {
        Planner.autoscaledCounts(self, observed: observed, decisions: decisions)
    }
}

/// Plans a project with autoscaled services: decisions of services that roll out now wait
/// (a rollout and a scale never mix in one service), the scale steps carry the decision as
/// their cause, and a decision bounded by the host's GPUs is said in the warnings.
func planAutoscaled(desired: Project, observed: ObservedState, options: PlanOptions) throws -> Plan {
    let autoscaled = Set(desired.services.filter { $0.extensions.autoscale != nil }.map(\.name))
    var decisions = options.autoscale.filter { autoscaled.contains($0.key) }
    var warnings: [String] = []
    if !decisions.isEmpty {
        // Which services roll out without any scaling: their decisions wait.
        var probe = Planner(desired: Planner.autoscaledCounts(desired, observed: observed, decisions: [:]), observed: observed, options: options)
        let steady = try probe.run()
        let rolling = Set(steady.steps.filter { $0.action == .recreate }.compactMap(\.service))
        for service in rolling.sorted() {
            guard let decision = decisions[service], decision.to != decision.from else { continue }
            warnings.append("service \(service): \(decision.text) waits until its rollout is done")
            decisions[service] = nil
        }
    }
    var planner = Planner(desired: Planner.autoscaledCounts(desired, observed: observed, decisions: decisions), observed: observed, options: options)
    var plan = try planner.run()
    // A decision labels the steps that carry it out; a later pass that puts back a replica
    // someone removed (the host no longer runs the decision's `from`) says so in its own words.
    let labelled = decisions.filter { Planner.observedCount(of: $0.key, project: desired.name, in: observed) == $0.value.from }
    for index in plan.steps.indices {
        guard let service = plan.steps[index].service, let decision = labelled[service] else { continue }
        let cause: StepCause
        switch plan.steps[index].cause {
        case .newService(let gpus, let ports), .replicaMissing(_, let gpus, let ports):
            guard decision.to > decision.from else { continue }
            cause = .autoscale(decision: decision, gpus: gpus, hostPorts: ports)
        case .scaleDown:
            cause = .autoscale(decision: decision, gpus: nil, hostPorts: nil)
        default:
            continue
        }
        plan.steps[index].cause = cause
        plan.steps[index].reason = cause.text
    }
    for decision in decisions.values.sorted(by: { $0.service < $1.service }) {
        if case .gpuBound = decision.reason {
            warnings.append("service \(decision.service) is GPU-bound: \(decision.text)")
        }
    }
    plan.warnings += warnings
    return plan
}
