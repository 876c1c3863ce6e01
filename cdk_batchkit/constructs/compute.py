"""Compute environments: EC2 on-demand and Spot, Fargate and Fargate Spot, unmanaged.

Each wraps the ``aws_cdk.aws_batch`` L2 (exposed as ``.resource``) and fixes its
defaults: a hardened launch template referenced by version number, AL2023
images kept up to date, in-place infrastructure updates that let running jobs
finish, no idle capacity, and none of the instance/strategy combinations Batch
rejects at deploy time. Each translates its props into a
:class:`~cdk_batchkit.model.compute.ComputeSettings` (the rules of
:mod:`cdk_batchkit.model.rules.compute` judge it) and describes itself as a
:class:`ComputeProfile` so a queue can check at synth that a job can ever run on it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypedDict, Unpack

from aws_cdk import Duration, Size, Stack, Tags
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from ..model import Architecture, ComputeKind, ComputeProfile
from ..model.compute import (
    GPU_FAMILIES,
    MIN_ROOT_GIB,
    ON_DEMAND_DEFAULT,
    SPOT_FAMILIES,
    AllocationStrategy,
    ComputeSettings,
    EbsVolume,
    LaunchTemplateFacts,
    default_instance_types,
    user_data_creates_swap,
)
from ..model.rules import check_compute, fargate_not_updatable
from ..model.rules.compute import (
    FARGATE_NOT_UPDATABLE,
    apply,
    compute_allocation_strategy,
    compute_architecture,
    compute_best_fit_updates,
    compute_capacity,
    compute_instance_sizes_known,
    compute_instance_types_exist,
    compute_root_volume,
    compute_spot_bid,
    compute_update_timeout,
)
from ..model.values import known
from ._props import expand_props, resolve
from ._validation import (
    adopt,
    default_child,
    duration,
    fail,
    gibibytes_of,
    is_token,
    mebibytes_of,
    node_path,
    report,
    seconds_of,
    service_principal,
    size,
    stack_of,
)
from .encryption import KeyUser, encryption_key
from .nag import acknowledge, managed_policy_finding
from .network import BatchNetwork
from .storage import LustreMount, mount_lustre

__all__ = [
    "FARGATE_NOT_UPDATABLE",
    "GPU_FAMILIES",
    "ON_DEMAND_DEFAULT",
    "SPOT_FAMILIES",
    "AllocationStrategy",
    "BatchComputeEnvironment",
    "Ec2ComputeEnvironment",
    "FargateComputeEnvironment",
    "ManagedEc2Options",
    "ManagedEc2Props",
    "UnmanagedComputeEnvironment",
    "check_managed_ec2",
    "choose_instances",
    "default_instance_types",
    "hardened_launch_template",
    "l2_allocation",
    "pin",
    "spot_fleet_role_for",
]

#: Our strategies the L2 enum knows (the L2 gets the nearest one; the override renders ours).
_L2_STRATEGY = {
    AllocationStrategy.BEST_FIT: batch.AllocationStrategy.BEST_FIT,
    AllocationStrategy.BEST_FIT_PROGRESSIVE: batch.AllocationStrategy.BEST_FIT_PROGRESSIVE,
    AllocationStrategy.SPOT_CAPACITY_OPTIMIZED: batch.AllocationStrategy.SPOT_CAPACITY_OPTIMIZED,
    AllocationStrategy.SPOT_CAPACITY_OPTIMIZED_PRIORITIZED: batch.AllocationStrategy.SPOT_CAPACITY_OPTIMIZED,
    AllocationStrategy.SPOT_PRICE_CAPACITY_OPTIMIZED: batch.AllocationStrategy.SPOT_PRICE_CAPACITY_OPTIMIZED,
}
_INSTANCE_POLICY = "service-role/AmazonEC2ContainerServiceforEC2Role"
_SPOT_FLEET_POLICY = "service-role/AmazonEC2SpotFleetTaggingRole"


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


def _seconds(value: Duration | None) -> float | None:
    return None if value is None else known(seconds_of(value))


def _gib(value: Size | None) -> float | None:
    mib = None if value is None else known(mebibytes_of(value))
    return None if mib is None else mib / 1024


class BatchComputeEnvironment(Construct):
    """Base of the compute environment constructs: ``.resource`` is the L2, ``.profile`` its shape
    (a :class:`cdk_batchkit.model.ComputeProfile`, what the synth rules check jobs against)."""

    resource: batch.IComputeEnvironment
    _profile: ComputeProfile

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        adopt(self, scope, construct_id)  # its parent, path and stack known in Python

    @property
    def profile(self) -> ComputeProfile:
        return self._profile

    @profile.setter
    def profile(self, value: ComputeProfile) -> None:
        self._profile = value

    @property
    def compute_environment_arn(self) -> str:
        return self.resource.compute_environment_arn


class ManagedEc2Props(TypedDict, total=False):
    """The props every managed EC2 compute environment takes, :class:`Ec2ComputeEnvironment` (ECS) and
    :class:`~cdk_batchkit.constructs.EksComputeEnvironment` alike: which instances, how many vCPUs, how
    updates roll out, the hardened launch template's root volume and user data, the instance role and the
    physical name. Pass them as keyword arguments (``Ec2ComputeEnvironment(network=n, spot=True)``); type
    checkers and IDEs see each one."""

    spot: bool
    """Run on EC2 Spot (interruptible, usually far cheaper). Default: on-demand instances."""
    architecture: Architecture
    """CPU architecture of every instance type (x86_64 or ARM64, Graviton). Default: x86_64."""
    gpu: bool
    """Use GPU instances and Batch's AL2023 NVIDIA image (``ECS_AL2023_NVIDIA``, or ``EKS_AL2023_NVIDIA`` on
    EKS, which runs on x86_64 only). Default: no GPU, Batch's AL2023 image (``ECS_AL2023``/``EKS_AL2023``)."""
    instance_types: Sequence[str] | None
    """Families (``"c7g"``), exact types (``"c7g.2xlarge"``) or Batch aliases, all of ``architecture``;
    misspelled types fail synth with the closest known name. Default: Spot diversifies over ten current
    families; on-demand uses Batch's ``default_x86_64``/``default_arm64``; GPU uses g6, g5 and g4dn."""
    allocation_strategy: AllocationStrategy | batch.AllocationStrategy | str | None
    """Any strategy Batch accepts (:class:`AllocationStrategy`, the L2 enum or its name). Default:
    SPOT_PRICE_CAPACITY_OPTIMIZED for Spot, BEST_FIT_PROGRESSIVE on-demand. BEST_FIT with Spot gets a spot
    fleet role with the AWS managed tagging policy."""
    minv_cpus: int
    """vCPUs kept running when no job needs them. Default: 0 (no idle compute, no idle cost)."""
    maxv_cpus: int
    """Upper bound on the vCPUs of the running instances (a job that needs more never runs: the fit check
    says so at synth). Default: 256."""
    root_volume_size: Size | None
    """Size of each instance's encrypted gp3 root volume (at least 30 GiB), on the library's launch
    template. Default: 30 GiB."""
    user_data_commands: Sequence[str]
    """Shell commands run at boot, added as a part of the MIME multipart user data Batch requires; more
    parts can be added through ``.user_data``. On ECS, user data that runs ``mkswap``/``swapon`` gives the
    instances swap (the profile says so, so ``max_swap`` is not reported as doing nothing). Default: no
    commands."""
    spot_bid_percentage: int | None
    """Highest Spot price as a percentage of the on-demand price (1-100). Default: up to the on-demand
    price."""
    replace_compute_environment: bool | None
    """Replace the environment (new ARN, queues re-pointed) on updates that need new instances. Default:
    False, so such updates roll out in place as Batch infrastructure updates; True for BEST_FIT, which does
    not support them."""
    update_timeout: Duration | None
    """How long running jobs may keep running during an infrastructure update (1-360 minutes). Default: 30
    minutes."""
    terminate_on_update: bool
    """Terminate running jobs on an infrastructure update instead of letting them finish within
    ``update_timeout``. Default: jobs finish (False)."""
    instance_role: iam.IRole | None
    """Role of the instances. Default: a new role with the AWS managed policies the instances need, each
    acknowledged for cdk-nag: AmazonEC2ContainerServiceforEC2Role on ECS; AmazonEKSWorkerNodePolicy,
    AmazonEKS_CNI_Policy and AmazonEC2ContainerRegistryReadOnly on EKS."""
    compute_environment_name: str | None
    """Physical name (1-128 letters, digits, ``-`` and ``_``). Default: a name CloudFormation generates (a
    fixed name blocks replacement)."""


