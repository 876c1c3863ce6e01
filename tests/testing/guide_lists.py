"""The testing guide's lists of what the kit builds and does not build (docs/guide/testing.md, "What the
kit builds"), kept exact: the "Built in moto" and "Emulated" sentences name exactly :data:`SUPPORTED_TYPES`,
and every type a world of the tests skips is named by the "Not built" sentence."""

from __future__ import annotations

import re
from pathlib import Path

from cdk_batchkit.testing import World

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide" / "testing.md"

#: A type (or type prefix) a world skips -> the words of the guide's "Not built" sentence naming it.
NOT_BUILT = {
    "AWS::EC2::": "networking and launch templates",
    "AWS::IAM::Policy": "IAM policies",
    "AWS::IAM::ManagedPolicy": "IAM policies",
    "AWS::IAM::InstanceProfile": "instance profiles",
    "AWS::SQS::QueuePolicy": "resource policies",
    "AWS::SNS::TopicPolicy": "resource policies",
    "AWS::S3::BucketPolicy": "resource policies",
    "AWS::Logs::ResourcePolicy": "resource policies",
    "AWS::KMS::": "KMS keys",
    "AWS::CloudWatch::Alarm": "alarms",
    "AWS::CloudWatch::Dashboard": "dashboards",
    "AWS::Logs::MetricFilter": "metric filters",
    "AWS::Lambda::Permission": "Lambda permissions",
    "AWS::Lambda::EventInvokeConfig": "invoke configurations",
    "AWS::Lambda::EventSourceMapping": "event source mappings",
    "AWS::Scheduler::": "EventBridge Scheduler schedules",
    "Custom::": "other custom resources",
}


def paragraph() -> str:
    """The guide's paragraph on what is built, on one line."""
    text = GUIDE.read_text()
    start = text.index("Built in moto:")
    end = text.index("\n\n", start)
    return " ".join(text[start:end].split())


def built_types() -> set[str]:
    built = paragraph().split("Not built", 1)[0]
    return set(re.findall(r"`((?:AWS|Custom)::[A-Za-z0-9]+(?:::[A-Za-z0-9]+)?)`", built))


def unnamed_skipped_types(world: World) -> list[str]:
    """Types ``world`` skipped that the guide's "Not built" sentence does not name."""
    not_built = paragraph().split("Not built", 1)[1]
    missing = []
    for kind in sorted(set(world.skipped.values())):
        words = next(
            (w for prefix, w in NOT_BUILT.items() if kind == prefix or kind.startswith(prefix)), None
        )
        if words is None or words not in not_built:
            missing.append(kind)
    return missing
