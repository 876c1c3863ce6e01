"""CloudFormation properties written as data, handed to an L1 in one call.

A construct that renders a resource's properties in Python (from the CDK-free model, in the template's
own PascalCase) passes them to the L1 class here: its keyword arguments are the top-level properties in
snake_case, and nested struct values are plain dicts with the jsii property names (camelCase), which the
L1 renders exactly as a struct object would. One round trip per resource, however many properties."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_SNAKE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake(name: str) -> str:
    """``OKActions`` -> ``ok_actions``, ``DatapointsToAlarm`` -> ``datapoints_to_alarm``."""
    return _SNAKE.sub("_", name).lower()


def camel(name: str) -> str:
    """``MetricStat`` -> ``metricStat``, ``OKActions`` -> ``okActions``: jsii's name of a struct field."""
    run = re.match(r"[A-Z]*", name).group()  # type: ignore[union-attr]
    if len(run) == len(name):
        return name.lower()
    if len(run) > 1:
        run = run[:-1]  # the last capital starts the next word
    return run.lower() + name[len(run) :]


def _nested(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {camel(k): _nested(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_nested(v) for v in value]
    return value


def l1_kwargs(properties: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments of an L1 (``CfnAlarm(scope, id, **l1_kwargs(props))``) for CloudFormation
    properties whose nested values are structs (not free-form maps such as tags)."""
    return {snake(k): _nested(v) for k, v in properties.items()}
