import DockerEngine
import Foundation
import ReconcileCore
import Testing

/// The seed's shape: an `api` built from a local folder, a database-like service and a
/// model-server-like service, all from the local test images.
func seedStack() -> String {
    """
    services:
      api:
        build: ./api
        init: true
        depends_on: [db, model]
      db:
        image: \(ProjectFixture.image1)
        command: ["sleep", "100000"]
        init: true
      model:
        image: \(ProjectFixture.image2)
        command: ["httpd", "-f", "-p", "8080", "-h", "/"]
        init: true
    """
}

@Suite("build against a real engine", .tags(.engine), .serialized)
struct BuildIntegrationTests {
    static let dockerfile = """
        FROM \(ProjectFixture.image1)
        COPY . /app
        CMD ["httpd", "-f", "-p", "8080", "-h", "/app"]
        """

    /// Writes the api's context.
    func writeContext(_ f: ProjectFixture, dockerfile: String = dockerfile, main: String = "print('v1')\n") throws {
        let api = f.directory.appendingPathComponent("api")
        try FileManager.default.createDirectory(at: api, withIntermediateDirectories: true)
        try dockerfile.write(to: api.appendingPathComponent("Dockerfile"), atomically: true, encoding: .utf8)
        try main.write(to: api.appendingPathComponent("main.py"), atomically: true, encoding: .utf8)
        try "flask\n".write(to: api.appendingPathComponent("requirements.txt"), atomically: true, encoding: .utf8)
        try "*.log\n".write(to: api.appendingPathComponent(".dockerignore"), atomically: true, encoding: .utf8)
    }

    func run(_ f: ProjectFixture, _ arguments: String...) throws -> ProjectFixture.Output {
        try f.reconcile(arguments, environment: ["XDG_CACHE_HOME": f.directory.appendingPathComponent("cache").path])
    }

    /// Images the project built, removed after the test.
    func removeBuilt(_ f: ProjectFixture) async {
        let images = (try? await f.client.listImages(filters: DockerFilters(["reference": ["\(f.project)-api"]]))) ?? []
        for image in images { try? await f.client.removeImage(image.id, force: true) }
    }

    @Test("the seed-shaped stack builds and runs; a second apply builds nothing; one changed file rebuilds and recreates only the api, named in the plan")
    func buildRebuild() async throws {
        try await ProjectFixture.run("build") { f in
            try f.write(seedStack())
            try writeContext(f)

            let offline = try run(f, "plan", "--offline")
            #expect(offline.stdout.contains("+ image:api"), "\(offline.stdout)\(offline.stderr)")

            let first = try run(f, "apply", "--yes")
            #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
            #expect(first.stdout.contains("build: image \(f.project)-api:"), "\(first.stdout)")
            let before = try await f.containers()
            #expect(Set(before.keys) == [f.name("api", 1), f.name("db", 1), f.name("model", 1)])
            #expect(before.values.allSatisfy { $0.state == "running" })
            let apiImage = try #require(before[f.name("api", 1)]?.image)
            #expect(apiImage.hasPrefix("\(f.project)-api:"))
            _ = try await f.client.imageID(apiImage)

            let second = try run(f, "apply", "--yes")
            #expect(second.status == 0)
            #expect(second.stdout.contains("No changes. 3 replicas up to date."), "\(second.stdout)")
            #expect(try run(f, "plan", "--detailed-exitcode").status == 0)
            // A file .dockerignore leaves out changes nothing either.
            try "noise".write(to: f.directory.appendingPathComponent("api/debug.log"), atomically: true, encoding: .utf8)
            #expect(try run(f, "plan", "--detailed-exitcode").status == 0)

            try "print('v2')\n".write(to: f.directory.appendingPathComponent("api/main.py"), atomically: true, encoding: .utf8)
            let plan = try run(f, "plan")
            #expect(plan.stdout.contains("+ image:api"), "\(plan.stdout)")
            #expect(plan.stdout.contains("build: context changed (main.py)"), "\(plan.stdout)")
            let third = try run(f, "apply", "--yes")
            #expect(third.status == 0, "\(third.stdout)\(third.stderr)")
            let after = try await f.containers()
            #expect(after[f.name("db", 1)]?.id == before[f.name("db", 1)]?.id)
            #expect(after[f.name("model", 1)]?.id == before[f.name("model", 1)]?.id)
            #expect(after[f.name("api", 1)]?.id != before[f.name("api", 1)]?.id)
            let newImage = try #require(after[f.name("api", 1)]?.image)
            #expect(newImage != apiImage && newImage.hasPrefix("\(f.project)-api:"))
            // The old content tag is still there: a rollback needs no rebuild.
            _ = try await f.client.imageID(apiImage)
            await removeBuilt(f)
        }
    }

    @Test("a failing RUN fails the build step naming the Dockerfile line, and nothing is recreated")
    func failingBuild() async throws {
        try await ProjectFixture.run("buildfail") { f in
            try f.write(seedStack())
            try writeContext(f)
            #expect(try run(f, "apply", "--yes").status == 0)
            let before = try await f.containers()

            let broken = """
                FROM \(ProjectFixture.image1)
                COPY . /app
                RUN false
                CMD ["httpd", "-f", "-p", "8080", "-h", "/app"]
                """
            try writeContext(f, dockerfile: broken, main: "print('v2')\n")
            let failed = try run(f, "apply", "--yes")
            #expect(failed.status != 0)
            let output = failed.stdout + failed.stderr
            #expect(output.contains("build failed at \(f.directory.path)/api/Dockerfile:3 (RUN false)"), "\(output)")
            #expect(output.contains("returned a non-zero code: 1"), "\(output)")
            let after = try await f.containers()
            #expect(after.mapValues(\.id) == before.mapValues(\.id))
            #expect(after.values.allSatisfy { $0.state == "running" })
            await removeBuilt(f)
        }
    }

    @Test("a Dockerfile with RUN --mount is refused at plan time, naming its line")
    func buildKitOnly() async throws {
        try await ProjectFixture.run("buildkit") { f in
            try f.write(seedStack())
            try writeContext(f, dockerfile: "FROM \(ProjectFixture.image1)\nRUN --mount=type=cache,target=/c true\n")
            let result = try run(f, "plan")
            #expect(result.status != 0)
            #expect(result.stderr.contains("api/Dockerfile:2:1: error"), "\(result.stderr)")
            #expect(result.stderr.contains("`RUN --mount` needs BuildKit"), "\(result.stderr)")
            #expect(try await f.containers().isEmpty)
        }
    }
}
