import Clocks
import DockerEngine
import Foundation
import Logging
import ReconcileCore
import ReconcileManifest
import ReconcileRuntime
import ReconcileTestSupport
import Synchronization
import Testing

@testable import ReconcileController

/// The load the fake replicas report: a total shared evenly by the running replicas, as a
/// round-robin client spreads it.
final class FakeLoad: Sendable {
    let total = Mutex(0.0)
    let engine: FakeEngine
    init(engine: FakeEngine) { self.engine = engine }

    func scrape(_ url: String) async throws -> String {
        let running = await engine.snapshot().filter { $0.labels[LabelKey.service] == "api" && $0.status == "running" }.count
        let perReplica = total.withLock { $0 } / Double(max(1, running))
        return """
            # HELP inference_requests_in_flight Requests being served.
            # TYPE inference_requests_in_flight gauge
            inference_requests_in_flight \(perReplica)

            """
    }
}

func autoscaledProject(max: Int = 4, gpus: Int? = nil, downWindow: Double = 300) -> Project {
    var service = Service(name: "api", image: "local/api:1", networks: [ServiceNetwork(key: "default")], replicas: 1)
    service.extensions.autoscale = AutoscaleSpec(
        min: 1, max: max, metric: .prometheus(name: "inference_requests_in_flight", port: 8080, path: "/metrics", quantile: nil), target: 10,
        interval: 15, scaleDown: ScalingRules(window: downWindow, policies: ScalingRules.defaultScaleDown.policies))
    var extensions = ProjectExtensions()
    if let gpus {
        service.devices = [DeviceRequest(driver: "nvidia", count: .exactly(1))]
        extensions.gpus = (0..<gpus).map { GPUDevice(id: String($0)) }
    }
    return Project(name: "demo", services: [service], networks: [Network(key: "default", name: "demo_default")], extensions: extensions)
}

func runningAPI(_ engine: FakeEngine) async -> Int {
    await engine.snapshot().filter { $0.labels[LabelKey.service] == "api" && $0.status == "running" }.count
}

@Suite("Controller autoscaling against the fake engine, on a test clock")
struct AutoscaleControllerTests {
    func make(_ engine: FakeEngine, _ load: FakeLoad, _ clock: TestClock<Duration>, project: Project) -> Controller {
        let initial = LoadedManifest(project: project, warnings: [], files: [], digest: "initial")
        return Controller(
            client: engine, initial: initial,
            configuration: ControllerConfiguration(
                paths: [], resync: 3600, manifestPoll: 0.02, parallelism: 4, gateTimeout: 5, autoscaleClock: AutoscaleClock(clock),
                scrape: { try await load.scrape($0) }),
            load: { initial }, logger: quietLogger,
            observer: Observer(client: engine, gpuDiscovery: GPUDiscovery(probe: nil, environment: [:])))
    }

    /// Advances the clock by one interval and waits for the decision taken at that time.
    func tick(_ clock: TestClock<Duration>, _ controller: Controller, at time: Double) async -> AutoscaleStatus? {
        await clock.advance(by: .seconds(15))
        _ = await eventually { controller.autoscaleStatus().first?.decidedAt == time }
        return controller.autoscaleStatus().first
    }

    @Test("a step in load scales up through a pass; load removed scales back to min once the scale-down window has passed")
    func stepUpAndDown() async throws {
        let engine = FakeEngine()
        await engine.addImage("local/api:1")
        let load = FakeLoad(engine: engine)
        let clock = TestClock<Duration>()
        let controller = make(engine, load, clock, project: autoscaledProject())
        try await whileRunning(controller) {
            #expect(await eventually { controller.status().ready })
            #expect(await runningAPI(engine) == 1)
            load.total.withLock { $0 = 38 }
            let up = await tick(clock, controller, at: 15)
            #expect(up?.desired == 4)
            #expect(up?.decision == "autoscale 1 → 4 (inference_requests_in_flight 38 per replica > target 10)")
            #expect(await eventually { await runningAPI(engine) == 4 })
            #expect(controller.metrics.render().contains(#"reconcile_autoscale_desired_replicas{service="api"} 4.0"#))

            // Steady at 9.5 per replica (within 5% of the target): nothing moves for 5 minutes.
            load.total.withLock { $0 = 38 }
            var time = 15.0
            for _ in 0..<20 {
                time += 15
                let steady = await tick(clock, controller, at: time)
                #expect(steady?.desired == 4)
            }
            #expect(controller.autoscaleStatus().first?.reason == "within-tolerance")

            // Load gone: held by the window's highest recommendation, then down to min.
            load.total.withLock { $0 = 0 }
            time += 15
            let held = await tick(clock, controller, at: time)
            #expect(held?.desired == 4)
            #expect(held?.reason == "stabilized")
            var down = held
            for _ in 0..<21 where down?.desired != 1 {
                time += 15
                down = await tick(clock, controller, at: time)
            }
            #expect(down?.desired == 1)
            // The last recommendation of 4 was at 315 s: not before 300 s after it.
            #expect(time >= 315 + 300, "scaled down before the window ended")
            #expect(await eventually { await runningAPI(engine) == 1 })
            // The replicas removed left the service's name before they were stopped.
            let calls = await engine.calls.map(\.description)
            let victim = try #require(calls.firstIndex { $0.hasPrefix("disconnectNetwork") })
            let reconnect = try #require(calls[victim...].firstIndex { $0.hasPrefix("connectNetwork") })
            let stop = try #require(calls[victim...].firstIndex { $0.hasPrefix("stopContainer") })
            #expect(reconnect < stop)
        }
    }

