import Foundation

/// How one Compose file pulls in others: top-level `include` and service `extends`, as the
/// Compose Specification defines them (`14-include.md`, `05-services.md#extends`).
///
/// Both work on the trees before the model is parsed, so every value keeps the file, line
/// and column it came from, and a diagnostic about an included or extended value names
/// that file. Per file, as in Compose: `include` first (so a service can extend an included
/// one), then `extends`. One instance per load, never shared between threads.
final class Composer {
    let sink: DiagnosticSink
    /// Files outside the manifests given, as diagnostics name them, in the order read.
    private(set) var extraFiles: [String] = []
    /// Absolute paths of every file read (given, extended, included), in the order read.
    private(set) var readFiles: [String] = []
    private var displayNames: [String: String] = [:]
    private let base: String
    private var extendedTrees: [String: (environment: [String: String], tree: MNode?)] = [:]
    private var reportedCycles: Set<String> = []

    /// `base`: the folder relative display names are taken from.
    init(sink: DiagnosticSink, base: String) {
        self.sink = sink
        self.base = base
    }

    /// Names a manifest given on the command line as it was given.
    func register(absolute: String, display: String) {
        displayNames[absolute] = display
    }

    /// Manifests held in memory by absolute path, read before the disk.
    var memory: [String: String] = [:]

    /// How diagnostics name a file: as given, else relative to the working folder when it
    /// is inside it, else absolute.
    func display(_ absolute: String) -> String {
        if let known = displayNames[absolute] { return known }
        let prefix = base.hasSuffix("/") ? base : base + "/"
        return absolute.hasPrefix(prefix) ? String(absolute.dropFirst(prefix.count)) : absolute
    }

