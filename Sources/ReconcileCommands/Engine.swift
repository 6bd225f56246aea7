import ArgumentParser
import DockerEngine
import Foundation
import ReconcileCore
import ReconcileRuntime

struct EngineOptions: ParsableArguments {
    @Option(name: [.customShort("H"), .long], help: "Docker engine: unix:///path, tcp://host:port or ssh://user@host (default: DOCKER_HOST, else the docker context in use, else /var/run/docker.sock).")
    var host: String?

    @Option(help: "Docker context to use, as `docker context ls` lists them (default: DOCKER_CONTEXT, else `docker context use`'s).")
    var context: String?

    /// A client for the chosen engine; the caller shuts it down.
    func client() throws -> DockerClient {
        try DockerClient.fromEnvironment(host: host, context: context)
    }
}

/// Runs `body` with a client, and shuts the client down whatever happens. The client
/// negotiates the API version while `body` does its first work: commands load their
/// manifests inside `body`, so that the engine's first answer does not wait for the YAML.
func withEngine<T>(_ options: EngineOptions, _ body: (DockerClient) async throws -> T) async throws -> T {
    let client = try options.client()
    client.negotiateInBackground()
    do {
        let value = try await body(client)
        // For benchmarks that bound the number of engine calls a command makes.
        if ProcessInfo.processInfo.environment["RECONCILE_REPORT_REQUESTS"] != nil {
            Console.err("engine requests: \(client.requestCount)")
        }
        try? await client.shutdown()
        return value
    } catch {
        try? await client.shutdown()
        throw error
    }
}

/// SIGINT and SIGTERM raise the stop flag: no new step starts, running ones finish.
/// Unchecked: the dispatch sources are set once in init and only cancelled in deinit.
final class SignalTrap: @unchecked Sendable {
    let stop = StopSignal()
    private let sources: [any DispatchSourceSignal]

    init() {
        var sources: [any DispatchSourceSignal] = []
        let stop = self.stop
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                if !stop.isRaised {
                    Console.err("\nstopping: no new step will start; waiting for the running ones to finish")
                }
                stop.raise()
            }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }

    deinit {
        for source in sources { source.cancel() }
    }
}
