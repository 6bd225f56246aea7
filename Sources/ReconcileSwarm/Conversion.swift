import DockerEngine
import Foundation
import ReconcileCore

/// The label `docker stack` puts on every object of a stack (service, its containers,
/// networks, volumes, secrets, configs); `docker stack ls/ps/services` filter on it.
public let stackNamespaceLabel = "com.docker.stack.namespace"
/// The image a stack's service was deployed with, on the service (`docker stack deploy` sets it).
public let stackImageLabel = "com.docker.stack.image"

/// What the manifest asks of a swarm: one service spec per Compose service and the
/// networks they use, converted as `docker stack deploy` converts a Compose file, plus
/// reconcile's ownership labels.
public struct SwarmDesired: Sendable, Equatable {
    public var project: String
    /// Sorted by Compose service name.
    public var services: [DesiredSwarmService]
    /// Sorted by key.
    public var networks: [DesiredSwarmNetwork]
    /// Keys Swarm ignores, each with its manifest path and why.
    public var warnings: [SwarmIssue]
    /// Keys Swarm cannot honour: nothing is planned while there are any.
    public var problems: [SwarmIssue]

    public func service(named name: String) -> DesiredSwarmService? { services.first { $0.name == name } }
}

public struct DesiredSwarmService: Sendable, Equatable {
    /// The Compose service name.
    public var name: String
    /// The spec to send; its `name` is `<project>_<service>`.
    public var spec: ServiceSpec
    /// Environment variables whose values are masked in plans.
    public var secretEnv: [String]
    /// nil for a global service.
    public var replicas: Int? {
        spec.mode?.replicated?.replicas
    }
}

public struct DesiredSwarmNetwork: Sendable, Equatable {
    public var key: String
    public var name: String
    public var external: Bool
    public var request: NetworkCreateRequest
}

/// A key of the manifest the swarm cannot honour as written, by its key path; the commands
/// give it the key's file and line.
public struct SwarmIssue: Sendable, Equatable, CustomStringConvertible {
    /// "services.api.depends_on".
    public var keyPath: String
    public var message: String

    public init(_ keyPath: String, _ message: String) {
        self.keyPath = keyPath
        self.message = message
    }

    public var description: String { "\(keyPath): \(message)" }
}

/// The Compose → Swarm conversion, after docker/cli `cli/compose/convert` (service.go,
/// network.go, volume.go): same names, same labels, same defaults where Compose leaves a
/// key out, so that a stack deployed with `docker stack deploy` and one deployed with
/// `reconcile apply --target swarm` have the same specs (bar reconcile's own labels).
public enum SwarmConversion {
    /// The GPU generic resource kind nodes advertise (`node-generic-resources`) and services
    /// reserve; the NVIDIA container runtime reads it from `DOCKER_RESOURCE_NVIDIA-GPU`.
    public static let gpuResourceKind = "NVIDIA-GPU"

    public static func convert(_ project: Project) -> SwarmDesired {
        var warnings: [SwarmIssue] = []
        var problems: [SwarmIssue] = []
        let ns = project.name
        var networks: [DesiredSwarmNetwork] = []
        for network in project.networks {
            if network.driver != nil, network.driver != "overlay" {
                problems.append(SwarmIssue("networks.\(network.key).driver", "`\(network.driver ?? "")` networks do not span a swarm; use `driver: overlay` (the default on Swarm)"))
            }
            var labels = network.labels
            labels[stackNamespaceLabel] = ns
            labels[LabelKey.project] = ns
            labels[LabelKey.resourceKey] = network.key
            let ipam = network.subnets.isEmpty ? nil : IPAM(driver: "default", config: network.subnets.map { IPAMConfig(subnet: $0) })
            networks.append(
                DesiredSwarmNetwork(
                    key: network.key, name: network.name, external: network.external,
                    request: NetworkCreateRequest(
                        name: network.name, driver: "overlay", internal: network.internal ? true : nil,
                        attachable: network.attachable ? true : nil, ipam: ipam, enableIPv6: network.enableIPv6 ? true : nil,
                        options: network.driverOpts.isEmpty ? nil : network.driverOpts, labels: labels)))
        }
        var services: [DesiredSwarmService] = []
        for service in project.services {
            let path = "services.\(service.name)"
            ignoredKeys(service, path: path, warnings: &warnings, problems: &problems)
            services.append(
                DesiredSwarmService(
                    name: service.name, spec: spec(service, project: project, path: path, problems: &problems),
                    secretEnv: service.secretEnv))
        }
        if project.secrets?.isEmpty == false || project.configs?.isEmpty == false {
            problems.append(SwarmIssue("secrets, configs", "not converted to Swarm secrets and configs yet; pass them as files in the image or deploy this project to one host"))
        }
        return SwarmDesired(project: ns, services: services, networks: networks, warnings: warnings, problems: problems)
    }

