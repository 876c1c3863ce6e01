"""Fair share end to end at synth: every submit path sends the share identifier a queue needs."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk.assertions import Match, Template

from cdk_batchkit.constructs import (
    ComputeKind,
    ComputeProfile,
    Container,
    ContainerJobDefinition,
    FairShare,
    FargateComputeEnvironment,
    JobQueue,
    JobSchedule,
    Platform,
    QueueProfile,
    S3JobRule,
    S3JobSubmitter,
    Step,
    Workflow,
)
from tests.support import network, new_stack

IMAGE = ecs.ContainerImage.from_registry("public.ecr.aws/amazonlinux/amazonlinux:2023")
HOURLY = scheduler.ScheduleExpression.rate(cdk.Duration.hours(1))


def _parts(stack: cdk.Stack, *, fair_share: bool = True):
    net = network(stack)
    queue = JobQueue(
        stack,
        "Queue",
        compute_environments=[FargateComputeEnvironment(stack, "F", network=net)],
        fair_share=FairShare(shares={"teamA": 1, "teamB": 0.5}) if fair_share else None,
    )
    job = ContainerJobDefinition(
        stack,
        "Job",
        platform=Platform.FARGATE,
        container=Container(image=IMAGE, vcpus=0.25, memory=cdk.Size.mebibytes(512)),
        scheduling_priority=10,
    )
    return queue, job


@pytest.fixture(scope="module")
def template() -> Template:
    stack = new_stack("FairShare")
    queue, job = _parts(stack)
    S3JobSubmitter(
        stack,
        "Submitter",
        job_queue=queue,
        job_definition=job,
        share_identifier="teamA",
        scheduling_priority=3,
    )
    JobSchedule(
        stack, "Nightly", schedule=HOURLY, job_definition=job, job_queue=queue, share_identifier="teamB"
    )
    Workflow(
        stack,
        "Flow",
        steps=[
            Step("a", job, queue, share_identifier="teamA", scheduling_priority=9),
            Step("b", job, queue, share_identifier="teamB", depends_on=["a"]),
        ],
    )
    return Template.from_stack(stack)


def test_job_definition_carries_its_scheduling_priority(template: Template) -> None:
    template.has_resource_properties("AWS::Batch::JobDefinition", {"SchedulingPriority": 10})


def test_submitter_sends_the_share_identifier(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": Match.object_like(
                    {"SHARE_IDENTIFIER": "teamA", "SCHEDULING_PRIORITY_OVERRIDE": "3"}
                )
            }
        },
    )


def test_schedule_sends_the_share_identifier(template: Template) -> None:
    (schedule,) = template.find_resources("AWS::Scheduler::Schedule").values()
    rendered = json.dumps(schedule["Properties"]["Target"]["Input"])
    assert '\\"ShareIdentifier\\":\\"teamB\\"' in rendered, rendered


def test_workflow_steps_send_share_identifier_and_priority(template: Template) -> None:
    (machine,) = template.find_resources("AWS::StepFunctions::StateMachine").values()
    definition = json.dumps(machine["Properties"]["DefinitionString"])
    assert '\\"ShareIdentifier\\":\\"teamA\\",\\"SchedulingPriorityOverride\\":9' in definition
    assert '\\"ShareIdentifier\\":\\"teamB\\"' in definition


def test_rejects_fair_share_queue_without_share_identifier() -> None:
    stack = new_stack()
    queue, job = _parts(stack)
    with pytest.raises(ValueError, match=r"share_identifier=None is invalid: job queue .* requires a share"):
        S3JobSubmitter(stack, "S", job_queue=queue, job_definition=job)
    with pytest.raises(ValueError, match=r"share_identifier=None.*requires a share identifier"):
        JobSchedule(stack, "J", schedule=HOURLY, job_definition=job, job_queue=queue)
    with pytest.raises(ValueError, match=r"steps\[a\].share_identifier=None.*requires a share identifier"):
        Workflow(stack, "W", steps=[Step("a", job, queue)])


def test_rejects_share_identifier_on_queue_without_policy() -> None:
    stack = new_stack()
    queue, job = _parts(stack, fair_share=False)
    with pytest.raises(ValueError, match=r"share_identifier='teamA'.*rejects a share identifier"):
        S3JobSubmitter(stack, "S", job_queue=queue, job_definition=job, share_identifier="teamA")
    with pytest.raises(ValueError, match=r"steps\[a\].share_identifier='x'.*rejects"):
        Workflow(stack, "W", steps=[Step("a", job, queue, share_identifier="x")])


def test_rejects_s3_job_rule_on_fair_share_queue() -> None:
    stack = new_stack()
    queue, job = _parts(stack)
    with pytest.raises(ValueError, match=r"EventBridge Batch target cannot send the share identifier"):
        S3JobRule(stack, "R", job_queue=queue, job_definition=job, bucket=s3.Bucket(stack, "B"))


def test_rejects_bad_priorities_and_identifiers() -> None:
    stack = new_stack()
    queue, job = _parts(stack)
    with pytest.raises(ValueError, match=r"scheduling_priority=10000 is invalid: must be between 0 and 9999"):
        JobSchedule(
            stack,
            "A",
            schedule=HOURLY,
            job_definition=job,
            job_queue=queue,
            share_identifier="a",
            scheduling_priority=10000,
        )
    with pytest.raises(ValueError, match=r"a share identifier is 1-255 letters and digits"):
        S3JobSubmitter(stack, "B", job_queue=queue, job_definition=job, share_identifier="x" * 256)
    with pytest.raises(ValueError, match=r"scheduling_priority=-1"):
        ContainerJobDefinition(stack, "C", container=Container(image=IMAGE), scheduling_priority=-1)
    plain_queue, plain_job = _parts(new_stack(), fair_share=False)
    with pytest.raises(ValueError, match=r"only applies with a share identifier"):
        S3JobSubmitter(
            plain_queue, "D", job_queue=plain_queue, job_definition=plain_job, scheduling_priority=1
        )


def test_imported_queue_fair_share_comes_from_its_profile() -> None:
    stack = new_stack()
    _, job = _parts(stack, fair_share=False)
    profile = QueueProfile.of([ComputeProfile(ComputeKind.FARGATE, architecture=None)], fair_share=True)
    shared = JobQueue.from_job_queue_arn(
        stack, "Shared", "arn:aws:batch:us-east-1:111122223333:job-queue/s", profile=profile
    )
    with pytest.raises(ValueError, match=r"requires a share identifier"):
        JobSchedule(stack, "S", schedule=HOURLY, job_definition=job, job_queue=shared)
    JobSchedule(stack, "Ok", schedule=HOURLY, job_definition=job, job_queue=shared, share_identifier="t")
