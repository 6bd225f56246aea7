import Foundation
import ReconcileCore
import ReconcileRuntime
import Testing

@Suite("Secret redaction of container output")
struct SecretRedactorTests {
    @Test("secret_env values, secret contents and file secrets (whole and by line) are masked; short values and other text are kept")
    func masks() throws {
        let path = NSTemporaryDirectory() + "redactor-" + UUID().uuidString
        try "first-line-secret\nsecond-line-secret\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var service = Service(name: "api", image: "x")
        service.environment = ["API_KEY": "key-123456", "PLAIN": "visible-value", "SHORT": "1"]
        service.secretEnv = ["API_KEY", "SHORT"]
        var project = Project(name: "p", services: [service])
        project.secrets = [
            FileObject(key: "a", source: .environment, reference: "VAR", content: "from-the-environment"),
            FileObject(key: "b", source: .file, reference: path),
        ]
        let redactor = SecretRedactor(project: project)
        let text = "API_KEY=key-123456\nPLAIN=visible-value\nSHORT=1\nfrom-the-environment\nfirst-line-secret\nsecond-line-secret\n"
        let out = redactor.redact(text)
        #expect(out == "API_KEY=(sensitive)\nPLAIN=visible-value\nSHORT=1\n(sensitive)\n(sensitive)")
        #expect(!out.contains("secret") && !out.contains("key-123456"))
    }
}
