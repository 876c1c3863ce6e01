"""The CloudWatch dashboard ($3 per month): a row per queue (transitions, failed-jobs alarm, backlog,
run time, then estimated cost), a row per submitter and per workflow. Every widget shows the metric
objects the alarms watch (from the metric factories), so nothing is built twice."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import aws_cloudwatch as cloudwatch

from .._validation import duration
from .metrics import TRANSITIONS, QueueMetrics, SubmitterMetrics, WorkflowMetrics

if TYPE_CHECKING:
    from .facade import BatchMonitoring


def queue_widgets(monitoring: BatchMonitoring, metrics: QueueMetrics) -> list[cloudwatch.IWidget]:
    label = metrics.label
    return [
        cloudwatch.GraphWidget(
            title=f"{label}: job state transitions",
            left=[metrics.transitions(status) for status in TRANSITIONS],
            width=6,
        ),
        cloudwatch.AlarmWidget(
            title=f"{label}: failed jobs", alarm=monitoring.alarms[f"{label}/FailedJobs"], width=6
        ),
        cloudwatch.GraphWidget(
            title=f"{label}: RUNNABLE backlog",
            left=[metrics.runnable_jobs()],
            right=[metrics.oldest_runnable_age()],
            width=6,
        ),
        cloudwatch.GraphWidget(
            title=f"{label}: job run time (s)",
            left=[metrics.run_time(stat) for stat in ("p50", "p90", "Maximum")],
            width=6,
        ),
    ]


def cost_widgets(metrics: QueueMetrics) -> list[cloudwatch.IWidget]:
    """Estimated cost of the queue's finished jobs (and of each listed definition), and what they
    reserved, beside the queue's backlog and run time."""
    label = metrics.label
    cost = [metrics.estimated_cost()] + [metrics.estimated_cost(d) for d in metrics.definitions]
    return [
        cloudwatch.GraphWidget(
            title=f"{label}: ESTIMATED job cost (USD, public prices, not a bill)",
            left=cost,
            left_y_axis=cloudwatch.YAxisProps(label="USD (estimate)", show_units=False),
            width=12,
        ),
        cloudwatch.GraphWidget(
            title=f"{label}: reserved vCPU-seconds and GiB-seconds of finished jobs",
            left=[metrics.vcpu_seconds()],
            right=[metrics.gib_seconds()],
            width=12,
        ),
    ]


def submitter_widgets(metrics: SubmitterMetrics) -> list[cloudwatch.IWidget]:
    label = metrics.label
    return [
        cloudwatch.GraphWidget(
            title=f"{label}: throughput", left=[metrics.objects_accepted(), metrics.jobs_submitted()], width=8
        ),
        cloudwatch.GraphWidget(
            title=f"{label}: duplicates and failures",
            left=[metrics.duplicates_skipped(), metrics.records_failed(), metrics.records_skipped()],
            width=8,
        ),
        cloudwatch.GraphWidget(
            title=f"{label}: dead-letter queue and errors",
            left=[metrics.dead_letter_messages()],
            right=[metrics.errors()],
            width=8,
        ),
    ]


def workflow_widgets(metrics: WorkflowMetrics) -> list[cloudwatch.IWidget]:
    outcomes = [metrics.succeeded(), metrics.failed(), metrics.timed_out(), metrics.aborted()]
    return [cloudwatch.GraphWidget(title=f"{metrics.label}: workflow outcomes", left=outcomes, width=24)]


def add_dashboard(monitoring: BatchMonitoring, name: str | None) -> cloudwatch.Dashboard:
    board = cloudwatch.Dashboard(
        monitoring, "Dashboard", dashboard_name=name, default_interval=duration("days", 1)
    )
    widgets: list[cloudwatch.IWidget] = [
        cloudwatch.TextWidget(
            markdown=(
                "# AWS Batch queues\n"
                "Job state transitions come from EventBridge events (metric filters); the backlog is "
                f"measured every {monitoring.backlog_interval.to_human_string()}; run time is "
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
    # One call for every widget (each add_widgets call is a round trip): the layout is the same, each
    # widget placed after the previous one, wrapping at 24 columns.
    board.add_widgets(*widgets)
    return board
