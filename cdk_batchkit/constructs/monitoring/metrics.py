"""Typed metric factories: one per monitored queue, submitter and workflow.

Each metric is described once as data (a :class:`~cdk_batchkit.model.cloudwatch.MetricSpec`, ``spec_*``
methods), which the alarms and the dashboard render without a round trip to the CDK; the typed methods
(``transitions``, ``runnable_jobs``...) turn the same description into an ``aws_cloudwatch.Metric`` for
your own alarms and widgets, built once per factory on first use. Labels are the ones the dashboard shows;
an alarm does not render a single metric's label.

    queue = monitoring.queue_metrics["Primary"]
    queue.transitions(JobStatus.FAILED)      # FAILED transitions per period (Sum)
    queue.runnable_jobs()                    # RUNNABLE jobs, measured every backlog interval (Maximum)
    queue.estimated_cost(definition="Render")
"""

from __future__ import annotations

from typing import Any, Protocol

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
from ...model.cloudwatch import MathSpec, MetricSpec
from ...model.statuses import JobStatus
from .._validation import duration, fetched, seconds_of

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


class _Factory:
    """Keeps every metric it built, by its description: each ``aws_cloudwatch`` object is made once."""

    def __init__(self) -> None:
        self._built: dict[MetricSpec | MathSpec, Any] = {}

    def to_metric(self, spec: MetricSpec) -> cloudwatch.Metric:
        """``spec`` as an ``aws_cloudwatch.Metric`` (one round trip, the first time)."""
        found = self._built.get(spec)
        if found is None:
            found = self._built[spec] = cloudwatch.Metric(
                namespace=spec.namespace,
                metric_name=spec.metric_name,
                dimensions_map=spec.dimensions_map,
                statistic=spec.statistic,
                period=duration("seconds", spec.period),
                label=spec.label,
            )
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
        self._seconds, self._backlog_seconds = int(seconds_of(period)), int(seconds_of(backlog_period))
        self._definition_names: dict[str, str] = {}

    # -- as data ---------------------------------------------------------------------------------

    def spec(
        self,
        metric_name: str,
        *,
        statistic: str = "Sum",
        period: Duration | int | None = None,
        label: str | None = None,
        dimensions: dict[str, str] | None = None,
    ) -> MetricSpec:
        """A metric of this queue by name (one of :data:`TRANSITIONS`' values or :data:`FUNCTION_METRICS`)
        as data; ``period`` in seconds or as a Duration (default: the count period)."""
        if metric_name not in FUNCTION_METRICS and metric_name not in TRANSITIONS.values():
            raise ValueError(f"{metric_name!r} is not a job metric of this construct")
        dims = {QUEUE_DIMENSION: self.queue_arn}
        if metric_name in FUNCTION_METRICS:
            dims["service"] = self.service_name  # Powertools adds it to every EMF metric
        dims.update(dimensions or {})
        seconds = (
            self._seconds if period is None else period if isinstance(period, int) else seconds_of(period)
        )
        return MetricSpec(
            namespace=self.namespace,
            metric_name=metric_name,
            dimensions=tuple(dims.items()),
            statistic=statistic,
            period=int(seconds),
            label=label or f"{self.label} {metric_name}",
        )

    def spec_transitions(self, status: JobStatus | str) -> MetricSpec:
        status = JobStatus(status)
        if status not in TRANSITIONS:
            raise ValueError(f"{status} transitions are not counted ({', '.join(TRANSITIONS)} are)")
        return self.spec(TRANSITIONS[status], label=status.title())

    def spec_runnable_jobs(self) -> MetricSpec:
        return self.spec(
            METRIC_RUNNABLE, statistic="Maximum", period=self._backlog_seconds, label="RUNNABLE jobs"
        )

    def spec_oldest_runnable_age(self) -> MetricSpec:
        return self.spec(
            METRIC_OLDEST_AGE,
            statistic="Maximum",
            period=self._backlog_seconds,
            label="oldest RUNNABLE age (s)",
        )

    def spec_run_time(self, statistic: str = "p50") -> MetricSpec:
        return self.spec(METRIC_RUN_TIME, statistic=statistic, label=statistic)

    def spec_estimated_cost(self, definition: str | None = None) -> MetricSpec:
        if definition is None:
            return self.spec(METRIC_COST, label=f"{self.label} (all jobs)")
        return self.spec_definition(definition, METRIC_COST)

    def spec_vcpu_seconds(self) -> MetricSpec:
        return self.spec(METRIC_VCPU_SECONDS, label="vCPU-seconds")

    def spec_gib_seconds(self) -> MetricSpec:
        return self.spec(METRIC_GIB_SECONDS, label="GiB-seconds")

    def spec_definition(self, definition: str, metric_name: str = METRIC_COST) -> MetricSpec:
        if metric_name not in COST_METRICS:
            raise ValueError(f"{metric_name!r} is not a cost metric ({', '.join(COST_METRICS)})")
        if definition not in self.definitions:
            raise KeyError(definition)
        name = self._definition_names.get(definition)
        if name is None:
            # The ARN is arn:PARTITION:batch:REGION:ACCOUNT:job-definition/NAME:REVISION.
            arn = self.definitions[definition]
            name = self._definition_names[definition] = Fn.select(
                1, Fn.split("/", Fn.select(5, Fn.split(":", arn)))
            )
        return self.spec(metric_name, label=definition, dimensions={DEFINITION_DIMENSION: name})

    # -- as aws_cloudwatch metrics -----------------------------------------------------------------

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
        return self.to_metric(
            self.spec(metric_name, statistic=statistic, period=period, label=label, dimensions=dimensions)
        )

    def transitions(self, status: JobStatus | str) -> cloudwatch.Metric:
        """Jobs of this queue that entered ``status`` per period (SUBMITTED counts only re-entries: Batch
        emits no event for the initial submission)."""
        return self.to_metric(self.spec_transitions(status))

    def runnable_jobs(self) -> cloudwatch.Metric:
        """RUNNABLE jobs (array children included), the maximum measured in each backlog interval."""
        return self.to_metric(self.spec_runnable_jobs())

    def oldest_runnable_age(self) -> cloudwatch.Metric:
        """Seconds the oldest RUNNABLE job has waited, the maximum in each backlog interval."""
        return self.to_metric(self.spec_oldest_runnable_age())

    def run_time(self, statistic: str = "p50") -> cloudwatch.Metric:
        """``stoppedAt - startedAt`` of finished jobs (seconds) as ``statistic`` (``p90``, ``Maximum``...)."""
        return self.to_metric(self.spec_run_time(statistic))

    def estimated_cost(self, definition: str | None = None) -> cloudwatch.Metric:
        """ESTIMATED cost (USD at public prices, not a bill) of finished jobs: all of the queue's, or of
        ``definition`` (a ``cost_job_definitions`` label) on this queue."""
        return self.to_metric(self.spec_estimated_cost(definition))

    def vcpu_seconds(self) -> cloudwatch.Metric:
        """vCPU-seconds finished jobs reserved."""
        return self.to_metric(self.spec_vcpu_seconds())

    def gib_seconds(self) -> cloudwatch.Metric:
        """GiB-seconds of memory finished jobs reserved."""
        return self.to_metric(self.spec_gib_seconds())

    def definition_metric(self, definition: str, metric_name: str = METRIC_COST) -> cloudwatch.Metric:
        """A cost metric of ``definition`` (a ``cost_job_definitions`` label) on this queue: dimensions
        ``queue`` and ``job_definition`` (the definition's name)."""
        return self.to_metric(self.spec_definition(definition, metric_name))


