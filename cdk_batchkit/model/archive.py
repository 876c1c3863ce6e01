"""The job log archive (``JobLogArchive``) as the rules see it: which log groups it subscribes to, where they
are, and how the archive is kept.

Plain values, no aws_cdk import. Durations are whole-or-not numbers of days/seconds (None: unknown, a
token). Regions and accounts are strings as synth knows them: a plain value, a token string (compared as
it is: the same token is the same value), or None when nothing is known.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ArchivedLogGroup:
    """One entry of ``job_definitions`` or ``log_groups``."""

    #: For messages: the job definition's or the log group's construct path.
    label: str
    #: The prop it was given in (``job_definitions`` / ``log_groups``).
    prop: str = "log_groups"
    #: What makes two entries the same log group (None: a job definition without a log group).
    identity: str | None = None
    #: The Region and account the log group is in (from its ARN or its stack).
    region: str | None = None
    account: str | None = None

    @property
    def has_log_group(self) -> bool:
        return self.identity is not None


@dataclass(frozen=True)
class LogArchiveSpec:
    """A ``JobLogArchive``'s props as the rules need them."""

    groups: tuple[ArchivedLogGroup, ...] = ()
    #: Where the subscription filters (and the delivery stream) are created: the archive's stack.
    region: str | None = None
    account: str | None = None
    retention_days: float | None = 365
    archive_after_days: float | None = None
    buffer_seconds: float | None = 300
    buffer_mib: float | None = 64
    prefix: str | None = "batch-logs/"


__all__ = ["ArchivedLogGroup", "LogArchiveSpec"]
