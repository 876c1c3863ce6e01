"""Exactly once under faults (moto-backed): crashes, lost responses, failed completions, deadlines, SNS.

Each test fails on the submitter before issue 11: a crash between SubmitJob and completion gave a
second job on redelivery, a lost SubmitJob response gave two jobs, a failed completion made the
sibling copy of the event fail, and the handler kept submitting past its deadline.
"""

from __future__ import annotations

import json

import pytest

from cdk_batchkit.lambdas.submitter.idempotency import JOB_NAME_ATTR
from cdk_batchkit.lambdas.submitter.runtime import BATCH_CLIENT_CONFIG
from tests.handlers.faults import (
    ClockContext,
    Crash,
    FailingCalls,
    LostResponse,
    ServerErrorAfterCreating,
    client,
    crash_before_job_record,
    crash_on,
    expire_claims,
    job_records,
    object_records,
    slow,
    sns_envelope,
    statuses,
    writes_job_record,
)
from tests.handlers.support import (
    FakeClock,
    FakeContext,
    LogCapture,
    MetricsRecorder,
    World,
    eventbridge_body,
    failed_ids,
    load_event,
    notification_body,
    notification_record,
    sqs_event,
)

MODES = ["PER_OBJECT", "ARRAY"]


def keys_of(world: World) -> list[str]:
    """The object keys of every job in the queue (array jobs: their manifest lines), sorted."""
    keys: list[str] = []
    for job in world.jobs():
        if "manifest" in job["parameters"]:
            keys.extend(line["key"] for line in world.manifest_lines(job["parameters"]["manifest"]))
        else:
            keys.append(job["parameters"]["key"])
    return sorted(keys)


# -- 1. crash between SubmitJob and the job record, then redelivery --------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_crash_after_submit_then_redelivery_finds_the_job_instead_of_submitting(
    world: World, mode: str
) -> None:
    crashing = client(world, "dynamodb")
    crash_before_job_record(crashing)  # killed right after SubmitJob, before the job is recorded
    a, b, c = (eventbridge_body(f"crash/{name}.csv") for name in "abc")
    with pytest.raises(Crash):
        world.submitter(SUBMIT_MODE=mode, clients=world.clients(dynamodb=crashing)).handle(
            sqs_event(a, b, ids=["a", "b"]), FakeContext()
        )
    assert keys_of(world) == ["crash/a.csv"] if mode == "PER_OBJECT" else ["crash/a.csv", "crash/b.csv"]
    jobs_before = len(world.jobs())

    # The dead invocation's deadline passes; SQS redelivers (in another batch, with a new object).
    assert expire_claims(world) == (1 if mode == "PER_OBJECT" else 2)
    metrics = MetricsRecorder()
    world.calls.clear()
    response = world.submitter(SUBMIT_MODE=mode, metrics=metrics).handle(
        sqs_event(b, c, a, ids=["b", "c", "a"]), FakeContext()
    )

    assert response["batchItemFailures"] == []
    assert keys_of(world) == ["crash/a.csv", "crash/b.csv", "crash/c.csv"]  # each object exactly once
    assert "batch:ListJobs" in world.calls
    assert statuses(world) == ["done"] * 3
    if mode == "PER_OBJECT":
        # a was submitted, then found by name; b (never reached) and c are submitted now.
        assert metrics.values["JobsRecovered"] == 1 and metrics.values["JobsSubmitted"] == 2
        assert len(world.jobs()) == jobs_before + 2
    else:
        # One array held a and b: found by the name their claims recorded; c is a new job.
        assert metrics.values["JobsRecovered"] == 1 and metrics.values["JobsSubmitted"] == 1
        assert len(world.jobs()) == jobs_before + 1


def test_the_normal_path_makes_no_lookup(world: World) -> None:
    world.calls.clear()
    world.submitter().handle(sqs_event(eventbridge_body("plain.csv")), FakeContext())
    # One conditional PutItem claims, one SubmitJob, one PutItem records the job.
    assert world.calls == ["dynamodb:PutItem", "batch:SubmitJob", "dynamodb:PutItem"]