def function_errors(function: lambda_.IFunction, seconds: int) -> MetricSpec:
    """Invocations of ``function`` that raised, per period (``AWS/Lambda`` ``Errors``, Sum)."""
    name = fetched(function, "function_name")
    return MetricSpec("AWS/Lambda", "Errors", (("FunctionName", name),), "Sum", seconds)


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
        self._seconds = int(seconds_of(period))

    def spec(self, metric_name: str) -> MetricSpec:
        """One of :data:`SUBMITTER_METRICS` (Sum per period), as data."""
        if metric_name not in SUBMITTER_METRICS:
            raise ValueError(f"{metric_name!r} is not a submitter metric ({', '.join(SUBMITTER_METRICS)})")
        return MetricSpec(
            namespace=self.submitter.metrics_namespace,
            metric_name=metric_name,
            dimensions=(("service", self.submitter.service_name),),
            statistic="Sum",
            period=self._seconds,
            label=metric_name,
        )

    def spec_dead_letter_messages(self) -> MetricSpec:
        queue_name = fetched(self.submitter.dead_letter_queue, "queue_name")
        return MetricSpec(
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            (("QueueName", queue_name),),
            "Maximum",
            self._seconds,
        )

    def spec_errors(self) -> MetricSpec:
        return function_errors(self.submitter.function, self._seconds)

    def metric(self, metric_name: str) -> cloudwatch.Metric:
        """One of :data:`SUBMITTER_METRICS` (Sum per period)."""
        return self.to_metric(self.spec(metric_name))

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
        return self.to_metric(self.spec_dead_letter_messages())

    def errors(self) -> cloudwatch.Metric:
        """Invocations of the submitter's function that raised, per period."""
        return self.to_metric(self.spec_errors())


