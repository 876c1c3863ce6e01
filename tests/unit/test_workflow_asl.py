"""The CDK-free Step Functions definition of a workflow (:mod:`cdk_batchkit.model.workflow_asl`): the states
each step becomes, the failure route, the retries, the SDK integration's polling loop, the DAG layout, and
the JSON writer that leaves unresolved values to the CDK. No aws_cdk here: the definition is plain data."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from typing import Any

import pytest

from cdk_batchkit.model import Integration
from cdk_batchkit.model.workflow_asl import (
    FAILED_STATE,
    JOB_FAILED,
    RETRYABLE_ERRORS,
    SDK_RETRYABLE_ERRORS,
    STEP_FAILED,
    StepTask,
    definition,
    render_json,
)

PARTITION = "${Token[AWS.Partition.9]}"
QUEUE = "${Token[TOKEN.101]}"
JOB = "${Token[TOKEN.102]}"
TOPIC = "${Token[TOKEN.103]}"


def step(name: str, *depends_on: str, sdk: bool = False, **parameters: Any) -> StepTask:
    return StepTask(
        name=name,
        depends_on=depends_on,
        parameters={
            "JobName": name,
            "JobQueue": QUEUE,
            "JobDefinition": JOB,
            "Parameters.$": "$",
            **parameters,
        },
        integration=Integration.SDK if sdk else Integration.OPTIMIZED,
    )


def branches(asl: dict[str, Any]) -> list[dict[str, Any]]:
    return asl["States"]["Run steps"]["Branches"]  # type: ignore[no-any-return]


def only_branch(asl: dict[str, Any]) -> dict[str, Any]:
    (branch,) = branches(asl)
    return branch


def test_the_builder_imports_nothing_but_the_standard_library() -> None:
    code = (
        "import sys; import cdk_batchkit.model.workflow_asl; "
        "assert not {m for m in sys.modules if m.split('.')[0] in ('aws_cdk', 'jsii', 'constructs')}, "
        "sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_an_optimized_step_is_a_sync_task_with_retries_and_a_catch() -> None:
    asl = definition([step("load", ContainerOverrides={"Command": ["run"]})], partition=PARTITION)
    state = only_branch(asl)["States"]["load"]
    assert state == {
        "End": True,
        "Retry": [
            {
                "ErrorEquals": list(RETRYABLE_ERRORS),
                "IntervalSeconds": 5,
                "MaxAttempts": 8,
                "BackoffRate": 2,
                "MaxDelaySeconds": 120,
                "JitterStrategy": "FULL",
            }
        ],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "load failure"}],
        "Type": "Task",
        "ResultPath": None,
        "Resource": f"arn:{PARTITION}:states:::batch:submitJob.sync",
        "Parameters": {
            "JobName": "load",
            "JobQueue": QUEUE,
            "JobDefinition": JOB,
            "Parameters.$": "$",
            "ContainerOverrides": {"Command": ["run"]},
        },
    }
    # Keys in the order the L2 task wrote them (the template did not change when the L2 states went).
    assert list(state) == ["End", "Retry", "Catch", "Type", "ResultPath", "Resource", "Parameters"]


def test_a_failed_step_routes_a_job_failure_to_a_summary_and_anything_else_to_an_error() -> None:
    states = only_branch(definition([step("load")], partition=PARTITION))["States"]
    # The order in which the CDK's StateGraph discovers them.
    assert list(states) == [
        "load",
        "load failure",
        "load error",
        "load failed",
        "load job summary",
        "load job failed",
    ]
    route = states["load failure"]
    assert route["Type"] == "Choice" and route["Default"] == "load error"
    (choice,) = route["Choices"]
    assert choice["Next"] == "load job failed"
    assert choice["And"] == [
        {
            "Or": [
                {"Variable": "$.failure.Error", "StringEquals": "States.TaskFailed"},
                {"Variable": "$.failure.Error", "StringEquals": JOB_FAILED},
            ]
        },
        {"Variable": "$.failure.Cause", "IsPresent": True},
        {"Variable": "$.failure.Cause", "StringMatches": "{*"},
    ]
    assert states["load job failed"] == {
        "Type": "Pass",
        "Parameters": {"error.$": "$.failure.Error", "job.$": "States.StringToJson($.failure.Cause)"},
        "Next": "load job summary",
    }
    assert states["load job summary"]["Parameters"] == {
        "step": "load",
        "error.$": "$.error",
        "jobId.$": "$.job.JobId",
        "jobName.$": "$.job.JobName",
        "status.$": "$.job.Status",
    }
    assert states["load job summary"]["Next"] == "load failed"
    assert states["load error"] == {
        "Type": "Pass",
        "Parameters": {"step": "load", "error.$": "$.failure.Error", "detail.$": "$.failure"},
        "Next": "load failed",
    }
    assert states["load failed"] == {
        "Type": "Fail",
        "Error": STEP_FAILED,
        "CausePath": "States.JsonToString($)",
    }


def test_an_sdk_step_submits_then_polls_describe_jobs_until_the_job_ends() -> None:
    asl = definition([step("mpi", sdk=True, ShareIdentifier="teamA")], partition=PARTITION, poll_seconds=7)
    states = only_branch(asl)["States"]
    body = states["mpi"]
    assert body["Type"] == "Parallel" and body["ResultPath"] is None and body["End"] is True
    # The step's failure route catches the whole loop (the tasks inside only retry).
    assert body["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "mpi failure"}
    ]
    (loop,) = body["Branches"]
    assert loop["StartAt"] == "mpi submit"
    inner = loop["States"]
    assert list(inner) == [
        "mpi submit",
        "mpi wait",
        "mpi describe",
        "mpi listed",
        "mpi job",
        "mpi status",
        "mpi done",
        "mpi job ended FAILED",
    ]
    submit = inner["mpi submit"]
    assert submit["Resource"] == f"arn:{PARTITION}:states:::aws-sdk:batch:submitJob"
    assert submit["Parameters"]["ShareIdentifier"] == "teamA"
    assert submit["ResultSelector"] == {"JobId.$": "$.JobId"} and submit["ResultPath"] == "$"
    assert submit["Retry"][0]["ErrorEquals"] == list(SDK_RETRYABLE_ERRORS)
    assert "Catch" not in submit
    assert inner["mpi wait"] == {"Type": "Wait", "Seconds": 7, "Next": "mpi describe"}
    describe = inner["mpi describe"]
    assert describe["Resource"] == f"arn:{PARTITION}:states:::aws-sdk:batch:describeJobs"
    assert describe["Parameters"] == {"Jobs.$": "States.Array($.JobId)"}
    assert describe["ResultPath"] == "$.Described" and describe["Next"] == "mpi listed"
    assert inner["mpi listed"] == {
        "Type": "Choice",
        "Choices": [{"Variable": "$.Described.Jobs[0]", "IsPresent": True, "Next": "mpi job"}],
        "Default": "mpi wait",
    }
    assert inner["mpi job"]["Next"] == "mpi status"
    assert inner["mpi status"]["Choices"] == [
        {"Variable": "$.Job.Status", "StringEquals": "SUCCEEDED", "Next": "mpi done"},
        {"Variable": "$.Job.Status", "StringEquals": "FAILED", "Next": "mpi job ended FAILED"},
    ]
    assert inner["mpi status"]["Default"] == "mpi wait"
    assert inner["mpi done"] == {"Type": "Succeed"}
    assert inner["mpi job ended FAILED"] == {
        "Type": "Fail",
        "Error": JOB_FAILED,
        "CausePath": "States.JsonToString($.Job)",
    }
    assert "mpi failure" in states


def test_a_diamond_is_a_step_a_parallel_level_and_a_step_and_groups_run_side_by_side() -> None:
    steps = [step("A"), step("B", "A"), step("C", "A"), step("D", "B", "C"), step("X")]
    asl = definition(steps, partition=PARTITION)
    diamond, alone = branches(asl)
    assert (diamond["StartAt"], alone["StartAt"]) == ("A", "X")
    states = diamond["States"]
    assert states["A"]["Next"] == "Run B, C"
    level = states["Run B, C"]
    assert level["Type"] == "Parallel" and level["ResultPath"] is None and level["Next"] == "D"
    assert [b["StartAt"] for b in level["Branches"]] == ["B", "C"]
    assert "B failure" in level["Branches"][0]["States"]
    assert states["D"]["End"] is True
    # The chain first, then each step's failure states from the last step back (the CDK's discovery order).
    assert [s for s in states if " " not in s or s.startswith("Run ")] == ["A", "Run B, C", "D"]
    assert list(states).index("D failure") < list(states).index("A failure")


def test_a_long_level_label_names_the_level_and_group() -> None:
    names = [f"averyveryverylongstepname{i:02d}" for i in range(4)]
    asl = definition([step("root"), *(step(n, "root") for n in names)], partition=PARTITION)
    assert only_branch(asl)["States"]["root"]["Next"] == "Run level 2 of group 1"


def test_without_a_topic_a_failure_ends_the_workflow_with_the_step_error() -> None:
    asl = definition([step("A")], partition=PARTITION)
    assert list(asl) == ["StartAt", "States"]
    assert list(asl["States"]) == ["Run steps", FAILED_STATE]
    run = asl["States"]["Run steps"]
    assert run["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": FAILED_STATE}]
    assert run["End"] is True and run["ResultPath"] is None
    assert asl["States"][FAILED_STATE] == {
        "Type": "Fail",
        "ErrorPath": "$.failure.Error",
        "CausePath": "$.failure.Cause",
    }


def test_with_a_topic_the_failure_is_published_once_then_the_workflow_fails() -> None:
    asl = definition(
        [step("A")], partition=PARTITION, topic_arn=TOPIC, comment="nightly", timeout_seconds=3600
    )
    assert list(asl) == ["StartAt", "States", "TimeoutSeconds", "Comment"]
    assert (asl["TimeoutSeconds"], asl["Comment"]) == (3600, "nightly")
    assert list(asl["States"]) == ["Run steps", "Notify failure", FAILED_STATE]
    assert asl["States"]["Run steps"]["Catch"][0]["Next"] == "Notify failure"
    notify = asl["States"]["Notify failure"]
    assert notify["Resource"] == f"arn:{PARTITION}:states:::sns:publish"
    assert notify["Parameters"]["TopicArn"] == TOPIC
    assert notify["Parameters"]["Message"]["cause.$"] == "$.failure.Cause"
    assert notify["Retry"] == [
        {
            "ErrorEquals": ["States.ALL"],
            "IntervalSeconds": 2,
            "MaxAttempts": 3,
            "BackoffRate": 2,
            "JitterStrategy": "FULL",
        }
    ]
    # A notification that cannot be sent still ends in the original failure.
    assert notify["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.notifyError", "Next": FAILED_STATE}
    ]
    assert notify["Next"] == FAILED_STATE


# -- JSON ------------------------------------------------------------------------------------------------
def _number_token() -> float:
    # CDK's number encoding: a double whose top 16 bits are 0xFBFF.
    return struct.unpack(">d", b"\xfb\xff" + b"\x00" * 5 + b"\x07")[0]  # type: ignore[no-any-return]


def test_render_json_writes_what_json_stringify_writes() -> None:
    value = {"a": None, "b": [1, 2.0, 2.5, True, False], "c": 'é "q" \\ \n', "d": {}, "e": []}
    text = render_json(value, lambda v: pytest.fail(f"{v!r} is not unresolved"))
    assert text == '{"a":null,"b":[1,2,2.5,true,false],"c":"é \\"q\\" \\\\ \\n","d":{},"e":[]}'
    assert json.loads(text) == {**value, "b": [1, 2, 2.5, True, False]}


def test_render_json_leaves_each_unresolved_value_to_the_caller() -> None:
    number = _number_token()
    listed = ["#{Token[TOKEN.7]}"]
    seen: list[Any] = []

    def unresolved(value: Any) -> str:
        seen.append(value)
        return f"<{len(seen)}>"

    text = render_json(
        {"Resource": f"arn:{PARTITION}:x", QUEUE: "key", "Attempts": number, "Command": listed, "n": 3},
        unresolved,
    )
    assert text == '{"Resource":<1>,<2>:"key","Attempts":<3>,"Command":<4>,"n":3}'
    assert seen == [f"arn:{PARTITION}:x", QUEUE, number, listed]


def test_render_json_refuses_what_json_cannot_hold() -> None:
    with pytest.raises(ValueError, match="no JSON form"):
        render_json({"x": float("inf")}, str)
    with pytest.raises(TypeError, match="no JSON form"):
        render_json({"x": object()}, str)


def test_two_states_of_one_graph_cannot_share_a_name() -> None:
    # Step names never contain spaces, so "<step> failure" and the like cannot collide; a step named like
    # a state of the same graph would be refused rather than silently merged.
    with pytest.raises(ValueError, match="two states are named"):
        definition([step("A"), step("B", "A"), step("Run steps", "B")], partition=PARTITION)
