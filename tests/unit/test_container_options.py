"""Container options (Linux parameters, ulimits, user, privileged, registry credentials, host volumes,
log drivers) and multi-container ECS task definitions: the template, the checks, and moto's
RegisterJobDefinition."""

from __future__ import annotations

import aws_cdk as cdk
import moto
import pytest
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_secretsmanager as sm
from aws_cdk.assertions import Match, Template

from cdk_batchkit.constructs import (
    BatchNetwork,
    Container,
    ContainerCondition,
    ContainerJobDefinition,
    EcsTaskJobDefinition,
    FargateComputeEnvironment,
    FireLens,
    JobQueue,
    LinuxParameters,
    MultiNodeJobDefinition,
    NetworkMode,
    Platform,
    SubmitShape,
    TaskContainer,
)
from cdk_batchkit.constructs._binding import definition_ref
from cdk_batchkit.testing import build_world
from tests.support import SAMPLE_IMAGE, new_stack

IMAGE = ecs.ContainerImage.from_registry(SAMPLE_IMAGE)
MIB = cdk.Size.mebibytes
SCRATCH = batch.EcsVolume.host(name="scratch", container_path="/scratch", host_path="/mnt/scratch")


def _options(secret: sm.ISecret) -> Container:
    return Container(
        image=IMAGE,
        memory=MIB(2048),
        user="1000:1000",
        privileged=True,
        ulimits=[batch.Ulimit(name=batch.UlimitName.NOFILE, soft_limit=1024, hard_limit=4096)],
        linux_parameters=LinuxParameters(
            init_process=True,
            shared_memory=MIB(512),
            tmpfs=[
                batch.Tmpfs(
                    container_path="/tmp", size=MIB(256), mount_options=[batch.TmpfsMountOption.NOEXEC]
                )
            ],
            devices=[batch.Device(host_path="/dev/fuse", permissions=[batch.DevicePermission.READ])],
            max_swap=MIB(1024),
            swappiness=10,
        ),
        repository_credentials=secret,
        volumes=[SCRATCH],
        logging=ecs.LogDrivers.splunk(
            url="https://splunk.example.com:8088", secret_token=ecs.Secret.from_secrets_manager(secret)
        ),
    )


def _task_containers() -> list[TaskContainer]:
    return [
        TaskContainer(
            image=IMAGE,
            name="app",
            vcpus=2,
            memory=MIB(4096),
            volumes=[SCRATCH],
            depends_on={"init": ContainerCondition.SUCCESS, "router": ContainerCondition.START},
            logging=ecs.LogDrivers.firelens(options={"Name": "cloudwatch"}),
        ),
        TaskContainer(image=IMAGE, name="init", essential=False, memory=MIB(256), volumes=[SCRATCH]),
        TaskContainer(image=IMAGE, name="router", essential=False, memory=MIB(256), firelens=FireLens()),
    ]


@pytest.fixture(scope="module")
def synth() -> tuple[cdk.Stack, Template, dict[str, dict]]:
    app = cdk.App(context={"aws:cdk:enable-path-metadata": True})
    stack = cdk.Stack(app, "Options")
    secret = sm.Secret(stack, "RegistryCredentials")
    ContainerJobDefinition(stack, "Options", container=_options(secret))
    MultiNodeJobDefinition(stack, "Mnp", container=Container(image=IMAGE, repository_credentials=secret))
    EcsTaskJobDefinition(stack, "Task", containers=_task_containers(), override_container="app")
    net = BatchNetwork(stack, "Network", mode=NetworkMode.PUBLIC, max_azs=1)
    queue = JobQueue(
        stack, "Queue", compute_environments=[FargateComputeEnvironment(stack, "Fargate", network=net)]
    )
    fargate = EcsTaskJobDefinition(
        stack,
        "FargateTask",
        platform=Platform.FARGATE,
        containers=[
            TaskContainer(image=IMAGE, name="app", vcpus=0.5, memory=MIB(1024)),
            TaskContainer(
                image=IMAGE,
                name="sidecar",
                essential=False,
                vcpus=0.5,
                memory=MIB(1024),
                linux_parameters=LinuxParameters(init_process=True),
            ),
        ],
    )
    queue.add_job_definition(fargate)
    template = Template.from_stack(stack)
    defs = {
        r["Metadata"]["aws:cdk:path"].split("/")[1]: r["Properties"]
        for r in template.find_resources("AWS::Batch::JobDefinition").values()
    }
    return stack, template, defs


