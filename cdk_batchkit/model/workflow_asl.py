"""A workflow's Step Functions definition (Amazon States Language), rendered as plain data.

:class:`~cdk_batchkit.constructs.Workflow` used to build its definition out of the L2 state classes
(``sfn.Parallel``, ``sfn.Choice``, ``tasks.BatchSubmitJob``...): every state, condition and JSON path was an
object in the CDK's Node process, about 85 jsii round trips for the reference app's two steps, only to print
JSON (the role's statements are written by the construct, not by the tasks). Here the same definition is a
dict built in Python; the construct hands it to the L2 ``StateMachine`` in one piece.

The output is the JSON the L2 states rendered, key for key and state for state in the same order (the order
in which the CDK's ``StateGraph`` discovers states: a state, then the states that lead to it, then the
states it leads to, error handlers last), so a template synthesized before and after the change is the
same. See :mod:`cdk_batchkit.constructs.workflow` for the shape of the state machine and its failure path.

Nothing here imports aws-cdk-lib. Values the CDK has not resolved yet (an ARN's token) are carried as they
are; :func:`render_json` writes the definition and lets the caller encode each of them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .submission import Integration
from .values import LIST_MARKER, is_unresolved

#: Errors the Step Functions Batch integration raises for API throttling (429) and service faults.
RETRYABLE_ERRORS = ("Batch.AWSBatchException", "Batch.ServerException", "Batch.TooManyRequestsException")
#: The same through the SDK integration: errors are ``Batch.<exception>``, and an error Batch's API model
#: does not name (throttling) is the SDK's base ``Batch.BatchException``
#: (https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html).
SDK_RETRYABLE_ERRORS = ("Batch.ServerException", "Batch.TooManyRequestsException", "Batch.BatchException")
#: The error of the ``Fail`` state a job that ended FAILED leads to in the SDK integration's polling loop
#: (its cause is the job as DescribeJobs describes it, like ``States.TaskFailed``'s of ``.sync``).
JOB_FAILED = "BatchJobFailed"
#: The error of the ``Fail`` state a failed step ends in.
STEP_FAILED = "StepFailed"
#: The state machine's final failure state.
FAILED_STATE = "Workflow failed"
#: The top-level ``Parallel`` state (one branch per group of connected steps).
RUN_STATE = "Run steps"
#: The state that publishes the failure (when the workflow has a topic).
NOTIFY_STATE = "Notify failure"
#: Every error (``Catch``, ``Retry``).
ALL_ERRORS = "States.ALL"
#: A level label longer than this is replaced by "Run level L of group G".
_LABEL_LIMIT = 80


class _Named(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def depends_on(self) -> Sequence[str]: ...


def plan_levels(steps: Sequence[_Named]) -> list[list[list[str]]]:
    """Groups (weakly connected) -> levels -> step names, in declaration order. Assumes a valid DAG."""
    order = [s.name for s in steps]
    parents = {s.name: list(s.depends_on) for s in steps}
    level: dict[str, int] = {}

    def level_of(name: str) -> int:
        if name not in level:
            level[name] = 1 + max((level_of(p) for p in parents[name]), default=-1)
        return level[name]

    group = {name: name for name in order}

    def root(name: str) -> str:
        while group[name] != name:
            group[name] = group[group[name]]
            name = group[name]
        return name

    for name in order:
        for parent in parents[name]:
            group[root(name)] = root(parent)
    roots = list(dict.fromkeys(root(n) for n in order))
    plan = []
    for r in roots:
        members = [n for n in order if root(n) == r]
        depth = max(level_of(n) for n in members)
        plan.append([[n for n in members if level_of(n) == k] for k in range(depth + 1)])
    return plan


@dataclass(frozen=True)
class StepTask:
    """One step as the definition needs it.

    :param name: the step's name (the state's name; the failure states are named after it).
    :param depends_on: names of the steps it waits for.
    :param parameters: SubmitJob's ``Parameters`` as Step Functions takes them (PascalCase, ``Key.$`` paths).
    :param integration: ``batch:submitJob.sync``, or the SDK integration and a DescribeJobs polling loop.
    """

    name: str
    depends_on: Sequence[str]
    parameters: Mapping[str, Any]
    integration: Integration = Integration.OPTIMIZED


# -- a small state graph, discovered as the CDK's StateGraph discovers it -----------------------------------
@dataclass(eq=False)
class _State:
    """A state: its own fields in ASL order, and its transitions (rendered by :func:`_render`)."""

    name: str
    type: str
    fields: dict[str, Any] = field(default_factory=dict)
    retry: list[dict[str, Any]] = field(default_factory=list)
    catches: list[tuple[dict[str, Any], _State]] = field(default_factory=list)
    choices: list[tuple[dict[str, Any], _State]] = field(default_factory=list)
    branches: list[_State] = field(default_factory=list)
    next: _State | None = None
    default: _State | None = None
    #: The states that lead here by Next, Catch or a choice (not by Default), in the order they were linked:
    #: the CDK visits them right after the state itself.
    incoming: list[_State] = field(default_factory=list)

    def then(self, state: _State) -> _State:
        """``Next``; returns ``state`` (to chain)."""
        assert self.next is None, f"{self.name} already has a next state"
        self.next = state
        state.incoming.append(self)
        return state

    def catch(self, handler: _State, result_path: str, errors: Sequence[str] = (ALL_ERRORS,)) -> None:
        self.catches.append(({"ErrorEquals": list(errors), "ResultPath": result_path}, handler))
        handler.incoming.append(self)

    def when(self, condition: dict[str, Any], state: _State) -> _State:
        self.choices.append((condition, state))
        state.incoming.append(self)
        return self

    def otherwise(self, state: _State) -> None:
        self.default = state

    def outgoing(self) -> Iterator[_State]:
        if self.next is not None:
            yield self.next
        if self.default is not None:
            yield self.default
        yield from (state for _, state in self.choices)
        yield from (state for _, state in self.catches)


def _graph(start: _State, names: dict[str, _State]) -> dict[str, Any]:
    """``{"StartAt", "States"}`` of the graph reachable from ``start`` (not entering ``Parallel`` branches,
    each its own graph). States come in the CDK's order: depth first, a state, then the states leading to
    it, then those it leads to (Next, Default, choices, catches). ``names``: every state of the definition
    so far (a name is unique in the whole definition, branches included)."""
    ordered: dict[str, _State] = {}
    stack = [start]
    while stack:
        state = stack.pop()
        if state.name in ordered:
            continue
        if names.setdefault(state.name, state) is not state:
            raise ValueError(f"two states are named {state.name!r}")
        ordered[state.name] = state
        stack.extend(reversed([*state.incoming, *state.outgoing()]))
    return {"StartAt": start.name, "States": {name: _render(state, names) for name, state in ordered.items()}}


def _render(state: _State, names: dict[str, _State]) -> dict[str, Any]:
    """One state's JSON, keys in the order the L2 state classes write them."""
    transition: dict[str, Any] = {"Next": state.next.name} if state.next is not None else {"End": True}
    retry_catch: dict[str, Any] = {}
    if state.retry:
        retry_catch["Retry"] = state.retry
    if state.catches:
        retry_catch["Catch"] = [{**catch, "Next": handler.name} for catch, handler in state.catches]
    if state.type == "Task":
        return {**transition, **retry_catch, "Type": "Task", **state.fields}
    if state.type == "Parallel":
        branches = [_graph(branch, names) for branch in state.branches]
        return {"Type": "Parallel", **state.fields, **transition, **retry_catch, "Branches": branches}
    if state.type == "Choice":
        rendered: dict[str, Any] = {
            "Type": "Choice",
            "Choices": [{**condition, "Next": target.name} for condition, target in state.choices],
        }
        if state.default is not None:
            rendered["Default"] = state.default.name
        return rendered
    if state.type in ("Pass", "Wait"):
        return {"Type": state.type, **state.fields, **transition}
    return {"Type": state.type, **state.fields}  # Fail, Succeed: terminal


