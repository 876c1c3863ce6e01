"""Compute environments: EC2 (on-demand, Spot, Graviton, GPU), Fargate, unmanaged.

All environments live in one stack of an app that runs cdk-nag's AwsSolutionsChecks
with ``write_suppressions_to_cloud_formation=True``; it is synthesized once. An
unacknowledged AwsSolutions finding makes that synth (the fixture) fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Duration, Size
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Annotations, Match, Template
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

from cdk_batchkit.constructs import (
    Architecture,
    BatchNetwork,
    ComputeKind,
    Container,
    ContainerJobDefinition,
    Ec2ComputeEnvironment,
    FargateComputeEnvironment,
    JobQueue,
    NetworkMode,
    UnmanagedComputeEnvironment,
)
from cdk_batchkit.model.instances import GPU_FAMILIES, architecture_of
from tests.support import network, new_stack, template_of

IMAGE = ecs.ContainerImage.from_registry("public.ecr.aws/amazonlinux/amazonlinux:2023")

BOOT_COMMANDS = ("echo batchkit-boot-marker", "sysctl -w vm.max_map_count=262144")


@dataclass
class Synth:
    stack: cdk.Stack
    template: Template
    resources: dict[str, Any]
    envs: dict[str, Any]
    network: BatchNetwork

    def resource(self, construct: IConstruct) -> dict[str, Any]:
        child = construct.node.default_child
        assert child is not None
        return self.resources[self.stack.resolve(child.logical_id)]  # type: ignore[attr-defined]

    def ce(self, name: str) -> dict[str, Any]:
        """Properties of the AWS::Batch::ComputeEnvironment of environment ``name``."""
        res = self.resource(self.envs[name].resource)
        assert res["Type"] == "AWS::Batch::ComputeEnvironment"
        return res["Properties"]

    def launch_template(self, name: str) -> dict[str, Any]:
        res = self.resource(self.envs[name].launch_template)
        assert res["Type"] == "AWS::EC2::LaunchTemplate"
        return res["Properties"]["LaunchTemplateData"]


@pytest.fixture(scope="module")
def synth() -> Synth:
    app = cdk.App()
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True))
    stack = cdk.Stack(app, "Compute")
    net = network(stack)
    private = BatchNetwork(stack, "PrivateNetwork", mode=NetworkMode.PRIVATE_WITH_NAT)
    own_role = iam.Role(stack, "OwnInstanceRole", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
    envs: dict[str, Any] = {
        "OnDemand": Ec2ComputeEnvironment(stack, "OnDemand", network=net, user_data_commands=BOOT_COMMANDS),
        "BigDisk": Ec2ComputeEnvironment(
            stack,
            "BigDisk",
            network=net,
            root_volume_size=Size.gibibytes(200),
            update_timeout=Duration.minutes(120),
            terminate_on_update=True,
            minv_cpus=4,
            maxv_cpus=64,
        ),
        "Spot": Ec2ComputeEnvironment(stack, "Spot", network=net, spot=True),
        "ArmSpot": Ec2ComputeEnvironment(
            stack, "ArmSpot", network=net, spot=True, architecture=Architecture.ARM64
        ),
        "ArmOnDemand": Ec2ComputeEnvironment(
            stack, "ArmOnDemand", network=net, architecture=Architecture.ARM64
        ),
        "Gpu": Ec2ComputeEnvironment(stack, "Gpu", network=net, gpu=True),
        "BestFitSpot": Ec2ComputeEnvironment(
            stack,
            "BestFitSpot",
            network=net,
            spot=True,
            allocation_strategy=batch.AllocationStrategy.BEST_FIT,
        ),
        "OwnRole": Ec2ComputeEnvironment(stack, "OwnRole", network=net, instance_role=own_role),
        "Private": Ec2ComputeEnvironment(stack, "Private", network=private),
        "MultiNode": Ec2ComputeEnvironment(
            stack, "MultiNode", network=private, multi_node=True, cluster_placement=True
        ),
        "Fargate": FargateComputeEnvironment(stack, "Fargate", network=net),
        "FargateSpot": FargateComputeEnvironment(stack, "FargateSpot", network=net, spot=True, maxv_cpus=32),
        "Unmanaged": UnmanagedComputeEnvironment(stack, "Unmanaged", unmanagedv_cpus=48),
    }
    template = template_of(stack)
    return Synth(stack, template, template.to_json()["Resources"], envs, net)


def _strings(value: Any) -> list[str]:
    """Every literal string inside a CloudFormation value (walking intrinsics)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _family(instance_type: str) -> str:
    return instance_type.split(".", 1)[0]


