"""Fault injection for the submitter tests: crashes, lost responses, failing writes, clocks, SNS envelopes.

Every fault acts on a botocore client of its own (created inside ``moto.mock_aws``, so it reaches the
same moto backend as the world's clients) through botocore's event hooks, so the submitter's code runs
unchanged and the requests really reach moto (or really do not).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError, ReadTimeoutError

from cdk_batchkit.lambdas.submitter.idempotency import JOB_PREFIX, OBJECT_PREFIX
from tests.handlers.support import INPUT_BUCKET, REGION, TABLE, FakeClock, World, eventbridge_body, s3_encode

TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:uploads"


class Crash(BaseException):
    """The Lambda runtime killing the invocation: not an ``Exception``, so no handler code catches it."""


def client(world: World, service: str, **kwargs: Any) -> Any:
    """A fresh client on the moto backend, recorded in ``world.calls`` like the world's own."""
    new = boto3.client(service, region_name=REGION, **kwargs)
    new.meta.events.register(
        "before-call.*.*", lambda model, **_: world.calls.append(f"{service}:{model.name}")
    )
    return new


Selector = Callable[[dict[str, Any]], bool]


def writes_job_record(params: dict[str, Any]) -> bool:
    """A PutItem of a job record: the write that follows a successful SubmitJob (see .idempotency)."""
    return str(params.get("Item", {}).get("id", {}).get("S", "")).startswith(JOB_PREFIX)


#: "Killed right after SubmitJob": the call that records the submitted job, and which of its calls.
JOB_RECORD: tuple[str, Selector] = ("PutItem", writes_job_record)


def crash_on(client: Any, operation: str, when: Selector | None = None) -> None:
    """Raise :class:`Crash` when ``operation`` (with parameters ``when`` selects) is about to be sent (it
    never reaches moto)."""

    def crash(params: dict[str, Any], **_: Any) -> None:
        if when is None or when(params):
            raise Crash(f"killed before {operation}")

    client.meta.events.register_first(f"before-parameter-build.*.{operation}", crash)


def crash_before_job_record(client: Any) -> None:
    """Killed right after SubmitJob, before the job is recorded."""
    crash_on(client, *JOB_RECORD)


class FailingCalls:
    """``operation`` (those ``when`` selects by their parameters) fails with a ClientError before reaching
    moto, every time or the first ``times``."""

    def __init__(
        self,
        client: Any,
        operation: str,
        *,
        code: str = "InternalServerError",
        status: int = 500,
        times: int = -1,
        when: Selector | None = None,
    ) -> None:
        self.calls = 0
        self.code, self.status, self.times, self.when = code, status, times, when
        self._selected = False
        client.meta.events.register_first(f"before-parameter-build.*.{operation}", self._select)
        client.meta.events.register_first(f"before-call.*.{operation}", self)

    def _select(self, params: dict[str, Any], **_: Any) -> None:
        self._selected = self.when is None or self.when(params)

    def __call__(self, model: Any, **_: Any) -> None:
        if not self._selected or (self.times >= 0 and self.calls >= self.times):
            return
        self.calls += 1
        error = {"Code": self.code, "Message": "injected"}
        raise ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": self.status}}, model.name)


class LostResponse:
    """The first ``times`` calls of ``operation`` reach moto (the job is created), then time out.

    Exactly what a read timeout after Batch accepted the request looks like to the caller.
    """

    def __init__(self, client: Any, operation: str = "SubmitJob", *, times: int = 1) -> None:
        self.lost: list[dict[str, Any]] = []
        self.times = times
        client.meta.events.register(f"after-call.*.{operation}", self)

    def __call__(self, parsed: dict[str, Any], **_: Any) -> None:
        if len(self.lost) < self.times:
            self.lost.append(parsed)
            raise ReadTimeoutError(endpoint_url="https://batch.us-east-1.amazonaws.com/v1/submitjob")


class ServerErrorAfterCreating:
    """The first ``times`` SubmitJob attempts reach moto (the job is created) but answer HTTP 500.

    moto's own ``before-send`` handler still runs the request; this answer replaces its response.
    """

    def __init__(self, client: Any, *, times: int = 1) -> None:
        self.attempts = 0
        self.times = times
        client.meta.events.register_first("before-send.batch.SubmitJob", self)

    def __call__(self, request: Any, **_: Any) -> Any:
        from moto.core.botocore_stubber import MockRawResponse

        if self.attempts >= self.times:
            return None  # let moto answer
        self.attempts += 1
        body = json.dumps({"__type": "ServerException", "message": "internal error"}).encode()
        headers = {"Content-Type": "application/json", "x-amzn-ErrorType": "ServerException"}
        return AWSResponse(request.url, 500, headers, MockRawResponse(body))


