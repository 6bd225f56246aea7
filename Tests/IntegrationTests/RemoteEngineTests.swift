import DockerEngine
import Foundation
import ReconcileCore
import Testing

/// A private sshd on 127.0.0.1 (its own host key, client key, config and port), logging in
/// as this user: the stand-in for a remote machine whose engine reconcile reaches by ssh.
/// Stopped by its pid; it never touches the system's sshd.
final class PrivateSSHD {
    let directory: URL
    let port: Int
    var key: String { directory.appendingPathComponent("id_ed25519").path }
    var user: String { NSUserName() }
    /// `RECONCILE_SSH_OPTS` for reconcile's ssh: this key, no known-hosts prompt.
    var options: String { "-i \(key) -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR" }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("reconcile-sshd-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/sshd") else {
            throw TestFailure("no /usr/sbin/sshd: scripts/test installs openssh-server")
        }
        for (file, type) in [("host_ed25519", "ed25519"), ("id_ed25519", "ed25519")] {
            try Self.run("/usr/bin/ssh-keygen", ["-q", "-t", type, "-N", "", "-f", directory.appendingPathComponent(file).path])
        }
        try FileManager.default.copyItem(
            at: directory.appendingPathComponent("id_ed25519.pub"), to: directory.appendingPathComponent("authorized_keys"))
        // sshd wants its privilege separation folder.
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        port = try Self.freePort()
        let config = """
            ListenAddress 127.0.0.1:\(port)
            HostKey \(directory.appendingPathComponent("host_ed25519").path)
            AuthorizedKeysFile \(directory.appendingPathComponent("authorized_keys").path)
            PidFile \(directory.appendingPathComponent("sshd.pid").path)
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PermitRootLogin prohibit-password
            StrictModes no
            UsePAM no
            AllowStreamLocalForwarding yes

            """
        let configPath = directory.appendingPathComponent("sshd_config").path
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        // Daemonized, as on a real machine: the test process keeps no child of its own that
        // outlives this call (its pid is in the PidFile).
        try Self.run("/usr/sbin/sshd", ["-f", configPath])
    }

    var pid: Int32? {
        (try? String(contentsOf: directory.appendingPathComponent("sshd.pid"), encoding: .utf8))
            .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// Waits until the port accepts connections.
    func waitListening() async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if Self.connects(port: port) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("the private sshd did not listen on 127.0.0.1:\(port)")
    }

    /// By the pid in its PidFile.
    func stop() {
        if let pid { kill(pid, SIGTERM) }
        try? FileManager.default.removeItem(at: directory)
    }

    static func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TestFailure("\(tool) \(arguments) exited \(process.terminationStatus)") }
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw TestFailure("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func connects(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

@Suite("an engine on another machine: ssh:// and docker contexts", .serialized)
struct RemoteEngineTests {
    /// The test engine's socket, which the private sshd's "remote machine" forwards.
    func socket(_ f: ProjectFixture) throws -> String {
        guard case .unix(let path) = try DockerEndpoint(parsing: f.host) else { throw TestFailure("the test engine is not a unix socket: \(f.host)") }
        return path
    }

    static let stack = """
        services:
          web:
            image: \(ProjectFixture.image1)
            command: ["sleep", "100000"]
            init: true
            deploy: {replicas: 2}
        """

    @Test("DOCKER_HOST=ssh://user@host:port/socket: plan, apply, status and destroy go through one ssh forward; a refused login is one sentence")
    func overSSH() async throws {
        let sshd = try PrivateSSHD()
        defer { sshd.stop() }
        try await sshd.waitListening()
        try await ProjectFixture.run("ssh") { f in
            try f.write(Self.stack)
            let remote = "ssh://\(sshd.user)@127.0.0.1:\(sshd.port)\(try socket(f))"
            let env = ["RECONCILE_SSH_OPTS": sshd.options]
            let applied = try f.reconcile(["apply", "--yes"], environment: env, engine: ["--host", remote])
            #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
            #expect(Set(try await f.containers().keys) == [f.name("web", 1), f.name("web", 2)])
            let plan = try f.reconcile(["plan", "--detailed-exitcode"], environment: env.merging(["DOCKER_HOST": remote]) { $1 }, engine: [])
            #expect(plan.status == 0, "DOCKER_HOST works as --host does: \(plan.stdout)\(plan.stderr)")
            let status = try f.reconcile(["status", "--output", "json"], environment: env, engine: ["--host", remote])
            #expect(status.status == 0 && status.stdout.contains(f.name("web", 2)))
            let destroyed = try f.reconcile(["destroy"], environment: env, engine: ["--host", remote])
            #expect(destroyed.status == 0, "\(destroyed.stderr)")
            #expect(try await f.containers().isEmpty)

            // A key the machine does not know: no prompt, one sentence naming how to fix it.
            let refused = try f.reconcile(
                ["plan"], environment: ["RECONCILE_SSH_OPTS": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes -o IdentityFile=/dev/null"],
                engine: ["--host", remote])
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("cannot reach the Docker engine at ssh://") && refused.stderr.contains("logs in without a password"), "\(refused.stderr)")
        }
    }

    @Test("--context NAME and DOCKER_CONTEXT reach the engine a docker context names, as the docker CLI keeps it")
    func dockerContexts() async throws {
        let sshd = try PrivateSSHD()
        defer { sshd.stop() }
        try await sshd.waitListening()
        try await ProjectFixture.run("ctx") { f in
            try f.write(Self.stack)
            // The docker CLI writes the context, in a config folder of the test's own.
            let config = f.directory.appendingPathComponent("docker-config").path
            let remote = "ssh://\(sshd.user)@127.0.0.1:\(sshd.port)\(try socket(f))"
            let docker = ["/usr/bin/docker", "/usr/local/bin/docker"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "docker"
            try PrivateSSHD.run(docker, ["--config", config, "context", "create", "lab", "--docker", "host=\(f.host)"])
            // The docker CLI refuses a socket path after an ssh host (reconcile's addition), so
            // this context is written as the CLI writes one: meta/<sha256 of the name>/meta.json.
            let meta = "\(config)/contexts/meta/\(SHA256.hex(Data("far".utf8)))"
            try FileManager.default.createDirectory(atPath: meta, withIntermediateDirectories: true)
            try #"{"Name":"far","Metadata":{},"Endpoints":{"docker":{"Host":"\#(remote)","SkipTLSVerify":false}}}"#
                .write(toFile: meta + "/meta.json", atomically: true, encoding: .utf8)
            let env = ["DOCKER_CONFIG": config, "RECONCILE_SSH_OPTS": sshd.options, "DOCKER_HOST": ""]
            let viaFlag = try f.reconcile(["apply", "--yes", "--context", "lab"], environment: env, engine: [])
            #expect(viaFlag.status == 0, "\(viaFlag.stdout)\(viaFlag.stderr)")
            let viaEnv = try f.reconcile(["plan", "--detailed-exitcode"], environment: env.merging(["DOCKER_CONTEXT": "far"]) { $1 }, engine: [])
            #expect(viaEnv.status == 0, "the ssh context sees the same engine, converged: \(viaEnv.stdout)\(viaEnv.stderr)")
            try PrivateSSHD.run(docker, ["--config", config, "context", "use", "far"])
            let current = try f.reconcile(["status"], environment: env, engine: [])
            #expect(current.status == 0 && current.stdout.contains(f.name("web", 1)), "\(current.stdout)\(current.stderr)")
            let missing = try f.reconcile(["plan", "--context", "nowhere"], environment: env, engine: [])
            #expect(missing.status == 1 && missing.stderr.contains("no docker context named 'nowhere'"), "\(missing.stderr)")
        }
    }
}
