/// Errors of the workload: a code to branch on, a message for people, and the
/// underlying cause when there is one.
public struct WorkloadError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        /// The data set file is missing or malformed.
        case dataset
        /// A model directory, its metadata or its weights are missing or inconsistent.
        case model
        /// An input batch has the wrong shape or values.
        case input
        /// The GPU cannot be used: no driver, no device, or a driver call failed.
        case gpuUnavailable
        /// A CUDA driver call failed on a usable GPU.
        case gpu
        /// Arguments that contradict each other or are out of range.
        case usage
    }

    public var code: Code
    public var message: String
    public var cause: String?

    public init(_ code: Code, _ message: String, cause: String? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String {
        if let cause { return "\(message) (\(cause))" }
        return message
    }
}
