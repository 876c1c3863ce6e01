"""Backlog and run-time metrics for AWS Batch job queues: the pure logic behind ``handler.py``.

Two kinds of invocation:

* an EventBridge schedule (every few minutes): for each configured queue, count its RUNNABLE jobs,
  array children included, and publish ``RunnableJobs`` (how many) and ``OldestRunnableAge`` (seconds
  since the oldest one was created; 0 when the queue is empty). Each queue is measured and published on
  its own: a queue whose ListJobs fails is logged and skipped, the others are published, and the
  invocation then raises (so the function's error alarm fires) naming the failed queues;
* a ``Batch Job State Change`` event for a job that SUCCEEDED or FAILED: publish ``JobRunTime``
  (``stoppedAt - startedAt`` in seconds, timestamped at ``stoppedAt``). A CloudWatch Logs metric filter
  can only publish a field's value, not a difference of two fields, so run time is computed here.
  With a price table (``PRICES``), the same event also publishes ``JobVcpuSeconds``, ``JobGibSeconds``
  and ``EstimatedJobCost`` (USD at public prices: an estimate, see :func:`job_usage` and
  :func:`estimated_cost`), per queue and, for the job definitions named in ``COST_JOB_DEFINITIONS``,
  per queue and definition.

Metrics are CloudWatch embedded metric format (EMF) lines written by Powertools, one line per queue,
with the dimensions ``service`` (Powertools adds it) and ``queue`` (the queue ARN, the value Batch puts
in ``detail.jobQueue``, so these metrics line up with the metric-filter ones).

Array jobs: a parent is never RUNNABLE (it is PENDING while any child is RUNNABLE: "An array parent job
is updated to PENDING when any child job is updated to RUNNABLE",
https://docs.aws.amazon.com/batch/latest/userguide/array_jobs.html), and ``ListJobs`` lists "the children
for that job" when given its ``arrayJobId`` (https://docs.aws.amazon.com/batch/latest/APIReference/API_ListJobs.html).
Whether ``ListJobs(jobQueue, jobStatus=RUNNABLE)`` also returns children is not documented, so both are
read and counted once by job id: the RUNNABLE jobs of the queue, then the queue's PENDING array parents
(a summary with ``arrayProperties.size``) whose ``statusSummary`` does not say 0 RUNNABLE, and their
RUNNABLE children, for at most ``MAX_ARRAY_PAGES`` child pages per queue. Past that, a parent's
``statusSummary`` RUNNABLE count is added without an age and the figures are marked incomplete.

Batch API rates: calls are spaced by ``Pacer`` (at least ``CALL_INTERVAL_SECONDS`` apart, 0.2 s by
default, so at most 5 ListJobs calls a second), the client retries throttling with botocore's adaptive
mode, and each queue is read for at most ``MAX_PAGES`` pages per listing (RUNNABLE, then PENDING) and
``MAX_ARRAY_PAGES`` pages of array children; a capped queue is logged and its figures are lower bounds.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

RUNNABLE = "RUNNABLE"
PENDING = "PENDING"
FINISHED = ("SUCCEEDED", "FAILED")
JOB_STATE_CHANGE = "Batch Job State Change"

METRIC_RUNNABLE = "RunnableJobs"
METRIC_OLDEST_AGE = "OldestRunnableAge"
METRIC_RUN_TIME = "JobRunTime"
METRIC_VCPU_SECONDS = "JobVcpuSeconds"
METRIC_GIB_SECONDS = "JobGibSeconds"
METRIC_COST = "EstimatedJobCost"
QUEUE_DIMENSION = "queue"
DEFINITION_DIMENSION = "job_definition"
#: Fargate bills each task for at least one minute (https://aws.amazon.com/fargate/pricing/).
FARGATE_MINIMUM_SECONDS = 60

# Environment variables (read only in Settings.from_env).
ENV_QUEUES = "QUEUES"
ENV_PAGE_SIZE = "PAGE_SIZE"
ENV_MAX_PAGES = "MAX_PAGES"
ENV_MAX_ARRAY_PAGES = "MAX_ARRAY_PAGES"
ENV_CALL_INTERVAL = "CALL_INTERVAL_SECONDS"
#: JSON list parallel to QUEUES: each queue's price key ("EC2_SPOT/arm64", "FARGATE/" - architecture
#: from the job -, or null when its compute is unknown).
ENV_QUEUE_PRICE_KEYS = "QUEUE_PRICE_KEYS"
#: JSON {region: {price key: [USD per vCPU-hour, USD per GiB-hour]}} (cdk_batchkit.model.prices).
ENV_PRICES = "PRICES"
#: The region whose prices stand in for a region missing from PRICES.
ENV_FALLBACK_REGION = "PRICE_FALLBACK_REGION"
#: JSON list of job definition ARNs or names whose cost is also published per definition.
ENV_COST_DEFINITIONS = "COST_JOB_DEFINITIONS"

#: ListJobs returns at most 1000 summaries a page.
MAX_PAGE_SIZE = 1000

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    """Configuration, read from the environment in one place (:meth:`from_env`)."""

    queues: tuple[str, ...]
    namespace: str
    service: str
    page_size: int = MAX_PAGE_SIZE
    max_pages: int = 10
    max_array_pages: int = 20
    call_interval: float = 0.2
    #: Parallel to ``queues``: each queue's price key, or None when its compute is unknown.
    queue_price_keys: tuple[str | None, ...] = ()
    #: {region: {price key: (USD per vCPU-hour, USD per GiB-hour)}}; empty: no cost metrics.
    prices: Mapping[str, Mapping[str, tuple[float, float]]] = field(default_factory=dict)
    fallback_region: str = "us-east-1"
    #: Names of the job definitions whose cost is also published per definition.
    cost_definitions: frozenset[str] = frozenset()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        raw = env.get(ENV_QUEUES, "")
        try:
            queues = json.loads(raw)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"{ENV_QUEUES} must be a JSON list of queue ARNs or names, got {raw!r}"
            ) from error
        if not isinstance(queues, list) or not all(isinstance(q, str) and q for q in queues):
            raise ValueError(f"{ENV_QUEUES} must be a JSON list of queue ARNs or names, got {raw!r}")
        page_size = int(env.get(ENV_PAGE_SIZE, MAX_PAGE_SIZE))
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"{ENV_PAGE_SIZE} must be 1-{MAX_PAGE_SIZE}, got {page_size}")
        return cls(
            queues=tuple(queues),
            namespace=env.get("POWERTOOLS_METRICS_NAMESPACE", "CdkBatchkit/Jobs"),
            service=env.get("POWERTOOLS_SERVICE_NAME", "batch-monitoring"),
            page_size=page_size,
            max_pages=max(1, int(env.get(ENV_MAX_PAGES, 10))),
            max_array_pages=max(0, int(env.get(ENV_MAX_ARRAY_PAGES, 20))),
            call_interval=max(0.0, float(env.get(ENV_CALL_INTERVAL, 0.2))),
            queue_price_keys=tuple(_json(env, ENV_QUEUE_PRICE_KEYS, [])),
            prices={
                region: {key: (float(v[0]), float(v[1])) for key, v in table.items()}
                for region, table in _json(env, ENV_PRICES, {}).items()
            },
            fallback_region=env.get(ENV_FALLBACK_REGION, "us-east-1"),
            cost_definitions=frozenset(definition_name(d) for d in _json(env, ENV_COST_DEFINITIONS, [])),
        )

    def price_key(self, queue: str) -> str | None:
        """The price key the construct computed for ``queue`` (None: unknown compute)."""
        keys = dict(zip(self.queues, self.queue_price_keys, strict=False))
        return keys.get(queue)


def _json(env: Mapping[str, str], name: str, default: Any) -> Any:
    raw = env.get(name)
    if not raw:
        return default
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"{name} must be JSON, got {raw!r}") from error


def definition_name(arn_or_name: str) -> str:
    """``arn:...:job-definition/NAME:7`` (or ``NAME:7``, ``NAME``) -> ``NAME``."""
    name = arn_or_name.rsplit("job-definition/", 1)[-1]
    return name.split(":", 1)[0]


class Pacer:
    """Spaces successive calls at least ``interval`` seconds apart (clock and sleep are injectable)."""

    def __init__(
        self,
        interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._last: float | None = None

    def wait(self) -> None:
        now = self._clock()
        if self._last is not None:
            delay = self._last + self.interval - now
            if delay > 0:
                self._sleep(delay)
                now += delay
        self._last = now


@dataclass(frozen=True)
class Backlog:
    """The RUNNABLE jobs of one queue at one moment (array children included)."""

    queue: str
    runnable: int
    oldest_age_seconds: float
    pages: int
    complete: bool  # False when a page cap stopped a listing: the figures are lower bounds
    array_children: int = 0  # of ``runnable``, children found through their parents (not in the queue list)


class BacklogError(RuntimeError):
    """ListJobs failed for some queues (the others were published)."""

    def __init__(self, failures: Mapping[str, BaseException]) -> None:
        self.failures = dict(failures)
        names = ", ".join(f"{queue} ({type(error).__name__}: {error})" for queue, error in failures.items())
        super().__init__(f"Could not measure the backlog of {len(failures)} queue(s): {names}")


class _Tally:
    """RUNNABLE jobs counted once by id, and the oldest ``createdAt``."""

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.oldest: int | None = None
        self.extra = 0  # counted from a parent's statusSummary, ids unknown

    def add(self, job: Mapping[str, Any]) -> bool:
        job_id = str(job.get("jobId", ""))
        if job_id and job_id in self.ids:
            return False
        if job_id:
            self.ids.add(job_id)
        created = job.get("createdAt")
        if isinstance(created, int | float) and (self.oldest is None or created < self.oldest):
            self.oldest = int(created)
        return True

    @property
    def count(self) -> int:
        return len(self.ids) + self.extra


def _pages(
    client: Any, request: Mapping[str, Any], *, page_size: int, max_pages: int, pacer: Pacer
) -> tuple[list[dict[str, Any]], int, bool]:
    """Job summaries of one ListJobs listing: (summaries, pages read, whether the listing was complete)."""
    summaries: list[dict[str, Any]] = []
    pages = 0
    token: str | None = None
    while pages < max_pages:
        pacer.wait()
        call: dict[str, Any] = {**request, "maxResults": page_size}
        if token:
            call["nextToken"] = token
        response = client.list_jobs(**call)
        pages += 1
        summaries.extend(response.get("jobSummaryList", []))
        token = response.get("nextToken")
        if not token:
            return summaries, pages, True
    return summaries, pages, False


def _array_parents_with_runnable_children(summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The array parents among PENDING ``summaries`` that may have RUNNABLE children."""
    parents = []
    for job in summaries:
        array = job.get("arrayProperties") or {}
        if "size" not in array:
            continue  # not an array parent (a job waiting on a dependency, or a child)
        summary = array.get("statusSummary")
        if isinstance(summary, Mapping) and summary.get(RUNNABLE, 0) == 0:
            continue
        parents.append(job)
    return parents


