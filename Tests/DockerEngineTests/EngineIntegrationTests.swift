import Foundation
import NIOCore
import Testing

@testable import DockerEngine

/// Obligations of the client against the real private dockerd
/// (`scripts/with-test-dockerd swift test --filter DockerEngineTests`).
@Suite("Docker engine client against the private dockerd", .tags(.integration), .serialized)
struct EngineIntegrationTests {
    @Test("the client negotiates min(engine, 1.47), at least 1.41, with one GET /_ping")
    func negotiation() async throws {
        try await EngineFixture.run { fx in
            let before = fx.client.requestCount
            let version = try await fx.client.version()
            let server = try #require(APIVersion(version.apiVersion))
            #expect(server >= APIVersion.minimumSupported)
            let negotiated = try await fx.client.apiVersion()
            #expect(negotiated == min(server, APIVersion.maximumSupported))
            #expect(fx.client.requestCount == before + 2, "one GET /version for version(), one GET /_ping for negotiation")
            _ = try await fx.client.apiVersion()
            _ = try await fx.client.info()
            #expect(fx.client.requestCount == before + 3, "negotiation happens once")
        }
    }

    @Test("a labelled container with a 127.0.0.1 port and a healthcheck is created, started, inspected, stopped and removed")
    func containerLifecycle() async throws {
        try await EngineFixture.run { fx in
            let name = fx.name("web")
            let created = try await fx.client.createContainer(
                name: name,
                ContainerCreateRequest(
                    config: ContainerConfig(
                        exposedPorts: ["80/tcp": EmptyObject()], env: ["GREETING=hi"],
                        cmd: ["httpd", "-f", "-p", "80", "-h", "/var/www"],
                        healthcheck: HealthConfig(
                            test: ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1/ || exit 1"],
                            interval: .milliseconds(500), timeout: .seconds(2), retries: 3),
                        image: EngineFixture.image1, labels: fx.labels.merging(["role": "web"]) { a, _ in a },
                        stopSignal: "SIGTERM", stopTimeout: 3),
                    hostConfig: HostConfig(
                        portBindings: ["80/tcp": [PortBinding(hostIp: "127.0.0.1", hostPort: "")]],
                        restartPolicy: RestartPolicy(name: "no"), initProcess: true, memory: 64 * 1024 * 1024,
                        nanoCpus: 500_000_000, pidsLimit: 64)))
            #expect(!created.id.isEmpty)

            let listed = try await fx.client.listContainers(all: true, filters: fx.filters.adding("label", "role=web"))
            #expect(listed.map(\.id) == [created.id])
            #expect(listed.first?.name == name)
            #expect(listed.first?.state == "created")

            #expect(try await fx.client.startContainer(created.id) == true)
            #expect(try await fx.client.startContainer(name) == false, "a second start is a 304, not an error")

            let inspected = try await fx.client.inspectContainer(name)
            #expect(inspected.id == created.id)
            #expect(inspected.name == "/\(name)")
            #expect(inspected.state?.running == true)
            #expect(inspected.config?.labels?[EngineFixture.runLabel] == fx.runID)
            #expect(inspected.config?.healthcheck?.interval == 500_000_000)
            #expect(inspected.config?.env?.contains("GREETING=hi") == true)
            #expect(inspected.hostConfig?.initProcess == true)
            #expect(inspected.hostConfig?.nanoCpus == 500_000_000)
            #expect(inspected.hostConfig?.pidsLimit == 64)
            let binding = try #require(inspected.networkSettings?.ports?["80/tcp"] ?? nil).first
            #expect(binding?.hostIp == "127.0.0.1")
            let port = try #require(binding?.hostPort.flatMap { Int($0) })

            // The published port answers on 127.0.0.1 (and only there).
            let web = try DockerClient(configuration: .init(endpoint: .tcp(host: "127.0.0.1", port: port)))
            var page = ""
            let served = try await fx.eventually(within: 10) {
                guard let response = try? await web.send(.GET, "/index.html", versioned: false) else { return false }
                page = String(decoding: response.bytes, as: UTF8.self)
                return true
            }
            try await web.shutdown()
            #expect(served)
            #expect(page.contains("reconcile test image 1"))

            let healthy = try await fx.eventually(within: 20) {
                try await fx.client.inspectContainer(created.id).state?.health?.status == "healthy"
            }
            #expect(healthy, "the healthcheck turns healthy")

            #expect(try await fx.client.stopContainer(created.id, timeout: 5) == true)
            #expect(try await fx.client.stopContainer(created.id, timeout: 5) == false, "a second stop is a 304")
            #expect(try await fx.client.inspectContainer(created.id).state?.running == false)

            try await fx.client.removeContainer(created.id)
            let gone = await #expect(throws: DockerError.self) { try await fx.client.inspectContainer(created.id) }
            #expect(gone?.isNotFound == true)
        }
    }

