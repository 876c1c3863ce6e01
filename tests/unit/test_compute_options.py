"""Compute options (own launch template or AMI, key pair, security groups, subnets, tags, allocation
strategies, queue state), ECS Managed Instances and SageMaker Training service environments.

One stack under cdk-nag (synthesized once, module scope) holds every option; rejection tests build a small
fresh stack and expect the error at construction. The moto tests build the same stack in moto.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Size
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from cdk_batchkit.constructs import (
    AllocationStrategy,
    ComputeKind,
    ComputeProfile,
    Container,
    ContainerJobDefinition,
    Ec2ComputeEnvironment,
    JobQueue,
    JobRequirements,
    ManagedInstancesComputeEnvironment,
    Platform,
    SageMakerTrainingEnvironment,
    SageMakerTrainingQueue,
    check_fit,
)
from cdk_batchkit.model.rules import check_queue
from tests.support import SAMPLE_IMAGE, network

AMI = "ami-0123456789abcdef0"
TAGS = {"team": "research", "cost-center": "42"}


def _own_template(stack: cdk.Stack, name: str = "OwnTemplate", **kwargs: Any) -> ec2.LaunchTemplate:
    user_data = ec2.MultipartUserData()
    user_data.add_user_data_part(ec2.UserData.for_linux(), ec2.MultipartBody.SHELL_SCRIPT, True)
    props: dict[str, Any] = {
        "http_tokens": ec2.LaunchTemplateHttpTokens.REQUIRED,
        "require_imdsv2": True,
        "http_put_response_hop_limit": 2,
        "user_data": user_data,
        "block_devices": [
            ec2.BlockDevice(
                device_name="/dev/xvda",
                volume=ec2.BlockDeviceVolume.ebs(
                    100, encrypted=True, volume_type=ec2.EbsDeviceVolumeType.GP3
                ),
            )
        ],
    }
    props.update(kwargs)
    return ec2.LaunchTemplate(stack, name, **props)


def _aws_policy(name: str) -> dict[str, Any]:
    """How CDK renders ``arn:<partition>:iam::aws:policy/NAME`` (an AWS managed policy at the root path)."""
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":iam::aws:policy/{name}"]]}


def _warnings(construct: Any) -> list[str]:
    return [str(e.data) for e in construct.node.metadata if e.type == "aws:cdk:warning"]


class Synth:
    def __init__(self) -> None:
        # cdk-nag and cfn-lint check these options in the kitchen-sink stack (tests/templates); not here.
        stack = cdk.Stack(cdk.App(), "Options")
        net = network(stack)
        extra = ec2.SecurityGroup(stack, "ExtraGroup", vpc=net.vpc, description="extra")
        self.own = Ec2ComputeEnvironment(
            stack,
            "Own",
            network=net,
            launch_template=_own_template(stack),
            allocation_strategy=batch.AllocationStrategy.BEST_FIT,  # the L2 enum is still taken
        )
        imported = ec2.LaunchTemplate.from_launch_template_attributes(
            stack, "Imported", launch_template_id="lt-0123456789abcdef0", version_number="7"
        )
        self.imported = Ec2ComputeEnvironment(stack, "ImportedLt", network=net, launch_template=imported)
        zone = net.vpc.public_subnets[0].availability_zone
        self.options = Ec2ComputeEnvironment(
            stack,
            "Options",
            network=net,
            machine_image=AMI,
            key_pair=ec2.KeyPair.from_key_pair_name(stack, "Key", "ops-key"),
            security_groups=[extra],
            vpc_subnets=ec2.SubnetSelection(availability_zones=[zone]),
            tags=TAGS,
            instance_types=["m7i.large", "m7i", "c7i"],
            allocation_strategy=AllocationStrategy.BEST_FIT_PROGRESSIVE_ORDERED,
        )
        cdk.Tags.of(self.options).add("owner", "platform")  # kept beside tags=
        self.prioritized = Ec2ComputeEnvironment(
            stack,
            "Prioritized",
            network=net,
            spot=True,
            machine_image=ecs.EcsOptimizedImage.amazon_linux2023(),
            allocation_strategy="spot_capacity_optimized_prioritized",
        )
        self.disabled = JobQueue(stack, "Disabled", compute_environments=[self.options], enabled=False)
        self.mi = ManagedInstancesComputeEnvironment(
            stack, "Mi", network=net, instance_types=["m7i.*", "c7g.2xlarge"], storage_size=Size.gibibytes(80)
        )
        self.mi_spot = ManagedInstancesComputeEnvironment(stack, "MiSpot", network=net, spot=True)
        self.mi_queue = JobQueue(stack, "MiQueue", compute_environments=[self.mi, self.mi_spot])
        self.sagemaker = SageMakerTrainingEnvironment(stack, "Training", max_instances=8)
        self.training_queue = SageMakerTrainingQueue(
            stack, "TrainingQueue", service_environments=[self.sagemaker], priority=10
        )
        self.trainer = iam.Role(stack, "Trainer", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        self.training_role = iam.Role(
            stack, "TrainingRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com")
        )
        self.training_queue.grant_submit_service_job(self.trainer, training_role=self.training_role)
        self.stack = stack
        self.template = Template.from_stack(stack)
        self.resources = self.template.to_json()["Resources"]

    def props(self, construct: Any) -> dict[str, Any]:
        child = construct if isinstance(construct, cdk.CfnResource) else construct.node.default_child
        return self.resources[self.stack.resolve(child.logical_id)]["Properties"]  # type: ignore[no-any-return]

    def ce(self, env: Any) -> dict[str, Any]:
        return self.props(env.resource if isinstance(env, Ec2ComputeEnvironment) else env)


@pytest.fixture(scope="module")
def synth() -> Synth:
    return Synth()


# --- launch template and AMI --------------------------------------------------------------------


def test_own_launch_template_is_used_by_version_number(synth: Synth) -> None:
    resources = synth.ce(synth.own)["ComputeResources"]
    assert resources["AllocationStrategy"] == "BEST_FIT"
    spec = resources["LaunchTemplate"]
    template_id = synth.stack.resolve(synth.own.launch_template.launch_template_id)
    assert spec["LaunchTemplateId"] == template_id
    assert spec["Version"] == {"Fn::GetAtt": [template_id["Ref"], "LatestVersionNumber"]}
    # No hardened template of the library's is made next to yours.
    assert "LaunchTemplate" not in [c.node.id for c in synth.own.node.children]
    assert synth.own.user_data is not None  # yours is MIME multipart: parts can be added


def test_imported_launch_template_warns_what_was_not_checked(synth: Synth) -> None:
    spec = synth.ce(synth.imported)["ComputeResources"]["LaunchTemplate"]
    assert spec == {"LaunchTemplateId": "lt-0123456789abcdef0", "Version": "7"}
    assert any("not checked whether it requires IMDSv2" in w for w in _warnings(synth.imported))


def test_ami_key_pair_groups_subnets_tags_and_ordered_strategy(synth: Synth) -> None:
    resources = synth.ce(synth.options)["ComputeResources"]
    assert resources["Ec2Configuration"][0]["ImageIdOverride"] == AMI
    assert resources["Ec2KeyPair"] == "ops-key"
    assert resources["Tags"] == {**TAGS, "owner": "platform"}
    assert resources["AllocationStrategy"] == "BEST_FIT_PROGRESSIVE_ORDERED"
    assert resources["InstanceTypes"] == ["m7i.large", "m7i", "c7i"]  # the order is the preference
    groups = [synth.stack.resolve(g) for g in resources["SecurityGroupIds"]]
    assert len(groups) == 2 and all("GroupId" in str(g) for g in groups)
    assert len(resources["Subnets"]) == 1  # one zone of the network's public subnets
    # Batch tags the instances; the library's template tags the instances and their volumes with
    # tags= and with tags applied by Tags.of (which a wholesale override would drop).
    data = synth.props(synth.options.launch_template)["LaunchTemplateData"]
    expected = {**TAGS, "owner": "platform"}
    for kind in ("instance", "volume"):
        spec = next(s for s in data["TagSpecifications"] if s["ResourceType"] == kind)
        assert expected.items() <= {t["Key"]: t["Value"] for t in spec["Tags"]}.items()
    assert any("Session Manager" in w for w in _warnings(synth.options))


def test_machine_image_object_and_prioritized_spot_strategy(synth: Synth) -> None:
    resources = synth.ce(synth.prioritized)["ComputeResources"]
    assert resources["AllocationStrategy"] == "SPOT_CAPACITY_OPTIMIZED_PRIORITIZED"
    assert resources["Type"] == "SPOT"
    override = resources["Ec2Configuration"][0]["ImageIdOverride"]
    assert "Ref" in override  # the SSM parameter of the ECS-optimized AL2023 image


def test_queue_state_disabled_and_no_type_on_ec2_queues(synth: Synth) -> None:
    props = synth.props(synth.disabled.resource)
    assert props["State"] == "DISABLED"
    assert "JobQueueType" not in props


# --- ECS Managed Instances ------------------------------------------------------------------------


def test_managed_instances_environment(synth: Synth) -> None:
    props = synth.ce(synth.mi.cfn)
    assert props["Type"] == "MANAGED"
    resources = props["ComputeResources"]
    assert resources["Type"] == "ECS_MANAGED_INSTANCES" and resources["MaxvCpus"] == 256
    provider = resources["ManagedInstancesProvider"]
    launch = provider["InstanceLaunchTemplate"]
    assert launch["CapacityOptionType"] == "ON_DEMAND"
    assert launch["InstanceRequirements"] == {"AllowedInstanceTypes": ["m7i.*", "c7g.2xlarge"]}
    assert launch["StorageConfiguration"] == {"StorageSizeGiB": 80}
    assert launch["Ec2InstanceProfileArn"]["Fn::GetAtt"][1] == "Arn"
    assert len(launch["NetworkConfiguration"]["Subnets"]) == 2
    assert provider["PropagateTags"] == "CAPACITY_PROVIDER"
    assert provider["InfrastructureRoleArn"]["Fn::GetAtt"][1] == "Arn"
    spot = synth.ce(synth.mi_spot.cfn)["ComputeResources"]["ManagedInstancesProvider"]
    assert spot["InstanceLaunchTemplate"]["CapacityOptionType"] == "SPOT"
    assert "InstanceRequirements" not in spot["InstanceLaunchTemplate"]  # every type eligible


def test_managed_instances_roles_pass_the_instance_role_and_trust_ecs(synth: Synth) -> None:
    infra = synth.props(synth.mi.infrastructure_role)
    assert infra["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "ecs.amazonaws.com"}
    # Both AWS managed policies live at the root policy path, not under service-role/ (IAM refuses to
    # attach an ARN that does not exist, so no such environment deployed before).
    assert infra["ManagedPolicyArns"] == [_aws_policy("AmazonECSInfrastructureRolePolicyForManagedInstances")]
    instance = synth.props(synth.mi.instance_role)
    assert instance["ManagedPolicyArns"] == [_aws_policy("AmazonECSInstanceRolePolicyForManagedInstances")]
    synth.template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": "iam:PassRole",
                        "Effect": "Allow",
                        "Resource": synth.stack.resolve(synth.mi.instance_role.role_arn),
                    }
                ]
            },
            "Roles": [synth.stack.resolve(synth.mi.infrastructure_role.role_name)],
        },
    )


def test_managed_instances_queue_declares_its_type_and_refuses_ec2_jobs(synth: Synth) -> None:
    props = synth.props(synth.mi_queue.resource)
    assert props["JobQueueType"] == "ECS_MANAGED_INSTANCES"
    assert [o["Order"] for o in props["ComputeEnvironmentOrder"]] == [1, 2]
    ec2_job = JobRequirements(platform=Platform.EC2, vcpus=1, memory_mib=2048)
    result = synth.mi_queue.check_fit(ec2_job)
    assert result is not None and not result.fits and set(result.rule_ids) == {"BK-F1"}
    mi_job = JobRequirements(platform=Platform.MANAGED_INSTANCES, vcpus=4, memory_mib=8192)
    fits = synth.mi_queue.check_fit(mi_job)
    assert fits is not None and fits.fits and not fits.problems


def test_rejects_managed_instances_mixed_with_ec2(stack: cdk.Stack) -> None:
    net = network(stack)
    with pytest.raises(ValueError, match="mixes ECS Managed Instances environments with EC2"):
        JobQueue(
            stack,
            "Q",
            compute_environments=[
                ManagedInstancesComputeEnvironment(stack, "Mi", network=net),
                Ec2ComputeEnvironment(stack, "Ec2", network=net),
            ],
        )


def test_rejects_spot_managed_instances_before_on_demand() -> None:
    envs = [
        ("spot", ComputeProfile(ComputeKind.ECS_MANAGED_INSTANCES_SPOT, architecture=None)),
        ("od", ComputeProfile(ComputeKind.ECS_MANAGED_INSTANCES, architecture=None)),
    ]
    assert [rule for rule, _ in check_queue(envs)] == ["BK-I2"]
    assert check_queue(list(reversed(envs))) == []


def test_rejects_managed_instances_batch_aliases(stack: cdk.Stack) -> None:
    with pytest.raises(ValueError, match="instance_types=.*Batch alias"):
        ManagedInstancesComputeEnvironment(stack, "Mi", network=network(stack), instance_types=["optimal"])


# --- SageMaker Training service environments -------------------------------------------------------


def test_sagemaker_environment_and_queue(synth: Synth) -> None:
    env = synth.props(synth.sagemaker)
    assert env == {
        "ServiceEnvironmentType": "SAGEMAKER_TRAINING",
        "CapacityLimits": [{"CapacityUnit": "NUM_INSTANCES", "MaxCapacity": 8}],
        "State": "ENABLED",
    }
    queue = synth.props(synth.training_queue.cfn)
    assert queue["JobQueueType"] == "SAGEMAKER_TRAINING" and queue["Priority"] == 10
    assert queue["ServiceEnvironmentOrder"] == [
        {"Order": 1, "ServiceEnvironment": synth.stack.resolve(synth.sagemaker.service_environment_arn)}
    ]
    assert "ComputeEnvironmentOrder" not in queue


def test_grant_submit_service_job_is_one_queue_and_passes_the_training_role(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": "batch:SubmitServiceJob",
                        "Effect": "Allow",
                        "Resource": synth.stack.resolve(synth.training_queue.job_queue_arn),
                    },
                    {
                        "Action": "iam:PassRole",
                        "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
                        "Effect": "Allow",
                        "Resource": synth.stack.resolve(synth.training_role.role_arn),
                    },
                ]
            },
            "Roles": [synth.stack.resolve(synth.trainer.role_name)],
        },
    )


def test_rejects_a_container_job_on_a_sagemaker_queue(stack: cdk.Stack) -> None:
    queue = SageMakerTrainingQueue(
        stack,
        "Training",
        service_environments=[SageMakerTrainingEnvironment(stack, "Env", max_instances=2)],
    )
    job = ContainerJobDefinition(
        stack, "Job", container=Container(image=ecs.ContainerImage.from_registry(SAMPLE_IMAGE))
    )
    with pytest.raises(ValueError, match="SageMaker Training service environment.*SubmitServiceJob"):
        queue.add_job_definition(job)


def test_rejects_service_environments_mixed_with_compute() -> None:
    envs = [
        ("training", ComputeProfile(ComputeKind.SAGEMAKER_TRAINING, architecture=None)),
        ("fargate", ComputeProfile(ComputeKind.FARGATE, architecture=None)),
    ]
    assert "BK-V3" in [rule for rule, _ in check_queue(envs)]
    job = JobRequirements(platform=Platform.FARGATE, vcpus=1, memory_mib=2048)
    result = check_fit(job, envs[:1])
    assert not result.fits and result.rule_ids == ("BK-V2",)


def test_rejects_sagemaker_capacity_below_one(stack: cdk.Stack) -> None:
    with pytest.raises(ValueError, match="max_instances=0"):
        SageMakerTrainingEnvironment(stack, "Env", max_instances=0)


# --- rejections of the EC2 options ----------------------------------------------------------------


def test_rejects_own_template_without_imdsv2(stack: cdk.Stack) -> None:
    template = _own_template(stack, http_tokens=ec2.LaunchTemplateHttpTokens.OPTIONAL, require_imdsv2=False)
    with pytest.raises(ValueError, match="launch_template=.*HttpTokens is 'optional'"):
        Ec2ComputeEnvironment(stack, "Env", network=network(stack), launch_template=template)


def test_rejects_own_template_with_hop_limit_above_two(stack: cdk.Stack) -> None:
    template = _own_template(stack, http_put_response_hop_limit=3)
    with pytest.raises(ValueError, match="hop limit 3"):
        Ec2ComputeEnvironment(stack, "Env", network=network(stack), launch_template=template)


def test_rejects_own_template_with_unencrypted_volume(stack: cdk.Stack) -> None:
    volume = ec2.BlockDevice(device_name="/dev/xvda", volume=ec2.BlockDeviceVolume.ebs(50))
    template = _own_template(stack, block_devices=[volume])
    with pytest.raises(ValueError, match="/dev/xvda is not encrypted"):
        Ec2ComputeEnvironment(stack, "Env", network=network(stack), launch_template=template)


def test_own_template_without_root_volume_warns(stack: cdk.Stack) -> None:
    env = Ec2ComputeEnvironment(
        stack, "Env", network=network(stack), launch_template=_own_template(stack, block_devices=[])
    )
    assert any("maps no root volume" in w for w in _warnings(env))


def test_rejects_own_template_with_plain_user_data(stack: cdk.Stack) -> None:
    template = _own_template(stack, user_data=ec2.UserData.for_linux())
    with pytest.raises(ValueError, match="MIME multipart"):
        Ec2ComputeEnvironment(stack, "Env", network=network(stack), launch_template=template)


def test_rejects_own_template_with_library_template_props(stack: cdk.Stack) -> None:
    with pytest.raises(ValueError, match="root_volume_size and user_data_commands"):
        Ec2ComputeEnvironment(
            stack,
            "Env",
            network=network(stack),
            launch_template=_own_template(stack),
            user_data_commands=["echo hi"],
        )


def test_rejects_a_malformed_ami_id(stack: cdk.Stack) -> None:
    with pytest.raises(ValueError, match="machine_image='ami-xyz'"):
        Ec2ComputeEnvironment(stack, "Env", network=network(stack), machine_image="ami-xyz")


def test_rejects_subnets_outside_the_network(stack: cdk.Stack) -> None:
    from cdk_batchkit.constructs import BatchNetwork, NetworkMode

    net = BatchNetwork(stack, "Private", mode=NetworkMode.PRIVATE_WITH_NAT, max_azs=2)
    with pytest.raises(ValueError, match="vpc_subnets=.*network's"):
        Ec2ComputeEnvironment(
            stack, "Env", network=net, vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC)
        )


def test_rejects_reserved_or_too_many_tags(stack: cdk.Stack) -> None:
    net = network(stack)
    with pytest.raises(ValueError, match="aws: prefix"):
        Ec2ComputeEnvironment(stack, "A", network=net, tags={"aws:owner": "me"})
    with pytest.raises(ValueError, match="at most 50 tags"):
        Ec2ComputeEnvironment(stack, "B", network=net, tags={f"k{i}": "v" for i in range(51)})


@pytest.mark.parametrize(
    ("spot", "strategy", "why"),
    [
        (False, "SPOT_CAPACITY_OPTIMIZED_PRIORITIZED", "Spot strategies need spot=True"),
        (True, AllocationStrategy.BEST_FIT_PROGRESSIVE_ORDERED, "only available for on-demand"),
        (False, "CHEAPEST", "must be one of"),
    ],
)
def test_rejects_allocation_strategy_pairing(stack: cdk.Stack, spot: bool, strategy: Any, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        Ec2ComputeEnvironment(stack, "Env", network=network(stack), spot=spot, allocation_strategy=strategy)


# --- moto -------------------------------------------------------------------------------------------


def test_moto_builds_managed_instances_and_sagemaker_queues(synth: Synth, batchkit_aws: None) -> None:
    from cdk_batchkit.testing import build_world

    world = build_world(synth.stack)
    batch_client = world.client("batch")
    mi_queue = world.job_queue("MiQueue")
    training = world.job_queue("TrainingQueue")
    described = {q["jobQueueArn"]: q for q in batch_client.describe_job_queues()["jobQueues"]}
    assert mi_queue.arn in described and training.arn in described
    # moto has no service environments: the kit stands one in with an unmanaged compute environment
    # and keeps the template's type and order on the handle.
    assert training.properties["JobQueueType"] == "SAGEMAKER_TRAINING"
    stand_in = described[training.arn]["computeEnvironmentOrder"][0]["computeEnvironment"]
    assert stand_in == world.find("Training").attributes["StandIn"]
    assert world.find("Training").arn.startswith("arn:aws:batch:us-east-1:") and ":service-environment/" in (
        world.find("Training").arn
    )


def test_moto_refuses_what_the_kit_absorbs(batchkit_aws: None) -> None:
    """What moto 5.2.5 lacks, so the kit stands in: no CreateServiceEnvironment, and no
    ECS_MANAGED_INSTANCES compute resources."""
    import boto3
    from botocore.exceptions import ClientError

    client = boto3.client("batch", region_name="us-east-1")
    with pytest.raises(Exception, match="(?i)not (yet )?implemented|404|Unknown"):
        client.create_service_environment(
            serviceEnvironmentName="t",
            serviceEnvironmentType="SAGEMAKER_TRAINING",
            capacityLimits=[{"maxCapacity": 1, "capacityUnit": "NUM_INSTANCES"}],
        )
    iam_client = boto3.client("iam", region_name="us-east-1")
    role = iam_client.create_role(RoleName="svc", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    with pytest.raises(ClientError):
        client.create_compute_environment(
            computeEnvironmentName="mi",
            type="MANAGED",
            serviceRole=role,
            computeResources={
                "type": "ECS_MANAGED_INSTANCES",
                "maxvCpus": 4,
                "subnets": [],
                "securityGroupIds": [],
            },
        )
