"""Test your own code against the stack you synthesize, in moto (no AWS account, no Docker).

Install with ``pip install cdk-batchkit[testing]``. The pytest plugin (registered by the wheel's
``pytest11`` entry point) provides these fixtures without imports:

* ``batchkit_aws``: moto's ``mock_aws`` for one test, with fake credentials, Batch without Docker,
  Step Functions executing state machines, and the kit's patches (Batch integration, job outcomes);
* ``batchkit_stack``: override it in your ``conftest.py`` to return your ``cdk.App`` (every stack),
  ``cdk.Stack`` (with the stacks it imports from) or ``cdk.out`` path (module scope recommended: an
  app is synthesized once per object);
* ``batchkit_world``: the :class:`World` built from ``batchkit_stack`` inside ``batchkit_aws``;
* ``batchkit_build``: a function ``(source, **options) -> World`` for tests that build their own.

Without pytest, use :func:`build_world` inside ``moto.mock_aws()`` (or with ``endpoint_url`` of a
moto server started by :func:`moto_server`). Importing ``cdk_batchkit`` never imports this package.

Modules: :mod:`.assembly` reads the cloud assembly, :mod:`.builders` turns templates into moto
resources, :mod:`.handles` are what tests hold, :mod:`.world` finds them and moves events,
:mod:`.recorder` records and checks what code under test sends, :mod:`.workflows` runs state machines.
"""

from __future__ import annotations

from .assembly import StackTemplate, load_stack, load_stacks
from .batch import JobControl, JobRun, job_control, run_job_locally
from .builders import SUPPORTED_TYPES
from .functions import Invocation, LambdaContext, Metric
from .handles import (
    Bucket,
    ComputeEnvironment,
    ConsumableResource,
    Delivery,
    Function,
    JobDefinition,
    JobQueue,
    LogGroup,
    NestedStack,
    Queue,
    Resource,
    Role,
    Rule,
    StateMachine,
    SubmittedJob,
    Table,
    Topic,
    Upload,
)
from .intrinsics import Resolver, UnresolvableError
from .recorder import Request
from .workflows import WorkflowRun, run_state_machine
from .world import World, build_world

__all__ = [
    "SUPPORTED_TYPES",
    "Bucket",
    "ComputeEnvironment",
    "ConsumableResource",
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
    "NestedStack",
    "Queue",
    "Request",
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
    "load_stacks",
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