    /// Reads, parses and interpolates one file. `reference` is the value that names it, where
    /// a missing file is reported; nil for a manifest given on the command line.
    func read(_ absolute: String, interpolator: Interpolator, reference: (pos: Position, path: String, text: String)? = nil) -> MNode? {
        let display = self.display(absolute)
        if let text = memory[absolute] { return parse(text, absolute: absolute, display: display, interpolator: interpolator) }
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: absolute, isDirectory: &isDirectory)
        if let reference, !exists || isDirectory.boolValue {
            sink.error(reference.pos, reference.path,
                       isDirectory.boolValue ? "`\(reference.text)` is a folder, not a Compose file" : "no such file `\(reference.text)` (looked at \(absolute))")
            return nil
        }
        guard let data = BoundedFile.contents(atPath: absolute) else {
            sink.error(reference?.pos ?? .start(of: display), reference?.path ?? "", "cannot read the file" + (reference == nil ? "" : " \(display)"))
            return nil
        }
        guard let text = String(data: data, encoding: .utf8) else {
            sink.error(reference?.pos ?? .start(of: display), reference?.path ?? "", "\(display) is not UTF-8 text")
            return nil
        }
        return parse(text, absolute: absolute, display: display, interpolator: interpolator)
    }

    private func parse(_ text: String, absolute: String, display: String, interpolator: Interpolator) -> MNode? {
        if displayNames[absolute] == nil {
            displayNames[absolute] = display
            extraFiles.append(display)
        }
        if !readFiles.contains(absolute) { readFiles.append(absolute) }
        guard let tree = TreeBuilder.parse(yaml: text, file: display, sink: sink) else { return nil }
        guard tree.entries != nil else {
            sink.error(tree.pos, "", "a Compose file must be a map (services:, volumes:, …), got \(tree.kindDescription)")
            return nil
        }
        return interpolator.apply(tree, path: "")
    }

    /// Applies `include`, then `extends`, to one file's tree. `resolvingPaths`: rewrite the
    /// file's relative paths against this folder (an included file's project directory)
    /// before its services are extended. `includeChain` ends with `file`.
    func compose(
        _ tree: MNode, file: String, projectDirectory: String, environment: [String: String], includeChain: [String],
        resolvingPaths: Bool = false
    ) -> MNode {
        var tree = tree
        if let include = tree.entries?.last(where: { $0.key == "include" }) {
            tree = tree.removing("include")
            tree = applyIncludes(include, into: tree, projectDirectory: projectDirectory, environment: environment, chain: includeChain)
        }
        if resolvingPaths { tree = RelativePaths.resolve(tree, against: projectDirectory) }
        return applyExtends(tree, file: file, environment: environment)
    }

    // MARK: - include

    private struct IncludeSpec {
        var paths: [(text: String, pos: Position)] = []
        var projectDirectory: String?
        var envFiles: [(text: String, pos: Position)] = []
    }

    private func includeSpec(_ item: MNode, _ path: String, reader: Reader) -> IncludeSpec? {
        var spec = IncludeSpec()
        if case .scalar = item.value, let text = item.scalarText {
            spec.paths = [(text, item.pos)]
            return spec
        }
        guard let entries = item.entries else {
            sink.error(item.pos, path, "expected a path or a map with `path`, got \(item.kindDescription)")
            return nil
        }
        reader.checkKeys(entries, path, supported: ["path", "project_directory", "env_file"])
        func strings(_ key: String) -> [(String, Position)] {
            guard let node = item[key] else { return [] }
            if case .scalar = node.value, let text = node.scalarText { return [(text, node.pos)] }
            guard let items = node.items else {
                sink.error(node.pos, "\(path).\(key)", "expected a path or a list of paths, got \(node.kindDescription)")
                return []
            }
            return items.enumerated().compactMap { index, item in
                reader.string(item, "\(path).\(key)[\(index)]").map { ($0, item.pos) }
            }
        }
        spec.paths = strings("path")
        if spec.paths.isEmpty {
            if item["path"] == nil { sink.error(item.pos, path, "missing `path`", hint: "name the Compose file to include") }
            return nil
        }
        spec.projectDirectory = item["project_directory"].flatMap { reader.string($0, "\(path).project_directory") }
        spec.envFiles = strings("env_file")
        return spec
    }

    private func applyIncludes(
        _ include: MEntry, into tree: MNode, projectDirectory: String, environment: [String: String], chain: [String]
    ) -> MNode {
        let reader = Reader(sink: sink)
        guard let items = include.value.items else {
            if !include.value.isNull {
                sink.error(include.value.pos, "include", "expected a list of Compose files, got \(include.value.kindDescription)")
            }
            return tree
        }
        var tree = tree
        for (index, item) in items.enumerated() {
            let path = "include[\(index)]"
            guard let spec = includeSpec(item, path, reader: reader) else { continue }
            let files = spec.paths.map { (absolute: PathTools.resolve($0.text, against: projectDirectory), text: $0.text, pos: $0.pos) }
            guard let main = files.first else { continue }
            if let start = chain.firstIndex(of: main.absolute) {
                let cycle = (chain[start...] + [main.absolute]).map(display)
                sink.error(main.pos, path, "include cycle: \(cycle.joined(separator: " → "))", hint: "remove one of these `include` entries")
                continue
            }
            let includedDirectory = spec.projectDirectory.map { PathTools.resolve($0, against: projectDirectory) }
                ?? (main.absolute as NSString).deletingLastPathComponent

            // Variables: the env files' (default: `.env` in the included project directory),
            // overridden by the including project's own.
            var fileEnvironment: [String: String] = [:]
            if spec.envFiles.isEmpty {
                let dotEnv = includedDirectory + "/.env"
                if FileManager.default.fileExists(atPath: dotEnv) {
                    fileEnvironment = ManifestLoader.dotEnv(at: dotEnv, display: display(dotEnv), over: environment, sink: sink)
                }
            } else {
                for (offset, envFile) in spec.envFiles.enumerated() where envFile.text != "/dev/null" {
                    let absolute = PathTools.resolve(envFile.text, against: projectDirectory)
                    var isDirectory: ObjCBool = false
                    guard FileManager.default.fileExists(atPath: absolute, isDirectory: &isDirectory), !isDirectory.boolValue else {
                        sink.error(envFile.pos, spec.envFiles.count == 1 && item["env_file"]?.items == nil ? "\(path).env_file" : "\(path).env_file[\(offset)]",
                                   "no such env file `\(envFile.text)` (looked at \(absolute))")
                        continue
                    }
                    let parsed = ManifestLoader.dotEnv(at: absolute, display: display(absolute), over: environment, sink: sink)
                    fileEnvironment.merge(parsed) { _, later in later }
                }
            }
            let includedEnvironment = fileEnvironment.merging(environment) { _, including in including }
            let interpolator = Interpolator(environment: includedEnvironment, sink: sink)

            var included: MNode?
            for (offset, file) in files.enumerated() {
                let keyPath = item.entries == nil ? path : (files.count == 1 && item["path"]?.items == nil ? "\(path).path" : "\(path).path[\(offset)]")
                guard let read = read(file.absolute, interpolator: interpolator, reference: (file.pos, keyPath, file.text)) else { continue }
                let composed = compose(
                    read, file: file.absolute, projectDirectory: includedDirectory, environment: includedEnvironment,
                    includeChain: chain + [file.absolute], resolvingPaths: true)
                included = included.map { Merger.merge($0, composed, path: []) } ?? composed
            }
            if let included { tree = importResources(from: included, into: tree) }
        }
        return tree
    }

    /// Copies the included model's resources into the including one. A resource both define
    /// differently is an error, as `docker compose` has it: include never merges.
    private func importResources(from included: MNode, into tree: MNode) -> MNode {
        var tree = tree
        for key in ["services", "volumes", "networks", "secrets", "configs"] {
            guard let imported = included[key]?.entries, !imported.isEmpty else { continue }
            var entries = tree[key]?.entries ?? []
            for entry in imported {
                guard let existing = entries.first(where: { $0.key == entry.key }) else {
                    entries.append(entry)
                    continue
                }
                if existing.value.canonical == entry.value.canonical { continue }
                let what = key == "services" ? "service" : String(key.dropLast())
                let hint = key == "services"
                    ? "rename one of them; to build on the included service, give yours another name and `extends: \(entry.key)`"
                    : "rename one of them, or keep one definition"
                sink.error(
                    existing.keyPos, "\(key).\(entry.key)",
                    "\(what) `\(entry.key)` is defined here and also by the included file \(entry.keyPos.file) (line \(entry.keyPos.line)); `include` does not merge definitions",
                    hint: hint)
            }
            tree = tree.setting(key, MNode(.mapping(entries), tree[key]?.pos ?? included[key]?.pos ?? tree.pos))
        }
        return tree
    }

    // MARK: - extends

    private struct Link: Equatable {
        var file: String
        var service: String
    }

    private func applyExtends(_ tree: MNode, file: String, environment: [String: String]) -> MNode {
        guard let services = tree["services"], let entries = services.entries,
              entries.contains(where: { $0.value["extends"] != nil })
        else { return tree }
        var memo: [String: MNode] = [:]
        let resolved = entries.map { entry -> MEntry in
            var entry = entry
            entry.value = resolve(entry.key, services: entries, file: file, environment: environment, chain: [], memo: &memo) ?? entry.value
            return entry
        }
        return tree.setting("services", MNode(.mapping(resolved), services.pos, tag: services.tag))
    }

    /// A service with its `extends` applied (recursively), or nil when `services` has no `name`.
    private func resolve(
        _ name: String, services: [MEntry], file: String, environment: [String: String], chain: [Link], memo: inout [String: MNode]
    ) -> MNode? {
        let memoKey = file + "\n" + name
        if let done = memo[memoKey] { return done }
        guard let node = services.last(where: { $0.key == name })?.value else { return nil }
        guard let extends = node.entries?.last(where: { $0.key == "extends" }) else {
            memo[memoKey] = node
            return node
        }
        let own = node.removing("extends")
        memo[memoKey] = own
        let keyPath = "services.\(name).extends"

        // `extends: base` or `extends: {service: base, file: other.yml}`.
        let serviceNode: MNode
        var fileNode: MNode?
        if case .scalar = extends.value.value, extends.value.scalarText != nil {
            serviceNode = extends.value
        } else if let entries = extends.value.entries {
            Reader(sink: sink).checkKeys(entries, keyPath, supported: ["service", "file"])
            guard let node = extends.value["service"] else {
                sink.error(extends.value.pos, keyPath, "missing `service`", hint: "name the service to extend")
                return own
            }
            serviceNode = node
            fileNode = extends.value["file"]
        } else {
            sink.error(extends.value.pos, keyPath, "expected a service name or a map {service, file}, got \(extends.value.kindDescription)")
            return own
        }
        let reader = Reader(sink: sink)
        guard let baseName = reader.string(serviceNode, extends.value.entries == nil ? keyPath : "\(keyPath).service") else { return own }

        var baseFile = file
        var baseServices = services
        if let fileNode {
            guard let text = reader.string(fileNode, "\(keyPath).file") else { return own }
            // Relative to the file that names it (paths in other files were made absolute when read).
            let absolute = PathTools.resolve(text, against: (file as NSString).deletingLastPathComponent)
            guard let other = extendedTree(absolute, environment: environment, reference: (fileNode.pos, "\(keyPath).file", text)) else {
                return own
            }
            baseFile = absolute
            baseServices = other["services"]?.entries ?? []
        }

        let link = Link(file: file, service: name)
        let target = Link(file: baseFile, service: baseName)
        let path = chain + [link]
        if let start = path.firstIndex(of: target) {
            let cycle = Array(path[start...]) + [target]
            let key = Set(cycle.map { $0.file + "\n" + $0.service }).sorted().joined(separator: "\t")
            if reportedCycles.insert(key).inserted {
                let origin = cycle[0].file
                let names = cycle.map { $0.file == origin ? $0.service : "\($0.service) (\(display($0.file)))" }
                sink.error(serviceNode.pos, keyPath, "extends cycle: \(names.joined(separator: " → "))",
                           hint: "remove one of these `extends`")
            }
            return own
        }
        guard baseServices.contains(where: { $0.key == baseName }) else {
            let place = baseFile == file ? "this file" : display(baseFile)
            let hint = Values.suggestion(for: baseName, among: baseServices.map(\.key)).map { "did you mean `\($0)`?" }
                ?? (baseServices.isEmpty ? "\(place) declares no service" : "services of \(place): \(baseServices.map(\.key).joined(separator: ", "))")
            sink.error(serviceNode.pos, keyPath, "service \(name) extends `\(baseName)`, which is not a service of \(place)", hint: hint)
            return own
        }
        guard let base = resolve(baseName, services: baseServices, file: baseFile, environment: environment, chain: path, memo: &memo) else {
            return own
        }
        let merged = Merger.merge(base, own, path: ["services", name])
        memo[memoKey] = merged
        return merged
    }

    /// Another file a service extends: read and interpolated once per environment, its
    /// relative paths made absolute against its own folder.
    private func extendedTree(_ absolute: String, environment: [String: String], reference: (pos: Position, path: String, text: String)) -> MNode? {
        if let cached = extendedTrees[absolute], cached.environment == environment { return cached.tree }
        let tree = read(absolute, interpolator: Interpolator(environment: environment, sink: sink), reference: reference)
            .map { RelativePaths.resolve($0, against: (absolute as NSString).deletingLastPathComponent) }
        extendedTrees[absolute] = (environment, tree)
        return tree
    }
}

