"""What a job definition says, as the rules see it: containers, node ranges and the definition itself.

Plain values, no aws_cdk import. Constructs translate their props (and the L2's) into these; the testing kit
and ``_describe`` parse a RegisterJobDefinition request or a CloudFormation ``AWS::Batch::JobDefinition``
(:meth:`JobSpec.from_api`). A fact that is not known at synth (a token, an asset image) is None and the
rules that need it skip it; they never guess.

Field names follow the props users write (``memory``, ``linux_parameters``...) with the unit added
(``memory_mib``), so a rule names the prop as the user wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .instances import Architecture
from .profiles import ConsumableRequest, JobRequirements, NodeGroup, Platform, SharedMount, SubmitShape

#: A ulimit value meaning "unlimited" (``--ulimit memlock=-1:-1``, what EFA and MPI jobs use).
UNLIMITED = -1


@dataclass(frozen=True)
class Ulimit:
    """A ulimit (``nofile``, ``memlock``...); ``-1`` is unlimited; None: unknown (a token)."""

    name: str
    soft: int | None
    hard: int | None

    @staticmethod
    def rank(limit: int) -> float:
        """``limit`` for comparisons: ``-1`` (unlimited) is above every other value."""
        return float("inf") if limit == UNLIMITED else float(limit)


@dataclass(frozen=True)
class Tmpfs:
    """A tmpfs mount: its container path and size (MiB)."""

    container_path: str | None
    size_mib: float | None


@dataclass(frozen=True)
class LinuxSettings:
    """A container's ``linuxParameters`` (sizes in MiB; devices by host path)."""

    init_process: bool | None = None
    shared_memory_mib: float | None = None
    tmpfs: tuple[Tmpfs, ...] = ()
    devices: tuple[str, ...] = ()
    max_swap_mib: float | None = None
    swappiness: int | None = None


@dataclass(frozen=True)
class ContainerSpec:
    """One container of a job: an ECS container (single, one of a task's, or a node range's) or an EKS
    pod's container.

    Sizes are per container. ``environment`` and ``secrets`` hold variable *names* (values are not rules'
    business). ``image`` is the registry name when known (None for an asset or a token).
    """

    image: str | None = None
    vcpus: float | None = 1.0
    memory_mib: float | None = 2048.0
    gpus: int | None = 0
    #: The container's name (multi-container tasks and EKS pods).
    name: str | None = None
    command: tuple[str, ...] | None = None
    environment: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()
    user: str | None = None
    privileged: bool = False
    readonly_root_filesystem: bool = False
    ulimits: tuple[Ulimit, ...] = ()
    linux_parameters: LinuxSettings | None = None
    #: The log driver (``awslogs``, ``splunk``, ``awsfirelens``...); None: unknown or Batch's default.
    log_driver: str | None = None
    #: Names of host volumes the container mounts (EC2 only).
    host_volumes: tuple[str, ...] = ()
    #: Multi-container tasks: whether the job ends when this container stops.
    essential: bool = True
    #: Multi-container tasks: ``(container name, "START" | "COMPLETE" | "SUCCESS")``.
    depends_on: tuple[tuple[str, str], ...] = ()
    #: Multi-container tasks: the FireLens router type (``fluentbit`` / ``fluentd``) if this one is it.
    firelens: str | None = None
    #: Whether private registry credentials are given.
    repository_credentials: bool = False
    #: The log driver's options (``awsfirelens``: ``Name`` is the router's output plugin).
    log_options: tuple[tuple[str, str], ...] = ()
    #: Multi-container tasks: the FireLens router's own options (``firelensConfiguration.options``).
    firelens_options: tuple[tuple[str, str], ...] = ()
    #: Where each secret (and the registry credentials) is read from: ``secretsmanager`` or ``ssm``.
    secret_sources: tuple[str, ...] = ()
    #: Names of the EFS volumes the container mounts.
    efs_volumes: tuple[str, ...] = ()

    @property
    def log_option_map(self) -> dict[str, str]:
        return dict(self.log_options)


