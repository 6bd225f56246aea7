import Foundation
import ReconcileCore
import Testing

@testable import ReconcileManifest

/// A throwaway project folder named `stack` with the given files.
struct Fixture {
    let root: String
    var dir: String { root + "/stack" }

    init(_ files: [String: String]) throws {
        root = NSTemporaryDirectory() + "reconcile-manifest-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root + "/stack", withIntermediateDirectories: true)
        for (name, text) in files { try write(name, text) }
    }

    func write(_ name: String, _ text: String) throws {
        let path = dir + "/" + name
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    func loader(env: [String: String] = [:], profiles: [String] = [], name: String? = nil) -> ManifestLoader {
        ManifestLoader(environment: env, profiles: profiles, projectName: name, workingDirectory: dir)
    }

    func load(_ paths: [String] = ["docker-compose.yml"], env: [String: String] = [:], profiles: [String] = []) throws -> LoadedManifest {
        try loader(env: env, profiles: profiles).load(paths: paths)
    }

    func check(_ paths: [String] = ["docker-compose.yml"], env: [String: String] = [:], profiles: [String] = []) -> (LoadedManifest?, [Diagnostic]) {
        loader(env: env, profiles: profiles).check(paths: paths)
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }
}

/// Loads one manifest text as `docker-compose.yml`.
func loadProject(_ yaml: String, env: [String: String] = [:], profiles: [String] = []) throws -> Project {
    let fixture = try Fixture(["docker-compose.yml": yaml])
    defer { fixture.remove() }
    return try fixture.load(env: env, profiles: profiles).project
}

/// The one service of a manifest that declares it under `services.s`.
func loadService(_ body: String, env: [String: String] = [:], top: String = "") throws -> Service {
    let yaml = "services:\n  s:\n    image: busybox\n" + body.split(separator: "\n", omittingEmptySubsequences: false)
        .map { $0.isEmpty ? "" : "    " + $0 }.joined(separator: "\n") + "\n" + top
    let project = try loadProject(yaml, env: env)
    return try #require(project.service(named: "s"))
}

/// All diagnostics for one manifest text.
func diagnostics(_ yaml: String, env: [String: String] = [:], files: [String: String] = [:]) throws -> [Diagnostic] {
    var all = files
    all["docker-compose.yml"] = yaml
    let fixture = try Fixture(all)
    defer { fixture.remove() }
    return fixture.check(env: env).1
}

func errors(_ yaml: String, env: [String: String] = [:]) throws -> [Diagnostic] {
    try diagnostics(yaml, env: env).filter { $0.severity == .error }
}

func warnings(_ yaml: String, env: [String: String] = [:]) throws -> [Diagnostic] {
    try diagnostics(yaml, env: env).filter { $0.severity == .warning }
}

/// The diagnostics of a service body (see `loadService`).
func serviceErrors(_ body: String, top: String = "") throws -> [Diagnostic] {
    let yaml = "services:\n  s:\n    image: busybox\n" + body.split(separator: "\n", omittingEmptySubsequences: false)
        .map { $0.isEmpty ? "" : "    " + $0 }.joined(separator: "\n") + "\n" + top
    return try errors(yaml)
}
