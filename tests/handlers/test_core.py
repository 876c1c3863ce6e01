"""Pure logic: parsing the three body shapes, key decoding, bad input, job names, plans, rate cap."""

from __future__ import annotations

import json
import random
import string

import pytest

from cdk_batchkit.lambdas.submitter.core import (
    JOB_NAME_RE,
    RateLimiter,
    idempotency_data,
    job_name,
    parse_body,
    plan_array,
    plan_object,
)
from cdk_batchkit.lambdas.submitter.manifest import ENV_KEY, ENV_MANIFEST, ManifestEntry
from tests.handlers.support import (
    FakeClock,
    eventbridge_body,
    load_event,
    notification_body,
    notification_record,
)

ODD_KEYS = [
    "plain.csv",
    "with space/and more spaces.txt",
    "literal+plus/a+b.csv",
    "unicode/été/日本語ファイル.txt",
    "emoji/🙂🚀.bin",
    "percent/100%25 sure%.csv",
    "symbols/!@#$^&*()=[]{};',.txt",
    "tab\tand\nnewline",
    "-leading-dash",
    "_leading_underscore",
    "...",
    "///",
    "a" * 1024,
]


def test_eventbridge_event_file_parses_to_one_entry() -> None:
    parsed = parse_body(json.dumps(load_event("s3/eventbridge-object-created.json")))
    assert parsed.errors == [] and parsed.skipped == []
    (entry,) = parsed.entries
    assert entry == ManifestEntry(
        bucket="input-bucket",
        key="incoming/2026/report v1.csv",
        size=2048,
        version_id="IYV3p45BT0ac8hjHg1houSdS1a.Mq8QV",
        etag="b1946ac92492d2347c6235b4d2611184",
        sequencer="00617F08299329D189",
        event_time="2026-11-20T12:00:00Z",
    )


def test_notification_event_file_parses_to_one_entry() -> None:
    parsed = parse_body(json.dumps(load_event("s3/notification-object-created.json")))
    (entry,) = parsed.entries
    assert (entry.bucket, entry.key, entry.size) == ("input-bucket", "incoming/2026/report v1.csv", 2048)
    assert entry.version_id == "096fKKXTRTtl3on89fVO.nfljtsv6qko"
    assert entry.sequencer == "0055AED6DCD90281E5"


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        ("my+file.txt", "my file.txt"),
        ("a%2Bb.txt", "a+b.txt"),
        ("caf%C3%A9/%E6%97%A5%E6%9C%AC.txt", "café/日本.txt"),
        ("already%2520encoded", "already%20encoded"),  # decoded once, not twice
        ("dir/sub+dir/x%2B%2B+y.csv", "dir/sub dir/x++ y.csv"),
    ],
)
def test_keys_are_decoded_exactly_once_in_both_shapes(raw: str, decoded: str) -> None:
    from_eventbridge = parse_body(eventbridge_body(raw, encoded=True)).entries
    from_notification = parse_body(notification_body(notification_record(raw, encoded=True))).entries
    assert [entry.key for entry in from_eventbridge] == [decoded]
    assert [entry.key for entry in from_notification] == [decoded]


def test_a_notification_with_several_records_gives_several_entries_in_order() -> None:
    body = notification_body(*(notification_record(f"k/{index}.csv") for index in range(3)))
    assert [entry.key for entry in parse_body(body).entries] == ["k/0.csv", "k/1.csv", "k/2.csv"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json at all", "not JSON"),
        ("", "empty"),
        ("[1, 2]", "JSON list"),
        ('"a string"', "JSON str"),
        ('{"hello": "world"}', "not an S3 event"),
        ('{"Records": []}', "not an S3 event"),
        ('{"Records": [{"eventSource": "aws:sns"}]}', "Records[0] is not an S3 event record"),
        (
            json.dumps({"source": "aws.s3", "detail-type": "Object Created", "detail": {"bucket": {}}}),
            "lacks",
        ),
    ],
)
def test_bad_bodies_are_errors(body: str, reason: str) -> None:
    parsed = parse_body(body)
    assert parsed.entries == [] and parsed.skipped == []
    assert len(parsed.errors) == 1 and reason in parsed.errors[0]


