"""AWS Batch on Amazon EKS: a managed EC2 compute environment on your cluster, and EKS job definitions.

``EksComputeEnvironment`` wraps the L2 ``batch.ManagedEc2EksComputeEnvironment`` with the same hardened
launch template, instance-type checks and update defaults as :class:`Ec2ComputeEnvironment`, an instance
role with the EKS node policies (the L2 gives it the ECS one), and what the cluster needs for Batch
(https://docs.aws.amazon.com/batch/latest/userguide/getting-started-eks.html): access for the Batch
service-linked role and the nodes' role (EKS access entries, or ``aws-auth`` on a cluster CDK can run
kubectl on), and the namespace and RBAC objects where CDK can apply manifests; what it cannot wire is
named in a synth warning.

``EksJobDefinition`` runs one :class:`EksContainer` as a pod with safe defaults: the pod network (Batch
otherwise uses the host's), not privileged, no privilege escalation, not root.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aws_cdk import Annotations, Duration, Size, Stack, Token
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_eks as eks
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from ..model import Architecture, ComputeKind, ComputeProfile, JobRequirements, Platform, SubmitShape
from ..model.rules import register
from ._validation import fail, is_token
from .compute import (
    AllocationStrategy,
    BatchComputeEnvironment,
    check_managed_ec2,
    choose_instances,
    hardened_launch_template,
    l2_allocation,
    pin,
)
from .job_definition import JobDefinitionBase, RetryPolicy, run_policy
from .nag import acknowledge, managed_policy_finding
from .network import BatchNetwork

_GETTING_STARTED = "https://docs.aws.amazon.com/batch/latest/userguide/getting-started-eks.html"
_EKS_CONFIGURATION = "https://docs.aws.amazon.com/batch/latest/APIReference/API_EksConfiguration.html"
_EKS_RESOURCES = (
    "https://docs.aws.amazon.com/batch/latest/APIReference/API_EksContainerResourceRequirements.html"
)

register(
    "BK-K1",
    "An EKS compute environment's Kubernetes namespace is 1-63 characters matching "
    "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$, not 'default' and not starting with 'kube-'.",
    f"{_EKS_CONFIGURATION} (kubernetesNamespace)",
)
register(
    "BK-K2",
    "An EKS container's CPU request (and limit) is a positive multiple of 0.25 with the limit at least the "
    "request; memory is whole MiB, at least 4 MiB, rendered equal in requests and limits; GPUs are whole "
    "and rendered equal in both.",
    f"{_EKS_RESOURCES} (limits, requests: cpu, memory, nvidia.com/gpu)",
)
register(
    "BK-K3",
    "EKS job definitions render hostNetwork false (Batch's default is the host network) and a security "
    "context that is not privileged, allows no privilege escalation and runs as non-root unless opted out; "
    "environment variable names do not start with AWS_BATCH.",
    "https://docs.aws.amazon.com/batch/latest/userguide/eks-jobs.html (hostNetwork defaults to true) and "
    "https://docs.aws.amazon.com/batch/latest/APIReference/API_EksContainerSecurityContext.html and "
    "https://docs.aws.amazon.com/batch/latest/APIReference/API_EksContainerEnvironmentVariable.html",
)
register(
    "BK-K5",
    "An EKS compute environment's nodes run in the cluster's VPC and join the cluster security group "
    "(when the cluster names it; otherwise a synth warning says what to allow).",
    f"{_GETTING_STARTED} (subnets and security group of the cluster) and "
    "https://docs.aws.amazon.com/eks/latest/userguide/sec-group-reqs.html",
)
register(
    "BK-K6",
    "An EKS compute environment's allocation strategy is BEST_FIT_PROGRESSIVE or a Spot strategy, not "
    "BEST_FIT (the aws_batch L2 refuses it for EKS; BEST_FIT also allows no infrastructure updates).",
    "https://docs.aws.amazon.com/batch/latest/userguide/allocation-strategies.html",
)
register(
    "BK-K4",
    "An EKS compute environment gives the Batch service-linked role (user aws-batch) and the nodes' "
    "instance role (EC2_LINUX) access to the cluster through EKS access entries (authentication mode API "
    "or API_AND_CONFIG_MAP) or aws-auth (a cluster CDK runs kubectl on), and applies the namespace and "
    "Batch's RBAC objects where CDK can run kubectl; a synth warning names the steps it could not do.",
    f"{_GETTING_STARTED} (Prepare your EKS cluster for AWS Batch) and "
    "https://docs.aws.amazon.com/eks/latest/userguide/creating-access-entries.html",
)

T = TypeVar("T")
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SETUP_WARNING = "batchkit:eks-cluster-setup"
#: Batch's Kubernetes user (mapped to its service-linked role) and the objects the guide creates.
BATCH_USER = "aws-batch"
_NODE_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
)


def _rbac(user: str) -> list[dict[str, Any]]:
    """The cluster-wide role and binding the Batch guide applies once per cluster."""
    core = ["get", "list", "watch"]
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "aws-batch-cluster-role"},
            "rules": [
                {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]},
                {"apiGroups": [""], "resources": ["nodes"], "verbs": core},
                {"apiGroups": [""], "resources": ["pods"], "verbs": core},
                {"apiGroups": [""], "resources": ["events"], "verbs": ["list"]},
                {"apiGroups": [""], "resources": ["configmaps"], "verbs": core},
                {
                    "apiGroups": ["apps"],
                    "resources": ["daemonsets", "deployments", "statefulsets", "replicasets"],
                    "verbs": core,
                },
                {
                    "apiGroups": ["rbac.authorization.k8s.io"],
                    "resources": ["clusterroles", "clusterrolebindings"],
                    "verbs": ["get", "list"],
                },
            ],
        },
        _binding("ClusterRoleBinding", "aws-batch-cluster-role-binding", "ClusterRole", user),
    ]


def _namespace_objects(namespace: str, user: str) -> list[dict[str, Any]]:
    """The namespace and the namespaced role and binding the Batch guide applies once per namespace."""
    role = "aws-batch-compute-environment-role"
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": namespace, "labels": {"name": namespace}},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": role, "namespace": namespace},
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["pods"],
                    "verbs": ["create", "get", "list", "watch", "delete", "patch"],
                },
                {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["get", "list"]},
                {
                    "apiGroups": ["rbac.authorization.k8s.io"],
                    "resources": ["roles", "rolebindings"],
                    "verbs": ["get", "list"],
                },
            ],
        },
        _binding("RoleBinding", f"{role}-binding", "Role", user, namespace),
    ]


def _binding(kind: str, name: str, role_kind: str, user: str, namespace: str | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": metadata,
        "subjects": [{"kind": "User", "name": user, "apiGroup": "rbac.authorization.k8s.io"}],
        "roleRef": {"kind": role_kind, "name": role_name(role_kind), "apiGroup": "rbac.authorization.k8s.io"},
    }


def role_name(kind: str) -> str:
    return "aws-batch-cluster-role" if kind == "ClusterRole" else "aws-batch-compute-environment-role"


def _runs_kubectl(cluster: eks.ICluster) -> bool:
    """Whether CDK can apply manifests to ``cluster`` (a cluster of this app, or one imported with a
    kubectl role or provider)."""
    return isinstance(cluster, eks.Cluster) or bool(cluster.kubectl_role or cluster.kubectl_provider)


class EksComputeEnvironment(BatchComputeEnvironment):
    """A managed EC2 compute environment whose nodes join your Amazon EKS cluster; jobs run as pods in
    ``namespace``. On-demand or Spot, x86_64 or Graviton, optionally GPU, with the same hardened launch
    template, instance types and update defaults as :class:`Ec2ComputeEnvironment`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: eks.ICluster,
        network: BatchNetwork,
        namespace: str = "aws-batch",
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
        kubernetes_version: str | None = None,
        instance_role: iam.IRole | None = None,
        cluster_access: bool = True,
        authentication_mode: eks.AuthenticationMode | None = None,
        compute_environment_name: str | None = None,
    ) -> None:
        """
        :param cluster: the EKS cluster: an ``eks.Cluster`` of this app, or
            ``eks.Cluster.from_cluster_attributes`` (give it ``vpc``, ``cluster_security_group_id`` so the
            nodes join that group, and ``kubectl_role_arn`` so the namespace and RBAC objects are applied).
        :param authentication_mode: the cluster's authentication mode (an imported cluster does not know it:
            pass it here so access can be wired).
            Default: the cluster's own (an ``eks.Cluster`` of this app); unknown on an imported cluster, so
            access is then not wired and a synth warning says what to map.
        :param network: where the nodes run: a :class:`BatchNetwork` in the cluster's VPC.
        :param namespace: the Kubernetes namespace Batch runs pods in (not ``default``, not ``kube-*``).
            Default: ``aws-batch``.
        :param kubernetes_version: the EKS AMI's Kubernetes version (``"1.33"``). Default: the latest Batch
            supports; set it to your cluster's version so nodes match the control plane.
        :param instance_role: role of the nodes. Default: a new role with the AWS managed EKS node policies
            (AmazonEKSWorkerNodePolicy, AmazonEKS_CNI_Policy, AmazonEC2ContainerRegistryReadOnly).
        :param cluster_access: give the Batch service-linked role and the nodes' role access to the cluster:
            EKS access entries when the cluster's ``authentication_mode`` is API or API_AND_CONFIG_MAP,
            ``aws-auth`` mappings on a cluster of this app with CONFIG_MAP. Default: True (False when your
            cluster team manages access; a synth warning then lists what to map).

        The other props behave as on :class:`Ec2ComputeEnvironment`.
        """
        super().__init__(scope, construct_id)
        _check_namespace(self, namespace)
        update_timeout = check_managed_ec2(
            self, minv_cpus, maxv_cpus, spot, spot_bid_percentage, update_timeout
        )
        if gpu and architecture is Architecture.ARM64:
            fail(
                self, "gpu", gpu, "GPU nodes use the x86_64 AL2023 NVIDIA EKS image; use architecture=X86_64"
            )
        types, strategy, replace = choose_instances(
            self, instance_types, spot, architecture, gpu, allocation_strategy, replace_compute_environment
        )
        if strategy is AllocationStrategy.BEST_FIT:
            # BK-K6: the L2 refuses it for EKS (and BEST_FIT allows no infrastructure updates anyway).
            fail(
                self,
                "allocation_strategy",
                strategy.value,
                "EKS environments take BEST_FIT_PROGRESSIVE(_ORDERED) or a Spot strategy",
            )
        #: The cluster and namespace the jobs run in, and where the nodes run.
        self.cluster, self.namespace, self.network = cluster, namespace, network
        security_groups: list[ec2.ISecurityGroup] = [network.security_group]
        #: The cluster security group the nodes join (None when an imported cluster does not name it).
        self.cluster_security_group = _known(lambda: cluster.cluster_security_group)
        if self.cluster_security_group is not None:
            security_groups.append(self.cluster_security_group)
        _check_vpc(self, network, _known(lambda: cluster.vpc))
        #: The hardened launch template (as for ECS) and its MIME multipart user data.
        self.launch_template, self.user_data = hardened_launch_template(
            self, root_volume_size, user_data_commands
        )
        #: The nodes' role.
        self.instance_role = instance_role or self._node_role()
        image_type = (
            batch.EksMachineImageType.EKS_AL2023_NVIDIA if gpu else batch.EksMachineImageType.EKS_AL2023
        )
        self.resource = batch.ManagedEc2EksComputeEnvironment(
            self,
            "Resource",
            eks_cluster=cluster,
            kubernetes_namespace=namespace,
            vpc=network.vpc,
            vpc_subnets=network.subnet_selection,
            security_groups=security_groups,
            spot=spot,
            allocation_strategy=l2_allocation(strategy),
            # The instance list is rendered from `types` (the L2 would append "optimal").
            use_optimal_instance_classes=True,
            images=[batch.EksMachineImage(image_type=image_type)],
            launch_template=self.launch_template,
            minv_cpus=minv_cpus,
            maxv_cpus=maxv_cpus,
            spot_bid_percentage=spot_bid_percentage,
            instance_role=self.instance_role,
            replace_compute_environment=replace,
            update_timeout=update_timeout,
            terminate_on_update=terminate_on_update,
            update_to_latest_image_version=True,
            compute_environment_name=compute_environment_name,
        )
        cfn = pin(self.resource, types, self.launch_template, strategy)
        if kubernetes_version is not None:
            cfn.add_property_override(
                "ComputeResources.Ec2Configuration.0.ImageKubernetesVersion", kubernetes_version
            )
        self._prepare_cluster(cluster_access, authentication_mode or cluster.authentication_mode)
        self.profile = ComputeProfile(
            kind=ComputeKind.of(spot=spot, eks=True),
            architecture=architecture,
            maxv_cpus=None if is_token(maxv_cpus) else maxv_cpus,
            instance_types=types,
            gpu=gpu,
            public_subnets=network.public_subnets,
            private_egress=network.private_egress,
            internet=network.internet,
            node_traffic=False,
        )

    def _node_role(self) -> iam.Role:
        # https://docs.aws.amazon.com/eks/latest/userguide/create-node-role.html
        role = iam.Role(
            self,
            "InstanceRole",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(p) for p in _NODE_POLICIES],
            description="Batch on EKS node role",
        )
        for policy in _NODE_POLICIES:
            acknowledge(
                role,
                "IAM4",
                f"{policy} is one of the AWS-maintained policies the Amazon EKS node IAM role needs "
                "(kubelet, VPC CNI, image pulls); AWS updates it as EKS changes.",
                applies_to=managed_policy_finding(policy),
            )
        return role

    def _prepare_cluster(self, cluster_access: bool, mode: eks.AuthenticationMode | None) -> None:
        """BK-K4: cluster access for Batch and the nodes, then the namespace and RBAC objects."""
        cluster, stack = self.cluster, Stack.of(self)
        missing: list[str] = []
        prerequisites: list[IConstruct] = []
        slr_path = "aws-service-role/batch.amazonaws.com/"
        slr = f"arn:{stack.partition}:iam::{stack.account}:role/{slr_path}AWSServiceRoleForBatch"
        if not cluster_access:
            missing.append(_access_steps(self.instance_role))
        elif mode in (eks.AuthenticationMode.API, eks.AuthenticationMode.API_AND_CONFIG_MAP):
            # https://docs.aws.amazon.com/eks/latest/userguide/creating-access-entries.html (node roles:
            # type EC2_LINUX; a principal is in at most one access entry per cluster, so Batch's is shared).
            prerequisites.append(
                eks.CfnAccessEntry(
                    self,
                    "NodeAccess",
                    cluster_name=cluster.cluster_name,
                    principal_arn=self.instance_role.role_arn,
                    type="EC2_LINUX",
                )
            )
            entry_id = f"BatchkitBatchAccess{cluster.node.addr[:10]}"
            entry = stack.node.try_find_child(entry_id)
            if entry is None:
                entry = eks.CfnAccessEntry(
                    stack,
                    entry_id,
                    cluster_name=cluster.cluster_name,
                    principal_arn=slr,
                    username=BATCH_USER,
                    type="STANDARD",
                )
            prerequisites.append(entry)
        elif isinstance(cluster, eks.Cluster) and mode in (None, eks.AuthenticationMode.CONFIG_MAP):
            cluster.aws_auth.add_role_mapping(
                self.instance_role,
                username="system:node:{{EC2PrivateDNSName}}",
                groups=["system:bootstrappers", "system:nodes"],
            )
            if cluster.node.try_find_child("BatchkitServiceLinkedRole") is None:
                # aws-auth takes role ARNs without their path (aws-iam-authenticator#268).
                role = iam.Role.from_role_arn(
                    cluster,
                    "BatchkitServiceLinkedRole",
                    f"arn:{stack.partition}:iam::{stack.account}:role/AWSServiceRoleForBatch",
                    mutable=False,
                )
                cluster.aws_auth.add_role_mapping(role, username=BATCH_USER, groups=[])
            prerequisites.append(cluster.aws_auth)
        else:
            missing.append(_access_steps(self.instance_role))
        if _runs_kubectl(cluster):
            for manifest_id, objects in (
                ("BatchkitRbac", _rbac(BATCH_USER)),
                (f"BatchkitNamespace-{self.namespace}", _namespace_objects(self.namespace, BATCH_USER)),
            ):
                manifest = cluster.node.try_find_child(f"manifest-{manifest_id}")
                prerequisites.append(manifest or cluster.add_manifest(manifest_id, *objects))
        else:
            missing.insert(
                0,
                f"create namespace {self.namespace} and Batch's RBAC objects (ClusterRole "
                f"aws-batch-cluster-role, Role aws-batch-compute-environment-role in {self.namespace}, each "
                f"bound to user {BATCH_USER}): kubectl apply the manifests "
                f"cdk_batchkit.constructs.batch_manifests({self.namespace!r}) returns (CDK "
                "cannot run kubectl on this cluster: import it with kubectl_role_arn to have it done)",
            )
        if self.cluster_security_group is None:
            missing.append(
                f"the nodes' security group ({self.network.security_group.node.path}) and the cluster "
                "security group must allow each other's traffic, or the nodes cannot reach the control plane "
                "and cluster DNS (import the cluster with cluster_security_group_id to have the nodes join "
                "that group)"
            )
        for prerequisite in prerequisites:
            self.resource.node.add_dependency(prerequisite)
        if missing:
            Annotations.of(self).add_warning_v2(
                _SETUP_WARNING,
                "Before this compute environment can be created, the EKS cluster needs "
                f"({_GETTING_STARTED}): " + "; ".join(missing) + ".",
            )


