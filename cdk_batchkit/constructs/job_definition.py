"""Job definitions: container jobs (EC2 or Fargate) and multi-node parallel jobs.

Compared with the L2 they wrap: logs go to a log group the construct owns, with a
retention period; a job role separate from the execution role always exists; a
timeout is always set; retries are on by default for the failures worth retrying
(Spot reclaim, transient image pulls) and end with a catch-all EXIT rule, with
the attempt count Batch needs for the rules to fire; submit grants are scoped to
this definition's name and one queue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import jsii
from aws_cdk import Annotations, Duration, IAnyProducer, IResolveContext, Lazy, Size, Stack, Token
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct, IValidation

from ..model import (
    Architecture,
    ComputeKind,
    ComputeProfile,
    JobRequirements,
    NodeGroup,
    Platform,
    SubmitShape,
    check_fit,
)
from ..model.limits import (
    FARGATE_MEMORY,
    MAX_ATTEMPTS,
    MAX_EVALUATE_ON_EXIT,
    MAX_NODES,
    MAX_SCHEDULING_PRIORITY,
    MIN_ATTEMPT_SECONDS,
    MIN_NODES,
    MIN_SCHEDULING_PRIORITY,
)
from ..model.rules import register
from ._binding import (
    DefinitionRef,
    QueueLike,
    QueueRef,
    bind,
    definition_ref,
    grant_from,
    grant_submit,
    queue_ref,
)
from ._validation import check_range, check_seconds, fail, is_token, node_path
from .consumable import ConsumableLike, cfn_consumables, consumable_requests
from .container_options import (
    ContainerCondition,
    FireLens,
    LinuxParameters,
    check_container,
    check_fargate_task,
    check_firelens_routes,
    check_log_driver,
    check_task,
    devices_of,
    log_driver_of,
    task_container,
)
from .encryption import KeyUser, encryption_key, grant_secrets_key, warn_plain_secrets
from .nag import acknowledge
from .network import BatchNetwork
from .storage import lustre_mounts, warn_unchecked_mounts

#: Kept for compatibility of imports: the limits live in :mod:`cdk_batchkit.model.limits`.
MAX_RULES = MAX_EVALUATE_ON_EXIT
__all__ = ["FARGATE_MEMORY", "MAX_ATTEMPTS", "MAX_RULES"]

register(
    "BK-D1",
    "Job definitions keep their previous revisions ACTIVE on update (ResourceRetentionPolicy."
    "SkipDeregisterOnUpdate) unless skip_deregister_on_update=False.",
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"
    "aws-properties-batch-jobdefinition-resourceretentionpolicy.html",
)
register(
    "BK-N3",
    "A multi-node job's node ranges cover nodes 0 to nodes-1 without gap or overlap (so the main node "
    "is in one), and each range's container is a valid EC2 container; the last range is rendered open "
    "(start:), so SubmitJob's numNodes can resize the job.",
    "https://docs.aws.amazon.com/batch/latest/APIReference/API_NodeRangeProperty.html (targetNodes) and "
    "https://docs.aws.amazon.com/batch/latest/userguide/mnp-node-groups.html and "
    "https://docs.aws.amazon.com/batch/latest/APIReference/API_NodeOverrides.html (numNodes: a range with an "
    "open upper boundary)",
)
register(
    "BK-N4",
    "A Fargate job definition whose assign_public_ip is unset and whose network is never known (never "
    "bound to a queue of known compute, no network=) gets a synth warning: AssignPublicIp stays DISABLED.",
    "https://docs.aws.amazon.com/batch/latest/userguide/fargate.html and "
    "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-task-networking.html",
)
register(
    "BK-P2",
    "A job with Secrets Manager or SSM secrets on PRIVATE_WITH_ENDPOINTS compute adds the secretsmanager / "
    "ssm interface endpoints to that network (once per network); a synth warning when the network is "
    "unknown.",
    "https://docs.aws.amazon.com/batch/latest/userguide/specifying-sensitive-data.html and "
    "https://docs.aws.amazon.com/secretsmanager/latest/userguide/vpc-endpoint-overview.html and "
    "https://docs.aws.amazon.com/systems-manager/latest/userguide/setup-create-vpc.html",
)
register(
    "BK-P3",
    "An EFS volume opens NFS (TCP 2049) from the compute security group to the file system's security "
    "groups and grants the job role ClientMount (and ClientWrite unless read-only), restricted to the "
    "access point when one is given; a synth warning when the network is unknown.",
    "https://docs.aws.amazon.com/batch/latest/userguide/efs-volumes.html and "
    "https://docs.aws.amazon.com/efs/latest/ug/network-access.html and "
    "https://docs.aws.amazon.com/efs/latest/ug/iam-access-control-nfs-efs.html",
)

_SECRET_ENDPOINTS = {
    "secretsmanager": ("SecretsManager", ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER),
    "ssm": ("Ssm", ec2.InterfaceVpcEndpointAwsService.SSM),
}
_NETWORK_WARNING = "batchkit:network-unknown"


@dataclass(frozen=True)
class Container:
    """One ECS container, as a value: pass it to :class:`ContainerJobDefinition` or
    :class:`MultiNodeJobDefinition` (``container=Container(image=..., vcpus=2)``).

    :param image: ``ecs.ContainerImage.from_registry(...)``, ``.from_ecr_repository(repo, tag)`` or
        ``.from_asset(dockerfile_dir)`` (built and pushed by ``cdk deploy``).
    :param vcpus: vCPUs (EC2: whole numbers; Fargate: 0.25, 0.5, 1, 2, 4, 8 or 16). Default: 1.
    :param memory: hard memory limit (Fargate: a valid pair with ``vcpus``). Default: 2 GiB.
    :param gpus: GPUs (EC2 only). Default: 0.
    :param command: the container command; ``Ref::name`` placeholders take job parameters.
        Default: the image's CMD.
    :param environment: environment variables. Default: none.
    :param secrets: environment variables read from Secrets Manager or SSM Parameter Store
        (``batch.Secret.from_secrets_manager(...)`` / ``.from_ssm_parameter(...)``); the execution role
        is granted read access. Default: none.
    :param volumes: volumes to mount, e.g. ``batch.EcsVolume.efs(...)``. Default: none.
    :param readonly_root_filesystem: Default: False.
    :param logging: the log driver (``ecs.LogDriver.aws_logs(...)``, ``.splunk(...)``, ``.generic(...)``
        with ``options`` and ``secret_options``; Fargate: awslogs or splunk). Default: ``awslogs`` into a
        log group the job definition owns, with retention (``log_group``/``log_retention`` on the
        definition).
    :param user: ``user``, ``user:group``, ``uid`` or ``uid:gid``. Default: the image's user.
    :param privileged: root-equivalent access to the host (EC2 only; warns at synth). Default: False.
    :param ulimits: ``batch.Ulimit(name=batch.UlimitName.NOFILE, soft_limit=..., hard_limit=...)``
        (EC2 only). Default: Docker's.
    :param linux_parameters: shared memory, tmpfs, devices, init process, swap: a
        :class:`LinuxParameters`. Default: none.
    :param repository_credentials: a Secrets Manager secret (``username``/``password``) for an image in a
        private registry outside ECR; the execution role is granted read on it. Default: none.
    :param name: multi-container definitions only: the container's name (unique in the task).
    :param essential: multi-container definitions only: whether the job ends when this container stops
        (at least one is). Default: True.
    :param depends_on: multi-container definitions only: containers this one waits for, name ->
        :class:`ContainerCondition`. Default: none.
    :param firelens: multi-container definitions only (EC2): makes this container the task's FireLens
        log router (:class:`FireLens`). Default: none.
    """

    image: ecs.ContainerImage
    vcpus: float = 1
    memory: Size | None = None
    gpus: int = 0
    command: Sequence[str] | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, batch.Secret] = field(default_factory=dict)
    volumes: Sequence[batch.EcsVolume] = ()
    readonly_root_filesystem: bool = False
    logging: ecs.LogDriver | None = None
    user: str | None = None
    privileged: bool = False
    ulimits: Sequence[batch.Ulimit] = ()
    linux_parameters: LinuxParameters | None = None
    repository_credentials: secretsmanager.ISecret | None = None
    name: str | None = None
    essential: bool = True
    depends_on: Mapping[str, ContainerCondition] = field(default_factory=dict)
    firelens: FireLens | None = None

    @property
    def memory_size(self) -> Size:
        return self.memory or Size.gibibytes(2)


def _catch_all() -> batch.RetryStrategy:
    # A Batch retry strategy retries any failure no rule matches: end with an explicit EXIT.
    return batch.RetryStrategy.of(batch.Action.EXIT, batch.Reason.custom(on_status_reason="*"))


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts a job gets and which failures are retried.

    Use the presets: :meth:`transient` (the default), :meth:`none`, or :meth:`custom`.
    """

    attempts: int
    rules: tuple[batch.RetryStrategy, ...] = field(default_factory=tuple)

    @staticmethod
    def transient(attempts: int = 3) -> RetryPolicy:
        """Retry Spot reclaims (``Host EC2*``) and transient image pulls / task start-up errors;
        any other failure exits at once."""
        return RetryPolicy(
            attempts,
            (
                batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.SPOT_INSTANCE_RECLAIMED),
                batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.CANNOT_PULL_CONTAINER),
                batch.RetryStrategy.of(
                    batch.Action.RETRY, batch.Reason.custom(on_reason="ResourceInitializationError*")
                ),
                _catch_all(),
            ),
        )

    @staticmethod
    def none() -> RetryPolicy:
        """One attempt, no retries."""
        return RetryPolicy(1)

    @staticmethod
    def custom(attempts: int, *rules: batch.RetryStrategy) -> RetryPolicy:
        """Your own rules (at most 4, since a catch-all EXIT is appended as the fifth)."""
        return RetryPolicy(attempts, (*rules, _catch_all()))


