"""Make moto 5.2.5's Step Functions engine run ``batch:submitJob.sync`` tasks.

Also the SDK integration (``aws-sdk:batch:*``, see ``_Sdk`` below), which the workflow steps the optimized
integration cannot carry use.

Why: moto's ASL engine (``moto.stepfunctions.parser``, ported from LocalStack) leaves
``StateTaskService._normalise_parameters`` / ``_normalise_response`` as no-ops. Step Functions'
optimised integrations speak PascalCase (``JobQueue``, ``ContainerOverrides.Environment[].Name``,
results ``JobId``, ``Status``) while boto3 speaks the API's camelCase, so without a conversion
SubmitJob fails parameter validation and the ``.sync`` poller cannot find ``JobId`` in the result.

What: for the Batch integration only, convert request keys PascalCase -> the botocore member names
and response keys -> PascalCase, guided by the botocore shapes of the operation (so the user-keyed
maps ``Parameters`` and ``Tags`` are map shapes whose keys are left untouched). It reuses moto's own
``_to_boto_request`` / ``_from_boto_response`` helpers, which walk the shapes that way.

Pinned to moto 5.2.5 (asserted): a later moto may implement the normalisation itself, and then this
shim must go. Applied by the testing kit around workflow runs; nothing here touches the constructs.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import botocore.session
import moto
from botocore.model import OperationModel
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_aws_sdk as sdk_task,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_batch as batch_task,
)

PINNED_MOTO = "5.2.5"
_Batch = batch_task.StateTaskServiceBatch
#: The SDK integration (``arn:aws:states:::aws-sdk:batch:submitJob``...): moto passes its ``Parameters`` to
#: boto3 as written and returns boto3's answer as it is, while Step Functions takes and returns the SDK
#: integration's fields in PascalCase
#: (https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html). The workflow
#: steps the optimized integration cannot carry (multi-container, EKS, multi-node, fair-share, consumable
#: steps) use it, so the kit converts it too, for Batch only.
_Sdk = sdk_task.StateTaskServiceAwsSdk


@cache
def _operations() -> dict[str, OperationModel]:
    """snake_case operation name -> botocore operation model, for Batch."""
    from botocore import xform_name

    model = botocore.session.get_session().get_service_model("batch")
    return {xform_name(name): model.operation_model(name) for name in model.operation_names}


def _operation(task: Any, service_action_name: str | None) -> OperationModel:
    return _operations()[service_action_name or task._get_boto_service_action()]


def _normalise_parameters(
    self: Any, parameters: dict, boto_service_name: str | None = None, service_action_name: str | None = None
) -> None:
    shape = _operation(self, service_action_name).input_shape
    if shape is not None:
        self._to_boto_request(parameters, shape)


def _normalise_response(
    self: Any, response: Any, boto_service_name: str | None = None, service_action_name: str | None = None
) -> None:
    shape = _operation(self, service_action_name).output_shape
    if shape is not None:
        self._from_boto_response(response, shape)


def _sdk_normaliser(name: str, convert: str, shape: str) -> Any:
    """A replacement for the SDK task's ``name`` that converts Batch operations (``convert`` of the
    operation's ``shape``) and leaves every other service to moto's own method."""
    original = getattr(_Sdk, name)

    def method(
        self: Any, value: Any, boto_service_name: str | None = None, service_action_name: str | None = None
    ) -> None:
        if self._get_boto_service_name() != "batch":
            original(self, value, boto_service_name, service_action_name)
            return
        operation = _operations().get(service_action_name or self._get_boto_service_action())
        model = getattr(operation, shape, None) if operation is not None else None
        if model is not None:
            getattr(self, convert)(value, model)

    return method


_sdk_parameters = _sdk_normaliser("_normalise_parameters", "_to_boto_request", "input_shape")
_sdk_response = _sdk_normaliser("_normalise_response", "_from_boto_response", "output_shape")
_PATCHES = (
    (_Batch, "_normalise_parameters", _normalise_parameters),
    (_Batch, "_normalise_response", _normalise_response),
    (_Sdk, "_normalise_parameters", _sdk_parameters),
    (_Sdk, "_normalise_response", _sdk_response),
)


@contextmanager
def batch_integration_shim(strict: bool = True) -> Iterator[None]:
    """Patch moto's Batch task state for the duration of the block (restored afterwards).

    With another moto than the pinned one: ``strict`` raises; otherwise nothing is patched and a
    warning says workflow runs may fail (moto may have fixed the gap, or moved the code).
    """
    if moto.__version__ != PINNED_MOTO:
        message = (
            f"cdk_batchkit.testing.sfn_shim is written for moto {PINNED_MOTO}, found {moto.__version__}: "
            "check whether moto now normalises optimised-integration keys itself and drop or adapt the shim"
        )
        if strict:
            raise AssertionError(message)
        warnings.warn(message + " (workflow runs may fail)", stacklevel=3)
        yield
        return
    saved = [(cls, name, cls.__dict__.get(name)) for cls, name, _ in _PATCHES]
    for cls, name, method in _PATCHES:
        setattr(cls, name, method)
    try:
        yield
    finally:
        for cls, name, value in saved:
            if value is None:
                delattr(cls, name)
            else:
                setattr(cls, name, value)
