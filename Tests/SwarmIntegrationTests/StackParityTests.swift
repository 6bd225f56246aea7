import DockerEngine
import Foundation
import ReconcileCore
import ReconcileSwarm
import Testing

/// The same file deployed with `docker stack deploy` and with `reconcile apply --target
/// swarm` gives the same service specs, field by field: the conversion is the docker CLI's.
@Suite("Parity with docker stack deploy", .serialized)
struct StackParityTests {
    static let file = """
        version: "3.8"
        services:
          api:
            image: reconcile-test/busybox:1
            command: ["httpd", "-f", "-p", "8080"]
            environment:
              MODEL_VERSION: "1"
              LOG_LEVEL: info
            labels: {tier: web}
            ports: ["${PORT}:8080"]
            healthcheck: {test: ["CMD", "true"], interval: 2s, timeout: 1s, retries: 2, start_period: 1s}
            user: root
            working_dir: /tmp
            hostname: api-host
            stop_signal: SIGINT
            deploy:
              replicas: 2
              labels: {owner: ml-team}
              update_config: {parallelism: 2, delay: 1s, order: start-first, failure_action: rollback, monitor: 3s}
              rollback_config: {parallelism: 1, order: stop-first}
              restart_policy: {condition: on-failure, max_attempts: 3}
              resources: {limits: {cpus: "0.5", memory: 64M}}
              placement: {constraints: ["node.role==manager"]}
          worker:
            image: reconcile-test/busybox:1
            entrypoint: ["sleep"]
            command: ["1000"]
            stop_grace_period: 1s
            init: true
            volumes: ["data:/data", "/tmp:/host-tmp:ro"]
            networks:
              back: {aliases: [jobs]}
        networks:
          back: {}
        volumes:
          data: {}
        """

    @Test("each service spec matches the docker CLI's, field by field")
    func parity() async throws {
        try await SwarmFixture.run("swp") { f in
            let stack = "\(f.project)cli"
            try Self.file.write(toFile: f.manifestPath, atomically: true, encoding: .utf8)
            let cli = try f.docker("stack", "deploy", "--resolve-image", "never", "-c", f.manifestPath, stack, environment: ["PORT": "28191"])
            defer { _ = try? f.docker("stack", "rm", stack) }
            #expect(cli.status == 0, "\(cli.stderr)")
            try ("name: \(f.project)\n" + Self.file).write(toFile: f.manifestPath, atomically: true, encoding: .utf8)
            let ours = try f.reconcile("apply", "--yes", "--target", "swarm", environment: ["PORT": "28192"])
            #expect(ours.status == 0, "\(ours.stdout)\n\(ours.stderr)")
            for service in ["api", "worker"] {
                let theirs = try Self.spec(f, "\(stack)_\(service)", namespace: stack)
                let mine = try Self.spec(f, "\(f.project)_\(service)", namespace: f.project)
                let keys = Set(theirs.keys).union(mine.keys).sorted()
                let differences = keys.filter { theirs[$0] != mine[$0] }.map { "\($0): docker stack deploy \(theirs[$0] ?? "(none)"), reconcile \(mine[$0] ?? "(none)")" }
                #expect(differences.isEmpty, "\(service):\n\(differences.joined(separator: "\n"))")
            }
        }
    }

    /// A service's spec as flat `path = value` fields, with what must differ between the two
    /// deployments made equal: the stack's name, the published port, network ids (by name),
    /// and reconcile's own labels left out. Zero values count as absent, as Go's omitempty.
    static func spec(_ f: SwarmFixture, _ name: String, namespace: String) throws -> [String: String] {
        let out = try f.docker("service", "inspect", "--format", "{{json .Spec}}", name)
        guard let object = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any] else {
            Issue.record("no spec for \(name): \(out.stderr)")
            return [:]
        }
        let networks = try f.docker("network", "ls", "--format", "{{.ID}} {{.Name}}").stdout.split(separator: "\n")
        var names: [String: String] = [:]
        for line in networks {
            let parts = line.split(separator: " ")
            if parts.count == 2 { names[String(parts[0])] = String(parts[1]) }
        }
        var flat: [String: String] = [:]
        func walk(_ value: Any, _ path: String) {
            switch value {
            case let dict as [String: Any]:
                for (key, child) in dict { walk(child, path.isEmpty ? key : "\(path).\(key)") }
            case let list as [Any]:
                for (index, child) in list.enumerated() { walk(child, "\(path)[\(index)]") }
            case is NSNull: break
            case let number as NSNumber:
                if number != 0 { flat[path] = number.stringValue }
            case let text as String:
                if !text.isEmpty { flat[path] = text }
            default: break
            }
        }
        walk(object, "")
        var normal: [String: String] = [:]
        for (key, value) in flat {
            if key.contains("io.reconcile.") { continue }
            var value = value.replacingOccurrences(of: namespace, with: "NS")
            if key.hasSuffix("PublishedPort") { value = "PORT" }
            if key.hasPrefix("TaskTemplate.Networks"), key.hasSuffix(".Target") {
                value = (names.first { $0.key.hasPrefix(value) || value.hasPrefix($0.key) }?.value ?? value).replacingOccurrences(of: namespace, with: "NS")
            }
            normal[key.replacingOccurrences(of: namespace, with: "NS")] = value
        }
        return normal
    }
}
