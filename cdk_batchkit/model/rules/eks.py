"""AWS Batch on Amazon EKS (BK-K1 to BK-K11): the compute environment on a cluster and the pod a job runs.

Value rules yield :class:`Problem` values over :mod:`cdk_batchkit.model.eks` values; BK-K3 and BK-K4 decide
what is rendered (the pod's security defaults, how the cluster is prepared) and are registered as the
functions that decide it. :func:`check_pod` and :func:`check_eks_environment` run them in one order.
Environment variable names of EKS containers are checked by the shared BK-T12 (:mod:`.names`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ..eks import (
    EksClusterAccess,
    EksContainerSpec,
    EksEnvironmentSpec,
    EksPodSpec,
    EksSetupPlan,
)
from ..instances import Architecture
from ..values import is_unresolved, known
from ._registry import Problem, rule
from .names import environment_names

_API = "https://docs.aws.amazon.com/batch/latest/APIReference"
_GUIDE = "https://docs.aws.amazon.com/batch/latest/userguide"
_GETTING_STARTED = f"{_GUIDE}/getting-started-eks.html"
_EKS_CONFIGURATION = f"{_API}/API_EksConfiguration.html"
_EKS_RESOURCES = f"{_API}/API_EksContainerResourceRequirements.html"
_EC2_CONFIGURATION = f"{_API}/API_Ec2Configuration.html"
_K8S_NAMES = "https://kubernetes.io/docs/concepts/overview/working-with-objects/names/"

#: ``eksConfiguration.kubernetesNamespace``: "must match ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$".
NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
#: A Kubernetes DNS-1123 label (container names): at most 63 characters.
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
#: A Kubernetes DNS-1123 subdomain (service account names): at most 253 characters.
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
#: How Batch writes a Kubernetes version (``1.33``).
KUBERNETES_VERSION = re.compile(r"^\d+\.\d+$")
#: The Kubernetes versions the Batch user guide lists as supported on EKS (newest page seen, December
#: 2026). The list moves with EKS's release calendar, so a version outside it is a warning, not an error.
SUPPORTED_KUBERNETES_VERSIONS = ("1.29", "1.30", "1.31", "1.32", "1.33", "1.34")
#: The volume types an EKS job definition takes (``EksVolume``).
EKS_VOLUME_KINDS = frozenset({"emptyDir", "hostPath", "secret", "persistentVolumeClaim"})
#: The smallest memory Batch accepts for an EKS container.
MIN_EKS_MEMORY_MIB = 4


def _article(noun: str) -> str:
    """``an`` before a vowel sound (``an FSx``, ``an ECS``, ``an undefined``), else ``a``."""
    first = noun[:1]
    return "an" if first in "aeiou" or (first.isupper() and first in "AEFHILMNORSX") else "a"


def _known(value: Any) -> bool:
    return value is not None and not is_unresolved(value)


# -- compute environment --------------------------------------------------------------------------------
@rule(
    "BK-K1",
    "An EKS compute environment's Kubernetes namespace is 1-63 characters matching "
    "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$, not 'default' and not starting with 'kube-'.",
    f"{_EKS_CONFIGURATION} (kubernetesNamespace)",
)
def eks_namespace(env: EksEnvironmentSpec) -> Iterator[Problem]:
    namespace = known(env.namespace)
    if namespace is None:
        return
    if not 1 <= len(namespace) <= 63 or not NAMESPACE.match(namespace):
        yield Problem(
            "namespace",
            namespace,
            "must be 1-63 lower-case letters, digits and '-', starting and ending with a letter or digit",
        )
    elif namespace == "default" or namespace.startswith("kube-"):
        yield Problem("namespace", namespace, "Batch cannot use 'default' or a 'kube-' namespace")


@rule(
    "BK-K5",
    "An EKS compute environment's nodes run in the cluster's VPC and join the cluster security group "
    "(when the cluster names it; otherwise a synth warning says what to allow).",
    f"{_GETTING_STARTED} (subnets and security group of the cluster) and "
    "https://docs.aws.amazon.com/eks/latest/userguide/sec-group-reqs.html",
)
def eks_network(
    env: EksEnvironmentSpec,
    *,
    network: str = "the network",
    cluster_vpc: str = "the cluster's VPC",
    security_group: str = "the nodes' security group",
) -> Iterator[Problem]:
    """``network``, ``cluster_vpc`` and ``security_group`` name those in messages."""
    if env.vpc is not None and env.cluster_vpc is not None and env.vpc != env.cluster_vpc:
        yield Problem(
            "network",
            network,
            f"is not in the cluster's VPC ({cluster_vpc}); Batch nodes join the cluster from its VPC "
            "(BatchNetwork(vpc=cluster.vpc))",
        )
    if not env.cluster_security_group_known:
        yield Problem(
            "cluster",
            None,
            f"names no cluster security group: {security_group} and the cluster security group must "
            "allow each other's traffic, or the nodes cannot reach the control plane and cluster DNS "
            "(import the cluster with cluster_security_group_id to have the nodes join that group)",
            warning=True,
            code="batchkit:eks-cluster-security-group",
        )


@rule(
    "BK-K6",
    "An EKS compute environment's allocation strategy is BEST_FIT_PROGRESSIVE or a Spot strategy, not "
    "BEST_FIT (the aws_batch L2 refuses it for EKS; BEST_FIT also allows no infrastructure updates).",
    f"{_GUIDE}/allocation-strategies.html",
)
def eks_allocation_strategy(env: EksEnvironmentSpec) -> Iterator[Problem]:
    if env.allocation_strategy == "BEST_FIT":
        yield Problem(
            "allocation_strategy",
            "BEST_FIT",
            "EKS environments take BEST_FIT_PROGRESSIVE(_ORDERED) or a Spot strategy",
        )


@rule(
    "BK-K7",
    "An EKS compute environment's Kubernetes version is written MAJOR.MINOR as Batch lists it (1.33, not "
    "v1.33 or 1.33.2); a version outside the list Batch documents as supported (1.29-1.34 when checked) "
    "is a warning (CreateComputeEnvironment refuses unsupported versions; the list moves).",
    f"{_GUIDE}/supported_kubernetes_version.html and {_EC2_CONFIGURATION} (imageKubernetesVersion)",
)
def eks_kubernetes_version(env: EksEnvironmentSpec) -> Iterator[Problem]:
    version = known(env.kubernetes_version)
    if version is None:
        return
    if not KUBERNETES_VERSION.match(version):
        yield Problem(
            "kubernetes_version",
            version,
            'must be MAJOR.MINOR as Batch lists supported versions ("1.33", not "v1.33" or "1.33.2")',
        )
    elif version not in SUPPORTED_KUBERNETES_VERSIONS:
        yield Problem(
            "kubernetes_version",
            version,
            f"{version} is not among the Kubernetes versions the Batch user guide lists as supported on "
            f"EKS ({', '.join(SUPPORTED_KUBERNETES_VERSIONS)} when this library was released): "
            'CreateComputeEnvironment refuses an unsupported one ("At least one imageKubernetesVersion in '
            f'EC2Configuration is not supported"); check {_GUIDE}/supported_kubernetes_version.html',
            warning=True,
        )


@rule(
    "BK-K11",
    "A GPU EKS compute environment is x86_64: the EKS_AL2023_NVIDIA image Batch selects for GPU instance "
    "families runs on non-Graviton instance types only.",
    f"{_EC2_CONFIGURATION} (imageType EKS_AL2023_NVIDIA)",
)
def eks_gpu_architecture(env: EksEnvironmentSpec) -> Iterator[Problem]:
    if env.gpu and env.architecture is Architecture.ARM64:
        yield Problem(
            "gpu",
            True,
            "GPU nodes use the EKS_AL2023_NVIDIA image, which runs on non-Graviton (x86_64) instance types "
            "only; use architecture=X86_64",
        )


EKS_ENVIRONMENT_RULES = (
    eks_namespace,
    eks_kubernetes_version,
    eks_gpu_architecture,
    eks_allocation_strategy,
)


def check_eks_environment(env: EksEnvironmentSpec) -> list[Problem]:
    """The EKS environment rules that need no construct labels, in one order (BK-K5 is called with the
    labels of the network and security group)."""
    found: list[Problem] = []
    for check in EKS_ENVIRONMENT_RULES:
        found.extend(check(env))
    return found


@rule(
    "BK-K4",
    "An EKS compute environment gives the Batch service-linked role (user aws-batch) and the nodes' "
    "instance role (EC2_LINUX) access to the cluster through EKS access entries (authentication mode API "
    "or API_AND_CONFIG_MAP) or aws-auth (a cluster CDK runs kubectl on), and applies the namespace and "
    "Batch's RBAC objects where CDK can run kubectl; a synth warning names the steps it could not do.",
    f"{_GETTING_STARTED} (Prepare your EKS cluster for AWS Batch) and "
    "https://docs.aws.amazon.com/eks/latest/userguide/creating-access-entries.html",
)
def eks_cluster_setup(access: EksClusterAccess) -> EksSetupPlan:
    """How access is given and what is left to the user (the construct does the rest)."""
    missing: list[str] = []
    how: str | None = None
    if not access.wire_access:
        missing.append(_access_steps(access.node_role))
    elif access.authentication_mode in ("API", "API_AND_CONFIG_MAP"):
        how = "ACCESS_ENTRIES"
    elif access.cluster_in_app and access.authentication_mode in (None, "CONFIG_MAP"):
        how = "AWS_AUTH"
    else:
        missing.append(_access_steps(access.node_role))
    if not access.runs_kubectl:
        namespace = access.namespace
        missing.insert(
            0,
            f"create namespace {namespace} and Batch's RBAC objects (ClusterRole aws-batch-cluster-role, "
            f"Role aws-batch-compute-environment-role in {namespace}, each bound to user aws-batch): "
            f"kubectl apply the manifests cdk_batchkit.constructs.batch_manifests({namespace!r}) returns "
            "(CDK cannot run kubectl on this cluster: import it with kubectl_role_arn to have it done)",
        )
    return EksSetupPlan(access=how, apply_manifests=access.runs_kubectl, missing=tuple(missing))


def _access_steps(node_role: str) -> str:
    return (
        "access for the Batch service-linked role AWSServiceRoleForBatch as Kubernetes user aws-batch and "
        f"for the nodes' role {node_role} as a node: EKS access entries (types STANDARD and EC2_LINUX; pass "
        "authentication_mode=API or API_AND_CONFIG_MAP to have them created) or aws-auth mapRoles (the "
        "service-linked role's ARN without its path)"
    )


# -- pod --------------------------------------------------------------------------------------------------
@rule(
    "BK-K2",
    "An EKS container's CPU request (and limit) is a positive multiple of 0.25 with the limit at least the "
    "request; memory is whole MiB, at least 4 MiB, rendered equal in requests and limits; GPUs are whole "
    "and rendered equal in both.",
    f"{_EKS_RESOURCES} (limits, requests: cpu, memory, nvidia.com/gpu)",
)
def eks_resources(spec: EksContainerSpec) -> Iterator[Problem]:
    c = spec.container
    vcpus, limit = known(c.vcpus), known(spec.vcpus_limit)
    for prop, value in (("vcpus", vcpus), ("vcpus_limit", limit)):
        if value is not None and (value <= 0 or value * 4 != int(value * 4)):
            yield Problem(prop, value, "must be a positive multiple of 0.25 (Batch on EKS)")
    if vcpus is not None and limit is not None and limit < vcpus:
        yield Problem("vcpus_limit", limit, f"must be at least vcpus ({vcpus:g})")
    mib = known(c.memory_mib)
    if mib is not None and (mib != int(mib) or mib < MIN_EKS_MEMORY_MIB):
        yield Problem(
            "memory",
            f"{mib:g} MiB",
            f"must be a whole number of MiB, at least {MIN_EKS_MEMORY_MIB} MiB (Batch writes it as <n>Mi)",
        )
    gpus = known(c.gpus)
    if gpus is not None and (gpus < 0 or gpus != int(gpus)):
        yield Problem("gpus", gpus, "must be a whole number of GPUs")


@rule(
    "BK-K8",
    "Kubernetes names of an EKS pod: each container name is a DNS-1123 label (at most 63 lower-case letters, "
    "digits and '-', starting and ending with a letter or digit), unique in the pod; the service account "
    "name is a DNS-1123 subdomain (at most 253 characters, labels joined by '.').",
    f"{_API}/API_EksContainer.html (name: each container in a pod must have a unique name) and "
    f"{_API}/API_EksPodProperties.html (serviceAccountName) and {_K8S_NAMES}",
)
def eks_kubernetes_names(pod: EksPodSpec) -> Iterator[Problem]:
    seen: set[str] = set()
    for index, spec in enumerate(pod.containers):
        name = known(spec.container.name)
        if name is None:
            continue
        if len(name) > 63 or not DNS_LABEL.match(name):
            yield Problem(
                f"containers[{index}].name",
                name,
                "must be a Kubernetes DNS-1123 label: at most 63 lower-case letters, digits and '-', "
                f"starting and ending with a letter or digit ({_K8S_NAMES})",
            )
        elif name in seen:
            yield Problem(f"containers[{index}].name", name, "names another container of the pod too")
        seen.add(name)
    account = known(pod.service_account)
    if account is not None and (len(account) > 253 or not DNS_SUBDOMAIN.match(account)):
        yield Problem(
            "service_account",
            account,
            "must be a Kubernetes DNS-1123 subdomain: at most 253 lower-case letters, digits, '-' and "
            f"'.', each '.'-separated part starting and ending with a letter or digit ({_K8S_NAMES})",
        )


@rule(
    "BK-K9",
    "An EKS container's volumes are EKS volumes (emptyDir, hostPath, secret, persistentVolumeClaim); ECS "
    "volumes (host, EFS, FSx for Lustre through LustreVolume) are for ECS containers.",
    f"{_API}/API_EksVolume.html and {_API}/API_EksContainer.html (volumeMounts)",
)
def eks_volumes(spec: EksContainerSpec) -> Iterator[Problem]:
    for volume in spec.volumes:
        if volume.kind in EKS_VOLUME_KINDS:
            continue
        lustre = "Lustre" in volume.kind
        yield Problem(
            "volumes",
            volume.name,
            f"is {_article(volume.kind)} {volume.kind}, not an EKS volume (batch.EksVolume.empty_dir, "
            "host_path or secret)"
            + (
                ": FSx for Lustre mounts (LustreMount/LustreVolume) are for ECS containers on EC2 "
                "environments; on EKS mount the file system through the FSx for Lustre CSI driver and a "
                "persistent volume claim"
                if lustre
                else ""
            ),
        )


@rule(
    "BK-K10",
    "Warning: a privileged EKS container (root on the node it runs on) is an explicit opt-in and is named "
    "at synth.",
    f"{_API}/API_EksContainerSecurityContext.html (privileged)",
    warning=True,
)
def eks_privileged(spec: EksContainerSpec) -> Iterator[Problem]:
    if spec.container.privileged:
        yield Problem(
            "privileged",
            True,
            f"container {spec.container.name} is privileged (root on the node it runs on).",
            code="batchkit:eks-privileged",
        )


@rule(
    "BK-K3",
    "EKS job definitions render hostNetwork false (Batch's default is the host network) with the matching "
    "DNS policy, a security context that is not privileged, allows no privilege escalation and runs as "
    "non-root unless opted out, and the resources as the strings Batch documents (requests and limits).",
    f"{_GUIDE}/eks-jobs.html (hostNetwork defaults to true) and "
    f"{_API}/API_EksContainerSecurityContext.html and {_EKS_RESOURCES}",
)
def render_pod(pod: EksPodSpec) -> dict[str, Any]:
    """The ``EksProperties.PodProperties`` overrides (paths relative to it) the pod is rendered with."""
    rendered: dict[str, Any] = {"HostNetwork": pod.host_network}
    if pod.dns_policy is None:
        rendered["DnsPolicy"] = "ClusterFirstWithHostNet" if pod.host_network else "ClusterFirst"
    for index, spec in enumerate(pod.containers):
        c = spec.container
        requests: dict[str, str] = {}
        limits: dict[str, str] = {}
        if _known(c.vcpus):
            requests["cpu"] = f"{c.vcpus:g}"
        if _known(c.memory_mib):
            requests["memory"] = limits["memory"] = f"{int(c.memory_mib or 0)}Mi"
        if _known(spec.vcpus_limit):
            limits["cpu"] = f"{spec.vcpus_limit:g}"
        if _known(c.gpus) and c.gpus:
            requests["nvidia.com/gpu"] = limits["nvidia.com/gpu"] = str(c.gpus)
        rendered[f"Containers.{index}.Resources"] = {"Requests": requests, "Limits": limits}
        context: dict[str, Any] = {
            "Privileged": c.privileged,
            "AllowPrivilegeEscalation": c.privileged,
            "ReadOnlyRootFilesystem": c.readonly_root_filesystem,
            "RunAsNonRoot": spec.run_as_non_root,
        }
        if spec.run_as_user is not None:
            context["RunAsUser"] = spec.run_as_user
        if spec.run_as_group is not None:
            context["RunAsGroup"] = spec.run_as_group
        rendered[f"Containers.{index}.SecurityContext"] = context
    return rendered


def check_pod(pod: EksPodSpec) -> list[Problem]:
    """Every pod rule in one order: each container's resources (BK-K2), environment names (BK-T12),
    volumes (BK-K9), privileged (BK-K10), then the pod's Kubernetes names (BK-K8). Props are relative to
    the pod (``containers[0].memory``)."""
    found: list[Problem] = []
    for index, spec in enumerate(pod.containers):
        where = f"containers[{index}]"
        found.extend(p.under(where) for p in eks_resources(spec))
        found.extend(p.under(where) for p in environment_names(spec.container.environment, "env"))
        found.extend(p.under(where) for p in eks_volumes(spec))
        found.extend(p.under(where) for p in eks_privileged(spec))
    found.extend(eks_kubernetes_names(pod))
    return found


__all__ = [
    "DNS_LABEL",
    "DNS_SUBDOMAIN",
    "EKS_ENVIRONMENT_RULES",
    "SUPPORTED_KUBERNETES_VERSIONS",
    "check_eks_environment",
    "check_pod",
    "eks_allocation_strategy",
    "eks_cluster_setup",
    "eks_gpu_architecture",
    "eks_kubernetes_names",
    "eks_kubernetes_version",
    "eks_namespace",
    "eks_network",
    "eks_privileged",
    "eks_resources",
    "eks_volumes",
    "render_pod",
]
