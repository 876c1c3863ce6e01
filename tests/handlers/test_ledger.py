"""The idempotency ledger (moto): batched claims and their per-item fallback, keys independent of the
function's name, stale and orphaned records, releases, and the previous version's records."""

from __future__ import annotations

import time
from typing import Any

import pytest

from cdk_batchkit.lambdas.submitter.core import chunk_job_name, job_name, parse_body
from cdk_batchkit.lambdas.submitter.idempotency import (
    EXPIRY_ATTR,
    OWNER_ATTR,
    Claim,
    Claimed,
    Ledger,
    legacy_key,
    object_key,
)
from cdk_batchkit.lambdas.submitter.manifest import ManifestEntry
from tests.handlers.faults import FailingCalls, client, job_records, object_records, statuses
from tests.handlers.support import (
    TABLE,
    MetricsRecorder,
    World,
    eventbridge_body,
    failed_ids,
    sqs_event,
)


def entries(*keys: str) -> list[ManifestEntry]:
    return [parse_body(eventbridge_body(key)).entries[0] for key in keys]


def ledger(world: World, owner: str, **kwargs: Any) -> Ledger:
    return Ledger(world.dynamodb, TABLE, ttl_seconds=3600, owner=owner, **kwargs)


# -- the key -----------------------------------------------------------------------------------------


def test_duplicates_are_found_whatever_the_function_is_called(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: the key embedded AWS_LAMBDA_FUNCTION_NAME, so a renamed or replaced function submitted
    # every redelivered event again.
    body = eventbridge_body("renamed.csv")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "stack-SubmitterFunction-OLD")
    world.submitter().handle(sqs_event(body))
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "stack-SubmitterFunction-NEW")
    metrics = MetricsRecorder()
    assert world.submitter(metrics=metrics).handle(sqs_event(body))["batchItemFailures"] == []
    assert len(world.jobs()) == 1 and metrics.values["DuplicatesSkipped"] == 1
    (record,) = object_records(world)
    assert record["id"]["S"] == object_key(parse_body(body).entries[0])
    assert "Function" not in record["id"]["S"]


def test_the_key_is_the_event_identity_only() -> None:
    (entry,) = entries("k.csv")
    same = ManifestEntry(
        bucket=entry.bucket, key=entry.key, size=1, version_id=entry.version_id, sequencer=entry.sequencer
    )
    assert object_key(entry) == object_key(same)  # size, time, ETag beside a version id: not identity
    other = ManifestEntry(bucket=entry.bucket, key=entry.key, size=1, etag="e", sequencer="00B2")
    assert object_key(other) != object_key(
        ManifestEntry(bucket=entry.bucket, key=entry.key, size=1, etag="e", sequencer="00A1")
    )


# -- batched claims ----------------------------------------------------------------------------------


def test_a_transaction_with_conflicts_is_sent_again_without_them(world: World) -> None:
    objects = entries(*(f"mix/{index:03}.csv" for index in range(150)))
    busy, done = objects[10], objects[120]
    ledger(world, "other").claim([busy], ["array-other-0"], remaining_ms=60_000)  # live, job not recorded
    older = ledger(world, "older")
    older.claim([done], ["array-done-0"], remaining_ms=-1000)  # its lease is over, and its job recorded
    older.record_job("array-done-0", {"jobId": "j"})
    world.calls.clear()
    names = [chunk_job_name("mine", 0)] * len(objects)
    claims = ledger(world, "mine").claim(objects, names, remaining_ms=60_000)
    assert claims[10] == Claimed(Claim.IN_FLIGHT) and claims[120] == Claimed(Claim.DONE)
    assert [index for index, c in enumerate(claims) if c != Claimed(Claim.NEW)] == [10, 120]
    # 100 + 50 cancelled (one conflict each), then the other 148 written in two; a GetItem per conflict:
    # is the job its record names recorded?
    assert world.calls.count("dynamodb:TransactWriteItems") == 4
    assert world.calls.count("dynamodb:GetItem") == 2
    owners = {item[OWNER_ATTR]["S"] for item in object_records(world)}
    assert owners == {"mine", "other", "older"}


