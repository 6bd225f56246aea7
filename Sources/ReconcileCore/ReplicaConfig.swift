import Foundation

/// Everything about one replica's container that forces a recreate when it changes.
///
/// Built from the service and the project (network and volume keys become engine names),
/// plus the replica's GPU placement. Deliberately absent: the replica count, `depends_on`,
/// update and rollback policy, profiles, pull policy and validation settings — changing
/// those must not recreate anything.
public struct ReplicaConfig: Sendable, Equatable, Codable {
    public var image: String
    public var command: [String]?
    public var entrypoint: [String]?
    public var environment: [String: String]
    public var ports: [PortMapping]
    public var expose: [String]
    /// Mounts with `source` as the engine-side volume name for volume mounts.
    public var mounts: [Mount]
    /// Networks with `key` as the engine-side network name.
    public var networks: [ServiceNetwork]
    public var healthcheck: Healthcheck?
    public var restart: String?
    public var labels: [String: String]
    public var workingDir: String?
    public var user: String?
    public var stopSignal: String?
    public var stopGracePeriod: Double?
    public var limits: ResourceLimits
    /// Device requests with this replica's placement applied.
    public var devices: [DeviceRequest]
    public var initProcess: Bool?
    public var shmSize: Int64?
    public var ipc: String?
    public var ulimits: [Ulimit]
    public var tmpfs: [String]
    public var extraHosts: [String]
    public var hostname: String?
    public var capAdd: [String]
    public var capDrop: [String]
    public var logging: Logging?
    public var runtime: String?
    /// Granted secrets and configs with the digest of their content; nil when none.
    public var secrets: [MountedFile]?
    public var configs: [MountedFile]?
    /// The pass-through keys; nil when none is set, so such a configuration is labelled and
    /// hashed as before they existed.
    public var options: ContainerOptions?

    /// The configuration of `service`'s replicas in `project`, with `devices` as placed.
    public init(service: Service, project: Project, devices: [DeviceRequest]? = nil) {
        image = service.image
        command = service.command
        entrypoint = service.entrypoint
        environment = service.environment
        ports = service.ports
        expose = service.expose
        mounts = service.mounts.map { mount in
            var resolved = mount
            if mount.type == .volume, let key = mount.source {
                resolved.source = project.volume(key: key)?.name ?? Naming.resourceName(project: project.name, key: key)
            }
            return resolved
        }
        networks = service.networks.map { network in
            var resolved = network
            resolved.key = project.network(key: network.key)?.name
                ?? Naming.resourceName(project: project.name, key: network.key)
            return resolved
        }
        healthcheck = service.healthcheck
        restart = service.restart
        labels = service.labels
        workingDir = service.workingDir
        user = service.user
        stopSignal = service.stopSignal
        stopGracePeriod = service.stopGracePeriod
        limits = service.limits
        self.devices = devices ?? service.devices
        initProcess = service.initProcess
        shmSize = service.shmSize
        ipc = service.ipc
        ulimits = service.ulimits
        tmpfs = service.tmpfs
        extraHosts = service.extraHosts
        hostname = service.hostname
        capAdd = service.capAdd
        capDrop = service.capDrop
        logging = service.logging
        runtime = service.runtime
        secrets = MountedFile.list(service.secrets, project.secrets)
        configs = MountedFile.list(service.configs, project.configs)
        options = service.options.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The value shown where secret values are masked.
    public static let sensitive = "(sensitive)"

    /// A copy whose secret environment values are replaced by `(sensitive)`: safe to print and store.
    /// Secret files keep only the fingerprint of their digest.
    public func masked(secrets: [String]) -> ReplicaConfig {
        var copy = self
        copy.secrets = self.secrets?.map { file in
            var file = file
            file.digest = FileObject.fingerprint(file.digest)
            return file
        }
        guard !secrets.isEmpty else { return copy }
        for name in secrets where copy.environment[name] != nil {
            copy.environment[name] = ReplicaConfig.sensitive
        }
        return copy
    }

    /// Canonical JSON: sorted keys, no whitespace. Same config, same bytes.
    public func canonicalJSON() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Decodes a config stored in the `io.reconcile.config` label.
    public static func decode(label: String) -> ReplicaConfig? {
        try? JSONDecoder().decode(ReplicaConfig.self, from: Data(label.utf8))
    }

    /// The config as a flat map from field path to a display value, for field-level diffs.
    /// Maps (environment, labels, limits, healthcheck, logging) are split into one entry per key.
    public func fields() -> [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return [:] }
        var out: [String: String] = [:]
        for (key, value) in object {
            let field = ReplicaConfig.fieldName(key)
            if key == "devices" {
                out[field] = ReplicaConfig.display(devices)
                continue
            }
            if key == "secrets" || key == "configs" {
                for file in (key == "secrets" ? secrets : configs) ?? [] {
                    ReplicaConfig.addFields(of: file, under: "\(key).\(file.name)", sensitive: key == "secrets", to: &out)
                }
                continue
            }
            if key == "options", let options = value as? [String: Any] {
                // Flattened: each key reads as the manifest writes it (`sysctls.net.core.somaxconn`).
                for (option, optionValue) in options {
                    if let map = optionValue as? [String: Any], ReplicaConfig.splitOptions.contains(option) {
                        for (subkey, subvalue) in map {
                            out["\(option).\(subkey)"] = ReplicaConfig.display(subvalue, encoder: encoder)
                        }
                    } else {
                        out[option] = ReplicaConfig.display(optionValue, encoder: encoder)
                    }
                }
                continue
            }
            if let map = value as? [String: Any], ReplicaConfig.splitFields.contains(key) {
                for (subkey, subvalue) in map {
                    out["\(field).\(subkey)"] = ReplicaConfig.display(subvalue, encoder: encoder)
                }
            } else {
                out[field] = ReplicaConfig.display(value, encoder: encoder)
            }
        }
        return out
    }

