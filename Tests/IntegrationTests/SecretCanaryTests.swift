import DockerEngine
import Foundation
import ReconcileCore
import Testing

/// Random values passed as every kind of secret reconcile knows, then looked for in
/// everything reconcile prints, logs and leaves on the engine (docs/security.md, "Secrets").
@Suite("secret canaries against a real engine", .tags(.engine), .serialized)
struct SecretCanaryTests {
    struct Canary {
        var kind: String
        var value: String
        /// Where the value is by nature (docs/security.md): container environments only.
        var inEnvironment: Bool
    }

    static func random() -> String { "cnry" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20) }

    /// The forms a value may leak in: as is, base64 (of the value alone: Docker's archive and
    /// the JSON of a byte field), and JSON-escaped (with the slash a JSON encoder may escape).
    static func forms(_ value: String) -> [String] {
        let base64 = Data(value.utf8).base64EncodedString()
        // Base64 of the value inside a longer text starts at any of three alignments.
        let aligned = (0..<3).map { offset -> String in
            let shifted = Data((String(repeating: "\u{0}", count: offset) + value).utf8).base64EncodedString()
            return String(shifted.dropFirst(offset == 0 ? 0 : 4).prefix(16))
        }
        let escaped = String(decoding: (try? JSONEncoder().encode(value)) ?? Data(), as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        return Array(Set([value, String(base64.prefix(20)), escaped] + aligned))
    }

    @Test("a file secret, an environment secret, a secret_env value and a .env variable appear in no output, label or inspect, except in the container environment (docs/security.md)")
    func canaries() async throws {
        try await ProjectFixture.run("canary") { f in
            let fileSecret = Self.random(), envSecret = Self.random(), secretEnv = Self.random(), dotEnv = Self.random()
            let canaries = [
                Canary(kind: "file secret", value: fileSecret, inEnvironment: false),
                Canary(kind: "environment secret", value: envSecret, inEnvironment: false),
                Canary(kind: "secret_env value", value: secretEnv, inEnvironment: true),
                Canary(kind: ".env variable", value: dotEnv, inEnvironment: true),
            ]
            try fileSecret.write(to: f.directory.appendingPathComponent("secret.txt"), atomically: true, encoding: .utf8)
            try "DOTENV_TOKEN=\(dotEnv)\n".write(to: f.directory.appendingPathComponent(".env"), atomically: true, encoding: .utf8)
            func manifest(_ greeting: String, cpuset: String? = nil) -> String {
                """
                services:
                  api:
                    image: \(ProjectFixture.image1)
                    command: ["sh", "-c", "cat /run/secrets/filesec /run/secrets/envsec >/dev/null && exec sleep 100000"]
                    init: true
                    stop_grace_period: 1s
                    \(cpuset.map { "cpuset: \"\($0)\"" } ?? "")
                    environment:
                      GREETING: \(greeting)
                      API_KEY: \(secretEnv)
                      TOKEN: ${DOTENV_TOKEN}
                    secrets: [filesec, envsec]
                    deploy:
                      replicas: 2
                      update_config: {order: start-first, monitor: 0.2}
                    x-reconcile:
                      secret_env: [API_KEY, TOKEN]
                      validate:
                        mode: job
                        image: \(ProjectFixture.image1)
                        command: ["sh", "-c", "cat /run/secrets/filesec /run/secrets/envsec >&2; echo >&2; env >&2; echo validation failed >&2; exit 3"]
                        on_failure: ignore
                secrets:
                  filesec:
                    file: ./secret.txt
                  envsec:
                    environment: CANARY_ENV_SECRET
                """
            }
            let env = ["CANARY_ENV_SECRET": envSecret]
            var outputs: [(String, String)] = []
            func run(_ arguments: [String], manifest: Bool = true) throws -> ProjectFixture.Output {
                let result = try f.reconcile(arguments, environment: env, manifest: manifest)
                outputs.append((arguments.joined(separator: " "), result.stdout + result.stderr))
                return result
            }

            try f.write(manifest("hello"))
            for output in [[], ["--output", "json"]] {
                _ = try run(["plan"] + output)
            }
            let first = try run(["apply", "--yes"])
            #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
            try f.write(manifest("hi"))
            _ = try run(["plan", "--out", f.directory.appendingPathComponent("saved.plan").path])
            let second = try run(["apply", "--yes", "--output", "json"])
            #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
            for output in [[], ["--output", "json"]] {
                _ = try run(["status"] + output)
                _ = try run(["history"] + output)
                _ = try run(["diff", "1", "2"] + output)
                _ = try run(["validate"] + output)
            }
            let rolledBack = try run(["rollback", "--yes", "1"])
            #expect(rolledBack.status == 0, "\(rolledBack.stdout)\(rolledBack.stderr)")
            // An engine error: the create call is refused (no such CPU).
            try f.write(manifest("engine-error", cpuset: "250"))
            let refused = try run(["apply", "--yes"])
            #expect(refused.status != 0, "\(refused.stdout)\(refused.stderr)")
            try f.write(manifest("hello"))

            // The controller, text and JSON logs, and what it serves.
            for format in ["text", "json"] {
                let controller = try ControllerProcess(f, arguments: ["--log-format", format])
                try await controller.waitRunning(f, service: "api", count: 2, within: 60)
                for route in ["/healthz", "/readyz", "/metrics", "/status"] {
                    outputs.append(("controller GET \(route)", (try? controller.get(route)) ?? ""))
                }
                controller.terminate()
                outputs.append(("controller log (\(format))", controller.log()))
            }

            // Every object of the project, inspected raw through the docker CLI.
            var objects: [(String, String)] = []
            func docker(_ arguments: [String]) throws -> String {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/docker")
                process.arguments = ["--host", f.host] + arguments
                let out = Pipe()
                process.standardOutput = out
                process.standardError = FileHandle.nullDevice
                try process.run()
                let data = out.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                return String(decoding: data, as: UTF8.self)
            }
            for filter in ["io.reconcile.project=\(f.project)", "io.reconcile.validation=\(f.project)"] {
                for id in try docker(["ps", "-aq", "--filter", "label=\(filter)"]).split(separator: "\n") {
                    objects.append(("container \(id)", try docker(["container", "inspect", String(id)])))
                }
            }
            for filter in ["io.reconcile.project=\(f.project)", "io.reconcile.history=\(f.project)", "io.reconcile.lock"] {
                for name in try docker(["volume", "ls", "-q", "--filter", "label=\(filter)"]).split(separator: "\n")
                where filter != "io.reconcile.lock" || name.contains(f.project) {
                    objects.append(("volume \(name)", try docker(["volume", "inspect", String(name)])))
                }
            }
            for id in try docker(["network", "ls", "-q", "--filter", "label=io.reconcile.project=\(f.project)"]).split(separator: "\n") {
                objects.append(("network \(id)", try docker(["network", "inspect", String(id)])))
            }
            #expect(objects.contains { $0.0.hasPrefix("volume reconcile-history") || $0.1.contains("io.reconcile.history") }, "history inspected")
            #expect(objects.filter { $0.0.hasPrefix("container") }.count >= 2)

            var hits: [String] = []
            for canary in canaries {
                for form in Self.forms(canary.value) {
                    for (what, text) in outputs where text.contains(form) {
                        hits.append("\(canary.kind) in the output of \(what)")
                    }
                    for (what, text) in objects where text.contains(form) {
                        // The container's environment holds secret_env values by nature; nothing else may.
                        if canary.inEnvironment, what.hasPrefix("container"), Self.onlyInEnv(text, form) { continue }
                        hits.append("\(canary.kind) in the inspect of \(what)")
                    }
                }
            }
            #expect(hits.isEmpty, "\(hits)")
            // The runs did what they are here for: a failing validation whose job printed its
            // environment and secrets (masked), an engine error, two controller logs.
            let all = outputs.map(\.1).joined(separator: "\n")
            #expect(all.contains("exited with code 3"), "the validation job failed")
            #expect(all.contains("API_KEY=(sensitive)") && all.contains("TOKEN=(sensitive)"), "the job's output was masked")
            #expect(refused.stdout.contains("cpuset") || refused.stderr.contains("cpuset") || refused.stderr.contains("CPU"), "\(refused.stderr)")
            #expect(outputs.filter { $0.0.hasPrefix("controller log") }.allSatisfy { !$0.1.isEmpty })
            // The checks can see: the value is in the environment, where docs/security.md says.
            #expect(objects.contains { $0.0.hasPrefix("container") && $0.1.contains("API_KEY=\(secretEnv)") })
        }
    }

    /// True when every occurrence of `form` in an inspect is inside `Config.Env`.
    static func onlyInEnv(_ inspect: String, _ form: String) -> Bool {
        guard let data = inspect.data(using: .utf8),
              var list = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]], !list.isEmpty
        else { return false }
        if var config = list[0]["Config"] as? [String: Any] {
            config["Env"] = nil
            list[0]["Config"] = config
        }
        guard let stripped = try? JSONSerialization.data(withJSONObject: list) else { return false }
        return !String(decoding: stripped, as: UTF8.self).contains(form)
    }
}
