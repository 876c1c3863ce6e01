"""The documented three-stack app (docs/guide/composition.md): no dependency cycle, cdk-nag and cfn-lint
clean.

That the pinned CLI reads this aws-cdk-lib's assemblies is a property of the two versions, not of the app:
tests/templates/test_reference_app.py::test_pinned_cdk_cli_synthesizes_the_app checks it once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cdk_batchkit import plan

STACKS = ("Platform", "Ingest", "Reports")


@pytest.fixture(scope="module")
def assembly(assemblies) -> Path:
    # Synthesized once per session (tests/templates/conftest.py) under the cdk-nag plugin: synth raises on
    # any unacknowledged finding and on a dependency cycle.
    return assemblies["docs-multi-stack"]


def _template(assembly: Path, name: str) -> dict:
    return json.loads((assembly / f"{name}.template.json").read_text())


def test_three_stacks_are_synthesized(assembly: Path) -> None:
    for name in STACKS:
        assert "Resources" in _template(assembly, name)


def test_dependencies_only_point_at_the_platform(assembly: Path) -> None:
    manifest = json.loads((assembly / "manifest.json").read_text())
    deps = {name: set(manifest["artifacts"][name].get("dependencies", [])) for name in STACKS}
    assert not any(d in STACKS for d in deps["Platform"])
    assert "Platform" in deps["Ingest"] and "Platform" in deps["Reports"]
    # The platform's template imports nothing: grants landed on the team side.
    assert "Fn::ImportValue" not in json.dumps(_template(assembly, "Platform"))


def test_job_role_read_grant_lives_in_the_team_stack(assembly: Path) -> None:
    ingest = _template(assembly, "Ingest")
    policies = [r for r in ingest["Resources"].values() if r["Type"] == "AWS::IAM::Policy"]
    # A policy of the Ingest stack attached to the platform's job role (an imported role name).
    on_platform_role = [
        p for p in policies if "Fn::ImportValue" in json.dumps(p["Properties"].get("Roles", []))
    ]
    assert on_platform_role, "the job role's read grant should be a policy in the Ingest stack"
    actions = json.dumps(
        [s["Action"] for p in on_platform_role for s in p["Properties"]["PolicyDocument"]["Statement"]]
    )
    assert "s3:GetObject" in actions


def test_cross_stack_wildcards_are_acknowledged_as_imported_values(assembly: Path) -> None:
    report = json.loads((assembly / "validation-report.json").read_text())
    (nag,) = [r for r in report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    assert nag["violations"] == []
    imported = [
        v for v in nag["suppressedViolations"] if "IAM5" in v["ruleName"] and "ExportsOutput" in v["ruleName"]
    ]
    # job-definition/NAME:* where NAME comes from the platform stack's export.
    assert any(":job-definition/" in v["ruleName"] for v in imported), [v["ruleName"] for v in imported]
    assert plan.validation_failures(assembly) == []


def test_every_template_is_cfn_lint_clean(assembly: Path) -> None:
    paths = [assembly / f"{name}.template.json" for name in STACKS]
    errors = [f for f in plan.lint(paths) if f.severity == "error"]
    assert errors == [], "\n".join(f"{f.rule_id} {f.location}: {f.message}" for f in errors)


def test_imported_queue_is_fit_checked_with_its_profile(assembly: Path) -> None:
    # The Reports stack submits to the queue by ARN: the ARN arrives as an import.
    reports = json.dumps(_template(assembly, "Reports"))
    assert "Fn::ImportValue" in reports and "batch:SubmitJob" in reports
