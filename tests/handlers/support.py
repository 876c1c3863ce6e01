"""Builders for S3/SQS events and a moto-backed AWS world (built by the testing kit) for the submitter."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

from cdk_batchkit import testing
from cdk_batchkit.lambdas.submitter import config as settings
from cdk_batchkit.lambdas.submitter.runtime import Clients, Submitter

EVENTS = Path(__file__).resolve().parent.parent / "events"
REGION = "us-east-1"
INPUT_BUCKET = "input-bucket"
MANIFEST_BUCKET = "manifest-bucket"
MANIFEST_PREFIX = "manifests/"
TABLE = "submitter-idempotency"


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def s3_encode(key: str) -> str:
    """How S3 writes a key into an event: URL-encoded, '+' for a space."""
    return quote_plus(key, safe="/")


def _sequencer(key: str, version: str | None) -> str:
    return hashlib.sha256(f"{key}\0{version}".encode()).hexdigest()[:18].upper()


def eventbridge_body(
    key: str,
    *,
    size: int = 2048,
    bucket: str = INPUT_BUCKET,
    version: str | None = "v1",
    sequencer: str | None = None,
    encoded: bool = False,
) -> str:
    """An EventBridge 'Object Created' event for ``key`` (given decoded unless ``encoded``)."""
    event = load_event("s3/eventbridge-object-created.json")
    obj = event["detail"]["object"]
    obj["key"] = key if encoded else s3_encode(key)
    obj["size"] = size
    obj["sequencer"] = sequencer or _sequencer(key, version)
    if version is None:
        del obj["version-id"]
    else:
        obj["version-id"] = version
    event["detail"]["bucket"]["name"] = bucket
    event["resources"] = [f"arn:aws:s3:::{bucket}"]
    return json.dumps(event)


def notification_record(
    key: str,
    *,
    size: int = 2048,
    bucket: str = INPUT_BUCKET,
    version: str | None = "v1",
    event_name: str = "ObjectCreated:Put",
    encoded: bool = False,
) -> dict[str, Any]:
    record = copy.deepcopy(load_event("s3/notification-object-created.json")["Records"][0])
    obj = record["s3"]["object"]
    obj["key"] = key if encoded else s3_encode(key)
    obj["size"] = size
    obj["sequencer"] = _sequencer(key, version)
    if version is None:
        del obj["versionId"]
    else:
        obj["versionId"] = version
    record["eventName"] = event_name
    record["s3"]["bucket"]["name"] = bucket
    record["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{bucket}"
    return record


def notification_body(*records: dict[str, Any]) -> str:
    return json.dumps({"Records": list(records)})


def sqs_event(*bodies: str, ids: Iterable[str] | None = None) -> dict[str, Any]:
    template = load_event("sqs/envelope.json")["Records"][0]
    message_ids = list(ids) if ids is not None else [f"msg-{index}" for index in range(len(bodies))]
    records = []
    for message_id, body in zip(message_ids, bodies, strict=True):
        record = copy.deepcopy(template)
        record["messageId"] = message_id
        record["body"] = body
        record["md5OfBody"] = hashlib.md5(body.encode()).hexdigest()
        records.append(record)
    return {"Records": records}


def failed_ids(response: dict[str, Any]) -> list[str]:
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


class FakeClock:
    """A monotonic clock whose ``sleep`` advances it and records the wait (no real sleeping)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class MetricsRecorder:
    """Stands in for Powertools Metrics: records add_metric calls."""

    def __init__(self) -> None:
        self.values: dict[str, float] = {}

    def add_metric(self, name: str, unit: Any, value: float) -> None:
        self.values[name] = self.values.get(name, 0) + value


class FakeContext:
    function_name = "submitter"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:submitter"
    memory_limit_in_mb = 256
    aws_request_id = "5b2ed8e6-0e3b-4e1a-9b2e-2c1f9d3b1a11"
    log_group_name = "/aws/lambda/submitter"
    log_stream_name = "2026/11/20/[$LATEST]abc"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