def measure_backlog(
    client: Any,
    queue: str,
    *,
    now_ms: int,
    page_size: int,
    max_pages: int,
    pacer: Pacer,
    max_array_pages: int = 20,
) -> Backlog:
    """Count the RUNNABLE jobs of ``queue``, array children included, and the age of the oldest one."""
    tally = _Tally()
    runnable, pages, complete = _pages(
        client,
        {"jobQueue": queue, "jobStatus": RUNNABLE},
        page_size=page_size,
        max_pages=max_pages,
        pacer=pacer,
    )
    for job in runnable:
        tally.add(job)
    if not complete:
        logger.warning(
            "Stopped listing RUNNABLE jobs of %s after %d pages (MAX_PAGES): at least %d jobs are RUNNABLE; "
            "the count and oldest age are lower bounds",
            queue,
            pages,
            tally.count,
        )
    pending, pending_pages, pending_complete = _pages(
        client,
        {"jobQueue": queue, "jobStatus": PENDING},
        page_size=page_size,
        max_pages=max_pages,
        pacer=pacer,
    )
    pages += pending_pages
    if not pending_complete:
        complete = False
        logger.warning(
            "Stopped listing PENDING jobs of %s after %d pages (MAX_PAGES): array children of the parents "
            "not read are missing; the count and oldest age are lower bounds",
            queue,
            pending_pages,
        )
    # A child's id is its parent's id, ':' and its index (array_jobs.html). Parents whose children the
    # queue listing already returned are not listed again.
    listed_parents = {job_id.split(":", 1)[0] for job_id in tally.ids if ":" in job_id}
    children = 0
    budget = max_array_pages
    skipped: list[str] = []
    for parent in _array_parents_with_runnable_children(pending):
        if parent.get("jobId") in listed_parents:
            continue
        if budget <= 0:
            summary = (parent.get("arrayProperties") or {}).get("statusSummary") or {}
            estimate = int(summary.get(RUNNABLE, 0))
            tally.extra += estimate
            children += estimate
            skipped.append(str(parent.get("jobId")))
            continue
        found, used, listed_all = _pages(
            client,
            {"arrayJobId": parent["jobId"], "jobStatus": RUNNABLE},
            page_size=page_size,
            max_pages=budget,
            pacer=pacer,
        )
        budget -= used
        pages += used
        children += sum(1 for child in found if tally.add(child))
        if not listed_all:
            skipped.append(str(parent.get("jobId")))
    if skipped:
        complete = False
        logger.warning(
            "Stopped listing array children of %s after %d pages (MAX_ARRAY_PAGES): %d parent(s) not fully "
            "read (%s); the count and oldest age are lower bounds (a parent not read at all adds its "
            "statusSummary RUNNABLE count, without an age)",
            queue,
            max_array_pages,
            len(skipped),
            ", ".join(skipped[:10]),
        )
    age = max(0.0, (now_ms - tally.oldest) / 1000) if tally.oldest is not None else 0.0
    return Backlog(
        queue=queue,
        runnable=tally.count,
        oldest_age_seconds=age,
        pages=pages,
        complete=complete,
        array_children=children,
    )


