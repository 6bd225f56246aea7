import ReconcileCore
import ReconcileTestSupport
import Testing

/// The HPA's documented behaviour (kubernetes.io, "Horizontal Pod Autoscaling", section
/// "Algorithm details", and "Configurable scaling behavior"), as table tests of the pure function.
@Suite("Autoscaler (the HPA's algorithm)")
struct AutoscaleTests {
    static func spec(
        min: Int = 1, max: Int = 100, target: Double = 100, up: ScalingRules = .defaultScaleUp, down: ScalingRules = .defaultScaleDown
    ) -> AutoscaleSpec {
        AutoscaleSpec(
            min: min, max: max, metric: .prometheus(name: "inference_requests_in_flight", port: 8080, path: "/metrics", quantile: nil),
            target: target, scaleUp: up, scaleDown: down)
    }

    static func samples(_ values: [Double?], ready: [Bool]? = nil) -> [ReplicaSample] {
        values.enumerated().map { ReplicaSample(replica: $0.offset + 1, value: $0.element, ready: ready?[$0.offset] ?? true) }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var values: [Double?]
        var ready: [Bool]? = nil
        var target: Double = 100
        var expected: Int
        var testDescription: String { name }
    }

    @Test(
        "desiredReplicas = ceil[currentReplicas × (currentMetricValue / desiredMetricValue)]",
        arguments: [
            Case(name: "200m against a target of 100m doubles the replicas", values: [200, 200], expected: 4),
            Case(name: "50m against a target of 100m halves the replicas", values: [50, 50, 50, 50], expected: 2),
            Case(name: "a ratio of 1.09 is within the 0.1 tolerance: no change", values: [109, 109, 109], expected: 3),
            Case(name: "a ratio of 0.91 is within the 0.1 tolerance: no change", values: [91, 91, 91], expected: 3),
            Case(name: "a ratio of 1.11 leaves the tolerance: ceil(3 × 1.11) = 4", values: [111, 111, 111], expected: 4),
            Case(name: "the issue's example: 38.1 per replica against 20 from 2 replicas is 4", values: [38.1, 38.1], target: 20, expected: 4),
            Case(name: "the average over replicas, not each: 10 and 50 against 20 from 2 is 3", values: [10, 50], target: 20, expected: 3),
        ])
    func ratio(_ c: Case) {
        let result = Autoscaler.recommend(spec: Self.spec(target: c.target), current: c.values.count, samples: Self.samples(c.values, ready: c.ready))
        #expect(result.replicas == c.expected)
    }

    @Test(
        "missing metrics and not-yet-ready pods are counted conservatively",
        arguments: [
            // "assuming those pods were consuming 100% of the desired value in case of a scale
            // down, and 0% in case of a scale up."
            Case(name: "a missing metric on a scale-down counts as 100% of the target", values: [20, 20, nil], expected: 2),
            Case(name: "a missing metric on a scale-up counts as 0%", values: [300, 300, nil], expected: 6),
            // "the controller conservatively assumes that the not-yet-ready pods are consuming
            // 0% of the desired metric, further dampening the magnitude of a scale up."
            Case(name: "a not-yet-ready pod on a scale-up counts as 0%", values: [300, 300, nil], ready: [true, true, false], expected: 6),
            Case(name: "a not-yet-ready pod is ignored on a scale-down", values: [20, 20, nil], ready: [true, true, false], expected: 1),
            // "If the new ratio reverses the scaling direction, or is within the tolerance,
            // the controller doesn't take any scaling action."
            Case(name: "a scale-up that a missing metric reverses into a scale-down is skipped", values: [150, nil], expected: 2),
            Case(
                name: "a scale-up that a missing metric brings within the tolerance is skipped",
                values: [115, 115, 115, 115, 115, 115, 115, 115, 115, nil], expected: 10),
            Case(name: "two missing metrics reverse a scale-up of one replica's 1.2: skipped", values: [120, nil, nil], expected: 3),
        ])
    func conservative(_ c: Case) {
        let result = Autoscaler.recommend(spec: Self.spec(target: c.target), current: c.values.count, samples: Self.samples(c.values, ready: c.ready))
        #expect(result.replicas == c.expected)
    }

    @Test("no metric from any replica: no change, and the decision says so")
    func noMetrics() {
        var history = AutoscaleHistory()
        let decision = Autoscaler.decide(service: "api", spec: Self.spec(), current: 3, samples: Self.samples([nil, nil, nil]), now: 0, history: &history)
        #expect(decision.to == 3)
        #expect(decision.reason == .noMetrics)
    }

