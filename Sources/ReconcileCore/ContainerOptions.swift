/// The service keys that pass straight through to the engine's container configuration
/// (namespaces, kernel settings, cgroup resources, DNS, devices, hooks…), kept apart from
/// `Service`'s older fields so that a configuration that uses none of them is encoded,
/// hashed and labelled exactly as before they existed.
///
/// Every field is optional and nil when the manifest does not set it (an empty list or map
/// is stored as nil too), so "unset" has one representation. Coding keys are the manifest's
/// spelling, so a plan's field diff reads like the file (`sysctls.net.core.somaxconn`).
public struct ContainerOptions: Sendable, Equatable, Hashable, Codable {
    /// `container_name`: the one replica's name instead of `<project>-<service>-1`.
    public var containerName: String?
    /// `platform`, e.g. "linux/amd64": sent on create, checked against the engine's.
    public var platform: String?
    /// `network_mode` as written: `host`, `none`, `bridge`, `service:NAME` or `container:NAME`.
    public var networkMode: String?
    /// `volumes_from`, each "service:NAME[:ro|rw]" or "container:NAME[:ro|rw]" (a bare NAME is a service).
    public var volumesFrom: [String]?
    /// `links`, each "SERVICE[:ALIAS]".
    public var links: [String]?
    /// `external_links`, each "CONTAINER[:ALIAS]".
    public var externalLinks: [String]?
    public var privileged: Bool?
    /// `devices`: host devices mapped into the container.
    public var devices: [DeviceMapping]?
    public var sysctls: [String: String]?
    public var tty: Bool?
    public var stdinOpen: Bool?
    public var readOnly: Bool?
    public var securityOpt: [String]?
    public var pid: String?
    public var uts: String?
    public var usernsMode: String?
    /// `cgroup`: `host` or `private`.
    public var cgroup: String?
    public var cgroupParent: String?
    public var dns: [String]?
    public var dnsSearch: [String]?
    public var dnsOpt: [String]?
    public var domainname: String?
    public var macAddress: String?
    public var groupAdd: [String]?
    public var cpuCount: Int64?
    public var cpuPercent: Int64?
    public var cpuShares: Int64?
    /// Microseconds.
    public var cpuPeriod: Int64?
    /// Microseconds.
    public var cpuQuota: Int64?
    /// Microseconds.
    public var cpuRtRuntime: Int64?
    /// Microseconds.
    public var cpuRtPeriod: Int64?
    /// `cpuset`: CPUs the container may use, e.g. "0-3,6".
    public var cpuset: String?
    /// Bytes.
    public var memReservation: Int64?
    public var memSwappiness: Int64?
    /// Bytes of memory plus swap; -1 is unlimited.
    public var memswapLimit: Int64?
    public var oomKillDisable: Bool?
    public var oomScoreAdj: Int64?
    public var blkio: BlkioConfig?
    public var deviceCgroupRules: [String]?
    public var storageOpt: [String: String]?
    public var annotations: [String: String]?
    /// `post_start`: commands run in the container through the exec API once it started.
    public var postStart: [LifecycleHook]?
    /// `pre_stop`: commands run in the container before it is stopped.
    public var preStop: [LifecycleHook]?

    public init() {}

    /// True when no field is set: such a configuration is encoded as if this type did not exist.
    public var isEmpty: Bool { self == ContainerOptions() }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case containerName = "container_name", platform, networkMode = "network_mode", volumesFrom = "volumes_from"
        case links, externalLinks = "external_links", privileged, devices, sysctls, tty, stdinOpen = "stdin_open"
        case readOnly = "read_only", securityOpt = "security_opt", pid, uts, usernsMode = "userns_mode", cgroup
        case cgroupParent = "cgroup_parent", dns, dnsSearch = "dns_search", dnsOpt = "dns_opt", domainname
        case macAddress = "mac_address", groupAdd = "group_add", cpuCount = "cpu_count", cpuPercent = "cpu_percent"
        case cpuShares = "cpu_shares", cpuPeriod = "cpu_period", cpuQuota = "cpu_quota", cpuRtRuntime = "cpu_rt_runtime"
        case cpuRtPeriod = "cpu_rt_period", cpuset, memReservation = "mem_reservation", memSwappiness = "mem_swappiness"
        case memswapLimit = "memswap_limit", oomKillDisable = "oom_kill_disable", oomScoreAdj = "oom_score_adj"
        case blkio = "blkio_config", deviceCgroupRules = "device_cgroup_rules", storageOpt = "storage_opt", annotations
        case postStart = "post_start", preStop = "pre_stop"
    }

    /// The service a `network_mode: service:NAME` joins, if any.
    public var networkModeService: String? {
        guard let mode = networkMode, mode.hasPrefix("service:") else { return nil }
        return String(mode.dropFirst("service:".count))
    }

    /// True when the container shares a network namespace that a second container of the
    /// same replica would share too (the host's or another container's): two containers
    /// there would bind the same ports.
    public var sharesNetworkNamespace: Bool {
        guard let mode = networkMode else { return false }
        return mode == "host" || mode.hasPrefix("service:") || mode.hasPrefix("container:")
    }

    /// Services whose containers this one needs at create time (`network_mode: service:`,
    /// `volumes_from`, `links`): they are created first.
    public var serviceReferences: [String] {
        var out: [String] = []
        if let service = networkModeService { out.append(service) }
        if let mode = pid, mode.hasPrefix("service:") { out.append(String(mode.dropFirst("service:".count))) }
        for entry in volumesFrom ?? [] where !entry.hasPrefix("container:") {
            let bare = entry.hasPrefix("service:") ? String(entry.dropFirst("service:".count)) : entry
            if let name = bare.split(separator: ":").first { out.append(String(name)) }
        }
        for link in links ?? [] {
            if let name = link.split(separator: ":").first { out.append(String(name)) }
        }
        return out
    }
}

