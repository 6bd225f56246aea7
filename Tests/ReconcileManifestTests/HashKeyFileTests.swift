import Foundation
import ReconcileCore
import Testing

@testable import ReconcileManifest

@Suite("The config-hash key file")
struct HashKeyFileTests {
    static let yaml = """
        name: keyed
        services:
          s:
            image: busybox
            environment: {TOKEN: hunter2}
            x-reconcile: {secret_env: [TOKEN]}
        """

    static func hash(_ loaded: LoadedManifest) -> String {
        let project = loaded.project
        return ReplicaConfig(service: project.services[0], project: project).hash(key: project.hashKey)
    }

    @Test("without a key file the key is the project name's: no file is created, every host and checkout hashes alike, two projects hash apart")
    func projectNameByDefault() throws {
        let fixture = try Fixture(["docker-compose.yml": Self.yaml])
        defer { fixture.remove() }
        let first = try fixture.load()
        #expect(!FileManager.default.fileExists(atPath: fixture.dir + "/.reconcile"), "nothing is written into the user's folder")
        #expect(first.project.hashKey == ConfigHashKey(secret: [], project: "keyed"))
        // Another checkout of the same project (a CI runner beside the controller's host): the same hashes.
        let elsewhere = try Fixture(["docker-compose.yml": Self.yaml])
        defer { elsewhere.remove() }
        #expect(Self.hash(try elsewhere.load()) == Self.hash(first))
        // Another project with the same secret: another hash.
        let other = try Fixture(["docker-compose.yml": Self.yaml.replacingOccurrences(of: "name: keyed", with: "name: other")])
        defer { other.remove() }
        let otherLoaded = try other.load()
        #expect(ReplicaConfig(service: otherLoaded.project.services[0], project: first.project).hash(key: otherLoaded.project.hashKey) != Self.hash(first))
    }

    @Test(".reconcile/hash-key in the project folder, when the owner put one there, keys the hash; copies of the folder agree")
    func keyInFolder() throws {
        let fixture = try Fixture(["docker-compose.yml": Self.yaml, ".reconcile/hash-key": "a key of at least sixteen bytes, shared\n"])
        defer { fixture.remove() }
        let loaded = try fixture.load()
        #expect(loaded.project.hashKey == ConfigHashKey(secret: Array("a key of at least sixteen bytes, shared".utf8), project: "keyed"))
        let copy = try Fixture([:])
        defer { copy.remove() }
        try FileManager.default.removeItem(atPath: copy.dir)
        try FileManager.default.copyItem(atPath: fixture.dir, toPath: copy.dir)
        #expect(Self.hash(try copy.load()) == Self.hash(loaded))
        #expect(Self.hash(loaded) != Self.hash(try Fixture(["docker-compose.yml": Self.yaml]).load()))
    }

    @Test("x-reconcile.hash_key_file names the key; a missing or short one is a positioned error")
    func explicitFile() throws {
        let fixture = try Fixture([
            "docker-compose.yml": Self.yaml + "\nx-reconcile:\n  hash_key_file: ./keys/project.key\n",
            "keys/project.key": "a shared key of at least sixteen bytes\n",
        ])
        defer { fixture.remove() }
        let loaded = try fixture.load()
        #expect(!FileManager.default.fileExists(atPath: fixture.dir + "/.reconcile/hash-key"))
        let expected = ConfigHashKey(secret: Array("a shared key of at least sixteen bytes".utf8), project: "keyed")
        #expect(loaded.project.hashKey == expected)

        try fixture.write("keys/project.key", "short")
        let short = fixture.check().1.filter { $0.severity == .error }
        #expect(short.count == 1 && short[0].keyPath == "x-reconcile.hash_key_file" && short[0].line == 8, "\(short)")
        try FileManager.default.removeItem(atPath: fixture.dir + "/keys/project.key")
        let missing = fixture.check().1.filter { $0.severity == .error }
        #expect(missing.first?.message.contains("cannot read the config-hash key file") == true, "\(missing)")
    }

    @Test("RECONCILE_HASH_KEY_FILE names the key when the manifest does not")
    func environmentFile() throws {
        let fixture = try Fixture(["docker-compose.yml": Self.yaml, "k": "0123456789abcdef0123"])
        defer { fixture.remove() }
        let loaded = try fixture.load(env: ["RECONCILE_HASH_KEY_FILE": fixture.dir + "/k"])
        #expect(loaded.project.hashKey == ConfigHashKey(secret: Array("0123456789abcdef0123".utf8), project: "keyed"))
    }
}
