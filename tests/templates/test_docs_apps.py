"""The README's first stack, synthesized as written under cdk-nag (tests/templates/conftest.py): it submits
to its queue and acknowledges every finding it causes. Its template-wide checks are in
test_template_checks.py, the three-stack app's in test_multi_stack.py."""

from __future__ import annotations

import json
from pathlib import Path


def test_the_first_stack_synthesizes_with_zero_findings(assemblies: dict[str, Path]) -> None:
    assembly = assemblies["docs-pipeline"]
    template = (assembly / "Pipeline.template.json").read_text()
    assert '"batch:SubmitJob"' in template and "AWS::Batch::JobQueue" in template
    report = json.loads((assembly / "validation-report.json").read_text())
    (nag,) = [r for r in report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    assert nag["violations"] == [] and nag["suppressedViolations"]
