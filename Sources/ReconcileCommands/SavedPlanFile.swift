import Foundation
import ReconcileCore
import ReconcileManifest

/// Reading and writing the files of `reconcile plan --out` and `reconcile apply FILE`.
enum SavedPlanFile {
    /// Writes `saved` to `path`, readable by its owner only (it names the host's containers).
    static func write(_ saved: SavedPlan, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(saved)
        let url = URL(fileURLWithPath: path)
        do {
            try data.write(to: url, options: .atomic)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        } catch {
            throw CLIError("cannot write the plan to \(path): \(error.localizedDescription)")
        }
    }

    static func read(_ path: String) throws -> SavedPlan {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError("cannot read the saved plan \(path): no such file")
        }
        let saved: SavedPlan
        do {
            saved = try JSONDecoder().decode(SavedPlan.self, from: data)
        } catch {
            throw CLIError("\(path) is not a plan written by `reconcile plan --out`: \(error)")
        }
        guard saved.format == SavedPlan.currentFormat else {
            throw CLIError("\(path) is a plan of format \(saved.format); this reconcile reads \(SavedPlan.currentFormat): make the plan again")
        }
        guard saved.version == ReconcileVersion.current else {
            throw StalePlanError(reasons: ["it was made by reconcile \(saved.version) and this is \(ReconcileVersion.current), which may plan differently: make the plan again"])
        }
        guard saved.plan.deferred.isEmpty else {
            throw StalePlanError(reasons: [
                "it leaves decisions to apply time (\(saved.plan.deferred.joined(separator: "; "))), so it cannot be carried out exactly: make the plan against the engine, or run `reconcile apply -f …`"
            ])
        }
        return saved
    }

    /// The plan's record of how to load the manifest, from the command's options.
    static func source(_ manifest: ManifestOptions, gpus: GPUOptions) throws -> SavedPlan.ManifestSource {
        let cwd = FileManager.default.currentDirectoryPath
        let files = try manifest.resolvedPaths().map { path in
            path.hasPrefix("/") ? path : URL(fileURLWithPath: cwd).appendingPathComponent(path).standardizedFileURL.path
        }
        return SavedPlan.ManifestSource(files: files, projectName: manifest.project, profiles: manifest.profiles, gpus: gpus.gpus)
    }

    static func make(
        plan: Plan, project: Project, observed: ObservedState, manifest: ManifestOptions, gpus: GPUOptions, prune: Bool,
        observedFrom: String
    ) throws -> SavedPlan {
        let salt = SavedPlan.newSalt()
        let lines = observed.fingerprintLines()
        return SavedPlan(
            version: ReconcileVersion.current, created: RevisionText.time(Date().timeIntervalSince1970),
            manifest: try source(manifest, gpus: gpus), options: .init(prune: prune, observedFrom: observedFrom),
            fingerprint: .init(salt: salt, manifest: try SavedPlan.manifestDigest(project, salt: salt), observed: SavedPlan.observedDigest(lines)),
            observed: lines, plan: plan)
    }
}

extension SavedPlan {
    /// Loads the manifest the plan was made from, as it is now, and refuses the plan when
    /// its meaning changed (any value, a file's content, an env file, the environment it
    /// interpolates).
    func loadManifest() throws -> (LoadedManifest, Project) {
        var options = ManifestOptions()
        options.files = manifest.files
        options.project = manifest.projectName
        options.profiles = manifest.profiles
        var gpus = GPUOptions()
        gpus.gpus = manifest.gpus
        let loaded: LoadedManifest
        do {
            loaded = try options.load()
        } catch {
            throw StalePlanError(reasons: ["its manifest (\(manifest.files.joined(separator: ", "))) no longer loads: \(error)"])
        }
        let project = gpus.apply(to: loaded.project)
        guard try SavedPlan.manifestDigest(project, salt: fingerprint.salt) == fingerprint.manifest else {
            throw StalePlanError(reasons: [
                "the manifest changed since the plan was made (\(manifest.files.joined(separator: ", ")), with its env files and environment): make the plan again"
            ])
        }
        guard SavedPlan.observedDigest(observed) == fingerprint.observed else {
            throw CLIError("the saved plan's observed state does not match its fingerprint: the file was edited; make the plan again")
        }
        return (loaded, project)
    }
}
