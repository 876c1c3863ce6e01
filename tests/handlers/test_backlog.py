"""The backlog function (``cdk_batchkit/lambdas/backlog``) against moto's Batch without Docker.

Two things moto 5.2.5 does not do, and how the tests get them:

* **RUNNABLE jobs.** moto's simple Batch marks every job SUCCEEDED inside SubmitJob, whatever the state of
  the compute environment or queue. The tests submit real jobs, then set ``status = "RUNNABLE"`` (and
  ``createdAt``) on the job objects in moto's Batch backend: ListJobs then reports them as a real queue
  would. moto advances a job's status only on ``advance()``, which ListJobs never calls.
* **ListJobs paging.** moto returns every job in one response and ignores ``maxResults``/``nextToken``
  (its source: "Pagination is not yet implemented"). :func:`paged_list_jobs` wraps moto's ListJobs
  response so it honours both like the real API; the handler runs with a page size of 100 so 250 jobs
  take three pages.

EMF output is read from stdout (Powertools prints one JSON line per flush).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.batch.models import batch_backends
from moto.batch.responses import BatchResponse
from moto.core import DEFAULT_ACCOUNT_ID

from cdk_batchkit.lambdas.backlog import core, handler
from tests.handlers.support import FakeClock

REGION = "us-east-1"
EVENTS = Path(__file__).resolve().parents[1] / "events" / "batch"
NAMESPACE = "BatchKitTest"
SERVICE = "backlog-test"
#: A whole second, so moto's datetime round trip of createdAt is exact.
NOW_S = int(time.time())
NOW_MS = NOW_S * 1000
BUSY_JOBS = 250
PAGE = 100
SCHEDULED_EVENT = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": DEFAULT_ACCOUNT_ID,
    "time": "2026-11-10T09:05:00Z",
    "region": REGION,
    "resources": [f"arn:aws:events:{REGION}:{DEFAULT_ACCOUNT_ID}:rule/Mon-MonitoringBacklogSchedule"],
    "detail": {},
}


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


@dataclass
class Batch:
    queues: dict[str, str]  # name -> ARN
    client: Any


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch):
    for var in ("POWERTOOLS_DEV", "POWERTOOLS_METRICS_DISABLED"):
        monkeypatch.delenv(var, raising=False)
    with mock_aws(config={"batch": {"use_docker": False}}):
        yield


#: Whether moto's queue listing keeps array children (moto lists them; whether AWS does is undocumented).
CHILDREN_IN_QUEUE_LISTING = {"listed": True, "not-listed": False}


@pytest.fixture(params=list(CHILDREN_IN_QUEUE_LISTING), ids=list(CHILDREN_IN_QUEUE_LISTING))
def children_in_queue_listing(request: pytest.FixtureRequest) -> bool:
    return CHILDREN_IN_QUEUE_LISTING[request.param]


def _with_array_properties(summary: dict[str, Any]) -> dict[str, Any]:
    """Add the ``arrayProperties`` AWS documents for ListJobs summaries (moto 5.2.5 leaves them out):
    ``size`` and ``statusSummary`` on a parent, ``index`` on a child."""
    job = batch_backends[DEFAULT_ACCOUNT_ID][REGION]._jobs.get(summary["jobId"])
    if job is None:
        return summary
    if job._child_jobs:
        counts: dict[str, int] = {}
        for child in job._child_jobs:
            counts[child.status] = counts.get(child.status, 0) + 1
        summary["arrayProperties"] = {"size": len(job._child_jobs), "statusSummary": counts}
    elif "index" in (job.array_properties or {}):
        summary["arrayProperties"] = {"index": job.array_properties["index"]}
    return summary


def _paged(calls: list[dict[str, Any]], keep_children: bool):
    original = BatchResponse.listjobs

    def paged_list_jobs(self: BatchResponse) -> str:
        jobs = [_with_array_properties(j) for j in json.loads(original(self))["jobSummaryList"]]
        if self._get_param("jobQueue") and not keep_children:
            jobs = [j for j in jobs if "index" not in j.get("arrayProperties", {})]
        size = int(self._get_param("maxResults") or 100)
        token = self._get_param("nextToken")
        start = int(token or 0)
        calls.append(
            {
                "queue": self._get_param("jobQueue"),
                "arrayJobId": self._get_param("arrayJobId"),
                "status": self._get_param("jobStatus"),
                "maxResults": size,
                "nextToken": token,
            }
        )
        page: dict[str, Any] = {"jobSummaryList": jobs[start : start + size]}
        if start + size < len(jobs):
            page["nextToken"] = str(start + size)
        return json.dumps(page)

    return paged_list_jobs


@pytest.fixture
def list_jobs_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Make moto's ListJobs page like the real API (and list array children in a queue); records calls."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(BatchResponse, "listjobs", _paged(calls, keep_children=True))
    return calls


@pytest.fixture
def array_list_jobs_calls(
    monkeypatch: pytest.MonkeyPatch, children_in_queue_listing: bool
) -> list[dict[str, Any]]:
    """:func:`list_jobs_calls`, run once with array children in queue listings and once without."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(BatchResponse, "listjobs", _paged(calls, keep_children=children_in_queue_listing))
    return calls


