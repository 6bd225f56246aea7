import DockerEngine
import Foundation
import ReconcileCore
import ReconcileManifest

extension Executor {
    /// Builds a service's image from its context through `POST /build`, tagged with its
    /// content tag and its extra tags, streaming the builder's lines as progress. A failed
    /// build names the Dockerfile line of the instruction that failed.
    func buildImage(_ step: PlanStep) async throws {
        guard let name = step.service, let service = project.service(named: name), let build = service.build else {
            throw ExecutionError("step \(step.resource) names no service with `build`")
        }
        let now = try BuildContext.currentDigest(build)
        guard now == build.digest else {
            throw ExecutionError(
                "the build context \(build.context) changed after the plan was made (its digest is \(now.prefix(BuildSpec.tagDigestLength)), the plan's image is \(build.contentTag)): run apply again to plan from the files as they are")
        }
        let context = try BuildContext.archive(build)
        let options = BuildOptions(
            tags: [build.contentTag] + build.tags.filter { $0 != build.contentTag }, dockerfile: build.dockerfile,
            buildArgs: build.args, target: build.target, labels: build.labels, shmSize: build.shmSize,
            extraHosts: build.extraHosts, networkMode: build.network, noCache: build.noCache, pull: build.pull,
            cacheFrom: build.cacheFrom)
        let emit = self.emit
        do {
            _ = try await client.build(context: context, options: options) { message in
                for line in Executor.progressLines(message) { emit(.stepProgress(step, line)) }
            }
        } catch let failure as BuildFailure {
            throw ExecutionError(Executor.describe(failure, build: build))
        }
    }

    /// The lines of one build message worth showing: the builder's output, one line each.
    static func progressLines(_ message: BuildMessage) -> [String] {
        if let stream = message.stream {
            return stream.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        if let status = message.status {
            return [[message.id, status, message.progress].compactMap { $0 }.joined(separator: " ")]
        }
        return []
    }

    /// "build failed at Dockerfile line 4 (RUN false): The command … returned a non-zero code: 1".
    static func describe(_ failure: BuildFailure, build: BuildSpec) -> String {
        let inline = build.dockerfileInline
        let file = inline != nil ? "the inline Dockerfile" : (build.context as NSString).appendingPathComponent(build.dockerfile)
        let text = inline ?? (try? String(contentsOfFile: file, encoding: .utf8))
        if let step = failure.failedStep, let text, let line = BuildContext.dockerfileLine(ofStep: step, in: text) {
            return "build failed at \(file):\(line.number) (\(line.text)): \(failure.message)"
        }
        return "build failed (\(file)): \(failure.message)"
    }
}
