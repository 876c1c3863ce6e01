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

from aws_cdk import Duration, Size
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from ..model import ComputeKind, ComputeProfile, is_gpu
from ..model.ec2_types import instance_type_problem
from ..model.rules import register
from ._validation import check_range, check_seconds, check_whole, fail, is_token
from .compute import BatchComputeEnvironment, _check_capacity
from .nag import acknowledge, managed_policy_finding
from .network import BatchNetwork

_MI_CE = "https://docs.aws.amazon.com/batch/latest/userguide/ecs-managed-instances-compute-environments.html"
# Both at the root path (arn:aws:iam::aws:policy/NAME), not service-role/: the AWS managed policy reference
# and aws-cdk's deployed integ test integ-managedinstances-capacity-provider (BK-G1 checks each ARN).
_INFRA_POLICY = "AmazonECSInfrastructureRolePolicyForManagedInstances"
_INSTANCE_POLICY = "AmazonECSInstanceRolePolicyForManagedInstances"

register(
    "BK-I3",
    "ECS Managed Instances `instance_types` are EC2 instance types (or `family.*`), not Batch aliases "
    "(`optimal`, `default_*`); storage 1-16,384 GiB, whole GiB; scale-in delay whole seconds.",
    f"{_MI_CE} (instanceRequirements.allowedInstanceTypes, storageConfiguration, infrastructureOptimization) "
    "and https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_InstanceRequirementsRequest.html",
)


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
        scale_in_after: Duration | None = None,
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
        :param security_groups: more security groups besides the network's. Default: none.
        :param storage_size: the instances' data volume. Default: Amazon ECS's default.
        :param scale_in_after: how long an idle instance is kept before it is scaled in. Default: Amazon
            ECS's default.
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
        _check_capacity(self, 0, maxv_cpus)
        types = tuple(instance_types)
        for name in types:
            base = name[:-2] if name.endswith(".*") else name
            problem = None if base.startswith(("optimal", "default_")) else instance_type_problem(base)
            if base.startswith(("optimal", "default_")) or problem is not None:
                fail(
                    self,
                    "instance_types",
                    list(types),
                    problem or f"{name} is a Batch alias; ECS Managed Instances take EC2 instance types",
                )
        gib = None
        if storage_size is not None:
            check_whole(self, "storage_size", storage_size.to_mebibytes() / 1024, "GiB")
            gib = int(storage_size.to_mebibytes() // 1024)
            check_range(self, "storage_size", gib, 1, 16_384)
        if scale_in_after is not None:
            check_seconds(self, "scale_in_after", scale_in_after, 0, None)
        #: Where the instances run.
        self.network = network
        groups = [network.security_group, *security_groups]
        subnets = network.vpc.select_subnets(subnet_type=network.subnet_selection.subnet_type).subnet_ids

        #: The instances' role and its instance profile.
        self.instance_role = instance_role or iam.Role(
            self,
            "InstanceRole",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(_INSTANCE_POLICY)],
        )
        self.instance_profile = iam.InstanceProfile(self, "InstanceProfile", role=self.instance_role)
        #: The role Amazon ECS assumes to launch and manage the instances.
        self.infrastructure_role = infrastructure_role or iam.Role(
            self,
            "InfrastructureRole",
            assumed_by=iam.ServicePrincipal("ecs.amazonaws.com"),
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(_INFRA_POLICY)],
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
                applies_to=managed_policy_finding(_INFRA_POLICY),
            )
        if instance_role is None:
            acknowledge(
                self.instance_role,
                "IAM4",
                "AmazonECSInstanceRolePolicyForManagedInstances is the AWS-maintained policy the ECS "
                "agent on ECS Managed Instances needs.",
                applies_to=managed_policy_finding(_INSTANCE_POLICY),
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
                    scale_in_after=int(scale_in_after.to_seconds())
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
        policy = self.infrastructure_role.node.try_find_child("DefaultPolicy")
        if policy is not None:
            # The PassRole grant must exist before Amazon ECS launches instances with the profile.
            self.cfn.node.add_dependency(policy)
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
