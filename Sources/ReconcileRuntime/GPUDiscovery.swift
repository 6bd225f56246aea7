import DockerEngine
import Foundation
import Synchronization
import ReconcileCore

/// Lists the engine host's GPUs from inside a container, for engines reconcile does not run beside.
///
/// The listing has `nvidia-smi --query-gpu=index,uuid,memory.total --format=csv,noheader`'s
/// shape: one GPU a line, "index, uuid, memory".
public protocol GPUProbe: Sendable {
    /// The host's GPUs; throws `GPUProbeUnavailable` when the probe cannot run at all.
    func listGPUs(client: any ContainerEngine) async throws -> [GPUDevice]
}

/// The probe cannot run (its image is missing, say): the inventory stays unknown.
public struct GPUProbeUnavailable: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Runs the bundled workload image's `gpus` listing with every GPU attached.
public struct WorkloadImageProbe: GPUProbe {
    public var image: String

    /// `image` defaults to `$RECONCILE_WORKLOAD_IMAGE`, else `reconcile:dev`: the image validation jobs use.
    public init(image: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.image = image ?? environment["RECONCILE_WORKLOAD_IMAGE"].flatMap { $0.isEmpty ? nil : $0 } ?? ValidationOptions.defaultWorkloadImage
    }

    public func listGPUs(client: any ContainerEngine) async throws -> [GPUDevice] {
        do {
            _ = try await client.inspectImage(image)
        } catch where error.isDockerNotFound {
            throw GPUProbeUnavailable("the GPU probe image \(image) is not on the engine host")
        }
        let request = ContainerCreateRequest(
            config: ContainerConfig(cmd: ["reconcile-workload", "gpus", "--format", "csv"], image: image, labels: [LabelKey.version: "1", LabelKey.probe: "gpus"]),
            hostConfig: HostConfig(deviceRequests: [DockerEngine.DeviceRequest(driver: "nvidia", count: -1, capabilities: [["gpu"]])]))
        let created = try await client.createContainer(name: nil, request)
        do {
            _ = try await client.startContainer(created.id)
            _ = try await client.waitContainer(created.id, timeout: .seconds(60))
            let chunks = try await client.containerLogs(created.id, stderr: false)
            try? await client.removeContainer(created.id, force: true, removeVolumes: true)
            return GPUDiscovery.parse(chunks.map { String(decoding: $0.bytes, as: UTF8.self) }.joined())
        } catch {
            try? await client.removeContainer(created.id, force: true, removeVolumes: true)
            throw error
        }
    }
}

/// Finds the host's GPUs (reconcile's one inventory type is `[GPUDevice]`, in the core; the
/// bundled workload's own `gpus` report is what a probe container prints), in order: the project's explicit list (`--gpus`, `x-reconcile.gpus`),
/// else `nvidia-smi` on PATH when the engine is local, else a probe container when it is remote.
public struct GPUDiscovery: Sendable {
    public var probe: (any GPUProbe)?
    /// The environment whose PATH is searched for `nvidia-smi`.
    public var environment: [String: String]
    /// Seconds `nvidia-smi` may take before it is killed and the inventory is unknown: a
    /// driver in a bad state makes it hang, and it must not hang a controller with it.
    public var timeout: Double

    public init(
        probe: (any GPUProbe)? = WorkloadImageProbe(), environment: [String: String] = ProcessInfo.processInfo.environment,
        timeout: Double = 15
    ) {
        self.probe = probe
        self.environment = environment
        self.timeout = timeout
    }

