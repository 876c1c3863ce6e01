"""Benchmark: the submitter (ARRAY, PER_OBJECT) vs a naive SubmitJob-per-object function, modelled AWS.

Run by hand (``make bench``); needs no AWS account. It starts moto's server on loopback in a
subprocess (Batch without Docker; see ``benchmarks/motoserver.py``), creates the queues, job
definition, buckets and idempotency tables, then:

1. **Modelled AWS** (``benchmarks/awsmodel.py``): a loopback proxy in front of moto charges each call a
   per-service latency on a modelled clock and answers SubmitJob beyond 50 calls/s per account with HTTP
   429. Each simulated Lambda function is also charged its own Python CPU on that clock, scaled by its
   memory (1,769 MB = one vCPU): at ARRAY mode's 1,024 MB default, one second of CPU here costs 1.73
   modelled seconds. Objects go through:

   * the submitter in ARRAY and PER_OBJECT mode, at the construct's defaults (ARRAY: SQS batches of
     1,000, 2 concurrent environments; PER_OBJECT: batches of 10, 2 environments, 10 SubmitJob/s in
     total) and at tuned settings (ARRAY: 4 environments at 1,769 MB; PER_OBJECT: the account's whole
     50/s over 4 environments at 512 MB). A record the submitter reports failed comes back after the queue's
     visibility timeout (6 x the function timeout + the batching window, as the construct sets it);
   * a naive function (S3 invokes it asynchronously, once per object; 128 MB; one ``submit_job`` with
     the SDK's default retries; 8 running at once). Throttled past its SDK retries, it fails, and Lambda
     runs the event again twice, one and then two minutes later (the documented asynchronous retries),
     so "lost" means lost after all three attempts.

   For each: objects/s on the modelled clock, AWS calls per object, throttled calls, the submitter's
   CPU per 1,000 records (this machine, unscaled), and the cost per million objects: requests (SQS,
   Lambda, DynamoDB, S3) plus Lambda compute (modelled duration x memory). Exactly-once is checked by
   reading back every job (and every manifest) from moto.
2. ``--sweep``: ARRAY mode at the construct's defaults for several memory sizes (objects/s and cost per
   million objects), which is how the default memory was chosen.
3. The handler's cold import against a bare ``import boto3``: paired runs in fresh interpreters
   (``--python``: the Lambda runtime's Python, 3.13, when available), on the Lambda asset exactly as the
   construct stages it, with bytecode writing off (``/var/task`` is read-only in Lambda).

``python benchmarks/submitter.py --objects 2000`` runs a smaller version.
"""

from __future__ import annotations

import argparse
import dataclasses
import heapq
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
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
from botocore.config import Config as BotoConfig  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

from benchmarks.awsmodel import (  # noqa: E402
    ITEM_LATENCY_SECONDS,
    LATENCY_SECONDS,
    SUBMIT_JOB_RATE,
    VCPU_MEMORY_MB,
    ModelClock,
    ModelProxy,
    charged_pools,
    cpu_scale,
    run_concurrently,
    watch,
)
from cdk_batchkit.lambdas.submitter import config as settings  # noqa: E402
from cdk_batchkit.lambdas.submitter import runtime  # noqa: E402

OBJECTS = 10_000
FUNCTION_TIMEOUT_S = 120  # the construct's default
#: The construct's default memory by mode (what it gives the function); 512 MB before it had one.
DEFAULT_MEMORY_MB: dict[str, int] = getattr(settings, "DEFAULT_MEMORY_MB", {"ARRAY": 512, "PER_OBJECT": 512})
NAIVE_MEMORY_MB = 128
#: Real seconds a call to moto may take (moto's own time is not modelled; see modelled_submitter).
REAL_READ_TIMEOUT_S = 900
NAIVE_WORKERS = 8
#: Lambda's asynchronous retries of a function error: two more attempts, 1 and then 2 minutes later
#: (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html).
ASYNC_RETRY_DELAYS_S = (60.0, 120.0)

