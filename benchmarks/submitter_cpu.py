"""The submitter's own CPU, alone: ``python benchmarks/submitter_cpu.py BATCHES [--mode ARRAY] [--root DIR]``.

Runs ``BATCHES`` invocations (1,000 records each in ARRAY mode, 10 in PER_OBJECT mode) with every AWS
answer canned at the HTTP layer: botocore validates, serializes, signs and parses each request for real,
but nothing leaves the process (no network, no moto). Time the whole process with any tool (``/usr/bin/time
-v``, ``perf stat``), once with ``BATCHES`` and once with 0, and divide the difference by the records: that is
the CPU per record, worker threads included. ``--root`` points at another checkout (the previous version).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
os.environ.pop("AWS_PROFILE", None)

JOB = b'{"jobArn":"arn:aws:batch:us-east-1:123456789012:job/x","jobName":"n","jobId":"id-1"}'


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def stream(self, **_: Any) -> Any:
        data = self._data.read()
        if data:
            yield data

    def read(self, *args: Any) -> bytes:
        return self._data.read(*args)


def canned(client: Any) -> Any:
    """``client`` answered at the HTTP layer: S3 an empty 200, Batch a job, DynamoDB ``{}``."""
    from botocore.awsrequest import AWSResponse

    service = client.meta.service_model.endpoint_prefix

    def answer(request: Any, event_name: str, **_: Any) -> Any:
        if service == "s3":
            return AWSResponse(request.url, 200, {"ETag": '"e"'}, _Body(b""))
        body = JOB if event_name.endswith(".SubmitJob") else b"{}"
        return AWSResponse(request.url, 200, {"Content-Type": "application/x-amz-json-1.0"}, _Body(body))

    client.meta.events.register(f"before-send.{service}", answer)
    return client


def record(index: int) -> dict[str, Any]:
    detail = {
        "version": "0",
        "bucket": {"name": "bench-input"},
        "object": {
            "key": f"incoming/part-{index:06}.csv",
            "size": 1024 + index,
            "etag": f"{index:032x}",
            "sequencer": f"{index:018X}",
        },
        "request-id": f"R{index}",
        "requester": "123456789012",
        "reason": "PutObject",
    }
    event = {
        "version": "0",
        "id": f"b-{index}",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2026-11-20T12:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:s3:::bench-input"],
        "detail": detail,
    }
    return {
        "messageId": f"m-{index}",
        "receiptHandle": "r",
        "body": json.dumps(event),
        "attributes": {},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:bench",
        "awsRegion": "us-east-1",
    }


class _Metrics:
    def add_metric(self, **_: Any) -> None:
        return


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("batches", type=int)
    parser.add_argument("--mode", default="ARRAY", choices=("ARRAY", "PER_OBJECT"))
    parser.add_argument("--root", default=str(ROOT), help="the checkout whose submitter runs")
    args = parser.parse_args()
    sys.path.insert(0, args.root)
    import boto3
    from aws_lambda_powertools import Logger

    from cdk_batchkit.lambdas.submitter import config as settings
    from cdk_batchkit.lambdas.submitter import runtime

    session = boto3.session.Session()
    clients = runtime.Clients(
        batch=canned(session.client("batch", config=runtime.BATCH_CLIENT_CONFIG)),
        s3=canned(session.client("s3", config=runtime.S3_CLIENT_CONFIG)),
        dynamodb=canned(session.client("dynamodb", config=runtime.DYNAMODB_CLIENT_CONFIG)),
    )
    config = settings.load(
        {
            "JOB_QUEUE": "q",
            "JOB_DEFINITION": "d",
            "SUBMIT_MODE": args.mode,
            "MANIFEST_BUCKET": "m",
            "MANIFEST_PREFIX": "p/",
            "IDEMPOTENCY_TABLE": "t",
            "MAX_SUBMITS_PER_SECOND": "1000000",
            "POWERTOOLS_SERVICE_NAME": "bench",
            "POWERTOOLS_METRICS_NAMESPACE": "Bench",
        }
    )
    log = io.StringIO()
    logger = Logger(service="bench", stream=log, level="WARNING")
    submitter = runtime.Submitter(config, clients, logger=logger, metrics=_Metrics())
    size = 1_000 if args.mode == "ARRAY" else 10
    for batch in range(args.batches):
        response = submitter.handle({"Records": [record(batch * size + i) for i in range(size)]})
        if response["batchItemFailures"]:
            print(
                f"{len(response['batchItemFailures'])} records failed: {log.getvalue()[:500]}",
                file=sys.stderr,
            )
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
