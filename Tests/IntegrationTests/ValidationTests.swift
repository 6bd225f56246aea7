import DockerEngine
import Foundation
import ReconcileCore
@testable import ReconcileRuntime
import ReconcileValidation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// What `reconcile history --output json` prints.
struct HistoryJSON: Decodable {
    var project: String
    var current: Int?
    var revisions: [Revision]
}

extension ProjectFixture {
    /// The workload image that scripts/test builds from the Dockerfile before the tests.
    static var workloadImage: String {
        ProcessInfo.processInfo.environment["RECONCILE_TEST_WORKLOAD_IMAGE"] ?? "reconcile-test/reconcile:workload"
    }

    /// The workload image's id; fails the test (not skips it) when the image is missing.
    func requireWorkloadImage() async throws -> String {
        do {
            return try await client.imageID(Self.workloadImage)
        } catch {
            Issue.record("\(Self.workloadImage) is not on the test engine: scripts/test builds it (scripts/build-image --prebuilt \(Self.workloadImage))")
            throw error
        }
    }

    /// Environment for reconcile: validation jobs use the test's workload image.
    var validationEnvironment: [String: String] { ["RECONCILE_WORKLOAD_IMAGE": Self.workloadImage] }

    func history(home: String? = nil) throws -> (json: HistoryJSON, text: String) {
        var environment = validationEnvironment
        if let home { environment["HOME"] = home }
        let out = try reconcile(["history", "--output", "json"], environment: environment)
        try #require(out.status == 0, "history failed: \(out.stderr)")
        return (try JSONDecoder().decode(HistoryJSON.self, from: Data(out.stdout.utf8)), out.stdout)
    }

    /// A copy of the bundled model with every weight zero: it loads, serves and is healthy,
    /// and answers class 0 to everything (about 10% right on the golden requests).
    func brokenModel() throws -> String {
        // This file is Tests/IntegrationTests/ValidationTests.swift.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let source = root.appendingPathComponent("workload/models/digits-mlp")
        let folder = directory.appendingPathComponent("broken-model")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let weights = Data(count: try Data(contentsOf: source.appendingPathComponent("weights.bin")).count)
        try weights.write(to: folder.appendingPathComponent("weights.bin"))
        var metadata = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: source.appendingPathComponent("model.json"))) as? [String: Any])
        metadata["weightsSHA256"] = SHA256.hex(weights)
        try JSONSerialization.data(withJSONObject: metadata, options: [.prettyPrinted]).write(to: folder.appendingPathComponent("model.json"))
        for path in [folder.path, directory.path] {
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        }
        return folder.path
    }

    /// POSTs golden-style rows to a replica's published port and returns its predictions.
    func predict(container: String, rows: [[Float]]) async throws -> [Int] {
        let inspect = try await client.inspectContainer(container)
        let bindings = (inspect.networkSettings?.ports?["8080/tcp"] ?? nil) ?? []
        let port = try #require(bindings.compactMap(\.hostPort).first)
        var request = URLRequest(url: try #require(URL(string: "http://127.0.0.1:\(port)/v1/predict")))
        request.httpMethod = "POST"
        request.httpBody = try JSONSerialization.data(withJSONObject: ["inputs": rows])
        let (data, _) = try await URLSession.shared.data(for: request)
        return try #require((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["predictions"] as? [Int])
    }
}

/// The workload served by 2 replicas (endpoint validation) plus a job-validated benchmark
/// service; `model` mounts another model folder in place of the bundled one.
func workloadStack(model: String? = nil, onFailure: String = "rollback") -> String {
    let mount = model.map {
        """

            environment:
              RECONCILE_WORKLOAD_MODEL: /models/mounted
            volumes:
              - \($0):/models/mounted:ro
        """
    } ?? ""
    return """
        services:
          model:
            image: \(ProjectFixture.workloadImage)
            init: true
            ports: ["127.0.0.1::8080"]
            healthcheck:
              test: ["CMD", "reconcile-workload", "healthcheck"]
              interval: 1s
              retries: 3\(mount)
            deploy:
              replicas: 2
              update_config:
                order: start-first
            x-reconcile:
              validate:
                mode: endpoint
                min_accuracy: 0.9
                duration: 1s
                concurrency: 2
                on_failure: \(onFailure)
          bench:
            image: \(ProjectFixture.workloadImage)
            init: true
            healthcheck:
              test: ["CMD", "reconcile-workload", "healthcheck"]
              interval: 1s
              retries: 3
            x-reconcile:
              validate:
                mode: job
                min_accuracy: 0.9
        """
}

@Suite("validation, history and rollback", .tags(.engine), .serialized)
struct ValidationTests {
    /// The first golden row and its label.
    static let rows: [[Float]] = [GoldenDigits.pixels(0).map(Float.init)]
    static let labels = [GoldenDigits.label(0)]

