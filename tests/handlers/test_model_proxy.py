"""The benchmark's model of AWS (benchmarks/awsmodel.py), reduced: it throttles, the submitter loses nothing.

A moto server runs in this process (loopback); the proxy in front of it answers SubmitJob beyond its
quota (50 calls per modelled second in the benchmark; 10 here, to keep the test small) with HTTP 429.
A PER_OBJECT submitter configured far above that limit is throttled, backs off on the modelled clock,
and still submits every object exactly once.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from benchmarks.awsmodel import ModelClock, ModelProxy, SlidingQuota, operation_of, run_concurrently, watch
from cdk_batchkit.lambdas.submitter import config as settings
from cdk_batchkit.lambdas.submitter.runtime import BATCH_CLIENT_CONFIG, Clients, Submitter
from tests.handlers.support import MetricsRecorder, eventbridge_body, failed_ids, sqs_event

OBJECTS = 25
QUOTA = 10


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def moto_url() -> Iterator[str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _world(url: str) -> dict[str, str]:
    session = boto3.session.Session(region_name="us-east-1")
    iam, batch = session.client("iam", endpoint_url=url), session.client("batch", endpoint_url=url)
    role = iam.create_role(RoleName="proxy-batch", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    environment = batch.create_compute_environment(
        computeEnvironmentName="proxy-ce", type="UNMANAGED", state="ENABLED", serviceRole=role
    )["computeEnvironmentArn"]
    queue = batch.create_job_queue(
        jobQueueName="proxy-queue",
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}],
    )["jobQueueArn"]
    definition = batch.register_job_definition(
        jobDefinitionName="proxy-process",
        type="container",
        containerProperties={"image": "busybox", "vcpus": 1, "memory": 512, "command": ["true"]},
    )["jobDefinitionArn"]
    session.client("dynamodb", endpoint_url=url).create_table(
        TableName="proxy-idempotency",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return {"queue": queue, "definition": definition}


def _keys(url: str, queue: str) -> list[str]:
    batch = boto3.client("batch", region_name="us-east-1", endpoint_url=url)
    summaries = batch.list_jobs(jobQueue=queue)["jobSummaryList"]
    ids = [job["jobId"] for job in summaries]
    jobs: list[dict[str, Any]] = []
    for start in range(0, len(ids), 100):
        jobs.extend(batch.describe_jobs(jobs=ids[start : start + 100])["jobs"])
    return sorted(job["parameters"]["key"] for job in jobs)


def test_the_submitter_backs_off_under_the_proxys_429s_and_loses_nothing(moto_url: str) -> None:
    world = _world(moto_url)
    clock = ModelClock()
    latency = {"dynamodb": 0.0, "batch": 0.002}
    with ModelProxy(moto_url, clock, latency=latency, submit_job_rate=QUOTA, max_seconds=120) as proxy:
        session = boto3.session.Session(region_name="us-east-1")
        clients = Clients(
            batch=watch(session.client("batch", endpoint_url=proxy.url, config=BATCH_CLIENT_CONFIG), clock),
            dynamodb=watch(session.client("dynamodb", endpoint_url=proxy.url), clock),
        )
        config = settings.load(
            {
                "JOB_QUEUE": world["queue"],
                "JOB_DEFINITION": world["definition"],
                "SUBMIT_MODE": "PER_OBJECT",
                "IDEMPOTENCY_TABLE": "proxy-idempotency",
                "MAX_SUBMITS_PER_SECOND": "500",  # fifty times the modelled limit
                "POWERTOOLS_SERVICE_NAME": "proxy-test",
                "POWERTOOLS_METRICS_NAMESPACE": "ProxyTest",
            }
        )
        from aws_lambda_powertools import Logger

        metrics = MetricsRecorder()
        logger = Logger(service="proxy-test", level="ERROR")
        submitter = Submitter(
            config, clients, logger=logger, metrics=metrics, clock=clock.now, sleep=clock.sleep
        )
        keys = [f"p/{index:03}.csv" for index in range(OBJECTS)]
        response = submitter.handle(sqs_event(*(eventbridge_body(key) for key in keys)))

    assert failed_ids(response) == []
    assert proxy.throttled > 0  # the quota bit: more than QUOTA SubmitJob in a modelled second
    assert proxy.calls["batch:SubmitJob"] == OBJECTS + proxy.throttled
    assert "batch:ListJobs" not in proxy.calls  # a 429 certainly did not execute: no lookup needed
    assert _keys(moto_url, world["queue"]) == keys  # every object exactly once
    assert metrics.values["JobsSubmitted"] == OBJECTS and metrics.values["RecordsFailed"] == 0
    # 25 accepted at no more than 10 per modelled second: at least 1.5 s of modelled time.
    assert clock.now() >= (OBJECTS - QUOTA) / QUOTA


def test_the_quota_accepts_50_calls_in_any_second() -> None:
    assert ModelProxy("http://127.0.0.1:1", ModelClock()).quota.rate == 50  # AWS Batch's SubmitJob quota
    quota = SlidingQuota(50)
    assert all(quota.take(0.001 * index) for index in range(50))
    assert not quota.take(0.5)
    assert quota.take(1.0005)  # the first call left the window


def test_operations_are_read_from_the_signed_request() -> None:
    scope = "AWS4-HMAC-SHA256 Credential=AKID/20261121/us-east-1/{}/aws4_request, SignedHeaders=host"
    assert operation_of("POST", "/v1/submitjob", {"Authorization": scope.format("batch")}) == (
        "batch",
        "SubmitJob",
    )
    dynamodb = {"Authorization": scope.format("dynamodb"), "X-Amz-Target": "DynamoDB_20120810.PutItem"}
    assert operation_of("POST", "/", dynamodb) == ("dynamodb", "PutItem")
    assert operation_of("PUT", "/bucket/a/b.jsonl", {"Authorization": scope.format("s3")}) == (
        "s3",
        "PutObject",
    )


def test_the_proxy_only_forwards_to_loopback() -> None:
    with pytest.raises(ValueError, match="only forwards to loopback"):
        ModelProxy("http://example.com:80", ModelClock())


def test_simulated_processes_act_in_modelled_time_order_and_the_clock_carries_on() -> None:
    clock = ModelClock()
    actions: list[tuple[str, float]] = []

    def process(name: str, steps: list[float]) -> Any:
        def run() -> None:
            for step in steps:
                clock.turn()
                actions.append((name, clock.now()))
                clock.sleep(step)

        return run

    run_concurrently(clock, 0.0, [process("a", [1.0, 1.0]), process("b", [0.5, 0.5, 0.5])])
    times = [at for _, at in actions]
    assert times == sorted(times) and len(actions) == 5
    assert clock.now() == 2.0  # a later run starts where this one ended


def test_the_benchmarks_moto_rolls_a_cancelled_transaction_back(moto_url: str) -> None:
    from benchmarks import motoserver

    motoserver.install()
    try:
        dynamodb = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=moto_url)
        dynamodb.create_table(
            TableName="tx",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.put_item(TableName="tx", Item={"id": {"S": "old"}, "v": {"S": "1"}})
        put = [{"Put": {"TableName": "tx", "Item": {"id": {"S": f"n{i}"}}}} for i in range(3)]
        delete = {"Delete": {"TableName": "tx", "Key": {"id": {"S": "old"}}}}
        fails = {
            "Put": {
                "TableName": "tx",
                "Item": {"id": {"S": "old"}},
                "ConditionExpression": "attribute_not_exists(id)",
            }
        }
        with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
            dynamodb.transact_write_items(TransactItems=[*put, fails])
        missing = {
            "ConditionCheck": {
                "TableName": "tx",
                "Key": {"id": {"S": "n0"}},
                "ConditionExpression": "attribute_exists(id)",
            }
        }
        with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
            dynamodb.transact_write_items(TransactItems=[delete, missing])
        items = dynamodb.scan(TableName="tx")["Items"]
        assert items == [{"id": {"S": "old"}, "v": {"S": "1"}}]  # nothing of either transaction stayed
        dynamodb.transact_write_items(TransactItems=[*put, delete])
        assert sorted(item["id"]["S"] for item in dynamodb.scan(TableName="tx")["Items"]) == [
            "n0",
            "n1",
            "n2",
        ]
    finally:
        motoserver.uninstall()
