import ArgumentParser
import Foundation
import ReconcileCore
import ReconcileManifest

/// Where the manifests are and how to read them.
struct ManifestOptions: ParsableArguments {
    @Option(
        name: [.customShort("f"), .customLong("file")],
        help: "A Compose file, or a folder whose *.yaml/*.yml files load in name order. Repeat to merge; later files win.")
    var files: [String] = []

    @Option(name: [.customShort("p"), .long], help: "Project name (default: the manifest's `name:`, else its folder's name).")
    var project: String?

    @Option(name: .customLong("profile"), help: "Activate a Compose profile. Repeatable.")
    var profiles: [String] = []

    /// The files to load: as given, else the first of Compose's default names in the current folder.
    func resolvedPaths() throws -> [String] {
        if !files.isEmpty { return files }
        let manager = FileManager.default
        for name in ["compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"]
        where manager.fileExists(atPath: name) {
            return [name]
        }
        throw CLIError(
            "no manifest given and none found here: pass -f FILE (or name it compose.yaml or docker-compose.yml)")
    }

    func loader() -> ManifestLoader {
        var environment = ProcessInfo.processInfo.environment
        // The profiles flag wins over COMPOSE_PROFILES, as in Compose.
        var active = profiles
        if active.isEmpty, let fromEnv = environment["COMPOSE_PROFILES"] {
            active = fromEnv.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        environment["COMPOSE_PROFILES"] = nil
        return ManifestLoader(environment: environment, profiles: active, projectName: project)
    }

    /// Loads the manifests; every error is reported, not only the first.
    func load() throws -> LoadedManifest {
        try loader().load(paths: try resolvedPaths())
    }
}

/// `--gpus`: the host's GPUs, overriding `x-reconcile.gpus` and discovery.
struct GPUOptions: ParsableArguments {
    @Option(name: .customLong("gpus"), help: "The host's GPU ids, e.g. 0,1,2,3 (or `none`), instead of asking nvidia-smi.")
    var gpus: String?

    /// The project with the flag's inventory in place of the manifest's.
    func apply(to project: Project) -> Project {
        guard let gpus else { return project }
        var project = project
        let ids = gpus == "none" ? [] : gpus.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        project.extensions.gpus = ids.map { GPUDevice(id: $0) }
        return project
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

struct OutputOptions: ParsableArguments {
    @Option(name: .long, help: "Output format: text or json.")
    var output: OutputFormat = .text
}

/// An error whose text is already the sentence a person should read.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
