import DockerEngine
import ReconcileCore
import ReconcileSwarm
import ReconcileTestSupport
import Testing

@Suite("Swarm planner and executor against the fake swarm")
struct PlannerTests {
    /// A fake swarm where `yaml` was applied.
    func applied(_ yaml: String, failing: Set<String> = []) async throws -> FakeSwarm {
        let swarm = FakeSwarm(failingImages: failing)
        let d = try desired(yaml)
        let plan = try SwarmPlanner.plan(desired: d, observed: try await observe(swarm, d))
        let result = await SwarmExecutor(engine: swarm, desired: d, pollInterval: 0.001).execute(plan)
        #expect(result.succeeded)
        return swarm
    }

    @Test("an empty swarm plans the network and one create per service")
    func coldPlan() throws {
        let plan = try SwarmPlanner.plan(desired: try desired(apiV1), observed: .empty)
        #expect(PlanText.render(plan) == """
            + network:default  create-network: network ml_default does not exist
            + service:api      create: new service
            + service:worker   create: new service
            warning: services.worker.depends_on: ignored by Swarm, which starts services in any order; make the service wait for what it needs (a healthcheck and restart_policy)

            Plan: 3 to create, 0 to update, 0 to remove.
            """)
        #expect(plan.target == "swarm")
        #expect(plan.steps[1].dependsOn == [0])
    }

    @Test("an unchanged manifest plans nothing and apply sends no update")
    func noOp() async throws {
        let swarm = try await applied(apiV1)
        let d = try desired(apiV1)
        let plan = try SwarmPlanner.plan(desired: d, observed: try await observe(swarm, d))
        #expect(plan.isEmpty)
        #expect(PlanText.summaryLine(plan) == "No changes. 2 services up to date.")
        _ = await SwarmExecutor(engine: swarm, desired: d).execute(plan)
        #expect(swarm.calls("updateService") == 0)
        #expect(swarm.calls("createService") == 2)
    }

    @Test("an environment change is an update with the field, the rolling policy, and secrets masked")
    func update() async throws {
        let swarm = try await applied(apiV1)
        let v2 = apiV1.replacingOccurrences(of: "MODEL_VERSION: \"1\"", with: "MODEL_VERSION: \"2\"").replacingOccurrences(of: "TOKEN: abc", with: "TOKEN: xyz")
        let d = try desired(v2)
        let plan = try SwarmPlanner.plan(desired: d, observed: try await observe(swarm, d))
        #expect(PlanText.render(plan).hasPrefix("""
            ± service:api  update: environment.MODEL_VERSION, environment.TOKEN changed (rolling: parallelism 2, start-first, on failure rollback)
                environment.MODEL_VERSION: "1" → "2"
                environment.TOKEN: (sensitive) → (sensitive)
            """))
        #expect(!PlanText.render(plan).contains("xyz"))
        let result = await SwarmExecutor(engine: swarm, desired: d, pollInterval: 0.001).execute(plan)
        #expect(result.outcomes.map(\.outcome) == [.completed])
        #expect(try SwarmPlanner.plan(desired: d, observed: try await observe(swarm, d)).isEmpty)
    }

    @Test("a replica count change alone is a scale")
    func scale() async throws {
        let swarm = try await applied(apiV1)
        let d = try desired(apiV1.replacingOccurrences(of: "replicas: 2", with: "replicas: 3"))
        let plan = try SwarmPlanner.plan(desired: d, observed: try await observe(swarm, d))
        #expect(PlanText.render(plan).hasPrefix("""
            ~ service:api  scale: replicas 2 → 3
                deploy.replicas: 2 → 3
            """))
        let result = await SwarmExecutor(engine: swarm, desired: d, pollInterval: 0.001).execute(plan)
        #expect(result.succeeded)
    }

    @Test("an update refused as out of sequence is read again and retried, up to three attempts")
    func outOfSequence() async throws {
        let swarm = try await applied(apiV1)
        let d = try desired(apiV1.replacingOccurrences(of: "MODEL_VERSION: \"1\"", with: "MODEL_VERSION: \"3\""))
        let plan = try SwarmPlanner.plan(desired: d, observed: try await observe(swarm, d))
        swarm.refuseNextUpdates(2)
        let result = await SwarmExecutor(engine: swarm, desired: d, pollInterval: 0.001).execute(plan)
        #expect(result.succeeded)
        #expect(swarm.calls("updateService") == 3)
        swarm.refuseNextUpdates(3)
        let d4 = try desired(apiV1.replacingOccurrences(of: "MODEL_VERSION: \"1\"", with: "MODEL_VERSION: \"4\""))
        let plan4 = try SwarmPlanner.plan(desired: d4, observed: try await observe(swarm, d4))
        let failed = await SwarmExecutor(engine: swarm, desired: d4, pollInterval: 0.001).execute(plan4)
        #expect(!failed.succeeded)
    }

    @Test("an update the swarm rolls back is reported as rolled back")
    func rollback() async throws {
        let swarm = try await applied(apiV1, failing: ["reconcile-test/busybox:2"])
        let d = try desired(apiV1.replacingOccurrences(of: "busybox:1\n    command: [\"httpd\"", with: "busybox:2\n    command: [\"httpd\""))
        let plan = try SwarmPlanner.plan(desired: d, observed: try await observe(swarm, d))
        #expect(plan.steps.map(\.action) == [.update])
        let result = await SwarmExecutor(engine: swarm, desired: d, pollInterval: 0.001).execute(plan)
        #expect(result.rolledBack)
    }

    @Test("a hand edit of a service is planned back, field by field")
    func drift() async throws {
        let swarm = try await applied(apiV1)
        swarm.editByHand("ml_worker") { $0.taskTemplate.containerSpec?.env = ["DEBUG=1"] }
        let d = try desired(apiV1)
        let plan = try SwarmPlanner.plan(desired: d, observed: try await observe(swarm, d))
        #expect(plan.steps.map(\.resource) == ["service:worker"])
        #expect(plan.steps.first?.changes == [FieldChange(field: "environment.DEBUG", from: "\"1\"", to: nil)])
    }

    @Test("services no longer in the manifest are kept with a warning, removed with prune")
    func prune() async throws {
        let swarm = try await applied(apiV1)
        let d = try desired("""
            services:
              api:
                image: reconcile-test/busybox:1
            """)
        let kept = try SwarmPlanner.plan(desired: d, observed: try await observe(swarm, d))
        #expect(kept.warnings.contains { $0.hasPrefix("service worker (ml_worker) is no longer in the manifest") })
        #expect(!kept.steps.contains { $0.action == .remove })
        let pruned = try SwarmPlanner.plan(desired: d, observed: try await observe(swarm, d), options: .init(prune: true))
        #expect(pruned.steps.filter { $0.action == .remove }.map(\.resource) == ["service:worker"])
    }

    @Test("a rollout needing more GPUs than the schedulable nodes advertise is refused")
    func gpuCapacity() throws {
        let d = try desired("""
            services:
              infer:
                image: reconcile-test/busybox:1
                deploy:
                  replicas: 3
                  resources:
                    reservations:
                      devices: [{driver: nvidia, count: 1, capabilities: [gpu]}]
            """)
        let observed = SwarmObservedState(nodes: [
            ObservedNode(id: "n1", hostname: "n1", role: "manager", state: "ready", availability: "active", gpus: ["GPU-0", "GPU-1"]),
            ObservedNode(id: "n2", hostname: "n2", role: "worker", state: "down", availability: "active", gpus: ["GPU-2"]),
        ])
        #expect(throws: PlanningError.self) { try SwarmPlanner.plan(desired: d, observed: observed) }
        // Offline, the nodes are not known: the check is left to apply time.
        let offline = try SwarmPlanner.plan(desired: d, observed: .empty, options: .init(offline: true))
        #expect(offline.deferred == ["whether the swarm's nodes advertise the generic resources (GPUs) the services reserve"])
        var two = d
        two.services[0].spec.mode = .replicated(2)
        let plan = try SwarmPlanner.plan(desired: two, observed: observed)
        #expect(plan.warnings.contains("GPUs: the manifest reserves 2 of the 2 the schedulable nodes advertise; 1 more on nodes not schedulable (n2)"))
    }

    @Test("a start-first update of a GPU service needs spare GPUs for its surge, and the plan says so")
    func gpuSurge() async throws {
        let yaml = """
            services:
              infer:
                image: reconcile-test/busybox:1
                environment: {V: "1"}
                deploy:
                  replicas: 2
                  update_config: {parallelism: 2, order: start-first}
                  resources:
                    reservations:
                      devices: [{driver: nvidia, count: 1, capabilities: [gpu]}]
            """
        let three = [
            ObservedNode(id: "n1", hostname: "n1", role: "manager", state: "ready", availability: "active", gpus: ["GPU-0", "GPU-1", "GPU-2"]),
        ]
        let swarm = FakeSwarm(nodes: [SwarmNode(id: "n1", hostname: "n1", role: "manager", leader: true)])
        let v1 = try desired(yaml)
        _ = await SwarmExecutor(engine: swarm, desired: v1, pollInterval: 0.001).execute(try SwarmPlanner.plan(desired: v1, observed: SwarmObservedState(nodes: three)))
        var observed = try await observe(swarm, v1)
        observed.nodes = three
        let v2 = try desired(yaml.replacingOccurrences(of: "V: \"1\"", with: "V: \"2\""))
        #expect(throws: PlanningError.self) { try SwarmPlanner.plan(desired: v2, observed: observed) }
        observed.nodes[0].gpus.append("GPU-3")
        let plan = try SwarmPlanner.plan(desired: v2, observed: observed)
        #expect(plan.warnings.contains("GPUs: the manifest reserves 2 of the 4 the schedulable nodes advertise, 2 more during the start-first update"))
    }
}
