"""PER_OBJECT mode against moto: one job per object, exactly once, bad input isolated, throttling."""

from __future__ import annotations

import json
from urllib.parse import unquote_plus

import boto3
import pytest

from cdk_batchkit.lambdas.submitter.idempotency import Claim, Claimed, Ledger
from cdk_batchkit.lambdas.submitter.manifest import ENV_BUCKET, ENV_KEY, ENV_SIZE, ENV_VERSION, ManifestEntry
from cdk_batchkit.lambdas.submitter.runtime import BATCH_CLIENT_CONFIG, BATCH_TOTAL_ATTEMPTS
from tests.handlers.faults import stored_object_body
from tests.handlers.support import (
    INPUT_BUCKET,
    REGION,
    TABLE,
    FakeContext,
    LogCapture,
    MetricsRecorder,
    Throttle,
    World,
    environment_of,
    eventbridge_body,
    failed_ids,
    load_event,
    notification_body,
    notification_record,
    sqs_event,
)


def test_one_object_becomes_one_job_with_parameters_and_environment(world: World) -> None:
    metrics = MetricsRecorder()
    response = world.submitter(metrics=metrics).handle(sqs_event(eventbridge_body("in/a.csv", size=321)))
    assert response == {"batchItemFailures": []}
    (job,) = world.jobs()
    assert job["parameters"] == {"bucket": INPUT_BUCKET, "key": "in/a.csv", "size": "321", "version": "v1"}
    env = environment_of(job)
    assert (env[ENV_BUCKET], env[ENV_KEY], env[ENV_SIZE], env[ENV_VERSION]) == (
        INPUT_BUCKET,
        "in/a.csv",
        "321",
        "v1",
    )
    assert job["jobName"].startswith("in-a-csv-")
    assert job["jobDefinition"] == world.definition_arn
    assert metrics.values == {
        "ObjectsAccepted": 1,
        "JobsSubmitted": 1,
        "JobsRecovered": 0,
        "DuplicatesSkipped": 0,
        "RecordsFailed": 0,
        "RecordsDeferred": 0,
        "RecordsSkipped": 0,
    }


def test_makes_only_the_expected_aws_calls_and_never_reads_the_object(world: World) -> None:
    world.calls.clear()
    world.submitter().handle(sqs_event(eventbridge_body("x.csv")), FakeContext())
    assert world.calls == ["dynamodb:PutItem", "batch:SubmitJob", "dynamodb:PutItem"]


def test_job_name_prefix_is_applied(world: World) -> None:
    world.submitter(JOB_NAME_PREFIX="ingest-").handle(sqs_event(eventbridge_body("a.csv")))
    assert world.jobs()[0]["jobName"].startswith("ingest-a-csv-")


@pytest.mark.parametrize("shape", ["eventbridge", "notification"])
def test_url_encoded_keys_are_decoded_exactly_once(world: World, shape: str) -> None:
    raw_keys = [
        "with+space+here.csv",
        "a%2Bb.csv",
        "unicode/caf%C3%A9+%E6%97%A5%E6%9C%AC.txt",
        "odd%2520.csv",
    ]
    decoded = {"with space here.csv", "a+b.csv", "unicode/café 日本.txt", "odd%20.csv"}
    if shape == "eventbridge":
        # EventBridge's key encoding is undocumented: these keys are resolved against S3 (issue 10),
        # so the objects exist, under their decoded keys.
        bodies = [
            stored_object_body(world, unquote_plus(raw), sent=raw, content=raw.encode()) for raw in raw_keys
        ]
    else:
        bodies = [notification_body(notification_record(raw, encoded=True)) for raw in raw_keys]
    response = world.submitter().handle(sqs_event(*bodies))
    assert response["batchItemFailures"] == []
    jobs = world.jobs()
    assert {job["parameters"]["key"] for job in jobs} == decoded
    assert {environment_of(job)[ENV_KEY] for job in jobs} == decoded


def test_several_records_in_one_message_give_several_jobs(world: World) -> None:
    body = notification_body(*(notification_record(f"multi/{index}.csv") for index in range(3)))
    world.submitter().handle(sqs_event(body))
    assert sorted(job["parameters"]["key"] for job in world.jobs()) == [f"multi/{i}.csv" for i in range(3)]