# --- EC2 on-demand defaults -------------------------------------------------------------------


def test_on_demand_defaults(synth: Synth) -> None:
    props = synth.ce("OnDemand")
    resources = props["ComputeResources"]
    assert props["Type"] == "managed"
    assert resources["Type"] == "EC2"
    assert resources["AllocationStrategy"] == "BEST_FIT_PROGRESSIVE"
    assert resources["InstanceTypes"] == ["default_x86_64"]
    assert resources["MinvCpus"] == 0
    assert resources["MaxvCpus"] == 256
    assert resources["Ec2Configuration"] == [{"ImageType": "ECS_AL2023"}]
    assert resources["UpdateToLatestImageVersion"] is True
    assert "SpotIamFleetRole" not in resources
    assert "BidPercentage" not in resources


def test_on_demand_updates_in_place_and_lets_jobs_finish(synth: Synth) -> None:
    props = synth.ce("OnDemand")
    assert props["ReplaceComputeEnvironment"] is False
    assert props["UpdatePolicy"] == {"JobExecutionTimeoutMinutes": 30, "TerminateJobsOnUpdate": False}


def test_update_policy_and_capacity_are_configurable(synth: Synth) -> None:
    props = synth.ce("BigDisk")
    assert props["UpdatePolicy"] == {"JobExecutionTimeoutMinutes": 120, "TerminateJobsOnUpdate": True}
    assert (props["ComputeResources"]["MinvCpus"], props["ComputeResources"]["MaxvCpus"]) == (4, 64)


def test_managed_environments_use_the_service_linked_role(synth: Synth) -> None:
    for name in ("OnDemand", "Spot", "BestFitSpot", "Gpu", "Fargate", "FargateSpot", "Unmanaged"):
        assert "ServiceRole" not in synth.ce(name), name
    # The L2's legacy AWSBatchServiceRole (created for unmanaged environments) is dropped.
    assert "AWSBatchServiceRole" not in "".join(_strings(synth.resources))


def test_compute_uses_network_subnets_and_security_group(synth: Synth) -> None:
    resources = synth.ce("OnDemand")["ComputeResources"]
    assert resources["SecurityGroupIds"] == [
        synth.stack.resolve(synth.network.security_group.security_group_id)
    ]
    assert resources["Subnets"] == synth.stack.resolve(
        [s.subnet_id for s in synth.network.vpc.public_subnets]
    )


# --- multi-node parallel jobs ----------------------------------------------------------------


def test_multi_node_environment_adds_the_cluster_security_group(synth: Synth) -> None:
    private = synth.envs["MultiNode"].network
    resources = synth.ce("MultiNode")["ComputeResources"]
    assert resources["SecurityGroupIds"] == synth.stack.resolve(
        [private.security_group.security_group_id, private.cluster_security_group.security_group_id]
    )
    assert synth.envs["MultiNode"].profile.node_traffic is True
    assert synth.envs["Private"].profile.node_traffic is False


def test_cluster_security_group_allows_all_traffic_between_members_only(synth: Synth) -> None:
    cluster = synth.envs["MultiNode"].network.cluster_security_group
    group_id = synth.stack.resolve(cluster.security_group_id)
    ingress = [
        r["Properties"]
        for r in synth.resources.values()
        if r["Type"] == "AWS::EC2::SecurityGroupIngress" and r["Properties"]["GroupId"] == group_id
    ]
    assert ingress == [
        {
            "Description": "Nodes of multi-node parallel jobs",
            "GroupId": group_id,
            "IpProtocol": "-1",
            "SourceSecurityGroupId": group_id,
        }
    ]
    sg = synth.resources[synth.stack.resolve(cluster.node.default_child.logical_id)]["Properties"]
    assert "SecurityGroupIngress" not in sg