@dataclass(frozen=True)
class ManagedEc2Options:
    """:class:`ManagedEc2Props` with their defaults applied (what the constructs read)."""

    spot: bool = False
    architecture: Architecture = Architecture.X86_64
    gpu: bool = False
    instance_types: Sequence[str] | None = None
    allocation_strategy: AllocationStrategy | batch.AllocationStrategy | str | None = None
    minv_cpus: int = 0
    maxv_cpus: int = 256
    root_volume_size: Size | None = None
    user_data_commands: Sequence[str] = ()
    spot_bid_percentage: int | None = None
    replace_compute_environment: bool | None = None
    update_timeout: Duration | None = None
    terminate_on_update: bool = False
    instance_role: iam.IRole | None = None
    compute_environment_name: str | None = None

    @staticmethod
    def of(owner: Construct, props: Mapping[str, Any]) -> ManagedEc2Options:
        """The options of ``owner``'s ``**props`` (``TypeError`` for a keyword that is not a prop)."""
        return resolve(owner, ManagedEc2Options, props)

    @property
    def timeout(self) -> Duration:
        """The update timeout: 30 minutes unless given."""
        return self.update_timeout or duration("minutes", 30)

    @property
    def types(self) -> tuple[str, ...]:
        """The instance types given, or the default for Spot, architecture and GPU."""
        if self.instance_types is not None:
            return tuple(self.instance_types)
        return default_instance_types(self.spot, self.architecture, self.gpu)

    def check(self, scope: Construct) -> Duration:
        """:func:`check_managed_ec2` of these options."""
        return check_managed_ec2(
            scope, self.minv_cpus, self.maxv_cpus, self.spot, self.spot_bid_percentage, self.update_timeout
        )

    def choose_instances(self, scope: Construct) -> tuple[tuple[str, ...], AllocationStrategy, bool]:
        """:func:`choose_instances` of these options."""
        return choose_instances(
            scope,
            self.instance_types,
            self.spot,
            self.architecture,
            self.gpu,
            self.allocation_strategy,
            self.replace_compute_environment,
        )

    def l2_props(self) -> dict[str, Any]:
        """The L2 managed environment's props these options decide (the caller adds the rest)."""
        return dict(
            spot=self.spot,
            minv_cpus=self.minv_cpus,
            maxv_cpus=self.maxv_cpus,
            spot_bid_percentage=self.spot_bid_percentage,
            update_timeout=self.timeout,
            terminate_on_update=self.terminate_on_update,
            update_to_latest_image_version=True,
            compute_environment_name=self.compute_environment_name,
        )


