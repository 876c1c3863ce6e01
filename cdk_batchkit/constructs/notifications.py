"""An encrypted SNS topic that EventBridge rules and CloudWatch alarms can both publish to.

SNS encrypts only with KMS, and neither EventBridge nor CloudWatch alarms can use the
AWS-managed ``alias/aws/sns`` key: they need a customer-managed key whose policy lets them
encrypt. So the topic owns one such key (rotated yearly; about $1 a month), shared by every
notification in the stack: job-state changes, workflow failures and alarms.

Who may publish, and why each statement reads as it does:

* CloudWatch alarms: ``cloudwatch.amazonaws.com`` in the topic policy and the key policy, on the condition
  ``aws:SourceAccount`` (only this account's alarms: the confused-deputy guard).
* EventBridge rules: ``events.amazonaws.com`` ``sns:Publish`` on this topic and ``kms:Decrypt``/
  ``kms:GenerateDataKey*`` on its key, with **no** source condition. EventBridge documents that "You can't use
  Condition blocks in Amazon SNS topic policies for EventBridge", and SNS that source condition keys in a KMS
  policy "are not supported for EventBridge-to-encrypted topics": a conditioned statement would leave every
  notification undelivered. The statements name this topic and its key only. Rules reach the topic through
  :class:`TopicTarget`, which adds nothing more (CDK's ``aws_events_targets.SnsTopic`` adds the same
  unconditioned grants plus an event role; EventBridge documents a ``RoleArn`` on SNS targets as a cause of
  failed deliveries to encrypted topics).

Sources: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions
(no Condition blocks for EventBridge in SNS topic policies; resource-based policies, not a RoleArn, for SNS
targets) and https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
(the key statements of event sources; no source keys for EventBridge).
"""

from __future__ import annotations

from collections.abc import Sequence

import jsii
from aws_cdk import Duration, Names
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ._validation import adopt, fail, fetched, is_token, node_path, seconds_of, service_principal, stack_env
from .encryption import KeyUser, allow, encryption_key

#: Service principals that publish notifications to a topic, and whether SNS lets their topic-policy
#: statement carry a source condition (EventBridge: no, see the module docstring).
PUBLISHERS: dict[str, bool] = {"events.amazonaws.com": False, "cloudwatch.amazonaws.com": True}


def publish_statement(
    service: str, topic_arn: str, account: str, sid: str | None = None
) -> iam.PolicyStatement:
    """``service`` may publish to the topic: this account's only where SNS supports the condition."""
    return iam.PolicyStatement(
        sid=sid,
        actions=["sns:Publish"],
        principals=[service_principal(service)],
        resources=[topic_arn],
        conditions={"StringEquals": {"aws:SourceAccount": account}} if PUBLISHERS[service] else None,
    )


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
        """
        :param display_name: the topic's display name (the sender name of e-mail and SMS notifications).
            Default: none (SNS shows the topic's name).
        :param email_addresses: addresses to subscribe (AWS e-mails each a confirmation link first; more
            with :meth:`add_email`). Default: no subscriptions.
        :param key: the customer-managed KMS key that encrypts the topic (symmetric, in the stack's Region);
            one defined in the app gets the statements EventBridge and CloudWatch alarms need, an imported
            one a synth warning naming them. Default: the :class:`BatchEncryption` key that applies here, else
            a new key, rotated yearly (about $1 a month).
        """
        super().__init__(scope, construct_id)
        shared = None if key else encryption_key(self, KeyUser.EVENTS_TO_TOPIC, KeyUser.CLOUDWATCH)
        #: The customer-managed key that encrypts the topic (Default: the :class:`BatchEncryption` key, else a
        #: new key, rotated yearly).
        self.key: kms.IKey = (
            key
            or shared
            or adopt(
                kms.Key(
                    self,
                    "Key",
                    enable_key_rotation=True,
                    description=f"Encrypts the {node_path(self)} notification topic",
                ),
                self,
                "Key",
            )
        )
        self.topic = sns.Topic(
            self, "Resource", display_name=display_name, master_key=self.key, enforce_ssl=True
        )
        account, topic_arn = stack_env(self).account, self.topic_arn
        for service in PUBLISHERS:
            self.topic.add_to_resource_policy(publish_statement(service, topic_arn, account))
        if shared is None:
            # EventBridge and alarms may publish (BK-X4); an imported key warns with the statements.
            allow(self.key, (KeyUser.EVENTS_TO_TOPIC, KeyUser.CLOUDWATCH), on=self)
        for address in email_addresses:
            self.add_email(address)

    @property
    def topic_arn(self) -> str:
        return fetched(self.topic, "topic_arn")  # type: ignore[no-any-return]

    def add_email(self, address: str) -> None:
        """Subscribe ``address`` (AWS sends a confirmation e-mail first)."""
        if not is_token(address) and (address.count("@") != 1 or address.startswith("@")):
            fail(self, "email_addresses", address, "is not an e-mail address")
        self.topic.add_subscription(subscriptions.EmailSubscription(address))

    def event_target(
        self,
        message: events.RuleTargetInput | None = None,
        *,
        dead_letter_queue: sqs.IQueue | None = None,
        retry_attempts: int | None = None,
        max_event_age: Duration | None = None,
    ) -> TopicTarget:
        """An EventBridge target publishing to this topic through its scoped policy (:class:`TopicTarget`).

        :param message: what to publish (an ``events.RuleTargetInput``). Default: the whole event.
        :param dead_letter_queue: where EventBridge puts events it could not deliver. Default: none:
            they are dropped after the retries.
        :param retry_attempts: delivery retries. Default: EventBridge's (185).
        :param max_event_age: how long EventBridge retries. Default: EventBridge's (24 hours).
        """
        return TopicTarget(
            self,
            message=message,
            dead_letter_queue=dead_letter_queue,
            retry_attempts=retry_attempts,
            max_event_age=max_event_age,
        )

    def alarm_action(self) -> cw_actions.SnsAction:
        """A CloudWatch alarm action publishing to this topic."""
        return cw_actions.SnsAction(self.topic)

    def alarm_action_arn(self) -> str:
        """The ARN an alarm's actions list to publish to this topic (its policies already let this
        account's alarms publish)."""
        return self.topic_arn


