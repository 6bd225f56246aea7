import ArgumentParser

/// `reconcile`: keeps a Docker host in the state its manifests declare.
public struct ReconcileCommand: AsyncParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Keep a Docker host in the state a Compose manifest declares.",
        discussion: """
            Reads Compose files (plus x-reconcile extensions), compares them with the live Docker \
            engine, and shows or applies exactly what must change.
            """,
        version: ReconcileVersion.current,
        subcommands: [
            CheckCommand.self, PlanCommand.self, ApplyCommand.self, StatusCommand.self, ValidateCommand.self, HistoryCommand.self,
            RollbackCommand.self, DiffCommand.self, DestroyCommand.self, UnlockCommand.self, ControllerCommand.self,
        ]
    )
}

public enum ReconcileVersion {
    public static let current = "0.1.0"
}
