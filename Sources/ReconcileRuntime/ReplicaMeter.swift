import AsyncHTTPClient
import DockerEngine
import Foundation
import NIOCore
import ReconcileCore
import Synchronization

/// Measures the replicas of autoscaled services: scrapes each one's Prometheus endpoint, or
/// reads its CPU and memory from the engine's stats, and turns successive readings into the
/// value the autoscaler compares with its target (`MetricReader`). Decides nothing.
///
/// A replica is reached at its address on the first of the service's networks (the
/// controller runs on the engine's host, which routes to its bridge networks).
public final class ReplicaMeter: Sendable {
    public typealias Fetch = @Sendable (_ url: String) async throws -> String

    public let client: any ContainerEngine
    let fetch: Fetch
    /// Readers by container id: a counter's rate and a histogram's window need the previous scrape.
    private let readers = Mutex<[String: MetricReader]>([:])

    /// - Parameter fetch: reads a metrics page; the default GETs it with a 2 s deadline.
    public init(client: any ContainerEngine, fetch: Fetch? = nil) {
        self.client = client
        self.fetch = fetch ?? ReplicaMeter.httpGet
    }

    /// One measurement of one service.
    public struct Measurement: Sendable {
        /// Replica slots the service holds (surges and containers being removed left out).
        public var current: Int
        public var samples: [ReplicaSample]
        /// Why replicas have no value, for the log: "replica 2: connection refused".
        public var problems: [String]
    }

    public func measure(project: Project, service: Service, spec: AutoscaleSpec, now: Double) async throws -> Measurement {
        let filters = DockerFilters(["label": ["\(LabelKey.project)=\(project.name)", "\(LabelKey.service)=\(service.name)"]])
        let summaries = try await client.listContainers(all: true, filters: filters)
        var slots: Set<Int> = []
        var targets: [(replica: Int, summary: ContainerSummary, ready: Bool)] = []
        for summary in summaries {
            let labels = summary.labels ?? [:]
            guard let replica = labels[LabelKey.replica].flatMap({ Int($0) }), replica >= 1, summary.state != "removing" else { continue }
            if let surge = labels[LabelKey.surge], surge == summary.name { continue }
            slots.insert(replica)
            guard summary.state == "running" else { continue }
            let health = Observer.health(fromStatus: summary.status ?? "")
            targets.append((replica, summary, health == .healthy || health == .none))
        }
        let networkNames = service.networks.compactMap { project.network(key: $0.key)?.name }
        let results = await withTaskGroup(of: (Int, ReplicaSample, String?).self) { group in
            for target in targets.sorted(by: { $0.replica < $1.replica }) {
                group.addTask {
                    do {
                        let value = try await self.value(of: target.summary, service: service, spec: spec, networks: networkNames, now: now)
                        return (target.replica, ReplicaSample(replica: target.replica, value: value, ready: target.ready), nil)
                    } catch {
                        return (target.replica, ReplicaSample(replica: target.replica, value: nil, ready: target.ready), "replica \(target.replica): \(error)")
                    }
                }
            }
            var out: [(Int, ReplicaSample, String?)] = []
            for await result in group { out.append(result) }
            return out.sorted { $0.0 < $1.0 }
        }
        // Forget readers of containers that are gone.
        let live = Set(summaries.map(\.id))
        readers.withLock { readers in readers = readers.filter { live.contains($0.key) } }
        return Measurement(current: slots.count, samples: results.map(\.1), problems: results.compactMap(\.2))
    }

    private func value(of summary: ContainerSummary, service: Service, spec: AutoscaleSpec, networks: [String], now: Double) async throws -> Double? {
        switch spec.metric {
        case .cpu:
            let stats = try await client.containerStats(summary.id)
            guard let percent = stats.cpuPercentOfOneCore else { return nil }
            return percent / (service.limits.cpus ?? 1)
        case .memory:
            let stats = try await client.containerStats(summary.id)
            guard let used = stats.memoryUsedBytes, let limit = service.limits.memoryBytes ?? stats.memoryStats?.limit.map(Int64.init), limit > 0
            else { return nil }
            return Double(used) / Double(limit) * 100
        case .prometheus(let name, let port, let path, let quantile):
            let text = try await fetch("http://\(try address(of: summary, port: port, networks: networks))\(path)")
            let exposition = PrometheusText.parse(text)
            var reader = readers.withLock { $0[summary.id] } ?? MetricReader(name: name, quantile: quantile)
            let result = reader.read(exposition, at: now)
            readers.withLock { $0[summary.id] = reader }
            switch result {
            case .success(let value): return value
            case .failure(.firstScrape): return nil
            case .failure(let problem): throw MeterError(problem.description)
            }
        }
    }

    /// `HOST:PORT` where the replica's metrics port is reached: the loopback port it publishes
    /// the container port on, when it does and the engine is this machine's; else its address
    /// on the first of the service's networks.
    func address(of summary: ContainerSummary, port: Int, networks: [String]) throws -> String {
        if client.isLocal, let published = (summary.ports ?? []).first(where: {
            $0.privatePort == port && $0.type == "tcp" && $0.publicPort != nil && ["127.0.0.1", "0.0.0.0", nil].contains($0.ip)
        })?.publicPort {
            return "127.0.0.1:\(published)"
        }
        let endpoints = summary.networkSettings?.networks ?? [:]
        let address = networks.lazy.compactMap { endpoints[$0]?.ipAddress }.first { !$0.isEmpty }
            ?? endpoints.values.compactMap(\.ipAddress).first { !$0.isEmpty }
        guard let address else { throw MeterError("has no address on the service's networks and publishes no port \(port)") }
        return "\(address):\(port)"
    }

    struct MeterError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static let httpGet: Fetch = { url in
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(2))
        guard response.status == .ok else { throw MeterError("\(url) answered \(response.status.code)") }
        let body = try await response.body.collect(upTo: 4 << 20)
        return String(buffer: body)
    }
}
