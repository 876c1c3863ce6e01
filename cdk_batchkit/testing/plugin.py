"""The pytest plugin of ``cdk-batchkit[testing]`` (entry point ``pytest11``): fixtures, no imports.

``batchkit_aws``
    moto (``mock_aws``) for one test: fake credentials, Batch without Docker, executed state machines.
``batchkit_stack``
    What to build: override it in your ``conftest.py`` and return a ``cdk.App`` (every stack of the app,
    with their exports, imports and nested stacks), a ``cdk.Stack`` (with the stacks it imports from) or a
    ``cdk.out`` path. Give it ``scope="module"`` (or session) so the app is synthesized once.
``batchkit_world``
    The :class:`cdk_batchkit.testing.World` built from ``batchkit_stack`` inside ``batchkit_aws``.
``batchkit_build``
    ``batchkit_build(source, stack=None, **options) -> World`` for tests that build their own worlds
    (each inside the same ``batchkit_aws``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest


@pytest.fixture
def batchkit_aws() -> Iterator[None]:
    """moto for one test, configured for the kit (see :func:`cdk_batchkit.testing.mock_environment`)."""
    from cdk_batchkit.testing.server import mock_environment

    with mock_environment():
        yield


@pytest.fixture(scope="module")
def batchkit_stack() -> Any:
    """Override in your conftest.py: return your ``cdk.App``, ``cdk.Stack`` or ``cdk.out`` path."""
    raise pytest.UsageError(
        "batchkit_world needs to know what to build: define a fixture named batchkit_stack in your "
        "conftest.py that returns your cdk.Stack, cdk.App or cdk.out directory"
    )


@pytest.fixture
def batchkit_build(batchkit_aws: None) -> Callable[..., Any]:
    """A function building a :class:`~cdk_batchkit.testing.World` from a stack, app or cdk.out path."""
    from cdk_batchkit.testing import build_world

    return build_world


@pytest.fixture
def batchkit_world(batchkit_build: Callable[..., Any], batchkit_stack: Any) -> Any:
    """The stack of ``batchkit_stack``, built in moto."""
    return batchkit_build(batchkit_stack)
