import Foundation
import ReconcileCore
import Testing

@Suite("Revisions")
struct RevisionTests {
    func revision(_ number: Int, _ project: Project, outcome: Revision.Outcome = .applied, imageID: String = "sha256:aaaa") -> Revision {
        Revision(
            number: number, project: project.name, time: 1_796_050_620, user: "ci", host: "runner", command: "apply",
            services: project.services.map {
                Revision.ServiceRecord(name: $0.name, image: $0.image, imageID: imageID, configHash: ReplicaConfig(service: $0, project: project).hash(), replicas: $0.replicas)
            },
            outcome: outcome, desired: project)
    }

    @Test("a stored revision holds no secret value, and its digest ignores secret values")
    func noSecrets() throws {
        let a = revision(1, stack(dbPassword: "hunter2"))
        let text = try a.encoded()
        #expect(!text.contains("hunter2"))
        #expect(text.contains(ReplicaConfig.sensitive))
        let b = revision(1, stack(dbPassword: "other-secret"))
        #expect(a.manifestDigest == b.manifestDigest)
        #expect(a.manifestDigest != revision(1, stack(apiReplicas: 3)).manifestDigest)
        #expect(try Revision.decode(text) == a)
    }

    @Test("restoring a revision takes secret values from the manifest at hand and pins image ids")
    func restoring() throws {
        let stored = revision(1, stack(dbPassword: "hunter2"), imageID: "sha256:1111")
        let restored = try stored.desired.restoring(secretsFrom: stack(dbPassword: "now"), pinning: stored.services)
        #expect(restored.service(named: "db")?.environment["POSTGRES_PASSWORD"] == "now")
        #expect(restored.service(named: "api")?.pinnedImageID == "sha256:1111")
        // Pinning does not change what the revision is.
        #expect(Revision.digest(of: restored) == stored.manifestDigest)
        #expect(throws: MissingSecrets.self) { try stored.desired.restoring(secretsFrom: nil, pinning: []) }
        do {
            _ = try stored.desired.restoring(secretsFrom: Project(name: "demo"), pinning: [])
        } catch let error as MissingSecrets {
            #expect(error.variables == ["db.environment.POSTGRES_PASSWORD"])
            #expect(error.description.contains("-f"))
        }
    }

    @Test("a pinned image id is what the planner compares and what decides a recreate")
    func pinnedPlans() throws {
        var project = stack()
        let host = try converged(project)
        project.services[0].pinnedImageID = "sha256:pinned"
        var observed = host.state
        observed.images["local/api:1"] = "sha256:tagged"
        for index in observed.containers.indices where observed.containers[index].service == "api" {
            observed.containers[index].imageID = "sha256:tagged"
        }
        let result = try plan(desired: project, observed: observed)
        #expect(result.steps.filter { $0.action == .recreate }.map(\.resource) == ["service:api:1", "service:api:2"])
        #expect(result.steps.first { $0.action == .recreate }?.changes.first?.field == "image id")
    }

    @Test("the diff of two revisions names changed fields, replicas, image ids, added and removed services; secrets stay masked")
    func diff() {
        var newer = stack(apiEnv: ["LOG_LEVEL": "debug"], apiReplicas: 3, dbPassword: "changed")
        newer.services.removeAll { $0.name == "worker" }
        newer.services.append(Service(name: "cache", image: "redis:7"))
        let a = revision(1, stack()), b = revision(2, newer, imageID: "sha256:bbbb")
        let diff = RevisionDiff(a, b)
        #expect(diff.services.map { "\($0.action) \($0.service)" } == ["~ api", "+ cache", "~ db", "- worker"])
        let api = diff.services[0].changes
        #expect(api.contains(FieldChange(field: "environment.LOG_LEVEL", from: "\"info\"", to: "\"debug\"")))
        #expect(api.contains(FieldChange(field: "replicas", from: "2", to: "3")))
        #expect(api.contains(FieldChange(field: "image id", from: "sha256:aaaa", to: "sha256:bbbb")))
        let text = RevisionText.diff(diff)
        #expect(!text.contains("changed") && !text.contains("s3cret"))
        #expect(RevisionDiff(a, revision(2, stack())).isEmpty)
    }

    @Test("history text: one row per revision, UTC times without a locale, the current one is the newest applied")
    func historyText() {
        let revisions = [revision(1, stack()), revision(2, stack(apiReplicas: 3), outcome: .rolledBack)]
        #expect(Revision.current(revisions)?.number == 1)
        let text = RevisionText.history(revisions)
        #expect(text.contains("2026-11-30 14:57:00"))
        #expect(text.contains("rolled-back"))
        #expect(RevisionText.time(0) == "1970-01-01 00:00:00")
        #expect(RevisionText.time(951_782_400) == "2000-02-29 00:00:00")
    }
}
