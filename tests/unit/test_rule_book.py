"""The rule book's shared values: JobSpec (parsed from the API shape), Submission (checked once, rendered to a
SubmitJob request botocore accepts), the registry and Problem. No stack is synthesized here."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from cdk_batchkit.model import (
    RULES,
    ComputeKind,
    ComputeProfile,
    ConsumableRequest,
    ContainerSpec,
    JobSpec,
    NodeOverrideSpec,
    NodeRangeSpec,
    Overrides,
    Platform,
    Problem,
    QueueProfile,
    Submission,
    SubmitPath,
    SubmitShape,
)
from cdk_batchkit.model.jobs import node_assignment, parse_target_nodes
from cdk_batchkit.model.rules import environment_names, rule
from cdk_batchkit.model.values import is_unresolved

SUBMIT_JOB = (
    botocore.session.get_session().get_service_model("batch").operation_model("SubmitJob").input_shape
)

MNP = {
    "Type": "multinode",
    "NodeProperties": {
        "NumNodes": 4,
        "MainNode": 0,
        "NodeRangeProperties": [
            {
                "TargetNodes": "0:0",
                "Container": {
                    "Image": "public.ecr.aws/x/main:1",
                    "ResourceRequirements": [
                        {"Type": "VCPU", "Value": "2"},
                        {"Type": "MEMORY", "Value": "4096"},
                    ],
                },
            },
            {
                "TargetNodes": "1:",
                "Container": {
                    "Image": "public.ecr.aws/x/worker:1",
                    "ResourceRequirements": [
                        {"Type": "VCPU", "Value": "4"},
                        {"Type": "MEMORY", "Value": "8192"},
                    ],
                    "Environment": [{"Name": "ROLE", "Value": "worker"}],
                },
            },
        ],
    },
    "Parameters": {"InputKey": "x"},
}
EC2_QUEUE = QueueProfile.of(
    {"Env": ComputeProfile(ComputeKind.EC2, maxv_cpus=64, instance_types=("optimal",))}
)
FAIR_QUEUE = QueueProfile.of(
    [ComputeProfile(ComputeKind.FARGATE_SPOT, architecture=None, maxv_cpus=16)],
    fair_share=True,
    share_identifiers=("teamA", "batch*"),
)


def _valid(request: dict[str, Any]) -> None:
    full = {"jobName": "n", "jobQueue": "q", "jobDefinition": "d", **request}
    report = ParamValidator().validate(full, SUBMIT_JOB)
    assert not report.has_errors(), report.generate_report()


def test_a_multi_node_definition_parses_from_cloudformation_with_its_ranges() -> None:
    job = JobSpec.from_api(MNP, label="Mnp")
    assert job.shape is SubmitShape.NODE and job.num_nodes == 4 and job.main_node == 0
    assert [r.target_nodes for r in job.node_ranges] == ["0:0", "1:"]
    assert job.node_ranges[1].container.environment == ("ROLE",)
    assert job.parameters == ("InputKey",)  # the user's own names are kept as written
    reqs = job.requirements()
    assert reqs is not None and reqs.nodes == 4
    assert sorted((g.count, g.vcpus) for g in reqs.node_groups) == [(1, 2.0), (3, 4.0)]


def test_nested_ranges_give_each_node_the_narrower_range() -> None:
    outer = NodeRangeSpec(0, None, ContainerSpec(vcpus=1))
    inner = NodeRangeSpec(2, 3, ContainerSpec(vcpus=8))
    assert [r is inner for r in node_assignment([outer, inner], 6)] == [
        False,
        False,
        True,
        True,
        False,
        False,
    ]
    assert parse_target_nodes("4:") == (4, None) and parse_target_nodes(":3") == (0, 3)
    assert parse_target_nodes("x") is None


def test_a_fargate_task_parses_with_its_containers_and_network() -> None:
    job = JobSpec.from_api(
        {
            "platformCapabilities": ["FARGATE"],
            "ecsProperties": {
                "taskProperties": [
                    {
                        "containers": [
                            {"name": "app", "image": "i", "essential": True, "resourceRequirements": []},
                            {
                                "name": "log",
                                "image": "f",
                                "essential": False,
                                "firelensConfiguration": {"type": "fluentbit"},
                            },
                        ],
                        "networkConfiguration": {"assignPublicIp": "ENABLED"},
                        "runtimePlatform": {"cpuArchitecture": "ARM64"},
                    }
                ]
            },
        }
    )
    assert job.shape is SubmitShape.ECS_TASK and job.platform is Platform.FARGATE
    assert [c.name for c in job.containers] == ["app", "log"] and job.containers[1].firelens == "fluentbit"
    assert job.assign_public_ip is True and job.container_for_overrides() == job.containers[0]


def test_rejects_node_override_targets_that_are_not_the_definitions_ranges() -> None:
    job = JobSpec.from_api(MNP, label="Mnp")
    sub = Submission(
        SubmitPath.STEP_FUNCTIONS,
        EC2_QUEUE,
        job,
        job_label="Mnp",
        node_overrides=(NodeOverrideSpec("1:2", Overrides(command=("x",))),),
    )
    problems = sub.check()
    assert [(p.rule, p.prop, p.value) for p in problems] == [
        ("BK-O3", "node_overrides[0].target_nodes", "1:2")
    ]
    assert "0:0, 1:" in problems[0].why


def test_overrides_for_every_node_go_once_to_each_range_of_the_definition() -> None:
    job = JobSpec.from_api(MNP)
    sub = Submission(
        SubmitPath.LAMBDA, EC2_QUEUE, job, overrides=Overrides(environment=(("BATCHKIT_KEY", "k"),))
    )
    assert sub.check() == []
    request = sub.request()
    targets = [o["targetNodes"] for o in request["nodeOverrides"]["nodePropertyOverrides"]]
    assert targets == ["0:0", "1:"]
    _valid(request)


def test_rejects_a_multi_node_array_job() -> None:
    sub = Submission(SubmitPath.SCHEDULER, EC2_QUEUE, JobSpec.from_api(MNP), array_size=10)
    assert [p.rule for p in sub.check()] == ["BK-O4"]
    assert "Multinode Array Job not supported" in sub.check()[0].why


def test_rejects_missing_refused_and_malformed_share_identifiers_and_warns_on_an_unlisted_one() -> None:
    job = JobSpec(Platform.FARGATE, containers=(ContainerSpec(vcpus=0.25, memory_mib=512),))
    missing = Submission(SubmitPath.LAMBDA, FAIR_QUEUE, job, queue_label="Q").check()
    assert [(p.rule, p.warning) for p in missing] == [("BK-S1", False)]
    refused = Submission(SubmitPath.LAMBDA, EC2_QUEUE, job, share_identifier="teamA").check()
    assert [p.rule for p in refused] == ["BK-S1"]
    malformed = Submission(SubmitPath.LAMBDA, FAIR_QUEUE, job, share_identifier="team-a").check()
    assert [p.rule for p in malformed] == ["BK-S2", "BK-S5"]
    unlisted = Submission(SubmitPath.LAMBDA, FAIR_QUEUE, job, share_identifier="teamB").check()
    assert [(p.rule, p.warning) for p in unlisted] == [("BK-S5", True)]
    by_prefix = Submission(
        SubmitPath.LAMBDA, FAIR_QUEUE, job, share_identifier="batch7", scheduling_priority=3
    )
    assert by_prefix.check() == []
    _valid(by_prefix.request())


def test_rejects_consumables_the_definition_does_not_request_or_over_the_total() -> None:
    job = JobSpec(
        Platform.EC2,
        containers=(ContainerSpec(),),
        consumables=(ConsumableRequest("arn:licence", 1, total=4),),
    )
    other = Submission(SubmitPath.LAMBDA, EC2_QUEUE, job, consumables=(ConsumableRequest("arn:other", 1),))
    assert [p.rule for p in other.check()] == ["BK-R4"]
    over = Submission(
        SubmitPath.LAMBDA, EC2_QUEUE, job, consumables=(ConsumableRequest("arn:licence", 5, total=4),)
    )
    assert [p.rule for p in over.check()] == ["BK-R1"]
    twice = Submission(
        SubmitPath.LAMBDA,
        EC2_QUEUE,
        job,
        consumables=(ConsumableRequest("arn:licence", 1), ConsumableRequest("arn:licence", 2)),
    )
    assert [p.rule for p in twice.check()] == ["BK-R2"]


def test_rejects_reserved_environment_names_in_overrides() -> None:
    job = JobSpec(Platform.EC2, containers=(ContainerSpec(),))
    sub = Submission(
        SubmitPath.LAMBDA, EC2_QUEUE, job, overrides=Overrides(environment=(("AWS_BATCH_X", "1"),))
    )
    problems = sub.check()
    assert [(p.rule, p.prop, p.value) for p in problems] == [
        ("BK-T12", "overrides.environment", "AWS_BATCH_X")
    ]
    assert environment_names(["${Token[TOKEN.1]}"]) == []


def test_a_request_a_handler_sent_is_checked_like_a_synthesized_one() -> None:
    job = JobSpec.from_api(MNP, label="Mnp")
    request = {
        "jobName": "n",
        "jobQueue": "q",
        "jobDefinition": "Mnp",
        "arrayProperties": {"size": 3},
        "nodeOverrides": {
            "nodePropertyOverrides": [{"targetNodes": "0:", "containerOverrides": {"command": ["a"]}}]
        },
    }
    problems = Submission.from_request(request, queue=EC2_QUEUE, job=job).check()
    assert [p.rule for p in problems] == ["BK-O3", "BK-O4"]


def test_every_shape_renders_a_request_botocore_accepts() -> None:
    overrides = Overrides(command=("run",), environment=(("A", "1"),), vcpus=2, memory_mib=4096)
    single = JobSpec(Platform.EC2, containers=(ContainerSpec(),))
    task = JobSpec(
        Platform.EC2,
        shape=SubmitShape.ECS_TASK,
        containers=(ContainerSpec(name="app"), ContainerSpec(name="side", essential=False)),
    )
    eks = JobSpec(Platform.EKS, shape=SubmitShape.EKS, containers=(ContainerSpec(name="main"),))
    for job, extra in ((single, {}), (task, {}), (eks, {"vcpus": None, "memory_mib": None})):
        o = Overrides(**{**overrides.__dict__, **extra})
        sub = Submission(
            SubmitPath.LAMBDA, None, job, overrides=o, consumables=(ConsumableRequest("arn:r", 1),)
        )
        request = sub.request()
        _valid(request)
        shaped = {"containerOverrides", "ecsPropertiesOverride", "eksPropertiesOverride", "nodeOverrides"}
        assert [k for k in request if k in shaped] == [job.shape.value]
    ecs = Submission(SubmitPath.LAMBDA, None, task, overrides=overrides).request()
    assert ecs["ecsPropertiesOverride"]["taskProperties"][0]["containers"][0]["name"] == "app"


def test_rules_register_once_and_stamp_their_id() -> None:
    assert "BK-O3" in RULES and RULES["BK-S5"].warning
    with pytest.raises(ValueError, match="registered twice"):
        rule("BK-O3", "again", "https://docs.aws.amazon.com/")(lambda: None)
    assert Problem("memory", "3 MiB", "too small").under("containers[1]").prop == "containers[1].memory"
    assert Problem("[0]", 1, "x").under("ulimits").prop == "ulimits[0]"
    message = Problem("memory", "3 MiB", "too small").message("Stack/Job")
    assert message == "Stack/Job: memory='3 MiB' is invalid: too small"


def test_tokens_are_recognised_in_python() -> None:
    assert is_unresolved("${Token[TOKEN.12]}") and is_unresolved(["#{Token[TOKEN.3]}"])
    assert is_unresolved(-1.888154589708752e289)
    assert not any(is_unresolved(v) for v in (0, 1.5, True, "plain", None, ["a"], -1e289))