def test_linux_parameters_ulimits_user_privileged_and_host_volume(synth):
    _, _, defs = synth
    props = defs["Options"]["ContainerProperties"]
    assert props["LinuxParameters"] == {
        "InitProcessEnabled": True,
        "SharedMemorySize": 512,
        "MaxSwap": 1024,
        "Swappiness": 10,
        "Devices": [{"HostPath": "/dev/fuse", "Permissions": ["READ"]}],  # the API's case (the L2: "read")
        "Tmpfs": [{"ContainerPath": "/tmp", "Size": 256, "MountOptions": ["noexec"]}],
    }
    assert props["Ulimits"] == [{"HardLimit": 4096, "Name": "nofile", "SoftLimit": 1024}]
    assert props["User"] == "1000:1000"
    assert props["Privileged"] is True
    assert props["Volumes"] == [{"Name": "scratch", "Host": {"SourcePath": "/mnt/scratch"}}]


def test_privileged_warns_at_synth(synth):
    stack, _, _ = synth
    warnings = [m.data for m in stack.node.find_child("Options").node.metadata if m.type == "aws:cdk:warning"]
    assert any("runs privileged" in str(w) and "[ack: batchkit:privileged]" in str(w) for w in warnings), (
        warnings
    )


def test_registry_credentials_are_rendered_and_readable_by_the_execution_role(synth):
    _, template, defs = synth
    secret = {"Ref": Match.string_like_regexp("^RegistryCredentials")}
    for props in (
        defs["Options"]["ContainerProperties"],
        defs["Mnp"]["NodeProperties"]["NodeRangeProperties"][0]["Container"],
    ):
        assert props["RepositoryCredentials"] == {
            "CredentialsParameter": {"Ref": props["RepositoryCredentials"]["CredentialsParameter"]["Ref"]}
        }
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": Match.array_with(["secretsmanager:GetSecretValue"]),
                                "Resource": secret,
                            }
                        )
                    ]
                )
            },
            "Roles": [{"Ref": Match.string_like_regexp("^OptionsContainerExecutionRole")}],
        },
    )


def test_registry_credentials_add_the_secretsmanager_endpoint_on_an_endpoints_network():
    stack = new_stack()
    net = BatchNetwork(stack, "Network", mode=NetworkMode.PRIVATE_WITH_ENDPOINTS, max_azs=1)
    image = ecs.ContainerImage.from_ecr_repository(ecr.Repository(stack, "Repo"), "v1")
    assert net.node.try_find_child("SecretsManagerEndpoint") is None
    ContainerJobDefinition(
        stack,
        "Job",
        container=Container(image=image, repository_credentials=sm.Secret(stack, "Creds")),
        network=net,
    )
    assert net.node.try_find_child("SecretsManagerEndpoint") is not None


def test_log_driver_options_and_secret_options(synth):
    _, _, defs = synth
    log = defs["Options"]["ContainerProperties"]["LogConfiguration"]
    assert log["LogDriver"] == "splunk"
    assert log["Options"]["splunk-url"] == "https://splunk.example.com:8088"
    assert [o["Name"] for o in log["SecretOptions"]] == ["splunk-token"]


