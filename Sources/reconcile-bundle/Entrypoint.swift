import ReconcileCommands
import WorkloadCommands
import WorkloadCore

/// The image's one executable: `reconcile`, and the workload when it is run under the name
/// `reconcile-workload` (a symbolic link), so the image carries one copy of the static
/// Swift runtime instead of two.
@main
struct Entrypoint {
    static func main() async {
        let invokedAs = CommandLine.arguments.first?.split(separator: "/").last.map(String.init) ?? ""
        if invokedAs == "reconcile-workload" {
            await WorkloadCommand.main(nil)
        } else {
            // reconcile does no BLAS work: OpenBLAS's threads, started at load, only spin.
            BLAS.stopThreads()
            await ReconcileCommand.main(nil)
        }
    }
}
