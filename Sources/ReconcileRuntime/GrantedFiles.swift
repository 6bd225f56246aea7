import DockerEngine
import Foundation
import ReconcileCore

/// A replica's secrets and configs as the engine gets them, the way `docker compose` does on
/// a single engine: a `file` source is bind-mounted read-only at its target; an
/// `environment` or `content` source is written into the created container, through the
/// archive endpoint, before it starts, with the grant's owner and mode.
public struct GrantedFiles: Sendable {
    /// Bind mounts of `file` sources.
    public var binds: [DockerEngine.Mount] = []
    /// Files to write before the container starts.
    public var entries: [TarArchive.Entry] = []
    /// Objects whose content is not at hand ("secret db_password"): the container must not
    /// start without them.
    public var unavailable: [String] = []

    public init() {}

    init(config: ReplicaConfig, project: Project) {
        for (kind, files) in [("secret", config.secrets), ("config", config.configs)] {
            for file in files ?? [] {
                if let path = file.hostPath {
                    binds.append(DockerEngine.Mount(type: "bind", source: path, target: file.target, readOnly: true))
                    continue
                }
                let object = kind == "secret" ? project.secret(key: file.name) : project.config(key: file.name)
                guard let content = object?.content else {
                    unavailable.append("\(kind) \(file.name)")
                    continue
                }
                entries.append(TarArchive.Entry(
                    path: file.target, bytes: Array(content.utf8), mode: file.mode ?? FileGrant.defaultMode,
                    uid: file.uid.flatMap { Int($0) } ?? 0, gid: file.gid.flatMap { Int($0) } ?? 0))
            }
        }
    }
}

extension GrantedFiles {
    /// Writes a created container's secret and config files, before it starts. On failure
    /// the container is removed, so that no later start runs it without them. The engine
    /// keeps each entry's owner from the archive as it is; `copyUIDGID` (which `docker
    /// compose` sets when an owner is given) would instead give every file to the
    /// container's `user`, whatever the grant says.
    func write(into id: String, client: any ContainerEngine) async throws {
        guard !entries.isEmpty else { return }
        do {
            let archive = try TarArchive.make(entries, modificationTime: Int(Date().timeIntervalSince1970))
            try await client.putArchive(id, path: "/", archive: archive, copyUIDGID: false)
        } catch {
            try? await client.removeContainer(id, force: true, removeVolumes: false)
            throw ExecutionError("could not write the secrets and configs into the new container: \(Executor.describe(error))")
        }
    }
}
