"""The definition string the Workflow hands to the L2 state machine: unresolved values (a comment from a
parameter, a poll interval of a number token, ARNs) come out as the CDK writes them, and the nulls of
``ResultPath`` survive (``Stack.to_json_string`` drops a None, so the definition is written in Python)."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from cdk_batchkit.constructs.workflow import Step, Workflow
from tests.unit.test_fair_share import _parts


def _flatten(value: Any) -> str:
    """A DefinitionString's Fn::Join, each intrinsic written as ``<json>``."""
    if isinstance(value, str):
        return value
    (delimiter, parts) = value["Fn::Join"]
    return delimiter.join(
        p if isinstance(p, str) else "<" + json.dumps(p, sort_keys=True) + ">" for p in parts
    )


def _parsed(value: Any) -> Any:
    """A DefinitionString as JSON, each intrinsic replaced by 0 (a digit in a string, a number outside)."""
    (delimiter, parts) = value["Fn::Join"]
    return json.loads(delimiter.join(p if isinstance(p, str) else "0" for p in parts))


@pytest.fixture(scope="module")
def definition_string() -> Any:
    app = cdk.App(builtin_cloud_formation_validation=False)
    stack = cdk.Stack(app, "Tokens")
    queue, job = _parts(stack)  # a fair-share queue: a share identifier makes the step an SDK one (polled)
    comment = cdk.CfnParameter(stack, "Comment")
    seconds = cdk.CfnParameter(stack, "PollSeconds", type="Number")
    Workflow(
        stack,
        "Flow",
        comment=comment.value_as_string,
        timeout=cdk.Duration.hours(2),
        job_poll_interval=cdk.Duration.seconds(seconds.value_as_number),
        steps=[
            Step("a", job, queue, share_identifier="teamA", command=["echo", 'é "quoted"']),
            Step("b", job, queue, share_identifier="teamB", depends_on=["a"]),
        ],
    )
    resources = Template.from_stack(stack).find_resources("AWS::StepFunctions::StateMachine")
    (machine,) = resources.values()
    return machine["Properties"]["DefinitionString"]


@pytest.fixture(scope="module")
def text(definition_string: Any) -> str:
    return _flatten(definition_string)


def test_unresolved_values_are_written_as_the_cdk_writes_them(text: str) -> None:
    assert text.endswith(',"TimeoutSeconds":7200,"Comment":"<{"Ref": "Comment"}>"}')
    assert '"a wait":{"Type":"Wait","Seconds":<{"Ref": "PollSeconds"}>,"Next":"a describe"}' in text
    assert '"Resource":"arn:<{"Ref": "AWS::Partition"}>:states:::aws-sdk:batch:submitJob"' in text
    assert '"JobQueue":"<{"Fn::GetAtt": ["Queue956AD878", "JobQueueArn"]}>"' in text


def test_plain_values_are_json_with_their_nulls(definition_string: Any) -> None:
    plain = _parsed(definition_string)
    states = plain["States"]["Run steps"]["Branches"][0]["States"]
    assert states["a"]["ResultPath"] is None and states["b"]["ResultPath"] is None
    assert plain["States"]["Run steps"]["ResultPath"] is None
    submit = states["a"]["Branches"][0]["States"]["a submit"]
    assert submit["Parameters"]["ContainerOverrides"]["Command"] == ["echo", 'é "quoted"']
