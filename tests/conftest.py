"""Shared test set-up: quiet jsii, fake AWS credentials, stack helpers, and what keeps `make test` fast.

Synthesizing is the slow part: modules synthesize a stack once (module-scoped
fixtures) and assert several properties on it. Below: the validation plugin off by default, the
garbage collector tuned, botocore's models and cfn-lint's rules loaded once per process, and the work
units `make test` hands its two workers, slowest first (CONTRIBUTING.md, "Tests").
"""

from __future__ import annotations

import gc
import os
from typing import TYPE_CHECKING

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

import pytest  # noqa: E402

from tests import CFN_VALIDATION  # noqa: E402

if TYPE_CHECKING:
    import aws_cdk as cdk

# CPython's cyclic garbage collector, tuned for this suite's processes. They hold a large long-lived heap
# (aws-cdk-lib's thousands of generated classes, moto's backends, botocore's and cfn-lint's models: some
# 500,000 tracked objects once the tests are collected), and with the default thresholds (700, 10, 10) a
# full collection walks all of it every few hundred thousand allocations: measured, about a third of the
# CPU of the moto-backed modules went to collections that found almost nothing. A larger first threshold
# collects the young objects less often; freezing what collection imported (below) keeps it out of every
# later collection. Cyclic garbage is still collected, later and in larger batches.
gc.set_threshold(20_000, 10, 10)


def pytest_collection_finish(session: pytest.Session) -> None:
    gc.freeze()


def _is_xdist_controller(config: pytest.Config) -> bool:
    """The process that only hands modules to ``-n`` workers: it collects and runs nothing itself."""
    return (
        not hasattr(config, "workerinput")
        and getattr(config.option, "dist", "no") != "no"
        and bool(getattr(config.option, "numprocesses", None))
    )


def pytest_configure(config: pytest.Config) -> None:
    # Not in the xdist controller: importing aws_cdk starts a jsii runtime (a Node process loading
    # aws-cdk-lib), seconds before the workers can start, for a process that builds no app.
    if _is_xdist_controller(config):
        return
    _validation_off_by_default()
    _share_botocore_loaders()
    _share_cfn_lint_rules()


