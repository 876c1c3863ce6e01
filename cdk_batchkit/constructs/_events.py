"""Shared pieces of the EventBridge rules and schedules: dead-letter queues, input templates.

Every rule target and schedule gets a retry policy and a dead-letter queue, so an event that cannot
be delivered (throttled, permission missing, target deleted) is kept for 14 days instead of lost.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import Annotations, Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ..model.delivery import Delivery
from ..model.object_keys import key_filter
from ..model.rules import delivery_limits
from ._validation import default_child, duration, fetched, node_of, node_path, report, seconds_of
from .encryption import KeyUser, encryption_key
from .nag import acknowledge

#: EventBridge and Scheduler: 0-185 retries, event age 60 s - 24 h.
MAX_RETRY_ATTEMPTS = 185
DEFAULT_RETRY_ATTEMPTS = 8
DEFAULT_MAX_EVENT_AGE = duration("hours", 6)
#: Field -> path in an S3 "Object Created" event (the key as S3 sends it: see cdk_batchkit.model.object_keys).
S3_EVENT_FIELDS: Mapping[str, str] = {
    "bucket": "$.detail.bucket.name",
    "key": "$.detail.object.key",
    "size": "$.detail.object.size",
    "version": "$.detail.object.version-id",
    "etag": "$.detail.object.etag",
    "sequencer": "$.detail.object.sequencer",
}


def encrypted_queue(scope: Construct, construct_id: str, **kwargs: object) -> sqs.Queue:
    """An SQS queue: SSE-SQS encrypted (free, and EventBridge can send to it), or with the
    :class:`BatchEncryption` key (EventBridge allowed in its policy); TLS-only, 14-day retention."""
    key = encryption_key(scope, KeyUser.EVENTS)
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.KMS if key else sqs.QueueEncryption.SQS_MANAGED,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=duration("days", 14),
        **kwargs,  # type: ignore[arg-type]
    )


def new_dead_letter_queue(scope: Construct, construct_id: str = "DeadLetterQueue") -> sqs.Queue:
    """An :func:`encrypted_queue` for undeliverable events."""
    queue = encrypted_queue(scope, construct_id)
    acknowledge(
        queue,
        "SQS3",
        "This queue is itself the dead-letter queue of EventBridge targets/schedules; a DLQ of a DLQ "
        "would only move the same messages again.",
    )
    return queue


@dataclass(frozen=True)
class EventDelivery:
    """How EventBridge (a rule target) or EventBridge Scheduler (a schedule target) delivers: retries,
    how long it keeps trying, and where an event goes when it gives up.

    :param retry_attempts: delivery retries, 0-185. Default: the construct's (8; 185 for
        :class:`S3JobRule`).
    :param max_event_age: give up after this long, 1 minute to 24 hours. Default: the construct's
        (6 hours; 24 hours for :class:`S3JobRule`).
    :param dead_letter_queue: where undeliverable events go. Default: a new encrypted, TLS-only queue.

    Source: EventBridge RetryPolicy (MaximumRetryAttempts 0-185, MaximumEventAgeInSeconds 60-86,400),
    https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_RetryPolicy.html, and Scheduler's,
    https://docs.aws.amazon.com/scheduler/latest/APIReference/API_RetryPolicy.html
    """

    retry_attempts: int | None = None
    max_event_age: Duration | None = None
    dead_letter_queue: sqs.IQueue | None = None


@dataclass(frozen=True)
class ResolvedDelivery:
    retry_attempts: int
    max_event_age: Duration
    dead_letter_queue: sqs.IQueue


def resolve_delivery(
    scope: Construct,
    delivery: EventDelivery | None,
    *,
    retry_attempts: int = DEFAULT_RETRY_ATTEMPTS,
    max_event_age: Duration = DEFAULT_MAX_EVENT_AGE,
) -> ResolvedDelivery:
    """``delivery`` with the construct's defaults filled in, checked (BK-E1), and a dead-letter queue."""
    delivery = delivery or EventDelivery()
    attempts = delivery.retry_attempts if delivery.retry_attempts is not None else retry_attempts
    age = delivery.max_event_age or max_event_age
    report(scope, delivery_limits(Delivery(attempts, seconds_of(age))))
    dead_letter_queue = delivery.dead_letter_queue or new_dead_letter_queue(scope)
    return ResolvedDelivery(attempts, age, dead_letter_queue)


