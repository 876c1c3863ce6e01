"""Benchmark: the submitter (ARRAY, PER_OBJECT) vs a naive per-object SubmitJob loop, under a model of AWS.

Run by hand (``make bench``); needs no AWS account. It starts ``moto.server`` on loopback in a
subprocess (Batch without Docker), creates the queues, job definition, buckets and idempotency tables,
then in one run:

1. **Modelled AWS** (``benchmarks/awsmodel.py``): a loopback proxy in front of moto charges each call a
   per-service latency on a modelled clock and answers SubmitJob beyond 50 calls/s per account with HTTP
   429. 10,000 objects go through ARRAY mode (2 concurrent environments, SQS batches of 1,000: the
   construct's defaults), PER_OBJECT mode (4 concurrent environments, batches of 10, the account's
   50/s shared between them) and a naive loop (8 concurrent workers, one ``submit_job`` per object with
   the SDK's default retries, as an S3 -> Lambda -> SubmitJob function does). For each: objects/s on the
   modelled clock, Batch calls, all AWS calls per object, throttled calls, and the AWS request cost per
   million objects (public us-east-1 prices, below). Exactly-once is checked by reading back every job
   (and every manifest) from moto.
2. **Raw moto** (the old figures): ARRAY mode (4 SQS batches of 2,500) and a naive loop straight against
   moto, wall time.
3. The handler's cold import time (``python -X importtime``), the submitter's CPU seconds per 1,000
   records, and the Lambda asset size.

``python benchmarks/submitter.py --objects 2000`` runs a smaller version.
"""

from __future__ import annotations

import argparse
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
import botocore.endpoint  # noqa: E402
from aws_lambda_powertools import Logger  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

from benchmarks.awsmodel import (  # noqa: E402
    LATENCY_SECONDS,
    SUBMIT_JOB_RATE,
    ModelClock,
    ModelProxy,
    run_concurrently,
    watch,
)
from cdk_batchkit.lambdas.submitter import config as settings  # noqa: E402
from cdk_batchkit.lambdas.submitter.idempotency import DEFAULT_WORKERS  # noqa: E402
from cdk_batchkit.lambdas.submitter.runtime import (  # noqa: E402
    BATCH_CLIENT_CONFIG,
    DYNAMODB_CLIENT_CONFIG,
    S3_CLIENT_CONFIG,
    Clients,
    Submitter,
)

OBJECTS = 10_000
BATCH_SIZE = 2_500  # raw-moto ARRAY run
#: The modelled runs use the construct's defaults where it has them.
ARRAY_BATCH, ARRAY_ENVIRONMENTS = 1_000, 2
PER_OBJECT_BATCH, PER_OBJECT_ENVIRONMENTS = 10, 4
NAIVE_WORKERS = 8
FUNCTION_TIMEOUT_S = 120
SUBMITTER_MEMORY_GB, NAIVE_MEMORY_GB = 0.5, 0.128

# Public prices, us-east-1, USD (checked against the pages below when written; re-check before quoting):
#   SQS standard queue: $0.40 per million requests (64 KB chunks)   https://aws.amazon.com/sqs/pricing/
#   Lambda: $0.20 per million requests; $0.0000133334 per GB-second on arm64
#                                                                   https://aws.amazon.com/lambda/pricing/
#   DynamoDB on-demand: $0.625 per million write request units, $0.125 per million read request units
#                                                         https://aws.amazon.com/dynamodb/pricing/on-demand/
#   S3 Standard: $0.005 per 1,000 PUT requests                       https://aws.amazon.com/s3/pricing/
#   EventBridge: events published by AWS services (S3 Object Created) to the default bus are free
#                                                               https://aws.amazon.com/eventbridge/pricing/
#   AWS Batch: no charge for the API (you pay for the compute)        https://aws.amazon.com/batch/pricing/
PRICE = {
    "sqs_request": 0.40e-6,
    "lambda_request": 0.20e-6,
    "lambda_gb_second": 0.0000133334,
    "dynamodb_write": 0.625e-6,
    "dynamodb_read": 0.125e-6,
    "s3_put": 0.005e-3,
    "eventbridge_aws_event": 0.0,
}
#: SQS requests per object behind the submitter: the rule's SendMessage, and Lambda's pollers receiving
#: and deleting in batches of up to 10 messages.
SQS_REQUESTS_PER_OBJECT = 1 + 0.1 + 0.1
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
                    "key": f"incoming/part-{index:05}.csv",
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