def measure_backlogs(
    client: Any, settings: Settings, *, now_ms: int, pacer: Pacer | None = None
) -> tuple[list[Backlog], dict[str, BaseException]]:
    """:func:`measure_backlog` for every configured queue, sharing one pacer (one account-wide rate).

    Each queue on its own: one whose ListJobs fails is logged and returned among the failures, and the
    others are still measured.
    """
    pacer = pacer or Pacer(settings.call_interval)
    backlogs: list[Backlog] = []
    failures: dict[str, BaseException] = {}
    for queue in settings.queues:
        try:
            backlogs.append(
                measure_backlog(
                    client,
                    queue,
                    now_ms=now_ms,
                    page_size=settings.page_size,
                    max_pages=settings.max_pages,
                    max_array_pages=settings.max_array_pages,
                    pacer=pacer,
                )
            )
        except Exception as error:  # noqa: BLE001 - any failure of one queue must not hide the others
            logger.exception(
                "Could not measure the backlog of %s; the other queues are still published", queue
            )
            failures[queue] = error
    return backlogs, failures


@dataclass(frozen=True)
class RunTime:
    """How long a finished job ran."""

    queue: str
    job_id: str
    status: str
    seconds: float
    stopped_at_ms: int


def run_time(event: Mapping[str, Any], queues: Iterable[str]) -> RunTime | None:
    """The run time of the job in a SUCCEEDED/FAILED ``Batch Job State Change`` event, if it has one.

    None for other events, other queues, and jobs that never started (cancelled while RUNNABLE:
    no ``startedAt``).
    """
    if event.get("detail-type") != JOB_STATE_CHANGE:
        return None
    detail = event.get("detail") or {}
    queue = detail.get("jobQueue")
    status = detail.get("status")
    started, stopped = detail.get("startedAt"), detail.get("stoppedAt")
    if status not in FINISHED or queue not in set(queues):
        return None
    if not isinstance(started, int | float) or not isinstance(stopped, int | float) or stopped < started:
        return None
    return RunTime(
        queue=queue,
        job_id=str(detail.get("jobId", "")),
        status=status,
        seconds=(stopped - started) / 1000,
        stopped_at_ms=int(stopped),
    )


