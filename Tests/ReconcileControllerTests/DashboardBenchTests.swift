import Foundation
import ReconcileCommands
import ReconcileCore
import Testing

@testable import ReconcileController

/// The dashboard's render time and page weight with a large project: 200 services of 2
/// replicas, 1,000 revisions (5 services validated in each). `bench/dashboard.sh` runs it in
/// a release build with more rounds; here it also checks the page weight bound.
@Suite("Dashboard render figures")
struct DashboardBenchTests {
    static let environment = ProcessInfo.processInfo.environment
    static let services = Int(environment["DASHBOARD_BENCH_SERVICES"] ?? "") ?? 200
    static let revisionCount = Int(environment["DASHBOARD_BENCH_REVISIONS"] ?? "") ?? 1000
    static let rounds = Int(environment["DASHBOARD_BENCH_ROUNDS"] ?? "") ?? 5

    static func fixture() -> (Project, ObservedState, [Revision]) {
        let names = (1...services).map { String(format: "svc%03d", $0) }
        let project = Project(
            name: "bench", services: names.map { Service(name: $0, image: "local/\($0):1", environment: ["MODE": "serve"], replicas: 2) })
        var containers: [ObservedContainer] = []
        var images: [String: String] = [:]
        for service in project.services {
            let hash = ReplicaConfig(service: service, project: project).hash()
            images[service.image] = "sha256:" + String(repeating: "b", count: 64)
            for replica in 1...2 {
                containers.append(
                    ObservedContainer(
                        id: String(repeating: "c", count: 52) + String(format: "%012d", containers.count), name: "bench-\(service.name)-\(replica)",
                        labels: [
                            LabelKey.project: "bench", LabelKey.service: service.name, LabelKey.replica: "\(replica)", LabelKey.configHash: hash,
                        ], image: service.image, imageID: images[service.image] ?? "", state: .running, health: .healthy))
            }
        }
        let observed = ObservedState(containers: containers, images: images)
        let records = project.services.map {
            Revision.ServiceRecord(name: $0.name, image: $0.image, imageID: images[$0.image] ?? "", configHash: "h", replicas: 2)
        }
        let revisions = (1...revisionCount).map { number in
            let accuracy = 0.9 + Double(number % 10) / 100
            let validations = names.prefix(5).map { name in
                ServiceValidation(
                    service: name, mode: .endpoint, seconds: 5,
                    runs: [
                        .init(
                            target: "replica 1", passed: true, checks: [.init(name: "min_accuracy", threshold: 0.9, value: accuracy, passed: true)],
                            figures: ["accuracy": accuracy, "p50_ms": 3, "p99_ms": 9 + Double(number % 7), "requests_per_second": 300])
                    ], onFailure: .rollback)
            }
            return Revision(
                number: number, project: "bench", time: 1_800_000_000 + Double(number), user: "ci", host: "runner", command: "apply",
                services: records, validations: validations, outcome: number % 50 == 0 ? .rolledBack : .applied, desired: project)
        }
        return (project, observed, revisions)
    }

    static func measure(_ rounds: Int, _ body: () throws -> String) rethrows -> (p50: Double, p95: Double, bytes: Int) {
        var times: [Double] = []
        var bytes = 0
        for _ in 0..<rounds {
            let start = ContinuousClock.now
            bytes = try body().utf8.count
            let elapsed = ContinuousClock.now - start
            times.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
        }
        times.sort()
        return (times[times.count / 2], times[min(times.count - 1, Int((Double(times.count) * 0.95).rounded(.up)) - 1)], bytes)
    }

    @Test("the overview of 200 services × 2 replicas weighs under 150 KB; render times are printed")
    func render() throws {
        let (project, observed, revisions) = Self.fixture()
        let pages = try DashboardPages(project: "bench")
        let status = ControllerStatus(
            ready: true, eventStreamConnected: true, lastPassSucceeded: true, passes: 10, manifestValid: true, manifestDigest: "d", backoff: [])
        let history = DashboardData.History(project: "bench", current: revisions.last?.number, revisions: revisions)
        let overview = try Self.measure(Self.rounds) {
            try pages.overview(
                statusJSON: try DashboardJSON.cli.status(project, observed), statusError: "", controller: status, observedAt: 0,
                current: revisions.last?.number, generation: 1, actions: false)
        }
        // Views between two observations reuse the status JSON (Dashboard.statusJSON).
        let statusJSON = try DashboardJSON.cli.status(project, observed)
        let cached = try Self.measure(Self.rounds) {
            try pages.overview(
                statusJSON: statusJSON, statusError: "", controller: status, observedAt: 0, current: revisions.last?.number, generation: 1,
                actions: false)
        }
        let list = try Self.measure(Self.rounds) { try pages.revisions(history: history, page: 1) }
        let figures = try Self.measure(Self.rounds) { try Figures.page(pages, history: history) }
        for (name, figure) in [("overview", overview), ("overview, status JSON cached", cached), ("revisions", list), ("figures", figures)] {
            print(
                "dashboard-bench \(name): p50 \(String(format: "%.1f", figure.p50)) ms, p95 \(String(format: "%.1f", figure.p95)) ms, \(figure.bytes / 1024) KB"
                    + " (\(Self.services) services × 2 replicas, \(Self.revisionCount) revisions, \(Self.rounds) rounds)")
        }
        #expect(overview.bytes < 150 * 1024, "overview \(overview.bytes) bytes")
        #expect(xmlError(try pages.revisions(history: history, page: 3)) == nil)
    }
}