def test_a_redelivered_batch_reads_its_job_record_once(world: World) -> None:
    event = sqs_event(*(eventbridge_body(f"again/{index:03}.csv") for index in range(150)))
    world.submitter(SUBMIT_MODE="ARRAY").handle(event)
    world.calls.clear()
    metrics = MetricsRecorder()
    assert world.submitter(SUBMIT_MODE="ARRAY", metrics=metrics).handle(event)["batchItemFailures"] == []
    assert metrics.values["DuplicatesSkipped"] == 150 and len(world.jobs()) == 1
    assert world.calls.count("dynamodb:GetItem") == 1  # one job, one read
    assert world.calls.count("dynamodb:TransactWriteItems") == 2  # every claim conflicted: no write


def test_one_claim_is_a_conditional_put_item(world: World) -> None:
    world.calls.clear()
    (entry,) = entries("one.csv")
    assert ledger(world, "me").claim([entry], [job_name(entry)], 60_000) == [Claimed(Claim.NEW)]
    assert world.calls == ["dynamodb:PutItem"]  # one write unit, not a transaction's two


def test_a_retried_claim_whose_first_attempt_landed_is_ours(world: World) -> None:
    (entry,) = entries("retried.csv")
    mine = ledger(world, "me")
    assert mine.claim([entry], ["n"], 60_000) == [Claimed(Claim.NEW)]
    # The SDK resent it (the first response was lost): the conflicting record is our own claim.
    assert mine.claim([entry], ["n"], 60_000) == [Claimed(Claim.NEW)]
    assert ledger(world, "someone-else").claim([entry], ["m"], 60_000) == [Claimed(Claim.IN_FLIGHT)]


def test_a_record_past_its_ttl_is_claimed_again(world: World) -> None:
    (entry,) = entries("old.csv")
    ledger(world, "long-ago").claim([entry], ["n"], 60_000)
    world.dynamodb.update_item(
        TableName=TABLE,
        Key={"id": {"S": object_key(entry)}},
        UpdateExpression="SET #e = :past",
        ExpressionAttributeNames={"#e": EXPIRY_ATTR},
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 10)}},
    )
    assert ledger(world, "now").claim([entry], ["m"], 60_000) == [Claimed(Claim.NEW)]
    (record,) = object_records(world)
    assert record[OWNER_ATTR]["S"] == "now"


def test_an_orphan_is_taken_over_by_one_invocation_only(world: World) -> None:
    (entry,) = entries("orphan.csv")
    ledger(world, "dead").claim([entry], ["array-dead-0"], remaining_ms=-1000)
    (first,) = ledger(world, "a").claim([entry], ["array-a-0"], 60_000)
    assert first == Claimed(Claim.ORPHANED, "array-dead-0")
    assert ledger(world, "a").take_over([entry], "array-dead-0", ["array-a-0"], 60_000) == [
        Claimed(Claim.NEW)
    ]
    # A second invocation that also found it orphaned (and the job missing) loses the race.
    assert ledger(world, "b").take_over([entry], "array-dead-0", ["array-b-0"], 60_000) == [
        Claimed(Claim.IN_FLIGHT)
    ]


def test_release_deletes_only_this_invocations_claims(world: World) -> None:
    mine_entry, theirs_entry = entries("mine.csv", "theirs.csv")
    ledger(world, "me").claim([mine_entry], ["n"], 60_000)
    ledger(world, "them").claim([theirs_entry], ["m"], 60_000)
    assert ledger(world, "me").release([mine_entry, theirs_entry]) == [None, None]
    assert [item[OWNER_ATTR]["S"] for item in object_records(world)] == ["them"]


def test_a_claim_store_error_fails_only_the_records_and_submits_nothing(world: World) -> None:
    dynamodb = client(world, "dynamodb")
    FailingCalls(dynamodb, "TransactWriteItems", code="InternalServerError", status=500)
    bodies = [eventbridge_body(f"err/{index}.csv") for index in range(3)]
    response = world.submitter(SUBMIT_MODE="ARRAY", clients=world.clients(dynamodb=dynamodb)).handle(
        sqs_event(*bodies, ids=["0", "1", "2"])
    )
    assert sorted(failed_ids(response)) == ["0", "1", "2"] and world.jobs() == []
    assert world.submitter(SUBMIT_MODE="ARRAY").handle(sqs_event(*bodies))["batchItemFailures"] == []
    assert len(world.jobs()) == 1 and statuses(world) == ["done"] * 3


