"""Compute environments: EC2 on-demand and Spot, Fargate and Fargate Spot, unmanaged.

Each wraps the ``aws_cdk.aws_batch`` L2 (exposed as ``.resource``) and fixes its
defaults: a hardened launch template referenced by version number, AL2023
images kept up to date, in-place infrastructure updates that let running jobs
finish, no idle capacity, and none of the instance/strategy combinations Batch
rejects at deploy time. Each also describes itself as a :class:`ComputeProfile`
so a queue can check at synth that a job can ever run on it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any

from aws_cdk import Annotations, Duration, Size, Stack, Tags
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from ..model import Architecture, ComputeKind, ComputeProfile, SharedMount, architecture_of, is_gpu, shape_of
from ..model.ec2_types import instance_type_problem
from ..model.rules import register
from ._validation import check_range, check_seconds, check_whole, fail, is_token
from .encryption import KeyUser, encryption_key
from .nag import acknowledge, managed_policy_finding
from .network import BatchNetwork
from .storage import LustreMount, mount_lustre

#: Spot capacity is deep when it is diversified: several families and generations.
SPOT_FAMILIES = {
    Architecture.X86_64: ("c6i", "c7i", "c6a", "m6i", "m7i", "m6a", "r6i", "r7i", "c5", "m5"),
    Architecture.ARM64: ("c6g", "c7g", "c8g", "m6g", "m7g", "m8g", "r6g", "r7g"),
}
#: Batch picks current-generation general/compute/memory types for these aliases.
ON_DEMAND_DEFAULT = {Architecture.X86_64: ("default_x86_64",), Architecture.ARM64: ("default_arm64",)}
GPU_FAMILIES = ("g6", "g5", "g4dn")


class AllocationStrategy(Enum):
    """Every allocation strategy CloudFormation and Batch accept (the L2 enum lacks the last two).

    Source: https://docs.aws.amazon.com/batch/latest/APIReference/API_ComputeResource.html
    (allocationStrategy) and https://docs.aws.amazon.com/batch/latest/userguide/allocation-strategies.html
    """

    #: Lowest-cost type that fits; waits for it (no in-place updates; Spot needs a fleet role).
    BEST_FIT = "BEST_FIT"
    #: Best fit, then more types as needed (on-demand or Spot).
    BEST_FIT_PROGRESSIVE = "BEST_FIT_PROGRESSIVE"
    #: On-demand only: types in the order ``instance_types`` lists them (families expanded best-fit).
    BEST_FIT_PROGRESSIVE_ORDERED = "BEST_FIT_PROGRESSIVE_ORDERED"
    #: Spot only: the pools least likely to be interrupted.
    SPOT_CAPACITY_OPTIMIZED = "SPOT_CAPACITY_OPTIMIZED"
    #: Spot only: capacity first, then ``instance_types`` order on a best-effort basis.
    SPOT_CAPACITY_OPTIMIZED_PRIORITIZED = "SPOT_CAPACITY_OPTIMIZED_PRIORITIZED"
    #: Spot only: least likely to be interrupted and lowest price (recommended for Spot).
    SPOT_PRICE_CAPACITY_OPTIMIZED = "SPOT_PRICE_CAPACITY_OPTIMIZED"

    @property
    def spot_only(self) -> bool:
        return self.value.startswith("SPOT_")

    @property
    def on_demand_only(self) -> bool:
        return self is AllocationStrategy.BEST_FIT_PROGRESSIVE_ORDERED


_ALLOCATION_STRATEGIES = "https://docs.aws.amazon.com/batch/latest/APIReference/API_ComputeResource.html"
_LAUNCH_TEMPLATES = "https://docs.aws.amazon.com/batch/latest/userguide/launch-templates.html"
register(
    "BK-C19",
    "Allocation strategy pairing: SPOT_* strategies only with Spot, BEST_FIT_PROGRESSIVE_ORDERED only "
    "on-demand; any strategy CloudFormation accepts is rendered (strings or the L2 enum are taken too).",
    f"{_ALLOCATION_STRATEGIES} (allocationStrategy: only available for Spot Instance / On-Demand Instance "
    "compute resources) and https://docs.aws.amazon.com/batch/latest/userguide/allocation-strategies.html",
)
register(
    "BK-C10",
    "A launch template of yours defined in the app requires IMDSv2 (HttpTokens required) with a hop limit "
    "of at most 2, like the library's own.",
    f"{_LAUNCH_TEMPLATES} (Batch merges your template's settings into its own) and "
    "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-IMDS-new-instances.html",
)
register(
    "BK-C11",
    "A launch template of yours encrypts every EBS volume it maps; one that maps no root volume warns "
    "that root encryption then depends on the account's EBS encryption by default.",
    f"{_LAUNCH_TEMPLATES} (resizing and encrypting the root volume through a launch template) and "
    "https://docs.aws.amazon.com/ebs/latest/userguide/encryption-by-default.html",
)
register(
    "BK-C12",
    "A launch template's user data is MIME multipart (ec2.MultipartUserData); the library's own "
    "root-volume and user-data props are refused next to a template of yours.",
    f"{_LAUNCH_TEMPLATES} (user data in a launch template must be in the MIME multi-part archive format)",
)
register(
    "BK-C13",
    "*Warning*: an imported launch template (not defined in the app) cannot be inspected: IMDSv2, hop "
    "limit, volume encryption and user data format are named as not checked.",
    _LAUNCH_TEMPLATES,
)
register(
    "BK-C14",
    "An AMI given by id looks like an EC2 image id (ami- and 8 or 17 hex digits).",
    "https://docs.aws.amazon.com/batch/latest/APIReference/API_Ec2Configuration.html (imageIdOverride) and "
    "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/resource-ids.html",
)
register(
    "BK-C15",
    "*Warning*: an EC2 key pair (SSH) is opt-in and noted: Session Manager reaches the instances without "
    "open ports or keys; the plan lists it as a security finding.",
    "https://docs.aws.amazon.com/batch/latest/APIReference/API_ComputeResource.html (ec2KeyPair) and "
    "https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager.html",
)
register(
    "BK-C16",
    "Explicit subnets are a subset of the network's own subnets (so the fit check's network facts hold); "
    "not with cluster_placement.",
    "https://docs.aws.amazon.com/batch/latest/APIReference/API_ComputeResource.html (subnets) and "
    "https://docs.aws.amazon.com/batch/latest/userguide/fargate.html",
)
register(
    "BK-C17",
    "Instance and volume tags: at most 50, keys 1-128 and values 0-256 characters, no aws: prefix.",
    "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_Tags.html#tag-restrictions and "
    "https://docs.aws.amazon.com/batch/latest/APIReference/API_ComputeResource.html (tags)",
)
_AMI_ID = re.compile(r"^ami-([0-9a-f]{8}|[0-9a-f]{17})$")
#: Our strategies the L2 enum knows (the L2 gets the nearest one; the override renders ours).
_L2_STRATEGY = {
    AllocationStrategy.BEST_FIT: batch.AllocationStrategy.BEST_FIT,
    AllocationStrategy.BEST_FIT_PROGRESSIVE: batch.AllocationStrategy.BEST_FIT_PROGRESSIVE,
    AllocationStrategy.SPOT_CAPACITY_OPTIMIZED: batch.AllocationStrategy.SPOT_CAPACITY_OPTIMIZED,
    AllocationStrategy.SPOT_CAPACITY_OPTIMIZED_PRIORITIZED: batch.AllocationStrategy.SPOT_CAPACITY_OPTIMIZED,
    AllocationStrategy.SPOT_PRICE_CAPACITY_OPTIMIZED: batch.AllocationStrategy.SPOT_PRICE_CAPACITY_OPTIMIZED,
}


def _selection_args(selection: ec2.SubnetSelection) -> dict[str, Any]:
    names = (
        "availability_zones",
        "one_per_az",
        "subnet_filters",
        "subnet_group_name",
        "subnets",
        "subnet_type",
    )
    return {n: getattr(selection, n) for n in names if getattr(selection, n, None) is not None}


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


def check_managed_ec2(
    scope: Construct,
    minv_cpus: int,
    maxv_cpus: int,
    spot: bool,
    spot_bid_percentage: int | None,
    update_timeout: Duration | None,
) -> Duration:
    """The capacity, Spot bid and update checks every managed EC2 (ECS or EKS) environment makes;
    returns the update timeout (default 30 minutes)."""
    _check_capacity(scope, minv_cpus, maxv_cpus)
    check_range(scope, "spot_bid_percentage", spot_bid_percentage, 1, 100)
    if spot_bid_percentage is not None and not spot:
        fail(scope, "spot_bid_percentage", spot_bid_percentage, "only applies with spot=True")
    timeout = update_timeout or Duration.minutes(30)
    _check_update(scope, timeout)
    return timeout


def choose_instances(
    scope: Construct,
    instance_types: Sequence[str] | None,
    spot: bool,
    architecture: Architecture,
    gpu: bool,
    allocation_strategy: AllocationStrategy | batch.AllocationStrategy | str | None,
    replace_compute_environment: bool | None,
) -> tuple[tuple[str, ...], AllocationStrategy, bool]:
    """The checked instance types (default by Spot, architecture and GPU), the allocation strategy and
    whether updates replace the environment, for a managed EC2 (ECS or EKS) environment."""
    types = (
        tuple(instance_types)
        if instance_types is not None
        else default_instance_types(spot, architecture, gpu)
    )
    check_instance_types(scope, types, architecture, gpu)
    strategy, replace = allocation(scope, spot, allocation_strategy, replace_compute_environment)
    return types, strategy, replace


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
        allocation_strategy: AllocationStrategy | batch.AllocationStrategy | str | None = None,
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
        launch_template: ec2.ILaunchTemplate | None = None,
        machine_image: ec2.IMachineImage | str | None = None,
        key_pair: ec2.IKeyPair | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] = (),
        vpc_subnets: ec2.SubnetSelection | None = None,
        tags: Mapping[str, str] | None = None,
        compute_environment_name: str | None = None,
        lustre: Sequence[LustreMount] = (),
    ) -> None:
        """
        :param network: where instances run (a :class:`BatchNetwork`).
        :param spot: run on EC2 Spot. Default: on-demand.
        :param architecture: CPU architecture of every instance type. Default: x86_64.
        :param gpu: use GPU instances and the AL2023 NVIDIA ECS image. Default: no GPU, AL2023 ECS image.
        :param instance_types: families (``"c7g"``), exact types (``"c7g.2xlarge"``) or Batch aliases, all
            of ``architecture``. Default: Spot diversifies over ten current families; on-demand uses Batch's
            ``default_x86_64``/``default_arm64``; GPU uses g6, g5 and g4dn.
        :param allocation_strategy: any strategy Batch accepts (:class:`AllocationStrategy`, the L2 enum or
            its name). Default: SPOT_PRICE_CAPACITY_OPTIMIZED for Spot, BEST_FIT_PROGRESSIVE on-demand.
            BEST_FIT with Spot gets a spot fleet role with the AWS managed tagging policy.
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
        :param launch_template: a launch template of yours instead of the library's hardened one. One
            defined in this app is checked: IMDSv2 required with a hop limit of at most 2, every mapped EBS
            volume encrypted, MIME multipart user data (an imported one is referenced as given, with a
            synth warning naming what could not be checked). It is referenced by version number when
            defined here. Default: the hardened template (``.launch_template``).
        :param machine_image: an AMI (``ecs.EcsOptimizedImage.amazon_linux2023(...)``, any
            ``ec2.IMachineImage`` or an image id ``"ami-..."``) instead of the latest ECS-optimized AL2023
            image Batch picks; Batch does not update a custom AMI. Default: Batch's image.
        :param key_pair: an EC2 key pair for SSH to the instances. Default: none (use Session Manager; a
            key pair is noted at synth and listed in the plan as a security finding).
        :param security_groups: more security groups for the instances, besides the network's. Default: none.
        :param vpc_subnets: some of the network's subnets (one Availability Zone, say). Default: all the
            network's subnets of its mode.
        :param tags: tags for the instances (``computeResources.tags``) and, on the library's launch
            template, their volumes. Default: none.
        :param compute_environment_name: physical name. Default: generated (a fixed name blocks replacement).
        :param lustre: FSx for Lustre file systems (:class:`LustreMount`) every instance mounts at boot (the
            AL2023 Lustre client, a user-data part), with TCP 988 and 1018-1023 opened between the compute
            security group and each file system's; jobs use them through :class:`LustreVolume`.
            Default: none.
        """
        super().__init__(scope, construct_id)
        update_timeout = check_managed_ec2(
            self, minv_cpus, maxv_cpus, spot, spot_bid_percentage, update_timeout
        )
        if gpu and architecture is Architecture.ARM64:
            fail(self, "gpu", gpu, "GPU compute uses the x86_64 AL2023 NVIDIA image; use architecture=X86_64")
        if multi_node and spot:
            # https://docs.aws.amazon.com/batch/latest/userguide/mnp-ce.html
            fail(self, "multi_node", multi_node, "multi-node parallel jobs are not supported on Spot")
        if launch_template is not None and (root_volume_size is not None or user_data_commands):
            fail(
                self,
                "launch_template",
                launch_template.node.path,
                "root_volume_size and user_data_commands shape the library's own launch template; put them "
                "in yours (block devices, MIME multipart user data) instead",
            )
        if (
            isinstance(machine_image, str)
            and not is_token(machine_image)
            and not _AMI_ID.match(machine_image)
        ):
            fail(self, "machine_image", machine_image, "is not an AMI id (ami- and 8 or 17 hex digits)")
        self._check_tags(tags)
        if vpc_subnets is not None and cluster_placement:
            fail(self, "vpc_subnets", vpc_subnets, "cluster_placement picks the subnets of one zone itself")
        if cluster_placement and placement_group is not None:
            fail(
                self,
                "cluster_placement",
                cluster_placement,
                "give either placement_group or cluster_placement",
            )
        #: Where the instances run.
        self.network = network
        groups: list[ec2.ISecurityGroup] = [network.security_group]
        if multi_node:
            groups.append(network.cluster_security_group)
        groups += [g for g in security_groups if all(g is not h for h in groups)]
        subnets = network.subnet_selection if vpc_subnets is None else self._own_subnets(network, vpc_subnets)
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

        types, strategy, replace = choose_instances(
            self, instance_types, spot, architecture, gpu, allocation_strategy, replace_compute_environment
        )
        best_fit = strategy is AllocationStrategy.BEST_FIT

        if launch_template is not None:
            self._check_launch_template(launch_template)
            given = getattr(launch_template, "user_data", None)
            #: The MIME multipart user data of the launch template (None when yours has none or is imported).
            self.user_data: ec2.MultipartUserData | None = (
                given if isinstance(given, ec2.MultipartUserData) else None
            )
            #: The launch template: the hardened one, or yours.
            self.launch_template: ec2.ILaunchTemplate = launch_template
        else:
            # The hardened launch template: IMDSv2 only (hop limit 2 for containers), encrypted gp3 root.
            self.launch_template, self.user_data = hardened_launch_template(
                self, root_volume_size, user_data_commands
            )
            for key, value in (tags or {}).items():
                # Batch tags the instances (computeResources.tags); the template's tag specifications
                # tag the instances and their volumes, merged with tags applied by Tags.of(...).
                Tags.of(self.launch_template).add(key, value)
        # BK-L3..L6: the mount part goes into the template's MIME user data (yours too), or synth fails.
        shared_mounts = mount_lustre(
            self, network, self.launch_template, lustre, architecture.value, own=launch_template is None
        )
        if key_pair is not None:
            Annotations.of(self).add_warning_v2(
                "batchkit:ec2-key-pair",
                f"key_pair={key_pair.key_pair_name!r} lets SSH in with that key (BK-C15): Session Manager "
                "reaches instances without open ports or keys, and is logged; the security group here "
                "allows no inbound traffic, so open port 22 yourself if you keep the key.",
            )
        spot_fleet_role = spot_fleet_role_for(self) if spot and best_fit else None
        image = batch.EcsMachineImageType.ECS_AL2023_NVIDIA if gpu else batch.EcsMachineImageType.ECS_AL2023
        self.resource = batch.ManagedEc2EcsComputeEnvironment(
            self,
            "Resource",
            vpc=network.vpc,
            vpc_subnets=subnets,
            security_groups=groups,
            spot=spot,
            allocation_strategy=l2_allocation(strategy),
            # The instance list is rendered below from `types`; this only keeps the L2 from
            # inventing its own (it appends "optimal", which Batch rejects next to Graviton types).
            use_optimal_instance_classes=True,
            images=[
                batch.EcsMachineImage(
                    image_type=image,
                    image=None if machine_image is None or isinstance(machine_image, str) else machine_image,
                )
            ],
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
        cfn = pin(self.resource, types, self.launch_template, strategy)
        if isinstance(machine_image, str):
            cfn.add_property_override("ComputeResources.Ec2Configuration.0.ImageIdOverride", machine_image)
        if key_pair is not None:
            cfn.add_property_override("ComputeResources.Ec2KeyPair", key_pair.key_pair_name)
        if tags:
            cfn.add_property_override("ComputeResources.Tags", dict(tags))
        self._finish(
            cfn, instance_role, spot, architecture, maxv_cpus, types, gpu, network, multi_node, shared_mounts
        )

    def _finish(
        self,
        cfn: batch.CfnComputeEnvironment,
        instance_role: iam.IRole | None,
        spot: bool,
        architecture: Architecture,
        maxv_cpus: int,
        types: tuple[str, ...],
        gpu: bool,
        network: BatchNetwork,
        multi_node: bool,
        shared_mounts: tuple[SharedMount, ...],
    ) -> None:
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
            shared_mounts=shared_mounts,
        )

    def _check_tags(self, tags: Mapping[str, str] | None) -> None:
        """BK-C17: EC2 tag restrictions."""
        if not tags:
            return
        if len(tags) > 50:
            fail(self, "tags", f"{len(tags)} tags", "EC2 allows at most 50 tags per resource")
        for key, value in tags.items():
            if is_token(key) or is_token(value):
                continue
            if not 1 <= len(key) <= 128 or len(value) > 256:
                fail(self, "tags", {key: value}, "keys are 1-128 characters and values at most 256")
            if key.lower().startswith("aws:"):
                fail(self, "tags", {key: value}, "the aws: prefix is reserved for AWS")

    def _own_subnets(self, network: BatchNetwork, selection: ec2.SubnetSelection) -> ec2.SubnetSelection:
        """BK-C16: explicit subnets must be some of the network's own (its facts then hold for them)."""
        own = {
            s.subnet_id
            for s in network.vpc.select_subnets(subnet_type=network.subnet_selection.subnet_type).subnets
        }
        picked = network.vpc.select_subnets(**_selection_args(selection)).subnets
        outside = [s.node.path for s in picked if s.subnet_id not in own]
        if not picked or outside:
            fail(
                self,
                "vpc_subnets",
                outside or "no subnet",
                f"must select some of the network's {network.subnet_selection.subnet_type} subnets "
                "(the network mode decides public IPs and egress)",
            )
        return ec2.SubnetSelection(subnets=picked)

    def _check_launch_template(self, template: ec2.ILaunchTemplate) -> None:
        """BK-C10..C13: what a launch template of yours must keep of the hardened one's settings."""
        cfn = template.node.default_child if isinstance(template, ec2.LaunchTemplate) else None
        if not isinstance(cfn, ec2.CfnLaunchTemplate):
            Annotations.of(self).add_warning_v2(
                "batchkit:launch-template-unchecked",
                f"launch_template {template.node.path} is imported: not checked whether it requires IMDSv2 "
                "with a hop limit of at most 2, encrypts its EBS volumes and has MIME multipart user data "
                f"(BK-C13); it is referenced as version {template.version_number!s} (Batch resolves "
                "$Default/$Latest once, when the environment is created).",
            )
            return
        # The struct as the L2 built it (camelCase keys); raw overrides added later are not seen. Only the
        # checked fields are resolved: resolving the user data renders it once and for all, and MIME parts
        # added afterwards (the Lustre mount, `.user_data.add_user_data_part`) would be dropped silently.
        raw = cfn.launch_template_data
        data: dict[str, Any] = (
            Stack.of(template).resolve(
                {
                    "metadataOptions": getattr(raw, "metadata_options", None),
                    "blockDeviceMappings": getattr(raw, "block_device_mappings", None),
                }
            )
            or {}
        )
        prop = "launch_template"
        meta = data.get("metadataOptions") or {}
        tokens = meta.get("httpTokens")
        if isinstance(tokens, str) and tokens != "required" or tokens is None:
            fail(
                self,
                prop,
                template.node.path,
                f"HttpTokens is {tokens!r}: require IMDSv2 (http_tokens=REQUIRED)",
            )
        hops = meta.get("httpPutResponseHopLimit")
        if isinstance(hops, int) and hops > 2:
            fail(
                self,
                prop,
                template.node.path,
                f"hop limit {hops} lets more than containers on the host reach IMDS; use at most 2",
            )
        mappings = data.get("blockDeviceMappings") or []
        for mapping in mappings:
            ebs = mapping.get("ebs") if isinstance(mapping, dict) else None
            if isinstance(ebs, dict) and ebs.get("encrypted") is not True and not ebs.get("snapshotId"):
                fail(
                    self, prop, template.node.path, f"EBS volume {mapping.get('deviceName')} is not encrypted"
                )
        if not any(isinstance(m, dict) and m.get("deviceName") == "/dev/xvda" for m in mappings):
            Annotations.of(self).add_warning_v2(
                "batchkit:root-volume-unchecked",
                f"launch_template {template.node.path} maps no root volume (/dev/xvda): its encryption "
                "depends on the account's EBS encryption by default (BK-C11).",
            )
        given = getattr(template, "user_data", None)
        if given is not None and not isinstance(given, ec2.MultipartUserData):
            fail(
                self,
                prop,
                template.node.path,
                "user data must be MIME multipart (ec2.MultipartUserData) for Batch",
            )


