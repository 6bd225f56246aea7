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