def _runnable(job_id: str, created_s: int) -> None:
    """Put a submitted (already SUCCEEDED) moto job back to RUNNABLE, created at ``created_s``."""
    job = batch_backends[DEFAULT_ACCOUNT_ID][REGION]._jobs[job_id]
    job.status = "RUNNABLE"
    job.job_stopped = False
    job.job_created_at = datetime.fromtimestamp(created_s)


@pytest.fixture
def batch(aws: None) -> Batch:
    """Three queues: "busy" (250 RUNNABLE jobs, oldest 2,500 s), "few" (3 RUNNABLE, oldest 120 s, plus
    2 SUCCEEDED) and "empty" (1 SUCCEEDED job, nothing RUNNABLE)."""
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="batch-service", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    client = boto3.client("batch", region_name=REGION)
    env = client.create_compute_environment(
        computeEnvironmentName="env", type="UNMANAGED", state="ENABLED", serviceRole=role
    )["computeEnvironmentArn"]
    queues = {
        name: client.create_job_queue(
            jobQueueName=name,
            state="ENABLED",
            priority=1,
            computeEnvironmentOrder=[{"order": 1, "computeEnvironment": env}],
        )["jobQueueArn"]
        for name in ("busy", "few", "empty")
    }
    client.register_job_definition(
        jobDefinitionName="work",
        type="container",
        containerProperties={"image": "busybox", "vcpus": 1, "memory": 128},
    )

    def submit(queue: str) -> str:
        return client.submit_job(jobName="work", jobQueue=queues[queue], jobDefinition="work")["jobId"]

    for i in range(BUSY_JOBS):
        _runnable(submit("busy"), NOW_S - 10 * (i + 1))
    for age in (60, 120, 30):
        _runnable(submit("few"), NOW_S - age)
    submit("few")
    submit("few")
    submit("empty")
    return Batch(queues=queues, client=client)


def settings(queues: list[str], **changes: Any) -> core.Settings:
    base: dict[str, Any] = {"page_size": PAGE, "max_pages": 10, "call_interval": 0.0}
    base.update(changes)
    return core.Settings(queues=tuple(queues), namespace=NAMESPACE, service=SERVICE, **base)


