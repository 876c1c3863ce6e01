"""Submission rules: what one SubmitJob request must carry for its queue, its definition and its path.

Every rule takes a :class:`~cdk_batchkit.model.submission.Submission` and yields problems whose ``prop``
names the submission field. :func:`check_submission` runs them in one order; every submit path (and the
testing kit, on the requests handlers send) calls it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from ..jobs import node_assignment, parse_target_nodes
from ..limits import (
    JOB_NAME,
    MAX_ARRAY_SIZE,
    MAX_ATTEMPTS,
    MAX_DEPENDENCIES,
    MAX_NODES,
    MAX_SCHEDULING_PRIORITY,
    MAX_SHARE_IDENTIFIER,
    MIN_ARRAY_SIZE,
    MIN_ATTEMPT_SECONDS,
    MIN_NODES,
    MIN_SCHEDULING_PRIORITY,
    SHARE_IDENTIFIER,
)
from ..profiles import JobRequirements, NodeGroup, Platform, QueueProfile, SubmitShape
from ..values import is_unresolved
from ._registry import Problem, rule
from .consumables import consumables_well_formed
from .fit import check_fit, fit_consumables
from .names import environment_names

if TYPE_CHECKING:
    from ..submission import Overrides, Submission

_SUBMIT_JOB = "https://docs.aws.amazon.com/batch/latest/APIReference/API_SubmitJob.html"
_NODE_OVERRIDES = "https://docs.aws.amazon.com/batch/latest/APIReference/API_NodeOverrides.html"
_NODE_PROPERTY = "https://docs.aws.amazon.com/batch/latest/APIReference/API_NodePropertyOverride.html"
_CONSUMABLES = (
    "https://docs.aws.amazon.com/batch/latest/userguide/resource-aware-scheduling-how-to-for-jobs.html"
)


def _plain(value: object) -> bool:
    """A value known at synth (not a CDK token rendered into a string or an encoded number)."""
    return not is_unresolved(value)


def share_identifier_matches(queue: QueueProfile, share_identifier: str | None) -> str | None:
    """Why ``share_identifier`` does not suit ``queue`` (BK-S1), or None."""
    if queue.fair_share is True and not share_identifier:
        return (
            "has a fair-share scheduling policy, so SubmitJob requires a share identifier: pass "
            "share_identifier=... to this submit path"
        )
    if queue.fair_share is False and share_identifier:
        return "has no fair-share scheduling policy, so SubmitJob rejects a share identifier: drop it"
    return None


@rule(
    "BK-S1",
    "A job submitted to a queue with a fair-share scheduling policy carries a share identifier; one "
    "submitted to a queue without a policy carries none.",
    f"{_SUBMIT_JOB} (shareIdentifier: required with a fair-share policy, not allowed without one)",
)
def submission_share_required(sub: Submission) -> Iterator[Problem]:
    if sub.queue is None:
        return
    why = share_identifier_matches(sub.queue, sub.share_identifier)
    if why is not None:
        yield Problem("share_identifier", sub.share_identifier, f"job queue {sub.queue_label} {why}")


@rule(
    "BK-S2",
    "A share identifier is 1-255 letters and digits, optionally followed by *; a scheduling priority "
    "override is 0-9999 and only sent with a share identifier.",
    f"{_SUBMIT_JOB} (shareIdentifier, schedulingPriorityOverride)",
)
def submission_share_values(sub: Submission) -> Iterator[Problem]:
    share = sub.share_identifier
    if share is not None and _plain(share) and not SHARE_IDENTIFIER.match(share):
        yield Problem(
            "share_identifier",
            share,
            f"a share identifier is 1-{MAX_SHARE_IDENTIFIER} letters and digits, optionally followed by *",
        )
    priority = sub.scheduling_priority
    if priority is not None and _plain(priority):
        if not MIN_SCHEDULING_PRIORITY <= priority <= MAX_SCHEDULING_PRIORITY:
            yield Problem(
                "scheduling_priority",
                priority,
                f"must be between {MIN_SCHEDULING_PRIORITY} and {MAX_SCHEDULING_PRIORITY}",
            )
        elif not share:
            yield Problem(
                "scheduling_priority", priority, "only applies with a share identifier (fair share)"
            )


@rule(
    "BK-S5",
    "A share identifier that the queue's fair-share policy lists neither exactly nor by a prefix (ID*) is "
    "valid but gets a share of its own with the default weight: a warning.",
    "https://docs.aws.amazon.com/batch/latest/APIReference/API_ShareAttributes.html (shareIdentifier, "
    "prefixes ending in *) and https://docs.aws.amazon.com/batch/latest/userguide/job_scheduling.html",
    warning=True,
)
def submission_share_listed(sub: Submission) -> Iterator[Problem]:
    share = sub.share_identifier
    listed = sub.queue.share_identifiers if sub.queue is not None else None
    if not share or not _plain(share) or listed is None:
        return
    for entry in listed:
        if entry == share or (entry.endswith("*") and share.startswith(entry[:-1])):
            return
    yield Problem(
        "share_identifier",
        share,
        f"job queue {sub.queue_label}'s fair-share policy lists no share {share!r} (nor a prefix of it: "
        f"{', '.join(listed) or 'none'}), so its jobs form a share of their own with the default weight",
    )


@rule(
    "BK-U1",
    "S3JobRule (an EventBridge Batch target) submits single-container definitions only: BatchParameters and "
    "the target input carry containerOverrides and no other override field.",
    f"https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_BatchParameters.html and {_SUBMIT_JOB}",
)
def submission_path_shape(sub: Submission) -> Iterator[Problem]:
    from ..submission import SubmitPath

    if (
        sub.path is SubmitPath.EVENTBRIDGE
        and sub.job is not None
        and sub.job.shape is not SubmitShape.CONTAINER
    ):
        yield Problem(
            "job_definition",
            sub.job_label,
            f"takes {sub.job.shape.value} ({sub.job.shape.name}), and an EventBridge Batch target can send "
            "only containerOverrides; use S3JobSubmitter, which sends every override shape",
        )


@rule(
    "BK-S3",
    "S3JobRule (an EventBridge Batch target) cannot submit to a fair-share queue: BatchParameters have no "
    "share identifier, which SubmitJob then requires.",
    "https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_BatchParameters.html",
)
def submission_path_share(sub: Submission) -> Iterator[Problem]:
    from ..submission import SubmitPath

    if sub.path is not SubmitPath.EVENTBRIDGE:
        return
    if sub.share_identifier or (sub.queue is not None and sub.queue.fair_share):
        yield Problem(
            "job_queue",
            sub.queue_label,
            "has a fair-share scheduling policy, and an EventBridge Batch target cannot send the share "
            "identifier SubmitJob then requires; use S3JobSubmitter(share_identifier=...)",
        )


@rule(
    "BK-R4",
    "A submission overrides only the consumable resources its definition requests (when known).",
    f"{_CONSUMABLES} and {_SUBMIT_JOB} (consumableResourcePropertiesOverride)",
)
def submission_consumables(sub: Submission) -> Iterator[Problem]:
    if not sub.consumables:
        return
    why = consumables_well_formed(sub.consumables)
    if why is not None:
        yield Problem("consumable_resources", [c.resource for c in sub.consumables], why, rule="BK-R2")
        return
    if sub.job is not None and sub.job_described:
        names = [c.resource for c in sub.job.consumables]
        known = {c.resource for c in sub.job.consumables} | {c.arn for c in sub.job.consumables if c.arn}
        for request in sub.consumables:
            if request.resource not in known and (request.arn is None or request.arn not in known):
                yield Problem(
                    "consumable_resources",
                    request.resource,
                    f"job definition {sub.job_label} requests "
                    + (", ".join(names) if names else "no consumable resources")
                    + "; a submission overrides only the quantities of those (add the resource to the "
                    "definition's consumable_resources)",
                )
    from ..profiles import JobRequirements, Platform

    over = fit_consumables(JobRequirements(Platform.EC2, 1, 4, consumables=sub.consumables))
    if over is not None:
        yield Problem("consumable_resources", [c.quantity for c in sub.consumables], over, rule="BK-R1")


@rule(
    "BK-O1",
    "Per-submission overrides go in the field of the definition's shape (containerOverrides, "
    "ecsPropertiesOverride to a named container, eksPropertiesOverride, nodeOverrides); EKS jobs take no "
    "vCPU, memory or GPU overrides; override environment names follow BK-T12.",
    f"{_SUBMIT_JOB} and https://docs.aws.amazon.com/batch/latest/APIReference/"
    "API_TaskContainerOverrides.html and "
    "https://docs.aws.amazon.com/batch/latest/APIReference/API_EksContainerOverride.html",
)
def submission_override_shape(sub: Submission) -> Iterator[Problem]:
    for problem in environment_names([n for n, _ in sub.overrides.environment]):
        yield problem.under("overrides")
    for index, override in enumerate(sub.node_overrides):
        for problem in environment_names([n for n, _ in override.overrides.environment]):
            yield problem.under(f"node_overrides[{index}]")
    job = sub.job
    if job is None or sub.overrides.empty:
        return
    if job.shape is SubmitShape.EKS and sub.overrides.resized:
        yield Problem(
            "overrides.resources",
            job.label or sub.job_label,
            "is an EKS definition: Batch on EKS takes no vCPU, memory or GPU overrides here (set the "
            "container's resources in the definition)",
        )
    if job.shape is SubmitShape.ECS_TASK and job.container_for_overrides() is None:
        yield Problem(
            "job_definition",
            sub.job_label,
            "is a multi-container ECS definition whose override container is unknown: SubmitJob's "
            "ecsPropertiesOverride names the container it overrides (pass override_container=... when "
            "importing it)",
        )


@rule(
    "BK-O3",
    "Node overrides go only to multi-node definitions, and each override's targetNodes is exactly one of "
    'the definition\'s node ranges (Batch: "NodeOverride targets should match job definition"); overrides '
    "meant for every node are sent once per range of the definition.",
    f"{_NODE_PROPERTY} (targetNodes) and https://docs.aws.amazon.com/batch/latest/APIReference/"
    "API_NodeRangeProperty.html",
)
def submission_node_targets(sub: Submission) -> Iterator[Problem]:
    job = sub.job
    if not sub.node_overrides and sub.num_nodes is None:
        return
    if job is not None and job.shape is not SubmitShape.NODE:
        yield Problem(
            "node_overrides",
            sub.job_label,
            f"is not a multi-node definition (it takes {job.shape.value}); node_overrides and num_nodes "
            "apply to multi-node parallel jobs only",
        )
        return
    ranges = [r.target_nodes for r in job.node_ranges] if job is not None else []
    for index, override in enumerate(sub.node_overrides):
        if parse_target_nodes(override.target_nodes) is None:
            yield Problem(
                f"node_overrides[{index}].target_nodes",
                override.target_nodes,
                "use 'a:b', ':b', 'a:' or 'a' (node indexes), as the definition's node ranges are written",
            )
        elif ranges and override.target_nodes not in ranges:
            yield Problem(
                f"node_overrides[{index}].target_nodes",
                override.target_nodes,
                f"matches none of the node ranges of {sub.job_label} ({', '.join(ranges)}); Batch refuses "
                'such overrides ("NodeOverride targets should match job definition"): target one of them',
            )


@rule(
    "BK-O2",
    "num_nodes is 2-1,000, only with a definition that has an open node range (n:), and above its main "
    "node and every range's start.",
    f"{_NODE_OVERRIDES} (numNodes)",
)
def submission_num_nodes(sub: Submission) -> Iterator[Problem]:
    num = sub.num_nodes
    if num is None or not _plain(num):
        return
    if not MIN_NODES <= num <= MAX_NODES:
        yield Problem("num_nodes", num, f"must be between {MIN_NODES} and {MAX_NODES}")
        return
    job = sub.job
    if job is None or job.shape is not SubmitShape.NODE or not job.node_ranges:
        return
    if all(r.end is not None for r in job.node_ranges):
        yield Problem(
            "num_nodes",
            num,
            f"job definition {sub.job_label} has only closed node ranges "
            f"({', '.join(r.target_nodes for r in job.node_ranges)}); SubmitJob's numNodes needs a range "
            "with an open upper boundary (n:) in the definition",
        )
        return
    low = max([job.main_node or 0, *(r.start for r in job.node_ranges)])
    if num <= low:
        yield Problem(
            "num_nodes",
            num,
            f"must be above the main node and every range's start in {sub.job_label} (at least {low + 1})",
        )


@rule(
    "BK-O4",
    "An array size is 2-10,000, and a multi-node definition is never submitted as an array job (Batch: "
    '"Multinode Array Job not supported").',
    "https://docs.aws.amazon.com/batch/latest/APIReference/API_ArrayProperties.html and "
    "https://docs.aws.amazon.com/batch/latest/userguide/multi-node-parallel-jobs.html (multi-node parallel "
    "jobs aren't supported as array jobs)",
)
def submission_array(sub: Submission) -> Iterator[Problem]:
    from ..submission import FromInput, SubmitPath

    size = sub.array_size
    if size is None:
        return
    if isinstance(size, bool) or (
        isinstance(size, int) and _plain(size) and not MIN_ARRAY_SIZE <= size <= MAX_ARRAY_SIZE
    ):
        yield Problem("array_size", size, f"must be between {MIN_ARRAY_SIZE} and {MAX_ARRAY_SIZE}")
    if sub.job is not None and sub.job.shape is SubmitShape.NODE:
        yield Problem(
            "array_size",
            f"$.{size.field}" if isinstance(size, FromInput) else size,
            f"{sub.job_label} is a multi-node parallel definition, and Batch refuses multi-node array jobs "
            '("Multinode Array Job not supported"): submit one job per input'
            + (
                " (SubmitMode.PER_OBJECT, the default for multi-node definitions)"
                if sub.path is SubmitPath.LAMBDA
                else ""
            ),
        )


_RESOURCES = "https://docs.aws.amazon.com/batch/latest/APIReference/API_ResourceRequirement.html"
#: Fields BK-U1 (override shapes) and BK-S3 (the share identifier) already judge on an EventBridge path.
_SHAPE_FIELDS = frozenset(
    {
        "containerOverrides",
        "ecsPropertiesOverride",
        "eksPropertiesOverride",
        "nodeOverrides",
        "shareIdentifier",
    }
)


@rule(
    "BK-U3",
    "A submission sends only fields its path can carry: an EventBridge Batch target (S3JobRule) sends the "
    "job "
    "definition, name, array properties, retry strategy, parameters and containerOverrides, nothing else.",
    "https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_BatchParameters.html and "
    "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html (Batch job queue targets)",
)
def submission_path_fields(sub: Submission) -> Iterator[Problem]:
    from ..submission import EVENTBRIDGE_FIELDS, FIELD_PROPS

    for name in sub.uncarried():
        if name in _SHAPE_FIELDS:
            continue
        yield Problem(
            FIELD_PROPS.get(name, name),
            name,
            f"an EventBridge Batch target cannot send {name} (it sends "
            f"{', '.join(sorted(EVENTBRIDGE_FIELDS))}); "
            "use S3JobSubmitter, which sends every SubmitJob field",
        )


def _number(value: object) -> float | None:
    """A plain number (not a token, not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float) or is_unresolved(value):
        return None
    return float(value)


