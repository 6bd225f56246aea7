/// An Engine API version such as `1.41`, ordered numerically (1.9 < 1.10).
public struct APIVersion: Comparable, Hashable, Sendable, LosslessStringConvertible {
    public var major: Int
    public var minor: Int

    public init(_ major: Int, _ minor: Int) {
        self.major = major
        self.minor = minor
    }

    /// Parses `"1.41"`; nil for anything else.
    public init?(_ description: String) {
        let parts = description.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let major = Int(parts[0]), let minor = Int(parts[1]),
            major >= 0, minor >= 0
        else { return nil }
        self.init(major, minor)
    }

    public var description: String { "\(major).\(minor)" }

    public static func < (lhs: APIVersion, rhs: APIVersion) -> Bool {
        (lhs.major, lhs.minor) < (rhs.major, rhs.minor)
    }

    /// Docker 20.10: the oldest engine whose API this client speaks.
    public static let minimumSupported = APIVersion(1, 41)
    /// The newest API version this client was written against.
    public static let maximumSupported = APIVersion(1, 47)

    /// The version to speak with an engine that serves `server`: the lower of the
    /// two, or nil when the engine is older than ``minimumSupported``.
    public static func negotiate(server: APIVersion) -> APIVersion? {
        guard server >= minimumSupported else { return nil }
        return min(server, maximumSupported)
    }
}