def _known(read: Callable[[], T]) -> T | None:
    """An attribute an imported cluster may not define (``cluster.vpc``, ``cluster_security_group``)."""
    try:
        return read()
    except RuntimeError:
        return None


def _check_vpc(scope: Construct, network: BatchNetwork, cluster_vpc: ec2.IVpc | None) -> None:
    """BK-K5: the nodes run in the cluster's VPC (when both are known)."""
    if cluster_vpc is None:
        return
    ours, theirs = network.vpc.vpc_id, cluster_vpc.vpc_id
    if Token.is_unresolved(ours) or Token.is_unresolved(theirs):
        different = isinstance(network.vpc, ec2.Vpc) and isinstance(cluster_vpc, ec2.Vpc) and ours != theirs
    else:
        different = ours != theirs
    if different:
        fail(
            scope,
            "network",
            network.node.path,
            f"is not in the cluster's VPC ({cluster_vpc.node.path}); Batch nodes join the cluster from "
            "its VPC (BatchNetwork(vpc=cluster.vpc))",
        )


def _access_steps(instance_role: iam.IRole) -> str:
    return (
        "access for the Batch service-linked role AWSServiceRoleForBatch as Kubernetes user "
        f"{BATCH_USER} and for the nodes' role {instance_role.node.path} as a node: EKS access entries "
        "(types STANDARD and EC2_LINUX; pass authentication_mode=API or API_AND_CONFIG_MAP to have them "
        "created) or aws-auth mapRoles (the service-linked role's ARN without its "
        "path)"
    )


