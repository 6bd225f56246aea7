import DockerEngine
import Foundation
import ReconcileCore
import Testing

/// Endpoint validation of a model server that is not the bundled workload: a CGI script under
/// busybox's httpd stands in for a user's server, driven with the user's own requests file.
@Suite("validation of a user's own model server", .serialized)
struct UserValidationTests {
    /// A "classifier" that answers `{"result": {"label": ...}}`: cat for a body that mentions
    /// whiskers, dog otherwise; with MODEL_VERSION=2 it answers dog to everything (a bad model).
    static let script = """
        #!/bin/sh
        body=""
        [ -n "$CONTENT_LENGTH" ] && body=$(head -c "$CONTENT_LENGTH")
        label=dog
        case "$body" in *whiskers*) label=cat ;; esac
        [ "$MODEL_VERSION" = 2 ] && label=dog
        printf 'Content-Type: application/json\\r\\n\\r\\n{"result":{"label":"%s","score":0.9}}' "$label"

        """

    static let requests = """
        # one request per line: the body to send, and the label a correct model answers
        {"request": {"text": "long whiskers and a tail"}, "expect": "cat"}
        {"request": {"text": "barks at the postman"}, "expect": "dog"}
        {"request": {"text": "whiskers, purrs"}, "expect": "cat"}

        """

    static func stack(version: String = "1", listen: String = "8080", onFailure: String = "rollback") -> String {
        """
        services:
          classifier:
            image: reconcile-test/busybox:1
            init: true
            command: ["httpd", "-f", "-p", "\(listen)", "-h", "/srv"]
            environment:
              MODEL_VERSION: "\(version)"
            volumes:
              - ./site:/srv:ro
            ports:
              - "127.0.0.1::8080"
            x-reconcile:
              validate:
                mode: endpoint
                path: /cgi-bin/predict
                requests: ./requests.jsonl
                prediction: result.label
                min_accuracy: 1.0
                concurrency: 2
                duration: 2s
                on_failure: \(onFailure)

        """
    }

    func writeSite(_ f: ProjectFixture) throws {
        let bin = f.directory.appendingPathComponent("site/cgi-bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let predict = bin.appendingPathComponent("predict")
        try Self.script.write(to: predict, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: predict.path)
        try Self.requests.write(to: f.directory.appendingPathComponent("requests.jsonl"), atomically: true, encoding: .utf8)
    }

    @Test("a user's model server passes with its own requests and JSON path; a version that answers wrong is rolled back")
    func userEndpointValidation() async throws {
        try await ProjectFixture.run("uval") { f in
            try writeSite(f)
            try f.write(Self.stack())
            let first = try f.reconcile("apply", "--yes")
            try #require(first.status == 0, "first apply: \(first.stdout)\(first.stderr)")
            #expect(first.stdout.contains("PASS classifier (endpoint"), "\(first.stdout)")
            let history = try f.reconcile("history", "--output", "json")
            let json = try JSONDecoder().decode(HistoryJSON.self, from: Data(history.stdout.utf8))
            let report = try #require(json.revisions.last?.validations.first { $0.service == "classifier" })
            let run = try #require(report.runs.first)
            #expect(run.passed && run.figures["accuracy"] == 1 && (run.figures["requests"] ?? 0) >= 3, "\(run)")
            let before = try #require(try await f.containers()[f.name("classifier", 1)]?.id)

            try f.write(Self.stack(version: "2"))
            let second = try f.reconcile("apply", "--yes")
            #expect(second.status == 1, "\(second.stdout)\(second.stderr)")
            #expect(second.stderr.contains("validation of classifier failed") && second.stderr.contains("min_accuracy"), "\(second.stderr)")
            #expect(second.stderr.contains("rolled back to revision 1"), "\(second.stderr)")
            let after = try #require(try await f.containers()[f.name("classifier", 1)])
            #expect(after.id != before, "the rollback recreated the replica from revision 1")
            let env = try await f.client.inspectContainer(after.id).config?.env ?? []
            #expect(env.contains("MODEL_VERSION=1"), "\(env)")
        }
    }

    @Test("a server bound to 127.0.0.1 inside its container gets one sentence saying where it listens, and validation stops early")
    func loopbackServerIsNamed() async throws {
        try await ProjectFixture.run("uvlo") { f in
            try writeSite(f)
            try f.write(Self.stack(listen: "127.0.0.1:8080", onFailure: "ignore"))
            let out = try f.reconcile("apply", "--yes")
            let text = out.stdout + out.stderr
            #expect(text.contains("listens on 127.0.0.1:8080 inside the container"), "\(text)")
            #expect(text.contains("listen on all addresses"), "\(text)")
            #expect(!text.contains("requests failed"), "no flood of failed requests: \(text)")
            let history = try f.reconcile("history", "--output", "json")
            let json = try JSONDecoder().decode(HistoryJSON.self, from: Data(history.stdout.utf8))
            let run = try #require(json.revisions.last?.validations.first?.runs.first)
            #expect(!run.passed && run.figures["requests"] == nil, "validation stopped before driving requests: \(run)")
        }
    }
}
