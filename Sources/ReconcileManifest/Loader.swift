import Foundation
import ReconcileCore

/// A manifest loaded, merged, interpolated and checked.
public struct LoadedManifest: Sendable {
    public var project: Project
    public var warnings: [Diagnostic]
    /// The files read, in merge order, as they are named in diagnostics.
    public var files: [String]
    /// sha256 hex of the merged, interpolated manifest (map keys sorted), and of the
    /// `env_file` files its services read.
    public var digest: String
    /// Where each service key and `deploy` key was written, by key path
    /// ("services.api.depends_on", "services.api.deploy.placement").
    public var positions: [String: ManifestPosition] = [:]
    /// Absolute paths of the other files the project was read from: `.env` beside the first
    /// manifest and every `env_file`, for whoever watches the manifest for edits.
    public var inputs: [String]

    public init(project: Project, warnings: [Diagnostic], files: [String], digest: String, inputs: [String] = []) {
        self.project = project
        self.warnings = warnings
        self.files = files
        self.digest = digest
        self.inputs = inputs
    }
}

/// Loads Compose-format manifests (plus `x-reconcile`) into a `Project`.
public struct ManifestLoader: Sendable {
    public var environment: [String: String]
    public var profiles: [String]
    public var projectName: String?
    /// Relative manifest paths are taken from here (default: the process's current directory).
    public var workingDirectory: String?
    /// The engine the project is loaded for (`--target`); nil reads `x-reconcile.target`.
    /// Keys only a swarm honours (`deploy.mode: global`, `placement`, `generic_resources`…)
    /// are accepted for `.swarm` and refused otherwise.
    public var target: DeployTarget?
    /// The security policy's level (docs/security.md): `baseline` refuses what gives a
    /// container the host; `restricted` also warns on what a hardened container avoids.
    public var policy: PolicyLevel = .baseline

    public init(
        environment: [String: String], profiles: [String] = [], projectName: String? = nil,
        workingDirectory: String? = nil
    ) {
        self.environment = environment
        self.profiles = profiles
        self.projectName = projectName
        self.workingDirectory = workingDirectory
    }

    /// Loads and merges the files (a folder loads its *.yaml / *.yml in name order).
    /// Throws `ManifestError` with every error found.
    public func load(paths: [String]) throws -> LoadedManifest {
        let (manifest, diagnostics) = check(paths: paths)
        let errors = diagnostics.filter { $0.severity == .error }
        guard let manifest, errors.isEmpty else { throw ManifestError(diagnostics: errors) }
        return manifest
    }

    /// Same as `load`, but never throws: every diagnostic, errors and warnings, in file order.
    /// The manifest is nil when there is an error.
    public func check(paths: [String]) -> (LoadedManifest?, [Diagnostic]) {
        let sink = DiagnosticSink()
        var files: [String] = []
        let manifest = run(paths: paths, sink: sink, files: &files)
        let diagnostics = Self.sorted(sink.diagnostics, fileOrder: files)
        if diagnostics.contains(where: { $0.severity == .error }) { return (nil, diagnostics) }
        guard var manifest else { return (nil, diagnostics) }
        manifest.warnings = diagnostics
        return (manifest, diagnostics)
    }

    private static func sorted(_ diagnostics: [Diagnostic], fileOrder: [String]) -> [Diagnostic] {
        let indexed = diagnostics.enumerated().map { ($0.offset, $0.element) }
        // Files that were never read (a missing path) keep the order they were reported in.
        var firstSeen: [String: Int] = [:]
        for (index, diagnostic) in diagnostics.enumerated() where firstSeen[diagnostic.file] == nil {
            firstSeen[diagnostic.file] = index
        }
        func rank(_ file: String) -> Int { fileOrder.firstIndex(of: file) ?? (fileOrder.count + (firstSeen[file] ?? 0)) }
        return indexed.sorted { a, b in
            let (ra, rb) = (rank(a.1.file), rank(b.1.file))
            if ra != rb { return ra < rb }
            if a.1.file != b.1.file { return a.1.file < b.1.file }
            if a.1.line != b.1.line { return a.1.line < b.1.line }
            if a.1.column != b.1.column { return a.1.column < b.1.column }
            return a.0 < b.0
        }.map(\.1)
    }

