"""Steps Step Functions' optimized Batch integration cannot carry run through the SDK integration and a
DescribeJobs polling loop: executed in moto's Step Functions engine against moto's Batch.

Why: ``batch:submitJob.sync`` adds ``ContainerOverrides`` (``MANAGED_BY_AWS``) to every submission, which
Batch refuses for multi-container (``ecsProperties``) and EKS jobs, and it is documented for a fixed set of
SubmitJob fields (no ``NodeOverrides``, ``EcsPropertiesOverride``...). moto's engine reproduces both: it
injects the variable and drops every other field. The SDK integration carries every field.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecs as ecs

from cdk_batchkit.constructs import (
    BatchNetwork,
    Container,
    ContainerJobDefinition,
    Ec2ComputeEnvironment,
    EcsTaskJobDefinition,
    JobQueue,
    MultiNodeJobDefinition,
    NetworkMode,
    NodeOverride,
    NodeRange,
    TaskContainer,
)
from cdk_batchkit.constructs.workflow import FAILED_STATE, JOB_FAILED, STEP_FAILED, Step, Workflow
from cdk_batchkit.testing import World
from tests.support import synth_checked

IMAGE = ecs.ContainerImage.from_registry("public.ecr.aws/amazonlinux/amazonlinux:2023")
INPUT = {"key": "in/a.json", "count": "2"}


def _build(stack: cdk.Stack) -> None:
    net = BatchNetwork(stack, "Network", mode=NetworkMode.PRIVATE_WITH_NAT, max_azs=1)
    queue = JobQueue(
        stack,
        "Queue",
        compute_environments=[Ec2ComputeEnvironment(stack, "Env", network=net, multi_node=True)],
    )
    plain = ContainerJobDefinition(stack, "Plain", container=Container(image=IMAGE, vcpus=1))
    task = EcsTaskJobDefinition(
        stack,
        "Task",
        containers=[
            TaskContainer(image=IMAGE, name="app", vcpus=1),
            TaskContainer(image=IMAGE, name="side", vcpus=1, essential=False),
        ],
    )
    mnp = MultiNodeJobDefinition(
        stack,
        "Mnp",
        nodes=3,
        node_ranges=[
            NodeRange(Container(image=IMAGE, vcpus=1, command=["main"]), 0, 0),
            NodeRange(Container(image=IMAGE, vcpus=2), 1),
        ],
    )
    Workflow(
        stack,
        "Flow",
        job_poll_interval=cdk.Duration.seconds(1),
        steps=[
            Step("Plain", plain, queue),
            Step("Task", task, queue, environment={"MODE": "full"}, command=["run"]),
            Step(
                "Mpi",
                mnp,
                queue,
                depends_on=["Plain"],
                environment_from_input={"KEY": "key"},
                node_overrides=[NodeOverride("1:", command=["work"])],
            ),
        ],
    )


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("sdk")
    synth_checked(_build, outdir, "SdkSteps")
    return outdir


@pytest.fixture
def world(batchkit_build: Callable[..., World], assembly: Path) -> World:
    # No shim of the test's own: the kit converts the SDK integration's PascalCase for Batch (sfn_shim).
    return batchkit_build(assembly)


def test_the_plain_step_syncs_and_the_others_poll_through_the_sdk(world: World) -> None:
    states = world.state_machine("Flow").definition["States"]["Run steps"]["Branches"]
    found = {name: s for branch in states for name, s in branch["States"].items()}
    assert found["Plain"]["Type"] == "Task" and found["Plain"]["Resource"].endswith("batch:submitJob.sync")
    for name in ("Task", "Mpi"):
        assert found[name]["Type"] == "Parallel" and found[name]["ResultPath"] is None
        loop = found[name]["Branches"][0]["States"]
        assert loop[f"{name} submit"]["Resource"].endswith(":states:::aws-sdk:batch:submitJob")
        assert loop[f"{name} describe"]["Resource"].endswith(":states:::aws-sdk:batch:describeJobs")
        assert loop[f"{name} wait"]["Seconds"] == 1 and loop[f"{name} status"]["Default"] == f"{name} wait"
        assert found[name]["Catch"][0]["Next"] == f"{name} failure"
    mpi = found["Mpi"]["Branches"][0]["States"]["Mpi submit"]["Parameters"]
    assert "ContainerOverrides" not in mpi
    # The step's variable goes to every range of the definition, merged with the range's own override.
    targets = {
        o["TargetNodes"]: o["ContainerOverrides"] for o in mpi["NodeOverrides"]["NodePropertyOverrides"]
    }
    assert set(targets) == {"0:0", "1:"} and targets["1:"]["Command"] == ["work"]
    assert all(o["Environment"] == [{"Name": "KEY", "Value.$": "$.key"}] for o in targets.values())
    task = found["Task"]["Branches"][0]["States"]["Task submit"]["Parameters"]
    (container,) = task["EcsPropertiesOverride"]["TaskProperties"][0]["Containers"]
    assert container == {
        "Name": "app",
        "Command": ["run"],
        "Environment": [{"Name": "MODE", "Value": "full"}],
    }


def test_every_step_succeeds_and_polled_jobs_get_their_own_override_fields(world: World) -> None:
    run = world.state_machine("Flow").run(INPUT, timeout=120)
    assert run.status == "SUCCEEDED", run.execution
    jobs = {name: found[-1] for name, found in run.jobs_by_name.items()}
    assert set(jobs) == {"Plain", "Task", "Mpi"} and {j["status"] for j in jobs.values()} == {"SUCCEEDED"}
    for job in jobs.values():
        assert job["parameters"]["key"] == INPUT["key"]
    # The optimized integration injects its variable; the SDK integration sends what the step says.
    plain_env = {e["name"]: e["value"] for e in jobs["Plain"]["container"]["environment"]}
    assert plain_env.get("MANAGED_BY_AWS") == "STARTED_BY_STEP_FUNCTIONS"
    entered = run.states_entered
    assert "Mpi submit" in entered and "Mpi describe" in entered and "Mpi done" in entered
    assert entered.index("Plain") < entered.index("Mpi submit")
    # The loop's state stays inside its Parallel: the next state sees the workflow input unchanged.
    (exited,) = [
        e["stateExitedEventDetails"]
        for e in run.history
        if e.get("stateExitedEventDetails", {}).get("name") == "Mpi"
    ]
    assert '"JobId"' not in exited["output"] and '"key"' in exited["output"]


def test_a_failed_polled_job_ends_in_the_step_summary_and_fail(world: World) -> None:
    run = world.state_machine("Flow").run(INPUT, fail_jobs=["Mpi"], timeout=120)
    assert run.status == "FAILED" and run.error == STEP_FAILED
    cause = run.cause
    failed = run.jobs_by_name["Mpi"][-1]
    assert cause == {
        "step": "Mpi",
        "error": JOB_FAILED,
        "jobId": failed["jobId"],
        "jobName": "Mpi",
        "status": "FAILED",
    }
    assert "Mpi job ended FAILED" in run.states_entered and run.states_entered[-1] == FAILED_STATE
