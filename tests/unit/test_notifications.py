"""Notifications reach the encrypted topic through its own policies (issue 17: confused deputy).

CloudWatch alarms publish on the condition ``aws:SourceAccount``. EventBridge publishes through an
unconditioned ``sns:Publish`` on the topic and ``kms:Decrypt``/``kms:GenerateDataKey*`` on its key, because
EventBridge documents that SNS topic policies for it cannot use Condition blocks (a conditioned statement
would drop every notification); BK-G2 accepts exactly those statements and nothing wider.
"""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Template

from cdk_batchkit.constructs import JobStateNotifications, NotificationTopic, WorkflowNotifications
from cdk_batchkit.model.rules import check_template
from cdk_batchkit.model.rules.templates import service_grants
from tests.support import fargate_queue_and_job, new_stack


@pytest.fixture(scope="module")
def synth() -> dict[str, Any]:
    stack = new_stack("Notify")
    queue, _ = fargate_queue_and_job(stack)
    topic = NotificationTopic(stack, "Topic")
    jobs = JobStateNotifications(stack, "Jobs", job_queues=[queue], topic=topic)
    machine = sfn.StateMachine(
        stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "Pass"))
    )
    flows = WorkflowNotifications(stack, "Flows", workflows=[machine], topic=topic)
    # A rule of the user's own, through the topic's event_target().
    own = events.Rule(stack, "Own", schedule=events.Schedule.rate(Duration.hours(1)))
    own.add_target(topic.event_target(events.RuleTargetInput.from_text("tick"), retry_attempts=2))
    template = Template.from_stack(stack).to_json()
    return {"stack": stack, "template": template, "topic": topic, "jobs": jobs, "flows": flows}


def _lid(stack: cdk.Stack, construct: Any) -> str:
    return stack.resolve(construct.node.default_child.logical_id)  # type: ignore[no-any-return]


def _of_type(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == kind]


def _services(statements: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["Principal"]["Service"]: s for s in statements if "Service" in s.get("Principal", {})}


