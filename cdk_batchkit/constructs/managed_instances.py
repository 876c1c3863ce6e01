"""ECS Managed Instances compute environments (``computeResources.type`` ECS_MANAGED_INSTANCES).

The aws_batch L2 has no construct for them, so this one builds the L1 with the library's defaults: no
idle capacity (Amazon ECS scales instances in when idle), in the network's subnets and security group,
a dedicated infrastructure role for Amazon ECS and an instance profile, on-demand unless ``spot=True``.
Jobs that run here are ECS jobs with ``platformCapabilities: MANAGED_INSTANCES`` (``ecsProperties``
only, ``host`` network mode): the fit check rejects EC2, Fargate and EKS job definitions on a queue of
these environments, and the queue rules keep them apart from EC2 and Fargate environments.

Sources: https://docs.aws.amazon.com/batch/latest/userguide/ecs-managed-instances-compute-environments.html,
https://docs.aws.amazon.com/batch/latest/userguide/ecs-managed-instances-job-definitions.html,
https://docs.aws.amazon.com/batch/latest/userguide/ecs-managed-instances-job-queues.html,
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/managed-instances-instance-profile.html.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from aws_cdk import Duration, Size
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from ..model import ComputeKind, ComputeProfile, is_gpu
from ..model.compute import ComputeSettings
from ..model.rules import check_compute
from ..model.values import known
from ._validation import (
    fail,
    gibibytes_of,
    is_token,
    mebibytes_of,
    node_of,
    report,
    seconds_of,
    service_principal,
)
from .compute import BatchComputeEnvironment
from .nag import acknowledge, managed_policy_finding
from .network import BatchNetwork

#: Both AWS managed policies live at the root policy path (arn:aws:iam::aws:policy/NAME), not under
#: service-role/: the ECS developer guide attaches arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicy-
#: ForManagedInstances (infrastructure role) and ...:policy/AmazonECSInstanceRolePolicyForManagedInstances
#: (instance profile), and aws-cdk's ecs.ManagedInstancesCapacityProvider uses
#: ManagedPolicy.fromAwsManagedPolicyName("AmazonECSInfrastructureRolePolicyForManagedInstances") in its
#: deployed integ test integ-managedinstances-capacity-provider.
#: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/infrastructure_IAM_role.html and
#: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/managed-instances-instance-profile.html
INFRASTRUCTURE_POLICY = "AmazonECSInfrastructureRolePolicyForManagedInstances"
INSTANCE_POLICY = "AmazonECSInstanceRolePolicyForManagedInstances"


class ManagedInstancesComputeEnvironment(BatchComputeEnvironment):
    """A managed compute environment on Amazon ECS Managed Instances: Amazon ECS picks, patches and
    scales the EC2 instances; AWS Batch schedules the jobs.

    ``resource`` is an ``IComputeEnvironment`` for queues; the L1 is ``cfn`` (the ``"Resource"`` child).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        network: BatchNetwork,
        spot: bool = False,
        maxv_cpus: int = 256,
        instance_types: Sequence[str] = (),
        security_groups: Sequence[ec2.ISecurityGroup] = (),
        storage_size: Size | None = None,
        scale_in_after: Duration | Literal["never"] | None = None,
        propagate_tags: bool = True,
        infrastructure_role: iam.IRole | None = None,
        instance_role: iam.IRole | None = None,
        compute_environment_name: str | None = None,
    ) -> None:
        """
        :param network: where the instances run (its subnets and security group).
        :param spot: launch Spot instances (``capacityOptionType: SPOT``). Default: on-demand.
        :param maxv_cpus: upper bound on the vCPUs that running jobs request (Batch counts job vCPUs,
            not instance vCPUs). Default: 256.
        :param instance_types: the EC2 instance types Amazon ECS may launch (``m7i.2xlarge`` or
            ``m7i.*``). Default: every type (Amazon ECS picks one that fits each job, x86_64 or ARM64 as
            the job definition's ``runtimePlatform`` asks).
        :param security_groups: more security groups besides the network's. Default: the network's
            security group only.
        :param storage_size: the instances' data volume. Default: Amazon ECS's default.
        :param scale_in_after: how long an idle instance is kept before it is scaled in (0-3600 whole
            seconds), or ``"never"`` to keep idle instances (rendered as ``-1``; they are billed while
            idle). Default: Amazon ECS's default.
        :param propagate_tags: tag the launched instances with the capacity provider's tags. Default: True.
        :param infrastructure_role: the role Amazon ECS assumes to manage the instances (trusted by
            ``ecs.amazonaws.com``). Default: a new role with the AWS managed
            AmazonECSInfrastructureRolePolicyForManagedInstances policy, plus ``iam:PassRole`` on the
            instance role (that policy only passes roles named ``ecsInstanceRole*``; this library does not
            set physical names).
        :param instance_role: the instances' role. Default: a new role with the AWS managed
            AmazonECSInstanceRolePolicyForManagedInstances policy. An instance profile is made for it.
        :param compute_environment_name: physical name. Default: generated.
        """
        super().__init__(scope, construct_id)
        if isinstance(scale_in_after, str) and scale_in_after != "never":
            fail(self, "scale_in_after", scale_in_after, 'give a Duration or "never"')
        types = tuple(instance_types)
        mib = None if storage_size is None else known(mebibytes_of(storage_size))
        settings = ComputeSettings(
            kind=ComputeKind.ECS_MANAGED_INSTANCES_SPOT if spot else ComputeKind.ECS_MANAGED_INSTANCES,
            name=compute_environment_name,
            maxv_cpus=maxv_cpus,
            instance_types=types,
            storage_gib=None if mib is None else mib / 1024,
            scale_in_after_seconds=_scale_in_seconds(scale_in_after),
        )
        report(self, check_compute(settings))
        #: What the rules judged: the settings of this environment (CDK-free).
        self.settings = settings
        gib: float | None = None
        if storage_size is not None:
            gib = gibibytes_of(storage_size) if settings.storage_gib is None else int(settings.storage_gib)
        #: Where the instances run.
        self.network = network
        groups = [network.security_group, *security_groups]
        subnets = network.vpc.select_subnets(subnet_type=network.subnet_selection.subnet_type).subnet_ids

        #: The instances' role and its instance profile.
        self.instance_role = instance_role or iam.Role(
            self,
            "InstanceRole",
            assumed_by=service_principal("ec2.amazonaws.com"),
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(INSTANCE_POLICY)],
        )
        self.instance_profile = iam.InstanceProfile(self, "InstanceProfile", role=self.instance_role)
        #: The role Amazon ECS assumes to launch and manage the instances.
        self.infrastructure_role = infrastructure_role or iam.Role(
            self,
            "InfrastructureRole",
            assumed_by=service_principal("ecs.amazonaws.com"),
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(INFRASTRUCTURE_POLICY)],
        )
        if infrastructure_role is None:
            self.infrastructure_role.add_to_principal_policy(
                iam.PolicyStatement(actions=["iam:PassRole"], resources=[self.instance_role.role_arn])
            )
            acknowledge(
                self.infrastructure_role,
                "IAM4",
                "AmazonECSInfrastructureRolePolicyForManagedInstances is the AWS-maintained policy "
                "Amazon ECS needs to launch and manage ECS Managed Instances.",
                applies_to=managed_policy_finding(INFRASTRUCTURE_POLICY),
            )
        if instance_role is None:
            acknowledge(
                self.instance_role,
                "IAM4",
                "AmazonECSInstanceRolePolicyForManagedInstances is the AWS-maintained policy the ECS "
                "agent on ECS Managed Instances needs.",
                applies_to=managed_policy_finding(INSTANCE_POLICY),
            )

        launch: dict[str, object] = {
            "ec2_instance_profile_arn": self.instance_profile.instance_profile_arn,
            "network_configuration": batch.CfnComputeEnvironment.ManagedInstancesNetworkConfigurationProperty(
                subnets=subnets, security_groups=[g.security_group_id for g in groups]
            ),
            "capacity_option_type": "SPOT" if spot else "ON_DEMAND",
        }
        if types:
            launch["instance_requirements"] = batch.CfnComputeEnvironment.InstanceRequirementsProperty(
                allowed_instance_types=list(types)
            )
        if gib is not None:
            launch["storage_configuration"] = (
                batch.CfnComputeEnvironment.ManagedInstancesStorageConfigurationProperty(storage_size_gib=gib)
            )
        provider = batch.CfnComputeEnvironment.ManagedInstancesProviderProperty(
            infrastructure_role_arn=self.infrastructure_role.role_arn,
            instance_launch_template=batch.CfnComputeEnvironment.InstanceLaunchTemplateProperty(**launch),  # type: ignore[arg-type]
            propagate_tags="CAPACITY_PROVIDER" if propagate_tags else "NONE",
            infrastructure_optimization=(
                batch.CfnComputeEnvironment.InfrastructureOptimizationProperty(
                    scale_in_after=int(settings.scale_in_after_seconds)
                    if settings.scale_in_after_seconds is not None
                    else _scale_in_token(scale_in_after)
                )
                if scale_in_after is not None
                else None
            ),
        )
        #: The AWS::Batch::ComputeEnvironment.
        self.cfn = batch.CfnComputeEnvironment(
            self,
            "Resource",
            type="MANAGED",
            compute_environment_name=compute_environment_name,
            compute_resources=batch.CfnComputeEnvironment.ComputeResourcesProperty(
                type="ECS_MANAGED_INSTANCES",
                maxv_cpus=maxv_cpus,
                managed_instances_provider=provider,
            ),
        )
        policy = node_of(self.infrastructure_role).try_find_child("DefaultPolicy")
        if policy is not None:
            # The PassRole grant must exist before Amazon ECS launches instances with the profile.
            node_of(self.cfn).add_dependency(policy)
        #: The environment as queues take it.
        self.resource = batch.ManagedEc2EcsComputeEnvironment.from_managed_ec2_ecs_compute_environment_arn(
            self, "Ref", self.cfn.attr_compute_environment_arn
        )
        self.profile = ComputeProfile(
            kind=ComputeKind.ECS_MANAGED_INSTANCES_SPOT if spot else ComputeKind.ECS_MANAGED_INSTANCES,
            # Each job definition picks x86_64 or ARM64 (runtimePlatform); Amazon ECS matches capacity.
            architecture=None,
            maxv_cpus=None if is_token(maxv_cpus) else maxv_cpus,
            instance_types=types,
            gpu=not types or any(is_gpu(t.split(".", 1)[0]) for t in types),
            public_subnets=network.public_subnets,
            private_egress=network.private_egress,
            internet=network.internet,
            node_traffic=False,
        )


def _scale_in_seconds(value: Duration | str | None) -> float | None:
    """The delay in seconds as the rules judge it: -1 for ``"never"``, None when unset or a token."""
    if value is None:
        return None
    if isinstance(value, str):  # "never" (anything else was refused)
        return -1
    return known(seconds_of(value))


def _scale_in_token(value: Duration | str | None) -> float:
    """The delay of a Duration whose seconds are only known at deploy time (a token)."""
    assert isinstance(value, Duration)
    return seconds_of(value)
