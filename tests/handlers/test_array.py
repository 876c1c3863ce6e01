"""ARRAY mode against moto: one array job per SQS batch with a JSON-lines manifest, exactly once."""

from __future__ import annotations

import json
from urllib.parse import unquote_plus

import pytest

from cdk_batchkit.lambdas.submitter.core import parse_body
from cdk_batchkit.lambdas.submitter.idempotency import Ledger
from cdk_batchkit.lambdas.submitter.manifest import ENV_KEY, ENV_MANIFEST
from tests.handlers.faults import stored_object_body
from tests.handlers.support import (
    INPUT_BUCKET,
    MANIFEST_BUCKET,
    MANIFEST_PREFIX,
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
from tests.handlers.test_per_object import throttled_batch_client


def array_submitter(world: World, **kwargs):  # type: ignore[no-untyped-def]
    return world.submitter(SUBMIT_MODE="ARRAY", **kwargs)


def test_many_objects_become_one_array_job_with_a_manifest_in_order(world: World) -> None:
    keys = [f"batch/{index:03}.csv" for index in range(25)]
    bodies = [
        eventbridge_body(key, size=index + 1)
        if index % 2
        else notification_body(notification_record(key, size=index + 1))
        for index, key in enumerate(keys)
    ]
    metrics = MetricsRecorder()
    world.calls.clear()
    response = array_submitter(world, metrics=metrics).handle(sqs_event(*bodies), FakeContext())
    assert response == {"batchItemFailures": []}
    assert world.calls.count("batch:SubmitJob") == 1 and world.calls.count("s3:PutObject") == 1
    assert not any(call.startswith("s3:Get") or call.startswith("s3:Head") for call in world.calls)

    (job,) = world.jobs()
    assert job["arrayProperties"]["size"] == 25
    uri = job["parameters"]["manifest"]
    assert job["parameters"]["count"] == "25"
    assert environment_of(job)[ENV_MANIFEST] == uri
    assert uri == f"s3://{MANIFEST_BUCKET}/{MANIFEST_PREFIX}{job['jobName']}.jsonl"
    lines = world.manifest_lines(uri)
    assert [line["key"] for line in lines] == keys
    assert [line["size"] for line in lines] == list(range(1, 26))
    assert all(line["bucket"] == INPUT_BUCKET and line["version_id"] == "v1" for line in lines)
    assert metrics.values == {
        "ObjectsAccepted": 25,
        "JobsSubmitted": 1,
        "JobsRecovered": 0,
        "DuplicatesSkipped": 0,
        "RecordsFailed": 0,
        "RecordsDeferred": 0,
        "RecordsSkipped": 0,
    }


def test_a_batch_of_one_object_becomes_a_plain_job_with_a_one_line_manifest(world: World) -> None:
    array_submitter(world).handle(
        sqs_event(stored_object_body(world, "solo file.csv"), json.dumps(load_event("s3/test-event.json")))
    )
    (job,) = world.jobs()
    assert "arrayProperties" not in job
    assert job["parameters"]["key"] == "solo file.csv" and job["parameters"]["count"] == "1"
    env = environment_of(job)
    assert env[ENV_KEY] == "solo file.csv"
    assert [line["key"] for line in world.manifest_lines(env[ENV_MANIFEST])] == ["solo file.csv"]


def test_a_batch_with_nothing_to_submit_makes_no_batch_call(world: World) -> None:
    world.calls.clear()
    response = array_submitter(world).handle(sqs_event(json.dumps(load_event("s3/test-event.json"))))
    assert response["batchItemFailures"] == [] and world.calls == []


@pytest.mark.parametrize("shape", ["eventbridge", "notification"])
def test_encoded_keys_are_decoded_once_in_the_manifest(world: World, shape: str) -> None:
    raw = ["a+b.csv", "a%2Bb.csv", "%E6%97%A5%E6%9C%AC/%C3%A9t%C3%A9+2026.txt"]
    if shape == "eventbridge":
        # Resolved against S3 (EventBridge's key encoding is undocumented): the objects exist.
        bodies = [stored_object_body(world, unquote_plus(key), sent=key, content=key.encode()) for key in raw]
    else:
        bodies = [notification_body(notification_record(key, encoded=True)) for key in raw]
    array_submitter(world).handle(sqs_event(*bodies))
    (job,) = world.jobs()
    lines = world.manifest_lines(job["parameters"]["manifest"])
    assert [line["key"] for line in lines] == ["a b.csv", "a+b.csv", "日本/été 2026.txt"]


def test_duplicates_in_a_batch_and_across_batches_submit_once(world: World) -> None:
    first_metrics = MetricsRecorder()
    a, b = eventbridge_body("a.csv"), eventbridge_body("b.csv")
    response = array_submitter(world, metrics=first_metrics).handle(sqs_event(a, b, a, ids=["1", "2", "3"]))
    assert response["batchItemFailures"] == []
    (job,) = world.jobs()
    assert job["arrayProperties"]["size"] == 2
    assert first_metrics.values["DuplicatesSkipped"] == 1 and first_metrics.values["ObjectsAccepted"] == 2

    metrics = MetricsRecorder()
    c = notification_body(notification_record("c.csv"))
    again = array_submitter(world, metrics=metrics).handle(sqs_event(b, c, a, ids=["4", "5", "6"]))
    assert again["batchItemFailures"] == []
    jobs = world.jobs()
    assert len(jobs) == 2
    (plain,) = [job for job in jobs if "arrayProperties" not in job]
    assert plain["parameters"]["key"] == "c.csv"  # only the new object
    assert metrics.values["DuplicatesSkipped"] == 2 and metrics.values["JobsSubmitted"] == 1


def test_mixed_batch_reports_exactly_the_bad_records_and_submits_the_rest(world: World) -> None:
    bodies = {
        "good-1": eventbridge_body("g/1.csv"),
        "not-json": "{oops",
        "not-s3": json.dumps({"Records": [{"eventSource": "aws:dynamodb"}]}),
        "good-2": notification_body(notification_record("g/2.csv")),
        "too-long": notification_body(notification_record("ü" * 513)),
        "test-event": json.dumps(load_event("s3/test-event.json")),
        "folder": eventbridge_body("g/", size=0),
        "empty": eventbridge_body("g/empty", size=0),
        "good-3": eventbridge_body("g/3.csv"),
    }
    logs = LogCapture()
    metrics = MetricsRecorder()
    response = array_submitter(world, metrics=metrics, logger=logs.logger).handle(
        sqs_event(*bodies.values(), ids=bodies)
    )
    assert sorted(failed_ids(response)) == ["not-json", "not-s3", "too-long"]
    (job,) = world.jobs()
    assert [line["key"] for line in world.manifest_lines(job["parameters"]["manifest"])] == [
        "g/1.csv",
        "g/2.csv",
        "g/3.csv",
    ]
    assert sorted(logs.by_message("record failed")) == ["not-json", "not-s3", "too-long"]
    assert sorted(logs.by_message("record skipped")) == ["empty", "folder", "test-event"]
    assert metrics.values["RecordsFailed"] == 3 and metrics.values["RecordsSkipped"] == 3


@pytest.mark.usefixtures("no_retry_delay")
def test_a_throttled_array_submission_fails_every_record_of_the_array_and_releases_them(world: World) -> None:
    batch = throttled_batch_client()
    throttle = Throttle(batch)
    metrics = MetricsRecorder()
    bodies = {f"m{index}": eventbridge_body(f"t/{index}.csv") for index in range(4)}
    bodies["skip"] = json.dumps(load_event("s3/test-event.json"))
    bodies["m0-again"] = bodies["m0"]
    event = sqs_event(*bodies.values(), ids=bodies)
    response = array_submitter(world, metrics=metrics, clients=world.clients(batch=batch)).handle(event)
    assert sorted(failed_ids(response)) == ["m0", "m0-again", "m1", "m2", "m3"]
    assert throttle.attempts > 1
    assert metrics.values["RecordsFailed"] == 5 and metrics.values["JobsSubmitted"] == 0
    assert world.idempotency_items() == []

    retry = array_submitter(world).handle(event)
    assert retry["batchItemFailures"] == []
    (job,) = world.jobs()
    assert job["arrayProperties"]["size"] == 4


def test_an_in_flight_duplicate_fails_only_its_record(world: World) -> None:
    busy = eventbridge_body("busy.csv")
    (entry,) = parse_body(busy).entries
    other = Ledger(world.dynamodb, TABLE, ttl_seconds=3600, owner="another-invocation")
    other.claim([entry], ["array-other-0"], remaining_ms=60_000)
    response = array_submitter(world).handle(
        sqs_event(
            busy, eventbridge_body("free-1.csv"), eventbridge_body("free-2.csv"), ids=["busy", "f1", "f2"]
        )
    )
    assert failed_ids(response) == ["busy"]
    (job,) = world.jobs()
    assert [line["key"] for line in world.manifest_lines(job["parameters"]["manifest"])] == [
        "free-1.csv",
        "free-2.csv",
    ]


def test_the_same_batch_delivered_again_is_all_duplicates(world: World) -> None:
    event = sqs_event(*(eventbridge_body(f"r/{index}.csv") for index in range(5)))
    array_submitter(world).handle(event)
    metrics = MetricsRecorder()
    world.calls.clear()
    response = array_submitter(world, metrics=metrics).handle(event)
    assert response["batchItemFailures"] == []
    assert len(world.jobs()) == 1
    assert "batch:SubmitJob" not in world.calls
    assert metrics.values["DuplicatesSkipped"] == 5
