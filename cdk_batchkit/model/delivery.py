"""Settings of the paths that carry events to a submission (no CDK import): the S3 submitter's batching
and rate, EventBridge and Scheduler delivery, S3 key filters. Checked by ``model.rules.delivery``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SubmitterSettings:
    """How ``S3JobSubmitter`` batches objects and calls SubmitJob (numbers may be CDK tokens: not judged).

    ``mode`` is ``"ARRAY"`` or ``"PER_OBJECT"`` (:mod:`cdk_batchkit.lambdas.submitter.config`).
    """

    mode: str
    batch_size: int
    batching_window_seconds: float
    max_receive_count: int
    max_submit_rate: float
    max_concurrency: int
    function_timeout_seconds: float
    idempotency_ttl_seconds: float
    job_name_prefix: str = ""


@dataclass(frozen=True)
class Delivery:
    """An EventBridge rule target's or a Scheduler target's retry policy."""

    retry_attempts: int
    max_event_age_seconds: float


__all__ = ["Delivery", "SubmitterSettings"]
