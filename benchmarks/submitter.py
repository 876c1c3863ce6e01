"""Benchmark: ARRAY-mode submitter vs a naive per-object SubmitJob loop, against a local moto server.

Run by hand (``make bench``); needs no AWS account. It starts ``moto.server`` on loopback in a
subprocess (Batch without Docker), creates a queue, compute environment, job definition, buckets and
the idempotency table, then in the same run:

1. feeds 10,000 EventBridge "Object Created" events through the submitter in ARRAY mode, in SQS
   batches of 2,500 (4 invocations), idempotency included;
2. submits the same 10,000 objects with a naive ``for object: submit_job`` loop.

It prints the AWS calls each made (counted with botocore event hooks), the wall times and ratios,
the handler's cold import time (``python -X importtime``) and the Lambda asset size.
"""

from __future__ import annotations

import io
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
for _name, _value in {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
}.items():
    os.environ[_name] = _value
os.environ.pop("AWS_PROFILE", None)

import boto3  # noqa: E402
from aws_lambda_powertools import Logger  # noqa: E402

from cdk_batchkit.lambdas.submitter import config as settings  # noqa: E402
from cdk_batchkit.lambdas.submitter.runtime import (  # noqa: E402
    BATCH_CLIENT_CONFIG,
    DYNAMODB_CLIENT_CONFIG,
    S3_CLIENT_CONFIG,
    Clients,
    Submitter,
)