@dataclass(frozen=True)
class NodeRangeSpec:
    """One node range of a multi-node definition as rendered: nodes ``start`` to ``end`` (None: open,
    ``start:``, to the last node) run ``container``."""

    start: int
    end: int | None
    container: ContainerSpec
    #: ``instanceTypes`` of the range (at most one is allowed by Batch); empty: the definition's.
    instance_types: tuple[str, ...] = ()

    @property
    def target_nodes(self) -> str:
        """The range as Batch writes it: ``"0:0"``, ``"1:"``."""
        return f"{self.start}:{'' if self.end is None else self.end}"

    def last(self, num_nodes: int) -> int:
        """The last node index of the range in a job of ``num_nodes`` nodes."""
        return num_nodes - 1 if self.end is None else self.end


#: ``a:b``, ``:b``, ``a:``, ``:`` or ``a`` (NodePropertyOverride/NodeRangeProperty ``targetNodes``).
TARGET_NODES = re.compile(r"^(\d*)(:?)(\d*)$")


def parse_target_nodes(text: str) -> tuple[int, int | None] | None:
    """``"1:3"`` -> ``(1, 3)``, ``"4:"`` -> ``(4, None)``, ``":3"`` -> ``(0, 3)``, ``"2"`` -> ``(2, 2)``;
    None when ``text`` is not a node range. Source:
    https://docs.aws.amazon.com/batch/latest/APIReference/API_NodeRangeProperty.html (targetNodes)."""
    match = TARGET_NODES.match(text or "")
    if match is None or not text:
        return None
    start, colon, end = match.groups()
    if not colon:
        return (int(start), int(start)) if start else None
    return int(start or 0), int(end) if end else None


def node_assignment(ranges: Sequence[NodeRangeSpec], num_nodes: int) -> list[NodeRangeSpec | None]:
    """The range whose properties each node ``0..num_nodes-1`` gets (None: no range covers it).

    Nested ranges: the narrower one overrides ("0:10 and 4:5 ... the 4:5 range properties override the
    0:10 properties"); an open range runs to the last node.
    https://docs.aws.amazon.com/batch/latest/APIReference/API_NodeRangeProperty.html
    """
    found: list[NodeRangeSpec | None] = [None] * num_nodes
    widths: list[int] = [num_nodes + 1] * num_nodes
    for node_range in ranges:
        last = min(node_range.last(num_nodes), num_nodes - 1)
        width = last - node_range.start + 1
        for node in range(node_range.start, last + 1):
            if width < widths[node]:
                found[node], widths[node] = node_range, width
    return found