def create_world(url: str, name: str, queues: list[str], tables: list[str] | None = None) -> dict[str, str]:
    """A compute environment, a queue per name in ``queues``, a job definition (``world["definition"]``),
    the ``NAME-manifests`` bucket and an idempotency table per name in ``tables`` (default: ``queues``)."""
    session = boto3.session.Session(region_name="us-east-1")
    iam, batch = session.client("iam", endpoint_url=url), session.client("batch", endpoint_url=url)
    s3, dynamodb = session.client("s3", endpoint_url=url), session.client("dynamodb", endpoint_url=url)
    role = iam.create_role(RoleName=f"{name}-batch", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    environment = batch.create_compute_environment(
        computeEnvironmentName=f"{name}-ce", type="UNMANAGED", state="ENABLED", serviceRole=role
    )["computeEnvironmentArn"]
    world = {
        queue: batch.create_job_queue(
            jobQueueName=queue,
            state="ENABLED",
            priority=1,
            computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}],
        )["jobQueueArn"]
        for queue in queues
    }
    world["definition"] = batch.register_job_definition(
        jobDefinitionName=f"{name}-process",
        type="container",
        containerProperties={"image": "busybox", "vcpus": 1, "memory": 512, "command": ["echo", "Ref::key"]},
    )["jobDefinitionArn"]
    s3.create_bucket(Bucket=f"{name}-manifests")
    for table in queues if tables is None else tables:
        dynamodb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    return world


def all_jobs(url: str, queue: str) -> list[dict[str, Any]]:
    """Every top-level job in ``queue`` (any status), described."""
    batch = boto3.client("batch", region_name="us-east-1", endpoint_url=url)
    summaries: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"jobQueue": queue}
    for _ in range(10_000):
        page = batch.list_jobs(**kwargs)
        summaries.extend(job for job in page["jobSummaryList"] if ":" not in job["jobId"])
        if not page.get("nextToken"):
            break
        kwargs["nextToken"] = page["nextToken"]
    described: list[dict[str, Any]] = []
    ids = [job["jobId"] for job in summaries]
    for start in range(0, len(ids), 100):
        described.extend(batch.describe_jobs(jobs=ids[start : start + 100])["jobs"])
    return described


def submitted_keys(url: str, queue: str) -> Counter[str]:
    """How many jobs (or manifest lines) each object key got."""
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=url)
    keys: Counter[str] = Counter()
    for job in all_jobs(url, queue):
        parameters = job.get("parameters", {})
        if "manifest" in parameters:
            bucket, key = parameters["manifest"][5:].split("/", 1)
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
            keys.update(json.loads(line)["key"] for line in body.splitlines())
        else:
            keys[parameters["key"]] += 1
    return keys


class ModelContext:
    """A Lambda context whose remaining time runs on the modelled clock."""

    def __init__(self, clock: ModelClock, timeout_s: float) -> None:
        self.clock, self.deadline = clock, clock.now() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return int((self.deadline - self.clock.now()) * 1000)


