import DockerEngine
import Foundation
import ReconcileCore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `reconcile controller` autoscaling a busybox service on the private dockerd: each replica
/// serves `/cgi-bin/work` (a short CGI) and `/cgi-bin/metrics`, a Prometheus counter of the
/// requests it served; load generators on the project network call the service name.
@Suite("autoscaling against a real engine", .tags(.engine), .serialized)
struct AutoscaleIntegrationTests {
    /// A subnet of its own per run, outside the test daemon's pools, so a draining replica
    /// keeps its address.
    static func manifest(subnet: Int) -> String {
        """
        services:
          api:
            image: \(ProjectFixture.image1)
            init: true
            stop_grace_period: 3s
            ports: ["127.0.0.1::8080"]
            command:
              - sh
              - -c
              - |
                mkdir -p /www/cgi-bin
                printf '#!/bin/sh\\necho x >> /tmp/hits\\nsleep 0.05\\nprintf "Content-Type: text/plain\\\\r\\\\n\\\\r\\\\nok\\\\n"\\n' > /www/cgi-bin/work
                printf '#!/bin/sh\\nprintf "Content-Type: text/plain\\\\r\\\\n\\\\r\\\\n"\\necho "# TYPE requests_total counter"\\necho "requests_total $$(wc -l < /tmp/hits)"\\n' > /www/cgi-bin/metrics
                chmod +x /www/cgi-bin/work /www/cgi-bin/metrics
                touch /tmp/hits
                httpd -f -p 8080 -h /www &
                trap 'sleep 0.5; kill $$!; exit 0' TERM
                wait
            deploy:
              replicas: 1
            x-reconcile:
              autoscale:
                min: 1
                max: 3
                metric: {prometheus: requests_total, port: 8080, path: /cgi-bin/metrics}
                target: 5
                interval: 2s
                scale_down_window: 6s
        networks:
          default:
            ipam:
              config:
                - subnet: 10.215.\(subnet).0/24
        """
    }

    /// A load generator on the project's network: `workers` loops calling the service name,
    /// each printing `.` per request served and `F` on a line per request failed.
    static func loadgen(_ f: ProjectFixture, name: String, workers: Int, pause: String) async throws -> String {
        let loop = "while true; do if wget -q -O /dev/null http://api:8080/cgi-bin/work; then printf .; else echo F; fi; sleep \(pause); done"
        let script = (0..<workers).map { _ in "(\(loop)) &" }.joined(separator: "\n") + "\nwait"
        let created = try await f.client.createContainer(
            name: "\(f.project)-\(name)",
            ContainerCreateRequest(
                config: ContainerConfig(cmd: ["sh", "-c", script], image: ProjectFixture.image1, labels: ["reconcile.test": f.project]),
                hostConfig: HostConfig(networkMode: "\(f.project)_default", initProcess: true)))
        _ = try await f.client.startContainer(created.id)
        return created.id
    }

    /// Requests served by one replica, from its own metrics endpoint on its published port.
    static func served(_ f: ProjectFixture, replica: Int) async throws -> Int? {
        let inspect = try await f.client.inspectContainer(f.name("api", replica))
        guard let port = inspect.networkSettings?.ports?["8080/tcp"]??.first?.hostPort else { return nil }
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-sf", "--max-time", "5", "http://127.0.0.1:\(port)/cgi-bin/metrics"]
        let out = Pipe()
        curl.standardOutput = out
        curl.standardError = FileHandle.nullDevice
        try curl.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        curl.waitUntilExit()
        let line = String(decoding: data, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("requests_total ") }
        return line.flatMap { Int($0.split(separator: " ").last?.trimmingCharacters(in: .whitespaces) ?? "") }
    }

    @Test("a step in load scales up to the expected count, the added replicas take load, and load removed scales back to min after the window without a failed request")
    func stepUpAndDrain() async throws {
        try await ProjectFixture.run("as-step") { f in
            try f.write(Self.manifest(subnet: Int.random(in: 1...250)))
            let controller = try ControllerProcess(f)
            defer { controller.terminate() }
            try await controller.waitRunning(f, service: "api", count: 1, within: 60)

            // Step: six loops, far above 5 requests per second for one replica.
            let heavy = try await Self.loadgen(f, name: "heavy", workers: 6, pause: "0.05")
            var generators = [heavy]
            defer { for id in generators { Task { try? await f.client.removeContainer(id, force: true) } } }
            let stepped = Date()
            try await controller.waitRunning(f, service: "api", count: 3, within: 60)
            let reached = Date().timeIntervalSince(stepped)
            #expect(controller.log().contains("create: autoscale 1 → ") || controller.log().contains("reason=\"autoscale 1 → "), "\(controller.log())")
            let metrics = try controller.get("/metrics")
            #expect(metrics.contains(#"reconcile_autoscale_desired_replicas{service="api"} 3.0"#), "\(metrics)")
            try ControllerTests.checkExposition(metrics)
            let status = try controller.get("/status")
            #expect(status.contains("\"autoscale\""))

            // Every replica, the added ones too, serves requests: its own counter grows.
            let before = try await (1...3).asyncMap { try await Self.served(f, replica: $0) ?? 0 }
            try await Task.sleep(for: .seconds(2))
            let after = try await (1...3).asyncMap { try await Self.served(f, replica: $0) ?? 0 }
            for replica in 0..<3 {
                #expect(after[replica] > before[replica], "replica \(replica + 1) served \(after[replica] - before[replica]) requests in 2 s")
            }
            print("autoscale: step to 3 replicas serving in \(String(format: "%.1f", reached)) s; per-replica requests in 2 s: \(zip(after, before).map { $0 - $1 })")

            // Load down to a trickle that keeps running through the scale-down.
            let light = try await Self.loadgen(f, name: "light", workers: 1, pause: "0.2")
            generators.append(light)
            try await f.client.removeContainer(heavy, force: true)
            generators.removeFirst()
            try await controller.waitRunning(f, service: "api", count: 1, within: 60)
            try await Task.sleep(for: .seconds(1))
            try await f.client.killContainer(light)
            let text = try await f.client.containerLogs(light).map(\.text).joined()
            let failed = text.filter { $0 == "F" }.count
            let ok = text.filter { $0 == "." }.count
            #expect(ok > 10, "the light load made \(ok) requests")
            #expect(failed == 0, "\(failed) of \(ok + failed) requests failed during the scale-down\n\(controller.log())")
            #expect(controller.log().contains("autoscale 3 → "), "\(controller.log())")
        }
    }
}

extension ClosedRange where Bound == Int {
    func asyncMap<T>(_ transform: (Int) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for value in self { out.append(try await transform(value)) }
        return out
    }
}
