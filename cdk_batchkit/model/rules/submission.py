"""Submission rules: what one SubmitJob request must carry for its queue, its definition and its path.

Every rule takes a :class:`~cdk_batchkit.model.submission.Submission` and yields problems whose ``prop``
names the submission field. :func:`check_submission` runs them in one order; every submit path (and the
testing kit, on the requests handlers send) calls it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..limits import (
    MAX_ARRAY_SIZE,
    MAX_NODES,
    MAX_SCHEDULING_PRIORITY,
    MAX_SHARE_IDENTIFIER,
    MIN_ARRAY_SIZE,
    MIN_NODES,
    MIN_SCHEDULING_PRIORITY,
)
from ..profiles import QueueProfile, SubmitShape
from ..values import is_unresolved
from ._registry import Problem, rule
from .consumables import consumables_well_formed
from .fit import fit_consumables
from .names import environment_names

if TYPE_CHECKING:
    from ..submission import Submission

_SUBMIT_JOB = "https://docs.aws.amazon.com/batch/latest/APIReference/API_SubmitJob.html"
_NODE_OVERRIDES = "https://docs.aws.amazon.com/batch/latest/APIReference/API_NodeOverrides.html"
_NODE_PROPERTY = "https://docs.aws.amazon.com/batch/latest/APIReference/API_NodePropertyOverride.html"
_CONSUMABLES = (
    "https://docs.aws.amazon.com/batch/latest/userguide/resource-aware-scheduling-how-to-for-jobs.html"
)

#: SubmitJob ``shareIdentifier``: "limited to 255 alphanumeric characters, and can be followed by an
#: asterisk (*)".
SHARE_IDENTIFIER = re.compile(rf"^[A-Za-z0-9]{{1,{MAX_SHARE_IDENTIFIER}}}\*?$")


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
            f"takes {sub.job.shape.value}, but an EventBridge Batch target sends only containerOverrides; "
            "use S3JobSubmitter, which sends every override shape",
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
    if sub.job is not None:
        known = {c.resource: c for c in sub.job.consumables}
        for request in sub.consumables:
            if request.resource not in known:
                yield Problem(
                    "consumable_resources",
                    request.resource,
                    f"job definition {sub.job_label} requests "
                    + (", ".join(known) if known else "no consumable resources")
                    + "; a submission overrides only the quantities of those",
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
    names = [n for n, _ in sub.overrides.environment]
    names += [n for o in sub.node_overrides for n, _ in o.overrides.environment]
    for problem in environment_names(names):
        yield problem.under("overrides")
    job = sub.job
    if job is None or sub.overrides.empty:
        return
    if job.shape is SubmitShape.EKS and sub.overrides.resized:
        yield Problem(
            "overrides",
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
    if job is None or not job.node_ranges:
        return
    ranges = [r.target_nodes for r in job.node_ranges]
    for index, override in enumerate(sub.node_overrides):
        if override.target_nodes not in ranges:
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
    size = sub.array_size
    if size is None:
        return
    if isinstance(size, int) and _plain(size) and not MIN_ARRAY_SIZE <= size <= MAX_ARRAY_SIZE:
        yield Problem("array_size", size, f"must be between {MIN_ARRAY_SIZE} and {MAX_ARRAY_SIZE}")
    if sub.job is not None and sub.job.shape is SubmitShape.NODE:
        yield Problem(
            "array_size",
            size,
            f"{sub.job_label} is a multi-node parallel definition, and Batch refuses multi-node array jobs "
            '("Multinode Array Job not supported"): submit one job per input',
        )


#: Every submission rule, in the order they are run.
SUBMISSION_RULES = (
    submission_path_shape,
    submission_path_share,
    submission_share_required,
    submission_share_values,
    submission_share_listed,
    submission_consumables,
    submission_override_shape,
    submission_node_targets,
    submission_num_nodes,
    submission_array,
)


def check_submission(sub: Submission) -> list[Problem]:
    found: list[Problem] = []
    for check in SUBMISSION_RULES:
        found.extend(check(sub))
    return found
