"""The kit on what a real app contains beyond one flat stack: nested stacks, CDK-managed bucket
notifications (``event_bridge_enabled=True``, ``add_event_notification``), object keys with line
separators, what a function really finds in its environment, and a failing workflow's logs.

One app, synthesized once for the module; each test builds the world it needs.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sqs as sqs

from cdk_batchkit.constructs import (
    BatchNetwork,
    Container,
    ContainerJobDefinition,
    FargateComputeEnvironment,
    JobQueue,
    Platform,
    S3JobSubmitter,
    Step,
    Workflow,
)
from cdk_batchkit.testing import NestedStack, World, build_world

HANDLER = "def handler(event, context):\n    return {'records': len(event.get('Records', []))}\n"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> cdk.App:
    code = tmp_path_factory.mktemp("code")
    (code / "index.py").write_text(HANDLER)
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("app")))

    notified = cdk.Stack(app, "Notified")
    eventbridge = s3.Bucket(notified, "Eb", event_bridge_enabled=True)
    seen = sqs.Queue(notified, "EbEvents")
    events.Rule(
        notified,
        "EbRule",
        event_pattern=events.EventPattern(
            source=["aws.s3"],
            detail_type=["Object Created"],
            detail={"bucket": {"name": [eventbridge.bucket_name]}},
        ),
        targets=[targets.SqsQueue(seen)],
    )
    classic = s3.Bucket(notified, "Classic")
    classic_events = sqs.Queue(notified, "ClassicEvents")
    reader = lambda_.Function(
        notified,
        "Reader",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_asset(str(code)),
        environment={"QUEUE_URL": classic_events.queue_url},
        logging_format=lambda_.LoggingFormat.JSON,
        application_log_level_v2=lambda_.ApplicationLogLevel.DEBUG,
    )
    classic.add_event_notification(
        s3.EventType.OBJECT_CREATED,
        s3n.SqsDestination(classic_events),
        s3.NotificationKeyFilter(prefix="in/"),
    )
    classic.add_event_notification(
        s3.EventType.OBJECT_CREATED, s3n.LambdaDestination(reader), s3.NotificationKeyFilter(suffix=".csv")
    )
    inner = cdk.NestedStack(notified, "Inner")
    dead = sqs.Queue(inner, "Dead")
    s3.Bucket(inner, "Archive")
    sqs.Queue(notified, "Work", dead_letter_queue=sqs.DeadLetterQueue(queue=dead, max_receive_count=2))

    # The library's own submitter on a bucket whose notifications CDK manages (a custom resource).
    submitting = cdk.Stack(app, "Submitting")
    network = BatchNetwork(submitting, "Network")
    queue = JobQueue(
        submitting,
        "Queue",
        compute_environments=[FargateComputeEnvironment(submitting, "Fargate", network=network)],
    )
    job = ContainerJobDefinition(
        submitting,
        "Job",
        platform=Platform.FARGATE,
        container=Container(
            image=ecs.ContainerImage.from_registry("public.ecr.aws/docker/library/busybox:1"),
            vcpus=0.25,
            memory=cdk.Size.mebibytes(512),
        ),
    )
    uploads = s3.Bucket(submitting, "Uploads", event_bridge_enabled=True)
    S3JobSubmitter(submitting, "Submitter", bucket=uploads, job_queue=queue, job_definition=job, prefix="in/")
    Workflow(submitting, "Flow", steps=[Step("first", job, queue)])
    return app


@pytest.fixture
def notified(app: cdk.App, batchkit_aws: None) -> World:
    return build_world(app, stack="Notified")


@pytest.fixture
def submitting(app: cdk.App, batchkit_aws: None) -> World:
    return build_world(app, stack="Submitting")


def test_a_nested_stack_is_built_in_the_same_world(notified: World) -> None:
    assert set(notified.stacks) == {"Notified", "Notified/Inner"}
    dead = notified.queue("Inner/Dead")
    assert dead.stack == "Notified/Inner" and dead.full_path.startswith("Notified/Inner/Dead")
    assert notified.bucket("Notified/Inner/Archive").name
    # The parent's queue reads the nested stack's output: the dead-letter queue built in moto.
    redrive = json.loads(
        notified.internal_client("sqs").get_queue_attributes(
            QueueUrl=notified.queue("Work").url, AttributeNames=["RedrivePolicy"]
        )["Attributes"]["RedrivePolicy"]
    )
    assert redrive["deadLetterTargetArn"] == dead.arn
    (nested,) = notified.all(NestedStack)
    assert dead.arn in nested.outputs.values()
    assert not [kind for kind in notified.skipped.values() if kind == "AWS::CloudFormation::Stack"]


def test_a_nested_stack_object_builds_the_stack_holding_it(app: cdk.App, batchkit_aws: None) -> None:
    inner = app.node.find_child("Notified").node.find_child("Inner")
    assert isinstance(inner, cdk.NestedStack)
    assert set(build_world(inner).stacks) == {"Notified", "Notified/Inner"}


def test_a_bucket_with_event_bridge_enabled_by_cdk_sends_object_created_events(notified: World) -> None:
    bucket = notified.bucket("Eb")
    assert bucket.eventbridge  # from Custom::S3BucketNotifications, not the bucket's own property
    notified.put_objects(bucket, ["a/1.txt"])
    (event,) = notified.queue("EbEvents").messages()
    assert event["detail-type"] == "Object Created" and event["detail"]["object"]["key"] == "a/1.txt"


def test_add_event_notification_delivers_classic_records_to_queues_and_functions(notified: World) -> None:
    queue = notified.queue("ClassicEvents")
    # S3 sends a test message when the configuration is put (at deploy, so at build).
    assert [m.get("Event") for m in queue.messages()] == ["s3:TestEvent"]
    key = "in/batch 1/a+b.csv"
    notified.put_objects("Classic", [key, "out/skipped.txt"])
    (message,) = queue.messages()  # prefix in/: the second key does not match
    (record,) = message["Records"]
    assert record["eventName"] == "ObjectCreated:Put" and record["eventSource"] == "aws:s3"
    assert record["s3"]["object"]["key"] == quote_plus(key, safe="/")  # URL-encoded, as S3 documents
    assert record["s3"]["bucket"]["name"] == notified.bucket("Classic").name
    delivery = notified.deliver()  # S3 invokes functions asynchronously
    (invocation,) = delivery.invocations
    assert invocation.function == "Reader/Resource" and invocation.response == {"records": 1}
    assert invocation.event["Records"][0]["s3"]["object"]["key"] == quote_plus(key, safe="/")


def test_the_submitter_on_a_cdk_notified_bucket_submits_jobs(submitting: World) -> None:
    keys = ["in/a.csv", "in/line\u2028separator.csv", "in/next\x85line.csv", "in/para\u2029graph.csv"]
    upload = submitting.upload("Uploads", keys)
    assert [i.error for i in upload.delivery.invocations] == [None]
    (job,) = upload.jobs
    assert job.array_size == len(keys)
    # The manifest is read as job code reads it: one entry per key, whatever separators the keys hold.
    assert sorted(job.keys) == sorted(keys)
    assert job.manifest is not None and all(
        entry.bucket == submitting.bucket("Uploads").name for entry in job.manifest
    )


def test_upload_names_a_bucket_that_sends_nothing(notified: World) -> None:
    with pytest.raises(ValueError, match="Notified/Inner/Archive.*sends no event notifications"):
        notified.upload("Inner/Archive", ["x"])


def test_a_function_gets_its_variables_and_the_runtimes(notified: World) -> None:
    function = notified.function("Reader")
    env = notified.lambda_environment(function)
    assert env["QUEUE_URL"] == notified.queue("ClassicEvents").url  # the template's own variable
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == function.name and env["_HANDLER"] == "index.handler"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.13" and env["AWS_REGION"] == notified.region
    assert env["AWS_LAMBDA_LOG_FORMAT"] == "JSON" and env["AWS_LAMBDA_LOG_LEVEL"] == "DEBUG"
    assert env["LAMBDA_TASK_ROOT"] == str(function.asset)

    def echo(event: Any, context: Any) -> dict[str, str]:
        import os

        return {name: os.environ[name] for name in ("QUEUE_URL", "AWS_LAMBDA_FUNCTION_NAME")}

    assert function.invoke({}, handler=echo).response == {
        "QUEUE_URL": env["QUEUE_URL"],
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
    }


def test_a_failed_workflow_logs_its_cause_in_a_few_short_lines(
    submitting: World, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        run = submitting.state_machine("Flow").run(
            {"bucket": "b", "key": "k", "size": "1", "version": "", "etag": "", "sequencer": ""},
            fail_jobs=["first"],
        )
    assert run.status == "FAILED"
    engine = [r for r in caplog.records if r.name.startswith("moto.stepfunctions")]
    assert engine, "the engine's failure lines are kept"
    assert all(len(r.getMessage()) < 2_000 for r in engine), max(len(r.getMessage()) for r in engine)
    assert any("StepFailed" in r.getMessage() and "first" in r.getMessage() for r in engine)


def test_a_stack_of_the_app_is_found_by_its_path(app: cdk.App, batchkit_aws: None) -> None:
    world = build_world(app)
    assert set(world.stacks) == {"Notified", "Notified/Inner", "Submitting"}
    with pytest.raises(LookupError, match="this world has 2 stacks"):
        world.stack  # noqa: B018
    assert world.queue("Notified/Work") is world.queue("Work")
    # With several stacks, candidates are listed with their stack.
    with pytest.raises(LookupError, match=r"no Bucket named 'Nope'.*Notified/Classic.*Submitting/Uploads"):
        world.bucket("Nope")
    assert Path(world.stacks["Notified/Inner"].directory).is_dir()
    from tests.testing.guide_lists import unnamed_skipped_types

    assert unnamed_skipped_types(world) == []