    @Test("a GPU service stops at the replicas the free GPUs hold: the plan says GPU-bound and reconcile_autoscale_limited{reason=\"gpus\"} counts it")
    func gpuBound() async throws {
        let engine = FakeEngine()
        await engine.addImage("local/api:1")
        let load = FakeLoad(engine: engine)
        let clock = TestClock<Duration>()
        let controller = make(engine, load, clock, project: autoscaledProject(max: 8, gpus: 3))
        try await whileRunning(controller) {
            #expect(await eventually { controller.status().ready })
            load.total.withLock { $0 = 100 }
            let first = await tick(clock, controller, at: 15)
            #expect(first?.desired == 3)
            #expect(first?.reason == "gpus")
            #expect(await eventually { await runningAPI(engine) == 3 })
            let second = await tick(clock, controller, at: 30)
            #expect(second?.desired == 3)
            #expect(second?.decision.contains("GPU-bound: 0 GPUs free") == true)
            #expect(controller.metrics.render().contains(#"reconcile_autoscale_limited{service="api",reason="gpus"}"#))
        }
    }

    @Test("cpu: the engine's one-shot stats, in percent of the cpus limit, decide the count")
    func cpuMetric() async throws {
        let engine = FakeEngine()
        await engine.addImage("local/api:1")
        let load = FakeLoad(engine: engine)
        let clock = TestClock<Duration>()
        var project = autoscaledProject()
        project.services[0].limits.cpus = 0.5
        project.services[0].extensions.autoscale?.metric = .cpu
        project.services[0].extensions.autoscale?.target = 50
        let controller = make(engine, load, clock, project: project)
        try await whileRunning(controller) {
            #expect(await eventually { controller.status().ready })
            // 0.75 of a core used on a 0.5-core limit: 150 % of it, three times the target.
            await engine.setStats(
                "demo-api-1",
                ContainerStats(
                    cpuStats: .init(totalUsage: 750_000_000, systemCPUUsage: 2_000_000_000, onlineCPUs: 2),
                    precpuStats: .init(totalUsage: 0, systemCPUUsage: 0, onlineCPUs: 2), memoryStats: .init(usage: 1 << 20, limit: 1 << 30)))
            let decided = await tick(clock, controller, at: 15)
            #expect(decided?.metric == "cpu %")
            #expect(decided?.value == 150)
            #expect(decided?.desired == 3)
            #expect(await eventually { await runningAPI(engine) == 3 })
        }
    }

    @Test("no decision is taken while the service rolls out")
    func notDuringRollout() async throws {
        let engine = FakeEngine()
        await engine.addImage("local/api:1")
        let load = FakeLoad(engine: engine)
        let clock = TestClock<Duration>()
        let controller = make(engine, load, clock, project: autoscaledProject())
        try await whileRunning(controller) {
            #expect(await eventually { controller.status().ready })
            controller.setRollingOut(["api"])
            load.total.withLock { $0 = 100 }
            await clock.advance(by: .seconds(15))
            try await Task.sleep(for: .milliseconds(200))
            #expect(controller.autoscaleStatus().isEmpty)
            controller.setRollingOut([])
            let after = await tick(clock, controller, at: 30)
            #expect(after?.desired == 4)
        }
    }
}