# Public prices, us-east-1, USD (checked against the pages below when written; re-check before quoting):
#   SQS standard queue: $0.40 per million requests (64 KB chunks)   https://aws.amazon.com/sqs/pricing/
#   Lambda: $0.20 per million requests; $0.0000133334 per GB-second on arm64
#                                                                   https://aws.amazon.com/lambda/pricing/
#   DynamoDB on-demand: $0.625 per million write request units, $0.125 per million read request units;
#   a transactional write takes 2 write units, a transactional read 2 read units, a strongly consistent
#   read 1 (items under 1 KB / 4 KB)                      https://aws.amazon.com/dynamodb/pricing/on-demand/
#   S3 Standard: $0.005 per 1,000 PUT requests                       https://aws.amazon.com/s3/pricing/
#   EventBridge: events published by AWS services (S3 Object Created) to the default bus are free
#                                                               https://aws.amazon.com/eventbridge/pricing/
#   AWS Batch: no charge for the API (you pay for the compute)        https://aws.amazon.com/batch/pricing/
PRICE = {
    "sqs_request": 0.40e-6,
    "lambda_request": 0.20e-6,
    "lambda_gb_second": 0.0000133334,
    "dynamodb_write_unit": 0.625e-6,
    "dynamodb_read_unit": 0.125e-6,
    "s3_put": 0.005e-3,
    "eventbridge_aws_event": 0.0,
}
#: SQS requests per object behind the submitter: the rule's SendMessage, and Lambda's pollers receiving
#: and deleting in batches of up to 10 messages.
SQS_REQUESTS_PER_OBJECT = 1 + 0.1 + 0.1
SUBMITTER_DIR = ROOT / "cdk_batchkit" / "lambdas" / "submitter"


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    mode: str
    batch_size: int
    environments: int
    #: SubmitJob/s for the whole submitter (the construct's ``max_submit_rate``).
    submit_rate: float
    memory_mb: int
    #: The construct's batching window in seconds (it only adds to the visibility timeout here).
    window_s: float

    @property
    def visibility_timeout_s(self) -> float:
        return 6 * FUNCTION_TIMEOUT_S + self.window_s