# -- the workflow's states ---------------------------------------------------------------------------------
def _retry(errors: Sequence[str]) -> dict[str, Any]:
    """Throttling and service errors: retried with exponential backoff and full jitter."""
    return {
        "ErrorEquals": list(errors),
        "IntervalSeconds": 5,
        "MaxAttempts": 8,
        "BackoffRate": 2,
        "MaxDelaySeconds": 120,
        "JitterStrategy": "FULL",
    }


def _equals(path: str, value: str) -> dict[str, Any]:
    return {"Variable": path, "StringEquals": value}


def _present(path: str) -> dict[str, Any]:
    return {"Variable": path, "IsPresent": True}


@dataclass(frozen=True)
class _Builder:
    """Builds the states of one definition. ``partition``: the ARN partition (a token is fine)."""

    partition: str
    poll_seconds: float

    def resource(self, integration: str) -> str:
        """A service integration's ``Resource`` (``arn:<partition>:states:::<integration>``)."""
        return f"arn:{self.partition}:states:::{integration}"

    def step(self, step: StepTask) -> _State:
        """The step's state (a ``.sync`` task, or a ``Parallel`` around the SDK integration's loop), whose
        every failure is caught into the step's failure path."""
        if step.integration is Integration.OPTIMIZED:
            state = _State(
                step.name,
                "Task",
                {
                    "ResultPath": None,
                    "Resource": self.resource(Integration.OPTIMIZED.value),
                    "Parameters": dict(step.parameters),
                },
                retry=[_retry(RETRYABLE_ERRORS)],
            )
        else:
            state = self.polled(step)
        state.catch(self.failure_path(step.name), "$.failure")
        return state

    def polled(self, step: StepTask) -> _State:
        """``aws-sdk:batch:submitJob``, then DescribeJobs every ``poll_seconds`` until the job ends, in a
        ``Parallel`` state named after the step (its output is its input, like the ``.sync`` task's)."""
        name = step.name
        submit = _State(
            f"{name} submit",
            "Task",
            {
                "ResultPath": "$",
                "ResultSelector": {"JobId.$": "$.JobId"},
                "Resource": self.resource("aws-sdk:batch:submitJob"),
                "Parameters": dict(step.parameters),
            },
            retry=[_retry(SDK_RETRYABLE_ERRORS)],
        )
        wait = _State(f"{name} wait", "Wait", {"Seconds": self.poll_seconds})
        describe = _State(
            f"{name} describe",
            "Task",
            {
                "ResultPath": "$.Described",
                "ResultSelector": {"Jobs.$": "$.Jobs"},
                "Resource": self.resource("aws-sdk:batch:describeJobs"),
                "Parameters": {"Jobs.$": "States.Array($.JobId)"},
            },
            retry=[_retry(SDK_RETRYABLE_ERRORS)],
        )
        # A job DescribeJobs does not list yet (just submitted) is polled again; a listed one is taken out of
        # the list first (a path through the list's index is only read as the job itself).
        listed = _State(f"{name} listed", "Choice")
        take = _State(
            f"{name} job", "Pass", {"Parameters": {"JobId.$": "$.JobId", "Job.$": "$.Described.Jobs[0]"}}
        )
        done = _State(f"{name} done", "Succeed")
        failed = _State(
            f"{name} job ended FAILED",
            "Fail",
            {"Error": JOB_FAILED, "CausePath": "States.JsonToString($.Job)"},
        )
        check = _State(f"{name} status", "Choice")
        check.when(_equals("$.Job.Status", "SUCCEEDED"), done).when(_equals("$.Job.Status", "FAILED"), failed)
        check.otherwise(wait)
        take.then(check)
        listed.when(_present("$.Described.Jobs[0]"), take).otherwise(wait)
        submit.then(wait).then(describe).then(listed)
        return _State(name, "Parallel", {"ResultPath": None}, branches=[submit])

    def failure_path(self, name: str) -> _State:
        """What a caught failure of the step leads to: a summary of a job that ran and failed (its id,
        name, status), or of any other error, then one ``Fail`` state (:data:`STEP_FAILED`)."""
        fail_state = _State(
            f"{name} failed", "Fail", {"Error": STEP_FAILED, "CausePath": "States.JsonToString($)"}
        )
        # The job ran and failed: the cause is the DescribeJobs job, as JSON. Keep a small summary.
        parse = _State(
            f"{name} job failed",
            "Pass",
            {"Parameters": {"error.$": "$.failure.Error", "job.$": "States.StringToJson($.failure.Cause)"}},
        )
        summary = _State(
            f"{name} job summary",
            "Pass",
            {
                "Parameters": {
                    "step": name,
                    "error.$": "$.error",
                    "jobId.$": "$.job.JobId",
                    "jobName.$": "$.job.JobName",
                    "status.$": "$.job.Status",
                }
            },
        )
        # Anything else (submission refused after retries, permissions, timeouts): no job to describe.
        other = _State(
            f"{name} error",
            "Pass",
            {"Parameters": {"step": name, "error.$": "$.failure.Error", "detail.$": "$.failure"}},
        )
        # States.TaskFailed in a Catch matches every task error but States.Timeout, so tell a job that
        # ran and failed (its cause is the job as JSON) from the rest by looking at the error itself.
        ran_and_failed = [
            _equals("$.failure.Error", "States.TaskFailed"),
            _equals("$.failure.Error", JOB_FAILED),
        ]
        job_failed = {
            "And": [
                {"Or": ran_and_failed},
                _present("$.failure.Cause"),
                {"Variable": "$.failure.Cause", "StringMatches": "{*"},
            ]
        }
        route = _State(f"{name} failure", "Choice")
        parse.then(summary).then(fail_state)
        route.when(job_failed, parse)
        other.then(fail_state)
        route.otherwise(other)
        return route

    def group(self, index: int, levels: Sequence[Sequence[StepTask]]) -> _State:
        """One group of connected steps: its levels one after the other, a level of several steps as a
        ``Parallel`` of them. Returns the first state."""
        states = []
        for li, level in enumerate(levels, start=1):
            if len(level) == 1:
                states.append(self.step(level[0]))
                continue
            label = "Run " + ", ".join(s.name for s in level)
            if len(label) > _LABEL_LIMIT:
                label = f"Run level {li} of group {index}"
            states.append(
                _State(label, "Parallel", {"ResultPath": None}, branches=[self.step(s) for s in level])
            )
        for previous, state in zip(states, states[1:], strict=False):
            previous.then(state)
        return states[0]

    def notify(self, topic_arn: str) -> _State:
        """Publishes the failure (workflow, execution, input, error, cause) to the topic."""
        return _State(
            NOTIFY_STATE,
            "Task",
            {
                "ResultPath": None,
                "Resource": self.resource("sns:publish"),
                "Parameters": {
                    "TopicArn": topic_arn,
                    "Message": {
                        "workflow.$": "$$.StateMachine.Name",
                        "execution.$": "$$.Execution.Id",
                        "input.$": "$$.Execution.Input",
                        "error.$": "$.failure.Error",
                        "cause.$": "$.failure.Cause",
                    },
                    "Subject": "Batch workflow failed",
                },
            },
            retry=[
                {
                    "ErrorEquals": [ALL_ERRORS],
                    "IntervalSeconds": 2,
                    "MaxAttempts": 3,
                    "BackoffRate": 2,
                    "JitterStrategy": "FULL",
                }
            ],
        )


