"""Every submit path builds one submission: what the constructs render from it (the submitter's node-range
configuration, the schedule's request, the workflow's task parameters) and the message of each prop whose
submission a rule refuses. One stack is synthesized for the module; rejections build small stacks without
synthesizing."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import botocore.session
import pytest
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk.assertions import Template
from botocore.validate import ParamValidator

from cdk_batchkit.constructs import (
    BatchJobDefinition,
    ComputeKind,
    ComputeProfile,
    Container,
    ContainerJobDefinition,
    JobQueue,
    JobSchedule,
    MultiNodeJobDefinition,
    NodeOverride,
    NodeRange,
    QueueProfile,
    S3JobSubmitter,
    Step,
    SubmitMode,
    SubmitShape,
    Workflow,
)
from tests.support import SAMPLE_IMAGE, new_stack

IMAGE = ecs.ContainerImage.from_registry(SAMPLE_IMAGE)
ARN = "arn:aws:batch:us-east-1:111122223333:{}"
HOURLY = scheduler.ScheduleExpression.rate(cdk.Duration.hours(1))
SUBMIT_JOB = (
    botocore.session.get_session().get_service_model("batch").operation_model("SubmitJob").input_shape
)


def _ec2_queue(stack: cdk.Stack, fair_share: bool = False) -> JobQueue:
    return JobQueue.from_job_queue_arn(
        stack,
        "Ec2Queue",
        ARN.format("job-queue/e"),
        profile=QueueProfile.of(
            [
                ComputeProfile(
                    ComputeKind.EC2,
                    maxv_cpus=64,
                    instance_types=("c6i",),
                    private_egress=True,
                    node_traffic=True,
                )
            ],
            fair_share=fair_share,
        ),
    )


def _eks_queue(stack: cdk.Stack) -> JobQueue:
    return JobQueue.from_job_queue_arn(
        stack,
        "EksQueue",
        ARN.format("job-queue/k"),
        profile=QueueProfile.of([ComputeProfile(ComputeKind.EKS, maxv_cpus=64)], fair_share=True),
    )


def _mnp(stack: cdk.Stack) -> MultiNodeJobDefinition:
    return MultiNodeJobDefinition(
        stack,
        "Mnp",
        nodes=3,
        node_ranges=[
            NodeRange(Container(image=IMAGE, vcpus=2), 0, 0),
            NodeRange(Container(image=IMAGE, vcpus=4, memory=cdk.Size.gibibytes(8)), 1),
        ],
    )


def _build(stack: cdk.Stack) -> None:
    ec2, eks = _ec2_queue(stack), _eks_queue(stack)
    mnp = _mnp(stack)
    pod = BatchJobDefinition.from_job_definition_arn(
        stack, "Pod", ARN.format("job-definition/pod"), submit_shape=SubmitShape.EKS
    )
    S3JobSubmitter(stack, "MnpSubmitter", job_queue=ec2, job_definition=mnp)
    JobSchedule(
        stack,
        "PodSchedule",
        schedule=HOURLY,
        job_definition=pod,
        job_queue=eks,
        share_identifier="teamA",
        scheduling_priority=5,
        parameters={"day": "today"},
    )
    JobSchedule(stack, "MnpSchedule", schedule=HOURLY, job_definition=mnp, job_queue=ec2)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    stack = new_stack("Paths")
    _build(stack)
    return Template.from_stack(stack).to_json()


def _one(template: dict[str, Any], type_name: str, prefix: str) -> dict[str, Any]:
    (found,) = [
        r for lid, r in template["Resources"].items() if r["Type"] == type_name and lid.startswith(prefix)
    ]
    return found["Properties"]


def _camel(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k[:1].lower() + k[1:]: (v if k in ("Parameters", "Tags") else _camel(v)) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_camel(v) for v in value]
    return value


def _schedule_request(template: dict[str, Any], prefix: str) -> dict[str, Any]:
    target = _one(template, "AWS::Scheduler::Schedule", prefix)["Target"]
    body = target["Input"]
    text = (
        body
        if isinstance(body, str)
        else "".join(p if isinstance(p, str) else "TOKEN" for p in body["Fn::Join"][1])
    )
    return json.loads(text)  # type: ignore[no-any-return]


def test_a_multi_node_submitter_submits_one_job_per_object_to_the_definitions_ranges(template) -> None:
    env = _one(template, "AWS::Lambda::Function", "MnpSubmitter")["Environment"]["Variables"]
    assert env["SUBMIT_MODE"] == "PER_OBJECT"
    assert env["OVERRIDE_SHAPE"] == "nodeOverrides" and env["OVERRIDE_TARGET_NODES"] == "0:0,1:"


def test_schedules_send_every_field_of_every_shape_in_a_request_botocore_accepts(template) -> None:
    pod = _schedule_request(template, "PodSchedule")
    assert pod["ShareIdentifier"] == "teamA" and pod["SchedulingPriorityOverride"] == 5
    assert pod["Parameters"] == {"day": "today"} and pod["JobName"] == "PodSchedule"
    mnp = _schedule_request(template, "MnpSchedule")
    assert "ArrayProperties" not in mnp
    for request in (pod, mnp):
        report = ParamValidator().validate(_camel(request), SUBMIT_JOB)
        assert not report.has_errors(), report.generate_report()


# -- one message per prop ------------------------------------------------------------------------------
def test_rejects_an_array_submitter_for_a_multi_node_definition() -> None:
    stack = new_stack()
    with pytest.raises(
        ValueError,
        match=r"Test/Sub: mode='ARRAY' is invalid: Test/Mnp is a multi-node parallel definition.*"
        r"Multinode Array Job not supported.*SubmitMode.PER_OBJECT",
    ):
        S3JobSubmitter(
            stack, "Sub", job_queue=_ec2_queue(stack), job_definition=_mnp(stack), mode=SubmitMode.ARRAY
        )


def test_rejects_a_multi_node_array_step_and_schedule() -> None:
    stack = new_stack()
    queue, mnp = _ec2_queue(stack), _mnp(stack)
    with pytest.raises(ValueError, match=r"steps\[a\].array_size=4 is invalid: .*Multinode Array Job"):
        Workflow(stack, "A", steps=[Step("a", mnp, queue, array_size=4)])
    with pytest.raises(ValueError, match=r"steps\[a\].array_size='\$.count' is invalid: .*Multinode Array"):
        Workflow(stack, "B", steps=[Step.fan_out("a", mnp, queue)])
    with pytest.raises(ValueError, match=r"Test/S: array_size=10 is invalid: .*Multinode Array Job"):
        JobSchedule(stack, "S", schedule=HOURLY, job_definition=mnp, job_queue=queue, array_size=10)


def test_rejects_node_overrides_batch_would_refuse() -> None:
    stack = new_stack()
    queue, mnp = _ec2_queue(stack), _mnp(stack)
    single = ContainerJobDefinition(stack, "Single", container=Container(image=IMAGE))
    with pytest.raises(
        ValueError, match=r"steps\[a\].node_overrides='Test/Single' is invalid: is not a multi"
    ):
        Workflow(stack, "A", steps=[Step("a", single, queue, node_overrides=[NodeOverride("1:")])])
    with pytest.raises(
        ValueError,
        match=r"steps\[a\].node_overrides\[0\].target_nodes='1:2' is invalid: matches none of the node "
        r"ranges of Test/Mnp \(0:0, 1:\)",
    ):
        Workflow(
            stack, "B", steps=[Step("a", mnp, queue, node_overrides=[NodeOverride("1:2", command=["x"])])]
        )
    with pytest.raises(
        ValueError, match=r"steps\[a\].node_overrides\[0\].vcpus=0.5 is invalid: EC2 jobs and nodes"
    ):
        Workflow(stack, "C", steps=[Step("a", mnp, queue, node_overrides=[NodeOverride("1:", vcpus=0.5)])])


def test_step_overrides_are_named_by_the_steps_own_props() -> None:
    stack = new_stack()
    queue, mnp = _ec2_queue(stack), _mnp(stack)
    single = ContainerJobDefinition(stack, "Single", container=Container(image=IMAGE))
    with pytest.raises(
        ValueError, match=r"Test/A: steps\[a\].environment='AWS_BATCH_X' is invalid: names starting"
    ):
        Workflow(stack, "A", steps=[Step("a", single, queue, environment={"AWS_BATCH_X": "1"})])
    with pytest.raises(
        ValueError, match=r"Test/B: steps\[a\].vcpus=1.5 is invalid: EC2 jobs and nodes take a whole"
    ):
        Workflow(stack, "B", steps=[Step("a", single, queue, vcpus=1.5)])
    with pytest.raises(
        ValueError, match=r"Test/C: steps\[a\].node_overrides\[0\].environment='AWS_BATCH_Y' is invalid"
    ):
        Workflow(
            stack,
            "C",
            steps=[Step("a", mnp, queue, node_overrides=[NodeOverride(environment={"AWS_BATCH_Y": "1"})])],
        )
    # The second NodeOverride is the step's node_overrides[1], though the first went to two ranges.
    every, bad = NodeOverride(command=["x"]), NodeOverride("2:", command=["y"])
    with pytest.raises(
        ValueError, match=r"Test/D: steps\[a\].node_overrides\[1\].target_nodes='2:' is invalid"
    ):
        Workflow(stack, "D", steps=[Step("a", mnp, queue, node_overrides=[every, bad])])


def test_an_override_that_keeps_a_ranges_size_synthesizes() -> None:
    """Used to crash synth with KeyError: 0 (the range does not start at node 0)."""
    stack = new_stack()
    queue, mnp = _ec2_queue(stack), _mnp(stack)
    workflow = Workflow(
        stack,
        "A",
        steps=[
            Step("a", mnp, queue, node_overrides=[NodeOverride("1:", vcpus=4, memory=cdk.Size.gibibytes(8))])
        ],
    )
    node = workflow.submissions["a"].request()["nodeOverrides"]
    assert [o["targetNodes"] for o in node["nodePropertyOverrides"]] == ["1:"]


def test_rejects_a_fair_share_step_without_an_identifier_and_a_poll_interval_out_of_range() -> None:
    stack = new_stack()
    queue, mnp = _ec2_queue(stack, fair_share=True), _mnp(stack)
    with pytest.raises(
        ValueError, match=r"steps\[a\].share_identifier=None is invalid: job queue .* requires"
    ):
        Workflow(stack, "A", steps=[Step("a", mnp, queue)])
    for interval in (cdk.Duration.seconds(0), cdk.Duration.hours(2)):
        with pytest.raises(ValueError, match=r"job_poll_interval=.* is invalid: must be between 1 and 3600"):
            Workflow(
                stack,
                f"P{interval.to_seconds()}",
                steps=[Step("a", mnp, queue, share_identifier="t")],
                job_poll_interval=interval,
            )