def test_the_same_event_twice_in_one_batch_submits_once(world: World) -> None:
    metrics = MetricsRecorder()
    body = eventbridge_body("dup.csv")
    response = world.submitter(metrics=metrics).handle(sqs_event(body, body))
    assert response["batchItemFailures"] == []
    assert len(world.jobs()) == 1
    assert metrics.values["DuplicatesSkipped"] == 1 and metrics.values["JobsSubmitted"] == 1


def test_the_same_event_in_two_invocations_submits_once(world: World) -> None:
    body = notification_body(notification_record("again.csv"))
    first = world.submitter().handle(sqs_event(body, ids=["first"]))
    metrics = MetricsRecorder()
    second = world.submitter(metrics=metrics).handle(sqs_event(body, ids=["redelivered"]))
    assert first["batchItemFailures"] == second["batchItemFailures"] == []
    assert len(world.jobs()) == 1
    assert metrics.values["DuplicatesSkipped"] == 1 and metrics.values["JobsSubmitted"] == 0


def test_a_new_version_of_the_same_key_is_a_new_job(world: World) -> None:
    submitter = world.submitter()
    submitter.handle(sqs_event(eventbridge_body("same.csv", version="v1")))
    submitter.handle(sqs_event(eventbridge_body("same.csv", version="v2")))
    assert sorted(job["parameters"]["version"] for job in world.jobs()) == ["v1", "v2"]


def test_mixed_batch_reports_exactly_the_bad_records(world: World) -> None:
    bodies = {
        "good-1": eventbridge_body("good/1.csv"),
        "not-json": "this is not json",
        "good-2": notification_body(notification_record("good/2.csv")),
        "not-s3": json.dumps({"detail-type": "Scheduled Event", "source": "aws.events"}),
        "too-long": eventbridge_body("k" * 1025),
        "test-event": json.dumps(load_event("s3/test-event.json")),
        "folder": eventbridge_body("folder/", size=0),
        "empty": notification_body(notification_record("empty.txt", size=0)),
        "half-bad": notification_body(notification_record("good/3.csv"), notification_record("é" * 600)),
    }
    metrics = MetricsRecorder()
    logs = LogCapture()
    response = world.submitter(metrics=metrics, logger=logs.logger).handle(
        sqs_event(*bodies.values(), ids=bodies)
    )
    assert sorted(failed_ids(response)) == ["half-bad", "not-json", "not-s3", "too-long"]
    assert sorted(job["parameters"]["key"] for job in world.jobs()) == [
        "good/1.csv",
        "good/2.csv",
        "good/3.csv",
    ]
    assert metrics.values == {
        "ObjectsAccepted": 3,
        "JobsSubmitted": 3,
        "JobsRecovered": 0,
        "DuplicatesSkipped": 0,
        "RecordsFailed": 4,
        "RecordsDeferred": 0,
        "RecordsSkipped": 3,
    }
    failed = logs.by_message("record failed")
    skipped = logs.by_message("record skipped")
    assert sorted(failed) == ["half-bad", "not-json", "not-s3", "too-long"]
    assert "not JSON" in failed["not-json"] and "1200 bytes" in failed["half-bad"]
    assert sorted(skipped) == ["empty", "folder", "test-event"]
    assert all(line["level"] == "WARNING" for line in logs.lines() if line["message"] == "record failed")


def test_a_batch_of_only_bad_records_returns_all_of_them(world: World) -> None:
    response = world.submitter().handle(sqs_event("nope", "{}", ids=["a", "b"]))
    assert sorted(failed_ids(response)) == ["a", "b"]


def test_empty_objects_are_submitted_when_skip_empty_objects_is_false(world: World) -> None:
    response = world.submitter(SKIP_EMPTY_OBJECTS="false").handle(
        sqs_event(eventbridge_body("empty.txt", size=0), eventbridge_body("dir/", size=0))
    )
    assert response["batchItemFailures"] == []
    assert [job["parameters"]["key"] for job in world.jobs()] == ["empty.txt"]


def throttled_batch_client() -> object:
    """A Batch client with the submitter's retry configuration, on an endpoint moto does not serve.

    Throttle answers every attempt; botocore's retry logic runs for real on those answers.
    """
    return boto3.client(
        "batch",
        region_name=REGION,
        config=BATCH_CLIENT_CONFIG,
        endpoint_url="https://batch.throttled.invalid",
    )


