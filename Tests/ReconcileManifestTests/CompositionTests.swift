import Foundation
import ReconcileCore
import Testing

@testable import ReconcileManifest

@Suite("extends")
struct ExtendsTests {
    @Test("same file, both forms: maps merge by key, sequences append, command replaced, volumes by target, chains follow")
    func sameFile() throws {
        let project = try loadProject("""
            services:
              base:
                image: busybox:1
                user: root
                environment: {TZ: utc, PORT: "80"}
                ports: ["80"]
                volumes: ["data:/data", "./logs:/logs"]
                command: ["serve", "--verbose"]
                labels: [tier=web]
              common:
                extends: base
                environment: [PORT=8080]
                ports: ["90"]
                volumes: ["other:/data"]
                command: serve
              cli:
                extends: {service: common}
                labels: {owner: me}
            volumes: {data: {}, other: {}}
            """)
        let cli = try #require(project.service(named: "cli"))
        #expect(cli.image == "busybox:1")
        #expect(cli.user == "root")
        #expect(cli.environment == ["TZ": "utc", "PORT": "8080"])
        #expect(cli.ports.map(\.target) == [80, 90])
        #expect(cli.mounts.first { $0.target == "/data" }?.source == "other")
        #expect(cli.mounts.contains { $0.target == "/logs" && $0.type == .bind })
        #expect(cli.command == ["serve"])
        #expect(cli.labels == ["tier": "web", "owner": "me"])
        // The base is a service of its own, untouched.
        #expect(project.service(named: "base")?.environment == ["TZ": "utc", "PORT": "80"])
    }

    @Test("another file: its relative paths mean what they meant next to it, and its own `extends.file` is relative to it")
    func otherFile() throws {
        let fixture = try Fixture([
            "docker-compose.yml": """
                services:
                  web:
                    extends: {file: lib/common.yml, service: app}
                    environment: {MODE: prod}
                """,
            "lib/common.yml": """
                services:
                  app:
                    extends: {file: base/base.yml, service: root}
                    env_file: ./app.env
                    volumes: ["./static:/static:ro"]
                    environment: {MODE: dev, NAME: app}
                """,
            "lib/app.env": "FROM_FILE=1\n",
            "lib/base/base.yml": """
                services:
                  root:
                    image: busybox:${TAG:-1}
                    working_dir: /srv
                    volumes:
                      - {type: bind, source: ../../shared, target: /shared}
                """,
        ])
        defer { fixture.remove() }
        let loaded = try fixture.load(env: ["TAG": "2"])
        let web = try #require(loaded.project.service(named: "web"))
        #expect(web.image == "busybox:2")
        #expect(web.workingDir == "/srv")
        #expect(web.environment == ["MODE": "prod", "NAME": "app", "FROM_FILE": "1"])
        let root = (fixture.dir as NSString).standardizingPath
        #expect(web.mounts.first { $0.target == "/static" }?.source == root + "/lib/static")
        #expect(web.mounts.first { $0.target == "/shared" }?.source == root + "/shared")
        #expect(loaded.files == ["docker-compose.yml", "lib/common.yml", "lib/base/base.yml"])
        #expect(loaded.project.services.map(\.name) == ["web"], "services of an extended file are not imported")
    }

    @Test("an unknown service to extend is an error at the name, with the closest service")
    func unknownService() throws {
        let errs = try errors("""
            services:
              base: {image: busybox}
              web:
                image: x
                extends:
                  service: bsae
            """)
        #expect(errs.count == 1)
        #expect(errs[0].description == "docker-compose.yml:6:16: error: services.web.extends: service web extends `bsae`, which is not a service of this file. Did you mean `base`?")
    }

    @Test("an unknown service in another file and a missing file are errors at the value that names them")
    func otherFileErrors() throws {
        let errs = try diagnostics("""
            services:
              a:
                extends: {file: common.yml, service: nope}
              b:
                extends: {file: missing.yml, service: web}
            """, files: ["common.yml": "services:\n  web: {image: busybox}\n"]).filter { $0.severity == .error }
        #expect(errs.count == 4, "\(errs)")
        #expect(errs.map(\.message).filter { $0.hasSuffix("has no `image`") }.count == 2, "nothing was extended")
        let unknown = try #require(errs.first { $0.keyPath == "services.a.extends" })
        #expect(unknown.line == 3 && unknown.column == 42)
        #expect(unknown.message == "service a extends `nope`, which is not a service of common.yml")
        #expect(unknown.hint == "services of common.yml: web")
        let missing = try #require(errs.first { $0.keyPath == "services.b.extends.file" })
        #expect(missing.line == 5 && missing.column == 21)
        #expect(missing.message.hasPrefix("no such file `missing.yml` (looked at /"))
    }

    @Test("a cycle is an error that names the chain, once")
    func cycle() throws {
        let errs = try errors("""
            services:
              web:
                image: x
                extends: base
              base:
                image: x
                extends: web
              other:
                extends: {service: c1}
              c1: {extends: c2}
              c2: {extends: {service: c1}, image: y}
            """)
        #expect(errs.map(\.message) == ["extends cycle: web → base → web", "extends cycle: c1 → c2 → c1"], "\(errs)")
        // At the `extends` that closes the cycle.
        #expect(errs[0].line == 7 && errs[0].column == 14 && errs[0].keyPath == "services.base.extends")
    }

