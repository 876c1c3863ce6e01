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
moto server started by :func:`moto_server`). Importing ``cdk_batchkit`` never imports this package, and
importing this package (which pytest does for the plugin in every run of every project that has the kit
installed) imports no module of it: each name is loaded on first use, moto with it.

Modules: :mod:`.assembly` reads the cloud assembly, :mod:`.builders` turns templates into moto
resources, :mod:`.handles` are what tests hold, :mod:`.world` finds them and moves events,
:mod:`.recorder` records and checks what code under test sends, :mod:`.workflows` runs state machines.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

#: Each public name and the module (of this package) that defines it, loaded on first use.
_EXPORTS = {
    "StackTemplate": "assembly",
    "load_stack": "assembly",
    "load_stacks": "assembly",
    "JobControl": "batch",
    "JobRun": "batch",
    "job_control": "batch",
    "run_job_locally": "batch",
    "SUPPORTED_TYPES": "builders",
    "Invocation": "functions",
    "LambdaContext": "functions",
    "Metric": "functions",
    **dict.fromkeys(
        [
            "Bucket",
            "ComputeEnvironment",
            "ConsumableResource",
            "Delivery",
            "Function",
            "JobDefinition",
            "JobQueue",
            "LogGroup",
            "NestedStack",
            "Queue",
            "Resource",
            "Role",
            "Rule",
            "StateMachine",
            "SubmittedJob",
            "Table",
            "Topic",
            "Upload",
        ],
        "handles",
    ),
    "Resolver": "intrinsics",
    "UnresolvableError": "intrinsics",
    "Request": "recorder",
    "mock_environment": "server",
    "moto_server": "server",
    "WorkflowRun": "workflows",
    "run_state_machine": "workflows",
    "World": "world",
    "build_world": "world",
}

if TYPE_CHECKING:  # what type checkers and the API reference see; at run time, __getattr__ below
    # (``X as X``: an explicit re-export, PEP 484)
    from .assembly import StackTemplate as StackTemplate
    from .assembly import load_stack as load_stack
    from .assembly import load_stacks as load_stacks
    from .batch import (
        JobControl as JobControl,
    )
    from .batch import (
        JobRun as JobRun,
    )
    from .batch import (
        job_control as job_control,
    )
    from .batch import (
        run_job_locally as run_job_locally,
    )
    from .builders import SUPPORTED_TYPES as SUPPORTED_TYPES
    from .functions import Invocation as Invocation
    from .functions import LambdaContext as LambdaContext
    from .functions import Metric as Metric
    from .handles import (
        Bucket as Bucket,
    )
    from .handles import (
        ComputeEnvironment as ComputeEnvironment,
    )
    from .handles import (
        ConsumableResource as ConsumableResource,
    )
    from .handles import (
        Delivery as Delivery,
    )
    from .handles import (
        Function as Function,
    )
    from .handles import (
        JobDefinition as JobDefinition,
    )
    from .handles import (
        JobQueue as JobQueue,
    )
    from .handles import (
        LogGroup as LogGroup,
    )
    from .handles import (
        NestedStack as NestedStack,
    )
    from .handles import (
        Queue as Queue,
    )
    from .handles import (
        Resource as Resource,
    )
    from .handles import (
        Role as Role,
    )
    from .handles import (
        Rule as Rule,
    )
    from .handles import (
        StateMachine as StateMachine,
    )
    from .handles import (
        SubmittedJob as SubmittedJob,
    )
    from .handles import (
        Table as Table,
    )
    from .handles import (
        Topic as Topic,
    )
    from .handles import (
        Upload as Upload,
    )
    from .intrinsics import Resolver as Resolver
    from .intrinsics import UnresolvableError as UnresolvableError
    from .recorder import Request as Request
    from .server import mock_environment as mock_environment
    from .server import moto_server as moto_server
    from .workflows import WorkflowRun as WorkflowRun
    from .workflows import run_state_machine as run_state_machine
    from .world import World as World
    from .world import build_world as build_world

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # once: later lookups do not come here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
