"""Per-queue job metrics, alarms and a dashboard for AWS Batch, with no always-on resources.

AWS Batch publishes no per-job CloudWatch metrics. :class:`BatchMonitoring` builds them:

* **Job state transitions, no custom code.** One EventBridge rule sends every ``Batch Job State Change``
  event of the monitored queues to a CloudWatch Logs log group (``/aws/events/...``, with retention and
  the account-level resource policy EventBridge needs; no custom-resource Lambda). Metric filters count
  the transitions into SUBMITTED, RUNNABLE, RUNNING, SUCCEEDED and FAILED as ``JobsSubmitted``,
  ``JobsRunnable``, ``JobsRunning``, ``JobsSucceeded`` and ``JobsFailed``, dimension ``queue``.
  Each filter matches one queue ARN and one status exactly (``{ ($.detail.jobQueue = "<arn>") &&
  ($.detail.status = "FAILED") }``), so an event from another queue never counts.
  The ``queue`` dimension is the queue **ARN**: a metric filter can only copy a field of the event, and
  Batch puts the ARN in ``detail.jobQueue`` (there is no name field). Its cardinality is the number of
  queues, far below the 1,000 dimension values an hour at which CloudWatch Logs disables a filter.
  Batch does not emit an event for the initial submission, so ``JobsSubmitted`` counts only jobs that
  re-enter SUBMITTED; count submissions with the submitter's ``JobsSubmitted`` metric instead.
* **Backlog and run time, a small function.** A function (``cdk_batchkit/lambdas/backlog``) runs every
  ``backlog_interval`` and publishes per queue ``RunnableJobs`` and ``OldestRunnableAge`` (seconds),
  array children included, paging through ListJobs at a paced rate. Each queue is measured and published
  on its own; when one fails the others still publish and the run then fails, so its error alarm fires.
  A metric filter cannot subtract two fields, so the same function also receives the SUCCEEDED/FAILED
  events of the queues and publishes ``JobRunTime`` (``stoppedAt - startedAt``, seconds): one short
  invocation per finished job, under a reserved-concurrency cap (``backlog_concurrency``).
* **Job cost, an estimate.** From the same events, ``JobVcpuSeconds``, ``JobGibSeconds`` and
  ``EstimatedJobCost`` (USD): what each finished job reserved, times the public price of its queue's
  compute (:mod:`cdk_batchkit.model.prices`, passed to the function at synth), per queue and, for
  ``cost_job_definitions``, per queue and definition (dimension ``job_definition``).
* **Alarms** (thresholds in :class:`MonitoringThresholds`; missing data is not breaching): failed jobs
  and oldest RUNNABLE age per queue; dead-letter queue depth and function errors per S3 submitter;
  failed plus timed-out executions per workflow; errors of the backlog function itself. Alarm and OK
  actions publish to an encrypted :class:`NotificationTopic`.
* **Dashboard** (optional, on by default: **$3 per month**).

Idle cost: no instance, NAT gateway or endpoint. What remains is per use (events, log ingestion,
custom metrics when published, one Lambda invocation per ``backlog_interval`` and per finished job)
plus fixed monthly prices: each alarm $0.10 per metric (the workflow alarm watches two), the dashboard
$3, and the topic's KMS key $1 when this construct creates the topic.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import jsii
from aws_cdk import Annotations, ArnFormat, Duration, Fn, Names, RemovalPolicy, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct, Node

from ..lambdas.backlog.core import (
    DEFINITION_DIMENSION,
    ENV_COST_DEFINITIONS,
    ENV_FALLBACK_REGION,
    ENV_MAX_ARRAY_PAGES,
    ENV_MAX_PAGES,
    ENV_PRICES,
    ENV_QUEUE_PRICE_KEYS,
    ENV_QUEUES,
    METRIC_COST,
    METRIC_GIB_SECONDS,
    METRIC_OLDEST_AGE,
    METRIC_RUN_TIME,
    METRIC_RUNNABLE,
    METRIC_VCPU_SECONDS,
    QUEUE_DIMENSION,
)
from ..model import QueueProfile
from ..model.prices import FALLBACK_REGION, REFERENCE_PRICES, SPOT_PRICE_FACTOR, price_key, price_table
from ..model.rules import register
from ._binding import DefinitionLike, QueueLike, definition_ref, queue_ref
from ._lambda import HandlerFunction
from ._validation import check_range, check_seconds, check_whole, fail
from .encryption import KeyUser, encryption_key
from .nag import acknowledge
from .notifications import NotificationTopic

#: Job statuses whose transitions are counted, and the metric each one feeds.
TRANSITIONS: dict[str, str] = {
    "SUBMITTED": "JobsSubmitted",
    "RUNNABLE": "JobsRunnable",
    "RUNNING": "JobsRunning",
    "SUCCEEDED": "JobsSucceeded",
    "FAILED": "JobsFailed",
}
#: The Powertools EMF metrics an S3 submitter publishes (dimension ``service``).
SUBMITTER_METRICS = (
    "ObjectsAccepted",
    "JobsSubmitted",
    "DuplicatesSkipped",
    "RecordsFailed",
    "RecordsSkipped",
)
DEFAULT_NAMESPACE = "CdkBatchkit/Jobs"
DEFAULT_SERVICE = "batch-monitoring"
JOB_STATE_CHANGE = "Batch Job State Change"
#: CloudWatch Logs allows 100 metric filters per log group; each queue takes one per transition.
MAX_QUEUES = 100 // len(TRANSITIONS)
#: ListJobs pages (of up to 1,000 jobs) read per queue per run and listing (RUNNABLE jobs, PENDING array
#: parents); more are logged as a lower bound.
BACKLOG_MAX_PAGES = 10
#: ListJobs pages of RUNNABLE array children read per queue per run (beyond: parents' status summaries).
BACKLOG_MAX_ARRAY_PAGES = 20
#: At most this many ListJobs calls per queue per run.
BACKLOG_CALLS_PER_QUEUE = 2 * BACKLOG_MAX_PAGES + BACKLOG_MAX_ARRAY_PAGES
#: The metrics each finished job adds (per queue, and per queue and listed job definition).
COST_METRICS = (METRIC_COST, METRIC_VCPU_SECONDS, METRIC_GIB_SECONDS)
#: Job definitions whose cost is published per definition, per construct: each (queue, definition) pair
#: that runs jobs is 3 more custom metrics (CloudWatch bills every dimension combination as a metric).
MAX_COST_DEFINITIONS = 20

_METRIC_DIMENSIONS = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Dimension"
)
register(
    "BK-M3",
    "Monitoring: cost_job_definitions lists 0-20 definitions, each once (every queue and definition pair "
    "is 3 more custom metrics), and needs job_run_time (the same finished-job events).",
    _METRIC_DIMENSIONS,
)
register(
    "BK-M4",
    "Monitoring: spot_price_factor (Spot price / on-demand price in the cost estimate) is above 0 and at "
    "most 1.",
    "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-spot-instances.html",
)
register(
    "BK-M5",
    "Monitoring (warning): a stack region missing from the price table is priced at us-east-1's prices.",
    "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/AWS_Fargate.html",
)


def queue_price_key(profile: QueueProfile | None) -> str | None:
    """The price key of a queue: its first environment whose compute is known (Batch places jobs there
    first; a Spot-first queue is priced as Spot). None when nothing is known (imported, no profile)."""
    known = [p for _, p in profile.environments if p is not None] if profile else []
    if not known:
        return None
    first = known[0]
    key = price_key(first.kind, first.architecture)
    return key.split("/")[0] + "/" if first.kind.fargate else key  # Fargate: the job picks its architecture


class MonitoredSubmitter(Protocol):
    """What :class:`BatchMonitoring` needs of an S3 submitter."""

    @property
    def function(self) -> lambda_.IFunction: ...

    @property
    def dead_letter_queue(self) -> sqs.IQueue: ...

    @property
    def metrics_namespace(self) -> str: ...

    @property
    def service_name(self) -> str: ...


class MonitoredWorkflow(Protocol):
    """What :class:`BatchMonitoring` needs of a workflow."""

    @property
    def state_machine(self) -> sfn.IStateMachine: ...


@dataclass(frozen=True)
class MonitoringThresholds:
    """When the alarms fire. Every count alarm fires at ``>=`` its threshold within one ``period``.

    :param period: the evaluation window of the count alarms (whole minutes). Default: 5 minutes.
    :param failed_jobs: FAILED transitions of one queue in a period. Default: 1.
    :param oldest_runnable_age: age of the oldest RUNNABLE job of a queue (the alarm fires above it).
        Default: 1 hour (queues cancel jobs stuck for a misfit after 10 minutes, for capacity after 4 hours).
    :param dead_letter_messages: messages visible in a submitter's dead-letter queue. Default: 1.
    :param submitter_errors: errors (invocations that raised) of a submitter function in a period. Default: 1.
    :param workflow_failures: failed plus timed-out executions of a workflow in a period. Default: 1.
    :param monitoring_errors: errors of the backlog function in a period. Default: 1.
    """

    period: Duration = field(default_factory=lambda: Duration.minutes(5))
    failed_jobs: int = 1
    oldest_runnable_age: Duration = field(default_factory=lambda: Duration.hours(1))
    dead_letter_messages: int = 1
    submitter_errors: int = 1
    workflow_failures: int = 1
    monitoring_errors: int = 1


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


def _label(item: Any, inner: Any, prop: str, owner: Construct) -> str:
    node: Node | None = getattr(item, "node", None)
    if node is None:
        node = getattr(inner, "node", None)
        if node is not None and node.scope is not None and node.id in ("Resource", "Default"):
            node = node.scope.node
    if node is None:
        fail(owner, prop, item, "needs a construct (something with .node) to name its alarms")
    return node.id  # type: ignore[union-attr]


class BatchMonitoring(Construct):
    """Job metrics, backlog, run time, alarms and a dashboard for AWS Batch job queues.

    Attributes: ``log_group`` (the job-event log group), ``rule`` (the job-event rule), ``metric_filters``
    (``{queue label: {status: MetricFilter}}``), ``backlog_function``, ``backlog_schedule``,
    ``run_time_rule`` (None when ``job_run_time`` is False), ``alarms`` (``{"<label>/<what>": Alarm}``),
    ``dashboard`` (None when ``dashboard`` is False), ``topic`` (the :class:`NotificationTopic`).
    Build metrics for your own alarms with :meth:`queue_metric`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        job_queues: Sequence[QueueLike],
        submitters: Sequence[MonitoredSubmitter] = (),
        workflows: Sequence[MonitoredWorkflow] = (),
        topic: NotificationTopic | None = None,
        alarm_email: str | None = None,
        thresholds: MonitoringThresholds | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        dashboard: bool = True,
        dashboard_name: str | None = None,
        backlog_interval: Duration | None = None,
        job_run_time: bool = True,
        backlog_concurrency: int = 2,
        metrics_namespace: str = DEFAULT_NAMESPACE,
        service_name: str = DEFAULT_SERVICE,
        log_group_name: str | None = None,
        job_costs: bool = True,
        cost_job_definitions: Sequence[DefinitionLike] = (),
        spot_price_factor: float = SPOT_PRICE_FACTOR,
    ) -> None:
        """
        :param job_queues: the job queues to monitor (1 to 20: each takes five of a log group's 100
            metric filters): ours, imported or any ``batch.IJobQueue``.
        :param submitters: S3 submitters to alarm on (dead-letter queue, errors) and chart. Default: none.
        :param workflows: workflows to alarm on (failed and timed-out executions) and chart. Default: none.
        :param topic: where alarm and OK notifications go. Default: a new encrypted topic (its KMS key
            costs $1 a month).
        :param alarm_email: subscribe this address to the topic (AWS e-mails a confirmation link first).
            Default: no subscription.
        :param thresholds: Default: :class:`MonitoringThresholds` defaults.
        :param log_retention: retention of the job-event log group and the function's log group.
            Default: one month.
        :param dashboard: create a CloudWatch dashboard ($3 per month). Default: True.
        :param dashboard_name: Default: generated.
        :param backlog_interval: how often the backlog is measured (whole minutes, 1 minute to 1 day).
            Default: 5 minutes.
        :param job_run_time: publish ``JobRunTime`` from SUCCEEDED/FAILED events (one invocation per
            finished job, array children included). Default: True.
        :param backlog_concurrency: reserved concurrency of the backlog function (1-100): the most
            invocations that run at once. Every finished job invokes it, so a large array finishing
            would otherwise take the account's concurrency from other functions; throttled events wait
            in Lambda's queue and are retried (up to 6 hours), and run time is timestamped when the job
            stopped. Default: 2.
        :param metrics_namespace: namespace of the job and backlog metrics. Default: ``CdkBatchkit/Jobs``.
        :param service_name: the backlog function's Powertools service name: its metrics carry it as the
            ``service`` dimension. Default: ``batch-monitoring``.
        :param log_group_name: name of the job-event log group; must start with ``/aws/events/``.
            Default: ``/aws/events/`` followed by a name unique to this construct's path.
        :param job_costs: with ``JobRunTime``, publish each finished job's ``JobVcpuSeconds``,
            ``JobGibSeconds`` and ``EstimatedJobCost`` (USD at public on-demand/Spot/Fargate prices,
            see :mod:`cdk_batchkit.model.prices`: an estimate, not a bill) per queue, and chart them.
            Default: True.
        :param cost_job_definitions: job definitions whose cost is also published per queue and definition
            (dimension ``job_definition``, the name without revision), at most 20. Default: none.
        :param spot_price_factor: Spot price as a fraction of on-demand in the estimate. Default: 0.3.
        """
        super().__init__(scope, construct_id)
        self.thresholds = thresholds or MonitoringThresholds()
        interval = backlog_interval or Duration.minutes(5)
        self._check_props(job_queues, interval, log_group_name)
        check_range(self, "backlog_concurrency", backlog_concurrency, 1, 100)
        self.backlog_concurrency = backlog_concurrency
        self.namespace = metrics_namespace
        self.service_name = service_name
        self.period = self.thresholds.period
        self.backlog_interval = interval
        self._check_costs(job_costs, job_run_time, cost_job_definitions, spot_price_factor)
        self.job_costs = job_costs and job_run_time
        #: label (the definition construct's id) -> job definition name source (its ARN).
        self.cost_definitions: dict[str, str] = {}
        for definition in cost_job_definitions:
            label = definition.node.id
            if label in self.cost_definitions:
                fail(self, "cost_job_definitions", label, "lists two definitions with the same construct id")
            self.cost_definitions[label] = definition_ref(definition).job_definition_arn

        #: label (the queue construct's id) -> queue ARN.
        self.queues: dict[str, str] = {}
        #: label -> the price key of the queue's compute (None: unknown, priced from the event).
        self.queue_price_keys: dict[str, str | None] = {}
        for queue in job_queues:
            label = queue.node.id
            if label in self.queues:
                fail(self, "job_queues", label, "lists two queues with the same construct id")
            ref = queue_ref(queue)
            self.queues[label] = ref.job_queue_arn
            self.queue_price_keys[label] = queue_price_key(ref.profile)
        self._spot_price_factor = spot_price_factor
        arns = list(self.queues.values())

        #: Where alarm and OK notifications go.
        self.topic = topic or NotificationTopic(self, "Topic", display_name="AWS Batch monitoring alarms")
        if alarm_email is not None:
            self.topic.add_email(alarm_email)
        self._action = self.topic.alarm_action()
        self.alarms: dict[str, cloudwatch.Alarm] = {}

        self._job_events(arns, log_retention, log_group_name)
        self._backlog(arns, log_retention, job_run_time)

        for label in self.queues:
            self._queue_alarms(label)
        self.submitters: dict[str, MonitoredSubmitter] = {}
        for submitter in submitters:
            label = _label(submitter, submitter.function, "submitters", self)
            if label in self.submitters:
                fail(self, "submitters", label, "lists two submitters with the same construct id")
            self.submitters[label] = submitter
            self._submitter_alarms(label, submitter)
        self.workflows: dict[str, MonitoredWorkflow] = {}
        for workflow in workflows:
            label = _label(workflow, workflow.state_machine, "workflows", self)
            if label in self.workflows:
                fail(self, "workflows", label, "lists two workflows with the same construct id")
            self.workflows[label] = workflow
            self._workflow_alarm(label, workflow)
        self._alarm(
            self,
            "BacklogFunctionErrors",
            "Monitoring/BacklogFunctionErrors",
            self.backlog_function.metric_errors(period=self.period, statistic="Sum"),
            self.thresholds.monitoring_errors,
            "The Batch backlog/run-time metrics function failed: backlog metrics may be missing.",
        )

        #: The CloudWatch dashboard ($3 per month), or None.
        self.dashboard = self._dashboard(dashboard_name) if dashboard else None

    # ----------------------------------------------------------------------------------------- metrics

    def queue_metric(
        self,
        label: str,
        metric_name: str,
        *,
        statistic: str = "Sum",
        period: Duration | None = None,
    ) -> cloudwatch.Metric:
        """A metric of queue ``label`` (its construct id): a ``TRANSITIONS`` value, ``RunnableJobs``,
        ``OldestRunnableAge``, ``JobRunTime`` or a cost metric (``EstimatedJobCost``, ``JobVcpuSeconds``,
        ``JobGibSeconds``)."""
        if label not in self.queues:
            fail(self, "label", label, f"is not a monitored queue ({', '.join(self.queues)})")
        dimensions = {QUEUE_DIMENSION: self.queues[label]}
        if metric_name in (METRIC_RUNNABLE, METRIC_OLDEST_AGE, METRIC_RUN_TIME, *COST_METRICS):
            dimensions["service"] = self.service_name  # Powertools adds it to every EMF metric
        elif metric_name not in TRANSITIONS.values():
            fail(self, "metric_name", metric_name, "is not a job metric of this construct")
        return cloudwatch.Metric(
            namespace=self.namespace,
            metric_name=metric_name,
            dimensions_map=dimensions,
            statistic=statistic,
            period=period or self.period,
            label=f"{label} {metric_name}",
        )

    def definition_metric(
        self, label: str, definition: str, metric_name: str = METRIC_COST, *, period: Duration | None = None
    ) -> cloudwatch.Metric:
        """A cost metric of job definition ``definition`` (a ``cost_job_definitions`` construct id) on
        queue ``label``: dimensions ``queue`` and ``job_definition`` (the definition's name)."""
        base = self.queue_metric(label, metric_name, period=period)
        if metric_name not in COST_METRICS:
            fail(self, "metric_name", metric_name, f"is not a cost metric ({', '.join(COST_METRICS)})")
        if definition not in self.cost_definitions:
            fail(
                self,
                "definition",
                definition,
                f"is not in cost_job_definitions ({', '.join(self.cost_definitions)})",
            )
        # The ARN is arn:PARTITION:batch:REGION:ACCOUNT:job-definition/NAME:REVISION.
        name = Fn.select(1, Fn.split("/", Fn.select(5, Fn.split(":", self.cost_definitions[definition]))))
        return base.with_(
            dimensions_map={**(base.dimensions or {}), DEFINITION_DIMENSION: name},
            label=f"{definition} {metric_name}",
        )

    def _submitter_metric(self, submitter: MonitoredSubmitter, name: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=submitter.metrics_namespace,
            metric_name=name,
            dimensions_map={"service": submitter.service_name},
            statistic="Sum",
            period=self.period,
            label=name,
        )

    # ------------------------------------------------------------------------------------ job events

    def _job_events(self, arns: list[str], retention: logs.RetentionDays, name: str | None) -> None:
        #: The log group that receives every job state change of the monitored queues.
        self.log_group = logs.LogGroup(
            self,
            "JobEvents",
            # EventBridge targets are listed (and documented) under /aws/events/; the name is derived
            # from the construct path so two stacks never collide.
            log_group_name=name or "/aws/events/" + Names.unique_resource_name(self, max_length=200),
            retention=retention,
            encryption_key=encryption_key(self, KeyUser.LOGS),
            # The events are a copy (Batch keeps the jobs); a retained group with a derived name would
            # block re-creating the stack.
            removal_policy=RemovalPolicy.DESTROY,
        )
        # CloudWatch Logs resource policies are per account and region (at most 10): this one is scoped
        # to this log group only.
        self.log_group_policy = logs.ResourcePolicy(
            self,
            "JobEventsPolicy",
            policy_statements=[
                iam.PolicyStatement(
                    sid="EventBridgeWritesBatchJobEvents",
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    principals=[
                        iam.ServicePrincipal("events.amazonaws.com"),
                        iam.ServicePrincipal("delivery.logs.amazonaws.com"),
                    ],
                    resources=[self.log_group.log_group_arn],
                )
            ],
        )
        #: Sends every ``Batch Job State Change`` event of the queues to :attr:`log_group`.
        self.rule = events.Rule(
            self,
            "JobStateRule",
            description="AWS Batch job state changes of the monitored queues, to CloudWatch Logs",
            event_pattern=events.EventPattern(
                source=["aws.batch"], detail_type=[JOB_STATE_CHANGE], detail={"jobQueue": arns}
            ),
            targets=[cast(events.IRuleTarget, _LogGroupTarget(self.log_group))],
        )
        self.rule.node.add_dependency(self.log_group_policy)
        self.metric_filters: dict[str, dict[str, logs.MetricFilter]] = {}
        for label, arn in self.queues.items():
            scope = Construct(self, f"Queue{label}")
            self.metric_filters[label] = {
                status: logs.MetricFilter(
                    scope,
                    f"{status.title()}Filter",
                    log_group=self.log_group,
                    filter_pattern=transition_pattern(arn, status),
                    metric_namespace=self.namespace,
                    metric_name=metric_name,
                    metric_value="1",
                    dimensions={QUEUE_DIMENSION: "$.detail.jobQueue"},
                    unit=cloudwatch.Unit.COUNT,
                )
                for status, metric_name in TRANSITIONS.items()
            }

    # --------------------------------------------------------------------------------------- backlog

    def _backlog(self, arns: list[str], retention: logs.RetentionDays, job_run_time: bool) -> None:
        stack = Stack.of(self)
        self._backlog_handler = HandlerFunction(
            self,
            "Backlog",
            handler_dir="backlog",
            description="Publishes RUNNABLE backlog and job run time metrics of AWS Batch queues",
            service_name=self.service_name,
            metrics_namespace=self.namespace,
            environment={
                ENV_QUEUES: stack.to_json_string(arns),
                ENV_MAX_PAGES: str(BACKLOG_MAX_PAGES),
                ENV_MAX_ARRAY_PAGES: str(BACKLOG_MAX_ARRAY_PAGES),
                **self._cost_environment(),
            },
            # At most 5 paced ListJobs calls a second: about one second budgeted per call.
            timeout=Duration.seconds(min(900, 60 + len(arns) * BACKLOG_CALLS_PER_QUEUE)),
            memory_size=128,
            log_retention=retention,
            # Every finished job invokes this function (JobFinishedRule): without a cap, an array of
            # 10,000 children finishing together could take up to the account's concurrency (1,000 by
            # default) from every other function, the submitter included. Throttled asynchronous events
            # are kept and retried for up to 6 hours
            # (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html).
            reserved_concurrent_executions=self.backlog_concurrency,
        )
        #: The function that publishes RunnableJobs, OldestRunnableAge and JobRunTime.
        self.backlog_function: lambda_.Function = self._backlog_handler.function
        # A failed run already published what it could and raised for its alarm; Lambda's two automatic
        # retries of an asynchronous invocation would only repeat every queue's ListJobs calls. The next
        # scheduled run measures again.
        self.backlog_function.configure_async_invoke(retry_attempts=0)
        role = self._backlog_handler.role
        role.add_to_principal_policy(iam.PolicyStatement(actions=["batch:ListJobs"], resources=["*"]))
        acknowledge(
            role,
            "IAM5",
            "batch:ListJobs supports no resource-level permissions (the Service Authorization Reference "
            "lists no resource type for it), so it can only be granted on '*'; it is the only action "
            "this role holds besides writing its own log group.",
            applies_to="Resource::*",
        )
        #: Runs the function every ``backlog_interval``.
        self.backlog_schedule = events.Rule(
            self,
            "BacklogSchedule",
            description="Measures the RUNNABLE backlog of the monitored AWS Batch queues",
            schedule=events.Schedule.rate(self.backlog_interval),
            targets=[targets.LambdaFunction(self.backlog_function, retry_attempts=0)],
        )
        #: Sends SUCCEEDED and FAILED events to the function, for ``JobRunTime`` (or None).
        self.run_time_rule: events.Rule | None = None
        if job_run_time:
            self.run_time_rule = events.Rule(
                self,
                "JobFinishedRule",
                description="Finished AWS Batch jobs of the monitored queues, for their run time",
                event_pattern=events.EventPattern(
                    source=["aws.batch"],
                    detail_type=[JOB_STATE_CHANGE],
                    detail={"jobQueue": arns, "status": ["SUCCEEDED", "FAILED"]},
                ),
                targets=[targets.LambdaFunction(self.backlog_function)],
            )

    def _cost_environment(self) -> dict[str, str]:
        """The price of each queue's compute and the price table, for EstimatedJobCost (none when off)."""
        if not self.job_costs:
            return {}
        stack = Stack.of(self)
        if not Token.is_unresolved(stack.region) and stack.region not in REFERENCE_PRICES:
            Annotations.of(self).add_warning_v2(
                "batchkit:price-fallback",
                f"No public prices for {stack.region} in cdk_batchkit.model.prices: EstimatedJobCost uses "
                f"{FALLBACK_REGION}'s prices.",
            )
        keys = [
            f"{kind}/{arch}"
            for kind in ("EC2", "EC2_SPOT", "FARGATE", "FARGATE_SPOT")
            for arch in ("x86_64", "arm64")
        ]
        environment = {
            ENV_QUEUE_PRICE_KEYS: json.dumps(list(self.queue_price_keys.values()), separators=(",", ":")),
            ENV_PRICES: json.dumps(
                price_table(keys, spot_factor=self._spot_price_factor), separators=(",", ":")
            ),
            ENV_FALLBACK_REGION: FALLBACK_REGION,
        }
        if self.cost_definitions:
            environment[ENV_COST_DEFINITIONS] = stack.to_json_string(list(self.cost_definitions.values()))
        return environment

    # ---------------------------------------------------------------------------------------- alarms

    def _alarm(
        self,
        scope: Construct,
        construct_id: str,
        key: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        description: str,
        *,
        comparison: cloudwatch.ComparisonOperator = (
            cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
        ),
        evaluation_periods: int = 1,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            scope,
            construct_id,
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        self.alarms[key] = alarm
        return alarm

    def _queue_alarms(self, label: str) -> None:
        scope = self.node.find_child(f"Queue{label}")
        assert isinstance(scope, Construct)
        t = self.thresholds
        self._alarm(
            scope,
            "FailedJobsAlarm",
            f"{label}/FailedJobs",
            self.queue_metric(label, TRANSITIONS["FAILED"]),
            t.failed_jobs,
            f"At least {t.failed_jobs} job(s) of Batch queue {label} FAILED within "
            f"{self.period.to_human_string()}.",
        )
        age = t.oldest_runnable_age.to_seconds()
        self._alarm(
            scope,
            "OldestRunnableAlarm",
            f"{label}/OldestRunnableAge",
            self.queue_metric(label, METRIC_OLDEST_AGE, statistic="Maximum", period=self.backlog_interval),
            age,
            f"A job of Batch queue {label} has been RUNNABLE for more than "
            f"{t.oldest_runnable_age.to_human_string()} (no capacity, or it fits no compute environment).",
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            # One breaching measurement of the last two: a late schedule does not flap the alarm to OK.
            evaluation_periods=2,
        )

    def _submitter_alarms(self, label: str, submitter: MonitoredSubmitter) -> None:
        scope = Construct(self, f"Submitter{label}")
        t = self.thresholds
        self._alarm(
            scope,
            "DeadLetterAlarm",
            f"{label}/DeadLetterQueue",
            submitter.dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=self.period, statistic="Maximum"
            ),
            t.dead_letter_messages,
            f"Submitter {label}: messages are waiting in its dead-letter queue (objects not submitted).",
        )
        self._alarm(
            scope,
            "ErrorsAlarm",
            f"{label}/Errors",
            submitter.function.metric_errors(period=self.period, statistic="Sum"),
            t.submitter_errors,
            f"Submitter {label}: its function raised errors.",
        )

    def _workflow_alarm(self, label: str, workflow: MonitoredWorkflow) -> None:
        machine = workflow.state_machine
        failures = cloudwatch.MathExpression(
            # FILL: without it the sum is missing whenever one of the two metrics has no data point.
            expression="FILL(failed, 0) + FILL(timedOut, 0)",
            using_metrics={
                "failed": machine.metric_failed(period=self.period, statistic="Sum"),
                "timedOut": machine.metric_timed_out(period=self.period, statistic="Sum"),
            },
            period=self.period,
            label=f"{label} failed + timed out",
        )
        self._alarm(
            Construct(self, f"Workflow{label}"),
            "FailedExecutionsAlarm",
            f"{label}/FailedExecutions",
            failures,
            self.thresholds.workflow_failures,
            f"Workflow {label}: executions failed or timed out.",
        )

    # ------------------------------------------------------------------------------------- dashboard

    def _dashboard(self, name: str | None) -> cloudwatch.Dashboard:
        board = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=name, default_interval=Duration.days(1)
        )
        board.add_widgets(
            cloudwatch.TextWidget(
                markdown=(
                    "# AWS Batch queues\n"
                    "Job state transitions come from EventBridge events (metric filters); the backlog is "
                    f"measured every {self.backlog_interval.to_human_string()}; run time is "
                    "`stoppedAt - startedAt` of finished jobs; job cost is an **estimate** (reserved vCPU "
                    "and memory x public prices, see cdk_batchkit.model.prices), not your bill. Alarms "
                    "notify the monitoring topic."
                ),
                width=24,
                height=2,
            )
        )
        for label in self.queues:
            transitions = [
                self.queue_metric(label, metric).with_(label=status.title())
                for status, metric in TRANSITIONS.items()
            ]
            board.add_widgets(
                cloudwatch.GraphWidget(title=f"{label}: job state transitions", left=transitions, width=6),
                cloudwatch.AlarmWidget(
                    title=f"{label}: failed jobs", alarm=self.alarms[f"{label}/FailedJobs"], width=6
                ),
                cloudwatch.GraphWidget(
                    title=f"{label}: RUNNABLE backlog",
                    left=[
                        self.queue_metric(
                            label, METRIC_RUNNABLE, statistic="Maximum", period=self.backlog_interval
                        ).with_(label="RUNNABLE jobs")
                    ],
                    right=[
                        self.queue_metric(
                            label, METRIC_OLDEST_AGE, statistic="Maximum", period=self.backlog_interval
                        ).with_(label="oldest RUNNABLE age (s)")
                    ],
                    width=6,
                ),
                cloudwatch.GraphWidget(
                    title=f"{label}: job run time (s)",
                    left=[
                        self.queue_metric(label, METRIC_RUN_TIME, statistic=stat).with_(label=stat)
                        for stat in ("p50", "p90", "Maximum")
                    ],
                    width=6,
                ),
            )
            if self.job_costs:
                board.add_widgets(*self._cost_widgets(label))
        for label, submitter in self.submitters.items():
            board.add_widgets(
                cloudwatch.GraphWidget(
                    title=f"{label}: throughput",
                    left=[self._submitter_metric(submitter, m) for m in ("ObjectsAccepted", "JobsSubmitted")],
                    width=8,
                ),
                cloudwatch.GraphWidget(
                    title=f"{label}: duplicates and failures",
                    left=[
                        self._submitter_metric(submitter, m)
                        for m in ("DuplicatesSkipped", "RecordsFailed", "RecordsSkipped")
                    ],
                    width=8,
                ),
                cloudwatch.GraphWidget(
                    title=f"{label}: dead-letter queue and errors",
                    left=[self.alarms[f"{label}/DeadLetterQueue"].metric],
                    right=[self.alarms[f"{label}/Errors"].metric],
                    width=8,
                ),
            )
        for label, workflow in self.workflows.items():
            machine = workflow.state_machine
            outcomes = [
                machine.metric_succeeded(period=self.period, statistic="Sum", label="Succeeded"),
                machine.metric_failed(period=self.period, statistic="Sum", label="Failed"),
                machine.metric_timed_out(period=self.period, statistic="Sum", label="Timed out"),
                machine.metric_aborted(period=self.period, statistic="Sum", label="Aborted"),
            ]
            board.add_widgets(
                cloudwatch.GraphWidget(title=f"{label}: workflow outcomes", left=outcomes, width=24)
            )
        return board

    def _cost_widgets(self, label: str) -> list[cloudwatch.IWidget]:
        """Estimated cost of the queue's finished jobs (and of each listed definition), and what they
        reserved, beside the queue's backlog and run time."""
        cost = [self.queue_metric(label, METRIC_COST).with_(label=f"{label} (all jobs)")]
        cost += [self.definition_metric(label, d).with_(label=d) for d in self.cost_definitions]
        return [
            cloudwatch.GraphWidget(
                title=f"{label}: ESTIMATED job cost (USD, public prices, not a bill)",
                left=cost,
                left_y_axis=cloudwatch.YAxisProps(label="USD (estimate)", show_units=False),
                width=12,
            ),
            cloudwatch.GraphWidget(
                title=f"{label}: reserved vCPU-seconds and GiB-seconds of finished jobs",
                left=[self.queue_metric(label, METRIC_VCPU_SECONDS).with_(label="vCPU-seconds")],
                right=[self.queue_metric(label, METRIC_GIB_SECONDS).with_(label="GiB-seconds")],
                width=12,
            ),
        ]

    # ------------------------------------------------------------------------------------ validation

    def _check_props(
        self,
        queues: Sequence[QueueLike],
        interval: Duration,
        log_group_name: str | None,
    ) -> None:
        if not 1 <= len(queues) <= MAX_QUEUES:
            fail(
                self,
                "job_queues",
                len(queues),
                f"needs 1 to {MAX_QUEUES} queues (a log group holds at most 100 metric filters, "
                f"{len(TRANSITIONS)} per queue); monitor more queues with a second BatchMonitoring",
            )
        check_seconds(self, "backlog_interval", interval, 60, 86_400)
        check_whole(self, "backlog_interval", interval.to_seconds() / 60, "minutes")
        t = self.thresholds
        check_seconds(self, "thresholds.period", t.period, 60, 86_400)
        check_whole(self, "thresholds.period", t.period.to_seconds() / 60, "minutes")
        check_seconds(self, "thresholds.oldest_runnable_age", t.oldest_runnable_age, 60, None)
        for prop in (
            "failed_jobs",
            "dead_letter_messages",
            "submitter_errors",
            "workflow_failures",
            "monitoring_errors",
        ):
            check_range(self, f"thresholds.{prop}", getattr(t, prop), 1, 1_000_000)
        if log_group_name is not None and not log_group_name.startswith("/aws/events/"):
            fail(self, "log_group_name", log_group_name, "must start with /aws/events/")

    def _check_costs(
        self, job_costs: bool, job_run_time: bool, definitions: Sequence[DefinitionLike], spot_factor: float
    ) -> None:
        if not 0 < spot_factor <= 1:
            fail(
                self,
                "spot_price_factor",
                spot_factor,
                "must be above 0 and at most 1 (a fraction of on-demand)",
            )
        if len(definitions) > MAX_COST_DEFINITIONS:
            fail(
                self,
                "cost_job_definitions",
                len(definitions),
                f"at most {MAX_COST_DEFINITIONS} (each queue and definition pair is {len(COST_METRICS)} "
                "custom metrics); the others are still counted in their queue's totals",
            )
        if definitions and not (job_costs and job_run_time):
            fail(
                self,
                "cost_job_definitions",
                [d.node.id for d in definitions],
                "needs job_costs=True and job_run_time=True (costs come from the finished-job events)",
            )


def transition_pattern(queue_arn: str, status: str) -> logs.IFilterPattern:
    """The metric filter pattern matching the ``status`` transitions of one queue, and nothing else."""
    return logs.FilterPattern.all(
        logs.FilterPattern.string_value("$.detail.jobQueue", "=", queue_arn),
        logs.FilterPattern.string_value("$.detail.status", "=", status),
    )


__all__ = [
    "BatchMonitoring",
    "MonitoredSubmitter",
    "MonitoredWorkflow",
    "MonitoringThresholds",
    "TRANSITIONS",
    "transition_pattern",
]
