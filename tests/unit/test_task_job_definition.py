"""Issue 18 on the job-definition side, as a user meets it: ECS Managed Instances task definitions, node
ranges given out of order or nested, memlock -1, the L2's definitions checked by the same rules, fit
warnings for swap settings, FireLens outputs, and importers given something that is not a job definition's
ARN."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ecs as ecs
from aws_cdk.assertions import Annotations, Match, Template

from cdk_batchkit.constructs import (
    Architecture,
    BatchJobDefinition,
    BatchNetwork,
    ComputeKind,
    ComputeProfile,
    Container,
    ContainerJobDefinition,
    Ec2ComputeEnvironment,
    EcsTaskJobDefinition,
    FireLens,
    JobQueue,
    LinuxParameters,
    ManagedInstancesComputeEnvironment,
    MultiNodeJobDefinition,
    NetworkMode,
    NodeRange,
    Platform,
    QueueProfile,
    SubmitShape,
    TaskContainer,
)
from tests.support import SAMPLE_IMAGE, new_stack

IMAGE = ecs.ContainerImage.from_registry(SAMPLE_IMAGE)
MIB = cdk.Size.mebibytes
MEMLOCK = batch.Ulimit(name=batch.UlimitName.MEMLOCK, soft_limit=-1, hard_limit=-1)


class Built:
    def __init__(self, stack: cdk.Stack, jobs: dict[str, Any]) -> None:
        self.stack = stack
        self.jobs = jobs
        self.template = Template.from_stack(stack)
        self.annotations = Annotations.from_stack(stack)

    def props(self, name: str) -> dict[str, Any]:
        lid = self.stack.resolve(self.jobs[name].resource.node.default_child.logical_id)
        return self.template.to_json()["Resources"][lid]["Properties"]  # type: ignore[no-any-return]

    def warnings(self, path: str) -> list[str]:
        return [str(w.entry.data) for w in self.annotations.find_warning(f"/Jobs/{path}", Match.any_value())]


@pytest.fixture(scope="module")
def built() -> Built:
    stack = new_stack("Jobs")
    net = BatchNetwork(stack, "Network", mode=NetworkMode.PRIVATE_WITH_NAT, max_azs=1)
    mi_queue = JobQueue(
        stack,
        "MiQueue",
        compute_environments=[ManagedInstancesComputeEnvironment(stack, "MiEnv", network=net)],
    )
    ec2_queue = JobQueue(
        stack,
        "Ec2Queue",
        compute_environments=[Ec2ComputeEnvironment(stack, "Ec2", network=net, multi_node=True)],
    )
    jobs: dict[str, Any] = {}
    jobs["Mi"] = EcsTaskJobDefinition(
        stack,
        "Mi",
        platform=Platform.MANAGED_INSTANCES,
        architecture=Architecture.ARM64,
        containers=[
            TaskContainer(image=IMAGE, name="app", vcpus=2, memory=cdk.Size.gibibytes(4)),
            TaskContainer(image=IMAGE, name="side", essential=False, memory=MIB(512)),
        ],
    )
    mi_queue.add_job_definition(jobs["Mi"])
    main = Container(image=IMAGE, vcpus=2, command=["main"])
    worker = Container(image=IMAGE, vcpus=4, memory=cdk.Size.gibibytes(8), command=["worker"])
    jobs["OutOfOrder"] = MultiNodeJobDefinition(
        stack, "OutOfOrder", nodes=4, node_ranges=[NodeRange(worker, start=1), NodeRange(main, 0, 0)]
    )
    jobs["Nested"] = MultiNodeJobDefinition(
        stack, "Nested", nodes=4, node_ranges=[NodeRange(main, 0), NodeRange(worker, 2, 3)]
    )
    ec2_queue.add_job_definition(jobs["OutOfOrder"])
    jobs["Memlock"] = MultiNodeJobDefinition(
        stack, "Memlock", nodes=2, container=Container(image=IMAGE, vcpus=2, ulimits=[MEMLOCK])
    )
    jobs["FireLens"] = EcsTaskJobDefinition(
        stack,
        "FireLens",
        containers=[
            TaskContainer(
                image=IMAGE,
                name="app",
                logging=ecs.LogDrivers.firelens(
                    options={"Name": "cloudwatch_logs", "region": "eu-west-1", "log_group_name": "jobs"}
                ),
            ),
            TaskContainer(image=IMAGE, name="router", essential=False, memory=MIB(256), firelens=FireLens()),
        ],
    )
    # Swap settings on compute whose facts say they do nothing there (H2a's environments fill these facts).
    al2023 = JobQueue.from_job_queue_arn(
        stack,
        "Al2023Queue",
        "arn:aws:batch:eu-west-1:123456789012:job-queue/al2023",
        profile=QueueProfile.of(
            {
                "Al2023": ComputeProfile(
                    ComputeKind.EC2, instance_types=("optimal",), amazon_linux_2023=True, swap=False
                )
            }
        ),
    )
    jobs["Swap"] = ContainerJobDefinition(
        stack,
        "Swap",
        container=Container(image=IMAGE, linux_parameters=LinuxParameters(max_swap=MIB(1024), swappiness=10)),
    )
    jobs["Swap"].bind(al2023)
    # An L2 definition that keeps no revisions, bound to our queue: warned on the consumer.
    jobs["L2"] = batch.EcsJobDefinition(
        stack,
        "L2",
        container=batch.EcsEc2ContainerDefinition(stack, "L2Container", image=IMAGE, cpu=1, memory=MIB(2048)),
    )
    ec2_queue.add_job_definition(jobs["L2"])
    return Built(stack, jobs)


# -- ECS Managed Instances -------------------------------------------------------------------------------
def test_managed_instances_task_renders_ecs_properties_for_its_queue(built: Built) -> None:
    props = built.props("Mi")
    assert props["PlatformCapabilities"] == ["MANAGED_INSTANCES"] and "ContainerProperties" not in props
    (task,) = props["EcsProperties"]["TaskProperties"]
    assert [c["Name"] for c in task["Containers"]] == ["app", "side"]
    assert task["RuntimePlatform"] == {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"}
    # Batch's default network mode for these jobs is host; nothing Fargate-only is rendered.
    assert "NetworkMode" not in task and "NetworkConfiguration" not in task and "PlatformVersion" not in task
    assert "ExecutionRoleArn" in task and "TaskRoleArn" in task
    assert props["ResourceRetentionPolicy"] == {"SkipDeregisterOnUpdate": True}
    job = built.jobs["Mi"]
    assert job.submit_shape is SubmitShape.ECS_TASK and job.definition_ref().override_container == "app"
    assert job.requirements.platform is Platform.MANAGED_INSTANCES
    assert (job.requirements.vcpus, job.requirements.memory_mib) == (3, 4608)


def test_rejects_a_single_container_definition_on_managed_instances() -> None:
    with pytest.raises(
        ValueError, match=r"platform='MANAGED_INSTANCES' is invalid: .*ecsProperties only.*EcsTask"
    ):
        ContainerJobDefinition(
            new_stack(), "Job", container=Container(image=IMAGE), platform=Platform.MANAGED_INSTANCES
        )


@pytest.mark.parametrize(
    ("options", "props", "match"),
    [
        (
            {"linux_parameters": LinuxParameters(max_swap=MIB(512))},
            {},
            r"containers\[0\]\.linux_parameters\.max_swap='512 MiB' is invalid: ECS Managed Instances",
        ),
        (
            {"volumes": [batch.EcsVolume.host(name="cache", container_path="/c", host_path="/var/c")]},
            {},
            r"containers\[0\]\.volumes=\['cache'\] is invalid: ECS Managed Instances",
        ),
        ({}, {"ephemeral_storage": cdk.Size.gibibytes(30)}, r"ephemeral_storage='30 GiB' is invalid"),
        ({}, {"assign_public_ip": True}, r"assign_public_ip=True is invalid: only applies to Fargate"),
    ],
)
def test_rejects_what_managed_instances_tasks_do_not_support(options, props, match) -> None:
    with pytest.raises(ValueError, match=match):
        EcsTaskJobDefinition(
            new_stack(),
            "Job",
            platform=Platform.MANAGED_INSTANCES,
            containers=[TaskContainer(image=IMAGE, name="app", **options)],
            **props,
        )


def test_rejects_a_container_that_is_no_task_container_in_a_task() -> None:
    with pytest.raises(ValueError, match=r"containers\[0\]='Container' is invalid: .*TaskContainer"):
        EcsTaskJobDefinition(new_stack(), "Job", containers=[Container(image=IMAGE)])  # type: ignore[list-item]


# -- node ranges -----------------------------------------------------------------------------------------
def test_out_of_order_ranges_open_the_highest_starting_one(built: Built) -> None:
    ranges = built.props("OutOfOrder")["NodeProperties"]["NodeRangeProperties"]
    # Given worker (1-3) first and main (0-0) last: the worker range is the open one, not the last given.
    assert [r["TargetNodes"] for r in ranges] == ["1:", "0:0"]
    assert [r["Container"]["Command"] for r in ranges] == [["worker"], ["main"]]
    job = built.jobs["OutOfOrder"]
    assert job.open_last_node_range
    # Resized to 6 nodes (Step(num_nodes=6)): the 5 workers get the worker's size, the main node its own.
    resized = replace(job.job_spec, num_nodes=6).requirements()
    assert sorted((g.count, g.vcpus) for g in resized.node_groups) == [(1, 2), (5, 4)]
    assert sorted((g.count, g.vcpus) for g in job.requirements.node_groups) == [(1, 2), (3, 4)]


def test_nested_ranges_render_and_the_inner_one_overrides(built: Built) -> None:
    ranges = built.props("Nested")["NodeProperties"]["NodeRangeProperties"]
    assert [r["TargetNodes"] for r in ranges] == ["0:3", "2:"]
    groups = built.jobs["Nested"].requirements.node_groups
    assert [(g.count, g.vcpus, g.label) for g in groups] == [(2, 2, "nodes 0-1"), (2, 4, "nodes 2-3")]


def test_rejects_ranges_that_overlap_without_nesting() -> None:
    c = Container(image=IMAGE)
    with pytest.raises(
        ValueError, match=r"node_ranges='nodes 0-2 and 1-3' is invalid: .*without one containing"
    ):
        MultiNodeJobDefinition(new_stack(), "M", nodes=4, node_ranges=[NodeRange(c, 0, 2), NodeRange(c, 1)])


# -- ulimits, environment names ----------------------------------------------------------------------------
def test_memlock_unlimited_is_accepted_and_rendered(built: Built) -> None:
    (node_range,) = built.props("Memlock")["NodeProperties"]["NodeRangeProperties"]
    assert node_range["Container"]["Ulimits"] == [{"HardLimit": -1, "Name": "memlock", "SoftLimit": -1}]


def test_rejects_an_unlimited_soft_limit_above_a_finite_hard_limit() -> None:
    ulimit = batch.Ulimit(name=batch.UlimitName.MEMLOCK, soft_limit=-1, hard_limit=1024)
    with pytest.raises(
        ValueError, match=r"container\.ulimits\[0\]\.soft_limit=-1 is invalid: must not exceed"
    ):
        ContainerJobDefinition(new_stack(), "Job", container=Container(image=IMAGE, ulimits=[ulimit]))


@pytest.mark.parametrize("shape", ["single", "task", "node_range"])
def test_rejects_reserved_environment_names_in_ecs_containers(shape: str) -> None:
    env = {"AWS_BATCH_FOO": "1"}
    stack = new_stack()
    with pytest.raises(
        ValueError, match=r"environment='AWS_BATCH_FOO' is invalid: names starting with AWS_BATCH"
    ):
        if shape == "single":
            ContainerJobDefinition(stack, "Job", container=Container(image=IMAGE, environment=env))
        elif shape == "task":
            EcsTaskJobDefinition(
                stack, "Job", containers=[TaskContainer(image=IMAGE, name="a", environment=env)]
            )
        else:
            MultiNodeJobDefinition(
                stack,
                "Job",
                node_ranges=[
                    NodeRange(Container(image=IMAGE), 0, 0),
                    NodeRange(Container(image=IMAGE, environment=env), 1),
                ],
            )


# -- fit warnings, FireLens --------------------------------------------------------------------------------
def test_swap_settings_warn_where_the_instances_ignore_them(built: Built) -> None:
    warnings = built.warnings("Swap")
    assert any(
        "Jobs/Swap on Jobs/Al2023Queue: Al2023: runs Amazon Linux 2023" in w and "BK-T14" in w
        for w in warnings
    )
    assert any("no swap space" in w and "batchkit:BK-T15" in w for w in warnings), warnings


def test_a_firelens_output_to_cloudwatch_warns_what_the_job_role_needs(built: Built) -> None:
    (warning,) = [w for w in built.warnings("FireLens") if "BK-T16" in w]
    assert (
        "containers[0].logging: its FireLens router sends logs to CloudWatch Logs (cloudwatch_logs)"
        in warning
    )
    assert "logs:PutLogEvents" in warning and "job.job_role" in warning


# -- the L2's definitions ----------------------------------------------------------------------------------
def test_an_l2_definition_that_deregisters_its_revisions_warns_its_consumer(built: Built) -> None:
    (warning,) = [w for w in built.warnings("Ec2Queue") if "BK-D1" in w]
    assert "job_definition(Jobs/L2).skip_deregister_on_update" in warning


def _l2_queue(stack: cdk.Stack) -> JobQueue:
    net = BatchNetwork(stack, "Network", mode=NetworkMode.PRIVATE_WITH_NAT, max_azs=1)
    return JobQueue(stack, "Queue", compute_environments=[Ec2ComputeEnvironment(stack, "Ec2", network=net)])


@pytest.mark.parametrize(
    ("container", "match"),
    [
        (
            {"environment": {"AWS_BATCH_X": "1"}},
            r"Test/Queue: job_definition\(Test/L2\)\.container\.environment='AWS_BATCH_X' is invalid",
        ),
        (
            {"ulimits": [batch.Ulimit(name=batch.UlimitName.NOFILE, soft_limit=10, hard_limit=5)]},
            r"job_definition\(Test/L2\)\.container\.ulimits\[0\]\.soft_limit=10 is invalid",
        ),
        ({"user": "me:"}, r"job_definition\(Test/L2\)\.container\.user='me:' is invalid"),
    ],
)
def test_rejects_container_options_of_an_l2_definition_where_it_is_bound(container, match) -> None:
    stack = new_stack()
    queue = _l2_queue(stack)
    l2 = batch.EcsJobDefinition(
        stack,
        "L2",
        container=batch.EcsEc2ContainerDefinition(
            stack, "C", image=IMAGE, cpu=1, memory=MIB(2048), **container
        ),
    )
    with pytest.raises(ValueError, match=match):
        queue.add_job_definition(l2)


def test_rejects_retry_rules_an_l2_definition_never_fires() -> None:
    # The L2 renders evaluateOnExit without attempts when retry_attempts is not set: Batch allows one attempt.
    stack = new_stack()
    l2 = batch.EcsJobDefinition(
        stack,
        "L2",
        container=batch.EcsEc2ContainerDefinition(stack, "C", image=IMAGE, cpu=1, memory=MIB(2048)),
        retry_strategies=[batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.SPOT_INSTANCE_RECLAIMED)],
    )
    with pytest.raises(
        ValueError, match=r"job_definition\(Test/L2\)\.retry\.attempts=None is invalid: retry rules"
    ):
        _l2_queue(stack).add_job_definition(l2)


# -- importers ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("arn", "match"),
    [
        ("etl", r"Test/Imported: job_definition_arn='etl' is invalid: is not an ARN \(a name\?\)"),
        (
            "arn:aws:batch:eu-west-1:123456789012:job-queue/etl",
            r"job_definition_arn='arn:aws:batch:eu-west-1:123456789012:job-queue/etl' is invalid: "
            r"is a job queue's",
        ),
    ],
)
def test_rejects_an_importer_given_a_name_or_a_queue_arn(arn: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        BatchJobDefinition.from_job_definition_arn(new_stack(), "Imported", arn)


def test_accepts_an_importer_arn_built_from_tokens() -> None:
    stack = new_stack()
    arn = stack.format_arn(service="batch", resource="job-definition", resource_name="etl:3")
    assert BatchJobDefinition.from_job_definition_arn(stack, "Imported", arn).requirements is None


def test_a_size_unknown_at_synth_skips_the_fit_check_with_a_warning() -> None:
    stack = new_stack()
    vcpus = cdk.CfnParameter(stack, "Vcpus", type="Number").value_as_number
    job = ContainerJobDefinition(stack, "Job", container=Container(image=IMAGE, vcpus=vcpus))
    assert job.requirements is None and job.job_spec is not None and job.job_spec.containers[0].vcpus is None
    _l2_queue(stack).add_job_definition(job)
    Annotations.from_stack(stack).has_warning(
        "/Test/Queue", Match.string_like_regexp(r"Not checked whether Test/Job can run on Test/Queue")
    )


def test_rejects_an_l2_definition_where_it_is_granted_through_its_wrapper() -> None:
    from aws_cdk import aws_iam as iam

    stack = new_stack()
    queue = _l2_queue(stack)
    l2 = batch.EcsJobDefinition(
        stack,
        "L2",
        container=batch.EcsEc2ContainerDefinition(
            stack, "C", image=IMAGE, cpu=1, memory=MIB(2048), environment={"AWS_BATCH_JOB_ID": "x"}
        ),
        skip_deregister_on_update=True,
    )
    wrapped = BatchJobDefinition.from_job_definition(stack, "Wrapped", l2)
    assert wrapped.job_spec is not None and wrapped.job_spec.keeps_revisions is True
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    with pytest.raises(
        ValueError,
        match=r"^Test/Wrapped: job_definition\(Test/L2\)\.container\.environment='AWS_BATCH_JOB_ID'",
    ):
        wrapped.grant_submit(role, queue)
