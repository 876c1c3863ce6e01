"""Make moto 5.2.5's Step Functions engine run ``batch:submitJob.sync`` tasks.

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
    state_task_service_batch as batch_task,
)

PINNED_MOTO = "5.2.5"
_Batch = batch_task.StateTaskServiceBatch


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
    saved = {name: _Batch.__dict__.get(name) for name in ("_normalise_parameters", "_normalise_response")}
    _Batch._normalise_parameters = _normalise_parameters  # type: ignore[method-assign]
    _Batch._normalise_response = _normalise_response  # type: ignore[method-assign]
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                delattr(_Batch, name)
            else:
                setattr(_Batch, name, value)
