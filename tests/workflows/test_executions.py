"""Run the synthesized workflow definition for real in moto's Step Functions engine against moto Batch.

The state machine is the one cdk-batchkit synthesizes (tokens replaced by moto ARNs); the shim in
moto_shim.py only fills a gap in moto's Batch integration (see there).
"""

from __future__ import annotations

import json

import aws_cdk as cdk
import boto3
import pytest
from aws_cdk import aws_ecs as ecs
from moto import mock_aws

from cdk_batchkit.constructs import (
    Container,
    ContainerJobDefinition,
    FargateComputeEnvironment,
    JobQueue,
    Platform,
)
from cdk_batchkit.constructs.notifications import NotificationTopic
from cdk_batchkit.constructs.workflow import S3_OBJECT_ENVIRONMENT, STEP_FAILED, Step, Workflow
from tests.support import network, synth_checked
from tests.workflows import harness
from tests.workflows.moto_shim import batch_integration_shim

MOTO = {"stepfunctions": {"execute_state_machine": True}, "batch": {"use_docker": False}}
INPUT = {
    "bucket": "uploads",
    "key": "in/scene-1.json",
    "size": "2048",
    "version": "v1",
    "manifest": "s3://uploads/manifests/m.jsonl",
    "count": "3",
}
#: The diamond Prepare -> {Render (fan-out), Audio} -> Stitch, plus an unrelated Index step.
PARENTS = {
    "Prepare": [],
    "Render": ["Prepare"],
    "Audio": ["Prepare"],
    "Stitch": ["Render", "Audio"],
    "Index": [],
}


def _build(stack: cdk.Stack) -> None:
    queue = JobQueue(
        stack, "Queue", compute_environments=[FargateComputeEnvironment(stack, "Env", network=network(stack))]
    )
    job = ContainerJobDefinition(
        stack,
        "Job",
        container=Container(
            image=ecs.ContainerImage.from_registry("public.ecr.aws/amazonlinux/amazonlinux:2023"),
            vcpus=0.25,
            memory=cdk.Size.mebibytes(512),
        ),
        platform=Platform.FARGATE,
    )
    Workflow(
        stack,
        "Pipeline",
        topic=NotificationTopic(stack, "Alerts"),
        steps=[
            Step("Prepare", job, queue, environment_from_input=S3_OBJECT_ENVIRONMENT),
            Step.fan_out("Render", job, queue, depends_on=["Prepare"]),
            Step("Audio", job, queue, depends_on=["Prepare"], command=["audio", "Ref::key"]),
            Step("Stitch", job, queue, depends_on=["Render", "Audio"]),
            Step("Index", job, queue),
        ],
    )


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return synth_checked(_build, tmp_path_factory.mktemp("wf"), "Workflows")


def _execute(
    template: dict, execution_input: dict, queue_suffix: str = ""
) -> tuple[dict, harness.MotoBatch, str]:
    """Set up moto resources, run the synthesized definition once; returns (execution, batch, inbox URL).

    ``queue_suffix`` is appended to the queue ARN the definition gets (``"-gone"``: a queue Batch rejects).
    """
    batch = harness.MotoBatch()
    topic, inbox = harness.sqs_subscribed_topic()
    values = {
        **{
            lid: batch.queue_arn + queue_suffix
            for lid in harness.logical_ids(template, "AWS::Batch::JobQueue")
        },
        **{
            lid: batch.job_definition_arn
            for lid in harness.logical_ids(template, "AWS::Batch::JobDefinition")
        },
        **{lid: topic for lid in harness.logical_ids(template, "AWS::SNS::Topic")},
    }
    (resource,) = harness.state_machines(template).values()
    asl = harness.definition(resource, harness.substituter(values))
    with batch_integration_shim():
        execution = harness.run(asl, execution_input, batch.role_arn)
    return execution, batch, inbox


