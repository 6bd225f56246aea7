import Foundation
import ReconcileCore
import ReconcileTestSupport
import Testing

/// One GPU service, `train`, in project `ml`.
func gpuProject(
    replicas: Int = 3, count: DeviceRequest.Count = .exactly(1), env: [String: String] = ["V": "1"],
    placement: ServiceExtensions.GPUPlacement = .distinct, requirement: ServiceExtensions.GPURequirement = .required,
    order: UpdatePolicy.Order? = nil, inventory: [GPUDevice]? = nil
) -> Project {
    Project(
        name: "ml",
        services: [
            Service(
                name: "train", image: "local/train:1", environment: env, replicas: replicas,
                devices: [DeviceRequest(driver: "nvidia", count: count, capabilities: ["gpu"])],
                updateConfig: UpdatePolicy(order: order),
                extensions: ServiceExtensions(gpuPlacement: placement, gpu: requirement))
        ],
        extensions: ProjectExtensions(gpus: inventory))
}

func gpus(_ n: Int) -> [GPUDevice] { (0..<n).map { GPUDevice(id: String($0)) } }

/// The GPU ids each replica of `service` holds on `host`, by slot.
func holdings(_ host: InMemoryHost, _ service: String = "train") -> [Int: [String]] {
    var out: [Int: [String]] = [:]
    for container in host.state.containers where container.service == service {
        if let replica = container.replica { out[replica] = container.gpuDeviceIDs }
    }
    return out
}

