import Foundation
import ReconcileCore
import Testing

@testable import ReconcileManifest

@Suite("manifests/ml-stack")
struct MLStackTests {
    static var manifest: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("manifests/ml-stack/docker-compose.yml").path
    }

    @Test("the ML stack example loads with the expected shape")
    func loads() throws {
        let loader = ManifestLoader(environment: ["POSTGRES_PASSWORD": "s3cret"])
        let loaded = try loader.load(paths: [Self.manifest])
        #expect(loaded.warnings.isEmpty)
        let project = loaded.project
        #expect(project.name == "ml-stack")
        #expect(project.services.map(\.name) == ["api", "db", "model"])
        #expect(project.volumes == [
            Volume(key: "models", name: "ml-models", external: true),
            Volume(key: "pgdata", name: "ml-stack_pgdata"),
        ])
        #expect(project.networks == [Network(key: "default", name: "ml-stack_default")])

        let api = try #require(project.service(named: "api"))
        #expect(api.ports == [PortMapping(target: 8000, published: 8000, hostIP: "127.0.0.1")])
        #expect(api.dependsOn == [Dependency(service: "db", condition: .healthy), Dependency(service: "model", condition: .healthy)])
        #expect(api.environment["LOG_LEVEL"] == "info")

        let db = try #require(project.service(named: "db"))
        #expect(db.mounts == [Mount(type: .volume, source: "pgdata", target: "/var/lib/postgresql/data")])
        #expect(db.healthcheck?.test == ["CMD-SHELL", "pg_isready -U app -d app"])
        #expect(db.healthcheck?.startPeriod == 20)
        #expect(db.environment["POSTGRES_PASSWORD"] == "s3cret")
        #expect(db.secretEnv == ["POSTGRES_PASSWORD"])

        let model = try #require(project.service(named: "model"))
        #expect(model.replicas == 2)
        #expect(model.devices == [DeviceRequest(driver: "nvidia", count: .exactly(1), capabilities: ["gpu"])])
        #expect(model.updateConfig == UpdatePolicy(parallelism: 1, order: .startFirst, failureAction: .rollback, monitor: 30))
        #expect(model.extensions.gpuPlacement == .distinct)
        #expect(model.extensions.gpuMemoryBytes == 24 << 30)
        #expect(model.extensions.validate?.mode == .endpoint)
        #expect(model.ulimits == [Ulimit(name: "memlock", soft: -1, hard: -1), Ulimit(name: "stack", soft: 67_108_864, hard: 67_108_864)])
    }

    @Test("the ML stack example without its password fails with the position of the password")
    func needsPassword() throws {
        let (manifest, diags) = ManifestLoader(environment: [:]).check(paths: [Self.manifest])
        #expect(manifest == nil)
        let errs = diags.filter { $0.severity == .error }
        #expect(errs.count == 1)
        #expect(errs.first?.keyPath == "services.db.environment.POSTGRES_PASSWORD")
    }
}
