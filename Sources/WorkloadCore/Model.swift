import ReconcileCore
import Foundation

public enum Activation: String, Codable, Sendable {
    case relu
    case identity
}

/// One fully connected layer: `y = activation(x · weights + bias)` with `weights`
/// stored row-major as `inputs × outputs`, so a batch is one GEMM.
public struct DenseLayer: Sendable {
    public var inputs: Int
    public var outputs: Int
    public var weights: [Float]
    public var bias: [Float]
    public var activation: Activation

    public init(inputs: Int, outputs: Int, weights: [Float], bias: [Float], activation: Activation) {
        self.inputs = inputs
        self.outputs = outputs
        self.weights = weights
        self.bias = bias
        self.activation = activation
    }

    /// Multiply-adds per input row.
    public var macs: Int { inputs * outputs }
}

/// What a model directory's `model.json` says about the model: its identity and
/// version, its shape, and how it was made. The server reports it in `/info`.
public struct ModelMetadata: Codable, Sendable, Equatable {
    public struct Layer: Codable, Sendable, Equatable {
        public var inputs: Int
        public var outputs: Int
        public var activation: Activation
    }

    public struct Dataset: Codable, Sendable, Equatable {
        public var name: String
        public var file: String
        public var sha256: String
        public var samples: Int
        public var train: Int
        public var heldOut: Int
        public var splitSeed: UInt64
    }

    public struct Hyperparameters: Codable, Sendable, Equatable {
        public var hidden: [Int]
        public var epochs: Int
        public var batchSize: Int
        public var learningRate: Double
        public var momentum: Double
        public var weightDecay: Double
        public var initSeed: UInt64
        public var shuffleSeed: UInt64
    }

    public struct Trainer: Codable, Sendable, Equatable {
        /// Bumped whenever the training code changes what it produces.
        public var codeVersion: String
        public var command: String
        public var arithmetic: String
    }

    public var format: String
    public var name: String
    public var version: String
    /// Multiplies every input value before the first layer.
    public var inputScale: Float
    public var classes: Int?
    public var layers: [Layer]
    public var weightsFile: String
    public var weightsSHA256: String
    public var dataset: Dataset?
    public var hyperparameters: Hyperparameters?
    public var trainer: Trainer?
    public var heldOutAccuracy: Double?

    public static let currentFormat = "reconcile-mlp-f32le/1"
}

/// Where a model came from, reported by `/info` and the benchmark.
public enum ModelSource: Sendable, Equatable, CustomStringConvertible {
    /// The model directory shipped with the binary (the image's own copy).
    case bundled(path: String)
    /// A directory given by `--model` or `RECONCILE_WORKLOAD_MODEL`, typically a mounted volume.
    case directory(path: String)
    /// Generated from a seed.
    case synthetic(seed: UInt64)

    public var description: String {
        switch self {
        case .bundled(let path): "bundled:\(path)"
        case .directory(let path): "volume:\(path)"
        case .synthetic(let seed): "synthetic:seed=\(seed)"
        }
    }

    public var kind: String {
        switch self {
        case .bundled: "bundled"
        case .directory: "volume"
        case .synthetic: "synthetic"
        }
    }
}

/// A multilayer perceptron of dense layers with its metadata.
public struct MLPModel: Sendable {
    public var metadata: ModelMetadata
    public var layers: [DenseLayer]
    public var source: ModelSource

    public init(metadata: ModelMetadata, layers: [DenseLayer], source: ModelSource) {
        self.metadata = metadata
        self.layers = layers
        self.source = source
    }

    public var inputWidth: Int { layers.first?.inputs ?? 0 }
    public var outputWidth: Int { layers.last?.outputs ?? 0 }
    /// Floating-point operations of one forward pass of one row (2 per multiply-add).
    public var flopsPerRow: Double { Double(layers.reduce(0) { $0 + $1.macs }) * 2 }
    public var isClassifier: Bool { metadata.classes != nil }

    public static let metadataFile = "model.json"