def test_keys_over_1024_utf8_bytes_are_errors_but_1024_is_fine() -> None:
    ok = "é" * 512  # 1024 bytes
    too_long = "é" * 512 + "x"  # 1025 bytes, only 513 characters
    assert [entry.key for entry in parse_body(eventbridge_body(ok)).entries] == [ok]
    for body in (eventbridge_body(too_long), notification_body(notification_record(too_long))):
        parsed = parse_body(body)
        assert parsed.entries == []
        assert "1025 bytes" in parsed.errors[0] and "1024" in parsed.errors[0]


def test_missing_size_is_an_error() -> None:
    record = notification_record("a.csv")
    del record["s3"]["object"]["size"]
    assert "size" in parse_body(notification_body(record)).errors[0]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (json.dumps(load_event("s3/test-event.json")), "s3:TestEvent"),
        (eventbridge_body("folder/", size=0), "folder marker"),
        (notification_body(notification_record("folder/", size=0)), "folder marker"),
        (eventbridge_body("empty.txt", size=0), "empty object"),
        (json.dumps(load_event("s3/eventbridge-object-deleted.json")), "Object Deleted"),
        (notification_body(notification_record("a.csv", event_name="ObjectRemoved:Delete")), "ObjectRemoved"),
    ],
)
def test_nothing_to_do_is_skipped(body: str, reason: str) -> None:
    parsed = parse_body(body)
    assert parsed.entries == [] and parsed.errors == []
    assert len(parsed.skipped) == 1 and reason in parsed.skipped[0]


def test_empty_objects_are_kept_when_skip_empty_is_false_but_folder_markers_never() -> None:
    assert [e.key for e in parse_body(eventbridge_body("empty.txt", size=0), skip_empty=False).entries] == [
        "empty.txt"
    ]
    assert parse_body(eventbridge_body("folder/", size=0), skip_empty=False).skipped


def test_a_message_with_good_and_bad_records_keeps_the_good_ones() -> None:
    bad = notification_record("x" * 1100)
    skipped = notification_record("dir/", size=0)
    parsed = parse_body(notification_body(notification_record("good.csv"), bad, skipped))
    assert [entry.key for entry in parsed.entries] == ["good.csv"]
    assert len(parsed.errors) == 1 and parsed.errors[0].startswith("Records[1]")
    assert len(parsed.skipped) == 1


def test_idempotency_identity_uses_version_or_etag_and_sequencer() -> None:
    entry = ManifestEntry(bucket="b", key="k", size=1, version_id="v", etag="e", sequencer="s")
    assert idempotency_data(entry) == {"bucket": "b", "key": "k", "version": "v", "sequencer": "s"}
    unversioned = ManifestEntry(bucket="b", key="k", size=1, etag="e", sequencer="s")
    assert idempotency_data(unversioned)["version"] == "e"


def _random_key(rng: random.Random) -> str:
    alphabet = string.printable + "éüß日本語🙂/+%-_."
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 400)))


@pytest.mark.parametrize("prefix", ["", "ingest-", "P"])
def test_job_names_are_valid_and_stable_for_many_odd_keys(prefix: str) -> None:
    rng = random.Random(1234)
    keys = ODD_KEYS + [_random_key(rng) for _ in range(500)]
    names = {}
    for key in keys:
        entry = ManifestEntry(bucket="input-bucket", key=key, size=1, version_id="v1")
        name = job_name(entry, prefix)
        assert JOB_NAME_RE.match(name), (key, name)
        assert len(name) <= 128 and name.startswith(prefix)
        assert (
            job_name(ManifestEntry(bucket="input-bucket", key=key, size=9, version_id="v1"), prefix) == name
        )
        names[key] = name
    assert len(set(names.values())) == len(set(keys))  # distinct objects, distinct names


