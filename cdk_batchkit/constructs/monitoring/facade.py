"""BatchMonitoring: the facade that composes the metric factories, the job-event metric filters, the
backlog function, the alarm families and the dashboard (see the package's documentation)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, cast

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct, Node

from ...lambdas.backlog.core import METRIC_COST
from ...model.cloudwatch import AlarmSpec
from ...model.prices import SPOT_PRICE_FACTOR
from ...model.rules import MONITORING_RULES, MonitoringPlan, run
from .._binding import DefinitionLike, QueueLike, definition_ref, queue_ref
from .._refs import TopicLike, TopicRef, WorkflowLike, state_machine_ref, topic_ref
from .._validation import (
    check_range,
    check_seconds,
    check_whole,
    duration,
    fail,
    is_token,
    node_id,
    parent_of,
    report,
    seconds_of,
    stack_env,
)
from ..notifications import NotificationTopic
from .alarms import AlarmFactory, MonitoringThresholds
from .backlog import add_backlog, queue_price_key
from .dashboard import add_dashboard
from .job_events import add_job_events
from .metrics import (
    COST_METRICS,
    TRANSITIONS,
    MonitoredSubmitter,
    MonitoredWorkflow,
    QueueMetrics,
    SubmitterMetrics,
    WorkflowMetrics,
)

DEFAULT_NAMESPACE = "CdkBatchkit/Jobs"
DEFAULT_SERVICE = "batch-monitoring"


class _Machine:
    """A bare state machine monitored as a workflow (what :class:`MonitoredWorkflow` asks of one)."""

    def __init__(self, state_machine: Any) -> None:
        self.state_machine = state_machine


def _label(item: Any, inner: Any, prop: str, owner: Construct) -> str:
    if isinstance(item, Construct):
        return node_id(item)
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
    (``{queue label: {JobStatus: MetricFilter}}``), ``backlog_function``, ``backlog_schedule``,
    ``run_time_rule`` (None when ``job_run_time`` is False), ``alarms`` (``{"<label>/<what>": CfnAlarm}``;
    :meth:`alarm` for an ``IAlarm``) and ``alarm_specs`` (the same alarms as data),
    ``dashboard`` (None when ``dashboard`` is False), ``topic`` (the :class:`NotificationTopic`), and the
    metric factories ``queue_metrics``, ``submitter_metrics`` and ``workflow_metrics`` (by label) for your
    own alarms and widgets: ``monitoring.queue_metrics["Primary"].transitions(JobStatus.FAILED)``.
    """

    log_group: logs.LogGroup
    log_group_policy: logs.ResourcePolicy
    rule: events.Rule
    metric_filters: dict[str, dict[Any, logs.MetricFilter]]
    backlog_function: lambda_.Function
    backlog_schedule: events.Rule
    run_time_rule: events.Rule | None

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        job_queues: Sequence[QueueLike],
        submitters: Sequence[MonitoredSubmitter] = (),
        workflows: Sequence[WorkflowLike] = (),
        topic: TopicLike | None = None,
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
            metric filters): ours, imported or any ``batch.IJobQueue``. Not SageMaker Training (service)
            queues: synth fails for one (BK-M6).
        :param submitters: S3 submitters to alarm on (dead-letter queue, errors) and chart. Default: no
            submitter is monitored.
        :param workflows: workflows to alarm on (failed and timed-out executions) and chart: a
            :class:`Workflow` or any ``sfn.IStateMachine``. Default: no workflow is monitored.
        :param topic: where alarm and OK notifications go: a :class:`NotificationTopic` or any ``sns.ITopic``
            (an encrypted one of the app gets the key-policy statement CloudWatch alarms need; an imported key
            a synth warning naming it). Default: a new encrypted topic (its KMS key costs $1 a month).
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
            (dimension ``job_definition``, the name without revision), at most 20. Default: only each
            queue's cost is published, not each definition's.
        :param spot_price_factor: Spot price as a fraction of on-demand in the estimate. Default: 0.3.
        """
        super().__init__(scope, construct_id)
        self.thresholds = thresholds or MonitoringThresholds()
        self.backlog_interval = backlog_interval or duration("minutes", 5)
        self.period = self.thresholds.period
        self.namespace = metrics_namespace
        self.service_name = service_name
        self.backlog_concurrency = backlog_concurrency
        self.spot_price_factor = spot_price_factor
        self.job_costs = job_costs and job_run_time

        #: label (the queue construct's id) -> queue ARN.
        self.queues: dict[str, str] = {}
        #: label -> the price key of the queue's compute (None: unknown, priced from the event).
        self.queue_price_keys: dict[str, str | None] = {}
        service_queues = []
        for queue in job_queues:
            label = node_id(queue)
            if label in self.queues:
                fail(self, "job_queues", label, "lists two queues with the same construct id")
            ref = queue_ref(queue)
            self.queues[label] = ref.job_queue_arn
            self.queue_price_keys[label] = queue_price_key(ref.profile)
            if ref.profile is not None and ref.profile.service:
                service_queues.append(label)
        #: label (the definition construct's id) -> job definition name source (its ARN).
        self.cost_definitions: dict[str, str] = {}
        labels = [node_id(d) for d in cost_job_definitions]
        region = stack_env(self).region
        report(
            self,
            run(
                MONITORING_RULES,
                MonitoringPlan(
                    queues=tuple(self.queues),
                    service_queues=tuple(service_queues),
                    backlog_concurrency=backlog_concurrency,
                    cost_definitions=tuple(labels),
                    job_costs=job_costs,
                    job_run_time=job_run_time,
                    spot_price_factor=spot_price_factor,
                    region=None if is_token(region) else region,
                ),
            ),
        )
        self._check_props(log_group_name)
        for definition, label in zip(cost_job_definitions, labels, strict=True):
            self.cost_definitions[label] = definition_ref(definition).job_definition_arn

        #: The metric factories, by label: built once, shared by alarms, the dashboard and your code.
        self.queue_metrics: dict[str, QueueMetrics] = {
            label: QueueMetrics(
                label=label,
                queue_arn=arn,
                namespace=self.namespace,
                service_name=self.service_name,
                period=self.period,
                backlog_period=self.backlog_interval,
                definitions=self.cost_definitions,
            )
            for label, arn in self.queues.items()
        }

        #: Where alarm and OK notifications go: the :class:`NotificationTopic` (given or new), or the
        #: ``TopicRef`` of any other ``sns.ITopic`` given (both have ``.topic``, ``.alarm_action()``).
        self.topic: NotificationTopic | TopicRef = (
            topic
            if isinstance(topic, NotificationTopic)
            else topic_ref(topic)
            if topic is not None
            else NotificationTopic(self, "Topic", display_name="AWS Batch monitoring alarms")
        )
        if alarm_email is not None:
            self.topic.add_email(alarm_email)
        #: The alarms (``"<label>/<what>"``): the ``AWS::CloudWatch::Alarm`` L1s; :meth:`alarm` gives one as
        #: an ``aws_cloudwatch.IAlarm`` (for composite alarms and your own widgets).
        self.alarms: dict[str, cloudwatch.CfnAlarm] = {}
        #: What each alarm watches and when it fires, as data (``"<label>/<what>"``).
        self.alarm_specs: dict[str, AlarmSpec] = {}
        #: label -> the ``Queue<label>`` construct holding the queue's metric filters and alarms.
        self.queue_scopes: dict[str, Construct] = {}

        add_job_events(self, log_retention, log_group_name)
        add_backlog(self, log_retention, job_run_time)

        self._alarm_refs: dict[str, cloudwatch.IAlarm] = {}
        alarms = AlarmFactory(self)
        for metrics in self.queue_metrics.values():
            alarms.queue(metrics)
        self.submitters: dict[str, MonitoredSubmitter] = {}
        self.submitter_metrics: dict[str, SubmitterMetrics] = {}
        for submitter in submitters:
            label = _label(submitter, submitter.function, "submitters", self)
            if label in self.submitters:
                fail(self, "submitters", label, "lists two submitters with the same construct id")
            self.submitters[label] = submitter
            self.submitter_metrics[label] = SubmitterMetrics(
                label=label, submitter=submitter, period=self.period
            )
            alarms.submitter(self.submitter_metrics[label])
        self.workflows: dict[str, MonitoredWorkflow] = {}
        self.workflow_metrics: dict[str, WorkflowMetrics] = {}
        for given in workflows:
            # A Workflow, or any sfn.IStateMachine (monitored as a workflow of that one state machine).
            machine = state_machine_ref(given)
            workflow: MonitoredWorkflow = _Machine(machine) if machine is given else given  # type: ignore[assignment]
            label = _label(given, machine, "workflows", self)
            if label in self.workflows:
                fail(self, "workflows", label, "lists two workflows with the same construct id")
            self.workflows[label] = workflow
            self.workflow_metrics[label] = WorkflowMetrics(label=label, workflow=workflow, period=self.period)
            alarms.workflow(self.workflow_metrics[label])
        alarms.backlog_function()

        #: The CloudWatch dashboard ($3 per month), or None.
        self.dashboard = add_dashboard(self, dashboard_name) if dashboard else None

    def alarm(self, key: str) -> cloudwatch.IAlarm:
        """Alarm ``key`` (``"<label>/FailedJobs"``, see ``alarms``) as an ``aws_cloudwatch.IAlarm``: for a
        composite alarm (``AlarmRule.from_alarm``) or an ``AlarmWidget`` of your own. Made on first use."""
        if key not in self.alarms:
            fail(self, "key", key, f"is not an alarm of this construct ({', '.join(self.alarms)})")
        found = self._alarm_refs.get(key)
        if found is None:
            cfn = self.alarms[key]
            beside = cast(Construct, parent_of(cfn))  # the alarm's own construct (``...Alarm``)
            found = self._alarm_refs[key] = cloudwatch.Alarm.from_alarm_arn(beside, "Ref", cfn.attr_arn)
        return found

    # ------------------------------------------------------------------------- deprecated aliases

    def queue_metric(
        self,
        label: str,
        metric_name: str,
        *,
        statistic: str = "Sum",
        period: Duration | None = None,
    ) -> cloudwatch.Metric:
        """DEPRECATED (removed in the next release): use ``queue_metrics[label]`` and its typed methods
        (``transitions(JobStatus.FAILED)``, ``runnable_jobs()``, ``estimated_cost()``...).

        A metric of queue ``label`` (its construct id): a ``TRANSITIONS`` value, ``RunnableJobs``,
        ``OldestRunnableAge``, ``JobRunTime`` or a cost metric."""
        warnings.warn(
            "BatchMonitoring.queue_metric(label, metric_name) is deprecated: use "
            "monitoring.queue_metrics[label].transitions(JobStatus.FAILED), .runnable_jobs(), ...",
            DeprecationWarning,
            stacklevel=2,
        )
        if label not in self.queues:
            fail(self, "label", label, f"is not a monitored queue ({', '.join(self.queues)})")
        try:
            return self.queue_metrics[label].metric(metric_name, statistic=statistic, period=period)
        except ValueError:
            fail(self, "metric_name", metric_name, "is not a job metric of this construct")
            raise

    def definition_metric(
        self, label: str, definition: str, metric_name: str = METRIC_COST, *, period: Duration | None = None
    ) -> cloudwatch.Metric:
        """DEPRECATED (removed in the next release): use
        ``queue_metrics[label].estimated_cost(definition)`` or ``.definition_metric(definition, name)``.

        A cost metric of job definition ``definition`` (a ``cost_job_definitions`` construct id) on
        queue ``label``: dimensions ``queue`` and ``job_definition`` (the definition's name)."""
        warnings.warn(
            "BatchMonitoring.definition_metric(...) is deprecated: use "
            "monitoring.queue_metrics[label].estimated_cost(definition)",
            DeprecationWarning,
            stacklevel=2,
        )
        if label not in self.queues:
            fail(self, "label", label, f"is not a monitored queue ({', '.join(self.queues)})")
        if metric_name not in COST_METRICS:
            fail(self, "metric_name", metric_name, f"is not a cost metric ({', '.join(COST_METRICS)})")
        if definition not in self.cost_definitions:
            fail(
                self,
                "definition",
                definition,
                f"is not in cost_job_definitions ({', '.join(self.cost_definitions)})",
            )
        metric = self.queue_metrics[label].definition_metric(definition, metric_name)
        return metric if period is None else metric.with_(period=period)

    # ------------------------------------------------------------------------------------ validation

    def _check_props(self, log_group_name: str | None) -> None:
        interval = self.backlog_interval
        check_seconds(self, "backlog_interval", interval, 60, 86_400)
        check_whole(self, "backlog_interval", _minutes(interval), "minutes")
        t = self.thresholds
        check_seconds(self, "thresholds.period", t.period, 60, 86_400)
        check_whole(self, "thresholds.period", _minutes(t.period), "minutes")
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


def _minutes(duration: Duration) -> float:
    seconds = seconds_of(duration)
    return seconds if is_token(seconds) else seconds / 60


__all__ = [
    "DEFAULT_NAMESPACE",
    "DEFAULT_SERVICE",
    "TRANSITIONS",
    "BatchMonitoring",
    "MonitoredSubmitter",
    "MonitoredWorkflow",
    "MonitoringThresholds",
]