def scenarios(memory_mb: dict[str, int]) -> list[Scenario]:
    array, per_object = memory_mb["ARRAY"], memory_mb["PER_OBJECT"]
    return [
        Scenario("ARRAY, construct defaults", "ARRAY", 1_000, 2, 10, array, 30),
        Scenario("ARRAY, tuned (4 environments, 1,769 MB)", "ARRAY", 1_000, 4, 10, VCPU_MEMORY_MB, 30),
        Scenario("PER_OBJECT, construct defaults", "PER_OBJECT", 10, 2, 10, per_object, 1),
        # At 12.5 SubmitJob/s an environment has 80 ms per object: its calls take 70 ms (modelled) and
        # its CPU 4.6 ms (x6.9 at 256 MB): it needs 512 MB to keep that rate.
        Scenario(
            "PER_OBJECT, tuned (the account's 50/s, 4 environments, 512 MB)", "PER_OBJECT", 10, 4, 50, 512, 1
        ),
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """Linux: the moto server gets SIGTERM when this process dies (even killed), instead of lingering."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.motoserver", "-H", "127.0.0.1", "-p", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,  # noqa: PLW1509 - a benchmark's own child, no threads yet
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
                    "key": key_of(index),
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


def key_of(index: int) -> str:
    return f"incoming/part-{index:05}.csv"


def sqs_record(body: str, index: int) -> dict[str, Any]:
    return {
        "messageId": f"m-{index}",
        "receiptHandle": "r",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:bench",
        "awsRegion": "us-east-1",
    }


class Metrics:
    def __init__(self) -> None:
        self.values: Counter[str] = Counter()

    def add_metric(self, name: str, unit: Any, value: float) -> None:
        self.values[name] += int(value)


def create_world(url: str, name: str, queues: list[str]) -> dict[str, str]:
    """A compute environment, a queue and an idempotency table per name in ``queues``, a job definition
    (``world["definition"]``) and the ``NAME-manifests`` bucket."""
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
    for table in queues:
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


def _pool_modules() -> list[Any]:
    """The submitter's modules that create worker pools (their CPU is charged to the environment)."""
    from cdk_batchkit.lambdas.submitter import idempotency

    return [module for module in (runtime, idempotency) if hasattr(module, "ThreadPoolExecutor")]


def modelled_submitter(
    proxy: ModelProxy, world: dict[str, str], scenario: Scenario, queue: str, bodies: list[str]
) -> dict[str, Any]:
    """Feed ``bodies`` through ``scenario.environments`` concurrent submitters; a failed record comes back
    after the visibility timeout, as SQS redelivers it."""
    clock = proxy.clock
    size = scenario.batch_size
    batches = [
        [sqs_record(body, start + offset) for offset, body in enumerate(bodies[start : start + size])]
        for start in range(0, len(bodies), size)
    ]
    shares = [batches[index :: scenario.environments] for index in range(scenario.environments)]
    session = boto3.session.Session(region_name="us-east-1")
    before = dict(proxy.calls)
    from cdk_batchkit.lambdas.submitter import idempotency

    pool_width = int(getattr(idempotency, "DEFAULT_WORKERS", 1))

    def environment(share: list[list[dict[str, Any]]]) -> dict[str, Any]:
        def client(service: str, config: Any, width: int = 1) -> Any:
            # moto takes real time the model does not charge (on a busy machine, longer than the
            # submitter's read timeouts): only the modelled clock may time a call out.
            config = config.merge(BotoConfig(read_timeout=REAL_READ_TIMEOUT_S))
            return watch(
                session.client(service, endpoint_url=proxy.url, config=config), clock, pool_width=width
            )

        clients = runtime.Clients(
            batch=client("batch", runtime.BATCH_CLIENT_CONFIG),
            s3=client("s3", runtime.S3_CLIENT_CONFIG),
            dynamodb=client("dynamodb", runtime.DYNAMODB_CLIENT_CONFIG, width=pool_width),
        )
        config = settings.load(
            {
                "JOB_QUEUE": world[queue],
                "JOB_DEFINITION": world["definition"],
                "SUBMIT_MODE": scenario.mode,
                "MANIFEST_BUCKET": "model-manifests",
                "MANIFEST_PREFIX": "manifests/",
                "IDEMPOTENCY_TABLE": queue,
                "MAX_SUBMITS_PER_SECOND": f"{scenario.submit_rate / scenario.environments:g}",
                "POWERTOOLS_SERVICE_NAME": "bench",
                "POWERTOOLS_METRICS_NAMESPACE": "Bench",
            }
        )
        metrics = Metrics()
        logger = Logger(service=f"bench-{scenario.mode}", stream=io.StringIO(), level="ERROR")
        submitter = runtime.Submitter(
            config, clients, logger=logger, metrics=metrics, clock=clock.now, sleep=clock.sleep
        )
        invocations, seconds, redelivered = 0, 0.0, 0
        queue_: list[tuple[float, int, list[dict[str, Any]]]] = [
            (clock.now(), order, batch) for order, batch in enumerate(share)
        ]
        order = len(queue_)
        for _ in range(100_000):  # bounded: SQS would dead-letter after max_receive_count anyway
            if not queue_:
                break
            visible, _, records = heapq.heappop(queue_)
            if visible > clock.now():
                clock.sleep(visible - clock.now())  # nothing to do until the redelivery
            started = clock.now()
            response = submitter.handle({"Records": records}, ModelContext(clock, FUNCTION_TIMEOUT_S))
            invocations += 1
            seconds += clock.now() - started
            failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
            if failed:
                redelivered += len(failed)
                again = [record for record in records if record["messageId"] in failed]
                heapq.heappush(queue_, (clock.now() + scenario.visibility_timeout_s, order, again))
                order += 1
        return {
            "invocations": invocations,
            "seconds": seconds,
            "redelivered": redelivered,
            "metrics": metrics.values,
        }

    throttled = proxy.throttled
    items_before = dict(proxy.items)
    start = clock.now()
    finished = len(clock.finished)
    used_before = sum(clock.cpu_used.values())
    with charged_pools(clock, *_pool_modules()):
        results = run_concurrently(
            clock,
            start,
            [lambda share=share: environment(share) for share in shares],
            memory_mb=scenario.memory_mb,
        )
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
        "cpu": sum(clock.cpu_used.values()) - used_before,
        "memory_mb": scenario.memory_mb,
        "items": {name: count - items_before.get(name, 0) for name, count in proxy.items.items()},
    }


