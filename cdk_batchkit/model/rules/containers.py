"""Container rules: what Batch and ECS accept in an ECS container (a single container, one of a task's,
a node range's), BK-T1 to BK-T16.

Each value rule takes a :class:`~cdk_batchkit.model.jobs.JobSpec` and looks at its ECS containers (EKS pods
have their own rules), naming each prop as the user wrote it (``container.linux_parameters.swappiness``,
``containers[1].name``, ``node_ranges[0].container.ulimits[0].soft_limit``). The fit warnings BK-T14 and
BK-T15 take ``(JobRequirements, ComputeProfile)``: whether swap settings do anything depends on the
instances.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from ..jobs import ContainerSpec, JobSpec, Ulimit
from ..limits import MAX_TASK_CONTAINERS
from ..profiles import ComputeProfile, JobRequirements, Platform, SubmitShape
from ._registry import Problem, rule
from .names import environment_names

_API = "https://docs.aws.amazon.com/batch/latest/APIReference"
_FARGATE_DEFS = "https://docs.aws.amazon.com/batch/latest/userguide/fargate-job-definitions.html"
_MI_DEFS = "https://docs.aws.amazon.com/batch/latest/userguide/ecs-managed-instances-job-definitions.html"
_MI_TASKS = (
    "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/managed-instances-tasks-services.html"
)
_SWAP = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/container-swap.html"
_FIRELENS = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_firelens.html"

#: Log drivers a Fargate job may use (LogConfiguration ``logDriver``: "Jobs that are running on Fargate
#: resources are restricted to the awslogs and splunk log drivers").
FARGATE_LOG_DRIVERS = ("awslogs", "splunk")
#: FireLens router types (FirelensConfiguration ``type``).
FIRELENS_TYPES = ("fluentbit", "fluentd")
#: Ulimit ``name`` values (API_Ulimit).
ULIMIT_NAMES = frozenset(
    {
        "core",
        "cpu",
        "data",
        "fsize",
        "locks",
        "memlock",
        "msgqueue",
        "nice",
        "nofile",
        "nproc",
        "rss",
        "rtprio",
        "rttime",
        "sigpending",
        "stack",
    }
)
#: ``user``: user, user:group, uid, uid:gid, user:gid or uid:group.
_USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$")
#: Container names in a task (ContainerDefinition ``name``: letters, digits, hyphens, underscores, 255).
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
#: The synth-warning id of BK-T5 (kept from before the rule book: users acknowledge it by this id).
PRIVILEGED_WARNING = "batchkit:privileged"


def ecs_containers(job: JobSpec) -> list[tuple[str, ContainerSpec]]:
    """The job's ECS containers with the prop naming each (none for an EKS job)."""
    if job.shape is SubmitShape.EKS or job.platform is Platform.EKS:
        return []
    return job.labelled_containers()


def _mib(value: float) -> str:
    return f"{value:g} MiB"


# -- BK-T1: Fargate -------------------------------------------------------------------------------------
@rule(
    "BK-T1",
    "On Fargate a container takes no privileged, ulimits, Linux devices, shared memory, tmpfs, max swap or "
    "swappiness, no host volumes, and logs with awslogs or splunk only.",
    f"{_FARGATE_DEFS} and {_API}/API_LinuxParameters.html and {_API}/API_Host.html and "
    f"{_API}/API_LogConfiguration.html (Fargate: awslogs and splunk)",
)
def fargate_container_options(job: JobSpec) -> Iterator[Problem]:
    if job.platform is not Platform.FARGATE:
        return
    why = "Fargate does not support it; use platform=Platform.EC2"
    for prop, c in ecs_containers(job):
        linux = c.linux_parameters
        banned: list[tuple[str, object]] = [
            ("privileged", True if c.privileged else None),
            ("ulimits", [u.name for u in c.ulimits] or None),
        ]
        if linux is not None:
            banned += [
                ("linux_parameters.devices", list(linux.devices) or None),
                ("linux_parameters.shared_memory", _opt_mib(linux.shared_memory_mib)),
                ("linux_parameters.tmpfs", [t.container_path for t in linux.tmpfs] or None),
                ("linux_parameters.max_swap", _opt_mib(linux.max_swap_mib)),
                ("linux_parameters.swappiness", linux.swappiness),
            ]
        banned.append(("volumes", list(c.host_volumes) or None))
        for name, value in banned:
            if value is not None:
                yield Problem(f"{prop}.{name}", value, why)
        if c.log_driver is not None and c.log_driver not in FARGATE_LOG_DRIVERS:
            yield Problem(f"{prop}.logging", c.log_driver, "Fargate jobs log with awslogs or splunk only")