def _ec2_sizes(prop: str, overrides: Overrides) -> Iterator[Problem]:
    vcpus = _number(overrides.vcpus)
    if vcpus is not None and (vcpus < 1 or vcpus != int(vcpus)):
        yield Problem(
            f"{prop}.vcpus", overrides.vcpus, "EC2 jobs and nodes take a whole number of vCPUs, at least 1"
        )
    memory = _number(overrides.memory_mib)
    if memory is not None and memory < 4:
        yield Problem(f"{prop}.memory", f"{memory:g} MiB", "must be at least 4 MiB")
    gpus = overrides.gpus
    if gpus is not None and _number(gpus) is not None and gpus < 0:
        yield Problem(f"{prop}.gpus", gpus, "must not be negative")


@rule(
    "BK-O5",
    "Overridden sizes are ones Batch accepts: on EC2 (single containers and every node range) whole vCPUs, "
    "at least 1, and at least 4 MiB of memory; on Fargate the job with the override applied still has a "
    "vCPU/memory pair from Batch's table (BK-J3, the definition's own rule, applied to the overridden job).",
    f"{_RESOURCES} (VCPU, MEMORY) and {_NODE_PROPERTY}",
)
def submission_override_sizes(sub: Submission) -> Iterator[Problem]:
    for index, override in enumerate(sub.node_overrides):
        yield from _ec2_sizes(f"node_overrides[{index}]", override.overrides)
    # The platform as bound (a definition imported without requirements: unknown, not judged); multi-node
    # jobs run on EC2 only.
    platform = sub.requirements.platform if sub.requirements is not None else None
    if sub.shape is SubmitShape.NODE or (sub.shape is SubmitShape.CONTAINER and platform is Platform.EC2):
        yield from _ec2_sizes("overrides", sub.overrides)
    if platform is Platform.FARGATE and sub.job is not None and sub.overrides.resized:
        yield from _fargate_override(sub)


