"""CloudFormation properties -> AWS API request members, guided by botocore's shapes.

CloudFormation spells the Batch properties in PascalCase (``ContainerProperties.ResourceRequirements``),
the API in camelCase (``containerProperties.resourceRequirements``). Walking the operation's input
shape maps each key case-insensitively onto a member name; map shapes (``parameters``, ``tags``,
log ``options``) keep their keys. Properties the API does not know are dropped and reported.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import botocore.session
from botocore.model import OperationModel, Shape

__all__ = ["to_request"]


@cache
def _operation(service: str, operation: str) -> OperationModel:
    return botocore.session.get_session().get_service_model(service).operation_model(operation)


def to_request(
    service: str, operation: str, properties: dict[str, Any], dropped: list[str] | None = None
) -> dict[str, Any]:
    """``properties`` (resolved CloudFormation) as keyword arguments of ``operation``."""
    shape = _operation(service, operation).input_shape
    assert shape is not None
    converted = _convert(properties, shape, "", dropped if dropped is not None else [])
    assert isinstance(converted, dict)
    return converted


def _convert(value: Any, shape: Shape, where: str, dropped: list[str]) -> Any:
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = {name.lower(): name for name in shape.members}  # type: ignore[attr-defined]
        result: dict[str, Any] = {}
        for key, item in value.items():
            name = members.get(key.lower())
            if name is None:
                dropped.append(f"{where}{key}")
                continue
            result[name] = _convert(item, shape.members[name], f"{where}{key}.", dropped)  # type: ignore[attr-defined]
        return result
    if kind == "list" and isinstance(value, list):
        return [_convert(item, shape.member, where, dropped) for item in value]  # type: ignore[attr-defined]
    if kind == "map" and isinstance(value, dict):
        return {k: _convert(v, shape.value, where, dropped) for k, v in value.items()}  # type: ignore[attr-defined]
    if kind in ("integer", "long") and isinstance(value, str):
        return int(value)
    if kind in ("float", "double") and isinstance(value, str):
        return float(value)
    if kind == "boolean" and isinstance(value, str):
        return value.lower() == "true"
    if kind == "string" and isinstance(value, bool | int | float) and not isinstance(value, str):
        return str(value).lower() if isinstance(value, bool) else str(value)
    return value
