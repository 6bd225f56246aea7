import Crypto
import Foundation

/// The docker CLI's contexts (`docker context create`, `docker context use`), read as the CLI
/// keeps them, so a user who switches engines with contexts reaches the same engine here:
/// `<config>/contexts/meta/<sha256 of the name>/meta.json` names the engine's host, and
/// `<config>/contexts/tls/<same>/docker/{ca,cert,key}.pem` hold its TLS material; the current
/// context is `currentContext` in `<config>/config.json`. `<config>` is `DOCKER_CONFIG`, else
/// `~/.docker`.
public struct DockerContextStore: Sendable {
    public var directory: String

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        directory = environment["DOCKER_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ((environment["HOME"] ?? NSHomeDirectory()) + "/.docker")
    }

    public init(directory: String) { self.directory = directory }

    /// `currentContext` of config.json, unless absent or `default`.
    public func currentContext() -> String? {
        guard let data = FileManager.default.contents(atPath: directory + "/config.json"),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let name = object["currentContext"] as? String, !name.isEmpty, name != "default"
        else { return nil }
        return name
    }

    /// What a context says about its Docker endpoint.
    public struct Endpoint: Sendable, Equatable {
        public var host: String
        public var tls: DockerTLSFiles?
    }

    struct Meta: Decodable {
        struct Endpoint: Decodable {
            var Host: String?
            var SkipTLSVerify: Bool?
        }
        var Name: String
        var Endpoints: [String: Endpoint]
    }

    /// The endpoint of context `name`, or a sentence saying why there is none.
    public func endpoint(of name: String) throws -> Endpoint {
        let digest = SHA256.hash(data: Data(name.utf8)).map { String(format: "%02x", $0) }.joined()
        let metaPath = "\(directory)/contexts/meta/\(digest)/meta.json"
        guard let data = FileManager.default.contents(atPath: metaPath) else {
            throw DockerConfigurationError(
                "there is no docker context named '\(name)' in \(directory) (looked for \(metaPath)); `docker context ls` lists them")
        }
        let meta: Meta
        do {
            meta = try JSONDecoder().decode(Meta.self, from: data)
        } catch {
            throw DockerConfigurationError("the docker context '\(name)' cannot be read (\(metaPath)): \(error)")
        }
        guard let docker = meta.Endpoints["docker"], let host = docker.Host, !host.isEmpty else {
            throw DockerConfigurationError("the docker context '\(name)' has no Docker endpoint (\(metaPath))")
        }
        let tlsDirectory = "\(directory)/contexts/tls/\(digest)/docker"
        var tls: DockerTLSFiles?
        if FileManager.default.fileExists(atPath: tlsDirectory + "/cert.pem") {
            tls = DockerTLSFiles(directory: tlsDirectory, verify: !(docker.SkipTLSVerify ?? false))
        }
        return Endpoint(host: host, tls: tls)
    }
}
