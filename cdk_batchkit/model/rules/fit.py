"""Fit rules: one job against one compute environment, "can this job ever leave RUNNABLE here?" (BK-F*, BK-V2,
BK-N1, BK-N2, BK-P1, BK-L1, BK-R1), and :func:`check_fit`, which runs them over a queue."""

from __future__ import annotations

import re

from ..instances import shape_of
from ..profiles import (
    ComputeKind,
    ComputeProfile,
    FitResult,
    JobRequirements,
    NodeGroup,
    Platform,
)
from ._registry import rule
from .containers import FIT_WARNINGS
from .queues import Environments

_MNP = "https://docs.aws.amazon.com/batch/latest/userguide/multi-node-parallel-jobs.html"
_MNP_CE = "https://docs.aws.amazon.com/batch/latest/userguide/mnp-ce.html"
_AWSVPC = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-networking-awsvpc.html"
_ECR_ENDPOINTS = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html"

#: An image in a private ECR registry: ``ACCOUNT.dkr.ecr[-fips].REGION.amazonaws.com[.cn]/REPO...``
#: (https://docs.aws.amazon.com/AmazonECR/latest/userguide/Registries.html, registry URL).
ECR_IMAGE = re.compile(r"^[0-9]{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/")


def is_ecr_image(image: str) -> bool:
    """Whether ``image`` (a registry image name) is pulled from a private ECR registry."""
    return ECR_IMAGE.match(image) is not None


# -- job fits environment -----------------------------------------------------------------------------
_SERVICE_JOBS = "https://docs.aws.amazon.com/batch/latest/userguide/service-jobs.html"


@rule(
    "BK-V2",
    "A job definition is never submitted to a SageMaker Training queue: it takes service jobs "
    "(SubmitServiceJob), not SubmitJob.",
    f"{_SERVICE_JOBS} and https://docs.aws.amazon.com/batch/latest/APIReference/API_SubmitServiceJob.html "
    "(jobQueueType SAGEMAKER_TRAINING)",
)
def fit_not_service(job: JobRequirements, env: ComputeProfile) -> str | None:
    if env.kind.service and job.platform is not Platform.SAGEMAKER_TRAINING:
        return (
            "is a SageMaker Training service environment: its queue takes service jobs submitted with "
            "SubmitServiceJob (a SageMaker CreateTrainingJob payload), never a job definition through "
            "SubmitJob; submit this job to a queue of compute environments"
        )
    return None


@rule(
    "BK-F1",
    "A job runs only on compute of its platform: EC2 jobs on EC2/unmanaged, Fargate jobs on Fargate, "
    "EKS jobs on EKS environments, ECS Managed Instances jobs (MANAGED_INSTANCES) on ECS Managed Instances "
    "environments.",
    "https://docs.aws.amazon.com/batch/latest/APIReference/API_RegisterJobDefinition.html "
    "(platformCapabilities, eksProperties) and "
    "https://docs.aws.amazon.com/batch/latest/userguide/fargate.html and "
    "https://docs.aws.amazon.com/batch/latest/userguide/ecs-managed-instances-job-definitions.html",
)
def fit_platform(job: JobRequirements, env: ComputeProfile) -> str | None:
    if job.platform is env.kind.runs:
        return None
    names = {
        Platform.EC2: "an EC2",
        Platform.FARGATE: "a Fargate",
        Platform.EKS: "an EKS",
        Platform.MANAGED_INSTANCES: "an ECS Managed Instances",
        Platform.SAGEMAKER_TRAINING: "a SageMaker Training",
    }
    why = f"{names[job.platform]} job cannot run on {names[env.kind.runs]} compute environment"
    if (job.platform is Platform.EKS) != (env.kind.runs is Platform.EKS):
        why += " (ECS job definitions run on ECS queues, EKS ones such as EksJobDefinition on EKS queues)"
    return why