def check_managed_ec2(
    scope: Construct,
    minv_cpus: int,
    maxv_cpus: int,
    spot: bool,
    spot_bid_percentage: int | None,
    update_timeout: Duration | None,
) -> Duration:
    """The capacity, Spot bid and update checks every managed EC2 (ECS or EKS) environment makes
    (BK-C1, BK-C2, BK-C3, reported on ``scope``); returns the update timeout (default 30 minutes)."""
    timeout = update_timeout or duration("minutes", 30)
    settings = ComputeSettings(
        kind=ComputeKind.of(spot=spot),
        minv_cpus=minv_cpus,
        maxv_cpus=maxv_cpus,
        spot_bid_percentage=spot_bid_percentage,
        update_timeout_seconds=_seconds(timeout),
    )
    report(scope, apply((compute_capacity, compute_spot_bid, compute_update_timeout), settings))
    return timeout


def choose_instances(
    scope: Construct,
    instance_types: Sequence[str] | None,
    spot: bool,
    architecture: Architecture,
    gpu: bool,
    allocation_strategy: AllocationStrategy | batch.AllocationStrategy | str | None,
    replace_compute_environment: bool | None,
    *,
    eks: bool = False,
) -> tuple[tuple[str, ...], AllocationStrategy, bool]:
    """The checked instance types (default by Spot, architecture and GPU), the allocation strategy and
    whether updates replace the environment, for a managed EC2 (ECS or EKS) environment (BK-C4, BK-C6,
    BK-C7, BK-C8, BK-C19, reported on ``scope``)."""
    settings = ComputeSettings(
        kind=ComputeKind.of(spot=spot, eks=eks),
        architecture=architecture,
        gpu=gpu,
        instance_types=(
            tuple(instance_types)
            if instance_types is not None
            else default_instance_types(spot, architecture, gpu)
        ),
        allocation_strategy=allocation_strategy,
        replace_compute_environment=replace_compute_environment,
    )
    report(scope, apply(_INSTANCE_RULES, settings))
    strategy = settings.strategy
    assert strategy is not None  # BK-C19 refused an unknown name
    return tuple(settings.instance_types or ()), strategy, settings.replaces


_INSTANCE_RULES = (
    compute_instance_types_exist,
    compute_instance_sizes_known,
    compute_architecture,
    compute_allocation_strategy,
    compute_best_fit_updates,
)