def test_networks_without_multi_node_environments_have_no_cluster_group(synth: Synth) -> None:
    # The default public network stays without any inbound rule.
    assert synth.network.node.try_find_child("ClusterSecurityGroup") is None
    public_sg = synth.stack.resolve(synth.network.security_group.security_group_id)
    assert not [
        r
        for r in synth.resources.values()
        if r["Type"] == "AWS::EC2::SecurityGroupIngress" and r["Properties"]["GroupId"] == public_sg
    ]


def test_cluster_placement_creates_a_cluster_group_in_one_zone(synth: Synth) -> None:
    groups = [r["Properties"] for r in synth.resources.values() if r["Type"] == "AWS::EC2::PlacementGroup"]
    assert groups == [{"Strategy": "cluster"}]
    env = synth.envs["MultiNode"]
    resources = synth.ce("MultiNode")["ComputeResources"]
    assert resources["PlacementGroup"] == synth.stack.resolve(env.placement_group.placement_group_name)
    first = env.network.vpc.select_subnets(subnet_type=env.network.subnet_selection.subnet_type).subnets[0]
    assert resources["Subnets"] == [synth.stack.resolve(first.subnet_id)]
    assert len(synth.ce("Private")["ComputeResources"]["Subnets"]) == 2


def test_rejects_multi_node_on_spot() -> None:
    with pytest.raises(
        ValueError, match=r"multi_node=True is invalid: multi-node parallel jobs are not supported"
    ):
        _ec2(spot=True, multi_node=True)


def test_rejects_both_placement_options() -> None:
    stack = new_stack()
    group = ec2.PlacementGroup(stack, "Mine")
    with pytest.raises(ValueError, match=r"cluster_placement=True is invalid: give either placement_group"):
        Ec2ComputeEnvironment(
            stack, "Compute", network=network(stack), placement_group=group, cluster_placement=True
        )


# --- the launch template ----------------------------------------------------------------------


def test_launch_template_requires_imdsv2_with_hop_limit_2(synth: Synth) -> None:
    data = synth.launch_template("OnDemand")
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert data["MetadataOptions"]["HttpPutResponseHopLimit"] == 2


def test_launch_template_root_volume_is_encrypted_gp3_30_gib(synth: Synth) -> None:
    assert synth.launch_template("OnDemand")["BlockDeviceMappings"] == [
        {
            "DeviceName": "/dev/xvda",
            "Ebs": {"DeleteOnTermination": True, "Encrypted": True, "VolumeSize": 30, "VolumeType": "gp3"},
        }
    ]


def test_launch_template_root_volume_size_is_configurable(synth: Synth) -> None:
    (mapping,) = synth.launch_template("BigDisk")["BlockDeviceMappings"]
    assert mapping["DeviceName"] == "/dev/xvda"
    assert mapping["Ebs"]["VolumeSize"] == 200
    assert mapping["Ebs"]["Encrypted"] is True


def test_launch_template_user_data_is_mime_multipart_with_commands(synth: Synth) -> None:
    user_data = synth.launch_template("OnDemand")["UserData"]
    text = "".join(_strings(user_data))
    assert "Content-Type: multipart/mixed" in text
    assert "text/x-shellscript" in text
    for command in BOOT_COMMANDS:
        assert command in text
    assert "echo batchkit-boot-marker" not in "".join(_strings(synth.launch_template("Spot")["UserData"]))


def test_environment_references_launch_template_latest_version_number(synth: Synth) -> None:
    for name in ("OnDemand", "Spot", "Gpu", "BestFitSpot"):
        env = synth.envs[name]
        lt_id = synth.stack.resolve(env.launch_template.node.default_child.logical_id)
        reference = synth.ce(name)["ComputeResources"]["LaunchTemplate"]
        assert reference["LaunchTemplateId"] == {"Ref": lt_id}
        assert reference.get("Version") == {"Fn::GetAtt": [lt_id, "LatestVersionNumber"]}, name


# --- Spot, Graviton, GPU ----------------------------------------------------------------------