def test_job_names_keep_the_readable_tail_and_differ_when_keys_clean_alike() -> None:
    first = job_name(ManifestEntry(bucket="b", key="in/report v1.csv", size=1))
    second = job_name(ManifestEntry(bucket="b", key="in/report_v1.csv", size=1))
    other_version = job_name(ManifestEntry(bucket="b", key="in/report v1.csv", size=1, version_id="v2"))
    assert first.startswith("in-report-v1-csv-")
    assert len({first, second, other_version}) == 3


def test_job_names_differ_for_the_same_bytes_uploaded_twice_to_an_unversioned_bucket() -> None:
    upload = ManifestEntry(bucket="b", key="in/a.csv", size=1, etag="e", sequencer="00A1")
    again = ManifestEntry(bucket="b", key="in/a.csv", size=1, etag="e", sequencer="00B2")
    assert job_name(upload) != job_name(again)
    assert job_name(upload) == job_name(
        ManifestEntry(bucket="b", key="in/a.csv", size=7, etag="e", sequencer="00A1")
    )


def test_plan_object_passes_the_object_as_parameters_and_environment() -> None:
    entry = ManifestEntry(bucket="b", key="a b.csv", size=5, version_id="v")
    kwargs = plan_object(entry, "pre-").submit_job_kwargs("queue", "definition")
    assert kwargs["parameters"] == {"bucket": "b", "key": "a b.csv", "size": "5", "version": "v"}
    env = {item["name"]: item["value"] for item in kwargs["containerOverrides"]["environment"]}
    assert env[ENV_KEY] == "a b.csv"
    assert "arrayProperties" not in kwargs and kwargs["jobName"].startswith("pre-a-b-csv-")


def test_plan_array_is_deterministic_and_sized() -> None:
    entries = [ManifestEntry(bucket="b", key=f"k{index}", size=1) for index in range(3)]
    plan = plan_array(entries, manifest_bucket="m", manifest_prefix="p/")
    again = plan_array(list(entries), manifest_bucket="m", manifest_prefix="p/")
    assert plan.job_name == again.job_name and plan.manifest == again.manifest
    assert plan.manifest is not None and plan.manifest.key == f"p/{plan.job_name}.jsonl"
    kwargs = plan.submit_job_kwargs("q", "d")
    assert kwargs["arrayProperties"] == {"size": 3}
    assert kwargs["parameters"] == {"manifest": plan.manifest.uri, "count": "3"}
    reordered = plan_array(entries[::-1], manifest_bucket="m", manifest_prefix="p/")
    assert reordered.job_name != plan.job_name
    with pytest.raises(ValueError, match="1 to 10000"):
        plan_array([], manifest_bucket="m", manifest_prefix="p/")


def test_plan_array_of_one_is_a_plain_job_with_manifest_and_object_variables() -> None:
    entry = ManifestEntry(bucket="b", key="only.csv", size=1)
    kwargs = plan_array([entry], manifest_bucket="m", manifest_prefix="p/").submit_job_kwargs("q", "d")
    assert "arrayProperties" not in kwargs
    assert kwargs["parameters"]["key"] == "only.csv" and kwargs["parameters"]["count"] == "1"
    env = {item["name"]: item["value"] for item in kwargs["containerOverrides"]["environment"]}
    assert env[ENV_KEY] == "only.csv" and env[ENV_MANIFEST].startswith("s3://m/p/")


def test_rate_limiter_spaces_acquisitions() -> None:
    clock = FakeClock()
    limiter = RateLimiter(4.0, clock=clock, sleep=clock.sleep)
    for _ in range(9):
        limiter.acquire()
    assert clock.sleeps == pytest.approx([0.25] * 8)
    assert clock.now == pytest.approx(102.0)  # 9 acquisitions at 4/s span 2 s
    clock.now += 10  # idle time is not banked into a burst
    assert limiter.acquire() == 0.0
    assert limiter.acquire() == pytest.approx(0.25)


def test_rate_limiter_rejects_a_non_positive_rate() -> None:
    with pytest.raises(ValueError, match="per_second=0"):
        RateLimiter(0)
