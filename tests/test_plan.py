"""Tests for cdk_batchkit.plan on small handcrafted templates (no CDK synth)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cdk_batchkit import plan
from cdk_batchkit.plan import (
    CostLine,
    Template,
    acknowledgements,
    compute_notes,
    idle_cost,
    lint,
    load_templates,
    main,
    resources_by_type,
    total_by_type,
    total_monthly,
    validation_failures,
)

FIXTURES = Path(__file__).parent / "fixtures" / "plan"
ROOT = Path(__file__).resolve().parents[1]
SUBNET = "subnet-0123456789abcdef0"


def template(resources: dict[str, Any], stack: str = "Stack") -> Template:
    return Template(stack=stack, path=Path(f"{stack}.template.json"), body={"Resources": resources})


def costs(*resources: dict[str, Any]) -> list[CostLine]:
    return idle_cost([template({f"R{i}": r for i, r in enumerate(resources)})])


def only_cost(resource: dict[str, Any]) -> CostLine:
    lines = costs(resource)
    assert len(lines) == 1, lines
    return lines[0]


def batch_ce(compute_type: Any, min_vcpus: Any, ce_type: str = "MANAGED") -> dict[str, Any]:
    return {
        "Type": "AWS::Batch::ComputeEnvironment",
        "Properties": {
            "Type": ce_type,
            "ComputeResources": {
                "Type": compute_type,
                "MinvCpus": min_vcpus,
                "MaxvCpus": 256,
                "Subnets": [SUBNET],
                "SecurityGroupIds": ["sg-0123456789abcdef0"],
            },
        },
    }


def endpoint(endpoint_type: str | None, subnets: Any = None) -> dict[str, Any]:
    props: dict[str, Any] = {"ServiceName": "com.amazonaws.us-east-1.ecr.api", "VpcId": {"Ref": "Vpc"}}
    if endpoint_type is not None:
        props["VpcEndpointType"] = endpoint_type
    if subnets is not None:
        props["SubnetIds"] = subnets
    return {"Type": "AWS::EC2::VPCEndpoint", "Properties": props}


def assembly(tmp_path: Path, *fixtures: str) -> Path:
    out = tmp_path / "cdk.out"
    out.mkdir()
    for name in fixtures:
        shutil.copy(FIXTURES / name, out / name)
    return out


def write_template(directory: Path, name: str, resources: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.template.json"
    path.write_text(json.dumps({"Resources": resources}))
    return path


# ---- idle cost ------------------------------------------------------------------------------------------


def test_nat_gateway_costs_32_85_per_month() -> None:
    line = only_cost({"Type": "AWS::EC2::NatGateway", "Properties": {"SubnetId": {"Ref": "Public"}}})
    assert line.monthly_usd == pytest.approx(32.85)
    assert line.resource_type == "AWS::EC2::NatGateway"
    assert total_monthly([line]) == pytest.approx(32.85)


def test_interface_endpoint_costs_per_subnet() -> None:
    two = only_cost(endpoint("Interface", [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}]))
    three = only_cost(endpoint("Interface", ["subnet-1", "subnet-2", "subnet-3"]))
    assert two.monthly_usd == pytest.approx(2 * 7.30)
    assert three.monthly_usd == pytest.approx(3 * 7.30)
    assert "ecr.api" in two.why


@pytest.mark.parametrize("endpoint_type", ["Gateway", None], ids=["explicit", "default-type"])
def test_gateway_endpoint_is_free(endpoint_type: str | None) -> None:
    assert costs(endpoint(endpoint_type)) == []
    # ...while the same endpoint as Interface is not: the test would notice a free-for-all.
    assert costs(endpoint("Interface", ["subnet-1"]))


@pytest.mark.parametrize("compute_type", ["FARGATE", "FARGATE_SPOT"])
def test_fargate_compute_environment_min_vcpus_is_ignored(compute_type: str) -> None:
    assert costs(batch_ce(compute_type, 4)) == []


def test_ec2_compute_environment_min_vcpus_is_costed() -> None:
    line = only_cost(batch_ce("EC2", 4))
    assert line.monthly_usd == pytest.approx(4 * 0.048 * 730)
    assert "MinvCpus=4" in line.why
    # CDK's L2 renders the environment type in lower case ("managed").
    assert only_cost(batch_ce("EC2", 4, ce_type="managed")).monthly_usd == pytest.approx(4 * 0.048 * 730)


def test_ec2_compute_environment_scaled_to_zero_is_free() -> None:
    assert costs(batch_ce("EC2", 0)) == []
    assert costs(batch_ce("EC2", 4, ce_type="UNMANAGED")) == []


def test_spot_is_cheaper_than_on_demand() -> None:
    on_demand = only_cost(batch_ce("EC2", 4)).monthly_usd
    spot = only_cost(batch_ce("SPOT", 4)).monthly_usd
    assert on_demand is not None and spot is not None
    assert 0 < spot < on_demand
    assert spot == pytest.approx(on_demand * 0.35)


def lambda_resources(memory: Any, executions: Any, architectures: list[str] | None = None) -> dict[str, Any]:
    function_props: dict[str, Any] = {"Code": {"ZipFile": "x"}, "Role": "arn", "Runtime": "python3.12"}
    if memory is not None:
        function_props["MemorySize"] = memory
    if architectures:
        function_props["Architectures"] = architectures
    return {
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": function_props},
        "Live": {
            "Type": "AWS::Lambda::Alias",
            "Properties": {
                "FunctionName": {"Ref": "Fn"},
                "FunctionVersion": "1",
                "Name": "live",
                "ProvisionedConcurrencyConfig": {"ProvisionedConcurrentExecutions": executions},
            },
        },
    }


def test_lambda_provisioned_concurrency_is_costed_from_function_memory() -> None:
    [line] = idle_cost([template(lambda_resources(1024, 2))])
    assert line.logical_id == "Live"
    one_gb = 2 * 1.0 * 0.0000041667 * 3600 * 730
    assert line.monthly_usd == pytest.approx(one_gb)
    [default_memory] = idle_cost([template(lambda_resources(None, 2))])
    assert default_memory.monthly_usd == pytest.approx(one_gb / 8)  # 128 MB default
    [arm] = idle_cost([template(lambda_resources(1024, 2, ["arm64"]))])
    assert arm.monthly_usd is not None and arm.monthly_usd < one_gb


def test_alias_without_provisioned_concurrency_is_free() -> None:
    resources = lambda_resources(1024, 2)
    del resources["Live"]["Properties"]["ProvisionedConcurrencyConfig"]
    assert idle_cost([template(resources)]) == []


def test_dynamodb_provisioned_table_is_costed_and_on_demand_is_free() -> None:
    provisioned = {
        "Type": "AWS::DynamoDB::Table",
        "Properties": {
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
            "GlobalSecondaryIndexes": [
                {"IndexName": "g", "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}
            ],
        },
    }
    line = only_cost(provisioned)  # BillingMode omitted: CloudFormation's default is PROVISIONED
    assert line.monthly_usd == pytest.approx((6 * 0.00013 + 6 * 0.00065) * 730)
    on_demand = {"Type": "AWS::DynamoDB::Table", "Properties": {"BillingMode": "PAY_PER_REQUEST"}}
    assert costs(on_demand) == []


@pytest.mark.parametrize(
    ("resource_type", "monthly"),
    [
        ("AWS::EC2::EIP", 3.65),
        ("AWS::KMS::Key", 1.00),
        ("AWS::CloudWatch::Dashboard", 3.00),
        ("AWS::CloudWatch::Alarm", 0.10),
        ("AWS::SecretsManager::Secret", 0.40),
    ],
)
def test_fixed_monthly_prices(resource_type: str, monthly: float) -> None:
    assert only_cost({"Type": resource_type, "Properties": {}}).monthly_usd == pytest.approx(monthly)


def test_ec2_instance_is_flagged_always_on_with_a_rough_figure() -> None:
    line = only_cost({"Type": "AWS::EC2::Instance", "Properties": {"InstanceType": "t3.micro"}})
    assert "price depends on type" in line.why
    assert line.monthly_usd == pytest.approx(0.0104 * 730)
    big = only_cost({"Type": "AWS::EC2::Instance", "Properties": {"InstanceType": "c6a.4xlarge"}})
    assert big.monthly_usd == pytest.approx(16 * 0.048 * 730)


@pytest.mark.parametrize(
    "resource",
    [
        batch_ce("EC2", {"Ref": "MinVcpus"}),
        batch_ce({"Fn::If": ["UseSpot", "SPOT", "EC2"]}, 4),
        {
            "Type": "AWS::Batch::ComputeEnvironment",
            "Properties": {"Type": "MANAGED", "ComputeResources": {"Ref": "X"}},
        },
        endpoint("Interface", {"Ref": "SubnetList"}),
        endpoint("Interface", {"Fn::Split": [",", {"Ref": "Subnets"}]}),
        {"Type": "AWS::EC2::VPCEndpoint", "Properties": {"VpcEndpointType": {"Ref": "EndpointType"}}},
        {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "ProvisionedThroughput": {"ReadCapacityUnits": {"Ref": "Rcu"}, "WriteCapacityUnits": 1}
            },
        },
        {"Type": "AWS::DynamoDB::Table", "Properties": {"BillingMode": {"Ref": "Mode"}}},
        {"Type": "AWS::EC2::Instance", "Properties": {"InstanceType": {"Ref": "InstanceType"}}},
        {
            "Type": "AWS::Lambda::Alias",
            "Properties": {"ProvisionedConcurrencyConfig": {"ProvisionedConcurrentExecutions": {"Ref": "N"}}},
        },
        {
            "Type": "AWS::Lambda::Version",
            "Properties": {
                "FunctionName": "by-name",
                "ProvisionedConcurrencyConfig": {"ProvisionedConcurrentExecutions": 1},
            },
        },
        {"Type": "AWS::RDS::DBInstance", "Properties": {"DBInstanceClass": "db.t3.micro"}},
    ],
    ids=[
        "ce-min-vcpus-ref",
        "ce-type-if",
        "ce-compute-resources-ref",
        "endpoint-subnets-ref",
        "endpoint-subnets-split",
        "endpoint-type-ref",
        "dynamodb-rcu-ref",
        "dynamodb-billing-ref",
        "instance-type-ref",
        "alias-concurrency-ref",
        "version-function-by-name",
        "not-modelled-database",
    ],
)
def test_unresolved_values_give_an_unknown_line(resource: dict[str, Any]) -> None:
    line = only_cost(resource)
    assert line.monthly_usd is None
    assert "unknown, check by hand" in line.why
    assert total_monthly([line]) == 0


def test_cli_reports_unknown_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cdk.out"
    out.mkdir()
    (out / "Unknown.template.json").write_text(
        json.dumps(
            {
                "Parameters": {"MinVcpus": {"Type": "Number", "Default": 0}},
                "Resources": {"Ce": batch_ce("EC2", {"Ref": "MinVcpus"})},
            }
        )
    )
    main([str(out)])
    printed = capsys.readouterr().out
    assert "1 item(s) unknown, check by hand" in printed
    assert "everything is pay-per-use" not in printed


def test_zero_cost_template_reports_zero_total(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = assembly(tmp_path, "valid.template.json")
    assert idle_cost(load_templates(out)) == []
    assert main([str(out)]) == 0
    assert "Idle monthly cost: $0.00 - everything is pay-per-use" in capsys.readouterr().out


def test_cli_prints_cost_lines_and_total(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cdk.out"
    write_template(
        out,
        "Network",
        {
            "Nat": {
                "Type": "AWS::EC2::NatGateway",
                "Properties": {"SubnetId": SUBNET, "AllocationId": "eipalloc-0123456789abcdef0"},
            },
            "Ce": batch_ce("SPOT", 2),
        },
    )
    assert main([str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Nat" in printed and "AWS::EC2::NatGateway" in printed and "32.85" in printed
    expected = 32.85 + 2 * 0.048 * 0.35 * 730
    assert f"Idle monthly cost: ${expected:.2f} (approximate)" in printed
    assert "everything is pay-per-use" not in printed


def test_condition_is_shown() -> None:
    line = only_cost({"Type": "AWS::EC2::NatGateway", "Condition": "WantNat", "Properties": {}})
    assert "only if condition WantNat" in line.why


# ---- resources by type ----------------------------------------------------------------------------------


def test_resources_by_type_counts_per_stack_and_total() -> None:
    queue = {"Type": "AWS::SQS::Queue"}
    counts = resources_by_type(
        [
            template({"A": queue, "B": queue, "C": {"Type": "AWS::S3::Bucket"}}, stack="One"),
            template({"A": queue, "Ce": batch_ce("FARGATE", 0)}, stack="Two"),
        ]
    )
    assert counts["One"] == {"AWS::SQS::Queue": 2, "AWS::S3::Bucket": 1}
    assert counts["Two"] == {"AWS::SQS::Queue": 1, "AWS::Batch::ComputeEnvironment": 1}
    assert total_by_type(counts) == {
        "AWS::SQS::Queue": 3,
        "AWS::S3::Bucket": 1,
        "AWS::Batch::ComputeEnvironment": 1,
    }


def test_cli_prints_resource_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = assembly(tmp_path, "valid.template.json")
    main([str(out)])
    rows = {
        line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines() if "AWS::" in line
    }
    assert rows["AWS::SQS::Queue"] == ["1", "1"]
    assert rows["AWS::S3::Bucket"] == ["1", "1"]


# ---- loading --------------------------------------------------------------------------------------------


def test_load_templates_finds_stage_assemblies() -> None:
    templates = load_templates(FIXTURES / "staged")
    assert sorted(t.stack for t in templates) == ["Prod/Inner", "Top"]
    inner = next(t for t in templates if t.stack == "Prod/Inner")
    assert inner.path.parent.name == "assembly-Prod"
    assert "Queue4A7E3555" in inner.resources


def test_load_templates_of_missing_or_empty_directory(tmp_path: Path) -> None:
    assert load_templates(tmp_path / "missing") == []
    assert load_templates(tmp_path) == []


def test_invalid_json_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "Broken.template.json").write_text("{not json")
    with pytest.raises(plan.PlanError, match=r"Broken\.template\.json"):
        load_templates(tmp_path)
    assert main([str(tmp_path)]) == 1
    assert "Broken.template.json" in capsys.readouterr().err


# ---- security findings ----------------------------------------------------------------------------------


def test_acknowledgements_parsed_from_cdk_nag_metadata() -> None:
    acks = acknowledgements(load_templates(FIXTURES / "acknowledged"))
    by_rule = {(a.rule, a.where): a.reason for a in acks}
    assert by_rule[("AwsSolutions-S1", "Bucket83908E77")] == "Access logs not needed for test bucket."
    assert by_rule[("AwsSolutions-IAM5[Action::s3:*]", "UserDefaultPolicy1F97781E")] == "Test wildcard."
    assert by_rule[("AwsSolutions-IAM5[Resource::*]", "UserDefaultPolicy1F97781E")] == ""
    assert {a.rule for a in acks} == {
        "AwsSolutions-S1",
        "AwsSolutions-SQS3",
        "AwsSolutions-IAM5[Action::s3:*]",
        "AwsSolutions-IAM5[Resource::*]",
    }


def test_acknowledgement_v2_applies_to_and_prefixed_ids() -> None:
    metadata = {
        "cdk_nag": {
            "rules_to_suppress": [
                {
                    "id": "AwsSolutions-IAM5",
                    "reason": "scoped",
                    "applies_to": ["Resource::*", "Action::s3:*"],
                },
                {"id": "AwsSolutions::AwsSolutions-SQS3", "reason": "no DLQ"},
            ]
        }
    }
    acks = acknowledgements([template({"Role": {"Type": "AWS::IAM::Role", "Metadata": metadata}})])
    assert sorted(a.rule for a in acks) == [
        "AwsSolutions-IAM5[Action::s3:*]",
        "AwsSolutions-IAM5[Resource::*]",
        "AwsSolutions-SQS3",
    ]
    assert all(a.where == "Role" for a in acks)


def test_acknowledgements_of_stage_stacks_come_from_assembly_metadata() -> None:
    acks = acknowledgements(load_templates(FIXTURES / "staged"))
    stage = [a for a in acks if a.stack == "Prod/Inner"]
    assert [(a.rule, a.where, a.reason) for a in stage] == [
        ("AwsSolutions-SQS3", "/Prod/Inner/Queue", "plain in stage")
    ]
    top = [a for a in acks if a.stack == "Top"]
    # Top has the same acknowledgement in resource metadata and assembly metadata: counted once per resource.
    assert sorted(a.where for a in top) == ["Q23A7FF710", "Q2PolicyFE7E73FC"]


def test_empty_reason_fails_the_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(FIXTURES / "acknowledged")]) == 1
    printed = capsys.readouterr().out
    assert "AwsSolutions-IAM5[Resource::*] acknowledged without a reason" in printed
    assert "Test wildcard." in printed  # reasons are listed per rule id

    def with_reason(reason: str) -> Path:
        out = tmp_path / f"out-{len(reason)}"
        metadata = {"cdk_nag": {"rules_to_suppress": [{"id": "AwsSolutions-SQS3", "reason": reason}]}}
        write_template(out, "Stack", {"Queue": {"Type": "AWS::SQS::Queue", "Metadata": metadata}})
        return out

    assert main([str(with_reason("  "))]) == 1
    assert main([str(with_reason("Consumers retry on their side."))]) == 0


def test_empty_reason_in_assembly_metadata_fails_the_plan(tmp_path: Path) -> None:
    out = tmp_path / "cdk.out"
    shutil.copytree(FIXTURES / "staged", out)
    metadata_file = out / "assembly-Prod" / "ProdInner6AE3BBF4.metadata.json"
    assert main([str(out)]) == 0
    metadata = json.loads(metadata_file.read_text())
    metadata["/Prod/Inner/Queue"][0]["data"] = {"Annotation::AwsSolutions-SQS3": ""}
    metadata_file.write_text(json.dumps(metadata))
    assert main([str(out)]) == 1


def test_validation_report_violations_fail_the_plan(capsys: pytest.CaptureFixture[str]) -> None:
    failures = validation_failures(FIXTURES / "nag-failure")
    assert {f.rule_id for f in failures} == {
        "AwsSolutions-S1",
        "AwsSolutions-SQS3",
        "AwsSolutions-IAM5[Action::s3:*]",
        "AwsSolutions-IAM5[Resource::*]",
    }
    assert main([str(FIXTURES / "nag-failure")]) == 1
    printed = capsys.readouterr().out
    assert "4 unacknowledged finding(s)" in printed
    assert "AwsSolutions-S1 at Tiny/Bucket/Resource" in printed


def test_plan_notes_key_pairs_and_custom_images() -> None:
    env = {
        "Type": "AWS::Batch::ComputeEnvironment",
        "Properties": {
            "Type": "managed",
            "ComputeResources": {
                "Type": "EC2",
                "MaxvCpus": 4,
                "Ec2KeyPair": "ops-key",
                "Ec2Configuration": [{"ImageType": "ECS_AL2023", "ImageIdOverride": "ami-0123456789abcdef0"}],
                "LaunchTemplate": {"LaunchTemplateId": "lt-0123456789abcdef0", "Version": "3"},
            },
        },
    }
    plain = {
        "Type": "AWS::Batch::ComputeEnvironment",
        "Properties": {"ComputeResources": {"Type": "FARGATE"}},
    }
    notes = compute_notes([template({"Env": env, "Plain": plain})])
    assert len(notes) == 3
    assert "Stack/Env: EC2 key pair ops-key" in notes[0]
    assert "custom AMI ami-0123456789abcdef0" in notes[1]
    assert "lt-0123456789abcdef0 is defined outside this stack" in notes[2]


def test_plan_notes_privileged_containers_and_host_network_pods() -> None:
    ecs_job = {
        "Type": "AWS::Batch::JobDefinition",
        "Properties": {
            "EcsProperties": {
                "TaskProperties": [{"Containers": [{"Name": "a"}, {"Name": "b", "Privileged": True}]}]
            }
        },
    }
    eks_job = {
        "Type": "AWS::Batch::JobDefinition",
        "Properties": {
            "EksProperties": {
                "PodProperties": {
                    "HostNetwork": True,
                    "Containers": [{"SecurityContext": {"Privileged": False}}],
                }
            }
        },
    }
    plain = {
        "Type": "AWS::Batch::JobDefinition",
        "Properties": {"ContainerProperties": {"Privileged": False}},
    }
    notes = compute_notes([template({"Ecs": ecs_job, "Eks": eks_job, "Plain": plain})])
    assert notes == [
        "Stack/Ecs: privileged container (root on the host), opted in at "
        "EcsProperties.TaskProperties[0].Containers[1].Privileged",
        "Stack/Eks: pod on the node's network (host network), opted in at "
        "EksProperties.PodProperties.HostNetwork",
    ]


def test_successful_validation_report_has_no_failures() -> None:
    assert validation_failures(FIXTURES / "staged") == []  # conclusion success, suppressed only
    assert validation_failures(FIXTURES / "acknowledged") == []  # empty pluginReports


# ---- cfn-lint -------------------------------------------------------------------------------------------


def test_lint_catches_an_invalid_property() -> None:
    findings = lint([FIXTURES / "invalid-property.template.json"])
    assert [(f.rule_id, f.severity, f.location) for f in findings] == [
        ("E3002", "error", "Resources/Queue/Properties/NotAProperty")
    ]
    assert "NotAProperty" in findings[0].message


def test_lint_passes_a_valid_template() -> None:
    assert lint([FIXTURES / "valid.template.json"]) == []


def test_lint_reports_warnings_as_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    findings = lint([FIXTURES / "unused-parameter.template.json"])
    assert [(f.rule_id, f.severity) for f in findings] == [("W2001", "warning")]
    out = assembly(tmp_path, "unused-parameter.template.json")
    assert main([str(out)]) == 0  # warnings are printed, they do not fail the plan
    printed = capsys.readouterr().out
    assert "0 error(s), 1 warning(s)" in printed
    assert "W2001" in printed


# ---- CLI ------------------------------------------------------------------------------------------------


def test_cli_exits_2_on_empty_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path)]) == 2
    assert "make synth" in capsys.readouterr().err
    assert main([str(tmp_path / "missing")]) == 2


def test_cli_exits_1_on_lint_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = assembly(tmp_path, "invalid-property.template.json", "valid.template.json")
    assert main([str(out)]) == 1
    printed = capsys.readouterr().out
    assert "1 error(s)" in printed
    assert "E3002" in printed and "Resources/Queue/Properties/NotAProperty" in printed
    assert "Result: FAILED" in printed


def test_cli_exits_0_on_clean_assembly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(assembly(tmp_path, "valid.template.json"))]) == 0
    assert "Result: OK" in capsys.readouterr().out


def test_module_runs_as_script(tmp_path: Path) -> None:
    out = assembly(tmp_path, "invalid-property.template.json")
    result = subprocess.run(
        [sys.executable, "-m", "cdk_batchkit.plan", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "E3002" in result.stdout
    empty = subprocess.run(
        [sys.executable, "-m", "cdk_batchkit.plan", str(tmp_path / "nothing")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert empty.returncode == 2


def test_importing_plan_does_not_import_cfn_lint() -> None:
    code = "import sys, cdk_batchkit.plan; print('cfnlint' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


# ---- EKS control planes and FSx file systems (issue 17) ----------------------------------------------------


def test_eks_cluster_of_aws_eks_is_priced_as_a_control_plane() -> None:
    """aws_eks.Cluster renders a custom resource, not AWS::EKS::Cluster: it was priced $0."""
    line = only_cost(
        {
            "Type": "Custom::AWSCDK-EKS-Cluster",
            "Properties": {"ServiceToken": {"Fn::GetAtt": ["P", "Arn"]}, "Config": {"version": "1.33"}},
        }
    )
    assert line.monthly_usd == pytest.approx(73.0)
    assert "1.33" in line.why and "$0.6/h once the version is in extended support" in line.why
    assert only_cost({"Type": "AWS::EKS::Cluster", "Properties": {"Version": "1.33"}}).monthly_usd == 73.0


def lustre(capacity: Any, storage: str | None = None, **config: Any) -> dict[str, Any]:
    props: dict[str, Any] = {"FileSystemType": "LUSTRE", "StorageCapacity": capacity, "SubnetIds": [SUBNET]}
    if storage:
        props["StorageType"] = storage
    if config:
        props["LustreConfiguration"] = config
    return {"Type": "AWS::FSx::FileSystem", "Properties": props}


@pytest.mark.parametrize(
    ("resource", "monthly"),
    [
        # CloudFormation's defaults: SCRATCH_1, SSD.
        (lustre(1200), 1200 * 0.140),
        (lustre(1200, DeploymentType="SCRATCH_2"), 1200 * 0.140),
        (lustre(2400, DeploymentType="PERSISTENT_2", PerUnitStorageThroughput=125), 2400 * 0.145),
        (lustre(2400, DeploymentType="PERSISTENT_2", PerUnitStorageThroughput=1000), 2400 * 0.600),
        (lustre(2400, DeploymentType="PERSISTENT_1", PerUnitStorageThroughput=200), 2400 * 0.290),
        (lustre(6000, "HDD", DeploymentType="PERSISTENT_1", PerUnitStorageThroughput=12), 6000 * 0.025),
    ],
)
def test_fsx_lustre_is_priced_by_deployment_type_throughput_and_capacity(
    resource: dict[str, Any], monthly: float
) -> None:
    line = only_cost(resource)
    assert line.monthly_usd == pytest.approx(monthly)
    assert "(estimate)" in line.why and "GB x $" in line.why


@pytest.mark.parametrize(
    ("resource", "why"),
    [
        (lustre({"Ref": "Capacity"}, DeploymentType="SCRATCH_2"), "storage capacity unresolved"),
        (lustre(1200, "INTELLIGENT_TIERING", DeploymentType="PERSISTENT_2"), "rate not modelled"),
        (lustre(1200, DeploymentType="PERSISTENT_2", PerUnitStorageThroughput={"Ref": "T"}), "not modelled"),
        (
            {
                "Type": "AWS::FSx::FileSystem",
                "Properties": {"FileSystemType": "ONTAP", "StorageCapacity": 1024},
            },
            "FSx for ONTAP",
        ),
    ],
)
def test_fsx_file_systems_the_table_cannot_price_are_unknown(resource: dict[str, Any], why: str) -> None:
    line = only_cost(resource)
    assert line.monthly_usd is None and why in line.why and "check by hand" in line.why


def test_fsx_lustre_extras_that_are_not_priced_are_named() -> None:
    line = only_cost(
        lustre(6000, "HDD", DeploymentType="PERSISTENT_1", PerUnitStorageThroughput=12, DriveCacheType="READ")
    )
    assert line.monthly_usd == pytest.approx(150.0) and "SSD cache, not priced" in line.why


# ---- template checks (BK-G1..G3) -----------------------------------------------------------------------


def test_template_check_findings_are_printed_and_fail_the_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cdk.out"
    write_template(
        out,
        "Stack",
        {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "ecs.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    },
                    "ManagedPolicyArns": [
                        {
                            "Fn::Join": [
                                "",
                                [
                                    "arn:",
                                    {"Ref": "AWS::Partition"},
                                    ":iam::aws:policy/service-role/AmazonECSInfrastructureRolePolicyForManagedInstances",
                                ],
                            ]
                        }
                    ],
                },
            }
        },
    )
    assert plan.template_findings(load_templates(out))[0].rule_id == "BK-G1"
    assert main([str(out)]) == 1
    printed = capsys.readouterr().out
    assert "Template checks (BK-G1..G3" in printed and "the path is wrong" in printed
    assert "Result: FAILED - 1 template-check finding(s)" in printed
