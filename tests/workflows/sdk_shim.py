"""Make moto 5.2.5's Step Functions engine run ``aws-sdk:batch:*`` tasks the way Step Functions does.

moto's SDK-integration task (``StateTaskServiceAwsSdk``) passes the state's ``Parameters`` to boto3 as
written and returns boto3's answer as it is; Step Functions takes and returns SDK-integration fields in
PascalCase (https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html). For
Batch only, this converts the request PascalCase -> botocore member names and the response -> PascalCase,
guided by the operation's botocore shapes, with the helpers moto's own tasks use (as
``cdk_batchkit.testing.sfn_shim`` does for the optimized integration).

TODO(testing kit, H4): fold into ``cdk_batchkit.testing.sfn_shim`` so users' workflows with steps submitted
through the SDK integration (multi-container, EKS, multi-node, fair-share, consumable steps) run in the kit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import botocore.session
from botocore import xform_name
from botocore.model import OperationModel
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_aws_sdk as sdk_task,
)

_Sdk = sdk_task.StateTaskServiceAwsSdk


@cache
def _operations() -> dict[str, OperationModel]:
    model = botocore.session.get_session().get_service_model("batch")
    return {xform_name(name): model.operation_model(name) for name in model.operation_names}


def _batch_operation(task: Any, service_action_name: str | None) -> OperationModel | None:
    if task._get_boto_service_name() != "batch":
        return None
    return _operations().get(service_action_name or task._get_boto_service_action())


def _normalise_parameters(
    self: Any, parameters: dict, boto_service_name: str | None = None, service_action_name: str | None = None
) -> None:
    operation = _batch_operation(self, service_action_name)
    if operation is not None and operation.input_shape is not None:
        self._to_boto_request(parameters, operation.input_shape)


def _normalise_response(
    self: Any, response: Any, boto_service_name: str | None = None, service_action_name: str | None = None
) -> None:
    operation = _batch_operation(self, service_action_name)
    if operation is not None and operation.output_shape is not None:
        self._from_boto_response(response, operation.output_shape)


@contextmanager
def batch_sdk_shim() -> Iterator[None]:
    """Patch moto's SDK-integration task for Batch for the duration of the block (restored afterwards)."""
    saved = {name: _Sdk.__dict__.get(name) for name in ("_normalise_parameters", "_normalise_response")}
    _Sdk._normalise_parameters = _normalise_parameters  # type: ignore[method-assign]
    _Sdk._normalise_response = _normalise_response  # type: ignore[method-assign]
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                delattr(_Sdk, name)
            else:
                setattr(_Sdk, name, value)
