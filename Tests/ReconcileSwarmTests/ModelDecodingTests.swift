import DockerEngine
import Foundation
import ReconcileSwarm
import Testing

/// Engine answers as Docker 20.10 (API 1.41) writes them, which is not always as the API's
/// spec spells them (`Healthcheck`, a task's `GenericResources`).
@Suite("Swarm models decode API 1.41 answers")
struct ModelDecodingTests {
    static let service = #"""
        {"ID":"w70u4","Version":{"Index":23},"CreatedAt":"2026-12-02T07:37:17Z","UpdatedAt":"2026-12-02T07:37:17Z",
         "Spec":{"Name":"ml_api","Labels":{"com.docker.stack.namespace":"ml"},
          "TaskTemplate":{"ContainerSpec":{"Image":"reconcile-test/busybox:1","Args":["httpd","-f"],"Env":["A=1"],
            "Privileges":{"CredentialSpec":null,"SELinuxContext":null,"NoNewPrivileges":false},"StopGracePeriod":10000000000,
            "Healthcheck":{"Test":["CMD","true"],"Interval":2000000000,"Retries":2},"DNSConfig":{},"Isolation":"default"},
           "Resources":{"Limits":{"NanoCPUs":500000000},"Reservations":{"GenericResources":[{"DiscreteResourceSpec":{"Kind":"NVIDIA-GPU","Value":1}}]}},
           "RestartPolicy":{"Condition":"any","Delay":5000000000,"MaxAttempts":0},"Placement":{},
           "Networks":[{"Target":"xh4pk","Aliases":["api"]}],"ForceUpdate":0,"Runtime":"container"},
          "Mode":{"Replicated":{"Replicas":2}},
          "UpdateConfig":{"Parallelism":2,"FailureAction":"rollback","Monitor":5000000000,"MaxFailureRatio":0,"Order":"start-first"},
          "EndpointSpec":{"Mode":"vip","Ports":[{"Protocol":"tcp","TargetPort":8080,"PublishedPort":18080,"PublishMode":"ingress"}]}},
         "Endpoint":{"Spec":{},"Ports":[{"Protocol":"tcp","TargetPort":8080,"PublishedPort":18080,"PublishMode":"ingress"}]},
         "UpdateStatus":{"State":"rollback_completed","StartedAt":"2026-12-02T08:22:59Z","CompletedAt":"2026-12-02T08:23:04Z","Message":"rollback completed"}}
        """#

    static let task = #"""
        {"ID":"zru9","Version":{"Index":30},"Labels":{},"Spec":{"ContainerSpec":{"Image":"reconcile-test/busybox:1"}},
         "ServiceID":"w70u4","Slot":1,"NodeID":"cw14","Status":{"Timestamp":"2026-12-02T07:40:00Z","State":"running","Message":"started",
         "ContainerStatus":{"ContainerID":"abc","PID":42,"ExitCode":0}},"DesiredState":"running",
         "GenericResources":[{"NamedResourceSpec":{"Kind":"NVIDIA-GPU","Value":"GPU-n1-0"}}]}
        """#

    @Test("a service: spec, health check, generic resources, update status")
    func service() throws {
        let service = try JSONDecoder().decode(SwarmService.self, from: Data(Self.service.utf8))
        #expect(service.version.index == 23)
        #expect(service.spec.taskTemplate.containerSpec?.healthCheck?.test == ["CMD", "true"])
        #expect(service.spec.taskTemplate.resources?.reservations?.genericResources == [GenericResource(discrete: "NVIDIA-GPU", value: 1)])
        #expect(service.updateStatus?.state == "rollback_completed")
        #expect(service.spec.mode == .replicated(2))
        let fields = SpecFields.fields(service.spec, networkNames: ["xh4pk": "ml_default"])
        #expect(fields["networks.ml_default"] == "[\"api\"]")
        #expect(fields["healthcheck.test"] == "[\"CMD\", \"true\"]")
        #expect(fields["deploy.update_config.order"] == "start-first")
        #expect(fields["stop_grace_period"] == nil, "the engine's default counts as absent")
    }

    @Test("a task: the GPU the scheduler assigned")
    func task() throws {
        let task = try JSONDecoder().decode(SwarmTask.self, from: Data(Self.task.utf8))
        #expect(task.assignedGenericResources == [GenericResource(named: "NVIDIA-GPU", value: "GPU-n1-0")])
        #expect(task.status.state == "running")
        #expect(task.slot == 1)
    }
}
