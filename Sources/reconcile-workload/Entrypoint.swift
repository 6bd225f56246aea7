import WorkloadCommands

@main
struct Entrypoint {
    static func main() async {
        await WorkloadCommand.main(nil)
    }
}
