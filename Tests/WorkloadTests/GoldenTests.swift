import ReconcileValidation
import Testing
import WorkloadCore

@Suite("golden requests")
struct GoldenTests {
    @Test("endpoint validation's golden requests are held-out rows of the bundled data set with their true labels")
    func goldenRowsAreHeldOut() throws {
        let split = Fixtures.digits.split(seed: 42, heldOut: 360)
        let count = GoldenDigits.rows.count
        #expect(count >= 100)
        let batch = Fixtures.digits.batch(Array(split.heldOut.prefix(count)))
        for row in 0..<count {
            let pixels = GoldenDigits.pixels(row)
            #expect(pixels.map(Float.init) == Array(batch.pixels[(row * 64)..<((row + 1) * 64)]), "row \(row)")
            #expect(GoldenDigits.label(row) == batch.labels[row], "row \(row)")
        }
        // None of them was trained on.
        #expect(Set(split.heldOut.prefix(count)).isDisjoint(with: split.train))
    }

    @Test("the bundled model answers the golden requests as the validation threshold of the examples expects")
    func bundledModelPassesGolden() throws {
        let backend = CPUBackend(model: Fixtures.model)
        var correct = 0
        for row in 0..<GoldenDigits.rows.count {
            let outputs = try backend.forward(GoldenDigits.pixels(row).map(Float.init), rows: 1)
            let predicted = outputs.indices.max { outputs[$0] < outputs[$1] } ?? -1
            if predicted == GoldenDigits.label(row) { correct += 1 }
        }
        #expect(Double(correct) / Double(GoldenDigits.rows.count) >= 0.95)
    }
}