class _ModelTime:
    """Stands in for the ``time`` module in botocore.endpoint: retry sleeps run on the modelled clock."""

    def __init__(self, clock: ModelClock) -> None:
        self.sleep = clock.sleep

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def modelled_submitter(
    proxy: ModelProxy,
    world: dict[str, str],
    *,
    mode: str,
    queue: str,
    bodies: list[str],
    batch_size: int,
    environments: int,
    rate_per_environment: float,
) -> dict[str, Any]:
    """Feed ``bodies`` through ``environments`` concurrent submitters; SQS-like redelivery of failures."""
    clock = proxy.clock
    events = [
        sqs_batch(bodies[start : start + batch_size], start) for start in range(0, len(bodies), batch_size)
    ]
    shares = [events[index::environments] for index in range(environments)]
    session = boto3.session.Session(region_name="us-east-1")
    before = dict(proxy.calls)

    def environment(share: list[dict[str, Any]]) -> dict[str, Any]:
        def client(service: str, config: Any, width: int = 1) -> Any:
            return watch(
                session.client(service, endpoint_url=proxy.url, config=config), clock, pool_width=width
            )

        clients = Clients(
            batch=client("batch", BATCH_CLIENT_CONFIG),
            s3=client("s3", S3_CLIENT_CONFIG),
            dynamodb=client("dynamodb", DYNAMODB_CLIENT_CONFIG, width=DEFAULT_WORKERS),
        )
        config = settings.load(
            {
                "JOB_QUEUE": world[queue],
                "JOB_DEFINITION": world["definition"],
                "SUBMIT_MODE": mode,
                "MANIFEST_BUCKET": "model-manifests",
                "MANIFEST_PREFIX": "manifests/",
                "IDEMPOTENCY_TABLE": queue,
                "MAX_SUBMITS_PER_SECOND": f"{rate_per_environment:g}",
                "POWERTOOLS_SERVICE_NAME": "bench",
                "POWERTOOLS_METRICS_NAMESPACE": "Bench",
            }
        )
        metrics = Metrics()
        logger = Logger(service=f"bench-{mode}", stream=io.StringIO(), level="ERROR")
        submitter = Submitter(
            config, clients, logger=logger, metrics=metrics, clock=clock.now, sleep=clock.sleep
        )
        invocations, seconds, redelivered = 0, 0.0, 0
        cpu = time.thread_time()
        for event in share:
            pending = event
            for _ in range(20):  # bounded: SQS would dead-letter after max_receive_count anyway
                if not pending["Records"]:
                    break
                started = clock.now()
                response = submitter.handle(pending, ModelContext(clock, FUNCTION_TIMEOUT_S))
                invocations += 1
                seconds += clock.now() - started
                failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
                pending = {"Records": [r for r in pending["Records"] if r["messageId"] in failed]}
                redelivered += len(failed)
        return {
            "invocations": invocations,
            "seconds": seconds,
            "redelivered": redelivered,
            "metrics": metrics.values,
            "cpu": time.thread_time() - cpu,
        }

    throttled = proxy.throttled
    start = clock.now()
    finished = len(clock.finished)
    results = run_concurrently(clock, start, [lambda share=share: environment(share) for share in shares])
    elapsed = max(clock.finished[finished:]) - start
    calls = Counter({name: count - before.get(name, 0) for name, count in proxy.calls.items()})
    metrics: Counter[str] = Counter()
    for result in results:
        metrics.update(result["metrics"])
    return {
        "elapsed": elapsed,
        "calls": +calls,
        "throttled": proxy.throttled - throttled,
        "invocations": sum(r["invocations"] for r in results),
        "lambda_seconds": sum(r["seconds"] for r in results),
        "redelivered": sum(r["redelivered"] for r in results),
        "metrics": dict(metrics),
        "cpu": sum(r["cpu"] for r in results),
    }