    @Test("a CPU service passes job and endpoint validation with its figures recorded; a broken model is rolled back and the previous containers serve again")
    func validatesAndRollsBack() async throws {
        try await ProjectFixture.run("val") { f in
            _ = try await f.requireWorkloadImage()
            try f.write(workloadStack())
            let first = try f.reconcile(["apply", "--yes"], environment: f.validationEnvironment)
            try #require(first.status == 0, "first apply: \(first.stdout)\(first.stderr)")
            #expect(first.stdout.contains("PASS model (endpoint"))
            #expect(first.stdout.contains("PASS bench (job"))

            let one = try f.history().json
            try #require(one.revisions.count == 1)
            let rev1 = one.revisions[0]
            #expect(rev1.outcome == .applied && one.current == 1)
            let endpoint = try #require(rev1.validations.first { $0.service == "model" })
            #expect(endpoint.passed && endpoint.mode == .endpoint && endpoint.runs.count == 2)
            for run in endpoint.runs {
                #expect((run.figures["accuracy"] ?? 0) >= 0.9, "\(run)")
                #expect((run.figures["requests_per_second"] ?? 0) > 0 && run.figures["p99_ms"] != nil, "\(run)")
                #expect(run.device == "cpu")
            }
            let job = try #require(rev1.validations.first { $0.service == "bench" })
            #expect(job.passed && job.mode == .job && job.runs.first?.target == "job on CPU")
            #expect((job.runs.first?.figures["accuracy"] ?? 0) >= 0.9)
            #expect(rev1.services.first { $0.name == "model" }?.imageID.hasPrefix("sha256:") == true)
            let served = try await f.containers()
            let goodIDs = Set([f.name("model", 1), f.name("model", 2)].compactMap { served[$0]?.id })

            // A model that loads and is healthy but answers wrong.
            let broken = try f.brokenModel()
            try f.write(workloadStack(model: broken))
            let second = try f.reconcile(["apply", "--yes"], environment: f.validationEnvironment)
            #expect(second.status == 1, "a failed validation exits non-zero: \(second.stdout)\(second.stderr)")
            #expect(second.stderr.contains("validation of model failed") && second.stderr.contains("min_accuracy"), "\(second.stderr)")
            #expect(second.stderr.contains("rolled back to revision 1"), "\(second.stderr)")

            let two = try f.history()
            #expect(two.json.revisions.map(\.outcome) == [.applied, .rolledBack])
            #expect(two.json.current == 1)
            let rev2 = try #require(two.json.revisions.last)
            #expect(rev2.restored == 1)
            #expect(rev2.validations.first { $0.service == "model" }?.passed == false)
            #expect(rev2.restoredValidations?.first { $0.service == "model" }?.passed == true)

            // Nothing of the failed revision runs: the replicas are the bundled model again.
            let now = try await f.containers()
            for replica in [1, 2] {
                let id = try #require(now[f.name("model", replica)]?.id)
                #expect(!goodIDs.contains(id), "replica \(replica) was recreated twice, so its id is new")
                let env = try await f.client.inspectContainer(id).config?.env ?? []
                #expect(!env.contains { $0.hasPrefix("RECONCILE_WORKLOAD_MODEL=") }, "replica \(replica) still runs the broken model")
                #expect(try await f.predict(container: id, rows: Self.rows) == Self.labels)
            }
            #expect(now.count == 3, "no leftover surge or job containers: \(now.keys.sorted())")
            let jobs = try await f.client.listContainers(all: true, filters: .label(LabelKey.validation, f.project))
            #expect(jobs.isEmpty, "validation jobs are removed")

            // validate checks what runs now without changing it.
            try f.write(workloadStack())
            let check = try f.reconcile(["validate", "--service", "model"], environment: f.validationEnvironment)
            #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
            #expect(try await f.containers().mapValues(\.id) == now.mapValues(\.id))

            // diff shows what the failed revision changed.
            let diff = try f.reconcile(["diff", "1", "2"], environment: f.validationEnvironment)
            #expect(diff.status == 0 && diff.stdout.contains("environment.RECONCILE_WORKLOAD_MODEL"), "\(diff.stdout)\(diff.stderr)")

            // A second client with another home folder reads the very same history.
            let elsewhere = f.directory.appendingPathComponent("other-home").path
            try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
            #expect(try f.history(home: elsewhere).text == two.text)
        }
    }

    @Test("on_failure: pause leaves the new revision in place, records it as failed, and exits non-zero")
    func pauseLeavesRevision() async throws {
        try await ProjectFixture.run("valpause") { f in
            _ = try await f.requireWorkloadImage()
            try f.write(workloadStack(onFailure: "pause"))
            let first = try f.reconcile(["apply", "--yes", "--no-validate"], environment: f.validationEnvironment)
            try #require(first.status == 0, "\(first.stdout)\(first.stderr)")
            #expect(!first.stdout.contains("Validation:"), "--no-validate skips validation")
            try f.write(workloadStack(model: try f.brokenModel(), onFailure: "pause"))
            let second = try f.reconcile(["apply", "--yes"], environment: f.validationEnvironment)
            #expect(second.status == 1)
            #expect(second.stderr.contains("on_failure: pause") && !second.stderr.contains("rolled back"), "\(second.stderr)")
            let history = try f.history().json
            #expect(history.revisions.map(\.outcome) == [.applied, .failed])
            #expect(history.current == 1)
            let id = try #require(try await f.containers()[f.name("model", 1)]?.id)
            let env = try await f.client.inspectContainer(id).config?.env ?? []
            #expect(env.contains("RECONCILE_WORKLOAD_MODEL=/models/mounted"), "the failed revision stays in place")
        }
    }