def _fargate_override(sub: Submission) -> Iterator[Problem]:
    """BK-J3 on the job as overridden: the override container takes the new vCPUs/memory."""
    from .jobs import fargate_size

    job = sub.job
    target = job.container_for_overrides() if job is not None else None
    if job is None or target is None:
        return
    o = sub.overrides
    changed = replace(
        target,
        vcpus=o.vcpus if o.vcpus is not None else target.vcpus,
        memory_mib=o.memory_mib if o.memory_mib is not None else target.memory_mib,
    )
    overridden = replace(job, containers=tuple(changed if c is target else c for c in job.containers))
    for problem in fargate_size(overridden):
        if problem.prop.endswith((".vcpus", ".memory")) or problem.prop == "containers":
            field = problem.prop.rsplit(".", 1)[-1] if "." in problem.prop else "vcpus/memory"
            yield replace(problem, prop=f"overrides.{field}")


@rule(
    "BK-W1",
    "A submission's retry strategy has 1-10 attempts, its attempt timeout is at least 60 s, and it depends "
    "on "
    "at most 20 jobs (a workflow step on at most 20 steps).",
    "https://docs.aws.amazon.com/batch/latest/APIReference/API_RetryStrategy.html and "
    "https://docs.aws.amazon.com/batch/latest/APIReference/API_JobTimeout.html and "
    f"{_SUBMIT_JOB} (dependsOn: up to 20)",
)
def submission_limits(sub: Submission) -> Iterator[Problem]:
    if sub.depends_on > MAX_DEPENDENCIES:
        yield Problem(
            "depends_on",
            sub.depends_on,
            f"at most {MAX_DEPENDENCIES} dependencies per job (SubmitJob dependsOn)",
        )
    attempts = _number(sub.attempts)
    if attempts is not None and not 1 <= attempts <= MAX_ATTEMPTS:
        yield Problem("attempts", sub.attempts, f"must be between 1 and {MAX_ATTEMPTS}")
    timeout = _number(sub.timeout_seconds)
    if timeout is not None and timeout < MIN_ATTEMPT_SECONDS:
        yield Problem("timeout", f"{timeout:g} s", f"must be at least {MIN_ATTEMPT_SECONDS} seconds")


