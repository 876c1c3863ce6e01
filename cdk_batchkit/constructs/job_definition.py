"""Job definitions: single-container jobs (EC2 or Fargate) and multi-node parallel jobs, and what every
job definition of this library shares (multi-container tasks: :mod:`.task_job_definition`).

Each definition describes itself as a :class:`~cdk_batchkit.model.JobSpec` and reports what the model's
rules find (``cdk_batchkit.model.rules``: BK-T*, BK-J*, BK-N3, BK-N4, BK-P2, BK-P3, BK-D1); the
constructs only translate props and render.

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
from typing import Any, TypedDict, TypeVar, Unpack

from aws_cdk import Duration, Size, Stack
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from ..model import (
    Architecture,
    ComputeKind,
    ComputeProfile,
    ContainerSpec,
    JobRequirements,
    JobSpec,
    NodeRangeSpec,
    Platform,
    Problem,
    SubmitShape,
    check_fit,
)
from ..model.limits import FARGATE_MEMORY, MAX_ATTEMPTS, MAX_EVALUATE_ON_EXIT
from ..model.rules import (
    check_job,
    efs_network,
    public_ip_undecided,
    registry_credential_reads,
    secret_endpoints,
    secret_services,
)
from ..model.rules.jobs import NEVER_BOUND
from ..model.rules.jobs import job_definition_arn as arn_rule
from ..model.rules.jobs import retry as retry_rule
from ..model.rules.jobs import scheduling_priority as priority_rule
from ..model.rules.jobs import timeout as timeout_rule
from ..model.values import known
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
from ._describe import describe_definition, log_of_rendered, rendered_container
from ._props import expand_props, resolve
from ._validation import (
    adopt,
    at_validation,
    default_child,
    duration,
    fail,
    gibibytes_of,
    node_id,
    node_path,
    report,
    seconds_of,
    service_principal,
    size,
    stack_of,
)
from .consumable import ConsumableLike, cfn_consumables, consumable_requests
from .container_options import LinuxParameters, container_spec, devices_of, log_of
from .encryption import KeyUser, encryption_key, grant_secrets_key, warn_plain_secrets
from .nag import acknowledge
from .network import BatchNetwork
from .storage import lustre_mounts, warn_unchecked_mounts

#: Kept for compatibility of imports: the limits live in :mod:`cdk_batchkit.model.limits`.
MAX_RULES = MAX_EVALUATE_ON_EXIT
__all__ = ["FARGATE_MEMORY", "MAX_ATTEMPTS", "MAX_RULES"]

_SECRET_ENDPOINTS = {
    "secretsmanager": ("SecretsManager", ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER),
    "ssm": ("Ssm", ec2.InterfaceVpcEndpointAwsService.SSM),
}
_NETWORK_WARNING = "batchkit:network-unknown"


@dataclass(frozen=True)
class Container:
    """One ECS container, as a value: pass it to :class:`ContainerJobDefinition` or
    :class:`MultiNodeJobDefinition` (``container=Container(image=..., vcpus=2)``). The containers of a
    multi-container task are :class:`~cdk_batchkit.constructs.TaskContainer` values (a ``Container`` with a
    name, ``essential``, ``depends_on`` and ``firelens``) given to
    :class:`~cdk_batchkit.constructs.EcsTaskJobDefinition`.

    :param image: ``ecs.ContainerImage.from_registry(...)``, ``.from_ecr_repository(repo, tag)`` or
        ``.from_asset(dockerfile_dir)`` (built and pushed by ``cdk deploy``).
    :param vcpus: vCPUs (EC2: whole numbers; Fargate: 0.25, 0.5, 1, 2, 4, 8 or 16). Default: 1.
    :param memory: hard memory limit (Fargate: a valid pair with ``vcpus``). Default: 2 GiB.
    :param gpus: GPUs (EC2 only). Default: 0.
    :param command: the container command; ``Ref::name`` placeholders take job parameters.
        Default: the image's CMD.
    :param environment: environment variables. Default: the image's only.
    :param secrets: environment variables read from Secrets Manager or SSM Parameter Store
        (``batch.Secret.from_secrets_manager(...)`` / ``.from_ssm_parameter(...)``); the execution role
        is granted read access. Default: no secrets.
    :param volumes: volumes to mount, e.g. ``batch.EcsVolume.efs(...)``. Default: no volumes.
    :param readonly_root_filesystem: Default: False.
    :param logging: the log driver (``ecs.LogDriver.aws_logs(...)``, ``.splunk(...)``, ``.generic(...)``
        with ``options`` and ``secret_options``; Fargate: awslogs or splunk). Default: ``awslogs`` into a
        log group the job definition owns, with retention (``log_group``/``log_retention`` on the
        definition).
    :param user: ``user``, ``user:group``, ``uid`` or ``uid:gid``. Default: the image's user.
    :param privileged: root-equivalent access to the host (EC2 only; warns at synth). Default: False.
    :param ulimits: ``batch.Ulimit(name=batch.UlimitName.NOFILE, soft_limit=..., hard_limit=...)``
        (EC2 only; ``-1`` is unlimited, as in ``memlock=-1:-1`` for EFA and MPI). Default: Docker's.
    :param linux_parameters: shared memory, tmpfs, devices, init process, swap: a
        :class:`LinuxParameters`. Default: Docker's (no init process, 64 MiB shared memory, no tmpfs,
        devices or swap settings).
    :param repository_credentials: a Secrets Manager secret (``username``/``password``) for an image in a
        private registry outside ECR; the execution role is granted read on it. Default: the image is
        pulled without credentials (public, or ECR through the execution role).
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

    @property
    def memory_size(self) -> Size:
        return self.memory or size("gibibytes", 2)


