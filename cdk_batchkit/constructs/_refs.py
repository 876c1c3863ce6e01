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
from ._validation import fetched
from .encryption import allow
from .notifications import NotificationTopic, TopicTarget, publish_statement

#: The warning an imported topic gets when EventBridge or CloudWatch alarms must publish to it.
TOPIC_POLICY_WARNING = "batchkit:topic-policy"
_PUBLISHERS_ALLOWED = "_batchkit_services_may_publish"


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
        return fetched(self.topic, "topic_arn")  # type: ignore[no-any-return]

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
        gets the statement EventBridge needs in its topic policy (``sns:Publish``, no condition: SNS topic
        policies for EventBridge cannot use one) and, when a key of the app encrypts it, its key policy (once
        per topic); an imported topic or key cannot be edited: a synth warning on ``scope`` names the
        statements to add."""
        if not self.scoped:
            _let_publish(self.topic, self.key, scope, "events.amazonaws.com")
        return TopicTarget(
            self.topic,
            message=message,
            dead_letter_queue=dead_letter_queue,
            retry_attempts=retry_attempts,
            max_event_age=max_event_age,
        )

    def alarm_action(self) -> cw_actions.SnsAction:
        """A CloudWatch alarm action publishing to the topic (see :meth:`alarm_action_arn`)."""
        self.alarm_action_arn()
        return cw_actions.SnsAction(self.topic)

    def alarm_action_arn(self) -> str:
        """The ARN an alarm's actions list to publish to the topic. A topic that is not a
        :class:`NotificationTopic` gets the statement CloudWatch needs in its topic policy (this account's
        alarms only) and, when encrypted, its key policy (BK-X4); once per topic. A topic policy replaces the
        topic's default one, whose owner statement let alarms publish: without this, a topic that also carries
        EventBridge's statement would take no alarm. An imported topic or key: a synth warning naming the
        statements."""
        if not self.scoped:
            _let_publish(self.topic, self.key, self.topic, "cloudwatch.amazonaws.com")
        return self.topic_arn

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


#: What each publishing service gets in a topic of the user's besides its statement
#: (:func:`~cdk_batchkit.constructs.notifications.publish_statement`): its Sid and its key user. A topic
#: policy CloudFormation writes replaces the topic's default policy (whose owner statement is what lets
#: same-account services publish), so each publisher the library wires must be named in it.
_PUBLISHERS: dict[str, tuple[str, KeyUser]] = {
    "events.amazonaws.com": ("EventBridgePublishes", KeyUser.EVENTS_TO_TOPIC),
    "cloudwatch.amazonaws.com": ("CloudWatchAlarmsPublish", KeyUser.CLOUDWATCH),
}


def _let_publish(topic: sns.ITopic, key: kms.IKey | None, scope: IConstruct, service: str) -> None:
    """``service`` publishes to a topic of the user's through its resource policy and, for an encrypted
    topic, the key policy (once per topic and service; sns-key-management.html, "Enable compatibility between
    event sources from AWS services and encrypted topics"). An imported topic cannot be edited: a synth
    warning on ``scope`` names the statement to add."""
    done = topic.__dict__.setdefault(_PUBLISHERS_ALLOWED, set())
    if service in done:
        return
    done.add(service)
    sid, key_user = _PUBLISHERS[service]
    stack = Stack.of(topic)
    statement = publish_statement(service, topic.topic_arn, stack.account, sid)
    if not topic.add_to_resource_policy(statement).statement_added:
        text = json.dumps(stack.resolve(statement.to_statement_json()), sort_keys=True)
        Annotations.of(scope).add_warning_v2(
            TOPIC_POLICY_WARNING,
            f"{scope.node.path}: topic {stack.resolve(topic.topic_arn)!r} is imported, so its policy cannot "
            f"be edited here; add this statement to it, or {service} cannot publish the notifications: "
            f"{text}",
        )
    if key is not None:
        allow(key, (key_user,), on=topic)  # type: ignore[arg-type]