def test_the_normal_array_path_makes_one_transaction_of_claims_per_100_objects(world: World) -> None:
    world.calls.clear()
    bodies = [eventbridge_body(f"t/{index:03}.csv") for index in range(250)]
    assert world.submitter(SUBMIT_MODE="ARRAY").handle(sqs_event(*bodies))["batchItemFailures"] == []
    assert world.calls == [
        "dynamodb:TransactWriteItems",
        "dynamodb:TransactWriteItems",
        "dynamodb:TransactWriteItems",
        "s3:PutObject",
        "batch:SubmitJob",
        "dynamodb:PutItem",
    ]
    assert statuses(world) == ["done"] * 250 and len(job_records(world)) == 1


def test_a_reclaim_whose_job_was_never_submitted_submits_it(world: World) -> None:
    crashing = client(world, "batch")
    crash_on(crashing, "SubmitJob")  # killed after the claim, before SubmitJob
    body = eventbridge_body("never.csv")
    with pytest.raises(Crash):
        world.submitter(clients=world.clients(batch=crashing)).handle(sqs_event(body), FakeContext())
    expire_claims(world)
    metrics = MetricsRecorder()
    assert world.submitter(metrics=metrics).handle(sqs_event(body))["batchItemFailures"] == []
    assert keys_of(world) == ["never.csv"]
    assert metrics.values["JobsRecovered"] == 0 and metrics.values["JobsSubmitted"] == 1


def test_a_reclaim_whose_lookup_fails_keeps_the_previous_job_name_for_the_next_one(world: World) -> None:
    crashing = client(world, "dynamodb")
    crash_before_job_record(crashing)
    bodies = [eventbridge_body(f"keep/{index}.csv") for index in range(2)]
    with pytest.raises(Crash):
        world.submitter(SUBMIT_MODE="ARRAY", clients=world.clients(dynamodb=crashing)).handle(
            sqs_event(*bodies), FakeContext()
        )
    (job,) = world.jobs()
    expire_claims(world)

    listing = client(world, "batch")
    FailingCalls(listing, "ListJobs", code="ServerException")
    response = world.submitter(SUBMIT_MODE="ARRAY", clients=world.clients(batch=listing)).handle(
        sqs_event(*bodies, ids=["0", "1"])
    )
    assert sorted(failed_ids(response)) == ["0", "1"]
    names = {item[JOB_NAME_ATTR]["S"] for item in object_records(world)}
    assert names == {job["jobName"]}  # not taken over: the claims still name the job to look up

    # The next delivery finds them orphaned at once (their lease is over) and finds the job.
    assert world.submitter(SUBMIT_MODE="ARRAY").handle(sqs_event(*bodies))["batchItemFailures"] == []
    assert len(world.jobs()) == 1 and statuses(world) == ["done"] * 2


# -- 2. a SubmitJob whose response is lost after Batch accepted it ----------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_lost_submit_response_is_reconciled_by_name_not_resubmitted(world: World, mode: str) -> None:
    batch = client(world, "batch", config=BATCH_CLIENT_CONFIG)
    lost = LostResponse(batch)
    metrics = MetricsRecorder()
    event = sqs_event(eventbridge_body("lost/1.csv"), eventbridge_body("lost/2.csv"), ids=["1", "2"])
    response = world.submitter(SUBMIT_MODE=mode, metrics=metrics, clients=world.clients(batch=batch)).handle(
        event, FakeContext()
    )
    calls = list(world.calls)
    assert response["batchItemFailures"] == []
    assert len(lost.lost) == 1
    assert keys_of(world) == ["lost/1.csv", "lost/2.csv"]  # no second job for the lost response
    assert calls.count("batch:ListJobs") == 1
    assert metrics.values["JobsRecovered"] == 1
    assert statuses(world) == ["done", "done"]
    assert {record["jobId"] for record in job_records(world).values()} <= {
        job["jobId"] for job in world.jobs()
    }