    @Test("a cycle through another file names the file")
    func crossFileCycle() throws {
        let errs = try diagnostics("""
            services:
              web:
                image: x
                extends: {file: other.yml, service: base}
            """, files: ["other.yml": "services:\n  base:\n    extends: {file: docker-compose.yml, service: web}\n"])
            .filter { $0.severity == .error }
        #expect(errs.map(\.message) == ["extends cycle: web → base (other.yml) → web"])
    }

    @Test("a problem inside an extended file names that file and its line")
    func diagnosticsNameTheExtendedFile() throws {
        let errs = try diagnostics("""
            services:
              web:
                extends: {file: common.yml, service: app}
            """, files: ["common.yml": "services:\n  app:\n    image: busybox\n    restart: sometimes\n"])
            .filter { $0.severity == .error }
        #expect(errs.count == 1)
        #expect(errs[0].file == "common.yml")
        #expect(errs[0].line == 4)
        #expect(errs[0].message == "invalid restart policy `sometimes`")
    }

    @Test("`extends` must name a service")
    func malformed() throws {
        let errs = try errors("services:\n  a:\n    image: x\n    extends: {file: x.yml}\n  b:\n    image: x\n    extends: [a]\n")
        #expect(errs.map(\.message) == ["missing `service`", "expected a service name or a map {service, file}, got a list"])
    }
}

@Suite("include")
struct IncludeTests {
    @Test("short form: the included file's services, volumes and networks join the project, its paths and `.env` are its own, ours win")
    func shortForm() throws {
        let fixture = try Fixture([
            "docker-compose.yml": """
                include:
                  - db/compose.yml
                services:
                  api:
                    image: api:${TAG}
                    depends_on: [db]
                    networks: [back]
                """,
            ".env": "TAG=1\nSHARED=main\n",
            "db/compose.yml": """
                services:
                  db:
                    image: postgres:${PG}
                    environment: {FROM: "${SHARED}"}
                    volumes: ["pgdata:/var/lib/postgresql/data", "./init:/docker-entrypoint-initdb.d:ro"]
                    networks: [back]
                volumes: {pgdata: {}}
                networks: {back: {}}
                """,
            "db/.env": "PG=16\nSHARED=included\n",
        ])
        defer { fixture.remove() }
        let loaded = try fixture.load()
        let project = loaded.project
        #expect(project.services.map(\.name) == ["api", "db"])
        let db = try #require(project.service(named: "db"))
        #expect(db.image == "postgres:16")
        #expect(db.environment == ["FROM": "main"], "the including project's variables win")
        let root = (fixture.dir as NSString).standardizingPath
        #expect(db.mounts.first { $0.target == "/docker-entrypoint-initdb.d" }?.source == root + "/db/init")
        #expect(project.volume(key: "pgdata")?.name == "stack_pgdata")
        #expect(project.network(key: "back") != nil)
        #expect(project.service(named: "api")?.dependsOn.map(\.service) == ["db"])
        #expect(loaded.files == ["docker-compose.yml", "db/compose.yml"])
    }

    @Test("long form: several paths merge, project_directory and env_file are taken from the including project")
    func longForm() throws {
        let fixture = try Fixture([
            "docker-compose.yml": """
                include:
                  - path: [shared/compose.yml, shared/override.yml]
                    project_directory: shared/project
                    env_file: config/shared.env
                services:
                  web:
                    extends: cache
                    image: web:1
                """,
            "config/shared.env": "CACHE_TAG=7\n",
            "shared/compose.yml": """
                services:
                  cache:
                    image: redis:${CACHE_TAG}
                    volumes: ["./data:/data"]
                    environment: {A: "1"}
                """,
            "shared/override.yml": "services:\n  cache:\n    environment: {B: \"2\"}\n",
        ])
        defer { fixture.remove() }
        let project = try fixture.load().project
        let cache = try #require(project.service(named: "cache"))
        #expect(cache.image == "redis:7")
        #expect(cache.environment == ["A": "1", "B": "2"])
        let root = (fixture.dir as NSString).standardizingPath
        #expect(cache.mounts.first?.source == root + "/shared/project/data")
        let web = try #require(project.service(named: "web"))
        #expect(web.image == "web:1")
        #expect(web.environment == ["A": "1", "B": "2"], "a local service extends an included one")
    }

