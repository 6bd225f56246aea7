import DockerEngine
import Foundation
import ReconcileCore
import Testing

/// A stack with a secret value, so tests can check it never reaches a file or an output.
private func secretStack(level: String = "info") -> String {
    """
    services:
      web:
        image: \(ProjectFixture.image1)
        command: ["sleep", "100000"]
        init: true
        environment:
          LOG_LEVEL: \(level)
          API_TOKEN: tok-ZX81-very-secret
        x-reconcile:
          secret_env: [API_TOKEN]
    """
}

extension ProjectFixture {
    /// Runs `reconcile ARGS --host host` without `-f`: for `apply PLANFILE`.
    func reconcileBare(_ arguments: String...) throws -> Output {
        try reconcile(arguments, environment: [:], manifest: false)
    }

    var planPath: String { directory.appendingPathComponent("tfplan.json").path }
}

@Suite("saved plans against a real engine", .tags(.engine), .serialized)
struct SavedPlanTests {
    @Test("plan --out then apply FILE carries out exactly that plan; the file holds no secret value")
    func savedPlanApplied() async throws {
        try await ProjectFixture.run("saved") { f in
            try f.write(secretStack())
            let planned = try f.reconcile("plan", "--out", f.planPath)
            #expect(planned.status == 0, "\(planned.stdout)\(planned.stderr)")
            #expect(planned.stdout.contains("reconcile apply \(f.planPath)"))
            let file = try String(contentsOfFile: f.planPath, encoding: .utf8)
            #expect(!file.contains("tok-ZX81-very-secret"))
            let saved = try JSONDecoder().decode(SavedPlan.self, from: Data(file.utf8))
            #expect(saved.plan.steps.map(\.resource) == ["network:default", "service:web:1"])
            let attributes = try FileManager.default.attributesOfItem(atPath: f.planPath)
            #expect((attributes[.posixPermissions] as? Int) == 0o600)

            let applied = try f.reconcileBare("apply", f.planPath)
            #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
            #expect(applied.stdout.contains("Applied 2 steps"))
            #expect(!(applied.stdout + applied.stderr).contains("tok-ZX81-very-secret"))
            #expect(Set(try await f.containers().keys) == [f.name("web", 1)])
            let again = try f.reconcile("plan", "--detailed-exitcode")
            #expect(again.status == 0, "\(again.stdout)")
            // Carried out once: the same file is now stale (the engine holds what it created).
            let twice = try f.reconcileBare("apply", f.planPath)
            #expect(twice.status == 3, "\(twice.stdout)\(twice.stderr)")
            #expect(twice.stderr.contains("container \(f.name("web", 1)): appeared"), "\(twice.stderr)")
        }
    }

    @Test("a saved plan is refused with exit 3, changing nothing, when the manifest changed since")
    func staleManifest() async throws {
        try await ProjectFixture.run("stalem") { f in
            try f.write(secretStack())
            #expect(try f.reconcile("apply", "--yes").status == 0)
            try f.write(secretStack(level: "debug"))
            #expect(try f.reconcile("plan", "--out", f.planPath).status == 0)
            let before = try await f.containers().mapValues(\.id)
            try f.write(secretStack(level: "trace"))
            let refused = try f.reconcileBare("apply", f.planPath)
            #expect(refused.status == 3, "\(refused.stdout)\(refused.stderr)")
            #expect(refused.stderr.contains("the manifest changed since the plan was made"), "\(refused.stderr)")
            #expect(try await f.containers().mapValues(\.id) == before)
            // A secret's change is a change of the manifest too, and is not shown.
            try f.write(secretStack(level: "debug").replacingOccurrences(of: "tok-ZX81", with: "tok-QL"))
            let secret = try f.reconcileBare("apply", f.planPath)
            #expect(secret.status == 3)
            #expect(!(secret.stdout + secret.stderr).contains("tok-QL"))
        }
    }

    @Test("a saved plan is refused with exit 3 when the engine changed since, naming what changed")
    func staleEngine() async throws {
        try await ProjectFixture.run("stalee") { f in
            try f.write(secretStack())
            #expect(try f.reconcile("apply", "--yes").status == 0)
            try f.write(secretStack(level: "debug"))
            #expect(try f.reconcile("plan", "--out", f.planPath).status == 0)
            let web = try #require(try await f.containers()[f.name("web", 1)])
            try await f.client.stopContainer(web.id, timeout: 1)
            let refused = try f.reconcileBare("apply", f.planPath, "--output", "json")
            #expect(refused.status == 3, "\(refused.stdout)\(refused.stderr)")
            #expect(refused.stdout.contains("container \(f.name("web", 1)): state running → exited"), "\(refused.stdout)")
            #expect(try await f.containers()[f.name("web", 1)]?.id == web.id)
        }
    }