    /// `<project>_<name>`, as `docker stack` scopes every object it names.
    public static func scoped(_ project: String, _ name: String) -> String { "\(project)_\(name)" }

    static func spec(_ service: Service, project: Project, path: String, problems: inout [SwarmIssue]) -> ServiceSpec {
        let ns = project.name
        var container = SwarmContainerSpec(image: service.image)
        var containerLabels = service.labels
        containerLabels[stackNamespaceLabel] = ns
        container.labels = containerLabels
        container.command = service.entrypoint
        container.args = service.command
        container.hostname = service.hostname
        if !service.environment.isEmpty {
            container.env = service.environment.map { "\($0.key)=\($0.value)" }.sorted()
        }
        container.dir = service.workingDir
        container.user = service.user
        // The docker CLI's Compose loader gives every service its default, the engine's 10 s.
        container.stopGracePeriod = nanoseconds(service.stopGracePeriod ?? 10)
        container.stopSignal = service.stopSignal
        container.`init` = service.initProcess
        if !service.capAdd.isEmpty { container.capabilityAdd = service.capAdd }
        if !service.capDrop.isEmpty { container.capabilityDrop = service.capDrop }
        if !service.ulimits.isEmpty {
            container.ulimits = service.ulimits.map { SwarmUlimit(name: $0.name, soft: $0.soft, hard: $0.hard) }.sorted { $0.name < $1.name }
        }
        if !service.extraHosts.isEmpty {
            // "HOST:IP" → "IP HOST", the /etc/hosts order the engine's Hosts field takes.
            container.hosts = service.extraHosts.map { entry in
                guard let colon = entry.firstIndex(of: ":") else { return entry }
                return "\(entry[entry.index(after: colon)...]) \(entry[..<colon])"
            }
        }
        container.readOnly = service.options?.readOnly
        if let health = service.healthcheck {
            if health.disabled {
                container.healthCheck = SwarmHealthConfig(test: ["NONE"])
            } else {
                container.healthCheck = SwarmHealthConfig(
                    test: health.test, interval: health.interval.map(nanoseconds), timeout: health.timeout.map(nanoseconds),
                    retries: health.retries, startPeriod: health.startPeriod.map(nanoseconds))
            }
        }
        var mounts: [SwarmMount] = []
        for mount in service.mounts {
            switch mount.type {
            case .volume:
                if let source = mount.source {
                    let volume = project.volume(key: source)
                    var options: SwarmMount.VolumeOptions?
                    if let volume, !volume.external {
                        var labels = volume.labels
                        labels[stackNamespaceLabel] = ns
                        options = SwarmMount.VolumeOptions(
                            labels: labels,
                            driverConfig: volume.driver.map { SwarmDriver(name: $0, options: volume.driverOpts.isEmpty ? nil : volume.driverOpts) })
                    }
                    mounts.append(SwarmMount(type: "volume", source: volume?.name ?? source, target: mount.target, readOnly: mount.readOnly ? true : nil, volumeOptions: options))
                } else {
                    mounts.append(SwarmMount(type: "volume", target: mount.target, readOnly: mount.readOnly ? true : nil))
                }
            case .bind:
                mounts.append(SwarmMount(type: "bind", source: mount.source, target: mount.target, readOnly: mount.readOnly ? true : nil))
            case .tmpfs:
                mounts.append(SwarmMount(type: "tmpfs", target: mount.target, readOnly: mount.readOnly ? true : nil))
            }
        }
        for entry in service.tmpfs {
            let target = entry.split(separator: ":", maxSplits: 1).first.map(String.init) ?? entry
            mounts.append(SwarmMount(type: "tmpfs", target: target))
        }
        if !mounts.isEmpty { container.mounts = mounts }

        var task = TaskSpec(containerSpec: container)
        task.resources = resources(service, path: path, problems: &problems)
        task.restartPolicy = restartPolicy(service.restart)
        if let logging = service.logging, logging.driver != nil || !logging.options.isEmpty {
            task.logDriver = SwarmDriver(name: logging.driver, options: logging.options.isEmpty ? nil : logging.options)
        }
        let attachments = service.networks.compactMap { membership -> NetworkAttachmentConfig? in
            guard let network = project.network(key: membership.key) else { return nil }
            if membership.ipv4Address != nil {
                problems.append(SwarmIssue("\(path).networks.\(membership.key).ipv4_address", "Swarm assigns task addresses itself; remove it"))
            }
            return NetworkAttachmentConfig(target: network.name, aliases: membership.aliases + [service.name])
        }
        if !attachments.isEmpty { task.networks = attachments.sorted { $0.target < $1.target } }

        let swarm = service.swarm ?? SwarmDeploy()
        if !swarm.constraints.isEmpty || !swarm.spreads.isEmpty || swarm.maxReplicasPerNode != nil {
            task.placement = SwarmPlacement(
                constraints: swarm.constraints.isEmpty ? nil : swarm.constraints,
                preferences: swarm.spreads.isEmpty ? nil : swarm.spreads.map { SwarmPlacement.Preference(spread: $0) },
                maxReplicas: swarm.maxReplicasPerNode)
        }
        var labels = swarm.labels
        labels[stackNamespaceLabel] = ns
        labels[stackImageLabel] = service.image
        labels[LabelKey.project] = ns
        labels[LabelKey.service] = service.name
        var ports: [SwarmPortConfig] = []
        for (index, port) in service.ports.enumerated() {
            if port.hostIP != nil {
                problems.append(SwarmIssue("\(path).ports[\(index)]", "a host IP cannot be published on Swarm (the routing mesh listens on every node's addresses); remove `host_ip`"))
            }
            if port.publishedEnd != nil {
                problems.append(SwarmIssue("\(path).ports[\(index)]", "a host port range cannot be published on Swarm; publish one port, the routing mesh balances it over the tasks"))
            }
            ports.append(
                SwarmPortConfig(protocol: port.proto, targetPort: port.target, publishedPort: port.published, publishMode: "ingress"))
        }
        let endpoint = EndpointSpec(
            mode: swarm.endpointMode ?? "vip", ports: ports.isEmpty ? nil : ports.sorted { ($0.publishedPort ?? 0, $0.targetPort) < ($1.publishedPort ?? 0, $1.targetPort) })
        return ServiceSpec(
            name: scoped(ns, service.name), labels: labels, taskTemplate: task, mode: swarm.global ? .global : .replicated(service.replicas),
            updateConfig: updateConfig(service.updateConfig, rollback: false),
            rollbackConfig: updateConfig(service.rollbackConfig, rollback: true), endpointSpec: endpoint)
    }

