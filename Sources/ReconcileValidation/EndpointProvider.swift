import Foundation

/// One request of endpoint validation and the answer a correct model gives it.
public struct EndpointCase: Sendable, Equatable {
    /// The JSON body POSTed to the provider's path.
    public var body: String
    /// The prediction a correct model answers.
    public var expect: JSONValue

    public init(body: String, expect: JSONValue) {
        self.body = body
        self.expect = expect
    }
}

/// What endpoint validation sends a replica and how it reads the answers: the bundled
/// workload's golden digits (`BundledWorkload`), or a user's own requests file
/// (`RequestFileProvider`) for any model server.
public protocol EndpointProvider: Sendable {
    /// The HTTP path requests are POSTed to, e.g. `/v1/predict`.
    var path: String { get }
    /// The requests, sent in turn (each worker starts at its own offset).
    var cases: [EndpointCase] { get }
    /// Where the prediction is in an answer.
    var prediction: JSONPath { get }
    /// A path answering GET with a small JSON object whose `device` names where the model
    /// runs ("cpu", "gpu"), or nil when the server has none.
    var devicePath: String? { get }
}

/// Why an answer is not a prediction.
public struct AnswerError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
}

extension EndpointProvider {
    /// Whether one answer body holds the prediction case `index` expects.
    public func check(_ answer: Data, against index: Int) -> Result<Bool, AnswerError> {
        guard let value = try? JSONValue(parsing: answer) else {
            return .failure(AnswerError(description: "the answer is not JSON: \(String(decoding: answer.prefix(200), as: UTF8.self))"))
        }
        guard let predicted = prediction.evaluate(value) else {
            return .failure(AnswerError(description: "the answer has nothing at \(prediction): \(String(decoding: answer.prefix(200), as: UTF8.self))"))
        }
        return .success(predicted.matches(cases[index].expect))
    }
}

/// A user's own requests and expected answers (`x-reconcile.validate.requests`), for a model
/// server that is not the bundled workload.
public struct RequestFileProvider: EndpointProvider {
    public var path: String
    public var cases: [EndpointCase]
    public var prediction: JSONPath
    public var devicePath: String? { nil }

    public init(path: String, cases: [EndpointCase], prediction: JSONPath) {
        self.path = path
        self.cases = cases
        self.prediction = prediction
    }

    /// `validate.prediction` when not set: the whole answer is the prediction.
    public static let wholeAnswer = try! JSONPath(parsing: "$")
}

/// The requests file: JSON Lines, one `{"request": BODY, "expect": VALUE}` object per line
/// (blank lines and lines starting with `#` are skipped). BODY is any JSON value, sent as the
/// request's body; VALUE is compared with the prediction the answer holds.
public enum RequestFile {
    public struct LineError: Sendable, Equatable {
        public var line: Int
        public var message: String
    }

    /// The most requests one file may hold.
    public static let maxCases = 10_000

    public static func parse(_ text: String) -> (cases: [EndpointCase], errors: [LineError]) {
        var cases: [EndpointCase] = []
        var errors: [LineError] = []
        for (offset, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let number = offset + 1
            guard let value = try? JSONValue(parsing: Data(line.utf8)), case .object(let members) = value else {
                errors.append(LineError(line: number, message: "not a JSON object: write {\"request\": {...}, \"expect\": ...} on one line"))
                continue
            }
            let unknown = members.keys.filter { $0 != "request" && $0 != "expect" }.sorted()
            if !unknown.isEmpty {
                errors.append(LineError(line: number, message: "unknown key\(unknown.count == 1 ? "" : "s") \(unknown.map { "`\($0)`" }.joined(separator: ", ")): only `request` and `expect`"))
                continue
            }
            guard let request = members["request"] else {
                errors.append(LineError(line: number, message: "missing `request`: the JSON body to send"))
                continue
            }
            guard let expect = members["expect"] else {
                errors.append(LineError(line: number, message: "missing `expect`: the prediction a correct model answers"))
                continue
            }
            cases.append(EndpointCase(body: request.description, expect: expect))
        }
        if cases.isEmpty && errors.isEmpty {
            errors.append(LineError(line: 1, message: "the file holds no request"))
        }
        if cases.count > maxCases {
            errors.append(LineError(line: 1, message: "\(cases.count) requests: at most \(maxCases)"))
        }
        return (cases, errors)
    }
}
