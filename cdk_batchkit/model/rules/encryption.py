"""Customer-managed KMS keys (BK-X1 to BK-X8): what each service needs in the key policy, and which keys
can be used at all.

BK-X1 to BK-X4 and BK-X6 decide the key-policy statements (IAM policy JSON) a service needs, for the
account, Region and partition given (plain strings or token strings: the construct turns the statements
into ``iam.PolicyStatement`` and resolves them); :func:`key_statements` picks them per :class:`KeyUser`.
BK-X5, BK-X7 and BK-X8 are value rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ..keys import ENCRYPT_DECRYPT, LAUNCHING_ROLES, SECRET_WORDS, SYMMETRIC_SPEC, KeyDescription, KeyUser
from ..values import is_unresolved
from ._registry import Problem, rule

_LOGS = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html"
_EBS = "https://docs.aws.amazon.com/autoscaling/ec2/userguide/key-policy-requirements-EBS-encryption.html"
_EVENTS = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-troubleshooting.html"
_SNS_SQS = (
    "https://docs.aws.amazon.com/sns/latest/dg/sns-enable-encryption-for-topic-sqs-queue-subscriptions.html"
)
_SNS = "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html"
#: "You can't use Condition blocks in Amazon SNS topic policies for EventBridge."
_EVENTS_SNS = (
    "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions"
)
_SECRETS = "https://docs.aws.amazon.com/batch/latest/userguide/specifying-sensitive-data.html"
_DEFAULT_POLICY = "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html"
_KEY_TYPES = "https://docs.aws.amazon.com/kms/latest/developerguide/symm-asymm-compare.html"
_MULTI_REGION = "https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-keys-overview.html"
_EBS_API = "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyEbsDefaultKmsKeyId.html"

Statement = dict[str, Any]


@rule(
    "BK-X1",
    "With a key, log groups are encrypted with it and its policy allows logs.REGION.amazonaws.com for log "
    "groups of this account and region (kms:EncryptionContext:aws:logs:arn); an imported key warns with the "
    "statement (CreateLogGroup fails without it).",
    _LOGS,
)
def log_group_key_statements(account: str, region: str, partition: str) -> list[Statement]:
    log_groups = f"arn:{partition}:logs:{region}:{account}:log-group:*"
    return [
        {
            "Sid": "CloudWatchLogsEncryptsLogGroups",
            "Effect": "Allow",
            "Principal": {"Service": f"logs.{region}.amazonaws.com"},
            "Action": [
                "kms:Encrypt*",
                "kms:Decrypt*",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:Describe*",
            ],
            "Resource": "*",
            "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
        }
    ]


@rule(
    "BK-X2",
    "With a key, EC2 root volumes are encrypted with it and its policy lets the Auto Scaling, EC2 Spot and "
    "Spot Fleet service-linked roles use it and create grants for AWS resources; an imported key warns "
    "with both statements (instances fail to launch without them).",
    _EBS,
)
def instance_launcher_key_statements(account: str, partition: str) -> list[Statement]:
    # Principal "*" narrowed by aws:PrincipalArn: a key policy naming a service-linked role that does not
    # exist yet (a fresh account) is rejected as MalformedPolicyDocument; a condition is not.
    roles = {
        "StringEquals": {"kms:CallerAccount": account},
        "ArnLike": {
            "aws:PrincipalArn": [
                f"arn:{partition}:iam::{account}:role/aws-service-role/{role}" for role in LAUNCHING_ROLES
            ]
        },
    }
    return [
        {
            "Sid": "InstanceLaunchersUseKey",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": [
                "kms:Encrypt",
                "kms:Decrypt",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:DescribeKey",
            ],
            "Resource": "*",
            "Condition": roles,
        },
        {
            "Sid": "InstanceLaunchersCreateGrants",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "kms:CreateGrant",
            "Resource": "*",
            "Condition": {**roles, "Bool": {"kms:GrantIsForAWSResource": "true"}},
        },
    ]


def _sender(service: str, account: str) -> Statement:
    return {
        "Sid": f"{service.capitalize()}SendsEncrypted",
        "Effect": "Allow",
        "Principal": {"Service": f"{service}.amazonaws.com"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:SourceAccount": account}},
    }


@rule(
    "BK-X3",
    "With a key, SQS queues are encrypted with it; its policy lets EventBridge (rule targets and "
    "dead-letter queues) and SNS (subscriptions) send, for this account only; schedule roles get "
    "GenerateDataKey/Decrypt on their dead-letter queue's key; an imported key warns with the statements.",
    f"{_EVENTS} and {_SNS_SQS}",
)
def sender_key_statements(service: str, account: str) -> list[Statement]:
    """``service``: ``events`` (EventBridge delivering to encrypted queues) or ``sns``."""
    return [_sender(service, account)]


@rule(
    "BK-X4",
    "Notification topics are encrypted with a customer-managed key whose policy lets CloudWatch alarms "
    "publish (this account only) and EventBridge publish (without a source condition: SNS documents that "
    "aws:SourceAccount/aws:SourceArn/aws:SourceOrgID in a KMS policy are not supported for "
    "EventBridge-to-encrypted topics); an imported key (BatchEncryption or NotificationTopic(key=)) warns "
    "with the statements instead of dropping them silently.",
    f"{_SNS}#compatibility-with-aws-services and {_EVENTS_SNS}",
)
def topic_publisher_key_statements(user: KeyUser, account: str) -> list[Statement]:
    """CloudWatch alarms (``KeyUser.CLOUDWATCH``) or EventBridge (``KeyUser.EVENTS_TO_TOPIC``) publishing to
    an encrypted topic."""
    if user is KeyUser.CLOUDWATCH:
        return [_sender("cloudwatch", account)]
    return [
        {
            "Sid": "EventsPublishesToTopics",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
        }
    ]


@rule(
    "BK-X6",
    "An imported key warns once with the account-root statement its policy needs so IAM grants (the "
    "DynamoDB table, the submitter's queue and bucket, the job roles) can use it.",
    _DEFAULT_POLICY,
)
def iam_delegation_key_statements(account: str, partition: str) -> list[Statement]:
    return [
        {
            "Sid": "EnableIamPolicies",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]


def key_statements(user: KeyUser, *, account: str, region: str, partition: str) -> list[Statement]:
    """The key-policy statements ``user`` needs (the rule of ``user.rule_id`` decides them)."""
    if user is KeyUser.LOGS:
        return log_group_key_statements(account, region, partition)
    if user is KeyUser.EBS:
        return instance_launcher_key_statements(account, partition)
    if user is KeyUser.IAM:
        return iam_delegation_key_statements(account, partition)
    if user in (KeyUser.CLOUDWATCH, KeyUser.EVENTS_TO_TOPIC):
        return topic_publisher_key_statements(user, account)
    return sender_key_statements("events" if user is KeyUser.EVENTS else "sns", account)


@rule(
    "BK-X5",
    "With a key, a job with secrets gets kms:Decrypt on it for its execution role through Secrets Manager "
    "and SSM only; a plain environment variable named like a secret warns (job definitions cannot be "
    "encrypted with a customer-managed key).",
    _SECRETS,
    warning=True,
)
def plain_secret_names(names: Iterable[str], prop: str = "environment") -> Iterator[Problem]:
    """One warning naming every plain environment variable whose name looks like a secret."""
    found = sorted(
        n
        for n in names
        if isinstance(n, str) and not is_unresolved(n) and any(w in n.upper() for w in SECRET_WORDS)
    )
    if found:
        yield Problem(
            prop,
            found,
            f"[BK-X5] environment variable(s) {', '.join(found)} are stored in plain text in the job "
            "definition, which Batch cannot encrypt with a customer-managed key; pass them as secrets= "
            "(Secrets Manager or SSM SecureString encrypted with the key) instead.",
            code="batchkit:BK-X5:plain-secret",
        )


@rule(
    "BK-X7",
    "A key given to BatchEncryption or NotificationTopic is a symmetric encryption key (SYMMETRIC_DEFAULT, "
    "ENCRYPT_DECRYPT): CloudWatch Logs, EBS, S3, SQS, SNS and DynamoDB encrypt with data keys "
    "(GenerateDataKey), which asymmetric and HMAC keys cannot make; an imported key, whose spec synth "
    "cannot see, warns.",
    f"{_KEY_TYPES} (GenerateDataKey: symmetric encryption KMS keys only) and {_LOGS} (CloudWatch Logs "
    f"supports only symmetric keys) and {_EBS_API} (Amazon EBS does not support asymmetric KMS keys)",
)
def key_is_symmetric(key: KeyDescription) -> Iterator[Problem]:
    symmetric = key.symmetric
    if symmetric is False:
        yield Problem(
            "key",
            key.label,
            f"is a {key.key_spec} key for {key.key_usage}; the services that encrypt with it (CloudWatch "
            f"Logs, EBS, S3, SQS, SNS, DynamoDB) need a symmetric encryption key ({SYMMETRIC_SPEC}, "
            f"{ENCRYPT_DECRYPT}): they encrypt with data keys, which only those keys generate",
        )
    elif symmetric is None:
        yield Problem(
            "key",
            key.label,
            f"{key.label} is imported, so synth cannot see its key spec: it must be a symmetric "
            f"encryption key ({SYMMETRIC_SPEC}, {ENCRYPT_DECRYPT}) or CloudWatch Logs, EBS, S3, SQS, SNS "
            "and DynamoDB refuse it when they first encrypt",
            warning=True,
            code="batchkit:BK-X7",
        )


@rule(
    "BK-X8",
    "A key given to BatchEncryption or NotificationTopic is in the stack's Region (each service encrypts "
    "with keys of its own Region; a multi-Region key is used through its replica there); a key whose "
    "Region synth cannot compare with the stack's (an environment-agnostic stack) warns.",
    f"{_MULTI_REGION} and https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CopyImage.html "
    "(the specified KMS key must exist in the destination Region)",
)
def key_in_region(key: KeyDescription, region: str | None) -> Iterator[Problem]:
    """``region``: the stack's Region (a token string when the stack is environment-agnostic)."""
    if key.region is None or region is None or key.region == region:
        return
    if is_unresolved(key.region) or is_unresolved(region):
        where = key.region if not is_unresolved(key.region) else None
        yield Problem(
            "key",
            key.label,
            (
                f"{key.label} is in {where}: deploy this stack to {where}, because the services that "
                "encrypt with the key use keys of their own Region"
                if where
                else f"{key.label} may be in another Region than this stack (synth cannot tell): the "
                "services that encrypt with it use keys of their own Region only"
            ),
            warning=True,
            code="batchkit:BK-X8",
        )
        return
    yield Problem(
        "key",
        key.label,
        f"is in {key.region} but the stack deploys to {region}: CloudWatch Logs, EBS, SQS, SNS, S3 and "
        "DynamoDB use keys of their own Region (use a key in this Region, or a multi-Region key's replica "
        "here)",
    )


def check_key(key: KeyDescription, region: str | None) -> list[Problem]:
    """BK-X7 and BK-X8 on a key given to a construct."""
    return [*key_is_symmetric(key), *key_in_region(key, region)]


__all__ = [
    "check_key",
    "iam_delegation_key_statements",
    "instance_launcher_key_statements",
    "key_in_region",
    "key_is_symmetric",
    "key_statements",
    "log_group_key_statements",
    "plain_secret_names",
    "sender_key_statements",
    "topic_publisher_key_statements",
]