    /// The policy with the defaults `docker stack deploy` sends where Compose leaves a key
    /// out: 1 task at a time, no delay, pause on failure, a 5 s monitor, stop-first.
    static func updateConfig(_ policy: UpdatePolicy, rollback: Bool) -> SwarmUpdateConfig? {
        var action = policy.failureAction.rawValue
        if rollback && action == "rollback" { action = "pause" }
        return SwarmUpdateConfig(
            parallelism: policy.parallelism ?? 1, delay: policy.delay == 0 ? nil : nanoseconds(policy.delay), failureAction: action,
            monitor: nanoseconds(policy.monitor ?? 5), maxFailureRatio: 0, order: (policy.order ?? .stopFirst).rawValue)
    }

    /// How the swarm rolls an update of this spec (engine defaults where it sets none).
    public static func rolling(_ spec: ServiceSpec) -> SwarmRolling {
        let config = spec.updateConfig
        return SwarmRolling(
            parallelism: config?.parallelism ?? 1, order: config?.order ?? "stop-first",
            failureAction: (config?.failureAction).flatMap { $0.isEmpty ? nil : $0 } ?? "pause")
    }

    /// As the docker CLI sends it: always present, 5 s between restarts, `any` when the
    /// manifest says nothing (a Swarm task is restarted unless told otherwise).
    static func restartPolicy(_ restart: String?) -> SwarmRestartPolicy? {
        let delay: Int64 = 5_000_000_000
        switch restart ?? "always" {
        case "no": return SwarmRestartPolicy(condition: "none", delay: delay, maxAttempts: 0)
        case "on-failure": return SwarmRestartPolicy(condition: "on-failure", delay: delay, maxAttempts: 0)
        case let text where text.hasPrefix("on-failure:"):
            return SwarmRestartPolicy(condition: "on-failure", delay: delay, maxAttempts: Int(text.dropFirst("on-failure:".count)) ?? 0)
        default: return SwarmRestartPolicy(condition: "any", delay: delay, maxAttempts: 0)
        }
    }