def default_instance_types(spot: bool, architecture: Architecture, gpu: bool) -> tuple[str, ...]:
    """The default instance types of a managed EC2 (ECS or EKS) environment."""
    if gpu:
        return GPU_FAMILIES
    return SPOT_FAMILIES[architecture] if spot else ON_DEMAND_DEFAULT[architecture]


def check_instance_types(
    scope: Construct, types: tuple[str, ...], architecture: Architecture, gpu: bool
) -> None:
    """BK-C6/C7/C8: every type exists, is of ``architecture`` and is GPU exactly when ``gpu``."""
    if not types:
        fail(scope, "instance_types", list(types), "needs at least one instance type or family")
    for name in types:
        if not isinstance(name, str) or not name.strip():
            fail(scope, "instance_types", list(types), f"{name!r} is not an instance type")
        # BK-C7: the name must exist (the EC2 model botocore ships; ComputeResource.instanceTypes).
        problem = instance_type_problem(name)
        if problem is not None:
            fail(scope, "instance_types", list(types), problem)
        if shape_of(name) is None:
            # BK-C8: a real family the size catalog does not know: job sizes cannot be checked.
            Annotations.of(scope).add_warning_v2(
                "batchkit:instance-size-unchecked",
                f"{name} is not in the instance size catalog: jobs are not checked against its vCPUs, "
                "memory and GPUs (they may stay RUNNABLE if none fits).",
            )
        if architecture_of(name) is not architecture:
            fail(
                scope,
                "instance_types",
                list(types),
                f"{name} is {architecture_of(name).value} but architecture is {architecture.value} "
                "(Batch rejects mixed architectures, and 'optimal' is x86_64 only)",
            )
        if is_gpu(name) != gpu:
            why = "is a GPU family; set gpu=True" if is_gpu(name) else "has no GPU but gpu=True"
            fail(scope, "instance_types", list(types), f"{name} {why}")


