import Foundation
import ReconcileCore
import Testing

@testable import ReconcileManifest

@Suite("secrets and configs")
struct SecretsTests {
    static let manifest = """
        services:
          app:
            image: busybox
            secrets:
              - db_password
              - source: api_key
                target: api.key
                uid: "1000"
                gid: 1000
                mode: 0400
              - source: cert
                target: /etc/tls/cert.pem
            configs:
              - app_config
              - source: motd
                target: etc/motd
                mode: "0644"
        secrets:
          db_password: {environment: DB_PASSWORD}
          api_key: {content: "inline-key"}
          cert: {file: ./tls/cert.pem}
        configs:
          app_config:
            content: |
              debug=${DEBUG:-false}
          motd: {file: motd.txt}
        """

    @Test("top level file, environment and content; short and long grants with their targets, owners and modes")
    func forms() throws {
        let fixture = try Fixture(["docker-compose.yml": Self.manifest, "tls/cert.pem": "CERT", "motd.txt": "hello"])
        defer { fixture.remove() }
        let loaded = try fixture.load(env: ["DB_PASSWORD": "s3cret"])
        let project = loaded.project
        let root = (fixture.dir as NSString).standardizingPath
        #expect(project.secrets == [
            FileObject(key: "api_key", source: .content, content: "inline-key", digest: SHA256.hex("inline-key")),
            FileObject(key: "cert", source: .file, reference: root + "/tls/cert.pem", digest: SHA256.hex("CERT")),
            FileObject(key: "db_password", source: .environment, reference: "DB_PASSWORD", content: "s3cret", digest: SHA256.hex("s3cret")),
        ])
        #expect(project.configs?.map(\.key) == ["app_config", "motd"])
        #expect(project.config(key: "app_config")?.content == "debug=false\n", "content is interpolated")
        let app = try #require(project.service(named: "app"))
        #expect(app.secrets == [
            FileGrant(source: "cert", target: "/etc/tls/cert.pem"),
            FileGrant(source: "api_key", target: "/run/secrets/api.key", uid: "1000", gid: "1000", mode: 0o400),
            FileGrant(source: "db_password", target: "/run/secrets/db_password"),
        ])
        #expect(app.configs == [
            FileGrant(source: "app_config", target: "/app_config"),
            FileGrant(source: "motd", target: "/etc/motd"),
        ])
        // A file's mode is the host file's: ignored with a warning, as in Compose.
        let warnings = loaded.warnings.filter { $0.keyPath.hasPrefix("services.app.configs") }
        #expect(warnings.count == 1 && warnings[0].line == 15)
    }

    @Test("a mode is octal however it is written; an unquoted number without a leading 0 is decimal, as YAML reads it")
    func modes() throws {
        for (text, mode) in [("0440", 0o440), ("\"0440\"", 0o440), ("0o440", 0o440), ("\"440\"", 0o440), ("288", 0o440), ("0755", 0o755)] {
            let service = try loadService("secrets: [{source: s, mode: \(text)}]", top: "secrets:\n  s: {content: x}\n")
            #expect(service.secrets?.first?.mode == mode, "\(text)")
        }
        let errs = try serviceErrors("secrets: [{source: s, mode: 0999, uid: root}]", top: "secrets:\n  s: {content: x}\n")
        #expect(errs.map(\.message) == ["invalid mode `0999`", "expected a numeric id, got `root`"])
    }

    @Test("an undeclared secret, a missing variable and an unreadable file are errors once a service uses them")
    func sourceErrors() throws {
        let errs = try errors("""
            services:
              app:
                image: busybox
                secrets: [db_pasword, token, cert]
            secrets:
              db_password: {content: x}
              token: {environment: TOKEN}
              cert: {file: ./nope.pem}
              unused_token: {environment: NOT_SET_EITHER}
              unused_file: {file: ./nope-too.pem}
            """)
        #expect(errs.count == 3)
        #expect(errs.prefix(2).map(\.message) == [
            "secret `db_pasword` is not declared in the top-level `secrets`",
            "the variable `TOKEN` that secret `token` reads is not set",
        ])
        #expect(errs.last?.message.hasPrefix("the secret file `./nope.pem` cannot be read (looked at /") == true)
        #expect(errs[0].hint == "did you mean `db_password`?")
        #expect(errs.map(\.line) == [4, 7, 8])
        #expect(errs.map(\.keyPath) == ["services.app.secrets[0]", "secrets.token.environment", "secrets.cert.file"])
    }

    @Test("external secrets and configs are refused: they live in Swarm's store, which a single engine does not have")
    func external() throws {
        let errs = try errors("""
            services:
              app:
                image: busybox
                secrets: [vault]
                configs: [{source: shared}]
            secrets:
              vault: {external: true, name: prod_vault}
            configs:
              shared: {external: true}
            """)
        #expect(errs.count == 2)
        #expect(errs[0].description == "docker-compose.yml:4:15: error: services.app.secrets[0]: secret `vault` is external (docker-compose.yml:7): external secrets live in Docker Swarm's store, which a single engine does not have. Give it a `file`, `environment` or `content` source")
        #expect(errs[1].line == 5 && errs[1].message.hasPrefix("config `shared` is external"))
    }

    @Test("a secret has exactly one source; Swarm-only keys and `external` with a source are refused")
    func malformed() throws {
        let errs = try errors("""
            services:
              app: {image: busybox}
            secrets:
              a: {file: ./a, content: b}
              b: {name: just-a-name}
              c: {external: true, file: ./c}
              d: {content: x, driver: vault, template_driver: golang}
            """)
        #expect(errs.map(\.message) == [
            "`file` and `content` are both set; a secret has one source",
            "secret `b` has no source",
            "an external secret is used as it is; `file` cannot be set",
            "`driver` configures Docker Swarm's secret store; a single engine has none",
            "`template_driver` configures Docker Swarm's secret store; a single engine has none",
        ])
    }

    @Test("two grants on one target, and a read-only container that would need files written, are errors")
    func targets() throws {
        let errs = try errors("""
            services:
              app:
                image: busybox
                read_only: true
                secrets: [a, {source: b, target: a}]
                configs: [{source: c, target: /run/secrets/a}]
            secrets:
              a: {content: x}
              b: {content: y}
            configs:
              c: {content: z}
            """)
        #expect(errs.contains { $0.message == "`/run/secrets/a` is already the target of secret a" && $0.keyPath == "services.app.secrets[1]" })
        #expect(errs.contains { $0.message == "`/run/secrets/a` is already the target of secret a" && $0.keyPath == "services.app.configs[0]" })
        #expect(errs.contains { $0.message.hasPrefix("a read-only container cannot have secrets written into it") })
    }

    @Test("an override file replaces a grant with the same target and adds the others")
    func merge() throws {
        let fixture = try Fixture([
            "docker-compose.yml": """
                services:
                  app:
                    image: busybox
                    secrets: [a, {source: b, target: shared}]
                secrets:
                  a: {content: "1"}
                  b: {content: "2"}
                  c: {content: "3"}
                """,
            "override.yml": "services:\n  app:\n    secrets: [{source: c, target: shared}, a]\n",
        ])
        defer { fixture.remove() }
        let app = try #require(try fixture.load(["docker-compose.yml", "override.yml"]).project.service(named: "app"))
        #expect(app.secrets == [FileGrant(source: "a", target: "/run/secrets/a"), FileGrant(source: "c", target: "/run/secrets/shared")])
    }

    @Test("the manifest digest moves when a secret file's content does")
    func digestFollowsFiles() throws {
        let fixture = try Fixture([
            "docker-compose.yml": "services:\n  app:\n    image: busybox\n    secrets: [s]\nsecrets:\n  s: {file: s.txt}\n",
            "s.txt": "one",
        ])
        defer { fixture.remove() }
        let before = try fixture.load().digest
        try fixture.write("s.txt", "two")
        #expect(try fixture.load().digest != before)
    }
}