def test_spot_defaults_to_price_capacity_optimized_over_diverse_families(synth: Synth) -> None:
    resources = synth.ce("Spot")["ComputeResources"]
    assert resources["Type"] == "SPOT"
    assert resources["AllocationStrategy"] == "SPOT_PRICE_CAPACITY_OPTIMIZED"
    families = {_family(t) for t in resources["InstanceTypes"]}
    assert len(families) >= 5
    assert all(architecture_of(f) is Architecture.X86_64 for f in families)
    assert "SpotIamFleetRole" not in resources
    assert synth.ce("Spot")["ReplaceComputeEnvironment"] is False


def test_graviton_spot_uses_only_arm_families(synth: Synth) -> None:
    resources = synth.ce("ArmSpot")["ComputeResources"]
    types = resources["InstanceTypes"]
    assert resources["Type"] == "SPOT"
    assert "optimal" not in types
    assert len({_family(t) for t in types}) >= 5
    assert all(architecture_of(t) is Architecture.ARM64 for t in types)
    assert resources["Ec2Configuration"] == [{"ImageType": "ECS_AL2023"}]


def test_graviton_on_demand_uses_default_arm64(synth: Synth) -> None:
    resources = synth.ce("ArmOnDemand")["ComputeResources"]
    assert resources["InstanceTypes"] == ["default_arm64"]
    assert resources["Type"] == "EC2"


def test_gpu_uses_nvidia_image_and_gpu_families(synth: Synth) -> None:
    resources = synth.ce("Gpu")["ComputeResources"]
    assert resources["Ec2Configuration"] == [{"ImageType": "ECS_AL2023_NVIDIA"}]
    assert resources["InstanceTypes"]
    assert all(_family(t) in GPU_FAMILIES for t in resources["InstanceTypes"])
    synth.template.has_resource_properties(
        "AWS::Batch::ComputeEnvironment",
        {"ComputeResources": Match.object_like({"Ec2Configuration": [{"ImageType": "ECS_AL2023_NVIDIA"}]})},
    )


def test_best_fit_spot_gets_a_tagging_spot_fleet_role_and_is_replaced(synth: Synth) -> None:
    props = synth.ce("BestFitSpot")
    resources = props["ComputeResources"]
    assert resources["AllocationStrategy"] == "BEST_FIT"
    assert props["ReplaceComputeEnvironment"] is True
    role_ref = resources["SpotIamFleetRole"]
    role_id, attribute = role_ref["Fn::GetAtt"]
    assert attribute == "Arn"
    role = synth.resources[role_id]
    assert role["Type"] == "AWS::IAM::Role"
    principals = [s["Principal"] for s in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]]
    assert {"Service": "spotfleet.amazonaws.com"} in principals
    policies = "".join(_strings(role["Properties"]["ManagedPolicyArns"]))
    assert "service-role/AmazonEC2SpotFleetTaggingRole" in policies


# --- cdk-nag acknowledgements -----------------------------------------------------------------


def _suppressions(resource: dict[str, Any]) -> list[dict[str, str]]:
    return resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])


def test_instance_role_managed_policy_is_acknowledged_in_metadata(synth: Synth) -> None:
    ce = synth.resource(synth.envs["OnDemand"].resource)
    iam4 = [s for s in _suppressions(ce) if "AwsSolutions-IAM4" in s["id"]]
    assert len(iam4) == 1
    assert "AmazonEC2ContainerServiceforEC2Role" in iam4[0]["id"]
    assert iam4[0]["reason"].strip()


def test_no_acknowledgement_when_instance_role_is_given(synth: Synth) -> None:
    ce = synth.resource(synth.envs["OwnRole"].resource)
    assert not [s for s in _suppressions(ce) if "AwsSolutions-IAM4" in s["id"]]
    own_role = synth.stack.node.find_child("OwnInstanceRole")
    assert isinstance(own_role, iam.Role)
    profile_roles = [
        r["Properties"]["Roles"] for r in synth.resources.values() if r["Type"] == "AWS::IAM::InstanceProfile"
    ]
    assert [synth.stack.resolve(own_role.role_name)] in profile_roles