/// One `devices` entry: a host device made available in the container.
public struct DeviceMapping: Sendable, Equatable, Hashable, Codable {
    public var source: String
    public var target: String
    /// cgroup permissions: some of `r`, `w`, `m`.
    public var permissions: String

    public init(source: String, target: String? = nil, permissions: String = "rwm") {
        self.source = source
        self.target = target ?? source
        self.permissions = permissions
    }
}

/// `blkio_config`.
public struct BlkioConfig: Sendable, Equatable, Hashable, Codable {
    public struct Weight: Sendable, Equatable, Hashable, Codable {
        public var path: String
        public var weight: Int64
        public init(path: String, weight: Int64) {
            self.path = path
            self.weight = weight
        }
    }
    public struct Rate: Sendable, Equatable, Hashable, Codable {
        public var path: String
        /// Bytes or operations per second.
        public var rate: Int64
        public init(path: String, rate: Int64) {
            self.path = path
            self.rate = rate
        }
    }
    public var weight: Int64?
    public var weightDevice: [Weight]?
    public var deviceReadBps: [Rate]?
    public var deviceWriteBps: [Rate]?
    public var deviceReadIops: [Rate]?
    public var deviceWriteIops: [Rate]?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case weight, weightDevice = "weight_device", deviceReadBps = "device_read_bps"
        case deviceWriteBps = "device_write_bps", deviceReadIops = "device_read_iops", deviceWriteIops = "device_write_iops"
    }
}

/// A `post_start` or `pre_stop` hook: a command run in the container through the exec API.
public struct LifecycleHook: Sendable, Equatable, Hashable, Codable {
    public var command: [String]
    public var user: String?
    public var privileged: Bool?
    public var workingDir: String?
    public var environment: [String: String]?

    public init(
        command: [String], user: String? = nil, privileged: Bool? = nil, workingDir: String? = nil,
        environment: [String: String]? = nil
    ) {
        self.command = command
        self.user = user
        self.privileged = privileged
        self.workingDir = workingDir
        self.environment = environment
    }

    enum CodingKeys: String, CodingKey {
        case command, user, privileged, workingDir = "working_dir", environment
    }
}

extension ContainerOptions {
    /// Writes the set fields, each behind its own number, in a fixed order: unset fields
    /// write nothing, and the numbers keep two different sets of fields apart.
    func write(into w: inout CanonicalWriter) {
        var field = 0
        func next() -> Int { field += 1; return field }
        func string(_ value: String?) {
            let id = next()
            if let value { w.int(id); w.raw(value) }
        }
        func int(_ value: Int64?) {
            let id = next()
            if let value { w.int(id); w.int(Int(value)) }
        }
        func bool(_ value: Bool?) {
            let id = next()
            if let value { w.int(id); w.int(value ? 1 : 0) }
        }
        func strings(_ value: [String]?) {
            let id = next()
            if let value { w.int(id); w.int(value.count); for item in value { w.raw(item) } }
        }
        func map(_ value: [String: String]?) {
            let id = next()
            if let value { w.int(id); w.map("", value) }
        }
        func hooks(_ value: [LifecycleHook]?) {
            let id = next()
            guard let value else { return }
            w.int(id)
            w.list("", value) { w, hook in
                w.strings("command", hook.command)
                w.string("user", hook.user)
                w.bool("privileged", hook.privileged)
                w.string("working_dir", hook.workingDir)
                w.map("environment", hook.environment ?? [:])
                w.bool("has_environment", hook.environment != nil)
            }
        }
        string(containerName)
        string(platform)
        string(networkMode)
        strings(volumesFrom)
        strings(links)
        strings(externalLinks)
        bool(privileged)
        let devicesID = next()
        if let devices {
            w.int(devicesID)
            w.list("", devices) { w, d in
                w.raw(d.source)
                w.raw(d.target)
                w.raw(d.permissions)
            }
        }
        map(sysctls)
        bool(tty)
        bool(stdinOpen)
        bool(readOnly)
        strings(securityOpt)
        string(pid)
        string(uts)
        string(usernsMode)
        string(cgroup)
        string(cgroupParent)
        strings(dns)
        strings(dnsSearch)
        strings(dnsOpt)
        string(domainname)
        string(macAddress)
        strings(groupAdd)
        int(cpuCount)
        int(cpuPercent)
        int(cpuShares)
        int(cpuPeriod)
        int(cpuQuota)
        int(cpuRtRuntime)
        int(cpuRtPeriod)
        string(cpuset)
        int(memReservation)
        int(memSwappiness)
        int(memswapLimit)
        bool(oomKillDisable)
        int(oomScoreAdj)
        let blkioID = next()
        if let blkio {
            w.int(blkioID)
            w.int64("weight", blkio.weight)
            for rates in [blkio.deviceReadBps, blkio.deviceWriteBps, blkio.deviceReadIops, blkio.deviceWriteIops] {
                w.bool("present", rates != nil)
                w.list("", rates ?? []) { w, r in w.raw(r.path); w.int(Int(r.rate)) }
            }
            w.bool("present", blkio.weightDevice != nil)
            w.list("", blkio.weightDevice ?? []) { w, r in w.raw(r.path); w.int(Int(r.weight)) }
        }
        strings(deviceCgroupRules)
        map(storageOpt)
        map(annotations)
        hooks(postStart)
        hooks(preStop)
    }
}
