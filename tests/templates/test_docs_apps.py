"""The README's first stack, synthesized as written under cdk-nag (tests/templates/conftest.py): it submits
to its queue and acknowledges every finding it causes. Its template-wide checks are in
test_template_checks.py, the three-stack app's in test_multi_stack.py."""

from __future__ import annotations

import json
import re
from pathlib import Path


def test_the_first_stack_synthesizes_with_zero_findings(assemblies: dict[str, Path]) -> None:
    assembly = assemblies["docs-pipeline"]
    template = (assembly / "Pipeline.template.json").read_text()
    assert '"batch:SubmitJob"' in template and "AWS::Batch::JobQueue" in template
    report = json.loads((assembly / "validation-report.json").read_text())
    (nag,) = [r for r in report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    assert nag["violations"] == [] and nag["suppressedViolations"]


def test_the_readme_states_the_first_stacks_idle_cost(assemblies: dict[str, Path]) -> None:
    from cdk_batchkit import plan
    from tests.doc_blocks import README

    deploy = README.read_text().split("\n## Deploy\n", 1)[1].split("\n## ", 1)[0]
    (stated,) = re.findall(r"\*\*\$(\d+\.\d\d) a month\*\*", deploy)
    lines = plan.idle_cost(plan.load_templates(assemblies["docs-pipeline"]))
    assert float(stated) == plan.total_monthly(lines)
    alarms = [line for line in lines if line.resource_type == "AWS::CloudWatch::Alarm"]
    assert f"{len(alarms)} alarms" in deploy
