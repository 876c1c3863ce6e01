from __future__ import annotations

from collections.abc import Iterator

import botocore.retries.bucket
import botocore.retries.standard
import pytest
from moto import mock_aws

from tests.handlers.support import World, build_world


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws(config={"batch": {"use_docker": False}}):
        yield build_world()


@pytest.fixture
def no_retry_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore still retries, without waiting between attempts (nor for adaptive mode's rate limiter)."""
    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)
    monkeypatch.setattr(
        botocore.retries.bucket.TokenBucket, "acquire", lambda self, amount=1, block=True: True
    )
