import DockerEngine
import Foundation
import ReconcileCore
import Testing

extension ProjectFixture {
    /// Runs `docker exec CONTAINER ARGS` against the test engine: (exit status, stdout).
    func exec(_ container: String, _ arguments: String...) throws -> (status: Int32, output: String) {
        let docker = ["/usr/bin/docker", "/usr/local/bin/docker"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "docker"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: docker)
        process.arguments = ["--host", host, "exec", container] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

@Suite("secrets and configs against a real engine", .tags(.engine), .serialized)
struct SecretFilesTests {
    static func manifest() -> String {
        """
        services:
          app:
            image: \(ProjectFixture.image1)
            command: ["sleep", "100000"]
            init: true
            secrets:
              - tls
              - source: db_password
                uid: "1000"
                gid: "1001"
                mode: 0400
            configs:
              - source: app_config
                target: /etc/app.conf
                mode: 0640
          other:
            image: \(ProjectFixture.image1)
            command: ["sleep", "100000"]
            init: true
        secrets:
          tls: {file: ./tls.pem}
          db_password: {environment: DB_PASSWORD}
        configs:
          app_config:
            content: |
              level=debug
        """
    }

    @Test("a file secret is bind-mounted read-only; an environment secret and a content config are written before the start with their owner and mode; a new secret value recreates only its replica, and the value shows nowhere")
    func secretsAndConfigs() async throws {
        try await ProjectFixture.run("secrets") { f in
            let first = "first-4b1d9c-value", second = "second-77e0aa-value"
            try "FILE-SECRET-CONTENT\n".write(to: f.directory.appendingPathComponent("tls.pem"), atomically: true, encoding: .utf8)
            try f.write(Self.manifest() + "\n")
            let applied = try f.reconcile(["apply", "--yes"], environment: ["DB_PASSWORD": first])
            #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
            let app = f.name("app", 1)

            #expect(try f.exec(app, "cat", "/run/secrets/tls").output == "FILE-SECRET-CONTENT\n")
            #expect(try f.exec(app, "sh", "-c", "echo changed > /run/secrets/tls").status != 0, "a file secret is mounted read-only")
            #expect(try f.exec(app, "cat", "/run/secrets/db_password").output == first)
            #expect(try f.exec(app, "stat", "-c", "%a %u %g", "/run/secrets/db_password").output == "400 1000 1001\n")
            #expect(try f.exec(app, "cat", "/etc/app.conf").output == "level=debug\n")
            #expect(try f.exec(app, "stat", "-c", "%a %u %g", "/etc/app.conf").output == "640 0 0\n")
            let mounts = try await f.client.inspectContainer(app).mounts ?? []
            #expect(mounts.contains { $0.destination == "/run/secrets/tls" && $0.rw == false })

            // A new value: the plan names the secret, never the value, and only `app` is replaced.
            let before = try await f.containers()
            let plan = try f.reconcile(["plan"], environment: ["DB_PASSWORD": second])
            #expect(plan.stdout.contains("service:app:1"), "\(plan.stdout)\(plan.stderr)")
            #expect(plan.stdout.contains("secrets.db_password: (sensitive) → (sensitive)"), "\(plan.stdout)")
            #expect(!plan.stdout.contains("service:other"))
            let json = try f.reconcile(["plan", "--output", "json"], environment: ["DB_PASSWORD": second])
            let reapplied = try f.reconcile(["apply", "--yes"], environment: ["DB_PASSWORD": second])
            #expect(reapplied.status == 0, "\(reapplied.stdout)\(reapplied.stderr)")
            let after = try await f.containers()
            #expect(after[app]?.id != before[app]?.id)
            #expect(after[f.name("other", 1)]?.id == before[f.name("other", 1)]?.id)
            #expect(try f.exec(app, "cat", "/run/secrets/db_password").output == second)

            // Nowhere: plan text and JSON, apply's output, labels, history and its diff.
            let history = try f.reconcile(["history", "--output", "json"], environment: ["DB_PASSWORD": second])
            let historyText = try f.reconcile(["history"], environment: ["DB_PASSWORD": second])
            let diff = try f.reconcile(["diff", "1", "2"], environment: ["DB_PASSWORD": second])
            #expect(diff.stdout.contains("secrets.db_password"), "\(diff.stdout)\(diff.stderr)")
            var stored: [String] = []
            for name in [app, f.name("other", 1)] {
                let inspect = try await f.client.inspectContainer(name)
                stored += (inspect.config?.labels ?? [:]).map { "\($0.key)=\($0.value)" }
                stored += inspect.config?.env ?? []
            }
            for volume in try await f.client.listVolumes(filters: .label(LabelKey.history, f.project)) {
                stored += (volume.labels ?? [:]).map { "\($0.key)=\($0.value)" }
            }
            #expect(!stored.isEmpty)
            let everything = [
                applied.stdout, applied.stderr, plan.stdout, plan.stderr, json.stdout, reapplied.stdout, reapplied.stderr,
                history.stdout, historyText.stdout, diff.stdout, stored.joined(separator: "\n"),
            ].joined(separator: "\n")
            for value in [first, second] {
                #expect(!everything.contains(value), "the value \(value) leaked")
                #expect(!everything.contains(SHA256.hex(value)), "the digest of \(value) leaked")
                #expect(!everything.contains(String(SHA256.hex(value).prefix(12))), "the digest of \(value) leaked")
            }
            #expect(!everything.contains("FILE-SECRET-CONTENT"))
        }
    }

    @Test("a changed secret file recreates the replicas that use it")
    func fileChange() async throws {
        try await ProjectFixture.run("secretfile") { f in
            let path = f.directory.appendingPathComponent("tls.pem")
            try "one\n".write(to: path, atomically: true, encoding: .utf8)
            try f.write(Self.manifest() + "\n")
            #expect(try f.reconcile(["apply", "--yes"], environment: ["DB_PASSWORD": "x"]).status == 0)
            let before = try await f.containers()
            try "two\n".write(to: path, atomically: true, encoding: .utf8)
            let plan = try f.reconcile(["plan"], environment: ["DB_PASSWORD": "x"])
            #expect(plan.stdout.contains("secrets.tls: (sensitive) → (sensitive)"), "\(plan.stdout)\(plan.stderr)")
            #expect(try f.reconcile(["apply", "--yes"], environment: ["DB_PASSWORD": "x"]).status == 0)
            let after = try await f.containers()
            #expect(after[f.name("app", 1)]?.id != before[f.name("app", 1)]?.id)
            #expect(try f.exec(f.name("app", 1), "cat", "/run/secrets/tls").output == "two\n")
        }
    }
}
