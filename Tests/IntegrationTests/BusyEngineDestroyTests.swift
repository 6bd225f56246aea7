import DockerEngine
import Foundation
import ReconcileCore
import Testing

@Suite("destroy of a large project", .tags(.engine))
struct BusyEngineDestroyTests {
    @Test("destroy of 201 running containers removes them all: a busy engine is waited for, never called unreachable")
    func destroyTwoHundredOne() async throws {
        try await ProjectFixture.run("big") { f in
            try f.write(
                """
                services:
                  api:
                    image: \(ProjectFixture.image1)
                    command: ["sleep", "300"]
                    stop_grace_period: 1s
                """)
            // Made through the client (which bounds its own concurrency), as apply would label them.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for replica in 1...201 {
                    group.addTask {
                        let labels = [LabelKey.project: f.project, LabelKey.service: "api", LabelKey.replica: String(replica)]
                        let created = try await f.client.createContainer(
                            name: f.name("api", replica),
                            ContainerCreateRequest(config: ContainerConfig(cmd: ["sleep", "300"], image: ProjectFixture.image1, labels: labels)))
                        try await f.client.startContainer(created.id)
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await f.containers().count == 201)
            let destroyed = try f.reconcile("destroy")
            #expect(destroyed.status == 0, "\(destroyed.stderr)")
            #expect(!destroyed.stderr.contains("cannot reach"), "\(destroyed.stderr)")
            #expect(try await f.containers().isEmpty)
        }
    }
}