#: Retry rules made once per process (a RetryStrategy is an immutable value: sharing one renders the same).
_RULES: dict[str, tuple[batch.RetryStrategy, ...]] = {}


def _catch_all() -> batch.RetryStrategy:
    # A Batch retry strategy retries any failure no rule matches: end with an explicit EXIT.
    if "catch_all" not in _RULES:
        exit_ = batch.RetryStrategy.of(batch.Action.EXIT, batch.Reason.custom(on_status_reason="*"))
        _RULES["catch_all"] = (exit_,)
    return _RULES["catch_all"][0]


def _transient_rules() -> tuple[batch.RetryStrategy, ...]:
    if "transient" not in _RULES:
        _RULES["transient"] = (
            batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.SPOT_INSTANCE_RECLAIMED),
            batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.CANNOT_PULL_CONTAINER),
            batch.RetryStrategy.of(
                batch.Action.RETRY, batch.Reason.custom(on_reason="ResourceInitializationError*")
            ),
            _catch_all(),
        )
    return _RULES["transient"]


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts a job gets and which failures are retried.

    Use the presets: :meth:`transient` (the default), :meth:`none`, or :meth:`custom`.

    :param attempts: attempts per job (1-10), the first included.
    :param rules: the ``evaluateOnExit`` rules in order (at most 5; the presets end with a catch-all EXIT).
        Default: none (every failure is retried until ``attempts`` run out).
    """

    attempts: int
    rules: tuple[batch.RetryStrategy, ...] = field(default_factory=tuple)

    @staticmethod
    def transient(attempts: int = 3) -> RetryPolicy:
        """Retry Spot reclaims (``Host EC2*``) and transient image pulls / task start-up errors;
        any other failure exits at once."""
        return RetryPolicy(attempts, _transient_rules())

    @staticmethod
    def none() -> RetryPolicy:
        """One attempt, no retries."""
        return RetryPolicy(1)

    @staticmethod
    def custom(attempts: int, *rules: batch.RetryStrategy) -> RetryPolicy:
        """Your own rules (at most 4, since a catch-all EXIT is appended as the fifth)."""
        return RetryPolicy(attempts, (*rules, _catch_all()))


class JobDefinitionProps(TypedDict, total=False):
    """The props every job definition of this library takes (:class:`ContainerJobDefinition`,
    :class:`MultiNodeJobDefinition`, :class:`~cdk_batchkit.constructs.EcsTaskJobDefinition`,
    :class:`~cdk_batchkit.constructs.EksJobDefinition`): parameters, the run policy (timeout, retries,
    fair-share priority), revisions and the physical name."""

    parameters: Mapping[str, str] | None
    """Default values for the ``Ref::name`` placeholders of the command (a submission's parameters
    override them). Default: no parameters."""
    timeout: Duration | None
    """Attempt timeout (at least 60 s): Batch terminates an attempt that runs longer. Default: 24 hours, so
    a hung job cannot run (and bill) forever."""
    retry: RetryPolicy | None
    """How many attempts a job gets and which failures are retried (:class:`RetryPolicy`). Default:
    ``RetryPolicy.transient()``: 3 attempts; Spot reclaims, transient image pulls and task start-up errors
    are retried, any other failure exits at once."""
    scheduling_priority: int | None
    """Fair-share scheduling priority of its jobs (0-9999, higher first; only used on queues with a
    fair-share policy). Default: none in the definition (a submission may still set
    ``schedulingPriorityOverride``)."""
    skip_deregister_on_update: bool
    """Keep previous revisions ACTIVE when the definition changes, so submits by an older revision ARN (a
    running workflow, a queued retry) still work; clean them up as the README shows. Default: True
    (CloudFormation's own behaviour, deregistering them, is False)."""
    job_definition_name: str | None
    """Physical name. Default: a name CloudFormation generates (a fixed name blocks replacement)."""


class EcsJobDefinitionProps(JobDefinitionProps, total=False):
    """The props of every ECS job definition (:class:`ContainerJobDefinition`,
    :class:`MultiNodeJobDefinition`, :class:`~cdk_batchkit.constructs.EcsTaskJobDefinition`), besides
    :class:`JobDefinitionProps`: roles, logs, tags, consumable resources and the network."""

    job_role: iam.IRole | None
    """The role the job's code runs as (every container of the task). Default: a new role with no
    permissions (``.job_role``: grant your job's permissions to it)."""
    execution_role: iam.IRole | None
    """The role Batch/ECS uses to pull the images, read secrets and write logs (one for the whole
    definition). Default: a new role with exactly those grants."""
    log_group: logs.ILogGroup | None
    """Where containers that bring no ``logging`` of their own send stdout and stderr. Default: a new log
    group owned by this definition, with ``log_retention`` (and the :class:`BatchEncryption` key, if any)."""
    log_retention: logs.RetentionDays
    """Retention of the new log group. Default: one month."""
    propagate_tags: bool
    """Propagate job and definition tags to the ECS task (SubmitJob then needs ``batch:TagResource`` when
    tags are sent; the grants include it). Default: True."""
    consumable_resources: Mapping[ConsumableLike, int] | None
    """Consumable resources each job holds while it runs, ``{ConsumableResource (or
    batch.IConsumableResource): quantity}`` (at most 5; a quantity above the resource's total fails synth).
    Submitting is granted on them. Default: jobs hold no consumable resource."""
    network: BatchNetwork | None
    """The network the jobs run in, when known here: the public IP (Fargate), VPC endpoints for secrets and
    NFS to EFS volumes are decided now, and the definition is checked against it (a multi-node definition
    needs private egress). Default: decided when the definition is bound to a queue of this library's
    compute (a synth warning when it never is)."""


class TaskPlatformProps(EcsJobDefinitionProps, total=False):
    """The props of the ECS job definitions whose tasks may run on Fargate (:class:`ContainerJobDefinition`,
    :class:`~cdk_batchkit.constructs.EcsTaskJobDefinition`), besides :class:`EcsJobDefinitionProps`."""

    assign_public_ip: bool | None
    """Fargate only: give the task a public IP. Default: enabled when ``network`` (or the network of a queue
    the definition is bound to) is public subnets without NAT or endpoints (the only way the task can pull
    its image there), disabled otherwise; a synth warning when the network is never known."""
    architecture: Architecture
    """Fargate (and ECS Managed Instances, for a task): x86_64 or ARM64 (Graviton), rendered as the task's
    runtime platform. Default: x86_64."""
    ephemeral_storage: Size | None
    """Fargate only: the task's ephemeral storage, 21-200 GiB. Default: Fargate's 20 GiB."""


@dataclass(frozen=True)
class JobDefinitionOptions:
    """:class:`JobDefinitionProps` with their defaults applied."""

    parameters: Mapping[str, str] | None = None
    timeout: Duration | None = None
    retry: RetryPolicy | None = None
    scheduling_priority: int | None = None
    skip_deregister_on_update: bool = True
    job_definition_name: str | None = None

    @classmethod
    def of(cls: type[_O], owner: Construct, props: Mapping[str, Any]) -> _O:
        """The options of ``owner``'s ``**props`` (``TypeError`` for a keyword that is not a prop)."""
        return resolve(owner, cls, props)


@dataclass(frozen=True)
class EcsJobDefinitionOptions(JobDefinitionOptions):
    """:class:`EcsJobDefinitionProps` with their defaults applied."""

    job_role: iam.IRole | None = None
    execution_role: iam.IRole | None = None
    log_group: logs.ILogGroup | None = None
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH
    propagate_tags: bool = True
    consumable_resources: Mapping[ConsumableLike, int] | None = None
    network: BatchNetwork | None = None


@dataclass(frozen=True)
class TaskPlatformOptions(EcsJobDefinitionOptions):
    """:class:`TaskPlatformProps` with their defaults applied."""

    assign_public_ip: bool | None = None
    architecture: Architecture = Architecture.X86_64
    ephemeral_storage: Size | None = None


_O = TypeVar("_O", bound=JobDefinitionOptions)


def run_policy(
    scope: Construct, timeout: Duration | None, retry: RetryPolicy | None, scheduling_priority: int | None
) -> tuple[Duration, RetryPolicy]:
    """The timeout (default 24 h) and retry policy (default :meth:`RetryPolicy.transient`) of a job
    definition, checked as Batch checks them (BK-J1, BK-J2, BK-J6: the model's rules)."""
    timeout = timeout if timeout is not None else duration("hours", 24)
    retry = retry or RetryPolicy.transient()
    policy = JobSpec(
        platform=Platform.EC2,
        attempts=known(retry.attempts),
        retry_rules=len(retry.rules),
        timeout_seconds=known(seconds_of(timeout)),
        scheduling_priority=known(scheduling_priority),
    )
    report(scope, [*timeout_rule(policy), *retry_rule(policy), *priority_rule(policy)])
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
    #: Multi-node: a node range is rendered open (``n:``), so submissions may set numNodes.
    open_last_node_range: bool = False
    #: ECS_TASK / EKS: the container that receives per-submission overrides (None: the only one).
    override_container: str | None = None
    #: The ARNs of the consumable resources each job requests.
    consumable_arns: tuple[str, ...] = ()
    #: The definition as the rules see it (None: not known, an imported one).
    job_spec: JobSpec | None = None
    #: What the rules found in a definition made elsewhere (an L2 one): every consumer reports them.
    described_problems: tuple[Problem, ...] = ()

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        adopt(self, scope, construct_id)  # its parent, path and stack known in Python

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
            problems=self.described_problems,
            spec=self.job_spec,
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
        job_spec: JobSpec | None = None,
        problems: Sequence[Problem] = (),
    ) -> None:
        """
        :param job_definition: the L2 job definition (give it or ``job_definition_arn``). Default: none
            (``job_definition_arn`` names it).
        :param job_definition_arn: ``arn:PARTITION:batch:REGION:ACCOUNT:job-definition/NAME[:REVISION]`` (a
            name or another resource's ARN fails synth, BK-J8). Default: none (``job_definition`` is it).
        :param requirements: what the job needs (:class:`JobRequirements`). Default: unknown, so the fit
            checks are skipped with a synth warning.
        :param propagate_tags: whether the definition propagates tags (submit grants then include
            ``batch:TagResource``). Default: False.
        :param submit_shape: which SubmitJob override field it takes. Default: ``SubmitShape.CONTAINER`` (a
            single-container ECS definition).
        :param override_container: the container (by name) that receives per-submission overrides (required
            for ``ECS_TASK``). Default: the only container.
        :param job_spec: the definition as the rules see it (a :class:`JobSpec`, e.g. from
            ``JobSpec.from_api``). Default: unknown (its containers are not checked).
        :param problems: what the rules found in it, reported wherever it is bound, granted or submitted.
            Default: none found.
        """
        super().__init__(scope, construct_id)
        if (job_definition is None) == (job_definition_arn is None):
            fail(self, "job_definition", job_definition_arn, "give exactly one of job_definition and its ARN")
        if job_definition_arn is not None:
            # BK-J8: a name or a queue's ARN would make a submit grant and every SubmitJob fail.
            report(self, arn_rule(job_definition_arn))
        #: The L2 job definition.
        self.resource = job_definition or batch.EcsJobDefinition.from_job_definition_arn(
            self, "Resource", str(job_definition_arn)
        )
        #: What the job needs; None skips the fit checks (with a synth warning).
        self.requirements = requirements
        self.propagate_tags = propagate_tags
        self.submit_shape = submit_shape
        self.override_container = override_container
        self.job_spec = job_spec
        self.described_problems = tuple(problems)