@dataclass(frozen=True)
class JobSpec:
    """A job definition as the rules see it (any shape; the fields of other shapes stay empty).

    * ``CONTAINER``: ``containers`` holds the one container.
    * ``ECS_TASK``: ``containers`` holds the task's containers; ``override_container`` names the one that
      receives per-submission overrides.
    * ``EKS``: ``containers`` holds the pod's containers.
    * ``NODE``: ``node_ranges`` as rendered, ``num_nodes``, ``main_node``.
    """

    platform: Platform
    shape: SubmitShape = SubmitShape.CONTAINER
    containers: tuple[ContainerSpec, ...] = ()
    node_ranges: tuple[NodeRangeSpec, ...] = ()
    num_nodes: int | None = None
    main_node: int | None = None
    #: Multi-node: the instance type every node is pinned to (``nodeProperties`` level).
    instance_type: str | None = None
    override_container: str | None = None
    #: ``retryStrategy.attempts`` (None: not set, Batch's 1).
    attempts: int | None = None
    #: Number of ``evaluateOnExit`` rules.
    retry_rules: int = 0
    #: ``timeout.attemptDurationSeconds`` (None: none).
    timeout_seconds: float | None = None
    scheduling_priority: int | None = None
    consumables: tuple[ConsumableRequest, ...] = ()
    #: Fargate: whether tasks get a public IP (None: unknown).
    assign_public_ip: bool | None = None
    #: Fargate: the CPU architecture of its tasks (None: unknown or not Fargate).
    architecture: Architecture | None = None
    #: Fargate: ephemeral storage in GiB (None: Fargate's default 20 GiB).
    ephemeral_storage_gib: float | None = None
    #: Shared file systems the containers mount through host volumes.
    shared_mounts: tuple[SharedMount, ...] = ()
    #: Names of the definition's default parameters (``Ref::name`` placeholders).
    parameters: tuple[str, ...] = ()
    propagate_tags: bool = False
    #: For messages: the construct path or ARN.
    label: str = ""
    #: ``ecsProperties.taskProperties[].networkMode`` (ECS Managed Instances: ``host``; None: not set).
    network_mode: str | None = None
    #: Fargate's ``platformVersion`` (None: not set).
    platform_version: str | None = None
    #: Whether previous revisions stay ACTIVE when the definition is updated
    #: (``ResourceRetentionPolicy.SkipDeregisterOnUpdate``; None: unknown).
    keeps_revisions: bool | None = None
    #: Whether the containers run with a job (task) role (None: unknown).
    job_role: bool | None = None
    #: How each container is named among the props, in the order of :meth:`labelled_containers`
    #: (``"container"``, ``"containers[1]"``, ``"node_ranges[0].container"``); empty: from the shape.
    container_props: tuple[str, ...] = ()

    @property
    def nodes(self) -> int:
        return self.num_nodes or 1

    def labelled_containers(self) -> list[tuple[str, ContainerSpec]]:
        """Every container (a node range's too) with the prop that names it in messages."""
        found = (
            [r.container for r in self.node_ranges]
            if self.shape is SubmitShape.NODE
            else list(self.containers)
        )
        if self.container_props and len(self.container_props) == len(found):
            return list(zip(self.container_props, found, strict=True))
        if self.shape is SubmitShape.NODE:
            return [(f"node_ranges[{i}].container", c) for i, c in enumerate(found)]
        if self.shape is SubmitShape.CONTAINER:
            return [("container", c) for c in found]
        return [(f"containers[{i}]", c) for i, c in enumerate(found)]

    def open_range(self) -> int | None:
        """The index of the node range to render open (``n:``), so SubmitJob's numNodes can resize the
        job: among the ranges that end at the last node, the one that starts highest (with nested ranges,
        the innermost one there). None: no range ends at the last node (or the job is not multi-node)."""
        if self.shape is not SubmitShape.NODE or self.num_nodes is None:
            return None
        last = self.num_nodes - 1
        ending = [(r.start, i) for i, r in enumerate(self.node_ranges) if r.end is None or r.end == last]
        return max(ending)[1] if ending else None

    def container_for_overrides(self) -> ContainerSpec | None:
        """The container per-submission overrides go to (ECS_TASK/EKS: by name; else the only one)."""
        if self.override_container is not None:
            return next((c for c in self.containers if c.name == self.override_container), None)
        if self.shape is SubmitShape.ECS_TASK:
            return next((c for c in self.containers if c.essential), None)
        return self.containers[0] if self.containers else None

    def requirements(self) -> JobRequirements | None:
        """What the job asks of compute (the fit rules' input); None when a size is unknown."""
        if self.shape is SubmitShape.NODE:
            return self._node_requirements()
        sizes = [(c.vcpus, c.memory_mib, c.gpus) for c in self.containers]
        if not sizes or any(v is None or m is None or g is None for v, m, g in sizes):
            return None
        return JobRequirements(
            platform=self.platform,
            # A task needs the sum of its containers; an EKS pod too (Batch sums the containers' requests).
            vcpus=sum(float(v or 0) for v, _, _ in sizes),
            memory_mib=int(sum(float(m or 0) for _, m, _ in sizes)),
            gpus=sum(int(g or 0) for _, _, g in sizes),
            assign_public_ip=bool(self.assign_public_ip),
            images=tuple(dict.fromkeys(c.image for c in self.containers if c.image)),
            shared_mounts=self.shared_mounts,
            consumables=self.consumables,
            **_swap_facts(self.containers),
        )

    def _node_requirements(self) -> JobRequirements | None:
        nodes = self.num_nodes
        if nodes is None or not self.node_ranges:
            return None
        assignment = node_assignment(self.node_ranges, nodes)
        groups: dict[int, list[int]] = {}
        for node, node_range in enumerate(assignment):
            if node_range is None:
                return None
            index = next(i for i, r in enumerate(self.node_ranges) if r is node_range)
            groups.setdefault(index, []).append(node)
        node_groups = []
        # In the order the ranges are rendered (consumers pair node_groups with the rendered ranges).
        for index, members in sorted(groups.items()):
            c = self.node_ranges[index].container
            if c.vcpus is None or c.memory_mib is None or c.gpus is None:
                return None
            node_groups.append(NodeGroup(len(members), c.vcpus, int(c.memory_mib), c.gpus, _spans(members)))
        largest = max(node_groups, key=lambda g: (g.vcpus, g.memory_mib, g.gpus))
        return JobRequirements(
            platform=Platform.EC2,
            vcpus=largest.vcpus,
            memory_mib=largest.memory_mib,
            gpus=largest.gpus,
            nodes=nodes,
            instance_type=self.instance_type,
            node_groups=tuple(node_groups) if len(node_groups) > 1 else (),
            images=tuple(dict.fromkeys(r.container.image for r in self.node_ranges if r.container.image)),
            shared_mounts=self.shared_mounts,
            consumables=self.consumables,
            **_swap_facts([r.container for r in self.node_ranges]),
        )

    @staticmethod
    def from_api(props: Mapping[str, Any], *, label: str = "") -> JobSpec:
        """Parse a RegisterJobDefinition request or the ``Properties`` of an ``AWS::Batch::JobDefinition``
        (camelCase or PascalCase). Values that are not plain (intrinsics, tokens) become None."""
        p = camel(props)
        platforms = p.get("platformCapabilities") or ["EC2"]
        if p.get("eksProperties"):
            pod = (p["eksProperties"] or {}).get("podProperties") or {}
            return JobSpec(
                platform=Platform.EKS,
                shape=SubmitShape.EKS,
                containers=tuple(_eks_container(c) for c in pod.get("containers") or []),
                **_common(p, label),
            )
        platform = Platform(platforms[0]) if platforms[0] in Platform._value2member_map_ else Platform.EC2
        if p.get("nodeProperties"):
            nodes = p["nodeProperties"]
            ranges = []
            for item in nodes.get("nodeRangeProperties") or []:
                span = parse_target_nodes(_text(item.get("targetNodes")) or "")
                if span is None:
                    continue
                ranges.append(
                    NodeRangeSpec(
                        span[0],
                        span[1],
                        _ecs_container(item.get("container") or {}),
                        tuple(t for t in item.get("instanceTypes") or [] if isinstance(t, str)),
                    )
                )
            instance = next((r.instance_types[0] for r in ranges if r.instance_types), None)
            return JobSpec(
                platform=Platform.EC2,
                shape=SubmitShape.NODE,
                node_ranges=tuple(ranges),
                num_nodes=_int(nodes.get("numNodes")),
                main_node=_int(nodes.get("mainNode")),
                instance_type=instance,
                **_common(p, label),
            )
        if p.get("ecsProperties"):
            task = ((p["ecsProperties"] or {}).get("taskProperties") or [{}])[0]
            volumes = _volume_kinds(task.get("volumes"))
            return JobSpec(
                platform=platform,
                shape=SubmitShape.ECS_TASK,
                containers=tuple(_ecs_container(c, volumes) for c in task.get("containers") or []),
                network_mode=_text(task.get("networkMode")),
                platform_version=_text(task.get("platformVersion")),
                job_role=bool(task.get("taskRoleArn")),
                **_fargate(task),
                **_common(p, label),
            )
        container = p.get("containerProperties") or {}
        fargate_platform = container.get("fargatePlatformConfiguration") or {}
        return JobSpec(
            platform=platform,
            shape=SubmitShape.CONTAINER,
            containers=(_ecs_container(container, _volume_kinds(container.get("volumes"))),),
            platform_version=_text(fargate_platform.get("platformVersion")),
            job_role=bool(container.get("jobRoleArn")),
            **_fargate(container),
            **_common(p, label),
        )