@dataclass(frozen=True)
class JobUsage:
    """What one finished job reserved while it ran: vCPU-seconds and GiB-seconds over all its attempts
    and nodes, and the facts its price depends on."""

    vcpu_seconds: float
    gib_seconds: float
    vcpus: float
    memory_gib: float
    fargate: bool
    #: "x86_64"/"arm64" when the job says (a container's or an ECS task's runtimePlatform), else None.
    architecture: str | None
    job_definition: str


def _resources(requirements: Any, legacy: Mapping[str, Any]) -> tuple[float, float]:
    """(vCPUs, MiB) of one container: ``resourceRequirements`` or the legacy ``vcpus``/``memory``."""
    vcpus = float(legacy.get("vcpus") or 0)
    memory = float(legacy.get("memory") or 0)
    for item in requirements or []:
        if item.get("type") == "VCPU":
            vcpus = float(item.get("value") or 0)
        elif item.get("type") == "MEMORY":
            memory = float(item.get("value") or 0)
    return vcpus, memory


def _container(container: Mapping[str, Any]) -> tuple[float, float]:
    return _resources(container.get("resourceRequirements"), container)


def _node_count(target: str, num_nodes: int) -> int:
    """Nodes in a NodeRangeProperty ``targetNodes`` (``"0"``, ``"1:"``, ``":3"``, ``"0:4"``)."""
    start, sep, end = target.partition(":")
    if not sep:
        return 1
    first = int(start) if start else 0
    last = int(end) if end else num_nodes - 1
    return max(0, last - first + 1)