# aws-cdk-lib runs its built-in CloudFormation validation plugin (a WebAssembly rule engine) on every
# app.synth() and Template.from_stack: about two thirds of a synth's CPU and ~350 MiB. The templates are
# the same with it off, and cfn-lint and cdk-nag check them here anyway; so tests build apps with it off
# unless they ask for it (tests/templates synthesizes every reference variant with it on, as `cdk synth`
# runs it). BATCHKIT_TEST_CFN_VALIDATION=true turns it back on everywhere. CDK_VALIDATION=false is not
# used: Node reads it once, for the whole worker, so no test could turn it back on.
def _validation_off_by_default() -> None:
    import aws_cdk as cdk

    app_init = cdk.App.__init__

    def _app_with_validation_off_by_default(self: cdk.App, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("builtin_cloud_formation_validation", CFN_VALIDATION)
        app_init(self, *args, **kwargs)  # type: ignore[arg-type]

    cdk.App.__init__ = _app_with_validation_off_by_default  # type: ignore[method-assign]


def _share_botocore_loaders() -> None:
    """One botocore loader per data path for the whole process.

    moto's ``mock_aws`` gives every test a new default boto3 session, and a new session re-reads and
    re-parses the JSON models of each service it makes a client for: 50-200 ms a client here, against
    2-6 ms for a second client of the same session. The models are read-only data shipped with botocore,
    shared here across sessions as one session shares them across its own clients; the clients, their
    credentials, configuration and moto's patching are still made anew for every test.
    """
    import botocore.loaders
    import botocore.session

    create_loader = botocore.loaders.create_loader
    loaders: dict[str | None, botocore.loaders.Loader] = {}

    def shared_loader(search_path_string: str | None = None) -> botocore.loaders.Loader:
        if search_path_string not in loaders:
            loaders[search_path_string] = create_loader(search_path_string)
        return loaders[search_path_string]

    botocore.session.create_loader = shared_loader  # type: ignore[assignment]


def _share_cfn_lint_rules() -> None:
    """cfn-lint's rule objects built once per rules directory (or module) for the whole process.

    ``cdk_batchkit.plan.lint`` is one cfn-lint run, and every run imports and instantiates its ~340
    rules again, reading their JSON data (0.5 s a call here, against a few ms to lint a small
    template). One cfn-lint run over several templates shares one set of rule objects, configuring
    and initializing each rule again for every template; sharing them across runs is the same. What a
    run is configured with (regions, ignored/included/configured rules, a .cfnlintrc) is still read
    per call: only the rule objects of a given directory or module are kept.
    """
    from cfnlint.rules._rules import Rules

    built: dict[tuple[str, str], Rules] = {}

    def shared(kind: str, create):  # type: ignore[no-untyped-def]
        def build(cls: type[Rules], where: str) -> Rules:
            if (kind, where) not in built:
                built[(kind, where)] = create(where)
            return cls(built[(kind, where)].data)

        return classmethod(build)

    Rules.create_from_directory = shared("directory", Rules.create_from_directory)  # type: ignore[method-assign]
    Rules.create_from_module = shared("module", Rules.create_from_module)  # type: ignore[method-assign]


@pytest.fixture
def stack() -> cdk.Stack:
    from tests.support import new_stack

    return new_stack()


@pytest.fixture(scope="session")
def fresh_rule_registry() -> dict[str, list[str]]:
    """The rule ids registered in a fresh interpreter after ``import cdk_batchkit.model`` alone, then after
    also importing the constructs, then the testing kit (one rule, one place: only the model registers
    rules). One interpreter for the tests that ask (tests/test_rules_table.py and
    tests/unit/test_compute_settings.py, one work unit): starting one costs seconds of CPU."""
    import json
    import subprocess
    import sys

    code = (
        "import json, cdk_batchkit.model as m; alone = sorted(m.RULES); "
        "import cdk_batchkit.constructs; constructs = sorted(m.RULES); "
        "import cdk_batchkit.testing; testing = sorted(m.RULES); "
        "print(json.dumps({'model': alone, 'constructs': constructs, 'testing': testing}))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    registry: dict[str, list[str]] = json.loads(out)
    return registry


# -- how `make test` shares the work between its two workers (pytest-xdist, --dist loadfile) -----------
#
# A work unit goes to one worker whole, so a module's fixtures synthesize once, not once per worker. A unit
# is a module, except that the modules reading the session's reference variants (the `assemblies`
# fixture, tests/templates/conftest.py) form one unit: the variants are synthesized once, and aws-cdk-lib's
# validation plugin (on for them, as `cdk synth` runs it) is loaded by one process; a fresh process pays
# seconds of CPU to load it. The pinned CDK CLI's synth, a subprocess that reads no variant, is a unit of
# its own so that it can run beside them. The two modules reading ``fresh_rule_registry`` are one unit.
TEMPLATE_MODULES = (
    "tests/templates/test_reference_app.py",
    "tests/templates/test_template_checks.py",
    "tests/templates/test_multi_stack.py",
    "tests/templates/test_docs_apps.py",
)
OWN_UNITS = ("tests/templates/test_reference_app.py::test_pinned_cdk_cli_synthesizes_the_app",)
#: The modules reading the session's ``fresh_rule_registry`` (above): one interpreter started for both.
REGISTRY_MODULES = ("tests/test_rules_table.py", "tests/unit/test_compute_settings.py")

#: The slowest units, slowest first (their wall time in a `make test` run, see CONTRIBUTING.md), then
#: every other module in collection order: a worker takes the next unit when it is nearly done with its
#: own, so starting the long ones first leaves only short ones for the end, where one worker would
#: otherwise finish alone.
SLOW_UNITS = (
    "tests/templates",
    "tests/test_packaging.py",
    "tests/test_docs.py",
    "tests/testing/test_demo.py",
    OWN_UNITS[0],
    REGISTRY_MODULES[0],
    "tests/handlers/test_backlog.py",
    "tests/workflows/test_sdk_steps.py",
    "tests/handlers/test_faults.py",
    "tests/workflows/test_executions.py",
    "tests/testing/test_kit.py",
    "tests/unit/test_submitter.py",
    "tests/unit/test_triggers.py",
    "tests/test_plan.py",
)


def work_unit(nodeid: str) -> str:
    """The work unit of a test, by its node id."""
    if nodeid in OWN_UNITS:
        return nodeid
    module = nodeid.split("::", 1)[0]
    if module in TEMPLATE_MODULES:
        return "tests/templates"
    return REGISTRY_MODULES[0] if module in REGISTRY_MODULES else module


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {unit: i for i, unit in enumerate(SLOW_UNITS)}
    # sort is stable: the other modules keep their order
    items.sort(key=lambda item: rank.get(work_unit(item.nodeid), len(rank)))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """``--dist loadfile`` with the work units above, handed out in collection order (xdist would
    otherwise reorder them by their number of tests, which says little about their time)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class WorkUnits(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    config.option.loadscopereorder = False
    return WorkUnits(config, log)  # type: ignore[arg-type]


def _kit_plugin_installed() -> bool:
    """Whether the installed distribution already registers the testing kit's pytest plugin."""
    from importlib.metadata import entry_points

    return any(ep.value == "cdk_batchkit.testing.plugin" for ep in entry_points(group="pytest11"))


# The project's own tests use the testing kit's fixtures (batchkit_aws, batchkit_build...). An
# editable install made before the kit existed has no entry point for it: register it here.
# pytester runs the documentation's test files in a fresh in-process pytest session (tests/test_docs.py).
pytest_plugins = ["pytester"] if _kit_plugin_installed() else ["pytester", "cdk_batchkit.testing.plugin"]