    @Test("rollback to an older revision restores the image id it ran, even after its tag moved")
    func rollbackRestoresImageIDs() async throws {
        try await ProjectFixture.run("valimg") { f in
            let tag = "reconcile-test/moving:\(f.project)"
            let docker = ["/usr/bin/docker", "/usr/local/bin/docker"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "docker"
            func retag(_ source: String) throws {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: docker)
                process.arguments = ["--host", f.host, "tag", source, tag]
                try process.run()
                process.waitUntilExit()
                try #require(process.terminationStatus == 0)
            }
            defer {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: docker)
                process.arguments = ["--host", f.host, "rmi", tag]
                try? process.run()
                process.waitUntilExit()
            }
            let id1 = try await f.client.imageID(ProjectFixture.image1)
            let id2 = try await f.client.imageID(ProjectFixture.image2)
            let manifest = """
                services:
                  app:
                    image: \(tag)
                    init: true
                    command: ["sleep", "100000"]
                    deploy:
                      replicas: 2
                      update_config:
                        monitor: 0.2
                """
            try retag(ProjectFixture.image1)
            try f.write(manifest)
            #expect(try f.reconcile("apply", "--yes").status == 0)
            try retag(ProjectFixture.image2)
            #expect(try f.reconcile("apply", "--yes").status == 0)
            var imageIDs = try await f.containers().values.map(\.imageID)
            #expect(imageIDs == [id2, id2])

            let back = try f.reconcile("rollback", "--yes", "1")
            #expect(back.status == 0, "\(back.stdout)\(back.stderr)")
            imageIDs = try await f.containers().values.map(\.imageID)
            #expect(imageIDs == [id1, id1], "the tag still points to busybox:2, the rollback runs busybox:1's id")
            let history = try f.history().json
            #expect(history.revisions.map(\.command) == ["apply", "apply", "rollback to 1"])
            #expect(history.revisions.last?.rollbackOf == 1)
            #expect(history.revisions.last?.services.first?.imageID == id1)
            #expect(history.revisions.last?.manifestDigest == history.revisions.first?.manifestDigest)
            // The current manifest is now one recreate away, as the tag says.
            let plan = try f.reconcile("plan")
            #expect(plan.stdout.contains("image id"), "\(plan.stdout)")
            // destroy keeps history unless asked.
            #expect(try f.reconcile("destroy").status == 0)
            #expect(try await f.client.listVolumes(filters: .label(LabelKey.history, f.project)).count == 3)
            #expect(try f.reconcile("destroy", "--history").status == 0)
            #expect(try await f.client.listVolumes(filters: .label(LabelKey.history, f.project)).isEmpty)
        }
    }

    @Test("killing apply at any moment, during the history write included, leaves a history every client can read")
    func killDuringHistoryWrite() async throws {
        try await ProjectFixture.run("valkill") { f in
            func manifest(_ level: Int) -> String {
                """
                services:
                  app:
                    image: \(ProjectFixture.image1)
                    init: true
                    command: ["sleep", "100000"]
                    environment:
                      LEVEL: "\(level)"
                    deploy:
                      update_config:
                        order: stop-first
                        monitor: 0.1
                """
            }
            try f.write(manifest(0))
            #expect(try f.reconcile("apply", "--yes").status == 0)
            // Each round changes the manifest and kills apply a little later than the last,
            // so the kills sweep the whole run: plan, recreate, observe, history write.
            var killed = 0
            for round in 1...16 {
                try f.write(manifest(round))
                let (process, _, _) = try f.start(["apply", "--yes"])
                try await Task.sleep(for: .milliseconds(60 * round))
                if process.isRunning {
                    kill(process.processIdentifier, SIGKILL)
                    killed += 1
                }
                process.waitUntilExit()
                _ = try? f.reconcile("unlock")
            }
            #expect(killed > 0, "some applies were killed mid-way")
            let out = try f.reconcile(["history", "--output", "json"], environment: [:])
            #expect(out.status == 0 && !out.stderr.contains("warning"), "\(out.stderr)")
            let history = try JSONDecoder().decode(HistoryJSON.self, from: Data(out.stdout.utf8))
            let numbers = history.revisions.map(\.number)
            #expect(numbers == numbers.sorted() && Set(numbers).count == numbers.count)
            // And the next apply converges and records on top of it.
            let last = try f.reconcile("apply", "--yes")
            #expect(last.status == 0, "\(last.stderr)")
            let after = try f.history().json
            #expect(after.revisions.last?.desired.services.first?.environment["LEVEL"] == "16" || after.revisions.count == history.revisions.count)
            #expect(after.revisions.count <= 20, "history keeps at most 20 revisions")
        }
    }
}
