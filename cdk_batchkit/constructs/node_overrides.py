"""Node overrides: what one submission of a multi-node parallel job changes, per range of nodes.

SubmitJob's ``nodeOverrides`` (https://docs.aws.amazon.com/batch/latest/APIReference/API_NodeOverrides.html)
carries ``numNodes`` and a list of ``nodePropertyOverrides``, each a ``targetNodes`` range (``0:3``,
``:3``, ``4:``; https://docs.aws.amazon.com/batch/latest/APIReference/API_NodePropertyOverride.html)
with ``containerOverrides`` (command, environment, resources, ``instanceType``). A workflow step takes
them as :class:`NodeOverride` values; they are checked here at synth: the ranges against the job's
nodes, ``num_nodes`` against Batch's conditions, and every overridden node against the queue (BK-O2).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from aws_cdk import Size, Stack, Token
from aws_cdk import aws_batch as batch
from constructs import Construct

from ..model import JobRequirements, NodeGroup, SubmitShape, check_fit
from ..model.limits import MAX_NODES, MIN_NODES
from ._binding import DefinitionRef, QueueRef
from ._validation import check_range, fail, is_token

_OVERRIDES = "https://docs.aws.amazon.com/batch/latest/APIReference/API_NodeOverrides.html"
_PROPERTY = "https://docs.aws.amazon.com/batch/latest/APIReference/API_NodePropertyOverride.html"
#: ``a:b``, ``:b``, ``a:``, ``:`` or a single index.
TARGET_NODES = re.compile(r"^(\d*)(:?)(\d*)$")


@dataclass(frozen=True)
class NodeOverride:
    """What one submission changes for the nodes ``target_nodes`` of a multi-node job.

    :param target_nodes: ``"0:3"`` (nodes 0 to 3), ``":3"``, ``"4:"`` (4 to the last), ``"0"``.
        Default: ``"0:"``, every node.
    :param command: the nodes' command. Default: the definition's.
    :param environment: extra environment variables. Default: none.
    :param environment_from_input: environment variable -> workflow input field. Default: none.
    :param vcpus: vCPUs per node (whole, at least 1). Default: the definition's.
    :param memory: memory per node. Default: the definition's.
    :param instance_type: the instance type these nodes run on (``containerOverrides.instanceType``).
        Default: the definition's.
    """

    target_nodes: str = "0:"
    command: Sequence[str] | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    environment_from_input: Mapping[str, str] = field(default_factory=dict)
    vcpus: float | None = None
    memory: Size | None = None
    instance_type: str | None = None


@dataclass(frozen=True)
class _Ranges:
    """A definition's node layout as rendered: main node, numNodes and (start, end or None) ranges."""

    main_node: int
    num_nodes: int
    ranges: tuple[tuple[int, int | None], ...]


def _span(text: str) -> tuple[int, int | None] | None:
    match = TARGET_NODES.match(text or "")
    if match is None or text == "":
        return None
    start, colon, end = match.groups()
    if not colon:
        return (int(start), int(start)) if start else None
    return int(start or 0), int(end) if end else None


def rendered_ranges(job: DefinitionRef) -> _Ranges | None:
    """The node layout of a definition rendered in this app (ours or the L2's); None when unknown."""
    cfn = job.resource.node.default_child
    if not isinstance(cfn, batch.CfnJobDefinition) or cfn.node_properties is None:
        return None
    rendered = Stack.of(cfn).resolve(cfn.node_properties)
    if not isinstance(rendered, dict):
        return None
    try:
        spans = [_span(r["targetNodes"]) for r in rendered.get("nodeRangeProperties", [])]
        main, num = int(rendered["mainNode"]), int(rendered["numNodes"])
    except (KeyError, TypeError, ValueError):
        return None
    if any(s is None for s in spans):
        return None
    ranges = [s for s in spans if s is not None]
    if job.open_last_node_range and ranges:
        # Rendered through a property override, which the L2's node_properties does not show.
        ranges[-1] = (ranges[-1][0], None)
    return _Ranges(main, num, tuple(ranges))


def check_node_overrides(
    scope: Construct,
    prop: str,
    job: DefinitionRef,
    queue: QueueRef,
    overrides: Sequence[NodeOverride],
    num_nodes: int | None,
) -> None:
    """BK-O2 (and BK-O1: only multi-node definitions take node overrides)."""
    if not overrides and num_nodes is None:
        return
    if job.shape is not SubmitShape.NODE:
        fail(
            scope,
            f"{prop}.node_overrides",
            job.label,
            f"is not a multi-node definition (it takes {job.shape.value}); node_overrides and num_nodes "
            "apply to multi-node parallel jobs only",
        )
    layout = rendered_ranges(job)
    nodes = layout.num_nodes if layout else job.requirements.nodes if job.requirements else None
    if num_nodes is not None:
        check_range(scope, f"{prop}.num_nodes", num_nodes, MIN_NODES, MAX_NODES)
        if layout is not None and not is_token(num_nodes):
            if all(end is not None for _, end in layout.ranges):
                fail(
                    scope,
                    f"{prop}.num_nodes",
                    num_nodes,
                    f"job definition {job.label} has only closed node ranges "
                    f"({', '.join(f'{s}:{e}' for s, e in layout.ranges)}); SubmitJob's numNodes needs a "
                    "range with an open upper boundary (n:) in the definition",
                )
            low = max([layout.main_node, *(s for s, _ in layout.ranges)])
            if num_nodes <= low:
                fail(
                    scope,
                    f"{prop}.num_nodes",
                    num_nodes,
                    f"must be above the main node and every range's start in {job.label} "
                    f"(at least {low + 1})",
                )
        nodes = num_nodes
    for index, override in enumerate(overrides):
        where = f"{prop}.node_overrides[{index}]"
        span = _span(override.target_nodes)
        if span is None:
            fail(scope, f"{where}.target_nodes", override.target_nodes, "use 'a:b', ':b', 'a:' or 'a'")
        assert span is not None
        start, end = span
        if nodes is not None and not (start <= (nodes - 1 if end is None else end) <= nodes - 1):
            fail(
                scope,
                f"{where}.target_nodes",
                override.target_nodes,
                f"the job has nodes 0-{nodes - 1}; a range runs from a start to an end within them",
            )
        vcpus = override.vcpus
        if vcpus is not None and not is_token(vcpus) and (vcpus < 1 or vcpus != int(vcpus)):
            fail(
                scope,
                f"{where}.vcpus",
                override.vcpus,
                "EC2 nodes take a whole number of vCPUs, at least 1",
            )
        mib = override.memory.to_mebibytes() if override.memory is not None else None
        if mib is not None and not is_token(mib) and mib < 4:
            fail(scope, f"{where}.memory", f"{mib:g} MiB", "must be at least 4 MiB")
    if job.requirements is not None and queue.profile is not None and nodes is not None:
        _check_fit(scope, prop, job, queue, overrides, nodes, layout)


