"""Job state transitions with no custom code: every ``Batch Job State Change`` event of the monitored
queues goes to a CloudWatch Logs log group, where a metric filter per queue and status counts them."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import jsii
from aws_cdk import ArnFormat, Names, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from ...lambdas.backlog.core import QUEUE_DIMENSION
from ...model.statuses import JOB_STATE_CHANGE, JobStatus
from .._validation import node_of, service_principal
from ..encryption import KeyUser, encryption_key
from .metrics import TRANSITIONS

if TYPE_CHECKING:
    from .facade import BatchMonitoring


@jsii.implements(events.IRuleTarget)
class _LogGroupTarget:
    """Deliver rule matches to a log group whose resource policy this construct writes itself.

    ``aws_events_targets.CloudWatchLogGroup`` would add that policy through a custom resource backed by a
    Node.js Lambda function with ``logs:PutResourcePolicy`` on ``*``; a plain ``AWS::Logs::ResourcePolicy``
    needs neither.
    """

    def __init__(self, log_group: logs.LogGroup) -> None:
        self._log_group = log_group

    def bind(self, rule: events.IRule, id: str | None = None) -> events.RuleTargetConfig:  # noqa: A002
        arn = Stack.of(self._log_group).format_arn(
            service="logs",
            resource="log-group",
            resource_name=self._log_group.log_group_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        return events.RuleTargetConfig(arn=arn)


def transition_pattern(queue_arn: str, status: JobStatus | str) -> logs.IFilterPattern:
    """The metric filter pattern matching the ``status`` transitions of one queue, and nothing else.

    The text ``FilterPattern.all(string_value(...), string_value(...))`` renders, written as one literal:
    one call to the CDK instead of three (a queue ARN never holds a quote or a backslash)."""
    return logs.FilterPattern.literal(
        f'{{ ($.detail.jobQueue = "{queue_arn}") && ($.detail.status = "{status}") }}'
    )


def add_job_events(monitoring: BatchMonitoring, retention: logs.RetentionDays, name: str | None) -> None:
    """The log group, its resource policy, the rule and the metric filters (attributes ``log_group``,
    ``log_group_policy``, ``rule``, ``metric_filters`` of ``monitoring``)."""
    arns = list(monitoring.queues.values())
    monitoring.log_group = logs.LogGroup(
        monitoring,
        "JobEvents",
        # EventBridge targets are listed (and documented) under /aws/events/; the name is derived
        # from the construct path so two stacks never collide.
        log_group_name=name or "/aws/events/" + Names.unique_resource_name(monitoring, max_length=200),
        retention=retention,
        encryption_key=encryption_key(monitoring, KeyUser.LOGS),
        # The events are a copy (Batch keeps the jobs); a retained group with a derived name would
        # block re-creating the stack.
        removal_policy=RemovalPolicy.DESTROY,
    )
    # CloudWatch Logs resource policies are per account and region (at most 10): this one is scoped
    # to this log group only.
    monitoring.log_group_policy = logs.ResourcePolicy(
        monitoring,
        "JobEventsPolicy",
        policy_statements=[
            iam.PolicyStatement(
                sid="EventBridgeWritesBatchJobEvents",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                principals=[
                    service_principal("events.amazonaws.com"),
                    service_principal("delivery.logs.amazonaws.com"),
                ],
                resources=[monitoring.log_group.log_group_arn],
            )
        ],
    )
    monitoring.rule = events.Rule(
        monitoring,
        "JobStateRule",
        description="AWS Batch job state changes of the monitored queues, to CloudWatch Logs",
        event_pattern=events.EventPattern(
            source=["aws.batch"], detail_type=[JOB_STATE_CHANGE], detail={"jobQueue": arns}
        ),
        targets=[cast(events.IRuleTarget, _LogGroupTarget(monitoring.log_group))],
    )
    node_of(monitoring.rule).add_dependency(monitoring.log_group_policy)
    monitoring.metric_filters = {}
    for label, arn in monitoring.queues.items():
        scope = monitoring.queue_scopes[label] = Construct(monitoring, f"Queue{label}")
        monitoring.metric_filters[label] = {
            status: logs.MetricFilter(
                scope,
                f"{status.title()}Filter",
                log_group=monitoring.log_group,
                filter_pattern=transition_pattern(arn, status),
                metric_namespace=monitoring.namespace,
                metric_name=metric_name,
                metric_value="1",
                dimensions={QUEUE_DIMENSION: "$.detail.jobQueue"},
                unit=cloudwatch.Unit.COUNT,
            )
            for status, metric_name in TRANSITIONS.items()
        }
