"""The documentation: every Python block of the README and of docs/ runs (tests/doc_blocks.py says how),
the README's layout names what exists, and the site builds with ``mkdocs build --strict``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from tests import doc_blocks
from tests.doc_blocks import PAGES, README, ROOT, Block


def _id(page: Path) -> str:
    return str(page.relative_to(ROOT))


@pytest.fixture
def doc_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``cdk.App()`` in a documentation block writes to a temporary directory and skips the built-in
    CloudFormation validation plugin (the template tests run it on the documented apps)."""
    real_app = cdk.App

    class DocApp(real_app):  # type: ignore[misc, valid-type]
        def __init__(self, **kwargs: Any) -> None:
            kwargs.setdefault("outdir", str(tmp_path / "cdk.out"))
            kwargs.setdefault("builtin_cloud_formation_validation", False)
            super().__init__(**kwargs)

    monkeypatch.setattr(cdk, "App", DocApp)


def test_every_block_is_marked_as_a_known_kind() -> None:
    found = [problem for page in PAGES for problem in doc_blocks.problems(page)]
    assert found == []
    # The harness finds the blocks it runs: the prelude, fragments, files and job code.
    kinds = {b.kind for page in PAGES for b in doc_blocks.python_blocks(page)}
    assert kinds == set(doc_blocks.KINDS)


def test_the_block_parser_sees_indented_blocks_and_markings(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "Intro\n\n```python\nx = 1\n```\n\n- an item:\n\n  <!-- doc-test: job -->\n  ```python\n"
        "  y = 2\n  ```\n\n```sh\nmake\n```\n"
    )
    fragment, job, shell = doc_blocks.blocks(page)
    assert (fragment.kind, fragment.line, fragment.code) == ("fragment", 4, "x = 1\n")
    assert (job.kind, job.line, job.code) == ("job", 11, "y = 2\n")
    assert (shell.lang, shell.kind) == ("sh", "fragment")


FRAGMENT_PAGES = [p for p in PAGES if doc_blocks.of_kind(p, "fragment")]


@pytest.mark.parametrize("page", FRAGMENT_PAGES, ids=_id)
def test_fragments_run_and_synthesize(page: Path, doc_app: None) -> None:
    namespace = doc_blocks.run_fragments(page)
    assembly = namespace["app"].synth()
    assert assembly.get_stack_by_name("Examples").template["Resources"]


JOB_BLOCKS = [b for p in PAGES for b in doc_blocks.of_kind(p, "job")]


@pytest.mark.parametrize("block", JOB_BLOCKS, ids=lambda b: b.where)
def test_job_code_runs_as_a_batch_job_of_one_object(block: Block, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in doc_blocks.JOB_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    namespace: dict[str, Any] = {"__name__": "doc_job"}
    exec(block.compiled(), namespace)


APP_PAGES = [p for p in PAGES if "app.py" in doc_blocks.files(p)]


@pytest.mark.parametrize("page", APP_PAGES, ids=_id)
def test_every_documented_app_is_synthesized(page: Path, doc_app: None) -> None:
    """The apps the template tests synthesize under cdk-nag are checked there; any other runs here."""
    from tests.templates.conftest import DOC_APPS

    if page in DOC_APPS.values():
        return
    exec(compile(doc_blocks.app_source(page), str(page), "exec"), {"__name__": "__main__"})


TEST_PAGES = [p for p in PAGES if any(n.startswith("test_") for n in doc_blocks.files(p))]


@pytest.mark.parametrize("page", TEST_PAGES, ids=_id)
def test_documented_tests_pass_with_the_testing_plugin(page: Path, pytester: pytest.Pytester) -> None:
    """In process (the jsii runtime is already up): a fresh pytest session in a temporary directory
    holding the page's files, with the kit's plugin named (an editable install made before the kit has
    no entry point)."""
    project = doc_blocks.files(page)
    for name, block in project.items():
        if name != "app.py":  # app.py synthesizes when imported; the tests import the stacks' modules
            (pytester.path / name).write_text(block.code)
    tests = [n for n in project if n.startswith("test_")]
    expected = sum(len(re.findall(r"^def test_", project[n].code, re.M)) for n in tests)
    result = pytester.runpytest_inprocess(
        "-p", "cdk_batchkit.testing.plugin", "-p", "no:cacheprovider", *tests
    )
    result.assert_outcomes(passed=expected)


# -- the README's layout ---------------------------------------------------------------------------------


def readme_layout() -> list[list[str]]:
    """The paths the README's Layout section names (first column of its block), line by line."""
    section = README.read_text().split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```text\n(.*?)```", section, re.S)
    return [
        [p.strip() for p in re.split(r"\s{2,}", line, maxsplit=1)[0].split(",")]
        for line in block.splitlines()
        if line and not line.startswith(" ")
    ]


def test_every_path_the_layout_names_exists() -> None:
    paths = [p for line in readme_layout() for p in line]
    assert len(paths) > 10
    missing = [p for p in paths if not (ROOT / p.rstrip("/")).exists()]
    assert missing == []


def _tracked_top_level() -> set[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return {line.split("/", 1)[0] + "/" for line in listed.splitlines() if "/" in line and line[0] != "."}


def test_the_layout_names_every_directory_and_package() -> None:
    named = {p.rstrip("/") for line in readme_layout() for p in line}
    packages = {str(init.parent.relative_to(ROOT)) for init in (ROOT / "cdk_batchkit").glob("*/__init__.py")}
    modules = {
        str(m.relative_to(ROOT)) for m in (ROOT / "cdk_batchkit").glob("*.py") if m.name != "__init__.py"
    }
    directories = {d.rstrip("/") for d in _tracked_top_level()}
    assert {"cdk_batchkit/constructs", "cdk_batchkit/model", "cdk_batchkit/testing"} <= packages
    assert "tests" in directories
    assert sorted((packages | modules | directories) - named) == []


# -- the site ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_site_builds_strict(tmp_path: Path) -> None:
    """``make docs``: broken links, missing anchors and API references that do not resolve fail it."""
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    api = (site / "api" / "constructs" / "index.html").read_text()
    assert 'id="cdk_batchkit.constructs.S3JobSubmitter"' in api
    rules = (site / "rules" / "index.html").read_text()
    assert '<tr id="bk-q1">' in rules  # row anchors the comparison links to
