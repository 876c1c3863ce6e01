"""The handlers' Lambda asset (constructs/_lambda.py): the handler's sources and, with the runtime's Python at
hand, their checked-hash bytecode, which a read-only ``/var/task`` can use as it is; its hash is the
sources'."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cdk_batchkit.constructs import _lambda

SOURCES = sorted(
    p.relative_to(_lambda.LAMBDAS_DIR).as_posix() for p in (_lambda.LAMBDAS_DIR / "submitter").glob("*.py")
)


def files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_the_asset_holds_the_sources_and_their_bytecode(tmp_path: Path) -> None:
    # Compiled here with this interpreter (the suite's Python); at synth, with Python 3.13.
    asset = _lambda.stage_handler("submitter", tmp_path / "a", python=sys.executable)
    tag = sys.implementation.cache_tag
    pycs = [f"submitter/__pycache__/{Path(s).stem}.{tag}.pyc" for s in SOURCES]
    assert files(asset) == sorted(["__init__.py", *SOURCES, *pycs])
    for source in SOURCES:
        assert (asset / source).read_bytes() == (_lambda.LAMBDAS_DIR / source).read_bytes()
    # Checked-hash pycs (PEP 552 flags = 0b11): valid whatever date the zip gives the sources.
    assert all(int.from_bytes((asset / pyc).read_bytes()[4:8], "little") == 0b11 for pyc in pycs)


def test_the_bytecode_is_used_from_a_read_only_asset_dated_1980(tmp_path: Path) -> None:
    asset = _lambda.stage_handler("submitter", tmp_path / "a", python=sys.executable)
    for source in SOURCES:
        os.utime(asset / source, (315532800, 315532800))  # the CDK CLI zips every file as 1980-01-01
    env = {**os.environ, "PYTHONPATH": str(asset), "PYTHONDONTWRITEBYTECODE": "1"}
    verbose = subprocess.run(
        [sys.executable, "-v", "-c", "import submitter.runtime"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    for module in ("runtime", "idempotency", "core", "manifest"):
        assert f"{module}.{sys.implementation.cache_tag}.pyc matches" in verbose, verbose[-2000:]


def test_the_asset_is_the_same_bytes_every_time(tmp_path: Path) -> None:
    first = _lambda.stage_handler("submitter", tmp_path / "a", python=sys.executable)
    second = _lambda.stage_handler("submitter", tmp_path / "b", python=sys.executable)
    assert files(first) == files(second)
    match, mismatch, errors = filecmp.cmpfiles(first, second, files(first), shallow=False)
    assert mismatch == [] and errors == []


def test_by_default_the_asset_carries_bytecode_when_the_runtimes_python_is_at_hand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``auto`` (the default): bytecode when a Python 3.13 is at hand, the sources alone (no error) when
    not; ``off`` never; an unknown value fails naming the variable."""
    assert files(_lambda.stage_handler("submitter", tmp_path / "a", python="")) == ["__init__.py", *SOURCES]
    monkeypatch.delenv(_lambda.BYTECODE_SWITCH, raising=False)
    try:
        for at_hand in (sys.executable, None):
            monkeypatch.setattr(_lambda, "_runtime_interpreter", lambda found=at_hand: found)
            _lambda.runtime_python.cache_clear()
            assert _lambda.runtime_python() == at_hand
        monkeypatch.setattr(_lambda, "_runtime_interpreter", lambda: sys.executable)
        monkeypatch.setenv(_lambda.BYTECODE_SWITCH, "off")
        _lambda.runtime_python.cache_clear()
        assert _lambda.runtime_python() is None
        monkeypatch.setenv(_lambda.BYTECODE_SWITCH, "sometimes")
        _lambda.runtime_python.cache_clear()
        with pytest.raises(RuntimeError, match=r"CDK_BATCHKIT_BYTECODE='sometimes': use auto"):
            _lambda.runtime_python()
    finally:
        _lambda.runtime_python.cache_clear()