@rule(
    "BK-E2",
    "Job names are 1-128 letters, digits, - and _, starting with a letter or digit; job parameters (and a "
    "workflow's input, which becomes every step's parameters) are strings.",
    f"{_SUBMIT_JOB} (jobName, parameters: String to string map)",
)
def job_name_and_parameters(
    job_name: str | None, parameters: Mapping[str, object], *, parameters_prop: str = "parameters"
) -> Iterator[Problem]:
    if isinstance(job_name, str) and _plain(job_name) and not JOB_NAME.match(job_name):
        yield Problem(
            "job_name",
            job_name,
            "Batch job names are 1-128 letters, digits, '-' and '_', starting with a letter or digit",
        )
    for key, value in parameters.items():
        if not isinstance(value, str):
            yield Problem(f"{parameters_prop}[{key!r}]", value, "Batch job parameters are strings")


def submission_job_name(sub: Submission) -> list[Problem]:
    """BK-E2 on a submission's job name and parameters."""
    return job_name_and_parameters(sub.job_name, sub.parameters)  # type: ignore[return-value]


def _fit_problem(
    prop: str, requirements: JobRequirements, sub: Submission, members: list[int] | None = None
) -> Iterator[Problem]:
    assert sub.queue is not None
    result = check_fit(requirements, sub.queue.environments)
    if result.fits:
        return
    where = f"nodes {members[0]}-{members[-1]}: " if members else ""
    yield Problem(
        prop,
        f"{where}{requirements.vcpus:g} vCPUs, {requirements.memory_mib} MiB",
        f"can never run on job queue {sub.queue_label}: " + "; ".join(result.problems),
    )


