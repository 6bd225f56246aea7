import ReconcileCore
import Foundation
import Testing
@testable import WorkloadCore

@Suite("digits model")
struct ModelTests {
    @Test("training reproduces the committed weights and metadata bit for bit")
    func trainingReproducesCommittedWeights() throws {
        let model = DigitsTrainer.standard.train(Fixtures.digits, dataFileName: "digits.csv.gz")
        let committed = try #require(FileManager.default.contents(atPath: Repo.model + "/weights.bin"))
        #expect(SHA256.hex(MLPModel.encodeWeights(model.layers)) == SHA256.hex(committed))
        #expect(model.metadata.weightsSHA256 == Fixtures.model.metadata.weightsSHA256)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("wl-train-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try model.save(directory: directory)
        let written = try #require(FileManager.default.contents(atPath: directory + "/model.json"))
        let committedJSON = try #require(FileManager.default.contents(atPath: Repo.model + "/model.json"))
        #expect(written == committedJSON, "model.json differs from what training writes: retrain with `reconcile-workload train`")
    }

    @Test("the metadata records the data set's hash, the split and the held-out accuracy")
    func metadataDescribesTraining() throws {
        let m = Fixtures.model.metadata
        #expect(m.dataset?.sha256 == Fixtures.digits.sha256)
        #expect(m.dataset?.heldOut == 360)
        #expect(m.dataset?.train == 1437)
        #expect(m.trainer?.codeVersion == DigitsTrainer.codeVersion)
        #expect((m.heldOutAccuracy ?? 0) >= 0.95)
        #expect(m.version.hasSuffix(String(m.weightsSHA256.prefix(12))))
    }

    @Test("OpenBLAS predictions on the held-out split reach at least 95% accuracy")
    func heldOutAccuracy() throws {
        let split = Fixtures.digits.split(seed: 42, heldOut: 360)
        let batch = Fixtures.digits.batch(split.heldOut)
        let logits = try CPUBackend.forward(Fixtures.model, batch.pixels, rows: split.heldOut.count)
        let correct = (0..<split.heldOut.count).filter { r in
            DigitsTrainer.argmax(logits[(r * 10)..<((r + 1) * 10)]) == batch.labels[r]
        }.count
        let accuracy = Double(correct) / 360
        #expect(accuracy >= 0.95)
        #expect(abs(accuracy - (Fixtures.model.metadata.heldOutAccuracy ?? 0)) < 0.01, "BLAS and the float64 reference should agree")
    }

    @Test("train and held-out rows never overlap and cover the data set")
    func splitIsAPartition() {
        let split = Fixtures.digits.split(seed: 42, heldOut: 360)
        #expect(Set(split.train).isDisjoint(with: split.heldOut))
        #expect(Set(split.train + split.heldOut).count == Fixtures.digits.count)
    }

    @Test("a model directory whose weights do not match its metadata is refused, naming both")
    func tamperedWeightsRefused() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("wl-tamper-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.copyItem(atPath: Repo.model, toPath: directory)
        var bytes = try #require(FileManager.default.contents(atPath: directory + "/weights.bin"))
        bytes[100] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: directory + "/weights.bin"))
        #expect {
            _ = try MLPModel.load(directory: directory, source: .directory(path: directory))
        } throws: { error in
            let e = error as? WorkloadError
            return e?.code == .model && (e?.message.contains("SHA-256") ?? false)
        }
    }

    @Test("a model from a directory (a mounted volume) is reported as such, with its version")
    func modelFromDirectory() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("wl-volume-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.copyItem(atPath: Repo.model, toPath: directory)
        let model = try ModelLocation.load(path: nil, environment: [ModelLocation.environmentVariable: directory])
        #expect(model.source == .directory(path: directory))
        #expect(model.source.kind == "volume")
        #expect(model.metadata.version == Fixtures.model.metadata.version)
    }

    @Test("the synthetic model is the same for the same seed and different for another")
    func syntheticIsDeterministic() throws {
        let a = try MLPModel.synthetic(width: 32, depth: 3, seed: 9)
        let b = try MLPModel.synthetic(width: 32, depth: 3, seed: 9)
        let c = try MLPModel.synthetic(width: 32, depth: 3, seed: 10)
        #expect(a.layers.map(\.weights) == b.layers.map(\.weights))
        #expect(a.layers.map(\.weights) != c.layers.map(\.weights))
        #expect(a.flopsPerRow == 2 * 3 * 32 * 32)
    }

    @Test("SHA-256 matches the FIPS 180-4 test vectors")
    func sha256Vectors() {
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex([UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test("the portable exp agrees with libm to 1e-15 relative")
    func portableExpIsAccurate() {
        for x in stride(from: -30.0, through: 30.0, by: 0.37) {
            #expect(abs(portableExp(x) - Foundation.exp(x)) <= 1e-15 * Foundation.exp(x))
        }
    }
}