def test_a_server_error_that_created_nothing_is_looked_up_then_submitted_once(world: World) -> None:
    batch = client(world, "batch", config=BATCH_CLIENT_CONFIG)
    errors = FailingCalls(batch, "SubmitJob", code="ServerException", status=500, times=1)
    world.calls.clear()
    response = world.submitter(clients=world.clients(batch=batch)).handle(
        sqs_event(eventbridge_body("5xx.csv"))
    )
    calls = list(world.calls)
    assert response["batchItemFailures"] == []
    assert errors.calls == 1
    # Looked up before trying again: not there, so submitted once more.
    assert calls == [
        "dynamodb:PutItem",
        "batch:SubmitJob",
        "batch:ListJobs",
        "batch:SubmitJob",
        "dynamodb:PutItem",
    ]
    assert keys_of(world) == ["5xx.csv"]


def test_a_server_error_after_batch_created_the_job_is_found_not_resubmitted(world: World) -> None:
    batch = client(world, "batch", config=BATCH_CLIENT_CONFIG)
    errors = ServerErrorAfterCreating(batch)
    world.calls.clear()
    response = world.submitter(clients=world.clients(batch=batch)).handle(
        sqs_event(eventbridge_body("5xx.csv"))
    )
    calls = list(world.calls)
    assert response["batchItemFailures"] == [] and errors.attempts == 1
    assert calls == ["dynamodb:PutItem", "batch:SubmitJob", "batch:ListJobs", "dynamodb:PutItem"]
    assert keys_of(world) == ["5xx.csv"]


@pytest.mark.parametrize("code", ["TooManyRequestsException", "ThrottlingException"])
def test_throttling_is_retried_blindly_without_a_lookup(world: World, code: str) -> None:
    batch = client(world, "batch", config=BATCH_CLIENT_CONFIG)
    FailingCalls(batch, "SubmitJob", code=code, status=429, times=3)
    clock = FakeClock()
    world.calls.clear()
    response = world.submitter(clock=clock, sleep=clock.sleep, clients=world.clients(batch=batch)).handle(
        sqs_event(eventbridge_body("busy.csv"))
    )
    calls = list(world.calls)
    assert response["batchItemFailures"] == []
    assert calls.count("batch:SubmitJob") == 4 and "batch:ListJobs" not in calls
    assert len(clock.sleeps) == 3 and clock.sleeps[0] < clock.sleeps[1] < clock.sleeps[2]  # backoff
    assert keys_of(world) == ["busy.csv"]


def test_a_client_error_is_final_and_releases_the_claim(world: World) -> None:
    batch = client(world, "batch", config=BATCH_CLIENT_CONFIG)
    FailingCalls(batch, "SubmitJob", code="ClientException", status=400)
    world.calls.clear()
    response = world.submitter(clients=world.clients(batch=batch)).handle(
        sqs_event(eventbridge_body("bad.csv"))
    )
    assert failed_ids(response) == ["msg-0"]
    assert world.calls.count("batch:SubmitJob") == 1 and "batch:ListJobs" not in world.calls
    assert world.idempotency_items() == []  # certainly not executed: released for the retry


def test_the_batch_client_never_retries_by_itself() -> None:
    # botocore would resend a SubmitJob after a read timeout or a 5xx; the submitter decides instead.
    assert BATCH_CLIENT_CONFIG.retries == {"mode": "standard", "total_max_attempts": 1}


# -- 2b. the same bytes uploaded again to an unversioned bucket ("reprocess this file") ---------------


def reupload(key: str, sequencer: str) -> str:
    """An unversioned bucket's event: no version id, so the ETag (the same bytes, the same ETag) and the
    sequencer (a new one per upload) are all that tell two uploads apart."""
    return eventbridge_body(key, version=None, sequencer=sequencer)


