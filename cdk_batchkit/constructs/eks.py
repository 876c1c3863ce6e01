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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar, Unpack

from aws_cdk import Annotations, Size, SizeRoundingBehavior, Stack
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_eks as eks
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from ..model import (
    ComputeKind,
    ComputeProfile,
    ContainerSpec,
    JobRequirements,
    Platform,
    SubmitShape,
)
from ..model.eks import EksClusterAccess, EksContainerSpec, EksEnvironmentSpec, EksPodSpec, EksVolumeSpec
from ..model.rules import Problem
from ..model.rules.eks import (
    check_eks_environment,
    check_pod,
    eks_allocation_strategy,
    eks_cluster_setup,
    eks_network,
    render_pod,
)
from ..model.values import is_unresolved, known
from ._props import expand_props
from ._validation import (
    default_child,
    mebibytes_of,
    node_of,
    node_path,
    report,
    service_principal,
    size,
    stack_env,
    stack_of,
)
from .compute import (
    BatchComputeEnvironment,
    ManagedEc2Options,
    ManagedEc2Props,
    hardened_launch_template,
    l2_allocation,
    pin,
)
from .job_definition import JobDefinitionBase, JobDefinitionOptions, JobDefinitionProps, run_policy
from .nag import acknowledge, managed_policy_finding
from .network import BatchNetwork

_GETTING_STARTED = "https://docs.aws.amazon.com/batch/latest/userguide/getting-started-eks.html"

