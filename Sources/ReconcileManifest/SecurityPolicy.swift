import Foundation
import ReconcileCore

/// How strict the load-time security policy is.
public enum PolicyLevel: String, Sendable, CaseIterable, Codable {
    /// What every command enforces: settings that give a container the host (Pod Security
    /// "baseline") are errors unless `x-reconcile.allow` lists them.
    case baseline
    /// `reconcile check --policy restricted`: baseline, plus warnings for what Pod Security
    /// "restricted" and the CIS benchmark ask of a hardened container.
    case restricted
}

/// One rule of the security policy. Its `id` is what `x-reconcile.allow` lists.
public struct PolicyRule: Sendable, Equatable {
    public let id: String
    /// The benchmark items it checks, e.g. "CIS Docker 5.4, Pod Security baseline: Privileged Containers".
    public let reference: String
    /// What the setting gives the container, in a few words.
    public let risk: String
    /// Refused at `baseline`; the others only warn at `restricted`.
    public let refused: Bool
    /// Whether an allow entry may name one instance (`capability:NET_ADMIN`).
    public let detailed: Bool

    public static let privileged = PolicyRule(
        id: "privileged", reference: "CIS Docker 5.4, Pod Security baseline: Privileged Containers",
        risk: "a privileged container has every capability and every host device: it is root on the host",
        refused: true, detailed: false)
    public static let hostNetwork = PolicyRule(
        id: "host-network", reference: "CIS Docker 5.9, Pod Security baseline: Host Namespaces",
        risk: "the host's network namespace lets the container bind any host port and reach services on loopback",
        refused: true, detailed: false)
    public static let hostPID = PolicyRule(
        id: "host-pid", reference: "CIS Docker 5.15, Pod Security baseline: Host Namespaces",
        risk: "the host's PID namespace lets the container see and signal every process of the host",
        refused: true, detailed: false)
    public static let hostIPC = PolicyRule(
        id: "host-ipc", reference: "CIS Docker 5.16, Pod Security baseline: Host Namespaces",
        risk: "the host's IPC namespace shares the host's shared memory and semaphores",
        refused: true, detailed: false)
    public static let hostUTS = PolicyRule(
        id: "host-uts", reference: "CIS Docker 5.20, Pod Security baseline: Host Namespaces",
        risk: "the host's UTS namespace lets the container change the host's name",
        refused: true, detailed: false)
    public static let hostUserns = PolicyRule(
        id: "host-userns", reference: "CIS Docker 5.30, Pod Security baseline: Host Namespaces",
        risk: "the host's user namespace turns off the daemon's user remapping for this container",
        refused: true, detailed: false)
    public static let capability = PolicyRule(
        id: "capability", reference: "CIS Docker 5.3, Pod Security baseline: Capabilities",
        risk: "capabilities beyond the baseline set let root in the container act on the host kernel",
        refused: true, detailed: true)
    public static let dockerSocket = PolicyRule(
        id: "docker-socket", reference: "CIS Docker 5.31",
        risk: "whoever reaches the Docker socket can start a privileged container: it is root on the host",
        refused: true, detailed: false)
    public static let sensitiveBind = PolicyRule(
        id: "sensitive-bind", reference: "CIS Docker 5.5, Pod Security baseline: HostPath Volumes",
        risk: "a read-write bind of a host system folder lets the container change the host",
        refused: true, detailed: true)
    public static let unconfinedSeccomp = PolicyRule(
        id: "unconfined-seccomp", reference: "CIS Docker 5.21, Pod Security baseline: Seccomp",
        risk: "without the default seccomp profile every system call reaches the host kernel",
        refused: true, detailed: false)
    public static let unconfinedAppArmor = PolicyRule(
        id: "unconfined-apparmor", reference: "CIS Docker 5.1, Pod Security baseline: AppArmor",
        risk: "without an AppArmor profile the container loses the daemon's default confinement",
        refused: true, detailed: false)
    public static let device = PolicyRule(
        id: "device", reference: "CIS Docker 5.17, Pod Security baseline: Privileged Containers",
        risk: "a host device in the container bypasses the container's isolation from the hardware",
        refused: true, detailed: true)
    public static let mountPropagation = PolicyRule(
        id: "mount-propagation", reference: "CIS Docker 5.19",
        risk: "shared mount propagation lets mounts made in the container appear on the host",
        refused: true, detailed: false)

