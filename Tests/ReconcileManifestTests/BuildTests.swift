import Foundation
import ReconcileCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import ReconcileManifest

@Suite(".dockerignore")
struct DockerIgnoreTests {
    @Test("Docker's pattern rules: *, ?, classes, ** across folders, a folder excludes what is inside, leading / and ./ cleaned")
    func patterns() {
        let ignore = DockerIgnore("""
            # a comment
            *.pyc
            **/__pycache__
            /build
            ./docs/*.md
            data/**/*.bin
            file?.txt
            [a-c]x
            """)
        #expect(ignore.excludes("x.pyc"))
        #expect(!ignore.excludes("app/x.pyc"))  // `*` stays within one folder level
        #expect(ignore.excludes("__pycache__/m.cpython.pyc"))
        #expect(ignore.excludes("app/deep/__pycache__/m.pyc"))
        #expect(ignore.excludes("build"))
        #expect(ignore.excludes("build/out/bin"))
        #expect(!ignore.excludes("src/build"))
        #expect(ignore.excludes("docs/readme.md"))
        #expect(!ignore.excludes("docs/sub/readme.md"))
        #expect(ignore.excludes("data/x.bin"))
        #expect(ignore.excludes("data/a/b/x.bin"))
        #expect(!ignore.excludes("data/a/b/x.txt"))
        #expect(ignore.excludes("file1.txt"))
        #expect(!ignore.excludes("file12.txt"))
        #expect(ignore.excludes("bx"))
        #expect(!ignore.excludes("dx"))
        #expect(!ignore.excludes("# a comment"))
    }

    @Test("`!` exceptions let paths back in; the last matching pattern decides")
    func exceptions() {
        let ignore = DockerIgnore("*.md\n!README.md\nREADME.md\n!docs/README.md\nlogs\n!logs/keep.log\n")
        #expect(ignore.excludes("CHANGES.md"))
        #expect(ignore.excludes("README.md"))  // excluded again by the later pattern
        #expect(!ignore.excludes("docs/README.md"))
        #expect(ignore.excludes("logs/today.log"))
        #expect(!ignore.excludes("logs/keep.log"))
        #expect(ignore.hasExceptions)
        #expect(!DockerIgnore("a\nb\n").hasExceptions)
    }

    @Test("** alone and at the end match everything below")
    func doubleStar() {
        #expect(DockerIgnore("**").excludes("a/b/c"))
        #expect(DockerIgnore("a/**").excludes("a/b/c"))
        #expect(!DockerIgnore("a/**").excludes("b/c"))
        #expect(DockerIgnore("**/*.go").excludes("x.go"))
        #expect(DockerIgnore("**/*.go").excludes("a/b/x.go"))
    }
}

/// A project folder with a built service `api`, its cache under the fixture.
struct BuildFixture {
    let fixture: Fixture
    var env: [String: String] { ["XDG_CACHE_HOME": fixture.root + "/cache"] }

    init(manifest: String = "services:\n  api:\n    build: ./app\n", files: [String: String]) throws {
        var all = files
        all["docker-compose.yml"] = manifest
        fixture = try Fixture(all)
    }

    func api() throws -> Service {
        try #require(fixture.load(env: env).project.service(named: "api"))
    }

    func remove() { fixture.remove() }
}

@Suite("build: parsing and the context digest")
struct BuildTests {
    @Test("short form: the context is the folder; the service runs the content tag <project>-<service>:<12 hex>")
    func shortForm() throws {
        let f = try BuildFixture(files: ["app/Dockerfile": "FROM reconcile-test/busybox:1\nCOPY . /app\n", "app/main.py": "print(1)\n"])
        defer { f.remove() }
        let api = try f.api()
        let build = try #require(api.build)
        #expect(build.context == f.fixture.dir + "/app")
        #expect(build.dockerfile == "Dockerfile")
        #expect(build.digest.count == 64)
        #expect(api.image == "stack-api:" + build.digest.prefix(12))
        #expect(build.contentTag == api.image)
        #expect(try f.api().build?.digest == build.digest)  // stable
    }

    @Test("long form: every key lands in the spec; args in map and list form; image beside build is an extra tag")
    func longForm() throws {
        let manifest = """
            services:
              api:
                image: registry.local/api:dev
                build:
                  context: app
                  dockerfile: docker/Dockerfile.prod
                  args: {A: "1", B: two}
                  target: runtime
                  labels: [team=ml]
                  shm_size: 256m
                  extra_hosts: ["db.local:10.0.0.2"]
                  network: host
                  no_cache: true
                  pull: false
                  tags: [api:latest]
                  cache_from: [api:cache]
              other:
                build:
                  context: app
                  dockerfile: docker/Dockerfile.prod
                  args: [X=1, FROM_ENV, UNSET]
            """
        let f = try BuildFixture(manifest: manifest, files: ["app/docker/Dockerfile.prod": "FROM reconcile-test/busybox:1\n"])
        defer { f.remove() }
        let project = try f.fixture.load(env: f.env.merging(["FROM_ENV": "e"]) { a, _ in a }).project
        let api = try #require(project.service(named: "api")?.build)
        #expect(api.dockerfile == "docker/Dockerfile.prod")
        #expect(api.args == ["A": "1", "B": "two"])
        #expect(api.target == "runtime")
        #expect(api.labels == ["team": "ml"])
        #expect(api.shmSize == Int64(268_435_456))
        #expect(api.extraHosts == ["db.local:10.0.0.2"])
        #expect(api.network == "host")
        #expect(api.noCache && !api.pull)
        #expect(api.tags == ["registry.local/api:dev", "api:latest"])
        #expect(api.cacheFrom == ["api:cache"])
        #expect(project.service(named: "api")?.image == api.contentTag)
        let other = try #require(project.service(named: "other")?.build)
        #expect(other.args == ["X": "1", "FROM_ENV": "e"])
    }