def test_task_renders_every_container_with_essential_flags_and_dependencies(synth):
    _, _, defs = synth
    props = defs["Task"]
    assert "ContainerProperties" not in props
    assert props["PlatformCapabilities"] == ["EC2"]
    (task,) = props["EcsProperties"]["TaskProperties"]
    app, init, router = task["Containers"]
    assert [c["Name"] for c in task["Containers"]] == ["app", "init", "router"]
    assert [c["Essential"] for c in task["Containers"]] == [True, False, False]
    assert app["DependsOn"] == [
        {"ContainerName": "init", "Condition": "SUCCESS"},
        {"ContainerName": "router", "Condition": "START"},
    ]
    assert app["LogConfiguration"] == {"LogDriver": "awsfirelens", "Options": {"Name": "cloudwatch"}}
    assert router["FirelensConfiguration"] == {"Type": "fluentbit"}
    assert init["LogConfiguration"]["LogDriver"] == "awslogs"
    # The volume two containers mount is declared once, at task level; each container mounts it.
    assert task["Volumes"] == [{"Name": "scratch", "Host": {"SourcePath": "/mnt/scratch"}}]
    assert (
        app["MountPoints"]
        == init["MountPoints"]
        == [{"ContainerPath": "/scratch", "SourceVolume": "scratch"}]
    )
    assert "ExecutionRoleArn" in task and "TaskRoleArn" in task


def test_task_keeps_the_single_container_defaults(synth):
    _, template, defs = synth
    props = defs["Task"]
    assert props["Timeout"] == {"AttemptDurationSeconds": 86400}
    assert props["RetryStrategy"]["Attempts"] == 3
    assert props["ResourceRetentionPolicy"] == {"SkipDeregisterOnUpdate": True}
    (task,) = props["EcsProperties"]["TaskProperties"]
    group = task["Containers"][1]["LogConfiguration"]["Options"]["awslogs-group"]["Ref"]
    assert template.to_json()["Resources"][group]["Properties"]["RetentionInDays"] == 30
    assert task["TaskRoleArn"] != task["ExecutionRoleArn"]


def test_task_requirements_are_the_sum_and_submits_go_to_the_override_container(synth):
    stack, _, _ = synth
    task = stack.node.find_child("Task")
    assert (task.requirements.vcpus, task.requirements.memory_mib) == (4, 4608)
    assert task.submit_shape is SubmitShape.ECS_TASK
    ref = task.definition_ref()
    assert ref.shape is SubmitShape.ECS_TASK and ref.override_container == "app"
    assert stack.node.find_child("FargateTask").definition_ref().override_container == "app"
    # Its L2 resource, passed on its own, is described as the task it is (not as its first container).
    described = definition_ref(task.resource)
    assert described.shape is SubmitShape.ECS_TASK and described.requirements == task.requirements


def test_fargate_task_has_task_level_settings_and_public_ip_on_public_compute(synth):
    _, _, defs = synth
    props = defs["FargateTask"]
    assert props["PlatformCapabilities"] == ["FARGATE"]
    (task,) = props["EcsProperties"]["TaskProperties"]
    assert task["NetworkConfiguration"] == {"AssignPublicIp": "ENABLED"}  # bound to public subnets
    assert task["PlatformVersion"] == "LATEST"
    assert task["RuntimePlatform"] == {"CpuArchitecture": "X86_64", "OperatingSystemFamily": "LINUX"}
    assert task["Containers"][1]["LinuxParameters"] == {"InitProcessEnabled": True}


def test_moto_registers_the_options_and_stands_in_for_the_task(synth):
    stack, _, _ = synth
    with moto.mock_aws(config={"batch": {"use_docker": False}}):
        world = build_world(stack)
        options = world.job_definition("Options/Resource").describe()["containerProperties"]
        assert options["linuxParameters"]["sharedMemorySize"] == 512
        assert options["ulimits"][0]["name"] == "nofile" and options["user"] == "1000:1000"
        assert "RegistryCredentials" in options["repositoryCredentials"]["credentialsParameter"]
        assert options["linuxParameters"]["devices"] == [{"hostPath": "/dev/fuse", "permissions": ["READ"]}]
        task = world.job_definition("Task/Resource")
        # moto 5.2.5 refuses ecsProperties ("containerProperties or eksProperties must be provided"),
        # after botocore validated the request: the kit registers the override container instead.
        assert task.dropped == [
            "EcsProperties (moto registers none: its first essential container stands in)"
        ]
        described = task.describe()["containerProperties"]
        assert described["logConfiguration"]["logDriver"] == "awsfirelens"
        assert described["volumes"][0]["name"] == "scratch" and "jobRoleArn" in described
        fargate = world.job_definition("FargateTask/Resource").describe()
        assert fargate["containerProperties"]["networkConfiguration"] == {"assignPublicIp": "ENABLED"}