def modelled_naive(proxy: ModelProxy, world: dict[str, str], queue: str, objects: int) -> dict[str, Any]:
    """``NAIVE_WORKERS`` concurrent workers, one submit_job per object, the SDK's default retries."""
    clock = proxy.clock
    session = boto3.session.Session(region_name="us-east-1")
    before = dict(proxy.calls)
    retries: dict[str, Any] = {}

    def worker(indexes: range) -> dict[str, Any]:
        batch = watch(session.client("batch", endpoint_url=proxy.url), clock)
        retries.update(batch.meta.config.retries or {})
        ok = lost = 0
        seconds = 0.0
        for index in indexes:
            started = clock.now()
            try:
                batch.submit_job(
                    jobName=f"naive-{index}",
                    jobQueue=world[queue],
                    jobDefinition=world["definition"],
                    parameters={"bucket": "bench-input", "key": key_of(index)},
                )
                ok += 1
            except ClientError:
                lost += 1  # an S3 -> Lambda function would fail; Lambda's async retries are not modelled
            seconds += clock.now() - started
        return {"ok": ok, "lost": lost, "seconds": seconds}

    throttled = proxy.throttled
    start = clock.now()
    finished = len(clock.finished)
    original = botocore.endpoint.time
    botocore.endpoint.time = _ModelTime(clock)  # type: ignore[assignment]
    try:
        jobs = [
            lambda part=range(index, objects, NAIVE_WORKERS): worker(part) for index in range(NAIVE_WORKERS)
        ]
        results = run_concurrently(clock, start, jobs)
    finally:
        botocore.endpoint.time = original  # type: ignore[assignment]
    calls = Counter({name: count - before.get(name, 0) for name, count in proxy.calls.items()})
    return {
        "elapsed": max(clock.finished[finished:]) - start,
        "calls": +calls,
        "throttled": proxy.throttled - throttled,
        "ok": sum(r["ok"] for r in results),
        "lost": sum(r["lost"] for r in results),
        "invocations": objects,
        "lambda_seconds": sum(r["seconds"] for r in results),
        "retries": retries,
    }


def key_of(index: int) -> str:
    return f"incoming/part-{index:05}.csv"


def cost_per_million(run: dict[str, Any], objects: int, *, memory_gb: float, sqs: bool) -> dict[str, float]:
    calls: Counter[str] = run["calls"]
    writes = sum(calls[f"dynamodb:{op}"] for op in ("PutItem", "UpdateItem", "DeleteItem"))
    reads = calls["dynamodb:GetItem"]
    parts = {
        "SQS": (SQS_REQUESTS_PER_OBJECT * objects if sqs else 0) * PRICE["sqs_request"],
        "Lambda": run["invocations"] * PRICE["lambda_request"]
        + run["lambda_seconds"] * memory_gb * PRICE["lambda_gb_second"],
        "DynamoDB": writes * PRICE["dynamodb_write"] + reads * PRICE["dynamodb_read"],
        "S3 PUT": calls["s3:PutObject"] * PRICE["s3_put"],
        "EventBridge": objects * PRICE["eventbridge_aws_event"],
    }
    scale = 1_000_000 / objects
    return {name: value * scale for name, value in parts.items()}