#: The handler tests' AWS world as a CloudFormation template, built in moto by the testing kit
#: (cdk_batchkit.testing): fixed physical names, so the constants above name the resources.
WORLD_TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Compute": {
            "Type": "AWS::Batch::ComputeEnvironment",
            "Properties": {"Type": "managed", "ComputeResources": {"Type": "FARGATE", "MaxvCpus": 4}},
        },
        "Queue": {
            "Type": "AWS::Batch::JobQueue",
            "Properties": {
                "JobQueueName": "submitter-queue",
                "Priority": 1,
                "ComputeEnvironmentOrder": [
                    {"Order": 1, "ComputeEnvironment": {"Fn::GetAtt": ["Compute", "ComputeEnvironmentArn"]}}
                ],
            },
        },
        # A fair-share queue: Batch requires a share identifier there and refuses one elsewhere (the kit
        # enforces both), so fair-share submissions go to this queue.
        "Shares": {
            "Type": "AWS::Batch::SchedulingPolicy",
            "Properties": {"FairsharePolicy": {"ShareDistribution": [{"ShareIdentifier": "teamA"}]}},
        },
        "FairShareQueue": {
            "Type": "AWS::Batch::JobQueue",
            "Properties": {
                "JobQueueName": "submitter-fair-share-queue",
                "Priority": 1,
                "SchedulingPolicyArn": {"Ref": "Shares"},
                "ComputeEnvironmentOrder": [
                    {"Order": 1, "ComputeEnvironment": {"Fn::GetAtt": ["Compute", "ComputeEnvironmentArn"]}}
                ],
            },
        },
        "Job": {
            "Type": "AWS::Batch::JobDefinition",
            "Properties": {
                "JobDefinitionName": "process-object",
                "Type": "container",
                "ContainerProperties": {
                    "Image": "public.ecr.aws/docker/library/busybox",
                    "Vcpus": 1,
                    "Memory": 512,
                    "Command": ["echo", "Ref::key"],
                },
            },
        },
        "Input": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": INPUT_BUCKET}},
        "Manifests": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": MANIFEST_BUCKET}},
        "Idempotency": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "TableName": TABLE,
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                "BillingMode": "PAY_PER_REQUEST",
            },
        },
    }
}