    @Test("keys that need a BuildKit session are refused with that reason, at their position")
    func buildKitKeys() throws {
        let errs = try diagnostics(
            "services:\n  api:\n    build:\n      context: .\n      secrets: [token]\n      ssh: [default]\n      platforms: [linux/arm64]\n",
            files: ["Dockerfile": "FROM x\n"]
        ).filter { $0.severity == .error }
        #expect(errs.count == 3)
        #expect(errs[0].message == "`build.secrets` needs BuildKit, which this engine's API (1.41, classic builder) cannot drive")
        #expect((errs[0].line, errs[0].keyPath) == (5, "services.api.build.secrets"))
        #expect(errs[1].keyPath == "services.api.build.ssh")
        #expect(errs[2].keyPath == "services.api.build.platforms")
    }

    @Test("a Dockerfile with BuildKit-only syntax is an error naming its line")
    func buildKitSyntax() throws {
        let dockerfile = """
            # syntax=docker/dockerfile:1
            FROM reconcile-test/busybox:1
            RUN --mount=type=cache,target=/root/.cache \\
                echo hi
            COPY --link . /app
            RUN <<EOF
            echo hi
            EOF
            """
        let errs = try diagnostics("services:\n  api:\n    build: .\n", files: ["Dockerfile": dockerfile]).filter { $0.severity == .error }
        #expect(errs.map(\.line) == [1, 3, 5, 6])
        #expect(errs.allSatisfy { $0.file.hasSuffix("/stack/Dockerfile") })
        #expect(errs[1].message == "`RUN --mount` needs BuildKit, which this engine's API (1.41, classic builder) cannot drive")
        #expect(errs[3].message.hasPrefix("a heredoc (`RUN <<…`)"))
    }

    @Test("bad values: a missing context, a missing Dockerfile, both dockerfile forms, a remote context, unknown keys")
    func badValues() throws {
        let errs = try diagnostics("""
            services:
              a: {build: ./nowhere}
              b: {build: {context: ., dockerfile: Nope}}
              c: {build: {context: ., dockerfile: D, dockerfile_inline: "FROM x"}}
              d: {build: "https://github.com/x/y.git"}
              e: {build: {context: ., dockerfil: D}}
            """, files: ["D": "FROM x\n", "Dockerfile": "FROM x\n"]).filter { $0.severity == .error }
        #expect(errs.count == 5, "\(errs)")
        #expect(errs[0].message.hasSuffix("/stack/nowhere is not a folder"))
        #expect(errs[0].line == 2)
        #expect(errs[1].message.contains("Nope cannot be read"))
        #expect(errs[2].message == "`dockerfile` and `dockerfile_inline` exclude each other")
        #expect(errs[3].message.hasPrefix("a remote build context"))
        #expect(errs[4].hint == "did you mean `dockerfile`?")
    }

    @Test("pull_policy: every Compose value, with refresh intervals; a bad interval is positioned")
    func pullPolicies() throws {
        for value in ["always", "never", "missing", "if_not_present", "build", "daily", "weekly", "every_12h", "every_30m"] {
            #expect(try loadService("pull_policy: \(value)").pullPolicy == value)
        }
        let warned = try warnings("services:\n  s:\n    image: busybox\n    pull_policy: daily\n")
        #expect(warned.count == 1)
        #expect(warned[0].message.hasPrefix("reconcile does not pull images, so `pull_policy: daily` refreshes nothing"))
        #expect(try warnings("services:\n  s:\n    image: busybox\n    pull_policy: missing\n").isEmpty)
        let errs = try serviceErrors("pull_policy: every_often")
        #expect(errs.count == 1)
        #expect(errs[0].message == "invalid pull policy `every_often`")
        #expect((errs[0].line, errs[0].keyPath) == (4, "services.s.pull_policy"))
    }

    @Test("the digest follows content the build sees: a changed file changes it, an ignored one does not; options count, no_cache does not")
    func digest() throws {
        let f = try BuildFixture(files: [
            "app/Dockerfile": "FROM reconcile-test/busybox:1\n", "app/main.py": "print(1)\n", "app/.dockerignore": "*.log\n",
            "app/x.log": "noise",
        ])
        defer { f.remove() }
        let before = try f.api().build?.digest
        try f.fixture.write("app/x.log", "more noise")
        #expect(try f.api().build?.digest == before)
        try f.fixture.write("app/main.py", "print(2)\n")
        let after = try f.api().build?.digest
        #expect(after != before)
        try f.fixture.write("docker-compose.yml", "services:\n  api:\n    build: {context: ./app, no_cache: true}\n")
        #expect(try f.api().build?.digest == after)
        try f.fixture.write("docker-compose.yml", "services:\n  api:\n    build: {context: ./app, args: {V: '1'}}\n")
        #expect(try f.api().build?.digest != after)
    }