# -- rejections: constructed in a fresh stack, never synthesized ------------------------------------------
def _fargate(**container: object) -> None:
    ContainerJobDefinition(
        new_stack(),
        "Job",
        container=Container(image=IMAGE, vcpus=1, memory=MIB(2048), **container),  # type: ignore[arg-type]
        platform=Platform.FARGATE,
    )


@pytest.mark.parametrize(
    ("option", "match"),
    [
        ({"privileged": True}, r"container\.privileged"),
        ({"ulimits": [batch.Ulimit(name=batch.UlimitName.CORE, soft_limit=0, hard_limit=0)]}, r"ulimits"),
        ({"linux_parameters": LinuxParameters(shared_memory=MIB(64))}, r"linux_parameters\.shared_memory"),
        (
            {"linux_parameters": LinuxParameters(devices=[batch.Device(host_path="/dev/fuse")])},
            r"linux_parameters\.devices",
        ),
        (
            {"linux_parameters": LinuxParameters(tmpfs=[batch.Tmpfs(container_path="/t", size=MIB(8))])},
            r"linux_parameters\.tmpfs",
        ),
        ({"linux_parameters": LinuxParameters(max_swap=MIB(0), swappiness=5)}, r"linux_parameters\.max_swap"),
        ({"volumes": [SCRATCH]}, r"container\.volumes=\['scratch'\]"),
    ],
)
def test_rejects_ec2_only_options_on_fargate(option, match):
    with pytest.raises(ValueError, match=match + r".*Fargate does not support it"):
        _fargate(**option)


def test_rejects_a_fargate_log_driver_other_than_awslogs_or_splunk():
    with pytest.raises(ValueError, match=r"container\.logging='json-file'.*awslogs or splunk"):
        _fargate(logging=ecs.LogDrivers.json_file())


def _ec2(**container: object) -> None:
    ContainerJobDefinition(
        new_stack(),
        "Job",
        container=Container(image=IMAGE, memory=MIB(1024), **container),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("linux", "match"),
    [
        (LinuxParameters(swappiness=10), r"swappiness=10.*unless max_swap is set"),
        (LinuxParameters(max_swap=MIB(1), swappiness=101), r"swappiness=101.*between 0 and 100"),
        (LinuxParameters(shared_memory=MIB(2048)), r"shared_memory='2048 MiB'.*fit the container's memory"),
        (
            LinuxParameters(tmpfs=[batch.Tmpfs(container_path="/t", size=MIB(4096))]),
            r"tmpfs\[0\]\.size='4096 MiB'",
        ),
        (
            LinuxParameters(tmpfs=[batch.Tmpfs(container_path="t", size=MIB(8))]),
            r"container_path='t'.*absolute",
        ),
        (LinuxParameters(shared_memory=cdk.Size.kibibytes(1536)), r"shared_memory.*whole number of MiB"),
    ],
)
def test_rejects_invalid_linux_parameters(linux, match):
    with pytest.raises(ValueError, match=match):
        _ec2(linux_parameters=linux)


def test_rejects_a_soft_ulimit_above_the_hard_one():
    with pytest.raises(ValueError, match=r"ulimits\[0\]\.soft_limit=10.*must not exceed hard_limit"):
        _ec2(ulimits=[batch.Ulimit(name=batch.UlimitName.NOFILE, soft_limit=10, hard_limit=5)])


def test_rejects_a_malformed_user():
    with pytest.raises(ValueError, match=r"container\.user='me:'.*uid:gid"):
        _ec2(user="me:")


def test_rejects_task_only_fields_on_a_single_container():
    # Container has no task-only fields; a TaskContainer (which has them) is refused by the single-container
    # and multi-node definitions.
    for field in ("name", "essential", "depends_on", "firelens"):
        assert field not in Container.__dataclass_fields__
    task_container = TaskContainer(image=IMAGE, name="app", firelens=FireLens())
    with pytest.raises(ValueError, match=r"container='app'.*belongs to a multi-container task"):
        ContainerJobDefinition(new_stack(), "Job", container=task_container)
    with pytest.raises(ValueError, match=r"node_ranges='app'.*runs a Container"):
        MultiNodeJobDefinition(new_stack(), "Mnp", container=task_container)