class Ec2ComputeEnvironment(BatchComputeEnvironment):
    """A managed EC2 compute environment (ECS), on-demand or Spot, x86_64 or Graviton, optionally GPU.

    Attributes: ``resource`` (the L2 ``batch.ManagedEc2EcsComputeEnvironment``), ``profile``, ``settings``
    (what the rules judged), ``network``, ``launch_template`` and ``user_data``, ``placement_group``.
    """

    @expand_props(ManagedEc2Options)
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        network: BatchNetwork,
        placement_group: ec2.IPlacementGroup | None = None,
        multi_node: bool = False,
        cluster_placement: bool = False,
        launch_template: ec2.ILaunchTemplate | None = None,
        machine_image: ec2.IMachineImage | str | None = None,
        key_pair: ec2.IKeyPair | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] = (),
        vpc_subnets: ec2.SubnetSelection | None = None,
        tags: Mapping[str, str] | None = None,
        lustre: Sequence[LustreMount] = (),
        **props: Unpack[ManagedEc2Props],
    ) -> None:
        """
        :param network: where the instances run (a :class:`BatchNetwork`).
        :param placement_group: a placement group of yours. Default: none (see ``cluster_placement``).
        :param multi_node: run multi-node parallel jobs here: the instances also get the network's
            cluster security group (all traffic between its members), so the nodes of a job can reach
            each other; on-demand only. Default: False (the compute security group allows no inbound
            traffic, and the fit check rejects multi-node jobs here).
        :param cluster_placement: create a cluster placement group (instances close together, for
            multi-node jobs with heavy node-to-node traffic) and launch into the subnets of one
            Availability Zone of the network (a cluster placement group cannot span zones). Default: False.
        :param launch_template: a launch template of yours instead of the library's hardened one. One
            defined in this app is checked: IMDSv2 required with a hop limit of at most 2, every mapped EBS
            volume encrypted, MIME multipart user data (an imported one is referenced as given, with a
            synth warning naming what could not be checked). It is referenced by version number when
            defined here. Default: the hardened template (``.launch_template``): IMDSv2 only, an
            encrypted gp3 root volume of ``root_volume_size``, ``user_data_commands`` as MIME user data.
        :param machine_image: an AMI (``ecs.EcsOptimizedImage.amazon_linux2023(...)``, any
            ``ec2.IMachineImage`` or an image id ``"ami-..."``) instead of the latest ECS-optimized AL2023
            image Batch picks; Batch does not update a custom AMI. With one, the profile does not know whether
            the instances run Amazon Linux 2023 or have swap, so the container checks that need it are
            skipped. Default: Batch's image (ECS AL2023: no swap unless user data creates it).
        :param key_pair: an EC2 key pair for SSH to the instances. Default: none (use Session Manager; a
            key pair is noted at synth and listed in the plan as a security finding).
        :param security_groups: more security groups for the instances, besides the network's. Default: the
            network's security group only (and its cluster security group with ``multi_node``).
        :param vpc_subnets: some of the network's subnets (one Availability Zone, say). Default: all the
            network's subnets of its mode.
        :param tags: tags for the instances (``computeResources.tags``) and, on the library's launch
            template, their volumes. Default: no tags of their own (tags applied with ``Tags.of`` still
            reach the template).
        :param lustre: FSx for Lustre file systems (:class:`LustreMount`) every instance mounts at boot (the
            AL2023 Lustre client, a user-data part), with TCP 988 and 1018-1023 opened between the compute
            security group and each file system's; jobs use them through :class:`LustreVolume`.
            Default: no file systems mounted.
        :param props: the props of every managed EC2 environment (:class:`ManagedEc2Props`): ``spot``,
            ``architecture``, ``gpu``, ``instance_types``, ``allocation_strategy``, ``minv_cpus``,
            ``maxv_cpus``, ``root_volume_size``, ``user_data_commands``, ``spot_bid_percentage``,
            ``replace_compute_environment``, ``update_timeout``, ``terminate_on_update``, ``instance_role``,
            ``compute_environment_name``.
        """
        super().__init__(scope, construct_id)
        options = ManagedEc2Options.of(self, props)
        if cluster_placement and placement_group is not None:
            fail(
                self,
                "cluster_placement",
                cluster_placement,
                "give either placement_group or cluster_placement",
            )
        own_subnets = None
        if vpc_subnets is not None and not cluster_placement:
            own_subnets = network.vpc.select_subnets(**_selection_args(vpc_subnets)).subnets
        settings = _ec2_settings(
            options,
            network,
            own_subnets,
            vpc_subnets=vpc_subnets,
            launch_template=launch_template,
            machine_image=machine_image,
            key_pair=key_pair,
            tags=tags,
            multi_node=multi_node,
            cluster_placement=cluster_placement,
        )
        report(self, check_compute(settings))
        #: What the rules judged: the settings of this environment (CDK-free).
        self.settings = settings
        strategy = settings.strategy
        assert strategy is not None
        #: Where the instances run.
        self.network = network
        groups: list[ec2.ISecurityGroup] = [network.security_group]
        if multi_node:
            groups.append(network.cluster_security_group)
        groups += [g for g in security_groups if all(g is not h for h in groups)]
        subnets = self._placement(network, own_subnets, placement_group, cluster_placement)
        self._launch_template(launch_template, options, tags)
        # BK-L3..L6: the mount part goes into the template's MIME user data (yours too), or synth fails.
        shared_mounts = mount_lustre(
            self,
            network,
            self.launch_template,
            lustre,
            options.architecture.value,
            own=launch_template is None,
        )
        self.resource = self._render(options, strategy, subnets, groups, machine_image)
        cfn = pin(self.resource, tuple(settings.instance_types or ()), self.launch_template, strategy)
        _overrides(cfn, machine_image, key_pair, tags)
        if options.instance_role is None:
            acknowledge(
                self.resource,
                "IAM4",
                "AmazonEC2ContainerServiceforEC2Role is the AWS-maintained policy the ECS agent on Batch "
                "instances needs; AWS updates it as the agent changes.",
                applies_to=managed_policy_finding(_INSTANCE_POLICY),
            )
        self._profile = settings.profile(
            maxv_cpus=None if is_token(options.maxv_cpus) else options.maxv_cpus,
            public_subnets=network.public_subnets,
            private_egress=network.private_egress,
            internet=network.internet,
            node_traffic=multi_node,
            shared_mounts=shared_mounts,
        )

    def _placement(
        self,
        network: BatchNetwork,
        own_subnets: Sequence[ec2.ISubnet] | None,
        placement_group: ec2.IPlacementGroup | None,
        cluster_placement: bool,
    ) -> ec2.SubnetSelection:
        """The subnets the instances launch into; sets ``placement_group`` (a new cluster placement group
        with ``cluster_placement``, in the subnets of one Availability Zone)."""
        subnets = (
            network.subnet_selection
            if own_subnets is None
            else ec2.SubnetSelection(subnets=list(own_subnets))
        )
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
        return subnets

    def _launch_template(
        self,
        launch_template: ec2.ILaunchTemplate | None,
        options: ManagedEc2Options,
        tags: Mapping[str, str] | None,
    ) -> None:
        """Sets ``launch_template`` (yours, or the hardened one) and ``user_data`` (its MIME user data)."""
        if launch_template is not None:
            given = getattr(launch_template, "user_data", None)
            #: The MIME multipart user data of the launch template (None when yours has none or is imported).
            self.user_data: ec2.MultipartUserData | None = (
                given if isinstance(given, ec2.MultipartUserData) else None
            )
            #: The launch template: the hardened one, or yours.
            self.launch_template: ec2.ILaunchTemplate = launch_template
            return
        # The hardened launch template: IMDSv2 only (hop limit 2 for containers), encrypted gp3 root.
        self.launch_template, self.user_data = hardened_launch_template(
            self, options.root_volume_size, options.user_data_commands, checked=True
        )
        for key, value in (tags or {}).items():
            # Batch tags the instances (computeResources.tags); the template's tag specifications
            # tag the instances and their volumes, merged with tags applied by Tags.of(...).
            Tags.of(self.launch_template).add(key, value)

    def _render(
        self,
        options: ManagedEc2Options,
        strategy: AllocationStrategy,
        subnets: ec2.SubnetSelection,
        groups: Sequence[ec2.ISecurityGroup],
        machine_image: ec2.IMachineImage | str | None,
    ) -> batch.ManagedEc2EcsComputeEnvironment:
        """The L2 environment (the instance list, strategy and template version are pinned after)."""
        spot_fleet_role = (
            spot_fleet_role_for(self) if options.spot and strategy is AllocationStrategy.BEST_FIT else None
        )
        image_type = (
            batch.EcsMachineImageType.ECS_AL2023_NVIDIA
            if options.gpu
            else batch.EcsMachineImageType.ECS_AL2023
        )
        resource = batch.ManagedEc2EcsComputeEnvironment(
            self,
            "Resource",
            vpc=self.network.vpc,
            vpc_subnets=subnets,
            security_groups=list(groups),
            allocation_strategy=l2_allocation(strategy),
            # The instance list is rendered from the settings; this only keeps the L2 from inventing its
            # own (it appends "optimal", which Batch rejects next to Graviton types).
            use_optimal_instance_classes=True,
            images=[
                batch.EcsMachineImage(
                    image_type=image_type,
                    image=None if machine_image is None or isinstance(machine_image, str) else machine_image,
                )
            ],
            launch_template=self.launch_template,
            spot_fleet_role=spot_fleet_role,
            placement_group=self.placement_group,
            instance_role=options.instance_role,
            replace_compute_environment=self.settings.replaces,
            **options.l2_props(),
        )
        return adopt(resource, self, "Resource")  # type: ignore[no-any-return]

    @property
    def profile(self) -> ComputeProfile:
        """The environment's profile; whether the instances have swap is read from the user data as it is
        now (parts added through ``.user_data`` count)."""
        profile = self._profile
        if profile.swap is None or self.user_data is None or _as_made(self.user_data):
            return profile  # unknown, none, or exactly the hook commands the settings were judged with
        swap = user_data_creates_swap(_script(self, self.user_data))
        return profile if swap == profile.swap else replace(profile, swap=swap)

    @profile.setter
    def profile(self, value: ComputeProfile) -> None:
        self._profile = value


