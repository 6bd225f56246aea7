/// What can go wrong when talking to the Docker engine, in three kinds.
///
/// Decide on ``statusCode`` (or ``isNotFound``, ``isConflict``, ``isNotModified``),
/// never on the text of a message: the engine's wording changes between versions.
public enum DockerError: Error, CustomStringConvertible {
    /// The engine could not be reached or spoken to: no socket, connection
    /// refused, TLS failure, timeout, or an engine too old for this client.
    /// `message` is one sentence a person can act on.
    case transport(message: String, underlying: (any Error)?)

    /// The engine answered with an error status. `message` is the engine's own
    /// `message` field (or a clearer sentence where this client knows better,
    /// such as a missing image).
    case status(code: Int, message: String, method: String, path: String)

    /// The engine answered 2xx but the body did not match the expected shape.
    case decoding(type: String, method: String, path: String, underlying: any Error)

    /// The HTTP status code for `.status` errors, otherwise nil.
    public var statusCode: Int? {
        if case .status(let code, _, _, _) = self { return code }
        return nil
    }

    /// 404: no such container, network, volume or image.
    public var isNotFound: Bool { statusCode == 404 }

    /// 409: a name already in use, a resource still in use, a running container removed without force.
    public var isConflict: Bool { statusCode == 409 }

    /// 304: the container was already started or already stopped.
    public var isNotModified: Bool { statusCode == 304 }

    public var description: String {
        switch self {
        case .transport(let message, _):
            return message
        case .status(let code, let message, let method, let path):
            return "the Docker engine refused \(method) \(path) (HTTP \(code)): \(message)"
        case .decoding(let type, let method, let path, let underlying):
            return "could not read the Docker engine's answer to \(method) \(path) as \(type): \(underlying)"
        }
    }
}

extension Error {
    /// True when this is a ``DockerError`` with status 404.
    public var isDockerNotFound: Bool { (self as? DockerError)?.isNotFound ?? false }
    /// True when this is a ``DockerError`` with status 409.
    public var isDockerConflict: Bool { (self as? DockerError)?.isConflict ?? false }
    /// True when this is a ``DockerError`` with status 403 (what older engines answer for
    /// a network still in use, or an endpoint that exists already).
    public var isDockerForbidden: Bool { (self as? DockerError)?.statusCode == 403 }
}
