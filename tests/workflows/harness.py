"""Inspect a synthesized workflow (template token substitution) and run it in moto.

Building and running go through the testing kit (cdk_batchkit.testing); these names stay for the
tests that use them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import boto3

from cdk_batchkit import testing
from cdk_batchkit.testing.workflows import execution_history

REGION = "us-east-1"
ACCOUNT = "123456789012"


def state_machines(template: dict) -> dict[str, dict]:
    """State machine resources keyed by their logical id."""
    return {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::StepFunctions::StateMachine"}


def definition(resource: dict, resolve: Callable[[Any], str] | None = None) -> dict:
    """The ASL of a state machine resource: its ``Fn::Join`` with every token replaced.

    Default ``resolve``: a placeholder naming the token (``<Ref:Logical>``), for structure assertions.
    """
    body = resource["Properties"]["DefinitionString"]
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    resolve = resolve or placeholder
    return json.loads("".join(p if isinstance(p, str) else resolve(p) for p in parts))


def placeholder(token: Any) -> str:
    if "Ref" in token:
        return f"<Ref:{token['Ref']}>"
    if "Fn::GetAtt" in token:
        return f"<GetAtt:{'.'.join(token['Fn::GetAtt'])}>"
    return "<" + json.dumps(token, sort_keys=True).replace('"', "'") + ">"


def substituter(values: Mapping[str, str]) -> Callable[[Any], str]:
    """Resolve ``Ref``/``Fn::GetAtt`` tokens from ``values`` (logical id -> moto ARN) and pseudo params."""
    pseudo = {
        "AWS::Partition": "aws",
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT,
        "AWS::URLSuffix": "amazonaws.com",
    }

    def resolve(token: Any) -> str:
        if "Ref" in token:
            name = token["Ref"]
            return pseudo.get(name) or values[name]
        if "Fn::GetAtt" in token:
            return values[token["Fn::GetAtt"][0]]
        raise AssertionError(f"unexpected token in the definition: {token}")

    return resolve


def logical_ids(template: dict, type_name: str) -> list[str]:
    return [k for k, v in template["Resources"].items() if v["Type"] == type_name]


class MotoBatch:
    """A moto Batch queue and job definition, built by the testing kit from a small template."""

    TEMPLATE: dict[str, Any] = {
        "Resources": {
            "Compute": {"Type": "AWS::Batch::ComputeEnvironment", "Properties": {"Type": "managed"}},
            "Queue": {
                "Type": "AWS::Batch::JobQueue",
                "Properties": {
                    "Priority": 1,
                    "ComputeEnvironmentOrder": [
                        {
                            "Order": 1,
                            "ComputeEnvironment": {"Fn::GetAtt": ["Compute", "ComputeEnvironmentArn"]},
                        }
                    ],
                },
            },
            "Job": {
                "Type": "AWS::Batch::JobDefinition",
                "Properties": {
                    "Type": "container",
                    "ContainerProperties": {
                        "Image": "busybox",
                        "Vcpus": 1,
                        "Memory": 512,
                        "Command": ["true"],
                    },
                },
            },
        }
    }

    def __init__(self, name: str = "wf") -> None:
        self.world = testing.build_world(testing.StackTemplate.from_template(self.TEMPLATE, name))
        self.batch = self.world.client("batch")
        self.role_arn = self.world.service_role()
        self.queue_arn = self.world.job_queue("Queue").arn
        self.job_definition_arn = self.world.job_definition("Job").arn

    def jobs(self) -> list[dict]:
        """Every job in the queue (array children excluded), described, oldest first."""
        return self.world.job_queue("Queue").jobs()


def sqs_subscribed_topic(name: str = "notify") -> tuple[str, str]:
    """A moto SNS topic with an SQS queue subscribed (raw delivery); returns (topic ARN, queue URL)."""
    sns = boto3.client("sns", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    topic = sns.create_topic(Name=name)["TopicArn"]
    url = sqs.create_queue(QueueName=f"{name}-inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    return topic, url


def drain(url: str) -> list[str]:
    sqs = boto3.client("sqs", region_name=REGION)
    bodies: list[str] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not got:
            return bodies
        for m in got:
            bodies.append(m["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def run(asl: dict, execution_input: dict, role_arn: str, name: str = "wf", timeout: float = 60) -> dict:
    """Create the state machine, start one execution and wait for it to end; returns DescribeExecution.

    Runs through the testing kit (its Batch integration shim included).
    """
    template = {
        "Resources": {
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "StateMachineName": name,
                    "DefinitionString": json.dumps(asl),
                    "RoleArn": role_arn,
                },
            }
        }
    }
    world = testing.build_world(testing.StackTemplate.from_template(template, name))
    return world.state_machine("Machine").run(execution_input, timeout=timeout).execution


def history(execution_arn: str) -> list[dict]:
    return execution_history(boto3.client("stepfunctions", region_name=REGION), execution_arn)