def _ec2_settings(
    options: ManagedEc2Options,
    network: BatchNetwork,
    own_subnets: Sequence[ec2.ISubnet] | None,
    *,
    vpc_subnets: ec2.SubnetSelection | None,
    launch_template: ec2.ILaunchTemplate | None,
    machine_image: ec2.IMachineImage | str | None,
    key_pair: ec2.IKeyPair | None,
    tags: Mapping[str, str] | None,
    multi_node: bool,
    cluster_placement: bool,
) -> ComputeSettings:
    """An :class:`Ec2ComputeEnvironment`'s props as the rules see them."""
    library_props = (("root_volume_size",) if options.root_volume_size is not None else ()) + (
        ("user_data_commands",) if options.user_data_commands else ()
    )
    return ComputeSettings(
        kind=ComputeKind.of(spot=options.spot),
        name=options.compute_environment_name,
        minv_cpus=options.minv_cpus,
        maxv_cpus=options.maxv_cpus,
        architecture=options.architecture,
        gpu=options.gpu,
        instance_types=options.types,
        allocation_strategy=options.allocation_strategy,
        replace_compute_environment=options.replace_compute_environment,
        spot_bid_percentage=options.spot_bid_percentage,
        update_timeout_seconds=_seconds(options.timeout),
        root_volume_gib=_gib(options.root_volume_size or size("gibibytes", MIN_ROOT_GIB)),
        library_template_props=library_props,
        launch_template=_template_facts(launch_template) if launch_template is not None else None,
        image_type="ECS_AL2023_NVIDIA" if options.gpu else "ECS_AL2023",
        image_id=machine_image if isinstance(machine_image, str) else None,
        custom_image=machine_image is not None and not isinstance(machine_image, str),
        key_pair=None if key_pair is None else str(key_pair.key_pair_name),
        tags=dict(tags) if tags else None,
        multi_node=multi_node,
        cluster_placement=cluster_placement,
        user_data_swap=user_data_creates_swap("\n".join(options.user_data_commands)),
        **_subnet_facts(network, own_subnets, given=vpc_subnets is not None),
    )


