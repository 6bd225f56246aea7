import Foundation
import ReconcileCore
import Testing

@testable import ReconcileManifest

@Suite("Top level")
struct ProjectTests {
    @Test("project name: init argument, then `name:`, then the normalised folder name")
    func projectName() throws {
        let fixture = try Fixture(["docker-compose.yml": "services:\n  a: {image: x}\n", "named.yml": "name: shop\nservices:\n  a: {image: x}\n"])
        defer { fixture.remove() }
        #expect(try fixture.load().project.name == "stack")
        #expect(try fixture.load(["named.yml"]).project.name == "shop")
        #expect(try fixture.loader(name: "other").load(paths: ["named.yml"]).project.name == "other")
        let bad = try errors("name: My Shop\nservices:\n  a: {image: x}\n")
        #expect(bad.count == 1)
        #expect(bad[0].hint == "use `myshop`")
    }

    @Test("version is accepted and ignored with a warning; x-* top-level fields are ignored")
    func versionAndExtensions() throws {
        let fixture = try Fixture(["docker-compose.yml": "version: \"3.8\"\nx-common: &common {image: x}\nservices:\n  a:\n    <<: *common\n"])
        defer { fixture.remove() }
        let loaded = try fixture.load()
        #expect(loaded.project.service(named: "a")?.image == "x")
        #expect(loaded.warnings.count == 1)
        #expect(loaded.warnings[0].description == "docker-compose.yml:1:1: warning: version: `version` is obsolete and ignored. Remove it")
    }

    @Test("top-level x-reconcile: gpus as ids or maps, history_limit")
    func projectExtensions() throws {
        let a = try loadProject("services:\n  a: {image: x}\nx-reconcile:\n  gpus: [0, 1]\n  history_limit: 5\n")
        #expect(a.extensions == ProjectExtensions(gpus: [GPUDevice(id: "0"), GPUDevice(id: "1")], historyLimit: 5))
        let b = try loadProject("""
            services:
              a: {image: x}
            x-reconcile:
              gpus:
                - {id: "0", uuid: GPU-aaa, memory: 80GiB}
                - id: "1"
            """)
        #expect(b.extensions.gpus == [GPUDevice(id: "0", uuid: "GPU-aaa", memoryBytes: 80 << 30), GPUDevice(id: "1")])
        let errs = try errors("services:\n  a: {image: x}\nx-reconcile:\n  history_limt: 3\n")
        #expect(errs.first?.hint == "did you mean `history_limit`?")
    }

    @Test("volumes and networks: external (bool and legacy map), name, driver, driver_opts, labels, internal, attachable, enable_ipv6")
    func resources() throws {
        let project = try loadProject("""
            services:
              a: {image: x, networks: [front, back, ext]}
            volumes:
              data:
                driver: local
                driver_opts: {type: none, o: bind, device: /srv/data}
                labels: [team=ml]
              pinned: {name: exact-name}
              shared: {external: true}
              old: {external: {name: legacy-name}}
            networks:
              front: {driver: bridge, attachable: true, enable_ipv6: true, labels: {a: b}}
              back: {internal: true, driver_opts: {com.docker.network.bridge.name: br-back}}
              ext: {external: true, name: corp-net}
            """)
        #expect(project.volumes == [
            Volume(key: "data", name: "stack_data", driver: "local", driverOpts: ["type": "none", "o": "bind", "device": "/srv/data"], labels: ["team": "ml"]),
            Volume(key: "old", name: "legacy-name", external: true),
            Volume(key: "pinned", name: "exact-name"),
            Volume(key: "shared", name: "shared", external: true),
        ])
        #expect(project.networks == [
            Network(key: "back", name: "stack_back", driverOpts: ["com.docker.network.bridge.name": "br-back"], internal: true),
            Network(key: "ext", name: "corp-net", external: true),
            Network(key: "front", name: "stack_front", driver: "bridge", labels: ["a": "b"], attachable: true, enableIPv6: true),
        ])
    }

    @Test("a declared networks.default replaces the implicit one")
    func declaredDefault() throws {
        let project = try loadProject("services:\n  a: {image: x}\nnetworks:\n  default: {name: my-net, driver: bridge}\n")
        #expect(project.networks == [Network(key: "default", name: "my-net", driver: "bridge")])
    }

    @Test("external resources reject settings that reconcile would have to create")
    func externalConflicts() throws {
        let errs = try errors("services:\n  a: {image: x}\nvolumes:\n  v: {external: true, driver: local}\n")
        #expect(errs.count == 1)
        #expect(errs[0].keyPath == "volumes.v.driver")
    }

    @Test("profiles: services with profiles are only included when one is active; services without always")
    func profiles() throws {
        let fixture = try Fixture(["docker-compose.yml": """
            services:
              app: {image: x}
              debug: {image: x, profiles: [debug]}
              tools: {image: x, profiles: [tools, debug]}
            """])
        defer { fixture.remove() }
        #expect(try fixture.load().project.services.map(\.name) == ["app"])
        #expect(try fixture.load(profiles: ["tools"]).project.services.map(\.name) == ["app", "tools"])
        #expect(try fixture.load(profiles: ["debug"]).project.services.map(\.name) == ["app", "debug", "tools"])
        #expect(try fixture.load(profiles: ["*"]).project.services.count == 3)
    }

    @Test("profiles: a required dependency on an inactive service is an error, an optional one is dropped")
    func profileDependencies() throws {
        let fixture = try Fixture(["docker-compose.yml": """
            services:
              app: {image: x, depends_on: {db: {condition: service_started, required: false}}}
              web: {image: x, depends_on: [db]}
              db: {image: x, profiles: [db]}
            """])
        defer { fixture.remove() }
        let (_, diags) = fixture.check()
        #expect(diags.map(\.severity) == [.warning, .error])
        #expect(diags[1].message.contains("not active with the selected profiles"))
        let project = try fixture.load(profiles: ["db"]).project
        #expect(project.service(named: "app")?.dependsOn == [Dependency(service: "db", required: false)])
    }

    @Test("the model is sorted: services, networks, volumes, mounts, ulimits, dependencies")
    func sorting() throws {
        let project = try loadProject("""
            services:
              zeta: {image: x, depends_on: [beta, alpha], volumes: [/z, /a]}
              alpha: {image: x}
              beta: {image: x}
            volumes: {b: {}, a: {}}
            """)
        #expect(project.services.map(\.name) == ["alpha", "beta", "zeta"])
        #expect(project.volumes.map(\.key) == ["a", "b"])
        #expect(project.service(named: "zeta")?.dependsOn.map(\.service) == ["alpha", "beta"])
        #expect(project.service(named: "zeta")?.mounts.map(\.target) == ["/a", "/z"])
    }

    @Test("the digest is stable across key order and changes with content")
    func digest() throws {
        let a = try Fixture(["docker-compose.yml": "services:\n  a: {image: x, restart: always}\n"])
        let b = try Fixture(["docker-compose.yml": "services:\n  a: {restart: always, image: x}\n"])
        let c = try Fixture(["docker-compose.yml": "services:\n  a: {restart: always, image: y}\n"])
        defer { [a, b, c].forEach { $0.remove() } }
        let (da, db, dc) = (try a.load().digest, try b.load().digest, try c.load().digest)
        #expect(da == db)
        #expect(da != dc)
        #expect(da.count == 64)
    }
}