class ClockContext:
    """A Lambda context whose remaining time follows a :class:`FakeClock` (no wall clock)."""

    function_name = "submitter"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:submitter"
    aws_request_id = "c0ffee00-0000-4000-8000-000000000001"

    def __init__(self, clock: FakeClock, budget_ms: int) -> None:
        self.clock = clock
        self.deadline = clock.now + budget_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return int((self.deadline - self.clock.now) * 1000)


def slow(client: Any, operation: str, clock: FakeClock, seconds: float) -> None:
    """Each ``operation`` call advances ``clock`` by ``seconds`` (a slow dependency, no real waiting)."""

    def advance(**_: Any) -> None:
        clock.now += seconds

    client.meta.events.register(f"before-call.*.{operation}", advance)


def expire_claims(world: World) -> int:
    """Move every live claim's lease into the past: the crashed invocation's time is up.

    (SQS redelivers after the visibility timeout, six times the function timeout: always later than
    the dead invocation's deadline.) Returns how many claims were live.
    """
    now_ms = time.time() * 1000
    live = [
        item
        for item in object_records(world)
        if item["status"]["S"] == "INPROGRESS" and float(item["in_progress_expiration"]["N"]) >= now_ms
    ]
    for item in live:
        world.dynamodb.update_item(
            TableName=TABLE,
            Key={"id": item["id"]},
            UpdateExpression="SET in_progress_expiration = :past",
            ExpressionAttributeValues={":past": {"N": "1000"}},
        )
    return len(live)


def object_records(world: World) -> list[dict[str, Any]]:
    """The idempotency table's object records (claims), job records left out."""
    return [item for item in world.idempotency_items() if item["id"]["S"].startswith(OBJECT_PREFIX)]


def job_records(world: World) -> dict[str, dict[str, Any]]:
    """Job name -> the job record's data (jobId, jobName...)."""
    return {
        item["id"]["S"].removeprefix(JOB_PREFIX): json.loads(item["data"]["S"])
        for item in world.idempotency_items()
        if item["id"]["S"].startswith(JOB_PREFIX)
    }


def statuses(world: World) -> list[str]:
    """Each object record's state, sorted: "done" (its job is recorded), "in progress" (live claim) or
    "orphaned" (lease over, no job recorded: the next delivery looks the job up)."""
    recorded = job_records(world)
    now_ms = time.time() * 1000
    states = []
    for item in object_records(world):
        if item["status"]["S"] == "COMPLETED" or item["job_name"]["S"] in recorded:
            states.append("done")
        elif float(item["in_progress_expiration"]["N"]) >= now_ms:
            states.append("in progress")
        else:
            states.append("orphaned")
    return sorted(states)


def sns_envelope(message: str, *, message_id: str = "sns-1", kind: str = "Notification") -> str:
    """What SNS puts in the SQS body without raw message delivery: a JSON envelope around the message."""
    envelope = {
        "Type": kind,
        "MessageId": f"95df01b4-ee98-5cb9-9903-4c221d41eb5e-{message_id}",
        "TopicArn": TOPIC_ARN,
        "Subject": "Amazon S3 Notification",
        "Message": message,
        "Timestamp": "2026-11-20T12:00:00.000Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7fUQvi2eg==",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem",
        "UnsubscribeURL": f"https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={TOPIC_ARN}",
    }
    return json.dumps(envelope)


VERSIONED_BUCKET = "versioned-input"


def stored_object_body(
    world: World, key: str, *, sent: str | None = None, content: bytes = b"data", versioned: bool = False
) -> str:
    """Store ``key`` in S3 and return an EventBridge event about it, as S3 would send it.

    ``sent``: the key exactly as the event carries it (default: URL-encoded, as Powertools assumes).
    The event carries the object's real ETag and, in the versioned bucket, its real version id.
    """
    bucket = VERSIONED_BUCKET if versioned else INPUT_BUCKET
    if versioned and VERSIONED_BUCKET not in {b["Name"] for b in world.s3.list_buckets()["Buckets"]}:
        world.s3.create_bucket(Bucket=VERSIONED_BUCKET)
        world.s3.put_bucket_versioning(Bucket=VERSIONED_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    stored = world.s3.put_object(Bucket=bucket, Key=key, Body=content)
    body = json.loads(
        eventbridge_body(
            sent if sent is not None else s3_encode(key),
            encoded=True,
            bucket=bucket,
            size=len(content),
            version=stored.get("VersionId"),
        )
    )
    body["detail"]["object"]["etag"] = stored["ETag"].strip('"')
    return json.dumps(body)