def _reserved(detail: Mapping[str, Any]) -> tuple[float, float] | None:
    """(vCPUs, MiB) the whole job reserved: a container, an ECS task's or an EKS pod's containers summed,
    or every node of a multi-node job. None when the event describes none of these."""
    nodes = detail.get("nodeProperties")
    if nodes:
        num = int(nodes.get("numNodes") or 0)
        total = [0.0, 0.0]
        for node_range in nodes.get("nodeRangeProperties") or []:
            count = _node_count(str(node_range.get("targetNodes", "")), num)
            containers = (
                [node_range["container"]]
                if node_range.get("container")
                else [
                    c
                    for task in (node_range.get("ecsProperties") or {}).get("taskProperties", [])
                    for c in task.get("containers", [])
                ]
            )
            for container in containers:
                vcpus, mib = _container(container)
                total[0] += count * vcpus
                total[1] += count * mib
        return total[0], total[1]
    tasks = (detail.get("ecsProperties") or {}).get("taskProperties")
    if tasks:
        pairs = [_container(c) for task in tasks for c in task.get("containers", [])]
        return sum(p[0] for p in pairs), sum(p[1] for p in pairs)
    if detail.get("container"):
        return _container(detail["container"])
    pod = (detail.get("eksProperties") or {}).get("podProperties") or {}
    if pod.get("containers"):
        pairs = [_pod_container(c.get("resources") or {}) for c in pod["containers"]]
        return sum(p[0] for p in pairs), sum(p[1] for p in pairs)
    return None


_MEMORY_UNITS = {"Mi": 1.0, "Gi": 1024.0, "Ki": 1 / 1024, "M": 1e6 / 2**20, "G": 1e9 / 2**20}


def _pod_container(resources: Mapping[str, Any]) -> tuple[float, float]:
    """(vCPUs, MiB) of an EKS container: its ``requests`` (what Batch places), else its ``limits``;
    cpu ``"1"``/``"0.5"``/``"500m"``, memory ``"2048Mi"``/``"2Gi"``
    (https://docs.aws.amazon.com/batch/latest/APIReference/API_EksContainerResourceRequirements.html)."""
    wanted = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
    cpu = str(wanted.get("cpu", "0"))
    vcpus = float(cpu[:-1]) / 1000 if cpu.endswith("m") else float(cpu)
    memory = str(wanted.get("memory", "0"))
    unit = next((u for u in ("Mi", "Gi", "Ki", "M", "G") if memory.endswith(u)), "")
    mib = float(memory[: -len(unit)]) * _MEMORY_UNITS[unit] if unit else float(memory) / 2**20
    return vcpus, mib


def _attempt_seconds(detail: Mapping[str, Any], minimum: float) -> float:
    """Seconds run over all attempts (each at least ``minimum``); without attempts, the job's own times."""
    spans: list[tuple[float, float]] = []
    attempts = detail.get("attempts") or detail.get("eksAttempts") or []
    for attempt in [a for a in attempts if isinstance(a, Mapping)] or [detail]:
        started, stopped = attempt.get("startedAt"), attempt.get("stoppedAt")
        if isinstance(started, int | float) and isinstance(stopped, int | float) and stopped >= started:
            spans.append((started, stopped))
    return sum(max(minimum, (e - b) / 1000) for b, e in spans)


_ARCHITECTURES = {"ARM64": "arm64", "X86_64": "x86_64"}