T = TypeVar("T")
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

    @expand_props(ManagedEc2Options)
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: eks.ICluster,
        network: BatchNetwork,
        namespace: str = "aws-batch",
        kubernetes_version: str | None = None,
        cluster_access: bool = True,
        authentication_mode: eks.AuthenticationMode | None = None,
        **props: Unpack[ManagedEc2Props],
    ) -> None:
        """
        :param cluster: the EKS cluster: an ``eks.Cluster`` of this app, or
            ``eks.Cluster.from_cluster_attributes`` (give it ``vpc``, ``cluster_security_group_id`` so the
            nodes join that group, and ``kubectl_role_arn`` so the namespace and RBAC objects are applied).
        :param network: where the nodes run: a :class:`BatchNetwork` in the cluster's VPC.
        :param namespace: the Kubernetes namespace Batch runs pods in (not ``default``, not ``kube-*``).
            Default: ``aws-batch``.
        :param kubernetes_version: the EKS AMI's Kubernetes version, ``MAJOR.MINOR`` as Batch lists it
            (``"1.33"``, not ``"v1.33"``); a version outside the list the Batch user guide gave when this
            library was released warns. Default: the latest Batch supports; set it to your cluster's version
            so nodes match the control plane.
        :param cluster_access: give the Batch service-linked role and the nodes' role access to the cluster:
            EKS access entries when the cluster's ``authentication_mode`` is API or API_AND_CONFIG_MAP,
            ``aws-auth`` mappings on a cluster of this app with CONFIG_MAP. Default: True (False when your
            cluster team manages access; a synth warning then lists what to map).
        :param authentication_mode: the cluster's authentication mode (an imported cluster does not know it:
            pass it here so access can be wired). Default: the cluster's own (an ``eks.Cluster`` of this
            app); unknown on an imported cluster, so access is then not wired and a synth warning says what
            to map.
        :param props: the props of every managed EC2 environment (:class:`ManagedEc2Props`, as on
            :class:`Ec2ComputeEnvironment`): ``spot``, ``architecture``, ``gpu``, ``instance_types``,
            ``allocation_strategy``, ``minv_cpus``, ``maxv_cpus``, ``root_volume_size``,
            ``user_data_commands``, ``spot_bid_percentage``, ``replace_compute_environment``,
            ``update_timeout``, ``terminate_on_update``, ``instance_role`` (Default here: a new role with
            the EKS node policies), ``compute_environment_name``.
        """
        super().__init__(scope, construct_id)
        options = ManagedEc2Options.of(self, props)
        gpu, architecture = options.gpu, options.architecture
        settings = EksEnvironmentSpec(
            namespace=namespace, kubernetes_version=kubernetes_version, gpu=gpu, architecture=architecture
        )
        # BK-K1, BK-K7, BK-K11 (before the instance choice, which assumes a valid architecture and GPU).
        report(self, check_eks_environment(settings))
        # The capacity, Spot and update checks and the instance choice EC2 (ECS) environments make too
        # (compute.py: check_managed_ec2, choose_instances).
        options.check(self)
        types, strategy, replace = options.choose_instances(self)
        #: The cluster and namespace the jobs run in, and where the nodes run.
        self.cluster, self.namespace, self.network = cluster, namespace, network
        security_groups: list[ec2.ISecurityGroup] = [network.security_group]
        #: The cluster security group the nodes join (None when an imported cluster does not name it).
        self.cluster_security_group = _known(lambda: cluster.cluster_security_group)
        if self.cluster_security_group is not None:
            security_groups.append(self.cluster_security_group)
        cluster_vpc = _known(lambda: cluster.vpc)
        vpc, theirs = _vpc_identities(network.vpc, cluster_vpc)
        placed = EksEnvironmentSpec(
            allocation_strategy=strategy.value,
            vpc=vpc,
            cluster_vpc=theirs,
            cluster_security_group_known=self.cluster_security_group is not None,
        )
        # BK-K6 and BK-K5.
        report(
            self,
            [
                *eks_allocation_strategy(placed),
                *eks_network(
                    placed,
                    network=network.node.path,
                    cluster_vpc=cluster_vpc.node.path if cluster_vpc is not None else "",
                    security_group=network.security_group.node.path,
                ),
            ],
        )
        #: The hardened launch template (as for ECS) and its MIME multipart user data.
        self.launch_template, self.user_data = hardened_launch_template(
            self, options.root_volume_size, options.user_data_commands
        )
        #: The nodes' role.
        self.instance_role = options.instance_role or self._node_role()
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
            allocation_strategy=l2_allocation(strategy),
            # The instance list is rendered from `types` (the L2 would append "optimal").
            use_optimal_instance_classes=True,
            images=[batch.EksMachineImage(image_type=image_type)],
            launch_template=self.launch_template,
            instance_role=self.instance_role,
            replace_compute_environment=replace,
            **options.l2_props(),
        )
        cfn = pin(self.resource, types, self.launch_template, strategy)
        if kubernetes_version is not None:
            cfn.add_property_override(
                "ComputeResources.Ec2Configuration.0.ImageKubernetesVersion", kubernetes_version
            )
        self._prepare_cluster(cluster_access, authentication_mode or cluster.authentication_mode)
        self.profile = ComputeProfile(
            kind=ComputeKind.of(spot=options.spot, eks=True),
            architecture=architecture,
            maxv_cpus=known(options.maxv_cpus),
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
            assumed_by=service_principal("ec2.amazonaws.com"),
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
        """BK-K4 decides how Batch and the nodes get access and what is left to the user; this does it."""
        cluster, stack, env = self.cluster, stack_of(self), stack_env(self)
        plan = eks_cluster_setup(
            EksClusterAccess(
                wire_access=cluster_access,
                authentication_mode=mode.value if mode is not None else None,
                cluster_in_app=isinstance(cluster, eks.Cluster),
                runs_kubectl=_runs_kubectl(cluster),
                namespace=self.namespace,
                node_role=node_path(self.instance_role),
            )
        )
        prerequisites: list[IConstruct] = []
        if plan.access == "ACCESS_ENTRIES":
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
            entry = node_of(stack).try_find_child(entry_id)
            if entry is None:
                slr_path = "aws-service-role/batch.amazonaws.com/"
                entry = eks.CfnAccessEntry(
                    stack,
                    entry_id,
                    cluster_name=cluster.cluster_name,
                    principal_arn=f"arn:{env.partition}:iam::{env.account}:role/{slr_path}AWSServiceRoleForBatch",
                    username=BATCH_USER,
                    type="STANDARD",
                )
            prerequisites.append(entry)
        elif plan.access == "AWS_AUTH":
            assert isinstance(cluster, eks.Cluster)
            cluster.aws_auth.add_role_mapping(
                self.instance_role,
                username="system:node:{{EC2PrivateDNSName}}",
                groups=["system:bootstrappers", "system:nodes"],
            )
            if node_of(cluster).try_find_child("BatchkitServiceLinkedRole") is None:
                # aws-auth takes role ARNs without their path (aws-iam-authenticator#268).
                role = iam.Role.from_role_arn(
                    cluster,
                    "BatchkitServiceLinkedRole",
                    f"arn:{env.partition}:iam::{env.account}:role/AWSServiceRoleForBatch",
                    mutable=False,
                )
                cluster.aws_auth.add_role_mapping(role, username=BATCH_USER, groups=[])
            prerequisites.append(cluster.aws_auth)
        if plan.apply_manifests:
            for manifest_id, objects in (
                ("BatchkitRbac", _rbac(BATCH_USER)),
                (f"BatchkitNamespace-{self.namespace}", _namespace_objects(self.namespace, BATCH_USER)),
            ):
                manifest = node_of(cluster).try_find_child(f"manifest-{manifest_id}")
                prerequisites.append(manifest or cluster.add_manifest(manifest_id, *objects))
        for prerequisite in prerequisites:
            node_of(self.resource).add_dependency(prerequisite)
        if plan.missing:
            Annotations.of(self).add_warning_v2(
                _SETUP_WARNING,
                f"{node_path(self)}: [BK-K4] before this compute environment can be created, the EKS cluster "
                f"needs ({_GETTING_STARTED}): " + "; ".join(plan.missing) + ".",
            )


def _known(read: Callable[[], T]) -> T | None:
    """An attribute an imported cluster may not define (``cluster.vpc``, ``cluster_security_group``)."""
    try:
        return read()
    except RuntimeError:
        return None


def _vpc_identities(ours: ec2.IVpc, cluster_vpc: ec2.IVpc | None) -> tuple[str | None, str | None]:
    """The nodes' and the cluster's VPC as values BK-K5 can compare (None: synth cannot tell): their ids,
    or, when an id is a token, the token of a VPC of this app (two ``ec2.Vpc`` of the app are different
    VPCs; an imported VPC's token says nothing)."""
    if cluster_vpc is None:
        return None, None
    mine, theirs = ours.vpc_id, cluster_vpc.vpc_id
    tokens = is_unresolved(mine) or is_unresolved(theirs)
    if tokens and not (isinstance(ours, ec2.Vpc) and isinstance(cluster_vpc, ec2.Vpc)):
        return None, None
    return mine, theirs


def batch_manifests(namespace: str = "aws-batch") -> list[dict[str, Any]]:
    """The Kubernetes objects Batch needs on a cluster (``kubectl apply`` them as JSON or YAML): the
    cluster role and binding (once per cluster) and the namespace with its role and binding."""
    return [*_rbac(BATCH_USER), *_namespace_objects(namespace, BATCH_USER)]


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
    :param environment: environment variables (names must not start with ``AWS_BATCH``). Default: the
        image's only.
    :param name: the container's name (what ``eksPropertiesOverride`` addresses), a Kubernetes DNS-1123 label.
        Default: ``main``.
    :param volumes: ``batch.EksVolume.empty_dir(...)``, ``.host_path(...)`` or ``.secret(...)`` (ECS volumes,
        ``LustreVolume`` included, are refused: FSx for Lustre mounts are for ECS containers on EC2).
        Default: no volumes.
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
    environment: Mapping[str, str] = field(default_factory=dict)
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
        return self.memory or size("gibibytes", 2)


class EksJobDefinition(JobDefinitionBase):
    """A job that runs one :class:`EksContainer` as a pod on an EKS queue (:class:`EksComputeEnvironment`).

    Defaults: the pod network (``hostNetwork: false``; Batch's own default is the node's network), the
    security context of :class:`EksContainer`, three attempts with the retries of :class:`RetryPolicy`, a
    24 h timeout, previous revisions kept ACTIVE. Submit paths send ``eksPropertiesOverride``.
    """

    submit_shape = SubmitShape.EKS

    @expand_props(JobDefinitionOptions)
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        container: EksContainer,
        service_account: str | None = None,
        host_network: bool = False,
        dns_policy: batch.DnsPolicy | None = None,
        **props: Unpack[JobDefinitionProps],
    ) -> None:
        """
        :param container: what the pod runs (an :class:`EksContainer`).
        :param service_account: the Kubernetes service account of the pod, in the environment's namespace
            (a DNS-1123 subdomain; give it AWS permissions with IRSA or EKS Pod Identity). Default: the
            namespace's ``default``.
        :param host_network: share the node's network namespace. Default: False (pod networking; Batch's own
            default is the node's network).
        :param dns_policy: the pod's DNS policy. Default: ``ClusterFirst`` (``ClusterFirstWithHostNet`` with
            ``host_network``).
        :param props: the props of every job definition
            (:class:`~cdk_batchkit.constructs.JobDefinitionProps`): ``parameters``, ``timeout``, ``retry``,
            ``scheduling_priority``, ``skip_deregister_on_update``, ``job_definition_name``.
        """
        options = JobDefinitionOptions.of(self, props)
        super().__init__(scope, construct_id)
        self.timeout, self.retry = run_policy(
            self, options.timeout, options.retry, options.scheduling_priority
        )
        self.scheduling_priority = options.scheduling_priority
        self.skip_deregister_on_update = options.skip_deregister_on_update
        c = container
        #: The pod as the rules see it (BK-K2, BK-K8, BK-K9, BK-K10, BK-T12; BK-K3 renders it).
        self.pod = EksPodSpec(
            containers=(_container_spec(c),),
            service_account=service_account,
            host_network=host_network,
            dns_policy=str(dns_policy.value) if dns_policy is not None else None,
            label=node_path(self),
        )
        # One container: the rules' "containers[0]" is the user's "container" prop.
        report(self, [_single(p) for p in check_pod(self.pod)])
        #: The L2 container definition.
        self.container = batch.EksContainerDefinition(
            self,
            "Container",
            image=c.image,
            name=c.name,
            command=list(c.command) if c.command is not None else None,
            args=list(c.args) if c.args is not None else None,
            env=dict(c.environment) or None,
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
            parameters=dict(options.parameters) if options.parameters else None,
            retry_attempts=self.retry.attempts,
            retry_strategies=list(self.retry.rules) or None,
            timeout=self.timeout,
            scheduling_priority=options.scheduling_priority,
            skip_deregister_on_update=options.skip_deregister_on_update,
            job_definition_name=options.job_definition_name,
        )
        cfn = default_child(self.resource)
        assert isinstance(cfn, batch.CfnJobDefinition)
        # BK-K3: the pod network, DNS policy, security context (every field explicit) and resources as the
        # strings Batch documents (the L2 renders numbers, and no requests).
        for path, value in render_pod(self.pod).items():
            cfn.add_property_override(f"EksProperties.PodProperties.{path}", value)
        rendered = Stack.of(self).resolve(cfn.eks_properties)
        image = ((rendered or {}).get("podProperties", {}).get("containers") or [{}])[0].get("image")
        memory = self.pod.containers[0].container.memory_mib
        self.requirements: JobRequirements | None = JobRequirements(
            platform=Platform.EKS,
            vcpus=c.vcpus,
            memory_mib=int(memory) if memory is not None else 0,
            gpus=c.gpus,
            images=(image,) if isinstance(image, str) and not is_unresolved(image) else (),
        )


