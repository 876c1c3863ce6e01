"""Customer-managed KMS keys as the rules see them: who uses a key, and what synth knows about it.

Plain values, no aws_cdk import. ``constructs/encryption.py`` describes a ``kms.IKey`` as a
:class:`KeyDescription`; the rules in :mod:`cdk_batchkit.model.rules.encryption` decide the key-policy
statements each user needs and check the key itself.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class KeyUser(enum.Enum):
    """Who uses the key, each needing its own key-policy statement(s)."""

    #: CloudWatch Logs encrypting log groups (BK-X1).
    LOGS = "LOGS"
    #: EC2 Auto Scaling / Spot / Spot Fleet launching instances with encrypted root volumes (BK-X2).
    EBS = "EBS"
    #: EventBridge sending to encrypted queues (BK-X3).
    EVENTS = "EVENTS"
    #: EventBridge publishing to an encrypted topic (BK-X4: a statement without a source condition, as
    #: EventBridge documents for SNS).
    EVENTS_TO_TOPIC = "EVENTS_TO_TOPIC"
    #: SNS delivering to an encrypted queue (BK-X3).
    SNS = "SNS"
    #: CloudWatch alarms publishing to an encrypted topic (BK-X4).
    CLOUDWATCH = "CLOUDWATCH"
    #: IAM policies of this account (the default key policy's first statement; BK-X6).
    IAM = "IAM"

    @property
    def rule_id(self) -> str:
        return {
            "LOGS": "BK-X1",
            "EBS": "BK-X2",
            "CLOUDWATCH": "BK-X4",
            "EVENTS_TO_TOPIC": "BK-X4",
            "IAM": "BK-X6",
        }.get(self.value, "BK-X3")


#: The key spec and usage of a symmetric encryption KMS key (CreateKey's defaults).
SYMMETRIC_SPEC, ENCRYPT_DECRYPT = "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"


@dataclass(frozen=True)
class KeyDescription:
    """A KMS key given to a construct.

    ``key_spec``/``key_usage`` are None when synth cannot see them (an imported key); ``region`` is the
    key's Region (from its ARN; the stack's own Region, possibly as a token string, for a key of the
    app or an alias), None when unknown.
    """

    #: For messages: the key's ARN as written, or its construct path.
    label: str
    key_spec: str | None = SYMMETRIC_SPEC
    key_usage: str | None = ENCRYPT_DECRYPT
    region: str | None = None
    #: Imported (``kms.Key.from_key_arn``, an alias): its policy cannot be edited here.
    imported: bool = False

    @property
    def symmetric(self) -> bool | None:
        """A symmetric encryption key (None: unknown)."""
        if self.key_spec is None or self.key_usage is None:
            return None
        return self.key_spec == SYMMETRIC_SPEC and self.key_usage == ENCRYPT_DECRYPT


#: The service-linked roles that launch Batch's EC2 instances (Batch manages Auto Scaling groups for
#: on-demand and Spot Fleets for Spot capacity: https://docs.aws.amazon.com/batch/latest/userguide/
#: managed_compute_environments.html).
LAUNCHING_ROLES = (
    "autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling",
    "spot.amazonaws.com/AWSServiceRoleForEC2Spot",
    "spotfleet.amazonaws.com/AWSServiceRoleForEC2SpotFleet",
)
#: Secret-like names a plain environment variable should not have (BK-X5).
SECRET_WORDS = ("PASSWORD", "PASSWD", "SECRET", "TOKEN", "API_KEY", "APIKEY", "PRIVATE_KEY", "CREDENTIAL")

__all__ = [
    "ENCRYPT_DECRYPT",
    "LAUNCHING_ROLES",
    "SECRET_WORDS",
    "SYMMETRIC_SPEC",
    "KeyDescription",
    "KeyUser",
]
