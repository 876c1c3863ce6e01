"""The backlog function: RUNNABLE backlog on a schedule, run time and estimated cost of finished jobs.

A metric filter cannot subtract two fields nor list RUNNABLE jobs, so a small function
(``cdk_batchkit/lambdas/backlog``) runs every ``backlog_interval`` (ListJobs, paced) and once per finished
job (``stoppedAt - startedAt``, reserved vCPU and memory times the public price of the queue's compute).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs

from ...lambdas.backlog.core import (
    ENV_COST_DEFINITIONS,
    ENV_FALLBACK_REGION,
    ENV_MAX_ARRAY_PAGES,
    ENV_MAX_PAGES,
    ENV_PRICES,
    ENV_QUEUE_PRICE_KEYS,
    ENV_QUEUES,
)
from ...model import QueueProfile
from ...model.prices import FALLBACK_REGION, price_key, price_table
from ...model.statuses import JOB_STATE_CHANGE, JobStatus
from .._binding import add_to_principal
from .._lambda import HandlerFunction
from ..nag import acknowledge

if TYPE_CHECKING:
    from .facade import BatchMonitoring

#: ListJobs pages (of up to 1,000 jobs) read per queue per run and listing (RUNNABLE jobs, PENDING array
#: parents); more are logged as a lower bound.
BACKLOG_MAX_PAGES = 10
#: ListJobs pages of RUNNABLE array children read per queue per run (beyond: parents' status summaries).
BACKLOG_MAX_ARRAY_PAGES = 20
#: At most this many ListJobs calls per queue per run.
BACKLOG_CALLS_PER_QUEUE = 2 * BACKLOG_MAX_PAGES + BACKLOG_MAX_ARRAY_PAGES
#: The price keys the function gets a price for.
PRICE_KEYS = tuple(
    f"{kind}/{arch}"
    for kind in ("EC2", "EC2_SPOT", "FARGATE", "FARGATE_SPOT")
    for arch in ("x86_64", "arm64")
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


def cost_environment(monitoring: BatchMonitoring) -> dict[str, str]:
    """The price of each queue's compute and the price table, for EstimatedJobCost (none when off)."""
    if not monitoring.job_costs:
        return {}
    environment = {
        ENV_QUEUE_PRICE_KEYS: json.dumps(list(monitoring.queue_price_keys.values()), separators=(",", ":")),
        ENV_PRICES: json.dumps(
            price_table(list(PRICE_KEYS), spot_factor=monitoring.spot_price_factor), separators=(",", ":")
        ),
        ENV_FALLBACK_REGION: FALLBACK_REGION,
    }
    if monitoring.cost_definitions:
        environment[ENV_COST_DEFINITIONS] = Stack.of(monitoring).to_json_string(
            list(monitoring.cost_definitions.values())
        )
    return environment


def add_backlog(monitoring: BatchMonitoring, retention: logs.RetentionDays, job_run_time: bool) -> None:
    """The function, its schedule and the finished-job rule (attributes ``backlog_function``,
    ``backlog_schedule``, ``run_time_rule`` of ``monitoring``)."""
    arns = list(monitoring.queues.values())
    handler = HandlerFunction(
        monitoring,
        "Backlog",
        handler_dir="backlog",
        description="Publishes RUNNABLE backlog and job run time metrics of AWS Batch queues",
        service_name=monitoring.service_name,
        metrics_namespace=monitoring.namespace,
        environment={
            ENV_QUEUES: Stack.of(monitoring).to_json_string(arns),
            ENV_MAX_PAGES: str(BACKLOG_MAX_PAGES),
            ENV_MAX_ARRAY_PAGES: str(BACKLOG_MAX_ARRAY_PAGES),
            **cost_environment(monitoring),
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
        reserved_concurrent_executions=monitoring.backlog_concurrency,
    )
    monitoring.backlog_function = handler.function
    # A failed run already published what it could and raised for its alarm; Lambda's two automatic
    # retries of an asynchronous invocation would only repeat every queue's ListJobs calls. The next
    # scheduled run measures again.
    monitoring.backlog_function.configure_async_invoke(retry_attempts=0)
    role = handler.role
    add_to_principal(role, iam.PolicyStatement(actions=["batch:ListJobs"], resources=["*"]))
    acknowledge(
        role,
        "IAM5",
        "batch:ListJobs supports no resource-level permissions (the Service Authorization Reference "
        "lists no resource type for it), so it can only be granted on '*'; it is the only action "
        "this role holds besides writing its own log group.",
        applies_to="Resource::*",
    )
    monitoring.backlog_schedule = events.Rule(
        monitoring,
        "BacklogSchedule",
        description="Measures the RUNNABLE backlog of the monitored AWS Batch queues",
        schedule=events.Schedule.rate(monitoring.backlog_interval),
        targets=[targets.LambdaFunction(monitoring.backlog_function, retry_attempts=0)],
    )
    monitoring.run_time_rule = None
    if job_run_time:
        monitoring.run_time_rule = events.Rule(
            monitoring,
            "JobFinishedRule",
            description="Finished AWS Batch jobs of the monitored queues, for their run time",
            event_pattern=events.EventPattern(
                source=["aws.batch"],
                detail_type=[JOB_STATE_CHANGE],
                detail={"jobQueue": arns, "status": [JobStatus.SUCCEEDED.value, JobStatus.FAILED.value]},
            ),
            targets=[targets.LambdaFunction(monitoring.backlog_function)],
        )
