import ArgumentParser

public struct ReconcileCommand: AsyncParsableCommand {
    public init() {}
    public static let configuration = CommandConfiguration(commandName: "reconcile")
    public func run() async throws {}
}