    @Test("status --output json read back by plan --state keeps what was listed: a missing external network and volume are errors")
    func statusStateRoundTrip() async throws {
        try await ProjectFixture.run("state") { f in
            try f.write(
                """
                services:
                  web:
                    image: \(ProjectFixture.image1)
                    command: ["sleep", "100000"]
                    networks: [outside]
                    volumes: ["shared:/data"]
                networks:
                  outside:
                    name: \(f.project)-no-such-network
                    external: true
                volumes:
                  shared:
                    name: \(f.project)-no-such-volume
                    external: true
                """)
            let status = try f.reconcile("status", "--output", "json")
            #expect(status.status == 0, "\(status.stderr)")
            let statePath = f.directory.appendingPathComponent("state.json").path
            try status.stdout.write(toFile: statePath, atomically: true, encoding: .utf8)
            let planned = try f.reconcile("plan", "--state", statePath)
            #expect(planned.status == 1, "\(planned.stdout)\(planned.stderr)")
            #expect(planned.stderr.contains("network \(f.project)-no-such-network is declared external but does not exist"), "\(planned.stderr)")
            #expect(planned.stderr.contains("volume \(f.project)-no-such-volume is declared external but does not exist"), "\(planned.stderr)")
            // Against the engine itself, on a host where the project has nothing yet: the same.
            let live = try f.reconcile("plan")
            #expect(live.status == 1)
            #expect(live.stderr.contains("network \(f.project)-no-such-network is declared external"), "\(live.stderr)")
            // Apply stops before creating anything.
            let applied = try f.reconcile("apply", "--yes")
            #expect(applied.status == 1)
            #expect(try await f.containers().isEmpty)
        }
    }

    @Test("plan --output markdown is a pull-request comment: summary, steps in a diff block, secrets masked")
    func markdownPlan() async throws {
        try await ProjectFixture.run("md") { f in
            try f.write(secretStack())
            #expect(try f.reconcile("apply", "--yes").status == 0)
            try f.write(secretStack(level: "debug").replacingOccurrences(of: "tok-ZX81", with: "tok-QL"))
            let planned = try f.reconcile("plan", "--output", "markdown")
            #expect(planned.status == 0, "\(planned.stderr)")
            #expect(
                planned.stdout == """
                    ### reconcile plan for project `\(f.project)`

                    **Plan: 0 to create, 1 to recreate, 0 to remove.**

                    ```diff
                    ! service:web:1  recreate: configuration changed (start-first: no fixed port or device prevents a surge)
                        environment.LOG_LEVEL: "info" → "debug"
                    ```

                    - rollout web: 1 replica, 1 at a time (half of 1 replica, rounded up); gate: the image's healthcheck, else running 0.5 s (120 s at most); on failure: pause (old containers removed as replacements serve)

                    """, "\(planned.stdout)")
            #expect(!planned.stdout.contains("tok-"))
        }
    }

    @Test("destroy is a plan: --output json reports each step; destroy --out saves it, apply FILE carries it out exactly or refuses it as stale")
    func destroyAsAPlan() async throws {
        try await ProjectFixture.run("dplan") { f in
            try f.write(secretStack())
            #expect(try f.reconcile("apply", "--yes").status == 0)
            let saved = try f.reconcile("destroy", "--out", f.planPath)
            #expect(saved.status == 0, "\(saved.stdout)\(saved.stderr)")
            #expect(saved.stdout.contains("- service:web:1") && saved.stdout.contains("reconcile apply \(f.planPath)"), "\(saved.stdout)")
            #expect(try await f.containers().count == 1, "--out carries nothing out")
            let file = try String(contentsOfFile: f.planPath, encoding: .utf8)
            #expect(!file.contains("tok-ZX81-very-secret"))
            #expect(try JSONDecoder().decode(SavedPlan.self, from: Data(file.utf8)).options.destroy == DestroyOptions())

            // The engine changed: a replica more. The saved destroy plan no longer covers it.
            try f.write(secretStack(level: "debug"))
            let edited = try f.reconcileBare("apply", f.planPath)
            #expect(edited.status == 3, "a changed manifest makes it stale: \(edited.stdout)\(edited.stderr)")
            try f.write(secretStack())
            let id = try #require(try await f.containers()[f.name("web", 1)]?.id)
            try await f.client.stopContainer(id, timeout: 0)
            let moved = try f.reconcileBare("apply", f.planPath)
            #expect(moved.status == 3, "\(moved.stdout)\(moved.stderr)")
            #expect(try await f.containers().count == 1, "a stale plan removes nothing")

            let fresh = try f.reconcile("destroy", "-out", f.planPath)
            #expect(fresh.status == 0)
            let applied = try f.reconcileBare("apply", f.planPath)
            #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
            #expect(applied.stdout.contains("Destroyed project \(f.project)"), "\(applied.stdout)")
            #expect(try await f.containers().isEmpty)
            let history = try f.reconcile("history", "--output", "json")
            #expect(!history.stdout.contains("\"number\" : 2") && !history.stdout.contains("\"number\":2"), "apply of a destroy plan records no revision: \(history.stdout)")

            #expect(try f.reconcile("apply", "--yes").status == 0)
            let json = try f.reconcile("destroy", "--output", "json")
            #expect(json.status == 0, "\(json.stderr)")
            struct Report: Decodable {
                struct Step: Decodable { var resource: String; var outcome: String }
                var plan: Plan
                var steps: [Step]
                var succeeded: Bool
            }
            let report = try JSONDecoder().decode(Report.self, from: Data(json.stdout.utf8))
            #expect(report.succeeded && report.plan.steps.map(\.cause) == [.destroy(.container), .destroy(.network)])
            #expect(report.steps.map(\.outcome) == ["succeeded", "succeeded"])
        }
    }
}
