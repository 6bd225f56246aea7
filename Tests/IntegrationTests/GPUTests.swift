import DockerEngine
import Foundation
import ReconcileCore
import ReconcileRuntime
import Testing

/// A GPU service whose containers print the GPUs the NVIDIA hook makes visible, then sleep.
func gpuStack(
    replicas: Int, count: String = "1", level: String = "info", placement: String = "distinct", gpu: String = "required",
    order: String? = nil
) -> String {
    """
    services:
      train:
        image: \(ProjectFixture.image1)
        command: ["sh", "-c", "echo visible=$${NVIDIA_VISIBLE_DEVICES:-none}; exec sleep 100000"]
        init: true
        environment:
          LOG_LEVEL: \(level)
        deploy:
          replicas: \(replicas)
    \(order.map { "      update_config:\n        order: \($0)\n        monitor: 0.2" } ?? "      update_config:\n        monitor: 0.2")
          resources:
            reservations:
              devices:
                - driver: nvidia
                  count: \(count)
                  capabilities: [gpu]
        x-reconcile:
          gpu_placement: \(placement)
          gpu: \(gpu)
    """
}

extension ProjectFixture {
    /// A folder holding a fake `nvidia-smi` that reports `count` GPUs of 80 GiB.
    func fakeNvidiaSMI(gpus count: Int) throws -> String {
        let folder = directory.appendingPathComponent("bin-\(count)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let lines = (0..<count).map { "echo '\($0), GPU-0000000\($0)-aaaa-bbbb-cccc-dddddddddddd, 81920 MiB'" }
        let path = folder.appendingPathComponent("nvidia-smi").path
        try (["#!/bin/sh"] + lines).joined(separator: "\n").appending("\n").write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return folder.path
    }

    /// Runs `reconcile ARGS` with `bin` first on its PATH, so it finds the fake `nvidia-smi`.
    func reconcile(bin: String, _ arguments: String...) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments + ["-f", manifestPath, "--host", host]
        process.currentDirectoryURL = directory
        var environment = ProcessInfo.processInfo.environment
        environment["NO_COLOR"] = "1"
        environment["PATH"] = bin + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// Replica → the GPU ids its container asked Docker for (`DeviceIDs`) and the
    /// `NVIDIA_VISIBLE_DEVICES` it saw, for every running replica of `service`.
    func gpuView(_ service: String = "train") async throws -> [Int: (requested: [String], visible: String)] {
        var out: [Int: (requested: [String], visible: String)] = [:]
        for (_, summary) in try await containers() where summary.labels?[LabelKey.service] == service && summary.state == "running" {
            guard let replica = summary.labels?[LabelKey.replica].flatMap({ Int($0) }) else { continue }
            let inspect = try await client.inspectContainer(summary.id)
            let requests = inspect.hostConfig?.deviceRequests ?? []
            #expect(requests.allSatisfy { $0.count == nil || $0.count == 0 }, "a distinct placement never sends a bare count")
            var visible = ""
            let seen = try await eventually(within: 10) {
                let text = try await client.containerLogs(summary.id).map { String(decoding: $0.bytes, as: UTF8.self) }.joined()
                guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("visible=") }) else { return false }
                visible = String(line.dropFirst("visible=".count))
                return true
            }
            #expect(seen, "replica \(replica) never printed its visible GPUs")
            out[replica] = (requests.flatMap { $0.deviceIDs ?? [] }, visible)
        }
        return out
    }
}

@Suite("GPU placement against a real engine", .tags(.engine), .serialized)
struct GPUTests {
    @Test("3 replicas of count 1 see three distinct GPUs, and a second apply changes nothing")
    func distinct() async throws {
        try await ProjectFixture.run("gpu-distinct") { f in
            let bin = try f.fakeNvidiaSMI(gpus: 4)
            try f.write(gpuStack(replicas: 3))
            let first = try f.reconcile(bin: bin, "apply", "--yes")
            #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
            let view = try await f.gpuView()
            #expect(view.mapValues(\.visible) == [1: "0", 2: "1", 3: "2"])
            #expect(view.mapValues(\.requested) == [1: ["0"], 2: ["1"], 3: ["2"]])
            let again = try f.reconcile(bin: bin, "apply", "--yes")
            #expect(again.stdout.contains("No changes. 3 replicas up to date."), "\(again.stdout)\(again.stderr)")
            let status = try f.reconcile(bin: bin, "status")
            #expect(status.stdout.contains("gpus 4 (nvidia-smi)"), "\(status.stdout)")
            #expect(status.stdout.contains("0  \(f.name("train", 1))"), "\(status.stdout)")
            #expect(status.stdout.contains("3  free"), "\(status.stdout)")
        }
    }