class BatchJobDefinition(JobDefinitionBase):
    """Base of the job definition constructs: shared logging, roles, retries, fit and grants.

    Each construct describes itself as a :class:`~cdk_batchkit.model.JobSpec` (``job_spec``) and reports
    what the model's rules find (:func:`~cdk_batchkit.model.rules.check_job`): once from its props, and
    once more when the L2 has bound what only it knows (log drivers, images). ``requirements`` is None when
    a size is not known at synth (a token): the fit check is then skipped with a synth warning.
    """

    def __init__(self, scope: Construct, construct_id: str, options: EcsJobDefinitionOptions) -> None:
        """
        :param options: the definition's props with their defaults applied (an
            :class:`EcsJobDefinitionOptions`, from the subclass's ``**props``).
        """
        super().__init__(scope, construct_id)
        self._options = options
        # BK-R1/BK-R2: checked now, rendered once the L2 exists (_finish).
        self.consumable_arns, self._consumables = consumable_requests(
            self, "consumable_resources", options.consumable_resources
        )
        #: Whether previous revisions stay ACTIVE when the definition is updated (CloudFormation otherwise
        #: deregisters the previous revision, and submits by its ARN fail).
        self.skip_deregister_on_update = options.skip_deregister_on_update
        self._containers: list[Container] = []
        self._reported: list[Problem] = []
        # Network facts: whether the network is known (bound to a queue of known compute, or network=),
        # and the networks completed (endpoints, NFS) so far.
        self._network_known = False
        self._completed: list[BatchNetwork] = []
        self._efs_grants: list[batch.EfsVolume] = []
        at_validation(self, self._warn_unknown_network)
        #: The role the job's code runs as (separate from the execution role that pulls images,
        #: reads secrets and writes logs). Grant your job's permissions to it.
        self.job_role: iam.IRole = options.job_role or iam.Role(
            self,
            "JobRole",
            assumed_by=service_principal("ecs-tasks.amazonaws.com"),
            description="Batch job role",
        )
        self._log_group = options.log_group
        self._log_retention = options.log_retention
        self.timeout, self.retry = run_policy(
            self, options.timeout, options.retry, options.scheduling_priority
        )
        self.propagate_tags = options.propagate_tags
        self.scheduling_priority = options.scheduling_priority

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
        """A job definition defined elsewhere, by ARN (``arn:PARTITION:batch:REGION:ACCOUNT:job-definition/
        NAME[:REVISION]``; a name or another resource's ARN fails synth, BK-J8). ``requirements``
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
        app (``batch.EcsJobDefinition``, ``MultiNodeJobDefinition``, ``EksJobDefinition``), whose
        containers the rules check too (reported where it is bound, submitted or granted)."""
        described = definition_ref(job_definition)
        return ImportedJobDefinition(
            scope,
            construct_id,
            job_definition=job_definition,
            requirements=requirements or described.requirements,
            propagate_tags=described.propagate_tags,
            submit_shape=described.shape,
            override_container=described.override_container,
            job_spec=describe_definition(job_definition)[0],
            problems=described.problems,
        )

    @property
    def log_group(self) -> logs.ILogGroup | None:
        """Where the job's stdout/stderr go (None when the container brings its own ``logging``)."""
        return self._log_group

    # -- the model: what the rules see -----------------------------------------------------------------
    def _spec(self, platform: Platform, **fields: Any) -> JobSpec:
        """This definition as the rules see it: the run policy and ``fields`` (the shape, containers...)."""
        return JobSpec(
            platform=platform,
            attempts=known(self.retry.attempts),
            retry_rules=len(self.retry.rules),
            timeout_seconds=known(seconds_of(self.timeout)),
            scheduling_priority=known(self.scheduling_priority),
            consumables=self._consumables,
            propagate_tags=self.propagate_tags,
            keeps_revisions=self.skip_deregister_on_update,
            job_role=True,
            label=node_path(self),
            **fields,
        )

    def _check(self, spec: JobSpec) -> None:
        """Report what the rules find in ``spec`` (a problem already reported is not reported again)."""
        self.job_spec = spec
        new = [p for p in check_job(spec) if p not in self._reported]
        self._reported.extend(new)
        report(self, new)

    def _container_spec(
        self,
        container: Container,
        definition: Any = None,
        image: Any = None,
        *,
        rendered: Mapping[str, Any] | None = None,
    ) -> ContainerSpec:
        """``container`` as the rules see it; with its L2 ``definition``, the log driver it bound; with the
        container as the L2 ``rendered`` it (:func:`~._describe.rendered_container`), its image and log
        configuration read from that (no further round trip)."""
        if rendered:
            image = rendered.get("image")
            log = log_of_rendered(rendered)
        else:
            log = log_of(definition) if definition is not None else (None, {})
        return container_spec(
            container,
            log=log,
            image=image if isinstance(image, str) and known(image) is not None else None,
            secret_sources=self._secret_sources(container),
        )

    def _secret_sources(self, container: Container) -> tuple[str, ...]:
        """Where each secret of ``container`` (and its registry credentials) is read from."""
        sources = []
        if container.repository_credentials is not None:
            sources.append("secretsmanager")
        for secret in container.secrets.values():
            text = " ".join(_strings(stack_of(self).resolve(secret.arn)))
            sources.append("ssm" if ":ssm:" in text else "secretsmanager")
        return tuple(sources)

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
            logging = ecs.LogDriver.aws_logs(stream_prefix=node_id(self), log_group=self._log_group)
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
        self, definition: batch.IEcsContainerDefinition, container: Container, *, reads_credentials: bool
    ) -> dict[str, Any]:
        """After the L2 container definition exists: acknowledge the ECR login, grant read on its registry
        credentials (BK-T6); returns what the L2 cannot render, as property overrides relative to the
        rendered container."""
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
            if reads_credentials:
                secret.grant_read(definition.execution_role)
            overrides["RepositoryCredentials.CredentialsParameter"] = secret.secret_arn
        return overrides

    @staticmethod
    def _override(cfn: batch.CfnJobDefinition, prefix: str, overrides: Mapping[str, Any]) -> None:
        for path, value in overrides.items():
            cfn.add_property_override(f"{prefix}.{path}", value)

    def _definition_props(self) -> dict[str, Any]:
        """Props shared by the L2 job definitions: retries, timeout, tags, parameters, name."""
        parameters, name = self._options.parameters, self._options.job_definition_name
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
        assert self.job_spec is not None
        if self._consumables:
            # The L2 job definitions have no consumable resources: set the L1 property.
            cfn = default_child(self.resource)
            assert isinstance(cfn, batch.CfnJobDefinition)
            cfn.consumable_resource_properties = cfn_consumables(self.consumable_arns, self._consumables)
        volumes = [v for c in self._containers for v in c.volumes]
        mounts = lustre_mounts(self, volumes, self.job_spec.platform)
        self.job_spec = replace(self.job_spec, shared_mounts=mounts)
        self.requirements = self.job_spec.requirements()
        for volume in self._efs_volumes():
            self._grant_efs(volume)
        # With a BatchEncryption key: secrets encrypted with it are readable; plain "secrets" warn (BK-X5).
        grant_secrets_key(self, any(c.secrets for c in self._containers))
        warn_plain_secrets(self, [name for c in self._containers for name in c.environment])
        if network is not None:
            self._network_known = True
            platform = self.job_spec.platform
            kind = ComputeKind.FARGATE if platform is Platform.FARGATE else ComputeKind.EC2
            if platform is Platform.MANAGED_INSTANCES:
                kind = ComputeKind.ECS_MANAGED_INSTANCES
            profile = ComputeProfile(
                kind=kind,
                architecture=None,
                public_subnets=network.public_subnets,
                private_egress=network.private_egress,
                internet=network.internet,
            )
            where = node_path(network)
            result = check_fit(self.requirements, [(where, profile)]) if self.requirements else None
            if result is not None and not result.fits:
                fail(self, "network", where, "; ".join(result.problems))
            self._complete([network], (), where)

    def _efs_volumes(self) -> list[batch.EfsVolume]:
        return [v for c in self._containers for v in c.volumes if isinstance(v, batch.EfsVolume)]

    def _secret_services(self) -> tuple[str, ...]:
        """``secretsmanager`` and/or ``ssm``: the services the containers' secrets are read from."""
        return secret_services(self.job_spec) if self.job_spec is not None else ()

    def _grant_efs(self, volume: batch.EfsVolume) -> None:
        # https://docs.aws.amazon.com/efs/latest/ug/iam-access-control-nfs-efs.html
        actions = ["elasticfilesystem:ClientMount"]
        if not volume.readonly:
            actions.append("elasticfilesystem:ClientWrite")
        conditions = None
        if volume.access_point_id is not None:
            access_point = stack_of(volume.file_system).format_arn(
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
        """Add what the job needs to ``networks`` (BK-P2, BK-P3); warn about what cannot be done for
        ``unknown``."""
        services = self._secret_services()
        volumes = self._efs_volumes()
        for network in networks:
            if any(network is done for done in self._completed):
                continue
            self._completed.append(network)
            for service in services:
                name, endpoint = _SECRET_ENDPOINTS[service]
                network.add_interface_endpoint(name, endpoint)
            for volume in volumes:
                volume.file_system.connections.allow_from(
                    network.security_group, ec2.Port.tcp(2049), "NFS from Batch compute"
                )
        if unknown and self.job_spec is not None:
            why = f"on {where}: the network of {', '.join(unknown)} is unknown"
            report(
                self,
                [*efs_network(self.job_spec, unknown=why), *secret_endpoints(self.job_spec, unknown=why)],
            )

    def _on_bind(self, queue: QueueRef) -> JobRequirements:
        assert self.requirements is not None  # bind() calls it only when the requirements are known
        if queue.profile is not None and queue.profile.known:
            self._network_known = True
        if queue.profile is not None:
            warn_unchecked_mounts(self, self.requirements, queue.profile, queue.label)
        self._complete(queue.networks, queue.unknown_networks, queue.label)
        return self.requirements

    def _warn_unknown_network(self) -> None:
        """At validation (the tree is final): warn when what depends on the network was never decided."""
        report(self, self._unknown_network_warnings())

    def _unknown_network_warnings(self) -> list[Problem]:
        """Warnings for a definition whose network was never known (see :meth:`_warn_unknown_network`)."""
        if self._network_known or self._completed or self.job_spec is None:
            return []
        return [
            *public_ip_undecided(self.job_spec, network_known=False),
            *efs_network(self.job_spec, unknown=NEVER_BOUND),
            *secret_endpoints(self.job_spec, unknown=NEVER_BOUND),
        ]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


class EcsJobDefinitionBase(BatchJobDefinition):
    """ECS job definitions whose tasks may run on Fargate (one container, or a multi-container task): the
    public IP decided from the network (BK-F7) or warned about (BK-N4)."""

    _auto_public_ip = False
    _public_ip_override = "ContainerProperties.NetworkConfiguration.AssignPublicIp"

    def _decide_public_ip(
        self, fargate: bool, assign_public_ip: bool | None, network: BatchNetwork | None
    ) -> bool | None:
        """The public IP to render now (None: left to the network, decided when bound)."""
        self._auto_public_ip = fargate and assign_public_ip is None
        if self._auto_public_ip and network is not None:
            # Decided here: only a public IP lets a task in public subnets without NAT/endpoints pull.
            self._auto_public_ip = False
            return network.public_subnets and not network.private_egress
        return assign_public_ip

    def _task_fields(self, platform: Platform, options: TaskPlatformOptions, **fields: Any) -> dict[str, Any]:
        """The :class:`JobSpec` fields of a task that may run on Fargate (or ECS Managed Instances): the
        public IP as decided now (sets ``_public_ip``), the architecture, the storage and the parameters."""
        fargate = platform is Platform.FARGATE
        self._public_ip = self._decide_public_ip(fargate, options.assign_public_ip, options.network)
        architecture = options.architecture
        platform_decides = fargate or platform is Platform.MANAGED_INSTANCES
        return dict(
            assign_public_ip=self._public_ip if (not fargate or not self._auto_public_ip) else None,
            architecture=architecture
            if (platform_decides or architecture is not Architecture.X86_64)
            else None,
            ephemeral_storage_gib=_gib(options.ephemeral_storage),
            parameters=tuple(options.parameters or ()),
            **fields,
        )

    def _l2_container(
        self,
        construct_id: str,
        container: Container,
        execution_role: iam.IRole | None,
        index: int,
        platform: Platform,
    ) -> batch.IEcsContainerDefinition:
        """The L2 container definition of ``container`` (the ``index``-th of the task): Fargate's, with the
        public IP decided by :meth:`_task_fields`, the architecture and the storage; else EC2's."""
        options = self._options
        assert isinstance(options, TaskPlatformOptions)
        fargate = platform is Platform.FARGATE
        common = self._container_props(container, execution_role, index, ec2=not fargate)
        if not fargate:
            return batch.EcsEc2ContainerDefinition(self, construct_id, gpu=container.gpus or None, **common)
        arm = options.architecture is Architecture.ARM64
        return batch.EcsFargateContainerDefinition(
            self,
            construct_id,
            assign_public_ip=bool(self._public_ip),
            fargate_cpu_architecture=ecs.CpuArchitecture.ARM64 if arm else ecs.CpuArchitecture.X86_64,
            fargate_operating_system_family=ecs.OperatingSystemFamily.LINUX,
            fargate_platform_version=ecs.FargatePlatformVersion.LATEST,
            ephemeral_storage_size=options.ephemeral_storage,
            **common,
        )

    def _on_bind(self, queue: QueueRef) -> JobRequirements:
        reqs = super()._on_bind(queue)
        known_envs = queue.profile.known.values() if queue.profile is not None else ()
        if self._auto_public_ip and any(p.public_subnets and not p.private_egress for p in known_envs):
            # Only a public IP lets a task in public subnets without NAT/endpoints pull its image.
            cfn = default_child(self.resource)
            assert isinstance(cfn, batch.CfnJobDefinition)
            cfn.add_property_override(self._public_ip_override, "ENABLED")
            reqs = replace(reqs, assign_public_ip=True)
            self.requirements = reqs
            if self.job_spec is not None:
                self.job_spec = replace(self.job_spec, assign_public_ip=True)
        return reqs

    def _unknown_network_warnings(self) -> list[Problem]:
        found = super()._unknown_network_warnings()
        if not self._auto_public_ip:
            # Given or decided: BK-N4 has nothing to say.
            found = [p for p in found if p.rule != "BK-N4"]
        return found


class ContainerJobDefinition(EcsJobDefinitionBase):
    """A single-container job for EC2 or Fargate compute environments (``containerProperties``).

    Several containers in one task (sidecars, a FireLens router), and jobs for ECS Managed Instances, are
    :class:`~cdk_batchkit.constructs.EcsTaskJobDefinition`.

    Attributes: ``resource`` (the L2 ``batch.EcsJobDefinition``), ``container`` (its L2 container
    definition), ``job_role``, ``log_group``, ``timeout``, ``retry``, ``requirements``, ``job_spec``.
    """

    @expand_props(TaskPlatformOptions)
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        container: Container,
        platform: Platform = Platform.EC2,
        **props: Unpack[TaskPlatformProps],
    ) -> None:
        """
        :param container: the container (image, vCPUs, memory, GPUs, command, environment, secrets,
            volumes, logging, Linux options...): a :class:`Container`.
        :param platform: EC2 or FARGATE (ECS Managed Instances take multi-container definitions only:
            :class:`~cdk_batchkit.constructs.EcsTaskJobDefinition`). Default: EC2.
        :param props: the props of every ECS definition whose task may run on Fargate
            (:class:`TaskPlatformProps`): ``parameters``, ``timeout``, ``retry``, ``scheduling_priority``,
            ``skip_deregister_on_update``, ``job_definition_name``, ``job_role``, ``execution_role``,
            ``log_group``, ``log_retention``, ``propagate_tags``, ``consumable_resources``, ``network``,
            ``assign_public_ip``, ``architecture``, ``ephemeral_storage``.
        """
        options = TaskPlatformOptions.of(self, props)
        super().__init__(scope, construct_id, options)
        if type(container).__name__ == "TaskContainer":
            fail(
                self,
                "container",
                getattr(container, "name", None),
                "a TaskContainer belongs to a multi-container task: use "
                "EcsTaskJobDefinition(containers=[...])",
            )
        if platform not in (Platform.EC2, Platform.FARGATE, Platform.MANAGED_INSTANCES):
            fail(self, "platform", platform.value, "a container job runs on EC2 or FARGATE")
        self._containers = [container]
        spec_fields = self._task_fields(platform, options, shape=SubmitShape.CONTAINER)
        # Every rule that the props alone decide, before any L2 exists (the L2s raise their own errors).
        self._check(self._spec(platform, containers=(self._container_spec(container),), **spec_fields))
        definition = self._l2_container("Container", container, options.execution_role, 0, platform)
        #: The L2 container definition.
        self.container = definition
        self.resource = batch.EcsJobDefinition(
            self, "Resource", container=definition, **self._definition_props()
        )
        adopt(self.resource, self, "Resource")
        cfn = default_child(self.resource)
        assert isinstance(cfn, batch.CfnJobDefinition)
        rendered = rendered_container(cfn)
        # Again with what the L2 bound: the log driver and the image.
        spec = self._spec(
            platform,
            containers=(self._container_spec(container, definition, rendered=rendered),),
            **spec_fields,
        )
        self._check(spec)
        reads = registry_credential_reads(spec)
        self._override(
            cfn, "ContainerProperties", self._bound(definition, container, reads_credentials=bool(reads))
        )
        self._finish(options.network)