# --- profiles ---------------------------------------------------------------------------------


def test_ec2_profiles(synth: Synth) -> None:
    on_demand = synth.envs["OnDemand"].profile
    assert on_demand.kind is ComputeKind.EC2
    assert on_demand.architecture is Architecture.X86_64
    assert on_demand.spot is False
    assert on_demand.instance_types == ("default_x86_64",)
    assert on_demand.maxv_cpus == 256
    assert on_demand.gpu is False
    assert (on_demand.public_subnets, on_demand.private_egress) == (True, False)

    arm_spot = synth.envs["ArmSpot"].profile
    assert arm_spot.architecture is Architecture.ARM64
    assert arm_spot.spot is True
    assert arm_spot.instance_types == tuple(synth.ce("ArmSpot")["ComputeResources"]["InstanceTypes"])

    assert synth.envs["Gpu"].profile.gpu is True
    private = synth.envs["Private"].profile
    assert (private.public_subnets, private.private_egress) == (False, True)


def test_fargate_and_unmanaged_profiles(synth: Synth) -> None:
    fargate, fargate_spot = synth.envs["Fargate"].profile, synth.envs["FargateSpot"].profile
    assert (fargate.kind, fargate.spot) == (ComputeKind.FARGATE, False)
    assert (fargate_spot.kind, fargate_spot.spot, fargate_spot.maxv_cpus) == (
        ComputeKind.FARGATE_SPOT,
        True,
        32,
    )
    assert fargate.public_subnets is True
    unmanaged = synth.envs["Unmanaged"].profile
    assert unmanaged.kind is ComputeKind.UNMANAGED
    assert unmanaged.spot is False


# --- Fargate and unmanaged --------------------------------------------------------------------


def test_fargate_and_fargate_spot(synth: Synth) -> None:
    sg = [synth.stack.resolve(synth.network.security_group.security_group_id)]
    subnets = synth.stack.resolve([s.subnet_id for s in synth.network.vpc.public_subnets])
    for name, cfn_type, maxv in (("Fargate", "FARGATE", 256), ("FargateSpot", "FARGATE_SPOT", 32)):
        props = synth.ce(name)
        assert props["Type"] == "managed"
        assert props["ComputeResources"] == {
            "Type": cfn_type,
            "MaxvCpus": maxv,
            "SecurityGroupIds": sg,
            "Subnets": subnets,
        }
        # Batch cannot update these on Fargate (aws-cdk#27054): none is rendered (BK-C9).
        assert "ReplaceComputeEnvironment" not in props
        assert "UpdatePolicy" not in props
        assert "UpdateToLatestImageVersion" not in props["ComputeResources"]


def test_update_fields_rendered_per_kind(synth: Synth) -> None:
    """EC2 environments keep their in-place update policy; Fargate and unmanaged render none."""
    for name in ("OnDemand", "Spot", "Gpu", "Private"):
        props = synth.ce(name)
        assert props["ReplaceComputeEnvironment"] is False, name
        assert set(props["UpdatePolicy"]) == {"JobExecutionTimeoutMinutes", "TerminateJobsOnUpdate"}, name
        assert props["ComputeResources"]["UpdateToLatestImageVersion"] is True, name
    for name in ("Fargate", "FargateSpot", "Unmanaged"):
        props = synth.ce(name)
        assert "UpdatePolicy" not in props and "ReplaceComputeEnvironment" not in props, name
        assert "UpdateToLatestImageVersion" not in props.get("ComputeResources", {}), name


@pytest.mark.parametrize("prop", ["update_timeout", "terminate_on_update", "replace_compute_environment"])
def test_fargate_constructor_does_not_offer_update_fields(prop: str) -> None:
    stack = new_stack()
    with pytest.raises(TypeError, match=prop):
        FargateComputeEnvironment(stack, "Fargate", network=network(stack), **{prop: True})  # type: ignore[arg-type]


def test_unmanaged(synth: Synth) -> None:
    props = synth.ce("Unmanaged")
    assert props["Type"] == "unmanaged"
    assert props["UnmanagedvCpus"] == 48
    assert "ComputeResources" not in props