/// Makes an included or extended file's relative paths absolute against its own folder, as
/// Compose does, so that they keep meaning what they meant there once they are part of a
/// manifest in another folder. Absolute and `~` paths, named volumes and remote build
/// contexts are left as they are.
enum RelativePaths {
    static func resolve(_ tree: MNode, against directory: String) -> MNode {
        var tree = tree
        if let services = tree["services"], services.entries != nil {
            tree = tree.setting("services", services.mappingValues { service($0, directory) })
        }
        for key in ["secrets", "configs"] {
            if let objects = tree[key], objects.entries != nil {
                tree = tree.setting(key, objects.mappingValues { object in
                    object.updating("file") { path($0, directory) }
                })
            }
        }
        return tree
    }

    private static func service(_ node: MNode, _ directory: String) -> MNode {
        guard node.entries != nil else { return node }
        var node = node
        if let build = node["build"] {
            if case .scalar = build.value {
                node = node.setting("build", context(build, directory))
            } else {
                node = node.updating("build") { build in
                    build.updating("context") { context($0, directory) }.updating("additional_contexts") { contexts in
                        if contexts.entries != nil { return contexts.mappingValues { context($0, directory) } }
                        return contexts.itemsMapped { item in
                            guard let text = item.scalarText, let eq = text.firstIndex(of: "=") else { return item }
                            let value = String(text[text.index(after: eq)...])
                            guard isLocal(value) else { return item }
                            return .string(String(text[...eq]) + PathTools.resolve(value, against: directory), item.pos)
                        }
                    }
                }
            }
        }
        node = node.updating("env_file") { envFile in
            if case .scalar = envFile.value { return path(envFile, directory) }
            return envFile.itemsMapped { item in
                item.entries != nil ? item.updating("path") { path($0, directory) } : path(item, directory)
            }
        }
        node = node.updating("label_file") { labelFile in
            if case .scalar = labelFile.value { return path(labelFile, directory) }
            return labelFile.itemsMapped { path($0, directory) }
        }
        node = node.updating("extends") { extends in
            extends.entries != nil ? extends.updating("file") { path($0, directory) } : extends
        }
        node = node.updating("volumes") { volumes in
            volumes.itemsMapped { volume in
                if let text = volume.scalarText, volume.entries == nil {
                    var parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
                    guard parts.count >= 2, parts[0].hasPrefix(".") else { return volume }
                    parts[0] = PathTools.resolve(parts[0], against: directory)
                    return .string(parts.joined(separator: ":"), volume.pos)
                }
                guard volume["type"]?.scalarText == "bind" else { return volume }
                return volume.updating("source") { path($0, directory) }
            }
        }
        return node
    }

