import DockerEngine
import Foundation
import ReconcileCore
import ReconcileRuntime
import ReconcileTestSupport
import Testing

/// Destroy is a plan like any other: carried out by the same executor, it makes exactly the
/// calls its steps imply, and a run interrupted at any of them is finished by the next.
@Suite("Destroy plans against the fake engine")
struct DestroyCutPointTests {
    func destroyed(_ runner: Runner, volumes: Bool) async throws -> (Plan, ExecutionResult) {
        let project = demoProject()
        let plan = destroyPlan(project: project, observed: try await runner.observe(project), removeVolumes: volumes)
        return (plan, await runner.execute(plan, project))
    }

    func prepared() async throws -> Runner {
        let runner = Runner(engine: await demoEngine())
        let (plan, result) = try await runner.apply(demoProject())
        #expect(result.succeeded, "\(result.describe(plan))")
        await runner.engine.resetCallLog()
        return runner
    }

    /// Nothing of the project is left but, without --volumes, its volume with its data.
    func expectGone(_ runner: Runner, volumes: Bool, _ context: String) async throws {
        let left = await runner.engine.snapshot().filter { $0.labels[LabelKey.project] == "demo" }
        #expect(left.isEmpty, "\(context): containers left: \(left.map(\.name))")
        let observed = try await runner.observe(demoProject())
        #expect(observed.networks.filter { $0.labels[LabelKey.project] == "demo" }.isEmpty, "\(context)")
        #expect(observed.volumes.contains { $0.name == "demo_data" } == !volumes, "\(context): the volume is kept unless --volumes")
        #expect(destroyPlan(project: demoProject(), observed: observed, removeVolumes: volumes).isEmpty, "\(context)")
    }

    @Test("a destroy plan's engine calls are those its steps imply; the volume goes only with --volumes", arguments: [false, true])
    func impliedCalls(volumes: Bool) async throws {
        let runner = try await prepared()
        let (plan, result) = try await destroyed(runner, volumes: volumes)
        #expect(result.succeeded, "\(result.describe(plan))")
        let actual = await runner.engine.calls.filter(\.route.isMutating).map { "\($0.route.rawValue) \($0.target)" }.sorted()
        let expected = plan.steps.flatMap { ImpliedCallsTests.implied($0, plan: plan, project: demoProject()) }.sorted()
        #expect(actual == expected)
        try await expectGone(runner, volumes: volumes, "clean run")
    }

    @Test("a destroy interrupted at any engine call is finished by the next destroy", arguments: [false, true])
    func everyCutPoint(volumes: Bool) async throws {
        let clean = try await prepared()
        _ = try await destroyed(clean, volumes: volumes)
        let count = await clean.engine.mutatingCalls
        #expect(count > 0)
        for k in 0..<count {
            for cut in CutPointTests.Cut.allCases {
                let runner = try await prepared()
                switch cut {
                case .crashBefore: await runner.engine.crash(atMutatingCall: k, tookEffect: false)
                case .crashAfter: await runner.engine.crash(atMutatingCall: k, tookEffect: true)
                case .fail: await runner.engine.inject(.failCall(k, status: 500, mutatingOnly: true))
                }
                _ = try? await destroyed(runner, volumes: volumes)
                await runner.engine.clearFaults()
                let (again, repaired) = try await destroyed(runner, volumes: volumes)
                let context = "call \(k) of \(count) (\(cut))"
                #expect(repaired.succeeded, "\(context): \(repaired.describe(again))")
                try await expectGone(runner, volumes: volumes, context)
            }
        }
    }
}