def run_policy(
    scope: Construct, timeout: Duration | None, retry: RetryPolicy | None, scheduling_priority: int | None
) -> tuple[Duration, RetryPolicy]:
    """The timeout (default 24 h) and retry policy (default :meth:`RetryPolicy.transient`) of a job
    definition, checked as Batch checks them (BK-J1, BK-J2), and its scheduling priority's range."""
    timeout = timeout if timeout is not None else Duration.hours(24)
    # Batch rejects attempt timeouts under 60 s (JobTimeout.attemptDurationSeconds).
    check_seconds(scope, "timeout", timeout, MIN_ATTEMPT_SECONDS, None)
    retry = retry or RetryPolicy.transient()
    check_range(scope, "retry.attempts", retry.attempts, 1, MAX_ATTEMPTS)
    if len(retry.rules) > MAX_EVALUATE_ON_EXIT:
        fail(
            scope,
            "retry.rules",
            len(retry.rules),
            f"Batch allows at most {MAX_EVALUATE_ON_EXIT} evaluateOnExit rules",
        )
    if retry.rules and retry.attempts < 2:
        fail(scope, "retry.attempts", retry.attempts, "retry rules never fire with a single attempt")
    # RegisterJobDefinition schedulingPriority: 0-9999, used only on fair-share queues.
    check_range(
        scope, "scheduling_priority", scheduling_priority, MIN_SCHEDULING_PRIORITY, MAX_SCHEDULING_PRIORITY
    )
    return timeout, retry


class JobDefinitionBase(Construct):
    """What every job definition of this library offers consumers: ``resource`` (the L2
    ``batch.IJobDefinition``), ``requirements`` (None when unknown), ``propagate_tags``, the fit check
    (:meth:`bind`) and the narrow submit grant (:meth:`grant_submit`)."""

    resource: batch.IJobDefinition
    requirements: JobRequirements | None
    propagate_tags: bool = False
    #: Which SubmitJob override field the definition takes.
    submit_shape: SubmitShape = SubmitShape.CONTAINER
    #: Multi-node: the last node range is rendered open (``n:``), so submissions may set numNodes.
    open_last_node_range: bool = False
    #: ECS_TASK / EKS: the container that receives per-submission overrides (None: the only one).
    override_container: str | None = None
    #: The ARNs of the consumable resources each job requests.
    consumable_arns: tuple[str, ...] = ()

    @property
    def job_definition_arn(self) -> str:
        return self.resource.job_definition_arn

    @property
    def job_definition_name_arn(self) -> str:
        """``arn:...:job-definition/NAME:*``: every revision of this definition, and nothing else."""
        return self.definition_ref().name_arn

    def definition_ref(self) -> DefinitionRef:
        return DefinitionRef(
            self.resource,
            node_path(self),
            self.requirements,
            propagate_tags=self.propagate_tags,
            shape=self.submit_shape,
            override_container=self.override_container,
            on_bind=self._on_bind,
            consumable_arns=self.consumable_arns,
            open_last_node_range=self.open_last_node_range,
        )

    def _on_bind(self, queue: QueueRef) -> JobRequirements:
        assert self.requirements is not None
        return self.requirements

    def bind(self, job_queue: QueueLike) -> None:
        """Check at synth that this job can run on ``job_queue``; raise ``ValueError`` if it never can
        (a synth warning when the queue's compute is unknown)."""
        bind(self, self.definition_ref(), queue_ref(job_queue))

    def grant_submit(
        self, grantee: iam.IGrantable, job_queue: QueueLike, *, with_tags: bool | None = None
    ) -> iam.Grant:
        """Allow ``grantee`` to submit this job definition (any revision) to ``job_queue`` only.

        Also checks the fit (see :meth:`bind`). ``with_tags``: also allow ``batch:TagResource`` on
        jobs, which SubmitJob needs when the request carries tags. Default: when the definition
        propagates tags (callers that never pass tags, like the S3 submitter, say False).
        """
        return grant_submit(self, grantee, self.definition_ref(), queue_ref(job_queue), with_tags=with_tags)