    /// The GPUs and where they came from; nil GPUs when unknown, with the reason as source.
    public func discover(project: Project, client: any ContainerEngine) async -> (gpus: [GPUDevice]?, source: String) {
        if let explicit = project.extensions.gpus { return (explicit, "explicit list (--gpus or x-reconcile.gpus)") }
        if case .unix = client.endpoint {
            guard let smi = executable("nvidia-smi") else { return ([], "no nvidia-smi on PATH: a host without GPUs") }
            do {
                return (
                    GPUDiscovery.parse(try await run(smi, ["--query-gpu=index,uuid,memory.total", "--format=csv,noheader"])), "nvidia-smi"
                )
            } catch {
                return (nil, "nvidia-smi failed: \(error)")
            }
        }
        guard let probe else { return (nil, "the engine is remote and no GPU probe is configured") }
        do {
            return (try await probe.listGPUs(client: client), "probe container")
        } catch {
            return (nil, "the engine is remote and the GPU probe is unavailable: \(error)")
        }
    }

    /// Parses "0, GPU-8f…, 81920 MiB" lines; the index is the id, as Docker's `DeviceIDs` takes it.
    public static func parse(_ text: String) -> [GPUDevice] {
        var out: [GPUDevice] = []
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let index = fields.first, !index.isEmpty, Int(index) != nil else { continue }
            let uuid = fields.count > 1 && !fields[1].isEmpty ? fields[1] : nil
            var memory: Int64? = nil
            if fields.count > 2 {
                let parts = fields[2].split(separator: " ")
                if let value = parts.first.flatMap({ Int64($0) }) {
                    let unit = parts.count > 1 ? parts[1].lowercased() : "mib"
                    memory = unit.hasPrefix("g") ? value << 30 : unit.hasPrefix("k") ? value << 10 : value << 20
                }
            }
            out.append(GPUDevice(id: index, uuid: uuid, memoryBytes: memory))
        }
        return out
    }

    private func executable(_ name: String) -> String? { ExecutableSearch.find(name, path: environment["PATH"] ?? "") }

    /// Runs `path` and returns its standard output; kills it (SIGTERM, then SIGKILL a second
    /// later) and throws when it takes longer than `timeout`.
    private func run(_ path: String, _ arguments: [String]) async throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        let output = Mutex(Data())
        // Read as it comes, so a child writing more than a pipe holds never blocks on us.
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            output.withLock { $0.append(data) }
        }
        let (exits, exited) = AsyncStream<Void>.makeStream()
        process.terminationHandler = { _ in
            exited.yield(())
            exited.finish()
        }
        try process.run()
        let pid = process.processIdentifier
        let timedOut = Mutex(false)
        let limit = timeout
        let watchdog = Task {
            try await Task.sleep(for: .seconds(limit))
            timedOut.withLock { $0 = true }
            kill(pid, SIGTERM)
            try await Task.sleep(for: .seconds(1))
            kill(pid, SIGKILL)
        }
        for await _ in exits {}
        watchdog.cancel()
        pipe.fileHandleForReading.readabilityHandler = nil
        let rest = (try? pipe.fileHandleForReading.readToEnd()) ?? nil
        let data = output.withLock { $0 + (rest ?? Data()) }
        if timedOut.withLock({ $0 }) {
            throw GPUProbeUnavailable("\(path) did not answer within \(Int(timeout)) s and was stopped")
        }
        guard process.terminationStatus == 0 else {
            throw GPUProbeUnavailable("\(path) exited with code \(process.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// GPU ids a container's device requests hold: explicit ids, or a count of the first
    /// GPUs (what the NVIDIA runtime gives a bare count), or all of them.
    public static func heldIDs(_ requests: [DockerEngine.DeviceRequest], inventory: [GPUDevice]) -> [String] {
        var out: [String] = []
        for request in requests {
            let isGPU = request.driver == "nvidia" || (request.capabilities ?? []).contains { $0.contains("gpu") }
            guard isGPU else { continue }
            if let ids = request.deviceIDs, !ids.isEmpty {
                out.append(contentsOf: ids)
            } else if let count = request.count, count != 0 {
                out.append(contentsOf: (count < 0 ? inventory : Array(inventory.prefix(count))).map(\.id))
            }
        }
        var seen: Set<String> = []
        return out.filter { seen.insert($0).inserted }
    }
}
