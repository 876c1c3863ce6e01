"""Typed metric factories: one per monitored queue, submitter and workflow.

Each factory builds a metric once and hands the same object to every alarm and dashboard widget that
shows it (a CloudWatch metric is an immutable value: sharing it is safe, and building it again would cost
the synth another round trip to the CDK for nothing). Labels are the ones the dashboard shows; an alarm
does not render a single metric's label.

    queue = monitoring.queue_metrics["Primary"]
    queue.transitions(JobStatus.FAILED)      # FAILED transitions per period (Sum)
    queue.runnable_jobs()                    # RUNNABLE jobs, measured every backlog interval (Maximum)
    queue.estimated_cost(definition="Render")
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Protocol, TypeVar

from aws_cdk import Duration, Fn
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn

from ...lambdas.backlog.core import (
    DEFINITION_DIMENSION,
    METRIC_COST,
    METRIC_GIB_SECONDS,
    METRIC_OLDEST_AGE,
    METRIC_RUN_TIME,
    METRIC_RUNNABLE,
    METRIC_VCPU_SECONDS,
    QUEUE_DIMENSION,
)
from ...model.statuses import JobStatus

#: Job statuses whose transitions are counted (a metric filter each), and the metric each one feeds.
TRANSITIONS: dict[JobStatus, str] = {
    JobStatus.SUBMITTED: "JobsSubmitted",
    JobStatus.RUNNABLE: "JobsRunnable",
    JobStatus.RUNNING: "JobsRunning",
    JobStatus.SUCCEEDED: "JobsSucceeded",
    JobStatus.FAILED: "JobsFailed",
}
#: The metrics the backlog function publishes per queue (Powertools adds the ``service`` dimension).
FUNCTION_METRICS = (
    METRIC_RUNNABLE,
    METRIC_OLDEST_AGE,
    METRIC_RUN_TIME,
    METRIC_COST,
    METRIC_VCPU_SECONDS,
    METRIC_GIB_SECONDS,
)
#: The metrics each finished job adds (per queue, and per queue and listed job definition).
COST_METRICS = (METRIC_COST, METRIC_VCPU_SECONDS, METRIC_GIB_SECONDS)
#: The Powertools EMF metrics an S3 submitter publishes (dimension ``service``).
SUBMITTER_METRICS = (
    "ObjectsAccepted",
    "JobsSubmitted",
    "DuplicatesSkipped",
    "RecordsFailed",
    "RecordsSkipped",
)

M = TypeVar("M")


class _Factory:
    """Keeps every metric it built, by what it was asked."""

    def __init__(self) -> None:
        self._built: dict[Hashable, Any] = {}

    def _once(self, key: Hashable, build: Callable[[], M]) -> M:
        found = self._built.get(key)
        if found is None:
            found = self._built[key] = build()
        return found  # type: ignore[no-any-return]


class QueueMetrics(_Factory):
    """The metrics of one monitored queue: job state transitions (metric filters), backlog, run time and
    cost (the backlog function).

    :param label: the queue's label (its construct id), used in metric labels.
    :param queue_arn: the ``queue`` dimension (the ARN Batch puts in ``detail.jobQueue``).
    :param namespace: the metrics' namespace.
    :param service_name: the backlog function's Powertools service name (the ``service`` dimension of its
        metrics).
    :param period: the period of count metrics (transitions, run time, cost).
    :param backlog_period: the period of backlog metrics (how often the function measures).
    :param definitions: ``cost_job_definitions`` labels -> their job definition ARN. Default: no job
        definition's cost is published on its own.
    """

    def __init__(
        self,
        *,
        label: str,
        queue_arn: str,
        namespace: str,
        service_name: str,
        period: Duration,
        backlog_period: Duration,
        definitions: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.label, self.queue_arn, self.namespace = label, queue_arn, namespace
        self.service_name, self.period, self.backlog_period = service_name, period, backlog_period
        self.definitions = dict(definitions or {})

    def metric(
        self,
        metric_name: str,
        *,
        statistic: str = "Sum",
        period: Duration | None = None,
        label: str | None = None,
        dimensions: dict[str, str] | None = None,
    ) -> cloudwatch.Metric:
        """A metric of this queue by name (one of :data:`TRANSITIONS`' values or :data:`FUNCTION_METRICS`);
        prefer the typed methods. Built once per distinct request."""
        if metric_name not in FUNCTION_METRICS and metric_name not in TRANSITIONS.values():
            raise ValueError(f"{metric_name!r} is not a job metric of this construct")
        extra = tuple(sorted((dimensions or {}).items()))
        key = (metric_name, statistic, id(period) if period is not None else None, label, extra)

        def build() -> cloudwatch.Metric:
            dims = {QUEUE_DIMENSION: self.queue_arn}
            if metric_name in FUNCTION_METRICS:
                dims["service"] = self.service_name  # Powertools adds it to every EMF metric
            dims.update(dimensions or {})
            return cloudwatch.Metric(
                namespace=self.namespace,
                metric_name=metric_name,
                dimensions_map=dims,
                statistic=statistic,
                period=period or self.period,
                label=label or f"{self.label} {metric_name}",
            )

        return self._once(key, build)

    def transitions(self, status: JobStatus | str) -> cloudwatch.Metric:
        """Jobs of this queue that entered ``status`` per period (SUBMITTED counts only re-entries: Batch
        emits no event for the initial submission)."""
        status = JobStatus(status)
        if status not in TRANSITIONS:
            raise ValueError(f"{status} transitions are not counted ({', '.join(TRANSITIONS)} are)")
        return self.metric(TRANSITIONS[status], label=status.title())

    def runnable_jobs(self) -> cloudwatch.Metric:
        """RUNNABLE jobs (array children included), the maximum measured in each backlog interval."""
        return self.metric(
            METRIC_RUNNABLE, statistic="Maximum", period=self.backlog_period, label="RUNNABLE jobs"
        )

    def oldest_runnable_age(self) -> cloudwatch.Metric:
        """Seconds the oldest RUNNABLE job has waited, the maximum in each backlog interval."""
        return self.metric(
            METRIC_OLDEST_AGE,
            statistic="Maximum",
            period=self.backlog_period,
            label="oldest RUNNABLE age (s)",
        )

    def run_time(self, statistic: str = "p50") -> cloudwatch.Metric:
        """``stoppedAt - startedAt`` of finished jobs (seconds) as ``statistic`` (``p90``, ``Maximum``...)."""
        return self.metric(METRIC_RUN_TIME, statistic=statistic, label=statistic)

    def estimated_cost(self, definition: str | None = None) -> cloudwatch.Metric:
        """ESTIMATED cost (USD at public prices, not a bill) of finished jobs: all of the queue's, or of
        ``definition`` (a ``cost_job_definitions`` label) on this queue."""
        if definition is None:
            return self.metric(METRIC_COST, label=f"{self.label} (all jobs)")
        return self.definition_metric(definition, METRIC_COST)

    def vcpu_seconds(self) -> cloudwatch.Metric:
        """vCPU-seconds finished jobs reserved."""
        return self.metric(METRIC_VCPU_SECONDS, label="vCPU-seconds")

    def gib_seconds(self) -> cloudwatch.Metric:
        """GiB-seconds of memory finished jobs reserved."""
        return self.metric(METRIC_GIB_SECONDS, label="GiB-seconds")

    def definition_metric(self, definition: str, metric_name: str = METRIC_COST) -> cloudwatch.Metric:
        """A cost metric of ``definition`` (a ``cost_job_definitions`` label) on this queue: dimensions
        ``queue`` and ``job_definition`` (the definition's name)."""
        if metric_name not in COST_METRICS:
            raise ValueError(f"{metric_name!r} is not a cost metric ({', '.join(COST_METRICS)})")
        if definition not in self.definitions:
            raise KeyError(definition)
        # The ARN is arn:PARTITION:batch:REGION:ACCOUNT:job-definition/NAME:REVISION.
        name = self._once(
            ("definition-name", definition),
            lambda: Fn.select(1, Fn.split("/", Fn.select(5, Fn.split(":", self.definitions[definition])))),
        )
        return self.metric(metric_name, label=definition, dimensions={DEFINITION_DIMENSION: name})


class MonitoredSubmitter(Protocol):
    """What monitoring needs of an S3 submitter."""

    @property
    def function(self) -> lambda_.IFunction: ...

    @property
    def dead_letter_queue(self) -> sqs.IQueue: ...

    @property
    def metrics_namespace(self) -> str: ...

    @property
    def service_name(self) -> str: ...


class SubmitterMetrics(_Factory):
    """The metrics of one S3 submitter: what its function published (Powertools EMF, dimension
    ``service``), its dead-letter queue and its errors.

    :param label: the submitter's label (its construct id), used in metric labels.
    :param submitter: the monitored submitter (its function, service name and dead-letter queue).
    :param period: the period of every metric (Sum per period).
    """

    def __init__(self, *, label: str, submitter: MonitoredSubmitter, period: Duration) -> None:
        super().__init__()
        self.label, self.submitter, self.period = label, submitter, period

    def metric(self, metric_name: str) -> cloudwatch.Metric:
        """One of :data:`SUBMITTER_METRICS` (Sum per period)."""
        if metric_name not in SUBMITTER_METRICS:
            raise ValueError(f"{metric_name!r} is not a submitter metric ({', '.join(SUBMITTER_METRICS)})")
        return self._once(
            metric_name,
            lambda: cloudwatch.Metric(
                namespace=self.submitter.metrics_namespace,
                metric_name=metric_name,
                dimensions_map={"service": self.submitter.service_name},
                statistic="Sum",
                period=self.period,
                label=metric_name,
            ),
        )

    def objects_accepted(self) -> cloudwatch.Metric:
        return self.metric("ObjectsAccepted")

    def jobs_submitted(self) -> cloudwatch.Metric:
        return self.metric("JobsSubmitted")

    def duplicates_skipped(self) -> cloudwatch.Metric:
        return self.metric("DuplicatesSkipped")

    def records_failed(self) -> cloudwatch.Metric:
        return self.metric("RecordsFailed")

    def records_skipped(self) -> cloudwatch.Metric:
        return self.metric("RecordsSkipped")

    def dead_letter_messages(self) -> cloudwatch.Metric:
        """Messages visible in the dead-letter queue (objects not submitted), the maximum per period."""
        return self._once(
            "dead-letter",
            lambda: self.submitter.dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=self.period, statistic="Maximum"
            ),
        )

    def errors(self) -> cloudwatch.Metric:
        """Invocations of the submitter's function that raised, per period."""
        return self._once(
            "errors", lambda: self.submitter.function.metric_errors(period=self.period, statistic="Sum")
        )


class MonitoredWorkflow(Protocol):
    """What monitoring needs of a workflow."""

    @property
    def state_machine(self) -> sfn.IStateMachine: ...


class WorkflowMetrics(_Factory):
    """The execution outcomes of one workflow's state machine (Sum per period).

    :param label: the workflow's label (its construct id), used in metric labels.
    :param workflow: the monitored workflow (its state machine).
    :param period: the period of every metric (Sum per period).
    """

    def __init__(self, *, label: str, workflow: MonitoredWorkflow, period: Duration) -> None:
        super().__init__()
        self.label, self.workflow, self.period = label, workflow, period

    def succeeded(self) -> cloudwatch.Metric:
        machine = self.workflow.state_machine
        return self._once(
            "succeeded",
            lambda: machine.metric_succeeded(period=self.period, statistic="Sum", label="Succeeded"),
        )

    def failed(self) -> cloudwatch.Metric:
        machine = self.workflow.state_machine
        return self._once(
            "failed", lambda: machine.metric_failed(period=self.period, statistic="Sum", label="Failed")
        )

    def timed_out(self) -> cloudwatch.Metric:
        machine = self.workflow.state_machine
        return self._once(
            "timed_out",
            lambda: machine.metric_timed_out(period=self.period, statistic="Sum", label="Timed out"),
        )

    def aborted(self) -> cloudwatch.Metric:
        machine = self.workflow.state_machine
        return self._once(
            "aborted", lambda: machine.metric_aborted(period=self.period, statistic="Sum", label="Aborted")
        )

    def failures(self) -> cloudwatch.MathExpression:
        """Failed plus timed-out executions per period (what the workflow alarm watches)."""
        machine = self.workflow.state_machine
        return self._once(
            "failures",
            lambda: cloudwatch.MathExpression(
                # FILL: without it the sum is missing whenever one of the two metrics has no data point.
                expression="FILL(failed, 0) + FILL(timedOut, 0)",
                using_metrics={
                    "failed": machine.metric_failed(period=self.period, statistic="Sum"),
                    "timedOut": machine.metric_timed_out(period=self.period, statistic="Sum"),
                },
                period=self.period,
                label=f"{self.label} failed + timed out",
            ),
        )
