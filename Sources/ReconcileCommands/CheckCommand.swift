import ArgumentParser
import ReconcileCore
import ReconcileManifest

/// `reconcile check`: validate manifests without an engine.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate manifests without touching any engine.",
        discussion: "Prints every problem in every file with its position, and exits 1 when there is an error, 0 otherwise."
    )

    @OptionGroup var manifest: ManifestOptions
    @OptionGroup var output: OutputOptions

    @Option(
        help: "baseline (default): refuse settings that give a container the host unless x-reconcile.allow lists them; restricted: also warn on a root user, a writable root filesystem, ports on all addresses, kept capabilities and new privileges (docs/security.md).")
    var policy: PolicyLevel = .baseline

    struct Report: Encodable {
        var valid: Bool
        var project: String?
        var services: [String]?
        var diagnostics: [DiagnosticView]
    }

    func run() throws {
        var loader = manifest.loader()
        loader.policy = policy
        let (loaded, diagnostics) = loader.check(paths: try manifest.resolvedPaths())
        let valid = !diagnostics.contains { $0.severity == .error }
        switch output.output {
        case .json:
            try Console.json(
                Report(
                    valid: valid, project: loaded?.project.name, services: loaded?.project.services.map(\.name),
                    diagnostics: diagnostics.map(DiagnosticView.init)))
        case .text:
            Console.diagnostics(diagnostics)
            if valid, let loaded {
                let replicas = loaded.project.services.reduce(0) { $0 + $1.replicas }
                Console.out(
                    "\(loaded.files.joined(separator: ", ")): valid: project \(loaded.project.name), \(loaded.project.services.count) services, \(replicas) replicas"
                )
            } else {
                let errors = diagnostics.filter { $0.severity == .error }.count
                Console.err("\(errors) error\(errors == 1 ? "" : "s") found")
            }
        }
        if !valid { throw ExitCode.failure }
    }
}

extension PolicyLevel: ExpressibleByArgument {}
