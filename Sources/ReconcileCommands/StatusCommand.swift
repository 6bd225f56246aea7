import ArgumentParser
import DockerEngine
import Foundation
import ReconcileCore
import ReconcileManifest
import ReconcileRuntime

/// `reconcile status`: what runs, against what the manifest wants.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each service's replicas: desired and running, state, health, image, and whether up to date.",
        discussion: "--output json prints the observed state, which `reconcile plan --state FILE` reads back."
    )

    @OptionGroup var manifest: ManifestOptions
    @OptionGroup var engine: EngineOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var gpuOptions: GPUOptions

    func run() async throws {
        do {
            let loaded = try manifest.load()
            let project = gpuOptions.apply(to: loaded.project)
            let observed = try await withEngine(engine) { client in try await Observer(client: client).observe(project: project) }
            let report = StatusReport(project: project, observed: observed)
            switch output.output {
            case .json: try Console.json(report)
            case .text: Console.out(report.text(color: Console.useColor()))
            }
        } catch {
            try report(error, format: output.output)
            throw ExitCode.failure
        }
    }
}

/// The observed state (its keys at the top level, so `plan --state` reads it) plus a
/// per-service summary for people and scripts.
struct StatusReport: Encodable {
    var project: String
    var observed: ObservedState
    var services: [ServiceStatus]

    struct ServiceStatus: Encodable {
        var name: String
        var desired: Int
        var running: Int
        var healthy: Int
        var containers: [ContainerStatus]
    }

    struct ContainerStatus: Encodable {
        var name: String
        var id: String
        var state: String
        var health: String
        var image: String
        var upToDate: Bool
        var gpus: [String]
    }

    init(project: Project, observed: ObservedState) {
        self.project = project.name
        self.observed = observed
        var byService: [String: [ObservedContainer]] = [:]
        // Hashes written by an earlier encoding of the same configuration count as up to date, as in the planner.
        for container in observed.upgradingLegacyHashes(for: project).containers where container.project == project.name {
            byService[container.service ?? "", default: []].append(container)
        }
        var services: [ServiceStatus] = []
        let names = Set(project.services.map(\.name)).union(byService.keys)
        for name in names.sorted() {
            let service = project.service(named: name)
            let hash = service.map { ReplicaConfig(service: $0, project: project).hash(key: project.hashKey) }
            // A GPU replica's hash covers its placement: compare it on the GPUs it holds.
            let placed = { (c: ObservedContainer) -> String? in
                service.flatMap { s in
                    s.devices.contains(where: \.isGPU)
                        ? ReplicaConfig(service: s, project: project, devices: s.devices(placedOn: c.gpuDeviceIDs)).hash(key: project.hashKey) : nil
                }
            }
            let containers = (byService[name] ?? []).sorted { ($0.replica ?? 0, $0.name) < ($1.replica ?? 0, $1.name) }
            services.append(
                ServiceStatus(
                    name: name, desired: service?.replicas ?? 0, running: containers.filter { $0.state == .running }.count,
                    healthy: containers.filter { $0.health == .healthy }.count,
                    containers: containers.map { c in
                        ContainerStatus(
                            name: c.name, id: String(c.id.prefix(12)), state: c.state.rawValue, health: c.health.rawValue,
                            image: c.image,
                            upToDate: hash != nil && (c.configHash == hash || c.configHash == placed(c))
                                && (observed.images[c.image] == nil || observed.images[c.image] == c.imageID),
                            gpus: c.gpuDeviceIDs)
                    }))
        }
        self.services = services
    }

    enum CodingKeys: String, CodingKey { case project, services }

    /// The observed state's own keys, all of them, so `plan --state` reads back exactly what
    /// was observed; then the project and the per-service view.
    func encode(to encoder: any Encoder) throws {
        try observed.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(project, forKey: .project)
        try container.encode(services, forKey: .services)
    }

    func text(color: Bool) -> String {
        func paint(_ s: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }
        var lines = ["project \(project)"]
        for service in services {
            let ok = service.running == service.desired
            lines.append(
                "  \(paint(service.name, "1"))  \(service.running)/\(service.desired) running\(service.healthy > 0 ? ", \(service.healthy) healthy" : "")"
                    + (ok ? "" : paint("  (not converged)", "33")))
            for c in service.containers {
                var state = c.state
                if c.health != "none" { state += " (\(c.health))" }
                let fresh = c.upToDate ? "up to date" : paint("out of date", "33")
                let gpus = c.gpus.isEmpty ? "" : "  gpus \(c.gpus.joined(separator: ","))"
                lines.append("    \(c.name)  \(c.id)  \(state)  \(c.image)  \(fresh)\(gpus)")
            }
        }
        lines.append(contentsOf: gpuLines())
        return lines.joined(separator: "\n")
    }

    /// The GPU inventory and who holds each GPU: "gpus 4 (nvidia-smi)", then "  0  ml-train-1".
    func gpuLines() -> [String] {
        guard let source = observed.gpuSource else { return [] }
        guard let gpus = observed.gpus else { return ["gpus unknown (\(source))"] }
        var lines = ["gpus \(gpus.count) (\(source))"]
        for device in gpus {
            let holders = observed.containers.filter { container in
                container.gpuDeviceIDs.contains(device.id) || device.uuid.map { container.gpuDeviceIDs.contains($0) } == true
            }.map { container in
                container.project == project ? container.name : "\(container.name) (\(container.project.map { "project \($0)" } ?? "not managed by reconcile"))"
            }
            var line = "  \(device.id)  \(holders.isEmpty ? "free" : holders.joined(separator: ", "))"
            if let memory = device.memoryBytes { line += "  \(memory >> 30) GiB" }
            if let uuid = device.uuid { line += "  \(uuid)" }
            lines.append(line)
        }
        return lines
    }
}
