"""Alarm families: per queue (failed jobs, oldest RUNNABLE age), per submitter (dead-letter queue,
errors), per workflow (failed plus timed-out executions) and the backlog function's own errors.

Every alarm notifies the monitoring topic on ALARM and OK and treats missing data as not breaching; each
watches the same metric object the dashboard shows (from the metric factories)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from ...model.statuses import JobStatus
from .._validation import duration, seconds_of

if TYPE_CHECKING:
    from .facade import BatchMonitoring
    from .metrics import QueueMetrics, SubmitterMetrics, WorkflowMetrics


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

    period: Duration = field(default_factory=lambda: duration("minutes", 5))
    failed_jobs: int = 1
    oldest_runnable_age: Duration = field(default_factory=lambda: duration("hours", 1))
    dead_letter_messages: int = 1
    submitter_errors: int = 1
    workflow_failures: int = 1
    monitoring_errors: int = 1


class AlarmFactory:
    """Creates the alarms of one monitoring construct into its ``alarms`` dict (``"<label>/<what>"``)."""

    def __init__(self, monitoring: BatchMonitoring) -> None:
        self.monitoring = monitoring
        self.thresholds = monitoring.thresholds
        self._action = monitoring.topic.alarm_action()
        # Each fetched once (each is a round trip to the CDK), not once per queue.
        self._period_text = monitoring.period.to_human_string()
        self._oldest_seconds = seconds_of(self.thresholds.oldest_runnable_age)
        self._oldest_text = self.thresholds.oldest_runnable_age.to_human_string()

    def alarm(
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
        self.monitoring.alarms[key] = alarm
        return alarm

    def queue(self, metrics: QueueMetrics) -> None:
        """FAILED jobs per period and the oldest RUNNABLE job's age, for one queue."""
        label, t = metrics.label, self.thresholds
        scope = self.monitoring.queue_scopes[label]
        self.alarm(
            scope,
            "FailedJobsAlarm",
            f"{label}/FailedJobs",
            metrics.transitions(JobStatus.FAILED),
            t.failed_jobs,
            f"At least {t.failed_jobs} job(s) of Batch queue {label} FAILED within {self._period_text}.",
        )
        self.alarm(
            scope,
            "OldestRunnableAlarm",
            f"{label}/OldestRunnableAge",
            metrics.oldest_runnable_age(),
            self._oldest_seconds,
            f"A job of Batch queue {label} has been RUNNABLE for more than {self._oldest_text} (no capacity, "
            "or it fits no compute environment).",
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            # One breaching measurement of the last two: a late schedule does not flap the alarm to OK.
            evaluation_periods=2,
        )

    def submitter(self, metrics: SubmitterMetrics) -> None:
        """Messages in the dead-letter queue and function errors, for one submitter."""
        label, t = metrics.label, self.thresholds
        scope = Construct(self.monitoring, f"Submitter{label}")
        self.alarm(
            scope,
            "DeadLetterAlarm",
            f"{label}/DeadLetterQueue",
            metrics.dead_letter_messages(),
            t.dead_letter_messages,
            f"Submitter {label}: messages are waiting in its dead-letter queue (objects not submitted).",
        )
        self.alarm(
            scope,
            "ErrorsAlarm",
            f"{label}/Errors",
            metrics.errors(),
            t.submitter_errors,
            f"Submitter {label}: its function raised errors.",
        )

    def workflow(self, metrics: WorkflowMetrics) -> None:
        """Failed plus timed-out executions, for one workflow."""
        label = metrics.label
        self.alarm(
            Construct(self.monitoring, f"Workflow{label}"),
            "FailedExecutionsAlarm",
            f"{label}/FailedExecutions",
            metrics.failures(),
            self.thresholds.workflow_failures,
            f"Workflow {label}: executions failed or timed out.",
        )

    def backlog_function(self) -> None:
        """Errors of the backlog function itself (its metrics may then be missing)."""
        function = self.monitoring.backlog_function
        self.alarm(
            self.monitoring,
            "BacklogFunctionErrors",
            "Monitoring/BacklogFunctionErrors",
            function.metric_errors(period=self.monitoring.period, statistic="Sum"),
            self.thresholds.monitoring_errors,
            "The Batch backlog/run-time metrics function failed: backlog metrics may be missing.",
        )