def emf_lines(out: str) -> list[dict[str, Any]]:
    """The EMF lines of ``out``, each metric's value unwrapped (Powertools writes a one-element list)."""
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    emf = [line for line in lines if "_aws" in line]
    for line in emf:
        for metric in line["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            value = line[metric["Name"]]
            if isinstance(value, list):
                assert len(value) == 1, f"{metric['Name']}: one value expected, got {value}"
                line[metric["Name"]] = value[0]
    return emf


def by_queue(lines: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {line["queue"]: line for line in lines}


def no_client() -> Any:
    raise AssertionError("a job state change must not create a Batch client")


# ------------------------------------------------------------------------------------------- backlog


def test_publishes_runnable_count_and_oldest_age_per_queue(
    batch: Batch, list_jobs_calls: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    queues = batch.queues
    result = core.handle(
        SCHEDULED_EVENT,
        settings=settings(list(queues.values())),
        client=lambda: batch.client,
        now_ms=lambda: NOW_MS,
    )
    lines = by_queue(emf_lines(capsys.readouterr().out))
    assert set(lines) == set(queues.values())
    for line in lines.values():
        (directive,) = line["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == NAMESPACE
        assert sorted(directive["Dimensions"][0]) == ["queue", "service"]
        assert {m["Name"]: m["Unit"] for m in directive["Metrics"]} == {
            "RunnableJobs": "Count",
            "OldestRunnableAge": "Seconds",
        }
        assert line["service"] == SERVICE
    figures = {q: (lines[arn]["RunnableJobs"], lines[arn]["OldestRunnableAge"]) for q, arn in queues.items()}
    assert figures == {"busy": (BUSY_JOBS, 2500.0), "few": (3, 120.0), "empty": (0, 0.0)}
    assert result["queues"][queues["busy"]] == {"runnable": BUSY_JOBS, "complete": True}


def test_pages_through_list_jobs_with_next_token(
    batch: Batch, list_jobs_calls: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    core.handle(
        SCHEDULED_EVENT,
        settings=settings([batch.queues["busy"], batch.queues["empty"]]),
        client=lambda: batch.client,
        now_ms=lambda: NOW_MS,
    )
    busy = [c for c in list_jobs_calls if c["queue"] == batch.queues["busy"] and c["status"] == "RUNNABLE"]
    assert [c["nextToken"] for c in busy] == [None, "100", "200"]
    assert {(c["status"], c["maxResults"]) for c in list_jobs_calls} == {
        ("RUNNABLE", PAGE),
        ("PENDING", PAGE),
    }
    # RUNNABLE: three pages for "busy", one for "empty"; PENDING (array parents): one page each.
    assert len(list_jobs_calls) == 6


def test_caps_pages_and_says_the_figures_are_lower_bounds(
    batch: Batch,
    list_jobs_calls: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    busy = batch.queues["busy"]
    with caplog.at_level("WARNING"):
        result = core.handle(
            SCHEDULED_EVENT,
            settings=settings([busy], max_pages=2),
            client=lambda: batch.client,
            now_ms=lambda: NOW_MS,
        )
    assert [c["status"] for c in list_jobs_calls] == ["RUNNABLE", "RUNNABLE", "PENDING"]
    assert result["queues"][busy] == {"runnable": 200, "complete": False}
    (line,) = emf_lines(capsys.readouterr().out)
    assert line["RunnableJobs"] == 200
    assert line["complete"] is False
    (record,) = [r for r in caplog.records if r.levelname == "WARNING"]
    assert busy in record.getMessage() and "lower bounds" in record.getMessage()


def test_spaces_list_jobs_calls_across_queues(
    batch: Batch, list_jobs_calls: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FakeClock()
    core.handle(
        SCHEDULED_EVENT,
        settings=settings(list(batch.queues.values())),
        client=lambda: batch.client,
        now_ms=lambda: NOW_MS,
        pacer=core.Pacer(0.25, clock=clock, sleep=clock.sleep),
    )
    assert len(list_jobs_calls) == 8  # RUNNABLE 3 + 1 + 1 pages, PENDING 1 + 1 + 1
    assert clock.sleeps == [0.25] * 7  # every call after the first waits for its slot


def test_pacer_does_not_sleep_when_the_interval_has_passed() -> None:
    clock = FakeClock()
    pacer = core.Pacer(0.2, clock=clock, sleep=clock.sleep)
    pacer.wait()
    clock.now += 0.15
    pacer.wait()
    clock.now += 1.0
    pacer.wait()
    assert clock.sleeps == [pytest.approx(0.05)]


def test_handler_reads_its_queues_from_the_environment_and_creates_its_client_lazily(
    batch: Batch,
    list_jobs_calls: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("QUEUES", json.dumps([batch.queues["few"], batch.queues["empty"]]))
    monkeypatch.setenv("PAGE_SIZE", "100")
    monkeypatch.setenv("CALL_INTERVAL_SECONDS", "0")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", NAMESPACE)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", SERVICE)
    handler.set_client(None)
    try:
        result = handler.handler(dict(SCHEDULED_EVENT), FakeContext())
        client = handler.batch_client()
        assert client.meta.config.retries["mode"] == "adaptive"
    finally:
        handler.set_client(None)
    assert result["published"] == 2
    lines = by_queue(emf_lines(capsys.readouterr().out))
    assert lines[batch.queues["few"]]["RunnableJobs"] == 3
    assert lines[batch.queues["empty"]]["RunnableJobs"] == 0
    assert lines[batch.queues["few"]]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == NAMESPACE


# ---------------------------------------------------------------------------------- failing queues


def test_a_failing_queue_does_not_stop_the_others_from_publishing(
    batch: Batch,
    list_jobs_calls: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    missing = batch.queues["busy"].replace("/busy", "/deleted")  # ListJobs: "Job queue ... does not exist"
    queues = [batch.queues["busy"], missing, batch.queues["few"]]
    with (
        caplog.at_level("ERROR"),
        pytest.raises(core.BacklogError, match=r"1 queue\(s\): .*/deleted") as raised,
    ):
        core.handle(
            SCHEDULED_EVENT, settings=settings(queues), client=lambda: batch.client, now_ms=lambda: NOW_MS
        )
    lines = by_queue(emf_lines(capsys.readouterr().out))
    assert {q: lines[q]["RunnableJobs"] for q in lines} == {
        batch.queues["busy"]: BUSY_JOBS,
        batch.queues["few"]: 3,
    }
    assert set(raised.value.failures) == {missing}
    (record,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert missing in record.getMessage() and record.exc_info is not None


def test_the_handler_fails_when_a_queue_failed_so_its_error_alarm_fires(
    batch: Batch,
    list_jobs_calls: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("QUEUES", json.dumps(["no-such-queue", batch.queues["few"]]))
    monkeypatch.setenv("CALL_INTERVAL_SECONDS", "0")
    handler.set_client(batch.client)
    try:
        with pytest.raises(core.BacklogError, match="no-such-queue"):
            handler.handler(dict(SCHEDULED_EVENT), FakeContext())
    finally:
        handler.set_client(None)
    assert [line["queue"] for line in emf_lines(capsys.readouterr().out)] == [batch.queues["few"]]


# ------------------------------------------------------------------------------------ array children


@dataclass
class ArrayQueue:
    arn: str
    parent: str
    client: Any


def _array_queue(batch: Batch, runnable_children: dict[int, int], size: int = 5) -> ArrayQueue:
    """An "arrays" queue holding one array job of ``size``: children ``index -> created seconds ago`` are
    RUNNABLE, the others SUCCEEDED, the parent PENDING (as Batch keeps it while a child is RUNNABLE)."""
    client = batch.client
    env = client.describe_compute_environments()["computeEnvironments"][0]["computeEnvironmentArn"]
    arn = client.create_job_queue(
        jobQueueName="arrays",
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": env}],
    )["jobQueueArn"]
    parent = client.submit_job(
        jobName="array", jobQueue=arn, jobDefinition="work", arrayProperties={"size": size}
    )["jobId"]
    jobs = batch_backends[DEFAULT_ACCOUNT_ID][REGION]._jobs
    jobs[parent].status = "PENDING"
    for index, age in runnable_children.items():
        _runnable(f"{parent}:{index}", NOW_S - age)
    return ArrayQueue(arn=arn, parent=parent, client=client)


def test_array_children_are_counted_once_with_their_age(
    batch: Batch, array_list_jobs_calls: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    arrays = _array_queue(batch, {0: 300, 2: 900, 4: 60})
    _runnable(
        batch.client.submit_job(jobName="plain", jobQueue=arrays.arn, jobDefinition="work")["jobId"],
        NOW_S - 30,
    )
    result = core.handle(
        SCHEDULED_EVENT, settings=settings([arrays.arn]), client=lambda: arrays.client, now_ms=lambda: NOW_MS
    )
    (line,) = emf_lines(capsys.readouterr().out)
    assert (line["RunnableJobs"], line["OldestRunnableAge"]) == (4, 900.0)
    assert result["queues"][arrays.arn] == {"runnable": 4, "complete": True}
    child_calls = [c for c in array_list_jobs_calls if c["arrayJobId"]]
    listed = any(
        ":" in j["jobId"]
        for j in arrays.client.list_jobs(jobQueue=arrays.arn, jobStatus="RUNNABLE")["jobSummaryList"]
    )
    # Children the queue listing already returned are not listed again through their parent.
    assert child_calls == (
        []
        if listed
        else [
            {
                "queue": None,
                "arrayJobId": arrays.parent,
                "status": "RUNNABLE",
                "maxResults": PAGE,
                "nextToken": None,
            }
        ]
    )


def test_parents_without_runnable_children_cost_no_call(
    batch: Batch, array_list_jobs_calls: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    arrays = _array_queue(batch, {})  # every child SUCCEEDED: statusSummary says 0 RUNNABLE
    core.handle(
        SCHEDULED_EVENT, settings=settings([arrays.arn]), client=lambda: arrays.client, now_ms=lambda: NOW_MS
    )
    assert [c for c in array_list_jobs_calls if c["arrayJobId"]] == []
    (line,) = emf_lines(capsys.readouterr().out)
    assert line["RunnableJobs"] == 0


def test_child_listing_is_capped_and_falls_back_to_the_status_summary(
    batch: Batch,
    list_jobs_calls: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Children left out of the queue listing, so only their parent can count them.
    monkeypatch.setattr(BatchResponse, "listjobs", _paged(list_jobs_calls, keep_children=False))
    arrays = _array_queue(batch, {0: 300, 1: 200, 3: 100})
    with caplog.at_level("WARNING"):
        result = core.handle(
            SCHEDULED_EVENT,
            settings=settings([arrays.arn], max_array_pages=0),
            client=lambda: arrays.client,
            now_ms=lambda: NOW_MS,
        )
    assert [c for c in list_jobs_calls if c["arrayJobId"]] == []
    assert result["queues"][arrays.arn] == {"runnable": 3, "complete": False}
    (line,) = emf_lines(capsys.readouterr().out)
    assert (line["RunnableJobs"], line["OldestRunnableAge"]) == (3, 0.0)  # counted, age unknown
    assert any(
        "MAX_ARRAY_PAGES" in r.getMessage() and arrays.parent in r.getMessage() for r in caplog.records
    )


def test_settings_read_the_array_page_cap() -> None:
    assert core.Settings.from_env({"QUEUES": '["q"]', "MAX_ARRAY_PAGES": "3"}).max_array_pages == 3
    assert core.Settings.from_env({"QUEUES": '["q"]'}).max_array_pages == 20


@dataclass
class FakeContext:
    function_name: str = "backlog"
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{DEFAULT_ACCOUNT_ID}:function:backlog"
    aws_request_id: str = "5b1b7c9e-3f0e-4a8e-9f61-2d7c0b8e4a11"


@pytest.mark.parametrize(
    ("raw", "why"),
    [("arn:aws:batch:us-east-1:1:job-queue/q", "JSON list"), ('{"q": 1}', "JSON list"), ("[1]", "JSON list")],
)
def test_settings_reject_queues_that_are_not_a_json_list_of_strings(raw: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        core.Settings.from_env({"QUEUES": raw})


def test_settings_reject_a_page_size_list_jobs_does_not_accept() -> None:
    with pytest.raises(ValueError, match="PAGE_SIZE must be 1-1000"):
        core.Settings.from_env({"QUEUES": '["q"]', "PAGE_SIZE": "5000"})


# ------------------------------------------------------------------------------------------ run time


def recent(event: dict[str, Any]) -> dict[str, Any]:
    """Shift the sample's timestamps to the last hour (CloudWatch drops EMF points older than 14 days)."""
    shift = NOW_MS - 3_600_000 - event["detail"]["createdAt"]
    for key in ("createdAt", "startedAt", "stoppedAt"):
        if key in event["detail"]:
            event["detail"][key] += shift
    return event


def test_publishes_the_run_time_of_a_finished_job(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    event = recent(load_event("state-succeeded.json"))
    detail = event["detail"]
    result = core.handle(event, settings=settings([detail["jobQueue"]]), client=no_client)
    (line,) = emf_lines(capsys.readouterr().out)
    assert result["published"] == 1
    assert line["JobRunTime"] == pytest.approx((detail["stoppedAt"] - detail["startedAt"]) / 1000)
    assert line["JobRunTime"] == pytest.approx(1472.492)
    assert line["_aws"]["Timestamp"] == detail["stoppedAt"]
    assert line["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [{"Name": "JobRunTime", "Unit": "Seconds"}]
    assert line["queue"] == detail["jobQueue"] and line["service"] == SERVICE
    assert line["status"] == "SUCCEEDED" and line["jobId"] == detail["jobId"]


def test_failed_job_run_time_uses_the_job_timestamps(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    event = recent(load_event("state-failed.json"))
    core.handle(event, settings=settings([event["detail"]["jobQueue"]]), client=no_client)
    (line,) = emf_lines(capsys.readouterr().out)
    assert line["JobRunTime"] == pytest.approx(489.453)  # the last attempt: startedAt -> stoppedAt


@pytest.mark.parametrize(
    "sample",
    ["state-failed-never-started.json", "state-other-queue-failed.json", "state-runnable.json"],
)
def test_publishes_no_run_time_for_jobs_that_never_ran_other_queues_or_unfinished_jobs(
    aws: None, sample: str, capsys: pytest.CaptureFixture[str]
) -> None:
    monitored = load_event("state-succeeded.json")["detail"]["jobQueue"]
    result = core.handle(recent(load_event(sample)), settings=settings([monitored]), client=no_client)
    assert result == {"published": 0}
    assert emf_lines(capsys.readouterr().out) == []
