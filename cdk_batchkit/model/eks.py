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

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .instances import Architecture
from .jobs import ContainerSpec, camel
from .values import is_unresolved


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

    @staticmethod
    def from_api(props: Mapping[str, Any], *, label: str = "") -> EksPodSpec | None:
        """The pod of a RegisterJobDefinition request or of an ``AWS::Batch::JobDefinition``'s
        ``Properties`` (camelCase or PascalCase); None when it has no ``eksProperties``. What is not plain
        (an intrinsic, a token) becomes None. For definitions the library did not build (the L2's, imported
        ones, the testing kit's requests)."""
        pod = (camel(props).get("eksProperties") or {}).get("podProperties")
        if not isinstance(pod, Mapping):
            return None
        volumes = {
            _text(v.get("name")): next(
                (k for k in _VOLUME_KINDS if v.get(k) is not None), "unknown volume type"
            )
            for v in pod.get("volumes") or []
            if isinstance(v, Mapping)
        }
        dns = pod.get("dnsPolicy")
        return EksPodSpec(
            containers=tuple(
                _container_from_api(c, volumes) for c in pod.get("containers") or [] if isinstance(c, Mapping)
            ),
            service_account=_text(pod.get("serviceAccountName")),
            host_network=pod.get("hostNetwork") is not False,
            dns_policy=dns if isinstance(dns, str) else None,
            label=label,
        )


_VOLUME_KINDS = ("emptyDir", "hostPath", "secret", "persistentVolumeClaim")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and not is_unresolved(value) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and not is_unresolved(value):
        return float(value)
    text = _text(value)
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def _mebibytes(value: Any) -> float | None:
    text = _text(value)
    if text is None or not text.endswith("Mi"):
        return None
    return _number(text[:-2])


def _container_from_api(c: Mapping[str, Any], volumes: Mapping[str | None, str]) -> EksContainerSpec:
    resources = c.get("resources") or {}
    requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
    security = c.get("securityContext") or {}
    gpus = _number(requests.get("nvidia.com/gpu", limits.get("nvidia.com/gpu", 0)))
    mounts = [_text(m.get("name")) for m in c.get("volumeMounts") or [] if isinstance(m, Mapping)]
    command = c.get("command")
    return EksContainerSpec(
        container=ContainerSpec(
            image=_text(c.get("image")),
            vcpus=_number(requests.get("cpu", limits.get("cpu"))),
            memory_mib=_mebibytes(requests.get("memory", limits.get("memory"))),
            gpus=int(gpus) if gpus is not None and gpus == int(gpus) else None,
            name=_text(c.get("name")),
            command=tuple(str(x) for x in command) if isinstance(command, list) else None,
            environment=tuple(
                n for e in c.get("env") or [] if isinstance(e, Mapping) and (n := _text(e.get("name")))
            ),
            privileged=security.get("privileged") is True,
            readonly_root_filesystem=security.get("readOnlyRootFilesystem") is True,
        ),
        vcpus_limit=_number(limits.get("cpu")) if "cpu" in requests else None,
        run_as_user=int(u) if isinstance(u := security.get("runAsUser"), int) else None,
        run_as_group=int(g) if isinstance(g := security.get("runAsGroup"), int) else None,
        run_as_non_root=security.get("runAsNonRoot") is True,
        volumes=tuple(EksVolumeSpec(name, volumes.get(name, "undefined volume")) for name in mounts),
    )


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