def _subnet_facts(
    network: BatchNetwork, own_subnets: Sequence[ec2.ISubnet] | None, *, given: bool
) -> dict[str, Any]:
    """The subnets chosen with ``vpc_subnets`` (``given``) and the network's, for BK-C14."""
    network_subnets = None
    if own_subnets is not None:
        selected = network.vpc.select_subnets(subnet_type=network.subnet_selection.subnet_type).subnets
        network_subnets = tuple(s.subnet_id for s in selected)
    return {
        "subnets": tuple((s.subnet_id, s.node.path) for s in own_subnets or ()) if given else None,
        "network_subnets": network_subnets,
        "network_subnet_type": str(network.subnet_selection.subnet_type),
    }


def _overrides(
    cfn: batch.CfnComputeEnvironment,
    machine_image: ec2.IMachineImage | str | None,
    key_pair: ec2.IKeyPair | None,
    tags: Mapping[str, str] | None,
) -> None:
    """What the L2 cannot render: an image id, a key pair, instance tags."""
    if isinstance(machine_image, str):
        cfn.add_property_override("ComputeResources.Ec2Configuration.0.ImageIdOverride", machine_image)
    if key_pair is not None:
        cfn.add_property_override("ComputeResources.Ec2KeyPair", key_pair.key_pair_name)
    if tags:
        cfn.add_property_override("ComputeResources.Tags", dict(tags))


_AS_MADE = "_batchkit_user_data_as_made"
#: What adds to a MultipartUserData (every public method but ``render`` and the static factories).
_ADDERS = (
    "add_part",
    "add_user_data_part",
    "add_commands",
    "add_on_exit_commands",
    "add_execute_file_command",
    "add_s3_download_command",
    "add_signal_on_exit_command",
)


def _track_changes(user_data: ec2.MultipartUserData) -> None:
    """Note on ``user_data`` (the library's, holding only the hook part) that it is as made, until anything
    is added to it from Python (``env.user_data``, ``env.launch_template.user_data``: the same object, or
    a Lustre mount): its text is then known without rendering and resolving it in Node (two round trips
    per environment for each queue that reads its profile)."""
    user_data.__dict__[_AS_MADE] = True
    for name in _ADDERS:
        method = getattr(user_data, name)

        def adder(*args: Any, _method: Any = method, **kwargs: Any) -> Any:
            user_data.__dict__[_AS_MADE] = False
            return _method(*args, **kwargs)

        setattr(user_data, name, adder)


