"""Topics and workflows as every consumer sees them, whatever the user passed.

A consumer that notifies (``Workflow(topic=)``, ``JobStateNotifications``, ``WorkflowNotifications``) takes
this library's :class:`NotificationTopic` or any ``sns.ITopic`` (a topic of the app or an imported one); one
that starts or watches a workflow (``ObjectCreatedTrigger``, ``WorkflowSchedule``, ``WorkflowNotifications``)
takes a :class:`~cdk_batchkit.constructs.Workflow` or any ``sfn.IStateMachine``. :func:`topic_ref` and
:func:`state_machine_ref` turn either into one value, as ``_binding.queue_ref`` does for queues.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from aws_cdk import Annotations, Duration, Stack
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct, IConstruct, Node

from ..model.keys import KeyUser
from .encryption import allow
from .notifications import NotificationTopic, TopicTarget

#: The warning an imported topic gets when EventBridge must publish to it.
TOPIC_POLICY_WARNING = "batchkit:topic-policy"
_EVENTS_ALLOWED = "_batchkit_events_may_publish"


class _HasStateMachine(Protocol):
    @property
    def node(self) -> Node: ...

    @property
    def state_machine(self) -> sfn.IStateMachine: ...


#: What consumers accept as a topic.
TopicLike = NotificationTopic | sns.ITopic
#: What consumers accept as a workflow: a :class:`~cdk_batchkit.constructs.Workflow` or any state machine.
WorkflowLike = _HasStateMachine | sfn.IStateMachine


@dataclass(frozen=True)
class TopicRef:
    """A topic: the ``sns.ITopic``, the KMS key that encrypts it (None: none, or AWS-managed) and whether its
    own policies already let this account's EventBridge rules and alarms publish (a
    :class:`NotificationTopic`)."""

    topic: sns.ITopic
    key: kms.IKey | None
    label: str
    scoped: bool = False

    @property
    def topic_arn(self) -> str:
        return self.topic.topic_arn

    def event_target(
        self,
        scope: Construct,
        message: events.RuleTargetInput | None = None,
        *,
        dead_letter_queue: sqs.IQueue | None = None,
        retry_attempts: int | None = None,
        max_event_age: Duration | None = None,
    ) -> TopicTarget:
        """An EventBridge target publishing to the topic. A topic that is not a :class:`NotificationTopic`
        gets the statement EventBridge needs, conditioned on this account (``aws:SourceAccount``), in its
        topic policy and, when a key of the app encrypts it, its key policy (once per topic); an imported
        topic or key cannot be edited: a synth warning on ``scope`` names the statements to add."""
        if not self.scoped:
            _let_events_publish(self.topic, self.key, scope)
        return TopicTarget(
            self.topic,
            message=message,
            dead_letter_queue=dead_letter_queue,
            retry_attempts=retry_attempts,
            max_event_age=max_event_age,
        )

    def alarm_action(self) -> cw_actions.SnsAction:
        """A CloudWatch alarm action publishing to the topic. A topic that is not a
        :class:`NotificationTopic` and is encrypted with a key gets the key-policy statement CloudWatch needs
        (BK-X4; a key of the app: added once; an imported key: a synth warning naming it)."""
        if not self.scoped and self.key is not None:
            allow(self.key, (KeyUser.CLOUDWATCH,), on=self.topic)  # type: ignore[arg-type]
        return cw_actions.SnsAction(self.topic)

    def add_email(self, address: str) -> None:
        """Subscribe ``address`` (AWS sends a confirmation e-mail first)."""
        self.topic.add_subscription(subscriptions.EmailSubscription(address))

    def grant_publish(self, grantee: iam.IGrantable) -> None:
        """Let ``grantee`` publish (``sns:Publish`` on the topic; ``kms:GenerateDataKey``/``kms:Decrypt`` on
        its key, which SNS uses on the publisher's behalf)."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["sns:Publish"], resources=[self.topic.topic_arn])
        )
        if self.key is not None:
            grantee.grant_principal.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[self.key.key_arn]
                )
            )


def topic_ref(topic: Any) -> TopicRef:
    """A :class:`NotificationTopic` (its topic, its key, its scoped policies) or any ``sns.ITopic`` (its
    ``master_key``); anything else is a ``TypeError`` naming what is accepted."""
    if isinstance(topic, NotificationTopic):
        return TopicRef(topic.topic, topic.key, topic.node.path, scoped=True)
    if not hasattr(topic, "topic_arn"):
        raise TypeError(f"{topic!r} is not a topic (a NotificationTopic or any sns.ITopic)")
    return TopicRef(topic, topic.master_key, topic.node.path)


def state_machine_ref(workflow: Any) -> sfn.IStateMachine:
    """A :class:`~cdk_batchkit.constructs.Workflow`'s state machine, or any ``sfn.IStateMachine`` itself;
    anything else is a ``TypeError`` naming what is accepted."""
    machine = getattr(workflow, "state_machine", None)
    if machine is not None and hasattr(machine, "state_machine_arn"):
        return machine  # type: ignore[no-any-return]
    if hasattr(workflow, "state_machine_arn"):
        return workflow  # type: ignore[no-any-return]
    raise TypeError(f"{workflow!r} is not a workflow (a Workflow or any sfn.IStateMachine)")


def _let_events_publish(topic: sns.ITopic, key: kms.IKey | None, scope: IConstruct) -> None:
    """EventBridge publishes to an SNS target through the topic's resource policy (and, for an encrypted
    topic, the key policy): https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html.
    With no source condition: "You can't use Condition blocks in Amazon SNS topic policies for EventBridge"
    (the same page; BK-G2 accepts exactly this statement)."""
    if topic.__dict__.get(_EVENTS_ALLOWED):
        return
    topic.__dict__[_EVENTS_ALLOWED] = True
    stack = Stack.of(topic)
    statement = iam.PolicyStatement(
        sid="EventBridgePublishes",
        actions=["sns:Publish"],
        principals=[iam.ServicePrincipal("events.amazonaws.com")],
        resources=[topic.topic_arn],
    )
    if not topic.add_to_resource_policy(statement).statement_added:
        text = json.dumps(stack.resolve(statement.to_statement_json()), sort_keys=True)
        Annotations.of(scope).add_warning_v2(
            TOPIC_POLICY_WARNING,
            f"{scope.node.path}: topic {stack.resolve(topic.topic_arn)!r} is imported, so its policy cannot "
            f"be edited here; add this statement to it, or EventBridge cannot publish the notifications: "
            f"{text}",
        )
    if key is not None:
        allow(key, (KeyUser.EVENTS_TO_TOPIC,), on=topic)  # type: ignore[arg-type]