@pytest.mark.parametrize("mode", MODES)
def test_a_reupload_whose_submit_is_ambiguous_gets_its_own_job(world: World, mode: str) -> None:
    # Before: PER_OBJECT job names hashed bucket, key and ETag but not the sequencer, so the lookup after
    # the ambiguous error found the first upload's job, marked the re-upload done and ran nothing for it.
    first, second = reupload("again.csv", "00A1"), reupload("again.csv", "00B2")
    assert world.submitter(SUBMIT_MODE=mode).handle(sqs_event(first))["batchItemFailures"] == []
    batch = client(world, "batch", config=BATCH_CLIENT_CONFIG)
    errors = FailingCalls(batch, "SubmitJob", code="ServerException", status=500, times=1)
    metrics = MetricsRecorder()
    response = world.submitter(SUBMIT_MODE=mode, metrics=metrics, clients=world.clients(batch=batch)).handle(
        sqs_event(second)
    )
    assert response["batchItemFailures"] == [] and errors.calls == 1
    assert keys_of(world) == ["again.csv", "again.csv"]  # one job per upload
    assert metrics.values["JobsSubmitted"] == 1 and metrics.values["JobsRecovered"] == 0
    # ...and a redelivery of either upload is still a duplicate.
    again = MetricsRecorder()
    world.submitter(SUBMIT_MODE=mode, metrics=again).handle(sqs_event(first, second))
    assert again.values["DuplicatesSkipped"] == 2 and len(world.jobs()) == 2


@pytest.mark.parametrize("mode", MODES)
def test_a_reupload_whose_invocation_died_before_submitting_gets_its_own_job(world: World, mode: str) -> None:
    # Before: the reclaim looked up the recorded name, which was the first upload's: found, so dropped.
    first, second = reupload("redo.csv", "00A1"), reupload("redo.csv", "00B2")
    world.submitter(SUBMIT_MODE=mode).handle(sqs_event(first))
    crashing = client(world, "batch")
    crash_on(crashing, "SubmitJob")  # killed after the claim, before SubmitJob
    with pytest.raises(Crash):
        world.submitter(SUBMIT_MODE=mode, clients=world.clients(batch=crashing)).handle(sqs_event(second))
    expire_claims(world)
    metrics = MetricsRecorder()
    assert (
        world.submitter(SUBMIT_MODE=mode, metrics=metrics).handle(sqs_event(second))["batchItemFailures"]
        == []
    )
    assert keys_of(world) == ["redo.csv", "redo.csv"]
    assert metrics.values["JobsSubmitted"] == 1 and metrics.values["JobsRecovered"] == 0


@pytest.mark.parametrize("mode", MODES)
def test_a_reupload_whose_job_was_submitted_before_a_crash_is_found_not_resubmitted(
    world: World, mode: str
) -> None:
    # The other side of the same window: the re-upload's own job exists, so the reclaim finds it.
    first, second = reupload("found.csv", "00A1"), reupload("found.csv", "00B2")
    world.submitter(SUBMIT_MODE=mode).handle(sqs_event(first))
    crashing = client(world, "dynamodb")
    crash_before_job_record(crashing)  # killed right after SubmitJob
    with pytest.raises(Crash):
        world.submitter(SUBMIT_MODE=mode, clients=world.clients(dynamodb=crashing)).handle(sqs_event(second))
    assert len(world.jobs()) == 2
    expire_claims(world)
    metrics = MetricsRecorder()
    assert (
        world.submitter(SUBMIT_MODE=mode, metrics=metrics).handle(sqs_event(second))["batchItemFailures"]
        == []
    )
    assert keys_of(world) == ["found.csv", "found.csv"]
    assert metrics.values["JobsSubmitted"] == 0 and metrics.values["JobsRecovered"] == 1


@pytest.mark.parametrize("mode", MODES)
def test_a_reupload_whose_submit_response_is_lost_finds_its_own_job(world: World, mode: str) -> None:
    first, second = reupload("lost-again.csv", "00A1"), reupload("lost-again.csv", "00B2")
    world.submitter(SUBMIT_MODE=mode).handle(sqs_event(first))
    batch = client(world, "batch", config=BATCH_CLIENT_CONFIG)
    lost = LostResponse(batch)
    metrics = MetricsRecorder()
    response = world.submitter(SUBMIT_MODE=mode, metrics=metrics, clients=world.clients(batch=batch)).handle(
        sqs_event(second)
    )
    assert response["batchItemFailures"] == [] and len(lost.lost) == 1
    assert keys_of(world) == ["lost-again.csv", "lost-again.csv"]  # its own job, found by its own name
    assert metrics.values["JobsRecovered"] == 1
    assert job_records(world)[lost.lost[0]["jobName"]]["jobId"] == lost.lost[0]["jobId"]