def batch_manifests(namespace: str = "aws-batch") -> list[dict[str, Any]]:
    """The Kubernetes objects Batch needs on a cluster (``kubectl apply`` them as JSON or YAML): the
    cluster role and binding (once per cluster) and the namespace with its role and binding."""
    return [*_rbac(BATCH_USER), *_namespace_objects(namespace, BATCH_USER)]


def _check_namespace(scope: Construct, namespace: str) -> None:
    """BK-K1 (EksConfiguration.kubernetesNamespace)."""
    if is_token(namespace):
        return
    if not 1 <= len(namespace) <= 63 or not _NAMESPACE.match(namespace):
        fail(
            scope,
            "namespace",
            namespace,
            "must be 1-63 lower-case letters, digits and '-', starting and ending with a letter or digit",
        )
    if namespace == "default" or namespace.startswith("kube-"):
        fail(scope, "namespace", namespace, "Batch cannot use 'default' or a 'kube-' namespace")


@dataclass(frozen=True)
class EksContainer:
    """One Kubernetes container, as a value: pass it to :class:`EksJobDefinition`.

    :param image: ``ecs.ContainerImage.from_registry(...)`` or ``.from_ecr_repository(repo, tag)``.
    :param vcpus: CPU request (a multiple of 0.25): what Batch places the pod by. Default: 1.
    :param vcpus_limit: CPU limit (at least ``vcpus``). Default: none (the pod may use idle CPU).
    :param memory: memory, requested and limited alike (Batch requires them equal), whole MiB. Default: 2 GiB.
    :param gpus: GPUs (``nvidia.com/gpu``), requested and limited alike. Default: 0.
    :param command: the entrypoint (not run in a shell). Default: the image's ENTRYPOINT.
    :param args: arguments to the entrypoint; ``Ref::name`` placeholders take job parameters. Default: the
        image's CMD.
    :param env: environment variables (names must not start with ``AWS_BATCH``). Default: none.
    :param name: the container's name (what ``eksPropertiesOverride`` addresses). Default: ``main``.
    :param volumes: ``batch.EksVolume.empty_dir(...)``, ``.host_path(...)`` or ``.secret(...)``.
        Default: none.
    :param run_as_user: UID to run as. Default: the image's user.
    :param run_as_group: GID to run as. Default: the image's group.
    :param run_as_non_root: the kubelet refuses to start the container as UID 0; an image whose user is
        root or not numeric then needs ``run_as_user``. Default: True (False is an opt-in).
    :param privileged: privileged container (root on the node). Default: False (opt-in, warned at synth).
    :param readonly_root_filesystem: Default: False.
    :param image_pull_policy: Default: Kubernetes' (``Always`` for ``:latest``, else ``IfNotPresent``).
    """

    image: ecs.ContainerImage
    vcpus: float = 1
    vcpus_limit: float | None = None
    memory: Size | None = None
    gpus: int = 0
    command: Sequence[str] | None = None
    args: Sequence[str] | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    name: str = "main"
    volumes: Sequence[batch.EksVolume] = ()
    run_as_user: int | None = None
    run_as_group: int | None = None
    run_as_non_root: bool = True
    privileged: bool = False
    readonly_root_filesystem: bool = False
    image_pull_policy: batch.ImagePullPolicy | None = None

    @property
    def memory_size(self) -> Size:
        return self.memory or Size.gibibytes(2)


