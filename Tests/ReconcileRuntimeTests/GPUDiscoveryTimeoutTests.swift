import DockerEngine
import Foundation
import ReconcileCore
import ReconcileRuntime
import ReconcileTestSupport
import Testing

@Suite("GPU inventory")
struct GPUInventoryTimeoutTests {
    /// A folder holding an `nvidia-smi` that runs `body`.
    func fakeSMI(_ body: String) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("reconcile-smi-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = folder + "/nvidia-smi"
        try ("#!/bin/sh\n" + body + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return folder
    }

    @Test("an nvidia-smi that hangs is stopped after the timeout and the inventory is unknown")
    func hangingSMI() async throws {
        let folder = try fakeSMI("exec /bin/sleep 600")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let inventory = GPUDiscovery(probe: nil, environment: ["PATH": folder], timeout: 0.5)
        let started = ContinuousClock.now
        let (gpus, source) = await inventory.discover(project: Project(name: "demo"), client: FakeEngine())
        #expect(gpus == nil)
        #expect(source.contains("did not answer within"), "\(source)")
        // The child sleeps 600 s: returning well before that shows it was stopped. The bound is
        // loose because the whole suite shares two cores, where a watchdog's wake-up can wait
        // seconds for a free thread (13.7 s was seen under a full parallel run).
        #expect(ContinuousClock.now - started < .seconds(120))
    }

    @Test("an nvidia-smi that answers is read")
    func answeringSMI() async throws {
        let folder = try fakeSMI("echo '0, GPU-aaaa, 81920 MiB'\necho '1, GPU-bbbb, 81920 MiB'")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let inventory = GPUDiscovery(probe: nil, environment: ["PATH": folder], timeout: 10)
        let (gpus, source) = await inventory.discover(project: Project(name: "demo"), client: FakeEngine())
        #expect(source == "nvidia-smi")
        #expect(gpus?.map(\.id) == ["0", "1"])
    }
}
