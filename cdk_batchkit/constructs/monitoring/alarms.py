"""Alarm families: per queue (failed jobs, oldest RUNNABLE age), per submitter (dead-letter queue,
errors), per workflow (failed plus timed-out executions) and the backlog function's own errors.

Every alarm notifies the monitoring topic on ALARM and OK and treats missing data as not breaching; each
watches the same metric the dashboard shows (the metric factories' ``spec_*`` descriptions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from ...model.cloudwatch import AlarmSpec, MathSpec, MetricSpec
from ...model.statuses import JobStatus
from .._l1 import l1_kwargs
from .._validation import duration, human_string, seconds_of
from .metrics import function_errors

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
    """Creates the alarms of one monitoring construct into its ``alarms`` dict (``"<label>/<what>"``).

    Each alarm is an :class:`~cdk_batchkit.model.cloudwatch.AlarmSpec` written into an
    ``AWS::CloudWatch::Alarm`` in one call (at the path, so the logical ID, an ``aws_cloudwatch.Alarm``
    of the same id had): the L2 would cost a round trip for the alarm, its metric and each action."""

    def __init__(self, monitoring: BatchMonitoring) -> None:
        self.monitoring = monitoring
        self.thresholds = monitoring.thresholds
        self._actions = (monitoring.topic.alarm_action_arn(),)
        # Each fetched once (each is a round trip to the CDK), not once per queue.
        self._period_text = human_string(monitoring.period)
        self._oldest_seconds = seconds_of(self.thresholds.oldest_runnable_age)
        self._oldest_text = human_string(self.thresholds.oldest_runnable_age)

    def alarm(
        self,
        scope: Construct,
        construct_id: str,
        key: str,
        metric: MetricSpec | MathSpec,
        threshold: float,
        description: str,
        *,
        comparison: str = "GreaterThanOrEqualToThreshold",
        evaluation_periods: int = 1,
    ) -> cloudwatch.CfnAlarm:
        spec = AlarmSpec(
            metric=metric,
            threshold=threshold,
            description=description,
            comparison=comparison,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=1,
            treat_missing_data="notBreaching",
            actions=self._actions,
        )
        alarm = cloudwatch.CfnAlarm(
            Construct(scope, construct_id), "Resource", **l1_kwargs(spec.properties())
        )
        self.monitoring.alarms[key] = alarm
        self.monitoring.alarm_specs[key] = spec
        return alarm

    def queue(self, metrics: QueueMetrics) -> None:
        """FAILED jobs per period and the oldest RUNNABLE job's age, for one queue."""
        label, t = metrics.label, self.thresholds
        scope = self.monitoring.queue_scopes[label]
        self.alarm(
            scope,
            "FailedJobsAlarm",
            f"{label}/FailedJobs",
            metrics.spec_transitions(JobStatus.FAILED),
            t.failed_jobs,
            f"At least {t.failed_jobs} job(s) of Batch queue {label} FAILED within {self._period_text}.",
        )
        self.alarm(
            scope,
            "OldestRunnableAlarm",
            f"{label}/OldestRunnableAge",
            metrics.spec_oldest_runnable_age(),
            self._oldest_seconds,
            f"A job of Batch queue {label} has been RUNNABLE for more than {self._oldest_text} (no capacity, "
            "or it fits no compute environment).",
            comparison="GreaterThanThreshold",
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
            metrics.spec_dead_letter_messages(),
            t.dead_letter_messages,
            f"Submitter {label}: messages are waiting in its dead-letter queue (objects not submitted).",
        )
        self.alarm(
            scope,
            "ErrorsAlarm",
            f"{label}/Errors",
            metrics.spec_errors(),
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
            metrics.spec_failures(),
            self.thresholds.workflow_failures,
            f"Workflow {label}: executions failed or timed out.",
        )

    def backlog_function(self) -> None:
        """Errors of the backlog function itself (its metrics may then be missing)."""
        self.alarm(
            self.monitoring,
            "BacklogFunctionErrors",
            "Monitoring/BacklogFunctionErrors",
            function_errors(self.monitoring.backlog_function, int(seconds_of(self.monitoring.period))),
            self.thresholds.monitoring_errors,
            "The Batch backlog/run-time metrics function failed: backlog metrics may be missing.",
        )
