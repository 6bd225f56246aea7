import DockerEngine
import Foundation
import ReconcileCore
import ReconcileRuntime
import Testing

/// The create body for the pass-through keys, without an engine.
@Suite("Container create body")
struct ContainerSpecTests {
    static func project(_ configure: (inout Service) -> Void) -> Project {
        var service = Service(name: "web", image: "busybox", networks: [ServiceNetwork(key: "default")])
        configure(&service)
        let db = Service(name: "db", image: "busybox", networks: [ServiceNetwork(key: "default")])
        return Project(name: "demo", services: [service, db], networks: [Network(key: "default", name: "demo_default")])
    }

    @Test("healthcheck.start_interval is sent to engines with API 1.44 and later, and taken out for older ones")
    func startInterval() throws {
        let project = Self.project { $0.healthcheck = Healthcheck(test: ["CMD", "true"], startPeriod: 30, startInterval: 1) }
        var spec = ContainerSpec(project: project, service: project.services[1], replica: 1, name: "demo-web-1")
        #expect(spec.request.config.healthcheck?.startInterval == 1_000_000_000)
        var old = spec
        try old.adapt(to: APIVersion(1, 41))
        #expect(old.request.config.healthcheck?.startInterval == nil)
        #expect(old.request.config.healthcheck?.startPeriod == 30_000_000_000)
        try spec.adapt(to: APIVersion(1, 44))
        #expect(spec.request.config.healthcheck?.startInterval == 1_000_000_000)
    }

    @Test("network_mode service:db joins db's replica 1 and no network; volumes_from and links name its container")
    func references() throws {
        let project = Self.project { service in
            service.networks = []
            service.options = ContainerOptions()
            service.options?.networkMode = "service:db"
            service.options?.volumesFrom = ["service:db:ro", "container:other"]
            service.options?.annotations = ["a": "b"]
        }
        let web = try #require(project.service(named: "web"))
        var spec = ContainerSpec(project: project, service: web, replica: 1, name: "demo-web-1")
        #expect(spec.request.hostConfig?.networkMode == "container:demo-db-1")
        #expect(spec.request.networkingConfig == nil && spec.extraNetworks.isEmpty)
        #expect(spec.request.hostConfig?.volumesFrom == ["demo-db-1:ro", "other"])
        #expect(throws: (any Error).self) { try spec.adapt(to: APIVersion(1, 41)) }
        try spec.adapt(to: APIVersion(1, 43))
        #expect(spec.request.hostConfig?.annotations == ["a": "b"])
    }
}
