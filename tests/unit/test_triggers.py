"""Triggers (S3 Object Created, schedules) and notifications (job state, workflow executions).

Event patterns are checked for real with moto (put_events -> rule -> SQS) against the sample events
in tests/events/; the stack that uses every feature passes cdk-nag and cfn-lint.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import aws_cdk as cdk
import boto3
import pytest
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from moto import mock_aws

from cdk_batchkit.constructs import (
    ContainerJobDefinition,
    EventDelivery,
    JobQueue,
)
from cdk_batchkit.constructs.job_notifications import JobStateNotifications, WorkflowNotifications
from cdk_batchkit.constructs.nag import acknowledge
from cdk_batchkit.constructs.notifications import NotificationTopic
from cdk_batchkit.constructs.triggers import JobSchedule, ObjectCreatedTrigger, WorkflowSchedule
from cdk_batchkit.constructs.workflow import Step, Workflow
from tests.eventbridge import routed
from tests.support import fargate_queue_and_job, new_stack, synth_checked

EVENTS = Path(__file__).resolve().parents[1] / "events"
BUCKET = "uploads"
QUEUE_ARN = "arn:aws:batch:us-east-1:123456789012:job-queue/render"
MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:Pipeline"
IMAGE = ecs.ContainerImage.from_registry("public.ecr.aws/amazonlinux/amazonlinux:2023")


def _event(path: str) -> dict:
    return json.loads((EVENTS / path).read_text())


def _build(stack: cdk.Stack) -> None:
    queue, job = fargate_queue_and_job(stack)
    topic = NotificationTopic(stack, "Alerts")
    workflow = Workflow(stack, "Pipeline", topic=topic, steps=[Step("Render", job, queue)])
    bucket = s3.Bucket(stack, "Uploads", enforce_ssl=True, encryption=s3.BucketEncryption.S3_MANAGED)
    acknowledge(bucket, "S1", "Test bucket: access logs are out of scope of the trigger under test.")
    ObjectCreatedTrigger(
        stack, "OnUpload", bucket=bucket, workflow=workflow, prefix="incoming/", suffix=".csv"
    )
    JobSchedule(
        stack,
        "Nightly",
        schedule=scheduler.ScheduleExpression.cron(
            minute="0", hour="2", time_zone=cdk.TimeZone.EUROPE_BERLIN
        ),
        job_definition=job,
        job_queue=queue,
        parameters={"mode": "full"},
        array_size=10,
        flexible_window=cdk.Duration.minutes(15),
        delivery=EventDelivery(retry_attempts=3),
    )
    WorkflowSchedule(
        stack,
        "Hourly",
        schedule=scheduler.ScheduleExpression.rate(cdk.Duration.hours(1)),
        workflow=workflow,
        input={"bucket": "uploads", "key": "hourly/batch.csv"},
    )
    WorkflowSchedule(
        stack,
        "Once",
        schedule=scheduler.ScheduleExpression.at(
            datetime(2027, 1, 1, 6, 0, tzinfo=UTC), cdk.TimeZone.EUROPE_BERLIN
        ),
        workflow=workflow,
    )
    inbox = sqs.Queue(stack, "Inbox", encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True)
    acknowledge(inbox, "SQS3", "Test inbox for notifications: it has no consumer that could fail.")
    JobStateNotifications(stack, "JobFailures", job_queues=[queue], topic=topic, sqs_queue=inbox)
    JobStateNotifications(
        stack, "JobOutcomes", job_queues=[queue], statuses=["FAILED", "SUCCEEDED"], sqs_queue=inbox
    )
    WorkflowNotifications(stack, "WorkflowFailures", workflows=[workflow], sqs_queue=inbox)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict:
    # synth_checked: cdk-nag (zero unacknowledged findings) and cfn-lint (zero errors).
    return synth_checked(_build, tmp_path_factory.mktemp("triggers"), "Triggers")


def _of(template: dict, type_name: str, prefix: str) -> dict:
    (found,) = [
        r for lid, r in template["Resources"].items() if r["Type"] == type_name and lid.startswith(prefix)
    ]
    return found["Properties"]


def _concrete(pattern: object, template: dict) -> object:
    """Replace the tokens of a synthesized pattern with the names the sample events use."""
    if isinstance(pattern, dict):
        if "Ref" in pattern and pattern["Ref"].startswith("Uploads"):
            return BUCKET
        if "Ref" in pattern and pattern["Ref"].startswith("Pipeline"):
            return MACHINE_ARN
        if "Fn::GetAtt" in pattern and pattern["Fn::GetAtt"][1] == "JobQueueArn":
            return QUEUE_ARN
        return {k: _concrete(v, template) for k, v in pattern.items()}
    if isinstance(pattern, list):
        return [_concrete(v, template) for v in pattern]
    return pattern


def _pattern(template: dict, prefix: str) -> dict:
    return _concrete(_of(template, "AWS::Events::Rule", prefix)["EventPattern"], template)  # type: ignore[return-value]


# -- S3 trigger --------------------------------------------------------------------------------------
@mock_aws
def test_upload_pattern_matches_only_the_bucket_prefix_and_suffix(template: dict) -> None:
    samples = [
        "s3-object-created",
        "s3-object-created-nested",
        "s3-object-created-other-bucket",
        "s3-object-created-other-prefix",
        "s3-object-created-wrong-suffix",
    ]
    events = [_event(f"eventbridge/{name}.json") for name in samples]
    assert routed(_pattern(template, "OnUpload"), events) == [True, True, False, False, False]


@mock_aws
def test_upload_input_is_the_object_as_strings(template: dict) -> None:
    """Route the sample through a rule with the synthesized input transformer (to SQS, as moto supports)."""
    (target,) = _of(template, "AWS::Events::Rule", "OnUpload")["Targets"]
    region = "us-east-1"
    events_client, sqs_client = (
        boto3.client("events", region_name=region),
        boto3.client("sqs", region_name=region),
    )
    url = sqs_client.create_queue(QueueName="input")["QueueUrl"]
    arn = sqs_client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events_client.put_rule(Name="input", EventPattern=json.dumps(_pattern(template, "OnUpload")))
    events_client.put_targets(
        Rule="input", Targets=[{"Id": "q", "Arn": arn, "InputTransformer": target["InputTransformer"]}]
    )
    sample = _event("eventbridge/s3-object-created.json")
    events_client.put_events(
        Entries=[
            {
                "Source": sample["source"],
                "DetailType": sample["detail-type"],
                "Detail": json.dumps(sample["detail"]),
            }
        ]
    )
    (message,) = sqs_client.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert json.loads(message["Body"]) == {
        "bucket": "uploads",
        "key": "incoming/scene-1.csv",
        "size": "2048",
        "version": "IYV3p45BHs5TBAJD7TnD7Ky0yUIYiDbi",
        "etag": "b1946ac92492d2347c6235b4d2611184",
        "sequencer": "00617F08299329D189",
    }


def test_upload_target_starts_the_workflow_with_retries_and_a_dead_letter_queue(template: dict) -> None:
    (target,) = _of(template, "AWS::Events::Rule", "OnUpload")["Targets"]
    assert target["Arn"]["Ref"].startswith("Pipeline")
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 21600, "MaximumRetryAttempts": 8}
    dlq = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    assert dlq.startswith("OnUploadDeadLetterQueue")
    assert template["Resources"][dlq]["Properties"]["SqsManagedSseEnabled"] is True
    (policy,) = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::SQS::QueuePolicy" and r["Properties"]["Queues"] == [{"Ref": dlq}]
    ]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy["PolicyDocument"]["Statement"]
    )
    # The owned bucket now sends its events to EventBridge (no custom resource).
    bucket = _of(template, "AWS::S3::Bucket", "Uploads")
    assert bucket["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    assert not [r for r in template["Resources"].values() if r["Type"] == "Custom::S3BucketNotifications"]


# -- schedules -----------------------------------------------------------------------------------------
def test_job_schedule_submits_directly_with_a_scoped_role(template: dict) -> None:
    props = _of(template, "AWS::Scheduler::Schedule", "Nightly")
    assert props["ScheduleExpression"] == "cron(0 2 * * ? *)"
    assert props["ScheduleExpressionTimezone"] == "Europe/Berlin"
    assert props["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15}
    target = props["Target"]
    assert target["Arn"]["Fn::Join"][1][-1] == ":scheduler:::aws-sdk:batch:submitJob"
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 3
    assert target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0].startswith("NightlyDeadLetterQueue")
    request = json.loads(
        "".join(p if isinstance(p, str) else "TOKEN" for p in target["Input"]["Fn::Join"][1])
    )
    assert request["JobName"] == "Nightly" and request["Parameters"] == {"mode": "full"}
    assert request["ArrayProperties"] == {"Size": 10} and request["PropagateTags"] is True
    assert request["JobQueue"] == "TOKEN" and request["JobDefinition"] == "TOKEN"
    statements = _of(template, "AWS::IAM::Policy", "NightlyRole")["PolicyDocument"]["Statement"]
    text = json.dumps(statements)
    assert '"Resource": "*"' not in text and "job-definition/*" not in text
    submit = [s for s in statements if s["Action"] == "batch:SubmitJob"]
    assert submit and all(len(s["Resource"]) == 2 for s in submit)
    assert {s["Action"] if isinstance(s["Action"], str) else tuple(s["Action"]) for s in statements} <= {
        "batch:SubmitJob",
        "batch:TagResource",
        ("sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"),
        "sqs:SendMessage",
    }


def test_workflow_schedules_start_the_state_machine(template: dict) -> None:
    hourly = _of(template, "AWS::Scheduler::Schedule", "Hourly")
    assert hourly["ScheduleExpression"] == "rate(1 hour)" and hourly["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert hourly["Target"]["Arn"]["Ref"].startswith("Pipeline")
    assert json.loads(hourly["Target"]["Input"]) == {"bucket": "uploads", "key": "hourly/batch.csv"}
    assert "DeadLetterConfig" in hourly["Target"] and "RetryPolicy" in hourly["Target"]
    once = _of(template, "AWS::Scheduler::Schedule", "Once")
    assert once["ScheduleExpression"] == "at(2027-01-01T06:00:00)"
    assert once["ScheduleExpressionTimezone"] == "Europe/Berlin"
    statements = _of(template, "AWS::IAM::Policy", "HourlyRole")["PolicyDocument"]["Statement"]
    start = [s for s in statements if s["Action"] == "states:StartExecution"]
    assert start and start[0]["Resource"]["Ref"].startswith("Pipeline")


# -- notifications ---------------------------------------------------------------------------------------
JOB_SAMPLES = [
    "notify-job-failed",
    "notify-job-succeeded",
    "notify-job-failed-other-queue",
    "notify-job-running",
]


@mock_aws
def test_job_failures_route_only_failed_jobs_of_the_chosen_queues(template: dict) -> None:
    events = [_event(f"batch/{name}.json") for name in JOB_SAMPLES]
    assert routed(_pattern(template, "JobFailures"), events) == [True, False, False, False]


@mock_aws
def test_job_outcomes_route_succeeded_when_chosen(template: dict) -> None:
    events = [_event(f"batch/{name}.json") for name in JOB_SAMPLES]
    assert routed(_pattern(template, "JobOutcomes"), events) == [True, True, False, False]


def test_job_failures_go_to_the_topic_and_the_queue_with_a_readable_message(template: dict) -> None:
    targets = _of(template, "AWS::Events::Rule", "JobFailures")["Targets"]
    assert [t["Arn"].get("Ref", "") or t["Arn"]["Fn::GetAtt"][0] for t in targets][0].startswith("Alerts")
    assert targets[1]["Arn"]["Fn::GetAtt"][0].startswith("Inbox")
    for target in targets:
        assert "DeadLetterConfig" in target and "RetryPolicy" in target
    transformer = targets[0]["InputTransformer"]
    template_text = json.loads(transformer["InputTemplate"])
    for name, path in transformer["InputPathsMap"].items():
        template_text = template_text.replace(
            f"<{name}>", str(_lookup(_event("batch/notify-job-failed.json"), path))
        )
    assert template_text == (
        "Batch job Render (4f1e8bd4-9b4e-4d2c-8c5e-2b0e0f5b9c1a) in queue " + QUEUE_ARN + " is FAILED: "
        "Essential container in task exited. Log stream: Render/default/0123456789abcdef."
    )


def _lookup(event: dict, path: str) -> object:
    value: object = event
    for part in path.removeprefix("$.").split("."):
        assert isinstance(value, dict)
        value = value[part]
    return value


@mock_aws
def test_workflow_failures_route_failed_timed_out_and_aborted_of_the_workflow(template: dict) -> None:
    samples = ["failed", "timed-out", "aborted", "succeeded", "failed-other-machine"]
    events = [_event(f"eventbridge/sfn-execution-{name}.json") for name in samples]
    assert routed(_pattern(template, "WorkflowFailures"), events) == [True, True, True, False, False]
    # The workflow's own rule leaves FAILED to its Catch (one notification per failure).
    own = _concrete(
        next(
            r["Properties"]["EventPattern"]
            for lid, r in template["Resources"].items()
            if lid.startswith("PipelineNotificationsRule") and r["Type"] == "AWS::Events::Rule"
        ),
        template,
    )
    assert routed(own, events) == [False, True, True, False, False]  # type: ignore[arg-type]


# -- validation ------------------------------------------------------------------------------------------
@pytest.fixture
def parts() -> tuple[cdk.Stack, JobQueue, ContainerJobDefinition, Workflow]:
    stack = new_stack()
    queue, job = fargate_queue_and_job(stack)
    return stack, queue, job, Workflow(stack, "W", steps=[Step("A", job, queue)])


def test_rejects_notifications_without_destination(parts) -> None:
    stack, queue, _, _ = parts
    with pytest.raises(ValueError, match="topic.*a destination"):
        JobStateNotifications(stack, "N", job_queues=[queue])


def test_rejects_unknown_statuses(parts) -> None:
    stack, queue, _, workflow = parts
    with pytest.raises(ValueError, match=r"statuses=\['FAIL'\]"):
        JobStateNotifications(
            stack, "N", job_queues=[queue], statuses=["FAIL"], sqs_queue=sqs.Queue(stack, "Q")
        )
    with pytest.raises(ValueError, match=r"statuses=\['DONE'\]"):
        WorkflowNotifications(stack, "W2", workflows=[workflow], statuses=["DONE"])


def test_rejects_retry_attempts_outside_limits(parts) -> None:
    stack, _, _, workflow = parts
    with pytest.raises(ValueError, match=r"delivery.retry_attempts=186"):
        ObjectCreatedTrigger(
            stack,
            "T",
            bucket=s3.Bucket(stack, "B"),
            workflow=workflow,
            delivery=EventDelivery(retry_attempts=186),
        )


def test_rejects_schedule_inputs_that_are_not_strings(parts) -> None:
    stack, _, _, workflow = parts
    rate = scheduler.ScheduleExpression.rate(cdk.Duration.hours(1))
    with pytest.raises(ValueError, match=r"input\['count'\]=3.*strings"):
        WorkflowSchedule(stack, "S", schedule=rate, workflow=workflow, input={"count": 3})  # type: ignore[dict-item]


def test_rejects_bad_job_schedules(parts) -> None:
    stack, queue, job, _ = parts
    rate = scheduler.ScheduleExpression.rate(cdk.Duration.hours(1))
    with pytest.raises(ValueError, match=r"array_size=1 .*between 2 and 10000"):
        JobSchedule(stack, "S1", schedule=rate, job_definition=job, job_queue=queue, array_size=1)
    with pytest.raises(ValueError, match="job_name='bad name'"):
        JobSchedule(stack, "S2", schedule=rate, job_definition=job, job_queue=queue, job_name="bad name")
    with pytest.raises(
        ValueError, match=r"flexible_window='5 s' is invalid: must be 1 to 1440 whole minutes"
    ):
        JobSchedule(
            stack,
            "S3",
            schedule=rate,
            job_definition=job,
            job_queue=queue,
            flexible_window=cdk.Duration.seconds(5),
        )


@pytest.mark.parametrize(
    ("expression", "match"),
    [
        ("cron(61 2 * * ? *)", r"Sched: schedule='cron\(61 2 \* \* \? \*\)' is invalid: minutes field '61'"),
        ("cron(every night)", r"schedule='cron\(every night\)' is invalid: .*6 fields"),
        ("cron(0 2 * * * *)", r"exactly one of day-of-month .* must be '\?'"),
        ("cron(0 2 * * *)", r"looks like a 5-field Unix cron; EventBridge Scheduler needs 6 fields"),
        ("rate(1 hours)", r"singular for 1"),
    ],
)
def test_rejects_schedules_scheduler_would_refuse(parts, expression: str, match: str) -> None:
    stack, queue, job, workflow = parts
    schedule = scheduler.ScheduleExpression.expression(expression)
    with pytest.raises(ValueError, match=match):
        JobSchedule(stack, "JobSched", schedule=schedule, job_definition=job, job_queue=queue)
    with pytest.raises(ValueError, match=match):
        WorkflowSchedule(stack, "FlowSched", schedule=schedule, workflow=workflow)


def test_schedule_tokens_are_left_to_deploy_time(parts) -> None:
    stack, queue, job, _ = parts
    expression = cdk.CfnParameter(stack, "Expr", default="rate(1 hour)").value_as_string
    job_schedule = JobSchedule(
        stack,
        "FromParameter",
        schedule=scheduler.ScheduleExpression.expression(expression),
        job_definition=job,
        job_queue=queue,
    )
    rendered = stack.resolve(job_schedule.schedule.node.default_child.schedule_expression)  # type: ignore[union-attr]
    assert rendered == {"Ref": "Expr"}