    @Test("logs of a container without a TTY are demultiplexed into stdout and stderr, and tail limits them")
    func logs() async throws {
        try await EngineFixture.run { fx in
            let created = try await fx.client.createContainer(
                name: fx.name("logs"),
                ContainerCreateRequest(
                    config: ContainerConfig(
                        cmd: ["sh", "-c", "echo one; echo oops >&2; sleep 0.3; echo two"], image: EngineFixture.image1,
                        labels: fx.labels)))
            try await fx.client.startContainer(created.id)
            let exit = try await fx.client.waitContainer(created.id, timeout: .seconds(30))
            #expect(exit.statusCode == 0)

            let chunks = try await fx.client.containerLogs(created.id)
            let stdout = chunks.filter { $0.stream == .stdout }.map(\.text).joined()
            let stderr = chunks.filter { $0.stream == .stderr }.map(\.text).joined()
            #expect(stdout == "one\ntwo\n")
            #expect(stderr == "oops\n")

            let last = try await fx.client.containerLogs(created.id, tail: 1, stderr: false)
            #expect(last.map(\.text).joined() == "two\n")
        }
    }

    @Test("logs of a container with a TTY come back as one raw stream")
    func ttyLogs() async throws {
        try await EngineFixture.run { fx in
            let created = try await fx.client.createContainer(
                name: fx.name("tty"),
                ContainerCreateRequest(
                    config: ContainerConfig(tty: true, cmd: ["echo", "hello"], image: EngineFixture.image1, labels: fx.labels)))
            try await fx.client.startContainer(created.id)
            _ = try await fx.client.waitContainer(created.id, timeout: .seconds(30))
            let chunks = try await fx.client.containerLogs(created.id)
            #expect(chunks.map(\.stream) == [.stdout])
            #expect(chunks.map(\.text).joined().trimmingCharacters(in: .whitespacesAndNewlines) == "hello")
        }
    }