def _architecture(detail: Mapping[str, Any]) -> str | None:
    """ "x86_64"/"arm64" from the job's ``runtimePlatform.cpuArchitecture``, wherever its shape carries it:
    ``container`` (single container), ``ecsProperties.taskProperties[]`` (multi-container ECS task,
    https://docs.aws.amazon.com/batch/latest/APIReference/API_EcsTaskDetails.html), or a multi-node
    range's ``container``/``ecsProperties``. None when no shape says, or when they disagree."""
    platforms: list[Any] = []

    def collect(container: Any, ecs: Any) -> None:
        if isinstance(container, Mapping):
            platforms.append(container.get("runtimePlatform"))
        if isinstance(ecs, Mapping):
            platforms.extend(
                task.get("runtimePlatform")
                for task in ecs.get("taskProperties") or []
                if isinstance(task, Mapping)
            )

    collect(detail.get("container"), detail.get("ecsProperties"))
    for node_range in (detail.get("nodeProperties") or {}).get("nodeRangeProperties") or []:
        if isinstance(node_range, Mapping):
            collect(node_range.get("container"), node_range.get("ecsProperties"))
    found = {
        _ARCHITECTURES.get(str(platform.get("cpuArchitecture", "")).upper())
        for platform in platforms
        if isinstance(platform, Mapping) and platform.get("cpuArchitecture")
    }
    return found.pop() if len(found) == 1 else None


def job_usage(event: Mapping[str, Any]) -> JobUsage | None:
    """The vCPU- and GiB-seconds a finished job reserved, from its ``Batch Job State Change`` event.

    Counted once per job that ran containers: an array job's parent is skipped (its children carry the
    cost, each with its own event), as are a multi-node job's node jobs (``jobId#n``; the parent's
    ``nodeProperties`` count every node). Every attempt counts; a Fargate attempt at least one minute.
    None for the skipped jobs and jobs that never ran. EKS pods are priced from their containers' requests.
    """
    detail = event.get("detail") or {}
    # A node job's id is the parent's with "#<node index>" (multi-node-parallel-jobs.html); whether the
    # parent's own event carries nodeDetails is not documented, so nodeProperties decides for it.
    node_job = "#" in str(detail.get("jobId", "")) or (
        bool(detail.get("nodeDetails")) and not detail.get("nodeProperties")
    )
    if "size" in (detail.get("arrayProperties") or {}) or node_job:
        return None
    reserved = _reserved(detail)
    if reserved is None:
        return None
    vcpus, mib = reserved
    fargate = "FARGATE" in (detail.get("platformCapabilities") or [])
    seconds = _attempt_seconds(detail, FARGATE_MINIMUM_SECONDS if fargate else 0)
    if seconds <= 0 or (vcpus <= 0 and mib <= 0):
        return None
    architecture = _architecture(detail)
    gib = mib / 1024
    return JobUsage(
        vcpu_seconds=vcpus * seconds,
        gib_seconds=gib * seconds,
        vcpus=vcpus,
        memory_gib=gib,
        fargate=fargate,
        architecture=architecture,
        job_definition=definition_name(str(detail.get("jobDefinition", ""))),
    )


@dataclass(frozen=True)
class JobCost:
    usd: float
    price_key: str
    price_region: str


def estimated_cost(usage: JobUsage, queue_key: str | None, region: str, settings: Settings) -> JobCost | None:
    """USD for ``usage`` at the queue's price (its first compute environment's kind), or, for a queue of
    unknown compute, on-demand EC2 or Fargate as the event says. None without a price table."""
    if not settings.prices:
        return None
    kind, _, architecture = (queue_key or ("FARGATE/" if usage.fargate else "EC2/")).partition("/")
    key = f"{kind}/{architecture or usage.architecture or 'x86_64'}"
    used = region if region in settings.prices else settings.fallback_region
    price = settings.prices.get(used, {}).get(key)
    if price is None:
        return None
    usd = (usage.vcpu_seconds * price[0] + usage.gib_seconds * price[1]) / 3600
    return JobCost(usd=usd, price_key=key, price_region=used)


