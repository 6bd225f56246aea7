import Foundation
import NIOConcurrencyHelpers

/// The engine of an `ssh://` endpoint, reached through one `ssh` process that forwards its
/// socket to a local one (`ssh -L local.sock:/var/run/docker.sock`), for the life of a client:
/// every request then travels as over a local unix socket, multiplexed on one SSH connection.
/// `ssh` is the user's own, with `~/.ssh/config`, agent and known hosts as they set them up;
/// it runs in batch mode, so a missing key is an error, never a password prompt.
final class SSHTunnel: Sendable {
    let destination: SSHDestination
    /// The forwarded socket, in a folder only this user can enter.
    let localSocket: String
    private let directory: String
    private let process: NIOLockedValueBox<Process>
    private let ready = NIOLockedValueBox(false)

    /// Longest wait for the connection (log-in and forward) before the first request fails.
    static let connectTimeout: Duration = .seconds(20)

    init(_ destination: SSHDestination, options: [String]) throws {
        self.destination = destination
        var template = Array("/tmp/reconcile-ssh-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw DockerConfigurationError("cannot reach \(destination): no temporary folder for the ssh socket (\(String(cString: strerror(errno))))")
        }
        directory = String(cString: made)
        localSocket = directory + "/docker.sock"
        guard let ssh = ExecutableSearch.find("ssh") else {
            throw DockerConfigurationError("cannot reach \(destination): there is no `ssh` on PATH (install openssh-client)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ssh)
        var arguments = [
            "-nNT", "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes", "-o", "StreamLocalBindUnlink=yes",
            "-o", "ServerAliveInterval=15", "-L", "\(localSocket):\(destination.socket)",
        ]
        if let port = destination.port { arguments += ["-p", String(port)] }
        if let user = destination.user { arguments += ["-l", user] }
        arguments += options + ["--", destination.host]
        process.arguments = arguments
        FileManager.default.createFile(atPath: directory + "/ssh.log", contents: nil)
        process.standardError = FileHandle(forWritingAtPath: directory + "/ssh.log")
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw DockerConfigurationError("cannot reach \(destination): ssh did not start: \(error)")
        }
        self.process = NIOLockedValueBox(process)
    }

    /// Returns once the forwarded socket exists (ssh logged in and set up the forward);
    /// throws with what ssh said when it exits first, or after `connectTimeout`.
    func waitReady() async throws {
        if ready.withLockedValue({ $0 }) { return }
        let deadline = ContinuousClock.now + Self.connectTimeout
        while true {
            if FileManager.default.fileExists(atPath: localSocket) {
                ready.withLockedValue { $0 = true }
                return
            }
            let running = process.withLockedValue { $0.isRunning }
            if !running || ContinuousClock.now >= deadline {
                let said = (try? String(contentsOfFile: directory + "/ssh.log", encoding: .utf8)) ?? ""
                let tail = said.split(separator: "\n").suffix(3).joined(separator: "; ")
                throw DockerConfigurationError(
                    "cannot reach the Docker engine at \(destination): "
                        + (running ? "ssh did not connect within \(Self.connectTimeout)" : "ssh exited")
                        + (tail.isEmpty ? "" : ": \(tail)")
                        + "; check that `ssh \(destination.user.map { "\($0)@" } ?? "")\(destination.host)` logs in without a password and that \(destination.socket) is the engine's socket there")
            }
            try await Task.sleep(for: .milliseconds(25))
        }
    }

    /// Ends the forward and removes the local socket's folder. SIGKILL, not `terminate()`:
    /// the child inherits the signal mask of the thread that spawned it, where SIGTERM is
    /// blocked, so ssh would never see it. Does not call Foundation's `waitUntilExit` (it can
    /// hang when called from a task).
    func close() {
        let process = self.process.withLockedValue { $0 }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        var waited = 0
        while process.isRunning && waited < 200 {
            usleep(10_000)
            waited += 1
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Finds a program on a `PATH`, as a shell would: for `ssh` here, for `nvidia-smi` in the runtime.
public enum ExecutableSearch {
    public static func find(_ name: String, path: String? = ProcessInfo.processInfo.environment["PATH"]) -> String? {
        for folder in (path ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(folder)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
