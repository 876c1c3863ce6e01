"""AWS Batch on Amazon EKS as the rules see it: a compute environment on a cluster and a pod's containers.

Plain values, no aws_cdk import. ``constructs/eks.py`` translates ``EksComputeEnvironment`` and
``EksJobDefinition`` props into these; the rules in :mod:`cdk_batchkit.model.rules.eks` read them. A fact
that is not known at synth (a token) is None, or a token string the rules recognise with
:func:`cdk_batchkit.model.values.is_unresolved`, and the rules that need it skip it.

An EKS container's facts shared with ECS containers (name, image, CPU request, memory, GPUs, environment
variable names, privileged) live in a :class:`~cdk_batchkit.model.jobs.ContainerSpec`, so the shared rules
(BK-T12: environment names) apply to both; :class:`EksContainerSpec` adds what only Kubernetes has.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .instances import Architecture
from .jobs import ContainerSpec


@dataclass(frozen=True)
class EksVolumeSpec:
    """A volume given to an EKS container.

    ``kind`` is the Kubernetes volume type (``emptyDir``, ``hostPath``, ``secret``,
    ``persistentVolumeClaim``) or, for a value that is not an EKS volume at all, what it is instead
    (``"ECS host volume"``, ``"EFS volume"``, ``"FSx for Lustre volume"``): the rules refuse those.
    """

    name: str | None
    kind: str


@dataclass(frozen=True)
class EksContainerSpec:
    """One container of an EKS pod.

    ``container`` holds the facts every container kind has: ``vcpus`` is the CPU *request* (what Batch
    places the pod by), ``memory_mib`` the memory request and limit (Batch requires them equal; a float,
    so a size that is not whole MiB reaches the rule), ``gpus`` the ``nvidia.com/gpu`` request and limit.
    """

    container: ContainerSpec
    #: The CPU limit (None: no limit).
    vcpus_limit: float | None = None
    run_as_user: int | None = None
    run_as_group: int | None = None
    run_as_non_root: bool = True
    volumes: tuple[EksVolumeSpec, ...] = ()


@dataclass(frozen=True)
class EksPodSpec:
    """An EKS job definition's pod (``eksProperties.podProperties``)."""

    containers: tuple[EksContainerSpec, ...]
    #: ``serviceAccountName`` (None: the namespace's ``default``).
    service_account: str | None = None
    #: ``hostNetwork`` as the user asked (Batch's own default is True, the node's network).
    host_network: bool = False
    #: ``dnsPolicy`` as the user asked (None: chosen from ``host_network``).
    dns_policy: str | None = None
    #: For messages: the construct path or ARN.
    label: str = ""


@dataclass(frozen=True)
class EksEnvironmentSpec:
    """An EKS compute environment's settings the rules check (``eksConfiguration`` and the EKS parts of
    ``computeResources``). The capacity and instance-type settings shared with ECS environments are
    checked by the compute rules."""

    #: ``eksConfiguration.kubernetesNamespace`` (may be a token string).
    namespace: str | None = "aws-batch"
    #: ``ec2Configuration[].imageKubernetesVersion`` (None: Batch's latest; may be a token string).
    kubernetes_version: str | None = None
    #: ``computeResources.allocationStrategy`` as Batch spells it (None: unknown).
    allocation_strategy: str | None = None
    gpu: bool = False
    architecture: Architecture | None = Architecture.X86_64
    #: Which VPC the nodes run in and which VPC the cluster is in, as comparable identities (a VPC id or
    #: the construct path of a VPC of the app); None when synth cannot tell.
    vpc: str | None = None
    cluster_vpc: str | None = None
    #: Whether the cluster security group is known (the nodes join it); False: imported without one.
    cluster_security_group_known: bool = True
    #: For messages.
    label: str = ""


@dataclass(frozen=True)
class EksClusterAccess:
    """What ``EksComputeEnvironment`` knows about giving Batch and the nodes access to the cluster
    (BK-K4 decides what to do from it)."""

    #: The user asked the construct to wire access (``cluster_access``).
    wire_access: bool = True
    #: The cluster's authentication mode (``API``, ``API_AND_CONFIG_MAP``, ``CONFIG_MAP``); None: unknown.
    authentication_mode: str | None = None
    #: The cluster is defined in this app (its ``aws-auth`` ConfigMap can be edited).
    cluster_in_app: bool = False
    #: CDK can apply manifests to the cluster (a cluster of the app, or one imported with a kubectl role).
    runs_kubectl: bool = False
    namespace: str = "aws-batch"
    #: For messages: the nodes' role (a construct path).
    node_role: str = "the nodes' role"


@dataclass(frozen=True)
class EksSetupPlan:
    """What BK-K4 decided: how access is given, whether the RBAC manifests are applied, and the steps left
    to the user (named in a synth warning)."""

    #: ``"ACCESS_ENTRIES"``, ``"AWS_AUTH"`` or None (not wired here).
    access: str | None
    apply_manifests: bool
    missing: tuple[str, ...] = field(default=())


__all__ = [
    "EksClusterAccess",
    "EksContainerSpec",
    "EksEnvironmentSpec",
    "EksPodSpec",
    "EksSetupPlan",
    "EksVolumeSpec",
]
