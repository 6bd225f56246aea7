import ArgumentParser
import DockerEngine
import Foundation
import ReconcileCore
import ReconcileRuntime

/// `reconcile validate`: checks what is deployed now, changing nothing.
struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Validate what is deployed now with each service's x-reconcile.validate, without changing it.",
        discussion: "Exits 0 when every validation passes, 1 when one fails or cannot run."
    )

    @OptionGroup var manifest: ManifestOptions
    @OptionGroup var engine: EngineOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "Validate only this service. Repeatable.")
    var service: [String] = []

    @Option(help: "Image of validation jobs without validate.image (default: $RECONCILE_WORKLOAD_IMAGE, else reconcile:dev).")
    var workloadImage: String?

    func run() async throws {
        let reports: [ServiceValidation]
        do {
            let project = try manifest.load().project
            for name in service where project.service(named: name)?.extensions.validate == nil {
                throw CLIError(project.service(named: name) == nil
                    ? "no service \(name) in the manifest"
                    : "service \(name) declares no x-reconcile.validate: add one (docs/history.md)")
            }
            reports = try await withEngine(engine) { client in
                var options = ValidationOptions.forEngine(client)
                if let workloadImage { options.workloadImage = workloadImage }
                let text = output.output == .text
                let validator = Validator(client: client, project: project, options: options) { line in
                    if text { Console.err(line) }
                }
                let services = validator.services(service.isEmpty ? nil : Set(service))
                if services.isEmpty { throw CLIError("no service of \(project.name) declares x-reconcile.validate") }
                return await validator.validate(services)
            }
        } catch {
            try report(error, format: output.output)
            throw ExitCode.failure
        }
        switch output.output {
        case .json: try Console.json(ValidateReport(passed: reports.allSatisfy(\.passed), services: reports))
        case .text: for report in reports { Console.out(RevisionText.validation(report)) }
        }
        if !reports.allSatisfy(\.passed) { throw ExitCode.failure }
    }
}

struct ValidateReport: Encodable {
    var passed: Bool
    var services: [ServiceValidation]
}
