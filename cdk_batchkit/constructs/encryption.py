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

import json
from collections.abc import Iterable

from aws_cdk import Annotations, RemovalPolicy, Stack
from aws_cdk import aws_batch as batch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ..model.keys import LAUNCHING_ROLES, SECRET_WORDS, KeyDescription, KeyUser
from ..model.rules.encryption import check_key, key_statements, plain_secret_names
from ..model.values import is_unresolved
from ._binding import add_to_principal
from ._validation import (
    UNKNOWN,
    adopt,
    default_child,
    fail,
    fetched,
    known_parent,
    node_of,
    node_path,
    parent_of,
    report,
    stack_env,
)
from .nag import _flatten, acknowledge_findings

__all__ = [
    "LAUNCHING_ROLES",
    "SECRET_WORDS",
    "BatchEncryption",
    "KeyUser",
    "acknowledge_key_grants",
    "allow",
    "describe_key",
    "encryption_key",
    "grant_queue_key",
    "grant_secrets_key",
    "statements",
    "warn_plain_secrets",
]


def _statement_json(user: KeyUser, key: kms.IKey) -> list[dict[str, object]]:
    """The key-policy statements ``user`` needs as IAM JSON (BK-X1 to BK-X4, BK-X6 decide them), for the
    account, Region and partition of the key's stack."""
    env = stack_env(key)
    return key_statements(user, account=env.account, region=env.region, partition=env.partition)


def statements(user: KeyUser, key: kms.IKey) -> list[iam.PolicyStatement]:
    """The key-policy statements ``user`` needs, for this account and region (the key's stack's)."""
    return [iam.PolicyStatement.from_json(s) for s in _statement_json(user, key)]


def describe_key(key: kms.IKey) -> KeyDescription:
    """What synth knows about ``key`` (BK-X7, BK-X8): the spec and usage of a ``kms.Key`` of the app, the
    Region of its ARN or stack; nothing about an imported key's spec."""
    region = key.env.region
    if isinstance(key, kms.Key):
        cfn = default_child(key)
        assert isinstance(cfn, kms.CfnKey)
        return KeyDescription(
            label=node_path(key),
            key_spec=cfn.key_spec or "SYMMETRIC_DEFAULT",
            key_usage=cfn.key_usage or "ENCRYPT_DECRYPT",
            region=region,
        )
    arn = key.key_arn
    return KeyDescription(
        label=arn if not is_unresolved(arn) else node_path(key),
        key_spec=None,
        key_usage=None,
        region=region,
        imported=True,
    )


def _check_key_once(key: kms.IKey, on: Construct) -> None:
    """BK-X7 and BK-X8 on a key given to ``on`` (once per key; a key ``on`` created itself is known good)."""
    checked: set[int] = on.__dict__.setdefault("_batchkit_keys_checked", set())
    if id(key) in checked:
        return
    checked.add(id(key))
    if parent_of(key) is on:
        return
    report(on, check_key(describe_key(key), stack_env(on).region))


def allow(key: kms.IKey, users: Iterable[KeyUser], *, on: Construct) -> None:
    """Let ``users`` use ``key``: their statements in its key policy when this app owns the key, else one
    synth warning per user on ``on`` with the statements to add. ``on`` remembers what was done (once each).
    """
    _check_key_once(key, on)
    done: set[KeyUser] = on.__dict__.setdefault("_batchkit_key_users", set())
    owned = key if isinstance(key, kms.Key) else None  # this app's key: its policy can be edited here
    added: list[iam.PolicyStatement] = []
    for user in [KeyUser.IAM, *users] if owned is None else users:
        if user in done:
            continue
        done.add(user)
        if owned is not None:
            added += statements(user, owned)
            continue
        text = json.dumps(
            [_flat(Stack.of(on).resolve(s)) for s in _statement_json(user, key)],
            sort_keys=True,
        )
        arn = Stack.of(on).resolve(key.key_arn)
        Annotations.of(on).add_warning_v2(
            f"batchkit:{user.rule_id}:{user.name}",
            f"{node_path(on)}: [{user.rule_id}] the key {arn!r} is imported, so "
            f"its key policy cannot be edited here; add these statements to it or {_why(user)}: {text}",
        )
    if owned is not None and added:
        _add_to_key_policy(owned, added)


def _add_to_key_policy(key: kms.Key, added: list[iam.PolicyStatement]) -> None:
    """What ``key.add_to_resource_policy`` does for each statement (append it to the key's policy document;
    nothing when the key has none), in one round trip: each ``add_to_resource_policy`` costs three, its
    result being a struct Python reads field by field."""
    document: iam.PolicyDocument | None = fetched(key, "_policy")
    if document is not None:
        document.add_statements(*added)


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
        KeyUser.EVENTS: "EventBridge cannot deliver to the encrypted queues (events are dropped)",
        KeyUser.EVENTS_TO_TOPIC: "EventBridge cannot publish to the encrypted topic (notifications dropped)",
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
        early = [node_path(c) for c in scope.node.find_all() if c.__dict__.get(_ASKED)]
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
        self.key: kms.IKey = key or adopt(
            kms.Key(
                self,
                "Key",
                enable_key_rotation=True,
                description="cdk-batchkit: encrypts what the constructs under "
                f"{node_path(scope) or 'the app'} store",
                removal_policy=RemovalPolicy.RETAIN,
            ),
            self,
            "Key",
        )
        #: Whether the key policy is managed by this app (False for an imported key).
        self.owned = isinstance(self.key, kms.Key)
        if key is not None:
            _check_key_once(key, self)  # BK-X7, BK-X8
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
        found = scope.__dict__.get(_ATTR)
        parent = known_parent(scope) if found is None else None
        if parent is None:
            pass  # its own, or the root
        elif parent is not UNKNOWN:
            # A construct whose parent Python knows (adopt): its parent's answer, asked once per scope, so
            # the tree is walked in Node once per stack. Asking marks the parents too: each holds the
            # construct that asked, so a BatchEncryption created on one later is refused all the same.
            found = BatchEncryption.of(parent)
        else:
            for node in reversed(node_of(scope).scopes):
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
    reason = (
        "The L2 grant for a resource encrypted with the BatchEncryption key: the action family is on "
        "that one key only (resources are the key's ARN), as the L2 table/queue/bucket grants define it."
    )
    acknowledge_findings(
        scope, "IAM5", {f"Action::{action}": reason for action in ("kms:GenerateDataKey*", "kms:ReEncrypt*")}
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
    region = stack_env(definition).region
    via = [f"secretsmanager.{region}.amazonaws.com", f"ssm.{region}.amazonaws.com"]
    statement = iam.PolicyStatement(
        actions=["kms:Decrypt"],
        resources=[found.key.key_arn],
        conditions={"StringEquals": {"kms:ViaService": via}},
    )
    kinds = (batch.EcsEc2ContainerDefinition, batch.EcsFargateContainerDefinition)
    roles = {
        id(c.execution_role): c.execution_role for c in node_of(definition).children if isinstance(c, kinds)
    }
    for role in roles.values():
        add_to_principal(role, statement)


def warn_plain_secrets(scope: Construct, environment: Iterable[str]) -> None:
    """BK-X5: with a key, warn about plain environment variables named like secrets."""
    if BatchEncryption.of(scope) is None:
        return
    report(scope, plain_secret_names(environment))