    /// The weights as stored: for each layer its weights then its bias, float32 little-endian.
    public static func encodeWeights(_ layers: [DenseLayer]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(layers.reduce(0) { $0 + ($1.weights.count + $1.bias.count) * 4 })
        for layer in layers {
            for value in layer.weights + layer.bias {
                let bits = value.bitPattern.littleEndian
                for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: bits >> UInt32(shift))) }
            }
        }
        return bytes
    }

    /// Reads `model.json` and its weights file from `directory`, checking the weights'
    /// size against the layers and their SHA-256 against the metadata.
    public static func load(directory: String, source: ModelSource) throws(WorkloadError) -> MLPModel {
        let metadataPath = (directory as NSString).appendingPathComponent(metadataFile)
        guard let json = FileManager.default.contents(atPath: metadataPath) else {
            throw WorkloadError(.model, "no \(metadataFile) in the model directory \(directory)")
        }
        let metadata: ModelMetadata
        do {
            metadata = try JSONDecoder().decode(ModelMetadata.self, from: json)
        } catch {
            throw WorkloadError(.model, "\(metadataPath) is not valid model metadata", cause: "\(error)")
        }
        guard metadata.format == ModelMetadata.currentFormat else {
            throw WorkloadError(.model, "\(metadataPath) has format \(metadata.format); this build reads \(ModelMetadata.currentFormat)")
        }
        let weightsPath = (directory as NSString).appendingPathComponent(metadata.weightsFile)
        guard let data = FileManager.default.contents(atPath: weightsPath) else {
            throw WorkloadError(.model, "cannot read the weights file \(weightsPath) named by \(metadataPath)")
        }
        let bytes = [UInt8](data)
        let digest = SHA256.hex(bytes)
        guard digest == metadata.weightsSHA256 else {
            throw WorkloadError(.model, "\(weightsPath) has SHA-256 \(digest) but \(metadataPath) says \(metadata.weightsSHA256): the weights do not belong to this metadata")
        }
        let expected = metadata.layers.reduce(0) { $0 + ($1.inputs + 1) * $1.outputs } * 4
        guard bytes.count == expected else {
            throw WorkloadError(.model, "\(weightsPath) has \(bytes.count) bytes; the layers in \(metadataPath) need \(expected)")
        }
        for (a, b) in zip(metadata.layers, metadata.layers.dropFirst()) where a.outputs != b.inputs {
            throw WorkloadError(.model, "\(metadataPath): a layer with \(a.outputs) outputs feeds one with \(b.inputs) inputs")
        }
        var offset = 0
        func floats(_ n: Int) -> [Float] {
            var out = [Float](repeating: 0, count: n)
            for i in 0..<n {
                let j = offset + i * 4
                let bits = UInt32(bytes[j]) | UInt32(bytes[j + 1]) << 8 | UInt32(bytes[j + 2]) << 16 | UInt32(bytes[j + 3]) << 24
                out[i] = Float(bitPattern: bits)
            }
            offset += n * 4
            return out
        }
        let layers = metadata.layers.map { layer in
            let weights = floats(layer.inputs * layer.outputs)
            let bias = floats(layer.outputs)
            return DenseLayer(inputs: layer.inputs, outputs: layer.outputs, weights: weights, bias: bias, activation: layer.activation)
        }
        return MLPModel(metadata: metadata, layers: layers, source: source)
    }

    /// Writes `model.json` (keys sorted, so the same model gives the same bytes) and the weights.
    public func save(directory: String) throws(WorkloadError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let weights = Self.encodeWeights(layers)
            try Data(weights).write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent(metadata.weightsFile)))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            var json = try encoder.encode(metadata)
            json.append(0x0A)
            try json.write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent(Self.metadataFile)))
        } catch {
            throw WorkloadError(.model, "cannot write the model to \(directory)", cause: "\(error)")
        }
    }

    /// A compute-heavy MLP for throughput runs: `depth` layers of `width × width`, ReLU
    /// between them, weights uniform in ±sqrt(6 / (2 width)) from `seed` so activations
    /// stay of order one through any depth.
    public static func synthetic(width: Int, depth: Int, seed: UInt64) throws(WorkloadError) -> MLPModel {
        guard width > 0, depth > 0, width <= 16384, depth <= 256 else {
            throw WorkloadError(.usage, "synthetic model needs 1 ≤ width ≤ 16384 and 1 ≤ depth ≤ 256 (got width \(width), depth \(depth))")
        }
        var random = SplitMix64(seed: seed)
        let limit = (6.0 / Double(2 * width)).squareRoot()
        var layers: [DenseLayer] = []
        for index in 0..<depth {
            let weights = (0..<(width * width)).map { _ in Float(random.symmetric(limit)) }
            let bias = (0..<width).map { _ in Float(random.symmetric(0.01)) }
            layers.append(DenseLayer(inputs: width, outputs: width, weights: weights, bias: bias, activation: index == depth - 1 ? .identity : .relu))
        }
        let metadata = ModelMetadata(
            format: ModelMetadata.currentFormat, name: "synthetic-mlp-w\(width)-d\(depth)", version: "seed-\(seed)",
            inputScale: 1, classes: nil,
            layers: layers.map { .init(inputs: $0.inputs, outputs: $0.outputs, activation: $0.activation) },
            weightsFile: "weights.bin", weightsSHA256: SHA256.hex(encodeWeights(layers)))
        return MLPModel(metadata: metadata, layers: layers, source: .synthetic(seed: seed))
    }

    /// Deterministic inputs for the synthetic model: `rows × inputWidth`, uniform in [-1, 1).
    public static func syntheticInputs(rows: Int, width: Int, seed: UInt64) -> [Float] {
        var random = SplitMix64(seed: seed ^ 0x5EED_1A7A)
        return (0..<(rows * width)).map { _ in Float(random.symmetric(1)) }
    }
}