    @Test("the default scale-up adds at most max(100%, 4 pods) per 15 s: 1 → 5, held at 5 within the period, 5 → 10 after it")
    func defaultScaleUpRate() {
        var history = AutoscaleHistory()
        let spec = Self.spec()
        let first = Autoscaler.decide(service: "api", spec: spec, current: 1, samples: Self.samples([1000]), now: 0, history: &history)
        #expect(first.to == 5)  // max(1 × 2, 1 + 4) = 5
        #expect(first.reason == .rateLimited)
        // Within the same 15 s period the period started at 1: still 5 at most.
        let second = Autoscaler.decide(service: "api", spec: spec, current: 5, samples: Self.samples(Array(repeating: 1000, count: 5)), now: 10, history: &history)
        #expect(second.to == 5)
        let third = Autoscaler.decide(service: "api", spec: spec, current: 5, samples: Self.samples(Array(repeating: 1000, count: 5)), now: 16, history: &history)
        #expect(third.to == 10)  // max(5 × 2, 5 + 4)
    }

    @Test("the scale-down stabilisation window takes the highest recommendation of the last 300 s")
    func scaleDownWindow() {
        var history = AutoscaleHistory()
        let spec = Self.spec()
        // Load at 4 replicas' worth, then it drops to 1 replica's worth.
        _ = Autoscaler.decide(service: "api", spec: spec, current: 4, samples: Self.samples([100, 100, 100, 100]), now: 0, history: &history)
        let held = Autoscaler.decide(service: "api", spec: spec, current: 4, samples: Self.samples([25, 25, 25, 25]), now: 15, history: &history)
        #expect(held.to == 4)
        #expect(held.recommended == 1)
        #expect(held.reason == .stabilized(window: 300))
        #expect(held.text == "autoscale 4 → 4 (inference_requests_in_flight 25 per replica < target 100; held by the highest recommendation of the last 300 s)")
        let stillHeld = Autoscaler.decide(service: "api", spec: spec, current: 4, samples: Self.samples([25, 25, 25, 25]), now: 299, history: &history)
        #expect(stillHeld.to == 4)
        // 300 s after the last recommendation of 4, the highest left is 1.
        let down = Autoscaler.decide(service: "api", spec: spec, current: 4, samples: Self.samples([25, 25, 25, 25]), now: 301, history: &history)
        #expect(down.to == 1)
    }

    @Test("a flapping metric does not flap the count: the window keeps the highest")
    func flapping() {
        var history = AutoscaleHistory()
        let spec = Self.spec()
        var current = 2
        for (step, value) in [200.0, 50, 200, 50, 200, 50].enumerated() {
            let decision = Autoscaler.decide(
                service: "api", spec: spec, current: current, samples: Self.samples(Array(repeating: value, count: current)), now: Double(step) * 15,
                history: &history)
            #expect(decision.to >= current)
            current = decision.to
        }
    }

    @Test("scale-up window: the lowest recommendation over the window, so a short spike adds nothing")
    func scaleUpWindow() {
        var history = AutoscaleHistory()
        let spec = Self.spec(up: ScalingRules(window: 60, policies: ScalingRules.defaultScaleUp.policies))
        _ = Autoscaler.decide(service: "api", spec: spec, current: 2, samples: Self.samples([100, 100]), now: 0, history: &history)
        let spike = Autoscaler.decide(service: "api", spec: spec, current: 2, samples: Self.samples([300, 300]), now: 15, history: &history)
        #expect(spike.to == 2)
        let sustained = Autoscaler.decide(service: "api", spec: spec, current: 2, samples: Self.samples([300, 300]), now: 61, history: &history)
        #expect(sustained.to == 6)
    }

    @Test("the documented scale-down policies (4 pods or 10% per 60 s, the larger change): 80 → 72, then 72 → 64")
    func scaleDownPolicies() {
        var history = AutoscaleHistory()
        let down = ScalingRules(window: 0, policies: [.init(kind: .replicas, value: 4, period: 60), .init(kind: .percent, value: 10, period: 60)])
        let spec = Self.spec(down: down)
        let first = Autoscaler.decide(service: "api", spec: spec, current: 80, samples: Self.samples(Array(repeating: 12.5, count: 80)), now: 0, history: &history)
        #expect(first.to == 72)
        #expect(first.reason == .rateLimited)
        let second = Autoscaler.decide(service: "api", spec: spec, current: 72, samples: Self.samples(Array(repeating: 12.5, count: 72)), now: 61, history: &history)
        #expect(second.to == 64)  // 10% of 72 is 7.2, rounded up to 8
    }

