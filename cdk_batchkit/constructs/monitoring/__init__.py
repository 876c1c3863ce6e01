"""Per-queue job metrics, alarms and a dashboard for AWS Batch, with no always-on resources.

A package: typed metric factories (:mod:`.metrics`: :class:`QueueMetrics`, :class:`SubmitterMetrics`,
:class:`WorkflowMetrics`), the job-event metric filters (:mod:`.job_events`), the backlog function
(:mod:`.backlog`), the alarm families (:mod:`.alarms`) and the dashboard (:mod:`.dashboard`), with
:class:`BatchMonitoring` (:mod:`.facade`) composing them.

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

from ...model.rules.monitoring import MAX_COST_DEFINITIONS, MAX_QUEUES
from ...model.statuses import JOB_STATE_CHANGE, JobStatus
from .alarms import AlarmFactory, MonitoringThresholds
from .backlog import (
    BACKLOG_CALLS_PER_QUEUE,
    BACKLOG_MAX_ARRAY_PAGES,
    BACKLOG_MAX_PAGES,
    queue_price_key,
)
from .facade import DEFAULT_NAMESPACE, DEFAULT_SERVICE, BatchMonitoring
from .job_events import transition_pattern
from .metrics import (
    COST_METRICS,
    SUBMITTER_METRICS,
    TRANSITIONS,
    MonitoredSubmitter,
    MonitoredWorkflow,
    QueueMetrics,
    SubmitterMetrics,
    WorkflowMetrics,
)

__all__ = [
    "BACKLOG_CALLS_PER_QUEUE",
    "BACKLOG_MAX_ARRAY_PAGES",
    "BACKLOG_MAX_PAGES",
    "COST_METRICS",
    "DEFAULT_NAMESPACE",
    "DEFAULT_SERVICE",
    "JOB_STATE_CHANGE",
    "MAX_COST_DEFINITIONS",
    "MAX_QUEUES",
    "SUBMITTER_METRICS",
    "TRANSITIONS",
    "AlarmFactory",
    "BatchMonitoring",
    "JobStatus",
    "MonitoredSubmitter",
    "MonitoredWorkflow",
    "MonitoringThresholds",
    "QueueMetrics",
    "SubmitterMetrics",
    "WorkflowMetrics",
    "queue_price_key",
    "transition_pattern",
]
