import DockerEngine
import Foundation
import Testing

/// Every file in Fuzz/fail-cases/TARGET for the engine's decoders goes through the fuzz
/// target's entry point again (see ReconcileManifestTests' FuzzReplayTests).
@Suite("Fuzz fail cases (engine side)")
struct EngineFuzzReplayTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/fail-cases")

    @Test("every engine JSON, event stream and log stream fail case decodes or fails without a crash", arguments: ["engine-json", "events", "demux"])
    func replay(_ target: String) throws {
        let folder = Self.root.appendingPathComponent(target)
        let names = (try FileManager.default.contentsOfDirectory(atPath: folder.path)).filter { !$0.hasPrefix(".") && $0 != "README.md" }
        #expect(!names.isEmpty, "Fuzz/fail-cases/\(target) has no file")
        for name in names.sorted() {
            let bytes = Array(try Data(contentsOf: folder.appendingPathComponent(name)))
            switch target {
            case "engine-json": EngineFuzzing.json(bytes)
            case "events": EngineFuzzing.events(bytes)
            default: EngineFuzzing.demultiplex(bytes)
            }
        }
    }
}
