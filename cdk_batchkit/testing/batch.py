"""Decide what happens to jobs in moto's Batch (no Docker), and run job code the way Batch would.

moto's "simple" Batch (``use_docker: False``) finishes every job at submission, all SUCCEEDED or,
with ``MOTO_SIMPLE_BATCH_FAIL_AFTER``, all FAILED. :class:`JobControl` replaces that decision for the
jobs it is given: chosen jobs fail, or every job is *held* in RUNNABLE until :meth:`JobControl.start`
and :meth:`JobControl.finish` move it on (how the demo shows jobs moving through their states).
It patches moto in this process only (``mock_aws``, or a ``ThreadedMotoServer`` started here).
"""

from __future__ import annotations

import datetime
import fnmatch
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

__all__ = ["JobControl", "JobRun", "job_control", "run_job_locally"]

#: ``(job name, array index or None) -> True to fail``.
FailPredicate = Callable[[str, "int | None"], bool]

_lock = threading.RLock()
_active: list[JobControl] = []


class JobControl:
    """What moto's Batch does with the jobs submitted while this control is active.

    ``fail``: job names (``fnmatch`` patterns) or a predicate ``(name, array_index) -> bool``;
    a matching job ends FAILED, and so does an array job with a failing child.
    ``hold``: leave every job RUNNABLE until :meth:`start`/:meth:`finish` (or :meth:`run_all`).
    """

    def __init__(self, fail: Iterable[str] | FailPredicate = (), *, hold: bool = False) -> None:
        self.hold = hold
        self.set_fail(fail)
        self.held: dict[str, Any] = {}

    def set_fail(self, fail: Iterable[str] | FailPredicate) -> None:
        if callable(fail):
            self._fail: FailPredicate = fail
        else:
            patterns = list(fail)
            self._fail = lambda name, index: any(fnmatch.fnmatchcase(name, p) for p in patterns)

    def should_fail(self, name: str, index: int | None) -> bool:
        return bool(self._fail(name, index))

    # -- held jobs -------------------------------------------------------------------------------

    def runnable(self) -> list[str]:
        """Ids of held jobs still RUNNABLE (array parents excluded)."""
        with _lock:
            return [i for i, job in self.held.items() if job._status == "RUNNABLE" and not job._child_jobs]

    def start(self, job_id: str) -> None:
        """RUNNABLE -> STARTING -> RUNNING."""
        with _lock:
            job = self.held[job_id]
            job.job_started_at = datetime.datetime.now()
            job._start_attempt()
            job.status = "RUNNING"
            parent = _parent(job)
            if parent is not None and parent._status != "RUNNING":
                parent.job_started_at = job.job_started_at
                parent.status = "RUNNING"

    def finish(self, job_id: str, success: bool | None = None) -> None:
        """End a held job (``success=None``: as the ``fail`` rule says); ends its array parent last."""
        with _lock:
            job = self.held.pop(job_id)
            if job._status != "RUNNING":
                self._start_unlocked(job)
            if success is None:
                index = job.array_properties.get("index") if ":" in job.job_id else None
                success = not self.should_fail(job.job_name, index)
            if not success:
                job.job_stopped_reason = "Essential container in task exited"
            job._mark_stopped(success=success)
            parent = _parent(job)
            if parent is not None and all(child.job_stopped for child in parent._child_jobs):
                ok = all(child._status == "SUCCEEDED" for child in parent._child_jobs)
                self.held.pop(parent.job_id, None)
                parent._mark_stopped(success=ok)

    def _start_unlocked(self, job: Any) -> None:
        job.job_started_at = datetime.datetime.now()
        job._start_attempt()
        job.status = "RUNNING"

    def run_all(self) -> int:
        """Start and finish every held job; returns how many ran."""
        count = 0
        for job_id in self.runnable():
            self.start(job_id)
            self.finish(job_id)
            count += 1
        return count

    # -- the moto hook ---------------------------------------------------------------------------

    def _decide(self, backend: Any, include_start_attempt: bool, job: Any) -> None:
        backend.backend._jobs[job.job_id] = job
        job.log_stream_name = job._stream_name
        is_child = ":" in job.job_id
        is_parent = not is_child and "size" in job.array_properties
        if self.hold:
            job.status = "RUNNABLE"
            self.held[job.job_id] = job
            return
        job.job_started_at = datetime.datetime.now()
        if include_start_attempt:
            job._start_attempt()
        if is_parent:
            # The children are attached after this call: decide once they exist.
            size = int(job.array_properties["size"])
            failed = any(self.should_fail(job.job_name, index) for index in range(size))
            job._mark_stopped(success=not failed)
            if failed:
                job.job_stopped_reason = "Array job has failed children"
            return
        index = job.array_properties.get("index") if is_child else None
        failed = self.should_fail(job.job_name, index)
        if failed:
            job.job_stopped_reason = "Essential container in task exited"
        job._mark_stopped(success=not failed)


def _parent(job: Any) -> Any:
    if ":" not in job.job_id:
        return None
    return job.all_jobs.get(job.job_id.split(":", 1)[0]) or job.backend._jobs.get(job.job_id.split(":", 1)[0])


