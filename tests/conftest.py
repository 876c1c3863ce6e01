"""Shared test set-up: quiet jsii, fake AWS credentials, and stack helpers.

Synthesizing is the slow part: modules synthesize a stack once (module-scoped
fixtures) and assert several properties on it.
"""

from __future__ import annotations

import os

# Before anything creates a boto3 client or starts jsii.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20,21,23")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
for key, value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}.items():
    os.environ[key] = value
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("CDK_DEFAULT_ACCOUNT", None)

import aws_cdk as cdk  # noqa: E402
import pytest  # noqa: E402

from tests.support import new_stack  # noqa: E402


@pytest.fixture
def stack() -> cdk.Stack:
    return new_stack()


def _kit_plugin_installed() -> bool:
    """Whether the installed distribution already registers the testing kit's pytest plugin."""
    from importlib.metadata import entry_points

    return any(ep.value == "cdk_batchkit.testing.plugin" for ep in entry_points(group="pytest11"))


# The project's own tests use the testing kit's fixtures (batchkit_aws, batchkit_build...). An
# editable install made before the kit existed has no entry point for it: register it here.
# pytester runs the documentation's test files in a fresh in-process pytest session (tests/test_docs.py).
pytest_plugins = ["pytester"] if _kit_plugin_installed() else ["pytester", "cdk_batchkit.testing.plugin"]