    static func resources(_ service: Service, path: String, problems: inout [SwarmIssue]) -> SwarmResourceRequirements? {
        var limits = SwarmResources()
        limits.nanoCPUs = service.limits.cpus.map { Int64(($0 * 1e9).rounded()) }
        limits.memoryBytes = service.limits.memoryBytes
        limits.pids = service.limits.pids.map(Int64.init)
        var gpus: Int64 = 0
        for device in service.devices {
            guard device.isGPU else {
                problems.append(SwarmIssue("\(path).deploy.resources.reservations.devices", "only GPU devices map to Swarm (as `\(gpuResourceKind)` generic resources)"))
                continue
            }
            switch device.count {
            case .exactly(let count)?: gpus += Int64(count)
            case .all?, nil:
                if let ids = device.deviceIDs {
                    problems.append(SwarmIssue("\(path)", "GPU device_ids \(ids.joined(separator: ",")) name GPUs of one host; on Swarm reserve a number of them (`count: \(ids.count)`) and the scheduler picks free ones"))
                } else {
                    problems.append(SwarmIssue("\(path)", "`count: all` GPUs has no meaning across nodes; on Swarm reserve a number of GPUs (`count: 1`)"))
                }
            }
        }
        let swarm = service.swarm ?? SwarmDeploy()
        var generic = swarm.genericResources
        if gpus > 0 { generic[gpuResourceKind, default: 0] += gpus }
        let reserved = SwarmResources(
            nanoCPUs: swarm.reservedCPUs.map { Int64(($0 * 1e9).rounded()) }, memoryBytes: swarm.reservedMemoryBytes,
            genericResources: generic.isEmpty ? nil : generic.sorted { $0.key < $1.key }.map { GenericResource(discrete: $0.key, value: $0.value) })
        let reservations = reserved == SwarmResources() ? nil : reserved
        let hasLimits = limits != SwarmResources()
        if !hasLimits && reservations == nil { return nil }
        return SwarmResourceRequirements(limits: hasLimits ? limits : nil, reservations: reservations)
    }

    /// Keys of the single-host model Swarm does not honour: a warning when ignoring them is
    /// harmless, a problem when the service would behave otherwise than the manifest says.
    static func ignoredKeys(_ service: Service, path: String, warnings: inout [SwarmIssue], problems: inout [SwarmIssue]) {
        if !service.dependsOn.isEmpty {
            warnings.append(SwarmIssue("\(path).depends_on", "ignored by Swarm, which starts services in any order; make the service wait for what it needs (a healthcheck and restart_policy)"))
        }
        if service.build != nil {
            problems.append(SwarmIssue("\(path).build", "Swarm nodes do not build images; build the image, load or push it to every node, and give `image:`"))
        }
        if !service.expose.isEmpty {
            warnings.append(SwarmIssue("\(path).expose", "ignored by Swarm; services on a network reach each other's ports without it"))
        }
        if service.shmSize != nil { problems.append(SwarmIssue("\(path).shm_size", "not supported by Swarm services (API 1.41)")) }
        if service.ipc != nil { warnings.append(SwarmIssue("\(path).ipc", "ignored by Swarm")) }
        if service.pullPolicy != nil { warnings.append(SwarmIssue("\(path).pull_policy", "ignored by Swarm; nodes pull when the image is missing")) }
        if service.runtime != nil { warnings.append(SwarmIssue("\(path).runtime", "ignored by Swarm; set the runtime in each node's daemon.json")) }
        if service.extensions.validate != nil {
            warnings.append(SwarmIssue("\(path).x-reconcile.validate", "not run on Swarm yet; the rollout is gated by the healthcheck and update_config.monitor"))
        }
        if service.extensions.gpuPlacement == .shared, service.devices.contains(where: \.isGPU) {
            warnings.append(SwarmIssue("\(path).x-reconcile.gpu_placement", "shared placement is not possible on Swarm; each task gets GPUs of its own"))
        }
        if service.stopSignal == nil, service.initProcess == nil {
            // Nothing: both are the engine's defaults.
        }
        guard let options = service.options, !options.isEmpty,
            let data = try? JSONEncoder().encode(options),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return }
        let honoured: Set<String> = ["readOnly"]
        let refused: Set<String> = ["networkMode", "privileged", "devices", "pid", "volumesFrom", "links"]
        for key in object.keys.sorted() where !honoured.contains(key) {
            let spelled = snakeCase(key)
            if refused.contains(key) {
                problems.append(SwarmIssue("\(path).\(spelled)", "not supported by Swarm services; remove it or deploy this service to one host"))
            } else {
                warnings.append(SwarmIssue("\(path).\(spelled)", "ignored by Swarm services"))
            }
        }
    }

    static func snakeCase(_ key: String) -> String {
        var out = ""
        for ch in key {
            if ch.isUppercase { out += "_" + ch.lowercased() } else { out.append(ch) }
        }
        return out
    }

    static func nanoseconds(_ seconds: Double) -> Int64 { Int64((seconds * 1e9).rounded()) }
}
