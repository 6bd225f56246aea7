import Foundation
import ReconcileTestSupport
import Testing

@testable import DockerEngine

/// The rules the fake engine keeps, written once and run against both the fake and the
/// private dockerd, so the fake cannot drift from the real engine. The dockerd variant
/// needs scripts/with-test-dockerd: without it, it fails (never passes silently).
@Suite("Engine contract: the fake keeps dockerd's rules")
struct ContractTests {
    enum Kind: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case fake, dockerd
        var testDescription: String { rawValue }
    }

    struct Context: Sendable {
        var engine: any ContainerEngine
        /// Set for the fake: drives what the real engine's processes do by themselves.
        var fake: FakeEngine?
        var runID: String

        var labels: [String: String] { [EngineFixture.runLabel: runID] }
        var filters: DockerFilters { .label(EngineFixture.runLabel, runID) }
        func name(_ suffix: String) -> String { "\(runID)-\(suffix)" }

        func sleeper(_ name: String, labels extra: [String: String] = [:], host: HostConfig? = nil,
                     networking: NetworkingConfig? = nil, healthcheck: HealthConfig? = nil, cmd: [String] = ["sleep", "300"]) async throws -> String {
            try await engine.createContainer(
                name: self.name(name),
                ContainerCreateRequest(
                    config: ContainerConfig(
                        cmd: cmd, healthcheck: healthcheck, image: EngineFixture.image1, labels: labels.merging(extra) { a, _ in a }),
                    hostConfig: host, networkingConfig: networking)
            ).id
        }
    }

    static func with(_ kind: Kind, _ body: @escaping @Sendable (Context) async throws -> Void) async throws {
        switch kind {
        case .fake:
            let fake = FakeEngine()
            await fake.addImage(EngineFixture.image1)
            try await body(Context(engine: fake, fake: fake, runID: "rct-fake"))
        case .dockerd:
            try await EngineFixture.run { fx in try await body(Context(engine: fx.client, fake: nil, runID: fx.runID)) }
        }
    }

    func status(of error: (any Error)?) -> Int? { (error as? DockerError)?.statusCode }

    func expectStatus(
        _ codes: Set<Int>, _ what: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void
    ) async {
        do {
            try await body()
            Issue.record("\(what): expected HTTP \(codes.sorted()), it succeeded", sourceLocation: sourceLocation)
        } catch {
            #expect(status(of: error).map(codes.contains) == true, "\(what): \(error)", sourceLocation: sourceLocation)
        }
    }

    func eventually(within seconds: Double = 20, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try await condition()
    }

    @Test("names are unique and unknown objects are 404s", .tags(.integration), arguments: Kind.allCases)
    func names(kind: Kind) async throws {
        try await Self.with(kind) { cx in
            _ = try await cx.sleeper("a")
            let b = try await cx.sleeper("b")
            await expectStatus([409], "create with a taken name") { _ = try await cx.sleeper("a") }
            await expectStatus([409], "rename to a taken name") { try await cx.engine.renameContainer(b, to: cx.name("a")) }
            await expectStatus([400], "rename to its own name") { try await cx.engine.renameContainer(b, to: cx.name("b")) }
            let missing = cx.name("missing")
            await expectStatus([404], "inspect unknown") { _ = try await cx.engine.inspectContainer(missing) }
            await expectStatus([404], "start unknown") { try await cx.engine.startContainer(missing) }
            await expectStatus([404], "stop unknown") { try await cx.engine.stopContainer(missing, timeout: 0) }
            await expectStatus([404], "remove unknown") { try await cx.engine.removeContainer(missing, force: true, removeVolumes: false) }
            await expectStatus([404], "remove unknown network") { try await cx.engine.removeNetwork(missing) }
            await expectStatus([404], "inspect unknown volume") { _ = try await cx.engine.inspectVolume(missing) }
            await expectStatus([404], "inspect unknown image") { _ = try await cx.engine.inspectImage("reconcile-test/none:0") }
        }
    }

    @Test("one-shot stats of a running container give a CPU percentage and memory in use; an unknown container is a 404", .tags(.integration), arguments: Kind.allCases)
    func stats(kind: Kind) async throws {
        try await Self.with(kind) { cx in
            let id = try await cx.sleeper("stats")
            try await cx.engine.startContainer(id)
            let stats = try await cx.engine.containerStats(id)
            let cpu = try #require(stats.cpuPercentOfOneCore, "\(stats)")
            #expect(cpu >= 0 && cpu < 400)
            #expect(stats.memoryUsedBytes != nil, "\(stats)")
            #expect((stats.memoryStats?.limit ?? 0) > 0)
            await expectStatus([404], "stats of an unknown container") { _ = try await cx.engine.containerStats(cx.name("missing")) }
        }
    }

    @Test("start, stop, pause and remove answer 304 and 409 as dockerd does", .tags(.integration), arguments: Kind.allCases)
    func lifecycle(kind: Kind) async throws {
        try await Self.with(kind) { cx in
            let id = try await cx.sleeper("life")
            #expect(try await cx.engine.startContainer(id) == true)
            #expect(try await cx.engine.startContainer(id) == false, "a second start is a 304")
            try await cx.engine.pauseContainer(id)
            await expectStatus([409], "start a paused container") { try await cx.engine.startContainer(id) }
            await expectStatus([409], "remove a paused container without force") {
                try await cx.engine.removeContainer(id, force: false, removeVolumes: false)
            }
            try await cx.engine.unpauseContainer(id)
            // Docker 20.10 answers 500 (an untyped error); newer engines may type it as a conflict.
            await expectStatus([500, 409], "unpause a running container") { try await cx.engine.unpauseContainer(id) }
            await expectStatus([409], "remove a running container without force") {
                try await cx.engine.removeContainer(id, force: false, removeVolumes: false)
            }
            #expect(try await cx.engine.stopContainer(id, timeout: 0) == true)
            #expect(try await cx.engine.stopContainer(id, timeout: 0) == false, "a second stop is a 304")
            await expectStatus([409], "kill a stopped container") { try await cx.engine.killContainer(id, signal: nil) }
            await expectStatus([409], "pause a stopped container") { try await cx.engine.pauseContainer(id) }
            try await cx.engine.removeContainer(id, force: false, removeVolumes: false)
            await expectStatus([404], "inspect after remove") { _ = try await cx.engine.inspectContainer(id) }
        }
    }

    @Test("a network with a running container cannot be removed; names of networks are unique", .tags(.integration), arguments: Kind.allCases)
    func networkInUse(kind: Kind) async throws {
        try await Self.with(kind) { cx in
            let net = cx.name("net")
            _ = try await cx.engine.createNetwork(NetworkCreateRequest(name: net, labels: cx.labels))
            await expectStatus([409], "create a network with a taken name") {
                _ = try await cx.engine.createNetwork(NetworkCreateRequest(name: net, labels: cx.labels))
            }
            let id = try await cx.sleeper(
                "on-net", host: HostConfig(networkMode: net), networking: NetworkingConfig(endpointsConfig: [net: EndpointSettings()]))
            try await cx.engine.startContainer(id)
            await expectStatus([403, 409], "remove a network in use") { try await cx.engine.removeNetwork(net) }
            await expectStatus([403], "connect a container twice") {
                try await cx.engine.connectNetwork(net, container: id, endpoint: nil)
            }
            await expectStatus([403], "remove the predefined bridge network") { try await cx.engine.removeNetwork("bridge") }
            try await cx.engine.removeContainer(id, force: true, removeVolumes: false)
            try await cx.engine.removeNetwork(net)
            await expectStatus([404], "inspect a removed network") { _ = try await cx.engine.inspectNetwork(net) }
        }
    }

    @Test("a container naming a missing network is created, and its start is a 404", .tags(.integration), arguments: Kind.allCases)
    func missingNetwork(kind: Kind) async throws {
        try await Self.with(kind) { cx in
            let net = cx.name("absent-net")
            let id = try await cx.sleeper(
                "orphan", host: HostConfig(networkMode: net), networking: NetworkingConfig(endpointsConfig: [net: EndpointSettings()]))
            await expectStatus([404], "start on a missing network") { try await cx.engine.startContainer(id) }
            #expect(try await cx.engine.inspectContainer(id).state?.status == "created")
        }
    }

    @Test("a second volume create returns the first; a volume a container mounts cannot be removed", .tags(.integration), arguments: Kind.allCases)
    func volumes(kind: Kind) async throws {
        try await Self.with(kind) { cx in
            let name = cx.name("vol")
            _ = try await cx.engine.createVolume(VolumeCreateRequest(name: name, labels: cx.labels.merging(["v": "1"]) { a, _ in a }))
            let again = try await cx.engine.createVolume(VolumeCreateRequest(name: name, labels: cx.labels.merging(["v": "2"]) { a, _ in a }))
            #expect(again.labels?["v"] == "1")
            let id = try await cx.sleeper("mounts", host: HostConfig(mounts: [Mount(type: "volume", source: name, target: "/data")]))
            await expectStatus([409], "remove a volume a container mounts") { try await cx.engine.removeVolume(name, force: false) }
            try await cx.engine.removeContainer(id, force: true, removeVolumes: false)
            try await cx.engine.removeVolume(name, force: false)
            await expectStatus([404], "inspect a removed volume") { _ = try await cx.engine.inspectVolume(name) }
        }
    }

    @Test("list calls filter by label key and by key=value", .tags(.integration), arguments: Kind.allCases)
    func labelFilters(kind: Kind) async throws {
        try await Self.with(kind) { cx in
            _ = try await cx.sleeper("role-a", labels: ["role": "a"])
            _ = try await cx.sleeper("role-b", labels: ["role": "b"])
            let run = "\(EngineFixture.runLabel)=\(cx.runID)"
            let onlyA = try await cx.engine.listContainers(all: true, filters: ["label": [run, "role=a"]])
            #expect(onlyA.compactMap(\.name) == [cx.name("role-a")])
            let both = try await cx.engine.listContainers(all: true, filters: ["label": [run, "role"]])
            #expect(Set(both.compactMap(\.name)) == [cx.name("role-a"), cx.name("role-b")])
            let running = try await cx.engine.listContainers(all: false, filters: cx.filters)
            #expect(running.isEmpty, "created containers are not listed without all")
        }
    }

    @Test("events report start, die and stop of a container, with its labels", .tags(.integration), arguments: Kind.allCases)
    func events(kind: Kind) async throws {
        try await Self.with(kind) { cx in
            let stream = try await cx.engine.events(filters: ["type": ["container"], "label": ["\(EngineFixture.runLabel)=\(cx.runID)"]], since: nil, until: nil)
            let id = try await cx.sleeper("evented")
            try await cx.engine.startContainer(id)
            try await cx.engine.stopContainer(id, timeout: 0)
            let seen = try await withThrowingTaskGroup(of: [String].self) { group in
                group.addTask {
                    var actions: [String] = []
                    for try await event in stream where event.actor.id == id {
                        #expect(event.actor.attributes[EngineFixture.runLabel] == cx.runID)
                        actions.append(event.action)
                        if event.action == "stop" { break }
                    }
                    return actions
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(20))
                    return ["timed out"]
                }
                let first = try await group.next() ?? []
                group.cancelAll()
                return first
            }
            #expect(seen.filter { ["create", "start", "die", "stop"].contains($0) } == ["create", "start", "die", "stop"], "\(seen)")
        }
    }

    @Test("a container with a healthcheck starts `starting` and becomes healthy", .tags(.integration), arguments: Kind.allCases)
    func health(kind: Kind) async throws {
        try await Self.with(kind) { cx in
            let id = try await cx.sleeper(
                "healthy", healthcheck: HealthConfig(test: ["CMD", "true"], interval: .milliseconds(100), retries: 1))
            try await cx.engine.startContainer(id)
            let first = try await cx.engine.inspectContainer(id).state?.health?.status
            #expect(first == "starting" || first == "healthy", "\(first ?? "no health")")
            #expect(try await eventually { try await cx.engine.inspectContainer(id).state?.health?.status == "healthy" })
            let plain = try await cx.sleeper("no-check")
            try await cx.engine.startContainer(plain)
            #expect(try await cx.engine.inspectContainer(plain).state?.health == nil)
        }
    }

    @Test("restart policy on-failure:1 restarts a failing container once, then leaves it exited", .tags(.integration), arguments: Kind.allCases)
    func restartPolicy(kind: Kind) async throws {
        try await Self.with(kind) { cx in
            let id = try await cx.sleeper(
                "flaky", host: HostConfig(restartPolicy: RestartPolicy(name: "on-failure", maximumRetryCount: 1)),
                cmd: ["sh", "-c", "sleep 0.3; exit 3"])
            try await cx.engine.startContainer(id)
            if let fake = cx.fake {
                // The fake runs no process: its exits are the test's.
                try await fake.exit(id, code: 3)
                try await fake.exit(id, code: 3)
            }
            #expect(try await eventually {
                let inspect = try await cx.engine.inspectContainer(id)
                return inspect.state?.status == "exited" && inspect.restartCount == 1
            })
            let inspect = try await cx.engine.inspectContainer(id)
            #expect(inspect.state?.exitCode == 3)
            #expect(inspect.restartCount == 1)
        }
    }
}