    // MARK: - Files

    private struct Source {
        var display: String
        var absolute: String
    }

    private func absolute(_ path: String) -> String {
        let base = workingDirectory ?? FileManager.default.currentDirectoryPath
        return PathTools.resolve(path, against: base)
    }

    /// Expands folders into their manifests; reports paths that cannot be used.
    private func sources(_ paths: [String], sink: DiagnosticSink) -> (files: [Source], projectDirectory: String?) {
        var files: [Source] = []
        var projectDirectory: String?
        if paths.isEmpty {
            sink.error(Position(file: "(none)", line: 1, column: 1), "", "no manifest given", hint: "pass a compose file or a folder of them")
        }
        for path in paths {
            let full = absolute(path)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory) else {
                sink.error(.start(of: path), "", "no such file or folder (looked at \(full))")
                continue
            }
            if isDirectory.boolValue {
                let names = ((try? FileManager.default.contentsOfDirectory(atPath: full)) ?? [])
                    .filter { ($0.hasSuffix(".yaml") || $0.hasSuffix(".yml")) && !$0.hasPrefix(".") }
                    .sorted()
                if names.isEmpty {
                    sink.error(.start(of: path), "", "the folder has no *.yaml or *.yml file")
                }
                for name in names {
                    let display = path.hasSuffix("/") ? path + name : path + "/" + name
                    files.append(Source(display: display, absolute: full + "/" + name))
                }
                if projectDirectory == nil { projectDirectory = full }
            } else {
                files.append(Source(display: path, absolute: full))
                if projectDirectory == nil { projectDirectory = (full as NSString).deletingLastPathComponent }
            }
        }
        return (files, projectDirectory)
    }

    /// The interpolation environment: `.env` beside the first manifest, overridden by the process environment.
    private func interpolationEnvironment(projectDirectory: String, sink: DiagnosticSink) -> [String: String] {
        let dotEnvPath = projectDirectory + "/.env"
        var env = Self.dotEnv(at: dotEnvPath, display: dotEnvPath, over: environment, sink: sink)
        for (key, value) in environment { env[key] = value }
        return env
    }

    /// The variables of an env file (none when it cannot be read). A value may use earlier
    /// entries and `environment`, which wins over the file, as in Compose.
    static func dotEnv(at path: String, display: String, over environment: [String: String], sink: DiagnosticSink) -> [String: String] {
        var env: [String: String] = [:]
        guard let data = BoundedFile.contents(atPath: path), let text = String(data: data, encoding: .utf8) else { return env }
        let parsed = DotEnv.parse(text)
        for error in parsed.errors {
            sink.error(Position(file: display, line: error.line, column: 1), "", error.message)
        }
        for line in parsed.entries {
            // Earlier entries are visible to later ones, as in Compose.
            let value = line.literal ? line.value : line.value.map { value in
                Interpolator(environment: env.merging(environment) { _, process in process }, sink: sink)
                    .apply(.string(value, Position(file: display, line: line.line, column: 1)), path: line.key)
                    .scalarText ?? value
            } ?? environment[line.key]
            if let value { env[line.key] = value }
        }
        return env
    }

    // MARK: - Load

    /// Checks one manifest held in memory as if it were the file `file` in the working
    /// folder: what it names on disk (`include`, `extends`, `env_file`, secret files) is read
    /// as usual, but no `.env` is, no build context is read, and no config-hash key file is
    /// read or created (the key comes from the project name). Never throws; for fuzzing and
    /// tools that hold the text.
    public func check(yaml: String, file: String = "compose.yaml") -> (LoadedManifest?, [Diagnostic]) {
        let sink = DiagnosticSink()
        let base = workingDirectory ?? FileManager.default.currentDirectoryPath
        let source = Source(display: file, absolute: PathTools.resolve(file, against: base))
        var files = [file]
        let manifest = load(
            files: [source], projectDirectory: (source.absolute as NSString).deletingLastPathComponent, memory: yaml, sink: sink,
            displayNames: &files)
        let diagnostics = Self.sorted(sink.diagnostics, fileOrder: files)
        if diagnostics.contains(where: { $0.severity == .error }) { return (nil, diagnostics) }
        guard var manifest else { return (nil, diagnostics) }
        manifest.warnings = diagnostics
        return (manifest, diagnostics)
    }

    private func run(paths: [String], sink: DiagnosticSink, files displayNames: inout [String]) -> LoadedManifest? {
        let (files, projectDirectoryFound) = sources(paths, sink: sink)
        displayNames = files.map(\.display)
        guard let projectDirectory = projectDirectoryFound, !files.isEmpty else { return nil }
        return load(files: files, projectDirectory: projectDirectory, memory: nil, sink: sink, displayNames: &displayNames)
    }

    /// `memory`: the text of the one file, which is not read from disk.
    private func load(
        files: [Source], projectDirectory: String, memory: String?, sink: DiagnosticSink, displayNames: inout [String]
    ) -> LoadedManifest? {
        let env = memory == nil ? interpolationEnvironment(projectDirectory: projectDirectory, sink: sink) : environment
        let interpolator = Interpolator(environment: env, sink: sink)

        // `include` and `extends` are applied per file, before the files merge, as in Compose.
        let composer = Composer(sink: sink, base: workingDirectory ?? FileManager.default.currentDirectoryPath)
        for file in files { composer.register(absolute: file.absolute, display: file.display) }
        if let memory, let file = files.first { composer.memory[file.absolute] = memory }
        var merged: MNode?
        for file in files {
            guard let tree = composer.read(file.absolute, interpolator: interpolator) else { continue }
            let composed = composer.compose(
                tree, file: file.absolute, projectDirectory: projectDirectory, environment: env, includeChain: [file.absolute])
            merged = merged.map { Merger.merge($0, composed, path: []) } ?? composed
        }
        displayNames = files.map(\.display) + composer.extraFiles
        guard let merged else { return nil }
        let root = Merger.stripped(merged)
        let envFiles = ManifestInputs.envFiles(of: root, projectDirectory: projectDirectory)

        let defaultName = (projectDirectory as NSString).lastPathComponent
        var parser = ProjectParser(
            reader: Reader(sink: sink), environment: env, projectDirectory: projectDirectory, profiles: profiles,
            projectNameOverride: projectName, defaultName: defaultName, target: target)
        parser.resolveBuilds = memory == nil
        guard var project = parser.parse(root) else { return nil }
        SecurityPolicy(sink: sink, level: policy, environment: env).check(root: root, project: project)
        project.hashKey = memory != nil ? ConfigHashKey(secret: [], project: project.name) : HashKeyFile.key(
            project: project.name, root: root, projectDirectory: projectDirectory, environment: env, sink: sink, reader: Reader(sink: sink))
        // The content of secret and config files is not in the tree: their digests are.
        let fileObjects = ((project.secrets ?? []) + (project.configs ?? [])).filter { $0.source == .file }
        let contentDigests = fileObjects.map { $0.digest ?? "" }
        let canonical = contentDigests.isEmpty ? root.canonical : root.canonical + "\n" + contentDigests.joined(separator: "\n")
        let digest = ManifestInputs.digest(canonical: canonical, envFiles: envFiles)
        // Everything read besides the files given, for the controller to watch.
        let inputs = [projectDirectory + "/.env"] + envFiles + composer.readFiles + fileObjects.compactMap(\.reference)
        var loaded = LoadedManifest(project: project, warnings: [], files: displayNames, digest: digest, inputs: inputs)
        loaded.positions = sink.keyPositions.mapValues { ManifestPosition(file: $0.file, line: $0.line, column: $0.column) }
        return loaded
    }
}

/// A place in a manifest file.
public struct ManifestPosition: Sendable, Equatable {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }
}

extension LoadedManifest {
    /// The position of `keyPath`, or of the nearest key above it that has one
    /// ("services.api.ports[0]" → "services.api.ports" → "services.api").
    public func position(of keyPath: String) -> ManifestPosition? {
        var path = keyPath
        while !path.isEmpty {
            if let found = positions[path] { return found }
            if path.hasSuffix("]"), let bracket = path.lastIndex(of: "[") {
                path = String(path[..<bracket])
            } else if let dot = path.lastIndex(of: ".") {
                path = String(path[..<dot])
            } else {
                break
            }
        }
        return nil
    }
}
