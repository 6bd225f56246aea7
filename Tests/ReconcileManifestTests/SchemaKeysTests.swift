import Foundation
import Testing

@testable import ReconcileManifest

/// Every key of the Compose Specification either works or is refused for a reason that
/// is true of this engine, never because it was not written yet.
@Suite("Compose Specification keys")
struct SchemaKeysTests {
    /// `schema/compose-spec.json` of compose-spec/compose-spec at commit
    /// 170098ba07d9f53c383a41bfd4c5166b0a4529a6 (2026-06-23): `properties` of the document.
    static let topLevel = ["configs", "include", "models", "name", "networks", "secrets", "services", "version", "volumes"]

    /// The same schema: `definitions.service.properties`.
    static let service = [
        "annotations", "attach", "blkio_config", "build", "cap_add", "cap_drop", "cgroup", "cgroup_parent", "command",
        "configs", "container_name", "cpu_count", "cpu_percent", "cpu_period", "cpu_quota", "cpu_rt_period",
        "cpu_rt_runtime", "cpu_shares", "cpus", "cpuset", "credential_spec", "depends_on", "deploy", "develop",
        "device_cgroup_rules", "devices", "dns", "dns_opt", "dns_search", "domainname", "entrypoint", "env_file",
        "environment", "expose", "extends", "external_links", "extra_hosts", "gpus", "group_add", "healthcheck",
        "hostname", "image", "init", "ipc", "isolation", "label_file", "labels", "links", "logging", "mac_address",
        "mem_limit", "mem_reservation", "mem_swappiness", "memswap_limit", "models", "network_mode", "networks",
        "oom_kill_disable", "oom_score_adj", "pid", "pids_limit", "platform", "ports", "post_start", "pre_stop",
        "privileged", "profiles", "provider", "pull_policy", "pull_refresh_after", "read_only", "restart", "runtime",
        "scale", "secrets", "security_opt", "shm_size", "stdin_open", "stop_grace_period", "stop_signal", "storage_opt",
        "sysctls", "tmpfs", "tty", "ulimits", "use_api_socket", "user", "userns_mode", "uts", "volumes", "volumes_from",
        "working_dir",
    ]

    /// Keys that other changes made at the same time as this test bring to the loader
    /// (image builds, `extends` and `include`, secrets and configs, pull policies): they
    /// are held to the same rule once those land.
    static let parallelWork: Set<String> = [
        "build", "extends", "include", "secrets", "configs", "pull_policy", "pull_refresh_after",
    ]

    static func manifestDoc() throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try String(contentsOf: root.appendingPathComponent("docs/manifest.md"), encoding: .utf8)
    }

    /// The rows of the refusal table in docs/manifest.md: key → reason.
    static func documentedRefusals() throws -> [String: String] {
        let doc = try manifestDoc()
        guard let start = doc.range(of: "## Refused keys") else { return [:] }
        var out: [String: String] = [:]
        for line in doc[start.upperBound...].split(separator: "\n") {
            if line.hasPrefix("## ") { break }
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 3, cells[0].hasPrefix("`") else { continue }
            out[cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`"))] = cells[2]
        }
        return out
    }

    @Test("every service key of the schema is supported or refused with a documented reason")
    func serviceKeys() throws {
        let documented = try Self.documentedRefusals()
        for key in Self.service where !Self.parallelWork.contains(key) {
            if ServiceKeys.supported.contains(key) { continue }
            let reason = ServiceOptionKeys.refused[key]
            #expect(reason != nil, "service key `\(key)` is neither supported nor refused for a reason")
            #expect(documented[key] != nil, "docs/manifest.md lists no reason for refusing `\(key)`")
        }
        // Nothing the loader accepts or refuses is unknown to the schema (misspelled lists).
        for key in ServiceKeys.supported where key != "x-reconcile" {
            #expect(Self.service.contains(key), "`\(key)` is not a service key of the schema")
        }
    }

    @Test("every top-level key of the schema is supported or refused with a documented reason")
    func topLevelKeys() throws {
        let documented = try Self.documentedRefusals()
        for key in Self.topLevel where !Self.parallelWork.contains(key) {
            if ProjectParser.topLevelKeys.contains(key) { continue }
            #expect(ProjectParser.refusedTopLevel[key] != nil, "top-level key `\(key)` is neither supported nor refused for a reason")
            #expect(documented[key] != nil, "docs/manifest.md lists no reason for refusing top-level `\(key)`")
        }
    }

    @Test("a refused key's error is its reason, positioned at the key")
    func refusalMessage() throws {
        let found = try diagnostics("services:\n  s:\n    image: x\n    isolation: hyperv\n")
        let error = try #require(found.first { $0.keyPath == "services.s.isolation" })
        #expect(error.line == 4 && error.column == 5)
        #expect(error.message.contains("Windows containers"))
        #expect(!error.message.contains("not support yet"))
    }
}