def _opt_mib(value: float | None) -> str | None:
    return None if value is None else _mib(value)


# -- BK-T2: Linux parameters ----------------------------------------------------------------------------
@rule(
    "BK-T2",
    "Linux parameters: swappiness 0-100 and only with max_swap (Batch ignores it otherwise); max swap, "
    "shared memory and tmpfs sizes whole MiB, shared memory and each tmpfs above 0 and at most the "
    "container's memory; tmpfs paths absolute.",
    f"{_API}/API_LinuxParameters.html and {_API}/API_Tmpfs.html and "
    "https://docs.docker.com/engine/containers/run/#tmpfs (tmpfs and /dev/shm are memory-backed)",
)
def linux_parameters(job: JobSpec) -> Iterator[Problem]:
    for prop, c in ecs_containers(job):
        linux = c.linux_parameters
        if linux is None:
            continue
        where = f"{prop}.linux_parameters"
        if linux.swappiness is not None:
            if not 0 <= linux.swappiness <= 100:
                yield Problem(f"{where}.swappiness", linux.swappiness, "must be between 0 and 100")
            elif linux.max_swap_mib is None:
                yield Problem(
                    f"{where}.swappiness", linux.swappiness, "Batch ignores it unless max_swap is set"
                )
        sizes: list[tuple[str, float | None, float]] = [
            ("max_swap", linux.max_swap_mib, 0),
            ("shared_memory", linux.shared_memory_mib, 1),
        ]
        sizes += [(f"tmpfs[{i}].size", t.size_mib, 1) for i, t in enumerate(linux.tmpfs)]
        for name, mib, low in sizes:
            if mib is None:
                continue
            if mib != int(mib) or mib < low:
                yield Problem(
                    f"{where}.{name}", _mib(mib), f"must be a whole number of MiB, at least {low:g}"
                )
            elif name != "max_swap" and c.memory_mib is not None and mib > c.memory_mib:
                yield Problem(
                    f"{where}.{name}",
                    _mib(mib),
                    f"is memory-backed and must fit the container's memory ({c.memory_mib:g} MiB)",
                )
        for i, tmpfs in enumerate(linux.tmpfs):
            if tmpfs.container_path is not None and not tmpfs.container_path.startswith("/"):
                yield Problem(
                    f"{where}.tmpfs[{i}].container_path", tmpfs.container_path, "must be an absolute path"
                )


# -- BK-T3: ulimits -------------------------------------------------------------------------------------
@rule(
    "BK-T3",
    "Ulimits: a name Batch knows; soft and hard limits at least 0 or -1 (unlimited, as EFA and MPI jobs set "
    "memlock), and the soft limit not above the hard limit (-1 counts as unlimited).",
    f"{_API}/API_Ulimit.html and https://docs.docker.com/reference/cli/docker/container/run/#ulimit",
)
def ulimits(job: JobSpec) -> Iterator[Problem]:
    for prop, c in ecs_containers(job):
        for index, ulimit in enumerate(c.ulimits):
            where = f"{prop}.ulimits[{index}]"
            if ulimit.name not in ULIMIT_NAMES:
                yield Problem(f"{where}.name", ulimit.name, f"is one of {', '.join(sorted(ULIMIT_NAMES))}")
            for name, value in (("soft_limit", ulimit.soft), ("hard_limit", ulimit.hard)):
                if value is not None and value < 0 and value != -1:
                    yield Problem(f"{where}.{name}", value, "must be at least 0, or -1 for unlimited")
            if (
                ulimit.soft is not None
                and ulimit.hard is not None
                and ulimit.soft >= -1
                and ulimit.hard >= -1
                and Ulimit.rank(ulimit.soft) > Ulimit.rank(ulimit.hard)
            ):
                yield Problem(
                    f"{where}.soft_limit", ulimit.soft, "must not exceed hard_limit (-1 is unlimited)"
                )


# -- BK-T4: user ----------------------------------------------------------------------------------------
@rule(
    "BK-T4",
    "user is user, user:group, uid, uid:gid, user:gid or uid:group (UID/GID as integers).",
    f"{_API}/API_TaskContainerProperties.html (user) and {_API}/API_ContainerProperties.html (user)",
)
def user(job: JobSpec) -> Iterator[Problem]:
    for prop, c in ecs_containers(job):
        if c.user is not None and not _USER.match(c.user):
            yield Problem(f"{prop}.user", c.user, "must be user, user:group, uid or uid:gid")