#: Keys whose values are the user's own maps (names kept as written).
_USER_MAPS = frozenset({"parameters", "tags", "options", "labels", "annotations", "limits", "requests"})


def camel(value: Any) -> Any:
    """Keys of every nested mapping with their first letter lower-cased (CloudFormation -> API); the user's
    own maps (parameters, tags, log options, Kubernetes labels and resources) keep their keys."""
    if isinstance(value, Mapping):
        found = {}
        for k, v in value.items():
            key = k[:1].lower() + k[1:] if isinstance(k, str) else k
            found[key] = v if key in _USER_MAPS else camel(v)
        return found
    if isinstance(value, list | tuple):
        return [camel(v) for v in value]
    return value


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and "${Token[" not in value else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None


def _float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _names(items: Iterable[Any] | None) -> tuple[str, ...]:
    return tuple(str(i.get("name")) for i in items or [] if isinstance(i, Mapping) and _text(i.get("name")))


def _resources(c: Mapping[str, Any]) -> tuple[float | None, float | None, int | None]:
    found: dict[str, Any] = {r.get("type"): r.get("value") for r in c.get("resourceRequirements") or []}
    vcpus = _float(found.get("VCPU", c.get("vcpus")))
    memory = _float(found.get("MEMORY", c.get("memory")))
    gpus = _int(found.get("GPU", 0))
    return vcpus, memory, gpus