    @Test("clamped to [min, max]: never above max, never below min")
    func bounds() {
        var history = AutoscaleHistory()
        let spec = Self.spec(min: 2, max: 6, down: ScalingRules(window: 0, policies: ScalingRules.defaultScaleDown.policies))
        let up = Autoscaler.decide(service: "api", spec: spec, current: 4, samples: Self.samples([400, 400, 400, 400]), now: 0, history: &history)
        #expect(up.to == 6)
        #expect(up.reason == .atMax)
        let down = Autoscaler.decide(service: "api", spec: spec, current: 6, samples: Self.samples(Array(repeating: 1, count: 6)), now: 100, history: &history)
        #expect(down.to == 2)
        #expect(down.reason == .atMin)
        let outside = Autoscaler.decide(service: "api", spec: spec, current: 9, samples: [], now: 200, history: &history)
        #expect(outside.to == 6)
    }

    @Test("a constant load within ±5% of the target scales nothing for 5 minutes")
    func steadyWithinTolerance() {
        var history = AutoscaleHistory()
        let spec = Self.spec(target: 20)
        for tick in 0..<20 {
            let value = tick.isMultiple(of: 2) ? 21.0 : 19.0
            let decision = Autoscaler.decide(service: "api", spec: spec, current: 3, samples: Self.samples([value, value, value]), now: Double(tick) * 15, history: &history)
            #expect(decision.to == 3)
            #expect(decision.reason == .withinTolerance)
        }
    }

    @Test("a GPU service stops at the replicas the free GPUs hold, and says it is GPU-bound")
    func gpuBound() {
        var history = AutoscaleHistory()
        let decision = Autoscaler.decide(service: "llm", spec: Self.spec(max: 8), current: 2, samples: Self.samples([400, 400]), capacity: 3, now: 0, history: &history)
        #expect(decision.to == 3)
        #expect(decision.reason == .gpuBound(free: 1))
        #expect(decision.text.contains("GPU-bound: 1 GPU free (wants 8)"))
    }

    @Test("GPU capacity: current replicas plus one per free set of GPUs")
    func gpuCapacity() {
        let service = Service(name: "llm", image: "x", devices: [DeviceRequest(driver: "nvidia", count: .exactly(1))])
        let inventory = (0..<4).map { GPUDevice(id: String($0)) }
        let observed = ObservedState(containers: [
            ObservedContainer(id: "a", name: "p-llm-1", labels: [:], image: "x", gpuDeviceIDs: ["0"]),
            ObservedContainer(id: "b", name: "other", labels: [:], image: "y", gpuDeviceIDs: ["1"]),
        ])
        let capacity = Autoscaler.gpuCapacity(service: service, current: 1, observed: observed, inventory: inventory)
        #expect(capacity?.capacity == 3)
        #expect(capacity?.free == 2)
        #expect(Autoscaler.gpuCapacity(service: Service(name: "cpu", image: "x"), current: 1, observed: observed, inventory: inventory) == nil)
    }

    @Test("the decision's sentence: metric per replica against the target")
    func sentence() {
        var history = AutoscaleHistory()
        let decision = Autoscaler.decide(service: "api", spec: Self.spec(target: 20), current: 2, samples: Self.samples([38.1, 38.1]), now: 0, history: &history)
        #expect(decision.text == "autoscale 2 → 4 (inference_requests_in_flight 38.1 per replica > target 20)")
    }
}

@Suite("Planner with autoscaled services")
struct AutoscalePlannerTests {
    static func project(replicas: Int = 2, image: String = "local/api:1") -> Project {
        var service = Service(name: "api", image: image, networks: [ServiceNetwork(key: "default")], replicas: replicas)
        service.extensions.autoscale = AutoscaleSpec(
            min: 1, max: 6, metric: .prometheus(name: "inference_requests_in_flight", port: 8080, path: "/metrics", quantile: nil), target: 20)
        return Project(name: "demo", services: [service], networks: [Network(key: "default", name: "demo_default")])
    }

    static func decision(from: Int, to: Int, value: Double = 38.1) -> AutoscaleDecision {
        AutoscaleDecision(
            service: "api", from: from, to: to, metric: "inference_requests_in_flight", value: value, target: 20, recommended: to, reason: .metric)
    }

    @Test("replicas is the starting count: a new autoscaled service starts with it")
    func startingCount() throws {
        let host = try converged(Self.project(replicas: 2))
        #expect(host.state.containers.count == 2)
    }

