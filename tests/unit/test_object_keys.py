"""S3 keys in every form S3 may send them: the rule patterns of every S3 construct, routed for real.

Each construct's synthesized ``EventPattern`` goes into moto's EventBridge (put_events -> rule -> SQS,
tests/eventbridge.py) with "Object Created" events whose key is raw or URL-encoded the way S3's
notifications are (``quote_plus`` keeping ``/``). Both forms must be routed; a manifest under an
encoded manifest prefix must not be.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote_plus

import pytest
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_s3 as s3
from moto import mock_aws

from cdk_batchkit.constructs.submitter import S3JobRule, S3JobSubmitter, SubmitMode
from cdk_batchkit.constructs.triggers import ObjectCreatedTrigger
from cdk_batchkit.constructs.workflow import Step, Workflow
from cdk_batchkit.model.object_keys import (
    exclude_prefix,
    key_filter,
    key_filter_problem,
    key_forms,
    may_start_with,
)
from tests.eventbridge import routed
from tests.support import fargate_queue_and_job, new_stack, template_of

IMAGE = ecs.ContainerImage.from_registry("public.ecr.aws/amazonlinux/amazonlinux:2023")
BUCKET = "input-bucket"


def encoded(key: str) -> str:
    """How S3's notifications write a key: form-encoded (space as '+'), '/' kept."""
    return quote_plus(key, safe="/")


# ----------------------------------------------------------------------------------------- the model


@pytest.mark.parametrize(
    ("text", "forms"),
    [
        ("incoming/", ["incoming/"]),
        ("raw data/", ["raw data/", "raw+data/"]),
        ("dt=2026-11-21/", ["dt=2026-11-21/", "dt%3D2026-11-21/"]),
        ("données/", ["données/", "donn%C3%A9es/"]),
        ("a+b.csv", ["a+b.csv", "a%2Bb.csv"]),
        ("a:b", ["a:b", "a%3Ab"]),
        ("x~y*z", ["x~y*z", "x~y%2Az", "x%7Ey*z"]),  # the two form encoders disagree on '~' and '*'
    ],
)
def test_key_forms_are_raw_then_form_encoded(text: str, forms: list[str]) -> None:
    assert key_forms(text) == forms


def test_prefix_and_suffix_are_paired_form_by_form_never_mixed() -> None:
    assert key_filter("raw data/", "é.csv") == [
        {"wildcard": "raw data/*é.csv"},
        {"wildcard": "raw+data/*%C3%A9.csv"},
    ]
    assert key_filter("in/", "a b.csv") == [{"wildcard": "in/*a b.csv"}, {"wildcard": "in/*a+b.csv"}]
    assert key_filter("in/", None) == [{"prefix": "in/"}]
    assert key_filter(None, ".csv") == [{"suffix": ".csv"}]


def test_exclusion_is_one_anything_but_with_every_form() -> None:
    assert exclude_prefix("batchkit/manifests/") == [{"anything-but": {"prefix": "batchkit/manifests/"}}]
    assert exclude_prefix("my manifests/") == [
        {"anything-but": {"prefix": ["my manifests/", "my+manifests/"]}}
    ]


def test_overlap_is_checked_across_forms() -> None:
    assert may_start_with("a b/", "a+")  # encoded "a+b/" starts with the raw filter "a+"
    assert may_start_with("dt=1/", "dt%3D")
    assert not may_start_with("batchkit/manifests/", "incoming/")


@pytest.mark.parametrize("prop", ["prefix", "manifest_prefix"])
def test_rejects_a_leading_slash(prop: str) -> None:
    problem = key_filter_problem(prop, "/incoming/")
    assert problem is not None and "must not start with '/'" in problem and "'incoming/'" in problem


def test_a_suffix_may_start_with_a_slash() -> None:
    # "/_SUCCESS" is a real suffix ("any folder's _SUCCESS marker"): only prefixes are anchored at the start.
    assert key_filter_problem("suffix", "/_SUCCESS") is None


# ------------------------------------------------------------------------------ synthesized patterns