@pytest.mark.parametrize("mode", MODES)
def test_a_reupload_whose_job_record_failed_is_found_by_a_later_copy(world: World, mode: str) -> None:
    first, second = reupload("unrecorded.csv", "00A1"), reupload("unrecorded.csv", "00B2")
    world.submitter(SUBMIT_MODE=mode).handle(sqs_event(first))
    dynamodb = client(world, "dynamodb")
    FailingCalls(dynamodb, "PutItem", code="InternalServerError", when=writes_job_record)
    assert (
        world.submitter(SUBMIT_MODE=mode, clients=world.clients(dynamodb=dynamodb)).handle(sqs_event(second))[
            "batchItemFailures"
        ]
        == []
    )
    expire_claims(world)
    later = MetricsRecorder()
    assert (
        world.submitter(SUBMIT_MODE=mode, metrics=later).handle(sqs_event(second, first))["batchItemFailures"]
        == []
    )
    assert keys_of(world) == ["unrecorded.csv", "unrecorded.csv"]
    assert later.values["JobsRecovered"] == 1 and later.values["DuplicatesSkipped"] == 1
    assert statuses(world) == ["done", "done"]


# -- 3. a job record that cannot be written strands nothing -----------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_failed_job_record_does_not_fail_the_sibling_copy_and_a_later_duplicate_finds_the_job(
    world: World, mode: str
) -> None:
    dynamodb = client(world, "dynamodb")
    failing = FailingCalls(
        dynamodb, "PutItem", code="ProvisionedThroughputExceededException", when=writes_job_record
    )
    body = eventbridge_body("sibling.csv")
    metrics = MetricsRecorder()
    logs = LogCapture()
    submitter = world.submitter(
        SUBMIT_MODE=mode, metrics=metrics, logger=logs.logger, clients=world.clients(dynamodb=dynamodb)
    )
    response = submitter.handle(sqs_event(body, body, ids=["first", "copy"]), FakeContext())

    assert response["batchItemFailures"] == []  # the copy is a duplicate, not a failure
    assert failing.calls >= 4  # the job record was retried
    assert metrics.values["DuplicatesSkipped"] == 1 and metrics.values["RecordsFailed"] == 0
    (job,) = world.jobs()
    (item,) = world.idempotency_items()  # the claim, no job record
    assert item["status"]["S"] == "INPROGRESS" and item[JOB_NAME_ATTR]["S"] == job["jobName"]
    assert any("not recorded" in line["message"] for line in logs.lines())

    # A later copy (another invocation, after the claim's lease) finds the job by name and records it.
    expire_claims(world)
    later = MetricsRecorder()
    assert world.submitter(SUBMIT_MODE=mode, metrics=later).handle(sqs_event(body))["batchItemFailures"] == []
    assert len(world.jobs()) == 1 and statuses(world) == ["done"]
    assert job_records(world)[job["jobName"]]["jobId"] == job["jobId"]
    assert later.values["JobsRecovered"] == 1 and later.values["JobsSubmitted"] == 0


# -- 4. deadline-aware ------------------------------------------------------------------------------