@rule(
    "BK-W2",
    "A job with its per-submission overrides (vCPUs, memory, GPUs, node overrides, numNodes) can still leave "
    "RUNNABLE on its queue: every overridden node group alone, and all nodes together.",
    f"https://docs.aws.amazon.com/batch/latest/userguide/job_stuck_in_runnable.html and {_NODE_OVERRIDES}",
)
def submission_fit(sub: Submission) -> Iterator[Problem]:
    base, queue = sub.requirements, sub.queue
    if base is None or queue is None:
        return
    if sub.shape is SubmitShape.NODE:
        yield from _node_fit(sub, base)
        return
    o = sub.overrides
    if not o.resized or sub.shape is SubmitShape.EKS:
        return
    if any(v is not None and _number(v) is None for v in (o.vcpus, o.memory_mib, o.gpus)):
        return  # a token: known at deploy time only
    vcpus, memory, gpus = base.vcpus, float(base.memory_mib), base.gpus
    if sub.shape is SubmitShape.ECS_TASK:
        # A task needs the sum of its containers: swap the override container's size for the new one.
        chosen = sub.job.container_for_overrides() if sub.job is not None else None
        if chosen is None or chosen.vcpus is None or chosen.memory_mib is None:
            return
        vcpus += (o.vcpus if o.vcpus is not None else chosen.vcpus) - chosen.vcpus
        memory += (o.memory_mib if o.memory_mib is not None else chosen.memory_mib) - chosen.memory_mib
        gpus += (o.gpus if o.gpus is not None else int(chosen.gpus or 0)) - int(chosen.gpus or 0)
    else:
        vcpus = o.vcpus if o.vcpus is not None else vcpus
        memory = o.memory_mib if o.memory_mib is not None else memory
        gpus = o.gpus if o.gpus is not None else gpus
    resized = replace(base, vcpus=float(vcpus), memory_mib=int(memory), gpus=int(gpus))
    yield from _fit_problem("overrides.resources", resized, sub)