def _patched(original: Callable[..., None]) -> Callable[..., None]:
    def decide(self: Any, include_start_attempt: bool, job: Any) -> None:
        with _lock:
            control = _active[-1] if _active else None
        if control is None:
            original(self, include_start_attempt, job)
        else:
            control._decide(self, include_start_attempt, job)

    decide.__batchkit__ = True  # type: ignore[attr-defined]
    return decide


@contextmanager
def job_control(control: JobControl) -> Iterator[JobControl]:
    """Make ``control`` decide moto's Batch job outcomes inside the block (nested: innermost wins)."""
    from moto.batch_simple.models import BatchSimpleBackend
    from moto.moto_api import state_manager

    with _lock:
        original = BatchSimpleBackend.__dict__["_mark_job_as_finished"]
        installed = getattr(original, "__batchkit__", False)
        if not installed:
            BatchSimpleBackend._mark_job_as_finished = _patched(original)  # type: ignore[method-assign]
        if control.hold:
            # Statuses move only when set: moto's default "immediate" progression would jump to RUNNING.
            state_manager.set_transition("batch::job", {"progression": "manual", "times": 2**62})
        _active.append(control)
    try:
        yield control
    finally:
        with _lock:
            _active.remove(control)
            if control.hold and not any(c.hold for c in _active):
                state_manager.unset_transition("batch::job")
            if not installed:
                BatchSimpleBackend._mark_job_as_finished = original  # type: ignore[method-assign]


# -- running job code locally -------------------------------------------------------------------------


@dataclass
class JobRun:
    """One local run of job code: the child ``index`` (None for a plain job), its result or error."""

    index: int | None
    environment: dict[str, str]
    result: Any = None
    error: BaseException | None = None

    @property
    def succeeded(self) -> bool:
        return self.error is None


def _container_environment(job: Mapping[str, Any]) -> list[Mapping[str, str]]:
    """The first (or only) container's variables, whatever the job's shape: ``container`` (ECS),
    ``eksProperties`` pods (``env``; moto merges ``eksPropertiesOverride`` into them) or ``ecsProperties``
    tasks."""
    if job.get("eksProperties"):
        containers = job["eksProperties"].get("podProperties", {}).get("containers") or [{}]
        return list(containers[0].get("env") or [])
    if job.get("ecsProperties"):
        tasks = job["ecsProperties"].get("taskProperties") or [{}]
        containers = tasks[0].get("containers") or [{}]
        return list(containers[0].get("environment") or [])
    return list((job.get("container") or {}).get("environment") or [])


def job_environment(job: Mapping[str, Any], index: int | None = None) -> dict[str, str]:
    """The variables Batch sets in a job's container: its environment, ids and array index."""
    env = {item["name"]: item["value"] for item in _container_environment(job)}
    env["AWS_BATCH_JOB_ID"] = job["jobId"] if index is None else f"{job['jobId']}:{index}"
    env["AWS_BATCH_JQ_NAME"] = str(job.get("jobQueue", "")).rsplit("/", 1)[-1]
    env["AWS_BATCH_JOB_ATTEMPT"] = "1"
    if index is not None:
        env["AWS_BATCH_JOB_ARRAY_INDEX"] = str(index)
        env["AWS_BATCH_JOB_ARRAY_SIZE"] = str(job.get("arrayProperties", {}).get("size", ""))
    return env


def array_indexes(job: Mapping[str, Any]) -> list[int | None]:
    size = (job.get("arrayProperties") or {}).get("size")
    return list(range(int(size))) if size else [None]


@contextmanager
def patched_environ(values: Mapping[str, str], *, unset: Iterable[str] = ()) -> Iterator[None]:
    """Set ``values`` (and remove ``unset``) in ``os.environ`` for the block, then restore what was there."""
    removed = [name for name in unset if name not in values]
    saved = {name: os.environ.get(name) for name in [*values, *removed]}
    os.environ.update(values)
    for name in removed:
        os.environ.pop(name, None)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_job_locally(
    job: Mapping[str, Any],
    code: Callable[[], Any],
    *,
    extra_environment: Mapping[str, str] | None = None,
    raise_errors: bool = False,
    index: int | None = None,
) -> list[JobRun]:
    """Call ``code()`` once per array child of ``job`` (a DescribeJobs entry), or once for a plain job.

    Each call sees ``AWS_BATCH_JOB_ARRAY_INDEX`` (array children), ``AWS_BATCH_JOB_ID`` and the
    job's container environment in ``os.environ``, restored afterwards; the job's parameters are in
    ``BATCHKIT_JOB_PARAMETERS`` (JSON). An exception is recorded in the run (or re-raised).
    ``index`` runs that array child only.
    """
    import json

    runs: list[JobRun] = []
    indexes = array_indexes(job) if index is None else [index]
    for child in indexes:
        env = job_environment(job, child)
        env["BATCHKIT_JOB_PARAMETERS"] = json.dumps(job.get("parameters") or {}, sort_keys=True)
        env.update(extra_environment or {})
        run = JobRun(index=child, environment=env)
        with patched_environ(env):
            try:
                run.result = code()
            except Exception as exc:
                if raise_errors:
                    raise
                run.error = exc
        runs.append(run)
    return runs