def definition(
    steps: Sequence[StepTask],
    *,
    partition: str,
    poll_seconds: float = 30,
    topic_arn: str | None = None,
    comment: str | None = None,
    timeout_seconds: float | None = None,
) -> dict[str, Any]:
    """The state machine's definition: every group of connected steps a branch of the top-level
    ``Parallel`` (:data:`RUN_STATE`), whose single ``Catch`` publishes the failure to ``topic_arn`` (when
    given) and ends in :data:`FAILED_STATE`. Assumes the steps were checked (``workflow_steps``)."""
    builder = _Builder(partition, poll_seconds)
    by_name = {s.name: s for s in steps}
    run = _State(RUN_STATE, "Parallel", {"ResultPath": None})
    for gi, levels in enumerate(plan_levels(steps), start=1):
        run.branches.append(builder.group(gi, [[by_name[n] for n in level] for level in levels]))
    failed = _State(FAILED_STATE, "Fail", {"ErrorPath": "$.failure.Error", "CausePath": "$.failure.Cause"})
    handler = failed
    if topic_arn is not None:
        handler = builder.notify(topic_arn)
        # A notification that cannot be sent must not hide the original failure.
        handler.catch(failed, "$.notifyError")
        handler.then(failed)
    run.catch(handler, "$.failure")
    rendered = _graph(run, {})
    if timeout_seconds is not None:
        rendered["TimeoutSeconds"] = timeout_seconds
    if comment is not None:
        rendered["Comment"] = comment
    return rendered