#: A node's size: vCPUs, memory (MiB), GPUs and the instance type it is pinned to.
_NodeSize = tuple[float, int, int, str | None]


def _node_fit(sub: Submission, base: JobRequirements) -> Iterator[Problem]:
    """Every node with its overrides applied, grouped by size, against the queue (each changed group
    alone: its size and pinned type; then all nodes together: maxvCpus)."""
    sized = [o for o in sub.node_overrides if o.overrides.resized or o.overrides.instance_type]
    if not sized and sub.num_nodes is None:
        return
    count = _node_count(sub, base)
    sizes = _range_sizes(sub, base, count)
    changed = _override_nodes(sub, sizes, count)
    if changed is None:
        return  # a token: known at deploy time only
    groups: dict[_NodeSize, list[int]] = {}
    for n, size in enumerate(sizes):
        groups.setdefault(size, []).append(n)
    for (vcpus, memory, gpus, itype), members in groups.items():
        touched = [changed[n] for n in members if n in changed]
        if not touched:
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
        yield from _fit_problem(touched[0], one, sub, members)
    node_groups = tuple(
        NodeGroup(len(members), v, m, g, f"nodes {members[0]}-{members[-1]}")
        for (v, m, g, _), members in groups.items()
    )
    whole = replace(base, nodes=count, node_groups=node_groups if len(node_groups) > 1 else ())
    if len(node_groups) == 1:
        group = node_groups[0]
        whole = replace(whole, vcpus=group.vcpus, memory_mib=group.memory_mib, gpus=group.gpus)
    yield from _fit_problem("node_overrides" if sized else "num_nodes", whole, sub, list(range(count)))


