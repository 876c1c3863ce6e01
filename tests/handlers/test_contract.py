"""The contract between the S3JobSubmitter construct and the handler it deploys, checked both ways.

* Every environment variable the handler reads (``config.ENVIRONMENT_VARIABLES``) is set on the
  synthesized function, in both modes.
* The function's IAM policy allows exactly the AWS calls the handler makes: the calls are recorded
  (botocore ``before-call``) while the handler runs every path against moto (new objects, duplicates,
  a throttled submission that releases its idempotency records), then compared with the policy.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from aws_cdk.assertions import Template

from cdk_batchkit.constructs import S3JobSubmitter, SubmitMode
from cdk_batchkit.lambdas.submitter import config as settings
from cdk_batchkit.lambdas.submitter.runtime import BATCH_CLIENT_CONFIG
from tests.handlers.faults import Crash, client, crash_before_job_record, expire_claims, stored_object_body
from tests.handlers.support import REGION, Throttle, World, eventbridge_body, sqs_event
from tests.support import new_stack
from tests.unit.test_submitter import _queue_and_job

# Called by the Lambda service on the function's behalf, not by the handler: the runtime writes its
# log group, and the SQS event source mapping receives and deletes the messages.
SERVICE_SIDE = ("logs:", "sqs:")


@pytest.fixture(scope="module")
def functions() -> dict[str, dict[str, Any]]:
    """Per mode: the function's environment and the actions its policy allows."""
    stack = new_stack()
    queue, job = _queue_and_job(stack)
    array = S3JobSubmitter(stack, "Array", job_queue=queue, job_definition=job, mode=SubmitMode.ARRAY)
    S3JobSubmitter(
        stack,
        "PerObject",
        job_queue=queue,
        job_definition=job,
        mode=SubmitMode.PER_OBJECT,
        bucket=array.bucket,
    )
    template = Template.from_stack(stack).to_json()["Resources"]
    found: dict[str, dict[str, Any]] = {}
    for mode, prefix in (("ARRAY", "Array"), ("PER_OBJECT", "PerObject")):
        (function,) = [
            r
            for k, r in template.items()
            if r["Type"] == "AWS::Lambda::Function" and k.startswith(f"{prefix}Function")
        ]
        (policy,) = [
            r
            for k, r in template.items()
            if r["Type"] == "AWS::IAM::Policy" and k.startswith(f"{prefix}FunctionRoleDefaultPolicy")
        ]
        actions: set[str] = set()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            listed = statement["Action"]
            actions.update([listed] if isinstance(listed, str) else listed)
        found[mode] = {
            "memory": function["Properties"]["MemorySize"],
            "environment": function["Properties"]["Environment"]["Variables"],
            "actions": {a for a in actions if not a.startswith(SERVICE_SIDE)},
        }
    return found


@pytest.mark.parametrize("mode", ["ARRAY", "PER_OBJECT"])
def test_every_variable_the_handler_reads_is_set_on_the_function(functions, mode):
    environment = functions[mode]["environment"]
    assert set(settings.ENVIRONMENT_VARIABLES) <= set(environment), set(settings.ENVIRONMENT_VARIABLES) - set(
        environment
    )
    assert environment[settings.SUBMIT_MODE] == mode
    # And the values the construct renders are ones the handler accepts.
    literal = {k: v for k, v in environment.items() if isinstance(v, str)}
    placeholders = {k: "placeholder" for k, v in environment.items() if not isinstance(v, str)}
    config = settings.load({**literal, **placeholders})
    assert config.mode == mode


@pytest.mark.parametrize("mode", ["ARRAY", "PER_OBJECT"])
def test_the_function_gets_the_memory_the_benchmark_chose_for_its_mode(functions, mode):
    assert functions[mode]["memory"] == settings.DEFAULT_MEMORY_MB[mode]
    assert settings.DEFAULT_MEMORY_MB == {"ARRAY": 1024, "PER_OBJECT": 256}  # README, "Measured"