def allocation(
    scope: Construct,
    spot: bool,
    given: AllocationStrategy | batch.AllocationStrategy | str | None,
    replace_compute_environment: bool | None,
) -> tuple[AllocationStrategy, bool]:
    """The allocation strategy (default by Spot) and whether updates replace the environment."""
    if given is None:
        strategy = (
            AllocationStrategy.SPOT_PRICE_CAPACITY_OPTIMIZED
            if spot
            else AllocationStrategy.BEST_FIT_PROGRESSIVE
        )
    else:
        name = given.value if isinstance(given, Enum) else str(given).upper()
        try:
            strategy = AllocationStrategy(name)
        except ValueError:
            fail(
                scope,
                "allocation_strategy",
                given,
                f"must be one of {', '.join(a.value for a in AllocationStrategy)}",
            )
            raise
    # BK-C19 (and BK-C2): the on-demand/Spot pairing Batch documents.
    if strategy.spot_only and not spot:
        fail(scope, "allocation_strategy", strategy.value, "Spot strategies need spot=True")
    if strategy.on_demand_only and spot:
        fail(scope, "allocation_strategy", strategy.value, "is only available for on-demand (spot=False)")
    best_fit = strategy is AllocationStrategy.BEST_FIT
    if replace_compute_environment is False and best_fit:
        fail(scope, "replace_compute_environment", False, "BEST_FIT does not support in-place updates")
    return strategy, best_fit if replace_compute_environment is None else replace_compute_environment