def _as_made(user_data: ec2.UserData) -> bool:
    """Whether ``user_data`` is the library's with nothing added since (see :func:`_track_changes`)."""
    return bool(user_data.__dict__.get(_AS_MADE))


def _script(scope: Construct, user_data: ec2.UserData) -> str:
    """User data as text (each MIME part is a Base64 token until resolved: resolve it, then join the
    strings it holds)."""
    strings: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            strings.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(stack_of(scope).resolve(user_data.render()))
    return "\n".join(strings)


def _template_facts(template: ec2.ILaunchTemplate) -> LaunchTemplateFacts:
    """What can be known of a launch template of the user's: everything for one defined in the app (the
    struct as the L2 built it; raw overrides added later are not seen), nothing for an imported one."""
    cfn = default_child(template) if isinstance(template, ec2.LaunchTemplate) else None
    label = str(node_path(template))
    if not isinstance(cfn, ec2.CfnLaunchTemplate):
        return LaunchTemplateFacts(
            label=label, imported=True, version=str(template.version_number), sets_image=None
        )
    # Only the fields checked are resolved: resolving the whole struct renders the user data (a cached
    # Lazy) once and for all, and MIME parts added afterwards (the Lustre mount,
    # `.user_data.add_user_data_part`) would be dropped silently.
    raw = cfn.launch_template_data
    data: dict[str, Any] = (
        Stack.of(template).resolve(
            {
                "metadataOptions": getattr(raw, "metadata_options", None),
                "blockDeviceMappings": getattr(raw, "block_device_mappings", None),
                "imageId": getattr(raw, "image_id", None),
            }
        )
        or {}
    )
    meta = data.get("metadataOptions") or {}
    hops = meta.get("httpPutResponseHopLimit")
    volumes = []
    for mapping in data.get("blockDeviceMappings") or []:
        if not isinstance(mapping, dict):
            continue
        ebs = mapping.get("ebs")
        if isinstance(ebs, dict):
            encrypted = ebs.get("encrypted")
            volumes.append(
                EbsVolume(
                    mapping.get("deviceName"),
                    encrypted if isinstance(encrypted, bool) else None,
                    snapshot=bool(ebs.get("snapshotId")),
                )
            )
        else:
            volumes.append(EbsVolume(mapping.get("deviceName"), True))
    given = getattr(template, "user_data", None)
    multipart = isinstance(given, ec2.MultipartUserData)
    # The L2 always sets a (lazy) userData token; whether it renders anything is whether it has user data.
    has_user_data = given is not None
    return LaunchTemplateFacts(
        label=label,
        http_tokens=meta.get("httpTokens"),
        hop_limit=hops if isinstance(hops, int) else None,
        volumes=tuple(volumes),
        has_user_data=has_user_data,
        multipart_user_data=multipart if has_user_data else None,
        sets_image=data.get("imageId") is not None,
        user_data_swap=(user_data_creates_swap(given.render()) if multipart and given is not None else None),
    )


def hardened_launch_template(
    scope: Construct,
    root_volume_size: Size | None,
    user_data_commands: Sequence[str],
    *,
    checked: bool = False,
) -> tuple[ec2.LaunchTemplate, ec2.MultipartUserData]:
    """The launch template every managed EC2 environment gets: IMDSv2 only (hop limit 2 for
    containers), an encrypted gp3 root of ``root_volume_size`` (BK-C5, reported on ``scope`` unless
    ``checked`` says the caller's settings were judged already), MIME multipart user data."""
    root_size = root_volume_size or size("gibibytes", MIN_ROOT_GIB)
    gib = _gib(root_size)
    if not checked:
        report(scope, compute_root_volume(ComputeSettings(ComputeKind.EC2, root_volume_gib=gib)))
    root_gib = int(gib) if gib is not None else gibibytes_of(root_size)
    user_data = ec2.MultipartUserData()
    # What UserData.for_linux() with these commands renders ("#!/bin/bash" and the lines), in one round trip.
    boot = ec2.UserData.custom(
        "\n".join(["#!/bin/bash", "# cdk-batchkit user-data hook", *user_data_commands])
    )
    user_data.add_user_data_part(boot, _shell_script(), True)
    if not any(is_token(command) for command in user_data_commands):
        _track_changes(user_data)
    template = ec2.LaunchTemplate(
        scope,
        "LaunchTemplate",
        require_imdsv2=True,
        http_tokens=ec2.LaunchTemplateHttpTokens.REQUIRED,
        http_put_response_hop_limit=2,
        user_data=user_data,
        block_devices=[
            ec2.BlockDevice(
                device_name="/dev/xvda", volume=_root_volume(root_gib, encryption_key(scope, KeyUser.EBS))
            )
        ],
    )
    return template, user_data


