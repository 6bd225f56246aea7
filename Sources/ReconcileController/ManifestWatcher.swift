import Foundation

/// Tells when the manifest files change, by comparing a fingerprint of them once a second.
///
/// Polling `stat` is a handful of system calls per second; it sees edits made in place,
/// editors that write a new file and rename it over the old one, files that appear (a new
/// `.env`, a new file in a manifest folder) and files that go, and it needs nothing from
/// the kernel that a container or an unusual filesystem may not offer, which inotify does.
public struct ManifestWatcher: Sendable {
    /// The `-f` paths: files, or folders whose *.yaml / *.yml files are the manifest.
    public let paths: [String]

    public init(paths: [String]) {
        self.paths = paths
    }

    /// Every file the manifest depends on, with its modification time, size and inode; a
    /// missing file is there as missing, so its appearance changes the fingerprint.
    /// `inputs` are the other files the last load read (`LoadedManifest.inputs`: env files).
    public func fingerprint(inputs: [String] = []) -> [String: String] {
        var out: [String: String] = [:]
        for input in inputs { out[input] = Self.stamp(input) }
        let manager = FileManager.default
        var directories: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            if manager.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                directories.append(path)
                let names = (try? manager.contentsOfDirectory(atPath: path)) ?? []
                for name in names where name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
                    let file = (path as NSString).appendingPathComponent(name)
                    out[file] = Self.stamp(file)
                }
            } else {
                directories.append((path as NSString).deletingLastPathComponent)
                out[path] = Self.stamp(path)
            }
        }
        // The loader reads `.env` beside the first manifest; watching it beside every one is harmless.
        for directory in directories {
            let dotEnv = ((directory.isEmpty ? "." : directory) as NSString).appendingPathComponent(".env")
            out[dotEnv] = Self.stamp(dotEnv)
        }
        return out
    }

    static func stamp(_ path: String) -> String {
        var info = stat()
        guard stat(path, &info) == 0 else { return "missing" }
        return "\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec) \(info.st_size) \(info.st_ino)"
    }
}
