import Foundation

/// Where to get the model from: `--model` or `RECONCILE_WORKLOAD_MODEL`, else the copy
/// bundled with the binary.
public enum ModelLocation {
    public static let environmentVariable = "RECONCILE_WORKLOAD_MODEL"
    public static let dataEnvironmentVariable = "RECONCILE_WORKLOAD_DATA"

    /// This process's executable. argv[0] is only a name when the binary was found
    /// through PATH (as in the image), so ask the kernel first.
    public static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments.first ?? ""
    }

    /// Installed layout: `<prefix>/bin/reconcile-workload` next to
    /// `<prefix>/share/reconcile/models/digits-mlp`; in a checkout, `workload/models/digits-mlp`.
    public static func bundledCandidates(executable: String = executablePath) -> [String] {
        let bin = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
        return [
            bin.deletingLastPathComponent().appendingPathComponent("share/reconcile/models/digits-mlp").path,
            FileManager.default.currentDirectoryPath + "/workload/models/digits-mlp",
        ]
    }

    public static func bundledDataCandidates(executable: String = executablePath) -> [String] {
        let bin = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
        return [
            bin.deletingLastPathComponent().appendingPathComponent("share/reconcile/data/digits.csv.gz").path,
            FileManager.default.currentDirectoryPath + "/workload/data/digits.csv.gz",
        ]
    }

    /// Loads the model named by `path` (a model directory), or by the environment, or the bundled one.
    public static func load(path: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws(WorkloadError) -> MLPModel {
        if let path = path ?? environment[environmentVariable], !path.isEmpty {
            return try MLPModel.load(directory: path, source: .directory(path: path))
        }
        for candidate in bundledCandidates() where FileManager.default.fileExists(atPath: candidate + "/" + MLPModel.metadataFile) {
            return try MLPModel.load(directory: candidate, source: .bundled(path: candidate))
        }
        throw WorkloadError(.model, "no model: pass --model DIR or set \(environmentVariable); looked for the bundled one in \(bundledCandidates().joined(separator: ", "))")
    }

    /// The digits data set: `path`, or `RECONCILE_WORKLOAD_DATA`, or the bundled copy.
    public static func dataPath(_ path: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws(WorkloadError) -> String {
        if let path = path ?? environment[dataEnvironmentVariable], !path.isEmpty { return path }
        for candidate in bundledDataCandidates() where FileManager.default.fileExists(atPath: candidate) { return candidate }
        throw WorkloadError(.dataset, "no digits data set: pass --data FILE or set \(dataEnvironmentVariable); looked in \(bundledDataCandidates().joined(separator: ", "))")
    }
}