#: The pod's field names the rules use (Kubernetes', the L2's) -> :class:`EksContainer`'s.
_FIELDS = {"env": "environment"}


def _single(problem: Problem) -> Problem:
    """A pod rule's problem named by the prop of a one-container job definition (``container.memory``,
    ``container.environment`` for the pod's ``env``)."""
    if not problem.prop.startswith("containers[0]"):
        return problem
    prop = problem.prop[len("containers[0]") :]
    field = prop.lstrip(".")
    return replace(problem, prop="container." + _FIELDS.get(field, field) if field else "container")


#: How the rules name volumes that are not EKS volumes (an FSx for Lustre LustreVolume is a host volume).
_ECS_VOLUMES = (
    ("LustreVolume", "FSx for Lustre volume"),
    ("EfsVolume", "EFS volume"),
    ("HostVolume", "ECS host volume"),
)


def _volume_spec(volume: Any) -> EksVolumeSpec:
    name = getattr(volume, "name", None)
    if isinstance(volume, batch.EmptyDirVolume):
        return EksVolumeSpec(name, "emptyDir")
    if isinstance(volume, batch.HostPathVolume):
        return EksVolumeSpec(name, "hostPath")
    if isinstance(volume, batch.SecretPathVolume):
        return EksVolumeSpec(name, "secret")
    kinds = {cls.__name__ for cls in type(volume).__mro__}
    kind = next((what for cls, what in _ECS_VOLUMES if cls in kinds), type(volume).__name__)
    return EksVolumeSpec(name, kind)


def _container_spec(c: EksContainer) -> EksContainerSpec:
    """Translate an :class:`EksContainer` (memory as a float, so a size that is not whole MiB reaches BK-K2
    with its value instead of failing in CDK's ``Size``)."""
    mib = mebibytes_of(c.memory_size, SizeRoundingBehavior.NONE)
    return EksContainerSpec(
        container=ContainerSpec(
            vcpus=known(c.vcpus),
            memory_mib=known(mib),
            gpus=known(c.gpus),
            name=c.name,
            command=tuple(c.command) if c.command is not None else None,
            environment=tuple(c.environment),
            privileged=c.privileged,
            readonly_root_filesystem=c.readonly_root_filesystem,
        ),
        vcpus_limit=known(c.vcpus_limit),
        run_as_user=c.run_as_user,
        run_as_group=c.run_as_group,
        run_as_non_root=c.run_as_non_root,
        volumes=tuple(_volume_spec(v) for v in c.volumes),
    )
