"""Compute environments and service environments as the rules see them: CDK-free settings values.

A construct (``Ec2ComputeEnvironment``, ``FargateComputeEnvironment``, ``ManagedInstancesComputeEnvironment``,
``EksComputeEnvironment``, ``UnmanagedComputeEnvironment``, ``SageMakerTrainingEnvironment``), the L2
describer (an ``aws_batch`` compute environment defined in the app) and the testing kit (a
CreateComputeEnvironment request) all translate what they know into a :class:`ComputeSettings` (or a
:class:`ServiceEnvironmentSettings`); the rules in :mod:`cdk_batchkit.model.rules.compute` are functions of
these values. A fact that is unknown (not given, or a CDK token) is None and the rules that need it skip it.

:meth:`ComputeSettings.from_api` parses a CreateComputeEnvironment request (camelCase) or the properties of
an ``AWS::Batch::ComputeEnvironment`` (PascalCase), as :meth:`JobSpec.from_api` does for job definitions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .instances import Architecture, architecture_of, is_gpu
from .profiles import ComputeKind, ComputeProfile
from .values import is_unresolved

#: Spot capacity is deep when it is diversified: several families and generations.
SPOT_FAMILIES = {
    Architecture.X86_64: ("c6i", "c7i", "c6a", "m6i", "m7i", "m6a", "r6i", "r7i", "c5", "m5"),
    Architecture.ARM64: ("c6g", "c7g", "c8g", "m6g", "m7g", "m8g", "r6g", "r7g"),
}
#: Batch picks current-generation general/compute/memory types for these aliases.
ON_DEMAND_DEFAULT = {Architecture.X86_64: ("default_x86_64",), Architecture.ARM64: ("default_arm64",)}
GPU_FAMILIES = ("g6", "g5", "g4dn")

#: ECS-optimized AL2023 root volumes are built from a 30 GiB snapshot; a smaller volume cannot launch.
MIN_ROOT_GIB = 30

#: The Ec2Configuration image types that select an Amazon Linux 2023 AMI (ECS and EKS), and the older ones.
#: https://docs.aws.amazon.com/batch/latest/APIReference/API_Ec2Configuration.html (imageType)
AL2023_IMAGE_TYPES = frozenset({"ECS_AL2023", "ECS_AL2023_NVIDIA", "EKS_AL2023", "EKS_AL2023_NVIDIA"})
OLDER_IMAGE_TYPES = frozenset({"ECS_AL1", "ECS_AL2", "ECS_AL2_NVIDIA", "EKS_AL2", "EKS_AL2_NVIDIA"})

#: A shell command that creates or enables swap space in user data.
_SWAP_COMMAND = re.compile(r"\b(swapon|mkswap)\b")


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

    @staticmethod
    def parse(name: Any) -> AllocationStrategy | None:
        """The strategy named ``name`` (any enum with that value, or its name in any case), or None."""
        value = name.value if isinstance(name, Enum) else str(name).upper()
        try:
            return AllocationStrategy(value)
        except ValueError:
            return None


def default_instance_types(spot: bool, architecture: Architecture, gpu: bool) -> tuple[str, ...]:
    """The default instance types of a managed EC2 (ECS or EKS) environment of this library."""
    if gpu:
        return GPU_FAMILIES
    return SPOT_FAMILIES[architecture] if spot else ON_DEMAND_DEFAULT[architecture]


def default_allocation_strategy(spot: bool) -> AllocationStrategy:
    """The library's default: price-capacity-optimized Spot, best-fit-progressive on-demand."""
    return (
        AllocationStrategy.SPOT_PRICE_CAPACITY_OPTIMIZED if spot else AllocationStrategy.BEST_FIT_PROGRESSIVE
    )


def user_data_creates_swap(script: str | None) -> bool | None:
    """Whether user data (rendered text) turns swap on (``mkswap``/``swapon``); None when unknown."""
    if script is None or not isinstance(script, str):
        return None
    return bool(_SWAP_COMMAND.search(script))


