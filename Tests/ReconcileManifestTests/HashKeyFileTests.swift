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

    @Test("the first load creates .reconcile/hash-key (32 random bytes, mode 0600); later loads and a copy of the folder on another host hash alike")
    func createdOnceAndTravels() throws {
        let fixture = try Fixture(["docker-compose.yml": Self.yaml])
        defer { fixture.remove() }
        let first = try fixture.load()
        let path = fixture.dir + "/.reconcile/hash-key"
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.count == 65 && text.hasSuffix("\n"))
        #expect(first.project.hashKey != nil)
        #expect(Self.hash(first) == Self.hash(try fixture.load()))
        #expect(try String(contentsOfFile: path, encoding: .utf8) == text, "a later load keeps the key")

        // The same folder with its key elsewhere (another host): the same hashes.
        let copy = try Fixture([:])
        defer { copy.remove() }
        try FileManager.default.removeItem(atPath: copy.dir)
        try FileManager.default.copyItem(atPath: fixture.dir, toPath: copy.dir)
        #expect(Self.hash(try copy.load()) == Self.hash(first))

        // Without the key the folder gets a new one, and other hashes.
        let fresh = try Fixture(["docker-compose.yml": Self.yaml])
        defer { fresh.remove() }
        #expect(Self.hash(try fresh.load()) != Self.hash(first))
    }

    @Test("twenty loads started together agree on one key")
    func concurrentCreation() async throws {
        let fixture = try Fixture(["docker-compose.yml": Self.yaml])
        defer { fixture.remove() }
        let loader = fixture.loader()
        let hashes = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<20 { group.addTask { Self.hash(try loader.load(paths: ["docker-compose.yml"])) } }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(hashes.count == 1)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: fixture.dir + "/.reconcile")
        #expect(leftovers == ["hash-key"])
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

    @Test("a folder where no key can be written: a warning, and a key from the project name alone")
    func readOnlyFolder() throws {
        let fixture = try Fixture(["docker-compose.yml": Self.yaml])
        defer { fixture.remove() }
        // A regular file where the key's folder would be: creating the key fails even as root.
        try fixture.write(".reconcile", "not a folder")
        let (loaded, found) = fixture.check()
        let warning = try #require(found.first { $0.message.contains("cannot create the config-hash key") })
        #expect(warning.severity == .warning && warning.hint?.contains("hash_key_file") == true)
        #expect(loaded?.project.hashKey == ConfigHashKey(secret: [], project: "keyed"))
    }
}