class MonitoredWorkflow(Protocol):
    """What monitoring needs of a workflow."""

    @property
    def state_machine(self) -> sfn.IStateMachine: ...


#: Step Functions' execution outcome metrics (namespace ``AWS/States``, dimension ``StateMachineArn``).
_OUTCOMES = {
    "succeeded": ("ExecutionsSucceeded", "Succeeded"),
    "failed": ("ExecutionsFailed", "Failed"),
    "timed_out": ("ExecutionsTimedOut", "Timed out"),
    "aborted": ("ExecutionsAborted", "Aborted"),
}


class WorkflowMetrics(_Factory):
    """The execution outcomes of one workflow's state machine (Sum per period).

    :param label: the workflow's label (its construct id), used in metric labels.
    :param workflow: the monitored workflow (its state machine).
    :param period: the period of every metric (Sum per period).
    """

    def __init__(self, *, label: str, workflow: MonitoredWorkflow, period: Duration) -> None:
        super().__init__()
        self.label, self.workflow, self.period = label, workflow, period
        self._seconds = int(seconds_of(period))

    def spec(self, outcome: str, *, label: bool = True) -> MetricSpec:
        """``succeeded``, ``failed``, ``timed_out`` or ``aborted`` executions per period, as data."""
        metric_name, text = _OUTCOMES[outcome]
        arn = fetched(self.workflow.state_machine, "state_machine_arn")
        return MetricSpec(
            "AWS/States",
            metric_name,
            (("StateMachineArn", arn),),
            "Sum",
            self._seconds,
            text if label else None,
        )

    def spec_failures(self) -> MathSpec:
        """Failed plus timed-out executions per period (what the workflow alarm watches)."""
        return MathSpec(
            # FILL: without it the sum is missing whenever one of the two metrics has no data point.
            expression="FILL(failed, 0) + FILL(timedOut, 0)",
            using=(
                ("failed", self.spec("failed", label=False)),
                ("timedOut", self.spec("timed_out", label=False)),
            ),
            period=self._seconds,
            label=f"{self.label} failed + timed out",
        )

    def succeeded(self) -> cloudwatch.Metric:
        return self.to_metric(self.spec("succeeded"))

    def failed(self) -> cloudwatch.Metric:
        return self.to_metric(self.spec("failed"))

    def timed_out(self) -> cloudwatch.Metric:
        return self.to_metric(self.spec("timed_out"))

    def aborted(self) -> cloudwatch.Metric:
        return self.to_metric(self.spec("aborted"))

    def failures(self) -> cloudwatch.MathExpression:
        """Failed plus timed-out executions per period (what the workflow alarm watches)."""
        spec = self.spec_failures()
        found = self._built.get(spec)
        if found is None:
            found = self._built[spec] = cloudwatch.MathExpression(
                expression=spec.expression,
                using_metrics={query_id: self.to_metric(metric) for query_id, metric in spec.using},
                period=duration("seconds", spec.period),
                label=spec.label,
            )
        return found  # type: ignore[no-any-return]