def modelled_naive(proxy: ModelProxy, world: dict[str, str], queue: str, objects: int) -> dict[str, Any]:
    """S3 -> Lambda (asynchronous) -> one submit_job per object, ``NAIVE_WORKERS`` at once, 128 MB, the
    SDK's default retries; a failed invocation is run again by Lambda 1 and then 2 minutes later."""
    clock = proxy.clock
    session = boto3.session.Session(region_name="us-east-1")
    before = dict(proxy.calls)
    retries: dict[str, Any] = {}
    lock = threading.Lock()
    events: list[tuple[float, int, int]] = [(clock.now(), index, 0) for index in range(objects)]
    heapq.heapify(events)
    done = {"ok": 0, "lost": 0, "retried": 0, "invocations": 0}

    def worker() -> dict[str, Any]:
        config = BotoConfig(read_timeout=REAL_READ_TIMEOUT_S)  # the SDK's default retries, as it is
        batch = watch(session.client("batch", endpoint_url=proxy.url, config=config), clock)
        retries.update(batch.meta.config.retries or {})
        seconds = 0.0
        while True:
            with lock:
                if not events:
                    break
                available, index, attempt = heapq.heappop(events)
            if available > clock.now():
                clock.sleep(available - clock.now())  # the worker waits for the next event
            clock.turn()
            started = clock.now()
            try:
                batch.submit_job(
                    jobName=f"naive-{index}",
                    jobQueue=world[queue],
                    jobDefinition=world["definition"],
                    parameters={"bucket": "bench-input", "key": key_of(index)},
                )
                ok = True
            except ClientError:
                ok = False
            clock.turn()  # charge the invocation's CPU before it ends
            seconds += clock.now() - started
            with lock:
                done["invocations"] += 1
                if ok:
                    done["ok"] += 1
                elif attempt < len(ASYNC_RETRY_DELAYS_S):
                    done["retried"] += 1
                    heapq.heappush(events, (clock.now() + ASYNC_RETRY_DELAYS_S[attempt], index, attempt + 1))
                else:
                    done["lost"] += 1
        return {"seconds": seconds}

    throttled = proxy.throttled
    start = clock.now()
    finished = len(clock.finished)
    used_before = sum(clock.cpu_used.values())
    original = botocore.endpoint.time
    botocore.endpoint.time = _ModelTime(clock)  # type: ignore[assignment]
    try:
        results = run_concurrently(clock, start, [worker] * NAIVE_WORKERS, memory_mb=NAIVE_MEMORY_MB)
    finally:
        botocore.endpoint.time = original  # type: ignore[assignment]
    calls = Counter({name: count - before.get(name, 0) for name, count in proxy.calls.items()})
    return {
        "elapsed": max(clock.finished[finished:]) - start,
        "calls": +calls,
        "throttled": proxy.throttled - throttled,
        **done,
        "lambda_seconds": sum(r["seconds"] for r in results),
        "retries": retries,
        "cpu": sum(clock.cpu_used.values()) - used_before,
        "memory_mb": NAIVE_MEMORY_MB,
        "items": {},
    }