def test_the_job_record_holds_the_job(world: World) -> None:
    bodies = [eventbridge_body(f"rec/{index}.csv") for index in range(3)]
    world.submitter(SUBMIT_MODE="ARRAY").handle(sqs_event(*bodies))
    (job,) = world.jobs()
    assert job_records(world) == {
        job["jobName"]: {"jobId": job["jobId"], "jobName": job["jobName"], "objects": 3}
    }


# -- records of the previous version (Powertools' idempotency utility, keyed on the function name) ---


def powertools_record(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    entry: ManifestEntry,
    *,
    status: str,
    job: str | None = None,
) -> None:
    """The record the previous version wrote for ``entry``, written by Powertools itself."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig

    from cdk_batchkit.lambdas.submitter.core import idempotency_data

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "stack-Submitter-OLD")
    layer = DynamoDBPersistenceLayer(table_name=TABLE, boto3_client=world.dynamodb)
    layer.configure(IdempotencyConfig(expires_after_seconds=3600), function_name="submitter.submit")
    data = idempotency_data(entry)
    layer.save_inprogress(data=data, remaining_time_in_millis=60_000 if status == "live" else -1000)
    key = legacy_key(entry, "stack-Submitter-OLD")
    assert world.dynamodb.get_item(TableName=TABLE, Key={"id": {"S": key}}).get("Item")  # the same key
    if status == "COMPLETED":
        layer.save_success(data=data, result={"jobId": "old"})
    if job:
        world.dynamodb.update_item(
            TableName=TABLE,
            Key={"id": {"S": key}},
            UpdateExpression="SET job_name = :job",
            ExpressionAttributeValues={":job": {"S": job}},
        )
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "stack-Submitter-NEW")


@pytest.mark.parametrize("mode", ["PER_OBJECT", "ARRAY"])
def test_the_previous_versions_completed_records_are_honoured_when_asked(
    world: World, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    body = eventbridge_body("upgraded.csv")
    powertools_record(world, monkeypatch, parse_body(body).entries[0], status="COMPLETED")
    metrics = MetricsRecorder()
    submitter = world.submitter(
        SUBMIT_MODE=mode, metrics=metrics, LEGACY_IDEMPOTENCY_FUNCTION="stack-Submitter-OLD"
    )
    assert submitter.handle(sqs_event(body))["batchItemFailures"] == []
    assert world.jobs() == [] and metrics.values["DuplicatesSkipped"] == 1
    # Without the variable the old record is not consulted: the event is submitted (once).
    world.submitter(SUBMIT_MODE=mode).handle(sqs_event(body))
    assert len(world.jobs()) == 1


def test_the_previous_versions_live_claim_is_in_flight(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    body = eventbridge_body("old-live.csv")
    powertools_record(world, monkeypatch, parse_body(body).entries[0], status="live")
    response = world.submitter(LEGACY_IDEMPOTENCY_FUNCTION="stack-Submitter-OLD").handle(
        sqs_event(body, ids=["x"])
    )
    assert failed_ids(response) == ["x"] and world.jobs() == []


@pytest.mark.parametrize("mode", ["PER_OBJECT", "ARRAY"])
def test_the_previous_versions_orphan_is_looked_up_by_the_name_it_recorded(
    world: World, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    found, missing = eventbridge_body("old-found.csv"), eventbridge_body("old-missing.csv")
    world.batch.submit_job(jobName="old-job-1", jobQueue=world.queue_arn, jobDefinition=world.definition_arn)
    powertools_record(world, monkeypatch, parse_body(found).entries[0], status="expired", job="old-job-1")
    powertools_record(world, monkeypatch, parse_body(missing).entries[0], status="expired", job="old-job-2")
    metrics = MetricsRecorder()
    submitter = world.submitter(
        SUBMIT_MODE=mode, metrics=metrics, LEGACY_IDEMPOTENCY_FUNCTION="stack-Submitter-OLD"
    )
    assert submitter.handle(sqs_event(found, missing))["batchItemFailures"] == []
    assert metrics.values["JobsRecovered"] == 1 and metrics.values["JobsSubmitted"] == 1
    assert len(world.jobs()) == 2  # old-job-1, and a new one for the object whose job never ran
