import ArgumentParser
import DockerEngine
import Foundation
import ReconcileCore
import ReconcileManifest
import ReconcileRuntime

/// `reconcile destroy`: remove what the project owns.
struct DestroyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "destroy",
        abstract: "Remove the project's containers and networks; its named volumes only with --volumes.",
        discussion: "Only objects labelled with the project are removed. Volume data survives unless --volumes is given."
    )

    @OptionGroup var manifest: ManifestOptions
    @OptionGroup var engine: EngineOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var target: TargetOptions

    @Flag(help: "Also remove the project's volumes and their data.")
    var volumes = false

    @Flag(help: "Also remove the project's revision history (kept by default, so a later apply or rollback can use it).")
    var history = false

    func run() async throws {
        do {
            if target.isSwarm(manifest) { return try await SwarmCommands.destroy(manifest: manifest, engine: engine, format: output.output) }
            let loaded = try manifest.load()
            let project = loaded.project
            try await withEngine(engine) { client in
                let lock = try await EngineLock.acquire(client: client, project: project.name, purpose: "destroy")
                do {
                    try await destroy(project, client: client)
                } catch {
                    await lock.release()
                    throw error
                }
                await lock.release()
            }
        } catch let error as ExitCode {
            throw error
        } catch {
            try report(error, format: output.output)
            throw ExitCode.failure
        }
    }

    private func destroy(_ project: Project, client: DockerClient) async throws {
        let observed = try await Observer(client: client).observe(project: project)
        var removed: [String] = []
        let grace = Dictionary(project.services.map { ($0.name, $0.stopGracePeriod) }, uniquingKeysWith: { a, _ in a })
        let hooks = Executor(client: client, project: project)
        try await withThrowingTaskGroup(of: String.self) { group in
            for container in observed.containers where container.project == project.name {
                group.addTask {
                    let timeout = (grace[container.service ?? ""] ?? nil).map { Int($0.rounded(.up)) }
                    // `pre_stop` runs before the stop, as `docker compose down` runs it.
                    try await hooks.runPreStop(ofService: container.service, in: container.id)
                    do {
                        _ = try await client.stopContainer(container.id, timeout: timeout)
                        try await client.removeContainer(container.id, force: true, removeVolumes: false)
                    } catch where error.isDockerNotFound {}
                    return "container \(container.name)"
                }
            }
            for try await name in group { removed.append(name) }
        }
        // A network the engine refuses does not stop the rest: volumes, validation jobs and
        // history are still removed as asked, and the refusal is reported at the end.
        var failures: [String] = []
        for network in observed.networks where network.labels[LabelKey.project] == project.name {
            do {
                do { try await client.removeNetwork(network.id) } catch where error.isDockerNotFound {}
                removed.append("network \(network.name)")
            } catch {
                failures.append("\(error)")
            }
        }
        var kept: [String] = []
        for volume in observed.volumes where volume.labels[LabelKey.project] == project.name && volume.labels[LabelKey.lock] == nil {
            if volumes {
                do { try await client.removeVolume(volume.name) } catch where error.isDockerNotFound {}
                removed.append("volume \(volume.name)")
            } else {
                kept.append(volume.name)
            }
        }
        for job in try await client.listContainers(all: true, filters: .label(LabelKey.validation, project.name)) {
            try? await client.removeContainer(job.id, force: true)
            removed.append("validation job \(job.name ?? job.id)")
        }
        if history {
            let count = try await History(client: client, project: project.name).removeAll()
            if count > 0 { removed.append("history (\(count) revision\(count == 1 ? "" : "s"))") }
        }
        switch output.output {
        case .json:
            try Console.json(["removed": removed.sorted(), "keptVolumes": kept.sorted(), "errors": failures])
        case .text:
            for name in removed.sorted() { Console.out("  - \(name)") }
            if !kept.isEmpty { Console.out("kept volumes (their data is safe; --volumes removes them): \(kept.sorted().joined(separator: ", "))") }
            for failure in failures { Console.err("error: \(failure)") }
            Console.out(
                failures.isEmpty
                    ? "Destroyed project \(project.name): \(removed.count) objects removed."
                    : "Destroyed project \(project.name) in part: \(removed.count) objects removed, \(failures.count) left.")
        }
        if !failures.isEmpty { throw ExitCode.failure }
    }
}

/// `reconcile unlock`: clear a lock whose holder is gone for good.
struct UnlockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unlock",
        abstract: "Remove a project's engine-side lock, whoever holds it. Only when its holder is gone for good."
    )

    @OptionGroup var manifest: ManifestOptions
    @OptionGroup var engine: EngineOptions

    func run() async throws {
        let name = try manifest.project ?? manifest.load().project.name
        try await withEngine(engine) { client in
            if let holder = try await EngineLock.holder(client: client, project: name) {
                try await EngineLock.forceRelease(client: client, project: name)
                Console.out("removed the lock of project \(name), held by \(holder)")
            } else {
                Console.out("project \(name) is not locked")
            }
        }
    }
}
