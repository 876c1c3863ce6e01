"""The wheel ships the whole library, and a user's test of a stack synthesized with the installed wheel
passes outside the repo (the stack bundles the submitter's Lambda code from the wheel)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests import CFN_VALIDATION

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "cdk_batchkit"

pytestmark = pytest.mark.slow

# Local state that must not reach the build: setuptools reuses build/lib, so a module deleted from
# the source would still ship from a stale build/ directory in the repo.
_NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "venv",
    "node_modules",
    "cdk.out",
    "site",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    "*.pyc",
    ".make",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the wheel once per module, from a clean copy of the repo (no stale build/ state)."""
    assert (ROOT / "pyproject.toml").is_file(), f"no pyproject.toml in {ROOT}"
    source = tmp_path_factory.mktemp("source") / "repo"
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCE)
    dist = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(dist),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    wheels = list(dist.glob("cdk_batchkit-*.whl"))
    assert len(wheels) == 1, (wheels, result.stdout[-2000:])
    return wheels[0]


def _source_files() -> set[str]:
    """Files the wheel must contain: every module, py.typed, everything under lambdas/ and model/."""
    files = set()
    for path in PACKAGE.rglob("*"):
        if not path.is_file() or "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        relative = path.relative_to(ROOT)
        if (
            path.suffix == ".py"
            or path.name == "py.typed"
            or relative.parts[:2] in (("cdk_batchkit", "lambdas"), ("cdk_batchkit", "model"))
        ):
            files.add(relative.as_posix())
    return files


def test_wheel_contains_the_packages_and_lambda_code(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "cdk_batchkit/__init__.py",
        "cdk_batchkit/lambdas/__init__.py",
        "cdk_batchkit/constructs/__init__.py",
        "cdk_batchkit/stacks/__init__.py",
        "cdk_batchkit/model/ec2_instance_types.json",
    ):
        assert required in names, f"{required} missing from {wheel.name}"
    missing = _source_files() - names
    assert not missing, f"source files missing from the wheel: {sorted(missing)}"
    strays = sorted(n for n in names if not n.startswith(("cdk_batchkit/", "cdk_batchkit-")))
    assert not strays, f"files outside the package in the wheel: {strays}"


def _dependency_dirs() -> list[str]:
    """The site-packages directories holding aws-cdk-lib and its runtime (without importing them)."""
    dirs: list[str] = []
    for module in ("aws_cdk", "constructs", "jsii"):
        spec = importlib.util.find_spec(module)
        assert spec is not None and spec.origin is not None, f"{module} is not installed"
        directory = str(Path(spec.origin).resolve().parents[1])
        if directory not in dirs:
            dirs.append(directory)
    return dirs


def run_user_test(
    directory: Path, *pytest_args: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run pytest in ``directory`` (outside the repository) on the testing guide's complete test file,
    written there as test_pipeline.py, and whatever else the directory holds."""
    from tests.doc_blocks import DOCS, file_source

    (directory / "test_pipeline.py").write_text(
        file_source(DOCS / "guide" / "testing.md", "test_pipeline.py")
    )
    # CDK_VALIDATION=false: aws-cdk-lib's built-in CloudFormation validation plugin off in that process
    # (same templates; loading it costs a fresh process about 4 s of CPU). What this checks is the wheel
    # and its pytest plugin; tests/templates synthesizes the reference app with the plugin on.
    validation = {} if CFN_VALIDATION else {"CDK_VALIDATION": "false"}
    return subprocess.run(
        [sys.executable, *pytest_args],
        cwd=directory,
        env={**env, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "18,20,21,23", **validation},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_a_users_test_passes_with_the_installed_wheels_pytest_plugin(wheel: Path, tmp_path: Path) -> None:
    """The testing guide's complete test file, and a user's test of the documented app split across
    stacks (the kit builds the whole app, records and checks requests), outside the repo, against the
    unzipped wheel: the fixtures come from the wheel's pytest11 entry point (no -p, no conftest), the
    kit's dependencies from site-packages."""
    from tests.testing.split_app import USER_TESTS, user_test_source

    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
        entry_points = next(n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt"))
        assert (
            "cdk_batchkit.testing.plugin = cdk_batchkit.testing.plugin" in archive.read(entry_points).decode()
        )
    work = tmp_path / "user"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *_dependency_dirs()])}
    env.pop("PYTHONHOME", None)
    # -S: no .pth files, so the repository's editable install is not importable; the wheel comes first.
    # pytest runs as `python -m pytest` would (same sys.path, the plugins from the entry points); then, in
    # the same process, where the modules the run used were loaded from (a second interpreter importing
    # them again would cost ~4 s of CPU to tell the same).
    run_then_probe = (
        "import json, sys, pytest; code = pytest.main(sys.argv[1:]); "
        "import cdk_batchkit.constructs as c, cdk_batchkit.lambdas as l, cdk_batchkit.testing.plugin as p; "
        "print('MODULES ' + json.dumps([c.__file__, l.__file__, p.__file__])); sys.exit(code)"
    )
    (work / "test_split_app.py").write_text(user_test_source())
    result = run_user_test(
        work,
        "-S",
        "-c",
        run_then_probe,
        "-q",
        "-p",
        "no:cacheprovider",
        "test_pipeline.py",
        "test_split_app.py",
        env=env,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert f"{1 + USER_TESTS} passed" in result.stdout
    (modules,) = [line for line in result.stdout.splitlines() if line.startswith("MODULES ")]
    for file in json.loads(modules.removeprefix("MODULES ")):
        path = Path(file).resolve()
        assert path.is_relative_to(site.resolve()) and not path.is_relative_to(ROOT), path


def test_the_dev_extra_carries_every_testing_pin() -> None:
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(extras["testing"]) - set(extras["dev"]) <= {
        pin for pin in extras["testing"] if pin.startswith("moto[")
    }
    moto_dev = next(p for p in extras["dev"] if p.startswith("moto["))
    moto_testing = next(p for p in extras["testing"] if p.startswith("moto["))
    services = lambda pin: set(pin.split("[")[1].split("]")[0].split(","))  # noqa: E731
    assert services(moto_testing) <= services(moto_dev)
    assert moto_testing.split("==")[1] == moto_dev.split("==")[1]