class EksJobDefinition(JobDefinitionBase):
    """A job that runs one :class:`EksContainer` as a pod on an EKS queue (:class:`EksComputeEnvironment`).

    Defaults: the pod network (``hostNetwork: false``; Batch's own default is the node's network), the
    security context of :class:`EksContainer`, three attempts with the retries of :class:`RetryPolicy`, a
    24 h timeout, previous revisions kept ACTIVE. Submit paths send ``eksPropertiesOverride``.
    """

    submit_shape = SubmitShape.EKS

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        container: EksContainer,
        service_account: str | None = None,
        host_network: bool = False,
        dns_policy: batch.DnsPolicy | None = None,
        parameters: Mapping[str, str] | None = None,
        timeout: Duration | None = None,
        retry: RetryPolicy | None = None,
        scheduling_priority: int | None = None,
        skip_deregister_on_update: bool = True,
        job_definition_name: str | None = None,
    ) -> None:
        """
        :param container: what the pod runs (an :class:`EksContainer`).
        :param service_account: the Kubernetes service account of the pod, in the environment's namespace
            (give it AWS permissions with IRSA or EKS Pod Identity). Default: the namespace's ``default``.
        :param host_network: share the node's network namespace. Default: False (pod networking).
        :param dns_policy: Default: ``ClusterFirst`` (``ClusterFirstWithHostNet`` with ``host_network``).
        :param timeout: attempt timeout (at least 60 s). Default: 24 hours.
        :param retry: Default: :meth:`RetryPolicy.transient` (3 attempts).
        :param scheduling_priority: fair-share priority (0-9999). Default: none.
        :param skip_deregister_on_update: keep previous revisions ACTIVE. Default: True.
        :param job_definition_name: physical name. Default: generated.
        """
        super().__init__(scope, construct_id)
        self.timeout, self.retry = run_policy(self, timeout, retry, scheduling_priority)
        self.scheduling_priority = scheduling_priority
        self.skip_deregister_on_update = skip_deregister_on_update
        c = container
        memory_mib = _check_resources(self, c)
        for key in c.env:
            if key.startswith("AWS_BATCH"):
                fail(self, "container.env", key, "names starting with AWS_BATCH are reserved for Batch")
        if c.privileged:
            Annotations.of(self).add_warning_v2(
                "batchkit:eks-privileged",
                f"{self.node.path}: container {c.name} is privileged (root on the node it runs on).",
            )
        #: The L2 container definition.
        self.container = batch.EksContainerDefinition(
            self,
            "Container",
            image=c.image,
            name=c.name,
            command=list(c.command) if c.command is not None else None,
            args=list(c.args) if c.args is not None else None,
            env=dict(c.env) or None,
            volumes=list(c.volumes) or None,
            image_pull_policy=c.image_pull_policy,
        )
        self.resource = batch.EksJobDefinition(
            self,
            "Resource",
            container=self.container,
            service_account=service_account,
            use_host_network=host_network,
            dns_policy=dns_policy,
            parameters=dict(parameters) if parameters else None,
            retry_attempts=self.retry.attempts,
            retry_strategies=list(self.retry.rules) or None,
            timeout=self.timeout,
            scheduling_priority=scheduling_priority,
            skip_deregister_on_update=skip_deregister_on_update,
            job_definition_name=job_definition_name,
        )
        cfn = self.resource.node.default_child
        assert isinstance(cfn, batch.CfnJobDefinition)
        pod = "EksProperties.PodProperties"
        # BK-K2: resources rendered as the strings Batch documents (the L2 renders numbers, and no requests).
        requests = {"cpu": _cpu(c.vcpus), "memory": f"{memory_mib}Mi"}
        limits = {"memory": f"{memory_mib}Mi"}
        if c.vcpus_limit is not None:
            limits["cpu"] = _cpu(c.vcpus_limit)
        if c.gpus:
            requests["nvidia.com/gpu"] = limits["nvidia.com/gpu"] = str(c.gpus)
        cfn.add_property_override(f"{pod}.Containers.0.Resources", {"Requests": requests, "Limits": limits})
        # BK-K3: the security context, every field explicit.
        context: dict[str, Any] = {
            "Privileged": c.privileged,
            "AllowPrivilegeEscalation": c.privileged,
            "ReadOnlyRootFilesystem": c.readonly_root_filesystem,
            "RunAsNonRoot": c.run_as_non_root,
        }
        if c.run_as_user is not None:
            context["RunAsUser"] = c.run_as_user
        if c.run_as_group is not None:
            context["RunAsGroup"] = c.run_as_group
        cfn.add_property_override(f"{pod}.Containers.0.SecurityContext", context)
        cfn.add_property_override(f"{pod}.HostNetwork", host_network)
        if dns_policy is None:
            cfn.add_property_override(
                f"{pod}.DnsPolicy", "ClusterFirstWithHostNet" if host_network else "ClusterFirst"
            )
        rendered = Stack.of(self).resolve(cfn.eks_properties)
        image = ((rendered or {}).get("podProperties", {}).get("containers") or [{}])[0].get("image")
        self.requirements: JobRequirements | None = JobRequirements(
            platform=Platform.EKS,
            vcpus=c.vcpus,
            memory_mib=memory_mib,
            gpus=c.gpus,
            images=(image,) if isinstance(image, str) and not Token.is_unresolved(image) else (),
        )


def _cpu(value: float) -> str:
    return f"{value:g}"


def _check_resources(scope: Construct, c: EksContainer) -> int:
    """BK-K2: CPU in quarters, the limit at least the request; memory whole MiB >= 4; GPUs whole."""
    for prop, value in (("container.vcpus", c.vcpus), ("container.vcpus_limit", c.vcpus_limit)):
        if value is None or is_token(value):
            continue
        if value <= 0 or (value * 4) != int(value * 4):
            fail(scope, prop, value, "must be a positive multiple of 0.25 (Batch on EKS)")
    if c.vcpus_limit is not None and not is_token(c.vcpus_limit) and c.vcpus_limit < c.vcpus:
        fail(scope, "container.vcpus_limit", c.vcpus_limit, f"must be at least container.vcpus ({c.vcpus:g})")
    mib = c.memory_size.to_mebibytes()
    if is_token(mib):
        return 0
    if mib != int(mib) or mib < 4:
        fail(scope, "container.memory", f"{mib:g} MiB", "must be a whole number of MiB, at least 4 MiB")
    if not is_token(c.gpus) and (c.gpus < 0 or c.gpus != int(c.gpus)):
        fail(scope, "container.gpus", c.gpus, "must be a whole number of GPUs")
    return int(mib)