def _throttled_batch_client(world: World) -> Any:
    client = boto3.client(
        "batch",
        region_name=REGION,
        config=BATCH_CLIENT_CONFIG,
        endpoint_url="https://batch.throttled.invalid",
    )
    client.meta.events.register(
        "before-call.*.*", lambda model, **_: world.calls.append(f"batch:{model.name}")
    )
    Throttle(client)
    return client


def _authorize_head_object(world: World) -> None:
    """Record HeadObject as the IAM action that authorizes it (the World records ``s3:HeadObject``)."""

    def record(params: dict[str, Any], **_: Any) -> None:
        world.calls.append("s3:GetObjectVersion" if params.get("VersionId") else "s3:GetObject")

    world.s3.meta.events.register("before-parameter-build.s3.HeadObject", record)


#: IAM authorizes each action inside a DynamoDB transaction as the single-item call it stands for
#: (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html).
TRANSACTION_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "Get": "GetItem"}
TRANSACTION_ACTIONS["ConditionCheck"] = "ConditionCheckItem"


def _authorize_transactions(world: World, dynamodb: Any) -> None:
    """Record a transaction as the IAM actions that authorize its items."""

    def record(params: dict[str, Any], **_: Any) -> None:
        for item in params.get("TransactItems", []):
            (kind,) = item
            world.calls.append(f"dynamodb:{TRANSACTION_ACTIONS[kind]}")

    for operation in ("TransactWriteItems", "TransactGetItems"):
        dynamodb.meta.events.register(f"before-parameter-build.dynamodb.{operation}", record)


def _run_every_path(world: World, mode: str) -> set[str]:
    """New objects, the same events again, and a throttled batch; returns the calls made."""
    _authorize_head_object(world)
    _authorize_transactions(world, world.dynamodb)
    calls = len(world.calls)
    ambiguous = [
        stored_object_body(world, "a/x y.csv"),
        stored_object_body(world, "a/p+q.csv", versioned=True),
    ]
    del world.calls[calls:]  # storing the objects is the test's doing, not the handler's
    first = sqs_event(eventbridge_body("a/one.csv"), eventbridge_body("a/two.csv"), *ambiguous)
    assert world.submitter(SUBMIT_MODE=mode).handle(first)["batchItemFailures"] == []
    assert world.submitter(SUBMIT_MODE=mode).handle(first)["batchItemFailures"] == []  # duplicates
    throttled = world.submitter(SUBMIT_MODE=mode, clients=world.clients(batch=_throttled_batch_client(world)))
    response = throttled.handle(sqs_event(eventbridge_body("b/one.csv"), eventbridge_body("b/two.csv")))
    assert len(response["batchItemFailures"]) == 2
    crashing = client(world, "dynamodb")
    _authorize_transactions(world, crashing)
    crash_before_job_record(crashing)
    crashed = sqs_event(eventbridge_body("c/one.csv"), eventbridge_body("c/two.csv"))
    with pytest.raises(Crash):
        world.submitter(SUBMIT_MODE=mode, clients=world.clients(dynamodb=crashing)).handle(crashed)
    calls = len(world.calls)
    expire_claims(world)  # the test's own calls (Scan, UpdateItem) are not the handler's
    del world.calls[calls:]
    assert world.submitter(SUBMIT_MODE=mode).handle(crashed)["batchItemFailures"] == []  # reclaims
    assert "batch:ListJobs" in world.calls[calls:]
    return set(world.calls) - {"s3:HeadObject", "dynamodb:TransactWriteItems", "dynamodb:TransactGetItems"}


@pytest.mark.usefixtures("no_retry_delay")
@pytest.mark.parametrize("mode", ["ARRAY", "PER_OBJECT"])
def test_the_policy_allows_exactly_the_calls_the_handler_makes(functions, world, mode):
    made = _run_every_path(world, mode)  # "service:Operation", as IAM spells actions
    allowed = functions[mode]["actions"]
    assert made <= allowed, f"the handler calls {made - allowed}, which the policy does not allow"
    unused = allowed - made
    assert not unused, f"the policy allows calls the handler never makes: {unused}"
    assert ("s3:PutObject" in made) == (mode == "ARRAY")
