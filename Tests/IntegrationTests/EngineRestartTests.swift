import DockerEngine
import Foundation
import ReconcileCore
import Testing

extension Tag {
    /// Tests that kill and restart a dockerd of their own (FaultDaemon), never the shared one.
    @Tag static var fault: Self
}

/// A private dockerd of the fault tests' own, killed and restarted at will: its own folder,
/// bridge, bridge address, address pools and containerd namespace, none of which the shared
/// test daemon (10.213/10.214) or anything else on the machine uses (scripts/test-dockerd).
struct FaultDaemon {
    static let directory = "/tmp/reconcile-fault-docker"
    static let host = "unix://\(directory)/docker.sock"
    static let environment = [
        "RECONCILE_TEST_DOCKER_DIR": directory, "RECONCILE_TEST_BRIDGE": "rcfbr0",
        "RECONCILE_TEST_BRIDGE_CIDR": "10.217.0.1/24", "RECONCILE_TEST_POOLS": "base=10.218.0.0/16,size=24",
        "RECONCILE_TEST_CONTAINERD_NAMESPACE": "reconcile-fault",
    ]
    static let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts")

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    @discardableResult
    static func script(_ name: String, _ arguments: [String] = [], extra: [String: String] = [:]) throws -> String {
        let process = Process()
        process.executableURL = scripts.appendingPathComponent(name)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { _, ours in ours }
        env.merge(extra) { _, ours in ours }
        // Not the shared daemon's lease or lock.
        env["RECONCILE_TEST_DOCKER_LOCKED"] = nil
        process.environment = env
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else { throw Failure(description: "\(name) \(arguments.joined(separator: " ")): \(text)") }
        return text
    }

    static func start() throws { try script("test-dockerd", ["start"]) }
    static func kill() throws { try script("test-dockerd", ["kill"]) }
    static func stop() throws { try script("test-dockerd", ["stop"]) }
    static func importImages() throws { try script("make-test-images", extra: ["DOCKER_HOST": host]) }
}

/// The kubelet's Docker-restart test, on one host: dockerd killed (SIGKILL) and restarted
/// under a running controller, six rounds. Its own suite, run serially by scripts/fault-tests
/// (RECONCILE_FAULT_TESTS=1): it starts, kills and stops a second dockerd of its own.
@Suite(
    "dockerd killed and restarted under the controller", .tags(.engine, .fault), .serialized,
    .enabled(if: ProcessInfo.processInfo.environment["RECONCILE_FAULT_TESTS"] == "1", "run by scripts/fault-tests"))
struct EngineRestartIntegrationTests {
    static let stack = """
        services:
          api:
            image: reconcile-test/busybox:1
            command: ["sleep", "100000"]
            init: true
            stop_grace_period: 1s
            deploy: {replicas: 5}
          worker:
            image: reconcile-test/busybox:1
            command: ["sleep", "100000"]
            init: true
            stop_grace_period: 1s
            deploy: {replicas: 5}
        """

    @Test("six SIGKILLs of dockerd: the controller never exits; within 5 s of the engine answering every replica runs, plan is empty, no replica is duplicated and every container keeps its id")
    func sixKills() async throws {
        try FaultDaemon.start()
        defer { try? FaultDaemon.stop() }
        try FaultDaemon.importImages()
        try await ProjectFixture.run("restart", host: FaultDaemon.host) { f in
            try f.write(Self.stack)
            let controller = try ControllerProcess(f, host: FaultDaemon.host)
            defer { controller.terminate() }
            try await controller.waitRunning(f, service: "api", count: 5, within: 60)
            try await controller.waitRunning(f, service: "worker", count: 5, within: 60)
            let before = try await f.containers().mapValues(\.id)
            #expect(before.count == 10)

            var figures: [String] = []
            for round in 1...6 {
                try FaultDaemon.kill()
                try await Task.sleep(for: .milliseconds(500))
                try FaultDaemon.start()
                let answered = ContinuousClock.now
                // The client's pooled connections died with the daemon: errors are retried.
                let converged = try await f.eventually(within: 30) {
                    guard let containers = try? await f.containers() else { return false }
                    return containers.count == 10 && containers.values.allSatisfy { $0.state == "running" }
                }
                let took = ContinuousClock.now - answered
                let seconds = Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18
                figures.append("round \(round): every replica running \(String(format: "%.2f", seconds)) s after the engine answered")
                #expect(converged, "round \(round)\n\(controller.log())")
                #expect(seconds < 5, "round \(round): \(seconds) s\n\(controller.log().suffix(3000))")
                #expect(controller.process.isRunning, "the controller exited\n\(controller.log())")
                let after = try await f.containers()
                #expect(after.mapValues(\.id) == before, "round \(round): the same containers, none duplicated")
                let plan = try f.reconcile("plan", "--detailed-exitcode")
                #expect(plan.status == 0, "round \(round): \(plan.stdout)\(plan.stderr)")
            }
            print(figures.joined(separator: "\n"))
            try? figures.joined(separator: "\n").write(toFile: NSTemporaryDirectory() + "reconcile-engine-restart-figures.txt", atomically: true, encoding: .utf8)
        }
    }
}
