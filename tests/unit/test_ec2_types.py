"""The EC2 instance type list (cdk_batchkit.model.ec2_types) and the rules built on it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cdk_batchkit.model import ec2_types


def test_the_checked_in_list_matches_the_installed_botocore() -> None:
    # Fails after a botocore upgrade until `python -m cdk_batchkit.model.ec2_types --write` is run.
    assert ec2_types.DATA_FILE.read_text(encoding="utf-8") == ec2_types.render(ec2_types.generate())


def test_check_command_reports_a_stale_list(tmp_path, monkeypatch) -> None:
    stale = tmp_path / "ec2_instance_types.json"
    stale.write_text(ec2_types.render({**ec2_types.generate(), "instance_types": ["c6i.large"]}))
    monkeypatch.setattr(ec2_types, "DATA_FILE", stale)
    assert ec2_types.main(["--check"]) == 1
    assert ec2_types.main(["--write"]) == 0
    assert ec2_types.main(["--check"]) == 0


def test_the_list_is_the_ec2_enum() -> None:
    types = ec2_types.known_types()
    assert len(types) > 1000
    assert {"c6i.4xlarge", "hpc7a.96xlarge", "c7g.medium", "p5.48xlarge"} <= types
    assert {"c6i", "hpc7a", "c7gn", "trn1"} <= ec2_types.known_families()


@pytest.mark.parametrize(
    "name", ["c6i.4xlarge", "c6i", "hpc7a", "hpc7a.96xlarge", "optimal", "default_x86_64", "default_arm64"]
)
def test_accepts_types_families_and_batch_aliases(name: str) -> None:
    assert ec2_types.is_known(name)
    assert ec2_types.instance_type_problem(name) is None


def test_kinds_are_told_apart() -> None:
    assert ec2_types.is_known_type("c6i.4xlarge") and not ec2_types.is_known_type("c6i")
    assert ec2_types.is_known_family("c6i") and not ec2_types.is_known_family("c6i.4xlarge")
    assert ec2_types.is_alias("optimal") and not ec2_types.is_known_family("optimal")
    assert ec2_types.family_of("c6i.4xlarge") == "c6i"


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("c6i.4xlarg", "c6i.4xlarge"),
        ("c6i.4xlarge ", "c6i.4xlarge"),
        ("C6I.4XLARGE", "c6i.4xlarge"),
        ("m7.large", "m7i.large"),
        ("c6x", "c6i"),
        ("default_arm", "default_arm64"),
        ("optimall", "optimal"),
    ],
)
def test_rejects_unknown_names_with_the_closest_known_one(name: str, suggestion: str) -> None:
    assert ec2_types.suggest(name) == suggestion
    problem = ec2_types.instance_type_problem(name)
    assert problem is not None and f"did you mean {suggestion}?" in problem


def test_rejects_names_nothing_is_close_to_without_a_guess() -> None:
    assert ec2_types.suggest("zzz") is None
    assert ec2_types.instance_type_problem("zzz") == (
        "'zzz' is not a known EC2 instance family or Batch alias (the list comes from "
        f"{ec2_types.source()}; a type released after it is missing until cdk-batchkit's botocore pin moves)"
    )


def test_the_model_imports_neither_cdk_nor_botocore() -> None:
    code = (
        "import sys; from cdk_batchkit.model import ec2_types; ec2_types.is_known('c6i'); "
        "sys.exit(any(m.split('.')[0] in ('aws_cdk', 'botocore', 'boto3') for m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
