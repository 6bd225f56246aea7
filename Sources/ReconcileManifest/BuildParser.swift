import Foundation
import ReconcileCore

/// `build:` in its short form (a context path) and its long form. The context digest and
/// the content tag are filled in later (`BuildResolver`), once the project name is known.
extension ServiceParser {
    static let buildKeys = [
        "context", "dockerfile", "dockerfile_inline", "args", "target", "labels", "shm_size", "extra_hosts",
        "network", "no_cache", "pull", "tags", "cache_from",
    ]
    static let buildKitReason = "needs BuildKit, which this engine's API (1.41, classic builder) cannot drive"
    /// Keys of the Compose build spec that only BuildKit (a build session) can honour.
    static let buildKitOnlyKeys: [String: String] = [
        "secrets": buildKitReason, "ssh": buildKitReason, "platforms": buildKitReason,
        "additional_contexts": buildKitReason, "cache_to": buildKitReason, "entitlements": buildKitReason,
        "privileged": buildKitReason, "ulimits": buildKitReason, "isolation": "Windows containers only",
        "provenance": buildKitReason, "sbom": buildKitReason,
    ]

    func build(_ node: MNode, _ path: String) -> BuildSpec? {
        if case .scalar = node.value {
            guard let text = reader.string(node, path), let context = contextPath(text, node, path) else { return nil }
            return BuildSpec(context: context)
        }
        guard let entries = reader.map(node, path) else { return nil }
        for entry in entries where Self.buildKitOnlyKeys[entry.key] != nil {
            sink.error(
                entry.keyPos, "\(path).\(entry.key)", "`build.\(entry.key)` \(Self.buildKitOnlyKeys[entry.key] ?? "")",
                hint: "remove it, or build the image with `docker buildx build` and set `image`")
        }
        reader.checkKeys(entries.filter { Self.buildKitOnlyKeys[$0.key] == nil }, path, supported: Self.buildKeys)
        func at(_ key: String) -> String { "\(path).\(key)" }

        var spec = BuildSpec(context: context.projectDirectory)
        if let n = node["context"] {
            guard let text = reader.string(n, at("context")), let context = contextPath(text, n, at("context")) else { return nil }
            spec.context = context
        }
        if let n = node["dockerfile"], let text = reader.string(n, at("dockerfile")) {
            if text.isEmpty { sink.error(n.pos, at("dockerfile"), "the Dockerfile path is empty") }
            spec.dockerfile = text
        }
        if let n = node["dockerfile_inline"], let text = reader.string(n, at("dockerfile_inline")) {
            if node["dockerfile"] != nil {
                sink.error(n.pos, at("dockerfile_inline"), "`dockerfile` and `dockerfile_inline` exclude each other", hint: "keep one")
            }
            spec.dockerfileInline = text
            spec.dockerfile = BuildContext.inlineDockerfileName
        }
        if let n = node["args"], let pairs = reader.keyValues(n, at("args")) {
            for pair in pairs {
                // An arg without a value takes it from the environment, and is left out when unset, as in Compose.
                if let value = pair.value ?? context.environment[pair.key] { spec.args[pair.key] = value }
            }
        }
        if let n = node["target"] { spec.target = reader.string(n, at("target")) }
        if let n = node["labels"] { spec.labels = reader.stringMap(n, at("labels")) ?? [:] }
        if let n = node["shm_size"] { spec.shmSize = reader.bytes(n, at("shm_size")) }
        if let n = node["extra_hosts"] { spec.extraHosts = extraHosts(n, at("extra_hosts")) }
        if let n = node["network"] { spec.network = reader.string(n, at("network")) }
        if let n = node["no_cache"] { spec.noCache = reader.bool(n, at("no_cache")) ?? false }
        if let n = node["pull"] { spec.pull = reader.bool(n, at("pull")) ?? false }
        if let n = node["tags"] { spec.tags = reader.stringList(n, at("tags")) ?? [] }
        if let n = node["cache_from"] { spec.cacheFrom = reader.stringList(n, at("cache_from")) ?? [] }
        return spec
    }

