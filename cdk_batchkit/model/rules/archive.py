"""The job log archive (BK-A1 to BK-A4): subscription filters -> Firehose -> S3, over
:mod:`cdk_batchkit.model.archive` values. :func:`check_archive` runs them in one order."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from ..archive import ArchivedLogGroup, LogArchiveSpec
from ..values import is_unresolved, known
from ._registry import Problem, rule

_SUBSCRIPTION = "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-logs-subscriptionfilter.html"
_LIFECYCLE = (
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-transition-general-considerations.html"
)
_BUFFERING = "https://docs.aws.amazon.com/firehose/latest/APIReference/API_BufferingHints.html"
_PREFIXES = "https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html"
_PUT_FILTER = (
    "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutSubscriptionFilter.html"
)
_CROSS_ACCOUNT = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CreateFirehoseStreamDestination-Account.html"
)

#: "There can be as many as two subscription filters associated with a log group."
MAX_SUBSCRIPTION_FILTERS = 2
#: S3 Glacier Instant Retrieval bills at least 90 days of storage for every object.
GLACIER_IR_MINIMUM_DAYS = 90
#: Firehose BufferingHints: IntervalInSeconds 0-900, SizeInMBs 1-128.
MAX_BUFFER_SECONDS, MAX_BUFFER_MIB = 900, 128
#: The transition JobLogArchive renders by default when retention leaves room for it.
DEFAULT_ARCHIVE_AFTER_DAYS = 30


@rule(
    "BK-A1",
    "JobLogArchive: at least one log group, each once, each a log group (a job definition whose container "
    "brings its own logging has none); at most two subscription filters on a log group in the app.",
    _SUBSCRIPTION,
)
def archive_log_groups(
    groups: Sequence[ArchivedLogGroup], filter_counts: Mapping[str, int] | None = None
) -> Iterator[Problem]:
    """``filter_counts`` (label -> subscription filters on that group in the finished app) is given when
    the tree is complete (synth validation); the other checks run at construction."""
    if filter_counts is not None:
        for label, count in filter_counts.items():
            if count > MAX_SUBSCRIPTION_FILTERS:
                yield Problem(
                    "log_groups",
                    label,
                    f"has {count} subscription filters; CloudWatch Logs allows at most "
                    f"{MAX_SUBSCRIPTION_FILTERS} per log group ({_SUBSCRIPTION})",
                )
        return
    seen: set[str] = set()
    for group in groups:
        if not group.has_log_group:
            yield Problem(
                group.prop,
                group.label,
                "has no log group of its own (its container brings its own logging); pass the log group it "
                "writes to in log_groups",
            )
            continue
        keys = {group.identity, group.label}
        if keys & seen:
            yield Problem(
                group.prop,
                group.label,
                "lists a log group twice (a second filter would duplicate every event)",
            )
        seen |= {k for k in keys if k is not None}
    if not groups:
        yield Problem("job_definitions", [], "needs at least one job definition or log group to archive")


def default_archive_after_days(retention_days: float | None) -> float | None:
    """The transition to S3 Glacier Instant Retrieval rendered when ``archive_after`` is not given: after 30
    days when objects then stay there at least the 90-day minimum, else none."""
    days = known(retention_days)
    if days is not None and days >= DEFAULT_ARCHIVE_AFTER_DAYS + GLACIER_IR_MINIMUM_DAYS:
        return DEFAULT_ARCHIVE_AFTER_DAYS
    return None


def _days(value: float) -> str:
    return f"{value:g} days"


@rule(
    "BK-A2",
    "JobLogArchive: retention and archive_after are whole days, retention at least 1; archive_after before "
    "retention and at least 90 days before it (S3 Glacier Instant Retrieval bills 90 days minimum).",
    _LIFECYCLE,
)
def archive_retention(spec: LogArchiveSpec) -> Iterator[Problem]:
    retention, after = known(spec.retention_days), known(spec.archive_after_days)
    if retention is not None:
        if retention != int(retention):
            yield Problem("retention", _days(retention), "must be a whole number of days")
        elif retention < 1:
            yield Problem("retention", _days(retention), "must be at least 1 day")
    if after is None:
        return
    if after != int(after):
        yield Problem("archive_after", _days(after), "must be a whole number of days")
    elif retention is None:
        return
    elif after >= retention:
        yield Problem("archive_after", _days(after), "must be shorter than retention")
    elif retention - after < GLACIER_IR_MINIMUM_DAYS:
        yield Problem(
            "archive_after",
            _days(after),
            "objects would leave S3 Glacier Instant Retrieval before its "
            f"{GLACIER_IR_MINIMUM_DAYS}-day minimum storage duration (billed anyway): move them at least "
            f"{GLACIER_IR_MINIMUM_DAYS} days before retention, or pass archive_after=None",
        )


@rule(
    "BK-A3",
    "JobLogArchive: buffer interval 0-900 whole seconds, buffer size 1-128 MiB; prefix without a leading "
    "'/', ending in '/', without '!{' expressions (the construct adds the date partitions).",
    f"{_BUFFERING} and {_PREFIXES}",
)
def archive_buffering(spec: LogArchiveSpec) -> Iterator[Problem]:
    seconds, mib, prefix = known(spec.buffer_seconds), known(spec.buffer_mib), known(spec.prefix)
    if seconds is not None:
        if seconds != int(seconds):
            yield Problem("buffer_interval", f"{seconds:g} seconds", "must be a whole number of seconds")
        elif not 0 <= seconds <= MAX_BUFFER_SECONDS:
            yield Problem("buffer_interval", f"{seconds:g} s", f"must be 0-{MAX_BUFFER_SECONDS} seconds")
    if mib is not None and not 1 <= mib <= MAX_BUFFER_MIB:
        yield Problem("buffer_size", f"{mib:g} MiB", f"must be 1-{MAX_BUFFER_MIB} MiB")
    if prefix is not None and (prefix.startswith("/") or not prefix.endswith("/") or "!{" in prefix):
        yield Problem(
            "prefix",
            prefix,
            "must not start with '/', must end with '/' and hold no '!{...}' expression (the date "
            "partitions are added)",
        )


@rule(
    "BK-A4",
    "JobLogArchive: every archived log group is in the archive stack's Region and account (the "
    "subscription filter is created there, and its Firehose destination must be in the filter's account); "
    "a log group whose Region or account synth cannot compare warns.",
    f"{_SUBSCRIPTION} (a Firehose delivery stream that belongs to the same account as the subscription "
    f"filter) and {_PUT_FILTER} and {_CROSS_ACCOUNT}",
)
def archive_log_group_places(spec: LogArchiveSpec) -> Iterator[Problem]:
    for group in spec.groups:
        if not group.has_log_group:
            continue
        differs: list[str] = []
        unknown: list[str] = []
        for what, theirs, ours in (
            ("Region", group.region, spec.region),
            ("account", group.account, spec.account),
        ):
            if theirs is None or ours is None or theirs == ours:
                continue
            if is_unresolved(theirs) or is_unresolved(ours):
                unknown.append(f"{what} {theirs}" if not is_unresolved(theirs) else what)
            else:
                differs.append(f"{what} {theirs}, not {ours}")
        if differs:
            yield Problem(
                group.prop,
                group.label,
                f"is a log group in {' and '.join(differs)}: the subscription filter is created in the "
                "archive stack's Region and account (on a log group of that name there), and its Firehose "
                "stream must be in the filter's account; create the JobLogArchive in a stack of the log "
                "group's Region and account (cross-account: a CloudWatch Logs destination)",
            )
        elif unknown:
            yield Problem(
                group.prop,
                group.label,
                f"{group.label} may be a log group of another Region or account (synth cannot compare its "
                f"{' and '.join(unknown)} with this stack's): the subscription filter is created in this "
                "stack's Region and account, and must be where the log group is",
                warning=True,
                code="batchkit:BK-A4",
            )


def check_archive(spec: LogArchiveSpec) -> list[Problem]:
    """BK-A3, BK-A2, BK-A1 (construction checks) and BK-A4, in that order."""
    return [
        *archive_buffering(spec),
        *archive_retention(spec),
        *archive_log_groups(spec.groups),
        *archive_log_group_places(spec),
    ]


__all__ = [
    "GLACIER_IR_MINIMUM_DAYS",
    "MAX_BUFFER_MIB",
    "MAX_BUFFER_SECONDS",
    "MAX_SUBSCRIPTION_FILTERS",
    "archive_buffering",
    "archive_log_group_places",
    "archive_log_groups",
    "archive_retention",
    "check_archive",
    "default_archive_after_days",
]
