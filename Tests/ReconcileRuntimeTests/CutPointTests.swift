import DockerEngine
import Foundation
import ReconcileCore
import ReconcileRuntime
import ReconcileTestSupport
import Testing

/// A run interrupted at any engine call is repaired by the next: for each plan shape, every
/// mutating engine call of a clean run is, in turn, the one where the engine goes away
/// (before the call takes effect, and after it took effect with its answer lost), or the
/// one that fails with a 500; then a fresh observe, plan and execute converges, with one
/// container per replica and every volume still there.
@Suite("Interruption at every cut point")
struct CutPointTests {
    struct Shape: Sendable, CustomTestStringConvertible {
        var name: String
        /// The project the host starts from (nil: an empty host).
        var from: Project?
        var to: Project
        var prune = false
        var testDescription: String { name }
    }

    static let shapes: [Shape] = {
        var withOld = demoProject()
        withOld.networks.append(Network(key: "old", name: "demo_old"))
        return [
            Shape(name: "cold start", from: nil, to: demoProject()),
            Shape(name: "start-first recreate", from: demoProject(order: .startFirst), to: demoProject(apiEnv: ["A": "2"], order: .startFirst)),
            Shape(name: "stop-first recreate", from: demoProject(order: .stopFirst), to: demoProject(apiEnv: ["A": "2"], order: .stopFirst)),
            Shape(
                name: "start-first recreate with rollback policy", from: demoProject(order: .startFirst, failureAction: .rollback),
                to: demoProject(apiEnv: ["A": "2"], order: .startFirst, failureAction: .rollback)),
            Shape(name: "scale up", from: demoProject(apiReplicas: 1), to: demoProject(apiReplicas: 3)),
            Shape(name: "scale down", from: demoProject(apiReplicas: 3), to: demoProject(apiReplicas: 1)),
            Shape(name: "prune a network", from: withOld, to: demoProject(), prune: true),
        ]
    }()

    /// A host in `shape`'s starting state, and the calls log cleared.
    func prepared(_ shape: Shape) async throws -> Runner {
        let runner = Runner(engine: await demoEngine())
        if let from = shape.from {
            let (plan, result) = try await runner.apply(from)
            #expect(result.succeeded, "setting up \(shape.name): \(result.describe(plan))")
        }
        await runner.engine.resetCallLog()
        return runner
    }

    enum Cut: CaseIterable, CustomStringConvertible {
        case crashBefore, crashAfter, fail
        var description: String {
            switch self {
            case .crashBefore: "engine gone before the call"
            case .crashAfter: "engine gone after the call took effect"
            case .fail: "the call fails with 500"
            }
        }
    }

    @Test("every cut point of a plan converges on the next run", arguments: shapes)
    func everyCutPoint(shape: Shape) async throws {
        let clean = try await prepared(shape)
        let (plan, result) = try await clean.apply(shape.to, prune: shape.prune)
        #expect(result.succeeded, "\(shape.name), clean run: \(result.describe(plan))")
        let count = await clean.engine.mutatingCalls
        #expect(count > 0)
        for k in 0..<count {
            for cut in Cut.allCases {
                let runner = try await prepared(shape)
                switch cut {
                case .crashBefore: await runner.engine.crash(atMutatingCall: k, tookEffect: false)
                case .crashAfter: await runner.engine.crash(atMutatingCall: k, tookEffect: true)
                case .fail: await runner.engine.inject(.failCall(k, status: 500, mutatingOnly: true))
                }
                _ = try? await runner.apply(shape.to, prune: shape.prune)
                await runner.engine.clearFaults()
                let (again, repaired) = try await runner.apply(shape.to, prune: shape.prune)
                let context = "\(shape.name), call \(k) of \(count) (\(cut))"
                #expect(repaired.succeeded, "\(context): repair run: \(repaired.describe(again))")
                try await runner.expectConverged(shape.to, prune: shape.prune, context)
            }
        }
    }
}
