"""The CloudWatch dashboard ($3 per month): a row per queue (transitions, failed-jobs alarm, backlog,
run time, then estimated cost), a row per submitter and per workflow. Every widget shows the metrics the
alarms watch (the metric factories' ``spec_*`` descriptions), so nothing is described twice.

The widgets are data (:mod:`cdk_batchkit.model.cloudwatch`), placed as ``Dashboard.add_widgets`` would
place them and written into the body by one widget of the L2 dashboard: ``dashboard.add_widgets(...)``
still adds yours below them."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from aws_cdk import Aws
from aws_cdk import aws_cloudwatch as cloudwatch

from ...model.cloudwatch import GRID_WIDTH, AlarmWidget, GraphWidget, TextWidget, Widget, WidgetRow
from .._validation import duration, fetched, human_string
from .metrics import TRANSITIONS, QueueMetrics, SubmitterMetrics, WorkflowMetrics

if TYPE_CHECKING:
    from .facade import BatchMonitoring


def queue_widgets(monitoring: BatchMonitoring, metrics: QueueMetrics) -> list[Widget]:
    label = metrics.label
    return [
        GraphWidget(
            title=f"{label}: job state transitions",
            left=[metrics.spec_transitions(status) for status in TRANSITIONS],
            width=6,
        ),
        AlarmWidget(
            title=f"{label}: failed jobs",
            alarm_arn=fetched(monitoring.alarms[f"{label}/FailedJobs"], "attr_arn"),
            width=6,
        ),
        GraphWidget(
            title=f"{label}: RUNNABLE backlog",
            left=[metrics.spec_runnable_jobs()],
            right=[metrics.spec_oldest_runnable_age()],
            width=6,
        ),
        GraphWidget(
            title=f"{label}: job run time (s)",
            left=[metrics.spec_run_time(stat) for stat in ("p50", "p90", "Maximum")],
            width=6,
        ),
    ]


def cost_widgets(metrics: QueueMetrics) -> list[Widget]:
    """Estimated cost of the queue's finished jobs (and of each listed definition), and what they
    reserved, beside the queue's backlog and run time."""
    label = metrics.label
    cost = [metrics.spec_estimated_cost()] + [metrics.spec_estimated_cost(d) for d in metrics.definitions]
    return [
        GraphWidget(
            title=f"{label}: ESTIMATED job cost (USD, public prices, not a bill)",
            left=cost,
            left_axis={"label": "USD (estimate)", "showUnits": False},
            width=12,
        ),
        GraphWidget(
            title=f"{label}: reserved vCPU-seconds and GiB-seconds of finished jobs",
            left=[metrics.spec_vcpu_seconds()],
            right=[metrics.spec_gib_seconds()],
            width=12,
        ),
    ]


def submitter_widgets(metrics: SubmitterMetrics) -> list[Widget]:
    label = metrics.label
    return [
        GraphWidget(
            title=f"{label}: throughput",
            left=[metrics.spec("ObjectsAccepted"), metrics.spec("JobsSubmitted")],
            width=8,
        ),
        GraphWidget(
            title=f"{label}: duplicates and failures",
            left=[metrics.spec(name) for name in ("DuplicatesSkipped", "RecordsFailed", "RecordsSkipped")],
            width=8,
        ),
        GraphWidget(
            title=f"{label}: dead-letter queue and errors",
            left=[metrics.spec_dead_letter_messages()],
            right=[metrics.spec_errors()],
            width=8,
        ),
    ]


def workflow_widgets(metrics: WorkflowMetrics) -> list[Widget]:
    outcomes = [metrics.spec(outcome) for outcome in ("succeeded", "failed", "timed_out", "aborted")]
    return [GraphWidget(title=f"{metrics.label}: workflow outcomes", left=outcomes, width=24)]


class RenderedWidgets(cloudwatch.ConcreteWidget):
    """A row of widgets described as data, as one widget of an L2 ``Dashboard``: the dashboard places it
    (``position``) and writes what ``to_json`` returns into its body, tokens resolved. Two calls back from
    the CDK at synth, instead of a round trip per widget and metric."""

    def __init__(self, row: WidgetRow) -> None:
        super().__init__(GRID_WIDTH, row.height)
        self._row = row
        self._at = (0, 0)

    def position(self, x: float, y: float) -> None:
        self._at = (int(x), int(y))

    def to_json(self) -> list[Any]:
        return self._row.body(_region(), *self._at)


@functools.cache
def _region() -> str:
    """``${AWS::Region}`` (a pseudo parameter: the same token in every stack), asked of the CDK once."""
    return Aws.REGION


def add_dashboard(monitoring: BatchMonitoring, name: str | None) -> cloudwatch.Dashboard:
    board = cloudwatch.Dashboard(
        monitoring, "Dashboard", dashboard_name=name, default_interval=duration("days", 1)
    )
    widgets: list[Widget] = [
        TextWidget(
            markdown=(
                "# AWS Batch queues\n"
                "Job state transitions come from EventBridge events (metric filters); the backlog is "
                f"measured every {human_string(monitoring.backlog_interval)}; run time is "
                "`stoppedAt - startedAt` of finished jobs; job cost is an **estimate** (reserved vCPU "
                "and memory x public prices, see cdk_batchkit.model.prices), not your bill. Alarms "
                "notify the monitoring topic."
            ),
            width=24,
            height=2,
        )
    ]
    for metrics in monitoring.queue_metrics.values():
        widgets += queue_widgets(monitoring, metrics)
        if monitoring.job_costs:
            widgets += cost_widgets(metrics)
    for submitter in monitoring.submitter_metrics.values():
        widgets += submitter_widgets(submitter)
    for workflow in monitoring.workflow_metrics.values():
        widgets += workflow_widgets(workflow)
    # Placed as one add_widgets call places them: each after the previous one, wrapping at 24 columns.
    board.add_widgets(RenderedWidgets(WidgetRow(widgets)))
    return board
