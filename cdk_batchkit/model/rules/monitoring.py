"""What :class:`~cdk_batchkit.constructs.BatchMonitoring` can be asked to watch (BK-M1..BK-M6).

The construct translates its props into a :class:`MonitoringPlan`; these rules check it. No aws_cdk import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..prices import FALLBACK_REGION, REFERENCE_PRICES
from ..statuses import JOB_EVENTS_DOC, SERVICE_JOB_EVENTS_DOC
from ._registry import Problem, rule

#: CloudWatch Logs: 100 metric filters per log group.
MAX_METRIC_FILTERS = 100
#: The transitions counted per queue (SUBMITTED, RUNNABLE, RUNNING, SUCCEEDED, FAILED), one filter each.
FILTERS_PER_QUEUE = 5
#: Queues one monitoring construct can count (one log group).
MAX_QUEUES = MAX_METRIC_FILTERS // FILTERS_PER_QUEUE
#: The backlog function's reserved concurrency bounds.
MIN_CONCURRENCY, MAX_CONCURRENCY = 1, 100
#: Job definitions whose cost is published per definition (each queue and definition pair that runs jobs
#: is 3 more custom metrics: CloudWatch bills every dimension combination as a metric).
MAX_COST_DEFINITIONS = 20
#: The cost metrics each finished job adds.
COST_METRIC_COUNT = 3

_LOGS_QUOTAS = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html"
_DIMENSIONS = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Dimension"
)


@dataclass(frozen=True)
class MonitoringPlan:
    """What a monitoring construct was asked to do, as plain values.

    ``queues`` are the monitored queues' labels (construct ids) and ``service_queues`` those known to be
    SageMaker Training queues (a queue whose compute is unknown is in neither check); ``cost_definitions``
    the labels of ``cost_job_definitions``; ``region`` the stack's region (None: unknown until deploy).
    """

    queues: tuple[str, ...] = ()
    service_queues: tuple[str, ...] = ()
    backlog_concurrency: int = 2
    cost_definitions: tuple[str, ...] = ()
    job_costs: bool = True
    job_run_time: bool = True
    spot_price_factor: float = 0.3
    region: str | None = None


@rule(
    "BK-M1",
    f"Monitoring: 1-{MAX_QUEUES} queues per construct ({FILTERS_PER_QUEUE} metric filters each, "
    f"{MAX_METRIC_FILTERS} per log group).",
    _LOGS_QUOTAS,
)
def monitored_queue_count(plan: MonitoringPlan) -> Iterator[Problem]:
    if not 1 <= len(plan.queues) <= MAX_QUEUES:
        yield Problem(
            "job_queues",
            len(plan.queues),
            f"needs 1 to {MAX_QUEUES} queues (a log group holds at most {MAX_METRIC_FILTERS} metric filters, "
            f"{FILTERS_PER_QUEUE} per queue); monitor more queues with a second BatchMonitoring",
        )


@rule(
    "BK-M2",
    f"Monitoring: the backlog function's reserved concurrency (`backlog_concurrency`) is {MIN_CONCURRENCY}-"
    f"{MAX_CONCURRENCY}, default 2.",
    "https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html and "
    "https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html",
)
def backlog_concurrency(plan: MonitoringPlan) -> Iterator[Problem]:
    value = plan.backlog_concurrency
    if isinstance(value, bool) or not MIN_CONCURRENCY <= value <= MAX_CONCURRENCY:
        yield Problem(
            "backlog_concurrency", value, f"must be between {MIN_CONCURRENCY:g} and {MAX_CONCURRENCY:g}"
        )


@rule(
    "BK-M3",
    f"Monitoring: `cost_job_definitions` lists 0-{MAX_COST_DEFINITIONS} definitions, each once (every queue "
    f"and definition pair is {COST_METRIC_COUNT} more custom metrics), and needs `job_run_time` (the same "
    "finished-job events).",
    _DIMENSIONS,
)
def costed_definitions(plan: MonitoringPlan) -> Iterator[Problem]:
    labels = plan.cost_definitions
    if len(labels) > MAX_COST_DEFINITIONS:
        yield Problem(
            "cost_job_definitions",
            len(labels),
            f"at most {MAX_COST_DEFINITIONS} (each queue and definition pair is {COST_METRIC_COUNT} custom "
            "metrics); the others are still counted in their queue's totals",
        )
        return
    twice = [label for i, label in enumerate(labels) if label in labels[:i]]
    if twice:
        yield Problem("cost_job_definitions", twice[0], "lists two definitions with the same construct id")
        return
    if labels and not (plan.job_costs and plan.job_run_time):
        yield Problem(
            "cost_job_definitions",
            list(labels),
            "needs job_costs=True and job_run_time=True (costs come from the finished-job events)",
        )


@rule(
    "BK-M4",
    "Monitoring: `spot_price_factor` (Spot price / on-demand price in the cost estimate) is above 0 and at "
    "most 1.",
    "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-spot-instances.html",
)
def spot_price_factor(plan: MonitoringPlan) -> Iterator[Problem]:
    if not 0 < plan.spot_price_factor <= 1:
        yield Problem(
            "spot_price_factor",
            plan.spot_price_factor,
            "must be above 0 and at most 1 (a fraction of on-demand)",
        )


@rule(
    "BK-M5",
    f"Monitoring (warning): a stack region missing from the price table is priced at {FALLBACK_REGION}'s "
    "prices.",
    "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/AWS_Fargate.html (prices: "
    "https://aws.amazon.com/fargate/pricing/, https://aws.amazon.com/ec2/pricing/on-demand/)",
    warning=True,
)
def priced_region(plan: MonitoringPlan) -> Iterator[Problem]:
    costed = plan.job_costs and plan.job_run_time
    if costed and plan.region is not None and plan.region not in REFERENCE_PRICES:
        yield Problem(
            "",
            plan.region,
            f"No public prices for {plan.region} in cdk_batchkit.model.prices: EstimatedJobCost uses "
            f"{FALLBACK_REGION}'s prices.",
            code="batchkit:price-fallback",
        )


@rule(
    "BK-M6",
    "Monitoring: a SageMaker Training (service) queue cannot be monitored by BatchMonitoring: its metric "
    "filters, run time and cost count `Batch Job State Change` events and its backlog function lists jobs "
    "with ListJobs, while service jobs emit `Batch Service Job State Change` events and are listed by "
    "ListServiceJobs, so nothing would ever be counted or alarm. (JobStateNotifications does match service "
    "job events.)",
    f"{SERVICE_JOB_EVENTS_DOC}, {JOB_EVENTS_DOC} and "
    "https://docs.aws.amazon.com/batch/latest/APIReference/API_ListServiceJobs.html",
)
def no_service_queues(plan: MonitoringPlan) -> Iterator[Problem]:
    for label in plan.service_queues:
        yield Problem(
            "job_queues",
            label,
            "is a SageMaker Training (service) queue: its jobs emit 'Batch Service Job State Change' events "
            "and are listed by ListServiceJobs, while BatchMonitoring counts 'Batch Job State Change' events "
            "and lists RUNNABLE jobs with ListJobs, so none of its metrics or alarms would ever fire. Watch "
            "service jobs with JobStateNotifications (it matches their events) and leave this queue out",
        )


#: Every monitoring rule, in the order the construct reports them.
MONITORING_RULES: tuple[Callable[[MonitoringPlan], list[Problem]], ...] = (  # type: ignore[assignment]
    monitored_queue_count,
    no_service_queues,
    backlog_concurrency,
    spot_price_factor,
    costed_definitions,
    priced_region,
)
