"""Container options and multi-container (ECS task) job definitions: the values and what Batch validates.

:class:`LinuxParameters`, :class:`FireLens` and :class:`ContainerCondition` are values a
:class:`~cdk_batchkit.constructs.Container` carries; :func:`check_container` and :func:`check_task` are the
synth rules over them (BK-T1 to BK-T11, listed in ``docs/rules.md``); :func:`task_container` turns one
rendered container into a container of ``EcsProperties.TaskProperties``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from aws_cdk import Annotations, Size, SizeRoundingBehavior
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ecs as ecs
from constructs import Construct

from ..model.limits import FARGATE_MEMORY, MAX_TASK_CONTAINERS
from ..model.rules import register
from ._validation import check_range, fail, is_token

_API = "https://docs.aws.amazon.com/batch/latest/APIReference"
_FARGATE_DEFS = "https://docs.aws.amazon.com/batch/latest/userguide/fargate-job-definitions.html"
register(
    "BK-T1",
    "On Fargate a container takes no privileged, ulimits, Linux devices, shared memory, tmpfs, max swap or "
    "swappiness, no host volumes, and logs with awslogs or splunk only.",
    f"{_FARGATE_DEFS} and {_API}/API_LinuxParameters.html and {_API}/API_Host.html and "
    f"{_API}/API_LogConfiguration.html (Fargate: awslogs and splunk)",
)
register(
    "BK-T2",
    "Linux parameters: swappiness 0-100 and only with max_swap (Batch ignores it otherwise); max swap, "
    "shared memory and tmpfs sizes whole MiB, shared memory and each tmpfs above 0 and at most the "
    "container's memory; tmpfs paths absolute.",
    f"{_API}/API_LinuxParameters.html and {_API}/API_Tmpfs.html and "
    "https://docs.docker.com/engine/containers/run/#tmpfs (tmpfs and /dev/shm are memory-backed)",
)
register(
    "BK-T3",
    "Ulimits: soft and hard limits are not negative and the soft limit does not exceed the hard limit.",
    f"{_API}/API_Ulimit.html and https://docs.docker.com/reference/cli/docker/container/run/#ulimit",
)
register(
    "BK-T4",
    "user is user, user:group, uid, uid:gid, user:gid or uid:group (UID/GID as integers).",
    f"{_API}/API_TaskContainerProperties.html (user) and {_API}/API_ContainerProperties.html (user)",
)
register(
    "BK-T5",
    "privileged is opt-in (default False), EC2 only, and every privileged container warns at synth "
    "(batchkit:privileged).",
    f"{_API}/API_ContainerProperties.html (privileged: not supported on Fargate) and {_FARGATE_DEFS}",
)
register(
    "BK-T6",
    "Private registry credentials (repositoryCredentials, a Secrets Manager secret) are rendered (the L2 "
    "drops them, aws-cdk#37003) and the execution role is granted read on the secret.",
    f"{_API}/API_RepositoryCredentials.html and "
    "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/private-auth.html",
)
register(
    "BK-T7",
    "name, essential=False, depends_on, firelens and the awsfirelens log driver apply only to the "
    "containers of a multi-container (ecsProperties) job definition.",
    f"{_API}/API_ContainerProperties.html and {_API}/API_TaskContainerProperties.html",
)
register(
    "BK-T8",
    "A multi-container job definition has 1 to 10 containers with unique names (letters, digits, - and _, "
    "up to 255), at least one essential, and its override container is one of them.",
    f"{_API}/API_EcsProperties.html (up to 10 containers) and {_API}/API_TaskContainerProperties.html "
    "(essential: all jobs must have at least one essential container) and "
    "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html (name)",
)
register(
    "BK-T9",
    "Container dependencies name other containers of the task, form no cycle, and COMPLETE/SUCCESS never "
    "wait on an essential container.",
    f"{_API}/API_TaskContainerDependency.html",
)
register(
    "BK-T10",
    "A multi-container task needs the SUM of its containers: on Fargate the summed vCPUs and memory are a "
    "valid Fargate pair (no GPUs); on EC2 every container has whole vCPUs; the fit check sees the sums.",
    f"{_API}/API_ResourceRequirement.html and "
    "https://docs.aws.amazon.com/batch/latest/userguide/multi-container-jobs.html",
)
register(
    "BK-T11",
    "FireLens: at most one log-router container (fluentbit or fluentd), and a container logging with "
    "awsfirelens needs one in its task.",
    f"{_API}/API_FirelensConfiguration.html and "
    "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_firelens.html",
)

_FARGATE_LOG_DRIVERS = ("awslogs", "splunk")
_PAIRS = tuple(FARGATE_MEMORY.items())
_USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$")
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
PRIVILEGED_WARNING = "batchkit:privileged"


class ContainerCondition(Enum):
    """When a container of a multi-container job may start, relative to one it depends on
    (``TaskContainerDependency.condition``)."""

    #: Once the other container has started.
    START = "START"
    #: Once the other container has exited (it must not be essential).
    COMPLETE = "COMPLETE"
    #: Once the other container has exited with status 0 (it must not be essential).
    SUCCESS = "SUCCESS"


@dataclass(frozen=True)
class LinuxParameters:
    """Linux options of a container (``LinuxParameters``); all but ``init_process`` are EC2 only.

    :param init_process: run an init process that forwards signals and reaps processes. Default: the
        image's own PID 1.
    :param shared_memory: size of ``/dev/shm`` (at most the container's memory). Default: Docker's 64 MiB.
    :param tmpfs: tmpfs mounts, ``batch.Tmpfs(container_path="/scratch", size=Size.gibibytes(1),
        mount_options=[batch.TmpfsMountOption.NOEXEC])`` (each at most the container's memory).
        Default: none.
    :param devices: host devices, ``batch.Device(host_path="/dev/fuse")``. Default: none.
    :param max_swap: swap the container may use (0: none). Default: the instance's swap configuration.
    :param swappiness: 0-100, only with ``max_swap``. Default: 60.
    """

    init_process: bool | None = None
    shared_memory: Size | None = None
    tmpfs: Sequence[batch.Tmpfs] = ()
    devices: Sequence[batch.Device] = ()
    max_swap: Size | None = None
    swappiness: int | None = None

    def bind(self, scope: Construct, construct_id: str) -> batch.LinuxParameters:
        """The L2 construct rendering these parameters (devices: see :func:`devices_of`)."""
        l2 = batch.LinuxParameters(
            scope,
            construct_id,
            init_process_enabled=self.init_process,
            shared_memory_size=self.shared_memory,
            max_swap=self.max_swap,
            swappiness=self.swappiness,
        )
        if self.tmpfs:
            l2.add_tmpfs(*self.tmpfs)
        return l2


@dataclass(frozen=True)
class FireLens:
    """Makes a container the FireLens log router of its task (``firelensConfiguration``); the other
    containers log to it with ``ecs.LogDriver.firelens(options=...)``.

    :param type: ``"fluentbit"`` or ``"fluentd"``. Default: fluentbit.
    :param options: e.g. ``{"enable-ecs-log-metadata": "true"}``. Default: none.
    """

    type: str = "fluentbit"
    options: Mapping[str, str] = field(default_factory=dict)


def _mib(size: Size | None) -> float | None:
    if size is None:
        return None
    mib = size.to_mebibytes(rounding=SizeRoundingBehavior.NONE)
    return None if is_token(mib) else mib


def check_container(scope: Construct, container: Any, prop: str, *, fargate: bool, task: bool) -> None:
    """BK-T1 to BK-T5 and BK-T7 for one container (a :class:`Container`)."""
    c = container
    linux = c.linux_parameters
    if not task:
        # BK-T7: these exist only in TaskContainerProperties.
        for name, value, unset in (
            ("name", c.name, None),
            ("essential", c.essential, True),
            ("depends_on", dict(c.depends_on) or None, None),
            ("firelens", c.firelens, None),
        ):
            if value != unset:
                fail(
                    scope,
                    f"{prop}.{name}",
                    value,
                    "only applies to the containers of a multi-container definition (containers=[...])",
                )
    if fargate:
        # BK-T1
        banned: list[tuple[str, Any]] = [
            ("privileged", c.privileged or None),
            ("ulimits", list(c.ulimits) or None),
        ]
        if linux is not None:
            banned += [
                ("linux_parameters.devices", list(linux.devices) or None),
                ("linux_parameters.shared_memory", linux.shared_memory),
                ("linux_parameters.tmpfs", list(linux.tmpfs) or None),
                ("linux_parameters.max_swap", linux.max_swap),
                ("linux_parameters.swappiness", linux.swappiness),
            ]
        hosts = [v.name for v in c.volumes if isinstance(v, batch.HostVolume)]
        banned.append(("volumes", hosts or None))
        for name, value in banned:
            if value is not None:
                fail(scope, f"{prop}.{name}", value, "Fargate does not support it; use platform=Platform.EC2")
    if linux is not None:
        _check_linux(scope, linux, c.memory_size, f"{prop}.linux_parameters")
    for index, ulimit in enumerate(c.ulimits):
        # BK-T3
        where = f"{prop}.ulimits[{index}]"
        check_range(scope, f"{where}.soft_limit", ulimit.soft_limit, 0, float("inf"))
        check_range(scope, f"{where}.hard_limit", ulimit.hard_limit, 0, float("inf"))
        if (
            not is_token(ulimit.soft_limit)
            and not is_token(ulimit.hard_limit)
            and ulimit.soft_limit > ulimit.hard_limit
        ):
            fail(scope, f"{where}.soft_limit", ulimit.soft_limit, "must not exceed hard_limit")
    if c.user is not None and not is_token(c.user) and not _USER.match(c.user):
        # BK-T4
        fail(scope, f"{prop}.user", c.user, "must be user, user:group, uid or uid:gid")
    if c.privileged:
        # BK-T5: opt-in, and visible in every synth.
        Annotations.of(scope).add_warning_v2(
            PRIVILEGED_WARNING,
            f"{prop} runs privileged: it gets root-equivalent access to the host instance (and every job "
            "placed on it). Use it only for jobs that need it (devices, FUSE, Docker in Docker).",
        )


def _check_linux(scope: Construct, linux: LinuxParameters, memory: Size, prop: str) -> None:
    """BK-T2."""
    check_range(scope, f"{prop}.swappiness", linux.swappiness, 0, 100)
    if linux.swappiness is not None and linux.max_swap is None:
        fail(scope, f"{prop}.swappiness", linux.swappiness, "Batch ignores it unless max_swap is set")
    memory_mib = _mib(memory)
    sizes: list[tuple[str, Size | None, float]] = [
        ("max_swap", linux.max_swap, 0),
        ("shared_memory", linux.shared_memory, 1),
    ]
    sizes += [(f"tmpfs[{i}].size", t.size, 1) for i, t in enumerate(linux.tmpfs)]
    for name, size, low in sizes:
        mib = _mib(size)
        if mib is None:
            continue
        if mib != int(mib) or mib < low:
            fail(scope, f"{prop}.{name}", size, f"must be a whole number of MiB, at least {low:g}")
        if name != "max_swap" and memory_mib is not None and mib > memory_mib:
            fail(
                scope,
                f"{prop}.{name}",
                f"{mib:g} MiB",
                f"is memory-backed and must fit the container's memory ({memory_mib:g} MiB)",
            )
    for i, tmpfs in enumerate(linux.tmpfs):
        if not is_token(tmpfs.container_path) and not tmpfs.container_path.startswith("/"):
            fail(scope, f"{prop}.tmpfs[{i}].container_path", tmpfs.container_path, "must be an absolute path")


def check_log_driver(scope: Construct, driver: str | None, prop: str, *, fargate: bool, task: bool) -> None:
    """BK-T1 (Fargate log drivers) and BK-T7 (awsfirelens needs a task), once the L2 has bound the driver."""
    if driver is None or is_token(driver):
        return
    if fargate and driver not in _FARGATE_LOG_DRIVERS:
        fail(scope, f"{prop}.logging", driver, "Fargate jobs log with awslogs or splunk only")
    if driver == "awsfirelens" and not task:
        fail(
            scope,
            f"{prop}.logging",
            driver,
            "awsfirelens needs a FireLens container in the same task: use a multi-container definition",
        )


def check_task(scope: Construct, containers: Sequence[Any], override: str | None) -> str:
    """BK-T8, BK-T9 and the container part of BK-T11; returns the override container's name."""
    if not 1 <= len(containers) <= MAX_TASK_CONTAINERS:
        fail(scope, "containers", len(containers), f"a task has 1 to {MAX_TASK_CONTAINERS} containers")
    names: list[str] = []
    for i, c in enumerate(containers):
        if c.name is None or (not is_token(c.name) and not _NAME.match(c.name)):
            fail(scope, f"containers[{i}].name", c.name, "needs a name of letters, digits, - or _")
        if c.name in names:
            fail(scope, f"containers[{i}].name", c.name, "container names must be unique")
        names.append(c.name)
    essential = [c.name for c in containers if c.essential]
    if not essential:
        fail(scope, "containers", names, "at least one container must be essential")
    by_name = {c.name: c for c in containers}
    for c in containers:
        for other, condition in c.depends_on.items():
            where = f"containers[{names.index(c.name)}].depends_on"
            if other not in by_name or other == c.name:
                fail(scope, where, other, f"must name another container of the task ({', '.join(names)})")
            if condition is not ContainerCondition.START and by_name[other].essential:
                fail(
                    scope,
                    where,
                    f"{other}: {condition.value}",
                    "COMPLETE and SUCCESS cannot wait on an essential container (make it essential=False)",
                )
    _check_no_cycle(scope, {c.name: list(c.depends_on) for c in containers})
    routers = [c.name for c in containers if c.firelens is not None]
    if len(routers) > 1:
        fail(scope, "containers", routers, "a task has at most one FireLens log router")
    for c in containers:
        if c.firelens is not None and c.firelens.type not in ("fluentbit", "fluentd"):
            fail(
                scope,
                f"containers[{names.index(c.name)}].firelens.type",
                c.firelens.type,
                "is fluentbit or fluentd",
            )
    if override is None:
        return essential[0]
    if override not in names:
        fail(scope, "override_container", override, f"must name a container ({', '.join(names)})")
    return override


def _check_no_cycle(scope: Construct, graph: Mapping[str, list[str]]) -> None:
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = path[path.index(name) :] + [name]
            fail(scope, "containers", " -> ".join(cycle), "container dependencies form a cycle")
        state[name] = 1
        for other in graph.get(name, []):
            visit(other, [*path, name])
        state[name] = 2

    for name in graph:
        visit(name, [])


def check_firelens_routes(scope: Construct, drivers: Sequence[str | None], containers: Sequence[Any]) -> None:
    """BK-T11: a container logging with awsfirelens needs the task's FireLens router."""
    if "awsfirelens" in drivers and not any(c.firelens is not None for c in containers):
        fail(
            scope,
            "containers",
            [c.name for c, d in zip(containers, drivers, strict=True) if d == "awsfirelens"],
            "log with awsfirelens but no container has firelens=FireLens(...)",
        )


def check_fargate_task(scope: Construct, vcpus: float, memory_mib: int) -> None:
    """BK-T10 on Fargate: the summed size is a valid Fargate pair."""
    if is_token(vcpus) or is_token(memory_mib):
        return
    allowed = FARGATE_MEMORY.get(vcpus)
    if allowed is None or memory_mib not in allowed:
        fail(
            scope,
            "containers",
            f"{vcpus:g} vCPU, {memory_mib} MiB in total",
            "the containers' summed vCPUs and memory must be a valid Fargate pair ("
            + "; ".join(f"{v:g} vCPU: {r.start}-{r.stop - 1} MiB by {r.step}" for v, r in _PAIRS)
            + ")",
        )


_TASK_FIELDS = (
    "image",
    "command",
    "environment",
    "linux_parameters",
    "log_configuration",
    "mount_points",
    "privileged",
    "readonly_root_filesystem",
    "repository_credentials",
    "resource_requirements",
    "secrets",
    "ulimits",
    "user",
)


def task_container(
    rendered: batch.CfnJobDefinition.ContainerPropertiesProperty, container: Any
) -> batch.CfnJobDefinition.TaskContainerPropertiesProperty:
    """One container of ``EcsProperties.TaskProperties``, from the L2's rendering of it."""
    values = {k: getattr(rendered, k) for k in _TASK_FIELDS if getattr(rendered, k) is not None}
    return batch.CfnJobDefinition.TaskContainerPropertiesProperty(
        name=container.name,
        essential=container.essential,
        depends_on=[
            batch.CfnJobDefinition.TaskContainerDependencyProperty(container_name=name, condition=cond.value)
            for name, cond in container.depends_on.items()
        ]
        or None,
        firelens_configuration=(
            batch.CfnJobDefinition.FirelensConfigurationProperty(
                type=container.firelens.type, options=dict(container.firelens.options) or None
            )
            if container.firelens is not None
            else None
        ),
        **values,
    )


def devices_of(linux: LinuxParameters) -> list[dict[str, Any]]:
    """``LinuxParameters.Devices`` with the API's permission values (READ, WRITE, MKNOD)."""
    return [
        {
            "HostPath": d.host_path,
            **({"ContainerPath": d.container_path} if d.container_path else {}),
            **({"Permissions": [p.name for p in d.permissions]} if d.permissions else {}),
        }
        for d in linux.devices
    ]


def log_driver_of(definition: batch.IEcsContainerDefinition) -> str | None:
    config: ecs.LogDriverConfig | None = getattr(definition, "log_driver_config", None)
    return config.log_driver if config is not None else None