def dynamodb_units(calls: Counter[str], items: dict[str, int]) -> tuple[float, float]:
    """(write units, read units) of the run's DynamoDB calls (items under 1 KB; strongly consistent reads)."""
    writes = sum(calls[f"dynamodb:{op}"] for op in ("PutItem", "UpdateItem", "DeleteItem"))
    reads = calls["dynamodb:GetItem"]
    writes += 2 * items.get("TransactWriteItems", 0) + items.get("BatchWriteItem", 0)
    reads += 2 * items.get("TransactGetItems", 0) + items.get("BatchGetItem", 0)
    return writes, reads


def cost_per_million(run: dict[str, Any], objects: int, *, sqs: bool) -> dict[str, float]:
    calls: Counter[str] = run["calls"]
    writes, reads = dynamodb_units(calls, run["items"])
    memory_gb = run["memory_mb"] / 1024
    parts = {
        "SQS": (SQS_REQUESTS_PER_OBJECT * objects if sqs else 0) * PRICE["sqs_request"],
        "Lambda requests": run["invocations"] * PRICE["lambda_request"],
        "Lambda compute": run["lambda_seconds"] * memory_gb * PRICE["lambda_gb_second"],
        "DynamoDB": writes * PRICE["dynamodb_write_unit"] + reads * PRICE["dynamodb_read_unit"],
        "S3 PUT": calls["s3:PutObject"] * PRICE["s3_put"],
        "EventBridge": objects * PRICE["eventbridge_aws_event"],
    }
    scale = 1_000_000 / objects
    return {name: value * scale for name, value in parts.items() if value}


def report(name: str, run: dict[str, Any], objects: int, done: int, extra: str, *, sqs: bool) -> None:
    calls: Counter[str] = run["calls"]
    batch_calls = sum(n for op, n in calls.items() if op.startswith("batch:"))
    total = sum(calls.values())
    costs = cost_per_million(run, objects, sqs=sqs)
    print(f"{name}:")
    print(
        f"  objects/s (modelled):      {done / run['elapsed']:>10,.1f}   "
        f"({done:,} objects in {run['elapsed']:,.1f} s)"
    )
    print(f"  Batch calls:               {batch_calls:>10,}   ({run['throttled']:,} answered 429)")
    print(f"  AWS calls per object:      {total / objects:>10.3f}   {dict(sorted(calls.items()))}")
    if sqs:
        print(
            f"  + SQS requests per object: {SQS_REQUESTS_PER_OBJECT:>10.1f}   "
            "(rule delivery, Lambda receive/delete)"
        )
    print(
        f"  CPU per 1,000 records:     {run['cpu'] / objects * 1000:>10.3f} s  (this machine, thread CPU "
        f"time; charged x{cpu_scale(run['memory_mb']):.2f} at {run['memory_mb']:,} MB)"
    )
    cost = sum(costs.values())
    detail = ", ".join(f"{part} ${value:,.2f}" for part, value in costs.items())
    print(f"  cost / M objects:          ${cost:>9,.2f}   ({detail})")
    print(f"  {extra}")
    print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=OBJECTS)
    parser.add_argument("--sweep", action="store_true", help="ARRAY defaults at several memory sizes")
    parser.add_argument("--only", help="only scenarios whose name contains this (and no naive loop)")
    parser.add_argument("--memory", type=int, help="model this memory as the default of both modes")
    parser.add_argument(
        "--python",
        help="interpreter for the cold-import runs (default: a Python 3.13 with boto3 and Powertools, if "
        "one is found, else this one)",
    )
    parser.add_argument("--import-runs", type=int, default=15, help="paired cold-import runs (0: skip)")
    args = parser.parse_args()
    if args.import_runs:
        cold_import(args.python or import_python(), args.import_runs)
    server, url = start_moto()
    try:
        memory = {mode: args.memory for mode in ("ARRAY", "PER_OBJECT")} if args.memory else DEFAULT_MEMORY_MB
        modelled(url, args.objects, memory, args.only)
        if args.sweep:
            sweep(url, args.objects)
        return 0
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def exactly_once(url: str, queue: str, objects: int) -> str:
    keys = submitted_keys(url, queue)
    expected = {key_of(index) for index in range(objects)}
    duplicates = sum(n - 1 for n in keys.values() if n > 1)
    missing = len(expected - set(keys))
    verdict = "yes" if not missing and not duplicates else "NO"
    return f"exactly once: {verdict} ({missing} missing, {duplicates} duplicated, checked in moto)"


