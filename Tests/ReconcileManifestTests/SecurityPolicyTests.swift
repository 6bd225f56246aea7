import Foundation
import ReconcileCore
import Testing

@testable import ReconcileManifest

/// One row of the policy table: a service body that breaks a rule, where the error must
/// point, and the allow entry that lets it through.
struct PolicyCase: CustomTestStringConvertible, Sendable {
    var rule: String
    var body: String
    /// The key path and line (of the whole file) of the refusal.
    var keyPath: String
    var line: Int
    /// The benchmark item the message names.
    var reference: String
    var allow: String
    var top: String = ""

    var testDescription: String { rule + ": " + body.split(separator: "\n").joined(separator: "; ") }
}

/// Lines 1-3 of every manifest: `services:`, `  s:`, `    image: busybox`; the body starts at line 4.
let policyCases: [PolicyCase] = [
    PolicyCase(rule: "privileged", body: "privileged: true", keyPath: "services.s.privileged", line: 4, reference: "CIS Docker 5.4", allow: "privileged"),
    PolicyCase(rule: "privileged hook", body: "post_start:\n  - command: [id]\n    privileged: true", keyPath: "services.s.post_start[0].privileged", line: 6, reference: "CIS Docker 5.4", allow: "privileged"),
    PolicyCase(rule: "host network", body: "network_mode: host", keyPath: "services.s.network_mode", line: 4, reference: "CIS Docker 5.9", allow: "host-network"),
    PolicyCase(
        rule: "a network named host", body: "networks: [outside]", keyPath: "services.s.networks", line: 4, reference: "CIS Docker 5.9",
        allow: "host-network", top: "networks:\n  outside:\n    external: true\n    name: host\n"),
    PolicyCase(rule: "host pid", body: "pid: host", keyPath: "services.s.pid", line: 4, reference: "CIS Docker 5.15", allow: "host-pid"),
    PolicyCase(rule: "host ipc", body: "ipc: host", keyPath: "services.s.ipc", line: 4, reference: "CIS Docker 5.16", allow: "host-ipc"),
    PolicyCase(rule: "host uts", body: "uts: host", keyPath: "services.s.uts", line: 4, reference: "CIS Docker 5.20", allow: "host-uts"),
    PolicyCase(rule: "host userns", body: "userns_mode: host", keyPath: "services.s.userns_mode", line: 4, reference: "CIS Docker 5.30", allow: "host-userns"),
    PolicyCase(
        rule: "capability", body: "cap_add:\n  - CHOWN\n  - cap_sys_admin", keyPath: "services.s.cap_add[1]", line: 6,
        reference: "CIS Docker 5.3", allow: "capability:SYS_ADMIN"),
    PolicyCase(rule: "capability ALL", body: "cap_add: [ALL]", keyPath: "services.s.cap_add[0]", line: 4, reference: "Pod Security baseline: Capabilities", allow: "capability"),
    PolicyCase(
        rule: "docker socket", body: "volumes:\n  - /var/run/docker.sock:/var/run/docker.sock:ro", keyPath: "services.s.volumes[0]", line: 5,
        reference: "CIS Docker 5.31", allow: "docker-socket"),
    PolicyCase(
        rule: "folder holding the docker socket", body: "volumes:\n  - type: bind\n    source: /run\n    target: /host-run\n    read_only: true",
        keyPath: "services.s.volumes[0]", line: 5, reference: "CIS Docker 5.31", allow: "docker-socket"),
    PolicyCase(
        rule: "DOCKER_HOST's socket", body: "volumes:\n  - /srv/engine/api.sock:/engine.sock", keyPath: "services.s.volumes[0]", line: 5,
        reference: "CIS Docker 5.31", allow: "docker-socket"),
    // The host's root holds the Docker socket too: two rules, two entries.
    PolicyCase(rule: "read-write /", body: "volumes:\n  - /:/host", keyPath: "services.s.volumes[0]", line: 5, reference: "CIS Docker 5.5", allow: "sensitive-bind:/\", \"docker-socket"),
    PolicyCase(rule: "read-write /etc", body: "volumes:\n  - /etc:/host-etc:rw", keyPath: "services.s.volumes[0]", line: 5, reference: "CIS Docker 5.5", allow: "sensitive-bind"),
    PolicyCase(rule: "read-write /proc", body: "volumes:\n  - /proc/sys:/p", keyPath: "services.s.volumes[0]", line: 5, reference: "CIS Docker 5.5", allow: "sensitive-bind:/proc/sys"),
    PolicyCase(rule: "read-write /sys", body: "volumes:\n  - /sys:/s", keyPath: "services.s.volumes[0]", line: 5, reference: "CIS Docker 5.5", allow: "sensitive-bind"),
    PolicyCase(rule: "read-write /boot", body: "volumes:\n  - /boot:/b", keyPath: "services.s.volumes[0]", line: 5, reference: "CIS Docker 5.5", allow: "sensitive-bind"),
    PolicyCase(rule: "read-write /dev", body: "volumes:\n  - /dev:/d", keyPath: "services.s.volumes[0]", line: 5, reference: "CIS Docker 5.5", allow: "sensitive-bind"),
    PolicyCase(rule: "read-write /usr", body: "volumes:\n  - /usr:/u", keyPath: "services.s.volumes[0]", line: 5, reference: "CIS Docker 5.5", allow: "sensitive-bind"),
    PolicyCase(rule: "read-write /lib", body: "volumes:\n  - /lib:/l", keyPath: "services.s.volumes[0]", line: 5, reference: "CIS Docker 5.5", allow: "sensitive-bind"),
    PolicyCase(
        rule: "unconfined seccomp", body: "security_opt:\n  - no-new-privileges:true\n  - seccomp=unconfined", keyPath: "services.s.security_opt[1]",
        line: 6, reference: "CIS Docker 5.21", allow: "unconfined-seccomp"),
    PolicyCase(
        rule: "unconfined apparmor", body: "security_opt: [\"apparmor:unconfined\"]", keyPath: "services.s.security_opt[0]", line: 4,
        reference: "CIS Docker 5.1", allow: "unconfined-apparmor"),
    PolicyCase(rule: "device", body: "devices:\n  - /dev/fuse", keyPath: "services.s.devices[0]", line: 5, reference: "CIS Docker 5.17", allow: "device:/dev/fuse"),
    PolicyCase(
        rule: "device cgroup rule", body: "device_cgroup_rules: [\"c 10:229 rwm\"]", keyPath: "services.s.device_cgroup_rules[0]", line: 4,
        reference: "CIS Docker 5.17", allow: "device"),
]

