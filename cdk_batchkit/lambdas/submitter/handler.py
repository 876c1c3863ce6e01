"""Lambda entry point (``submitter.handler.handler``): SQS batch of S3 events -> AWS Batch jobs.

Logger and Metrics come from Powertools (configured by POWERTOOLS_* variables); the work is done by
:class:`.runtime.Submitter`, built on the first invocation from the environment (see :mod:`.config`).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics

from .runtime import Submitter, build_submitter

logger = Logger()
metrics = Metrics()
_state: dict[str, Submitter] = {}


def submitter() -> Submitter:
    """The submitter of this execution environment (tests may ``use()`` their own)."""
    if "submitter" not in _state:
        _state["submitter"] = build_submitter(logger=logger, metrics=metrics)
    return _state["submitter"]


def use(instance: Submitter | None) -> None:
    """Replace (or, with None, forget) the submitter: for tests with injected clients."""
    _state.pop("submitter", None)
    if instance is not None:
        _state["submitter"] = instance


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return submitter().handle(event, context)
