"""Run a synthesized workflow in moto: Batch/SNS/SQS set-up and template token substitution."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import boto3

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
    """A moto Batch queue and job definition (moto's CreateComputeEnvironment requires serviceRole)."""

    def __init__(self, name: str = "wf") -> None:
        self.iam = boto3.client("iam", region_name=REGION)
        self.batch = boto3.client("batch", region_name=REGION)
        role = self.iam.create_role(
            RoleName=f"{name}-batch-service",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )["Role"]["Arn"]
        self.role_arn = role
        env = self.batch.create_compute_environment(
            computeEnvironmentName=f"{name}-ce", type="UNMANAGED", state="ENABLED", serviceRole=role
        )["computeEnvironmentArn"]
        self.queue_arn = self.batch.create_job_queue(
            jobQueueName=f"{name}-queue",
            state="ENABLED",
            priority=1,
            computeEnvironmentOrder=[{"order": 1, "computeEnvironment": env}],
        )["jobQueueArn"]
        self.job_definition_arn = self.batch.register_job_definition(
            jobDefinitionName=f"{name}-job",
            type="container",
            containerProperties={"image": "busybox", "vcpus": 1, "memory": 512, "command": ["true"]},
        )["jobDefinitionArn"]

    def jobs(self) -> list[dict]:
        """Every job in the queue (array children excluded), described, oldest first."""
        ids = [
            j["jobId"]
            for status in ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")
            for j in self.batch.list_jobs(jobQueue=self.queue_arn, jobStatus=status)["jobSummaryList"]
        ]
        described = self.batch.describe_jobs(jobs=ids)["jobs"] if ids else []
        return sorted((j for j in described if ":" not in j["jobId"]), key=lambda j: j["createdAt"])


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
    """Create the state machine, start one execution and wait for it to end; returns DescribeExecution."""
    sfn = boto3.client("stepfunctions", region_name=REGION)
    machine = sfn.create_state_machine(name=name, definition=json.dumps(asl), roleArn=role_arn)[
        "stateMachineArn"
    ]
    execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps(execution_input))[
        "executionArn"
    ]
    deadline = time.monotonic() + timeout
    while True:
        described = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return described
        assert time.monotonic() < deadline, f"execution still RUNNING after {timeout} s"
        time.sleep(0.2)


def history(execution_arn: str) -> list[dict]:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    events: list[dict] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events.extend(page["events"])
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]