def test_alarms_are_scoped_to_this_account_and_eventbridge_is_granted_as_sns_documents(
    synth: dict[str, Any],
) -> None:
    template = synth["template"]
    assert check_template(template) == []
    this_account = {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    (policy,) = _of_type(template, "AWS::SNS::TopicPolicy")
    topic = _services(policy["Properties"]["PolicyDocument"]["Statement"])
    assert topic["cloudwatch.amazonaws.com"]["Condition"] == this_account
    events_publish = topic["events.amazonaws.com"]
    # "You can't use Condition blocks in Amazon SNS topic policies for EventBridge."
    assert "Condition" not in events_publish and events_publish["Action"] == "sns:Publish"
    assert events_publish["Resource"] == {"Ref": _lid(synth["stack"], synth["topic"].topic)}
    (key,) = _of_type(template, "AWS::KMS::Key")
    key_statements = _services(key["Properties"]["KeyPolicy"]["Statement"])
    assert key_statements["cloudwatch.amazonaws.com"]["Condition"] == this_account
    events_key = key_statements["events.amazonaws.com"]
    assert "Condition" not in events_key and events_key["Sid"] == "EventsPublishesToTopics"
    assert events_key["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]


def test_targets_publish_through_the_topic_policy_not_a_role(synth: dict[str, Any]) -> None:
    stack, template, topic = synth["stack"], synth["template"], synth["topic"]
    topic_ref = {"Ref": _lid(stack, topic.topic)}
    for notifications in (synth["jobs"], synth["flows"]):
        rule = template["Resources"][_lid(stack, notifications.rule)]["Properties"]
        (target,) = rule["Targets"]
        assert target["Arn"] == topic_ref
        # EventBridge documents a RoleArn on an SNS target as a cause of failed deliveries (encrypted topics).
        assert "RoleArn" not in target
        assert target["DeadLetterConfig"] == {
            "Arn": {"Fn::GetAtt": [_lid(stack, notifications.dead_letter_queue), "Arn"]}
        }
        assert set(target["RetryPolicy"]) == {"MaximumRetryAttempts", "MaximumEventAgeInSeconds"}
        assert "InputTransformer" in target
    own = next(
        r["Properties"]
        for r in _of_type(template, "AWS::Events::Rule")
        if r["Properties"].get("ScheduleExpression") == "rate(1 hour)"
    )
    (target,) = own["Targets"]
    assert target["Input"] == '"tick"' and target["RetryPolicy"] == {"MaximumRetryAttempts": 2}
    assert "RoleArn" not in target and "DeadLetterConfig" not in target


def test_dead_letter_queues_accept_only_their_rule(synth: dict[str, Any]) -> None:
    stack, template = synth["stack"], synth["template"]
    for notifications in (synth["jobs"], synth["flows"]):
        queue_ref = {"Ref": _lid(stack, notifications.dead_letter_queue)}
        (policy,) = [
            r["Properties"]
            for r in _of_type(template, "AWS::SQS::QueuePolicy")
            if r["Properties"]["Queues"] == [queue_ref]
        ]
        (grant,) = [s for s in policy["PolicyDocument"]["Statement"] if s.get("Principal", {}).get("Service")]
        assert grant["Action"] == "sqs:SendMessage"
        rule_arn = {"Fn::GetAtt": [_lid(stack, notifications.rule), "Arn"]}
        assert grant["Condition"] == {"ArnEquals": {"aws:SourceArn": rule_arn}}


def test_the_eventbridge_to_sns_exception_is_no_wider_than_documented() -> None:
    """BK-G2 accepts EventBridge unconditioned on a topic policy (sns:Publish) and on a topic's key
    (Decrypt/GenerateDataKey*) only: a wider action, a key that encrypts no topic, another service fail."""
    stack = new_stack("Plain")
    NotificationTopic(stack, "Topic")
    template = Template.from_stack(stack).to_json()
    assert check_template(template) == []

    def widened(kind: str, service: str, action: Any) -> list[Any]:
        copy = json.loads(json.dumps(template))
        (resource,) = _of_type(copy, kind)
        document = resource["Properties"]["KeyPolicy" if kind == "AWS::KMS::Key" else "PolicyDocument"]
        document["Statement"].append(
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": action, "Resource": "*"}
        )
        return [(p.rule, p.value) for p in check_template(copy)]

    assert widened("AWS::SNS::TopicPolicy", "events.amazonaws.com", "sns:Publish") == []
    assert widened("AWS::SNS::TopicPolicy", "events.amazonaws.com", ["sns:Publish", "sns:Subscribe"]) == [
        ("BK-G2", "events.amazonaws.com")
    ]
    assert widened("AWS::SNS::TopicPolicy", "s3.amazonaws.com", "sns:Publish") == [
        ("BK-G2", "s3.amazonaws.com")
    ]
    assert widened("AWS::KMS::Key", "events.amazonaws.com", "kms:GenerateDataKey") == []
    assert widened("AWS::KMS::Key", "events.amazonaws.com", ["kms:Decrypt", "kms:Encrypt"]) == [
        ("BK-G2", "events.amazonaws.com")
    ]
    # The same statement on a key that encrypts no topic (a queue's key) needs its source condition.
    unlinked = json.loads(json.dumps(template))
    for resource in _of_type(unlinked, "AWS::SNS::Topic"):
        resource["Properties"].pop("KmsMasterKeyId")
    assert [(p.rule, p.value) for p in check_template(unlinked)] == [("BK-G2", "events.amazonaws.com")]
    # CDK's own SnsTopic target grants the same (plus an event role): nothing wider than documented.
    cdk_stack = new_stack("CdkTarget")
    cdk_topic = NotificationTopic(cdk_stack, "Topic")
    rule = events.Rule(cdk_stack, "Rule", schedule=events.Schedule.rate(Duration.hours(1)))
    rule.add_target(targets.SnsTopic(cdk_topic.topic))
    assert check_template(Template.from_stack(cdk_stack).to_json()) == []


def test_an_encrypted_queue_of_yours_is_granted_to_this_accounts_rules_only() -> None:
    """CDK's SqsQueue target grants a KMS-encrypted queue to events.amazonaws.com with no condition unless the
    app sets @aws-cdk/aws-events:eventsTargetQueueSameAccount (a plain cdk.App does not)."""
    from aws_cdk import aws_sqs as sqs

    stack = new_stack("Queue")
    queue, _ = fargate_queue_and_job(stack)
    target = sqs.Queue(stack, "Target", encryption=sqs.QueueEncryption.KMS, enforce_ssl=True)
    JobStateNotifications(stack, "Jobs", job_queues=[queue], sqs_queue=target)
    template = Template.from_stack(stack).to_json()
    assert [s for _, s, _ in service_grants(template)].count("events.amazonaws.com") >= 2
    assert check_template(template) == []