def report(
    name: str, run: dict[str, Any], objects: int, done: int, costs: dict[str, float], extra: str
) -> None:
    calls: Counter[str] = run["calls"]
    batch_calls = sum(n for op, n in calls.items() if op.startswith("batch:"))
    total = sum(calls.values())
    print(f"{name}:")
    print(
        f"  objects/s (modelled):      {done / run['elapsed']:>10,.1f}   "
        f"({done:,} objects in {run['elapsed']:,.1f} s)"
    )
    print(f"  Batch calls:               {batch_calls:>10,}   ({run['throttled']:,} answered 429)")
    print(f"  AWS calls per object:      {total / objects:>10.3f}   {dict(sorted(calls.items()))}")
    if run.get("sqs", True):
        print(
            f"  + SQS requests per object: {SQS_REQUESTS_PER_OBJECT:>10.1f}   "
            "(rule delivery, Lambda receive/delete)"
        )
    cost = sum(costs.values())
    detail = ", ".join(f"{part} ${value:,.2f}" for part, value in costs.items())
    print(f"  request cost / M objects:  ${cost:>9,.2f}   ({detail})")
    print(f"  {extra}")
    print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=OBJECTS)
    parser.add_argument("--skip-raw", action="store_true", help="skip the raw-moto runs")
    args = parser.parse_args()
    server, url = start_moto()
    try:
        modelled(url, args.objects)
        if not args.skip_raw:
            run(url, args.objects)
        footer()
        return 0
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def modelled(url: str, objects: int) -> None:
    world = create_world(url, "model", ["model-array", "model-per-object", "model-naive"])
    bodies = [eventbridge_event(index) for index in range(objects)]
    clock = ModelClock()
    started = time.perf_counter()
    with ModelProxy(url, clock) as proxy:
        array = modelled_submitter(
            proxy,
            world,
            mode="ARRAY",
            queue="model-array",
            bodies=bodies,
            batch_size=ARRAY_BATCH,
            environments=ARRAY_ENVIRONMENTS,
            rate_per_environment=SUBMIT_JOB_RATE / ARRAY_ENVIRONMENTS,
        )
        per_object = modelled_submitter(
            proxy,
            world,
            mode="PER_OBJECT",
            queue="model-per-object",
            bodies=bodies,
            batch_size=PER_OBJECT_BATCH,
            environments=PER_OBJECT_ENVIRONMENTS,
            rate_per_environment=SUBMIT_JOB_RATE / PER_OBJECT_ENVIRONMENTS,
        )
        naive = modelled_naive(proxy, world, "model-naive", objects)
    wall = time.perf_counter() - started
    expected = {key_of(index) for index in range(objects)}
    checks = {}
    for name, queue in (("ARRAY", "model-array"), ("PER_OBJECT", "model-per-object")):
        keys = submitted_keys(url, queue)
        checks[name] = (
            set(keys) == expected,
            sum(n - 1 for n in keys.values() if n > 1),
            len(expected - set(keys)),
        )
    naive_keys = submitted_keys(url, "model-naive")
    naive["sqs"] = False

    latency = ", ".join(f"{service} {seconds * 1000:g} ms" for service, seconds in LATENCY_SECONDS.items())
    print(
        f"Modelled AWS ({objects:,} objects): latency per call {latency}; SubmitJob {SUBMIT_JOB_RATE}/s per"
    )
    print("account (429 beyond); times on the modelled clock (moto's own time left out); prices us-east-1.")
    print(f"Real time for the three modelled runs: {wall:,.0f} s (moto and the proxy on this machine).")
    print()
    for name, run_, batch, envs in (
        ("ARRAY", array, ARRAY_BATCH, ARRAY_ENVIRONMENTS),
        ("PER_OBJECT", per_object, PER_OBJECT_BATCH, PER_OBJECT_ENVIRONMENTS),
    ):
        complete, duplicates, missing = checks[name]
        extra = (
            f"{envs} environments, SQS batches of {batch:,}, {run_['invocations']:,} invocations "
            f"({run_['redelivered']:,} records redelivered); exactly once: "
            f"{'yes' if complete and not duplicates else 'NO'} ({missing} missing, {duplicates} duplicated, "
            f"checked in moto); metrics {run_['metrics']}"
        )
        report(
            f"{name} mode",
            run_,
            objects,
            objects,
            cost_per_million(run_, objects, memory_gb=SUBMITTER_MEMORY_GB, sqs=True),
            extra,
        )
    naive_duplicates = sum(n - 1 for n in naive_keys.values() if n > 1)
    report(
        f"Naive loop ({NAIVE_WORKERS} concurrent workers, one submit_job per object)",
        naive,
        objects,
        naive["ok"],
        cost_per_million(naive, objects, memory_gb=NAIVE_MEMORY_GB, sqs=False),
        f"SDK retries {naive['retries']}: {naive['lost']:,} objects lost after retries, "
        f"{naive_duplicates} duplicated; Lambda billed per object at {NAIVE_MEMORY_GB * 1000:g} MB",
    )
    array_rate = objects / array["elapsed"]
    naive_rate = naive["ok"] / naive["elapsed"]
    print(f"ARRAY / naive objects/s (modelled): {array_rate / naive_rate:,.1f}x (target >= 20x)")
    print(f"PER_OBJECT / naive objects/s (modelled): {objects / per_object['elapsed'] / naive_rate:,.1f}x")
    print(
        f"Submitter CPU per 1,000 records (this machine, PER_OBJECT, thread CPU time): "
        f"{per_object['cpu'] / objects * 1000:.2f} s"
    )
    print()


