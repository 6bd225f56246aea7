/// Memberwise initializers for the engine's answers, which are otherwise only decoded: for
/// engines other than dockerd (the test support's fake) and tests that build answers.
extension ContainerSummary {
    public init(
        id: String, names: [String], image: String? = nil, imageID: String? = nil, command: String? = nil,
        created: Int64? = nil, ports: [Port]? = nil, labels: [String: String]? = nil, state: String? = nil,
        status: String? = nil, networks: [String: EndpointSettings]? = nil, mounts: [MountPoint]? = nil
    ) {
        self.id = id
        self.names = names
        self.image = image
        self.imageID = imageID
        self.command = command
        self.created = created
        self.ports = ports
        self.labels = labels
        self.state = state
        self.status = status
        self.networkSettings = networks.map { SummaryNetworkSettings(networks: $0) }
        self.mounts = mounts
    }
}

extension ContainerCreateResponse {
    public init(id: String) {
        self.id = id
        self.warnings = nil
    }
}

extension ContainerInspect {
    public init(
        id: String, name: String, created: String? = nil, path: String? = nil, args: [String]? = nil,
        state: ContainerState? = nil, image: String? = nil, restartCount: Int? = nil, hostConfig: HostConfig? = nil,
        mounts: [MountPoint]? = nil, config: ContainerConfig? = nil, networkSettings: NetworkSettings? = nil
    ) {
        self.id = id
        self.name = name
        self.created = created
        self.path = path
        self.args = args
        self.state = state
        self.image = image
        self.restartCount = restartCount
        self.driver = nil
        self.platform = nil
        self.hostConfig = hostConfig
        self.mounts = mounts
        self.config = config
        self.networkSettings = networkSettings
    }
}

extension ContainerState {
    public init(
        status: String?, running: Bool? = nil, paused: Bool? = nil, restarting: Bool? = nil, oomKilled: Bool? = nil,
        dead: Bool? = nil, exitCode: Int? = nil, health: Health? = nil
    ) {
        self.status = status
        self.running = running
        self.paused = paused
        self.restarting = restarting
        self.oomKilled = oomKilled
        self.dead = dead
        self.pid = nil
        self.exitCode = exitCode
        self.error = nil
        self.startedAt = nil
        self.finishedAt = nil
        self.health = health
    }
}

extension Health {
    public init(status: String?) {
        self.status = status
        self.failingStreak = nil
        self.log = nil
    }
}

extension NetworkSettings {
    public init(networks: [String: EndpointSettings]?) {
        self.ports = nil
        self.networks = networks
        self.ipAddress = nil
    }
}

extension ContainerWaitResponse {
    public init(statusCode: Int64) {
        self.statusCode = statusCode
        self.error = nil
    }
}

extension Network {
    public init(
        name: String, id: String, driver: String? = nil, scope: String? = "local", internal: Bool? = nil,
        attachable: Bool? = nil, ipam: IPAM? = nil, enableIPv6: Bool? = nil, containers: [String: NetworkContainer]? = nil,
        options: [String: String]? = nil, labels: [String: String]? = nil
    ) {
        self.name = name
        self.id = id
        self.created = nil
        self.scope = scope
        self.driver = driver
        self.enableIPv6 = enableIPv6
        self.ipam = ipam
        self.internal = `internal`
        self.attachable = attachable
        self.containers = containers
        self.options = options
        self.labels = labels
    }
}

extension NetworkContainer {
    public init(name: String?, endpointID: String? = nil) {
        self.name = name
        self.endpointID = endpointID
        self.macAddress = nil
        self.ipv4Address = nil
        self.ipv6Address = nil
    }
}

extension NetworkCreateResponse {
    public init(id: String) {
        self.id = id
        self.warning = nil
    }
}

extension Volume {
    public init(name: String, driver: String? = "local", labels: [String: String]? = nil, options: [String: String]? = nil) {
        self.name = name
        self.driver = driver
        self.mountpoint = nil
        self.createdAt = nil
        self.labels = labels
        self.scope = "local"
        self.options = options
    }
}

extension ImageInspect {
    public init(id: String, repoTags: [String]? = nil, config: ContainerConfig? = nil) {
        self.id = id
        self.repoTags = repoTags
        self.repoDigests = nil
        self.created = nil
        self.architecture = nil
        self.os = nil
        self.size = nil
        self.config = config
    }
}

extension DockerEvent {
    public init(type: String, action: String, actor: Actor, time: Int64? = nil) {
        self.type = type
        self.action = action
        self.actor = actor
        self.scope = "local"
        self.time = time
        self.timeNano = nil
    }
}

extension DockerEvent.Actor {
    public init(id: String, attributes: [String: String]) {
        self.id = id
        self.attributes = attributes
    }
}
