/// SplitMix64: a tiny, fully specified generator, so that a seed gives the same
/// numbers on every platform and Swift version (the standard library's generators
/// make no such promise).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A double uniform in [0, 1) from the top 53 bits.
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// A double uniform in [-limit, limit).
    public mutating func symmetric(_ limit: Double) -> Double { (unit() * 2 - 1) * limit }

    /// An integer uniform in 0..<bound (bound > 0), by rejection so it has no bias and
    /// no dependence on the standard library's algorithm.
    public mutating func below(_ bound: Int) -> Int {
        let b = UInt64(bound)
        let limit = UInt64.max - UInt64.max % b
        while true {
            let x = next()
            if x < limit { return Int(x % b) }
        }
    }

    /// Fisher–Yates with `below`, so the permutation depends only on the seed.
    public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            array.swapAt(i, below(i + 1))
        }
    }
}