    public static let rootUser = PolicyRule(
        id: "root-user", reference: "CIS Docker 4.1, Pod Security restricted: Running as Non-root",
        risk: "the container's processes run as root", refused: false, detailed: false)
    public static let writableRootfs = PolicyRule(
        id: "writable-rootfs", reference: "CIS Docker 5.12",
        risk: "the root filesystem is writable", refused: false, detailed: false)
    public static let allAddresses = PolicyRule(
        id: "all-addresses-port", reference: "CIS Docker 5.13",
        risk: "the port is published on every address of the host", refused: false, detailed: false)
    public static let newPrivileges = PolicyRule(
        id: "new-privileges", reference: "CIS Docker 5.25, Pod Security restricted: Privilege Escalation",
        risk: "processes may gain privileges through setuid binaries", refused: false, detailed: false)
    public static let capabilitiesKept = PolicyRule(
        id: "capabilities-kept", reference: "Pod Security restricted: Capabilities",
        risk: "the container keeps Docker's default capabilities", refused: false, detailed: false)

    public static let all: [PolicyRule] = [
        .privileged, .hostNetwork, .hostPID, .hostIPC, .hostUTS, .hostUserns, .capability, .dockerSocket,
        .sensitiveBind, .unconfinedSeccomp, .unconfinedAppArmor, .device, .mountPropagation,
        .rootUser, .writableRootfs, .allAddresses, .newPrivileges, .capabilitiesKept,
    ]

    /// Pod Security's baseline set: Docker's default capabilities minus NET_RAW.
    public static let baselineCapabilities: Set<String> = [
        "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
        "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
    ]

    /// CIS Docker 5.5's host system folders.
    public static let sensitiveFolders = ["/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr"]
}

/// The load-time security check: runs over the merged tree (for positions) and the parsed
/// project (for values), reports each finding that `x-reconcile.allow` does not list.
///
/// An allow entry is a rule id (every instance in the service, or in every service when it
/// is listed at the top level) or `id:DETAIL` for one instance of a detailed rule
/// (`capability:NET_ADMIN`, `device:/dev/fuse`, `sensitive-bind:/etc`).
struct SecurityPolicy {
    let sink: DiagnosticSink
    let level: PolicyLevel
    /// The interpolation environment: its `DOCKER_HOST` names one more socket to protect.
    let environment: [String: String]

    private struct Allow {
        var entries: [(rule: String, detail: String?, pos: Position, path: String)] = []
        var used: Set<Int> = []

        func index(_ rule: PolicyRule, _ detail: String?) -> Int? {
            entries.firstIndex { entry in
                entry.rule == rule.id && (entry.detail == nil || entry.detail == detail)
            }
        }
    }

    private struct Finding {
        var rule: PolicyRule
        var detail: String?
        var pos: Position
        var path: String
        var what: String
    }

    func check(root: MNode, project: Project) {
        var projectAllow = allowList(root["x-reconcile"]?["allow"], "x-reconcile.allow")
        for service in project.services {
            guard let node = root["services"]?[service.name] else { continue }
            let path = "services.\(service.name)"
            var serviceAllow = allowList(node["x-reconcile"]?["allow"], "\(path).x-reconcile.allow")
            for finding in findings(service, node: node, path: path, project: project)
            where finding.rule.refused || level == .restricted {
                let detail = finding.detail.map { normalized(finding.rule, $0) }
                if let i = serviceAllow.index(finding.rule, detail) {
                    serviceAllow.used.insert(i)
                    continue
                }
                if let i = projectAllow.index(finding.rule, detail) {
                    projectAllow.used.insert(i)
                    continue
                }
                let entry = finding.rule.detailed && detail != nil ? "\(finding.rule.id):\(detail ?? "")" : finding.rule.id
                let message = "\(finding.what): \(finding.rule.risk) (\(finding.rule.reference))"
                if finding.rule.refused {
                    sink.error(
                        finding.pos, finding.path, message,
                        hint: "if the service needs it, add `\(entry)` to `\(path).x-reconcile.allow` (docs/security.md)")
                } else {
                    sink.warning(
                        finding.pos, finding.path, message,
                        hint: Self.remedy[finding.rule.id].map { "\($0), or add `\(entry)` to `\(path).x-reconcile.allow`" })
                }
            }
            reportUnused(serviceAllow)
        }
        reportUnused(projectAllow)
    }