@rule(
    "BK-F2",
    "Multi-node parallel jobs run only on managed, on-demand EC2 (ECS) environments.",
    f"{_MNP} (not supported on Fargate, Spot or unmanaged compute environments)",
)
def fit_multi_node(job: JobRequirements, env: ComputeProfile) -> str | None:
    if job.nodes > 1 and (env.spot or not env.kind.managed or env.kind is not ComputeKind.EC2):
        return "multi-node parallel jobs cannot run on Spot, Fargate, EKS or unmanaged environments"
    return None


@rule(
    "BK-F3",
    "A job (all its nodes) needs at most the environment's maxvCpus.",
    "https://docs.aws.amazon.com/batch/latest/userguide/job_stuck_in_runnable.html "
    "(jobs that need more vCPUs than maxvCpus stay RUNNABLE)",
)
def fit_max_vcpus(job: JobRequirements, env: ComputeProfile) -> str | None:
    groups = job.groups
    total = sum(g.count * g.vcpus for g in groups)
    if env.maxv_cpus is not None and total > env.maxv_cpus:
        if len(groups) > 1:
            what = " + ".join(f"{g.count} x {g.vcpus:g}" for g in groups) + f" = {total:g} vCPUs"
        elif job.nodes > 1:
            what = f"{job.nodes} nodes x {job.vcpus:g} vCPUs"
        else:
            what = f"{job.vcpus:g} vCPUs"
        return f"needs {what} but maxvCpus is {env.maxv_cpus}"
    return None


@rule(
    "BK-F4",
    "A job that needs GPUs runs only on an environment with GPU instances.",
    "https://docs.aws.amazon.com/batch/latest/userguide/gpu-jobs.html",
)
def fit_gpu(job: JobRequirements, env: ComputeProfile) -> str | None:
    gpus = max(g.gpus for g in job.groups)
    if gpus and not env.gpu:
        return f"needs {gpus} GPU(s) but the environment has no GPU instances"
    return None


@rule(
    "BK-F5",
    "A multi-node job that pins an instance type pins one the environment allows.",
    "https://docs.aws.amazon.com/batch/latest/APIReference/API_NodeRangeProperty.html (instanceTypes)",
)
def fit_pinned_type(job: JobRequirements, env: ComputeProfile) -> str | None:
    if job.instance_type is None or not env.instance_types:
        return None
    family = job.instance_type.split(".", 1)[0]
    alias = any(t.startswith(("optimal", "default_")) for t in env.instance_types)
    if job.instance_type not in env.instance_types and family not in env.instance_types and not alias:
        return (
            f"pins instance type {job.instance_type}, which the environment does not allow "
            f"({', '.join(env.instance_types)})"
        )
    return None


#: Returned by :func:`fit_instance_size` when the sizes could not be checked.
UNCHECKED = "unchecked"


@rule(
    "BK-F6",
    "Some allowed instance type offers the vCPUs, memory and GPUs one node needs.",
    "https://docs.aws.amazon.com/batch/latest/userguide/job_stuck_in_runnable.html and "
    "https://docs.aws.amazon.com/batch/latest/userguide/memory-management.html (memory the ECS agent "
    "reserves)",
)
def fit_instance_size(job: JobRequirements, env: ComputeProfile) -> str | None:
    if env.kind.fargate or env.kind is ComputeKind.UNMANAGED:
        return None if env.kind.fargate else UNCHECKED
    if env.kind.managed_instances and not env.instance_types:
        return None  # every instance type is eligible: Amazon ECS picks one that fits
    types = env.instance_types
    if job.instance_type is not None:
        types = (job.instance_type,)
    shapes = [shape_of(t) for t in types]
    if not types or any(s is None for s in shapes):
        return UNCHECKED
    known = [s for s in shapes if s is not None]
    for group in job.groups:
        why = _group_fits(job, group, types, known)
        if why is not None:
            return why
    return None


