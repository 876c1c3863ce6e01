"""Lambda entry point: scheduled backlog metrics and per-job run time (logic in ``core``)."""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools import Logger
from botocore.config import Config

from . import core

logger = Logger()
_client: Any = None


def batch_client() -> Any:
    """The Batch client, created on first use (tests replace it with :func:`set_client`)."""
    global _client
    if _client is None:
        _client = boto3.client("batch", config=Config(retries={"mode": "adaptive", "max_attempts": 8}))
    return _client


def set_client(client: Any) -> None:
    global _client
    _client = client


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return core.handle(event, settings=core.Settings.from_env(), client=batch_client)
