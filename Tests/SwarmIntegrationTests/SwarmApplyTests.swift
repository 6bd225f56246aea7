import DockerEngine
import Foundation
import ReconcileCore
import ReconcileSwarm
import Testing

/// `--target swarm` against a real one-node swarm (scripts/swarm-cluster start 1).
@Suite("Swarm target on a real swarm", .serialized)
struct SwarmApplyTests {
    static func manifest(version: String = "1", replicas: Int = 2, image: String = SwarmFixture.image1, command: String = #"["sleep", "1000"]"#, port: Int) -> String {
        """
        x-reconcile:
          target: swarm
        services:
          api:
            image: \(image)
            command: \(command)
            environment:
              MODEL_VERSION: "\(version)"
            ports: ["\(port):8080"]
            stop_grace_period: 1s
            deploy:
              replicas: \(replicas)
              update_config: {parallelism: 2, order: start-first, failure_action: rollback, monitor: 2s}
              rollback_config: {parallelism: 2, monitor: 1s}
          worker:
            image: \(SwarmFixture.image1)
            command: ["sleep", "1000"]
            init: true
            stop_grace_period: 1s
        """
    }

    @Test("apply converges, and an unchanged manifest plans nothing and sends no update")
    func convergeAndNoOp() async throws {
        try await SwarmFixture.run("swa") { f in
            try f.write(Self.manifest(port: 28081))
            let first = try f.reconcile("apply", "--yes")
            #expect(first.status == 0, "\(first.stdout)\n\(first.stderr)")
            let api = try await f.service("api")
            #expect(api.spec.labels?[stackNamespaceLabel] == f.project)
            #expect(try await f.runningTasks("api").count == 2)
            #expect(try await f.runningTasks("worker").count == 1)
            // `docker stack` sees the project as a stack.
            let stack = try f.docker("stack", "services", f.project, "--format", "{{.Name}}")
            #expect(stack.stdout.split(separator: "\n").sorted() == ["\(f.project)_api", "\(f.project)_worker"])

            let plan = try f.reconcile("plan", "--detailed-exitcode")
            #expect(plan.status == 0, "\(plan.stdout)\n\(plan.stderr)")
            #expect(plan.stdout.contains("No changes. 2 services up to date."))
            let again = try f.reconcile("apply", "--yes", environment: ["RECONCILE_REPORT_REQUESTS": "1"])
            #expect(again.status == 0)
            #expect(try await f.service("api").version == api.version, "a no-op apply sent an update")
        }
    }

    @Test("an environment change rolls the service start-first to completion, and the plan says how")
    func rollingUpdate() async throws {
        try await SwarmFixture.run("swu") { f in
            try f.write(Self.manifest(port: 28082))
            #expect(try f.reconcile("apply", "--yes").status == 0)
            try f.write(Self.manifest(version: "2", port: 28082))
            let plan = try f.reconcile("plan", "--output", "json")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any])
            let steps = try #require(json["steps"] as? [[String: Any]])
            #expect(steps.map { $0["action"] as? String } == ["update"])
            #expect(json["target"] as? String == "swarm")
            let text = try f.reconcile("plan")
            #expect(text.stdout.contains(#"± service:api  update: environment.MODEL_VERSION changed (rolling: parallelism 2, start-first, on failure rollback)"#), "\(text.stdout)")
            #expect(text.stdout.contains(#"environment.MODEL_VERSION: "1" → "2""#))
            let applied = try f.reconcile("apply", "--yes")
            #expect(applied.status == 0, "\(applied.stdout)\n\(applied.stderr)")
            #expect(applied.stdout.contains("update completed"))
            #expect(try await f.service("api").updateStatus?.state == "completed")
            #expect(try f.reconcile("plan", "--detailed-exitcode").status == 0)
        }
    }

    @Test("a failing update is rolled back by the swarm and apply exits 5")
    func rollback() async throws {
        try await SwarmFixture.run("swr") { f in
            try f.write(Self.manifest(port: 28083))
            #expect(try f.reconcile("apply", "--yes").status == 0)
            try f.write(Self.manifest(version: "bad", command: #"["sh", "-c", "exit 3"]"#, port: 28083))
            let applied = try f.reconcile("apply", "--yes", "--timeout", "120s")
            #expect(applied.status == 5, "\(applied.stdout)\n\(applied.stderr)")
            #expect(applied.stderr.contains("update rolled back"))
            let service = try await f.service("api")
            #expect(service.updateStatus?.state == "rollback_completed")
            #expect(service.spec.taskTemplate.containerSpec?.env == ["MODEL_VERSION=1"])
            // The manifest still asks for the failing spec: the plan says so again.
            let plan = try f.reconcile("plan", "--detailed-exitcode")
            #expect(plan.status == 2)
        }
    }

    @Test("a replica count change is a scale, and the swarm runs the new count")
    func scale() async throws {
        try await SwarmFixture.run("sws") { f in
            try f.write(Self.manifest(replicas: 1, port: 28084))
            #expect(try f.reconcile("apply", "--yes").status == 0)
            try f.write(Self.manifest(replicas: 3, port: 28084))
            let plan = try f.reconcile("plan")
            #expect(plan.stdout.contains("~ service:api  scale: replicas 1 → 3"), "\(plan.stdout)")
            #expect(try f.reconcile("apply", "--yes").status == 0)
            #expect(try await f.runningTasks("api").count == 3)
            let status = try f.reconcile("status", "--output", "json")
            #expect(status.status == 0)
            #expect(status.stdout.contains("\"running\" : 3") || status.stdout.contains("\"running\":3"))
        }
    }

    @Test("each apply is a revision in history, and rollback puts a revision's spec back")
    func historyAndRollback() async throws {
        try await SwarmFixture.run("swh") { f in
            try f.write(Self.manifest(replicas: 1, port: 28086))
            #expect(try f.reconcile("apply", "--yes").status == 0)
            try f.write(Self.manifest(version: "2", replicas: 1, port: 28086))
            #expect(try f.reconcile("apply", "--yes").status == 0)
            let history = try f.reconcile("history", "--output", "json")
            #expect(history.status == 0, "\(history.stderr)")
            #expect(history.stdout.contains("apply --target swarm"))
            let rolled = try f.reconcile("rollback", "--yes")
            #expect(rolled.status == 0, "\(rolled.stdout)\n\(rolled.stderr)")
            #expect(rolled.stdout.contains("Rolling \(f.project) back to revision 1"))
            #expect(try await f.service("api").spec.taskTemplate.containerSpec?.env == ["MODEL_VERSION=1"])
            // The manifest at hand still says 2: the plan says what rolling forward would change.
            #expect(try f.reconcile("plan", "--detailed-exitcode").status == 2)
        }
    }

    @Test("destroy removes the project's services and network")
    func destroy() async throws {
        try await SwarmFixture.run("swd") { f in
            try f.write(Self.manifest(replicas: 1, port: 28085))
            #expect(try f.reconcile("apply", "--yes").status == 0)
            let destroyed = try f.reconcile("destroy")
            #expect(destroyed.status == 0, "\(destroyed.stdout)\n\(destroyed.stderr)")
            #expect(try await f.client.listServices(filters: .label(stackNamespaceLabel, f.project)).isEmpty)
            #expect(try await f.client.listNetworks(filters: .label(stackNamespaceLabel, f.project)).isEmpty)
        }
    }
}
