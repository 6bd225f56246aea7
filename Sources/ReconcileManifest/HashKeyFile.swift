import Foundation
import ReconcileCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Finds the secret behind the project's config-hash key (`ConfigHashKey`, docs/security.md):
///
/// 1. `x-reconcile.hash_key_file` (relative to the project folder), else
///    `RECONCILE_HASH_KEY_FILE`: a file the owner distributes with the manifests to every host;
/// 2. else `.reconcile/hash-key` in the project folder, when the owner put one there;
/// 3. else a key derived from the project name alone: equal secrets in two projects still hash
///    apart, and no precomputed table fits, but whoever reads the labels can test a guessed
///    secret. It is the default because it needs nothing every host must share: a key file
///    created on the fly on one host (a CI runner) and not on another (the controller's) would
///    make each recreate what the other created.
enum HashKeyFile {
    static let defaultPath = ".reconcile/hash-key"
    static let environmentVariable = "RECONCILE_HASH_KEY_FILE"
    /// Shorter than this is no key.
    static let minimumBytes = 16

    static func key(
        project: String, root: MNode, projectDirectory: String, environment: [String: String], sink: DiagnosticSink, reader: Reader
    ) -> ConfigHashKey {
        if let node = root["x-reconcile"]?["hash_key_file"] {
            guard let text = reader.string(node, "x-reconcile.hash_key_file") else { return fallback(project) }
            return read(PathTools.resolve(text, against: projectDirectory), project: project, pos: node.pos, path: "x-reconcile.hash_key_file", sink: sink)
        }
        if let path = environment[environmentVariable], !path.isEmpty {
            let pos = Position(file: "(environment)", line: 1, column: 1)
            return read(PathTools.resolve(path, against: projectDirectory), project: project, pos: pos, path: environmentVariable, sink: sink)
        }
        let path = projectDirectory + "/" + defaultPath
        // A key that exists but cannot be read is an error, never a reason to hash with
        // another key: that would recreate every replica.
        if access(path, F_OK) == 0 { return read(path, project: project, pos: root.pos, path: "", sink: sink) }
        // No key given: keyed by the project name. Never created on the fly: a key made on one
        // machine and not on another (a CI runner and the controller on the host, each with its
        // own checkout) would hash the same configuration apart, and each would recreate what
        // the other created.
        return fallback(project)
    }

    private static func fallback(_ project: String) -> ConfigHashKey { ConfigHashKey(secret: [], project: project) }

    private static func read(_ path: String, project: String, pos: Position, path keyPath: String, sink: DiagnosticSink) -> ConfigHashKey {
        guard let secret = contents(path) else {
            let why = access(path, F_OK) == 0 ? "run reconcile as a user who may read it" : "create it with `head -c 32 /dev/urandom | base64 > \(path)`"
            sink.error(pos, keyPath, "cannot read the config-hash key file \(path)", hint: why)
            return fallback(project)
        }
        return check(secret, path: path, project: project, pos: pos, keyPath: keyPath, sink: sink)
    }

    private static func check(_ secret: [UInt8], path: String, project: String, pos: Position, keyPath: String, sink: DiagnosticSink) -> ConfigHashKey {
        if secret.count < minimumBytes {
            sink.error(pos, keyPath, "the config-hash key file \(path) holds \(secret.count) bytes, fewer than \(minimumBytes)",
                       hint: "fill it with `head -c 32 /dev/urandom | base64 > \(path)`")
        }
        return ConfigHashKey(secret: secret, project: project)
    }

    private static func contents(_ path: String) -> [UInt8]? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        var bytes = Array(data)
        while let last = bytes.last, last == 0x0A || last == 0x0D || last == 0x20 { bytes.removeLast() }
        return bytes
    }

    struct CreateError: Error, CustomStringConvertible {
        var description: String
    }

    /// Writes a new key where none is, atomically: a temporary file linked into place, so of
    /// several commands started together one key wins and every one of them reads it.
    static func create(_ path: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        if mkdir(folder, 0o700) != 0 && errno != EEXIST { throw CreateError(description: String(cString: strerror(errno))) }
        var generator = SystemRandomNumberGenerator()
        let secret = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }.hexString + "\n"
        let temporary = folder + "/.hash-key-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw CreateError(description: String(cString: strerror(errno))) }
        defer { unlink(temporary) }
        let written = secret.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
        let synced = fsync(fd)
        close(fd)
        guard written == secret.utf8.count, synced == 0 else { throw CreateError(description: "cannot write \(temporary)") }
        if link(temporary, path) != 0 && errno != EEXIST { throw CreateError(description: String(cString: strerror(errno))) }
    }
}
