import ArgumentParser

/// `reconcile-workload`: the inference workload that validates a deployment.
public struct WorkloadCommand: AsyncParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "reconcile-workload",
        abstract: "The inference workload that validates a reconcile deployment: a model server and a one-shot benchmark.",
        subcommands: [ServeCommand.self, RunCommand.self, TrainCommand.self, GPUsCommand.self, HealthcheckCommand.self])
}