    @Test("the cache records each context, so a later load names the files that differ from an earlier content tag")
    func changedFiles() throws {
        let f = try BuildFixture(files: ["app/Dockerfile": "FROM reconcile-test/busybox:1\n", "app/main.py": "1", "app/requirements.txt": "a", "app/same": "s"])
        defer { f.remove() }
        let first = try #require(try f.api().build)
        #expect(first.changedSince.isEmpty)
        try f.fixture.write("app/main.py", "2")
        try f.fixture.write("app/requirements.txt", "b")
        try f.fixture.write("app/new.txt", "n")
        let second = try #require(try f.api().build)
        #expect(second.changedSince[first.contentTag] == ["main.py", "new.txt", "requirements.txt"])
        // Loading again is the same context: the same answer, from the cache.
        #expect(try f.api().build?.changedSince == second.changedSince)
        try FileManager.default.removeItem(atPath: f.fixture.dir + "/app/new.txt")
        let third = try #require(try f.api().build)
        #expect(third.changedSince[second.contentTag] == ["new.txt"])
        #expect(third.changedSince[first.contentTag] == ["main.py", "requirements.txt"])
    }

    @Test("the stat cache: a file whose size, mtime and inode are unchanged is not read again")
    func statCache() throws {
        let f = try BuildFixture(files: ["app/Dockerfile": "FROM reconcile-test/busybox:1\n", "app/data": "aaaa"])
        defer { f.remove() }
        let path = f.fixture.dir + "/app/data"
        let before = try f.api().build?.digest
        var info = stat()
        #expect(lstat(path, &info) == 0)
        // Same size, same inode (written in place), mtime put back: only a cache hit keeps the digest.
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.write(contentsOf: Data("bbbb".utf8))
        try handle.close()
        var times = [info.st_atim, info.st_mtim]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
        #expect(try f.api().build?.digest == before)
        // Without the cache the new content is seen.
        try FileManager.default.removeItem(atPath: f.fixture.root + "/cache")
        #expect(try f.api().build?.digest != before)
    }

    @Test("the tar stream holds what .dockerignore leaves (plus the Dockerfile it cannot exclude) and tar reads it")
    func archive() throws {
        let long = String(repeating: "d", count: 60) + "/" + String(repeating: "f", count: 60) + ".txt"
        let f = try BuildFixture(files: [
            "app/Dockerfile": "FROM reconcile-test/busybox:1\n", "app/main.py": "print(1)\n",
            "app/.dockerignore": "*.log\nDockerfile\nsecret/\n!secret/public.txt\n", "app/x.log": "no",
            "app/secret/key": "no", "app/secret/public.txt": "yes", "app/" + long: "long name",
        ])
        defer { f.remove() }
        let build = try #require(try f.api().build)
        let bytes = try BuildContext.archive(build)
        let tarPath = f.fixture.root + "/ctx.tar"
        try Data(bytes).write(to: URL(fileURLWithPath: tarPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/tar")
        process.arguments = ["-tf", tarPath]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let listing = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let names = Set(listing.split(separator: "\n").map(String.init))
        #expect(names.isSuperset(of: ["Dockerfile", ".dockerignore", "main.py", "secret/public.txt", long]))
        #expect(!names.contains("x.log"))
        #expect(!names.contains("secret/key"))
    }

    @Test("dockerfile_inline is sent under its own name and counts in the digest")
    func inline() throws {
        let f = try BuildFixture(
            manifest: "services:\n  api:\n    build:\n      context: app\n      dockerfile_inline: |\n        FROM reconcile-test/busybox:1\n",
            files: ["app/main.py": "1"])
        defer { f.remove() }
        let build = try #require(try f.api().build)
        #expect(build.dockerfile == BuildContext.inlineDockerfileName)
        #expect(build.dockerfileInline == "FROM reconcile-test/busybox:1\n")
        #expect(try BuildContext.currentDigest(build) == build.digest)
    }

    @Test("the classic builder's step number maps to the Dockerfile line, continuations and comments skipped")
    func stepLines() {
        let text = "# c\nFROM x\n\nRUN a \\\n  b\n# c2\nRUN false\n"
        #expect(BuildContext.dockerfileLine(ofStep: 1, in: text)?.number == 2)
        #expect(BuildContext.dockerfileLine(ofStep: 2, in: text)?.number == 4)
        #expect(BuildContext.dockerfileLine(ofStep: 3, in: text)?.number == 7)
        #expect(BuildContext.dockerfileLine(ofStep: 3, in: text)?.text == "RUN false")
        #expect(BuildContext.dockerfileLine(ofStep: 4, in: text) == nil)
    }
}
