"""Every consumer takes our queue, a plain L2 queue and imported queues, with and without a profile."""

from __future__ import annotations

import json
from dataclasses import dataclass

import aws_cdk as cdk
import pytest
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Annotations, Match, Template

from cdk_batchkit.constructs import (
    BatchJobDefinition,
    BatchMonitoring,
    ComputeKind,
    ComputeProfile,
    Container,
    ContainerJobDefinition,
    FargateComputeEnvironment,
    JobQueue,
    JobRequirements,
    JobSchedule,
    JobStateNotifications,
    Platform,
    QueueProfile,
    S3JobRule,
    S3JobSubmitter,
    Step,
    Workflow,
)
from tests.support import network, new_stack

IMAGE = ecs.ContainerImage.from_registry("public.ecr.aws/amazonlinux/amazonlinux:2023")
ARN = "arn:aws:batch:us-east-1:111122223333:job-queue/{}"
UNCHECKED = Match.string_like_regexp("Not checked whether .* can run on")
KINDS = ("Ours", "L2Queue", "ImportedKnown", "ImportedUnknown", "RawImported")


@dataclass
class Synth:
    stack: cdk.Stack
    template: Template
    annotations: Annotations
    queues: dict[str, object]


def _queues(stack: cdk.Stack) -> dict[str, object]:
    net = network(stack)
    l2_env = batch.FargateComputeEnvironment(
        stack, "L2Env", vpc=net.vpc, vpc_subnets=net.subnet_selection, spot=True, maxv_cpus=32
    )
    fargate = QueueProfile.of([ComputeProfile(ComputeKind.FARGATE_SPOT, architecture=None, maxv_cpus=64)])
    return {
        "Ours": JobQueue(
            stack, "Ours", compute_environments=[FargateComputeEnvironment(stack, "F", network=net)]
        ),
        "L2Queue": batch.JobQueue(
            stack,
            "L2Queue",
            compute_environments=[batch.OrderedComputeEnvironment(compute_environment=l2_env, order=1)],
        ),
        "ImportedKnown": JobQueue.from_job_queue_arn(
            stack, "ImportedKnown", ARN.format("k"), profile=fargate
        ),
        "ImportedUnknown": JobQueue.from_job_queue_arn(stack, "ImportedUnknown", ARN.format("u")),
        "RawImported": batch.JobQueue.from_job_queue_arn(stack, "RawImported", ARN.format("r")),
    }


def _job(stack: cdk.Stack, name: str = "Job") -> ContainerJobDefinition:
    return ContainerJobDefinition(
        stack,
        name,
        platform=Platform.FARGATE,
        container=Container(image=IMAGE, vcpus=0.5, memory=cdk.Size.gibibytes(1)),
        assign_public_ip=True,
    )


@pytest.fixture(scope="module")
def synth() -> Synth:
    stack = new_stack("Interfaces")
    queues = _queues(stack)
    job = _job(stack)
    bucket = s3.Bucket(stack, "Uploads")
    inbox = sqs.Queue(stack, "Inbox")
    every_hour = scheduler.ScheduleExpression.rate(cdk.Duration.hours(1))
    submitters = []
    for i, (kind, queue) in enumerate(queues.items()):
        scope = stack
        submitters.append(
            S3JobSubmitter(
                scope, f"Submitter{kind}", job_queue=queue, job_definition=job, bucket=bucket, prefix=f"p{i}/"
            )
        )
        S3JobRule(scope, f"Rule{kind}", job_queue=queue, job_definition=job, bucket=bucket, prefix=f"r{i}/")
        Workflow(scope, f"Workflow{kind}", steps=[Step("run", job, queue)])
        JobSchedule(scope, f"Schedule{kind}", schedule=every_hour, job_definition=job, job_queue=queue)
        JobStateNotifications(scope, f"Failures{kind}", job_queues=[queue], sqs_queue=inbox)
    BatchMonitoring(stack, "Monitoring", job_queues=list(queues.values()), submitters=submitters)
    return Synth(stack, Template.from_stack(stack), Annotations.from_stack(stack), queues)


def _mentions(value: object, arn: object) -> bool:
    """Whether a rendered value refers to ``arn`` (a literal ARN, or the Ref/GetAtt of one)."""
    return (arn if isinstance(arn, str) else json.dumps(arn)) in json.dumps(value)


