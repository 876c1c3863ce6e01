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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aws_cdk import Duration, Fn, Size, Stack
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from ._validation import check_range, check_seconds, fail, is_token
from .fit import JobRequirements, Platform
from .instance_catalog import Architecture
from .nag import acknowledge, resource_finding

if TYPE_CHECKING:
    from .queue import JobQueue

MAX_ATTEMPTS = 10
MAX_RULES = 5

# Fargate's valid vCPU -> memory (MiB) choices.
FARGATE_MEMORY: dict[float, range] = {
    0.25: range(512, 2049, 512),
    0.5: range(1024, 4097, 1024),
    1: range(2048, 8193, 1024),
    2: range(4096, 16385, 1024),
    4: range(8192, 30721, 1024),
    8: range(16384, 61441, 4096),
    16: range(32768, 122881, 8192),
}


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


class BatchJobDefinition(Construct):
    """Base of the job definition constructs: shared logging, roles, retries, fit and grants."""

    resource: batch.IJobDefinition
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
    ) -> None:
        super().__init__(scope, construct_id)
        #: The role the job's code runs as (separate from the execution role that pulls images,
        #: reads secrets and writes logs). Grant your job's permissions to it.
        self.job_role: iam.IRole = job_role or iam.Role(
            self,
            "JobRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description="Batch job role",
        )
        #: Where the job's stdout/stderr go.
        self.log_group: logs.ILogGroup = log_group or logs.LogGroup(self, "LogGroup", retention=log_retention)
        self.timeout = timeout if timeout is not None else Duration.hours(24)
        # Batch rejects attempt timeouts under 60 s.
        check_seconds(self, "timeout", self.timeout, 60, None)
        self.retry = retry or RetryPolicy.transient()
        check_range(self, "retry.attempts", self.retry.attempts, 1, MAX_ATTEMPTS)
        if len(self.retry.rules) > MAX_RULES:
            fail(
                self,
                "retry.rules",
                len(self.retry.rules),
                f"Batch allows at most {MAX_RULES} evaluateOnExit rules",
            )
        if self.retry.rules and self.retry.attempts < 2:
            fail(self, "retry.attempts", self.retry.attempts, "retry rules never fire with a single attempt")
        self.propagate_tags = propagate_tags
        self._queues: list[JobQueue] = []

    def _container_props(
        self,
        *,
        image: ecs.ContainerImage,
        vcpus: float,
        memory: Size,
        command: Sequence[str] | None,
        environment: Mapping[str, str] | None,
        secrets: Mapping[str, batch.Secret] | None,
        volumes: Sequence[batch.EcsVolume] | None,
        execution_role: iam.IRole | None,
    ) -> dict[str, Any]:
        """Props shared by the EC2 and Fargate L2 container definitions."""
        return dict(
            image=image,
            cpu=vcpus,
            memory=memory,
            command=list(command) if command is not None else None,
            environment=dict(environment) if environment else None,
            secrets=dict(secrets) if secrets else None,
            volumes=list(volumes) if volumes else None,
            job_role=self.job_role,
            execution_role=execution_role,
            logging=ecs.LogDriver.aws_logs(stream_prefix=self.node.id, log_group=self.log_group),
        )

    def _definition_props(self, parameters: Mapping[str, str] | None, name: str | None) -> dict[str, Any]:
        """Props shared by the L2 job definitions: retries, timeout, tags, parameters, name."""
        return dict(
            parameters=dict(parameters) if parameters else None,
            propagate_tags=self.propagate_tags,
            retry_attempts=self.retry.attempts,
            retry_strategies=list(self.retry.rules) or None,
            timeout=self.timeout,
            job_definition_name=name,
        )

    @property
    def job_definition_arn(self) -> str:
        return self.resource.job_definition_arn

    @property
    def job_definition_name_arn(self) -> str:
        """``arn:...:job-definition/NAME:*``: every revision of this definition, and nothing else."""
        # The ARN is arn:PARTITION:batch:REGION:ACCOUNT:job-definition/NAME:REVISION.
        name_part = Fn.select(5, Fn.split(":", self.job_definition_arn))
        name = Fn.select(1, Fn.split("/", name_part))
        return Stack.of(self).format_arn(
            service="batch", resource="job-definition", resource_name=f"{name}:*"
        )

    def bind(self, queue: JobQueue) -> None:
        """Check at synth that this job can run on ``queue``; raise ``ValueError`` if it never can."""
        if queue in self._queues:
            return
        requirements = self._requirements_on(queue)
        result = queue.check_fit(requirements)
        if not result.fits:
            raise ValueError(
                f"{self.node.path} can never run on job queue {queue.node.path} (it would stay RUNNABLE):\n  "
                + "\n  ".join(result.problems)
            )
        self._queues.append(queue)

    def _requirements_on(self, queue: JobQueue) -> JobRequirements:
        return self.requirements

    def grant_submit(
        self, grantee: iam.IGrantable, queue: JobQueue, *, with_tags: bool | None = None
    ) -> iam.Grant:
        """Allow ``grantee`` to submit this job definition (any revision) to ``queue`` only.

        Also checks the fit (see :meth:`bind`). ``with_tags``: also allow ``batch:TagResource`` on
        jobs, which SubmitJob needs when the request carries tags. Default: when the definition
        propagates tags (callers that never pass tags, like the S3 submitter, say False).
        """
        self.bind(queue)
        definition_arn = self.job_definition_name_arn
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=["batch:SubmitJob"], resource_arns=[queue.job_queue_arn, definition_arn]
        )
        # Acknowledge the wildcard findings on the principal's own policy (when it is a construct).
        principal = grantee.grant_principal if isinstance(grantee.grant_principal, Construct) else None
        if principal is not None:
            acknowledge(
                principal,
                "IAM5",
                f"SubmitJob on {self.node.path}: job-definition/NAME:* is every revision of this one "
                "definition (the revision is part of the ARN and changes on each update).",
                applies_to=resource_finding(principal, definition_arn),
            )
        if self.propagate_tags if with_tags is None else with_tags:
            job_arn = Stack.of(self).format_arn(service="batch", resource="job", resource_name="*")
            iam.Grant.add_to_principal(
                grantee=grantee, actions=["batch:TagResource"], resource_arns=[job_arn]
            )
            if principal is not None:
                acknowledge(
                    principal,
                    "IAM5",
                    "Tagging a job at submission needs batch:TagResource on the job, whose ARN holds an ID "
                    "Batch generates during SubmitJob; SubmitJob itself is scoped to one queue and "
                    "definition.",
                    applies_to=resource_finding(principal, job_arn),
                )
        return grant