def test_rejects_the_awsfirelens_driver_without_a_task():
    with pytest.raises(ValueError, match=r"awsfirelens needs a FireLens container"):
        _ec2(logging=ecs.LogDrivers.firelens(options={"Name": "cloudwatch"}))


def _task(*containers: TaskContainer, platform: Platform = Platform.EC2, **props: object) -> None:
    EcsTaskJobDefinition(new_stack(), "Job", containers=list(containers), platform=platform, **props)  # type: ignore[arg-type]


def _c(name: str | None, **options: object) -> TaskContainer:
    return TaskContainer(image=IMAGE, name=name, memory=MIB(512), **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("containers", "props", "match"),
    [
        ([], {}, r"containers=0.*1 to 10 containers"),
        ([_c(f"c{i}") for i in range(11)], {}, r"containers=11.*1 to 10"),
        ([_c("app"), _c(None)], {}, r"containers\[1\]\.name=None"),
        ([_c("app"), _c("app")], {}, r"containers\[1\]\.name='app'.*unique"),
        (
            [_c("a", essential=False), _c("b", essential=False)],
            {},
            r"at least one container must be essential",
        ),
        ([_c("app")], {"override_container": "other"}, r"override_container='other'.*must name a container"),
    ],
)
def test_rejects_invalid_task_containers(containers, props, match):
    with pytest.raises(ValueError, match=match):
        _task(*containers, **props)


@pytest.mark.parametrize(
    ("containers", "match"),
    [
        ([_c("app", depends_on={"db": ContainerCondition.START})], r"depends_on='db'.*another container"),
        ([_c("app", depends_on={"app": ContainerCondition.START})], r"depends_on='app'.*another container"),
        (
            [_c("app", depends_on={"side": ContainerCondition.SUCCESS}), _c("side")],
            r"'side: SUCCESS'.*cannot wait on an essential container",
        ),
        (
            [
                _c("app", depends_on={"a": ContainerCondition.START}),
                _c("a", essential=False, depends_on={"b": ContainerCondition.START}),
                _c("b", essential=False, depends_on={"a": ContainerCondition.START}),
            ],
            r"'a -> b -> a'.*cycle",
        ),
    ],
)
def test_rejects_invalid_container_dependencies(containers, match):
    with pytest.raises(ValueError, match=match):
        _task(*containers)


def test_rejects_two_firelens_routers_and_awsfirelens_without_a_router():
    with pytest.raises(ValueError, match=r"at most one FireLens log router"):
        _task(
            _c("app"),
            _c("r1", essential=False, firelens=FireLens()),
            _c("r2", essential=False, firelens=FireLens()),
        )
    with pytest.raises(ValueError, match=r"firelens\.type='vector'"):
        _task(_c("app"), _c("r", essential=False, firelens=FireLens(type="vector")))
    with pytest.raises(ValueError, match=r"containers=\['app'\].*no container has firelens"):
        _task(_c("app", logging=ecs.LogDrivers.firelens(options={"Name": "cloudwatch"})))


def test_rejects_a_fargate_task_whose_summed_size_is_no_fargate_pair():
    # 0.5 + 0.5 vCPU = 1 vCPU needs 2048-8192 MiB: 512 + 512 MiB is too little.
    half = {"vcpus": 0.5, "memory": MIB(512)}
    with pytest.raises(
        ValueError, match=r"'1 vCPU, 1024 MiB in total'.*Fargate with 1 vCPU takes 2048-8192 MiB"
    ):
        _task(
            TaskContainer(image=IMAGE, name="a", **half),
            TaskContainer(image=IMAGE, name="b", **half),
            platform=Platform.FARGATE,
        )  # type: ignore[arg-type]


def test_rejects_fractional_vcpus_in_an_ec2_task():
    with pytest.raises(ValueError, match=r"containers\[1\]\.vcpus=0.5.*whole number"):
        _task(_c("app"), _c("side", essential=False, vcpus=0.5))
