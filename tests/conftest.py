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

# aws-cdk-lib runs its built-in CloudFormation validation plugin (a WebAssembly rule engine) on every
# app.synth() and Template.from_stack: about two thirds of a synth's CPU and ~350 MiB. The templates are
# the same with it off, and cfn-lint and cdk-nag check them here anyway; so tests build apps with it off
# unless they ask for it (tests/templates synthesizes every reference variant with it on, as `cdk synth`
# runs it). BATCHKIT_TEST_CFN_VALIDATION=true turns it back on everywhere. CDK_VALIDATION=false is not
# used: Node reads it once, for the whole worker, so no test could turn it back on.
_CFN_VALIDATION = os.environ.get("BATCHKIT_TEST_CFN_VALIDATION", "false").lower() == "true"
_app_init = cdk.App.__init__


def _app_with_validation_off_by_default(self: cdk.App, *args: object, **kwargs: object) -> None:
    kwargs.setdefault("builtin_cloud_formation_validation", _CFN_VALIDATION)
    _app_init(self, *args, **kwargs)  # type: ignore[arg-type]


cdk.App.__init__ = _app_with_validation_off_by_default  # type: ignore[method-assign]

from tests.support import new_stack  # noqa: E402


@pytest.fixture
def stack() -> cdk.Stack:
    return new_stack()


#: The modules whose tests take longest (module fixtures that synthesize several apps, cfn-lint, the CDK
#: CLI, a wheel build; measured with ``--durations``), run first: ``make test`` hands whole modules to its
#: two workers (``--dist loadfile``, so a module's fixture synthesizes once, not once per worker), and a
#: slow module started last would leave one worker finishing it alone.
SLOW_MODULES = (
    "tests/templates/test_reference_app.py",
    "tests/unit/test_encryption.py",
    "tests/test_packaging.py",
    "tests/templates/test_multi_stack.py",
    "tests/testing/test_demo.py",
    "tests/testing/test_kit.py",
    "tests/unit/test_monitoring.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {module: i for i, module in enumerate(SLOW_MODULES)}
    # sort is stable: the other modules keep their order
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


def _kit_plugin_installed() -> bool:
    """Whether the installed distribution already registers the testing kit's pytest plugin."""
    from importlib.metadata import entry_points

    return any(ep.value == "cdk_batchkit.testing.plugin" for ep in entry_points(group="pytest11"))


# The project's own tests use the testing kit's fixtures (batchkit_aws, batchkit_build...). An
# editable install made before the kit existed has no entry point for it: register it here.
# pytester runs the documentation's test files in a fresh in-process pytest session (tests/test_docs.py).
pytest_plugins = ["pytester"] if _kit_plugin_installed() else ["pytester", "cdk_batchkit.testing.plugin"]
