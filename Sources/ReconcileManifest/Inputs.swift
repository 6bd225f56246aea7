import Foundation
import ReconcileCore

/// The files besides the manifests whose contents a loaded project depends on.
///
/// `env_file` files are read by the service parser into each service's environment, so
/// their contents are not in the merged tree: they are added to the manifest digest here,
/// and named for whoever watches the manifest (the controller), or an edit of one would go
/// unnoticed. `.env` beside the first manifest is named too; what it changes reaches the
/// tree through interpolation.
enum ManifestInputs {
    /// Absolute paths of every `env_file` the services of `root` name, in manifest order.
    static func envFiles(of root: MNode, projectDirectory: String) -> [String] {
        var out: [String] = []
        for service in root["services"]?.entries ?? [] {
            guard let node = service.value["env_file"] else { continue }
            for item in node.items ?? [node] {
                guard let path = item.scalarText ?? item["path"]?.scalarText else { continue }
                let full = PathTools.resolve(path, against: projectDirectory)
                if !out.contains(full) { out.append(full) }
            }
        }
        return out
    }

    /// The canonical tree's digest, extended by each env file's path and contents when there
    /// are any: a manifest without env files keeps the digest it always had.
    static func digest(canonical: String, envFiles: [String]) -> String {
        guard !envFiles.isEmpty else { return SHA256.hex(canonical) }
        var text = canonical
        for file in envFiles {
            let contents = BoundedFile.contents(atPath: file).map { SHA256.hex(Array($0)) } ?? "missing"
            text += "\nenv_file \(file) \(contents)"
        }
        return SHA256.hex(text)
    }
}
