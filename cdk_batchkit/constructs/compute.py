"""Compute environments: EC2 on-demand and Spot, Fargate and Fargate Spot, unmanaged.

Each wraps the ``aws_cdk.aws_batch`` L2 (exposed as ``.resource``) and fixes its
defaults: a hardened launch template referenced by version number, AL2023
images kept up to date, in-place infrastructure updates that let running jobs
finish, no idle capacity, and none of the instance/strategy combinations Batch
rejects at deploy time. Each also describes itself as a :class:`ComputeProfile`
so a queue can check at synth that a job can ever run on it.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Annotations, Duration, Size
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from ..model import Architecture, ComputeKind, ComputeProfile, architecture_of, is_gpu, shape_of
from ..model.ec2_types import instance_type_problem
from ..model.rules import register
from ._validation import check_range, check_seconds, check_whole, fail, is_token
from .encryption import KeyUser, encryption_key
from .nag import acknowledge, managed_policy_finding
from .network import BatchNetwork

#: Spot capacity is deep when it is diversified: several families and generations.
SPOT_FAMILIES = {
    Architecture.X86_64: ("c6i", "c7i", "c6a", "m6i", "m7i", "m6a", "r6i", "r7i", "c5", "m5"),
    Architecture.ARM64: ("c6g", "c7g", "c8g", "m6g", "m7g", "m8g", "r6g", "r7g"),
}
#: Batch picks current-generation general/compute/memory types for these aliases.
ON_DEMAND_DEFAULT = {Architecture.X86_64: ("default_x86_64",), Architecture.ARM64: ("default_arm64",)}
GPU_FAMILIES = ("g6", "g5", "g4dn")
_SPOT_ONLY = (
    batch.AllocationStrategy.SPOT_CAPACITY_OPTIMIZED,
    batch.AllocationStrategy.SPOT_PRICE_CAPACITY_OPTIMIZED,
)
# ECS-optimized AL2023 root volumes are built from a 30 GiB snapshot; a smaller volume cannot launch.
_MIN_ROOT_GIB = 30


class BatchComputeEnvironment(Construct):
    """Base of the compute environment constructs: ``.resource`` is the L2, ``.profile`` its shape
    (a :class:`cdk_batchkit.model.ComputeProfile`, what the synth rules check jobs against)."""

    resource: batch.IComputeEnvironment
    profile: ComputeProfile

    @property
    def compute_environment_arn(self) -> str:
        return self.resource.compute_environment_arn


def _check_capacity(scope: Construct, minv_cpus: int, maxv_cpus: int) -> None:
    check_range(scope, "minv_cpus", minv_cpus, 0, 100_000)
    check_range(scope, "maxv_cpus", maxv_cpus, 1, 100_000)
    if not is_token(minv_cpus) and not is_token(maxv_cpus) and minv_cpus > maxv_cpus:
        fail(scope, "minv_cpus", minv_cpus, f"must not exceed maxv_cpus ({maxv_cpus})")


def _check_update(scope: Construct, update_timeout: Duration) -> None:
    # Batch's JobExecutionTimeoutMinutes is 1-360 whole minutes.
    check_seconds(scope, "update_timeout", update_timeout, 60, 360 * 60)
    check_whole(scope, "update_timeout", update_timeout.to_seconds() / 60, "minutes")


class Ec2ComputeEnvironment(BatchComputeEnvironment):
    """A managed EC2 compute environment, on-demand or Spot, x86_64 or Graviton, optionally GPU."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        network: BatchNetwork,
        spot: bool = False,
        architecture: Architecture = Architecture.X86_64,
        gpu: bool = False,
        instance_types: Sequence[str] | None = None,
        allocation_strategy: batch.AllocationStrategy | None = None,
        minv_cpus: int = 0,
        maxv_cpus: int = 256,
        root_volume_size: Size | None = None,
        user_data_commands: Sequence[str] = (),
        spot_bid_percentage: int | None = None,
        replace_compute_environment: bool | None = None,
        update_timeout: Duration | None = None,
        terminate_on_update: bool = False,
        placement_group: ec2.IPlacementGroup | None = None,
        multi_node: bool = False,
        cluster_placement: bool = False,
        instance_role: iam.IRole | None = None,
        compute_environment_name: str | None = None,
    ) -> None:
        """
        :param network: where instances run (a :class:`BatchNetwork`).
        :param spot: run on EC2 Spot. Default: on-demand.
        :param architecture: CPU architecture of every instance type. Default: x86_64.
        :param gpu: use GPU instances and the AL2023 NVIDIA ECS image. Default: no GPU, AL2023 ECS image.
        :param instance_types: families (``"c7g"``), exact types (``"c7g.2xlarge"``) or Batch aliases, all
            of ``architecture``. Default: Spot diversifies over ten current families; on-demand uses Batch's
            ``default_x86_64``/``default_arm64``; GPU uses g6, g5 and g4dn.
        :param allocation_strategy: Default: SPOT_PRICE_CAPACITY_OPTIMIZED for Spot, BEST_FIT_PROGRESSIVE
            on-demand. BEST_FIT with Spot gets a spot fleet role with the AWS managed tagging policy.
        :param minv_cpus: vCPUs kept running when idle. Default: 0 (no idle compute, no idle cost).
        :param maxv_cpus: upper bound on vCPUs. Default: 256.
        :param root_volume_size: size of the encrypted gp3 root volume (at least 30 GiB). Default: 30 GiB.
        :param user_data_commands: shell commands run at boot, added as a part of the MIME multipart
            user data Batch requires; more parts can be added through ``.user_data``. Default: none.
        :param spot_bid_percentage: highest Spot price as a percentage of on-demand (1-100). Default: up to
            the on-demand price.
        :param replace_compute_environment: replace the environment (new ARN, queues re-pointed) on updates
            that need new instances. Default: False, so such updates are rolled out in place as Batch
            infrastructure updates; True for BEST_FIT, which does not support them.
        :param update_timeout: how long running jobs may keep running during an infrastructure update
            (1-360 min). Default: 30 minutes.
        :param terminate_on_update: terminate running jobs on update instead of letting them finish within
            ``update_timeout``. Default: False.
        :param placement_group: a placement group of yours. Default: none (see ``cluster_placement``).
        :param multi_node: run multi-node parallel jobs here: the instances also get the network's
            cluster security group (all traffic between its members), so the nodes of a job can reach
            each other; on-demand only. Default: False (the compute security group allows no inbound
            traffic, and the fit check rejects multi-node jobs here).
        :param cluster_placement: create a cluster placement group (instances close together, for
            multi-node jobs with heavy node-to-node traffic) and launch into the subnets of one
            Availability Zone of the network (a cluster placement group cannot span zones). Default: False.
        :param instance_role: role of the instances. Default: a new role with the AWS managed
            AmazonEC2ContainerServiceforEC2Role policy (acknowledged for cdk-nag).
        :param compute_environment_name: physical name. Default: generated (a fixed name blocks replacement).
        """
        super().__init__(scope, construct_id)
        _check_capacity(self, minv_cpus, maxv_cpus)
        check_range(self, "spot_bid_percentage", spot_bid_percentage, 1, 100)
        if spot_bid_percentage is not None and not spot:
            fail(self, "spot_bid_percentage", spot_bid_percentage, "only applies with spot=True")
        update_timeout = update_timeout or Duration.minutes(30)
        _check_update(self, update_timeout)
        root_size = root_volume_size or Size.gibibytes(_MIN_ROOT_GIB)
        check_whole(self, "root_volume_size", root_size.to_mebibytes() / 1024, "GiB")
        root_gib = int(root_size.to_mebibytes() // 1024)
        if root_gib < _MIN_ROOT_GIB:
            fail(
                self,
                "root_volume_size",
                f"{root_gib} GiB",
                f"must be at least {_MIN_ROOT_GIB} GiB (AMI size)",
            )
        if gpu and architecture is Architecture.ARM64:
            fail(self, "gpu", gpu, "GPU compute uses the x86_64 AL2023 NVIDIA image; use architecture=X86_64")
        if multi_node and spot:
            # https://docs.aws.amazon.com/batch/latest/userguide/mnp-ce.html
            fail(self, "multi_node", multi_node, "multi-node parallel jobs are not supported on Spot")
        if cluster_placement and placement_group is not None:
            fail(
                self,
                "cluster_placement",
                cluster_placement,
                "give either placement_group or cluster_placement",
            )
        #: Where the instances run.
        self.network = network
        security_groups = [network.security_group]
        if multi_node:
            security_groups.append(network.cluster_security_group)
        subnets = network.subnet_selection
        if cluster_placement:
            # https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/placement-strategies.html#placement-groups-cluster
            # (a cluster placement group is in a single Availability Zone) and
            # https://docs.aws.amazon.com/batch/latest/userguide/mnp-ce.html
            placement_group = ec2.PlacementGroup(
                self, "PlacementGroup", strategy=ec2.PlacementGroupStrategy.CLUSTER
            )
            selected = network.vpc.select_subnets(subnet_type=network.subnet_selection.subnet_type).subnets
            zone = selected[0].availability_zone
            subnets = ec2.SubnetSelection(subnets=[s for s in selected if s.availability_zone == zone])
        #: The placement group, when one was given or created.
        self.placement_group = placement_group

        types = (
            tuple(instance_types)
            if instance_types is not None
            else self._default_types(spot, architecture, gpu)
        )
        self._check_instance_types(types, architecture, gpu)
        strategy = allocation_strategy or (
            batch.AllocationStrategy.SPOT_PRICE_CAPACITY_OPTIMIZED
            if spot
            else batch.AllocationStrategy.BEST_FIT_PROGRESSIVE
        )
        if strategy in _SPOT_ONLY and not spot:
            fail(self, "allocation_strategy", strategy.value, "Spot strategies need spot=True")
        best_fit = strategy is batch.AllocationStrategy.BEST_FIT
        if replace_compute_environment is False and best_fit:
            fail(self, "replace_compute_environment", False, "BEST_FIT does not support in-place updates")
        replace = best_fit if replace_compute_environment is None else replace_compute_environment

        #: The MIME multipart user data of the launch template; add parts to extend the boot.
        self.user_data = ec2.MultipartUserData()
        boot = ec2.UserData.for_linux()
        boot.add_commands("# cdk-batchkit user-data hook", *user_data_commands)
        self.user_data.add_user_data_part(boot, ec2.MultipartBody.SHELL_SCRIPT, True)
        #: The hardened launch template: IMDSv2 only (hop limit 2 for containers), encrypted gp3 root.
        self.launch_template = ec2.LaunchTemplate(
            self,
            "LaunchTemplate",
            require_imdsv2=True,
            http_tokens=ec2.LaunchTemplateHttpTokens.REQUIRED,
            http_put_response_hop_limit=2,
            user_data=self.user_data,
            block_devices=[
                ec2.BlockDevice(
                    device_name="/dev/xvda",
                    volume=ec2.BlockDeviceVolume.ebs(
                        root_gib,
                        encrypted=True,
                        kms_key=encryption_key(self, KeyUser.EBS),
                        volume_type=ec2.EbsDeviceVolumeType.GP3,
                        delete_on_termination=True,
                    ),
                )
            ],
        )
        spot_fleet_role = self._spot_fleet_role() if spot and best_fit else None
        image = batch.EcsMachineImageType.ECS_AL2023_NVIDIA if gpu else batch.EcsMachineImageType.ECS_AL2023
        self.resource = batch.ManagedEc2EcsComputeEnvironment(
            self,
            "Resource",
            vpc=network.vpc,
            vpc_subnets=subnets,
            security_groups=security_groups,
            spot=spot,
            allocation_strategy=strategy,
            # The instance list is rendered below from `types`; this only keeps the L2 from
            # inventing its own (it appends "optimal", which Batch rejects next to Graviton types).
            use_optimal_instance_classes=True,
            images=[batch.EcsMachineImage(image_type=image)],
            launch_template=self.launch_template,
            minv_cpus=minv_cpus,
            maxv_cpus=maxv_cpus,
            spot_bid_percentage=spot_bid_percentage,
            spot_fleet_role=spot_fleet_role,
            placement_group=placement_group,
            instance_role=instance_role,
            replace_compute_environment=replace,
            update_timeout=update_timeout,
            terminate_on_update=terminate_on_update,
            update_to_latest_image_version=True,
            compute_environment_name=compute_environment_name,
        )
        cfn = self.resource.node.default_child
        assert isinstance(cfn, batch.CfnComputeEnvironment)
        cfn.add_property_override("ComputeResources.InstanceTypes", list(types))
        # Batch snapshots a launch template referenced as $Default/$Latest (or with no version) once,
        # at creation; the version number makes a template change roll out on the next deploy.
        cfn.add_property_override(
            "ComputeResources.LaunchTemplate.Version", self.launch_template.latest_version_number
        )
        if instance_role is None:
            acknowledge(
                self.resource,
                "IAM4",
                "AmazonEC2ContainerServiceforEC2Role is the AWS-maintained policy the ECS agent on Batch "
                "instances needs; AWS updates it as the agent changes.",
                applies_to=managed_policy_finding("service-role/AmazonEC2ContainerServiceforEC2Role"),
            )
        self.profile = ComputeProfile(
            kind=ComputeKind.of(spot=spot),
            architecture=architecture,
            maxv_cpus=None if is_token(maxv_cpus) else maxv_cpus,
            instance_types=types,
            gpu=gpu,
            public_subnets=network.public_subnets,
            private_egress=network.private_egress,
            internet=network.internet,
            node_traffic=multi_node,
        )

    @staticmethod
    def _default_types(spot: bool, architecture: Architecture, gpu: bool) -> tuple[str, ...]:
        if gpu:
            return GPU_FAMILIES
        return SPOT_FAMILIES[architecture] if spot else ON_DEMAND_DEFAULT[architecture]

    def _check_instance_types(self, types: tuple[str, ...], architecture: Architecture, gpu: bool) -> None:
        if not types:
            fail(self, "instance_types", list(types), "needs at least one instance type or family")
        for name in types:
            if not isinstance(name, str) or not name.strip():
                fail(self, "instance_types", list(types), f"{name!r} is not an instance type")
            # BK-C7: the name must exist (the EC2 model botocore ships; ComputeResource.instanceTypes).
            problem = instance_type_problem(name)
            if problem is not None:
                fail(self, "instance_types", list(types), problem)
            if shape_of(name) is None:
                # BK-C8: a real family the size catalog does not know: job sizes cannot be checked.
                Annotations.of(self).add_warning_v2(
                    "batchkit:instance-size-unchecked",
                    f"{name} is not in the instance size catalog: jobs are not checked against its vCPUs, "
                    "memory and GPUs (they may stay RUNNABLE if none fits).",
                )
            if architecture_of(name) is not architecture:
                fail(
                    self,
                    "instance_types",
                    list(types),
                    f"{name} is {architecture_of(name).value} but architecture is {architecture.value} "
                    "(Batch rejects mixed architectures, and 'optimal' is x86_64 only)",
                )
            if is_gpu(name) != gpu:
                why = "is a GPU family; set gpu=True" if is_gpu(name) else "has no GPU but gpu=True"
                fail(self, "instance_types", list(types), f"{name} {why}")

    def _spot_fleet_role(self) -> iam.Role:
        policy = "service-role/AmazonEC2SpotFleetTaggingRole"
        role = iam.Role(
            self,
            "SpotFleetRole",
            assumed_by=iam.ServicePrincipal("spotfleet.amazonaws.com"),
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(policy)],
        )
        acknowledge(
            role,
            "IAM4",
            "BEST_FIT Spot environments launch through a Spot Fleet, whose role needs the AWS-maintained "
            "AmazonEC2SpotFleetTaggingRole policy.",
            applies_to=managed_policy_finding(policy),
        )
        return role


