"""Test your own code against the stack you synthesize, in moto (no AWS account, no Docker).

Install with ``pip install cdk-batchkit[testing]``. The pytest plugin (registered by the wheel's
``pytest11`` entry point) provides these fixtures without imports:

* ``batchkit_aws``: moto's ``mock_aws`` for one test, with fake credentials, Batch without Docker,
  Step Functions executing state machines, and the kit's patches (Batch integration, job outcomes);
* ``batchkit_stack``: override it in your ``conftest.py`` to return your ``cdk.Stack``, ``cdk.App``
  or ``cdk.out`` path (module scope recommended: a stack is synthesized once per object);
* ``batchkit_world``: the :class:`World` built from ``batchkit_stack`` inside ``batchkit_aws``;
* ``batchkit_build``: a function ``(source, **options) -> World`` for tests that build their own.

Without pytest, use :func:`build_world` inside ``moto.mock_aws()`` (or with ``endpoint_url`` of a
moto server started by :func:`moto_server`). Importing ``cdk_batchkit`` never imports this package.
"""

from __future__ import annotations

from .assembly import StackTemplate, load_stack
from .batch import JobControl, JobRun, job_control, run_job_locally
from .functions import Invocation, LambdaContext, Metric
from .intrinsics import Resolver, UnresolvableError
from .workflows import WorkflowRun, run_state_machine
from .world import (
    SUPPORTED_TYPES,
    Bucket,
    ComputeEnvironment,
    Delivery,
    Function,
    JobDefinition,
    JobQueue,
    LogGroup,
    Queue,
    Resource,
    Role,
    Rule,
    StateMachine,
    SubmittedJob,
    Table,
    Topic,
    Upload,
    World,
    build_world,
)

__all__ = [
    "SUPPORTED_TYPES",
    "Bucket",
    "ComputeEnvironment",
    "Delivery",
    "Function",
    "Invocation",
    "JobControl",
    "JobDefinition",
    "JobQueue",
    "JobRun",
    "LambdaContext",
    "LogGroup",
    "Metric",
    "Queue",
    "Resolver",
    "Resource",
    "Role",
    "Rule",
    "StackTemplate",
    "StateMachine",
    "SubmittedJob",
    "Table",
    "Topic",
    "UnresolvableError",
    "Upload",
    "World",
    "WorkflowRun",
    "build_world",
    "job_control",
    "load_stack",
    "mock_environment",
    "moto_server",
    "run_job_locally",
    "run_state_machine",
]


def __getattr__(name: str) -> object:
    if name in ("mock_environment", "moto_server"):
        from . import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