@dataclass(frozen=True)
class EbsVolume:
    """One EBS volume a launch template maps: its device, whether it is encrypted (None: not said) and
    whether it comes from a snapshot (whose encryption it inherits)."""

    device_name: str | None
    encrypted: bool | None
    snapshot: bool = False


@dataclass(frozen=True)
class LaunchTemplateFacts:
    """What is known of a launch template of the user's (not the library's hardened one).

    ``imported`` (not defined in the app): nothing below is known. ``version`` is how the environment
    references it (for messages).
    """

    label: str
    imported: bool = False
    version: str | None = None
    #: MetadataOptions.HttpTokens (``"required"`` for IMDSv2 only); None when not set.
    http_tokens: str | None = None
    #: MetadataOptions.HttpPutResponseHopLimit; None when not set or unknown.
    hop_limit: int | None = None
    volumes: tuple[EbsVolume, ...] = ()
    #: Whether the template has user data, and whether it is MIME multipart (None: unknown).
    has_user_data: bool = False
    multipart_user_data: bool | None = None
    #: Whether the template sets an AMI (ImageId); None when unknown.
    sets_image: bool | None = False
    #: Whether its user data turns swap on (None: unknown).
    user_data_swap: bool | None = None


@dataclass(frozen=True)
class ComputeSettings:
    """A compute environment's settings, as given (by a construct's props, an L2's properties or a
    CreateComputeEnvironment request). None is unknown or not given.

    ``architecture`` and ``gpu`` are what the environment is declared to run (this library's constructs);
    None lets the instance types speak for themselves (an L2 or API environment). ``instance_types`` are
    the types rendered (after the library's defaults).
    """

    kind: ComputeKind
    #: The physical name (None: generated).
    name: str | None = None
    minv_cpus: int | None = None
    maxv_cpus: int | None = None
    #: UNMANAGED only: the vCPUs you provide (unmanagedvCpus).
    unmanaged_vcpus: int | None = None
    architecture: Architecture | None = None
    gpu: bool | None = None
    instance_types: tuple[str, ...] | None = None
    #: The allocation strategy as given (an :class:`AllocationStrategy`, the L2 enum or a name).
    allocation_strategy: Any = None
    replace_compute_environment: bool | None = None
    spot_bid_percentage: int | None = None
    #: UpdatePolicy.JobExecutionTimeoutMinutes, in seconds.
    update_timeout_seconds: float | None = None
    #: The library's launch template: the root volume size (GiB).
    root_volume_gib: float | None = None
    #: The props given that shape the library's own launch template (``root_volume_size``,
    #: ``user_data_commands``), refused next to a launch template of yours.
    library_template_props: tuple[str, ...] = ()
    #: A launch template of yours (None: the library's hardened one, or none).
    launch_template: LaunchTemplateFacts | None = None
    #: Ec2Configuration imageType (``ECS_AL2023``...) and imageIdOverride (an AMI id).
    image_type: str | None = None
    image_id: str | None = None
    #: An AMI given as an image object (not an id): custom, its OS unknown.
    custom_image: bool = False
    #: The EC2 key pair name (SSH).
    key_pair: str | None = None
    #: computeResources.tags (instance and, with the library's template, volume tags).
    tags: Mapping[str, str] | None = None
    #: Runs multi-node parallel jobs (the cluster security group is added).
    multi_node: bool = False
    #: Explicitly selected subnets ``(id, label)`` (None: the network's own), the network's subnet ids of
    #: its mode and that mode's name, and whether a cluster placement group picks the subnets.
    subnets: tuple[tuple[str, str], ...] | None = None
    network_subnets: tuple[str, ...] | None = None
    network_subnet_type: str = ""
    cluster_placement: bool = False
    #: The user data of the library's template turns swap on (None: unknown).
    user_data_swap: bool | None = False
    #: ECS Managed Instances: the data volume (GiB) and the idle delay before scale-in (seconds, -1: never).
    storage_gib: float | None = None
    scale_in_after_seconds: float | None = None
    #: Rendered update fields (UpdatePolicy, ReplaceComputeEnvironment, UpdateToLatestImageVersion) that
    #: a Fargate environment must not carry.
    update_fields: tuple[str, ...] = ()

    # -- derived facts ---------------------------------------------------------------------------------
    @property
    def spot(self) -> bool:
        return self.kind.spot

    @property
    def strategy(self) -> AllocationStrategy | None:
        """The allocation strategy (given, or the library's default for a managed EC2/EKS kind)."""
        if self.allocation_strategy is None:
            if self.kind.provisioning != "EC2" or not self.kind.managed:
                return None
            return default_allocation_strategy(self.spot)
        return AllocationStrategy.parse(self.allocation_strategy)

    @property
    def replaces(self) -> bool:
        """Whether updates replace the environment (default: only BEST_FIT, which cannot update in place)."""
        if self.replace_compute_environment is not None:
            return self.replace_compute_environment
        return self.strategy is AllocationStrategy.BEST_FIT

    @property
    def architectures(self) -> set[Architecture]:
        """The architectures the instance types are of (empty when none are known)."""
        names = [t for t in self.instance_types or () if isinstance(t, str) and t and not is_unresolved(t)]
        return {architecture_of(t) for t in names}

    @property
    def ecs_optimized_image(self) -> bool | None:
        """Whether instances run the AMI Batch picks for ``image_type`` (no AMI of yours anywhere)."""
        if self.image_id is not None or self.custom_image:
            return None
        template = self.launch_template
        if template is not None and (template.imported or template.sets_image is not False):
            return None
        return True

    @property
    def amazon_linux_2023(self) -> bool | None:
        """Whether the instances run Amazon Linux 2023 (None: unknown, such as a custom AMI or Batch's
        default image type, which changed from AL2 to AL2023 for new environments in 2026)."""
        if self.kind.provisioning != "EC2" or self.ecs_optimized_image is None:
            return None
        if self.image_type in AL2023_IMAGE_TYPES:
            return True
        if self.image_type in OLDER_IMAGE_TYPES:
            return False
        return None

    @property
    def swap(self) -> bool | None:
        """Whether the instances have swap space: the ECS-optimized AMIs have none unless user data
        creates it (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/container-swap.html)."""
        if self.kind.provisioning != "EC2" or not self.kind.managed or self.ecs_optimized_image is None:
            return None
        template = self.launch_template
        if template is not None:
            return template.user_data_swap if template.has_user_data else self.user_data_swap
        return self.user_data_swap

    def profile(self, **facts: Any) -> ComputeProfile:
        """The :class:`ComputeProfile` the fit rules read; ``facts`` adds what the settings do not carry
        (network facts, shared mounts)."""
        archs = self.architectures
        architecture = self.architecture
        if architecture is None and not self.kind.fargate and not self.kind.managed_instances:
            architecture = archs.pop() if len(archs) == 1 else Architecture.X86_64 if archs else None
        types = tuple(self.instance_types or ())
        gpu = self.gpu if self.gpu is not None else any(is_gpu(t) for t in types if isinstance(t, str))
        values: dict[str, Any] = {
            "kind": self.kind,
            "architecture": architecture,
            "maxv_cpus": self.maxv_cpus,
            "instance_types": types,
            "gpu": gpu,
            "amazon_linux_2023": self.amazon_linux_2023,
            "swap": self.swap,
        }
        values.update(facts)
        return ComputeProfile(**values)

    # -- parsing ---------------------------------------------------------------------------------------
    @staticmethod
    def from_api(environment: Mapping[str, Any]) -> ComputeSettings:
        """Parse a CreateComputeEnvironment request (camelCase) or ``AWS::Batch::ComputeEnvironment``
        properties (PascalCase). Tokens become None."""
        resources = _get(environment, "computeResources") or {}
        managed = str(_get(environment, "type") or "MANAGED").upper() == "MANAGED"
        ce_type = str(_get(resources, "type") or "EC2").upper()
        eks = _get(environment, "eksConfiguration") is not None
        provider = _get(resources, "managedInstancesProvider") or {}
        launch = _get(provider, "instanceLaunchTemplate") or {}
        if not managed:
            kind = ComputeKind.UNMANAGED
        elif ce_type == "ECS_MANAGED_INSTANCES":
            spot = str(_get(launch, "capacityOptionType") or "").upper() == "SPOT"
            kind = ComputeKind.ECS_MANAGED_INSTANCES_SPOT if spot else ComputeKind.ECS_MANAGED_INSTANCES
        else:
            kind = ComputeKind.of(
                spot=ce_type in ("SPOT", "FARGATE_SPOT"), fargate=ce_type.startswith("FARGATE"), eks=eks
            )
        ec2_configuration = _get(resources, "ec2Configuration") or []
        first = ec2_configuration[0] if isinstance(ec2_configuration, list) and ec2_configuration else {}
        image_id = _known(_get(first, "imageIdOverride")) or _known(_get(resources, "imageId"))
        template = _get(resources, "launchTemplate")
        update = _get(environment, "updatePolicy") or {}
        minutes = _number(_get(update, "jobExecutionTimeoutMinutes"))
        types = _get(resources, "instanceTypes")
        if kind.managed_instances:
            requirements = _get(launch, "instanceRequirements") or {}
            types = _get(requirements, "allowedInstanceTypes")
        storage = _get(launch, "storageConfiguration") or {}
        optimization = _get(provider, "infrastructureOptimization") or {}
        rendered = tuple(
            name
            for name, value in (
                ("UpdatePolicy", update),
                ("ReplaceComputeEnvironment", _get(environment, "replaceComputeEnvironment")),
                (
                    "ComputeResources.UpdateToLatestImageVersion",
                    _get(resources, "updateToLatestImageVersion"),
                ),
            )
            if value not in (None, {}, [])
        )
        tags = _get(resources, "tags")
        return ComputeSettings(
            kind=kind,
            name=_known(_get(environment, "computeEnvironmentName")),
            minv_cpus=_int(_get(resources, "minvCpus")),
            maxv_cpus=_int(_get(resources, "maxvCpus")),
            unmanaged_vcpus=_int(_get(environment, "unmanagedvCpus")),
            instance_types=(
                tuple(t for t in types if isinstance(t, str) and not is_unresolved(t))
                if isinstance(types, list)
                else None
            ),
            allocation_strategy=_known(_get(resources, "allocationStrategy")),
            replace_compute_environment=_bool(_get(environment, "replaceComputeEnvironment")),
            spot_bid_percentage=_int(_get(resources, "bidPercentage")),
            update_timeout_seconds=None if minutes is None else minutes * 60,
            launch_template=(
                LaunchTemplateFacts(label="launchTemplate", imported=True, sets_image=None)
                if template
                else None
            ),
            image_type=_known(_get(first, "imageType")),
            image_id=image_id if isinstance(image_id, str) else None,
            key_pair=_known(_get(resources, "ec2KeyPair")),
            tags=dict(tags) if isinstance(tags, Mapping) else None,
            user_data_swap=None if template else False,
            storage_gib=_number(_get(storage, "storageSizeGiB")),
            scale_in_after_seconds=_number(_get(optimization, "scaleInAfter")),
            update_fields=rendered,
        )


@dataclass(frozen=True)
class ServiceEnvironmentSettings:
    """A service environment (CreateServiceEnvironment): its name (None: generated) and capacity limit."""

    name: str | None = None
    #: capacityLimits[].maxCapacity for ``capacityUnit: NUM_INSTANCES``.
    max_instances: Any = None
    capacity_unit: str = "NUM_INSTANCES"
    kind: ComputeKind = field(default=ComputeKind.SAGEMAKER_TRAINING)


# -- helpers -------------------------------------------------------------------------------------------
def _get(data: Any, camel: str) -> Any:
    """``data[camel]`` or its PascalCase form (``maxvCpus`` / ``MaxvCpus``)."""
    if not isinstance(data, Mapping):
        return None
    if camel in data:
        return data[camel]
    return data.get(camel[0].upper() + camel[1:])


def _known(value: Any) -> Any:
    return None if value is None or is_unresolved(value) or isinstance(value, Mapping) else value


def _int(value: Any) -> int | None:
    value = _known(value)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return int(float(value))
    except ValueError:
        return None


def _number(value: Any) -> float | None:
    value = _known(value)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _bool(value: Any) -> bool | None:
    value = _known(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None