# -- BK-T5: privileged ----------------------------------------------------------------------------------
@rule(
    "BK-T5",
    "privileged is opt-in (default False), EC2 only (BK-T1), and every privileged container warns at synth "
    "(batchkit:privileged).",
    f"{_API}/API_ContainerProperties.html (privileged: not supported on Fargate) and {_FARGATE_DEFS}",
    warning=True,
)
def privileged(job: JobSpec) -> Iterator[Problem]:
    if job.platform is Platform.FARGATE:
        return  # BK-T1 refuses it there
    for prop, c in ecs_containers(job):
        if c.privileged:
            yield Problem(
                f"{prop}.privileged",
                True,
                "runs privileged: it gets root-equivalent access to the host instance (and every job placed "
                "on it). Use it only for jobs that need it (devices, FUSE, Docker in Docker).",
                code=PRIVILEGED_WARNING,
            )


# -- BK-T6: registry credentials ------------------------------------------------------------------------
@rule(
    "BK-T6",
    "Private registry credentials (repositoryCredentials, a Secrets Manager secret) are rendered (the L2 "
    "drops them, aws-cdk#37003) and the execution role is granted read on the secret.",
    f"{_API}/API_RepositoryCredentials.html and "
    "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/private-auth.html",
)
def registry_credential_reads(job: JobSpec) -> tuple[str, ...]:
    """The containers (by prop) whose registry-credentials secret the execution role must read: ECS pulls
    the image with the execution role, which reads the secret first (private-auth.html). The constructs
    grant exactly these."""
    return tuple(prop for prop, c in ecs_containers(job) if c.repository_credentials)


# -- BK-T7 to BK-T11: multi-container tasks -------------------------------------------------------------
@rule(
    "BK-T7",
    "name, essential=False, depends_on, firelens and the awsfirelens log driver apply only to the "
    "containers of a multi-container (ecsProperties) job definition.",
    f"{_API}/API_ContainerProperties.html and {_API}/API_TaskContainerProperties.html",
)
def task_only_fields(job: JobSpec) -> Iterator[Problem]:
    if job.shape is SubmitShape.ECS_TASK:
        return
    for prop, c in ecs_containers(job):
        for name, value, unset in (
            ("name", c.name, None),
            ("essential", c.essential, True),
            ("depends_on", dict(c.depends_on) or None, None),
            ("firelens", c.firelens, None),
        ):
            if value != unset:
                yield Problem(
                    f"{prop}.{name}",
                    value,
                    "only applies to the containers of a multi-container task (EcsTaskJobDefinition)",
                )
        if c.log_driver == "awsfirelens":
            yield Problem(
                f"{prop}.logging",
                c.log_driver,
                "awsfirelens needs a FireLens container in the same task: use EcsTaskJobDefinition with a "
                "TaskContainer(firelens=FireLens())",
            )


@rule(
    "BK-T8",
    "A multi-container job definition has 1 to 10 containers with unique names (letters, digits, - and _, "
    "up to 255), at least one essential, and its override container is one of them.",
    f"{_API}/API_EcsProperties.html (up to 10 containers) and {_API}/API_TaskContainerProperties.html "
    "(essential: all jobs must have at least one essential container) and "
    "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html (name)",
)
def task_containers(job: JobSpec) -> Iterator[Problem]:
    if job.shape is not SubmitShape.ECS_TASK:
        return
    labelled = ecs_containers(job)
    if not 1 <= len(labelled) <= MAX_TASK_CONTAINERS:
        yield Problem("containers", len(labelled), f"a task has 1 to {MAX_TASK_CONTAINERS} containers")
        return
    names: list[str | None] = []
    for prop, c in labelled:
        if c.name is None or not _NAME.match(c.name):
            yield Problem(f"{prop}.name", c.name, "needs a name of letters, digits, - or _ (up to 255)")
        elif c.name in names:
            yield Problem(f"{prop}.name", c.name, "container names must be unique")
        names.append(c.name)
    if not any(c.essential for _, c in labelled):
        yield Problem("containers", names, "at least one container must be essential")
    if job.override_container is not None and job.override_container not in names:
        yield Problem(
            "override_container",
            job.override_container,
            f"must name a container ({', '.join(str(n) for n in names)})",
        )