    @Test("networks are created, found by label filter, connected, disconnected and removed")
    func networks() async throws {
        try await EngineFixture.run { fx in
            let name = fx.name("net")
            let created = try await fx.client.createNetwork(NetworkCreateRequest(name: name, driver: "bridge", labels: fx.labels))
            let listed = try await fx.client.listNetworks(filters: fx.filters)
            #expect(listed.map(\.id) == [created.id])
            #expect(listed.first?.name == name)
            let subnet = try await fx.client.inspectNetwork(name).ipam?.config?.first?.subnet ?? ""
            #expect(subnet.hasPrefix("10.214."), "networks come from the private daemon's own pool")

            let duplicate = await #expect(throws: DockerError.self) {
                try await fx.client.createNetwork(NetworkCreateRequest(name: name, labels: fx.labels))
            }
            #expect(duplicate?.isConflict == true, "CheckDuplicate makes a taken name a 409")

            let container = try await fx.client.createContainer(
                name: fx.name("member"),
                ContainerCreateRequest(
                    config: ContainerConfig(cmd: ["sleep", "300"], image: EngineFixture.image1, labels: fx.labels),
                    hostConfig: HostConfig(networkMode: name),
                    networkingConfig: NetworkingConfig(endpointsConfig: [name: EndpointSettings(aliases: ["api"])])))
            let attached = try await fx.client.inspectContainer(container.id)
            #expect(attached.networkSettings?.networks?[name]?.aliases?.contains("api") == true)

            let second = try await fx.client.createNetwork(NetworkCreateRequest(name: fx.name("net2"), labels: fx.labels))
            try await fx.client.connectNetwork(second.id, container: container.id, endpoint: EndpointSettings(aliases: ["db"]))
            #expect(try await fx.client.inspectContainer(container.id).networkSettings?.networks?[fx.name("net2")] != nil)
            try await fx.client.disconnectNetwork(second.id, container: container.id)
            #expect(try await fx.client.inspectContainer(container.id).networkSettings?.networks?[fx.name("net2")] == nil)

            try await fx.client.removeContainer(container.id, force: true)
            try await fx.client.removeNetwork(created.id)
            try await fx.client.removeNetwork(second.id)
            #expect(try await fx.client.listNetworks(filters: fx.filters).isEmpty)
        }
    }

    @Test("volumes are created, found by label filter, kept when their container is removed, and removed")
    func volumes() async throws {
        try await EngineFixture.run { fx in
            let name = fx.name("data")
            let created = try await fx.client.createVolume(VolumeCreateRequest(name: name, labels: fx.labels))
            #expect(created.name == name)
            #expect(created.labels?[EngineFixture.runLabel] == fx.runID)
            #expect(try await fx.client.listVolumes(filters: fx.filters).map(\.name) == [name])

            let container = try await fx.client.createContainer(
                name: fx.name("user"),
                ContainerCreateRequest(
                    config: ContainerConfig(cmd: ["true"], image: EngineFixture.image1, labels: fx.labels),
                    hostConfig: HostConfig(mounts: [Mount(type: "volume", source: name, target: "/data")])))
            let inUse = await #expect(throws: DockerError.self) { try await fx.client.removeVolume(name) }
            #expect(inUse?.isConflict == true, "a volume in use is a 409")

            try await fx.client.removeContainer(container.id)
            #expect(try await fx.client.inspectVolume(name).name == name, "removing a container never removes its volumes")
            try await fx.client.removeVolume(name)
            #expect(try await fx.client.listVolumes(filters: fx.filters).isEmpty)
        }
    }

    @Test("a 404 and a 409 keep the engine's own message")
    func statusErrors() async throws {
        try await EngineFixture.run { fx in
            let missing = fx.name("missing")
            let notFound = await #expect(throws: DockerError.self) { try await fx.client.inspectContainer(missing) }
            #expect(notFound?.isNotFound == true)
            if case .status(_, let message, let method, let path) = notFound {
                #expect(message.contains("No such container"))
                #expect(message.contains(missing))
                #expect(method == "GET")
                #expect(path.hasSuffix("/containers/\(missing)/json"))
            }

            let name = fx.name("twice")
            let request = ContainerCreateRequest(config: ContainerConfig(cmd: ["true"], image: EngineFixture.image1, labels: fx.labels))
            _ = try await fx.client.createContainer(name: name, request)
            let conflict = await #expect(throws: DockerError.self) { try await fx.client.createContainer(name: name, request) }
            #expect(conflict?.isConflict == true)
            if case .status(_, let message, _, _) = conflict {
                #expect(message.contains("already in use"))
            }
        }
    }

    @Test("a missing image says 'image X not found on this host: build it or pull it first'; present images resolve to distinct IDs")
    func images() async throws {
        try await EngineFixture.run { fx in
            let reference = "reconcile-test/\(fx.runID):nope"
            let error = await #expect(throws: DockerError.self) { try await fx.client.imageID(reference) }
            #expect(error?.isNotFound == true)
            if case .status(_, let message, _, _) = error {
                #expect(message == "image \(reference) not found on this host: build it or pull it first")
            }

            let one = try await fx.client.imageID(EngineFixture.image1)
            let two = try await fx.client.imageID(EngineFixture.image2)
            #expect(one.hasPrefix("sha256:"))
            #expect(one != two)
            let listed = try await fx.client.listImages(filters: ["reference": ["reconcile-test/busybox"]])
            #expect(Set(listed.map(\.id)).isSuperset(of: [one, two]))
        }
    }

    @Test("the event stream delivers a start event for a container the test starts")
    func events() async throws {
        try await EngineFixture.run { fx in
            let stream = try await fx.client.events(filters: fx.filters.adding("type", "container"))
            let created = try await fx.client.createContainer(
                name: fx.name("evented"),
                ContainerCreateRequest(config: ContainerConfig(cmd: ["sleep", "300"], image: EngineFixture.image1, labels: fx.labels)))
            try await fx.client.startContainer(created.id)

            let started = try await withThrowingTaskGroup(of: DockerEvent?.self) { group in
                group.addTask {
                    for try await event in stream where event.action == "start" && event.actor.id == created.id {
                        return event
                    }
                    return nil
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(20))
                    return nil
                }
                let first = try await group.next() ?? nil
                group.cancelAll()
                return first
            }
            let event = try #require(started, "no start event within 20 s")
            #expect(event.type == "container")
            #expect(event.actor.attributes["name"] == fx.name("evented"))
            #expect(event.actor.attributes[EngineFixture.runLabel] == fx.runID)
        }
    }

    /// UUIDs no fake inventory lists: the GPU suite, running meanwhile on the same engine,
    /// must not see this container hold any of its GPUs.
    static let gpuIDs = ["GPU-00000000-0000-4000-8000-0000000000e1", "GPU-00000000-0000-4000-8000-0000000000e3"]

    @Test("a DeviceRequest for two nvidia devices makes the container see them in NVIDIA_VISIBLE_DEVICES")
    func deviceRequests() async throws {
        try await EngineFixture.run { fx in
            let created = try await fx.client.createContainer(
                name: fx.name("gpu"),
                ContainerCreateRequest(
                    config: ContainerConfig(cmd: ["env"], image: EngineFixture.image1, labels: fx.labels),
                    hostConfig: HostConfig(deviceRequests: [
                        DeviceRequest(driver: "nvidia", deviceIDs: Self.gpuIDs, capabilities: [["gpu"]])
                    ])))
            let inspected = try await fx.client.inspectContainer(created.id)
            #expect(inspected.hostConfig?.deviceRequests?.first?.deviceIDs == Self.gpuIDs)
            try await fx.client.startContainer(created.id)
            _ = try await fx.client.waitContainer(created.id, timeout: .seconds(30))
            let output = try await fx.client.containerLogs(created.id).map(\.text).joined()
            #expect(output.split(separator: "\n").contains("NVIDIA_VISIBLE_DEVICES=\(Self.gpuIDs.joined(separator: ","))"))
        }
    }

    @Test("update, rename, kill with a signal and wait work on a running container")
    func renameKillWait() async throws {
        try await EngineFixture.run { fx in
            let created = try await fx.client.createContainer(
                name: fx.name("before"),
                ContainerCreateRequest(config: ContainerConfig(cmd: ["sleep", "300"], image: EngineFixture.image1, labels: fx.labels)))
            try await fx.client.startContainer(created.id)
            try await fx.client.updateContainer(
                created.id, ContainerUpdateRequest(pidsLimit: 50, restartPolicy: RestartPolicy(name: "unless-stopped")))
            let updated = try await fx.client.inspectContainer(created.id).hostConfig
            #expect(updated?.pidsLimit == 50)
            #expect(updated?.restartPolicy?.name == "unless-stopped")
            try await fx.client.renameContainer(created.id, to: fx.name("after"))
            #expect(try await fx.client.inspectContainer(created.id).name == "/\(fx.name("after"))")
            try await fx.client.killContainer(created.id, signal: "SIGKILL")
            let exit = try await fx.client.waitContainer(created.id, timeout: .seconds(30))
            #expect(exit.statusCode == 137)
            let notRunning = await #expect(throws: DockerError.self) { try await fx.client.killContainer(created.id) }
            #expect(notRunning?.isConflict == true, "killing a stopped container is a 409")
        }
    }
}
