"""The README's examples run as written: the composition (under the cdk-nag plugin) and the user test."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_example_synthesizes_with_zero_findings(tmp_path, monkeypatch):
    (example,) = [
        b for b in re.findall(r"```python\n(.*?)```", README.read_text(), re.S) if "class Pipeline" in b
    ]
    real_app = cdk.App

    def app_with_nag(*args, **kwargs):
        app = real_app(outdir=str(tmp_path))
        cdk.Validations.of(app).add_plugins(
            AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True)
        )
        return app

    monkeypatch.setattr(cdk, "App", app_with_nag)
    exec(compile(example, str(README), "exec"), {"__name__": "readme"})
    template = (tmp_path / "Pipeline.template.json").read_text()
    assert '"batch:SubmitJob"' in template and "AWS::Batch::JobQueue" in template


def readme_user_test() -> str:
    """The "Test your code" example: a complete user test file."""
    (example,) = [
        b
        for b in re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
        if "def test_each_upload_becomes_a_job_that_reads_its_object" in b
    ]
    return example


def run_user_test(
    directory: Path, *pytest_args: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run the README's test file with pytest in ``directory`` (outside the repository)."""
    (directory / "test_pipeline.py").write_text(readme_user_test())
    return subprocess.run(
        [sys.executable, *pytest_args],
        cwd=directory,
        env={**env, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "18,20,21,23"},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_readme_user_test_passes_with_the_testing_plugin(pytester):
    """In process (the jsii runtime is already up): a fresh pytest session in a temporary directory,
    with the kit's plugin named (an editable install made before the kit has no entry point)."""
    pytester.makepyfile(test_pipeline=readme_user_test())
    result = pytester.runpytest_inprocess("-p", "cdk_batchkit.testing.plugin", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