class ImportedJobDefinition(JobDefinitionBase):
    """A job definition defined elsewhere (by ARN) or an L2 one, with what is known of its needs.
    Made by :meth:`BatchJobDefinition.from_job_definition_arn` and
    :meth:`BatchJobDefinition.from_job_definition`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        job_definition: batch.IJobDefinition | None = None,
        job_definition_arn: str | None = None,
        requirements: JobRequirements | None = None,
        propagate_tags: bool = False,
        submit_shape: SubmitShape = SubmitShape.CONTAINER,
        override_container: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if (job_definition is None) == (job_definition_arn is None):
            fail(self, "job_definition", job_definition_arn, "give exactly one of job_definition and its ARN")
        #: The L2 job definition.
        self.resource = job_definition or batch.EcsJobDefinition.from_job_definition_arn(
            self, "Resource", str(job_definition_arn)
        )
        #: What the job needs; None skips the fit checks (with a synth warning).
        self.requirements = requirements
        self.propagate_tags = propagate_tags
        self.submit_shape = submit_shape
        self.override_container = override_container


class BatchJobDefinition(JobDefinitionBase):
    """Base of the job definition constructs: shared logging, roles, retries, fit and grants."""

    requirements: JobRequirements

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        job_role: iam.IRole | None,
        log_group: logs.ILogGroup | None,
        log_retention: logs.RetentionDays,
        timeout: Duration | None,
        retry: RetryPolicy | None,
        propagate_tags: bool,
        scheduling_priority: int | None = None,
        skip_deregister_on_update: bool = True,
        consumable_resources: Mapping[ConsumableLike, int] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # BK-R1/BK-R2: checked now, rendered once the L2 exists (_finish).
        self.consumable_arns, self._consumables = consumable_requests(
            self, "consumable_resources", consumable_resources
        )
        #: Whether previous revisions stay ACTIVE when the definition is updated (CloudFormation otherwise
        #: deregisters the previous revision, and submits by its ARN fail).
        self.skip_deregister_on_update = skip_deregister_on_update
        self._containers: list[Container] = []
        # Network facts: whether the network is known (bound to a queue of known compute, or network=),
        # and the networks completed (endpoints, NFS) so far.
        self._network_known = False
        self._completed: list[BatchNetwork] = []
        self._efs_grants: list[batch.EfsVolume] = []
        self.node.add_validation(_NetworkDecided(self))
        #: The role the job's code runs as (separate from the execution role that pulls images,
        #: reads secrets and writes logs). Grant your job's permissions to it.
        self.job_role: iam.IRole = job_role or iam.Role(
            self,
            "JobRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description="Batch job role",
        )
        self._log_group = log_group
        self._log_retention = log_retention
        self.timeout, self.retry = run_policy(self, timeout, retry, scheduling_priority)
        self.propagate_tags = propagate_tags
        self.scheduling_priority = scheduling_priority

    @classmethod
    def from_job_definition_arn(
        cls,
        scope: Construct,
        construct_id: str,
        job_definition_arn: str,
        *,
        requirements: JobRequirements | None = None,
        propagate_tags: bool = False,
        submit_shape: SubmitShape = SubmitShape.CONTAINER,
        override_container: str | None = None,
    ) -> ImportedJobDefinition:
        """A job definition defined elsewhere, by ARN (with or without revision). ``requirements``
        describes what it needs so it is fit-checked against queues; without it the check is skipped
        with a synth warning. ``submit_shape``: which SubmitJob override field it takes
        (``SubmitShape.NODE`` for multi-node, ``EKS``, ``ECS_TASK`` for multi-container definitions).
        Default: ``SubmitShape.CONTAINER`` (a single-container ECS definition). ``override_container``:
        the container (by name) that receives per-submission overrides (required for ``ECS_TASK``;
        optional for ``EKS``). Default: none (the only container)."""
        return ImportedJobDefinition(
            scope,
            construct_id,
            job_definition_arn=job_definition_arn,
            requirements=requirements,
            propagate_tags=propagate_tags,
            submit_shape=submit_shape,
            override_container=override_container,
        )

    @classmethod
    def from_job_definition(
        cls,
        scope: Construct,
        construct_id: str,
        job_definition: batch.IJobDefinition,
        *,
        requirements: JobRequirements | None = None,
    ) -> ImportedJobDefinition:
        """Wrap an L2 job definition. Default requirements: derived from it when it is defined in this
        app (``batch.EcsJobDefinition``, ``MultiNodeJobDefinition``, ``EksJobDefinition``)."""
        described = definition_ref(job_definition)
        return ImportedJobDefinition(
            scope,
            construct_id,
            job_definition=job_definition,
            requirements=requirements or described.requirements,
            propagate_tags=described.propagate_tags,
            submit_shape=described.shape,
        )

    @property
    def log_group(self) -> logs.ILogGroup | None:
        """Where the job's stdout/stderr go (None when the container brings its own ``logging``)."""
        return self._log_group

    def _container_props(
        self, container: Container, execution_role: iam.IRole | None, index: int = 0, *, ec2: bool = True
    ) -> dict[str, Any]:
        """Props of the L2 container definition (EC2 or Fargate) for ``container`` (the ``index``-th)."""
        logging = container.logging
        if logging is None:
            if self._log_group is None:
                self._log_group = logs.LogGroup(
                    self,
                    "LogGroup",
                    retention=self._log_retention,
                    encryption_key=encryption_key(self, KeyUser.LOGS),
                )
            logging = ecs.LogDriver.aws_logs(stream_prefix=self.node.id, log_group=self._log_group)
        return dict(
            image=container.image,
            cpu=container.vcpus,
            memory=container.memory_size,
            command=list(container.command) if container.command is not None else None,
            environment=dict(container.environment) or None,
            secrets=dict(container.secrets) or None,
            volumes=list(container.volumes) or None,
            readonly_root_filesystem=container.readonly_root_filesystem,
            job_role=self.job_role,
            execution_role=execution_role,
            logging=logging,
            user=container.user,
            linux_parameters=(
                container.linux_parameters.bind(self, "LinuxParameters" + (str(index) if index else ""))
                if container.linux_parameters is not None
                else None
            ),
            **(self._ec2_only(container) if ec2 else {}),
        )

    @staticmethod
    def _ec2_only(container: Container) -> dict[str, Any]:
        return dict(privileged=container.privileged or None, ulimits=list(container.ulimits) or None)

    def _bound(
        self, definition: batch.IEcsContainerDefinition, container: Container, prop: str, *, task: bool
    ) -> dict[str, Any]:
        """After the L2 container definition exists: check its log driver, acknowledge the ECR login, grant
        read on its registry credentials; returns what the L2 cannot render, as property overrides
        relative to the rendered container."""
        fargate = isinstance(definition, batch.EcsFargateContainerDefinition)
        check_log_driver(self, log_driver_of(definition), prop, fargate=fargate, task=task)
        self._acknowledge_ecr_login(definition, container)
        overrides: dict[str, Any] = {}
        linux = container.linux_parameters
        if linux is not None and linux.devices:
            # The L2 renders permissions in lower case; the API's values are READ, WRITE, MKNOD.
            overrides["LinuxParameters.Devices"] = devices_of(linux)
        secret = container.repository_credentials
        if secret is not None:
            # BK-T6: the L2 drops repositoryCredentials (aws-cdk#37003). The execution role reads the
            # secret (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/private-auth.html).
            secret.grant_read(definition.execution_role)
            overrides["RepositoryCredentials.CredentialsParameter"] = secret.secret_arn
        return overrides

    @staticmethod
    def _override(cfn: batch.CfnJobDefinition, prefix: str, overrides: Mapping[str, Any]) -> None:
        for path, value in overrides.items():
            cfn.add_property_override(f"{prefix}.{path}", value)

    def _definition_props(self, parameters: Mapping[str, str] | None, name: str | None) -> dict[str, Any]:
        """Props shared by the L2 job definitions: retries, timeout, tags, parameters, name."""
        return dict(
            parameters=dict(parameters) if parameters else None,
            propagate_tags=self.propagate_tags,
            retry_attempts=self.retry.attempts,
            retry_strategies=list(self.retry.rules) or None,
            timeout=self.timeout,
            scheduling_priority=self.scheduling_priority,
            job_definition_name=name,
            skip_deregister_on_update=self.skip_deregister_on_update,
        )

    @staticmethod
    def _acknowledge_ecr_login(definition: Any, container: Container) -> None:
        """An image from ECR (a repository or a built asset) makes the L2 grant the execution role
        ``ecr:GetAuthorizationToken``, which takes no resource but ``*``."""
        if isinstance(container.image, (ecs.EcrImage, ecs.AssetImage)):
            # https://docs.aws.amazon.com/AmazonECR/latest/userguide/security_iam_id-based-policy-examples.html
            acknowledge(
                definition,
                "IAM5",
                "ecr:GetAuthorizationToken (pulling the job's image from ECR) supports no resource-level "
                "permissions: its only resource is '*'; the pull itself is scoped to the repository.",
                applies_to="Resource::*",
            )

    # -- what depends on the network: endpoints, NFS, images ------------------------------------------
    def _finish(self, network: BatchNetwork | None) -> None:
        """After the L2 exists: render consumable resources, grant EFS access and, with ``network``, decide
        what depends on it."""
        if self._consumables:
            # The L2 job definitions have no consumable resources: set the L1 property.
            cfn = self.resource.node.default_child
            assert isinstance(cfn, batch.CfnJobDefinition)
            cfn.consumable_resource_properties = cfn_consumables(self.consumable_arns, self._consumables)
            self.requirements = replace(self.requirements, consumables=self._consumables)
        volumes = [v for c in self._containers for v in c.volumes]
        mounts = lustre_mounts(self, volumes, self.requirements.platform)
        self.requirements = replace(self.requirements, shared_mounts=mounts)
        for volume in self._efs_volumes():
            self._grant_efs(volume)
        # With a BatchEncryption key: secrets encrypted with it are readable; plain "secrets" warn (BK-X5).
        grant_secrets_key(self, any(c.secrets for c in self._containers))
        warn_plain_secrets(self, [name for c in self._containers for name in c.environment])
        if network is not None:
            self._network_known = True
            kind = ComputeKind.FARGATE if self.requirements.platform is Platform.FARGATE else ComputeKind.EC2
            profile = ComputeProfile(
                kind=kind,
                architecture=None,
                public_subnets=network.public_subnets,
                private_egress=network.private_egress,
                internet=network.internet,
            )
            result = check_fit(self.requirements, [(network.node.path, profile)])
            if not result.fits:
                fail(self, "network", network.node.path, "; ".join(result.problems))
            self._complete([network], (), network.node.path)

    def _efs_volumes(self) -> list[batch.EfsVolume]:
        return [v for c in self._containers for v in c.volumes if isinstance(v, batch.EfsVolume)]

    def _secret_services(self) -> set[str]:
        """``secretsmanager`` and/or ``ssm``: the services the containers' secrets are read from."""
        services = set()
        for container in self._containers:
            if container.repository_credentials is not None:
                services.add("secretsmanager")
            for secret in container.secrets.values():
                text = " ".join(_strings(Stack.of(self).resolve(secret.arn)))
                services.add("ssm" if ":ssm:" in text else "secretsmanager")
        return services

    def _grant_efs(self, volume: batch.EfsVolume) -> None:
        # https://docs.aws.amazon.com/efs/latest/ug/iam-access-control-nfs-efs.html
        actions = ["elasticfilesystem:ClientMount"]
        if not volume.readonly:
            actions.append("elasticfilesystem:ClientWrite")
        conditions = None
        if volume.access_point_id is not None:
            access_point = Stack.of(volume.file_system).format_arn(
                service="elasticfilesystem", resource="access-point", resource_name=volume.access_point_id
            )
            conditions = {"StringEquals": {"elasticfilesystem:AccessPointArn": access_point}}
        statement = iam.PolicyStatement(
            actions=actions, resources=[volume.file_system.file_system_arn], conditions=conditions
        )
        # A job role of another stack gets the statement through a policy here (no reverse reference).
        grant_from(self, f"EfsAccess{len(self._efs_grants)}", self.job_role, statement)
        self._efs_grants.append(volume)

    def _complete(self, networks: Sequence[BatchNetwork], unknown: Sequence[str], where: str) -> None:
        """Add what the job needs to ``networks``; warn about what cannot be done for ``unknown``."""
        services = self._secret_services()
        volumes = self._efs_volumes()
        for network in networks:
            if any(network is done for done in self._completed):
                continue
            self._completed.append(network)
            for service in sorted(services):
                name, endpoint = _SECRET_ENDPOINTS[service]
                network.add_interface_endpoint(name, endpoint)
            for volume in volumes:
                volume.file_system.connections.allow_from(
                    network.security_group, ec2.Port.tcp(2049), "NFS from Batch compute"
                )
        if unknown and (services or volumes):
            needs = []
            if volumes:
                needs.append("NFS (TCP 2049) from the compute security group to the EFS file system")
            if services:
                needs.append(
                    "VPC interface endpoints for " + " and ".join(sorted(services)) + " if the compute "
                    "reaches AWS through endpoints only"
                )
            Annotations.of(self).add_warning_v2(
                _NETWORK_WARNING,
                f"{self.node.path} on {where}: the network of {', '.join(unknown)} is unknown, so this was "
                f"not set up: {'; '.join(needs)}. Open it yourself, or use this library's compute "
                "environments (or pass network= to the job definition).",
            )

    def _on_bind(self, queue: QueueRef) -> JobRequirements:
        if queue.profile is not None and queue.profile.known:
            self._network_known = True
        if queue.profile is not None:
            warn_unchecked_mounts(self, self.requirements, queue.profile, queue.label)
        self._complete(queue.networks, queue.unknown_networks, queue.label)
        return self.requirements

    def _unknown_network_warnings(self) -> list[str]:
        """Warnings for a definition whose network was never known (see :class:`_NetworkDecided`)."""
        if self._network_known or self._completed:
            return []
        found = []
        if self._efs_volumes():
            found.append(
                "its EFS volumes need NFS (TCP 2049) from the compute security group, which was not opened"
            )
        services = self._secret_services()
        if services:
            found.append(
                "its secrets need VPC interface endpoints for "
                + " and ".join(sorted(services))
                + " when its "
                "compute reaches AWS through endpoints only (NetworkMode.PRIVATE_WITH_ENDPOINTS); none were "
                "added"
            )
        return found