def hardened_launch_template(
    scope: Construct, root_volume_size: Size | None, user_data_commands: Sequence[str]
) -> tuple[ec2.LaunchTemplate, ec2.MultipartUserData]:
    """The launch template every managed EC2 environment gets: IMDSv2 only (hop limit 2 for
    containers), an encrypted gp3 root of ``root_volume_size`` (BK-C5), MIME multipart user data."""
    root_size = root_volume_size or Size.gibibytes(_MIN_ROOT_GIB)
    check_whole(scope, "root_volume_size", root_size.to_mebibytes() / 1024, "GiB")
    root_gib = int(root_size.to_mebibytes() // 1024)
    if root_gib < _MIN_ROOT_GIB:
        fail(scope, "root_volume_size", f"{root_gib} GiB", f"must be at least {_MIN_ROOT_GIB} GiB (AMI size)")
    user_data = ec2.MultipartUserData()
    boot = ec2.UserData.for_linux()
    boot.add_commands("# cdk-batchkit user-data hook", *user_data_commands)
    user_data.add_user_data_part(boot, ec2.MultipartBody.SHELL_SCRIPT, True)
    template = ec2.LaunchTemplate(
        scope,
        "LaunchTemplate",
        require_imdsv2=True,
        http_tokens=ec2.LaunchTemplateHttpTokens.REQUIRED,
        http_put_response_hop_limit=2,
        user_data=user_data,
        block_devices=[
            ec2.BlockDevice(
                device_name="/dev/xvda",
                volume=ec2.BlockDeviceVolume.ebs(
                    root_gib,
                    encrypted=True,
                    kms_key=encryption_key(scope, KeyUser.EBS),
                    volume_type=ec2.EbsDeviceVolumeType.GP3,
                    delete_on_termination=True,
                ),
            )
        ],
    )
    return template, user_data


def l2_allocation(strategy: AllocationStrategy) -> batch.AllocationStrategy:
    """The nearest L2 strategy, for the L2's own checks (the real one is rendered by :func:`pin`)."""
    return _L2_STRATEGY.get(strategy, batch.AllocationStrategy.BEST_FIT_PROGRESSIVE)


def pin(
    resource: batch.IComputeEnvironment,
    types: Sequence[str],
    template: ec2.ILaunchTemplate,
    strategy: AllocationStrategy,
) -> batch.CfnComputeEnvironment:
    """Render exactly ``types`` and ``strategy`` (the L2 enum lacks some, and appends "optimal" to
    the types), and reference ``template`` by its version number. Returns the L1 resource."""
    cfn = resource.node.default_child
    assert isinstance(cfn, batch.CfnComputeEnvironment)
    cfn.add_property_override("ComputeResources.InstanceTypes", list(types))
    cfn.add_property_override("ComputeResources.AllocationStrategy", strategy.value)
    # Batch snapshots a launch template referenced as $Default/$Latest (or with no version) once,
    # at creation; the version number makes a template change roll out on the next deploy.
    version = (
        template.latest_version_number
        if isinstance(template, ec2.LaunchTemplate)
        else template.version_number
    )
    cfn.add_property_override("ComputeResources.LaunchTemplate.Version", version)
    return cfn


def spot_fleet_role_for(scope: Construct) -> iam.Role:
    """A working spot fleet role for BEST_FIT Spot environments (the L2's has no policy)."""
    policy = "service-role/AmazonEC2SpotFleetTaggingRole"
    role = iam.Role(
        scope,
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