def modelled(url: str, objects: int, memory_mb: dict[str, int], only: str | None) -> None:
    chosen = [s for s in scenarios(memory_mb) if not only or only in s.name]
    queues = [f"model-{index}" for index in range(len(chosen))] + ["model-naive"]
    world = create_world(url, "model", queues)
    bodies = [eventbridge_event(index) for index in range(objects)]
    clock = ModelClock()
    started = time.perf_counter()
    results: dict[str, tuple[Scenario, dict[str, Any], str]] = {}
    with ModelProxy(url, clock) as proxy:
        for queue, scenario in zip(queues, chosen, strict=False):
            run = modelled_submitter(proxy, world, scenario, queue, bodies)
            results[scenario.name] = (scenario, run, queue)
        naive = None if only else modelled_naive(proxy, world, "model-naive", objects)
    wall = time.perf_counter() - started

    latency = ", ".join(f"{service} {seconds * 1000:g} ms" for service, seconds in LATENCY_SECONDS.items())
    print(
        f"Modelled AWS ({objects:,} objects): latency per call {latency} "
        f"(+{ITEM_LATENCY_SECONDS * 1000:g} ms per item of a DynamoDB batch or transaction); "
        f"SubmitJob {SUBMIT_JOB_RATE}/s per account"
    )
    print(
        "(429 beyond); each function's CPU charged on the modelled clock at its memory (1,769 MB = 1 vCPU); "
        "prices us-east-1."
    )
    print(f"Real time for the modelled runs: {wall:,.0f} s (moto and the proxy on this machine).")
    print()
    for name, (scenario, run, queue) in results.items():
        extra = (
            f"{scenario.environments} environments at {scenario.memory_mb:,} MB, "
            f"{scenario.submit_rate / scenario.environments:g} SubmitJob/s each, SQS batches of "
            f"{scenario.batch_size:,}; {run['invocations']:,} invocations ({run['redelivered']:,} records "
            f"redelivered after the visibility timeout); {exactly_once(url, queue, objects)}; "
            f"metrics {run['metrics']}"
        )
        report(name, run, objects, objects, extra, sqs=True)
    if naive is None:
        return
    naive_keys = submitted_keys(url, "model-naive")
    naive_duplicates = sum(n - 1 for n in naive_keys.values() if n > 1)
    report(
        f"Naive function (S3 -> Lambda async, {NAIVE_WORKERS} at once, one submit_job per object)",
        naive,
        objects,
        naive["ok"],
        f"SDK retries {naive['retries']}; {naive['invocations']:,} invocations, {naive['retried']:,} "
        f"run again by Lambda's asynchronous retries, {naive['lost']:,} objects lost after all three "
        f"attempts, {naive_duplicates} duplicated; {NAIVE_MEMORY_MB} MB",
        sqs=False,
    )
    naive_rate = naive["ok"] / naive["elapsed"]
    for name, (_, run, _) in results.items():
        target = " (target >= 20x)" if name.startswith("ARRAY, construct") else ""
        print(f"{name} / naive objects/s (modelled): {objects / run['elapsed'] / naive_rate:,.1f}x{target}")
    print()