def _check_ec2_size(scope: Construct, vcpus: float, memory_mib: int, gpus: int) -> None:
    if not is_token(vcpus) and (vcpus < 1 or vcpus != int(vcpus)):
        fail(scope, "vcpus", vcpus, "EC2 jobs take a whole number of vCPUs, at least 1")
    if not is_token(memory_mib) and memory_mib < 4:
        fail(scope, "memory", f"{memory_mib} MiB", "must be at least 4 MiB")
    check_range(scope, "gpus", gpus, 0, 16)


def _memory_mib(scope: Construct, memory: Size) -> int:
    mib = memory.to_mebibytes()
    if not is_token(mib) and mib != int(mib):
        fail(scope, "memory", memory, "must be a whole number of MiB")
    return int(mib)


class ContainerJobDefinition(BatchJobDefinition):
    """A single-container job for EC2 or Fargate compute environments."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        image: ecs.ContainerImage,
        platform: Platform = Platform.EC2,
        vcpus: float = 1,
        memory: Size | None = None,
        gpus: int = 0,
        command: Sequence[str] | None = None,
        environment: Mapping[str, str] | None = None,
        secrets: Mapping[str, batch.Secret] | None = None,
        volumes: Sequence[batch.EcsVolume] | None = None,
        parameters: Mapping[str, str] | None = None,
        job_role: iam.IRole | None = None,
        execution_role: iam.IRole | None = None,
        log_group: logs.ILogGroup | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        timeout: Duration | None = None,
        retry: RetryPolicy | None = None,
        propagate_tags: bool = True,
        assign_public_ip: bool | None = None,
        architecture: Architecture = Architecture.X86_64,
        ephemeral_storage: Size | None = None,
        readonly_root_filesystem: bool = False,
        job_definition_name: str | None = None,
    ) -> None:
        """
        :param image: ``ecs.ContainerImage.from_registry(...)``, ``.from_ecr_repository(repo, tag)`` or
            ``.from_asset(dockerfile_dir)`` (built and pushed by ``cdk deploy``).
        :param platform: EC2 or FARGATE. Default: EC2.
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
        :param parameters: default values for ``Ref::`` placeholders. Default: none.
        :param job_role: role the job's code runs as. Default: a new role with no permissions.
        :param execution_role: role Batch/ECS uses to pull the image, read secrets and write logs.
            Default: a new role with exactly those grants.
        :param log_group: Default: a new log group owned by this construct.
        :param log_retention: retention of the new log group. Default: one month.
        :param timeout: attempt timeout (at least 60 s). Default: 24 hours, so a hung job cannot run
            (and bill) forever.
        :param retry: Default: ``RetryPolicy.transient()`` (3 attempts; Spot reclaims and transient
            image pulls retried, everything else exits).
        :param propagate_tags: propagate job and definition tags to the ECS task. Default: True.
        :param assign_public_ip: Fargate only. Default: enabled when the definition is bound to a queue
            whose environments are in public subnets without NAT or endpoints (the only way the task
            can pull its image there), disabled otherwise.
        :param architecture: Fargate only: x86_64 or ARM64 (Graviton). Default: x86_64.
        :param ephemeral_storage: Fargate only: 21-200 GiB. Default: Fargate's 20 GiB.
        :param readonly_root_filesystem: Default: False.
        :param job_definition_name: physical name. Default: generated.
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
        )
        memory = memory or Size.gibibytes(2)
        memory_mib = _memory_mib(self, memory)
        fargate = platform is Platform.FARGATE
        common = self._container_props(
            image=image,
            vcpus=vcpus,
            memory=memory,
            command=command,
            environment=environment,
            secrets=secrets,
            volumes=volumes,
            execution_role=execution_role,
        )
        common["readonly_root_filesystem"] = readonly_root_filesystem
        self._auto_public_ip = fargate and assign_public_ip is None
        container: batch.IEcsContainerDefinition
        if fargate:
            self._check_fargate(vcpus, memory_mib, gpus, ephemeral_storage)
            container = batch.EcsFargateContainerDefinition(
                self,
                "Container",
                assign_public_ip=bool(assign_public_ip),
                fargate_cpu_architecture=(
                    ecs.CpuArchitecture.ARM64
                    if architecture is Architecture.ARM64
                    else ecs.CpuArchitecture.X86_64
                ),
                fargate_operating_system_family=ecs.OperatingSystemFamily.LINUX,
                fargate_platform_version=ecs.FargatePlatformVersion.LATEST,
                ephemeral_storage_size=ephemeral_storage,
                **common,  # type: ignore[arg-type]
            )
        else:
            for prop, value in (
                ("assign_public_ip", assign_public_ip),
                ("ephemeral_storage", ephemeral_storage),
            ):
                if value is not None:
                    fail(self, prop, value, "only applies to Fargate jobs")
            if architecture is not Architecture.X86_64:
                fail(
                    self,
                    "architecture",
                    architecture.value,
                    "only applies to Fargate jobs (EC2 follows the queue)",
                )
            _check_ec2_size(self, vcpus, memory_mib, gpus)
            container = batch.EcsEc2ContainerDefinition(self, "Container", gpu=gpus or None, **common)  # type: ignore[arg-type]
        self.container = container
        self.resource = batch.EcsJobDefinition(
            self, "Resource", container=container, **self._definition_props(parameters, job_definition_name)
        )
        self.requirements = JobRequirements(
            platform=platform,
            vcpus=vcpus,
            memory_mib=memory_mib,
            gpus=gpus,
            assign_public_ip=bool(assign_public_ip),
        )

    def _check_fargate(self, vcpus: float, memory_mib: int, gpus: int, ephemeral: Size | None) -> None:
        if gpus:
            fail(self, "gpus", gpus, "Fargate has no GPUs; use platform=Platform.EC2 with a GPU environment")
        if is_token(vcpus) or is_token(memory_mib):
            return
        allowed = FARGATE_MEMORY.get(vcpus)
        if allowed is None:
            fail(self, "vcpus", vcpus, f"Fargate takes one of {', '.join(f'{v:g}' for v in FARGATE_MEMORY)}")
        elif memory_mib not in allowed:
            fail(
                self,
                "memory",
                f"{memory_mib} MiB",
                f"Fargate with {vcpus:g} vCPU takes {allowed.start}-{allowed.stop - 1} MiB "
                f"in steps of {allowed.step}",
            )
        if ephemeral is not None and not is_token(ephemeral.to_gibibytes()):
            check_range(self, "ephemeral_storage (GiB)", ephemeral.to_gibibytes(), 21, 200)

    def _requirements_on(self, queue: JobQueue) -> JobRequirements:
        reqs = self.requirements
        if self._auto_public_ip and any(
            p.public_subnets and not p.private_egress for p in queue.profiles.values()
        ):
            # Only a public IP lets a task in public subnets without NAT/endpoints pull its image.
            cfn = self.resource.node.default_child
            assert isinstance(cfn, batch.CfnJobDefinition)
            cfn.add_property_override("ContainerProperties.NetworkConfiguration.AssignPublicIp", "ENABLED")
            reqs = JobRequirements(**{**reqs.__dict__, "assign_public_ip": True})
            self.requirements = reqs
        return reqs