_CONSTANTS: dict[str, str] = {}
_ROOT_VOLUMES: dict[tuple[float, int], tuple[ec2.BlockDeviceVolume, kms.IKey | None]] = {}


def _root_volume(gib: float, key: kms.IKey | None) -> ec2.BlockDeviceVolume:
    """The encrypted gp3 root volume of ``gib`` GiB with ``key``, made once per process and key (a
    ``BlockDeviceVolume`` is an immutable value: every launch template may share it). The key is kept with
    it, so its ``id`` is never reused while the entry exists."""
    cache_key = (gib, id(key))
    made = _ROOT_VOLUMES.get(cache_key)
    if made is None:
        volume = ec2.BlockDeviceVolume.ebs(
            gib,
            encrypted=True,
            kms_key=key,
            volume_type=ec2.EbsDeviceVolumeType.GP3,
            delete_on_termination=True,
        )
        made = _ROOT_VOLUMES[cache_key] = (volume, key)
    return made[0]


def _shell_script() -> str:
    """``ec2.MultipartBody.SHELL_SCRIPT`` (a string constant), asked of the CDK once per process."""
    if "shell" not in _CONSTANTS:
        _CONSTANTS["shell"] = ec2.MultipartBody.SHELL_SCRIPT
    return _CONSTANTS["shell"]


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
    cfn = default_child(resource)
    assert isinstance(cfn, batch.CfnComputeEnvironment)
    # Batch snapshots a launch template referenced as $Default/$Latest (or with no version) once,
    # at creation; the version number makes a template change roll out on the next deploy.
    version = (
        template.latest_version_number
        if isinstance(template, ec2.LaunchTemplate)
        else template.version_number
    )
    # One override (one round trip) that merges into ComputeResources as the three path overrides
    # ``ComputeResources.InstanceTypes``, ``.AllocationStrategy``, ``.LaunchTemplate.Version`` would.
    cfn.add_property_override(
        "ComputeResources",
        {
            "InstanceTypes": list(types),
            "AllocationStrategy": strategy.value,
            "LaunchTemplate": {"Version": version},
        },
    )
    return cfn


def spot_fleet_role_for(scope: Construct) -> iam.Role:
    """A working spot fleet role for BEST_FIT Spot environments (the L2's has no policy)."""
    policy = _SPOT_FLEET_POLICY
    role = iam.Role(
        scope,
        "SpotFleetRole",
        assumed_by=service_principal("spotfleet.amazonaws.com"),
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
        settings = ComputeSettings(
            kind=ComputeKind.of(spot=spot, fargate=True), name=compute_environment_name, maxv_cpus=maxv_cpus
        )
        report(self, check_compute(settings))
        #: What the rules judged: the settings of this environment (CDK-free).
        self.settings = settings
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
        cfn = default_child(self.resource)
        assert isinstance(cfn, batch.CfnComputeEnvironment)
        # BK-C9: the L2 renders ReplaceComputeEnvironment: false and UpdatePolicy even when not asked to.
        for path in fargate_not_updatable(settings.kind):
            cfn.add_property_deletion_override(path)
        # Fargate runs x86_64 and ARM64 tasks alike; the job definition picks (architecture None).
        self.profile = settings.profile(
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
        :param unmanagedv_cpus: vCPUs you provide, needed when a fair-share queue uses it. Default: not
            declared (a fair-share queue then cannot reserve compute for share identifiers).
        :param architecture: architecture of the instances you register. Default: x86_64.
        :param gpu: whether your instances have GPUs (used by the fit check). Default: no GPU.
        :param compute_environment_name: physical name. Default: generated.
        """
        super().__init__(scope, construct_id)
        settings = ComputeSettings(
            kind=ComputeKind.UNMANAGED,
            name=compute_environment_name,
            unmanaged_vcpus=unmanagedv_cpus,
            architecture=architecture,
            gpu=gpu,
        )
        report(self, check_compute(settings))
        #: What the rules judged: the settings of this environment (CDK-free).
        self.settings = settings
        self.resource = batch.UnmanagedComputeEnvironment(
            self,
            "Resource",
            unmanagedv_cpus=unmanagedv_cpus,
            compute_environment_name=compute_environment_name,
        )
        # The L2 creates a service role with the legacy AWSBatchServiceRole managed policy; Batch uses its
        # service-linked role when none is given (as it does for our managed environments), so drop it.
        self.resource.node.try_remove_child("BatchServiceRole")
        cfn = default_child(self.resource)
        assert isinstance(cfn, batch.CfnComputeEnvironment)
        cfn.add_property_deletion_override("ServiceRole")
        # Your instances: their AMI (Amazon Linux 2023 or not, swap or not) is unknown.
        self.profile = ComputeProfile(kind=ComputeKind.UNMANAGED, architecture=architecture, gpu=gpu)