    private static let remedy: [String: String] = [
        "root-user": "set `user:` to a non-root uid (e.g. `user: \"10001:10001\"`)",
        "writable-rootfs": "set `read_only: true` (and `tmpfs:` for the folders it writes)",
        "all-addresses-port": "publish on one address, e.g. `127.0.0.1:8080:8080`",
        "new-privileges": "add `no-new-privileges:true` to `security_opt`",
        "capabilities-kept": "set `cap_drop: [ALL]` and add back only what it needs",
    ]

    private func reportUnused(_ allow: Allow) {
        // At baseline the restricted rules never fire, so an entry for one of them is not stale.
        for (index, entry) in allow.entries.enumerated() where !allow.used.contains(index) {
            guard let rule = PolicyRule.all.first(where: { $0.id == entry.rule }), rule.refused || level == .restricted else { continue }
            let text = entry.detail.map { "\(entry.rule):\($0)" } ?? entry.rule
            sink.warning(entry.pos, entry.path, "`\(text)` allows nothing here", hint: "remove it")
        }
    }

    private func allowList(_ node: MNode?, _ path: String) -> Allow {
        var allow = Allow()
        guard let node else { return allow }
        guard let items = node.items else {
            if !node.isNull { sink.error(node.pos, path, "expected a list of rule ids, got \(node.kindDescription)") }
            return allow
        }
        let ids = PolicyRule.all.map(\.id)
        for (index, item) in items.enumerated() {
            let itemPath = "\(path)[\(index)]"
            guard let text = item.scalarText else {
                sink.error(item.pos, itemPath, "expected a rule id, got \(item.kindDescription)")
                continue
            }
            let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
            let id = parts.first ?? ""
            guard let rule = PolicyRule.all.first(where: { $0.id == id }) else {
                let hint = Values.suggestion(for: id, among: ids).map { "did you mean `\($0)`?" }
                    ?? "rules: \(ids.joined(separator: ", "))"
                sink.error(item.pos, itemPath, "unknown policy rule `\(id)`", hint: hint)
                continue
            }
            var detail: String?
            if parts.count == 2 {
                guard rule.detailed else {
                    sink.error(item.pos, itemPath, "rule `\(id)` takes no detail", hint: "write `\(id)`")
                    continue
                }
                detail = normalized(rule, parts[1])
            }
            allow.entries.append((id, detail, item.pos, itemPath))
        }
        return allow
    }

    private func normalized(_ rule: PolicyRule, _ detail: String) -> String {
        rule.id == PolicyRule.capability.id ? Self.capabilityName(detail) : detail
    }

    static func capabilityName(_ text: String) -> String {
        let upper = text.uppercased()
        return upper.hasPrefix("CAP_") ? String(upper.dropFirst(4)) : upper
    }

    // MARK: - Findings

