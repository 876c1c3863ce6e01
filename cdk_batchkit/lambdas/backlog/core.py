"""Backlog and run-time metrics for AWS Batch job queues: the pure logic behind ``handler.py``.

Two kinds of invocation:

* an EventBridge schedule (every few minutes): for each configured queue, page through
  ``ListJobs(jobStatus=RUNNABLE)`` and publish ``RunnableJobs`` (how many) and ``OldestRunnableAge``
  (seconds since the oldest one was created; 0 when the queue is empty);
* a ``Batch Job State Change`` event for a job that SUCCEEDED or FAILED: publish ``JobRunTime``
  (``stoppedAt - startedAt`` in seconds, timestamped at ``stoppedAt``). A CloudWatch Logs metric filter
  can only publish a field's value, not a difference of two fields, so run time is computed here.

Metrics are CloudWatch embedded metric format (EMF) lines written by Powertools, one line per queue,
with the dimensions ``service`` (Powertools adds it) and ``queue`` (the queue ARN, the value Batch puts
in ``detail.jobQueue``, so these metrics line up with the metric-filter ones).

Batch API rates: calls are spaced by ``Pacer`` (at least ``CALL_INTERVAL_SECONDS`` apart, 0.2 s by
default, so at most 5 ListJobs calls a second), the client retries throttling with botocore's adaptive
mode, and each queue is read for at most ``MAX_PAGES`` pages; a capped queue is logged and its figures
are lower bounds.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

RUNNABLE = "RUNNABLE"
FINISHED = ("SUCCEEDED", "FAILED")
JOB_STATE_CHANGE = "Batch Job State Change"

METRIC_RUNNABLE = "RunnableJobs"
METRIC_OLDEST_AGE = "OldestRunnableAge"
METRIC_RUN_TIME = "JobRunTime"
QUEUE_DIMENSION = "queue"

# Environment variables (read only in Settings.from_env).
ENV_QUEUES = "QUEUES"
ENV_PAGE_SIZE = "PAGE_SIZE"
ENV_MAX_PAGES = "MAX_PAGES"
ENV_CALL_INTERVAL = "CALL_INTERVAL_SECONDS"

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
    call_interval: float = 0.2

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
            call_interval=max(0.0, float(env.get(ENV_CALL_INTERVAL, 0.2))),
        )


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
    """The RUNNABLE jobs of one queue at one moment."""

    queue: str
    runnable: int
    oldest_age_seconds: float
    pages: int
    complete: bool  # False when MAX_PAGES stopped the listing: the figures are lower bounds


def measure_backlog(
    client: Any, queue: str, *, now_ms: int, page_size: int, max_pages: int, pacer: Pacer
) -> Backlog:
    """Count the RUNNABLE jobs of ``queue`` and the age of the oldest one (ListJobs, paged)."""
    count = 0
    oldest: int | None = None
    pages = 0
    token: str | None = None
    while True:
        pacer.wait()
        request: dict[str, Any] = {"jobQueue": queue, "jobStatus": RUNNABLE, "maxResults": page_size}
        if token:
            request["nextToken"] = token
        response = client.list_jobs(**request)
        pages += 1
        for job in response.get("jobSummaryList", []):
            count += 1
            created = job.get("createdAt")
            if isinstance(created, int | float) and (oldest is None or created < oldest):
                oldest = int(created)
        token = response.get("nextToken")
        if not token:
            complete = True
            break
        if pages >= max_pages:
            logger.warning(
                "Stopped listing RUNNABLE jobs of %s after %d pages (MAX_PAGES): "
                "at least %d jobs are RUNNABLE; the count and oldest age are lower bounds",
                queue,
                pages,
                count,
            )
            complete = False
            break
    age = max(0.0, (now_ms - oldest) / 1000) if oldest is not None else 0.0
    return Backlog(queue=queue, runnable=count, oldest_age_seconds=age, pages=pages, complete=complete)


def measure_backlogs(
    client: Any, settings: Settings, *, now_ms: int, pacer: Pacer | None = None
) -> list[Backlog]:
    """:func:`measure_backlog` for every configured queue, sharing one pacer (one account-wide rate)."""
    pacer = pacer or Pacer(settings.call_interval)
    return [
        measure_backlog(
            client,
            queue,
            now_ms=now_ms,
            page_size=settings.page_size,
            max_pages=settings.max_pages,
            pacer=pacer,
        )
        for queue in settings.queues
    ]


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


def publish_run_time(item: RunTime, settings: Settings) -> None:
    """One EMF line: JobRunTime (seconds) for the job's queue, timestamped when the job stopped."""
    from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

    metrics = EphemeralMetrics(namespace=settings.namespace, service=settings.service)
    metrics.add_dimension(name=QUEUE_DIMENSION, value=item.queue)
    metrics.add_metric(name=METRIC_RUN_TIME, unit=MetricUnit.Seconds, value=round(item.seconds, 3))
    metrics.add_metadata(key="jobId", value=item.job_id)
    metrics.add_metadata(key="status", value=item.status)
    metrics.set_timestamp(item.stopped_at_ms)
    metrics.flush_metrics()


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
        publish_run_time(item, settings)
        return {"published": 1, "queue": item.queue, "seconds": item.seconds}
    clock = now_ms or (lambda: int(time.time() * 1000))
    backlogs = measure_backlogs(client(), settings, now_ms=clock(), pacer=pacer)
    publish_backlogs(backlogs, settings)
    return {
        "published": len(backlogs),
        "queues": {b.queue: {"runnable": b.runnable, "complete": b.complete} for b in backlogs},
    }