@jsii.implements(IAnyProducer)
class _VolumeUnion:
    """The volumes of every container of a task, each name once (containers may share a volume)."""

    def __init__(self, parts: Sequence[Any]) -> None:
        self._parts = parts

    def produce(self, context: IResolveContext) -> Any:
        union: dict[str, Any] = {}
        for part in self._parts:
            for volume in context.resolve(part) or []:
                union.setdefault(str(volume.get("name", volume.get("Name"))), volume)
        return list(union.values())


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@jsii.implements(IValidation)
class _NetworkDecided:
    """At validation (the tree is final): warn when what depends on the network was never decided."""

    def __init__(self, definition: BatchJobDefinition) -> None:
        self._definition = definition

    def validate(self) -> list[str]:
        definition = self._definition
        for why in definition._unknown_network_warnings():
            Annotations.of(definition).add_warning_v2(
                _NETWORK_WARNING,
                f"{definition.node.path} is not bound to any job queue whose compute is known and was given "
                f"no network: {why}. Bind it to its queue (queue.add_job_definition(job), "
                "job.grant_submit(role, queue), a submitter or a workflow step) or pass network=...",
            )
        return []


def _check_ec2_size(
    scope: Construct, vcpus: float, memory_mib: int, gpus: int, prop: str = "container"
) -> None:
    if not is_token(vcpus) and (vcpus < 1 or vcpus != int(vcpus)):
        fail(scope, f"{prop}.vcpus", vcpus, "EC2 jobs take a whole number of vCPUs, at least 1")
    if not is_token(memory_mib) and memory_mib < 4:
        fail(scope, f"{prop}.memory", f"{memory_mib} MiB", "must be at least 4 MiB")
    check_range(scope, f"{prop}.gpus", gpus, 0, 16)


