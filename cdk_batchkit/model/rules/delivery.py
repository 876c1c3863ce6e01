"""Rules of the paths that deliver work to a submission: the S3 submitter's batching and rate (BK-U2),
EventBridge and Scheduler retry policies (BK-E1), S3 key filters (BK-E6), the manifest exclusion (BK-E8)
and where job code may write (BK-E10).

Every rule takes model values (:mod:`cdk_batchkit.model.delivery`, strings) and yields problems naming the
construct prop. Tokens (unknown at synth) are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator

from ...lambdas.submitter.config import (
    ARRAY,
    PER_OBJECT,
    batch_seconds,
    deadline_margin_seconds,
)
from ..delivery import Delivery, SubmitterSettings
from ..limits import ACCOUNT_SUBMIT_RATE, JOB_NAME
from ..object_keys import key_filter, key_filter_problem, may_end_with, may_start_with
from ..values import is_unresolved
from ._registry import Problem, rule

_SQS = "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html"
_SCALING = "https://docs.aws.amazon.com/lambda/latest/api/API_ScalingConfig.html"
_PATTERNS = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html"
#: The suffix of the manifests the submitter writes (ARRAY mode).
MANIFEST_SUFFIX = ".jsonl"
#: A job name prefix leaves room for the object's name and a hash in Batch's 128 characters.
MAX_JOB_NAME_PREFIX = 40


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or is_unresolved(value):
        return None
    return float(value)


def _between(prop: str, value: object, low: float, high: float, shown: object = None) -> Iterator[Problem]:
    number = _number(value)
    if number is not None and not low <= number <= high:
        yield Problem(prop, value if shown is None else shown, f"must be between {low:g} and {high:g}")


@rule(
    "BK-U2",
    "S3JobSubmitter: batch size 1-10,000 (over 10 needs a batching window of at least 1 s), window 0-300 s, "
    "1-1,000 receives, concurrency 2-1,000, function timeout 10-900 s, a SubmitJob rate above 0 and at most "
    "the account's 50/s, a full batch submittable within one invocation, job name prefixes of at most 40 "
    "letters, digits, - and _.",
    f"{_SQS} and {_SCALING} and https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html and "
    "https://docs.aws.amazon.com/batch/latest/userguide/service_limits.html",
)
def submitter_limits(settings: SubmitterSettings) -> Iterator[Problem]:
    s = settings
    yield from _between("batch_size", s.batch_size, 1, 10_000)
    window = _number(s.batching_window_seconds)
    if window is not None and not 0 <= window <= 300:
        yield Problem("max_batching_window", f"{window:g} s", "must be between 0 and 300 seconds")
    size = _number(s.batch_size)
    if size is not None and window is not None and size > 10 and window < 1:
        yield Problem("max_batching_window", f"{window:g} s", "batches over 10 need at least 1 second")
    yield from _between("max_receive_count", s.max_receive_count, 1, 1000)
    yield from _between("max_concurrency", s.max_concurrency, 2, 1000)
    rate = _number(s.max_submit_rate)
    if rate is not None and not 0 < rate <= ACCOUNT_SUBMIT_RATE:
        yield Problem(
            "max_submit_rate", s.max_submit_rate, f"must be above 0 and at most {ACCOUNT_SUBMIT_RATE}"
        )
    timeout = _number(s.function_timeout_seconds)
    if timeout is not None and not 10 <= timeout <= 900:
        yield Problem("function_timeout", f"{timeout:g} s", "must be between 10 and 900 seconds")
    ttl = _number(s.idempotency_ttl_seconds)
    if ttl is not None and ttl < 60:
        yield Problem("idempotency_ttl", f"{ttl:g} s", "must be at least 60 seconds")
    prefix = s.job_name_prefix
    if (
        prefix
        and not is_unresolved(prefix)
        and (not JOB_NAME.match(prefix + "x") or len(prefix) > MAX_JOB_NAME_PREFIX)
    ):
        yield Problem(
            "job_name_prefix",
            prefix,
            f"use at most {MAX_JOB_NAME_PREFIX} letters, digits, '-' or '_', starting with a letter or digit",
        )
    concurrency = _number(s.max_concurrency)
    if None in (size, rate, timeout, concurrency) or s.mode not in (ARRAY, PER_OBJECT):
        return
    assert size is not None and rate is not None and timeout is not None and concurrency is not None
    if not (size >= 1 and rate > 0 and concurrency >= 1):
        return
    # A full batch must be submittable within one invocation at its share of the rate, or every batch ends
    # with records returned untried (each return counts towards max_receive_count). The submitter keeps
    # min(15 s, timeout / 4) in hand (cdk_batchkit.lambdas.submitter.runtime).
    per_invocation = rate / concurrency
    needed = batch_seconds(s.mode, int(size), per_invocation)
    available = timeout - deadline_margin_seconds(timeout)
    if needed > available:
        yield Problem(
            "batch_size",
            s.batch_size,
            f"a full batch needs about {needed:.0f} s in {s.mode} mode at {per_invocation:g} SubmitJob/s per "
            f"invocation (max_submit_rate / max_concurrency), but function_timeout={timeout:g} s leaves "
            f"{available:.0f} s; lower batch_size, raise max_submit_rate or function_timeout, or use ARRAY "
            "mode",
        )


@rule(
    "BK-E1",
    "Event delivery (EventBridge rule targets, Scheduler targets): 0-185 retries, event age 60-86,400 s.",
    "https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_RetryPolicy.html and "
    "https://docs.aws.amazon.com/scheduler/latest/APIReference/API_RetryPolicy.html",
)
def delivery_limits(delivery: Delivery) -> Iterator[Problem]:
    yield from _between("delivery.retry_attempts", delivery.retry_attempts, 0, 185)
    age = _number(delivery.max_event_age_seconds)
    if age is not None and not 60 <= age <= 86_400:
        yield Problem("delivery.max_event_age", f"{age:g} s", "must be between 60 and 86400 seconds")


@rule(
    "BK-E6",
    "S3 key filters (prefix, suffix) are known at synth (they go into the event pattern), 1-1,024 bytes, and "
    "a prefix does not start with / (keys in events have none); a suffix may (/_SUCCESS).",
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html and "
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html",
)
def key_filters(prefix: str | None, suffix: str | None) -> Iterator[Problem]:
    for prop, value in (("prefix", prefix), ("suffix", suffix)):
        if value is None:
            continue
        if is_unresolved(value):
            yield Problem(prop, value, "must be known at synth time (it goes into the event pattern)")
            continue
        problem = key_filter_problem(prop, value)
        if problem is not None:
            yield Problem(prop, value, problem)


#: BK-E7 decides how every S3 rule's key filter is rendered (not a check that can fail): the registered
#: function is the one that renders it, ``object_keys.key_filter``.
s3_key_patterns = rule(
    "BK-E7",
    "Every S3 rule matches its prefix/suffix in the raw and the URL-encoded form of the key (one entry when "
    "equal; prefix and suffix paired form by form in one wildcard), since S3's event notifications carry "
    "the key URL-encoded and EventBridge compares the string the event carries.",
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html and "
    "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html",
)(key_filter)


@rule(
    "BK-E8",
    "The submitter's manifest_prefix is known at synth, a key prefix ending with / (not starting with one), "
    "and manifests written into the input bucket never match its prefix/suffix filters in any form of the "
    "key (else each manifest would trigger the submitter again); without filters they are excluded by one "
    "anything-but prefix.",
    f"{_PATTERNS} (list of prefixes: aws/event-ruler README) and "
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html",
)
def manifest_prefix_rule(
    manifest_prefix: str, prefix: str | None, suffix: str | None, *, in_input_bucket: bool
) -> Iterator[Problem]:
    if is_unresolved(manifest_prefix):
        yield Problem(
            "manifest_prefix", manifest_prefix, "must be known at synth time (it goes into the rule)"
        )
        return
    problem = key_filter_problem("manifest_prefix", manifest_prefix)
    if problem is not None:
        yield Problem("manifest_prefix", manifest_prefix, problem)
        return
    if not manifest_prefix.endswith("/"):
        yield Problem("manifest_prefix", manifest_prefix, "must end with '/'")
        return
    if not in_input_bucket or (prefix is None and suffix is None):
        return
    if any(v is not None and is_unresolved(v) for v in (prefix, suffix)):
        return
    prefix_overlaps = prefix is None or may_start_with(manifest_prefix, prefix)
    suffix_overlaps = suffix is None or may_end_with(MANIFEST_SUFFIX, suffix)
    if prefix_overlaps and suffix_overlaps:
        yield Problem(
            "manifest_prefix",
            manifest_prefix,
            f"manifests written there would match prefix={prefix!r} suffix={suffix!r} and trigger the "
            "submitter again; choose a manifest_prefix outside the filter or a separate manifest_bucket",
        )


@rule(
    "BK-E10",
    "S3JobSubmitter.grant_write: the key prefix job code may write into the submitter's input bucket is "
    "known at synth and cannot overlap the submitter's prefix filter in any form of the key (each object "
    "written would trigger the submitter again: a loop); with no prefix filter, writing is refused when "
    "there is no suffix filter either and warned about when there is one (objects ending with it loop); "
    "writing under the manifest prefix warns (those objects expire with the manifests).",
    f"{_PATTERNS} (prefix matching: aws/event-ruler README) and "
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html",
)
def write_prefix_rule(
    write_prefix: str,
    prefix: str | None,
    suffix: str | None,
    *,
    manifest_prefix: str | None = None,
) -> Iterator[Problem]:
    """``write_prefix``: where job code writes (``grant_write(prefix=)``); ``prefix``/``suffix``: the
    submitter's filters; ``manifest_prefix``: where it writes manifests into the same bucket (None: not
    there)."""
    if is_unresolved(write_prefix):
        yield Problem("prefix", write_prefix, "must be known at synth time (it is checked against filters)")
        return
    if not write_prefix:
        yield Problem(
            "prefix", write_prefix, "must name a key prefix: job code would write anywhere in the bucket"
        )
        return
    problem = key_filter_problem("prefix", write_prefix)
    if problem is not None:
        yield Problem("prefix", write_prefix, problem)
        return
    if any(v is not None and is_unresolved(v) for v in (prefix, suffix)):
        return
    if prefix is not None:
        if may_start_with(write_prefix, prefix) or may_start_with(prefix, write_prefix):
            yield Problem(
                "prefix",
                write_prefix,
                f"objects written there can match the submitter's prefix={prefix!r} and trigger it again (a "
                "loop); write outside the filter",
            )
    elif suffix is None:
        yield Problem(
            "prefix",
            write_prefix,
            "the submitter has no prefix/suffix filter, so every object written into its bucket triggers it "
            "again (a loop); give the submitter a prefix and write outside it",
        )
    else:
        yield Problem(
            "prefix",
            write_prefix,
            f"objects written there whose names end with {suffix!r} trigger the submitter again (it has no "
            "prefix filter); give it a prefix and write outside it",
            warning=True,
        )
    if manifest_prefix is not None and (
        may_start_with(write_prefix, manifest_prefix) or may_start_with(manifest_prefix, write_prefix)
    ):
        yield Problem(
            "prefix",
            write_prefix,
            f"it overlaps the manifest prefix {manifest_prefix!r}: objects there expire with the manifests "
            "(30 days in a bucket the submitter creates)",
            warning=True,
        )


__all__ = [
    "MANIFEST_SUFFIX",
    "MAX_JOB_NAME_PREFIX",
    "delivery_limits",
    "key_filters",
    "manifest_prefix_rule",
    "submitter_limits",
    "write_prefix_rule",
]
