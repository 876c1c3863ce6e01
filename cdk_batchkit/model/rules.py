"""The synth rules over the model: one small function per concern, each with the AWS source it encodes.

Every rule is registered in :data:`RULES` (id, summary, source); ``docs/rules.md`` lists them all and a
test checks that the table and the registry agree. Rules return a reason (a string) when they find a
problem and None otherwise; constructs turn reasons into ``ValueError`` (synth fails) or warnings.

* Queue composition rules take the queue's ordered environments.
* Fit rules take one job and one environment and answer "can this job ever leave RUNNABLE here?".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from .instances import shape_of
from .limits import MAX_CONSUMABLES_PER_JOB, MAX_ENVIRONMENTS_PER_QUEUE
from .profiles import (
    ComputeKind,
    ComputeProfile,
    ConsumableRequest,
    FitResult,
    JobRequirements,
    NodeGroup,
    Orchestration,
    Platform,
    QueueProfile,
)


@dataclass(frozen=True)
class Rule:
    """A synth rule: ``id`` (``BK-...``), what it enforces and the AWS document or limit it encodes."""

    id: str
    summary: str
    source: str


#: Every rule the model enforces, by id.
RULES: dict[str, Rule] = {}

F = TypeVar("F", bound=Callable[..., object])


def rule(rule_id: str, summary: str, source: str) -> Callable[[F], F]:
    """Register a rule function under ``rule_id``."""

    def register(func: F) -> F:
        if rule_id in RULES:
            raise ValueError(f"rule {rule_id} is registered twice")
        RULES[rule_id] = Rule(rule_id, summary, source)
        func.rule_id = rule_id  # type: ignore[attr-defined]
        return func

    return register


def register(rule_id: str, summary: str, source: str) -> Rule:
    """Register a rule enforced outside this module (by a construct's prop validation)."""
    RULES[rule_id] = Rule(rule_id, summary, source)
    return RULES[rule_id]


Environments = Sequence[tuple[str, ComputeProfile | None]]

_CREATE_QUEUE = "https://docs.aws.amazon.com/batch/latest/APIReference/API_CreateJobQueue.html"
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


# -- queue composition --------------------------------------------------------------------------------
@rule(
    "BK-Q1",
    "A job queue has 1 to 3 compute environments.",
    f"{_CREATE_QUEUE} (computeEnvironmentOrder: up to three compute environments)",
)
def queue_environment_count(envs: Environments) -> str | None:
    if not 1 <= len(envs) <= MAX_ENVIRONMENTS_PER_QUEUE:
        return f"needs 1 to {MAX_ENVIRONMENTS_PER_QUEUE} environments (Batch limit), got {len(envs)}"
    return None


@rule(
    "BK-Q2", "A job queue lists each compute environment once.", f"{_CREATE_QUEUE} (computeEnvironmentOrder)"
)
def queue_no_duplicates(envs: Environments) -> str | None:
    names = [name for name, _ in envs]
    twice = sorted({n for n in names if names.count(n) > 1})
    return f"lists an environment twice ({', '.join(twice)})" if twice else None


@rule(
    "BK-Q3",
    "A job queue's environments are all EC2 (EC2/SPOT) or all Fargate (FARGATE/FARGATE_SPOT).",
    f"{_CREATE_QUEUE} (EC2 and Fargate compute environments can't be mixed)",
)
def queue_one_provisioning(envs: Environments) -> str | None:
    # ECS Managed Instances and service environments have rules of their own (BK-I1, BK-V3).
    kinds = {p.kind.provisioning for _, p in envs if p is not None} & {"EC2", "FARGATE"}
    return "mixes Fargate and EC2 environments (Batch rejects it)" if len(kinds) > 1 else None


@rule(
    "BK-Q4",
    "A job queue's environments are all ECS or all EKS.",
    f"{_CREATE_QUEUE} (compute environments of one orchestration type: ECS or EKS)",
)
def queue_one_orchestration(envs: Environments) -> str | None:
    kinds = {p.kind.orchestration for _, p in envs if p is not None} & {Orchestration.ECS, Orchestration.EKS}
    return "mixes ECS and EKS environments (Batch rejects it)" if len(kinds) > 1 else None


@rule(
    "BK-Q5",
    "A job queue's EC2 environments share one CPU architecture.",
    f"{_CREATE_QUEUE} (all compute environments of a job queue must share the same architecture)",
)
def queue_one_architecture(envs: Environments) -> str | None:
    archs = {
        p.architecture for _, p in envs if p is not None and not p.kind.fargate and p.architecture is not None
    }
    if len(archs) > 1:
        return (
            "mixes CPU architectures "
            + ", ".join(sorted(a.value for a in archs))
            + " (Batch rejects it, and one image cannot run on both)"
        )
    return None


_MI_QUEUES = "https://docs.aws.amazon.com/batch/latest/userguide/ecs-managed-instances-job-queues.html"


@rule(
    "BK-I1",
    "A job queue's ECS Managed Instances environments are not mixed with EC2 or Fargate environments.",
    f"{_MI_QUEUES} (you cannot mix Amazon ECS Managed Instances compute environments with Fargate or "
    "Amazon EC2 compute environments in the same job queue)",
)
def queue_managed_instances_alone(envs: Environments) -> str | None:
    kinds = {p.kind.managed_instances for _, p in envs if p is not None and not p.kind.service}
    if len(kinds) > 1:
        return "mixes ECS Managed Instances environments with EC2 or Fargate environments (Batch rejects it)"
    return None


@rule(
    "BK-I2",
    "In a job queue of ECS Managed Instances environments, every on-demand environment comes before any "
    "Spot one.",
    f"{_MI_QUEUES} (Spot compute environments cannot be ordered before On-Demand compute environments)",
)
def queue_managed_instances_on_demand_first(envs: Environments) -> str | None:
    seen_spot = None
    for name, p in envs:
        if p is None or not p.kind.managed_instances:
            continue
        if p.spot:
            seen_spot = seen_spot or name
        elif seen_spot is not None:
            return (
                f"orders the Spot ECS Managed Instances environment {seen_spot} before the on-demand one "
                f"{name} (Batch requires on-demand environments first)"
            )
    return None


@rule(
    "BK-V3",
    "A job queue has either service environments (SageMaker Training) or compute environments, never both.",
    f"{_CREATE_QUEUE} (a job queue can't have both a serviceEnvironmentOrder and a computeEnvironmentOrder)",
)
def queue_service_or_compute(envs: Environments) -> str | None:
    kinds = {p.kind.service for _, p in envs if p is not None}
    if len(kinds) > 1:
        return "mixes service environments with compute environments (Batch rejects it)"
    return None


QUEUE_RULES = (
    queue_environment_count,
    queue_no_duplicates,
    queue_one_provisioning,
    queue_one_orchestration,
    queue_one_architecture,
    queue_managed_instances_alone,
    queue_managed_instances_on_demand_first,
    queue_service_or_compute,
)


def check_queue(envs: Environments) -> list[tuple[str, str]]:
    """Every queue composition problem as ``(rule id, reason)``."""
    found = []
    for check in QUEUE_RULES:
        why = check(envs)
        if why is not None:
            found.append((check.rule_id, why))  # type: ignore[attr-defined]
    return found


# -- fair share -------------------------------------------------------------------------------------
_SUBMIT_JOB = "https://docs.aws.amazon.com/batch/latest/APIReference/API_SubmitJob.html"


@rule(
    "BK-S1",
    "A job submitted to a queue with a fair-share scheduling policy carries a share identifier; one "
    "submitted to a queue without a policy carries none.",
    f"{_SUBMIT_JOB} (shareIdentifier: required with a fair-share policy, not allowed without one)",
)
def share_identifier_matches(queue: QueueProfile, share_identifier: str | None) -> str | None:
    if queue.fair_share is True and not share_identifier:
        return (
            "has a fair-share scheduling policy, so SubmitJob requires a share identifier: pass "
            "share_identifier=... to this submit path"
        )
    if queue.fair_share is False and share_identifier:
        return "has no fair-share scheduling policy, so SubmitJob rejects a share identifier: drop it"
    return None


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


@rule(
    "BK-R2",
    "A job (definition or submission) names at most 5 consumable resources, each once, each with a whole "
    "quantity of at least 1.",
    f"{_CONSUMABLES_FOR_JOBS} (up to 5 resources for each job) and "
    "https://docs.aws.amazon.com/batch/latest/APIReference/API_ConsumableResourceRequirement.html (quantity: "
    "Long)",
)
def consumables_well_formed(requests: Sequence[ConsumableRequest]) -> str | None:
    if len(requests) > MAX_CONSUMABLES_PER_JOB:
        return (
            f"names {len(requests)} consumable resources; Batch allows up to {MAX_CONSUMABLES_PER_JOB} a job"
        )
    names = [c.resource for c in requests]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        return f"names consumable resource {', '.join(twice)} twice"
    bad = [
        c
        for c in requests
        if isinstance(c.quantity, bool) or not isinstance(c.quantity, int) or c.quantity < 1
    ]
    if bad:
        return (
            f"requests {bad[0].quantity!r} of {bad[0].resource}: a quantity is a whole number of at least 1 "
            "(drop a resource the job does not need)"
        )
    return None


def check_consumables(requests: Sequence[ConsumableRequest]) -> str | None:
    """The first problem with a job's consumable resource requests (BK-R2, then BK-R1), or None."""
    why = consumables_well_formed(requests)
    if why is None:
        why = fit_consumables(JobRequirements(Platform.EC2, 1, 4, consumables=tuple(requests)))
    return why


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
    return FitResult(tuple(problems), tuple(unchecked), runnable and not unmounted, tuple(rule_ids))
