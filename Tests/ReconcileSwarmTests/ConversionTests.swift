import DockerEngine
import ReconcileCore
import ReconcileSwarm
import Testing

@Suite("Compose → Swarm service specs")
struct ConversionTests {
    @Test("a service becomes <project>_<service> with the stack namespace and reconcile's labels")
    func namesAndLabels() throws {
        let d = try desired(apiV1)
        let api = try #require(d.service(named: "api"))
        #expect(api.spec.name == "ml_api")
        #expect(api.spec.labels?[stackNamespaceLabel] == "ml")
        #expect(api.spec.labels?[LabelKey.project] == "ml")
        #expect(api.spec.labels?[LabelKey.service] == "api")
        #expect(api.spec.taskTemplate.containerSpec?.labels?[stackNamespaceLabel] == "ml")
        #expect(api.spec.taskTemplate.containerSpec?.args == ["httpd", "-f", "-p", "8080"])
        #expect(api.spec.taskTemplate.containerSpec?.command == nil)
        #expect(api.spec.taskTemplate.containerSpec?.env == ["MODEL_VERSION=1", "TOKEN=abc"])
        #expect(api.spec.mode == .replicated(2))
        #expect(api.spec.endpointSpec?.ports == [SwarmPortConfig(protocol: "tcp", targetPort: 8080, publishedPort: 18080, publishMode: "ingress")])
        #expect(api.spec.updateConfig == SwarmUpdateConfig(parallelism: 2, failureAction: "rollback", monitor: 5_000_000_000, maxFailureRatio: 0, order: "start-first"))
        // Left out of the manifest: the defaults `docker stack deploy` sends.
        #expect(api.spec.rollbackConfig == SwarmUpdateConfig(parallelism: 1, failureAction: "pause", monitor: 5_000_000_000, maxFailureRatio: 0, order: "stop-first"))
        #expect(api.spec.labels?[stackImageLabel] == "reconcile-test/busybox:1")
        #expect(api.spec.taskTemplate.networks == [NetworkAttachmentConfig(target: "ml_default", aliases: ["api"])])
        #expect(d.networks.map(\.request.driver) == ["overlay"])
        #expect(d.networks.first?.request.labels?[stackNamespaceLabel] == "ml")
    }

    @Test("depends_on is a warning that says Swarm ignores it; nothing is silently dropped")
    func dependsOnWarns() throws {
        let d = try desired(apiV1)
        #expect(d.warnings.contains { $0.description.hasPrefix("services.worker.depends_on: ignored by Swarm") })
        #expect(d.problems.isEmpty)
        let worker = try #require(d.service(named: "worker"))
        #expect(worker.spec.taskTemplate.containerSpec?.stopGracePeriod == 1_000_000_000)
    }

    @Test("GPU devices become NVIDIA-GPU generic resources; count all and device ids are refused")
    func gpus() throws {
        let d = try desired("""
            services:
              infer:
                image: reconcile-test/busybox:1
                deploy:
                  replicas: 2
                  resources:
                    reservations:
                      devices: [{driver: nvidia, count: 1, capabilities: [gpu]}]
            """)
        let infer = try #require(d.service(named: "infer"))
        #expect(infer.spec.taskTemplate.resources?.reservations?.genericResources == [GenericResource(discrete: "NVIDIA-GPU", value: 1)])
        let all = try desired("""
            services:
              infer:
                image: reconcile-test/busybox:1
                gpus: all
            """)
        #expect(all.problems.contains { $0.description.contains("`count: all` GPUs has no meaning across nodes") })
    }

    @Test("keys Swarm cannot honour are problems naming the key and the fix")
    func refusals() throws {
        let d = try desired("""
            services:
              web:
                image: reconcile-test/busybox:1
                ports: ["127.0.0.1:18081:80"]
                privileged: true
                x-reconcile: {allow: [privileged]}
            """)
        #expect(d.problems.contains { $0.description.hasPrefix("services.web.ports[0]: a host IP cannot be published on Swarm") })
        #expect(d.problems.contains { $0.description.hasPrefix("services.web.privileged: not supported by Swarm services") })
    }

    @Test("restart maps to the restart policy as the docker CLI maps it")
    func restart() throws {
        let d = try desired("""
            services:
              a: {image: x, restart: always}
              b: {image: x, restart: "on-failure:3"}
              c: {image: x, restart: "no"}
            """)
        #expect(d.service(named: "a")?.spec.taskTemplate.restartPolicy == SwarmRestartPolicy(condition: "any", delay: 5_000_000_000, maxAttempts: 0))
        #expect(d.service(named: "b")?.spec.taskTemplate.restartPolicy == SwarmRestartPolicy(condition: "on-failure", delay: 5_000_000_000, maxAttempts: 3))
        #expect(d.service(named: "c")?.spec.taskTemplate.restartPolicy == SwarmRestartPolicy(condition: "none", delay: 5_000_000_000, maxAttempts: 0))
    }
}

@Suite("Swarm-only keys")
struct SwarmKeysTests {
    @Test("mode global, placement, endpoint_mode, deploy.labels and generic_resources reach the spec")
    func swarmKeys() throws {
        let d = try desired("""
            services:
              agent:
                image: reconcile-test/busybox:1
                deploy:
                  mode: global
                  endpoint_mode: dnsrr
                  labels: {team: ml}
                  placement:
                    constraints: ["node.role==worker"]
                    preferences: [{spread: node.labels.zone}]
                  resources:
                    reservations:
                      cpus: "0.25"
                      generic_resources:
                        - discrete_resource_spec: {kind: NVIDIA-GPU, value: 2}
            """)
        let agent = try #require(d.service(named: "agent"))
        #expect(agent.spec.mode == .global)
        #expect(agent.spec.endpointSpec?.mode == "dnsrr")
        #expect(agent.spec.labels?["team"] == "ml")
        #expect(agent.spec.taskTemplate.placement?.constraints == ["node.role==worker"])
        #expect(agent.spec.taskTemplate.placement?.preferences == [SwarmPlacement.Preference(spread: "node.labels.zone")])
        #expect(agent.spec.taskTemplate.resources?.reservations == SwarmResources(nanoCPUs: 250_000_000, genericResources: [GenericResource(discrete: "NVIDIA-GPU", value: 2)]))
    }
}
