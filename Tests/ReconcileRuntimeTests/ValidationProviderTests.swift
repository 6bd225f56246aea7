import Foundation
import ReconcileCore
import ReconcileValidation
import Testing

@Suite("validation providers")
struct ValidationProviderTests {
    @Test("JSON paths name one value: keys, indices, quoted keys, with or without $")
    func jsonPaths() throws {
        let answer = try JSONValue(parsing: Data(#"{"predictions": [7, 1], "result": {"label": "cat", "class name": "x"}}"#.utf8))
        #expect(try JSONPath(parsing: "$.predictions[0]").evaluate(answer) == .number(7))
        #expect(try JSONPath(parsing: "predictions[1]").evaluate(answer) == .number(1))
        #expect(try JSONPath(parsing: "$.result.label").evaluate(answer) == .string("cat"))
        #expect(try JSONPath(parsing: "$.result['class name']").evaluate(answer) == .string("x"))
        #expect(try JSONPath(parsing: "$").evaluate(answer) == answer)
        #expect(try JSONPath(parsing: "$.predictions[5]").evaluate(answer) == nil)
        #expect(try JSONPath(parsing: "$.result.label.deeper").evaluate(answer) == nil)
        for bad in ["$.", "$.a[", "$.a[x]", "$.a[-1]", "$..a"] {
            #expect(throws: JSONPath.ParseError.self, "\(bad)") { try JSONPath(parsing: bad) }
        }
    }

    @Test("answers match as JSON values: numbers within a relative 1e-9, objects whatever their key order")
    func matching() throws {
        #expect(JSONValue.number(3).matches(.number(3.0000000000001)))
        #expect(!JSONValue.number(3).matches(.number(3.01)))
        #expect(!JSONValue.number(3).matches(.string("3")))
        let a = try JSONValue(parsing: Data(#"{"b": [1, "x"], "a": null}"#.utf8))
        let b = try JSONValue(parsing: Data(#"{"a": null, "b": [1.0, "x"]}"#.utf8))
        #expect(a.matches(b))
        #expect(a.description == #"{"a":null,"b":[1,"x"]}"#)
    }

    @Test("a requests file is JSON Lines of request and expect; every bad line is named")
    func requestFile() {
        let parsed = RequestFile.parse("""
            # comment
            {"request": {"text": "hi"}, "expect": "greeting"}

            {"request": {"text": "x"}}
            {"request": 1, "expect": 2, "extra": true}
            [1, 2]
            """)
        #expect(parsed.cases == [EndpointCase(body: #"{"text":"hi"}"#, expect: .string("greeting"))])
        #expect(parsed.errors.map(\.line) == [4, 5, 6])
        #expect(parsed.errors[1].message.contains("`extra`"))
        #expect(RequestFile.parse("\n# nothing\n").errors.first?.message == "the file holds no request")
    }

    @Test("a provider reads the prediction at its JSON path and says what an answer lacks")
    func providerCheck() {
        let provider = RequestFileProvider(path: "/predict", cases: [EndpointCase(body: "{}", expect: .string("cat"))],
                                           prediction: try! JSONPath(parsing: "$.label"))
        #expect(provider.check(Data(#"{"label": "cat"}"#.utf8), against: 0) == .success(true))
        #expect(provider.check(Data(#"{"label": "dog"}"#.utf8), against: 0) == .success(false))
        guard case .failure(let missing) = provider.check(Data(#"{"other": 1}"#.utf8), against: 0) else { Issue.record("no failure"); return }
        #expect(missing.description.contains("nothing at $.label"))
        guard case .failure(let notJSON) = provider.check(Data("<html>".utf8), against: 0) else { Issue.record("no failure"); return }
        #expect(notJSON.description.contains("not JSON"))
        // The bundled workload: golden digits to /v1/predict, prediction at $.predictions[0].
        let bundled = BundledWorkload()
        #expect(bundled.path == "/v1/predict" && bundled.cases.count == GoldenDigits.rows.count && bundled.devicePath == "/healthz")
        #expect(bundled.check(Data(#"{"predictions": [\#(GoldenDigits.label(0))]}"#.utf8), against: 0) == .success(true))
    }

    /// `cat /proc/net/tcp /proc/net/tcp6` of a container whose server listens on 127.0.0.1:8080
    /// and [::1]:9000, with one established connection and one listener on all addresses (:22).
    static let procNetTCP = """
          sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
           0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0
           1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12346 1 0000000000000000 100 0 0 10 0
           2: 0200A8C0:1F90 0100A8C0:D431 01 00000000:00000000 00:00000000 00000000     0        0 12347 1 0000000000000000 20 4 30 10 -1
          sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
           0: 00000000000000000000000001000000:2328 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 100 0 0 10 0
           1: 0000000000000000FFFF00000100007F:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 100 0 0 10 0
        """

    @Test("listeners are read from /proc/net/tcp and tcp6, and a refused port gets one sentence saying why")
    func listeners() {
        let found = Listener.parse(procNetTCP: Self.procNetTCP)
        #expect(found.map(\.description) == ["127.0.0.1:8080", "0.0.0.0:22", "[::1]:9000", "[::ffff:127.0.0.1]:80"])
        #expect(found.map(\.isLoopback) == [true, false, true, true])
        let loopback = Listener.explain(port: 8080, replica: "replica 1", listeners: found)
        #expect(loopback?.contains("listens on 127.0.0.1:8080 inside the container") == true)
        #expect(loopback?.contains("listen on all addresses") == true)
        let elsewhere = Listener.explain(port: 5000, replica: "replica 2", listeners: found)
        #expect(elsewhere?.contains("nothing listens on 5000") == true && elsewhere?.contains("127.0.0.1:8080") == true)
        #expect(Listener.explain(port: 22, replica: "replica 1", listeners: found) == nil)
        #expect(Listener.explain(port: 80, replica: "replica 1", listeners: [])?.contains("nothing listens at all") == true)
    }
}
