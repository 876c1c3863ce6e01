"""Keys that read differently decoded and raw are resolved against S3, never guessed (issue 10, item 9).

S3 documents URL-encoded keys for classic notifications only; for EventBridge events it says nothing.
A key with ``+`` or ``%`` in an EventBridge event is therefore checked with HeadObject under both
readings and matched by version id or ETag; an unresolvable key is reported failed, not submitted.
"""

from __future__ import annotations

import json

import pytest

from tests.handlers.faults import object_records, stored_object_body
from tests.handlers.support import (
    LogCapture,
    World,
    eventbridge_body,
    failed_ids,
    notification_body,
    notification_record,
    sqs_event,
)
from tests.handlers.test_faults import keys_of

MODES = ["PER_OBJECT", "ARRAY"]


@pytest.mark.parametrize("mode", MODES)
def test_a_key_sent_raw_is_not_decoded_into_another_object(world: World, mode: str) -> None:
    # The object is really named "a+b.csv" and the event carries it as is (as a real event has shown).
    body = stored_object_body(world, "raw/a+b.csv", sent="raw/a+b.csv")
    world.calls.clear()
    response = world.submitter(SUBMIT_MODE=mode).handle(sqs_event(body))
    assert response["batchItemFailures"] == []
    assert world.calls.count("s3:HeadObject") == 2  # both readings checked
    assert keys_of(world) == ["raw/a+b.csv"]  # not "raw/a b.csv"


@pytest.mark.parametrize("mode", MODES)
def test_a_key_sent_encoded_is_decoded(world: World, mode: str) -> None:
    body = stored_object_body(world, "enc/a b+c.csv")  # sent as enc/a+b%2Bc.csv
    assert world.submitter(SUBMIT_MODE=mode).handle(sqs_event(body))["batchItemFailures"] == []
    assert keys_of(world) == ["enc/a b+c.csv"]


def test_when_both_readings_exist_the_etag_picks_the_object(world: World) -> None:
    stored_object_body(world, "both/x y.csv", content=b"the other object")
    body = stored_object_body(world, "both/x+y.csv", sent="both/x+y.csv", content=b"this one")
    assert world.submitter().handle(sqs_event(body))["batchItemFailures"] == []
    assert keys_of(world) == ["both/x+y.csv"]


def test_in_a_versioned_bucket_the_version_id_picks_the_object(world: World) -> None:
    stored_object_body(world, "v/x y.csv", versioned=True)
    body = stored_object_body(world, "v/x+y.csv", sent="v/x+y.csv", versioned=True)
    world.calls.clear()
    assert world.submitter().handle(sqs_event(body))["batchItemFailures"] == []
    (job,) = world.jobs()
    assert job["parameters"]["key"] == "v/x+y.csv"
    assert job["parameters"]["version"] == json.loads(body)["detail"]["object"]["version-id"]


@pytest.mark.parametrize("mode", MODES)
def test_an_unresolvable_key_is_reported_not_submitted(world: World, mode: str) -> None:
    logs = LogCapture()
    bodies = {
        "missing": eventbridge_body("gone/a b.csv"),  # no object under either reading
        "fine": eventbridge_body("fine.csv"),
    }
    response = world.submitter(SUBMIT_MODE=mode, logger=logs.logger).handle(
        sqs_event(*bodies.values(), ids=bodies)
    )
    assert failed_ids(response) == ["missing"]  # SQS retries it, then dead-letters it
    assert keys_of(world) == ["fine.csv"]
    reason = logs.by_message("record failed")["missing"]
    assert "'gone/a b.csv' decoded and 'gone/a+b.csv' as sent" in reason and "not submitted" in reason
    assert len(object_records(world)) == 1  # only fine.csv was claimed


def test_the_same_content_under_both_readings_is_ambiguous_and_reported(world: World) -> None:
    stored_object_body(world, "twin/x y.csv", content=b"same")
    body = stored_object_body(world, "twin/x+y.csv", sent="twin/x+y.csv", content=b"same")
    response = world.submitter().handle(sqs_event(body, ids=["twin"]))
    assert failed_ids(response) == ["twin"] and world.jobs() == []


def test_classic_notifications_are_decoded_as_documented_without_a_lookup(world: World) -> None:
    world.calls.clear()
    response = world.submitter().handle(sqs_event(notification_body(notification_record("doc/a b.csv"))))
    assert response["batchItemFailures"] == [] and "s3:HeadObject" not in world.calls
    assert keys_of(world) == ["doc/a b.csv"]


def test_plain_keys_need_no_lookup(world: World) -> None:
    world.calls.clear()
    world.submitter().handle(sqs_event(eventbridge_body("plain/a-b_c.csv")))
    assert "s3:HeadObject" not in world.calls
