import DockerEngine
import Foundation
import ReconcileCore

/// A lock per project that lives with the engine, so two machines driving one engine see it.
///
/// It is a labelled volume named `reconcile-lock-<project>`: the engine creates a volume
/// name at most once and answers a second create with the existing volume, so the holder is
/// whoever's token the volume carries. A lock whose holder process is gone (same host and
/// boot, pid no longer alive) is stale; taking it over first claims a second volume keyed
/// by the stale token, so of two processes that both find it stale only one removes it.
public struct EngineLock: Sendable {
    public let project: String
    public let token: String
    let client: any ContainerEngine
    /// The lock was taken over from a holder that died: requests it sent just before dying
    /// may still be under way in the engine (see `Observer.settled`).
    public var tookOver = false

    init(project: String, token: String, client: any ContainerEngine, tookOver: Bool = false) {
        self.project = project
        self.token = token
        self.client = client
        self.tookOver = tookOver
    }

    static let tokenLabel = "io.reconcile.lock.token"
    static let hostLabel = "io.reconcile.lock.host"
    static let pidLabel = "io.reconcile.lock.pid"
    static let bootLabel = "io.reconcile.lock.boot"
    static let purposeLabel = "io.reconcile.lock.purpose"

    public static func volumeName(project: String) -> String { "reconcile-lock-\(project)" }

    public struct Held: Error, CustomStringConvertible, Sendable {
        public var project: String
        public var holder: String
        /// What the holder does ("apply", "controller", …); nil for a lock taken by an older version.
        public var purpose: String? = nil
        public var description: String {
            if purpose == "controller" {
                // A controller never finishes on its own, so "wait for it" would be the wrong advice.
                return "project \(project) is kept converged by \(holder): edit the manifests it watches instead, or stop that controller first; if that process is gone for good, run `reconcile unlock -p \(project)`"
            }
            return "project \(project) is locked by \(holder); wait for it to finish, or if that process is gone for good, run `reconcile unlock -p \(project)`"
        }
    }

    /// Takes the lock or throws `Held` naming the holder. `purpose` is "apply", "controller", ….
    public static func acquire(client: any ContainerEngine, project: String, purpose: String) async throws -> EngineLock {
        let token = UUID().uuidString
        let (user, host) = Identity.current()
        let pid = ProcessInfo.processInfo.processIdentifier
        let since = Date().ISO8601Format()
        let labels: [String: String] = [
            LabelKey.lock: project, LabelKey.project: project, tokenLabel: token, hostLabel: host, pidLabel: String(pid),
            bootLabel: bootID(), purposeLabel: purpose, LabelKey.lockHolder: "reconcile \(purpose) (\(user)@\(host), pid \(pid), since \(since))",
        ]
        let name = volumeName(project: project)
        var tookOver = false
        for _ in 0..<3 {
            let volume = try await client.createVolume(VolumeCreateRequest(name: name, labels: labels))
            let found = volume.labels ?? [:]
            if found[tokenLabel] == token {
                return EngineLock(project: project, token: token, client: client, tookOver: tookOver)
            }
            guard isStale(found), let staleToken = found[tokenLabel] else {
                throw Held(project: project, holder: found[LabelKey.lockHolder] ?? "another process", purpose: found[purposeLabel])
            }
            // Only the process whose token the takeover volume carries may remove the stale lock.
            let takeover = "\(name)-takeover-\(staleToken.prefix(12))"
            let claim = try await client.createVolume(VolumeCreateRequest(name: takeover, labels: [tokenLabel: token, LabelKey.lock: project]))
            guard claim.labels?[tokenLabel] == token else {
                throw Held(project: project, holder: "another process taking over a stale lock")
            }
            try? await client.removeVolume(name)
            try? await client.removeVolume(takeover)
            tookOver = true
        }
        throw Held(project: project, holder: "another process (the lock changed hands while it was being taken)")
    }

    /// Releases the lock if this process still holds it.
    public func release() async {
        let name = EngineLock.volumeName(project: project)
        guard let volume = try? await client.inspectVolume(name), volume.labels?[EngineLock.tokenLabel] == token else { return }
        try? await client.removeVolume(name)
    }

    /// Who holds a project's lock, if anyone.
    public static func holder(client: any ContainerEngine, project: String) async throws -> String? {
        do {
            let volume = try await client.inspectVolume(volumeName(project: project))
            return volume.labels?[LabelKey.lockHolder] ?? "unknown"
        } catch where error.isDockerNotFound {
            return nil
        }
    }

    /// Removes a project's lock whoever holds it (`reconcile unlock`).
    public static func forceRelease(client: any ContainerEngine, project: String) async throws {
        do { try await client.removeVolume(volumeName(project: project)) } catch where error.isDockerNotFound {}
    }

    static func isStale(_ labels: [String: String]) -> Bool {
        guard labels[hostLabel] == ProcessInfo.processInfo.hostName, let pidText = labels[pidLabel], let pid = Int32(pidText)
        else { return false }
        if labels[bootLabel] != bootID() { return true }
        // This process is only now taking the lock, so a lock naming its pid is a previous
        // life's: in a restarted container the controller gets the same pid and hostname.
        if pid == ProcessInfo.processInfo.processIdentifier { return true }
        return kill(pid, 0) != 0 && errno == ESRCH
    }

    static func bootID() -> String {
        (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
    }
}
