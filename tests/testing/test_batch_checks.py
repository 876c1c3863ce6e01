"""What Batch refuses and moto accepts, refused by the kit with the rule book (and what was sent, recorded).

A handwritten template (no synth): a fair-share queue whose policy lists ``teamA`` and ``batch*``, a queue
without a policy, a container definition requesting one of 4 licences, a multi-node definition with ranges
``0:0`` and ``1:``. Handlers are run with :meth:`Function.invoke` and create their own boto3 clients, as
deployed code does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from cdk_batchkit.testing import Request, StackTemplate, World, build_world

CE_ARN = {"Fn::GetAtt": ["Compute", "ComputeEnvironmentArn"]}
TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Compute": {
            "Type": "AWS::Batch::ComputeEnvironment",
            "Properties": {
                "Type": "MANAGED",
                "ComputeResources": {"Type": "EC2", "MaxvCpus": 64, "InstanceTypes": ["optimal"]},
            },
        },
        "Shares": {
            "Type": "AWS::Batch::SchedulingPolicy",
            "Properties": {
                "FairsharePolicy": {
                    "ShareDistribution": [{"ShareIdentifier": "teamA"}, {"ShareIdentifier": "batch*"}]
                }
            },
        },
        "FairQueue": {
            "Type": "AWS::Batch::JobQueue",
            "Properties": {
                "Priority": 1,
                "SchedulingPolicyArn": {"Ref": "Shares"},
                "ComputeEnvironmentOrder": [{"Order": 1, "ComputeEnvironment": CE_ARN}],
            },
        },
        "PlainQueue": {
            "Type": "AWS::Batch::JobQueue",
            "Properties": {
                "Priority": 1,
                "ComputeEnvironmentOrder": [{"Order": 1, "ComputeEnvironment": CE_ARN}],
            },
        },
        "Licences": {
            "Type": "AWS::Batch::ConsumableResource",
            "Properties": {
                "ConsumableResourceName": "licences",
                "TotalQuantity": 4,
                "ResourceType": "REPLENISHABLE",
            },
        },
        "Job": {
            "Type": "AWS::Batch::JobDefinition",
            "Properties": {
                "Type": "container",
                "ContainerProperties": {
                    "Image": "public.ecr.aws/docker/library/busybox",
                    "ResourceRequirements": [
                        {"Type": "VCPU", "Value": "1"},
                        {"Type": "MEMORY", "Value": "512"},
                    ],
                },
                "ConsumableResourceProperties": {
                    "ConsumableResourceList": [
                        {
                            "ConsumableResource": {"Fn::GetAtt": ["Licences", "ConsumableResourceArn"]},
                            "Quantity": 1,
                        }
                    ]
                },
            },
        },
        "Mpi": {
            "Type": "AWS::Batch::JobDefinition",
            "Properties": {
                "Type": "multinode",
                "NodeProperties": {
                    "NumNodes": 4,
                    "MainNode": 0,
                    "NodeRangeProperties": [
                        {"TargetNodes": "0:0", "Container": {"Image": "busybox", "Vcpus": 2, "Memory": 2048}},
                        {"TargetNodes": "1:", "Container": {"Image": "busybox", "Vcpus": 4, "Memory": 4096}},
                    ],
                },
            },
        },
        "Submit": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Runtime": "python3.13",
                "Handler": "index.handler",
                "Code": {"ZipFile": "def handler(event, context): ..."},
                "Role": "arn:aws:iam::123456789012:role/submitter",
                "Environment": {
                    "Variables": {
                        "FAIR_QUEUE": {"Ref": "FairQueue"},
                        "PLAIN_QUEUE": {"Ref": "PlainQueue"},
                        "JOB_DEFINITION": {"Ref": "Job"},
                    }
                },
            },
        },
    }
}


@pytest.fixture
def world(batchkit_aws: None) -> World:
    return build_world(StackTemplate.from_template(TEMPLATE, "Checks"))


def submit(
    world: World, queue: str = "FAIR_QUEUE", definition: str = "", **fields: Any
) -> Callable[..., Any]:
    """A handler that submits one job with its own boto3 client, as deployed code does."""

    def handler(event: Any, context: Any) -> str:
        import os

        batch = boto3.client("batch")
        return str(
            batch.submit_job(
                jobName="job",
                jobQueue=os.environ[queue],
                jobDefinition=definition or os.environ["JOB_DEFINITION"],
                **fields,
            )["jobId"]
        )

    return handler


def invoke(world: World, **kwargs: Any) -> Any:
    return world.function("Submit").invoke({}, handler=submit(world, **kwargs))


def refusal(invocation: Any) -> ClientError:
    assert isinstance(invocation.error, ClientError), invocation.error
    error = invocation.error
    assert error.response["Error"]["Code"] == "ClientException"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return error


def test_rejects_a_submission_without_share_identifier_on_a_fair_share_queue(world: World) -> None:
    error = refusal(invoke(world))
    message = error.response["Error"]["Message"]
    assert message.startswith("shareIdentifier must be specified.")
    assert "BK-S1" in message and "Checks/FairQueue" in message
    (sent,) = world.requests("batch", "SubmitJob")
    assert sent.refused and sent.error == message and "shareIdentifier" not in sent.parameters
    assert world.job_queue("FairQueue").jobs() == []  # never reached moto


def test_accepts_listed_share_identifiers_and_warns_on_an_unlisted_one(world: World) -> None:
    for share in ("teamA", "batch7", "teamB"):
        assert invoke(world, shareIdentifier=share, schedulingPriorityOverride=3).error is None
    sent = world.requests("batch", "SubmitJob")
    assert [r.parameters["shareIdentifier"] for r in sent] == ["teamA", "batch7", "teamB"]
    assert [bool(r.warnings) for r in sent] == [False, False, True]
    assert "BK-S5" in sent[2].warnings[0] and not any(r.refused for r in sent)
    assert len(world.job_queue("FairQueue").jobs()) == 3


def test_rejects_a_share_identifier_on_a_queue_without_fair_share(world: World) -> None:
    error = refusal(invoke(world, queue="PLAIN_QUEUE", shareIdentifier="teamA"))
    message = error.response["Error"]["Message"]
    assert message.startswith("shareIdentifier='teamA' is not accepted (cdk-batchkit BK-S1:")
    assert "no fair-share scheduling policy" in message
    assert invoke(world, queue="PLAIN_QUEUE").error is None


def test_rejects_consumable_overrides_the_definition_does_not_request_or_over_the_total(world: World) -> None:
    licences = world.consumable_resource("Licences")
    assert licences.total_quantity == 4 and licences.name == "licences"

    def override(resource: str, quantity: int) -> dict[str, Any]:
        return {
            "shareIdentifier": "teamA",
            "consumableResourcePropertiesOverride": {
                "consumableResourceList": [{"consumableResource": resource, "quantity": quantity}]
            },
        }

    other = refusal(invoke(world, **override("other-licences", 1)))
    assert "BK-R4" in str(other) and "requests arn:aws:batch:" in str(other)
    over = refusal(invoke(world, **override(licences.arn, 5)))
    assert "BK-R1" in str(over)
    # Batch takes the resource's name or ARN: both are the definition's resource.
    assert invoke(world, **override("licences", 4)).error is None
    assert invoke(world, **override(licences.arn, 2)).error is None
    assert [r.refused for r in world.requests("batch", "submit_job")] == [True, True, False, False]


def test_rejects_node_override_targets_that_are_not_the_definitions_ranges(world: World) -> None:
    mpi = world.job_definition("Mpi").arn

    def nodes(*targets: str) -> dict[str, Any]:
        return {
            "shareIdentifier": "teamA",
            "nodeOverrides": {
                "nodePropertyOverrides": [
                    {"targetNodes": t, "containerOverrides": {"command": ["run"]}} for t in targets
                ]
            },
        }

    error = refusal(invoke(world, definition=mpi, **nodes("0:0", "1:2")))
    message = error.response["Error"]["Message"]
    assert message.startswith(
        "NodeOverride targets should match job definition. Non matching targets - [1:2]"
    )
    assert "0:0, 1:" in message and "BK-O3" in message
    assert invoke(world, definition=mpi, **nodes("0:0", "1:")).error is None


def test_rejects_a_multi_node_array_job(world: World) -> None:
    mpi = world.job_definition("Mpi").arn
    error = refusal(invoke(world, definition=mpi, shareIdentifier="teamA", arrayProperties={"size": 3}))
    assert error.response["Error"]["Message"].startswith(
        "Multinode Array Job not supported (cdk-batchkit BK-O4"
    )


def test_a_refusal_is_the_clients_own_client_exception(world: World) -> None:
    """Code that catches ``batch.exceptions.ClientException`` (not only ClientError) sees the refusal."""
    batch = boto3.client("batch")
    with pytest.raises(batch.exceptions.ClientException, match=r"shareIdentifier must be specified"):
        batch.submit_job(
            jobName="direct",
            jobQueue=world.job_queue("FairQueue").arn,
            jobDefinition=world.job_definition("Job").arn,
        )


def test_requests_are_recorded_as_sent_and_the_kits_own_calls_are_not(world: World) -> None:
    assert world.requests() == []  # building the world is not code under test
    world.bucket  # noqa: B018 - finders make no call
    world.jobs()
    world.client("sqs").list_queues(QueueNamePrefix="Checks")
    boto3.client("s3").list_buckets()
    assert [(r.service, r.operation) for r in world.requests()] == [
        ("sqs", "ListQueues"),
        ("s3", "ListBuckets"),
    ]
    assert world.requests("sqs", "list_queues")[0].parameters == {"QueueNamePrefix": "Checks"}
    assert world.requests("sqs", "ListQueues") == world.requests("sqs", "list_queues")
    assert world.requests("batch") == []
    assert isinstance(world.requests()[0], Request) and not world.requests()[0].refused


def test_checks_can_be_turned_off(batchkit_aws: None) -> None:
    world = build_world(StackTemplate.from_template(TEMPLATE, "Unchecked"), check_requests=False)
    assert world.function("Submit").invoke({}, handler=submit(world)).error is None
    (sent,) = world.requests("batch", "SubmitJob")
    assert not sent.refused and len(world.job_queue("FairQueue").jobs()) == 1


def test_a_world_in_another_region_runs_handlers_and_jobs_there(batchkit_aws: None) -> None:
    world = build_world(StackTemplate.from_template(TEMPLATE, "Elsewhere"), region="eu-west-1")
    assert world.job_queue("PlainQueue").arn.startswith("arn:aws:batch:eu-west-1:")
    assert world.function("Submit").invoke({}, handler=submit(world, queue="PLAIN_QUEUE")).error is None
    (description,) = world.job_queue("PlainQueue").jobs()
    job = world.submitted_job(description)

    def region() -> str:
        import os

        return os.environ["AWS_DEFAULT_REGION"]

    assert [run.result for run in job.run(region)] == ["eu-west-1"]