def _group_fits(job: JobRequirements, group: NodeGroup, types: tuple[str, ...], known: list) -> str | None:
    if any(
        s.vcpus >= group.vcpus and s.usable_memory_mib >= group.memory_mib and s.gpus >= group.gpus
        for s in known
    ):
        return None
    largest = max(known, key=lambda s: (s.vcpus, s.memory_mib, s.gpus))
    where = f" ({group.label})" if group.label and len(job.groups) > 1 else ""
    return (
        f"needs {group.vcpus:g} vCPUs, {group.memory_mib} MiB"
        + (f", {group.gpus} GPU(s)" if group.gpus else "")
        + f" per node{where}, but no allowed instance type ({', '.join(types)}) offers that; the largest "
        f"offers {largest.vcpus} vCPUs, about {largest.usable_memory_mib} MiB usable"
        + (f", {largest.gpus} GPU(s)" if group.gpus else "")
    )


@rule(
    "BK-F7",
    "A Fargate task in public subnets without NAT or endpoints has a public IP "
    "(or it cannot pull its image).",
    "https://docs.aws.amazon.com/batch/latest/userguide/fargate.html and "
    "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-task-networking.html",
)
def fit_fargate_egress(job: JobRequirements, env: ComputeProfile) -> str | None:
    if (
        job.platform is Platform.FARGATE
        and env.kind.fargate
        and env.public_subnets
        and not env.private_egress
        and not job.assign_public_ip
    ):
        return (
            "runs in public subnets with no NAT or VPC endpoints, so a task without a public IP can "
            "never pull its image; set assign_public_ip=True (or leave it unset) or use a private network"
        )
    return None


@rule(
    "BK-N1",
    "A multi-node parallel job runs only where tasks without a public IP reach registries and AWS APIs "
    "(private subnets with NAT or VPC endpoints).",
    f"{_MNP_CE} (each node gets a network interface with a private IP only) and {_AWSVPC} (awsvpc tasks on "
    "EC2 get no public IP; use private subnets with a NAT gateway)",
)
def fit_multi_node_egress(job: JobRequirements, env: ComputeProfile) -> str | None:
    if job.nodes > 1 and env.private_egress is False:
        return (
            "multi-node parallel job nodes get network interfaces with a private IP only (no public IP), so "
            "in public subnets without NAT or VPC endpoints they cannot pull images or reach AWS APIs; place "
            "the environment in a BatchNetwork with mode=NetworkMode.PRIVATE_WITH_NAT (or "
            "NetworkMode.PRIVATE_WITH_ENDPOINTS, with images in ECR)"
        )
    return None


@rule(
    "BK-N2",
    "A multi-node parallel job runs only where the security groups allow traffic between its nodes.",
    f"{_MNP} (frameworks that support IP-based internode communication) and {_MNP_CE} (the node network "
    "interfaces use the compute environment's security groups)",
)
def fit_node_traffic(job: JobRequirements, env: ComputeProfile) -> str | None:
    if job.nodes > 1 and env.node_traffic is False:
        return (
            "its security groups allow no traffic between the nodes of a multi-node job; create the "
            "environment with multi_node=True (it adds the network's cluster security group, which allows "
            "all traffic between its members)"
        )
    return None


@rule(
    "BK-P1",
    "Compute that reaches AWS through VPC endpoints only (no internet) pulls images only from ECR.",
    f"{_ECR_ENDPOINTS} (VPC endpoints reach Amazon ECR; other registries need internet access)",
)
def fit_image_registry(job: JobRequirements, env: ComputeProfile) -> str | None:
    if env.internet is not False:
        return None
    outside = [image for image in job.images if not is_ecr_image(image)]
    if outside:
        return (
            f"pulls image {', '.join(outside)} from outside Amazon ECR, but the environment reaches AWS "
            "through VPC endpoints only (NetworkMode.PRIVATE_WITH_ENDPOINTS) and cannot reach that registry; "
            "push the image to ECR (ecs.ContainerImage.from_ecr_repository or .from_asset) or use "
            "NetworkMode.PRIVATE_WITH_NAT"
        )
    return None