def _volume_kinds(volumes: Any) -> dict[str, str]:
    """Volume name -> ``host`` or ``efs`` (others: ``other``)."""
    found: dict[str, str] = {}
    for volume in volumes or []:
        if not isinstance(volume, Mapping) or not _text(volume.get("name")):
            continue
        kind = "efs" if volume.get("efsVolumeConfiguration") else "host" if "host" in volume else "other"
        found[str(volume["name"])] = kind
    return found


def _mounted(c: Mapping[str, Any], volumes: Mapping[str, str], kind: str) -> tuple[str, ...]:
    """Names of ``kind`` volumes the container mounts (a single container: every volume it declares)."""
    if "volumes" in c:
        return tuple(sorted(n for n, k in volumes.items() if k == kind))
    mounts = {str(m.get("sourceVolume")) for m in c.get("mountPoints") or [] if isinstance(m, Mapping)}
    return tuple(sorted(n for n, k in volumes.items() if k == kind and n in mounts))


def _secret_source(value: Any) -> str:
    """``ssm`` or ``secretsmanager``: where a secret's ``valueFrom`` points (an SSM parameter name that is
    not an ARN is SSM)."""
    text = " ".join(_strings(value))
    if ":secretsmanager:" in text:
        return "secretsmanager"
    return "ssm"


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def _options(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, Mapping):
        return ()
    return tuple((str(k), v) for k, v in value.items() if isinstance(v, str) and "${Token[" not in v)


def _ecs_container(c: Mapping[str, Any], volumes: Mapping[str, str] | None = None) -> ContainerSpec:
    vcpus, memory, gpus = _resources(c)
    linux = c.get("linuxParameters")
    log = c.get("logConfiguration") or {}
    volumes = volumes if volumes is not None else _volume_kinds(c.get("volumes"))
    sources = [_secret_source(s.get("valueFrom")) for s in c.get("secrets") or [] if isinstance(s, Mapping)]
    if c.get("repositoryCredentials"):
        sources.append("secretsmanager")
    return ContainerSpec(
        image=_text(c.get("image")),
        vcpus=vcpus,
        memory_mib=memory,
        gpus=gpus,
        name=_text(c.get("name")),
        command=tuple(str(x) for x in c["command"]) if isinstance(c.get("command"), list) else None,
        environment=_names(c.get("environment")),
        secrets=_names(c.get("secrets")),
        user=_text(c.get("user")),
        privileged=c.get("privileged") is True,
        readonly_root_filesystem=c.get("readonlyRootFilesystem") is True,
        ulimits=tuple(
            Ulimit(str(u.get("name")), _int(u.get("softLimit")), _int(u.get("hardLimit")))
            for u in c.get("ulimits") or []
        ),
        linux_parameters=(
            LinuxSettings(
                init_process=linux.get("initProcessEnabled"),
                shared_memory_mib=_float(linux.get("sharedMemorySize")),
                tmpfs=tuple(
                    Tmpfs(_text(t.get("containerPath")), _float(t.get("size")))
                    for t in linux.get("tmpfs") or []
                ),
                devices=tuple(str(d.get("hostPath")) for d in linux.get("devices") or []),
                max_swap_mib=_float(linux.get("maxSwap")),
                swappiness=_int(linux.get("swappiness")),
            )
            if isinstance(linux, Mapping)
            else None
        ),
        log_driver=_text(log.get("logDriver")),
        essential=c.get("essential") is not False,
        depends_on=tuple(
            (str(d.get("containerName")), str(d.get("condition"))) for d in c.get("dependsOn") or []
        ),
        firelens=_text((c.get("firelensConfiguration") or {}).get("type")),
        repository_credentials=bool(c.get("repositoryCredentials")),
        host_volumes=_mounted(c, volumes, "host"),
        efs_volumes=_mounted(c, volumes, "efs"),
        log_options=_options(log.get("options")),
        firelens_options=_options((c.get("firelensConfiguration") or {}).get("options")),
        secret_sources=tuple(sources),
    )


