import AsyncHTTPClient
import DockerEngine
import Foundation
import NIOCore
import NIOFoundationCompat
import ReconcileCore
import ReconcileValidation

/// Where validation runs and what it uses by default.
public struct ValidationOptions: Sendable {
    /// The image of `mode: job` when `validate.image` is not set: the bundled workload image.
    public var workloadImage: String
    /// The address published ports are reached at: 127.0.0.1 for a local engine.
    public var endpointHost: String
    /// Bound on one service's validation when `validate.timeout` is not set, in seconds.
    public var defaultTimeout: Double

    public static let defaultWorkloadImage = "reconcile:dev"

    public init(workloadImage: String = ValidationOptions.defaultWorkloadImage, endpointHost: String = "127.0.0.1", defaultTimeout: Double = 300) {
        self.workloadImage = workloadImage
        self.endpointHost = endpointHost
        self.defaultTimeout = defaultTimeout
    }

    /// `RECONCILE_WORKLOAD_IMAGE` or the default image; the engine's host for TCP engines.
    public static func forEngine(_ client: any ContainerEngine, environment: [String: String] = ProcessInfo.processInfo.environment) -> ValidationOptions {
        var options = ValidationOptions()
        if let image = environment["RECONCILE_WORKLOAD_IMAGE"], !image.isEmpty { options.workloadImage = image }
        switch client.endpoint {
        case .tcp(let host, _): options.endpointHost = host
        case .ssh(let destination): options.endpointHost = destination.host
        case .unix: break
        }
        return options
    }
}

/// Runs a service's `x-reconcile.validate` against what is deployed now.
///
/// `job` runs one-shot benchmark containers with the service's own environment, mounts and
/// limits and exactly the GPUs its replicas were placed on (one job per distinct GPU set, or
/// one on CPU), so a GPU service is validated on its own devices and a mounted model is the
/// one benchmarked. `endpoint` drives every replica through its port published on the
/// engine's host with the workload's golden requests, all replicas at once, and checks the
/// answers, the latency and the throughput of each.
public struct Validator: Sendable {
    let client: any ContainerEngine
    let project: Project
    let options: ValidationOptions
    let progress: @Sendable (String) -> Void

    public init(client: any ContainerEngine, project: Project, options: ValidationOptions, progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.client = client
        self.project = project
        self.options = options
        self.progress = progress
    }

    /// The services of `names` that declare validation, in manifest order.
    public func services(_ names: Set<String>? = nil) -> [Service] {
        project.services.filter { $0.extensions.validate != nil && (names?.contains($0.name) ?? true) && $0.replicas > 0 }
    }

    /// Validates each service in turn (they may share GPUs between revisions, never at once).
    public func validate(_ services: [Service]) async -> [ServiceValidation] {
        var reports: [ServiceValidation] = []
        for service in services {
            reports.append(await validate(service))
        }
        return reports
    }

    public func validate(_ service: Service) async -> ServiceValidation {
        guard let spec = service.extensions.validate else {
            return ServiceValidation(service: service.name, mode: .job, seconds: 0, runs: [], onFailure: .ignore)
        }
        let started = ContinuousClock.now
        let runs: [ServiceValidation.Run]
        do {
            let replicas = try await runningReplicas(of: service)
            if replicas.isEmpty {
                runs = [.init(target: "service", passed: false, message: "no replica of \(service.name) is running")]
            } else {
                switch spec.mode {
                case .job: runs = try await jobs(service, spec, replicas)
                case .endpoint: runs = try await endpoints(service, spec, replicas)
                }
            }
        } catch {
            runs = [.init(target: "service", passed: false, message: "could not validate: \(Executor.describe(error))")]
        }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return ServiceValidation(service: service.name, mode: spec.mode, seconds: seconds, runs: runs, onFailure: spec.onFailure)
    }

