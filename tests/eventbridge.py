"""Check EventBridge patterns for real: moto routes ``put_events`` through the rule to SQS.

moto's ``TestEventPattern`` returns no result, so each check creates a rule with the
synthesized pattern, targets an SQS queue and reports which sample events arrived.
Call inside ``moto.mock_aws()``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import boto3


def routed(pattern: dict[str, Any], events: Sequence[dict[str, Any]]) -> list[bool]:
    """For each sample event (EventBridge envelope), whether ``pattern`` routes it."""
    region = "us-east-1"
    events_client = boto3.client("events", region_name=region)
    sqs = boto3.client("sqs", region_name=region)
    queue_url = sqs.create_queue(QueueName="pattern-check")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events_client.put_rule(Name="pattern-check", EventPattern=json.dumps(pattern))
    events_client.put_targets(Rule="pattern-check", Targets=[{"Id": "q", "Arn": queue_arn}])
    results: list[bool] = []
    for event in events:
        marker = f"sample-{len(results)}"
        detail = dict(event.get("detail", {}))
        entry = {
            "Source": event["source"],
            "DetailType": event["detail-type"],
            "Detail": json.dumps(detail),
            "Resources": [*event.get("resources", []), marker],
        }
        failed = events_client.put_events(Entries=[entry])["FailedEntryCount"]
        assert failed == 0, f"moto rejected sample {event!r}"
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        bodies = [m["Body"] for m in messages.get("Messages", [])]
        for m in messages.get("Messages", []):
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
        results.append(any(marker in body for body in bodies))
    return results