    @Test("a replica keeps its GPU across an env-change recreate when it is replaced stop-first")
    func keepsGPUAcrossRecreate() async throws {
        try await ProjectFixture.run("gpu-keep") { f in
            let bin = try f.fakeNvidiaSMI(gpus: 4)
            try f.write(gpuStack(replicas: 2, order: "stop-first"))
            #expect(try f.reconcile(bin: bin, "apply", "--yes").status == 0)
            let before = try await f.containers()
            try f.write(gpuStack(replicas: 2, level: "debug", order: "stop-first"))
            let apply = try f.reconcile(bin: bin, "apply", "--yes")
            #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
            #expect(apply.stdout.contains("it stays on its own GPU 0"), "\(apply.stdout)")
            let after = try await f.containers()
            #expect(after[f.name("train", 1)]?.id != before[f.name("train", 1)]?.id)
            #expect(try await f.gpuView().mapValues(\.visible) == [1: "0", 2: "1"])
        }
    }

    @Test("with no GPU spare the rollout is stop-first on each replica's own GPU; with one spare the surge takes it")
    func rolloutStrategy() async throws {
        try await ProjectFixture.run("gpu-roll") { f in
            let bin = try f.fakeNvidiaSMI(gpus: 4)
            try f.write(gpuStack(replicas: 4))
            #expect(try f.reconcile(bin: bin, "apply", "--yes").status == 0)
            try f.write(gpuStack(replicas: 4, level: "debug"))
            let plan = try f.reconcile(bin: bin, "plan")
            #expect(plan.stdout.contains("stop-first: a surge needs 1 spare GPU while the old container holds 0, and no GPU is spare"), "\(plan.stdout)\(plan.stderr)")
            let apply = try f.reconcile(bin: bin, "apply", "--yes")
            #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
            #expect(try await f.gpuView().mapValues(\.visible) == [1: "0", 2: "1", 3: "2", 4: "3"])

            try f.write(gpuStack(replicas: 3, level: "debug"))
            #expect(try f.reconcile(bin: bin, "apply", "--yes").status == 0)
            try f.write(gpuStack(replicas: 3, level: "warn"))
            let surge = try f.reconcile(bin: bin, "apply", "--yes")
            #expect(surge.status == 0, "\(surge.stdout)\(surge.stderr)")
            #expect(surge.stdout.contains("start-first: GPU 3 is spare"), "\(surge.stdout)")
            #expect(try await f.gpuView().mapValues(\.visible) == [1: "3", 2: "1", 3: "2"])
        }
    }

    @Test("scaling 3 → 2 → 4 frees and reuses GPUs without double booking")
    func scaling() async throws {
        try await ProjectFixture.run("gpu-scale") { f in
            let bin = try f.fakeNvidiaSMI(gpus: 4)
            for replicas in [3, 2, 4] {
                try f.write(gpuStack(replicas: replicas))
                let apply = try f.reconcile(bin: bin, "apply", "--yes")
                #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
                let visible = try await f.gpuView().mapValues(\.visible)
                #expect(visible.count == replicas)
                #expect(Set(visible.values).count == replicas, "double booked: \(visible)")
            }
            #expect(try await f.gpuView().mapValues(\.visible) == [1: "0", 2: "1", 3: "2", 4: "3"])
        }
    }

