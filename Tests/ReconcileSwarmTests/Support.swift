import DockerEngine
import Foundation
import ReconcileCore
import ReconcileManifest
import ReconcileSwarm

/// Loads one Compose text as project `ml` from a throwaway folder.
func load(_ yaml: String, env: [String: String] = [:]) throws -> LoadedManifest {
    let dir = NSTemporaryDirectory() + "reconcile-swarm-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try yaml.write(toFile: dir + "/compose.yaml", atomically: true, encoding: .utf8)
    var loader = ManifestLoader(environment: env, projectName: "ml", workingDirectory: dir)
    loader.target = .swarm
    return try loader.load(paths: ["compose.yaml"])
}

func desired(_ yaml: String) throws -> SwarmDesired { SwarmConversion.convert(try load(yaml).project) }

/// The state a fake swarm is in, as the observer reads it.
func observe(_ swarm: any SwarmEngine, _ desired: SwarmDesired) async throws -> SwarmObservedState {
    try await SwarmObserver(engine: swarm).observe(project: desired.project, networkNames: desired.networks.map(\.name))
}

let apiV1 = """
    services:
      api:
        image: reconcile-test/busybox:1
        command: ["httpd", "-f", "-p", "8080"]
        environment:
          MODEL_VERSION: "1"
          TOKEN: abc
        ports: ["18080:8080"]
        deploy:
          replicas: 2
          update_config: {parallelism: 2, order: start-first, failure_action: rollback}
        x-reconcile:
          secret_env: [TOKEN]
      worker:
        image: reconcile-test/busybox:1
        command: ["sleep", "1000"]
        depends_on: [api]
        stop_grace_period: 1s
    """
