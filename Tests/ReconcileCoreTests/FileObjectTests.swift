import Foundation
import ReconcileCore
import ReconcileTestSupport
import Testing

/// `stack()` with a database password in a secret (from the environment) and an inline
/// config granted to `db`.
func stackWithSecrets(password: String = "hunter2-secret", config: String = "max_connections=100\n") -> Project {
    var project = stack()
    project.secrets = [
        FileObject(key: "db_password", source: .environment, reference: "DB_PASSWORD", content: password, digest: SHA256.hex(password)),
        FileObject(key: "tls_cert", source: .file, reference: "/srv/tls/cert.pem", digest: SHA256.hex("a certificate")),
    ]
    project.configs = [FileObject(key: "pg_conf", source: .content, content: config, digest: SHA256.hex(config))]
    let index = project.services.firstIndex { $0.name == "db" } ?? 0
    project.services[index].secrets = [
        FileGrant(source: "db_password", target: "/run/secrets/db_password", uid: "999", mode: 0o400),
        FileGrant(source: "tls_cert", target: "/run/secrets/tls_cert"),
    ]
    project.services[index].configs = [FileGrant(source: "pg_conf", target: "/etc/postgresql/pg.conf")]
    return project
}

@Suite("Secrets and configs in the plan, the hash and history")
struct FileObjectTests {
    @Test("configurations without secrets or configs keep the hash they had before these fields existed")
    func hashesOfExistingConfigurations() {
        // Computed with the code of the commit before secrets and configs were hashed.
        let pinned = [
            "api": "0387119b33e047d673ac0d218a50d6f501766cfb18f7a9f7d124bb5a781ad0b8",
            "db": "f34433f794d3522b392d1669d8f4343d6adb1f0940f3e4c3ab77bf70be340045",
            "worker": "93a7eca2ed037dbdbad5baf5bce30ed7f0afbd9a9d0c65bcdf14171eccd11277",
        ]
        let project = stack()
        for service in project.services {
            #expect(ReplicaConfig(service: service, project: project).hash() == pinned[service.name], "\(service.name)")
        }
    }

    @Test("a change of a secret's content recreates the replicas that use it, and the plan names the secret without its value")
    func secretContentChange() throws {
        let before = stackWithSecrets()
        let host = try converged(before)
        #expect(try plan(desired: before, observed: host.state).isEmpty)

        let after = stackWithSecrets(password: "correct-horse-battery")
        let result = try plan(desired: after, observed: host.state)
        #expect(result.steps.map(\.resource) == ["service:db:1"])
        let step = try #require(result.steps.first)
        #expect(step.action == .recreate)
        #expect(step.changes == [FieldChange(field: "secrets.db_password", from: "(sensitive)", to: "(sensitive)")])

        let text = PlanText.render(result)
        #expect(text.contains("secrets.db_password: (sensitive) → (sensitive)"))
        let encoder = JSONEncoder()
        let json = String(decoding: try encoder.encode(result), as: UTF8.self)
        for shown in [text, json] {
            for value in ["hunter2-secret", "correct-horse-battery"] {
                #expect(!shown.contains(value))
                #expect(!shown.contains(SHA256.hex(value)))
                #expect(!shown.contains(String(SHA256.hex(value).prefix(8))))
            }
        }
        // The labels a replica carries hold no value and no digest beyond the fingerprint.
        for container in host.state.containers {
            let labels = container.labels.values.joined(separator: "\n")
            #expect(!labels.contains("hunter2-secret"))
            #expect(!labels.contains(SHA256.hex("hunter2-secret")))
        }
    }