private func manifest(_ body: String, allow: String? = nil, top: String = "") -> String {
    var text = "services:\n  s:\n    image: busybox\n"
    text += body.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n") + "\n"
    if let allow { text += "    x-reconcile:\n      allow: [\"\(allow)\"]\n" }
    return text + top
}

@Suite("Security policy")
struct SecurityPolicyTests {
    @Test("each rule refuses its setting with the position, the benchmark item and the allow entry to write", arguments: policyCases)
    func refused(_ row: PolicyCase) throws {
        let found = try errors(manifest(row.body, top: row.top), env: ["DOCKER_HOST": "unix:///srv/engine/api.sock"])
        #expect(!found.isEmpty && found.allSatisfy { $0.keyPath == row.keyPath }, "\(found)")
        let error = try #require(found.first { $0.message.contains(row.reference) })
        #expect(error.file == "docker-compose.yml")
        #expect(error.keyPath == row.keyPath)
        #expect(error.line == row.line)
        #expect(error.column > 1)
        #expect(error.message.contains(row.reference), "\(error)")
        #expect(error.hint?.contains("add `") == true && error.hint?.contains("`services.s.x-reconcile.allow`") == true, "\(error)")
    }

    @Test("each rule lets its setting through when x-reconcile.allow lists it", arguments: policyCases)
    func allowed(_ row: PolicyCase) throws {
        let found = try diagnostics(manifest(row.body, allow: row.allow, top: row.top), env: ["DOCKER_HOST": "unix:///srv/engine/api.sock"])
        #expect(found.isEmpty, "\(found)")
    }

    @Test("the hint names the exact entry that allows the finding, and that entry works")
    func hintIsTheEntry() throws {
        let error = try #require(try errors(manifest("cap_add: [NET_ADMIN]")).first)
        #expect(error.hint?.contains("`capability:NET_ADMIN`") == true)
        #expect(try diagnostics(manifest("cap_add: [NET_ADMIN]", allow: "capability:NET_ADMIN")).isEmpty)
        // One capability allowed is not another.
        let other = try errors(manifest("cap_add: [NET_ADMIN, SYS_ADMIN]", allow: "capability:NET_ADMIN"))
        #expect(other.map(\.keyPath) == ["services.s.cap_add[1]"])
    }

    @Test("a project-wide allow entry covers every service")
    func projectWide() throws {
        let yaml = """
            services:
              a:
                image: busybox
                pid: host
              b:
                image: busybox
                pid: host
            x-reconcile:
              allow: [host-pid]
            """
        #expect(try diagnostics(yaml).isEmpty)
    }

    @Test("the baseline capabilities, read-only binds of system folders and ordinary binds pass")
    func baselinePasses() throws {
        let body = """
            cap_add: [CHOWN, NET_BIND_SERVICE, CAP_SETUID]
            volumes:
              - /etc/ssl/certs:/certs:ro
              - /srv/data:/data
              - ./models:/models
            security_opt: [no-new-privileges:true, "seccomp=default.json"]
            """
        #expect(try diagnostics(manifest(body)).isEmpty)
    }