class MultiNodeJobDefinition(BatchJobDefinition):
    """A multi-node parallel (MNP) job: ``nodes`` EC2 instances started together, one the main node."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        image: ecs.ContainerImage,
        nodes: int = 2,
        main_node: int = 0,
        instance_type: str | None = None,
        vcpus: int = 1,
        memory: Size | None = None,
        gpus: int = 0,
        command: Sequence[str] | None = None,
        environment: Mapping[str, str] | None = None,
        secrets: Mapping[str, batch.Secret] | None = None,
        volumes: Sequence[batch.EcsVolume] | None = None,
        parameters: Mapping[str, str] | None = None,
        job_role: iam.IRole | None = None,
        execution_role: iam.IRole | None = None,
        log_group: logs.ILogGroup | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        timeout: Duration | None = None,
        retry: RetryPolicy | None = None,
        propagate_tags: bool = True,
        job_definition_name: str | None = None,
    ) -> None:
        """
        :param image: as for :class:`ContainerJobDefinition`.
        :param nodes: number of nodes (2-1000); all must be placed at once, so
            ``nodes x vcpus`` must fit the queue's ``maxv_cpus``. Default: 2.
        :param main_node: index of the main node. Default: 0.
        :param instance_type: pin every node to this instance type (for example ``"c6i.4xlarge"``).
            Default: any type the environment allows.
        :param vcpus: vCPUs per node. Default: 1.
        :param memory: memory per node. Default: 2 GiB.
        :param gpus: GPUs per node. Default: 0.

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
        )
        check_range(self, "nodes", nodes, 2, 1000)
        if not is_token(main_node) and not 0 <= main_node < nodes:
            fail(self, "main_node", main_node, f"must be a node index between 0 and {nodes - 1}")
        memory = memory or Size.gibibytes(2)
        memory_mib = _memory_mib(self, memory)
        _check_ec2_size(self, vcpus, memory_mib, gpus)
        self.container = batch.EcsEc2ContainerDefinition(
            self,
            "Container",
            gpu=gpus or None,
            **self._container_props(
                image=image,
                vcpus=vcpus,
                memory=memory,
                command=command,
                environment=environment,
                secrets=secrets,
                volumes=volumes,
                execution_role=execution_role,
            ),
        )
        self.resource = batch.MultiNodeJobDefinition(
            self,
            "Resource",
            containers=[batch.MultiNodeContainer(container=self.container, start_node=0, end_node=nodes - 1)],
            main_node=main_node,
            instance_type=ec2.InstanceType(instance_type) if instance_type else None,
            **self._definition_props(parameters, job_definition_name),
        )
        self.requirements = JobRequirements(
            platform=Platform.EC2,
            vcpus=vcpus,
            memory_mib=memory_mib,
            gpus=gpus,
            nodes=nodes,
            instance_type=instance_type,
        )