# --- validation -------------------------------------------------------------------------------


def _ec2(**kwargs: Any) -> Ec2ComputeEnvironment:
    stack = new_stack()
    return Ec2ComputeEnvironment(stack, "Compute", network=network(stack), **kwargs)


def test_rejects_minv_cpus_above_maxv_cpus() -> None:
    with pytest.raises(ValueError, match=r"minv_cpus=16 is invalid: must not exceed maxv_cpus \(8\)"):
        _ec2(minv_cpus=16, maxv_cpus=8)


def test_rejects_maxv_cpus_zero() -> None:
    with pytest.raises(ValueError, match=r"maxv_cpus=0 is invalid"):
        _ec2(maxv_cpus=0)


def test_rejects_fargate_maxv_cpus_zero() -> None:
    stack = new_stack()
    with pytest.raises(ValueError, match=r"maxv_cpus=0 is invalid"):
        FargateComputeEnvironment(stack, "Fargate", network=network(stack), maxv_cpus=0)


def test_rejects_spot_bid_percentage_without_spot() -> None:
    with pytest.raises(ValueError, match=r"spot_bid_percentage=50 is invalid: only applies with spot=True"):
        _ec2(spot_bid_percentage=50)


@pytest.mark.parametrize("percentage", [0, 101])
def test_rejects_spot_bid_percentage_out_of_range(percentage: int) -> None:
    with pytest.raises(
        ValueError, match=rf"spot_bid_percentage={percentage} is invalid: must be between 1 and 100"
    ):
        _ec2(spot=True, spot_bid_percentage=percentage)


def test_rejects_root_volume_below_30_gib() -> None:
    with pytest.raises(ValueError, match=r"root_volume_size='29 GiB' is invalid: must be at least 30 GiB"):
        _ec2(root_volume_size=Size.gibibytes(29))


@pytest.mark.parametrize("timeout", [Duration.seconds(30), Duration.minutes(361)], ids=["30s", "361min"])
def test_rejects_update_timeout_out_of_range(timeout: Duration) -> None:
    with pytest.raises(
        ValueError, match=r"update_timeout=.* is invalid: must be between 60 and 21600 seconds"
    ):
        _ec2(update_timeout=timeout)


def test_rejects_gpu_with_arm64() -> None:
    with pytest.raises(ValueError, match=r"gpu=True is invalid"):
        _ec2(gpu=True, architecture=Architecture.ARM64)


@pytest.mark.parametrize(
    ("types", "culprit"),
    [(["c7g", "c6i"], "c6i"), (["optimal"], "optimal"), (["c7g.2xlarge", "m6i.large"], "m6i.large")],
)
def test_rejects_x86_instance_types_with_arm64(types: list[str], culprit: str) -> None:
    with pytest.raises(
        ValueError, match=rf"instance_types=.* is invalid: {culprit} is x86_64 but architecture is arm64"
    ):
        _ec2(architecture=Architecture.ARM64, instance_types=types)


def test_rejects_arm_instance_types_with_x86() -> None:
    with pytest.raises(
        ValueError, match=r"instance_types=.* is invalid: c7g is arm64 but architecture is x86_64"
    ):
        _ec2(instance_types=["c6i", "c7g"])


def test_rejects_gpu_family_without_gpu() -> None:
    with pytest.raises(ValueError, match=r"instance_types=.* is invalid: g5 is a GPU family; set gpu=True"):
        _ec2(instance_types=["c6i", "g5"])


def test_rejects_non_gpu_family_with_gpu() -> None:
    with pytest.raises(ValueError, match=r"instance_types=.* is invalid: c6i has no GPU but gpu=True"):
        _ec2(gpu=True, instance_types=["g5", "c6i"])


@pytest.mark.parametrize(
    "strategy",
    [
        batch.AllocationStrategy.SPOT_PRICE_CAPACITY_OPTIMIZED,
        batch.AllocationStrategy.SPOT_CAPACITY_OPTIMIZED,
    ],
)
def test_rejects_spot_strategy_without_spot(strategy: batch.AllocationStrategy) -> None:
    with pytest.raises(
        ValueError, match=r"allocation_strategy=.* is invalid: Spot strategies need spot=True"
    ):
        _ec2(allocation_strategy=strategy)