    private func findings(_ service: Service, node: MNode, path: String, project: Project) -> [Finding] {
        var out: [Finding] = []
        func pos(_ key: String) -> Position { node[key]?.pos ?? node.pos }
        func add(_ rule: PolicyRule, _ key: String, _ what: String, detail: String? = nil, at position: Position? = nil, path keyPath: String? = nil) {
            out.append(Finding(rule: rule, detail: detail, pos: position ?? pos(key), path: keyPath ?? "\(path).\(key)", what: what))
        }
        let options = service.options ?? ContainerOptions()

        if options.privileged == true { add(.privileged, "privileged", "`privileged: true`") }
        for key in ["post_start", "pre_stop"] {
            for (index, item) in (node[key]?.items ?? []).enumerated() {
                if let flag = item["privileged"], flag.scalarText == "true" {
                    add(.privileged, key, "a privileged `\(key)` hook", at: flag.pos, path: "\(path).\(key)[\(index)].privileged")
                }
            }
        }

        if options.networkMode == "host" { add(.hostNetwork, "network_mode", "`network_mode: host`") }
        for joined in service.networks {
            guard let network = project.networks.first(where: { $0.key == joined.key }), network.name == "host" else { continue }
            let networks = node["networks"]
            let item = networks?.entries?.first(where: { $0.key == joined.key })?.keyPos
                ?? networks?.items?.first(where: { $0.scalarText == joined.key })?.pos
            add(.hostNetwork, "networks", "network `\(joined.key)` is the engine's `host` network", at: item)
        }
        if options.pid == "host" { add(.hostPID, "pid", "`pid: host`") }
        if service.ipc == "host" { add(.hostIPC, "ipc", "`ipc: host`") }
        if options.uts == "host" { add(.hostUTS, "uts", "`uts: host`") }
        if options.usernsMode == "host" { add(.hostUserns, "userns_mode", "`userns_mode: host`") }

        // The tree's list for positions (the model keeps capabilities sorted).
        let capItems = node["cap_add"]?.items ?? []
        for (index, item) in capItems.enumerated() {
            guard let text = item.scalarText else { continue }
            let name = Self.capabilityName(text)
            guard !PolicyRule.baselineCapabilities.contains(name) else { continue }
            add(.capability, "cap_add", "capability `\(name)`", detail: name, at: item.pos, path: "\(path).cap_add[\(index)]")
        }

        checkMounts(service, node: node, path: path, add: { out.append($0) })

        for (index, item) in (node["security_opt"]?.items ?? []).enumerated() {
            guard let text = item.scalarText else { continue }
            let separator = text.firstIndex { $0 == ":" || $0 == "=" }
            guard let separator else { continue }
            let key = text[..<separator], value = text[text.index(after: separator)...]
            let itemPath = "\(path).security_opt[\(index)]"
            if key == "seccomp" && value == "unconfined" {
                add(.unconfinedSeccomp, "security_opt", "`\(text)`", at: item.pos, path: itemPath)
            } else if key == "apparmor" && value == "unconfined" {
                add(.unconfinedAppArmor, "security_opt", "`\(text)`", at: item.pos, path: itemPath)
            }
        }

        let deviceItems = node["devices"]?.items
        for (index, device) in (options.devices ?? []).enumerated() {
            let position = deviceItems.flatMap { index < $0.count ? $0[index].pos : nil }
            add(.device, "devices", "host device `\(device.source)`", detail: device.source, at: position, path: "\(path).devices[\(index)]")
        }
        let ruleItems = node["device_cgroup_rules"]?.items
        for (index, rule) in (options.deviceCgroupRules ?? []).enumerated() {
            let position = ruleItems.flatMap { index < $0.count ? $0[index].pos : nil }
            add(.device, "device_cgroup_rules", "device rule `\(rule)`", detail: rule, at: position, path: "\(path).device_cgroup_rules[\(index)]")
        }

        // Restricted: what a hardened container also sets.
        if isRoot(service.user) {
            add(.rootUser, "user", service.user == nil ? "no `user:`: the image's user, root unless its Dockerfile sets USER" : "`user: \(service.user ?? "")`",
                at: node["user"]?.pos ?? node.pos)
        }
        if options.readOnly != true { add(.writableRootfs, "read_only", "the root filesystem is writable", at: node["read_only"]?.pos ?? node.pos) }
        let securityOptions = options.securityOpt ?? []
        if !securityOptions.contains(where: { ["no-new-privileges", "no-new-privileges:true", "no-new-privileges=true"].contains($0) }) {
            add(.newPrivileges, "security_opt", "no `no-new-privileges:true` in `security_opt`", at: node["security_opt"]?.pos ?? node.pos)
        }
        if !service.capDrop.contains(where: { Self.capabilityName($0) == "ALL" }) {
            add(.capabilitiesKept, "cap_drop", "no `cap_drop: [ALL]`", at: node["cap_drop"]?.pos ?? node.pos)
        }
        let portItems = node["ports"]?.items
        for (index, port) in service.ports.enumerated() where port.hostIP.map({ ["", "0.0.0.0", "::", "[::]"].contains($0) }) ?? true {
            let position = portItems.flatMap { index < $0.count ? $0[index].pos : nil }
            add(.allAddresses, "ports", "container port \(port.target) is published on all addresses", at: position, path: "\(path).ports[\(index)]")
        }
        return out
    }