    @Test("5 replicas on 4 GPUs fail the plan with who holds what, and change nothing")
    func tooMany() async throws {
        try await ProjectFixture.run("gpu-full") { f in
            let bin = try f.fakeNvidiaSMI(gpus: 4)
            try f.write(gpuStack(replicas: 2))
            #expect(try f.reconcile(bin: bin, "apply", "--yes").status == 0)
            let before = try await f.containers()
            try f.write(gpuStack(replicas: 5))
            let apply = try f.reconcile(bin: bin, "apply", "--yes")
            #expect(apply.status == 1)
            #expect(
                apply.stderr.contains(
                    "service train asks for 1 GPU per replica for 5 replicas (distinct placement), but replica 5 cannot get its GPUs: the host has 4 GPUs (0, 1, 2, 3); free: none; held: 0 by train replica 1, 1 by train replica 2, 2 by train replica 3, 3 by train replica 4"
                ), "\(apply.stderr)")
            #expect(try await f.containers().mapValues(\.id) == before.mapValues(\.id))
        }
    }

    @Test("shared placement puts every replica on the same GPU")
    func shared() async throws {
        try await ProjectFixture.run("gpu-shared") { f in
            let bin = try f.fakeNvidiaSMI(gpus: 4)
            try f.write(gpuStack(replicas: 3, placement: "shared"))
            let apply = try f.reconcile(bin: bin, "apply", "--yes")
            #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
            #expect(try await f.gpuView().mapValues(\.visible) == [1: "0", 2: "0", 3: "0"])
        }
    }

    @Test("an optional service on a host without GPUs runs on CPU, and the plan says so")
    func optionalOnCPU() async throws {
        try await ProjectFixture.run("gpu-cpu") { f in
            let bin = try f.fakeNvidiaSMI(gpus: 0)
            try f.write(gpuStack(replicas: 2, gpu: "optional"))
            let apply = try f.reconcile(bin: bin, "apply", "--yes")
            #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
            #expect(apply.stdout.contains("(on CPU)"), "\(apply.stdout)")
            #expect((apply.stdout + apply.stderr).contains("run on CPU (x-reconcile.gpu is optional)"), "\(apply.stdout)\(apply.stderr)")
            let view = try await f.gpuView()
            #expect(view.mapValues(\.visible) == [1: "none", 2: "none"])
            #expect(view.values.allSatisfy { $0.requested.isEmpty })
            #expect(try f.reconcile(bin: bin, "apply", "--yes").stdout.contains("No changes."))
        }
    }

    @Test("a foreign container holding GPU 0 is respected")
    func foreignHolder() async throws {
        try await ProjectFixture.run("gpu-foreign") { f in
            let bin = try f.fakeNvidiaSMI(gpus: 4)
            // Labelled only for the fixture's cleanup under another project name: not ours to place.
            let foreignName = "\(f.project)-notebook"
            let created = try await f.client.createContainer(
                name: foreignName,
                ContainerCreateRequest(
                    config: ContainerConfig(cmd: ["sleep", "100000"], image: ProjectFixture.image1, labels: ["test.owner": f.project]),
                    hostConfig: HostConfig(initProcess: true, deviceRequests: [
                        DockerEngine.DeviceRequest(driver: "nvidia", deviceIDs: ["0"], capabilities: [["gpu"]])
                    ])))
            do {
                try await f.client.startContainer(created.id)
                try f.write(gpuStack(replicas: 3))
                let apply = try f.reconcile(bin: bin, "apply", "--yes")
                #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
                #expect(try await f.gpuView().mapValues(\.visible) == [1: "1", 2: "2", 3: "3"])
                try f.write(gpuStack(replicas: 4))
                let full = try f.reconcile(bin: bin, "plan")
                #expect(full.status == 1)
                #expect(full.stderr.contains("0 by container \(foreignName) (not managed by reconcile)"), "\(full.stderr)")
                let inspect = try await f.client.inspectContainer(created.id)
                #expect(inspect.state?.running == true, "the foreign container is never touched")
            } catch {
                try? await f.client.removeContainer(created.id, force: true, removeVolumes: true)
                throw error
            }
            try? await f.client.removeContainer(created.id, force: true, removeVolumes: true)
        }
    }

    @Test("the remote-engine GPU probe runs the workload image's listing with every GPU attached, and cleans up after itself")
    func probeContainer() async throws {
        try await ProjectFixture.run("gpuprobe") { f in
            _ = try await f.requireWorkloadImage()
            // The test engine's NVIDIA hook grants the request but there is no driver inside the
            // container, so the listing is empty: an inventory of zero GPUs, not an error.
            let gpus = try await WorkloadImageProbe(image: ProjectFixture.workloadImage).listGPUs(client: f.client)
            #expect(gpus.isEmpty)
            #expect(try await f.client.listContainers(all: true, filters: .label(LabelKey.probe)).isEmpty, "the probe container is removed")
            await #expect(throws: GPUProbeUnavailable.self) {
                _ = try await WorkloadImageProbe(image: "reconcile-test/absent:1").listGPUs(client: f.client)
            }
        }
    }

    // Validation of a GPU service: here, because every test holding fake GPUs must run in this
    // serialized suite (a foreign holder changes where the others' replicas land).
    @Test("a GPU service on the fake-GPU engine fails job validation clearly (no CUDA driver in the container) and is rolled back to CPU")
    func gpuValidationFailsAndRollsBack() async throws {
        try await ProjectFixture.run("valgpu") { f in
            _ = try await f.requireWorkloadImage()
            func manifest(gpu: Bool) -> String {
                """
                services:
                  infer:
                    image: \(ProjectFixture.workloadImage)
                    init: true
                    healthcheck:
                      test: ["CMD", "reconcile-workload", "healthcheck"]
                      interval: 1s
                      retries: 3
                \(gpu ? "    deploy:\n      resources:\n        reservations:\n          devices: [{driver: nvidia, count: 1, capabilities: [gpu]}]" : "")
                    x-reconcile:
                      validate:
                        mode: job
                        min_accuracy: 0.9
                """
            }
            try f.write(manifest(gpu: false))
            let first = try f.reconcile(["apply", "--yes", "--gpus", "0,1"], environment: f.validationEnvironment)
            try #require(first.status == 0, "\(first.stdout)\(first.stderr)")
            try f.write(manifest(gpu: true))
            let second = try f.reconcile(["apply", "--yes", "--gpus", "0,1"], environment: f.validationEnvironment)
            #expect(second.status == 1)
            #expect(second.stderr.contains("job on GPUs"), "\(second.stderr)")
            #expect(second.stderr.contains("libcuda.so.1 not found"), "the reason is the missing driver: \(second.stderr)")
            #expect(second.stderr.contains("rolled back to revision 1"))
            let history = try f.history().json
            #expect(history.revisions.map(\.outcome) == [.applied, .rolledBack])
            let failed = try #require(history.revisions.last?.validations.first?.runs.first)
            #expect(failed.gpus.count == 1 && !failed.passed)
            // Back on CPU: the replica holds no GPU.
            let id = try #require(try await f.containers()[f.name("infer", 1)]?.id)
            #expect(try await f.client.inspectContainer(id).hostConfig?.deviceRequests?.isEmpty ?? true)
        }
    }

    @Test("rollback puts each replica back on the GPUs its revision ran on, even after the failed one moved it to a spare GPU")
    func rollbackRestoresGPUs() async throws {
        try await ProjectFixture.run("gpu-back") { f in
            let bin = try f.fakeNvidiaSMI(gpus: 4)
            try f.write(gpuStack(replicas: 1, order: "start-first"))
            #expect(try f.reconcile(bin: bin, "apply", "--yes").status == 0)
            let first = try #require(try await f.containers()[f.name("train", 1)]?.id)
            let original = try await f.client.inspectContainer(first).hostConfig?.deviceRequests?.first?.deviceIDs ?? []
            // A config change with spare GPUs: the surge starts on a spare one, so the replica moves.
            try f.write(gpuStack(replicas: 1, level: "debug", order: "start-first"))
            #expect(try f.reconcile(bin: bin, "apply", "--yes").status == 0)
            let moved = try #require(try await f.containers()[f.name("train", 1)]?.id)
            let now = try await f.client.inspectContainer(moved).hostConfig?.deviceRequests?.first?.deviceIDs ?? []
            #expect(now != original && !now.isEmpty, "the change moved the replica (\(original) → \(now))")

            let back = try f.reconcile(bin: bin, "rollback", "--yes", "1")
            #expect(back.status == 0, "\(back.stdout)\(back.stderr)")
            let restored = try #require(try await f.containers()[f.name("train", 1)]?.id)
            let ids = try await f.client.inspectContainer(restored).hostConfig?.deviceRequests?.first?.deviceIDs ?? []
            #expect(ids == original, "back on the revision's GPUs")
            let history = try f.history().json
            #expect(history.revisions.last?.services.first?.gpus == ["1": original])
        }
    }
}
