import Foundation
import Testing

@testable import DockerEngine

@Suite("tar archives for the archive endpoint")
struct ArchiveTests {
    /// Runs /usr/bin/tar (GNU tar, part of every Debian) with `arguments`; its stdout.
    func tar(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "tar \(arguments.joined(separator: " "))")
        return String(decoding: data, as: UTF8.self)
    }

    @Test("GNU tar reads our archive: names (a long one through the ustar prefix), modes, owners and contents")
    func readByTar() throws {
        let long = "/srv/" + String(repeating: "deep/", count: 30) + "secret.txt"
        let entries = [
            TarArchive.Entry(path: "/run/secrets/db_password", bytes: Array("hunter2".utf8), mode: 0o400, uid: 1000, gid: 1001),
            TarArchive.Entry(path: "etc/app.conf", bytes: Array(String(repeating: "x", count: 513).utf8), mode: 0o644),
            TarArchive.Entry(path: long, bytes: [], mode: 0o444),
        ]
        let archive = try TarArchive.make(entries, modificationTime: 1_700_000_000)
        #expect(archive.count % 512 == 0)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tar-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("a.tar")
        try Data(archive).write(to: file)

        let listing = try tar(["--numeric-owner", "-tvf", file.path]).split(separator: "\n").map(String.init)
        #expect(listing.count == 3)
        #expect(listing[0].hasPrefix("-r-------- 1000/1001"), "\(listing[0])")
        #expect(listing[0].hasSuffix(" run/secrets/db_password"))
        #expect(listing[1].hasPrefix("-rw-r--r-- 0/0") && listing[1].contains(" 513 "), "\(listing[1])")
        #expect(listing[2].hasSuffix(" " + long.dropFirst()), "\(listing[2])")

        let out = folder.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        _ = try tar(["-xf", file.path, "-C", out.path])
        #expect(try String(contentsOf: out.appendingPathComponent("run/secrets/db_password"), encoding: .utf8) == "hunter2")
        #expect(try Data(contentsOf: out.appendingPathComponent("etc/app.conf")).count == 513)
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(String(long.dropFirst())).path))
    }

    @Test("a path no ustar header can hold, and an empty one, are errors")
    func refusals() {
        #expect(throws: TarArchive.Failure.self) { try TarArchive.make([TarArchive.Entry(path: "/" + String(repeating: "a", count: 120), bytes: [])]) }
        #expect(throws: TarArchive.Failure.self) { try TarArchive.make([TarArchive.Entry(path: "/", bytes: [])]) }
        #expect(throws: TarArchive.Failure.self) { try TarArchive.make([TarArchive.Entry(path: "x", bytes: [], uid: 1 << 22)]) }
    }
}