@mock_aws(config=MOTO)
def test_every_step_succeeds_with_the_input_as_job_parameters(template: dict) -> None:
    execution, batch, inbox = _execute(template, INPUT)
    assert execution["status"] == "SUCCEEDED", execution
    jobs = {j["jobName"]: j for j in batch.jobs()}
    assert set(jobs) == set(PARENTS)
    assert all(j["status"] == "SUCCEEDED" for j in jobs.values())
    for job in jobs.values():
        # Every job gets the whole workflow input as its Batch parameters.
        assert {k: job["parameters"].get(k) for k in INPUT} == INPUT, job["jobName"]
    env = {e["name"]: e["value"] for e in jobs["Prepare"]["container"]["environment"]}
    assert env["BATCHKIT_KEY"] == "in/scene-1.json" and env["BATCHKIT_BUCKET"] == "uploads"
    # The fan-out step is an array job over the manifest: size from $.count, URI in BATCHKIT_MANIFEST.
    assert jobs["Render"]["arrayProperties"]["size"] == 3
    render_env = {e["name"]: e["value"] for e in jobs["Render"]["container"]["environment"]}
    assert render_env["BATCHKIT_MANIFEST"] == INPUT["manifest"]
    assert jobs["Audio"]["container"]["command"] == ["audio", "Ref::key"]
    assert harness.drain(inbox) == []  # no failure, no notification


@mock_aws(config=MOTO)
def test_dependent_steps_never_start_before_their_parents(template: dict) -> None:
    execution, batch, _ = _execute(template, INPUT)
    assert execution["status"] == "SUCCEEDED"
    events = harness.history(execution["executionArn"])
    entered = {
        e["stateEnteredEventDetails"]["name"]: e["id"] for e in events if "stateEnteredEventDetails" in e
    }
    exited = {e["stateExitedEventDetails"]["name"]: e["id"] for e in events if "stateExitedEventDetails" in e}
    for step, parents in PARENTS.items():
        for parent in parents:
            assert exited[parent] < entered[step], f"{step} entered before {parent} ended"
    jobs = {j["jobName"]: j for j in batch.jobs()}
    for step, parents in PARENTS.items():
        for parent in parents:
            assert jobs[parent]["stoppedAt"] <= jobs[step]["createdAt"], (
                f"{step} submitted before {parent} ended"
            )
    # Independent steps are not serialised behind each other: Index starts before Stitch's level.
    assert entered["Index"] < entered["Stitch"]


@mock_aws(config=MOTO)
def test_a_failing_step_ends_in_fail_and_notifies_once(
    template: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    # moto reads this per job: every job fails (so Prepare and Index fail concurrently).
    monkeypatch.setenv("MOTO_SIMPLE_BATCH_FAIL_AFTER", "0")
    execution, batch, inbox = _execute(template, INPUT)
    assert execution["status"] == "FAILED"
    assert execution["error"] == STEP_FAILED
    cause = json.loads(execution["cause"])
    failed_jobs = {j["jobName"]: j["jobId"] for j in batch.jobs()}
    assert cause["step"] in ("Prepare", "Index")
    assert cause["jobId"] == failed_jobs[cause["step"]]
    assert cause["status"] == "FAILED" and cause["error"] == "States.TaskFailed"
    # Nothing downstream of a failed step was submitted.
    assert set(failed_jobs) <= {"Prepare", "Index"}
    events = harness.history(execution["executionArn"])
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]
    assert entered[-1] == "Workflow failed"
    messages = harness.drain(inbox)
    assert len(messages) == 1, messages
    message = json.loads(messages[0])
    assert message["error"] == STEP_FAILED
    assert json.loads(message["cause"]) == cause
    assert message["input"] == INPUT


@mock_aws(config=MOTO)
def test_a_refused_submission_is_caught_without_a_job(template: dict) -> None:
    """SubmitJob itself fails (unknown queue -> Batch.ClientException, not retried): still one Fail path."""
    execution, batch, inbox = _execute(template, INPUT, queue_suffix="-gone")
    assert execution["status"] == "FAILED" and execution["error"] == STEP_FAILED
    cause = json.loads(execution["cause"])
    assert cause["step"] in ("Prepare", "Index")
    assert cause["error"].startswith("Batch.")
    assert len(harness.drain(inbox)) == 1
    assert (
        boto3.client("batch", region_name=harness.REGION).list_jobs(jobQueue=batch.queue_arn)[
            "jobSummaryList"
        ]
        == []
    )