def _check_fit(
    scope: Construct,
    prop: str,
    job: DefinitionRef,
    queue: QueueRef,
    overrides: Sequence[NodeOverride],
    nodes: int,
    layout: _Ranges | None,
) -> None:
    """Every node with its overrides applied, grouped by size, against the queue."""
    base = job.requirements
    assert base is not None and queue.profile is not None
    sizes: list[tuple[float, int, int, str | None]] = [
        (base.vcpus, base.memory_mib, base.gpus, base.instance_type)
    ] * nodes
    if layout is not None and base.node_groups and len(base.node_groups) == len(layout.ranges):
        for group, (start, end) in zip(base.node_groups, layout.ranges, strict=True):
            for n in range(start, min(nodes - 1 if end is None else end, nodes - 1) + 1):
                sizes[n] = (group.vcpus, group.memory_mib, group.gpus, base.instance_type)
    changed: dict[int, int] = {}
    for index, override in enumerate(overrides):
        start, end = _span(override.target_nodes) or (0, None)
        for n in range(start, (nodes - 1 if end is None else end) + 1):
            vcpus, memory, gpus, itype = sizes[n]
            sizes[n] = (
                override.vcpus if override.vcpus is not None else vcpus,
                int(override.memory.to_mebibytes()) if override.memory is not None else memory,
                gpus,
                override.instance_type or itype,
            )
            changed[n] = index
    if any(is_token(v) or is_token(m) for v, m, _, _ in sizes):
        return
    groups: dict[tuple[float, int, int, str | None], list[int]] = {}
    for n, size in enumerate(sizes):
        groups.setdefault(size, []).append(n)
    node_groups = tuple(
        NodeGroup(len(members), v, m, g, f"nodes {members[0]}-{members[-1]}")
        for (v, m, g, _), members in groups.items()
    )
    # Each group alone (its size and pinned type), then all nodes together (maxvCpus).
    for (vcpus, memory, gpus, itype), members in groups.items():
        if not any(n in changed for n in members):
            continue
        one = replace(
            base,
            vcpus=vcpus,
            memory_mib=memory,
            gpus=gpus,
            instance_type=itype,
            nodes=len(members),
            node_groups=(),
        )
        _fail_unless_fits(scope, f"{prop}.node_overrides[{changed[members[0]]}]", one, queue, members)
    whole = replace(base, nodes=nodes, node_groups=node_groups if len(node_groups) > 1 else ())
    if len(node_groups) == 1:
        group = node_groups[0]
        whole = replace(whole, vcpus=group.vcpus, memory_mib=group.memory_mib, gpus=group.gpus)
    _fail_unless_fits(scope, f"{prop}.node_overrides", whole, queue, list(range(nodes)))


def _fail_unless_fits(
    scope: Construct, prop: str, requirements: JobRequirements, queue: QueueRef, members: list[int]
) -> None:
    assert queue.profile is not None
    result = check_fit(requirements, queue.profile.environments)
    if not result.fits:
        fail(
            scope,
            prop,
            f"nodes {members[0]}-{members[-1]}: {requirements.vcpus:g} vCPUs, {requirements.memory_mib} MiB",
            f"can never run on job queue {queue.label}: " + "; ".join(result.problems),
        )


def resource_requirements(vcpus: float | None, memory: Size | None) -> list[dict[str, str]]:
    """``resourceRequirements`` entries for a vCPU/memory override (what SubmitJob recommends over the
    deprecated ``vcpus``/``memory`` fields)."""
    found = []
    if vcpus is not None:
        found.append(
            {"type": "VCPU", "value": f"{vcpus:g}" if not is_token(vcpus) else Token.as_string(vcpus)}
        )
    if memory is not None:
        found.append({"type": "MEMORY", "value": f"{int(memory.to_mebibytes())}"})
    return found


def environment_entries(
    environment: Mapping[str, str], from_input: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Environment variables for a Step Functions Batch task: fixed values, and ``value.$`` JSONPaths
    reading the workflow input (the task resolves them before calling SubmitJob)."""
    entries: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in environment.items()]
    entries += [{"name": k, "value.$": f"$.{v}"} for k, v in from_input.items()]
    return entries