@rule(
    "BK-T9",
    "Container dependencies name other containers of the task, form no cycle, and COMPLETE/SUCCESS never "
    "wait on an essential container.",
    f"{_API}/API_TaskContainerDependency.html",
)
def task_dependencies(job: JobSpec) -> Iterator[Problem]:
    if job.shape is not SubmitShape.ECS_TASK:
        return
    labelled = ecs_containers(job)
    by_name = {c.name: c for _, c in labelled if c.name is not None}
    names = ", ".join(by_name)
    for prop, c in labelled:
        for other, condition in c.depends_on:
            where = f"{prop}.depends_on"
            if other not in by_name or other == c.name:
                yield Problem(where, other, f"must name another container of the task ({names})")
            elif condition != "START" and by_name[other].essential:
                yield Problem(
                    where,
                    f"{other}: {condition}",
                    "COMPLETE and SUCCESS cannot wait on an essential container (make it essential=False)",
                )
    cycle = _cycle({name: [o for o, _ in c.depends_on if o in by_name] for name, c in by_name.items()})
    if cycle:
        yield Problem("containers", " -> ".join(cycle), "container dependencies form a cycle")


def _cycle(graph: Mapping[str, list[str]]) -> list[str] | None:
    """The first dependency cycle (``[a, b, a]``), or None."""
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> list[str] | None:
        if state.get(name) == 2:
            return None
        if state.get(name) == 1:
            return path[path.index(name) :] + [name]
        state[name] = 1
        for other in graph.get(name, []):
            found = visit(other, [*path, name])
            if found:
                return found
        state[name] = 2
        return None

    for name in graph:
        found = visit(name, [])
        if found:
            return found
    return None


@rule(
    "BK-T11",
    "FireLens: at most one log-router container (fluentbit or fluentd), and a container logging with "
    "awsfirelens needs one in its task.",
    f"{_API}/API_FirelensConfiguration.html and {_FIRELENS}",
)
def firelens_router(job: JobSpec) -> Iterator[Problem]:
    if job.shape is not SubmitShape.ECS_TASK:
        return  # BK-T7 refuses FireLens outside a task
    labelled = ecs_containers(job)
    routers = [c.name for _, c in labelled if c.firelens is not None]
    if len(routers) > 1:
        yield Problem("containers", routers, "a task has at most one FireLens log router")
    for prop, c in labelled:
        if c.firelens is not None and c.firelens not in FIRELENS_TYPES:
            yield Problem(f"{prop}.firelens.type", c.firelens, "is fluentbit or fluentd")
    senders = [c.name for _, c in labelled if c.log_driver == "awsfirelens"]
    if senders and not routers:
        yield Problem(
            "containers", senders, "log with awsfirelens but no container has firelens=FireLens(...)"
        )


# -- BK-T12 on ECS containers ---------------------------------------------------------------------------
def reserved_environment_names(job: JobSpec) -> list[Problem]:
    """BK-T12 (registered in :mod:`.names`) on every ECS container of the job."""
    found: list[Problem] = []
    for prop, c in ecs_containers(job):
        found.extend(environment_names(c.environment, f"{prop}.environment"))
    return found


# -- BK-T13: ECS Managed Instances ----------------------------------------------------------------------
@rule(
    "BK-T13",
    "On ECS Managed Instances a container takes no max swap, swappiness, shared memory or tmpfs, and no host "
    "(sourcePath) volumes.",
    f"{_MI_TASKS} (maxSwap, sharedMemorySize, swappiness, tmpfs and sourcePath volumes are not valid) and "
    f"{_MI_DEFS}",
)
def managed_instances_container_options(job: JobSpec) -> Iterator[Problem]:
    if job.platform is not Platform.MANAGED_INSTANCES:
        return
    why = "ECS Managed Instances tasks do not support it"
    for prop, c in ecs_containers(job):
        linux = c.linux_parameters
        banned: list[tuple[str, object]] = []
        if linux is not None:
            banned += [
                ("linux_parameters.max_swap", _opt_mib(linux.max_swap_mib)),
                ("linux_parameters.swappiness", linux.swappiness),
                ("linux_parameters.shared_memory", _opt_mib(linux.shared_memory_mib)),
                ("linux_parameters.tmpfs", [t.container_path for t in linux.tmpfs] or None),
            ]
        banned.append(("volumes", list(c.host_volumes) or None))
        for name, value in banned:
            if value is not None:
                yield Problem(f"{prop}.{name}", value, why)


# -- BK-T14, BK-T15: swap settings the instances ignore (fit warnings) ---------------------------------
@rule(
    "BK-T14",
    "A container's swappiness does nothing on Amazon Linux 2023 instances (ECS does not support it there): a "
    "synth warning where the job can run on such an environment.",
    f"{_SWAP} (If you're using tasks on Amazon Linux 2023 the swappiness parameter isn't supported)",
    warning=True,
)
def fit_swappiness(job: JobRequirements, env: ComputeProfile) -> str | None:
    if job.swappiness and env.amazon_linux_2023:
        return (
            "runs Amazon Linux 2023, where ECS does not support a container's swappiness, so "
            "linux_parameters.swappiness does nothing there; remove it (or run on an AMI that supports it)"
        )
    return None


