"""One customer-managed KMS key for everything the constructs store: :class:`BatchEncryption`.

``BatchEncryption(stack, "Encryption")`` (or ``key=`` an existing key) makes every construct created
*after it* under the same scope encrypt what it stores with that key: log groups (job definitions,
Lambda functions, workflows, monitoring, the network's flow log), EC2 root volumes (the hardened launch
template), SQS queues (the submitter's, every dead-letter queue), the submitter's idempotency table and
input bucket, and notification topics. Without it nothing changes: AWS-managed encryption, no key cost.

Each service that uses the key gets the key-policy statement its documentation asks for, once. A key
imported with ``kms.Key.from_key_arn`` cannot have its policy edited by CloudFormation: synth then warns
with the exact statements to add, and the IAM side (roles of Lambda functions, schedules, executions) is
still granted. A key costs $1 a month plus $0.03 per 10,000 requests (https://aws.amazon.com/kms/pricing/);
``make synth``'s plan prices each key this library creates.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable

from aws_cdk import Annotations, RemovalPolicy, Stack
from aws_cdk import aws_batch as batch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ..model.rules import register
from ._validation import fail
from .nag import _flatten, acknowledge

_LOGS = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html"
_EBS = "https://docs.aws.amazon.com/autoscaling/ec2/userguide/key-policy-requirements-EBS-encryption.html"
_EVENTS = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-troubleshooting.html"
_SNS_SQS = (
    "https://docs.aws.amazon.com/sns/latest/dg/sns-enable-encryption-for-topic-sqs-queue-subscriptions.html"
)
_SNS = "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html"
_SECRETS = "https://docs.aws.amazon.com/batch/latest/userguide/specifying-sensitive-data.html"
_DEFAULT_POLICY = "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html"

register(
    "BK-X1",
    "With a key, log groups are encrypted with it and its policy allows logs.REGION.amazonaws.com for log "
    "groups of this account and region (kms:EncryptionContext:aws:logs:arn); an imported key warns with the "
    "statement (CreateLogGroup fails without it).",
    _LOGS,
)
register(
    "BK-X2",
    "With a key, EC2 root volumes are encrypted with it and its policy lets the Auto Scaling, EC2 Spot and "
    "Spot Fleet service-linked roles use it and create grants for AWS resources; an imported key warns "
    "with both statements (instances fail to launch without them).",
    _EBS,
)
register(
    "BK-X3",
    "With a key, SQS queues are encrypted with it; its policy lets EventBridge (rule targets and "
    "dead-letter queues) and SNS (subscriptions) send, for this account only; schedule roles get "
    "GenerateDataKey/Decrypt on their dead-letter queue's key; an imported key warns with the statements.",
    f"{_EVENTS} and {_SNS_SQS}",
)
register(
    "BK-X4",
    "Notification topics are encrypted with a customer-managed key whose policy lets EventBridge and "
    "CloudWatch alarms publish (this account only); an imported key (BatchEncryption or "
    "NotificationTopic(key=)) warns with the statements instead of dropping them silently.",
    _SNS,
)
register(
    "BK-X5",
    "With a key, a job with secrets gets kms:Decrypt on it for its execution role through Secrets Manager "
    "and SSM only; a plain environment variable named like a secret warns (job definitions cannot be "
    "encrypted with a customer-managed key).",
    _SECRETS,
)
register(
    "BK-X6",
    "An imported key warns once with the account-root statement its policy needs so IAM grants (the "
    "DynamoDB table, the submitter's queue and bucket, the job roles) can use it.",
    _DEFAULT_POLICY,
)


class KeyUser(enum.Enum):
    """Who uses the key, each needing its own key-policy statement(s)."""

    #: CloudWatch Logs encrypting log groups (BK-X1).
    LOGS = "LOGS"
    #: EC2 Auto Scaling / Spot / Spot Fleet launching instances with encrypted root volumes (BK-X2).
    EBS = "EBS"
    #: EventBridge sending to encrypted queues and topics (BK-X3, BK-X4).
    EVENTS = "EVENTS"
    #: SNS delivering to an encrypted queue (BK-X3).
    SNS = "SNS"
    #: CloudWatch alarms publishing to an encrypted topic (BK-X4).
    CLOUDWATCH = "CLOUDWATCH"
    #: IAM policies of this account (the default key policy's first statement; BK-X6).
    IAM = "IAM"

    @property
    def rule_id(self) -> str:
        return {"LOGS": "BK-X1", "EBS": "BK-X2", "CLOUDWATCH": "BK-X4", "IAM": "BK-X6"}.get(
            self.value, "BK-X3"
        )


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


def statements(user: KeyUser, key: kms.IKey) -> list[iam.PolicyStatement]:
    """The key-policy statements ``user`` needs, for this account and region (the key's stack's)."""
    stack = Stack.of(key)
    account, region, partition = stack.account, stack.region, stack.partition
    this_account = {"StringEquals": {"aws:SourceAccount": account}}
    if user is KeyUser.LOGS:
        return [
            iam.PolicyStatement(
                sid="CloudWatchLogsEncryptsLogGroups",
                principals=[iam.ServicePrincipal(f"logs.{region}.amazonaws.com")],
                actions=[
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{partition}:logs:{region}:{account}:log-group:*"
                        )
                    }
                },
            )
        ]
    if user is KeyUser.EBS:
        # Principal "*" narrowed by aws:PrincipalArn: a key policy naming a service-linked role that does
        # not exist yet (a fresh account) is rejected as MalformedPolicyDocument; a condition is not.
        roles = {
            "StringEquals": {"kms:CallerAccount": account},
            "ArnLike": {
                "aws:PrincipalArn": [
                    f"arn:{partition}:iam::{account}:role/aws-service-role/{role}" for role in LAUNCHING_ROLES
                ]
            },
        }
        return [
            iam.PolicyStatement(
                sid="InstanceLaunchersUseKey",
                principals=[iam.AnyPrincipal()],
                actions=[
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:DescribeKey",
                ],
                resources=["*"],
                conditions=roles,
            ),
            iam.PolicyStatement(
                sid="InstanceLaunchersCreateGrants",
                principals=[iam.AnyPrincipal()],
                actions=["kms:CreateGrant"],
                resources=["*"],
                conditions={**roles, "Bool": {"kms:GrantIsForAWSResource": "true"}},
            ),
        ]
    if user is KeyUser.IAM:
        return [
            iam.PolicyStatement(
                sid="EnableIamPolicies",
                principals=[iam.AccountRootPrincipal()],
                actions=["kms:*"],
                resources=["*"],
            )
        ]
    service = {KeyUser.EVENTS: "events", KeyUser.SNS: "sns", KeyUser.CLOUDWATCH: "cloudwatch"}[user]
    return [
        iam.PolicyStatement(
            sid=f"{service.capitalize()}SendsEncrypted",
            principals=[iam.ServicePrincipal(f"{service}.amazonaws.com")],
            actions=["kms:Decrypt", "kms:GenerateDataKey*"],
            resources=["*"],
            conditions=this_account,
        )
    ]


def allow(key: kms.IKey, users: Iterable[KeyUser], *, on: Construct) -> None:
    """Let ``users`` use ``key``: their statements in its key policy when this app owns the key, else one
    synth warning per user on ``on`` with the statements to add. ``on`` remembers what was done (once each).
    """
    done: set[KeyUser] = on.__dict__.setdefault("_batchkit_key_users", set())
    owned = isinstance(key, kms.Key)
    for user in [KeyUser.IAM, *users] if not owned else users:
        if user in done:
            continue
        done.add(user)
        if owned:
            for statement in statements(user, key):
                key.add_to_resource_policy(statement)
            continue
        text = json.dumps(
            [_flat(Stack.of(on).resolve(s.to_statement_json())) for s in statements(user, key)],
            sort_keys=True,
        )
        Annotations.of(on).add_warning_v2(
            f"batchkit:{user.rule_id}:{user.name}",
            f"{on.node.path}: [{user.rule_id}] the key {Stack.of(on).resolve(key.key_arn)!r} is imported, so "
            f"its key policy cannot be edited here; add these statements to it or {_why(user)}: {text}",
        )


def _flat(value: object) -> object:
    """A resolved policy, each intrinsic spelled as ``<AWS::Region>``-style text (readable in a warning)."""
    if isinstance(value, dict) and any(k.startswith("Fn::") or k == "Ref" for k in value):
        return _flatten(value)
    if isinstance(value, dict):
        return {k: _flat(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_flat(v) for v in value]
    return value


def _why(user: KeyUser) -> str:
    return {
        KeyUser.LOGS: "CreateLogGroup fails (CloudWatch Logs cannot use the key)",
        KeyUser.EBS: "Batch's instances fail to launch (their encrypted root volume cannot be created)",
        KeyUser.EVENTS: "EventBridge cannot deliver to the encrypted queues and topics (events are dropped)",
        KeyUser.SNS: "SNS cannot deliver to the encrypted queue",
        KeyUser.CLOUDWATCH: "alarm notifications are never published",
        KeyUser.IAM: "the IAM grants of this app's roles (table, queues, bucket, secrets) have no effect",
    }[user]


class BatchEncryption(Construct):
    """Encrypt everything the constructs created after this one under ``scope`` store with one
    customer-managed KMS key (log groups, EC2 root volumes, SQS queues, the idempotency table, the input
    bucket and notification topics), with the key policy each service needs.

    :param key: the key. Default: a new symmetric key, rotated yearly, retained when the stack is
        deleted (encrypted logs and volumes stay readable). An imported key (``kms.Key.from_key_arn``)
        is used as it is: synth warns with the key-policy statements to add (BK-X1 to BK-X6).

    Create it first: constructs created before it (or outside ``scope``) keep AWS-managed encryption,
    and synth fails if one already exists under ``scope``. Attribute: ``key``.
    """

    def __init__(
        self, scope: Construct, construct_id: str = "Encryption", *, key: kms.IKey | None = None
    ) -> None:
        early = [c.node.path for c in scope.node.find_all() if c.__dict__.get(_ASKED)]
        if early:
            fail(
                scope,
                "BatchEncryption",
                construct_id,
                f"create it before the constructs it encrypts; these already chose their encryption: "
                f"{', '.join(early[:5])}",
            )
        if scope.__dict__.get(_ATTR) is not None:
            fail(scope, "BatchEncryption", construct_id, "this scope already has one")
        super().__init__(scope, construct_id)
        #: The customer-managed key everything under the scope is encrypted with.
        self.key: kms.IKey = key or kms.Key(
            self,
            "Key",
            enable_key_rotation=True,
            description=f"cdk-batchkit: encrypts what the constructs under {scope.node.path or 'the app'} "
            "store",
            removal_policy=RemovalPolicy.RETAIN,
        )
        #: Whether the key policy is managed by this app (False for an imported key).
        self.owned = isinstance(self.key, kms.Key)
        if not self.owned:
            allow(self.key, (), on=self)  # the IAM delegation statement (BK-X6), once
        scope.__dict__[_ATTR] = self
        _CREATED[0] = True

    @staticmethod
    def of(scope: Construct) -> BatchEncryption | None:
        """The :class:`BatchEncryption` that applies to ``scope`` (the nearest enclosing one), if any."""
        scope.__dict__[_ASKED] = True
        if not _CREATED[0]:
            return None  # none was ever created in this process: no walk up the tree (no jsii round trip)
        cached = scope.__dict__.get(_FOUND, _UNSET)
        if cached is not _UNSET:
            return cached  # type: ignore[no-any-return]
        found = None
        for node in reversed(scope.node.scopes):
            found = node.__dict__.get(_ATTR) if hasattr(node, "__dict__") else None
            if found is not None:
                break
        # A BatchEncryption must be created before the constructs it encrypts (its constructor refuses a
        # scope where one was already asked), so the answer for a scope never changes once given.
        scope.__dict__[_FOUND] = found
        return found


_ATTR = "_batchkit_encryption"
_ASKED = "_batchkit_encryption_asked"
_FOUND = "_batchkit_encryption_found"
_UNSET = object()
#: Whether a BatchEncryption was ever created in this process; until then every answer is None.
_CREATED = [False]


def encryption_key(scope: Construct, *users: KeyUser) -> kms.IKey | None:
    """The key that applies to ``scope`` (see :class:`BatchEncryption`), with ``users`` allowed on it;
    None (AWS-managed encryption) without one."""
    found = BatchEncryption.of(scope)
    if found is None:
        return None
    allow(found.key, users, on=found)
    return found.key


def acknowledge_key_grants(scope: Construct) -> None:
    """With a key: the L2 grants on an encrypted table, queue or bucket name the KMS action families
    (``kms:GenerateDataKey*``, ``kms:ReEncrypt*``) on that one key; acknowledge those two findings only, on
    the grantee role or a construct holding it."""
    if BatchEncryption.of(scope) is None:
        return
    for action in ("kms:GenerateDataKey*", "kms:ReEncrypt*"):
        acknowledge(
            scope,
            "IAM5",
            "The L2 grant for a resource encrypted with the BatchEncryption key: the action family is on "
            "that one key only (resources are the key's ARN), as the L2 table/queue/bucket grants define it.",
            applies_to=f"Action::{action}",
        )


def grant_queue_key(grantee: iam.IGrantable, queue: sqs.IQueue) -> None:
    """Let ``grantee`` send to ``queue`` when it is KMS-encrypted (SQS calls KMS as the sender)."""
    if queue.encryption_master_key is not None:
        queue.encryption_master_key.grant(grantee, "kms:Decrypt", "kms:GenerateDataKey")


def grant_secrets_key(definition: Construct, has_secrets: bool) -> None:
    """The execution roles of ``definition``'s containers may decrypt secrets encrypted with the key,
    through Secrets Manager and SSM only (BK-X5)."""
    found = BatchEncryption.of(definition)
    if found is None or not has_secrets:
        return
    region = Stack.of(definition).region
    via = [f"secretsmanager.{region}.amazonaws.com", f"ssm.{region}.amazonaws.com"]
    statement = iam.PolicyStatement(
        actions=["kms:Decrypt"],
        resources=[found.key.key_arn],
        conditions={"StringEquals": {"kms:ViaService": via}},
    )
    kinds = (batch.EcsEc2ContainerDefinition, batch.EcsFargateContainerDefinition)
    roles = {id(c.execution_role): c.execution_role for c in definition.node.children if isinstance(c, kinds)}
    for role in roles.values():
        role.add_to_principal_policy(statement)


def warn_plain_secrets(scope: Construct, environment: Iterable[str]) -> None:
    """BK-X5: with a key, warn about plain environment variables named like secrets."""
    if BatchEncryption.of(scope) is None:
        return
    names = sorted(n for n in environment if any(w in n.upper() for w in SECRET_WORDS))
    if names:
        Annotations.of(scope).add_warning_v2(
            "batchkit:BK-X5:plain-secret",
            f"{scope.node.path}: [BK-X5] environment variable(s) {', '.join(names)} are stored in plain text "
            "in the job definition, which Batch cannot encrypt with a customer-managed key; pass them as "
            "secrets= (Secrets Manager or SSM SecureString encrypted with the key) instead.",
        )