@dataclass
class World:
    """moto-backed Batch queue + job definition, buckets and the idempotency table.

    An adapter over :class:`cdk_batchkit.testing.World` (``kit``) keeping the names the handler
    tests use.
    """

    batch: Any
    s3: Any
    dynamodb: Any
    queue_arn: str
    definition_arn: str
    calls: list[str] = field(default_factory=list)
    kit: Any = None

    def env(self, **overrides: str) -> dict[str, str]:
        env = {
            settings.JOB_QUEUE: self.queue_arn,
            settings.JOB_DEFINITION: self.definition_arn,
            settings.SUBMIT_MODE: "PER_OBJECT",
            settings.MANIFEST_BUCKET: MANIFEST_BUCKET,
            settings.MANIFEST_PREFIX: MANIFEST_PREFIX,
            settings.IDEMPOTENCY_TABLE: TABLE,
            settings.IDEMPOTENCY_TTL_SECONDS: "3600",
            settings.SKIP_EMPTY_OBJECTS: "true",
            settings.MAX_SUBMITS_PER_SECOND: "1000",
            settings.JOB_NAME_PREFIX: "",
            settings.POWERTOOLS_SERVICE_NAME: "submitter",
            settings.POWERTOOLS_METRICS_NAMESPACE: "BatchKitTest",
            settings.POWERTOOLS_LOG_LEVEL: "INFO",
        }
        env.update(overrides)
        return env

    def clients(self, **overrides: Any) -> Clients:
        parts = {"batch": self.batch, "s3": self.s3, "dynamodb": self.dynamodb, **overrides}
        return Clients(**parts)

    def submitter(
        self,
        *,
        metrics: Any = None,
        clients: Clients | None = None,
        logger: Any = None,
        clock: Any = None,
        sleep: Any = None,
        **env: str,
    ) -> Submitter:
        from aws_lambda_powertools import Logger

        timing: dict[str, Any] = {"sleep": sleep or (lambda seconds: None)}
        if clock is not None:
            timing["clock"] = clock
        return Submitter(
            settings.load(self.env(**env)),
            clients or self.clients(),
            logger=logger or Logger(service="submitter-test"),
            metrics=metrics if metrics is not None else MetricsRecorder(),
            **timing,
        )

    def idempotency_items(self) -> list[dict[str, Any]]:
        return self.kit.table("Idempotency").items()

    def jobs(self) -> list[dict[str, Any]]:
        """Every top-level job submitted to the queue (array children left out), described."""
        return self.kit.job_queue("Queue").jobs()

    def manifest_lines(self, uri: str) -> list[dict[str, Any]]:
        assert uri.startswith(f"s3://{MANIFEST_BUCKET}/{MANIFEST_PREFIX}"), uri
        key = uri.removeprefix(f"s3://{MANIFEST_BUCKET}/")
        body = self.s3.get_object(Bucket=MANIFEST_BUCKET, Key=key)["Body"].read().decode("utf-8")
        assert body.endswith("\n")
        return [json.loads(line) for line in body.splitlines()]


def environment_of(job: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in job["container"]["environment"]}


def build_world() -> World:
    """Create the resources of :data:`WORLD_TEMPLATE` with the testing kit; call inside ``moto.mock_aws``."""
    kit = testing.build_world(testing.StackTemplate.from_template(WORLD_TEMPLATE, "HandlerTests"))
    world = World(
        batch=kit.client("batch"),
        s3=kit.client("s3"),
        dynamodb=kit.client("dynamodb"),
        queue_arn=kit.job_queue("Queue").arn,
        definition_arn=kit.job_definition("Job").arn,
        kit=kit,
    )
    for client in (world.batch, world.s3, world.dynamodb):
        client.meta.events.register(
            "before-call.*.*",
            lambda model, **_: world.calls.append(f"{model.service_model.service_name}:{model.name}"),
        )
    return world


class Throttle:
    """Answers every SubmitJob attempt of a botocore client with HTTP 429 (or ``status``).

    A ``before-send`` answer replaces the HTTP exchange, so botocore's retry logic sees real
    429 responses and retries them as configured. Use a client whose endpoint moto does not
    serve, or moto would also run the request.
    """

    def __init__(self, client: Any, code: str = "TooManyRequestsException", status: int = 429) -> None:
        self.attempts = 0
        self.code, self.status = code, status
        client.meta.events.register_first("before-send.batch.SubmitJob", self)

    def __call__(self, request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse
        from moto.core.botocore_stubber import MockRawResponse

        self.attempts += 1
        body = json.dumps({"__type": self.code, "message": "Too Many Requests"}).encode()
        headers = {"Content-Type": "application/json", "x-amzn-ErrorType": self.code}
        return AWSResponse(request.url, self.status, headers, MockRawResponse(body))


_LOGGERS = iter(range(1_000_000))


class LogCapture:
    """A Powertools Logger writing JSON lines to a buffer (a fresh logger name each time)."""

    def __init__(self) -> None:
        import io

        from aws_lambda_powertools import Logger

        self.stream = io.StringIO()
        self.logger = Logger(service=f"submitter-test-{next(_LOGGERS)}", stream=self.stream)

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line.strip()]

    def by_message(self, message: str) -> dict[str, str]:
        """message id -> reason, for the lines with this message."""
        return {line["message_id"]: line["reason"] for line in self.lines() if line["message"] == message}