@rule(
    "BK-T15",
    "A container's max_swap above 0 does nothing on instances without swap space (the ECS-optimized AMIs "
    "have none unless user data creates it): a synth warning where the job can run on such an environment.",
    f"{_SWAP} (swap space must be enabled and allocated on the instance; the ECS-optimized AMIs do not "
    "enable it by default)",
    warning=True,
)
def fit_max_swap(job: JobRequirements, env: ComputeProfile) -> str | None:
    if job.swap and env.swap is False:
        return (
            "its instances have no swap space (the ECS-optimized AMIs have none unless user data creates "
            "it), so linux_parameters.max_swap does nothing there"
        )
    return None


#: Fit warnings: the job can run there, but something it asks for does nothing.
FIT_WARNINGS = (fit_swappiness, fit_max_swap)


# -- BK-T16: FireLens outputs the task role must reach --------------------------------------------------
#: Fluent Bit / Fluentd output plugins that write to an AWS service with the task's role, and the actions
#: they call (using_firelens.html: "if a container is routing logs to Firehose, the task requires permission
#: to call the firehose:PutRecordBatch API"; the plugins' READMEs list the others).
FIRELENS_AWS_OUTPUTS: dict[str, tuple[str, str]] = {
    "cloudwatch": ("CloudWatch Logs", "logs:CreateLogStream, logs:PutLogEvents, logs:DescribeLogStreams"),
    "cloudwatch_logs": ("CloudWatch Logs", "logs:CreateLogStream, logs:PutLogEvents"),
    "firehose": ("Amazon Data Firehose", "firehose:PutRecordBatch"),
    "kinesis_firehose": ("Amazon Data Firehose", "firehose:PutRecordBatch"),
    "kinesis": ("Kinesis Data Streams", "kinesis:PutRecords"),
    "kinesis_streams": ("Kinesis Data Streams", "kinesis:PutRecords"),
    "s3": ("Amazon S3", "s3:PutObject"),
    "es": ("Amazon OpenSearch Service", "es:ESHttpPost, es:ESHttpPut"),
    "opensearch": ("Amazon OpenSearch Service", "es:ESHttpPost, es:ESHttpPut"),
}


@rule(
    "BK-T16",
    "A container whose FireLens router sends its logs to an AWS service (cloudwatch_logs, kinesis_firehose, "
    "kinesis_streams, s3, opensearch...) does so with the task's job role: warn at synth naming the actions "
    "the job role needs, and that the task has no job role when it has none (the router drops the logs).",
    f"{_FIRELENS} (the task needs an IAM role with the permissions the log destination requires)",
    warning=True,
)
def firelens_outputs(job: JobSpec) -> Iterator[Problem]:
    if job.shape is not SubmitShape.ECS_TASK:
        return
    if not any(c.firelens is not None for _, c in ecs_containers(job)):
        return  # BK-T11
    for prop, c in ecs_containers(job):
        if c.log_driver != "awsfirelens":
            continue
        plugin = c.log_option_map.get("Name", "")
        output = FIRELENS_AWS_OUTPUTS.get(plugin.lower())
        if output is None:
            continue
        service, actions = output
        if job.job_role is False:
            why = (
                f"its FireLens router sends logs to {service} ({plugin}) with the task's role, and this "
                "task has no job role: the router cannot authenticate and the logs are dropped; give the "
                "definition a job role with " + actions
            )
        else:
            why = (
                f"its FireLens router sends logs to {service} ({plugin}) with the task's job role: grant "
                f"job.job_role {actions} on the destination (for example "
                "log_group.grant_write(job.job_role)), or the router drops the logs"
            )
        yield Problem(f"{prop}.logging", plugin, why)


#: The value rules over one job definition's containers, in the order they report.
CONTAINER_RULES = (
    fargate_container_options,
    managed_instances_container_options,
    linux_parameters,
    ulimits,
    user,
    privileged,
    task_only_fields,
    task_containers,
    task_dependencies,
    firelens_router,
    firelens_outputs,
    reserved_environment_names,
)

__all__ = [
    "CONTAINER_RULES",
    "FARGATE_LOG_DRIVERS",
    "FIT_WARNINGS",
    "FIRELENS_AWS_OUTPUTS",
    "PRIVILEGED_WARNING",
    "ecs_containers",
    "registry_credential_reads",
]
