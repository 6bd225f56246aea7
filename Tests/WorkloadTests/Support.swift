import Foundation
import WorkloadCore

/// Paths in the checkout, found from this file so tests run from any directory.
enum Repo {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let data = root.appendingPathComponent("workload/data/digits.csv.gz").path
    static let model = root.appendingPathComponent("workload/models/digits-mlp").path

    /// A built product (`reconcile-workload`, `reconcile`) beside the test bundle.
    static func product(_ name: String) -> String {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent(name).path), url.path != "/" {
            url = url.deletingLastPathComponent()
        }
        return url.appendingPathComponent(name).path
    }
}

enum Fixtures {
    static let digits: DigitsDataset = {
        do { return try DigitsDataset.load(path: Repo.data) } catch { fatalError("the committed data set must load: \(error)") }
    }()

    static let model: MLPModel = {
        do { return try MLPModel.load(directory: Repo.model, source: .bundled(path: Repo.model)) } catch {
            fatalError("the committed model must load: \(error)")
        }
    }()
}

struct Output {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a program to the end with extra environment, collecting its output.
func runProcess(_ path: String, _ arguments: [String], environment extra: [String: String] = [:], directory: String? = nil) throws -> Output {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(extra) { _, new in new }
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // Read both pipes concurrently so a chatty child never blocks on a full pipe.
    let group = DispatchGroup()
    nonisolated(unsafe) var errData = Data()
    group.enter()
    DispatchQueue.global().async {
        errData = err.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return Output(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
}
