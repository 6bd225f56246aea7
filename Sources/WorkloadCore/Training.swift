import ReconcileCore
import Foundation

/// Trains the digits classifier. Training is the one place that does its own loops
/// rather than calling BLAS: BLAS kernels differ by CPU (blocking, FMA, vector width)
/// and so do their last bits, while the committed weights must be exactly what this
/// code produces on any machine. Plain double-precision loops in a fixed order, a
/// specified random generator and `portableExp` give that; Swift does not fuse or
/// reorder floating-point operations.
public struct DigitsTrainer: Sendable {
    /// Changes whenever this code changes what it produces; recorded in the metadata.
    public static let codeVersion = "digits-trainer/1"

    public var hyperparameters: ModelMetadata.Hyperparameters
    public var splitSeed: UInt64
    public var heldOut: Int

    public static let standard = DigitsTrainer(
        hyperparameters: .init(
            hidden: [64], epochs: 30, batchSize: 32, learningRate: 0.05, momentum: 0.9,
            weightDecay: 1e-4, initSeed: 20_240_601, shuffleSeed: 7),
        splitSeed: 42, heldOut: 360)

    public init(hyperparameters: ModelMetadata.Hyperparameters, splitSeed: UInt64, heldOut: Int) {
        self.hyperparameters = hyperparameters
        self.splitSeed = splitSeed
        self.heldOut = heldOut
    }

    public static let inputScale: Float = 1.0 / 16.0

    /// Trains on the training split and returns the model with its metadata filled in
    /// (held-out accuracy included).
    public func train(_ data: DigitsDataset, dataFileName: String) -> MLPModel {
        let hp = hyperparameters
        let split = data.split(seed: splitSeed, heldOut: heldOut)
        let widths = [DigitsDataset.features] + hp.hidden + [DigitsDataset.classes]
        let layerCount = widths.count - 1

        var random = SplitMix64(seed: hp.initSeed)
        var weights: [[Double]] = []
        var biases: [[Double]] = []
        for l in 0..<layerCount {
            let limit = (6.0 / Double(widths[l] + widths[l + 1])).squareRoot()
            weights.append((0..<(widths[l] * widths[l + 1])).map { _ in random.symmetric(limit) })
            biases.append([Double](repeating: 0, count: widths[l + 1]))
        }
        var velocityW = weights.map { [Double](repeating: 0, count: $0.count) }
        var velocityB = biases.map { [Double](repeating: 0, count: $0.count) }
        var gradW = velocityW
        var gradB = velocityB
        // activations[l] is the input of layer l; activations[layerCount] the logits.
        var activations = widths.map { [Double](repeating: 0, count: $0) }
        var deltas = widths.map { [Double](repeating: 0, count: $0) }
        let scale = Double(Self.inputScale)

        var shuffle = SplitMix64(seed: hp.shuffleSeed)
        var order = split.train
        for _ in 0..<hp.epochs {
            shuffle.shuffle(&order)
            var start = 0
            while start < order.count {
                let batch = order[start..<min(start + hp.batchSize, order.count)]
                start += hp.batchSize
                for l in 0..<layerCount {
                    for i in gradW[l].indices { gradW[l][i] = 0 }
                    for i in gradB[l].indices { gradB[l][i] = 0 }
                }
                for row in batch {
                    for i in 0..<DigitsDataset.features {
                        activations[0][i] = Double(data.pixels[row * DigitsDataset.features + i]) * scale
                    }
                    for l in 0..<layerCount {
                        Self.dense(weights[l], biases[l], activations[l], &activations[l + 1], inputs: widths[l], outputs: widths[l + 1], relu: l < layerCount - 1)
                    }
                    // Softmax cross-entropy: the gradient at the logits is p - onehot.
                    let logits = activations[layerCount]
                    let top = logits.max() ?? 0
                    var total = 0.0
                    for c in 0..<DigitsDataset.classes {
                        deltas[layerCount][c] = portableExp(logits[c] - top)
                        total = total + deltas[layerCount][c]
                    }
                    for c in 0..<DigitsDataset.classes {
                        deltas[layerCount][c] = deltas[layerCount][c] / total - (c == data.labels[row] ? 1 : 0)
                    }
                    for l in stride(from: layerCount - 1, through: 0, by: -1) {
                        Self.backward(
                            weights[l], &gradW[l], &gradB[l], activations[l], deltas[l + 1], &deltas[l],
                            inputs: widths[l], outputs: widths[l + 1], propagate: l > 0)
                    }
                }
                let n = Double(batch.count)
                for l in 0..<layerCount {
                    for i in weights[l].indices {
                        let g = gradW[l][i] / n + hp.weightDecay * weights[l][i]
                        velocityW[l][i] = hp.momentum * velocityW[l][i] - hp.learningRate * g
                        weights[l][i] = weights[l][i] + velocityW[l][i]
                    }
                    for i in biases[l].indices {
                        velocityB[l][i] = hp.momentum * velocityB[l][i] - hp.learningRate * (gradB[l][i] / n)
                        biases[l][i] = biases[l][i] + velocityB[l][i]
                    }
                }
            }
        }

        let layers = (0..<layerCount).map { l in
            DenseLayer(
                inputs: widths[l], outputs: widths[l + 1], weights: weights[l].map { Float($0) }, bias: biases[l].map { Float($0) },
                activation: l < layerCount - 1 ? .relu : .identity)
        }
        var model = MLPModel(
            metadata: ModelMetadata(
                format: ModelMetadata.currentFormat, name: "digits-mlp", version: "", inputScale: Self.inputScale,
                classes: DigitsDataset.classes,
                layers: layers.map { .init(inputs: $0.inputs, outputs: $0.outputs, activation: $0.activation) },
                weightsFile: "weights.bin", weightsSHA256: SHA256.hex(MLPModel.encodeWeights(layers)),
                dataset: .init(
                    name: "digits (UCI optdigits 8x8, via scikit-learn)", file: dataFileName, sha256: data.sha256,
                    samples: data.count, train: split.train.count, heldOut: split.heldOut.count, splitSeed: splitSeed),
                hyperparameters: hp,
                trainer: .init(
                    codeVersion: Self.codeVersion,
                    command: "reconcile-workload train --data workload/data/digits.csv.gz --output workload/models/digits-mlp",
                    arithmetic: "float64 scalar loops, SplitMix64, portable exp; weights rounded to float32")),
            layers: layers, source: .directory(path: ""))
        let correct = split.heldOut.filter { Self.referencePredict(model, data, row: $0) == data.labels[$0] }.count
        model.metadata.heldOutAccuracy = Double(correct) / Double(split.heldOut.count)
        // The version names the weights, so two different trainings never share one.
        model.metadata.version = "1-" + model.metadata.weightsSHA256.prefix(12)
        return model
    }

