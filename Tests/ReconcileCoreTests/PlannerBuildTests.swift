import Foundation
import ReconcileCore
import ReconcileTestSupport
import Testing

/// `stack()` with `api` built from a context whose content digest is `digest`.
func builtStack(digest: String, changedSince: [String: [String]] = [:], pullPolicy: String? = nil) -> Project {
    var project = stack()
    var api = project.services[0]
    let tag = BuildSpec.contentTag(project: project.name, service: "api", digest: digest)
    api.build = BuildSpec(context: "/src/api", digest: digest, contentTag: tag, changedSince: changedSince)
    api.image = tag
    api.pullPolicy = pullPolicy
    project.services[0] = api
    return project
}

@Suite("Planner: build steps")
struct PlannerBuildTests {
    let first = String(repeating: "ab12cd34", count: 8)
    let second = String(repeating: "ef56ab78", count: 8)

    @Test("a built service whose content tag is not on the host gets a build step its containers wait for")
    func coldBuild() throws {
        let result = try plan(desired: builtStack(digest: first), observed: .empty)
        let text = PlanText.render(result)
        #expect(text.contains("+ image:api         build: image demo-api:ab12cd34ab12 is not on the host"))
        let build = try #require(result.steps.first { $0.resource == "image:api" })
        #expect(build.action == .build)
        #expect(build.engineName == "demo-api:ab12cd34ab12")
        #expect(build.service == "api")
        for replica in ["service:api:1", "service:api:2"] {
            let step = try #require(result.steps.first { $0.resource == replica })
            #expect(step.dependsOn.contains(build.id))
        }
        // Services that are not built neither build nor wait for the build.
        let db = try #require(result.steps.first { $0.resource == "service:db:1" })
        #expect(!db.dependsOn.contains(build.id))
        #expect(result.summary.create == 7)
    }

    @Test("an unchanged context builds nothing: the content tag is on the host and the replicas run it")
    func unchangedContextBuildsNothing() throws {
        let project = builtStack(digest: first)
        let host = try converged(project)
        #expect(host.state.images["demo-api:ab12cd34ab12"] != nil)
        let again = try plan(desired: project, observed: host.state)
        #expect(again.steps.isEmpty)
        #expect(PlanText.render(again) == "No changes. 4 replicas up to date.")
    }

    @Test("a changed context builds a new content tag, names the changed files, and recreates only that service after the build")
    func changedContext() throws {
        let host = try converged(builtStack(digest: first))
        let changed = builtStack(digest: second, changedSince: ["demo-api:ab12cd34ab12": ["app/main.py", "requirements.txt"]])
        let result = try plan(desired: changed, observed: host.state)
        let text = PlanText.render(result)
        #expect(
            text == """
                + image:api      build: context changed (app/main.py, requirements.txt)
                ± service:api:1  recreate: configuration changed (start-first: no fixed port or device prevents a surge)
                    image: "demo-api:ab12cd34ab12" → "demo-api:ef56ab78ef56"
                ± service:api:2  recreate: configuration changed (start-first: no fixed port or device prevents a surge)
                    image: "demo-api:ab12cd34ab12" → "demo-api:ef56ab78ef56"
                rollout api: 2 replicas, 1 at a time (half of 2 replicas, rounded up); gate: the image's healthcheck, else running 0.5 s (120 s at most); on failure: pause (old containers removed as replacements serve)

                Plan: 1 to create, 2 to recreate, 0 to remove.
                """)
        let build = try #require(result.steps.first { $0.action == .build })
        let recreates = result.steps.filter { $0.action == .recreate }
        #expect(recreates.map(\.resource) == ["service:api:1", "service:api:2"])
        for step in recreates {
            #expect(step.dependsOn.contains(build.id))
        }
        var after = host
        after.apply(result, desired: changed)
        #expect(try plan(desired: changed, observed: after.state).steps.isEmpty)
    }

    @Test("an unknown earlier context says the image is missing; `pull_policy: build` builds every time")
    func reasonsAndPullPolicy() throws {
        let host = try converged(builtStack(digest: first))
        let unknown = try plan(desired: builtStack(digest: second), observed: host.state)
        #expect(unknown.steps.first?.reason == "image demo-api:ef56ab78ef56 is not on the host")
        let always = try plan(desired: builtStack(digest: first, pullPolicy: "build"), observed: host.state)
        #expect(always.steps.map(\.resource) == ["image:api"])
        #expect(always.steps[0].reason == "pull_policy is build, so the image is built on every apply")
    }

    @Test("a rollback pinned to an image ID builds nothing")
    func pinned() throws {
        var project = builtStack(digest: second)
        project.services[0].pinnedImageID = "sha256:1111"
        let result = try plan(desired: project, observed: .empty)
        #expect(!result.steps.contains { $0.action == .build })
    }

    @Test("more than five changed files are counted, not listed")
    func longList() throws {
        let host = try converged(builtStack(digest: first))
        let files = (1...8).map { "f\($0)" }
        let result = try plan(desired: builtStack(digest: second, changedSince: ["demo-api:ab12cd34ab12": files]), observed: host.state)
        #expect(result.steps.first?.reason == "context changed (f1, f2, f3, f4, f5 and 3 more)")
    }
}