OBJECTS = 10_000
BATCH_SIZE = 2_500
SUBMITTER_DIR = ROOT / "cdk_batchkit" / "lambdas" / "submitter"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(f"{url}/moto-api/config", timeout=1).read()
            break
        except OSError:
            time.sleep(0.05)
    else:
        server.kill()
        raise RuntimeError("moto server did not start")
    # moto's server reads this (not an environment variable) to run Batch jobs without Docker.
    request = urllib.request.Request(
        f"{url}/moto-api/config",
        data=json.dumps({"batch": {"use_docker": False}}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    assert json.loads(urllib.request.urlopen(request).read())["batch"]["use_docker"] is False
    return server, url


class CallCounter:
    """Counts API calls per ``service:Operation`` through botocore's before-call event."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def watch(self, client: Any) -> Any:
        client.meta.events.register("before-call.*.*", self._count)
        return client

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[f"{model.service_model.service_name}:{model.name}"] += 1

    def total(self, service: str) -> int:
        return sum(count for name, count in self.calls.items() if name.startswith(f"{service}:"))


def eventbridge_event(index: int) -> str:
    return json.dumps(
        {
            "version": "0",
            "id": f"bench-{index}",
            "detail-type": "Object Created",
            "source": "aws.s3",
            "account": "123456789012",
            "time": "2026-11-20T12:00:00Z",
            "region": "us-east-1",
            "resources": ["arn:aws:s3:::bench-input"],
            "detail": {
                "version": "0",
                "bucket": {"name": "bench-input"},
                "object": {
                    "key": f"incoming/part+{index:05}.csv",
                    "size": 1024 + index,
                    "etag": f"{index:032x}",
                    "sequencer": f"{index:018X}",
                },
                "request-id": f"REQ{index}",
                "requester": "123456789012",
                "reason": "PutObject",
            },
        }
    )


def sqs_batch(bodies: list[str], start: int) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m-{start + offset}",
                "receiptHandle": "r",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:bench",
                "awsRegion": "us-east-1",
            }
            for offset, body in enumerate(bodies)
        ]
    }


class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 900_000


class Metrics:
    def __init__(self) -> None:
        self.values: Counter[str] = Counter()

    def add_metric(self, name: str, unit: Any, value: float) -> None:
        self.values[name] += int(value)


def import_time_ms() -> list[float]:
    """Cumulative import time of the handler module, in a fresh interpreter each run."""
    results = []
    for _ in range(5):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import cdk_batchkit.lambdas.submitter.handler"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        for line in done.stderr.splitlines():
            parts = [part.strip() for part in line.removeprefix("import time:").split("|")]
            if len(parts) == 3 and parts[2] == "cdk_batchkit.lambdas.submitter.handler":
                results.append(int(parts[1]) / 1000)
    return results


def asset_bytes() -> tuple[int, int]:
    files = [path for path in SUBMITTER_DIR.rglob("*") if path.is_file() and "__pycache__" not in path.parts]
    return sum(path.stat().st_size for path in files), len(files)


def main() -> int:
    server, url = start_moto()
    try:
        return run(url)
    finally:
        server.terminate()
        server.wait(timeout=10)


def run(url: str) -> int:
    session = boto3.session.Session(region_name="us-east-1")

    def client(service: str, config: Any = None) -> Any:
        return session.client(service, endpoint_url=url, config=config)

    iam, setup_batch, s3, dynamodb = client("iam"), client("batch"), client("s3"), client("dynamodb")
    role = iam.create_role(RoleName="bench-batch", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    environment = setup_batch.create_compute_environment(
        computeEnvironmentName="bench-ce", type="UNMANAGED", state="ENABLED", serviceRole=role
    )["computeEnvironmentArn"]
    queues = {
        name: setup_batch.create_job_queue(
            jobQueueName=name,
            state="ENABLED",
            priority=1,
            computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}],
        )["jobQueueArn"]
        for name in ("bench-array", "bench-naive")
    }
    definition = setup_batch.register_job_definition(
        jobDefinitionName="bench-process",
        type="container",
        containerProperties={"image": "busybox", "vcpus": 1, "memory": 512, "command": ["echo", "Ref::key"]},
    )["jobDefinitionArn"]
    s3.create_bucket(Bucket="bench-manifests")
    dynamodb.create_table(
        TableName="bench-idempotency",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )

    bodies = [eventbridge_event(index) for index in range(OBJECTS)]
    events = [sqs_batch(bodies[start : start + BATCH_SIZE], start) for start in range(0, OBJECTS, BATCH_SIZE)]

    # -- 1. the submitter, ARRAY mode ---------------------------------------------------------------
    array_calls = CallCounter()
    config = settings.load(
        {
            "JOB_QUEUE": queues["bench-array"],
            "JOB_DEFINITION": definition,
            "SUBMIT_MODE": "ARRAY",
            "MANIFEST_BUCKET": "bench-manifests",
            "MANIFEST_PREFIX": "manifests/",
            "IDEMPOTENCY_TABLE": "bench-idempotency",
            "MAX_SUBMITS_PER_SECOND": "50",
            "POWERTOOLS_SERVICE_NAME": "bench",
            "POWERTOOLS_METRICS_NAMESPACE": "Bench",
        }
    )
    clients = Clients(
        batch=array_calls.watch(client("batch", BATCH_CLIENT_CONFIG)),
        s3=array_calls.watch(client("s3", S3_CLIENT_CONFIG)),
        dynamodb=array_calls.watch(client("dynamodb", DYNAMODB_CLIENT_CONFIG)),
    )
    metrics = Metrics()
    logger = Logger(service="bench", stream=io.StringIO(), level="WARNING")
    submitter = Submitter(config, clients, logger=logger, metrics=metrics)
    submitter.ledger  # noqa: B018 - build the persistence layer outside the timed part
    failures = 0
    started = time.perf_counter()
    for event in events:
        failures += len(submitter.handle(event, Context())["batchItemFailures"])
    array_seconds = time.perf_counter() - started

    parents = [
        job
        for job in setup_batch.list_jobs(jobQueue=queues["bench-array"])["jobSummaryList"]
        if ":" not in job["jobId"]
    ]
    sizes = sorted(
        job["arrayProperties"]["size"]
        for job in setup_batch.describe_jobs(jobs=[job["jobId"] for job in parents])["jobs"]
    )

    # -- 2. the naive loop ----------------------------------------------------------------------------
    naive_calls = CallCounter()
    naive_batch = naive_calls.watch(client("batch", BATCH_CLIENT_CONFIG))
    started = time.perf_counter()
    for index in range(OBJECTS):
        naive_batch.submit_job(
            jobName=f"naive-{index}",
            jobQueue=queues["bench-naive"],
            jobDefinition=definition,
            parameters={"bucket": "bench-input", "key": f"incoming/part {index:05}.csv"},
        )
    naive_seconds = time.perf_counter() - started

    # -- report ---------------------------------------------------------------------------------------
    array_batch = array_calls.total("batch")
    naive_batch_calls = naive_calls.total("batch")
    imports = import_time_ms()
    size, files = asset_bytes()
    print(f"moto server: {url} (subprocess, batch use_docker=False); {OBJECTS:,} objects")
    print()
    print(f"ARRAY mode ({OBJECTS // BATCH_SIZE} SQS batches of {BATCH_SIZE:,}, idempotency on):")
    print(f"  Batch API calls:     {array_batch:>6,}  {dict(sorted(array_calls.calls.items()))}")
    print(f"  S3 calls:            {array_calls.total('s3'):>6,}")
    dynamodb_calls = array_calls.total("dynamodb")
    print(f"  DynamoDB calls:      {dynamodb_calls:>6,}  (idempotency: claim + complete per object)")
    print(f"  array jobs:          {len(sizes):>6,}  sizes {sizes}; batchItemFailures {failures}")
    print(f"  metrics:             {dict(metrics.values)}")
    print(f"  wall time:           {array_seconds:>9.2f} s")
    print()
    print("Naive loop (one submit_job per object):")
    print(f"  Batch API calls:     {naive_batch_calls:>6,}")
    print(f"  wall time:           {naive_seconds:>9.2f} s")
    print()
    print(f"Batch API calls, naive / ARRAY: {naive_batch_calls / max(array_batch, 1):,.0f}x")
    print(f"Wall time, naive / ARRAY (measured on moto): {naive_seconds / array_seconds:.2f}x")
    floor = naive_batch_calls / 50
    print(
        f"At AWS Batch's 50 SubmitJob/s account limit the naive loop needs >= {floor:.0f} s "
        f"(computed, not measured); ARRAY's {array_batch} calls need {array_batch / 50:.2f} s of it."
    )
    print()
    print(
        f"Handler cold import (python -X importtime, 5 fresh interpreters): "
        f"median {statistics.median(imports):.0f} ms, runs {[round(value) for value in imports]} ms"
    )
    print(f"Lambda asset (cdk_batchkit/lambdas/submitter, no __pycache__): {size:,} bytes in {files} files")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