@jsii.implements(events.IRuleTarget)
class TopicTarget:
    """An EventBridge rule target that publishes to a :class:`NotificationTopic` (or an ``sns.ITopic`` whose
    policies already let this account's rules publish).

    A :class:`NotificationTopic` already lets this account's rules publish (``aws:SourceAccount`` in its
    topic and key policies), so binding adds no permission; ``aws_events_targets.SnsTopic`` would add an
    unconditioned ``events.amazonaws.com`` grant to both policies (see the module docstring). A dead-letter
    queue gets the same statement CDK's targets give it: ``sqs:SendMessage`` for ``events.amazonaws.com`` on
    the condition ``aws:SourceArn`` = this rule. Consumers given any other topic add its conditioned
    statements first (``_refs.TopicRef.event_target``).

    :param topic: the topic to publish to.
    :param message: what to publish (an ``events.RuleTargetInput``). Default: the whole event.
    :param dead_letter_queue: where EventBridge puts events it could not deliver. Default: none (they are
        dropped after the retries).
    :param retry_attempts: delivery retries. Default: EventBridge's (185).
    :param max_event_age: how long EventBridge retries. Default: EventBridge's (24 hours).
    """

    def __init__(
        self,
        topic: NotificationTopic | sns.ITopic,
        *,
        message: events.RuleTargetInput | None = None,
        dead_letter_queue: sqs.IQueue | None = None,
        retry_attempts: int | None = None,
        max_event_age: Duration | None = None,
    ) -> None:
        #: The topic (as given).
        self.topic = topic
        self._sns_topic: sns.ITopic = topic.topic if isinstance(topic, NotificationTopic) else topic
        self._message = message
        self._dead_letter_queue = dead_letter_queue
        self._retry_attempts = retry_attempts
        self._max_event_age = max_event_age

    def bind(self, rule: events.IRule, id: str | None = None) -> events.RuleTargetConfig:  # noqa: A002
        queue = self._dead_letter_queue
        if queue is not None:
            rule_arn = getattr(rule, "rule_arn", None) or rule.rule_ref.rule_arn  # type: ignore[attr-defined]
            queue.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"AllowEventRule{Names.node_unique_id(rule.node)}",
                    principals=[service_principal("events.amazonaws.com")],
                    actions=["sqs:SendMessage"],
                    resources=[queue.queue_arn],
                    conditions={"ArnEquals": {"aws:SourceArn": rule_arn}},
                )
            )
        retry = None
        attempts, age = self._retry_attempts, self._max_event_age
        if (attempts is not None and attempts >= 0) or age is not None:
            retry = events.CfnRule.RetryPolicyProperty(
                maximum_retry_attempts=attempts,
                maximum_event_age_in_seconds=int(seconds_of(age)) if age is not None else None,
            )
        return events.RuleTargetConfig(
            arn=self._sns_topic.topic_arn,
            input=self._message,
            target_resource=self._sns_topic,
            dead_letter_config=(
                events.CfnRule.DeadLetterConfigProperty(arn=queue.queue_arn) if queue is not None else None
            ),
            retry_policy=retry,
        )