def _memory_mib(scope: Construct, memory: Size, prop: str = "container") -> int:
    mib = memory.to_mebibytes()
    if not is_token(mib) and mib != int(mib):
        fail(scope, f"{prop}.memory", memory, "must be a whole number of MiB")
    return int(mib)


class ContainerJobDefinition(BatchJobDefinition):
    """A single-container job for EC2 or Fargate compute environments."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        container: Container | None = None,
        containers: Sequence[Container] | None = None,
        override_container: str | None = None,
        platform: Platform = Platform.EC2,
        parameters: Mapping[str, str] | None = None,
        job_role: iam.IRole | None = None,
        execution_role: iam.IRole | None = None,
        log_group: logs.ILogGroup | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        timeout: Duration | None = None,
        retry: RetryPolicy | None = None,
        propagate_tags: bool = True,
        scheduling_priority: int | None = None,
        assign_public_ip: bool | None = None,
        architecture: Architecture = Architecture.X86_64,
        ephemeral_storage: Size | None = None,
        network: BatchNetwork | None = None,
        skip_deregister_on_update: bool = True,
        job_definition_name: str | None = None,
        consumable_resources: Mapping[ConsumableLike, int] | None = None,
    ) -> None:
        """
        :param container: the container (image, vCPUs, memory, GPUs, command, environment, secrets,
            volumes, logging, Linux options...): a :class:`Container`. Give this or ``containers``.
        :param containers: several containers in one ECS task (``EcsProperties``: sidecars, init
            containers, a FireLens log router): named :class:`Container` values with ``essential`` and
            ``depends_on``. The task needs the sum of their vCPUs, memory and GPUs (on Fargate, a valid
            Fargate pair). Jobs are submitted with ``ecsPropertiesOverride``.
        :param override_container: with ``containers``: the container per-submission overrides (command,
            environment, resources) go to. Default: the first essential container.
        :param platform: EC2 or FARGATE. Default: EC2.
        :param parameters: default values for ``Ref::`` placeholders. Default: none.
        :param job_role: role the job's code runs as. Default: a new role with no permissions.
        :param execution_role: role Batch/ECS uses to pull the image, read secrets and write logs.
            Default: a new role with exactly those grants.
        :param log_group: Default: a new log group owned by this construct (unless the container brings
            its own ``logging``).
        :param log_retention: retention of the new log group. Default: one month.
        :param timeout: attempt timeout (at least 60 s). Default: 24 hours, so a hung job cannot run
            (and bill) forever.
        :param retry: Default: ``RetryPolicy.transient()`` (3 attempts; Spot reclaims and transient
            image pulls retried, everything else exits).
        :param propagate_tags: propagate job and definition tags to the ECS task. Default: True.
        :param scheduling_priority: fair-share scheduling priority of its jobs (0-9999, higher first; only
            used on queues with a fair-share policy). Default: none.
        :param assign_public_ip: Fargate only. Default: enabled when ``network`` (or the network of a
            queue the definition is bound to) is public subnets without NAT or endpoints (the only way
            the task can pull its image there), disabled otherwise; a synth warning when the network is
            never known.
        :param architecture: Fargate only: x86_64 or ARM64 (Graviton). Default: x86_64.
        :param ephemeral_storage: Fargate only: 21-200 GiB. Default: Fargate's 20 GiB.
        :param network: the network the jobs run in, when known here: the public IP, VPC endpoints for
            secrets and NFS to EFS volumes are decided now, and the definition is checked against it.
            Default: decided when the definition is bound to a queue of this library's compute.
        :param skip_deregister_on_update: keep previous revisions ACTIVE when the definition changes, so
            submits by an older revision ARN (a running workflow, a queued retry) still work; clean them
            up as the README shows. Default: True.
        :param job_definition_name: physical name. Default: generated.
        :param consumable_resources: consumable resources each job holds while it runs,
            ``{ConsumableResource (or batch.IConsumableResource): quantity}`` (at most 5; a quantity above
            the resource's total fails synth). Submitting is granted on them. Default: none.
        """
        super().__init__(
            scope,
            construct_id,
            job_role=job_role,
            log_group=log_group,
            log_retention=log_retention,
            timeout=timeout,
            retry=retry,
            propagate_tags=propagate_tags,
            scheduling_priority=scheduling_priority,
            skip_deregister_on_update=skip_deregister_on_update,
            consumable_resources=consumable_resources,
        )
        if (container is None) == (containers is None):
            fail(self, "container", container, "give exactly one of container and containers")
        task = containers is not None
        values = [container] if container is not None else list(containers or [])
        labels = ["container"] if not task else [f"containers[{i}]" for i in range(len(values))]
        if task:
            self.override_container = check_task(self, values, override_container)
            self.submit_shape = SubmitShape.ECS_TASK
        elif override_container is not None:
            fail(self, "override_container", override_container, "only applies with containers=")
        self._containers = values
        mibs = [_memory_mib(self, c.memory_size, label) for c, label in zip(values, labels, strict=True)]
        # BK-T10: the task needs the sum of its containers.
        vcpus, memory_mib, gpus = sum(c.vcpus for c in values), sum(mibs), sum(c.gpus for c in values)
        fargate = platform is Platform.FARGATE
        if platform not in (Platform.EC2, Platform.FARGATE):
            fail(self, "platform", platform.value, "a container job runs on EC2 or FARGATE")
        for value, label in zip(values, labels, strict=True):
            check_container(self, value, label, fargate=fargate, task=task)
        self._auto_public_ip = fargate and assign_public_ip is None
        if self._auto_public_ip and network is not None:
            # Decided here: only a public IP lets a task in public subnets without NAT/endpoints pull.
            assign_public_ip = network.public_subnets and not network.private_egress
            self._auto_public_ip = False
        if fargate:
            self._check_fargate(vcpus, memory_mib, gpus, ephemeral_storage, labels[0] if not task else "")
        else:
            for prop, setting in (
                ("assign_public_ip", assign_public_ip),
                ("ephemeral_storage", ephemeral_storage),
            ):
                if setting is not None:
                    fail(self, prop, setting, "only applies to Fargate jobs")
            if architecture is not Architecture.X86_64:
                fail(
                    self,
                    "architecture",
                    architecture.value,
                    "only applies to Fargate jobs (EC2 follows the queue)",
                )
        definitions: list[batch.IEcsContainerDefinition] = []
        overrides: list[dict[str, Any]] = []
        for index, (value, label, mib) in enumerate(zip(values, labels, mibs, strict=True)):
            # One execution role for every container.
            role = execution_role or (definitions[0].execution_role if definitions else None)
            common = self._container_props(value, role, index, ec2=not fargate)
            construct_id = "Container" if index == 0 else f"Container{index}"
            definition: batch.IEcsContainerDefinition
            if fargate:
                definition = batch.EcsFargateContainerDefinition(
                    self,
                    construct_id,
                    assign_public_ip=bool(assign_public_ip),
                    fargate_cpu_architecture=(
                        ecs.CpuArchitecture.ARM64
                        if architecture is Architecture.ARM64
                        else ecs.CpuArchitecture.X86_64
                    ),
                    fargate_operating_system_family=ecs.OperatingSystemFamily.LINUX,
                    fargate_platform_version=ecs.FargatePlatformVersion.LATEST,
                    ephemeral_storage_size=ephemeral_storage,
                    **common,
                )
            else:
                _check_ec2_size(self, value.vcpus, mib, value.gpus, label)
                definition = batch.EcsEc2ContainerDefinition(
                    self, construct_id, gpu=value.gpus or None, **common
                )
            overrides.append(self._bound(definition, value, label, task=task))
            definitions.append(definition)
        #: The L2 container definition (the first container's with ``containers``).
        self.container = definitions[0]
        #: The L2 container definitions, one per container.
        self.containers = definitions
        self.resource = batch.EcsJobDefinition(
            self,
            "Resource",
            container=definitions[0],
            **self._definition_props(parameters, job_definition_name),
        )
        cfn = self.resource.node.default_child
        assert isinstance(cfn, batch.CfnJobDefinition)
        rendered = [cfn.container_properties, *(self._render(d, i) for i, d in enumerate(definitions[1:], 1))]
        self._public_ip_override = "ContainerProperties.NetworkConfiguration.AssignPublicIp"
        if task:
            check_firelens_routes(self, [log_driver_of(d) for d in definitions], values)
            self._task_properties(cfn, rendered, values)
            self._public_ip_override = "EcsProperties.TaskProperties.0.NetworkConfiguration.AssignPublicIp"
        for index, extra in enumerate(overrides):
            where = f"EcsProperties.TaskProperties.0.Containers.{index}" if task else "ContainerProperties"
            self._override(cfn, where, extra)
        images = [getattr(r, "image", None) for r in rendered]
        self.requirements = JobRequirements(
            platform=platform,
            vcpus=vcpus,
            memory_mib=memory_mib,
            gpus=gpus,
            assign_public_ip=bool(assign_public_ip),
            images=tuple(
                dict.fromkeys(i for i in images if isinstance(i, str) and not Token.is_unresolved(i))
            ),
        )
        self._finish(network)

    def _render(
        self, definition: batch.IEcsContainerDefinition, index: int
    ) -> batch.CfnJobDefinition.ContainerPropertiesProperty:
        """The L2's rendering of a container (image, grants, logging, volumes...): it renders containers only
        inside a job definition, so one is made and removed again."""
        scratch = batch.EcsJobDefinition(self, f"Render{index}", container=definition)
        cfn = scratch.node.default_child
        assert isinstance(cfn, batch.CfnJobDefinition)
        rendered = cfn.container_properties
        self.node.try_remove_child(scratch.node.id)
        return rendered  # type: ignore[return-value]

    def _task_properties(
        self,
        cfn: batch.CfnJobDefinition,
        rendered: Sequence[Any],
        containers: Sequence[Container],
    ) -> None:
        """Replace ``ContainerProperties`` with ``EcsProperties``: one task of every container; the task
        takes the job and execution roles, Fargate settings and the volumes of every container (once)."""
        first = rendered[0]
        volumes = [r.volumes for r in rendered if r.volumes is not None]
        platform = first.fargate_platform_configuration
        task = batch.CfnJobDefinition.EcsTaskPropertiesProperty(
            containers=[task_container(r, c) for r, c in zip(rendered, containers, strict=True)],
            execution_role_arn=first.execution_role_arn,
            task_role_arn=first.job_role_arn,
            volumes=Lazy.uncached_any(_VolumeUnion(volumes), omit_empty_array=True) if volumes else None,
            ephemeral_storage=first.ephemeral_storage,
            network_configuration=first.network_configuration,
            runtime_platform=first.runtime_platform,
            platform_version=getattr(platform, "platform_version", None),
        )
        cfn.container_properties = None
        cfn.ecs_properties = batch.CfnJobDefinition.EcsPropertiesProperty(task_properties=[task])

    def _check_fargate(
        self, vcpus: float, memory_mib: int, gpus: int, ephemeral: Size | None, label: str
    ) -> None:
        """Fargate sizes; ``label`` is "container", or "" for the summed containers of a task."""
        if gpus:
            fail(
                self,
                f"{label or 'containers'}.gpus",
                gpus,
                "Fargate has no GPUs; use platform=Platform.EC2 with a GPU queue",
            )
        if ephemeral is not None and not is_token(ephemeral.to_gibibytes()):
            check_range(self, "ephemeral_storage (GiB)", ephemeral.to_gibibytes(), 21, 200)
        if not label:
            check_fargate_task(self, vcpus, memory_mib)
            return
        if is_token(vcpus) or is_token(memory_mib):
            return
        allowed = FARGATE_MEMORY.get(vcpus)
        if allowed is None:
            fail(
                self,
                "container.vcpus",
                vcpus,
                f"Fargate takes one of {', '.join(f'{v:g}' for v in FARGATE_MEMORY)}",
            )
        elif memory_mib not in allowed:
            fail(
                self,
                "container.memory",
                f"{memory_mib} MiB",
                f"Fargate with {vcpus:g} vCPU takes {allowed.start}-{allowed.stop - 1} MiB "
                f"in steps of {allowed.step}",
            )

    def _on_bind(self, queue: QueueRef) -> JobRequirements:
        reqs = super()._on_bind(queue)
        known = queue.profile.known.values() if queue.profile is not None else ()
        if self._auto_public_ip and any(p.public_subnets and not p.private_egress for p in known):
            # Only a public IP lets a task in public subnets without NAT/endpoints pull its image.
            cfn = self.resource.node.default_child
            assert isinstance(cfn, batch.CfnJobDefinition)
            cfn.add_property_override(self._public_ip_override, "ENABLED")
            reqs = replace(reqs, assign_public_ip=True)
            self.requirements = reqs
        return reqs

    def _unknown_network_warnings(self) -> list[str]:
        found = super()._unknown_network_warnings()
        if self._auto_public_ip and not self._network_known:
            found.insert(
                0,
                "assign_public_ip was left unset, so its Fargate tasks get AssignPublicIp DISABLED and, in "
                "public subnets without NAT or VPC endpoints, can never pull their image; set "
                "assign_public_ip=True/False",
            )
        return found


@dataclass(frozen=True)
class NodeRange:
    """The nodes ``start`` to ``end`` (inclusive) of a multi-node job and the container they run:
    ``NodeRange(main, start=0, end=0), NodeRange(worker, start=1)``.

    :param container: what these nodes run (a :class:`Container`; vCPUs, memory and GPUs per node).
    :param start: the first node index. Default: 0.
    :param end: the last node index. Default: the job's last node (``nodes - 1``).
    """

    container: Container
    start: int = 0
    end: int | None = None


class MultiNodeJobDefinition(BatchJobDefinition):
    """A multi-node parallel (MNP) job: ``nodes`` EC2 instances started together, one the main node.

    It runs only on on-demand EC2 environments created with ``multi_node=True`` (its nodes must reach each
    other) in a network with private egress (``NetworkMode.PRIVATE_WITH_NAT`` or
    ``PRIVATE_WITH_ENDPOINTS``: node network interfaces get no public IP); the fit check rejects other
    queues at synth.
    """

    submit_shape = SubmitShape.NODE

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        container: Container | None = None,
        node_ranges: Sequence[NodeRange] | None = None,
        nodes: int = 2,
        main_node: int = 0,
        instance_type: str | None = None,
        parameters: Mapping[str, str] | None = None,
        job_role: iam.IRole | None = None,
        execution_role: iam.IRole | None = None,
        log_group: logs.ILogGroup | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        timeout: Duration | None = None,
        retry: RetryPolicy | None = None,
        propagate_tags: bool = True,
        scheduling_priority: int | None = None,
        network: BatchNetwork | None = None,
        skip_deregister_on_update: bool = True,
        job_definition_name: str | None = None,
        consumable_resources: Mapping[ConsumableLike, int] | None = None,
    ) -> None:
        """
        :param container: what every node runs (a :class:`Container`; vCPUs, memory and GPUs per node).
            Give this or ``node_ranges``.
        :param node_ranges: different containers for different nodes (a main node and workers, say):
            :class:`NodeRange` values that together cover nodes 0 to ``nodes - 1`` exactly once.
        :param nodes: number of nodes (2-1000); all must be placed at once, so their vCPUs together
            must fit the queue's ``maxv_cpus``. Default: 2.
        :param main_node: index of the main node. Default: 0.
        :param instance_type: pin every node to this instance type (for example ``"c6i.4xlarge"``).
            Default: any type the environment allows.
        :param network: the network the nodes run in, when known here: checked now (it needs private
            egress), and VPC endpoints for secrets and NFS to EFS volumes are added now. Default: decided
            when the definition is bound to a queue of this library's compute.

        The remaining props behave as on :class:`ContainerJobDefinition`.
        """
        super().__init__(
            scope,
            construct_id,
            job_role=job_role,
            log_group=log_group,
            log_retention=log_retention,
            timeout=timeout,
            retry=retry,
            propagate_tags=propagate_tags,
            scheduling_priority=scheduling_priority,
            skip_deregister_on_update=skip_deregister_on_update,
            consumable_resources=consumable_resources,
        )
        check_range(self, "nodes", nodes, MIN_NODES, MAX_NODES)
        if not is_token(main_node) and not 0 <= main_node < nodes:
            fail(self, "main_node", main_node, f"must be a node index between 0 and {nodes - 1}")
        if (container is None) == (node_ranges is None):
            fail(self, "container", container, "give exactly one of container and node_ranges")
        ranges = [NodeRange(container, 0, nodes - 1)] if container is not None else list(node_ranges or [])
        spans = self._check_ranges(ranges, nodes)
        groups = []
        multi = []
        overrides: list[dict[str, Any]] = []
        first: batch.EcsEc2ContainerDefinition | None = None
        for index, (node_range, (start, end)) in enumerate(zip(ranges, spans, strict=True)):
            value = node_range.container
            prop = "container" if container is not None else f"node_ranges[{index}].container"
            memory_mib = _memory_mib(self, value.memory_size, prop)
            _check_ec2_size(self, value.vcpus, memory_mib, value.gpus, prop)
            check_container(self, value, prop, fargate=False, task=False)
            props = self._container_props(value, execution_role, index)
            if first is not None and execution_role is None:
                # One execution role for every range.
                props["execution_role"] = first.execution_role
            definition = batch.EcsEc2ContainerDefinition(
                self, "Container" if index == 0 else f"Container{index}", gpu=value.gpus or None, **props
            )
            overrides.append(self._bound(definition, value, prop, task=False))
            first = first or definition
            multi.append(batch.MultiNodeContainer(container=definition, start_node=start, end_node=end))
            groups.append(
                NodeGroup(end - start + 1, value.vcpus, memory_mib, value.gpus, f"nodes {start}-{end}")
            )
            self._containers.append(value)
        #: The L2 container definition of the first node range (every node, without ``node_ranges``).
        self.container = multi[0].container
        #: The L2 container definitions, one per node range.
        self.containers = [m.container for m in multi]
        self.resource = batch.MultiNodeJobDefinition(
            self,
            "Resource",
            containers=multi,
            main_node=main_node,
            instance_type=ec2.InstanceType(instance_type) if instance_type else None,
            **self._definition_props(parameters, job_definition_name),
        )
        cfn = self.resource.node.default_child
        assert isinstance(cfn, batch.CfnJobDefinition)
        for index, extra in enumerate(overrides):
            self._override(cfn, f"NodeProperties.NodeRangeProperties.{index}.Container", extra)
        # The last range ends at the last node (BK-N3), so "start:" is the same range; an open upper
        # boundary is what lets SubmitJob's nodeOverrides.numNodes resize the job (API_NodeOverrides:
        # "there must be at least one node range in your job definition that has an open upper
        # boundary, such as : or n:"). The L2 always renders "start:end".
        cfn.add_property_override(
            f"NodeProperties.NodeRangeProperties.{len(spans) - 1}.TargetNodes", f"{spans[-1][0]}:"
        )
        self.open_last_node_range = True
        largest = max(groups, key=lambda g: (g.vcpus, g.memory_mib, g.gpus))
        self.requirements = JobRequirements(
            platform=Platform.EC2,
            vcpus=largest.vcpus,
            memory_mib=largest.memory_mib,
            gpus=largest.gpus,
            nodes=nodes,
            instance_type=instance_type,
            node_groups=tuple(groups) if len(groups) > 1 else (),
            images=self._images(),
        )
        self._finish(network)

    def _check_ranges(self, ranges: list[NodeRange], nodes: int) -> list[tuple[int, int]]:
        """BK-N3: the ranges cover 0..nodes-1 once each; returns each range's (start, end)."""
        if not ranges:
            fail(self, "node_ranges", [], "needs at least one node range")
        spans = [(r.start, nodes - 1 if r.end is None else r.end) for r in ranges]
        for start, end in spans:
            if not 0 <= start <= end <= nodes - 1:
                fail(
                    self,
                    "node_ranges",
                    f"nodes {start}-{end}",
                    f"a range must run from a start to an end within nodes 0-{nodes - 1}",
                )
        ordered = sorted(spans)
        for (s1, e1), (s2, e2) in zip(ordered, ordered[1:], strict=False):
            if s2 <= e1:
                fail(self, "node_ranges", f"nodes {s1}-{e1} and {s2}-{e2}", "node ranges overlap")
            if s2 > e1 + 1:
                fail(
                    self,
                    "node_ranges",
                    f"nodes {s1}-{e1} and {s2}-{e2}",
                    f"nodes {e1 + 1}-{s2 - 1} are in no range",
                )
        if ordered[0][0] != 0 or ordered[-1][1] != nodes - 1:
            missing = f"0-{ordered[0][0] - 1}" if ordered[0][0] != 0 else f"{ordered[-1][1] + 1}-{nodes - 1}"
            fail(self, "node_ranges", [f"{s}-{e}" for s, e in spans], f"nodes {missing} are in no range")
        return spans

    def _images(self) -> tuple[str, ...]:
        # The L2 renders its node ranges lazily; they are complete once the constructor has run.
        cfn = self.resource.node.default_child
        assert isinstance(cfn, batch.CfnJobDefinition)
        rendered = Stack.of(self).resolve(cfn.node_properties)
        images: list[str] = []
        for node_range in rendered.get("nodeRangeProperties", []) if isinstance(rendered, dict) else []:
            image = (node_range.get("container") or {}).get("image")
            if isinstance(image, str) and image not in images:
                images.append(image)
        return tuple(images)