def test_per_object_stops_submitting_before_the_deadline_and_returns_the_rest_untried(world: World) -> None:
    clock = FakeClock()
    context = ClockContext(clock, budget_ms=20_000)  # margin: min(15 s, 20 s / 4) = 5 s
    metrics = MetricsRecorder()
    bodies = [eventbridge_body(f"late/{index:02}.csv") for index in range(40)]
    ids = [f"m{index:02}" for index in range(40)]
    submitter = world.submitter(metrics=metrics, clock=clock, sleep=clock.sleep, MAX_SUBMITS_PER_SECOND="2")
    response = submitter.handle(sqs_event(*bodies, ids=ids), context)

    submitted = len(world.jobs())
    deferred = failed_ids(response)
    # 0.5 s per submission; the next one may not start with less than 5 s + its wait left.
    assert submitted == 31 and deferred == ids[submitted:]
    assert context.get_remaining_time_in_millis() >= 5_000
    assert metrics.values["RecordsDeferred"] == 9 and metrics.values["RecordsFailed"] == 0
    assert len(object_records(world)) == submitted  # untried records were never claimed

    retry = world.submitter().handle(sqs_event(*bodies[submitted:], ids=deferred))
    assert retry["batchItemFailures"] == []
    assert keys_of(world) == sorted(f"late/{index:02}.csv" for index in range(40))


def test_array_out_of_time_after_claiming_releases_and_returns_everything_untried(world: World) -> None:
    clock = FakeClock()
    dynamodb = client(world, "dynamodb")
    slow(dynamodb, "TransactWriteItems", clock, 30.0)  # claiming takes 30 s of the invocation's time
    context = ClockContext(clock, budget_ms=35_000)  # margin 8.75 s; 5 s left after the claims
    metrics = MetricsRecorder()
    bodies = [eventbridge_body(f"slow/{index}.csv") for index in range(3)]
    submitter = world.submitter(
        SUBMIT_MODE="ARRAY",
        metrics=metrics,
        clock=clock,
        sleep=clock.sleep,
        clients=world.clients(dynamodb=dynamodb),
    )
    response = submitter.handle(sqs_event(*bodies, ids=["0", "1", "2"]), context)
    assert sorted(failed_ids(response)) == ["0", "1", "2"]
    assert world.jobs() == [] and world.idempotency_items() == []  # released: the retry submits at once
    assert metrics.values["RecordsDeferred"] == 3 and metrics.values["RecordsFailed"] == 0

    assert world.submitter(SUBMIT_MODE="ARRAY").handle(sqs_event(*bodies))["batchItemFailures"] == []
    assert keys_of(world) == ["slow/0.csv", "slow/1.csv", "slow/2.csv"]


# -- 5. SNS envelopes -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_sns_envelopes_raw_and_wrapped_are_unwrapped_and_submitted_once(world: World, mode: str) -> None:
    notification = notification_body(notification_record("sns/classic file.csv"))
    eventbridge = eventbridge_body("sns/from-eventbridge.csv")
    bodies = {
        "wrapped-classic": sns_envelope(notification, message_id="1"),
        "wrapped-eventbridge": sns_envelope(eventbridge, message_id="2"),
        "raw-classic": notification,  # raw message delivery: the body is the message itself
        "wrapped-classic-again": sns_envelope(notification, message_id="3"),
        "raw-eventbridge": eventbridge,
        "wrapped-test-event": sns_envelope(json.dumps(load_event("s3/test-event.json")), message_id="4"),
        "confirmation": sns_envelope("You have chosen to subscribe", kind="SubscriptionConfirmation"),
        "wrapped-garbage": sns_envelope("not json", message_id="5"),
    }
    metrics = MetricsRecorder()
    response = world.submitter(SUBMIT_MODE=mode, metrics=metrics).handle(
        sqs_event(*bodies.values(), ids=bodies)
    )
    assert failed_ids(response) == ["wrapped-garbage"]
    assert keys_of(world) == ["sns/classic file.csv", "sns/from-eventbridge.csv"]
    assert metrics.values["DuplicatesSkipped"] == 3 and metrics.values["RecordsSkipped"] == 2

    # The same events again, the other way round: all duplicates.
    again = world.submitter(SUBMIT_MODE=mode).handle(sqs_event(sns_envelope(eventbridge), notification))
    assert again["batchItemFailures"] == []
    assert keys_of(world) == ["sns/classic file.csv", "sns/from-eventbridge.csv"]