def test_rejects_in_place_updates_with_best_fit() -> None:
    with pytest.raises(ValueError, match=r"replace_compute_environment=False is invalid: BEST_FIT"):
        _ec2(allocation_strategy=batch.AllocationStrategy.BEST_FIT, replace_compute_environment=False)


def test_rejects_empty_instance_types() -> None:
    with pytest.raises(ValueError, match=r"instance_types=\[\] is invalid: needs at least one"):
        _ec2(instance_types=[])


def test_rejects_blank_instance_type() -> None:
    with pytest.raises(ValueError, match=r"instance_types=.* is invalid: '' is not an instance type"):
        _ec2(instance_types=["c6i", ""])


def test_rejects_unmanaged_vcpus_out_of_range() -> None:
    with pytest.raises(ValueError, match=r"unmanagedv_cpus=-1 is invalid"):
        UnmanagedComputeEnvironment(new_stack(), "Unmanaged", unmanagedv_cpus=-1)


def test_validation_names_the_construct_path() -> None:
    with pytest.raises(ValueError, match=r"^Test/Compute: maxv_cpus=0"):
        _ec2(maxv_cpus=0)


# --- catalog gaps and unit conversions ------------------------------------------------------------


@pytest.mark.parametrize("instance_type", ["p5e", "p4de.24xlarge"])
def test_accepts_nvidia_family_missing_from_catalog_with_gpu(instance_type: str) -> None:
    assert _ec2(gpu=True, instance_types=[instance_type]).profile.gpu is True


def test_rejects_gpu_family_missing_from_catalog_without_gpu() -> None:
    with pytest.raises(ValueError, match=r"instance_types=.* is invalid: p5e is a GPU family"):
        _ec2(instance_types=["p5e"])


def test_a1_is_arm64() -> None:
    assert (
        _ec2(architecture=Architecture.ARM64, instance_types=["a1"]).profile.architecture
        is Architecture.ARM64
    )
    with pytest.raises(ValueError, match=r"instance_types=.* is invalid: a1 is arm64"):
        _ec2(instance_types=["c6i", "a1"])


@pytest.mark.parametrize(
    ("prop", "value"),
    [("update_timeout", Duration.seconds(90)), ("root_volume_size", Size.mebibytes(31 * 1024 + 512))],
    ids=["update_timeout-90s", "root_volume_size-31.5GiB"],
)
def test_rejects_non_whole_units_with_a_value_error(prop: str, value: Any) -> None:
    with pytest.raises(ValueError, match=rf"{prop}="):
        _ec2(**{prop: value})


# --- instance types exist (BK-C7) and unknown sizes warn (BK-C8) ----------------------------------


def test_rejects_a_misspelled_instance_type_naming_the_closest() -> None:
    stack = new_stack()
    with pytest.raises(
        ValueError, match=r"instance_types=.*'c6i.4xlarg' is not a known EC2 instance type.*c6i.4xlarge"
    ):
        Ec2ComputeEnvironment(stack, "Typo", network=network(stack), instance_types=["c6i.4xlarg"])


def test_a_real_family_missing_from_the_size_catalog_warns_and_skips_the_size_check() -> None:
    stack = new_stack()
    env = Ec2ComputeEnvironment(stack, "Hpc", network=network(stack), instance_types=["hpc7a"])
    queue = JobQueue(stack, "Queue", compute_environments=[env])
    huge = ContainerJobDefinition(
        stack, "Huge", container=Container(image=IMAGE, vcpus=200, memory=cdk.Size.gibibytes(20 * 1024))
    )
    queue.add_job_definition(huge)  # maxvCpus 256 holds 200 vCPUs; the size cannot be judged
    annotations = Annotations.from_stack(stack)
    catalog = annotations.find_warning(
        "/Test/Hpc", Match.string_like_regexp("hpc7a is not in the instance size")
    )
    assert catalog
    unchecked = annotations.find_warning(
        "/Test/Queue", Match.string_like_regexp("instance sizes not checked")
    )
    assert unchecked