def publish_backlogs(backlogs: Iterable[Backlog], settings: Settings) -> None:
    """One EMF line per queue: RunnableJobs and OldestRunnableAge, dimension ``queue``."""
    from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

    for backlog in backlogs:
        metrics = EphemeralMetrics(namespace=settings.namespace, service=settings.service)
        metrics.add_dimension(name=QUEUE_DIMENSION, value=backlog.queue)
        metrics.add_metric(name=METRIC_RUNNABLE, unit=MetricUnit.Count, value=backlog.runnable)
        metrics.add_metric(
            name=METRIC_OLDEST_AGE, unit=MetricUnit.Seconds, value=round(backlog.oldest_age_seconds, 3)
        )
        metrics.add_metadata(key="complete", value=backlog.complete)
        metrics.flush_metrics()


def publish_run_time(
    item: RunTime, settings: Settings, usage: JobUsage | None = None, cost: JobCost | None = None
) -> None:
    """One EMF line: JobRunTime (seconds) for the job's queue, timestamped when the job stopped; with
    ``usage`` also JobVcpuSeconds, JobGibSeconds and EstimatedJobCost (USD), and a second line with the
    ``job_definition`` dimension when the definition is one of ``settings.cost_definitions``."""
    from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

    metrics = EphemeralMetrics(namespace=settings.namespace, service=settings.service)
    metrics.add_dimension(name=QUEUE_DIMENSION, value=item.queue)
    metrics.add_metric(name=METRIC_RUN_TIME, unit=MetricUnit.Seconds, value=round(item.seconds, 3))
    _add_usage(metrics, usage, cost)
    metrics.add_metadata(key="jobId", value=item.job_id)
    metrics.add_metadata(key="status", value=item.status)
    metrics.set_timestamp(item.stopped_at_ms)
    metrics.flush_metrics()
    if usage is None or usage.job_definition not in settings.cost_definitions:
        return
    per_definition = EphemeralMetrics(namespace=settings.namespace, service=settings.service)
    per_definition.add_dimension(name=QUEUE_DIMENSION, value=item.queue)
    per_definition.add_dimension(name=DEFINITION_DIMENSION, value=usage.job_definition)
    _add_usage(per_definition, usage, cost)
    per_definition.add_metadata(key="jobId", value=item.job_id)
    per_definition.set_timestamp(item.stopped_at_ms)
    per_definition.flush_metrics()


def _add_usage(metrics: Any, usage: JobUsage | None, cost: JobCost | None) -> None:
    from aws_lambda_powertools.metrics import MetricUnit

    if usage is None:
        return
    metrics.add_metric(name=METRIC_VCPU_SECONDS, unit=MetricUnit.NoUnit, value=round(usage.vcpu_seconds, 3))
    metrics.add_metric(name=METRIC_GIB_SECONDS, unit=MetricUnit.NoUnit, value=round(usage.gib_seconds, 3))
    if cost is not None:
        metrics.add_metric(name=METRIC_COST, unit=MetricUnit.NoUnit, value=round(cost.usd, 6))
        metrics.add_metadata(key="price_key", value=cost.price_key)
        metrics.add_metadata(key="price_region", value=cost.price_region)


def handle(
    event: Mapping[str, Any],
    *,
    settings: Settings,
    client: Callable[[], Any],
    now_ms: Callable[[], int] | None = None,
    pacer: Pacer | None = None,
) -> dict[str, Any]:
    """Dispatch one invocation: a job state change publishes run time, anything else the backlog.

    ``client`` is a factory, so a run-time event never creates a Batch client.
    """
    if event.get("detail-type") == JOB_STATE_CHANGE:
        item = run_time(event, settings.queues)
        if item is None:
            return {"published": 0}
        usage = job_usage(event) if settings.prices else None
        region = str(event.get("region", ""))
        cost = estimated_cost(usage, settings.price_key(item.queue), region, settings) if usage else None
        publish_run_time(item, settings, usage, cost)
        result: dict[str, Any] = {"published": 1, "queue": item.queue, "seconds": item.seconds}
        if cost is not None:
            result["estimated_cost_usd"] = cost.usd
        return result
    clock = now_ms or (lambda: int(time.time() * 1000))
    backlogs, failures = measure_backlogs(client(), settings, now_ms=clock(), pacer=pacer)
    publish_backlogs(backlogs, settings)
    if failures:
        # After publishing the healthy queues: the invocation fails, so the function's error alarm fires.
        raise BacklogError(failures)
    return {
        "published": len(backlogs),
        "queues": {b.queue: {"runnable": b.runnable, "complete": b.complete} for b in backlogs},
    }
