"""What Batch can run, described once: compute kinds, compute and queue profiles, job requirements.

Plain Python, no aws_cdk import: constructs translate CDK objects into these values and the synth
rules (:mod:`cdk_batchkit.model.rules`) are functions over them. A new kind of compute is one
member of :class:`ComputeKind` (with its facts) plus the construct that builds it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

from .instances import Architecture


class Platform(Enum):
    """Where a job definition's containers run (the job definition's ``platformCapabilities``,
    or ``eksProperties`` for EKS)."""

    #: ECS on EC2 instances (managed or unmanaged compute environments).
    EC2 = "EC2"
    #: ECS on Fargate.
    FARGATE = "FARGATE"
    #: Kubernetes pods on an Amazon EKS cluster's nodes.
    EKS = "EKS"
    #: ECS tasks on Amazon ECS Managed Instances (``platformCapabilities: MANAGED_INSTANCES``,
    #: ``ecsProperties`` only).
    MANAGED_INSTANCES = "MANAGED_INSTANCES"
    #: Service jobs on SageMaker Training: submitted with SubmitServiceJob, no job definition.
    SAGEMAKER_TRAINING = "SAGEMAKER_TRAINING"


class Orchestration(Enum):
    """Who places the containers: Amazon ECS or Amazon EKS."""

    ECS = "ECS"
    EKS = "EKS"
    #: Not containers at all: a service environment hands service jobs to SageMaker AI.
    SAGEMAKER = "SAGEMAKER"


# kind -> (orchestration, provisioning, spot, managed, platform it runs)
_FACTS: dict[str, tuple[Orchestration, str, bool, bool, Platform]] = {
    "EC2": (Orchestration.ECS, "EC2", False, True, Platform.EC2),
    "EC2_SPOT": (Orchestration.ECS, "EC2", True, True, Platform.EC2),
    "FARGATE": (Orchestration.ECS, "FARGATE", False, True, Platform.FARGATE),
    "FARGATE_SPOT": (Orchestration.ECS, "FARGATE", True, True, Platform.FARGATE),
    "EKS": (Orchestration.EKS, "EC2", False, True, Platform.EKS),
    "EKS_SPOT": (Orchestration.EKS, "EC2", True, True, Platform.EKS),
    "UNMANAGED": (Orchestration.ECS, "EC2", False, False, Platform.EC2),
    "ECS_MANAGED_INSTANCES": (
        Orchestration.ECS,
        "MANAGED_INSTANCES",
        False,
        True,
        Platform.MANAGED_INSTANCES,
    ),
    "ECS_MANAGED_INSTANCES_SPOT": (
        Orchestration.ECS,
        "MANAGED_INSTANCES",
        True,
        True,
        Platform.MANAGED_INSTANCES,
    ),
    "SAGEMAKER_TRAINING": (Orchestration.SAGEMAKER, "SAGEMAKER", False, True, Platform.SAGEMAKER_TRAINING),
}


class ComputeKind(Enum):
    """Every kind of compute environment this library builds or describes, with its facts.

    Source: CreateComputeEnvironment (``type`` MANAGED/UNMANAGED, ``computeResources.type``
    EC2/SPOT/FARGATE/FARGATE_SPOT/ECS_MANAGED_INSTANCES, ``eksConfiguration``),
    https://docs.aws.amazon.com/batch/latest/APIReference/API_CreateComputeEnvironment.html;
    ECS Managed Instances express Spot as ``capacityOptionType`` (one kind each here),
    https://docs.aws.amazon.com/batch/latest/userguide/ecs-managed-instances-compute-environments.html;
    a SageMaker Training *service* environment (CreateServiceEnvironment) is described as a kind too, so
    a queue over one can refuse job definitions:
    https://docs.aws.amazon.com/batch/latest/APIReference/API_CreateServiceEnvironment.html
    """

    EC2 = "EC2"
    EC2_SPOT = "EC2_SPOT"
    FARGATE = "FARGATE"
    FARGATE_SPOT = "FARGATE_SPOT"
    EKS = "EKS"
    EKS_SPOT = "EKS_SPOT"
    UNMANAGED = "UNMANAGED"
    ECS_MANAGED_INSTANCES = "ECS_MANAGED_INSTANCES"
    ECS_MANAGED_INSTANCES_SPOT = "ECS_MANAGED_INSTANCES_SPOT"
    SAGEMAKER_TRAINING = "SAGEMAKER_TRAINING"

    @property
    def orchestration(self) -> Orchestration:
        return _FACTS[self.value][0]

    @property
    def provisioning(self) -> str:
        """``"EC2"``, ``"FARGATE"``, ``"MANAGED_INSTANCES"`` or ``"SAGEMAKER"``: what a queue must not mix."""
        return _FACTS[self.value][1]

    @property
    def spot(self) -> bool:
        return _FACTS[self.value][2]

    @property
    def managed(self) -> bool:
        return _FACTS[self.value][3]

    @property
    def runs(self) -> Platform:
        """The job platform this kind runs."""
        return _FACTS[self.value][4]

    @property
    def fargate(self) -> bool:
        return self.provisioning == "FARGATE"

    @property
    def managed_instances(self) -> bool:
        """ECS Managed Instances: Amazon ECS picks and runs the instances."""
        return self.provisioning == "MANAGED_INSTANCES"

    @property
    def service(self) -> bool:
        """A service environment (SageMaker Training): takes service jobs, not job definitions."""
        return self.orchestration is Orchestration.SAGEMAKER

    @staticmethod
    def of(*, spot: bool = False, fargate: bool = False, eks: bool = False) -> ComputeKind:
        """The managed kind with these traits (``of(spot=True, fargate=True)`` is FARGATE_SPOT)."""
        if fargate and eks:
            raise ValueError("Batch on EKS runs on EC2 nodes only, not Fargate")
        base = "FARGATE" if fargate else "EKS" if eks else "EC2"
        return ComputeKind(f"{base}_SPOT" if spot else base)


@dataclass(frozen=True)
class SharedMount:
    """A shared file system mounted on the instances (FSx for Lustre), as the fit rules see it: which file
    system (its id when known, else a stable label such as its construct path) and the host path."""

    file_system: str
    path: str


@dataclass(frozen=True)
class ComputeProfile:
    """What one compute environment can run, as the synth rules see it (this library's environments give
    their own as ``.profile``; describe an imported one with it).

    Unknown facts are None (or empty) and the rules that need them are skipped, never guessed.

    :param kind: the kind of compute (EC2, EC2 Spot, Fargate, EKS...), a :class:`ComputeKind`.
    :param architecture: CPU architecture of the instances; None for Fargate (each job definition picks its
        own). Default: x86_64.
    :param maxv_cpus: the environment's maxvCpus. Default: unknown (a job's total vCPUs is not checked).
    :param instance_types: instance families, exact types or Batch aliases (EC2 and EKS kinds). Default:
        unknown (instance sizes are not checked, with a synth warning).
    :param gpu: the instances have GPUs. Default: no GPUs (a job that needs some does not fit).
    :param public_subnets: compute runs in public subnets. Default: unknown (not checked).
    :param private_egress: a task without a public IP can still reach registries and AWS APIs (NAT gateway
        or VPC endpoints). Default: unknown (not checked).
    :param internet: tasks can reach the internet (public IP or NAT); False when AWS is reached through VPC
        endpoints only, so images must come from ECR. Default: unknown (not checked).
    :param node_traffic: the security groups allow traffic between the nodes of a multi-node job. Default:
        unknown (not checked).
    :param shared_mounts: the shared file systems the instances mount at boot. Default: unknown (jobs using
        one are not checked).
    :param amazon_linux_2023: the instances run Amazon Linux 2023 (ECS does not support a container's
        ``swappiness`` there: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/container-swap.html).
        Default: unknown (not checked).
    :param swap: the instances have swap space (the ECS-optimized AMIs have none unless user data creates it,
        so a container's ``max_swap`` does nothing). Default: unknown (not checked).
    """

    kind: ComputeKind
    architecture: Architecture | None = Architecture.X86_64
    maxv_cpus: int | None = None
    instance_types: tuple[str, ...] = ()
    gpu: bool = False
    public_subnets: bool | None = None
    private_egress: bool | None = None
    internet: bool | None = None
    node_traffic: bool | None = None
    shared_mounts: tuple[SharedMount, ...] | None = None
    amazon_linux_2023: bool | None = None
    swap: bool | None = None

    @property
    def spot(self) -> bool:
        return self.kind.spot


@dataclass(frozen=True)
class QueueProfile:
    """A job queue as the synth rules see it: its environments in order, and its scheduling policy
    (``QueueProfile.of(...)`` builds one; pass it to ``JobQueue.from_job_queue_arn(profile=)``).

    :param environments: each environment as a label (a construct path, or ``"environment 1"``) with its
        :class:`ComputeProfile`, or with None for one whose compute is unknown (checks needing it are
        skipped).
    :param fair_share: whether the queue has a fair-share scheduling policy; None when unknown. Default: no
        policy (a submission with a share identifier is refused, as Batch refuses it).
    :param share_identifiers: the share identifiers (``ID`` or prefix ``ID*``) its fair-share policy lists; a
        submission with another identifier forms a share of its own (BK-S5 warns). Default: unknown (not
        checked).
    """

    environments: tuple[tuple[str, ComputeProfile | None], ...]
    fair_share: bool | None = False
    share_identifiers: tuple[str, ...] | None = None

    @staticmethod
    def of(
        environments: Mapping[str, ComputeProfile | None] | Sequence[ComputeProfile | None],
        *,
        fair_share: bool | None = False,
        share_identifiers: Sequence[str] | None = None,
    ) -> QueueProfile:
        """Describe a queue: ``QueueProfile.of([ComputeProfile(ComputeKind.FARGATE_SPOT, maxv_cpus=64)])``."""
        if isinstance(environments, Mapping):
            pairs = tuple(environments.items())
        else:
            pairs = tuple((f"environment {i}", p) for i, p in enumerate(environments, start=1))
        shares = tuple(share_identifiers) if share_identifiers is not None else None
        return QueueProfile(pairs, fair_share, shares)

    @property
    def service(self) -> bool:
        """A queue of service environments (SageMaker Training): service jobs, not SubmitJob."""
        return any(p is not None and p.kind.service for _, p in self.environments)

    @property
    def known(self) -> dict[str, ComputeProfile]:
        """The environments whose compute is known, label -> profile."""
        return {name: p for name, p in self.environments if p is not None}


class SubmitShape(Enum):
    """Which SubmitJob override field a job definition takes (the others are rejected by Batch).

    Source: https://docs.aws.amazon.com/batch/latest/APIReference/API_SubmitJob.html
    (containerOverrides, ecsPropertiesOverride, eksPropertiesOverride, nodeOverrides).
    """

    #: A single-container ECS job (``containerProperties``): ``containerOverrides``.
    CONTAINER = "containerOverrides"
    #: A multi-container ECS job (``ecsProperties``): ``ecsPropertiesOverride``, containers by name.
    ECS_TASK = "ecsPropertiesOverride"
    #: An EKS job (``eksProperties``): ``eksPropertiesOverride``, containers by name.
    EKS = "eksPropertiesOverride"
    #: A multi-node parallel job (``nodeProperties``): ``nodeOverrides``, per node range.
    NODE = "nodeOverrides"


@dataclass(frozen=True)
class NodeGroup:
    """One node range of a multi-node parallel job: ``count`` nodes that each need this much."""

    count: int
    vcpus: float
    memory_mib: int
    gpus: int = 0
    #: For messages: ``"nodes 1-3"``.
    label: str = ""


@dataclass(frozen=True)
class ConsumableRequest:
    """A job's request for ``quantity`` units of a consumable resource (a licence seat, an API quota).

    ``resource`` names it in messages (a construct path or the resource's name); ``total`` is the
    resource's total quantity when known (None: imported or a token, not judged).
    """

    resource: str
    quantity: int
    total: int | None = None
    #: The resource's ARN as the request names it (None: ``resource`` is what the request names).
    arn: str | None = None


@dataclass(frozen=True)
class JobRequirements:
    """What one job asks of a compute environment (this library's job definitions give their own as
    ``.requirements``; describe an imported one with it).

    A multi-node job with several node ranges lists them in ``node_groups``; ``vcpus``, ``memory_mib``
    and ``gpus`` are then those of its largest node.

    :param platform: where the job runs (EC2, Fargate, EKS, ECS Managed Instances), a :class:`Platform`.
    :param vcpus: vCPUs of one job (of one node, for a multi-node job).
    :param memory_mib: memory of one job (of one node), in MiB.
    :param gpus: GPUs of one job (of one node). Default: none needed.
    :param nodes: multi-node parallel jobs: the nodes, all placed at once. Default: 1 (not multi-node).
    :param instance_type: multi-node parallel jobs may pin an instance type. Default: any type of the
        environment.
    :param assign_public_ip: Fargate only: the task gets a public IP. Default: no public IP (the network
        needs NAT or endpoints to pull images).
    :param node_groups: multi-node parallel jobs with several node ranges: one group per range. Default: all
        ``nodes`` alike.
    :param images: the container images pulled by name (registry image names; images built or referenced as
        ECR repositories by CDK are tokens and not listed). Default: none known (endpoint-only networks are
        not checked for them).
    :param shared_mounts: shared file systems the containers use through host volumes (the instances must
        mount them). Default: none used.
    :param consumables: the consumable resources one job (each node range or array child: per job) holds
        while it runs. Default: none held.
    :param swappiness: some container sets ``linux_parameters.swappiness`` (ECS ignores it on Amazon Linux
        2023). Default: no container does.
    :param swap: some container may swap (``linux_parameters.max_swap`` above 0: needs swap on the
        instances). Default: no container does.
    """

    platform: Platform
    vcpus: float
    memory_mib: int
    gpus: int = 0
    nodes: int = 1
    instance_type: str | None = None
    assign_public_ip: bool = False
    node_groups: tuple[NodeGroup, ...] = ()
    images: tuple[str, ...] = ()
    shared_mounts: tuple[SharedMount, ...] = ()
    consumables: tuple[ConsumableRequest, ...] = ()
    swappiness: bool = False
    swap: bool = False

    @property
    def groups(self) -> tuple[NodeGroup, ...]:
        """The node groups to place: ``node_groups``, or all ``nodes`` alike."""
        if self.node_groups:
            return self.node_groups
        return (NodeGroup(self.nodes, self.vcpus, self.memory_mib, self.gpus),)


@dataclass(frozen=True)
class FitResult:
    """Whether a job can run on a queue's environments: what :func:`check_fit` returns.

    :param problems: why the job cannot run in each environment it cannot run in.
    :param unchecked: environments whose compute could not be (fully) checked: unknown instance types or
        profile.
    :param fits: True when at least one environment can run the job (or could not be checked).
    :param rule_ids: the ids of the rules that found ``problems`` (see
        :data:`cdk_batchkit.model.rules.RULES`). Default: none (no problem found).
    :param warnings: where the job can run but something it asks for does nothing there (``"label: why"``):
        AWS accepts it, so these are synth warnings, not errors. Default: no warning.
    :param warning_rules: the ids of the rules that found ``warnings``, one per warning. Default: none (no
        warning).
    """

    problems: tuple[str, ...]
    unchecked: tuple[str, ...]
    fits: bool
    rule_ids: tuple[str, ...] = field(default=())
    warnings: tuple[str, ...] = field(default=())
    warning_rules: tuple[str, ...] = field(default=())