@rule(
    "BK-L1",
    "A job whose containers use a shared file system (FSx for Lustre) through a host volume is bound only to "
    "queues whose every environment that may run it mounts that file system at the volume's host path (Batch "
    "does not know about the mount and places the job on any of them).",
    "https://docs.aws.amazon.com/fsx/latest/LustreGuide/mounting-ecs.html (mount on the EC2 instance hosting "
    "the tasks, then a host volume) and https://docs.aws.amazon.com/batch/latest/APIReference/API_Host.html",
)
def fit_shared_mounts(job: JobRequirements, env: ComputeProfile) -> str | None:
    if not job.shared_mounts or env.shared_mounts is None:
        return None
    missing = [m for m in job.shared_mounts if m not in env.shared_mounts]
    if not missing:
        return None
    return (
        "Batch may place the job here, but it needs "
        + ", ".join(f"file system {m.file_system} mounted at {m.path}" for m in missing)
        + ", which these instances do not mount "
        "(Ec2ComputeEnvironment(lustre=[...]) with the same LustreMount)"
    )


_CONSUMABLES_FOR_JOBS = (
    "https://docs.aws.amazon.com/batch/latest/userguide/resource-aware-scheduling-how-to-for-jobs.html"
)


@rule(
    "BK-R1",
    "A job requests at most a consumable resource's total quantity (it would otherwise stay RUNNABLE "
    "until its job state time limit).",
    f"{_CONSUMABLES_FOR_JOBS} (a job waits in RUNNABLE until all the resources it requires are available)",
)
def fit_consumables(job: JobRequirements, env: ComputeProfile | None = None) -> str | None:
    over = [c for c in job.consumables if c.total is not None and c.quantity > c.total]
    if over:
        return "; ".join(
            f"requests {c.quantity} of consumable resource {c.resource}, whose total quantity is {c.total}, "
            "so it can never start"
            for c in over
        )
    return None


FIT_RULES = (
    fit_consumables,
    fit_not_service,
    fit_platform,
    fit_multi_node,
    fit_multi_node_egress,
    fit_node_traffic,
    fit_max_vcpus,
    fit_gpu,
    fit_pinned_type,
    fit_fargate_egress,
    fit_image_registry,
    fit_instance_size,
)


def check_environment(job: JobRequirements, env: ComputeProfile) -> tuple[str | None, bool]:
    """Return (why the job can never run on ``env`` or None, whether it could be fully checked)."""
    why, checked, _ = _first_problem(job, env)
    return why, checked


def _first_problem(job: JobRequirements, env: ComputeProfile) -> tuple[str | None, bool, str | None]:
    for check in FIT_RULES:
        why = check(job, env)
        if why == UNCHECKED:
            return None, False, None
        if why is not None:
            return why, True, check.rule_id  # type: ignore[attr-defined]
    return None, True, None


def check_fit(job: JobRequirements, environments: Environments | dict[str, ComputeProfile]) -> FitResult:
    """Check ``job`` against every environment of a queue (label -> profile, None when unknown)."""
    pairs = list(environments.items()) if isinstance(environments, dict) else list(environments)
    problems: list[str] = []
    unchecked: list[str] = []
    rule_ids: list[str] = []
    warned: list[tuple[str, str]] = []
    runnable = False
    unmounted = False
    for name, env in pairs:
        if env is None:
            unchecked.append(name)
            runnable = True
            continue
        why, checked, rule_id = _first_problem(job, env)
        if why is None:
            # Batch may place the job here; a shared mount it lacks makes the job fail (BK-L1).
            why, rule_id = fit_shared_mounts(job, env), fit_shared_mounts.rule_id  # type: ignore[attr-defined]
            unmounted = unmounted or why is not None
        if why is not None:
            problems.append(f"{name}: {why}")
            rule_ids.append(rule_id or "")
        else:
            runnable = True
            if not checked:
                unchecked.append(name)
            # The job can run here; warn about what it asks for that does nothing here (AWS accepts it).
            for warn in FIT_WARNINGS:
                reason = warn(job, env)
                if reason is not None:
                    warned.append((f"{name}: {reason}", warn.rule_id))  # type: ignore[attr-defined]
    return FitResult(
        tuple(problems),
        tuple(unchecked),
        runnable and not unmounted,
        tuple(rule_ids),
        warnings=tuple(w for w, _ in warned),
        warning_rules=tuple(r for _, r in warned),
    )
