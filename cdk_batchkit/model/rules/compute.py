"""Compute environment and service environment rules (BK-C1 to BK-C21, BK-I3, BK-I4, BK-V1, BK-V4).

Every rule takes a :class:`~cdk_batchkit.model.compute.ComputeSettings` (or a
:class:`~cdk_batchkit.model.compute.ServiceEnvironmentSettings`) and yields problems whose ``prop`` names
the construct prop (``maxv_cpus``, ``instance_types``...). :func:`check_compute` runs the compute rules in
one order; :data:`DESCRIBED_RULES` are those that apply to an environment described from its rendered
properties (an ``aws_batch`` L2 environment, a CreateComputeEnvironment request). Unknown values (None,
CDK tokens) are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from ..compute import MIN_ROOT_GIB, AllocationStrategy, ComputeSettings, ServiceEnvironmentSettings
from ..ec2_types import instance_type_problem, is_alias
from ..instances import Architecture, architecture_of, is_gpu, shape_of
from ..limits import MAX_TAG_KEY, MAX_TAG_VALUE, MAX_TAGS
from ..profiles import ComputeKind
from ..values import is_unresolved
from ._registry import Problem, rule

_API = "https://docs.aws.amazon.com/batch/latest/APIReference"
_COMPUTE_RESOURCE = f"{_API}/API_ComputeResource.html"
_LAUNCH_TEMPLATES = "https://docs.aws.amazon.com/batch/latest/userguide/launch-templates.html"
_MI_CE = "https://docs.aws.amazon.com/batch/latest/userguide/ecs-managed-instances-compute-environments.html"
#: ComputeResource minvCpus/maxvCpus and unmanagedvCpus: the library's sanity bound (Batch documents none).
MAX_VCPUS = 100_000
#: UpdatePolicy.jobExecutionTimeoutMinutes: 1-360.
MIN_UPDATE_SECONDS, MAX_UPDATE_SECONDS = 60, 360 * 60
#: ECS Managed Instances storageConfiguration.storageSizeGiB: 1-16,384.
MIN_STORAGE_GIB, MAX_STORAGE_GIB = 1, 16_384
#: InfrastructureOptimization.scaleInAfter: -1 (never) or 0-3600 seconds.
MAX_SCALE_IN_SECONDS = 3600
#: CapacityLimit.maxCapacity: an Integer.
MAX_INSTANCES = 2**31 - 1
#: EC2 image ids: ami- and 8 or 17 hex digits.
AMI_ID = re.compile(r"^ami-([0-9a-f]{8}|[0-9a-f]{17})$")
#: Compute environment, job queue and service environment names: up to 128 letters, digits, - and _.
BATCH_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
#: What UpdateComputeEnvironment cannot change on a Fargate environment; CloudFormation must not render
#: these (aws-cdk#27054). ReplaceComputeEnvironment is about replacing instances, which Fargate has none of.
FARGATE_NOT_UPDATABLE = (
    "UpdatePolicy",
    "ReplaceComputeEnvironment",
    "ComputeResources.UpdateToLatestImageVersion",
)


def apply(checks: Iterable[Callable[..., Iterable[Problem]]], *args: Any) -> list[Problem]:
    """Every problem of the value rules ``checks`` on ``args``, in order."""
    found: list[Problem] = []
    for check in checks:
        found.extend(check(*args))
    return found


def _plain(value: Any) -> bool:
    return value is not None and not is_unresolved(value)


def _range(prop: str, value: Any, low: float, high: float) -> Iterator[Problem]:
    if _plain(value) and not low <= value <= high:
        yield Problem(prop, value, f"must be between {low:g} and {high:g}")


def _ec2_managed(settings: ComputeSettings) -> bool:
    """A managed environment whose instances Batch launches (EC2, Spot, EKS)."""
    return settings.kind.managed and settings.kind.provisioning == "EC2"


def name_problems(prop: str, name: Any, what: str) -> Iterator[Problem]:
    """A Batch resource name (compute environment, job queue, service environment): 1-128 letters, digits,
    hyphens and underscores."""
    if _plain(name) and not (isinstance(name, str) and BATCH_NAME.match(name)):
        yield Problem(prop, name, f"{what} names are 1-128 letters, digits, hyphens (-) and underscores (_)")


def tag_problems(
    tags: Mapping[str, str] | None, prop: str = "tags", *, reserved_prefix: bool = True
) -> Iterator[Problem]:
    """AWS tag limits: at most 50 tags, keys 1-128 and values at most 256 characters (and, for EC2, no
    ``aws:`` prefix)."""
    if not tags:
        return
    if len(tags) > MAX_TAGS:
        yield Problem(prop, f"{len(tags)} tags", f"at most {MAX_TAGS} tags per resource")
        return
    for key, value in tags.items():
        if _plain(key) and not 1 <= len(key) <= MAX_TAG_KEY:
            yield Problem(prop, {key: value}, f"tag keys are 1-{MAX_TAG_KEY} characters")
        elif _plain(value) and len(value) > MAX_TAG_VALUE:
            yield Problem(prop, {key: value}, f"tag values are at most {MAX_TAG_VALUE} characters")
        elif reserved_prefix and any(
            _plain(text) and isinstance(text, str) and text.lower().startswith("aws:")
            for text in (key, value)
        ):
            yield Problem(prop, {key: value}, "the aws: prefix is reserved for AWS (keys and values)")


# -- capacity, Spot, updates ---------------------------------------------------------------------------
@rule(
    "BK-C1",
    "minvCpus 0-100,000 and at most maxvCpus; maxvCpus 1-100,000; unmanagedvCpus 0-100,000.",
    f"{_COMPUTE_RESOURCE} (minvCpus, maxvCpus) and {_API}/API_CreateComputeEnvironment.html (unmanagedvCpus)",
)
def compute_capacity(settings: ComputeSettings) -> Iterator[Problem]:
    yield from _range("minv_cpus", settings.minv_cpus, 0, MAX_VCPUS)
    yield from _range("maxv_cpus", settings.maxv_cpus, 1, MAX_VCPUS)
    yield from _range("unmanagedv_cpus", settings.unmanaged_vcpus, 0, MAX_VCPUS)
    low, high = settings.minv_cpus, settings.maxv_cpus
    if _plain(low) and _plain(high) and low > high:  # type: ignore[operator]
        yield Problem("minv_cpus", low, f"must not exceed maxv_cpus ({high})")


@rule(
    "BK-C2",
    "A Spot bid percentage is 1-100 and only given with Spot.",
    f"{_COMPUTE_RESOURCE} (bidPercentage: the maximum percentage that a Spot Instance price can be when "
    "compared with the On-Demand price)",
)
def compute_spot_bid(settings: ComputeSettings) -> Iterator[Problem]:
    bid = settings.spot_bid_percentage
    yield from _range("spot_bid_percentage", bid, 1, 100)
    if _plain(bid) and not settings.spot:
        yield Problem("spot_bid_percentage", bid, "only applies with spot=True")


@rule(
    "BK-C3",
    "An update timeout (jobExecutionTimeoutMinutes) is 1-360 whole minutes.",
    f"{_API}/API_UpdatePolicy.html (jobExecutionTimeoutMinutes: 1-360)",
)
def compute_update_timeout(settings: ComputeSettings) -> Iterator[Problem]:
    seconds = settings.update_timeout_seconds
    if not _plain(seconds):
        return
    assert seconds is not None
    if not MIN_UPDATE_SECONDS <= seconds <= MAX_UPDATE_SECONDS:
        yield Problem(
            "update_timeout",
            f"{seconds:g} s",
            f"must be between {MIN_UPDATE_SECONDS} and {MAX_UPDATE_SECONDS} seconds",
        )
    elif seconds % 60:
        yield Problem("update_timeout", f"{seconds / 60:g} minutes", "must be a whole number of minutes")


@rule(
    "BK-C20",
    "An environment that runs multi-node parallel jobs is on-demand: Batch does not run them on Spot.",
    "https://docs.aws.amazon.com/batch/latest/userguide/mnp-ce.html (multi-node parallel jobs aren't "
    "supported on compute environments that use Spot Instances)",
)
def compute_multi_node_on_demand(settings: ComputeSettings) -> Iterator[Problem]:
    if settings.multi_node and settings.spot:
        yield Problem("multi_node", True, "multi-node parallel jobs are not supported on Spot")


# -- instance types and allocation ---------------------------------------------------------------------
@rule(
    "BK-C7",
    "Each instance_types entry is an EC2 instance type or family known to the pinned botocore's EC2 model, "
    "or a Batch alias (optimal, default_x86_64, default_arm64); the error names the closest known name.",
    f"{_COMPUTE_RESOURCE} (instanceTypes)",
)
def compute_instance_types_exist(settings: ComputeSettings) -> Iterator[Problem]:
    types = settings.instance_types
    if types is None or not _ec2_managed(settings):
        return
    if not types:
        yield Problem("instance_types", list(types), "needs at least one instance type or family")
        return
    for name in types:
        if not isinstance(name, str) or not name.strip():
            yield Problem("instance_types", list(types), f"{name!r} is not an instance type")
            return
        problem = instance_type_problem(name)
        if problem is not None:
            yield Problem("instance_types", list(types), problem)
            return


@rule(
    "BK-C8",
    "*Warning*: a known family the size catalog does not know (hpc7a) warns that job sizes were not "
    "checked against it.",
    "https://docs.aws.amazon.com/batch/latest/userguide/job_stuck_in_runnable.html",
    warning=True,
)
def compute_instance_sizes_known(settings: ComputeSettings) -> Iterator[Problem]:
    if not _ec2_managed(settings):
        return
    for name in settings.instance_types or ():
        known = isinstance(name, str) and name.strip() and instance_type_problem(name) is None
        if known and shape_of(name) is None:
            yield Problem(
                "instance_types",
                name,
                f"{name} is not in the instance size catalog: jobs are not checked against its vCPUs, "
                "memory and GPUs (they may stay RUNNABLE if none fits).",
                code="batchkit:instance-size-unchecked",
            )


@rule(
    "BK-C6",
    "Instance types are all of the environment's architecture ('optimal' is x86_64 only; an environment "
    "described from its properties must not mix architectures); GPU types exactly when gpu=True; GPU only "
    "on x86_64.",
    "https://docs.aws.amazon.com/batch/latest/userguide/compute_environment_parameters.html (instance types "
    f"of one architecture) and {_COMPUTE_RESOURCE} (instanceTypes)",
)
def compute_architecture(settings: ComputeSettings) -> Iterator[Problem]:
    if not _ec2_managed(settings):
        return
    eks = settings.kind in (ComputeKind.EKS, ComputeKind.EKS_SPOT)
    if settings.gpu and settings.architecture is Architecture.ARM64:
        image = "the x86_64 AL2023 NVIDIA EKS image" if eks else "the x86_64 AL2023 NVIDIA image"
        yield Problem(
            "gpu",
            True,
            f"GPU {'nodes' if eks else 'compute'} use{'' if eks else 's'} {image}; use architecture=X86_64",
        )
        return
    types = [t for t in settings.instance_types or () if isinstance(t, str) and t.strip()]
    if settings.architecture is not None:
        for name in types:
            if architecture_of(name) is not settings.architecture:
                yield Problem(
                    "instance_types",
                    list(types),
                    f"{name} is {architecture_of(name).value} but architecture is "
                    f"{settings.architecture.value} (Batch rejects mixed architectures, and 'optimal' is "
                    "x86_64 only)",
                )
                return
    else:
        first = {architecture_of(t): t for t in reversed(types)}
        if len(first) > 1:
            x86, arm = first[Architecture.X86_64], first[Architecture.ARM64]
            yield Problem(
                "instance_types",
                list(types),
                f"mixes architectures: {x86} is x86_64 and {arm} is arm64 (Batch rejects mixed "
                "architectures, and 'optimal' is x86_64 only)",
            )
            return
    if settings.gpu is not None:
        for name in types:
            if is_gpu(name) != settings.gpu:
                why = "is a GPU family; set gpu=True" if is_gpu(name) else "has no GPU but gpu=True"
                yield Problem("instance_types", list(types), f"{name} {why}")
                return


@rule(
    "BK-C19",
    "Allocation strategy pairing: SPOT_* strategies only with Spot, BEST_FIT_PROGRESSIVE_ORDERED only "
    "on-demand; any strategy CloudFormation accepts is rendered (strings or the L2 enum are taken too).",
    f"{_COMPUTE_RESOURCE} (allocationStrategy: only available for Spot Instance / On-Demand Instance "
    "compute resources) and https://docs.aws.amazon.com/batch/latest/userguide/allocation-strategies.html",
)
def compute_allocation_strategy(settings: ComputeSettings) -> Iterator[Problem]:
    given = settings.allocation_strategy
    if given is None or is_unresolved(given) or not _ec2_managed(settings):
        return
    strategy = AllocationStrategy.parse(given)
    if strategy is None:
        yield Problem(
            "allocation_strategy", given, f"must be one of {', '.join(a.value for a in AllocationStrategy)}"
        )
    elif strategy.spot_only and not settings.spot:
        yield Problem("allocation_strategy", strategy.value, "Spot strategies need spot=True")
    elif strategy.on_demand_only and settings.spot:
        yield Problem("allocation_strategy", strategy.value, "is only available for on-demand (spot=False)")


@rule(
    "BK-C4",
    "BEST_FIT cannot be updated in place (infrastructure updates need another strategy): "
    "replace_compute_environment=False is refused with it.",
    "https://docs.aws.amazon.com/batch/latest/userguide/updating-compute-environments.html",
)
def compute_best_fit_updates(settings: ComputeSettings) -> Iterator[Problem]:
    if settings.replace_compute_environment is False and settings.strategy is AllocationStrategy.BEST_FIT:
        yield Problem("replace_compute_environment", False, "BEST_FIT does not support in-place updates")


# -- images, templates, access -------------------------------------------------------------------------
@rule(
    "BK-C5",
    "The library's root volume is at least 30 GiB (the ECS-optimized AL2023 snapshot), whole GiB.",
    "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-optimized_AMI.html",
)
def compute_root_volume(settings: ComputeSettings) -> Iterator[Problem]:
    gib = settings.root_volume_gib
    if not _plain(gib):
        return
    assert gib is not None
    if gib != int(gib):
        yield Problem("root_volume_size", f"{gib:g} GiB", "must be a whole number of GiB")
    elif gib < MIN_ROOT_GIB:
        yield Problem(
            "root_volume_size", f"{int(gib)} GiB", f"must be at least {MIN_ROOT_GIB} GiB (AMI size)"
        )


@rule(
    "BK-C14",
    "An AMI given by id looks like an EC2 image id (ami- and 8 or 17 hex digits).",
    f"{_API}/API_Ec2Configuration.html (imageIdOverride) and "
    "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/resource-ids.html",
)
def compute_image_id(settings: ComputeSettings) -> Iterator[Problem]:
    image = settings.image_id
    if _plain(image) and not (isinstance(image, str) and AMI_ID.match(image)):
        yield Problem("machine_image", image, "is not an AMI id (ami- and 8 or 17 hex digits)")


@rule(
    "BK-C17",
    "Instance and volume tags: at most 50, keys 1-128 and values 0-256 characters, no aws: prefix on keys "
    "or values.",
    "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_Tags.html#tag-restrictions and "
    f"{_COMPUTE_RESOURCE} (tags)",
)
def compute_tags(settings: ComputeSettings) -> Iterator[Problem]:
    yield from tag_problems(settings.tags)


@rule(
    "BK-C16",
    "Explicit subnets are a subset of the network's own subnets (so the fit check's network facts hold); "
    "not with cluster_placement.",
    f"{_COMPUTE_RESOURCE} (subnets) and https://docs.aws.amazon.com/batch/latest/userguide/fargate.html",
)
def compute_subnets(settings: ComputeSettings) -> Iterator[Problem]:
    if settings.subnets is None:
        return
    labels = [label for _, label in settings.subnets]
    if settings.cluster_placement:
        yield Problem("vpc_subnets", labels, "cluster_placement picks the subnets of one zone itself")
        return
    if settings.network_subnets is None:
        return
    own = set(settings.network_subnets)
    outside = [label for subnet_id, label in settings.subnets if subnet_id not in own]
    if not settings.subnets or outside:
        yield Problem(
            "vpc_subnets",
            outside or "no subnet",
            f"must select some of the network's {settings.network_subnet_type} subnets (the network mode "
            "decides public IPs and egress)",
        )


@rule(
    "BK-C12",
    "A launch template's user data is MIME multipart (ec2.MultipartUserData); the library's own "
    "root-volume and user-data props are refused next to a template of yours.",
    f"{_LAUNCH_TEMPLATES} (user data in a launch template must be in the MIME multi-part archive format)",
)
def launch_template_user_data(settings: ComputeSettings) -> Iterator[Problem]:
    template = settings.launch_template
    if template is None:
        return
    if settings.library_template_props:
        yield Problem(
            "launch_template",
            template.label,
            "root_volume_size and user_data_commands shape the library's own launch template; put them in "
            "yours (block devices, MIME multipart user data) instead",
        )
    if not template.imported and template.has_user_data and template.multipart_user_data is False:
        yield Problem(
            "launch_template",
            template.label,
            "user data must be MIME multipart (ec2.MultipartUserData) for Batch",
        )


@rule(
    "BK-C10",
    "A launch template of yours defined in the app requires IMDSv2 (HttpTokens required) with a hop limit "
    "of at most 2, like the library's own.",
    f"{_LAUNCH_TEMPLATES} (Batch merges your template's settings into its own) and "
    "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-IMDS-new-instances.html",
)
def launch_template_imds(settings: ComputeSettings) -> Iterator[Problem]:
    template = settings.launch_template
    if template is None or template.imported:
        return
    tokens = template.http_tokens
    if tokens is None or (isinstance(tokens, str) and not is_unresolved(tokens) and tokens != "required"):
        yield Problem(
            "launch_template",
            template.label,
            f"HttpTokens is {tokens!r}: require IMDSv2 (http_tokens=REQUIRED)",
        )
    hops = template.hop_limit
    if isinstance(hops, int) and hops > 2:
        yield Problem(
            "launch_template",
            template.label,
            f"hop limit {hops} lets more than containers on the host reach IMDS; use at most 2",
        )


@rule(
    "BK-C11",
    "A launch template of yours encrypts every EBS volume it maps; one that maps no root volume warns "
    "that root encryption then depends on the account's EBS encryption by default.",
    f"{_LAUNCH_TEMPLATES} (resizing and encrypting the root volume through a launch template) and "
    "https://docs.aws.amazon.com/ebs/latest/userguide/encryption-by-default.html",
)
def launch_template_encryption(settings: ComputeSettings) -> Iterator[Problem]:
    template = settings.launch_template
    if template is None or template.imported:
        return
    for volume in template.volumes:
        if volume.encrypted is not True and not volume.snapshot:
            yield Problem(
                "launch_template", template.label, f"EBS volume {volume.device_name} is not encrypted"
            )
    if not any(v.device_name == "/dev/xvda" for v in template.volumes):
        yield Problem(
            "launch_template",
            template.label,
            f"{template.label} maps no root volume (/dev/xvda): its encryption depends on the account's EBS "
            "encryption by default (BK-C11).",
            warning=True,
            code="batchkit:root-volume-unchecked",
        )


@rule(
    "BK-C13",
    "*Warning*: an imported launch template (not defined in the app) cannot be inspected: IMDSv2, hop "
    "limit, volume encryption and user data format are named as not checked.",
    _LAUNCH_TEMPLATES,
    warning=True,
)
def launch_template_imported(settings: ComputeSettings) -> Iterator[Problem]:
    template = settings.launch_template
    if template is None or not template.imported:
        return
    version = (
        f"; it is referenced as version {template.version} (Batch resolves $Default/$Latest once, when the "
        "environment is created)"
        if template.version is not None
        else ""
    )
    yield Problem(
        "launch_template",
        template.label,
        f"{template.label} is imported: not checked whether it requires IMDSv2 with a hop limit of at most "
        f"2, encrypts its EBS volumes and has MIME multipart user data (BK-C13){version}.",
        code="batchkit:launch-template-unchecked",
    )


@rule(
    "BK-C15",
    "*Warning*: an EC2 key pair (SSH) is opt-in and noted: Session Manager reaches the instances without "
    "open ports or keys; the plan lists it as a security finding.",
    f"{_COMPUTE_RESOURCE} (ec2KeyPair) and "
    "https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager.html",
    warning=True,
)
def compute_key_pair(settings: ComputeSettings) -> Iterator[Problem]:
    if settings.key_pair is None:
        return
    yield Problem(
        "",
        settings.key_pair,
        f"key_pair={settings.key_pair!r} lets SSH in with that key (BK-C15): Session Manager reaches "
        "instances without open ports or keys, and is logged; the security group here allows no inbound "
        "traffic, so open port 22 yourself if you keep the key.",
        code="batchkit:ec2-key-pair",
    )


@rule(
    "BK-C9",
    "Fargate compute environments render no UpdatePolicy, ReplaceComputeEnvironment or "
    "UpdateToLatestImageVersion (the constructor does not offer them; an L2 Fargate environment that renders "
    "them warns); EC2 environments render all three.",
    "https://docs.aws.amazon.com/batch/latest/userguide/updating-compute-environments.html "
    "(Updating AWS Fargate compute environments: securityGroupIds, subnets, desiredvCpus, maxvCpus, "
    "minvCpus) and https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"
    "aws-properties-batch-computeenvironment-updatepolicy.html (the policy of an EC2 environment)",
)
def fargate_update_fields(settings: ComputeSettings) -> Iterator[Problem]:
    if not settings.kind.fargate or not settings.update_fields:
        return
    yield Problem(
        "",
        list(settings.update_fields),
        f"renders {', '.join(settings.update_fields)}, which UpdateComputeEnvironment refuses for Fargate "
        "(aws-cdk#27054: updates of this environment fail); remove them with "
        "add_property_deletion_override or use FargateComputeEnvironment",
        warning=True,
        code="batchkit:fargate-update-fields",
    )


@rule(
    "BK-C21",
    "A compute environment name is 1-128 letters, digits, hyphens and underscores.",
    f"{_API}/API_CreateComputeEnvironment.html (computeEnvironmentName: up to 128 characters, uppercase and "
    "lowercase letters, numbers, hyphens and underscores)",
)
def compute_environment_name(settings: ComputeSettings) -> Iterator[Problem]:
    yield from name_problems("compute_environment_name", settings.name, "compute environment")


# -- ECS Managed Instances -----------------------------------------------------------------------------
@rule(
    "BK-I3",
    "ECS Managed Instances instance_types are EC2 instance types (or family.*), not Batch aliases "
    "(optimal, default_*); storage 1-16,384 GiB, whole GiB.",
    f"{_MI_CE} (instanceRequirements.allowedInstanceTypes, storageConfiguration) and "
    "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_InstanceRequirementsRequest.html",
)
def managed_instances_types_and_storage(settings: ComputeSettings) -> Iterator[Problem]:
    if not settings.kind.managed_instances:
        return
    types = settings.instance_types or ()
    for name in types:
        base = name[:-2] if name.endswith(".*") else name
        if is_alias(base) or base.startswith(("optimal", "default_")):
            yield Problem(
                "instance_types",
                list(types),
                f"{name} is a Batch alias; ECS Managed Instances take EC2 instance types",
            )
            return
        problem = instance_type_problem(base)
        if problem is not None:
            yield Problem("instance_types", list(types), problem)
            return
    gib = settings.storage_gib
    if _plain(gib):
        assert gib is not None
        if gib != int(gib):
            yield Problem("storage_size", f"{gib:g} GiB", "must be a whole number of GiB")
        else:
            yield from _range("storage_size", int(gib), MIN_STORAGE_GIB, MAX_STORAGE_GIB)


@rule(
    "BK-I4",
    "An ECS Managed Instances scale-in delay (scaleInAfter) is -1 (never) or 0-3,600 whole seconds.",
    f"{_API}/API_InfrastructureOptimization.html (scaleInAfter: valid values are -1 or 0 to 3600)",
)
def managed_instances_scale_in(settings: ComputeSettings) -> Iterator[Problem]:
    seconds = settings.scale_in_after_seconds
    if not settings.kind.managed_instances or not _plain(seconds):
        return
    assert seconds is not None
    if seconds != int(seconds):
        yield Problem("scale_in_after", f"{seconds:g} s", "must be a whole number of seconds")
    elif seconds != -1 and not 0 <= seconds <= MAX_SCALE_IN_SECONDS:
        yield Problem(
            "scale_in_after",
            f"{seconds:g} s",
            f"must be -1 (never scale in) or between 0 and {MAX_SCALE_IN_SECONDS} seconds",
        )


# -- service environments ------------------------------------------------------------------------------
@rule(
    "BK-V1",
    "A SageMaker Training service environment caps at least 1 instance (capacityUnit NUM_INSTANCES), "
    "whole instances.",
    f"{_API}/API_CapacityLimit.html (maxCapacity, capacityUnit: for SAGEMAKER_TRAINING jobs use "
    f"NUM_INSTANCES) and {_API}/API_CreateServiceEnvironment.html",
)
def service_capacity(settings: ServiceEnvironmentSettings) -> Iterator[Problem]:
    value = settings.max_instances
    if not _plain(value):
        return
    if isinstance(value, bool) or not isinstance(value, int):
        yield Problem("max_instances", value, "must be a whole number of instances")
    else:
        yield from _range("max_instances", value, 1, MAX_INSTANCES)


@rule(
    "BK-V4",
    "A service environment name is 1-128 letters, digits, hyphens and underscores.",
    f"{_API}/API_CreateServiceEnvironment.html (serviceEnvironmentName: up to 128 characters, letters, "
    "numbers, hyphens and underscores)",
)
def service_environment_name(settings: ServiceEnvironmentSettings) -> Iterator[Problem]:
    yield from name_problems("service_environment_name", settings.name, "service environment")


#: Every compute rule, in the order problems are reported.
COMPUTE_RULES = (
    compute_environment_name,
    compute_capacity,
    compute_spot_bid,
    compute_update_timeout,
    compute_multi_node_on_demand,
    launch_template_user_data,
    compute_image_id,
    compute_tags,
    compute_subnets,
    compute_instance_types_exist,
    compute_instance_sizes_known,
    compute_architecture,
    compute_allocation_strategy,
    compute_best_fit_updates,
    compute_root_volume,
    launch_template_imds,
    launch_template_encryption,
    launch_template_imported,
    compute_key_pair,
    fargate_update_fields,
    managed_instances_types_and_storage,
    managed_instances_scale_in,
)
#: The rules that apply to an environment described from its rendered properties (an L2 environment of
#: the app, a CreateComputeEnvironment request): what the API refuses or what fails later. Defaults the
#: L2 renders that this library would not choose (ReplaceComputeEnvironment: false with BEST_FIT) are not
#: judged there.
DESCRIBED_RULES = (
    compute_environment_name,
    compute_capacity,
    compute_spot_bid,
    compute_update_timeout,
    compute_image_id,
    compute_tags,
    compute_instance_types_exist,
    compute_architecture,
    compute_allocation_strategy,
    fargate_update_fields,
    managed_instances_types_and_storage,
    managed_instances_scale_in,
)
SERVICE_RULES = (service_capacity, service_environment_name)


def check_compute(settings: ComputeSettings, *, described: bool = False) -> list[Problem]:
    """Every problem of a compute environment's settings, in report order (``described``: only the rules
    for an environment described from its rendered properties)."""
    return apply(DESCRIBED_RULES if described else COMPUTE_RULES, settings)


def check_service_environment(settings: ServiceEnvironmentSettings) -> list[Problem]:
    return apply(SERVICE_RULES, settings)


def fargate_not_updatable(kind: ComputeKind) -> tuple[str, ...]:
    """The CloudFormation properties a compute environment of ``kind`` must not render (BK-C9)."""
    return FARGATE_NOT_UPDATABLE if kind.fargate else ()
