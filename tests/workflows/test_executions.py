"""Run the synthesized workflow definition for real in moto's Step Functions engine against moto Batch.

The testing kit (cdk_batchkit.testing, through its pytest plugin's fixtures) builds the synthesized
stack in moto and runs the state machine; its shim only fills a gap in moto's Batch integration.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecs as ecs

from cdk_batchkit.constructs import (
    Container,
    ContainerJobDefinition,
    FargateComputeEnvironment,
    JobQueue,
    Platform,
)
from cdk_batchkit.constructs.notifications import NotificationTopic
from cdk_batchkit.constructs.workflow import S3_OBJECT_ENVIRONMENT, STEP_FAILED, Step, Workflow
from cdk_batchkit.testing import World
from tests.support import network, synth_checked

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
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthesized cloud assembly (checked under cdk-nag and cfn-lint), once per module."""
    outdir = tmp_path_factory.mktemp("wf")
    synth_checked(_build, outdir, "Workflows")
    return outdir


@pytest.fixture
def world(batchkit_build: Callable[..., World], assembly: Path) -> World:
    """The synthesized stack built in moto by the testing kit (plugin fixture ``batchkit_build``)."""
    return batchkit_build(assembly)


def test_every_step_succeeds_with_the_input_as_job_parameters(world: World) -> None:
    run = world.state_machine("Pipeline").run(INPUT)
    assert run.status == "SUCCEEDED", run.execution
    jobs = {name: found[0] for name, found in run.jobs_by_name.items()}
    assert set(jobs) == set(PARENTS)
    assert all(len(found) == 1 for found in run.jobs_by_name.values())
    assert all(j["status"] == "SUCCEEDED" for j in jobs.values())
    # The jobs went to the synthesized queue and job definition, as built by the kit.
    assert {j["jobQueue"] for j in jobs.values()} == {world.job_queue("Queue").arn}
    assert {j["jobDefinition"] for j in jobs.values()} == {world.job_definition("Job").arn}
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
    assert world.topic("Alerts").messages() == []  # no failure, no notification


def test_dependent_steps_never_start_before_their_parents(world: World) -> None:
    run = world.state_machine("Pipeline").run(INPUT)
    assert run.status == "SUCCEEDED"
    entered = {
        e["stateEnteredEventDetails"]["name"]: e["id"] for e in run.history if "stateEnteredEventDetails" in e
    }
    exited = {
        e["stateExitedEventDetails"]["name"]: e["id"] for e in run.history if "stateExitedEventDetails" in e
    }
    for step, parents in PARENTS.items():
        for parent in parents:
            assert exited[parent] < entered[step], f"{step} entered before {parent} ended"
    jobs = {name: found[0] for name, found in run.jobs_by_name.items()}
    for step, parents in PARENTS.items():
        for parent in parents:
            assert jobs[parent]["stoppedAt"] <= jobs[step]["createdAt"], (
                f"{step} submitted before {parent} ended"
            )
    # Independent steps are not serialised behind each other: Index starts before Stitch's level.
    assert entered["Index"] < entered["Stitch"]


def test_a_failing_step_ends_in_fail_and_notifies_once(world: World) -> None:
    # Every job fails (so Prepare and Index fail concurrently).
    run = world.state_machine("Pipeline").run(INPUT, fail_jobs=["*"])
    assert run.status == "FAILED"
    assert run.error == STEP_FAILED
    cause = run.cause
    failed_jobs = {j["jobName"]: j["jobId"] for j in run.jobs}
    assert cause["step"] in ("Prepare", "Index")
    assert cause["jobId"] == failed_jobs[cause["step"]]
    assert cause["status"] == "FAILED" and cause["error"] == "States.TaskFailed"
    # Nothing downstream of a failed step was submitted.
    assert set(failed_jobs) <= {"Prepare", "Index"}
    assert run.states_entered[-1] == "Workflow failed"
    messages = world.topic("Alerts").messages()
    assert len(messages) == 1, messages
    message = messages[0]
    assert message["error"] == STEP_FAILED
    assert json.loads(message["cause"]) == cause
    assert message["input"] == INPUT


def test_only_the_chosen_step_fails_and_its_dependents_never_run(world: World) -> None:
    run = world.state_machine("Pipeline").run(INPUT, fail_jobs=["Audio"])
    assert run.status == "FAILED" and run.cause["step"] == "Audio"
    statuses = {name: [j["status"] for j in found] for name, found in run.jobs_by_name.items()}
    assert statuses["Audio"] == ["FAILED"]
    assert statuses["Prepare"] == ["SUCCEEDED"] and statuses["Index"] == ["SUCCEEDED"]
    assert "Stitch" not in statuses


def test_a_refused_submission_is_caught_without_a_job(world: World) -> None:
    """SubmitJob itself fails (the queue is gone -> Batch.ClientException, not retried): one Fail path."""
    batch = world.client("batch")
    queue = world.job_queue("Queue").arn
    batch.update_job_queue(jobQueue=queue, state="DISABLED")
    batch.delete_job_queue(jobQueue=queue)
    run = world.state_machine("Pipeline").run(INPUT)
    assert run.status == "FAILED" and run.error == STEP_FAILED
    cause = run.cause
    assert cause["step"] in ("Prepare", "Index")
    assert cause["error"].startswith("Batch.")
    assert len(world.topic("Alerts").messages()) == 1
    assert run.jobs == []
