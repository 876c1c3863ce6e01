"""Notifications reach the encrypted topic through its own scoped policies (issue 17: confused deputy).

CDK's ``targets.SnsTopic`` adds ``events.amazonaws.com`` to the topic policy (``sns:Publish``) and the key
policy (``kms:Decrypt``, ``kms:GenerateDataKey*``) with no condition, next to the topic's own statement
conditioned on ``aws:SourceAccount``: any account's rule could publish. The library's targets add nothing.
"""

from __future__ import annotations

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


def test_every_service_grant_is_conditioned_on_this_account(synth: dict[str, Any]) -> None:
    template = synth["template"]
    grants = list(service_grants(template))
    assert {service for _, service, _ in grants} >= {"events.amazonaws.com", "cloudwatch.amazonaws.com"}
    assert check_template(template) == []
    (policy,) = _of_type(template, "AWS::SNS::TopicPolicy")
    for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
        if "Service" in statement.get("Principal", {}):
            assert statement["Condition"] == {
                "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
            }
    (key,) = _of_type(template, "AWS::KMS::Key")
    events_statements = [
        s for s in key["Properties"]["KeyPolicy"]["Statement"] if s.get("Principal", {}).get("Service")
    ]
    assert events_statements and all("aws:SourceAccount" in str(s["Condition"]) for s in events_statements)


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


def test_the_check_catches_cdks_sns_target() -> None:
    """Guards the test above: CDK's SnsTopic target does add unconditioned grants, and BK-G2 finds them."""
    stack = new_stack("Plain")
    topic = NotificationTopic(stack, "Topic")
    rule = events.Rule(stack, "Rule", schedule=events.Schedule.rate(Duration.hours(1)))
    rule.add_target(targets.SnsTopic(topic.topic))
    problems = check_template(Template.from_stack(stack).to_json())
    assert {(p.rule, p.value) for p in problems} == {("BK-G2", "events.amazonaws.com")}
    assert {p.prop.split(".")[3] for p in problems} == {"PolicyDocument", "KeyPolicy"}


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
