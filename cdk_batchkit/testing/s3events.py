"""What a bucket sends when objects are created: its notification configuration and the events themselves.

A bucket's notifications come from its own ``NotificationConfiguration`` (CloudFormation's spelling:
``QueueConfigurations[].Queue``, ``Event``, ``Filter.S3Key.Rules``) or from CDK's
``Custom::S3BucketNotifications`` resource (``event_bridge_enabled=True``, ``add_event_notification``;
the S3 API's spelling: ``QueueConfigurations[].QueueArn``, ``Events``, ``Filter.Key.FilterRules``),
which *replaces* the bucket's configuration when it is ``Managed`` (CDK's default). Both become one
:class:`Notifications` value.

Event shapes:
https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html (classic records,
keys URL-encoded) and https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html (EventBridge).
When a configuration with SQS or SNS destinations is put, S3 sends each a test message ("s3:TestEvent"):
https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketNotificationConfiguration.html
"""

from __future__ import annotations

import fnmatch
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

__all__ = ["Destination", "Notifications", "eventbridge_entry", "record", "test_event"]


@dataclass(frozen=True)
class Destination:
    """One classic notification: ``kind`` ``queue``, ``topic`` or ``function``, its ARN, the event types
    (``s3:ObjectCreated:*``) and the key filter."""

    kind: str
    arn: str
    events: tuple[str, ...]
    prefix: str = ""
    suffix: str = ""
    id: str = ""

    def matches(self, event_name: str, key: str) -> bool:
        """``event_name`` as S3 names it (``s3:ObjectCreated:Put``). S3 asks for special characters of a
        filter URL-encoded, and which form of the key it compares is not documented: either form matches
        here (as the library's own filters do)."""
        if not any(fnmatch.fnmatchcase(event_name, pattern) for pattern in self.events):
            return False
        return any(
            form.startswith(self.prefix) and form.endswith(self.suffix)
            for form in (key, quote_plus(key, safe="/"))
        )


@dataclass
class Notifications:
    """A bucket's notification configuration as the kit delivers it."""

    eventbridge: bool = False
    destinations: list[Destination] = field(default_factory=list)

    @staticmethod
    def from_properties(configuration: Mapping[str, Any] | None) -> Notifications:
        """A resolved ``NotificationConfiguration`` in either spelling (see the module docstring)."""
        found = Notifications()
        if not configuration:
            return found
        eventbridge = configuration.get("EventBridgeConfiguration")
        if isinstance(eventbridge, Mapping):
            # The bucket's property says EventBridgeEnabled; the custom resource's mere presence enables it.
            found.eventbridge = bool(eventbridge.get("EventBridgeEnabled", True))
        for key, kind, arn_keys in (
            ("QueueConfigurations", "queue", ("QueueArn", "Queue")),
            ("TopicConfigurations", "topic", ("TopicArn", "Topic")),
            ("LambdaFunctionConfigurations", "function", ("LambdaFunctionArn", "Function")),
            ("LambdaConfigurations", "function", ("LambdaFunctionArn", "Function")),
        ):
            for item in configuration.get(key) or []:
                arn = next((str(item[k]) for k in arn_keys if item.get(k)), "")
                events = item.get("Events") or ([item["Event"]] if item.get("Event") else [])
                prefix, suffix = _filter(item.get("Filter") or {})
                found.destinations.append(
                    Destination(kind, arn, tuple(events), prefix, suffix, str(item.get("Id") or ""))
                )
        return found

    def merge(self, other: Notifications) -> Notifications:
        return Notifications(self.eventbridge or other.eventbridge, [*self.destinations, *other.destinations])


def _filter(value: Mapping[str, Any]) -> tuple[str, str]:
    key = value.get("Key") or value.get("S3Key") or {}
    rules = key.get("FilterRules") or key.get("Rules") or []
    found = {str(rule.get("Name", "")).lower(): str(rule.get("Value", "")) for rule in rules}
    return found.get("prefix", ""), found.get("suffix", "")


def sequencer(counter: int) -> str:
    """A sequencer that grows with time and with ``counter`` (what S3 documents: a hexadecimal value
    that orders events of one key)."""
    return f"{int(time.time() * 1000):012X}{counter:08X}"


def eventbridge_entry(
    *,
    bucket: str,
    key: str,
    size: int,
    etag: str,
    version_id: str | None,
    sequence: str,
    request_id: str,
    account: str,
    key_encoding: str = "raw",
) -> dict[str, Any]:
    """An EventBridge "Object Created" entry for ``put_events``, as S3 sends it.

    ``key_encoding``: ``"raw"`` (the key as stored; what a published real event shows) or ``"url"``
    (URL-encoded like classic notifications)."""
    detail: dict[str, Any] = {
        "version": "0",
        "bucket": {"name": bucket},
        "object": {
            "key": quote_plus(key, safe="/") if key_encoding == "url" else key,
            "size": size,
            "etag": etag.strip('"'),
            "sequencer": sequence,
        },
        "request-id": request_id,
        "requester": account,
        "source-ip-address": "127.0.0.1",
        "reason": "PutObject",
    }
    if version_id and version_id != "null":
        detail["object"]["version-id"] = version_id
    return {
        "Source": "aws.s3",
        "DetailType": "Object Created",
        "Detail": json.dumps(detail),
        "Resources": [f"arn:aws:s3:::{bucket}"],
    }


def record(
    *,
    event_name: str,
    bucket: str,
    key: str,
    size: int,
    etag: str,
    version_id: str | None,
    sequence: str,
    request_id: str,
    region: str,
    account: str,
    configuration_id: str = "",
) -> dict[str, Any]:
    """The classic notification (``{"Records": [...]}``) of one event; the key is URL-encoded as S3 does."""
    obj: dict[str, Any] = {
        "key": quote_plus(key, safe="/"),
        "size": size,
        "eTag": etag.strip('"'),
        "sequencer": sequence,
    }
    if version_id and version_id != "null":
        obj["versionId"] = version_id
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                "eventName": event_name.removeprefix("s3:"),
                "userIdentity": {"principalId": f"AWS:{account}"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {"x-amz-request-id": request_id, "x-amz-id-2": request_id},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": configuration_id or "batchkit",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": account},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": obj,
                },
            }
        ]
    }


def test_event(bucket: str, request_id: str) -> dict[str, Any]:
    """What S3 sends each SQS and SNS destination when the configuration is put."""
    return {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "Bucket": bucket,
        "RequestId": request_id,
        "HostId": request_id,
    }
