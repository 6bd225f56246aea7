import ReconcileCore
import Testing

@testable import ReconcileManifest

@Suite("Interpolation")
struct InterpolationTests {
    @Test("$VAR, ${VAR}, defaults, alternatives, and $$ escapes")
    func forms() throws {
        let env = ["SET": "v", "EMPTY": ""]
        let s = try loadService("""
            environment:
              A: $SET
              B: ${SET}-x
              C: ${UNSET:-def}
              D: ${EMPTY:-def}
              E: ${EMPTY-def}
              F: ${UNSET-def}
              G: ${SET:+alt}
              H: ${EMPTY:+alt}
              I: ${EMPTY+alt}
              J: $$SET and $${SET}
              K: ${UNSET:-${SET}}
              L: pre${SET}post$SET.x
            """, env: env)
        #expect(s.environment == [
            "A": "v", "B": "v-x", "C": "def", "D": "def", "E": "", "F": "def", "G": "alt", "H": "", "I": "alt",
            "J": "$SET and ${SET}", "K": "v", "L": "prevpostv.x",
        ])
    }

    @Test("interpolation applies to values before validation, not to keys")
    func valuesNotKeys() throws {
        let s = try loadService("deploy:\n  replicas: ${N}\nlabels:\n  ${KEY}: ${N}", env: ["N": "3", "KEY": "k"])
        #expect(s.replicas == 3)
        #expect(s.labels == ["${KEY}": "3"])
    }

    @Test("an unset variable without default is empty, with a warning")
    func unset() throws {
        let warns = try warnings("services:\n  a:\n    image: x\n    environment: {A: \"$NOPE\"}\n")
        #expect(warns.count == 1)
        #expect(warns[0].message == "variable `NOPE` is not set; using an empty string")
        #expect(warns[0].line == 4)
    }

    @Test(".env beside the first manifest provides defaults; the process environment wins")
    func dotEnv() throws {
        let fixture = try Fixture([
            "docker-compose.yml": "services:\n  a:\n    image: app:${TAG}\n    environment: [FROM_DOTENV, \"WHO=${WHO}\"]\n",
            ".env": "TAG=1.0\nWHO=dotenv\nFROM_DOTENV=yes\n",
        ])
        defer { fixture.remove() }
        let a = try #require(try fixture.load().project.service(named: "a"))
        #expect(a.image == "app:1.0")
        #expect(a.environment == ["FROM_DOTENV": "yes", "WHO": "dotenv"])
        let b = try #require(try fixture.load(env: ["WHO": "process"]).project.service(named: "a"))
        #expect(b.environment["WHO"] == "process")
    }

    @Test("${VAR:?msg} and ${VAR?msg} failures are errors with the value's position")
    func required() throws {
        let errs = try errors("services:\n  a:\n    image: x\n    environment:\n      A: ${TOKEN:?set the token}\n      B: ${EMPTY?ok}\n      C: ${EMPTY:?empty}\n", env: ["EMPTY": ""])
        #expect(errs.count == 2)
        #expect(errs[0].line == 5 && errs[0].column == 10)
        #expect(errs[0].message == "required variable `TOKEN` is not set or empty: set the token")
        #expect(errs[0].keyPath == "services.a.environment.A")
        #expect(errs[1].line == 7)
    }

    @Test("an unterminated ${ and a bad $ are errors with position")
    func malformed() throws {
        let errs = try errors("services:\n  a:\n    image: \"x:${TAG\"\n    command: echo $ 1\n")
        #expect(errs.count == 2)
        #expect(errs[0].message == "unterminated `${` in `x:${TAG`")
        #expect((errs[0].line, errs[0].column) == (3, 12))
        #expect(errs[1].line == 4)
        #expect(errs[1].hint?.contains("$$") == true)
    }

    @Test(".env lines may use earlier ones; single-quoted .env values are literal; nested ${A?$B} messages interpolate")
    func dotEnvDetails() throws {
        let fixture = try Fixture([
            "docker-compose.yml": "services:\n  a:\n    image: ${REGISTRY}/app:${TAG}\n    environment: {RAW: \"${RAW}\", NEED: \"${NEED?missing $TAG}\"}\n",
            ".env": "HOST=registry.local\nREGISTRY=${HOST}:5000\nTAG=2\nRAW='${HOST}'\n",
        ])
        defer { fixture.remove() }
        let (manifest, diags) = fixture.check()
        #expect(manifest == nil)
        #expect(diags.map(\.message) == ["required variable `NEED` is not set: missing 2"])
        let a = try #require(try fixture.load(env: ["NEED": "x"]).project.service(named: "a"))
        #expect(a.image == "registry.local:5000/app:2")
        #expect(a.environment["RAW"] == "${HOST}")
    }
}
