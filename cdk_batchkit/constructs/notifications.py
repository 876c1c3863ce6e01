"""An encrypted SNS topic that EventBridge rules and CloudWatch alarms can both publish to.

SNS encrypts only with KMS, and neither EventBridge nor CloudWatch alarms can use the
AWS-managed ``alias/aws/sns`` key: they need a customer-managed key whose policy lets them
encrypt. So the topic owns one such key (rotated yearly; about $1 a month), shared by every
notification in the stack: job-state changes, workflow failures and alarms.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from ._validation import fail, is_token
from .encryption import KeyUser, allow, encryption_key

#: Service principals that publish notifications to the topic.
PUBLISHERS = ("events.amazonaws.com", "cloudwatch.amazonaws.com")


class NotificationTopic(Construct):
    """A KMS-encrypted, TLS-only SNS topic for Batch notifications and alarms.

    Attributes: ``topic``, ``key``. Subscribe with :meth:`add_email` (or ``topic.add_subscription``);
    use :meth:`event_target` for EventBridge rules and :meth:`alarm_action` for alarms.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        display_name: str | None = None,
        email_addresses: Sequence[str] = (),
        key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        shared = None if key else encryption_key(self, KeyUser.EVENTS, KeyUser.CLOUDWATCH)
        #: The customer-managed key that encrypts the topic (Default: the :class:`BatchEncryption` key, else a
        #: new key, rotated yearly).
        self.key: kms.IKey = (
            key
            or shared
            or kms.Key(
                self,
                "Key",
                enable_key_rotation=True,
                description=f"Encrypts the {self.node.path} notification topic",
            )
        )
        self.topic = sns.Topic(
            self, "Resource", display_name=display_name, master_key=self.key, enforce_ssl=True
        )
        account = Stack.of(self).account
        for service in PUBLISHERS:
            principal = iam.ServicePrincipal(service)
            # Only on behalf of this account's rules and alarms (confused-deputy guard).
            self.topic.add_to_resource_policy(
                iam.PolicyStatement(
                    actions=["sns:Publish"],
                    principals=[principal],
                    resources=[self.topic.topic_arn],
                    conditions={"StringEquals": {"aws:SourceAccount": account}},
                )
            )
        if shared is None:
            # EventBridge and alarms may publish (BK-X4); an imported key warns with the statements.
            allow(self.key, (KeyUser.EVENTS, KeyUser.CLOUDWATCH), on=self)
        for address in email_addresses:
            self.add_email(address)

    @property
    def topic_arn(self) -> str:
        return self.topic.topic_arn

    def add_email(self, address: str) -> None:
        """Subscribe ``address`` (AWS sends a confirmation e-mail first)."""
        if not is_token(address) and (address.count("@") != 1 or address.startswith("@")):
            fail(self, "email_addresses", address, "is not an e-mail address")
        self.topic.add_subscription(subscriptions.EmailSubscription(address))

    def event_target(self, message: object | None = None) -> targets.SnsTopic:
        """An EventBridge target publishing to this topic (``message``: an ``events.RuleTargetInput``)."""
        return targets.SnsTopic(self.topic, message=message)  # type: ignore[arg-type]

    def alarm_action(self) -> cw_actions.SnsAction:
        """A CloudWatch alarm action publishing to this topic."""
        return cw_actions.SnsAction(self.topic)