# -- JSON --------------------------------------------------------------------------------------------------
def render_json(value: Any, unresolved: Callable[[Any], str]) -> str:
    """``value`` as compact JSON (as JavaScript's ``JSON.stringify`` writes it: no spaces, non-ASCII kept,
    a whole float as an integer; a None is ``null``), where every value the CDK has not resolved (a string
    holding a token, a number token, a list token), key or value, is written as ``unresolved(value)``
    returns it: JSON text the caller's framework completes (for the CDK, ``Stack.to_json_string``)."""
    if isinstance(value, str) or value is None or isinstance(value, bool | int | float):
        if is_unresolved(value):
            return unresolved(value)
        if isinstance(value, float) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise ValueError(f"{value} has no JSON form")
            if value.is_integer():
                return str(int(value))
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        items = (f"{render_json(str(k), unresolved)}:{render_json(v, unresolved)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        if any(isinstance(v, str) and LIST_MARKER in v for v in value):  # a list token
            return unresolved(value)
        return "[" + ",".join(render_json(v, unresolved) for v in value) + "]"
    raise TypeError(f"{value!r} ({type(value).__name__}) has no JSON form")


__all__ = [
    "ALL_ERRORS",
    "FAILED_STATE",
    "JOB_FAILED",
    "NOTIFY_STATE",
    "RETRYABLE_ERRORS",
    "RUN_STATE",
    "SDK_RETRYABLE_ERRORS",
    "STEP_FAILED",
    "StepTask",
    "definition",
    "plan_levels",
    "render_json",
]
