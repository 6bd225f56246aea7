extension DockerClient {
    /// One sample of a running container's resource use. The engine reads two samples about a
    /// second apart, so `precpuStats` is filled and a CPU percentage can be computed.
    ///
    /// Maps to `GET /containers/{id}/stats?stream=false`.
    public func containerStats(_ id: String) async throws -> ContainerStats {
        try await get("/containers/\(Self.pathSegment(id))/stats", query: [("stream", "false")])
    }
}

/// `GET /containers/{id}/stats` (cgroup v1 and v2 alike), with only the fields reconcile uses.
public struct ContainerStats: Codable, Sendable, Equatable {
    public var cpuStats: CPUStats?
    public var precpuStats: CPUStats?
    public var memoryStats: MemoryStats?

    public init(cpuStats: CPUStats? = nil, precpuStats: CPUStats? = nil, memoryStats: MemoryStats? = nil) {
        self.cpuStats = cpuStats
        self.precpuStats = precpuStats
        self.memoryStats = memoryStats
    }

    enum CodingKeys: String, CodingKey {
        case cpuStats = "cpu_stats", precpuStats = "precpu_stats", memoryStats = "memory_stats"
    }

    public struct CPUStats: Codable, Sendable, Equatable {
        public var cpuUsage: CPUUsage?
        /// Nanoseconds of the host's CPU time.
        public var systemCPUUsage: UInt64?
        public var onlineCPUs: Int?

        public init(totalUsage: UInt64, systemCPUUsage: UInt64?, onlineCPUs: Int?) {
            self.cpuUsage = CPUUsage(totalUsage: totalUsage)
            self.systemCPUUsage = systemCPUUsage
            self.onlineCPUs = onlineCPUs
        }

        enum CodingKeys: String, CodingKey {
            case cpuUsage = "cpu_usage", systemCPUUsage = "system_cpu_usage", onlineCPUs = "online_cpus"
        }
    }

    public struct CPUUsage: Codable, Sendable, Equatable {
        /// Nanoseconds of CPU time the container used.
        public var totalUsage: UInt64?
        public init(totalUsage: UInt64?) { self.totalUsage = totalUsage }
        enum CodingKeys: String, CodingKey { case totalUsage = "total_usage" }
    }

    public struct MemoryStats: Codable, Sendable, Equatable {
        public var usage: UInt64?
        public var limit: UInt64?
        /// cgroup v1 `cache` / v2 `inactive_file`: page cache the kernel reclaims first.
        public var stats: [String: UInt64]?

        public init(usage: UInt64?, limit: UInt64?, stats: [String: UInt64]? = nil) {
            self.usage = usage
            self.limit = limit
            self.stats = stats
        }
    }

    /// CPU use between the two samples, in percent of one core (200 = two cores busy), as
    /// `docker stats` computes it; nil when the samples do not allow it.
    public var cpuPercentOfOneCore: Double? {
        guard let now = cpuStats, let before = precpuStats, let used = now.cpuUsage?.totalUsage, let usedBefore = before.cpuUsage?.totalUsage,
              let system = now.systemCPUUsage, let systemBefore = before.systemCPUUsage, system > systemBefore, used >= usedBefore
        else { return nil }
        let cpus = Double(now.onlineCPUs ?? 1)
        return Double(used - usedBefore) / Double(system - systemBefore) * cpus * 100
    }

    /// Memory in use less reclaimable page cache, as `docker stats` shows it.
    public var memoryUsedBytes: UInt64? {
        guard let memory = memoryStats, let usage = memory.usage else { return nil }
        let cache = memory.stats?["inactive_file"] ?? memory.stats?["total_inactive_file"] ?? memory.stats?["cache"] ?? 0
        return usage > cache ? usage - cache : usage
    }
}