def _gib(size: Size | None) -> float | None:
    return None if size is None else known(gibibytes_of(size))


@dataclass(frozen=True)
class NodeRange:
    """The nodes ``start`` to ``end`` (inclusive) of a multi-node job and the container they run:
    ``NodeRange(main, start=0, end=0), NodeRange(worker, start=1)``.

    Ranges may be given in any order and may nest (``NodeRange(a, 0), NodeRange(b, 2, 3)``: nodes 2-3 run
    ``b``, the inner range overriding the outer one, as Batch does).

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

    @expand_props(EcsJobDefinitionOptions)
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
        **props: Unpack[EcsJobDefinitionProps],
    ) -> None:
        """
        :param container: what every node runs (a :class:`Container`; vCPUs, memory and GPUs per node).
            Give this or ``node_ranges``. Default: none (then ``node_ranges`` says what each node runs).
        :param node_ranges: different containers for different nodes (a main node and workers, say):
            :class:`NodeRange` values that together cover nodes 0 to ``nodes - 1``, apart or nested (the
            inner range overrides the outer one). The range that ends at the last node and starts highest
            is rendered open (``start:``), so ``Step(num_nodes=...)`` gives extra nodes its container.
            Default: none (then every node runs ``container``).
        :param nodes: number of nodes (2-1000); all must be placed at once, so their vCPUs together
            must fit the queue's ``maxv_cpus``. Default: 2.
        :param main_node: index of the main node. Default: 0.
        :param instance_type: pin every node to this instance type (for example ``"c6i.4xlarge"``).
            Default: any type the environment allows.
        :param props: the props of every ECS definition (:class:`EcsJobDefinitionProps`): ``parameters``,
            ``timeout``, ``retry``, ``scheduling_priority``, ``skip_deregister_on_update``,
            ``job_definition_name``, ``job_role``, ``execution_role``, ``log_group``, ``log_retention``,
            ``propagate_tags``, ``consumable_resources``, ``network`` (the nodes need private egress).
        """
        options = EcsJobDefinitionOptions.of(self, props)
        super().__init__(scope, construct_id, options)
        execution_role = options.execution_role
        if (container is None) == (node_ranges is None):
            fail(self, "container", container, "give exactly one of container and node_ranges")
        given = [NodeRange(container, 0, nodes - 1)] if container is not None else list(node_ranges or [])
        for value in [r.container for r in given]:
            if type(value).__name__ == "TaskContainer":
                fail(self, "node_ranges", getattr(value, "name", None), "a node range runs a Container")
        labels = (
            ("container",)
            if container is not None
            else tuple(f"node_ranges[{i}].container" for i in range(len(given)))
        )
        spec_fields = dict(
            shape=SubmitShape.NODE,
            num_nodes=known(nodes),
            main_node=known(main_node),
            instance_type=instance_type,
            container_props=labels,
            parameters=tuple(options.parameters or ()),
        )

        def ranges(containers: Sequence[ContainerSpec], open_index: int | None) -> tuple[NodeRangeSpec, ...]:
            return tuple(
                NodeRangeSpec(
                    r.start,
                    None if i == open_index else (r.end if r.end is not None else nodes - 1),
                    c,
                    (instance_type,) if instance_type else (),
                )
                for i, (r, c) in enumerate(zip(given, containers, strict=True))
            )

        first = [self._container_spec(r.container) for r in given]
        # BK-J5, BK-N3 and every container rule, before any L2 exists.
        self._check(self._spec(Platform.EC2, node_ranges=ranges(first, None), **spec_fields))
        # The range that ends at the last node and starts highest is rendered open (BK-N3).
        assert self.job_spec is not None
        open_index = self.job_spec.open_range()
        multi = []
        definitions: list[batch.EcsEc2ContainerDefinition] = []
        for index, node_range in enumerate(given):
            value = node_range.container
            # One execution role for every range.
            role = execution_role or (definitions[0].execution_role if definitions else None)
            definition = batch.EcsEc2ContainerDefinition(
                self,
                "Container" if index == 0 else f"Container{index}",
                gpu=value.gpus or None,
                **self._container_props(value, role, index),
            )
            definitions.append(definition)
            multi.append(
                batch.MultiNodeContainer(
                    container=definition,
                    start_node=node_range.start,
                    end_node=node_range.end if node_range.end is not None else nodes - 1,
                )
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
            **self._definition_props(),
        )
        adopt(self.resource, self, "Resource")
        cfn = self.resource.node.default_child
        assert isinstance(cfn, batch.CfnJobDefinition)
        images = self._images()
        bound = [
            self._container_spec(r.container, d, images[i] if i < len(images) else None)
            for i, (r, d) in enumerate(zip(given, definitions, strict=True))
        ]
        spec = self._spec(Platform.EC2, node_ranges=ranges(bound, open_index), **spec_fields)
        self._check(spec)
        reads = set(registry_credential_reads(spec))
        for index, (node_range, definition) in enumerate(zip(given, definitions, strict=True)):
            extra = self._bound(definition, node_range.container, reads_credentials=labels[index] in reads)
            self._override(cfn, f"NodeProperties.NodeRangeProperties.{index}.Container", extra)
        if open_index is not None:
            # An open upper boundary is what lets SubmitJob's nodeOverrides.numNodes resize the job
            # (API_NodeOverrides: "there must be at least one node range in your job definition that has an
            # open upper boundary, such as : or n:"); the one that ends at the last node and starts highest
            # covers the same nodes open, and extra nodes get its container. The L2 renders "start:end".
            cfn.add_property_override(
                f"NodeProperties.NodeRangeProperties.{open_index}.TargetNodes", f"{given[open_index].start}:"
            )
            self.open_last_node_range = True
        self._finish(options.network)

    def _images(self) -> list[str | None]:
        """The image of each node range as rendered (None for a token), in the order given."""
        # The L2 renders its node ranges lazily; they are complete once the constructor has run.
        cfn = default_child(self.resource)
        assert isinstance(cfn, batch.CfnJobDefinition)
        rendered = Stack.of(self).resolve(cfn.node_properties)
        images: list[str | None] = []
        for node_range in rendered.get("nodeRangeProperties", []) if isinstance(rendered, dict) else []:
            image = (node_range.get("container") or {}).get("image")
            images.append(image if isinstance(image, str) and known(image) is not None else None)
        return images