    @Test("a bind through a symlink is judged by where the link leads")
    func symlinks() throws {
        let dir = NSTemporaryDirectory() + "reconcile-policy-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createSymbolicLink(atPath: dir + "/engine", withDestinationPath: "/run")
        try FileManager.default.createSymbolicLink(atPath: dir + "/config", withDestinationPath: "/etc")
        let socket = try #require(try errors(manifest("volumes:\n  - \(dir)/engine/docker.sock:/s")).first)
        #expect(socket.message.contains("/run/docker.sock") && socket.message.contains("CIS Docker 5.31"), "\(socket)")
        let etc = try #require(try errors(manifest("volumes:\n  - \(dir)/config:/c")).first)
        #expect(etc.message.contains("(/etc)") && etc.message.contains("CIS Docker 5.5"), "\(etc)")
        #expect(try diagnostics(manifest("volumes:\n  - \(dir)/config:/c:ro")).isEmpty)
    }

    @Test("shared mount propagation is refused")
    func propagation() throws {
        let found = try errors(manifest("volumes:\n  - /srv/data:/data:rshared"))
        #expect(found.map(\.keyPath) == ["services.s.volumes[0]"])
        #expect(found.first?.line == 5)
    }

    @Test("an unknown rule in the allow list is an error with the closest rule; an entry that allows nothing is a warning")
    func allowListChecked() throws {
        let unknown = try errors(manifest("privileged: true", allow: "privilegd"))
        let entry = try #require(unknown.first { $0.keyPath == "services.s.x-reconcile.allow[0]" })
        #expect(entry.message == "unknown policy rule `privilegd`" && entry.hint == "did you mean `privileged`?" && entry.line == 6)
        let unused = try warnings(manifest("init: true", allow: "host-pid"))
        #expect(unused.map(\.message) == ["`host-pid` allows nothing here"])
        let detail = try errors(manifest("privileged: true", allow: "privileged:yes"))
        #expect(detail.contains { $0.message == "rule `privileged` takes no detail" })
    }

    @Test("check --policy restricted warns on a root user, a writable root filesystem, ports on all addresses, kept capabilities and new privileges")
    func restricted() throws {
        let fixture = try Fixture(["docker-compose.yml": manifest("ports:\n  - \"8080:80\"\n  - \"127.0.0.1:8081:81\"")])
        defer { fixture.remove() }
        var loader = fixture.loader()
        #expect(loader.check(paths: ["docker-compose.yml"]).1.isEmpty)
        loader.policy = .restricted
        let (loaded, found) = loader.check(paths: ["docker-compose.yml"])
        #expect(loaded != nil)
        #expect(found.allSatisfy { $0.severity == .warning })
        let references = found.map { "\($0.keyPath) \($0.message)" }
        #expect(found.count == 5, "\(references)")
        #expect(references.contains { $0.hasPrefix("services.s.user ") && $0.contains("CIS Docker 4.1") })
        #expect(references.contains { $0.hasPrefix("services.s.read_only ") && $0.contains("CIS Docker 5.12") })
        #expect(references.contains { $0.hasPrefix("services.s.ports[0] ") && $0.contains("CIS Docker 5.13") })
        #expect(references.contains { $0.hasPrefix("services.s.security_opt ") && $0.contains("CIS Docker 5.25") })
        #expect(references.contains { $0.hasPrefix("services.s.cap_drop ") && $0.contains("Pod Security restricted: Capabilities") })
    }

    @Test("the restricted example stack passes check --policy restricted without a warning")
    func restrictedExample() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples/restricted/compose.yaml").path
        var loader = ManifestLoader(environment: [:])
        loader.policy = .restricted
        let (loaded, found) = loader.check(paths: [path])
        #expect(loaded != nil)
        #expect(found.isEmpty, "\(found)")
    }

    @Test("every manifest under manifests/ and examples/ passes the baseline policy")
    func repositoryManifests() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for folder in ["manifests", "examples"] {
            let base = root.appendingPathComponent(folder).path
            for name in (try? FileManager.default.subpathsOfDirectory(atPath: base)) ?? []
            where name.hasSuffix("compose.yaml") || name.hasSuffix("compose.yml") {
                let env = ["DOCKER_GID": "999", "POSTGRES_PASSWORD": "x", "HOME": "/root"]
                let found = ManifestLoader(environment: env).check(paths: [base + "/" + name]).1
                let policy = found.filter { $0.hint?.contains("x-reconcile.allow") == true }
                #expect(policy.isEmpty, "\(folder)/\(name): \(policy)")
            }
        }
    }
}
