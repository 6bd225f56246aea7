import Foundation
import ReconcileManifest
import Testing

/// Every file in Fuzz/fail-cases/TARGET (scripts/fuzz writes each finding there) goes through
/// the fuzz target's entry point again: a fixed finding stays fixed.
enum FailCases {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/fail-cases")

    static func files(_ target: String) -> [URL] {
        let folder = root.appendingPathComponent(target)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { !$0.hasPrefix(".") && $0 != "README.md" }.sorted().map { folder.appendingPathComponent($0) }
    }
}

@Suite("Fuzz fail cases (manifest side)")
struct FuzzReplayTests {
    @Test("every manifest, .env and interpolation fail case loads without a crash, in under 5 s each", arguments: ["manifest", "dotenv", "interpolation"])
    func replay(_ target: String) throws {
        let files = FailCases.files(target)
        #expect(!files.isEmpty, "Fuzz/fail-cases/\(target) has no file")
        let folder = NSTemporaryDirectory() + "reconcile-replay-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for file in files {
            let bytes = Array(try Data(contentsOf: file))
            let started = ContinuousClock.now
            switch target {
            case "manifest": ManifestFuzzing.manifest(bytes, workingDirectory: folder)
            case "dotenv": ManifestFuzzing.dotEnv(bytes)
            default: ManifestFuzzing.interpolation(bytes)
            }
            #expect(ContinuousClock.now - started < .seconds(5), "\(file.lastPathComponent)")
        }
    }
}