def _eks_container(c: Mapping[str, Any]) -> ContainerSpec:
    resources = c.get("resources") or {}
    requests = resources.get("requests") or resources.get("limits") or {}
    memory = _text(requests.get("memory"))
    security = c.get("securityContext") or {}
    return ContainerSpec(
        image=_text(c.get("image")),
        vcpus=_float(requests.get("cpu")),
        memory_mib=_float(memory[:-2]) if memory and memory.endswith("Mi") else None,
        gpus=_int(requests.get("nvidia.com/gpu", 0)),
        name=_text(c.get("name")),
        command=tuple(str(x) for x in c["command"]) if isinstance(c.get("command"), list) else None,
        environment=_names(c.get("env")),
        privileged=security.get("privileged") is True,
    )


def _fargate(container: Mapping[str, Any]) -> dict[str, Any]:
    network = container.get("networkConfiguration") or {}
    public = network.get("assignPublicIp")
    runtime = container.get("runtimePlatform") or {}
    arch = runtime.get("cpuArchitecture")
    storage = container.get("ephemeralStorage") or {}
    return {
        "assign_public_ip": None if public is None else public == "ENABLED",
        "architecture": (
            Architecture.ARM64 if arch == "ARM64" else Architecture.X86_64 if arch == "X86_64" else None
        ),
        "ephemeral_storage_gib": _float(storage.get("sizeInGiB")),
    }


def _common(p: Mapping[str, Any], label: str) -> dict[str, Any]:
    retry = p.get("retryStrategy") or {}
    timeout = p.get("timeout") or {}
    consumables = (p.get("consumableResourceProperties") or {}).get("consumableResourceList") or []
    return {
        "attempts": _int(retry.get("attempts")),
        "retry_rules": len(retry.get("evaluateOnExit") or []),
        "timeout_seconds": _float(timeout.get("attemptDurationSeconds")),
        "scheduling_priority": _int(p.get("schedulingPriority")),
        "consumables": tuple(
            ConsumableRequest(str(c.get("consumableResource")), q)
            for c in consumables
            if (q := _int(c.get("quantity"))) is not None
        ),
        "parameters": tuple(str(k) for k in (p.get("parameters") or {})),
        "propagate_tags": p.get("propagateTags") is True,
        "label": label or str(p.get("jobDefinitionName") or ""),
        "keeps_revisions": (
            (p["resourceRetentionPolicy"] or {}).get("skipDeregisterOnUpdate") is True
            if isinstance(p.get("resourceRetentionPolicy"), Mapping)
            else None
        ),
    }


def _spans(nodes: Sequence[int]) -> str:
    """``[0, 1, 4, 5]`` -> ``"nodes 0-1, 4-5"`` (for messages)."""
    spans: list[list[int]] = []
    for node in nodes:
        if spans and node == spans[-1][1] + 1:
            spans[-1][1] = node
        else:
            spans.append([node, node])
    return "nodes " + ", ".join(f"{a}-{b}" for a, b in spans)


def _swap_facts(containers: Iterable[ContainerSpec]) -> dict[str, Any]:
    """JobRequirements' swap facts: some container sets ``swappiness``; some may swap (``max_swap`` above
    0)."""
    linux = [c.linux_parameters for c in containers if c.linux_parameters is not None]
    return {
        "swappiness": any(x.swappiness is not None for x in linux),
        "swap": any((x.max_swap_mib or 0) > 0 for x in linux),
    }


__all__ = [
    "ContainerSpec",
    "JobSpec",
    "LinuxSettings",
    "NodeRangeSpec",
    "UNLIMITED",
    "Tmpfs",
    "Ulimit",
    "camel",
    "node_assignment",
    "parse_target_nodes",
]
