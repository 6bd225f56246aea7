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

/// exp(x) from +, *, / and exact scaling only. Training uses it instead of libm's
/// `exp`, whose last bit may differ between libm versions and between its FMA and
/// non-FMA code paths: the committed weights must be reproducible bit for bit.
public func portableExp(_ x: Double) -> Double {
    if x > 709 { return .infinity }
    if x < -745 { return 0 }
    // x = k ln2 + r with |r| <= ln2 / 2; ln2 split in two so k * ln2Hi is exact.
    let ln2Hi = 6.93147180369123816490e-01
    let ln2Lo = 1.90821492927058770002e-10
    let k = (x * 1.44269504088896338700).rounded(.toNearestOrEven)
    let r = (x - k * ln2Hi) - k * ln2Lo
    // Taylor series to r^13: the remainder is below 1e-17 relative for |r| <= 0.35.
    var term = 1.0
    var sum = 1.0
    for n in 1...13 {
        term = term * r / Double(n)
        sum = sum + term
    }
    return Double(sign: .plus, exponent: Int(k), significand: sum)
}
