import ReconcileCore
import Testing

@testable import ReconcileManifest

@Suite("Merging files")
struct MergeTests {
    static let base = """
        services:
          api:
            image: api:1
            command: ["serve", "--port", "80"]
            environment:
              A: "1"
              B: "1"
            labels: [tier=web]
            ports: ["8080:80"]
            expose: ["81"]
            volumes:
              - data:/data
              - ./logs:/logs
            healthcheck:
              test: ["CMD", "true"]
              interval: 10s
            deploy:
              replicas: 0
              resources: {limits: {memory: 1g}}
        volumes:
          data: {}
        """

    @Test("two files: maps merge, later scalars win, environment and labels by key, ports and expose append, volumes by target, command and healthcheck.test replaced")
    func twoFiles() throws {
        let fixture = try Fixture([
            "docker-compose.yml": Self.base,
            "override.yml": """
                services:
                  api:
                    image: api:2
                    command: serve
                    environment: [B=2, C=3]
                    labels: {owner: me}
                    ports: ["9090:90"]
                    expose: ["81", "82"]
                    volumes:
                      - other:/data
                    healthcheck:
                      test: curl -f localhost
                    deploy:
                      replicas: 1
                volumes:
                  other: {}
                """,
        ])
        defer { fixture.remove() }
        let loaded = try fixture.load(["docker-compose.yml", "override.yml"])
        #expect(loaded.files == ["docker-compose.yml", "override.yml"])
        let api = try #require(loaded.project.service(named: "api"))
        #expect(api.image == "api:2")
        #expect(api.command == ["serve"])
        #expect(api.environment == ["A": "1", "B": "2", "C": "3"])
        #expect(api.labels == ["tier": "web", "owner": "me"])
        #expect(api.ports == [PortMapping(target: 80, published: 8080), PortMapping(target: 90, published: 9090)])
        #expect(api.expose == ["81", "82"])
        #expect(api.mounts == [
            Mount(type: .volume, source: "other", target: "/data"),
            Mount(type: .bind, source: fixture.dir + "/logs", target: "/logs"),
        ])
        #expect(api.healthcheck == Healthcheck(test: ["CMD-SHELL", "curl -f localhost"], interval: 10))
        #expect(api.replicas == 1)
        #expect(api.limits.memoryBytes == 1 << 30)
        #expect(loaded.project.volumes.map(\.key) == ["data", "other"])
    }

    @Test("three files merge in order, and !reset / !override clear or replace a value")
    func threeFiles() throws {
        let fixture = try Fixture([
            "docker-compose.yml": Self.base,
            "b.yml": "services:\n  api:\n    environment: {B: b}\n    ports: !override [\"7070:70\"]\n  worker: {image: w}\n",
            "c.yml": "services:\n  api:\n    environment:\n      B: c\n      A: !reset null\n    expose: !reset []\n",
        ])
        defer { fixture.remove() }
        let project = try fixture.load(["docker-compose.yml", "b.yml", "c.yml"]).project
        let api = try #require(project.service(named: "api"))
        #expect(api.environment == ["B": "c"])
        #expect(api.ports == [PortMapping(target: 70, published: 7070)])
        #expect(api.expose == [])
        #expect(project.services.map(\.name) == ["api", "worker"])
    }

    @Test("a folder loads its *.yaml and *.yml files in name order")
    func folder() throws {
        let fixture = try Fixture([
            "conf/10-base.yml": "services:\n  a: {image: a:1, environment: {X: base}}\n",
            "conf/20-more.yaml": "services:\n  a: {image: a:2}\n  b: {image: b}\n",
            "conf/notes.txt": "not yaml",
            "conf/30-env.yml": "services:\n  a: {environment: {X: last}}\n",
        ])
        defer { fixture.remove() }
        let loaded = try fixture.load(["conf"])
        #expect(loaded.files == ["conf/10-base.yml", "conf/20-more.yaml", "conf/30-env.yml"])
        #expect(loaded.project.name == "conf")
        #expect(loaded.project.service(named: "a")?.image == "a:2")
        #expect(loaded.project.service(named: "a")?.environment == ["X": "last"])
        #expect(loaded.project.services.count == 2)
    }

    @Test("after a merge, a bad value is reported at the file and line that contributed it")
    func positionsAfterMerge() throws {
        let fixture = try Fixture([
            "docker-compose.yml": Self.base,
            "override.yml": "services:\n  api:\n    deploy:\n      resources:\n        limits:\n          memory: lots\n",
        ])
        defer { fixture.remove() }
        let (manifest, diags) = fixture.check(["docker-compose.yml", "override.yml"])
        #expect(manifest == nil)
        #expect(diags.count == 1)
        #expect(diags[0].description == "override.yml:6:19: error: services.api.deploy.resources.limits.memory: invalid size `lots`. Write bytes or a number with a unit, e.g. `512m`, `1g`, `1GiB`")
    }

    @Test("errors in several files are all reported, in file order")
    func errorsAcrossFiles() throws {
        let fixture = try Fixture([
            "a.yml": "services:\n  x:\n    image: x\n    restrat: always\n",
            "b.yml": "services:\n  y:\n    imgae: y\n",
        ])
        defer { fixture.remove() }
        let (_, diags) = fixture.check(["a.yml", "b.yml"])
        let errs = diags.filter { $0.severity == .error }
        #expect(errs.map(\.file) == ["a.yml", "b.yml", "b.yml"])
        #expect(errs[0].hint == "did you mean `restart`?")
        #expect(errs[1].message == "service y has no `image`")
        #expect(errs[2].hint == "did you mean `image`?")
    }

    @Test("an empty key in a later file adds nothing, identical ports are not doubled, depends_on forms merge")
    func emptyAndDuplicates() throws {
        let fixture = try Fixture([
            "docker-compose.yml": "services:\n  a: {image: x, ports: [\"8080:80\"], depends_on: [b]}\n  b: {image: x}\n",
            "o.yml": "services:\n  a:\n    ports: [\"8080:80\"]\n    depends_on:\n      b: {condition: service_healthy}\nvolumes:\n",
            "p.yml": "services:\n",
        ])
        defer { fixture.remove() }
        let project = try fixture.load(["docker-compose.yml", "o.yml", "p.yml"]).project
        #expect(project.services.map(\.name) == ["a", "b"])
        #expect(project.service(named: "a")?.ports == [PortMapping(target: 80, published: 8080)])
        #expect(project.service(named: "a")?.dependsOn == [Dependency(service: "b", condition: .healthy)])
    }
}