    /// A path made absolute; absolute and `~` paths are left as they are.
    private static func path(_ node: MNode, _ directory: String) -> MNode {
        guard case .scalar = node.value, let text = node.scalarText, !text.isEmpty, !text.hasPrefix("/"), !text.hasPrefix("~")
        else { return node }
        var resolved = MNode.string(PathTools.resolve(text, against: directory), node.pos)
        resolved.tag = node.tag
        return resolved
    }

    private static func context(_ node: MNode, _ directory: String) -> MNode {
        guard let text = node.scalarText, isLocal(text) else { return node }
        return path(node, directory)
    }

    /// Not a URL or a git remote: a folder.
    private static func isLocal(_ text: String) -> Bool {
        !text.contains("://") && !text.hasPrefix("git@") && !text.hasPrefix("github.com/")
    }
}

extension MNode {
    /// This map without `key`.
    func removing(_ key: String) -> MNode {
        guard let entries else { return self }
        var copy = self
        copy.value = .mapping(entries.filter { $0.key != key })
        return copy
    }

    /// This map with `key` set to `value` (in place when present, else appended).
    func setting(_ key: String, _ value: MNode) -> MNode {
        guard var entries else { return self }
        if let index = entries.lastIndex(where: { $0.key == key }) {
            entries[index].value = value
        } else {
            entries.append(MEntry(key: key, keyPos: value.pos, value: value))
        }
        var copy = self
        copy.value = .mapping(entries)
        return copy
    }

    /// This map with the value of `key`, when present, transformed.
    func updating(_ key: String, _ transform: (MNode) -> MNode) -> MNode {
        guard let value = self[key] else { return self }
        return setting(key, transform(value))
    }

    /// This map with every value transformed.
    func mappingValues(_ transform: (MNode) -> MNode) -> MNode {
        guard let entries else { return self }
        var copy = self
        copy.value = .mapping(entries.map { entry in
            var entry = entry
            entry.value = transform(entry.value)
            return entry
        })
        return copy
    }

    /// This list with every item transformed.
    func itemsMapped(_ transform: (MNode) -> MNode) -> MNode {
        guard let items else { return self }
        var copy = self
        copy.value = .sequence(items.map(transform))
        return copy
    }
}