def footer() -> None:
    imports = import_time_ms()
    size, files = asset_bytes()
    print(
        f"Handler cold import (python -X importtime, 5 fresh interpreters): "
        f"median {statistics.median(imports):.0f} ms, runs {[round(value) for value in imports]} ms"
    )
    print(f"Lambda asset (cdk_batchkit/lambdas/submitter, no __pycache__): {size:,} bytes in {files} files")


def run(url: str, objects: int) -> None:
    session = boto3.session.Session(region_name="us-east-1")

    def client(service: str, config: Any = None) -> Any:
        return session.client(service, endpoint_url=url, config=config)

    queues = create_world(url, "bench", ["bench-array", "bench-naive"], ["bench-idempotency"])
    definition = queues["definition"]
    setup_batch = client("batch")

    bodies = [eventbridge_event(index) for index in range(objects)]
    events = [sqs_batch(bodies[start : start + BATCH_SIZE], start) for start in range(0, objects, BATCH_SIZE)]

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
    cpu = time.process_time()  # this process runs only the submitter and its clients (moto is separate)
    for event in events:
        failures += len(submitter.handle(event, Context())["batchItemFailures"])
    array_cpu = time.process_time() - cpu
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
    for index in range(objects):
        naive_batch.submit_job(
            jobName=f"naive-{index}",
            jobQueue=queues["bench-naive"],
            jobDefinition=definition,
            parameters={"bucket": "bench-input", "key": f"incoming/part-{index:05}.csv"},
        )
    naive_seconds = time.perf_counter() - started

    # -- report ---------------------------------------------------------------------------------------
    array_batch = array_calls.total("batch")
    naive_batch_calls = naive_calls.total("batch")
    print(f"Raw moto, no model: {url} (subprocess, batch use_docker=False); {objects:,} objects")
    print()
    print(f"ARRAY mode ({-(-objects // BATCH_SIZE)} SQS batches of {BATCH_SIZE:,}, idempotency on):")
    print(f"  Batch API calls:     {array_batch:>6,}  {dict(sorted(array_calls.calls.items()))}")
    print(f"  S3 calls:            {array_calls.total('s3'):>6,}")
    dynamodb_calls = array_calls.total("dynamodb")
    print(f"  DynamoDB calls:      {dynamodb_calls:>6,}  (idempotency: claim + complete per object)")
    print(f"  array jobs:          {len(sizes):>6,}  sizes {sizes}; batchItemFailures {failures}")
    print(f"  metrics:             {dict(metrics.values)}")
    print(f"  wall time:           {array_seconds:>9.2f} s")
    print(f"  submitter CPU:       {array_cpu / objects * 1000:>9.2f} s per 1,000 records (process CPU time)")
    print()
    print("Naive loop (one submit_job per object):")
    print(f"  Batch API calls:     {naive_batch_calls:>6,}")
    print(f"  wall time:           {naive_seconds:>9.2f} s")
    print()
    print(f"Batch API calls, naive / ARRAY: {naive_batch_calls / max(array_batch, 1):,.0f}x")
    print(
        f"Wall time, naive / ARRAY (raw moto: its DynamoDB costs what its SubmitJob does): "
        f"{naive_seconds / array_seconds:.2f}x"
    )
    print()


if __name__ == "__main__":
    raise SystemExit(main())
