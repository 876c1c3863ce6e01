"""Run a synthesized Lambda function's handler in this process, with its environment variables.

The handler is imported from the function's staged code asset (what would be deployed), under a
private package name per world, so each world starts "cold". ``os.environ`` holds the function's
resolved environment variables during the call; standard output is captured, and the Embedded
Metric Format lines Powertools prints are parsed into :class:`Metric` values.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import itertools
import json
import sys
import types
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .batch import patched_environ

__all__ = ["Invocation", "LambdaContext", "Metric", "load_handler", "parse_emf"]

_ALIASES = itertools.count()


class _Output(io.TextIOBase):
    """Standard output as handlers see it: the current invocation's buffer, or the real stdout.

    Loggers keep the stream they found at import time; importing handlers with this proxy as
    ``sys.stdout`` lets each invocation capture their lines.
    """

    def __init__(self) -> None:
        self.targets: list[io.StringIO] = []

    def write(self, text: str) -> int:
        target = self.targets[-1] if self.targets else sys.__stdout__
        assert target is not None
        return target.write(text)

    def flush(self) -> None:
        if not self.targets and sys.__stdout__ is not None:
            sys.__stdout__.flush()


_OUTPUT = _Output()


@dataclass(frozen=True)
class Metric:
    """One metric value from an EMF line."""

    namespace: str
    name: str
    value: float
    unit: str
    dimensions: dict[str, str]


@dataclass
class Invocation:
    """One in-process invocation: the event, the handler's response (or error) and its output."""

    function: str
    event: Any
    response: Any = None
    error: BaseException | None = None
    output: str = ""
    metrics: list[Metric] = field(default_factory=list)

    @property
    def logs(self) -> list[dict[str, Any]]:
        """The structured (JSON) log lines that are not EMF metrics."""
        lines = []
        for line in self.output.splitlines():
            try:
                parsed = json.loads(line)
            except ValueError:
                continue
            if isinstance(parsed, dict) and "_aws" not in parsed:
                lines.append(parsed)
        return lines


class LambdaContext:
    """A minimal Lambda context object."""

    def __init__(self, function_name: str, arn: str, memory_mb: int = 128, timeout_s: int = 3) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = arn
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "batchkit/[$LATEST]local"
        self._timeout_ms = timeout_s * 1000

    def get_remaining_time_in_millis(self) -> int:
        return self._timeout_ms


def load_handler(directory: Path, handler: str) -> Any:
    """Import ``handler`` (``package.module.function``) from ``directory`` under a fresh alias."""
    module_path, _, attribute = handler.rpartition(".")
    alias = f"_batchkit_function_{next(_ALIASES)}"
    package = types.ModuleType(alias)
    package.__path__ = [str(directory)]
    sys.modules[alias] = package
    sys.path.insert(0, str(directory))
    try:
        with contextlib.redirect_stdout(_OUTPUT):
            module = importlib.import_module(f"{alias}.{module_path}")
    finally:
        sys.path.remove(str(directory))
    return getattr(module, attribute)


def parse_emf(output: str) -> list[Metric]:
    metrics: list[Metric] = []
    for line in output.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict) or "_aws" not in record:
            continue
        for block in record["_aws"].get("CloudWatchMetrics", []):
            dims = {name: str(record.get(name)) for group in block.get("Dimensions", []) for name in group}
            for definition in block.get("Metrics", []):
                raw = record.get(definition["Name"])
                for value in raw if isinstance(raw, list) else [raw]:
                    if value is None:
                        continue
                    metrics.append(
                        Metric(
                            namespace=block.get("Namespace", ""),
                            name=definition["Name"],
                            value=float(value),
                            unit=definition.get("Unit", ""),
                            dimensions=dims,
                        )
                    )
    return metrics


def invoke(function: str, handler: Any, event: Any, context: Any, environment: dict[str, str]) -> Invocation:
    """Call ``handler(event, context)`` with ``environment`` set and standard output captured."""
    invocation = Invocation(function=function, event=event)
    buffer = io.StringIO()
    _OUTPUT.targets.append(buffer)
    try:
        with patched_environ(environment), contextlib.redirect_stdout(_OUTPUT):
            try:
                invocation.response = handler(event, context)
            except Exception as exc:
                invocation.error = exc
    finally:
        _OUTPUT.targets.remove(buffer)
    invocation.output = buffer.getvalue()
    invocation.metrics = parse_emf(invocation.output)
    return invocation