#: What UpdateComputeEnvironment cannot change on a Fargate environment: CloudFormation must not render
#: these (aws-cdk#27054: "The following parameters can't be updated for Fargate compute environment:
#: ... updatePolicy, updateToLatestImageVersion"). Only securityGroupIds, subnets and the vCPU counts
#: can be updated:
#: https://docs.aws.amazon.com/batch/latest/userguide/updating-compute-environments.html
#: ReplaceComputeEnvironment is about replacing instances, which Fargate has none of.
FARGATE_NOT_UPDATABLE = (
    "UpdatePolicy",
    "ReplaceComputeEnvironment",
    "ComputeResources.UpdateToLatestImageVersion",
)

register(
    "BK-C9",
    "Fargate compute environments render no UpdatePolicy, ReplaceComputeEnvironment or "
    "UpdateToLatestImageVersion (the constructor does not offer them); EC2 environments render all three.",
    "https://docs.aws.amazon.com/batch/latest/userguide/updating-compute-environments.html "
    "(Updating AWS Fargate compute environments: securityGroupIds, subnets, desiredvCpus, maxvCpus, "
    "minvCpus) and https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"
    "aws-properties-batch-computeenvironment-updatepolicy.html (the policy of an EC2 environment)",
)


class FargateComputeEnvironment(BatchComputeEnvironment):
    """A managed Fargate or Fargate Spot compute environment (no instances: nothing idles).

    Batch updates a Fargate environment's subnets, security groups and vCPUs in place; it has no
    infrastructure update, so no update policy, replacement flag or image update is rendered (Batch
    rejects updates that carry them).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        network: BatchNetwork,
        spot: bool = False,
        maxv_cpus: int = 256,
        compute_environment_name: str | None = None,
    ) -> None:
        """
        :param network: where tasks run (a :class:`BatchNetwork`).
        :param spot: run on Fargate Spot (interruptible, up to 70 % cheaper). Default: Fargate on-demand.
        :param maxv_cpus: upper bound on vCPUs of concurrently running tasks. Default: 256.
        :param compute_environment_name: physical name. Default: generated.
        """
        super().__init__(scope, construct_id)
        check_range(self, "maxv_cpus", maxv_cpus, 1, 100_000)
        #: Where the tasks run.
        self.network = network
        self.resource = batch.FargateComputeEnvironment(
            self,
            "Resource",
            vpc=network.vpc,
            vpc_subnets=network.subnet_selection,
            security_groups=[network.security_group],
            spot=spot,
            maxv_cpus=maxv_cpus,
            compute_environment_name=compute_environment_name,
        )
        cfn = self.resource.node.default_child
        assert isinstance(cfn, batch.CfnComputeEnvironment)
        # The L2 renders ReplaceComputeEnvironment: false and UpdatePolicy even when not asked to.
        for path in FARGATE_NOT_UPDATABLE:
            cfn.add_property_deletion_override(path)
        self.profile = ComputeProfile(
            kind=ComputeKind.of(spot=spot, fargate=True),
            # Fargate runs x86_64 and ARM64 tasks alike; the job definition picks.
            architecture=None,
            maxv_cpus=None if is_token(maxv_cpus) else maxv_cpus,
            public_subnets=network.public_subnets,
            private_egress=network.private_egress,
            internet=network.internet,
        )


class UnmanagedComputeEnvironment(BatchComputeEnvironment):
    """An unmanaged environment: you run the ECS container instances; Batch only schedules."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        unmanagedv_cpus: int | None = None,
        architecture: Architecture = Architecture.X86_64,
        gpu: bool = False,
        compute_environment_name: str | None = None,
    ) -> None:
        """
        :param unmanagedv_cpus: vCPUs you provide, needed when a fair-share queue uses it. Default: unset.
        :param architecture: architecture of the instances you register. Default: x86_64.
        :param gpu: whether your instances have GPUs (used by the fit check). Default: no GPU.
        :param compute_environment_name: physical name. Default: generated.
        """
        super().__init__(scope, construct_id)
        check_range(self, "unmanagedv_cpus", unmanagedv_cpus, 0, 100_000)
        self.resource = batch.UnmanagedComputeEnvironment(
            self,
            "Resource",
            unmanagedv_cpus=unmanagedv_cpus,
            compute_environment_name=compute_environment_name,
        )
        # The L2 creates a service role with the legacy AWSBatchServiceRole managed policy; Batch uses its
        # service-linked role when none is given (as it does for our managed environments), so drop it.
        self.resource.node.try_remove_child("BatchServiceRole")
        cfn = self.resource.node.default_child
        assert isinstance(cfn, batch.CfnComputeEnvironment)
        cfn.add_property_deletion_override("ServiceRole")
        self.profile = ComputeProfile(kind=ComputeKind.UNMANAGED, architecture=architecture, gpu=gpu)
