"""The README's composition example runs as written (under the cdk-nag plugin)."""

from __future__ import annotations

import re
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