    /// The class of one row by a float64 forward pass over the float32 weights, in a
    /// fixed order, so the accuracy in the metadata is reproducible too.
    public static func referencePredict(_ model: MLPModel, _ data: DigitsDataset, row: Int) -> Int {
        var x = (0..<DigitsDataset.features).map { Double(data.pixels[row * DigitsDataset.features + $0]) * Double(model.metadata.inputScale) }
        for (l, layer) in model.layers.enumerated() {
            var y = [Double](repeating: 0, count: layer.outputs)
            dense(layer.weights.map(Double.init), layer.bias.map(Double.init), x, &y, inputs: layer.inputs, outputs: layer.outputs, relu: l < model.layers.count - 1)
            x = y
        }
        return argmax(x)
    }

    static func argmax<C: Collection>(_ values: C) -> Int where C.Element: Comparable, C.Index == Int {
        var best = values.startIndex
        for i in values.indices where values[i] > values[best] { best = i }
        return best - values.startIndex
    }

    private static func dense(_ w: [Double], _ b: [Double], _ x: [Double], _ y: inout [Double], inputs: Int, outputs: Int, relu: Bool) {
        w.withUnsafeBufferPointer { w in
            x.withUnsafeBufferPointer { x in
                y.withUnsafeMutableBufferPointer { y in
                    for j in 0..<outputs { y[j] = b[j] }
                    for i in 0..<inputs {
                        let xi = x[i]
                        if xi == 0 { continue }
                        let row = i * outputs
                        for j in 0..<outputs { y[j] = y[j] + xi * w[row + j] }
                    }
                    if relu { for j in 0..<outputs where y[j] < 0 { y[j] = 0 } }
                }
            }
        }
    }

    private static func backward(
        _ w: [Double], _ gw: inout [Double], _ gb: inout [Double], _ x: [Double], _ delta: [Double], _ deltaIn: inout [Double],
        inputs: Int, outputs: Int, propagate: Bool
    ) {
        w.withUnsafeBufferPointer { w in
            x.withUnsafeBufferPointer { x in
                delta.withUnsafeBufferPointer { d in
                    gw.withUnsafeMutableBufferPointer { gw in
                        for j in 0..<outputs { gb[j] = gb[j] + d[j] }
                        for i in 0..<inputs {
                            let xi = x[i]
                            if xi == 0 { continue }
                            let row = i * outputs
                            for j in 0..<outputs { gw[row + j] = gw[row + j] + xi * d[j] }
                        }
                    }
                    guard propagate else { return }
                    deltaIn.withUnsafeMutableBufferPointer { out in
                        for i in 0..<inputs {
                            // The input came out of a ReLU: no gradient where it was clipped.
                            if x[i] <= 0 { out[i] = 0; continue }
                            var s = 0.0
                            let row = i * outputs
                            for j in 0..<outputs { s = s + w[row + j] * d[j] }
                            out[i] = s
                        }
                    }
                }
            }
        }
    }
}