    @Test("apply keeps the count the autoscaler reached (within [min, max]) instead of resetting it to replicas")
    func applyKeepsCount() throws {
        var host = try converged(Self.project(replicas: 2))
        let up = try plan(desired: Self.project(), observed: host.state, options: PlanOptions(autoscale: ["api": Self.decision(from: 2, to: 4)]))
        host.apply(up, desired: Self.project())
        #expect(host.state.containers.count == 4)
        let again = try plan(desired: Self.project(replicas: 2), observed: host.state)
        #expect(again.isEmpty)
        // Above max (the manifest lowered it): back to max.
        var lowered = Self.project()
        lowered.services[0].extensions.autoscale?.max = 3
        let down = try plan(desired: lowered, observed: host.state)
        #expect(down.steps.count == 1)
        #expect(down.steps[0].reason == "scale down from 4 to 3 replicas")
    }

    @Test("a decision's steps carry it as their cause: `autoscale 2 → 4 (… 38.1 per replica > target 20)`")
    func causeText() throws {
        let host = try converged(Self.project(replicas: 2))
        let up = try plan(desired: Self.project(), observed: host.state, options: PlanOptions(autoscale: ["api": Self.decision(from: 2, to: 4)]))
        #expect(
            PlanText.render(up) == """
                + service:api:3  create: autoscale 2 → 4 (inference_requests_in_flight 38.1 per replica > target 20)
                + service:api:4  create: autoscale 2 → 4 (inference_requests_in_flight 38.1 per replica > target 20)

                Plan: 2 to create, 0 to recreate, 0 to remove.
                """)
        #expect(up.steps.allSatisfy { if case .autoscale = $0.cause { true } else { false } })
        var bigger = host
        bigger.apply(up, desired: Self.project())
        let down = try plan(
            desired: Self.project(), observed: bigger.state, options: PlanOptions(autoscale: ["api": Self.decision(from: 4, to: 1, value: 2)]))
        #expect(down.steps.map(\.action) == [.remove, .remove, .remove])
        #expect(down.steps.map(\.replica) == [2, 3, 4])
        #expect(down.steps[0].reason == "autoscale 4 → 1 (inference_requests_in_flight 2 per replica < target 20)")
    }

    @Test("never during a rollout of the service: the decision waits, and the plan says so")
    func rolloutFirst() throws {
        let host = try converged(Self.project(replicas: 2))
        let edited = Self.project(image: "local/api:2")
        let result = try plan(desired: edited, observed: host.state, options: PlanOptions(autoscale: ["api": Self.decision(from: 2, to: 4)]))
        #expect(result.steps.map(\.action) == [.recreate, .recreate])
        #expect(result.warnings.contains { $0.contains("waits until its rollout is done") })
    }
}

@Suite("Planner with autoscaled GPU services")
struct AutoscaleGPUPlannerTests {
    @Test("a GPU-bound decision is in the plan's warnings, and the added replica is placed on the free GPU")
    func gpuBoundWarning() throws {
        var project = AutoscalePlannerTests.project(replicas: 1)
        project.services[0].devices = [DeviceRequest(driver: "nvidia", count: .exactly(1))]
        project.extensions.gpus = [GPUDevice(id: "0"), GPUDevice(id: "1")]
        let host = try converged(project)
        let decision = AutoscaleDecision(
            service: "api", from: 1, to: 2, metric: "inference_requests_in_flight", value: 80, target: 20, recommended: 4,
            reason: .gpuBound(free: 1))
        let result = try plan(desired: project, observed: host.state, options: PlanOptions(autoscale: ["api": decision]))
        #expect(result.steps.map(\.action) == [.create])
        #expect(result.steps[0].gpus == ["1"])
        #expect(
            result.steps[0].reason
                == "autoscale 1 → 2 (inference_requests_in_flight 80 per replica > target 20; GPU-bound: 1 GPU free (wants 4)) (GPU 1)")
        #expect(result.warnings.contains { $0.hasPrefix("service api is GPU-bound: autoscale 1 → 2") })
    }

    @Test("a pass that puts back replicas someone removed (the host no longer runs the decision's `from`) says so in its own words")
    func repairNotRelabelled() throws {
        var host = try converged(AutoscalePlannerTests.project(replicas: 2))
        let up = try plan(
            desired: AutoscalePlannerTests.project(), observed: host.state,
            options: PlanOptions(autoscale: ["api": AutoscalePlannerTests.decision(from: 2, to: 3)]))
        host.apply(up, desired: AutoscalePlannerTests.project())
        host.state.containers.removeAll { $0.name == "demo-api-2" || $0.name == "demo-api-3" }
        let repair = try plan(
            desired: AutoscalePlannerTests.project(), observed: host.state,
            options: PlanOptions(autoscale: ["api": AutoscalePlannerTests.decision(from: 2, to: 3)]))
        #expect(repair.steps.map(\.reason) == ["replica 2 is missing", "replica 3 is missing"])
    }
}
