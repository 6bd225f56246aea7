import ArgumentParser
import DockerEngine
import Foundation
import Synchronization
import Logging
import ReconcileController
import ReconcileCore
import ReconcileManifest
import ReconcileRuntime
import ServiceLifecycle

extension LogFormat: ExpressibleByArgument {}

/// `reconcile controller`: a daemon that keeps the host converged to the manifests.
struct ControllerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "controller",
        abstract: "Keep the host converged: apply the manifests, then repair drift and apply edits as they happen.",
        discussion: """
            Runs the same observe, plan and execute steps as apply, in a loop that Docker events, edits of the \
            manifest files and a periodic resync set off. Holds the project's lock while it runs (apply is refused \
            meanwhile). SIGTERM or SIGINT lets the running pass finish and exits 0; containers keep running. \
            Serves /healthz, /readyz, /metrics, /status and the dashboard (pages, /api, live updates) on --listen, \
            loopback unless told otherwise; another address needs --token-file. See docs/controller.md and docs/dashboard.md.
            """
    )

    @OptionGroup var manifest: ManifestOptions
    @OptionGroup var engine: EngineOptions
    @OptionGroup var gpuOptions: GPUOptions

    @Option(help: "Where /healthz, /readyz, /metrics, /status and the dashboard listen: HOST:PORT. Only loopback unless given; another address needs --token-file.")
    var listen: String = "127.0.0.1:9464"

    @Option(
        name: .customLong("token-file"),
        help: "A file holding the token that every request but /healthz and /readyz must bear (Authorization: Bearer, or as the password); it also enables the dashboard's actions (pause, roll back).")
    var tokenFile: String?

    @Option(help: "Time between heartbeats on an idle live-update stream of the dashboard, e.g. 15s.")
    var heartbeat: String = "15s"

    @Option(help: "Time between full passes when nothing else asks for one, e.g. 30s, 5m.")
    var resync: String = "30s"

    @Flag(help: "Remove containers of services, and networks, no longer in the manifest.")
    var prune = false

    @Option(name: .customLong("log-format"), help: "Log lines as text or json (one object per line), on standard error.")
    var logFormat: LogFormat = .text

    @Option(help: "Steps in flight at once (default: 4 per core).")
    var parallelism: Int = ExecutionOptions.defaultParallelism

    @Option(help: "Longest wait for a health gate or a dependency, e.g. 90s, 5m.")
    var timeout: String = "120s"

    @Option(
        name: .customLong("backoff-reset"),
        help: "A crashed replica that had run this long restarts at once and its backoff starts over, e.g. 60s.")
    var backoffReset: String = "60s"

    func run() async throws {
        guard let resyncSeconds = parseSeconds(resync), resyncSeconds > 0 else {
            throw ValidationError("--resync \(resync): expected a duration such as 30s or 5m")
        }
        guard let timeoutSeconds = parseSeconds(timeout) else {
            throw ValidationError("--timeout \(timeout): expected a duration such as 30s, 2m or 1m30s")
        }
        guard let resetSeconds = parseSeconds(backoffReset) else {
            throw ValidationError("--backoff-reset \(backoffReset): expected a duration such as 60s or 10m")
        }
        guard let address = ListenAddress(parsing: listen) else {
            throw ValidationError("--listen \(listen): expected HOST:PORT, e.g. 127.0.0.1:9464")
        }
        guard let heartbeatSeconds = parseSeconds(heartbeat), heartbeatSeconds > 0 else {
            throw ValidationError("--heartbeat \(heartbeat): expected a duration such as 15s")
        }
        let token = try tokenFile.map(Self.readToken)
        if !address.isLoopback && token == nil {
            throw ValidationError(
                "--listen \(listen) is reachable from other machines: pass --token-file FILE so that only holders of the token can read the controller's pages")
        }
        let format = logFormat
        let journal = ControllerJournal()
        LoggingSystem.bootstrap { label in
            MultiplexLogHandler([LineLogHandler(label: label, format: format), TimelineLogHandler(journal: journal)])
        }
        let logger = Logger(label: "reconcile.controller")

        let loader = manifest.loader()
        let paths: [String]
        do { paths = try manifest.resolvedPaths() } catch {
            try report(error, format: .text)
            throw ExitCode.failure
        }
        let initial: LoadedManifest
        let gpus = gpuOptions.gpus
        let load: @Sendable () throws -> LoadedManifest = {
            var loaded = try loader.load(paths: paths)
            var options = GPUOptions()
            options.gpus = gpus
            loaded.project = options.apply(to: loaded.project)
            return loaded
        }
        do {
            initial = try load()
        } catch {
            try report(error, format: .text)
            throw ExitCode.failure
        }
        for warning in initial.warnings { logger.warning("manifest warning", metadata: ["diagnostic": "\(warning)"]) }

        let client = try engine.client()
        let lock: EngineLock
        do {
            lock = try await Self.acquireLock(client: client, project: initial.project.name, logger: logger)
        } catch {
            try? await client.shutdown()
            Console.err("error: \(error)")
            throw ExitCode.failure
        }
        // The lock in force: taken again, with a new token, if someone removes it under us.
        let held = Mutex(lock)
        let project = initial.project.name
        let controller = Controller(
            client: client, initial: initial,
            configuration: ControllerConfiguration(
                paths: paths, prune: prune, resync: resyncSeconds, parallelism: parallelism, gateTimeout: timeoutSeconds,
                backoffReset: resetSeconds,
                relock: {
                    guard
                        let again = await LockRetake.run(logger: logger, acquire: {
                            try await EngineLock.acquire(client: client, project: project, purpose: "controller")
                        })
                    else { return false }
                    held.withLock { $0 = again }
                    return true
                }),
            load: load, logger: logger, journal: journal)
        let app = try buildControllerApplication(
            controller: controller, address: address, status: Self.renderStatus, logger: logger, dashboard: .cli,
            access: DashboardAccess(token: token, heartbeat: heartbeatSeconds))
        logger.info("listening", metadata: ["address": "\(address)"])
        // Shut down in reverse order: the controller drains first, the endpoints answer until it has.
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    .init(service: app, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
                    .init(
                        service: controller, successTerminationBehavior: .gracefullyShutdownGroup,
                        failureTerminationBehavior: .gracefullyShutdownGroup),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        var failure: (any Error)?
        do { try await group.run() } catch { failure = error }
        await held.withLock { $0 }.release()
        try? await client.shutdown()
        if let failure {
            Console.err("error: \(failure)")
            throw ExitCode.failure
        }
    }

    /// The token: the file's first line, which must not be empty.
    static func readToken(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("--token-file \(path): cannot read it")
        }
        let token = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).first.map {
            $0.trimmingCharacters(in: .whitespaces)
        } ?? ""
        guard token.count >= 16 else {
            throw ValidationError("--token-file \(path): the token must be at least 16 characters (e.g. openssl rand -hex 32 > \(path))")
        }
        return token
    }

    /// Takes the project's lock. A lock held by an apply (or another short command) is waited
    /// for, since it will be released when that finishes; one held by another controller is
    /// refused, since that one never finishes and two would fight over the host.
    static func acquireLock(client: DockerClient, project: String, logger: Logger) async throws -> EngineLock {
        var lastNotice: ContinuousClock.Instant?
        while true {
            do {
                return try await EngineLock.acquire(client: client, project: project, purpose: "controller")
            } catch let held as EngineLock.Held where held.purpose != nil && held.purpose != "controller" {
                if lastNotice.map({ ContinuousClock.now - $0 > .seconds(30) }) ?? true {
                    logger.warning("project locked; waiting for its holder to finish", metadata: ["holder": "\(held.holder)"])
                    lastNotice = .now
                }
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// The body of `/status`: `reconcile status --output json` plus a `controller` object.
    @Sendable static func renderStatus(project: Project, observed: ObservedState, controller: ControllerStatus) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let report = ControllerStatusReport(
            report: StatusReport(project: project, observed: observed, autoscale: controller.autoscale), controller: controller)
        return String(decoding: try encoder.encode(report), as: UTF8.self)
    }
}

/// The status report with the controller's own state beside its keys.
struct ControllerStatusReport: Encodable {
    var report: StatusReport
    var controller: ControllerStatus

    enum CodingKeys: String, CodingKey { case controller }

    func encode(to encoder: any Encoder) throws {
        try report.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(controller, forKey: .controller)
    }
}
