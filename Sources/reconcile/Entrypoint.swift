import ReconcileCommands

@main
struct Entrypoint {
    static func main() async {
        await ReconcileCommand.main(nil)
    }
}