def quoted_input(fields: Mapping[str, str]) -> dict[str, object]:
    """An ``InputTransformer`` whose placeholders are all inside quotes, so every value arrives as a string.

    The L2 ``RuleTargetInput.from_object`` renders a lone ``EventField`` unquoted (a number stays a
    number); Batch job parameters are strings, so the workflow input must be strings too.
    ``fields``: output field -> event JSON path.
    """
    template = "{" + ",".join(f'{json.dumps(name)}:"<{name}>"' for name in fields) + "}"
    return {"InputPathsMap": dict(fields), "InputTemplate": template}


def override_input(rule: events.Rule, target_index: int, transformer: Mapping[str, object]) -> None:
    """Set ``transformer`` on target ``target_index`` of ``rule`` (escape hatch: see :func:`quoted_input`)."""
    cfn = default_child(rule)
    assert isinstance(cfn, events.CfnRule)
    cfn.add_property_override(f"Targets.{target_index}.InputTransformer", dict(transformer))


def object_key_filter(prefix: str | None, suffix: str | None) -> list[object] | None:
    """The EventBridge matcher for ``detail.object.key`` (None: any key), every filter in the raw and the
    URL-encoded form of the key (:func:`cdk_batchkit.model.object_keys.key_filter`)."""
    matchers = key_filter(prefix, suffix)
    return None if matchers is None else list(matchers)


def object_created_rule(
    scope: Construct,
    construct_id: str,
    *,
    bucket: s3.IBucket,
    key_filter: list[object] | None,
    description: str,
    new_bucket: bool = False,
    target: events.IRuleTarget | None = None,
) -> events.Rule:
    """A rule on S3 "Object Created" events of ``bucket`` whose key matches ``key_filter``, with ``target``
    (given to the rule's constructor, which adds it as ``add_target`` would: one round trip fewer).

    Also makes the bucket send its events to EventBridge (see :func:`enable_event_bridge`; ``new_bucket``:
    the caller made ``bucket`` just now, with no notifications).
    """
    enable_event_bridge(scope, bucket, new=new_bucket)
    detail: dict[str, object] = {"bucket": {"name": [fetched(bucket, "bucket_name")]}}
    if key_filter is not None:
        detail["object"] = {"key": key_filter}
    return events.Rule(
        scope,
        construct_id,
        description=description,
        event_pattern=events.EventPattern(source=["aws.s3"], detail_type=["Object Created"], detail=detail),
        targets=[target] if target is not None else None,
    )


def enable_event_bridge(scope: Construct, bucket: s3.IBucket, *, new: bool = False) -> None:
    """Make ``bucket`` send its events to EventBridge, without the L2's custom-resource Lambda.

    A bucket defined in this app gets ``NotificationConfiguration.EventBridgeConfiguration`` on its
    ``AWS::S3::Bucket``; one that already uses CDK's notifications custom resource (which would overwrite
    that property) gets it through the custom resource instead. An imported bucket cannot be changed
    here: synth warns, and its owner must switch it on. ``new``: the caller made ``bucket`` just now and
    added no notifications (not looked up).
    """
    if not isinstance(bucket, s3.Bucket):
        Annotations.of(scope).add_warning_v2(
            "batchkit:bucket-eventbridge",
            f"{node_path(bucket)} is imported: turn on its Amazon EventBridge notifications (bucket "
            "properties > Event notifications, or put-bucket-notification-configuration with "
            "EventBridgeConfiguration) or no event will ever arrive.",
        )
        return
    if not new and node_of(bucket).try_find_child("Notifications") is not None:
        bucket.enable_event_bridge_notification()
        return
    cfn = default_child(bucket)
    assert isinstance(cfn, s3.CfnBucket)
    cfn.add_property_override("NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True)
