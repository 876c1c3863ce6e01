"""Inputs users already have: any ``sns.ITopic`` where a topic is taken, any ``sfn.IStateMachine`` where a
workflow is, each resolved in one helper (``constructs._refs``); shared props refuse a misspelled keyword."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Annotations, Match, Template

from cdk_batchkit.constructs import (
    Ec2ComputeEnvironment,
    EksComputeEnvironment,
    JobStateNotifications,
    NotificationTopic,
    ObjectCreatedTrigger,
    Step,
    Workflow,
    WorkflowNotifications,
    WorkflowSchedule,
)
from cdk_batchkit.constructs._refs import TOPIC_POLICY_WARNING, state_machine_ref, topic_ref
from cdk_batchkit.model.rules.templates import check_template
from tests.support import fargate_queue_and_job, network, new_stack


@pytest.fixture(scope="module")
def built():
    """One stack: a workflow and job notifications publishing to a plain encrypted ``sns.Topic``, workflow
    notifications and triggers given an ``sfn.StateMachine`` and a ``Workflow``."""
    stack = new_stack("Inputs")
    queue, job = fargate_queue_and_job(stack)
    key = kms.Key(stack, "TopicKey", enable_key_rotation=True)
    topic = sns.Topic(stack, "Alerts", master_key=key, enforce_ssl=True)
    flow = Workflow(stack, "Flow", steps=[Step("only", job, queue)], topic=topic)
    JobStateNotifications(stack, "Failures", job_queues=[queue], topic=topic)
    machine = sfn.StateMachine(
        stack, "Theirs", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "Noop"))
    )
    WorkflowNotifications(stack, "Watch", workflows=[flow, machine], topic=topic)
    bucket = s3.Bucket(stack, "Bucket")
    ObjectCreatedTrigger(stack, "Trigger", bucket=bucket, workflow=machine)
    WorkflowSchedule(
        stack, "Nightly", schedule=scheduler.ScheduleExpression.rate(cdk.Duration.hours(6)), workflow=machine
    )
    template = Template.from_stack(stack)
    return stack, template, flow, machine


def _logical(stack: cdk.Stack, construct) -> str:
    return stack.get_logical_id(construct.node.default_child)


def test_workflow_publishes_failures_to_a_plain_topic(built):
    stack, template, flow, _ = built
    topic_id = next(iter(template.find_resources("AWS::SNS::Topic")))
    key_id = next(iter(template.find_resources("AWS::KMS::Key")))
    # Was AttributeError: 'Topic' object has no attribute 'topic'.
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like({"Action": "sns:Publish", "Resource": {"Ref": topic_id}}),
                        Match.object_like(
                            {
                                "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                                "Resource": {"Fn::GetAtt": [key_id, "Arn"]},
                            }
                        ),
                    ]
                )
            },
            "Roles": [{"Ref": stack.get_logical_id(flow.role.node.default_child)}],
        },
    )


def test_a_plain_topic_lets_eventbridge_publish_as_sns_documents(built):
    _, template, _, _ = built
    policies = template.find_resources("AWS::SNS::TopicPolicy")
    statements = [s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]]
    events = [s for s in statements if s.get("Principal") == {"Service": "events.amazonaws.com"}]
    # Once, however many rules publish to it; sns:Publish only, with no Condition block, which SNS topic
    # policies for EventBridge cannot use (BK-G2 accepts exactly this).
    assert len(events) == 1
    assert events[0]["Action"] == "sns:Publish" and "Condition" not in events[0]
    key_statements = next(iter(template.find_resources("AWS::KMS::Key").values()))["Properties"]["KeyPolicy"]
    assert [
        s["Action"]
        for s in key_statements["Statement"]
        if s.get("Principal") == {"Service": "events.amazonaws.com"} and "Condition" not in s
    ] == [["kms:Decrypt", "kms:GenerateDataKey*"]]
    assert [p for p in check_template(template.to_json()) if p.rule == "BK-G2"] == []


def test_rules_target_the_plain_topic(built):
    _, template, _, _ = built
    topic_id = next(iter(template.find_resources("AWS::SNS::Topic")))
    rules = template.find_resources("AWS::Events::Rule")
    targets = [t["Arn"] for r in rules.values() for t in r["Properties"].get("Targets", [])]
    # The job-state rule, the workflow's TIMED_OUT/ABORTED rule and WorkflowNotifications.
    assert targets.count({"Ref": topic_id}) == 3


def test_workflow_notifications_and_triggers_take_any_state_machine(built):
    stack, template, flow, machine = built
    rules = template.find_resources("AWS::Events::Rule")
    watched = [
        r["Properties"]["EventPattern"]["detail"]["stateMachineArn"]
        for r in rules.values()
        if r["Properties"]["EventPattern"].get("source") == ["aws.states"]
    ]
    ours, theirs = _logical(stack, flow.state_machine), _logical(stack, machine)
    assert [{"Ref": ours}, {"Ref": theirs}] in watched
    started = [t["Arn"] for r in rules.values() for t in r["Properties"].get("Targets", [])]
    assert {"Ref": theirs} in started
    template.has_resource_properties(
        "AWS::Scheduler::Schedule", {"Target": Match.object_like({"Arn": {"Ref": theirs}})}
    )


def test_an_imported_topic_warns_with_the_statement_to_add():
    stack = new_stack()
    queue, _ = fargate_queue_and_job(stack)
    topic = sns.Topic.from_topic_arn(stack, "Imported", "arn:aws:sns:us-east-1:123456789012:alerts")
    notes = JobStateNotifications(stack, "Failures", job_queues=[queue], topic=topic)
    warnings = Annotations.from_stack(stack).find_warning(
        f"/{notes.node.path}", Match.string_like_regexp(r"is imported, so its policy cannot be edited")
    )
    assert (
        len(warnings) == 1
        and "events.amazonaws.com" in str(warnings[0])
        and "sns:Publish" in str(warnings[0])
    )
    assert TOPIC_POLICY_WARNING in str(warnings[0])


def test_a_notification_topic_adds_nothing_to_its_own_policies():
    stack = new_stack()
    queue, _ = fargate_queue_and_job(stack)
    topic = NotificationTopic(stack, "Topic")
    JobStateNotifications(stack, "A", job_queues=[queue], topic=topic)
    JobStateNotifications(stack, "B", job_queues=[queue], topic=topic)
    policy = next(iter(Template.from_stack(stack).find_resources("AWS::SNS::TopicPolicy").values()))
    # Its own two publisher statements (events, cloudwatch) and the TLS-only deny, nothing per rule.
    sids = [s.get("Sid") for s in policy["Properties"]["PolicyDocument"]["Statement"]]
    assert "EventBridgePublishes" not in sids


def test_monitoring_alarms_on_a_plain_encrypted_topic_and_watches_a_bare_state_machine():
    """BatchMonitoring takes any sns.ITopic (its key gets the CloudWatch alarms statement, BK-X4) and any
    sfn.IStateMachine (monitored as a workflow of that one state machine)."""
    from cdk_batchkit.constructs import BatchMonitoring

    stack = new_stack("Monitored")
    queue, _ = fargate_queue_and_job(stack)
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    topic = sns.Topic(stack, "Alarms", master_key=key, enforce_ssl=True)
    machine = sfn.StateMachine(
        stack, "Theirs", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "Noop"))
    )
    monitoring = BatchMonitoring(
        stack, "Monitoring", job_queues=[queue], topic=topic, workflows=[machine], dashboard=False
    )
    assert monitoring.topic.topic is topic and list(monitoring.workflow_metrics) == ["Theirs"]
    template = Template.from_stack(stack)
    topic_ref_json = {"Ref": stack.get_logical_id(topic.node.default_child)}
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    assert alarms and all(a["Properties"]["AlarmActions"] == [topic_ref_json] for a in alarms.values())
    key_policy = template.to_json()["Resources"][stack.get_logical_id(key.node.default_child)]["Properties"]
    principals = [st.get("Principal", {}).get("Service") for st in key_policy["KeyPolicy"]["Statement"]]
    assert "cloudwatch.amazonaws.com" in principals
    # The topic's policy (enforce_ssl wrote one, replacing the default whose owner statement let alarms
    # publish) names this account's alarms.
    (policy,) = template.find_resources("AWS::SNS::TopicPolicy").values()
    (alarms_statement,) = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert alarms_statement["Action"] == "sns:Publish" and alarms_statement["Resource"] == topic_ref_json
    assert alarms_statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    assert check_template(template.to_json()) == []


def test_a_plain_topic_for_notifications_and_alarms_names_both_publishers():
    """EventBridge's statement creates the topic policy, which replaces the default one: alarms on the same
    topic need their own statement (once, however many alarms)."""
    from cdk_batchkit.constructs import BatchMonitoring

    stack = new_stack("Both")
    queue, _ = fargate_queue_and_job(stack)
    topic = sns.Topic(stack, "Alerts")
    JobStateNotifications(stack, "Failures", job_queues=[queue], topic=topic)
    BatchMonitoring(stack, "Monitoring", job_queues=[queue], topic=topic, dashboard=False)
    (policy,) = Template.from_stack(stack).find_resources("AWS::SNS::TopicPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert sorted(s["Sid"] for s in statements) == ["CloudWatchAlarmsPublish", "EventBridgePublishes"]


def test_an_imported_topic_for_alarms_warns_with_the_statement_to_add():
    from cdk_batchkit.constructs import BatchMonitoring

    stack = new_stack("ImportedAlarms")
    queue, _ = fargate_queue_and_job(stack)
    topic = sns.Topic.from_topic_arn(stack, "Imported", "arn:aws:sns:us-east-1:123456789012:alerts")
    BatchMonitoring(stack, "Monitoring", job_queues=[queue], topic=topic, dashboard=False)
    warnings = Annotations.from_stack(stack).find_warning(
        "/ImportedAlarms/Imported", Match.string_like_regexp(r"is imported, so its policy cannot be edited")
    )
    assert len(warnings) == 1 and "cloudwatch.amazonaws.com" in str(warnings[0])


def test_the_helpers_name_what_they_accept():
    stack = new_stack()
    with pytest.raises(TypeError, match=r"is not a topic \(a NotificationTopic or any sns.ITopic\)"):
        topic_ref(object())
    with pytest.raises(TypeError, match=r"is not a workflow \(a Workflow or any sfn.IStateMachine\)"):
        state_machine_ref(stack)
    machine = sfn.StateMachine.from_state_machine_name(stack, "ByName", "flow")
    assert state_machine_ref(machine) is machine


@pytest.mark.parametrize("construct", [Ec2ComputeEnvironment, EksComputeEnvironment])
def test_a_misspelled_shared_prop_is_refused_like_any_keyword(construct):
    stack = new_stack()
    kwargs = {"network": network(stack), "spto": True}
    if construct is EksComputeEnvironment:
        kwargs["cluster"] = None
    with pytest.raises(
        TypeError, match=rf"{construct.__name__}\(\) got an unexpected keyword argument 'spto'"
    ):
        construct(stack, "Env", **kwargs)