def test_the_template_is_the_same_with_or_without_the_bytecode(tmp_path: Path, machine: Machine) -> None:
    """The asset's hash is its sources': a machine that can add the bytecode and one that cannot write the
    same template (neither sees the other's deploy as a change), from differently staged directories."""
    from tests.support import new_stack

    keys, staged = [], []
    for python in (sys.executable, None):
        machine(tmp_path / ("with" if python else "without"), python)
        stack = new_stack(f"Asset{'Bytecode' if python else 'Sources'}")
        handler = _lambda.HandlerFunction(
            stack, "Fn", handler_dir="submitter", description="d", service_name="s", metrics_namespace="n"
        )
        code = stack.resolve(handler.function.node.default_child.code)  # type: ignore[union-attr]
        keys.append(code["s3Key"])
        staged.append(files(_lambda.staged_asset("submitter")))
    assert keys[0] == keys[1]
    assert any(f.endswith(".pyc") for f in staged[0]) and not any(f.endswith(".pyc") for f in staged[1])


Machine = Callable[[Path, "str | None"], list[int]]


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch) -> Iterator[Machine]:
    """``machine(temp, python)``: from now on, a machine whose temporary directory is ``temp`` and whose
    Python 3.13 is ``python``; returns the list its probe appends to each time it runs. The interpreter this
    process found is forgotten again afterwards."""

    def switch_to(temp: Path, python: str | None) -> list[int]:
        probes: list[int] = []

        def probe() -> str | None:
            probes.append(1)
            return python

        temp.mkdir(parents=True, exist_ok=True)
        monkeypatch.setattr(_lambda.tempfile, "tempdir", str(temp))
        monkeypatch.setattr(_lambda, "_runtime_interpreter", probe)
        _lambda.runtime_python.cache_clear()
        return probes

    monkeypatch.delenv(_lambda.BYTECODE_SWITCH, raising=False)
    yield switch_to
    _lambda.runtime_python.cache_clear()


@pytest.mark.parametrize("python", [sys.executable, None], ids=["with-python3.13", "without"])
def test_a_staged_asset_is_reused_by_later_synths_without_asking_for_an_interpreter(
    tmp_path: Path, machine: Machine, python: str | None
) -> None:
    """Asking whether a Python 3.13 is at hand starts one (about 0.1 s of CPU behind a version manager's
    shim): the first synth of these sources on a machine asks, every later process reuses its directory."""
    probes = machine(tmp_path, python)
    first = _lambda.staged_asset("submitter")
    assert probes == [1] and any(f.endswith(".pyc") for f in files(first)) == (python is not None)
    _lambda.runtime_python.cache_clear()  # a new synth process
    assert _lambda.staged_asset("submitter") == first
    assert probes == [1]


def test_the_switch_chooses_among_staged_directories_and_on_compiles_what_auto_did_not(
    tmp_path: Path, machine: Machine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A machine whose first synth found no Python 3.13 keeps its sources-only asset under ``auto``; ``on``
    (after installing one) asks again and compiles; ``off`` takes the sources-only directory again."""
    machine(tmp_path, None)
    sources_only = _lambda.staged_asset("submitter")
    assert sources_only.name.endswith("-sources")
    probes = machine(tmp_path, sys.executable)  # Python 3.13 installed since
    assert _lambda.staged_asset("submitter") == sources_only and probes == []
    monkeypatch.setenv(_lambda.BYTECODE_SWITCH, "on")
    with_bytecode = _lambda.staged_asset("submitter")
    assert with_bytecode.name.endswith("-bytecode") and probes == [1]
    assert any(f.endswith(".pyc") for f in files(with_bytecode))
    monkeypatch.setenv(_lambda.BYTECODE_SWITCH, "auto")
    assert _lambda.staged_asset("submitter") == with_bytecode
    monkeypatch.setenv(_lambda.BYTECODE_SWITCH, "off")
    assert _lambda.staged_asset("submitter") == sources_only and probes == [1]


def test_asking_for_bytecode_without_the_runtimes_python_fails_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(_lambda.BYTECODE_SWITCH, "on")
    monkeypatch.setattr(_lambda, "_runtime_interpreter", lambda: None)
    _lambda.runtime_python.cache_clear()
    try:
        with pytest.raises(RuntimeError, match=r"CDK_BATCHKIT_BYTECODE=on .*python3\.13"):
            _lambda.runtime_python()
    finally:
        _lambda.runtime_python.cache_clear()


def test_the_staged_asset_is_reused_for_the_same_sources() -> None:
    assert _lambda.staged_asset("submitter") == _lambda.staged_asset("submitter")
    assert "__init__.py" in files(_lambda.staged_asset("submitter"))