def sweep(url: str, objects: int) -> None:
    """Each mode at the construct's defaults for several memory sizes: objects/s and cost per million."""
    plans = [
        ("ARRAY", 1_000, 30, objects, (256, 512, 1024, VCPU_MEMORY_MB)),
        ("PER_OBJECT", 10, 1, min(objects, 2_000), (128, 256, 512, 1024)),
    ]
    queues = [f"sweep-{mode.lower()}-{memory}" for mode, _, _, _, memories in plans for memory in memories]
    world = create_world(url, "sweep", [q.replace("_", "-") for q in queues])
    clock = ModelClock()
    with ModelProxy(url, clock) as proxy:
        for mode, batch_size, window, count, memories in plans:
            bodies = [eventbridge_event(index) for index in range(count)]
            print(
                f"{mode} mode at the construct's defaults (batches of {batch_size:,}, 2 environments, 10 "
                f"SubmitJob/s), {count:,} objects, by memory:"
            )
            print(
                f"  {'memory':>8}  {'objects/s':>10}  {'CPU s/1,000':>11}  {'Lambda $/M':>10}  "
                f"{'total $/M':>9}"
            )
            for memory in memories:
                scenario = Scenario(f"sweep {mode} {memory}", mode, batch_size, 2, 10, memory, window)
                queue = f"sweep-{mode.lower()}-{memory}".replace("_", "-")
                run = modelled_submitter(proxy, world, scenario, queue, bodies)
                costs = cost_per_million(run, count, sqs=True)
                print(
                    f"  {memory:>5} MB  {count / run['elapsed']:>10,.1f}  "
                    f"{run['cpu'] / count * 1000:>11.3f}  "
                    f"{costs.get('Lambda compute', 0) + costs.get('Lambda requests', 0):>10.4f}  "
                    f"{sum(costs.values()):>9.2f}"
                )
            print()


def staged_asset(target: Path) -> Path:
    """The submitter's Lambda asset as the construct stages it (see constructs/_lambda.py), in ``target``."""
    try:
        from cdk_batchkit.constructs._lambda import stage_handler  # type: ignore[attr-defined]
    except ImportError:  # before the asset was staged: the handler's folder and the package marker
        lambdas = ROOT / "cdk_batchkit" / "lambdas"
        shutil.copytree(
            lambdas / "submitter", target / "submitter", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
        shutil.copy(lambdas / "__init__.py", target / "__init__.py")
        return target
    return stage_handler("submitter", target)


def import_python() -> str:
    """The Lambda runtime's Python (3.13) when one is at hand with boto3 and Powertools, else this one."""
    try:
        from cdk_batchkit.constructs._lambda import runtime_python
    except ImportError:
        return sys.executable
    candidate = runtime_python()
    if candidate:
        probe = subprocess.run([candidate, "-c", "import boto3, aws_lambda_powertools"], capture_output=True)
        if probe.returncode == 0:
            return candidate
    return sys.executable


def cold_import(python: str, runs: int) -> None:
    """Paired runs: ``import boto3`` and ``import submitter.handler`` in fresh interpreters, in turn."""
    with tempfile.TemporaryDirectory(prefix="batchkit-asset-") as tmp:
        asset = staged_asset(Path(tmp) / "asset")
        env = {**os.environ, "PYTHONPATH": str(asset), "PYTHONDONTWRITEBYTECODE": "1"}
        env.pop("PYTHONSTARTUP", None)

        def timed(code: str) -> float:
            started = time.perf_counter()
            subprocess.run([python, "-c", code], env=env, check=True, cwd=tmp)
            return time.perf_counter() - started

        bare, handler, ratios = [], [], []
        timed("import boto3")  # warm-up: the file cache
        timed("import submitter.handler")
        for _ in range(runs):
            b, h = timed("import boto3"), timed("import submitter.handler")
            bare.append(b)
            handler.append(h)
            ratios.append(h / b)
        version = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        files = sorted(p.relative_to(asset).as_posix() for p in asset.rglob("*") if p.is_file())
        size = sum((asset / f).stat().st_size for f in files)
        print(
            f"Handler cold import vs a bare `import boto3` (Python {version}, {runs} paired runs in fresh "
            f"interpreters, bytecode writing off): median ratio {statistics.median(ratios):.3f} "
            f"(target <= 1.1); handler {statistics.median(handler) * 1000:.0f} ms, boto3 "
            f"{statistics.median(bare) * 1000:.0f} ms (medians of wall time)"
        )
        print(f"Lambda asset: {size:,} bytes in {len(files)} files")
        print()


if __name__ == "__main__":
    raise SystemExit(main())