    @Test("a service both the including file and an included one define is an error at ours, naming theirs")
    func conflict() throws {
        let errs = try diagnostics("""
            include: [other.yml]
            services:
              db:
                image: postgres:15
            """, files: ["other.yml": "services:\n  db:\n    image: postgres:16\n"]).filter { $0.severity == .error }
        #expect(errs.count == 1)
        #expect(errs[0].description.hasPrefix(
            "docker-compose.yml:3:3: error: services.db: service `db` is defined here and also by the included file other.yml (line 2); `include` does not merge definitions"))
        // The same definition twice is no conflict.
        let same = try diagnostics("include: [other.yml]\nservices:\n  db:\n    image: postgres:16\n", files: ["other.yml": "services:\n  db:\n    image: postgres:16\n"])
        #expect(same.filter { $0.severity == .error }.isEmpty)
    }

    @Test("an include cycle and a missing file are errors at the entry that names them")
    func cycleAndMissing() throws {
        let errs = try diagnostics("""
            include:
              - a.yml
              - path: nothing.yml
            services:
              x: {image: busybox}
            """, files: [
                "a.yml": "include: [b.yml]\nservices:\n  a: {image: busybox}\n",
                "b.yml": "include: [a.yml]\nservices:\n  b: {image: busybox}\n",
            ]).filter { $0.severity == .error }
        #expect(errs.count == 2, "\(errs)")
        let cycle = try #require(errs.first { $0.message.hasPrefix("include cycle") })
        #expect(cycle.message == "include cycle: a.yml → b.yml → a.yml")
        #expect(cycle.file == "b.yml" && cycle.line == 1)
        let missing = try #require(errs.first { $0.file == "docker-compose.yml" })
        #expect(missing.line == 3 && missing.keyPath == "include[1].path")
        #expect(missing.message.hasPrefix("no such file `nothing.yml`"))
    }

    @Test("a problem inside an included file names that file and its line")
    func diagnosticsNameTheIncludedFile() throws {
        let errs = try diagnostics("include: [sub/compose.yml]\nservices:\n  a: {image: busybox}\n", files: [
            "sub/compose.yml": "services:\n  b:\n    image: busybox\n    enviroment: {A: 1}\n",
        ]).filter { $0.severity == .error }
        #expect(errs.count == 1)
        #expect(errs[0].description == "sub/compose.yml:4:5: error: services.b.enviroment: unknown key. Did you mean `environment`?")
    }

    @Test("`include` entries are checked")
    func malformed() throws {
        let errs = try errors("include:\n  - {paht: x.yml}\n  - 3\nservices:\n  a: {image: busybox}\n")
        #expect(errs.map(\.message).contains("unknown key"))
        #expect(errs.map(\.message).contains("missing `path`"))
        #expect(errs.count == 3, "\(errs)")
    }
}

@Suite("relative paths of another file")
struct RelativePathTests {
    @Test("build contexts, env and label files, bind sources, extends files, secret and config files become absolute; the rest is left alone")
    func resolved() throws {
        let sink = DiagnosticSink()
        let tree = try #require(TreeBuilder.parse(yaml: """
            services:
              a:
                build: ./app
                env_file: [.env, {path: ../shared.env, required: false}, /abs.env]
                label_file: labels.txt
                extends: {file: base.yml, service: b}
                volumes:
                  - ./data:/data:ro
                  - named:/named
                  - ~/home:/home
                  - {type: bind, source: ./logs, target: /logs}
                  - {type: volume, source: vol, target: /vol}
              b:
                build:
                  context: src
                  additional_contexts: {lib: ../lib, img: "docker-image://busybox"}
              c:
                build: https://github.com/x/y.git
                env_file: x.env
            secrets:
              s: {file: ./s.txt}
              e: {environment: X}
            configs:
              c: {file: c.conf}
            """, file: "lib/common.yml", sink: sink))
        let resolved = RelativePaths.resolve(tree, against: "/p/lib")
        let a = try #require(resolved["services"]?["a"])
        #expect(a["build"]?.scalarText == "/p/lib/app")
        #expect(a["env_file"]?.items?.map { $0.scalarText ?? $0["path"]?.scalarText ?? "" } == ["/p/lib/.env", "/p/shared.env", "/abs.env"])
        #expect(a["label_file"]?.scalarText == "/p/lib/labels.txt")
        #expect(a["extends"]?["file"]?.scalarText == "/p/lib/base.yml")
        let volumes = try #require(a["volumes"]?.items)
        #expect(volumes.prefix(3).map(\.scalarText) == ["/p/lib/data:/data:ro", "named:/named", "~/home:/home"])
        #expect(volumes[3]["source"]?.scalarText == "/p/lib/logs")
        #expect(volumes[4]["source"]?.scalarText == "vol")
        let b = try #require(resolved["services"]?["b"]?["build"])
        #expect(b["context"]?.scalarText == "/p/lib/src")
        #expect(b["additional_contexts"]?["lib"]?.scalarText == "/p/lib")
        #expect(b["additional_contexts"]?["img"]?.scalarText == "docker-image://busybox")
        #expect(resolved["services"]?["c"]?["build"]?.scalarText == "https://github.com/x/y.git")
        #expect(resolved["secrets"]?["s"]?["file"]?.scalarText == "/p/lib/s.txt")
        #expect(resolved["secrets"]?["e"]?["environment"]?.scalarText == "X")
        #expect(resolved["configs"]?["c"]?["file"]?.scalarText == "/p/lib/c.conf")
        // Positions stay those of the file the values came from.
        #expect(a["build"]?.pos == Position(file: "lib/common.yml", line: 3, column: 12))
        #expect(sink.diagnostics.isEmpty)
    }
}