    /// The context's absolute path; nil (after an error) for one that cannot be used.
    private func contextPath(_ text: String, _ node: MNode, _ path: String) -> String? {
        if text.isEmpty {
            sink.error(node.pos, path, "the build context is empty", hint: "use `.` for the manifest's folder")
            return nil
        }
        if text.contains("://") || text.hasPrefix("git@") {
            sink.error(
                node.pos, path, "a remote build context (`\(text)`) is not supported: reconcile digests the context on this machine to decide whether to build",
                hint: "clone it and give the local folder")
            return nil
        }
        return PathTools.resolve(text, against: context.projectDirectory)
    }

    /// `pull_policy`, including the refresh forms `daily`, `weekly` and `every_<duration>`.
    /// Policies that ask for a pull of an image already on the host get a warning: reconcile
    /// does not pull, so an image must be on the host (or built from `build:`).
    func pullPolicyValue(_ node: MNode, _ path: String) -> String? {
        guard let text = reader.string(node, path) else { return nil }
        var value: String?
        if text == "daily" || text == "weekly" {
            value = text
        } else if text.hasPrefix("every_") {
            if Values.duration(String(text.dropFirst("every_".count))) == nil {
                sink.error(node.pos, path, "invalid pull policy `\(text)`", hint: "write a duration after `every_`, e.g. `every_12h`")
                return nil
            }
            value = text
        } else {
            value = reader.choice(node, path, ["always", "never", "missing", "if_not_present", "build"])
        }
        if let value, value == "always" || value == "daily" || value == "weekly" || value.hasPrefix("every_") {
            sink.warning(
                node.pos, path, "reconcile does not pull images, so `pull_policy: \(value)` refreshes nothing: the image is used as it is on the host",
                hint: "pull it yourself (docker pull) before `reconcile apply`, or use `build`")
        }
        return value
    }
}

/// Fills in each built service's context digest and content tag once the project name is
/// known, and checks the Dockerfile for what the classic builder cannot run.
struct BuildResolver {
    let sink: DiagnosticSink
    let project: String
    let cacheDirectory: String?

    /// `$XDG_CACHE_HOME/reconcile/build`, else `~/.cache/reconcile/build`; nil without either.
    static func cacheDirectory(_ environment: [String: String]) -> String? {
        if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") { return xdg + "/reconcile/build" }
        if let home = environment["HOME"], home.hasPrefix("/") { return home + "/.cache/reconcile/build" }
        return nil
    }

    func resolve(_ parsed: inout ParsedService) {
        guard var spec = parsed.service.build else { return }
        let pos = parsed.buildPos ?? parsed.namePos
        let path = "services.\(parsed.service.name).build"
        let name = parsed.service.name
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: spec.context, isDirectory: &isDirectory), isDirectory.boolValue else {
            sink.error(pos, path, "the build context \(spec.context) is not a folder", hint: "create it or correct `build.context`")
            return
        }
        let dockerfileText: String
        do {
            dockerfileText = try BuildContext.dockerfile(of: &spec)
        } catch {
            sink.error(pos, path, "\(error)", hint: "create it or correct `build.dockerfile`")
            return
        }
        let display = spec.dockerfileInline != nil && spec.dockerfile == BuildContext.inlineDockerfileName
            ? "services.\(name).build.dockerfile_inline" : (spec.context as NSString).appendingPathComponent(spec.dockerfile)
        for problem in DockerfileCheck.buildKitOnly(dockerfileText) {
            sink.error(
                Position(file: display, line: problem.line, column: 1), path,
                "\(problem.feature) \(ServiceParser.buildKitReason)",
                hint: "rewrite the Dockerfile for the classic builder (docs/build.md says what it lacks)")
        }
        if let image = parsed.service.image.isEmpty ? nil : parsed.service.image {
            spec.tags = [image] + spec.tags.filter { $0 != image }
        }
        do {
            let result = try BuildContext.digest(spec, dockerfileText: dockerfileText, project: project, service: name, cacheDirectory: cacheDirectory)
            spec.digest = result.digest
            spec.contentTag = BuildSpec.contentTag(project: project, service: name, digest: result.digest)
            spec.changedSince = result.changedSince
        } catch {
            sink.error(pos, path, "cannot read the build context: \(error)")
            return
        }
        parsed.service.build = spec
        parsed.service.image = spec.contentTag
    }
}