def _node_count(sub: Submission, base: JobRequirements) -> int:
    """The nodes of the job: the submission's ``numNodes``, else the definition's."""
    nodes = _number(sub.num_nodes)
    if nodes is not None:
        return int(nodes)
    job = sub.job
    return job.num_nodes if job and job.num_nodes else base.nodes


def _range_sizes(sub: Submission, base: JobRequirements, count: int) -> list[_NodeSize]:
    """Each node's size before the overrides: its node range's container (the job's size otherwise)."""
    sizes: list[_NodeSize] = [(base.vcpus, base.memory_mib, base.gpus, base.instance_type)] * count
    ranges = sub.job.node_ranges if sub.job is not None else ()
    if not ranges or not base.node_groups or len(base.node_groups) != len(ranges):
        return sizes
    for node, node_range in enumerate(node_assignment(ranges, count)):
        if node_range is not None:
            g = base.node_groups[ranges.index(node_range)]
            sizes[node] = (g.vcpus, g.memory_mib, g.gpus, base.instance_type)
    return sizes


def _override_nodes(sub: Submission, sizes: list[_NodeSize], count: int) -> dict[int, str] | None:
    """Apply the node overrides that resize or pin nodes to ``sizes``; returns node -> the prop that changed
    it (None when a size is a token)."""
    ranges = sub.job.node_ranges if sub.job is not None else ()
    assignment = node_assignment(ranges, count) if ranges else [None] * count
    first_index: dict[str, int] = {}
    for index, override in enumerate(sub.node_overrides):
        first_index.setdefault(override.target_nodes, index)
    changed: dict[int, str] = {}
    for target, o in sub.node_property_overrides():
        if not (o.resized or o.instance_type):
            continue
        if any(v is not None and _number(v) is None for v in (o.vcpus, o.memory_mib, o.gpus)):
            return None
        span = parse_target_nodes(target)
        if span is None:
            continue
        if ranges:
            members = [n for n, r in enumerate(assignment) if r is not None and r.target_nodes == target]
        else:
            last = count - 1 if span[1] is None else min(span[1], count - 1)
            members = list(range(span[0], last + 1))
        prop = f"node_overrides[{first_index[target]}]" if target in first_index else "node_overrides"
        for n in members:
            sizes[n] = _overridden(sizes[n], o)
            changed[n] = prop
    return changed


def _overridden(size: _NodeSize, o: Overrides) -> _NodeSize:
    """``size`` with the vCPUs, memory, GPUs and instance type ``o`` sets."""
    vcpus, memory, gpus, itype = size
    return (
        float(o.vcpus) if o.vcpus is not None else vcpus,
        int(o.memory_mib) if o.memory_mib is not None else memory,
        int(o.gpus) if o.gpus is not None else gpus,
        o.instance_type or itype,
    )


#: Every submission rule, in the order they are run.
SUBMISSION_RULES = (
    submission_path_shape,
    submission_path_share,
    submission_path_fields,
    submission_share_required,
    submission_share_values,
    submission_share_listed,
    submission_consumables,
    submission_override_shape,
    submission_override_sizes,
    submission_node_targets,
    submission_num_nodes,
    submission_array,
    submission_limits,
    submission_job_name,
    submission_fit,
)


def check_submission(sub: Submission) -> list[Problem]:
    found: list[Problem] = []
    for check in SUBMISSION_RULES:
        found.extend(check(sub))
    return found