    private func isRoot(_ user: String?) -> Bool {
        guard let user else { return true }
        let name = user.split(separator: ":", omittingEmptySubsequences: false).first.map(String.init) ?? user
        return name.isEmpty || name == "root" || name == "0"
    }

    // MARK: - Mounts

    /// Host paths of the Docker socket: the usual ones and `DOCKER_HOST`'s, symlinks resolved.
    private var socketPaths: [String] {
        var paths = ["/var/run/docker.sock", "/run/docker.sock"]
        if let host = environment["DOCKER_HOST"], host.hasPrefix("unix://") { paths.append(String(host.dropFirst("unix://".count))) }
        return Array(Set(paths.flatMap { [$0, Self.resolved($0)] }))
    }

    private func checkMounts(_ service: Service, node: MNode, path: String, add: (Finding) -> Void) {
        guard let items = node["volumes"]?.items else { return }
        let sockets = socketPaths
        for (index, item) in items.enumerated() {
            let itemPath = "\(path).volumes[\(index)]"
            guard let target = Self.target(of: item),
                  let mount = service.mounts.first(where: { $0.target == target }), mount.type == .bind, let source = mount.source
            else { continue }
            let real = Self.resolved(source)
            let candidates = Set([source, real])
            let showsSocket = candidates.contains { candidate in
                (candidate as NSString).lastPathComponent == "docker.sock"
                    || sockets.contains { $0 == candidate || $0.hasPrefix(candidate == "/" ? "/" : candidate + "/") }
            }
            if showsSocket {
                let shown = real == source ? "`\(source)`" : "`\(source)` (\(real))"
                add(Finding(rule: .dockerSocket, detail: nil, pos: item.pos, path: itemPath, what: "bind of \(shown), which holds the Docker socket"))
            }
            if !mount.readOnly, let folder = candidates.compactMap(Self.sensitiveFolder).first {
                add(Finding(
                    rule: .sensitiveBind, detail: real, pos: item.pos, path: itemPath,
                    what: "read-write bind of `\(source)`\(real == source ? "" : " (\(real))"), inside the host's \(folder)"))
            }
        }
    }

    private static func sensitiveFolder(_ path: String) -> String? {
        PolicyRule.sensitiveFolders.first { folder in
            folder == "/" ? path == "/" : (path == folder || path.hasPrefix(folder + "/"))
        }
    }

    /// The container path of a `volumes` entry, short or long form.
    private static func target(of item: MNode) -> String? {
        if let text = item.scalarText {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            return parts.count >= 2 ? String(parts[1]) : nil
        }
        return item["target"]?.scalarText
    }

    /// The path with every symlink resolved, as far as it exists on this host; the rest is
    /// appended as written.
    static func resolved(_ path: String) -> String {
        var existing = path
        var rest: [String] = []
        while existing != "/" && !existing.isEmpty {
            if let real = realpath(existing, nil) {
                defer { free(real) }
                let base = String(cString: real)
                return rest.reversed().reduce(base) { $0 == "/" ? "/" + $1 : $0 + "/" + $1 }
            }
            rest.append((existing as NSString).lastPathComponent)
            existing = (existing as NSString).deletingLastPathComponent
        }
        return path
    }
}