def _build() -> dict[str, Any]:
    stack = new_stack()
    queue, job = fargate_queue_and_job(stack)
    bucket = s3.Bucket(stack, "Bucket")
    S3JobSubmitter(
        stack,
        "Spaces",
        job_queue=queue,
        job_definition=job,
        bucket=bucket,
        mode=SubmitMode.PER_OBJECT,
        prefix="raw data/",
        suffix=".csv",
    )
    S3JobSubmitter(stack, "Manifests", job_queue=queue, job_definition=job, manifest_prefix="my manifests/")
    S3JobRule(stack, "Dated", job_queue=queue, job_definition=job, bucket=bucket, prefix="dt=2026-11-21/")
    S3JobRule(stack, "Plus", job_queue=queue, job_definition=job, bucket=bucket, suffix="a+b.csv")
    workflow = Workflow(stack, "Flow", steps=[Step("A", job, queue)])
    ObjectCreatedTrigger(stack, "Accents", bucket=bucket, workflow=workflow, prefix="données/", suffix=".csv")
    rules = template_of(stack).find_resources("AWS::Events::Rule")
    patterns: dict[str, Any] = {}
    for logical_id, rule in rules.items():
        pattern = rule["Properties"].get("EventPattern")
        if pattern and pattern.get("source") == ["aws.s3"]:
            pattern["detail"]["bucket"]["name"] = [BUCKET]  # a Ref at synth time
            patterns[logical_id] = pattern
    return patterns


@pytest.fixture(scope="module")
def patterns() -> dict[str, Any]:
    return _build()


def _pattern(patterns: dict[str, Any], construct_id: str) -> dict[str, Any]:
    (found,) = [p for logical_id, p in patterns.items() if logical_id.startswith(construct_id)]
    return found


def _event(key: str) -> dict[str, Any]:
    return {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {"version": "0", "bucket": {"name": BUCKET}, "object": {"key": key, "size": 5}},
    }


@pytest.mark.parametrize(
    ("construct_id", "key", "expected"),
    [
        ("Spaces", "raw data/a.csv", True),
        ("Spaces", "raw data/a.txt", False),
        ("Spaces", "rawdata/a.csv", False),
        ("Dated", "dt=2026-11-21/x.csv", True),
        ("Dated", "dt=2026-11-22/x.csv", False),
        ("Accents", "données/é.csv", True),
        ("Accents", "donnees/e.csv", False),
        ("Plus", "a+b.csv", True),
        ("Plus", "ab.csv", False),
        ("Manifests", "data/a.csv", True),
        ("Manifests", "my manifests/batch-1.jsonl", False),
        ("Manifests", "my manifests 2/batch-1.jsonl", True),
    ],
)
def test_every_s3_rule_matches_the_raw_and_the_encoded_key(
    patterns: dict[str, Any], construct_id: str, key: str, expected: bool
) -> None:
    pattern = _pattern(patterns, construct_id)
    with mock_aws():
        assert routed(pattern, [_event(key), _event(encoded(key))]) == [expected, expected]


def test_the_encoded_forms_differ_from_the_raw_ones() -> None:
    # Otherwise the test above would prove nothing about encoded keys.
    for key in ("raw data/a.csv", "dt=2026-11-21/x.csv", "données/é.csv", "a+b.csv", "my manifests/b.jsonl"):
        assert encoded(key) != key


def test_manifest_exclusion_is_the_keys_only_matcher(patterns: dict[str, Any]) -> None:
    # An anything-but next to another matcher in the key's list would be ORed with it.
    assert _pattern(patterns, "Manifests")["detail"]["object"]["key"] == [
        {"anything-but": {"prefix": ["my manifests/", "my+manifests/"]}}
    ]


@pytest.mark.parametrize("prop", ["prefix", "manifest_prefix"])
def test_rejects_leading_slashes_in_every_s3_construct(prop: str) -> None:
    stack = new_stack()
    queue, job = fargate_queue_and_job(stack)
    bucket = s3.Bucket(stack, "Bucket")
    match = rf"{prop}='/in/' is invalid: must not start with '/'"
    with pytest.raises(ValueError, match=match):
        S3JobSubmitter(stack, "Sub", job_queue=queue, job_definition=job, bucket=bucket, **{prop: "/in/"})
    if prop == "manifest_prefix":
        return
    with pytest.raises(ValueError, match=match):
        S3JobRule(stack, "Rule", job_queue=queue, job_definition=job, bucket=bucket, prefix="/in/")
    workflow = Workflow(stack, "Flow", steps=[Step("A", job, queue)])
    with pytest.raises(ValueError, match=match):
        ObjectCreatedTrigger(stack, "Trigger", bucket=bucket, workflow=workflow, prefix="/in/")