def _arn(synth: Synth, kind: str) -> object:
    queue = synth.queues[kind]
    return synth.stack.resolve(queue.job_queue_arn)  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", KINDS)
def test_submitter_submits_to_each_kind_of_queue(synth: Synth, kind: str) -> None:
    functions = synth.template.find_resources(
        "AWS::Lambda::Function",
        {
            "Properties": {
                "Environment": {"Variables": {"JOB_QUEUE": _arn(synth, kind), "SUBMIT_MODE": "ARRAY"}}
            }
        },
    )
    assert len(functions) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_rule_schedule_workflow_and_notifications_use_each_kind_of_queue(synth: Synth, kind: str) -> None:
    arn = _arn(synth, kind)
    rules = synth.template.find_resources("AWS::Events::Rule")
    targets = [t for r in rules.values() for t in r["Properties"].get("Targets", [])]
    assert any(t.get("Arn") == arn and "BatchParameters" in t for t in targets), (
        f"no S3JobRule target for {kind}"
    )
    patterns = [r["Properties"].get("EventPattern", {}) for r in rules.values()]
    assert any(arn in p.get("detail", {}).get("jobQueue", []) for p in patterns), (
        f"no notification for {kind}"
    )
    schedules = synth.template.find_resources("AWS::Scheduler::Schedule")
    assert any(_mentions(s["Properties"]["Target"]["Input"], arn) for s in schedules.values())
    machines = synth.template.find_resources("AWS::StepFunctions::StateMachine")
    assert any(_mentions(m["Properties"]["DefinitionString"], arn) for m in machines.values())


