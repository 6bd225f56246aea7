import Foundation
import ReconcileCore
import Yams

extension ManifestLoader {
    /// The `x-reconcile.target` the manifests declare (the last file that sets it wins, as
    /// in a merge), read without loading them: commands choose their engine before the
    /// full load. nil when none declares it or a file cannot be read (the full load then
    /// reports why, with its position).
    public static func declaredTarget(paths: [String]) -> DeployTarget? {
        var target: DeployTarget?
        let manager = FileManager.default
        for path in paths {
            var files = [path]
            var isDirectory: ObjCBool = false
            if manager.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                files = ((try? manager.contentsOfDirectory(atPath: path)) ?? [])
                    .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted().map { path + "/" + $0 }
            }
            for file in files {
                guard let text = try? String(contentsOfFile: file, encoding: .utf8), text.contains("target"),
                    let root = (try? Yams.load(yaml: text)) as? [String: Any],
                    let ext = root["x-reconcile"] as? [String: Any], let value = ext["target"] as? String,
                    let declared = DeployTarget(rawValue: value)
                else { continue }
                target = declared
            }
        }
        return target
    }
}
