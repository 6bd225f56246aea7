import ArgumentParser
import DockerEngine
import Foundation
import ReconcileCore
import ReconcileManifest
import ReconcileController
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
    @OptionGroup var target: TargetOptions

    func run() async throws {
        do {
            if target.isSwarm(manifest) { return try await SwarmCommands.status(manifest: manifest, engine: engine, format: output.output) }
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
        /// Replicas whose health check says healthy.
        var healthy: Int
        /// Replicas ready to serve: running and, where they have a health check, healthy
        /// (`ObservedContainer.isReady`, what apply --wait and validation wait for).
        var ready: Int
        var containers: [ContainerStatus]
        /// The service's `x-reconcile.autoscale`, when it has one: `desired` is then the count
        /// it runs kept within `[min, max]`, as `apply` plans it.
        var autoscale: Autoscale?
    }

    struct Autoscale: Encodable {
        var min: Int
        var max: Int
        var metric: String
        var target: Double
        /// Seconds between decisions.
        var interval: Double
        /// The controller's last decision, when a controller renders the report (`/status`).
        var last: AutoscaleStatus?
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

    init(project: Project, observed: ObservedState, autoscale decisions: [AutoscaleStatus] = []) {
        self.project = project.name
        self.observed = observed
        var byService: [String: [ObservedContainer]] = [:]
        // Hashes written by an earlier encoding of the same configuration count as up to date, as in the planner.
        let upgraded = observed.upgradingLegacyHashes(for: project)
        for container in upgraded.containers where container.project == project.name {
            byService[container.service ?? "", default: []].append(container)
        }
        var services: [ServiceStatus] = []
        let names = Set(project.services.map(\.name)).union(byService.keys)
        for name in names.sorted() {
            let service = project.service(named: name)
            // The planner's own test of "current" (ReplicaCurrency): the same answer as `plan`.
            let currency = service.map { ReplicaCurrency(service: $0, project: project, observed: upgraded) }
            let containers = (byService[name] ?? []).sorted { ($0.replica ?? 0, $0.name) < ($1.replica ?? 0, $1.name) }
            var desired = service?.replicas ?? 0
            var autoscale: Autoscale?
            if let service, let spec = service.extensions.autoscale {
                let slots = Set(containers.filter { $0.state != .removing && !$0.isSurge }.compactMap(\.replica)).count
                let last = decisions.first { $0.service == name }
                desired = last.map { spec.clamp($0.desired) } ?? spec.clamp(slots == 0 ? service.replicas : slots)
                autoscale = Autoscale(min: spec.min, max: spec.max, metric: spec.metric.name, target: spec.target, interval: spec.interval, last: last)
            }
            services.append(
                ServiceStatus(
                    name: name, desired: desired, running: containers.filter { $0.state == .running }.count,
                    healthy: containers.filter { $0.health == .healthy }.count,
                    ready: containers.filter(\.isReady).count,
                    containers: containers.map { c in
                        ContainerStatus(
                            name: c.name, id: String(c.id.prefix(12)), state: c.state.rawValue, health: c.health.rawValue,
                            image: c.image, upToDate: currency?.isCurrent(c) ?? false, gpus: c.gpuDeviceIDs)
                    }, autoscale: autoscale))
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
                "  \(paint(service.name, "1"))  \(service.running)/\(service.desired) running, \(service.ready) ready\(service.healthy > 0 ? ", \(service.healthy) healthy" : "")"
                    + (ok ? "" : paint("  (not converged)", "33")))
            if let scale = service.autoscale {
                var line = "    autoscale \(scale.min)–\(scale.max) on \(scale.metric), target \(Self.number(scale.target)) per replica, every \(Self.number(scale.interval)) s"
                if let last = scale.last { line += "; last: \(last.decision)" }
                lines.append(line)
            }
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

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
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
