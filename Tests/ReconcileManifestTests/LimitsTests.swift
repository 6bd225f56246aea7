import Foundation
import ReconcileCore
import Testing

@testable import ReconcileManifest

#if canImport(Glibc)
import Glibc
#endif

/// Hostile input: the loader answers with a diagnostic, fast and in little memory.
@Suite("Loader limits")
struct LimitsTests {
    /// Nine levels of nine-way aliases under an extension key: 9^9 (387 million) values once expanded, from under 1 KiB.
    static let aliasBomb: String = {
        var lines = ["name: bomb", "x-0: &l0 [x, x, x, x, x, x, x, x, x]"]
        for level in 1...8 {
            let refs = Array(repeating: "*l\(level - 1)", count: 9).joined(separator: ", ")
            lines.append("x-\(level): &l\(level) [\(refs)]")
        }
        lines += ["services:", "  s:", "    image: busybox", "    labels: {a: b}", "x-bomb: *l8"]
        return lines.joined(separator: "\n") + "\n"
    }()

    /// The `reconcile` binary beside the test bundle.
    static var binary: String {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent("reconcile").path), url.path != "/" {
            url = url.deletingLastPathComponent()
        }
        return url.appendingPathComponent("reconcile").path
    }

    /// Runs `reconcile check -f PATH`; its exit status, output, wall time and peak RSS (this child's own, from wait4).
    static func check(_ path: String) throws -> (status: Int32, output: String, seconds: Double, maxRSSMiB: Double) {
        let out = NSTemporaryDirectory() + "limits-\(UUID().uuidString).out"
        defer { try? FileManager.default.removeItem(atPath: out) }
        var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let arguments = [binary, "check", "-f", path]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let variables: [String] = ["NO_COLOR=1", "PATH=/usr/bin:/bin"]
        var environment: [UnsafeMutablePointer<CChar>?] = variables.map { strdup($0) } + [nil]
        defer { environment.forEach { free($0) } }
        var pid: pid_t = 0
        let started = Date()
        guard posix_spawn(&pid, binary, &actions, nil, &argv, &environment) == 0 else { throw CocoaError(.fileNoSuchFile) }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        let seconds = Date().timeIntervalSince(started)
        let output = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        return ((status >> 8) & 0xFF, output, seconds, Double(usage.ru_maxrss) / 1024)
    }

    @Test("an alias bomb (nine levels of nine-way aliases) is refused with a diagnostic within 256 MB (the time is printed)")
    func aliasBomb() throws {
        // In process: the loader's own time.
        let started = ContinuousClock.now
        let (loaded, found) = ManifestLoader(environment: [:]).check(yaml: Self.aliasBomb)
        let elapsed = ContinuousClock.now - started
        #expect(loaded == nil)
        let error = try #require(found.first { $0.severity == .error })
        #expect(error.message.contains("expands to more than") && error.line == 1, "\(error)")
        print("alias bomb: diagnostic in \(elapsed) in process")

        // The command, as a process of its own: time and peak memory.
        let fixture = try Fixture(["bomb.yaml": Self.aliasBomb])
        defer { fixture.remove() }
        let run = try Self.check(fixture.dir + "/bomb.yaml")
        #expect(run.status == 1 && run.output.contains("bomb.yaml:1:1: error: the document expands to more than"), "\(run.output)")
        // Time is a figure (printed), not an assertion: a loaded CI machine stretches it.
        print("alias bomb: `reconcile check` answered in \(run.seconds) s, peak RSS \(run.maxRSSMiB) MiB")
        #expect(run.maxRSSMiB < 256, "peak RSS \(run.maxRSSMiB) MiB")
    }

    @Test("a manifest over the size limit is refused before it is parsed, within 256 MB (the time is printed)")
    func oversize() throws {
        let big = "services:\n  s:\n    image: busybox\n" + String(repeating: "# padding padding padding padding padding padding\n", count: (TreeBuilder.maximumBytes / 50) + 10)
        let (loaded, found) = ManifestLoader(environment: [:]).check(yaml: big)
        #expect(loaded == nil)
        #expect(found.first?.message.contains("more than the 2 MiB a manifest may have") == true, "\(found)")

        let fixture = try Fixture(["big.yaml": big])
        defer { fixture.remove() }
        let run = try Self.check(fixture.dir + "/big.yaml")
        #expect(run.status == 1 && run.output.contains("big.yaml:1:1: error: the file has"), "\(run.output)")
        print("oversize manifest: `reconcile check` answered in \(run.seconds) s, peak RSS \(run.maxRSSMiB) MiB")
        #expect(run.maxRSSMiB < 256, "\(run.seconds) s, \(run.maxRSSMiB) MiB")
    }

    @Test("an env_file or secret that is a device or a FIFO is an error, not a hang")
    func specialFiles() throws {
        let fixture = try Fixture([:])
        defer { fixture.remove() }
        #expect(mkfifo(fixture.dir + "/fifo", 0o600) == 0)
        let yaml = """
            services:
              s:
                image: busybox
                env_file: [/dev/zero, ./fifo]
                secrets: [token]
            secrets:
              token:
                file: /dev/urandom
            """
        try fixture.write("docker-compose.yml", yaml)
        let started = ContinuousClock.now
        let errors = fixture.check().1.filter { $0.severity == .error }
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(errors.count >= 2, "\(errors)")
    }

    @Test("a manifest checked from memory reads no .env, no build context and no key file")
    func fromMemory() throws {
        let fixture = try Fixture([".env": "TAG=from-dotenv\n"])
        defer { fixture.remove() }
        let loader = ManifestLoader(environment: ["TAG": "from-process"], workingDirectory: fixture.dir)
        let (loaded, found) = loader.check(yaml: "name: mem\nservices:\n  s:\n    image: busybox:${TAG}\n    build: .\n")
        #expect(found.filter { $0.severity == .error }.isEmpty, "\(found)")
        #expect(loaded?.project.services.first?.image.hasPrefix("busybox") == true)
        #expect(!FileManager.default.fileExists(atPath: fixture.dir + "/.reconcile"))
        let bad = loader.check(yaml: "services:\n  s:\n    imag: busybox\n", file: "mem.yaml").1
        #expect(bad.contains { $0.file == "mem.yaml" && $0.line == 3 && $0.keyPath == "services.s.imag" }, "\(bad)")
    }
}