    /// Devices as a person reads them: "0,1" for placed GPUs, "count 2", "all", "none".
    private static func display(_ devices: [DeviceRequest]) -> String {
        guard !devices.isEmpty else { return "none" }
        return devices.map { device in
            var text: String
            if let ids = device.deviceIDs {
                text = ids.joined(separator: ",")
            } else if case .exactly(let n)? = device.count {
                text = "count \(n)"
            } else {
                text = "all"
            }
            if !device.isGPU { text += " (\(device.driver ?? device.capabilities.joined(separator: ",")))" }
            return text
        }.joined(separator: "; ")
    }

    private static let splitFields: Set<String> = ["environment", "labels", "limits", "healthcheck", "logging"]
    private static let splitOptions: Set<String> = ["sysctls", "storage_opt", "annotations"]

    /// Manifest spelling of a field, so a diff reads like the file the user wrote.
    private static func fieldName(_ key: String) -> String {
        switch key {
        case "mounts": return "volumes"
        case "workingDir": return "working_dir"
        case "stopSignal": return "stop_signal"
        case "stopGracePeriod": return "stop_grace_period"
        case "limits": return "resources.limits"
        case "initProcess": return "init"
        case "shmSize": return "shm_size"
        case "extraHosts": return "extra_hosts"
        case "capAdd": return "cap_add"
        case "capDrop": return "cap_drop"
        case "devices": return "gpus"
        default: return key
        }
    }

    private static func display(_ value: Any, encoder: JSONEncoder) -> String {
        if let string = value as? String { return "\"\(string)\"" }
        if let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes]) {
            return String(decoding: data, as: UTF8.self)
        }
        return String(describing: value)
    }
}

extension ReplicaConfig {
    /// A secret's content field: "(sensitive)" followed by its fingerprint, so that two
    /// versions compare unequal; `shown` drops the fingerprint before anything prints it.
    private static let sensitivePrefix = sensitive + " "

    /// One field for the content (`secrets.NAME`) and one per mount setting.
    fileprivate static func addFields(of file: MountedFile, under field: String, sensitive: Bool, to out: inout [String: String]) {
        if sensitive {
            out[field] = sensitivePrefix + (FileObject.fingerprint(file.digest) ?? "")
        } else {
            out[field] = file.digest.map { "\"sha256:\($0.prefix(12))\"" } ?? "\"(unknown content)\""
        }
        out["\(field).target"] = "\"\(file.target)\""
        if let path = file.hostPath { out["\(field).file"] = "\"\(path)\"" }
        if let uid = file.uid { out["\(field).uid"] = "\"\(uid)\"" }
        if let gid = file.gid { out["\(field).gid"] = "\"\(gid)\"" }
        if let mode = file.mode { out["\(field).mode"] = "\"0\(String(mode, radix: 8))\"" }
    }

    /// A field value as it may be shown: a secret's content reads `(sensitive)`, whatever it is.
    public static func shown(_ value: String?) -> String? {
        guard let value, value.hasPrefix(sensitivePrefix) else { return value }
        return sensitive
    }
}
