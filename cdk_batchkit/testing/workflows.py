"""Run a synthesized state machine in moto's Step Functions engine against moto's Batch.

moto executes the definition itself (``stepfunctions: execute_state_machine``); :mod:`.sfn_shim`
fills the gap in its Batch integration, and :class:`.batch.JobControl` makes chosen jobs fail.
This module knows a state machine and its world only by the :class:`Machine` protocol (it imports
neither the handles nor the world).
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .batch import JobControl, _active, _lock, job_control
from .sfn_shim import batch_integration_shim

__all__ = ["Machine", "WorkflowRun", "quiet_engine_logs", "run_state_machine"]


class _World(Protocol):
    def internal_client(self, service: str) -> Any: ...

    def jobs(self) -> list[dict[str, Any]]: ...


class Machine(Protocol):
    """What :func:`run_state_machine` needs of a state machine (a :class:`~.handles.StateMachine`)."""

    @property
    def arn(self) -> str: ...

    @property
    def world(self) -> Any: ...


@dataclass
class WorkflowRun:
    """One execution: its DescribeExecution answer, history and the Batch jobs it submitted."""

    execution: dict[str, Any]
    history: list[dict[str, Any]] = field(repr=False)
    jobs: list[dict[str, Any]] = field(repr=False)

    @property
    def status(self) -> str:
        return str(self.execution["status"])

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"

    @property
    def execution_arn(self) -> str:
        return str(self.execution["executionArn"])

    @property
    def output(self) -> Any:
        text = self.execution.get("output")
        return json.loads(text) if text else None

    @property
    def error(self) -> str | None:
        return self.execution.get("error")

    @property
    def cause(self) -> Any:
        text = self.execution.get("cause")
        if text is None:
            return None
        try:
            return json.loads(text)
        except ValueError:
            return text

    @property
    def jobs_by_name(self) -> dict[str, list[dict[str, Any]]]:
        """Job name (a workflow step's name) -> the jobs submitted under it, oldest first."""
        result: dict[str, list[dict[str, Any]]] = {}
        for job in self.jobs:
            result.setdefault(job["jobName"], []).append(job)
        return result

    @property
    def states_entered(self) -> list[str]:
        return [
            e["stateEnteredEventDetails"]["name"] for e in self.history if "stateEnteredEventDetails" in e
        ]


def run_state_machine(
    machine: Machine,
    execution_input: Mapping[str, Any],
    *,
    fail_jobs: Iterable[str] | Callable[[str, int | None], bool] = (),
    timeout: float = 60,
    on_poll: Callable[[], None] | None = None,
) -> WorkflowRun:
    """Start an execution of ``machine`` with ``execution_input``, wait for its end, return the run.

    ``fail_jobs``: job names (``fnmatch`` patterns; a workflow step's job is named after the step)
    or a predicate ``(name, array_index) -> bool``; those jobs end FAILED. ``on_poll`` is called
    while waiting (the demo moves held jobs along from there).
    """
    quiet_engine_logs()
    world = machine.world
    sfn = world.internal_client("stepfunctions")
    before = {job["jobId"] for job in world.jobs()}
    with _lock:
        outer = _active[-1] if _active else None
    control = None if (outer is not None and not fail_jobs) else JobControl(fail_jobs)
    with batch_integration_shim(strict=False), job_control(control) if control is not None else _nothing():
        arn = sfn.start_execution(
            stateMachineArn=machine.arn, name=str(uuid.uuid4()), input=json.dumps(dict(execution_input))
        )["executionArn"]
        deadline = time.monotonic() + timeout
        while True:
            described = sfn.describe_execution(executionArn=arn)
            if described["status"] != "RUNNING":
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"execution {arn} still RUNNING after {timeout} s")
            if on_poll is not None:
                on_poll()
            time.sleep(0.05)
    history = execution_history(sfn, arn)
    jobs = [job for job in world.jobs() if job["jobId"] not in before]
    return WorkflowRun(execution=dict(described), history=history, jobs=jobs)


def collect_run(world: _World, execution_arn: str) -> WorkflowRun:
    """A finished execution as a :class:`WorkflowRun`; its jobs are those named in its history."""
    sfn = world.internal_client("stepfunctions")
    described = sfn.describe_execution(executionArn=execution_arn)
    history = execution_history(sfn, execution_arn)
    text = json.dumps(history, default=str)
    jobs = [job for job in world.jobs() if job["jobId"] in text]
    return WorkflowRun(execution=dict(described), history=history, jobs=jobs)


def execution_history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    """Every event of execution ``arn``, all pages."""
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events.extend(page["events"])
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


# -- the engine's logs --------------------------------------------------------------------------------

#: moto's ASL engine logs every failure at ERROR once per enclosing component, each with the repr of the
#: whole component tree (tens of kilobytes for a workflow): "Exception=..., Error=..., Details={...} at
#: '(StateFail| {...})'". The filter keeps the error and its details (the cause) and names the component
#: by its class only.
_ENGINE_LOGGER = "moto.stepfunctions.parser.asl.component.eval_component"
_COMPONENT = re.compile(r"^\((\w+)\|")


class _ShortComponent(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "%s at '%s'" and isinstance(record.args, tuple) and len(record.args) == 2:
            error, component = record.args
            match = _COMPONENT.match(str(component))
            record.args = (error, match.group(1) if match else str(component)[:80])
        return True


_FILTER = _ShortComponent()


def quiet_engine_logs() -> None:
    """Shorten moto's Step Functions engine failure logs to one line with the error and its cause
    (installed once per process; the records stay ERROR, so a failed run still shows why)."""
    logger = logging.getLogger(_ENGINE_LOGGER)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