@pytest.mark.parametrize("kind", KINDS)
def test_submit_grants_are_scoped_to_each_kind_of_queue(synth: Synth, kind: str) -> None:
    arn = _arn(synth, kind)
    statements = [
        s
        for p in synth.template.find_resources("AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "batch:SubmitJob"
    ]
    assert sum(_mentions(s["Resource"], arn) for s in statements) >= 3  # submitter, workflow, schedule roles


@pytest.mark.parametrize("kind", ["Ours", "L2Queue", "ImportedKnown"])
def test_known_queues_are_checked_without_a_warning(synth: Synth, kind: str) -> None:
    for consumer in ("Submitter", "Rule", "Workflow", "Schedule"):
        assert synth.annotations.find_warning(f"/Interfaces/{consumer}{kind}", UNCHECKED) == []


@pytest.mark.parametrize("kind", ["ImportedUnknown", "RawImported"])
def test_queues_without_a_profile_warn_what_was_not_checked(synth: Synth, kind: str) -> None:
    for consumer in ("Submitter", "Rule", "Workflow", "Schedule"):
        warnings = synth.annotations.find_warning(f"/Interfaces/{consumer}{kind}", UNCHECKED)
        assert warnings, f"{consumer}{kind} did not warn"
        assert "is unknown (pass profile=QueueProfile.of" in str(warnings[0].entry.data)


def test_monitoring_labels_every_kind_of_queue(synth: Synth) -> None:
    monitoring = synth.stack.node.find_child("Monitoring")
    assert set(monitoring.queues) == set(KINDS)  # type: ignore[attr-defined]


# -- the fit check runs on what is known ----------------------------------------------------------------
def test_rejects_misfit_on_a_plain_l2_queue() -> None:
    stack = new_stack()
    net = network(stack)
    env = batch.ManagedEc2EcsComputeEnvironment(
        stack, "Ec2", vpc=net.vpc, instance_types=[ec2.InstanceType("c6i.large")], maxv_cpus=16
    )
    queue = batch.JobQueue(
        stack,
        "Queue",
        compute_environments=[batch.OrderedComputeEnvironment(compute_environment=env, order=1)],
    )
    with pytest.raises(ValueError, match=r"Fargate job cannot run on an EC2"):
        S3JobSubmitter(stack, "Sub", job_queue=queue, job_definition=_job(stack))
    big = ContainerJobDefinition(stack, "Big", container=Container(image=IMAGE, vcpus=32))
    with pytest.raises(ValueError, match=r"needs 32 vCPUs but maxvCpus is 16"):
        Workflow(stack, "W", steps=[Step("big", big, queue)])


def test_rejects_misfit_on_an_imported_queue_with_a_profile() -> None:
    stack = new_stack()
    queue = JobQueue.from_job_queue_arn(
        stack,
        "Shared",
        ARN.format("s"),
        profile=QueueProfile.of([ComputeProfile(ComputeKind.EC2, maxv_cpus=8)]),
    )
    with pytest.raises(ValueError, match=r"can never run on job queue Test/Shared"):
        JobSchedule(
            stack,
            "S",
            schedule=scheduler.ScheduleExpression.rate(cdk.Duration.hours(1)),
            job_definition=_job(stack),
            job_queue=queue,
        )


def test_rejects_an_imported_profile_batch_would_refuse() -> None:
    mixed = QueueProfile.of(
        [ComputeProfile(ComputeKind.FARGATE, architecture=None), ComputeProfile(ComputeKind.EC2)]
    )
    with pytest.raises(ValueError, match=r"mixes Fargate and EC2"):
        JobQueue.from_job_queue_arn(new_stack(), "Q", ARN.format("m"), profile=mixed)


def test_l2_queue_can_be_described_explicitly() -> None:
    stack = new_stack()
    raw = batch.JobQueue.from_job_queue_arn(stack, "Raw", ARN.format("raw"))
    described = JobQueue.from_job_queue(
        stack, "Described", raw, profile=QueueProfile.of([ComputeProfile(ComputeKind.EC2, maxv_cpus=4)])
    )
    big = ContainerJobDefinition(stack, "Big", container=Container(image=IMAGE, vcpus=8))
    with pytest.raises(ValueError, match=r"maxvCpus is 4"):
        described.add_job_definition(big)


# -- job definitions: L2 and imported --------------------------------------------------------------
def test_l2_job_definitions_are_described_and_checked() -> None:
    stack = new_stack()
    queue = JobQueue.from_job_queue_arn(
        stack, "Q", ARN.format("q"), profile=QueueProfile.of([ComputeProfile(ComputeKind.EC2, maxv_cpus=4)])
    )
    l2_job = batch.EcsJobDefinition(
        stack,
        "L2Job",
        container=batch.EcsEc2ContainerDefinition(
            stack, "C", image=IMAGE, cpu=8, memory=cdk.Size.gibibytes(2)
        ),
    )
    with pytest.raises(ValueError, match=r"needs 8 vCPUs but maxvCpus is 4"):
        S3JobSubmitter(stack, "Sub", job_queue=queue, job_definition=l2_job)
    mnp = batch.MultiNodeJobDefinition(
        stack,
        "L2Mnp",
        containers=[
            batch.MultiNodeContainer(
                container=batch.EcsEc2ContainerDefinition(
                    stack, "M", image=IMAGE, cpu=1, memory=cdk.Size.gibibytes(2)
                ),
                start_node=0,
                end_node=1,
            )
        ],
    )
    with pytest.raises(ValueError, match=r"can send only containerOverrides"):
        S3JobRule(stack, "Rule", job_queue=queue, job_definition=mnp, bucket=s3.Bucket(stack, "B"))


def test_imported_job_definitions_with_and_without_requirements() -> None:
    stack = new_stack()
    queue = JobQueue.from_job_queue_arn(
        stack, "Q", ARN.format("q"), profile=QueueProfile.of([ComputeProfile(ComputeKind.EC2, maxv_cpus=4)])
    )
    arn = "arn:aws:batch:us-east-1:111122223333:job-definition/render:3"
    described = BatchJobDefinition.from_job_definition_arn(
        stack, "Described", arn, requirements=JobRequirements(Platform.EC2, vcpus=16, memory_mib=2048)
    )
    with pytest.raises(ValueError, match=r"needs 16 vCPUs"):
        described.bind(queue)
    unknown = BatchJobDefinition.from_job_definition_arn(stack, "Unknown", arn)
    role = iam.Role(stack, "Caller", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    unknown.grant_submit(role, queue)
    policy = Template.from_stack(stack).find_resources("AWS::IAM::Policy")
    (statement,) = [s for p in policy.values() for s in p["Properties"]["PolicyDocument"]["Statement"]]
    # job-definition/NAME:* from the imported ARN, with its revision dropped.
    assert ":job-definition/render:*" in json.dumps(statement["Resource"])
    warnings = Annotations.from_stack(stack).find_warning("/Test/Unknown", UNCHECKED)
    assert "what job definition Test/Unknown needs is unknown" in str(warnings[0].entry.data)
