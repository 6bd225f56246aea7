import ReconcileCore
import Testing

@testable import ReconcileManifest

@Suite("Errors")
struct ErrorTests {
    @Test("a misspelled key names file, line, column and key path, and suggests the closest key")
    func misspelledKey() throws {
        let errs = try errors("""
            services:
              api:
                image: x
                enviroment:
                  A: 1
            """)
        #expect(errs.count == 1)
        #expect(errs[0].description == "docker-compose.yml:4:5: error: services.api.enviroment: unknown key. Did you mean `environment`?")
    }

    @Test("a wrong type says what was expected and what was found")
    func wrongType() throws {
        let errs = try serviceErrors("environment: FOO=bar\nports: \"80\"\ninit: maybe")
        #expect(errs.map(\.message) == [
            "expected a list or a map, got a string",
            "expected a list, got a string",
            "expected true or false, got a string",
        ])
        #expect(errs.map(\.line) == [4, 5, 6])
    }

    @Test("Compose keys reconcile does not support are errors, never silently ignored")
    func unsupportedKeys() throws {
        let errs = try serviceErrors("isolation: process\nsecrets: [token]\nprovider: {type: x}")
        #expect(errs.count == 3)
        #expect(errs[0].message.hasPrefix("`isolation` chooses the isolation technology of Windows containers"))
        #expect(errs[1].message == "secret `token` is not declared in the top-level `secrets`")
        let top = try errors("services:\n  a: {image: x}\nmodels:\n  m: {model: ai/x}\n")
        #expect(top.count == 1)
        #expect(top[0].keyPath == "models")
    }

    @Test("all problems are reported together")
    func manyErrors() throws {
        let yaml = """
            services:
              api:
                image: x
                ports: ["99999:80"]
                depends_on: [dbb]
                healthcheck: {interval: soon}
                deploy: {resources: {limits: {memory: 12q}}}
              db:
                imag: postgres
            """
        let errs = try errors(yaml)
        #expect(errs.count == 6)
        #expect(errs.map(\.line) == [4, 5, 6, 7, 8, 9])
        #expect(errs[1].message == "depends on `dbb`, which is not a service of this manifest")
        #expect(errs[1].hint == "did you mean `db`?")
        let fixture = try Fixture(["docker-compose.yml": yaml])
        defer { fixture.remove() }
        #expect(throws: ManifestError.self) { try fixture.load() }
        do {
            _ = try fixture.load()
        } catch let error as ManifestError {
            #expect(error.diagnostics.count == 6)
            #expect(error.description.split(separator: "\n").count == 6)
        }
    }

    @Test("depends_on cycles are errors")
    func cycles() throws {
        let errs = try errors("""
            services:
              a: {image: x, depends_on: [b]}
              b: {image: x, depends_on: [c]}
              c: {image: x, depends_on: [a]}
              d: {image: x, depends_on: [d]}
            """)
        #expect(errs.count == 2)
        #expect(errs.contains { $0.message == "dependency cycle: a → b → c → a" })
        #expect(errs.contains { $0.message == "service d depends on itself" })
    }

    @Test("duplicate published host ports within the project are errors, as are fixed host ports on several replicas")
    func duplicatePorts() throws {
        let errs = try errors("""
            services:
              a: {image: x, ports: ["8080:80"]}
              b: {image: x, ports: ["127.0.0.1:8080:81", "9000:9000/udp", "9000:9000"]}
              c: {image: x, ports: ["7000:70"], deploy: {replicas: 2}}
              d: {image: x, ports: ["80"], deploy: {replicas: 3}}
            """)
        #expect(errs.count == 2)
        #expect(errs[0].message.hasPrefix("host port 8080/tcp is already published by service a (docker-compose.yml:2"))
        #expect(errs[0].line == 3)
        #expect(errs[1].message.contains("2 replicas"))
    }

    @Test("unknown networks and bad values point at the value and suggest")
    func badValues() throws {
        let errs = try errors("""
            services:
              a:
                image: x
                networks: [fronted]
                restart: allways
                pull_policy: sometimes
                stop_grace_period: 5 minutes
            networks:
              frontend: {}
            """)
        #expect(errs.count == 4)
        #expect(errs[0].hint == "did you mean `frontend`?")
        #expect((errs[0].line, errs[0].column) == (4, 16))
        #expect(errs[1].hint == "did you mean `always`?")
        #expect(errs[2].message == "invalid value `sometimes`")
        #expect(errs[3].message == "invalid duration `5 minutes`")
    }

    @Test("invalid YAML is an error with the parser's position")
    func invalidYAML() throws {
        let errs = try errors("services:\n  a:\n    image: [x\n")
        #expect(errs.count == 1)
        #expect(errs[0].message.hasPrefix("invalid YAML"))
        let dup = try errors("services:\n  a: {image: x}\n  a: {image: y}\n")
        #expect(dup.count == 1)
        #expect(dup[0].message.contains("duplicate key `a`"))
    }

    @Test("a missing file or an empty folder is an error")
    func missingFiles() throws {
        let fixture = try Fixture(["empty/readme.txt": "x"])
        defer { fixture.remove() }
        let (manifest, diags) = fixture.check(["nope.yml", "empty"])
        #expect(manifest == nil)
        #expect(diags.count == 2)
        #expect(diags[0].file == "nope.yml")
    }

    @Test("GPU requests are checked against an explicit x-reconcile.gpus inventory")
    func gpuDiscovery() throws {
        let errs = try errors("""
            services:
              a: {image: x, gpus: [{device_ids: ["7"]}]}
              b: {image: x, gpus: 3}
            x-reconcile: {gpus: ["0", "1"]}
            """)
        #expect(errs.count == 2)
        #expect(errs[0].message == "GPU `7` is not in `x-reconcile.gpus`")
        #expect(errs[1].message == "asks for 3 GPUs per replica, the host has 2")
    }

    @Test("a misspelled x-reconcile is a warning, since extension fields are otherwise ignored")
    func misspelledExtension() throws {
        let diags = try diagnostics("services:\n  a:\n    image: x\n    x-reconcle: {gpu: optional}\nx-recocile: {history_limit: 3}\n")
        #expect(diags.map(\.severity) == [.warning, .warning])
        #expect(diags[0].description == "docker-compose.yml:4:5: warning: services.a.x-reconcle: extension field ignored. Did you mean `x-reconcile`?")
        #expect(diags[1].line == 5)
    }

    @Test("check returns the manifest together with its warnings when there is no error")
    func checkWithWarnings() throws {
        let fixture = try Fixture(["docker-compose.yml": "version: '3'\nservices:\n  a: {image: x, build: .}\n", "Dockerfile": "FROM x\n"])
        defer { fixture.remove() }
        let (manifest, diags) = fixture.check()
        #expect(manifest?.project.services.count == 1)
        #expect(diags.count == 1)
        #expect(manifest?.warnings == diags)
    }

    @Test("a YAML syntax error carries the parser's line and column")
    func yamlPosition() throws {
        let errs = try errors("services:\n  a:\n    image: x\n   bad: indent\n")
        #expect(errs.count == 1)
        #expect(errs[0].line == 4)
        #expect(errs[0].column >= 1)
    }
}
