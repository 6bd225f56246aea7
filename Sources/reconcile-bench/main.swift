// Planner benchmark: plans a synthetic project of N services × 3 replicas against an
// observed state where 1% of the services differ, and prints wall time and peak memory.
//
//   swift run -c release reconcile-bench            # 1k and 10k services
//   swift run -c release reconcile-bench 1000 5000 10000
//
// Each size runs in its own child process so its peak RSS is its own.
import Foundation
import ReconcileCore

#if canImport(Glibc)
    import Glibc
#endif

func peakRSSMegabytes() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_maxrss) / 1024  // Linux reports KiB
}

/// User plus system CPU seconds of this process: unlike wall time, barely moved by other
/// processes competing for the cores.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
        + Double(usage.ru_stime.tv_usec) / 1e6
}

func syntheticProject(services count: Int, variant: Int) -> Project {
    var services: [Service] = []
    services.reserveCapacity(count)
    for index in 0..<count {
        // 1% of the services carry a different value in the desired state.
        let level = (variant == 1 && index % 100 == 0) ? "debug" : "info"
        services.append(
            Service(
                name: "svc\(index)", image: "registry.local/team/svc\(index % 50):1.\(index % 7)",
                command: ["serve", "--port", "8080"], environment: ["LOG_LEVEL": level, "INDEX": String(index), "TOKEN": "t\(index)"],
                secretEnv: ["TOKEN"], ports: [PortMapping(target: 8080)], networks: [ServiceNetwork(key: "default")],
                healthcheck: Healthcheck(test: ["CMD", "/bin/true"], interval: 5, retries: 3),
                labels: ["team": "ml", "tier": index % 2 == 0 ? "api" : "worker"], replicas: 3,
                limits: ResourceLimits(cpus: 0.5, memoryBytes: 256 << 20)))
    }
    return Project(name: "bench", services: services, networks: [Network(key: "default", name: "bench_default")])
}

func observedState(for project: Project) -> ObservedState {
    var containers: [ObservedContainer] = []
    containers.reserveCapacity(project.services.count * 3)
    var serial = 0
    for service in project.services {
        let config = ReplicaConfig(service: service, project: project)
        let hash = config.hash()
        for replica in 1...service.replicas {
            serial += 1
            containers.append(
                ObservedContainer(
                    id: String(format: "%064x", serial),
                    name: Naming.containerName(project: project.name, service: service.name, replica: replica),
                    labels: config.containerLabels(project: project.name, service: service, replica: replica, hash: hash),
                    image: service.image, state: .running))
        }
    }
    return ObservedState(
        containers: containers,
        networks: [ObservedNetwork(id: "n", name: "bench_default", labels: [LabelKey.project: "bench"])])
}

func runOne(services count: Int) throws {
    let observed = observedState(for: syntheticProject(services: count, variant: 0))
    let desired = syntheticProject(services: count, variant: 1)
    let rssBefore = peakRSSMegabytes()
    let clock = ContinuousClock()
    var result = Plan(project: "")
    let cpuBefore = cpuSeconds()
    let elapsed = try clock.measure {
        result = try plan(desired: desired, observed: observed)
    }
    let cpu = cpuSeconds() - cpuBefore
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let summary = result.summary
    print(
        String(
            format: "%6d services  %6d containers  plan %.3f s wall, %.3f s CPU  peak RSS %.1f MB (inputs %.1f MB)  recreate %d  unchanged %d",
            count, observed.containers.count, seconds, cpu, peakRSSMegabytes(), rssBefore, summary.recreate, summary.unchanged))
}

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "--single", arguments.count == 2, let count = Int(arguments[1]) {
    try runOne(services: count)
} else {
    let sizes = arguments.compactMap(Int.init)
    for size in sizes.isEmpty ? [1000, 10000] : sizes {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        child.arguments = ["--single", String(size)]
        try child.run()
        child.waitUntilExit()
        if child.terminationStatus != 0 { exit(child.terminationStatus) }
    }
}