@Suite("GPU planner")
struct GPUPlannerTests {
    @Test("each replica of count 1 gets its own GPU, packed in order, and the placement reaches the step and the hash")
    func distinctReplicas() throws {
        let result = try plan(desired: gpuProject(), observed: ObservedState(gpus: gpus(4)))
        #expect(
            PlanText.render(result) == """
                + service:train:1  create: new service (GPU 0)
                + service:train:2  create: replica 2 is missing (GPU 1)
                + service:train:3  create: replica 3 is missing (GPU 2)

                Plan: 3 to create, 0 to recreate, 0 to remove.
                """)
        #expect(result.steps.map(\.gpus) == [["0"], ["1"], ["2"]])
        #expect(Set(result.steps.compactMap(\.configHash)).count == 3)
    }

    @Test("a converged GPU project plans nothing, and the replicas keep their GPUs")
    func convergedIsStable() throws {
        let project = gpuProject()
        var host = InMemoryHost(state: ObservedState(gpus: gpus(4)))
        host.apply(try plan(desired: project, observed: host.state), desired: project)
        #expect(holdings(host) == [1: ["0"], 2: ["1"], 3: ["2"]])
        let again = try plan(desired: project, observed: host.state)
        #expect(PlanText.render(again) == "No changes. 3 replicas up to date.")
    }

    @Test("an env change surges onto the spare GPU where one is free, and replaces the rest in place on their own GPUs")
    func rolloutUsesSpareGPU() throws {
        var host = InMemoryHost(state: ObservedState(gpus: gpus(4)))
        host.apply(try plan(desired: gpuProject(), observed: host.state), desired: gpuProject())
        let changed = gpuProject(env: ["V": "2"])
        let result = try plan(desired: changed, observed: host.state)
        #expect(
            PlanText.render(result) == """
                ± service:train:1  recreate: configuration changed (start-first: GPU 3 is spare, so the new container starts there while the old one still holds 0)
                    environment.V: "1" → "2"
                    gpus: 0 → 3
                ± service:train:2  recreate: configuration changed (stop-first: a surge needs 1 spare GPU while the old container holds 1, and no GPU is spare; replaced in place on its own GPU 1)
                    environment.V: "1" → "2"
                ± service:train:3  recreate: configuration changed (stop-first: a surge needs 1 spare GPU while the old container holds 2, and no GPU is spare; replaced in place on its own GPU 2)
                    environment.V: "1" → "2"
                rollout train: 3 replicas, 1 at a time (GPU replicas are replaced one at a time); gate: the image's healthcheck, else running 0.5 s (120 s at most); on failure: pause (old containers removed as replacements serve)

                Plan: 0 to create, 3 to recreate, 0 to remove.
                """)
        host.apply(result, desired: changed)
        #expect(holdings(host) == [1: ["3"], 2: ["1"], 3: ["2"]])
        #expect(try plan(desired: changed, observed: host.state).isEmpty)
    }

    @Test("with no GPU spare the rollout is stop-first and every replica keeps its GPU")
    func stopFirstWhenNoSpare() throws {
        var host = InMemoryHost(state: ObservedState(gpus: gpus(4)))
        host.apply(try plan(desired: gpuProject(replicas: 4), observed: host.state), desired: gpuProject(replicas: 4))
        let changed = gpuProject(replicas: 4, env: ["V": "2"])
        let result = try plan(desired: changed, observed: host.state)
        #expect(result.steps.allSatisfy { $0.strategy == .stopFirst })
        #expect(result.steps.map(\.gpus) == [["0"], ["1"], ["2"], ["3"]])
        #expect(result.steps[0].reason.contains("no GPU is spare; replaced in place on its own GPU 0"))
        host.apply(result, desired: changed)
        #expect(holdings(host) == [1: ["0"], 2: ["1"], 3: ["2"], 4: ["3"]])
    }

    @Test("asking start-first with no spare GPU says it is impossible, and update_config stop-first keeps the GPU")
    func askedOrder() throws {
        var host = InMemoryHost(state: ObservedState(gpus: gpus(1)))
        host.apply(try plan(desired: gpuProject(replicas: 1), observed: host.state), desired: gpuProject(replicas: 1))
        let asked = try plan(desired: gpuProject(replicas: 1, env: ["V": "2"], order: .startFirst), observed: host.state)
        #expect(asked.steps[0].reason.contains("stop-first: start-first is impossible: a surge needs 1 spare GPU"))
        var roomy = InMemoryHost(state: ObservedState(gpus: gpus(2)))
        roomy.apply(try plan(desired: gpuProject(replicas: 1), observed: roomy.state), desired: gpuProject(replicas: 1))
        let stop = try plan(desired: gpuProject(replicas: 1, env: ["V": "2"], order: .stopFirst), observed: roomy.state)
        #expect(stop.steps[0].strategy == .stopFirst)
        #expect(stop.steps[0].gpus == ["0"])
        #expect(stop.steps[0].reason.contains("update_config.order is stop-first; it stays on its own GPU 0"))
    }

    @Test("scaling 3 → 2 → 4 frees the highest replica's GPU and reuses it without double booking")
    func scaleDownAndUp() throws {
        var host = InMemoryHost(state: ObservedState(gpus: gpus(4)))
        for replicas in [3, 2, 4] {
            let project = gpuProject(replicas: replicas)
            host.apply(try plan(desired: project, observed: host.state), desired: project)
            let held = holdings(host).values.flatMap { $0 }
            #expect(Set(held).count == held.count)
            #expect(holdings(host).count == replicas)
        }
        #expect(holdings(host) == [1: ["0"], 2: ["1"], 3: ["2"], 4: ["3"]])
    }

    @Test("5 replicas on 4 GPUs fail the plan, naming the service, what it asked, what is free and who holds the rest")
    func notEnoughGPUs() throws {
        var host = InMemoryHost(state: ObservedState(gpus: gpus(4)))
        host.apply(try plan(desired: gpuProject(), observed: host.state), desired: gpuProject())
        #expect(throws: PlanningError(problems: [
            "service train asks for 1 GPU per replica for 5 replicas (distinct placement), but replica 5 cannot get its GPUs: the host has 4 GPUs (0, 1, 2, 3); free: none; held: 0 by train replica 1, 1 by train replica 2, 2 by train replica 3, 3 by train replica 4. Free a GPU, lower the replicas or the count, set `x-reconcile.gpu: optional` to run the rest on CPU, or `x-reconcile.gpu_placement: shared` to let replicas share"
        ])) {
            try plan(desired: gpuProject(replicas: 5), observed: host.state)
        }
    }

    @Test("an optional service runs the replicas that find no GPU on CPU, and the plan says so")
    func optionalFallsBackToCPU() throws {
        let result = try plan(desired: gpuProject(replicas: 2, requirement: .optional), observed: ObservedState(gpus: gpus(1)))
        #expect(
            PlanText.render(result) == """
                + service:train:1  create: new service (GPU 0)
                + service:train:2  create: replica 2 is missing (on CPU)
                warning: replica 2 of service train runs on CPU (x-reconcile.gpu is optional): service train asks for 1 GPU per replica for 2 replicas (distinct placement), and the host has 1 GPU (0); free: none; held: 0 by train replica 1

                Plan: 2 to create, 0 to recreate, 0 to remove.
                """)
        #expect(result.steps[1].gpus == [])
        let project = gpuProject(replicas: 2, requirement: .optional)
        var host = InMemoryHost(state: ObservedState(gpus: []))
        host.apply(try plan(desired: project, observed: host.state), desired: project)
        #expect(holdings(host) == [1: [], 2: []])
        #expect(try plan(desired: project, observed: host.state).isEmpty)
    }

    @Test("shared placement puts every replica on the same GPU, and a surge may share it")
    func sharedPlacement() throws {
        let project = gpuProject(placement: .shared)
        var host = InMemoryHost(state: ObservedState(gpus: gpus(4)))
        host.apply(try plan(desired: project, observed: host.state), desired: project)
        #expect(holdings(host) == [1: ["0"], 2: ["0"], 3: ["0"]])
        let changed = try plan(desired: gpuProject(env: ["V": "2"], placement: .shared), observed: host.state)
        #expect(changed.steps.allSatisfy { $0.strategy == .startFirst && $0.gpus == ["0"] })
    }

    @Test("a foreign container's GPUs are never given to a replica")
    func foreignHolder() throws {
        let other = ObservedContainer(
            id: "f1", name: "notebook", labels: [:], image: "jupyter", state: .running, gpuDeviceIDs: ["0"])
        let result = try plan(desired: gpuProject(), observed: ObservedState(containers: [other], gpus: gpus(4)))
        #expect(result.steps.map(\.gpus) == [["1"], ["2"], ["3"]])
        #expect(!result.steps.contains { $0.containerID == "f1" })
        #expect(throws: PlanningError.self) {
            try plan(desired: gpuProject(replicas: 4), observed: ObservedState(containers: [other], gpus: gpus(4)))
        }
        do {
            _ = try plan(desired: gpuProject(replicas: 4), observed: ObservedState(containers: [other], gpus: gpus(4)))
        } catch let error as PlanningError {
            #expect(error.description.contains("held: 0 by container notebook (not managed by reconcile)"))
        }
    }

    @Test("without an inventory a distinct service is a planning error that says how to give one; the manifest's list is used")
    func unknownInventory() throws {
        #expect(throws: PlanningError.self) { try plan(desired: gpuProject(), observed: .empty) }
        let result = try plan(desired: gpuProject(inventory: gpus(3)), observed: .empty)
        #expect(result.steps.map(\.gpus) == [["0"], ["1"], ["2"]])
    }

    @Test("a replica placed on a GPU that a scale-down frees waits for that removal")
    func waitsForFreedGPU() throws {
        let project = Project(
            name: "ml",
            services: [
                Service(name: "a", image: "i", replicas: 2, devices: [DeviceRequest(count: .exactly(1))]),
                Service(name: "b", image: "i", replicas: 1, devices: [DeviceRequest(count: .exactly(1))]),
            ])
        var host = InMemoryHost(state: ObservedState(gpus: gpus(2)))
        let start = Project(name: "ml", services: [project.services[0]])
        host.apply(try plan(desired: start, observed: host.state), desired: start)
        var next = project
        next.services[0].replicas = 1
        let result = try plan(desired: next, observed: host.state)
        let removal = try #require(result.steps.first { $0.action == .remove })
        let create = try #require(result.steps.first { $0.action == .create })
        #expect(create.gpus == ["1"])
        #expect(create.dependsOn.contains(removal.id))
    }

    @Test("a rollback's preferred GPUs are where its replicas go back to: start-first when they are free, kept when they are not valid")
    func preferredGPUs() throws {
        var host = InMemoryHost(state: ObservedState(gpus: gpus(4)))
        host = try converged(gpuProject(replicas: 2, order: .startFirst), from: host)
        #expect(holdings(host) == [1: ["0"], 2: ["1"]])
        // The revision being restored ran replica 1 on GPU 3; GPU 7 is not on this host.
        let options = PlanOptions(preferredGPUs: ["train": [1: ["3"], 2: ["7"]]])
        let result = try plan(desired: gpuProject(replicas: 2, order: .startFirst), observed: host.state, options: options)
        #expect(result.steps.map(\.resource) == ["service:train:1"])
        #expect(result.steps.first?.gpus == ["3"] && result.steps.first?.strategy == .startFirst)
        #expect(result.steps.first?.reason.contains("(the revision's) is free") == true)
        host.apply(result, desired: gpuProject(replicas: 2, order: .startFirst))
        #expect(holdings(host) == [1: ["3"], 2: ["1"]])
        #expect(try plan(desired: gpuProject(replicas: 2, order: .startFirst), observed: host.state, options: options).isEmpty)
    }
}