@pytest.mark.usefixtures("no_retry_delay")
def test_throttled_submissions_are_retried_then_reported_and_released(world: World) -> None:
    batch = throttled_batch_client()
    throttle = Throttle(batch)
    metrics = MetricsRecorder()
    submitter = world.submitter(metrics=metrics, clients=world.clients(batch=batch))
    event = sqs_event(eventbridge_body("t/1.csv"), eventbridge_body("t/2.csv"), ids=["one", "two"])

    response = submitter.handle(event)

    assert sorted(failed_ids(response)) == ["one", "two"]
    assert throttle.attempts == 2 * BATCH_TOTAL_ATTEMPTS  # each retried by botocore
    assert metrics.values["RecordsFailed"] == 2 and metrics.values["JobsSubmitted"] == 0
    assert world.jobs() == []
    assert world.idempotency_items() == []  # released, so the SQS retry can submit

    retry = world.submitter().handle(event)  # the SQS redelivery, throttling over
    assert retry["batchItemFailures"] == []
    assert sorted(job["parameters"]["key"] for job in world.jobs()) == ["t/1.csv", "t/2.csv"]


@pytest.mark.usefixtures("no_retry_delay")
def test_server_errors_are_reported_not_lost(world: World) -> None:
    batch = throttled_batch_client()
    Throttle(batch, code="ServerException", status=500)
    response = world.submitter(clients=world.clients(batch=batch)).handle(
        sqs_event(eventbridge_body("x.csv"), json.dumps(load_event("s3/test-event.json")), ids=["x", "test"])
    )
    assert failed_ids(response) == ["x"]


def test_an_in_flight_duplicate_is_not_submitted_and_is_retried_later(world: World) -> None:
    body = eventbridge_body("busy.csv")
    entry = ManifestEntry(bucket=INPUT_BUCKET, key="busy.csv", size=2048)
    submitter = world.submitter()
    # Another invocation claimed this very event and has not finished.
    other = Ledger(world.dynamodb, TABLE, ttl_seconds=3600, owner="another-invocation")
    from cdk_batchkit.lambdas.submitter.core import job_name, parse_body

    (entry,) = parse_body(body).entries
    (claimed,) = other.claim([entry], [job_name(entry)], remaining_ms=60_000)
    assert claimed == Claimed(Claim.NEW)

    response = submitter.handle(sqs_event(body, ids=["busy"]))
    assert failed_ids(response) == ["busy"]
    assert world.jobs() == []

    other.record_job(job_name(entry), {"jobId": "from-the-other-invocation"})
    metrics = MetricsRecorder()
    retry = world.submitter(metrics=metrics).handle(sqs_event(body, ids=["busy"]))
    assert retry["batchItemFailures"] == [] and world.jobs() == []
    assert metrics.values["DuplicatesSkipped"] == 1


def test_a_record_left_in_progress_by_a_crashed_invocation_is_claimed_again(world: World) -> None:
    from cdk_batchkit.lambdas.submitter.core import job_name, parse_body

    body = eventbridge_body("crashed.csv")
    (entry,) = parse_body(body).entries
    crashed = Ledger(world.dynamodb, TABLE, ttl_seconds=3600, owner="crashed-invocation")
    crashed.claim([entry], [job_name(entry)], remaining_ms=-1000)  # its invocation deadline has passed
    world.calls.clear()
    response = world.submitter().handle(sqs_event(body))
    calls = list(world.calls)
    assert response["batchItemFailures"] == []
    assert len(world.jobs()) == 1
    # Orphaned: its job was looked up (not there), the claim taken over, the object submitted.
    assert calls == [
        "dynamodb:PutItem",
        "dynamodb:GetItem",
        "batch:ListJobs",
        "dynamodb:PutItem",
        "batch:SubmitJob",
        "dynamodb:PutItem",
    ]


def test_rate_cap_spaces_submissions_with_an_injected_clock(world: World) -> None:
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    submitter = world.submitter(MAX_SUBMITS_PER_SECOND="2", clock=lambda: now[0], sleep=sleep)
    submitter.handle(sqs_event(*(eventbridge_body(f"r/{index}.csv") for index in range(5))))
    assert len(world.jobs()) == 5
    assert sleeps == pytest.approx([0.5] * 4)
