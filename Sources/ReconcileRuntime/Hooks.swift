import DockerEngine
import Foundation
import ReconcileCore

extension Executor {
    /// Runs `post_start` or `pre_stop` hooks in a container, in order, as `docker compose`
    /// does: through the exec API, each to its end; a hook that exits non-zero fails the step
    /// with its exit code and the last lines it printed.
    func runHooks(_ hooks: [LifecycleHook], in container: String, kind: String) async throws {
        for hook in hooks {
            let env = hook.environment.map { environment in environment.keys.sorted().map { "\($0)=\(environment[$0] ?? "")" } }
            let exec = try await client.createExec(
                container,
                ExecCreateRequest(cmd: hook.command, user: hook.user, privileged: hook.privileged, workingDir: hook.workingDir, env: env))
            let output = try await client.startExec(exec)
            // The attached stream ends when the process does; the exit code follows at once.
            var state = try await client.inspectExec(exec)
            let deadline = ContinuousClock.now + .seconds(10)
            while state.running && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
                state = try await client.inspectExec(exec)
            }
            guard let code = state.exitCode, code == 0 else {
                let text = SecretRedactor(project: project).redact(
                    LogDemultiplexer.demultiplex(output).map { String(decoding: $0.bytes, as: UTF8.self) }.joined())
                let tail = text.split(separator: "\n").suffix(5).joined(separator: "\n")
                throw ExecutionError(
                    "\(kind) hook `\(hook.command.joined(separator: " "))` in \(container) "
                        + (state.exitCode.map { "exited with code \($0)" } ?? "did not finish")
                        + (tail.isEmpty ? "" : ":\n\(tail)"))
            }
        }
    }

    /// The `pre_stop` hooks of the service a step's container belongs to, as the manifest
    /// declares them now (as `docker compose` takes them from the project it runs).
    func preStopHooks(_ service: String?) -> [LifecycleHook] {
        service.flatMap { project.service(named: $0)?.options?.preStop } ?? []
    }

    /// Runs the `pre_stop` hooks the manifest gives `service` in a container about to be
    /// stopped by something other than a plan step (`destroy`).
    public func runPreStop(ofService service: String?, in container: String) async throws {
        try await runPreStop(preStopHooks(service), in: container)
    }

    /// Runs `pre_stop` hooks in a container that is running; one already stopped or gone has
    /// nothing to run them in.
    func runPreStop(_ hooks: [LifecycleHook], in container: String) async throws {
        guard !hooks.isEmpty else { return }
        do {
            guard try await client.inspectContainer(container).state?.running == true else { return }
        } catch where error.isDockerNotFound {
            return
        }
        try await runHooks(hooks, in: container, kind: "pre_stop")
    }
}