    @Test("a change of a config's content, target or mode recreates, and the plan says which")
    func configAndMountChanges() throws {
        let before = stackWithSecrets()
        let host = try converged(before)

        let config = try plan(desired: stackWithSecrets(config: "max_connections=200\n"), observed: host.state)
        let change = try #require(config.steps.first?.changes.first)
        #expect(change.field == "configs.pg_conf")
        #expect(change.from == "\"sha256:\(SHA256.hex("max_connections=100\n").prefix(12))\"")

        var moved = stackWithSecrets()
        let index = try #require(moved.services.firstIndex { $0.name == "db" })
        moved.services[index].secrets?[0].mode = 0o440
        let mode = try plan(desired: moved, observed: host.state)
        #expect(mode.steps.first?.changes == [FieldChange(field: "secrets.db_password.mode", from: "\"0400\"", to: "\"0440\"")])
    }

    @Test("every field of a granted file is hashed")
    func mountedFileFieldsAreHashed() {
        let project = stackWithSecrets()
        let db = project.services.first { $0.name == "db" }!
        let base = ReplicaConfig(service: db, project: project)
        let mutations: [(String, (inout MountedFile) -> Void)] = [
            ("name", { $0.name = "x" }), ("target", { $0.target = "/x" }), ("hostPath", { $0.hostPath = "/x" }),
            ("uid", { $0.uid = "1" }), ("gid", { $0.gid = "1" }), ("mode", { $0.mode = 0o777 }), ("digest", { $0.digest = "00" }),
        ]
        #expect(Mirror(reflecting: MountedFile(name: "", target: "")).children.count == mutations.count)
        for (name, mutate) in mutations {
            var secret = base, config = base
            mutate(&secret.secrets![0])
            mutate(&config.configs![0])
            #expect(secret.hash() != base.hash(), "changing secrets.\(name) must change the hash")
            #expect(config.hash() != base.hash(), "changing configs.\(name) must change the hash")
        }
        // An empty list is not the absence of one, and secrets are not configs.
        var empty = base
        empty.secrets = []
        #expect(empty.hash() != { var c = base; c.secrets = nil; return c.hash() }())
        var swapped = base
        swapped.configs = base.secrets
        swapped.secrets = base.configs
        #expect(swapped.hash() != base.hash())
    }

    @Test("history keeps neither a secret's content nor its digest, and a rollback takes them from the manifest at hand")
    func historyMasksAndRestores() throws {
        let project = stackWithSecrets()
        let revision = Revision(number: 1, project: "demo", time: 0, user: "u", host: "h", command: "apply", services: [], outcome: .applied, desired: project)
        let stored = try revision.encoded()
        #expect(!stored.contains("hunter2-secret"))
        #expect(!stored.contains(SHA256.hex("hunter2-secret")))
        #expect(!stored.contains("max_connections"), "config content is not kept either")
        #expect(revision.desired.secret(key: "db_password")?.digest == String(SHA256.hex("hunter2-secret").prefix(4)))

        let decoded = try Revision.decode(stored)
        let restored = try decoded.desired.restoring(secretsFrom: project, pinning: [])
        #expect(restored.secrets == project.secrets)
        #expect(restored.configs == project.configs)
        let db = project.services.first { $0.name == "db" }!
        #expect(ReplicaConfig(service: db, project: restored).hash() == ReplicaConfig(service: db, project: project).hash())

        var atHand = project
        atHand.secrets?.removeAll { $0.key == "db_password" }
        #expect(throws: MissingSecrets.self) { try decoded.desired.restoring(secretsFrom: atHand, pinning: []) }
        do {
            _ = try decoded.desired.restoring(secretsFrom: atHand, pinning: [])
        } catch let error as MissingSecrets {
            #expect(error.variables == ["secrets.db_password"])
        }
    }

    @Test("a revision written before secrets existed still decodes")
    func oldRevisionDecodes() throws {
        let old = Revision(number: 1, project: "demo", time: 0, user: "u", host: "h", command: "apply", services: [], outcome: .applied, desired: stack())
        let text = try old.encoded()
        #expect(!text.contains("\"secrets\""))
        #expect(try Revision.decode(text).desired == old.desired)
    }
}
