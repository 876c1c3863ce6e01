"""Job definitions: logging, roles, images, retries, Fargate sizes, MNP, grants."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_efs as efs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as sm
from aws_cdk import aws_ssm as ssm
from aws_cdk.assertions import Match, Template

from cdk_batchkit.constructs import (
    Architecture,
    Container,
    ContainerJobDefinition,
    FargateComputeEnvironment,
    JobQueue,
    MultiNodeJobDefinition,
    Platform,
    RetryPolicy,
)
from tests.support import network, new_stack

IMAGE = ecs.ContainerImage.from_registry("public.ecr.aws/amazonlinux/amazonlinux:2023")
DOCKER_DIR = Path(__file__).parent.parent / "fixtures" / "docker_job"


def _definitions(template: Template) -> dict[str, dict]:
    """Job definitions keyed by their construct path (never by hashed logical id)."""
    out = {}
    for res in template.find_resources("AWS::Batch::JobDefinition").values():
        out[res["Metadata"]["aws:cdk:path"].split("/")[1]] = res["Properties"]
    return out


@pytest.fixture(scope="module")
def synth() -> tuple[cdk.Stack, Template, dict[str, dict]]:
    app = cdk.App(context={"aws:cdk:enable-path-metadata": True})
    stack = cdk.Stack(app, "Jobs")
    net = network(stack)
    queue = JobQueue(
        stack,
        "FargateQueue",
        compute_environments=[FargateComputeEnvironment(stack, "FargateEnv", network=net)],
    )
    secret = sm.Secret(stack, "Secret")
    param = ssm.StringParameter(stack, "Param", string_value="v")
    fs = efs.FileSystem(stack, "Fs", vpc=net.vpc)
    ContainerJobDefinition(
        stack,
        "Defaults",
        container=Container(
            image=IMAGE,
            environment={"STAGE": "test"},
            secrets={
                "DB_PASSWORD": batch.Secret.from_secrets_manager(secret),
                "API_URL": batch.Secret.from_ssm_parameter(param),
            },
            volumes=[batch.EcsVolume.efs(name="data", file_system=fs, container_path="/data")],
            command=["run", "Ref::key"],
        ),
        parameters={"key": "none"},
    )
    fargate = ContainerJobDefinition(
        stack,
        "Fargate",
        container=Container(image=IMAGE, vcpus=0.25, memory=cdk.Size.mebibytes(512)),
        platform=Platform.FARGATE,
    )
    queue.add_job_definition(fargate)
    ContainerJobDefinition(
        stack,
        "FargateArm",
        container=Container(image=IMAGE, vcpus=1, memory=cdk.Size.gibibytes(2)),
        platform=Platform.FARGATE,
        architecture=Architecture.ARM64,
        assign_public_ip=False,
    )
    repo = ecr.Repository(stack, "Repo")
    ContainerJobDefinition(
        stack,
        "FromEcr",
        container=Container(image=ecs.ContainerImage.from_ecr_repository(repo, "v1")),
    )
    ContainerJobDefinition(
        stack,
        "FromAsset",
        container=Container(image=ecs.ContainerImage.from_asset(str(DOCKER_DIR))),
    )
    ContainerJobDefinition(
        stack,
        "Gpu",
        container=Container(image=IMAGE, vcpus=4, memory=cdk.Size.gibibytes(16), gpus=1),
        retry=RetryPolicy.none(),
        timeout=cdk.Duration.minutes(5),
    )
    MultiNodeJobDefinition(
        stack,
        "Mnp",
        container=Container(image=IMAGE, vcpus=4),
        nodes=4,
        main_node=1,
        instance_type="c6i.xlarge",
    )
    template = Template.from_stack(stack)
    return stack, template, _definitions(template)


def test_logs_go_to_own_log_group_with_retention(synth):
    _, template, defs = synth
    log_config = defs["Defaults"]["ContainerProperties"]["LogConfiguration"]
    assert log_config["LogDriver"] == "awslogs"
    group_ref = log_config["Options"]["awslogs-group"]["Ref"]
    group = template.to_json()["Resources"][group_ref]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == 30


def test_no_policy_writes_to_the_unbounded_default_log_group(synth):
    _, template, _ = synth
    assert "/aws/batch/job" not in str(template.to_json())


def test_job_role_is_separate_from_execution_role(synth):
    _, _, defs = synth
    props = defs["Defaults"]["ContainerProperties"]
    assert props["JobRoleArn"]["Fn::GetAtt"][0] != props["ExecutionRoleArn"]["Fn::GetAtt"][0]


def test_secrets_from_secrets_manager_and_ssm(synth):
    _, template, defs = synth
    secrets = {s["Name"]: s["ValueFrom"] for s in defs["Defaults"]["ContainerProperties"]["Secrets"]}
    assert set(secrets) == {"DB_PASSWORD", "API_URL"}
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Action": Match.array_with(["secretsmanager:GetSecretValue"])})]
                )
            }
        },
    )


def test_efs_volume_environment_command_and_parameters(synth):
    _, _, defs = synth
    props = defs["Defaults"]["ContainerProperties"]
    assert props["Volumes"][0]["EfsVolumeConfiguration"]["FileSystemId"]
    assert props["MountPoints"][0]["ContainerPath"] == "/data"
    assert {"Name": "STAGE", "Value": "test"} in props["Environment"]
    assert props["Command"] == ["run", "Ref::key"]
    assert defs["Defaults"]["Parameters"] == {"key": "none"}


def test_default_timeout_and_retry_preset(synth):
    _, _, defs = synth
    d = defs["Defaults"]
    assert d["Timeout"]["AttemptDurationSeconds"] == 24 * 3600
    strategy = d["RetryStrategy"]
    assert strategy["Attempts"] == 3
    rules = strategy["EvaluateOnExit"]
    assert rules[0] == {"Action": "RETRY", "OnStatusReason": "Host EC2*"}
    assert rules[1]["Action"] == "RETRY" and rules[1]["OnReason"].startswith("CannotPullContainerError")
    # The last rule is a catch-all EXIT: without it, Batch retries failures no rule matches.
    assert rules[-1] == {"Action": "EXIT", "OnStatusReason": "*"}
    assert len(rules) <= 5


def test_retry_none_and_custom_timeout(synth):
    _, _, defs = synth
    assert defs["Gpu"]["RetryStrategy"] == {"Attempts": 1}
    assert defs["Gpu"]["Timeout"]["AttemptDurationSeconds"] == 300


def test_ec2_gpu_requirement(synth):
    _, _, defs = synth
    reqs = {r["Type"]: r["Value"] for r in defs["Gpu"]["ContainerProperties"]["ResourceRequirements"]}
    assert reqs == {"VCPU": "4", "MEMORY": "16384", "GPU": "1"}
    assert defs["Gpu"]["PlatformCapabilities"] == ["EC2"]


def test_fargate_definition(synth):
    _, _, defs = synth
    d = defs["Fargate"]
    assert d["PlatformCapabilities"] == ["FARGATE"]
    reqs = {r["Type"]: r["Value"] for r in d["ContainerProperties"]["ResourceRequirements"]}
    assert reqs == {"VCPU": "0.25", "MEMORY": "512"}
    assert d["ContainerProperties"]["FargatePlatformConfiguration"] == {"PlatformVersion": "LATEST"}


def test_fargate_public_ip_enabled_when_bound_to_public_network(synth):
    _, _, defs = synth
    assert defs["Fargate"]["ContainerProperties"]["NetworkConfiguration"]["AssignPublicIp"] == "ENABLED"
    # Not bound to any queue and explicitly disabled: stays disabled.
    assert defs["FargateArm"]["ContainerProperties"]["NetworkConfiguration"]["AssignPublicIp"] == "DISABLED"


def test_fargate_arm64(synth):
    _, _, defs = synth
    assert defs["FargateArm"]["ContainerProperties"]["RuntimePlatform"]["CpuArchitecture"] == "ARM64"


def test_image_from_ecr_repository(synth):
    _, _, defs = synth
    image = defs["FromEcr"]["ContainerProperties"]["Image"]
    assert "Fn::Join" in image and ":v1" in str(image)


def test_image_from_local_dockerfile_asset(synth):
    stack, _, defs = synth
    image = str(defs["FromAsset"]["ContainerProperties"]["Image"])
    assert "container-assets" in image
    # The asset is staged at synth (no Docker needed); `cdk deploy` builds and pushes it.
    assembly = cdk.App.of(stack).synth()
    assets = json.loads((Path(assembly.directory) / "Jobs.assets.json").read_text())
    staged = [Path(assembly.directory) / a["source"]["directory"] for a in assets["dockerImages"].values()]
    assert len(staged) == 1 and (staged[0] / "Dockerfile").is_file()


def test_multi_node_definition(synth):
    _, _, defs = synth
    d = defs["Mnp"]
    assert d["Type"] == "multinode"
    nodes = d["NodeProperties"]
    assert nodes["NumNodes"] == 4 and nodes["MainNode"] == 1
    assert nodes["NodeRangeProperties"][0]["TargetNodes"] == "0:"
    assert nodes["NodeRangeProperties"][0]["Container"]["InstanceType"] == "c6i.xlarge"
    assert d["RetryStrategy"]["EvaluateOnExit"][-1] == {"Action": "EXIT", "OnStatusReason": "*"}


# --- grants ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def granted() -> dict:
    stack = new_stack("Grants")
    net = network(stack)
    queue = JobQueue(
        stack, "Queue", compute_environments=[FargateComputeEnvironment(stack, "Fargate", network=net)]
    )
    job = ContainerJobDefinition(
        stack,
        "Job",
        container=Container(image=IMAGE, vcpus=1),
        platform=Platform.FARGATE,
    )
    role = iam.Role(stack, "Submitter", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    job.grant_submit(role, queue)
    no_tags = ContainerJobDefinition(
        stack,
        "NoTags",
        container=Container(image=IMAGE, vcpus=1),
        platform=Platform.FARGATE,
        propagate_tags=False,
    )
    other = iam.Role(stack, "Other", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    no_tags.grant_submit(other, queue)
    policies = Template.from_stack(stack).find_resources("AWS::IAM::Policy")
    by_role = {}
    for policy in policies.values():
        role_ref = policy["Properties"]["Roles"][0]["Ref"]
        by_role[role_ref] = policy["Properties"]["PolicyDocument"]["Statement"]
    submitter = next(v for k, v in by_role.items() if k.startswith("Submitter"))
    other_st = next(v for k, v in by_role.items() if k.startswith("Other"))
    return {"submitter": submitter, "other": other_st}


def test_submit_grant_is_scoped_to_definition_name_and_queue(granted):
    submit = next(s for s in granted["submitter"] if s["Action"] == "batch:SubmitJob")
    resources = submit["Resource"]
    assert len(resources) == 2
    text = str(resources)
    assert "job-definition/*" not in text
    assert "JobQueue" in text or "Queue" in text
    # arn:...:job-definition/<name from the definition's ARN>:*
    name_arn = next(r for r in resources if "Fn::Join" in r)
    assert ":job-definition/" in str(name_arn) and str(name_arn).rstrip("]}'\" ").endswith(":*")
    assert "Fn::Split" in str(name_arn)


def test_tag_resource_granted_only_when_tags_propagate(granted):
    assert any(s["Action"] == "batch:TagResource" for s in granted["submitter"])
    assert not any(s["Action"] == "batch:TagResource" for s in granted["other"])


# --- validation -----------------------------------------------------------------------------


_CONTAINER_PROPS = {"vcpus", "memory", "gpus"}


def _job(**kwargs):
    container = Container(image=IMAGE, **{k: kwargs.pop(k) for k in _CONTAINER_PROPS & set(kwargs)})
    return ContainerJobDefinition(new_stack(), "Job", container=container, **kwargs)


def test_rejects_timeout_under_60_seconds():
    with pytest.raises(ValueError, match=r"timeout=.*at least 60"):
        _job(timeout=cdk.Duration.seconds(59))


def test_rejects_attempts_out_of_range():
    with pytest.raises(ValueError, match=r"retry.attempts=11"):
        _job(retry=RetryPolicy.transient(attempts=11))
    with pytest.raises(ValueError, match=r"retry.attempts=0"):
        _job(retry=RetryPolicy(0))


def test_rejects_more_than_five_rules():
    rule = batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.NON_ZERO_EXIT_CODE)
    with pytest.raises(ValueError, match=r"retry.rules=6.*at most 5"):
        _job(retry=RetryPolicy.custom(3, rule, rule, rule, rule, rule))


def test_rejects_rules_with_a_single_attempt():
    with pytest.raises(ValueError, match=r"retry.attempts=1.*never fire"):
        _job(retry=RetryPolicy.transient(attempts=1))


@pytest.mark.parametrize(
    ("vcpus", "memory_mib", "match"),
    [
        (0.3, 1024, r"vcpus=0.3.*Fargate takes one of"),
        (1, 1024, r"memory='1024 MiB'.*2048-8192 MiB"),
        (0.25, 4096, r"memory='4096 MiB'"),
        (16, 32768 + 4096, r"memory="),
    ],
)
def test_rejects_invalid_fargate_cpu_memory_pairs(vcpus, memory_mib, match):
    with pytest.raises(ValueError, match=match):
        _job(platform=Platform.FARGATE, vcpus=vcpus, memory=cdk.Size.mebibytes(memory_mib))


def test_accepts_every_documented_fargate_pair_edge():
    stack = new_stack()
    for i, (vcpus, mem) in enumerate([(0.25, 2048), (0.5, 4096), (4, 30720), (8, 61440), (16, 122880)]):
        ContainerJobDefinition(
            stack,
            f"J{i}",
            container=Container(image=IMAGE, vcpus=vcpus, memory=cdk.Size.mebibytes(mem)),
            platform=Platform.FARGATE,
        )


def test_rejects_gpu_on_fargate():
    with pytest.raises(ValueError, match=r"gpus=1.*Fargate has no GPUs"):
        _job(platform=Platform.FARGATE, vcpus=1, gpus=1)


def test_rejects_fractional_ec2_vcpus():
    with pytest.raises(ValueError, match=r"vcpus=0.5.*whole number"):
        _job(vcpus=0.5)


def test_rejects_fargate_only_props_on_ec2():
    with pytest.raises(ValueError, match=r"assign_public_ip=True.*only applies to Fargate"):
        _job(assign_public_ip=True)
    with pytest.raises(ValueError, match=r"architecture='arm64'.*only applies to Fargate"):
        _job(architecture=Architecture.ARM64)


def test_rejects_fargate_ephemeral_storage_out_of_range():
    with pytest.raises(ValueError, match=r"ephemeral_storage"):
        _job(platform=Platform.FARGATE, vcpus=1, ephemeral_storage=cdk.Size.gibibytes(500))


def test_rejects_multi_node_bad_nodes_and_main_node():
    with pytest.raises(ValueError, match=r"nodes=1"):
        MultiNodeJobDefinition(new_stack(), "M", container=Container(image=IMAGE), nodes=1)
    with pytest.raises(ValueError, match=r"main_node=2"):
        MultiNodeJobDefinition(new_stack(), "M", container=Container(image=IMAGE), nodes=2, main_node=2)
