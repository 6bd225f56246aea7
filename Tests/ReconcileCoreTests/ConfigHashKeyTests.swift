import Foundation
import ReconcileCore
import ReconcileTestSupport
import Testing

@Suite("Keyed config hash")
struct ConfigHashKeyTests {
    static let secret = Array("0123456789abcdef0123456789abcdef".utf8)

    static func project(_ name: String, password: String, key: [UInt8]? = secret) -> Project {
        var service = pinnedService()
        service.devices = []
        service.environment["PASSWORD"] = password
        service.secretEnv = ["PASSWORD"]
        var project = pinnedProject(service)
        project.name = name
        project.hashKey = key.map { ConfigHashKey(secret: $0, project: name) }
        return project
    }

    static func hash(_ project: Project) -> String {
        ReplicaConfig(service: project.services[0], project: project).hash(key: project.hashKey)
    }

    @Test("the label is HMAC-SHA256 under the project's key: not the plain hash, stable for one key, different for another key")
    func keyed() {
        let project = Self.project("demo", password: "hunter2")
        let config = ReplicaConfig(service: project.services[0], project: project)
        #expect(Self.hash(project) != config.hash())
        #expect(Self.hash(project) == Self.hash(Self.project("demo", password: "hunter2")))
        #expect(Self.hash(project) != Self.hash(Self.project("demo", password: "hunter2", key: Array("another key, 16 bytes or more".utf8))))
        #expect(Self.hash(project).count == 64)
        // A guess of the secret checked against the label with the plain hash does not match.
        var guess = config
        guess.environment["PASSWORD"] = "hunter2"
        #expect(guess.hash() != Self.hash(project))
    }

    @Test("equal secrets in two projects sharing one key file give different labels")
    func perProject() {
        let a = Self.project("alpha", password: "hunter2"), b = Self.project("beta", password: "hunter2")
        let ca = ReplicaConfig(service: a.services[0], project: a), cb = ReplicaConfig(service: b.services[0], project: b)
        // The configurations differ only by the project's resource names; compare the same config under both keys.
        #expect(ca.hash(key: a.hashKey) != ca.hash(key: b.hashKey))
        #expect(cb.hash(key: a.hashKey) != cb.hash(key: b.hashKey))
    }

    @Test("a secret change still moves the keyed hash")
    func secretMoves() {
        #expect(Self.hash(Self.project("demo", password: "a")) != Self.hash(Self.project("demo", password: "b")))
    }

    @Test("the key never shows: not in its description, not in the project's JSON, not in the labels")
    func neverShown() throws {
        let project = Self.project("demo", password: "hunter2")
        #expect(String(describing: project.hashKey) .contains("redacted"))
        let json = String(decoding: try JSONEncoder().encode(project), as: UTF8.self)
        #expect(!json.contains("hashKey") && !json.contains("0123456789abcdef"))
        let decoded = try JSONDecoder().decode(Project.self, from: Data(json.utf8))
        #expect(decoded.hashKey == nil)
        let labels = ReplicaConfig(service: project.services[0], project: project)
            .containerLabels(project: "demo", service: project.services[0], replica: 1, key: project.hashKey)
        #expect(labels[LabelKey.configHash] == Self.hash(project))
        #expect(!labels.values.contains { $0.contains("hunter2") || $0.contains("0123456789abcdef") })
    }

    @Test("upgrading to keyed hashes recreates nothing: a container with the unkeyed hash of its configuration is current; a real change still recreates")
    func upgrade() throws {
        let unkeyed = Self.project("demo", password: "hunter2", key: nil)
        var host = InMemoryHost()
        host.apply(try plan(desired: unkeyed, observed: host.state), desired: unkeyed)
        let keyed = Self.project("demo", password: "hunter2")
        #expect(try plan(desired: keyed, observed: host.state).isEmpty, "the upgrade recreates nothing")
        let changed = Self.project("demo", password: "hunter3")
        let result = try plan(desired: changed, observed: host.state)
        #expect(result.steps.map(\.action) == [.recreate])
        // The new container carries the keyed hash, and then plans clean.
        host.apply(result, desired: changed)
        #expect(host.state.containers.first { $0.name == "demo-api-1" }?.configHash == Self.hash(changed))
        #expect(try plan(desired: changed, observed: host.state).isEmpty)
    }
}
