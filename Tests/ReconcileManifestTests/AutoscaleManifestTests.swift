import Foundation
import ReconcileCore
import Testing

@testable import ReconcileManifest

@Suite("x-reconcile.autoscale")
struct AutoscaleManifestTests {
    @Test("the issue's example parses with the HPA's defaults where it says nothing")
    func example() throws {
        let service = try loadService("""
            deploy:
              replicas: 2
            x-reconcile:
              autoscale:
                min: 1
                max: 8
                metric: {prometheus: inference_requests_in_flight, port: 8080, path: /metrics}
                target: 10
                interval: 15s
                scale_up_window: 0s
                scale_down_window: 300s
            """)
        let spec = try #require(service.extensions.autoscale)
        #expect(spec.min == 1 && spec.max == 8 && spec.target == 10 && spec.interval == 15)
        #expect(spec.metric == .prometheus(name: "inference_requests_in_flight", port: 8080, path: "/metrics", quantile: nil))
        #expect(spec.scaleUp == .defaultScaleUp)
        #expect(spec.scaleDown == .defaultScaleDown)
        #expect(spec.tolerance == 0.1)
        #expect(service.replicas == 2)
    }

    @Test("cpu, memory and a histogram quantile; port from expose and path /metrics by default")
    func metricKinds() throws {
        let cpu = try loadService("x-reconcile:\n  autoscale: {min: 1, max: 3, metric: cpu, target: 70}")
        #expect(cpu.extensions.autoscale?.metric == .cpu)
        let memory = try loadService("mem_limit: 1g\nx-reconcile:\n  autoscale: {min: 1, max: 3, metric: memory, target: 80}")
        #expect(memory.extensions.autoscale?.metric == .memory)
        let latency = try loadService("""
            expose: ["9090"]
            x-reconcile:
              autoscale: {min: 1, max: 3, metric: {prometheus: latency_seconds, quantile: 0.99}, target: 0.25}
            """)
        #expect(latency.extensions.autoscale?.metric == .prometheus(name: "latency_seconds", port: 9090, path: "/metrics", quantile: 0.99))
    }

    @Test("every bad value is an error at its own line and key, with what to do")
    func badValues() throws {
        let errs = try serviceErrors("""
            x-reconcile:
              autoscale:
                min: 0
                max: many
                metric: {prometheus: "9lives", port: 70000, path: metrics, quantile: 1.5, scrape: x}
                target: -1
                interval: 0s
                scale_down_window: soon
                tolerance: 2
            """)
        let byKey = Dictionary(errs.map { ($0.keyPath, $0) }, uniquingKeysWith: { a, _ in a })
        let base = "services.s.x-reconcile.autoscale"
        #expect(byKey["\(base).min"]?.line == 6)
        #expect(byKey["\(base).max"]?.message == "expected a whole number, got `many`")
        #expect(byKey["\(base).metric.prometheus"]?.message == "`9lives` is not a Prometheus metric name")
        #expect(byKey["\(base).metric.port"] != nil)
        #expect(byKey["\(base).metric.path"]?.message == "the path must start with `/`, got `metrics`")
        #expect(byKey["\(base).metric.quantile"]?.message == "a quantile is between 0 and 1 exclusive, got 1.5")
        #expect(byKey["\(base).metric.scrape"]?.message == "unknown key")
        #expect(byKey["\(base).target"] != nil)
        #expect(byKey["\(base).interval"]?.message.hasPrefix("must be longer than 0 s") == true)
        #expect(byKey["\(base).scale_down_window"] != nil)
        #expect(byKey["\(base).tolerance"] != nil)
        #expect(errs.allSatisfy { $0.file == "docker-compose.yml" && $0.line > 0 })
    }

    @Test("missing keys, max below min, memory without a limit, an unknown metric, a fixed host port")
    func structural() throws {
        let missing = try serviceErrors("x-reconcile:\n  autoscale: {max: 2}")
        #expect(Set(missing.map(\.message)) == ["missing `min`", "missing `metric`", "missing `target`"])
        #expect(missing.allSatisfy { $0.hint != nil })
        let inverted = try serviceErrors("x-reconcile:\n  autoscale: {min: 4, max: 2, metric: cpu, target: 50}")
        #expect(inverted.map(\.message) == ["`max: 2` is below `min: 4`"])
        let memory = try serviceErrors("x-reconcile:\n  autoscale: {min: 1, max: 2, metric: memory, target: 50}")
        #expect(memory.first?.hint == "set `deploy.resources.limits.memory`")
        let unknown = try serviceErrors("x-reconcile:\n  autoscale: {min: 1, max: 2, metric: cpus, target: 50}")
        #expect(unknown.first?.message == "unknown metric `cpus`")
        #expect(unknown.first?.hint == "did you mean `cpu`?")
        let port = try serviceErrors("ports: [\"8080:80\"]\nx-reconcile:\n  autoscale: {min: 1, max: 3, metric: cpu, target: 50}")
        #expect(port.first?.message.contains("host port 8080 is published by a service with 3 replicas") == true)
    }

    @Test("replicas outside [min, max] starts within them, with a warning")
    func startingCount() throws {
        let yaml = "services:\n  s:\n    image: x\n    deploy: {replicas: 9}\n    x-reconcile:\n      autoscale: {min: 1, max: 4, metric: cpu, target: 50}\n"
        #expect(try loadProject(yaml).services[0].replicas == 4)
        #expect(try warnings(yaml).map(\.message) == ["`replicas: 9` is outside autoscale's [1, 4]: the service starts with 4"])
    }
}

@Suite("manifests/autoscale")
struct AutoscaleExampleTests {
    @Test("the autoscale example (a service behind nginx) loads without a warning, with a subnet for draining")
    func loads() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("manifests/autoscale/compose.yaml").path
        let loaded = try ManifestLoader(environment: [:]).load(paths: [path])
        #expect(loaded.warnings.isEmpty, "\(loaded.warnings)")
        let model = try #require(loaded.project.service(named: "model"))
        #expect(model.extensions.autoscale?.max == 6)
        #expect(model.extensions.autoscale?.metric == .prometheus(name: "reconcile_workload_requests_in_flight", port: 8080, path: "/metrics", quantile: nil))
        #expect(loaded.project.network(key: "default")?.subnets == ["172.28.64.0/24"])
        #expect(loaded.project.configs?.first?.content?.contains("proxy_pass $model;") == true)
    }
}
