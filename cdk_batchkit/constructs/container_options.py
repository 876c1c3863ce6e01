"""Container options: the values a container carries and their translation into the model.

:class:`LinuxParameters`, :class:`FireLens` and :class:`ContainerCondition` are values a
:class:`~cdk_batchkit.constructs.Container` (or :class:`~cdk_batchkit.constructs.TaskContainer`) carries;
:func:`container_spec` describes one as the rules see it (:class:`~cdk_batchkit.model.ContainerSpec`: the
rules BK-T1 to BK-T16 live in :mod:`cdk_batchkit.model.rules.containers`); :func:`task_container` turns
one rendered container into a container of ``EcsProperties.TaskProperties``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from aws_cdk import Size, SizeRoundingBehavior
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ecs as ecs
from constructs import Construct

from ..model.jobs import ContainerSpec, LinuxSettings, Tmpfs, Ulimit
from ..model.rules.containers import PRIVILEGED_WARNING
from ..model.values import is_unresolved, known
from ._validation import mebibytes_of

__all__ = [
    "PRIVILEGED_WARNING",
    "ContainerCondition",
    "FireLens",
    "LinuxParameters",
    "container_spec",
    "devices_of",
    "log_of",
    "task_container",
]


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
        Default: no tmpfs mount.
    :param devices: host devices, ``batch.Device(host_path="/dev/fuse")``. Default: no host device.
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
    :param options: e.g. ``{"enable-ecs-log-metadata": "true"}``. Default: the router's defaults
        (ECS log metadata on).
    """

    type: str = "fluentbit"
    options: Mapping[str, str] = field(default_factory=dict)


def _mib(size: Size | None) -> float | None:
    """``size`` in MiB (fractions kept, so a rule can refuse them); None for None or a token."""
    if size is None:
        return None
    mib = mebibytes_of(size, SizeRoundingBehavior.NONE)
    return None if is_unresolved(mib) else mib


def _limit(value: Any) -> int | None:
    value = known(value)
    return int(value) if isinstance(value, int | float) and value == int(value) else None


def _ulimit_name(name: Any) -> str:
    if isinstance(name, Enum):
        return str(name.value).lower()
    return str(name)


def _linux(linux: LinuxParameters | None) -> LinuxSettings | None:
    if linux is None:
        return None
    return LinuxSettings(
        init_process=linux.init_process,
        shared_memory_mib=_mib(linux.shared_memory),
        tmpfs=tuple(Tmpfs(known(t.container_path), _mib(t.size)) for t in linux.tmpfs),
        devices=tuple(str(d.host_path) for d in linux.devices),
        max_swap_mib=_mib(linux.max_swap),
        swappiness=known(linux.swappiness),
    )


def container_spec(
    container: Any,
    *,
    log: tuple[str | None, Mapping[str, str]] = (None, {}),
    image: str | None = None,
    secret_sources: tuple[str, ...] = (),
) -> ContainerSpec:
    """A :class:`~cdk_batchkit.constructs.Container` (or ``TaskContainer``) as the rules see it.

    ``log``: the log driver and its options once the L2 has bound them (None: not yet known, the rules that
    need it skip it); ``image``: the registry image name when known; ``secret_sources``: where each secret is
    read from. Answered in Python: one jsii call per size.
    """
    c = container
    firelens: FireLens | None = getattr(c, "firelens", None)
    driver, options = log
    return ContainerSpec(
        image=image,
        vcpus=known(c.vcpus),
        memory_mib=_mib(c.memory_size),
        gpus=known(c.gpus),
        name=known(getattr(c, "name", None)),
        command=tuple(c.command) if c.command is not None else None,
        environment=tuple(c.environment),
        secrets=tuple(c.secrets),
        user=known(c.user),
        privileged=bool(c.privileged),
        readonly_root_filesystem=bool(c.readonly_root_filesystem),
        ulimits=tuple(
            Ulimit(_ulimit_name(u.name), _limit(u.soft_limit), _limit(u.hard_limit)) for u in c.ulimits
        ),
        linux_parameters=_linux(c.linux_parameters),
        log_driver=known(driver),
        host_volumes=tuple(v.name for v in c.volumes if isinstance(v, batch.HostVolume)),
        essential=bool(getattr(c, "essential", True)),
        depends_on=tuple((name, cond.value) for name, cond in dict(getattr(c, "depends_on", {})).items()),
        firelens=firelens.type if firelens is not None else None,
        repository_credentials=c.repository_credentials is not None,
        log_options=tuple(
            (k, v) for k, v in (options or {}).items() if isinstance(v, str) and not is_unresolved(v)
        ),
        firelens_options=tuple(firelens.options.items()) if firelens is not None else (),
        secret_sources=secret_sources,
        efs_volumes=tuple(v.name for v in c.volumes if isinstance(v, batch.EfsVolume)),
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
    return log_of(definition)[0]


def log_of(definition: batch.IEcsContainerDefinition) -> tuple[str | None, Mapping[str, str]]:
    """The log driver the L2 bound for ``definition`` and its options (one jsii get)."""
    config: ecs.LogDriverConfig | None = getattr(definition, "log_driver_config", None)
    if config is None:
        return None, {}
    return config.log_driver, dict(config.options or {})
