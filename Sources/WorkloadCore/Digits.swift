import ReconcileCore
import CZlib
import Foundation

/// The 8×8 handwritten digits data set (UCI, as shipped by scikit-learn in
/// `sklearn/datasets/data/digits.csv.gz`): 1,797 rows of 64 pixel intensities 0…16
/// followed by the label 0…9.
public struct DigitsDataset: Sendable {
    public static let features = 64
    public static let classes = 10

    /// Pixels, row-major, `count × 64`, as read (0…16).
    public var pixels: [Float]
    public var labels: [Int]
    /// SHA-256 of the compressed file as read, recorded in model metadata.
    public var sha256: String

    public var count: Int { labels.count }

    public init(pixels: [Float], labels: [Int], sha256: String) {
        self.pixels = pixels
        self.labels = labels
        self.sha256 = sha256
    }

    public static func load(path: String) throws(WorkloadError) -> DigitsDataset {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw WorkloadError(.dataset, "cannot read the digits data set at \(path)")
        }
        let text = try gunzip(Array(data), what: path)
        var pixels: [Float] = []
        var labels: [Int] = []
        pixels.reserveCapacity(1797 * features)
        for (number, line) in String(decoding: text, as: UTF8.self).split(separator: "\n").enumerated() {
            let fields = line.split(separator: ",")
            guard fields.count == features + 1 else {
                throw WorkloadError(.dataset, "\(path) line \(number + 1): \(fields.count) fields, expected \(features + 1)")
            }
            for field in fields.prefix(features) {
                guard let value = Float(field) else {
                    throw WorkloadError(.dataset, "\(path) line \(number + 1): \"\(field)\" is not a number")
                }
                pixels.append(value)
            }
            guard let label = Int(fields[features]), (0..<classes).contains(label) else {
                throw WorkloadError(.dataset, "\(path) line \(number + 1): bad label \"\(fields[features])\"")
            }
            labels.append(label)
        }
        return DigitsDataset(pixels: pixels, labels: labels, sha256: SHA256.hex(data))
    }

    /// The fixed train / held-out split: a SplitMix64 permutation of the rows from
    /// `seed`; the first `heldOut` rows of it are held out.
    public func split(seed: UInt64, heldOut: Int) -> (train: [Int], heldOut: [Int]) {
        var order = Array(0..<count)
        var random = SplitMix64(seed: seed)
        random.shuffle(&order)
        return (Array(order[heldOut...]), Array(order[..<heldOut]))
    }

    /// The rows `indices` as one batch (pixels row-major) with their labels.
    public func batch(_ indices: [Int]) -> (pixels: [Float], labels: [Int]) {
        var out: [Float] = []
        out.reserveCapacity(indices.count * Self.features)
        for i in indices { out.append(contentsOf: pixels[(i * Self.features)..<((i + 1) * Self.features)]) }
        return (out, indices.map { labels[$0] })
    }
}

/// Inflates a gzip stream with zlib.
func gunzip(_ input: [UInt8], what: String) throws(WorkloadError) -> [UInt8] {
    var stream = z_stream()
    // 16 + MAX_WBITS asks zlib to expect a gzip header.
    guard inflateInit2_(&stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
        throw WorkloadError(.dataset, "zlib could not start inflating \(what)")
    }
    defer { inflateEnd(&stream) }
    var output: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    var input = input
    var status: Int32 = Z_OK
    input.withUnsafeMutableBufferPointer { source in
        stream.next_in = source.baseAddress
        stream.avail_in = uInt(source.count)
        repeat {
            chunk.withUnsafeMutableBufferPointer { buffer in
                stream.next_out = buffer.baseAddress
                stream.avail_out = uInt(buffer.count)
                status = inflate(&stream, Z_NO_FLUSH)
                output.append(contentsOf: buffer[0..<(buffer.count - Int(stream.avail_out))])
            }
        } while status == Z_OK
    }
    guard status == Z_STREAM_END else {
        throw WorkloadError(.dataset, "\(what) is not a valid gzip file (zlib status \(status))")
    }
    return output
}