    /// Running replicas under their replica names (not surge containers), by replica number.
    func runningReplicas(of service: Service) async throws -> [ObservedContainer] {
        let filters: DockerFilters = ["label": ["\(LabelKey.project)=\(project.name)", "\(LabelKey.service)=\(service.name)"]]
        var out: [ObservedContainer] = []
        for summary in try await client.listContainers(all: false, filters: filters) {
            guard let container = try await Observer.container(from: summary, client: client), !container.isSurge,
                  let replica = container.replica,
                  container.name == Naming.containerName(project: project.name, service: service, replica: replica)
            else { continue }
            out.append(container)
        }
        return out.sorted { ($0.replica ?? 0) < ($1.replica ?? 0) }
    }

    // MARK: job

    private func jobs(_ service: Service, _ spec: ValidationSpec, _ replicas: [ObservedContainer]) async throws -> [ServiceValidation.Run] {
        await removeLeftoverJobs(service)
        let wantsGPUs = service.devices.contains { $0.isGPU }
        var sets: [[String]] = []
        for replica in replicas {
            let gpus = replica.gpuDeviceIDs.sorted()
            if !sets.contains(gpus) { sets.append(gpus) }
        }
        return try await withThrowingTaskGroup(of: (Int, ServiceValidation.Run).self) { group in
            for (index, gpus) in sets.enumerated() {
                group.addTask { (index, try await self.job(service, spec, gpus: gpus, wantsGPUs: wantsGPUs)) }
            }
            var runs: [(Int, ServiceValidation.Run)] = []
            for try await run in group { runs.append(run) }
            return runs.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    private func job(_ service: Service, _ spec: ValidationSpec, gpus: [String], wantsGPUs: Bool) async throws -> ServiceValidation.Run {
        let target = gpus.isEmpty ? "job on CPU" : "job on GPUs \(gpus.joined(separator: ","))"
        let image = spec.image ?? options.workloadImage
        progress("validate \(service.name): \(target) (\(image))")
        // The replica's own container, with the benchmark in place of its command: the same
        // environment, mounts, limits and devices. No ports, network, restart or health check.
        let devices = wantsGPUs ? service.devices(placedOn: gpus) : nil
        let replica = ContainerSpec(project: project, service: service, replica: 0, name: "job", devices: devices)
        var request = replica.request
        request.config.image = image
        request.config.entrypoint = spec.image == nil ? nil : request.config.entrypoint
        request.config.cmd = spec.command ?? BundledWorkload.benchmarkCommand(spec, gpu: !gpus.isEmpty)
        request.config.labels = [
            LabelKey.validation: project.name, LabelKey.validationService: service.name, LabelKey.version: "1",
        ]
        request.config.exposedPorts = nil
        request.config.healthcheck = HealthConfig(test: ["NONE"])
        request.config.hostname = nil
        request.hostConfig?.portBindings = nil
        request.hostConfig?.restartPolicy = nil
        request.hostConfig?.networkMode = "none"
        request.networkingConfig = nil
        let name = "\(project.name)-\(service.name)-validate-\(UUID().uuidString.prefix(8).lowercased())"
        let created: ContainerCreateResponse
        do {
            created = try await client.createContainer(name: name, request)
        } catch where error.isDockerNotFound {
            return .init(target: target, gpus: gpus, passed: false,
                         message: "image \(image) is not on this host: build it (scripts/build-image) or set validate.image or RECONCILE_WORKLOAD_IMAGE")
        }
        let timeout = spec.timeout ?? options.defaultTimeout
        let started = ContinuousClock.now
        do {
            try await replica.files.write(into: created.id, client: client)
            _ = try await client.startContainer(created.id)
            let exit = try await client.waitContainer(created.id, timeout: .seconds(Int64(timeout.rounded(.up))))
            let chunks = try await client.containerLogs(created.id, tty: false)
            try? await client.removeContainer(created.id, force: true)
            let redactor = SecretRedactor(project: project)
            let stdout = redactor.redact(chunks.filter { $0.stream == .stdout }.map(\.text).joined())
            let stderr = redactor.redact(chunks.filter { $0.stream != .stdout }.map(\.text).joined())
            return BundledWorkload.jobRun(target: target, gpus: gpus, exitCode: Int(exit.statusCode), stdout: stdout, stderr: stderr)
        } catch {
            try? await client.removeContainer(created.id, force: true)
            // The wait's deadline passed, whatever the error says about it.
            let timedOut = ContinuousClock.now - started >= .seconds(timeout)
            return .init(target: target, gpus: gpus, passed: false,
                         message: timedOut ? "the job did not finish within \(Int(timeout)) s (validate.timeout)" : Executor.describe(error))
        }
    }

    /// Job containers a killed run left behind.
    func removeLeftoverJobs(_ service: Service) async {
        let filters: DockerFilters = ["label": ["\(LabelKey.validation)=\(project.name)", "\(LabelKey.validationService)=\(service.name)"]]
        guard let leftovers = try? await client.listContainers(all: true, filters: filters) else { return }
        for container in leftovers { try? await client.removeContainer(container.id, force: true) }
    }

    // MARK: endpoint

    /// What endpoint validation sends and reads: the user's requests file, or the bundled
    /// workload's golden requests.
    static func provider(_ spec: ValidationSpec) throws -> any EndpointProvider {
        let prediction = try spec.prediction.map { try JSONPath(parsing: $0) }
        guard let file = spec.requests else {
            return BundledWorkload(path: spec.path ?? "/v1/predict", prediction: prediction ?? BundledWorkload.predictionPath)
        }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ValidationSetupError(description: "the requests file \(file) cannot be read")
        }
        let parsed = RequestFile.parse(String(decoding: data, as: UTF8.self))
        if let first = parsed.errors.first {
            throw ValidationSetupError(description: "the requests file \(file), line \(first.line): \(first.message)")
        }
        return RequestFileProvider(path: spec.path ?? "/", cases: parsed.cases, prediction: prediction ?? RequestFileProvider.wholeAnswer)
    }

    private func endpoints(_ service: Service, _ spec: ValidationSpec, _ replicas: [ObservedContainer]) async throws -> [ServiceValidation.Run] {
        guard let containerPort = spec.port ?? service.ports.first?.target ?? service.expose.first.flatMap({ Int($0.split(separator: "/")[0]) }) else {
            return [.init(target: "service", passed: false, message: "no port to drive: set validate.port")]
        }
        let provider: any EndpointProvider
        do {
            provider = try Self.provider(spec)
        } catch {
            return [.init(target: "service", passed: false, message: "\(error)")]
        }
        let concurrency = spec.concurrency ?? 4
        let duration = spec.duration ?? 5
        progress("validate \(service.name): \(replicas.count) replica\(replicas.count == 1 ? "" : "s") through port \(containerPort)\(provider.path), \(concurrency) at a time for \(RevisionText.number(duration)) s")
        var targets: [(replica: Int, id: String, url: String?)] = []
        for replica in replicas {
            let inspect = try await client.inspectContainer(replica.id)
            let bindings = (inspect.networkSettings?.ports?["\(containerPort)/tcp"] ?? nil) ?? []
            let port = bindings.compactMap { $0.hostPort }.first { !$0.isEmpty }
            targets.append((replica.replica ?? 0, replica.id, port.map { "http://\(options.endpointHost):\($0)" }))
        }
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { _ = http.shutdown() }
        let deadline = ContinuousClock.now + .seconds(duration)
        return await withTaskGroup(of: (Int, ServiceValidation.Run).self) { group in
            for target in targets {
                group.addTask {
                    guard let url = target.url else {
                        return (target.replica, .init(target: "replica \(target.replica)", passed: false,
                                     message: "replica \(target.replica) publishes no host port for \(containerPort)/tcp: endpoint validation reaches replicas through published ports (publish \"127.0.0.1::\(containerPort)\")"))
                    }
                    let driver = EndpointDriver(http: http, base: url, provider: provider, concurrency: concurrency, deadline: deadline, timeout: spec.timeout)
                    if let refusal = await driver.refusal(replica: target.replica, containerPort: containerPort, listeners: { await self.listeners(in: target.id) }) {
                        return (target.replica, .init(target: "replica \(target.replica)", passed: false, message: refusal))
                    }
                    return (target.replica, await driver.run(replica: target.replica, spec: spec))
                }
            }
            var runs: [(Int, ServiceValidation.Run)] = []
            for await run in group { runs.append(run) }
            return runs.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    /// What listens inside a replica, read with `cat /proc/net/tcp /proc/net/tcp6` through
    /// exec; nil when the image has no `cat` or the exec fails.
    func listeners(in container: String) async -> [Listener]? {
        do {
            let exec = try await client.createExec(container, ExecCreateRequest(cmd: ["cat", "/proc/net/tcp", "/proc/net/tcp6"]))
            let output = try await client.startExec(exec, timeout: .seconds(5))
            let text = LogDemultiplexer.demultiplex(output).filter { $0.stream == .stdout }.map { String(decoding: $0.bytes, as: UTF8.self) }.joined()
            let listeners = Listener.parse(procNetTCP: text)
            return text.contains("local_address") ? listeners : nil
        } catch {
            return nil
        }
    }
}

/// A validation that cannot start (a requests file gone since the manifest was read).
struct ValidationSetupError: Error, CustomStringConvertible {
    var description: String
}

/// Drives one replica's endpoint with a provider's requests until a deadline.
struct EndpointDriver: Sendable {
    let http: HTTPClient
    let base: String
    let provider: any EndpointProvider
    let concurrency: Int
    let deadline: ContinuousClock.Instant
    let timeout: Double?

    struct Sample: Sendable {
        var seconds: Double
        var correct: Bool
        var error: String?
    }

    /// How long a replica may refuse connections before validation says why and stops: a
    /// healthy replica that refuses every connection for this long is not starting up.
    static let refusalWindow: Duration = .seconds(2)

    /// One clear sentence when the replica accepts no connection at all on the validated port
    /// (what listens where instead), so that validation stops early rather than reporting
    /// thousands of failed requests; nil when it answers, whatever the answer.
    func refusal(replica: Int, containerPort: Int, listeners: () async -> [Listener]?) async -> String? {
        let until = ContinuousClock.now + Self.refusalWindow
        var lastError = ""
        repeat {
            var request = HTTPClientRequest(url: base + provider.path)
            request.method = .GET
            do {
                let response = try await http.execute(request, timeout: .seconds(2))
                _ = try? await response.body.collect(upTo: 1 << 20)
                return nil
            } catch {
                lastError = "\(error)"
            }
            try? await Task.sleep(for: .milliseconds(200))
        } while ContinuousClock.now < until
        let name = "replica \(replica)"
        if let found = await listeners(), let sentence = Listener.explain(port: containerPort, replica: name, listeners: found) {
            return sentence
        }
        return "\(name) accepts no connection on port \(containerPort) (published at \(base)): \(lastError); "
            + "a server bound to 127.0.0.1 inside its container is the usual cause: make it listen on all addresses (0.0.0.0)"
    }

    func run(replica: Int, spec: ValidationSpec) async -> ServiceValidation.Run {
        let target = "replica \(replica)"
        let device = await self.device()
        let started = ContinuousClock.now
        let samples = await withTaskGroup(of: [Sample].self) { group in
            for worker in 0..<concurrency {
                group.addTask { await self.worker(worker) }
            }
            var all: [Sample] = []
            for await part in group { all.append(contentsOf: part) }
            return all
        }
        let elapsed = ContinuousClock.now - started
        let seconds = max(1e-9, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        return Self.summarize(target: target, samples: samples, seconds: seconds, spec: spec, device: device)
    }
    static func summarize(target: String, samples: [Sample], seconds: Double, spec: ValidationSpec, device: String?) -> ServiceValidation.Run {
        guard !samples.isEmpty else {
            return .init(target: target, passed: false, message: "no request finished", device: device)
        }
        let answered = samples.filter { $0.error == nil }
        let latencies = answered.map(\.seconds).sorted()
        func percentile(_ p: Double) -> Double {
            guard !latencies.isEmpty else { return 0 }
            return latencies[min(latencies.count - 1, Int((Double(latencies.count) * p).rounded(.up)) - 1)] * 1000
        }
        var figures: [String: Double] = [
            "requests": Double(samples.count), "errors": Double(samples.count - answered.count),
            "accuracy": Double(samples.filter(\.correct).count) / Double(samples.count),
            "requests_per_second": Double(answered.count) / seconds,
        ]
        if !latencies.isEmpty {
            figures["p50_ms"] = percentile(0.50)
            figures["p99_ms"] = percentile(0.99)
        }
        var checks: [ServiceValidation.Check] = []
        if let minimum = spec.minAccuracy, let value = figures["accuracy"] {
            checks.append(.init(name: "min_accuracy", threshold: minimum, value: value, passed: value >= minimum))
        }
        if let maximum = spec.maxP99Ms {
            let value = figures["p99_ms"] ?? .infinity
            checks.append(.init(name: "max_p99_ms", threshold: maximum, value: value, passed: value <= maximum))
        }
        if let minimum = spec.minThroughput, let value = figures["requests_per_second"] {
            checks.append(.init(name: "min_throughput", threshold: minimum, value: value, passed: value >= minimum))
        }
        let firstError = samples.first { $0.error != nil }?.error
        // Every request failing is a failure whatever the thresholds say.
        let passed = !answered.isEmpty && checks.allSatisfy(\.passed)
        var message: String? = nil
        if let firstError, !passed || answered.count < samples.count {
            message = "\(samples.count - answered.count) of \(samples.count) requests failed; first: \(firstError)"
        }
        return .init(target: target, passed: passed, checks: checks, figures: figures, message: message, device: device)
    }

    private func worker(_ index: Int) async -> [Sample] {
        var samples: [Sample] = []
        var row = index
        while ContinuousClock.now < deadline {
            samples.append(await request(row % provider.cases.count))
            row += concurrency
        }
        return samples
    }

    private func request(_ index: Int) async -> Sample {
        var request = HTTPClientRequest(url: base + provider.path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: provider.cases[index].body))
        let start = ContinuousClock.now
        do {
            let response = try await http.execute(request, timeout: .milliseconds(Int64((timeout ?? 10) * 1000)))
            let body = try await response.body.collect(upTo: 1 << 20)
            let elapsed = ContinuousClock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            guard response.status == .ok else {
                return Sample(seconds: seconds, correct: false, error: "HTTP \(response.status.code): \(String(buffer: body).prefix(200))")
            }
            switch provider.check(Data(buffer: body), against: index) {
            case .success(let correct): return Sample(seconds: seconds, correct: correct)
            case .failure(let why): return Sample(seconds: seconds, correct: false, error: why.description)
            }
        } catch {
            return Sample(seconds: 0, correct: false, error: "\(error)")
        }
    }

    /// The device the replica reports on `/healthz` ("cpu", "gpu").
    private func device() async -> String? {
        struct Health: Decodable { var device: String? }
        guard let path = provider.devicePath,
              let response = try? await http.execute(HTTPClientRequest(url: base + path), timeout: .seconds(5)),
              let body = try? await response.body.collect(upTo: 1 << 16)
        else { return nil }
        return (try? JSONDecoder().decode(Health.self, from: Data(buffer: body)))?.device
    }
}
