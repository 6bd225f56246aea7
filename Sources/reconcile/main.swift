import ReconcileCommands

await ReconcileCommand.main()
