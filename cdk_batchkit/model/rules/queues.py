"""Queue rules.

Composition (BK-Q1 to BK-Q5, BK-I1, BK-I2, BK-V3) takes a queue's ordered environments, ``(label, profile or
None)`` pairs, and returns a reason or None; BK-Q6 says what the queue renders. The queue's own settings
(BK-Q8 to BK-Q10), an importer's ARN (BK-Q7) and its fair-share policy (BK-S4, BK-S6, BK-S7) are value rules
that yield problems.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ..limits import (
    MAX_COMPUTE_RESERVATION,
    MAX_ENVIRONMENTS_PER_QUEUE,
    MAX_QUEUE_PRIORITY,
    MAX_SHARE_DECAY_SECONDS,
    MAX_SHARE_IDENTIFIER,
    MAX_STUCK_SECONDS,
    MAX_WEIGHT,
    MIN_QUEUE_PRIORITY,
    MIN_STUCK_SECONDS,
    MIN_WEIGHT,
    SHARE_IDENTIFIER,
)
from ..profiles import (
    ComputeProfile,
    Orchestration,
)
from ..queues import FairSharePolicy, QueueSettings
from ..values import is_unresolved
from ._registry import Problem, rule
from .compute import apply, name_problems

Environments = Sequence[tuple[str, ComputeProfile | None]]

_CREATE_QUEUE = "https://docs.aws.amazon.com/batch/latest/APIReference/API_CreateJobQueue.html"


# -- queue composition --------------------------------------------------------------------------------
@rule(
    "BK-Q1",
    "A job queue has 1 to 3 compute environments.",
    f"{_CREATE_QUEUE} (computeEnvironmentOrder: up to three compute environments)",
)
def queue_environment_count(envs: Environments) -> str | None:
    if not 1 <= len(envs) <= MAX_ENVIRONMENTS_PER_QUEUE:
        return f"needs 1 to {MAX_ENVIRONMENTS_PER_QUEUE} environments (Batch limit), got {len(envs)}"
    return None


@rule(
    "BK-Q2", "A job queue lists each compute environment once.", f"{_CREATE_QUEUE} (computeEnvironmentOrder)"
)
def queue_no_duplicates(envs: Environments) -> str | None:
    names = [name for name, _ in envs]
    twice = sorted({n for n in names if names.count(n) > 1})
    return f"lists an environment twice ({', '.join(twice)})" if twice else None


@rule(
    "BK-Q3",
    "A job queue's environments are all EC2 (EC2/SPOT) or all Fargate (FARGATE/FARGATE_SPOT).",
    f"{_CREATE_QUEUE} (EC2 and Fargate compute environments can't be mixed)",
)
def queue_one_provisioning(envs: Environments) -> str | None:
    # ECS Managed Instances and service environments have rules of their own (BK-I1, BK-V3).
    kinds = {p.kind.provisioning for _, p in envs if p is not None} & {"EC2", "FARGATE"}
    return "mixes Fargate and EC2 environments (Batch rejects it)" if len(kinds) > 1 else None


@rule(
    "BK-Q4",
    "A job queue's environments are all ECS or all EKS.",
    f"{_CREATE_QUEUE} (compute environments of one orchestration type: ECS or EKS)",
)
def queue_one_orchestration(envs: Environments) -> str | None:
    kinds = {p.kind.orchestration for _, p in envs if p is not None} & {Orchestration.ECS, Orchestration.EKS}
    return "mixes ECS and EKS environments (Batch rejects it)" if len(kinds) > 1 else None


@rule(
    "BK-Q5",
    "A job queue's EC2 environments share one CPU architecture.",
    f"{_CREATE_QUEUE} (all compute environments of a job queue must share the same architecture)",
)
def queue_one_architecture(envs: Environments) -> str | None:
    archs = {
        p.architecture for _, p in envs if p is not None and not p.kind.fargate and p.architecture is not None
    }
    if len(archs) > 1:
        return (
            "mixes CPU architectures "
            + ", ".join(sorted(a.value for a in archs))
            + " (Batch rejects it, and one image cannot run on both)"
        )
    return None


_MI_QUEUES = "https://docs.aws.amazon.com/batch/latest/userguide/ecs-managed-instances-job-queues.html"


@rule(
    "BK-I1",
    "A job queue's ECS Managed Instances environments are not mixed with EC2 or Fargate environments.",
    f"{_MI_QUEUES} (you cannot mix Amazon ECS Managed Instances compute environments with Fargate or "
    "Amazon EC2 compute environments in the same job queue)",
)
def queue_managed_instances_alone(envs: Environments) -> str | None:
    kinds = {p.kind.managed_instances for _, p in envs if p is not None and not p.kind.service}
    if len(kinds) > 1:
        return "mixes ECS Managed Instances environments with EC2 or Fargate environments (Batch rejects it)"
    return None


@rule(
    "BK-I2",
    "In a job queue of ECS Managed Instances environments, every on-demand environment comes before any "
    "Spot one.",
    f"{_MI_QUEUES} (Spot compute environments cannot be ordered before On-Demand compute environments)",
)
def queue_managed_instances_on_demand_first(envs: Environments) -> str | None:
    seen_spot = None
    for name, p in envs:
        if p is None or not p.kind.managed_instances:
            continue
        if p.spot:
            seen_spot = seen_spot or name
        elif seen_spot is not None:
            return (
                f"orders the Spot ECS Managed Instances environment {seen_spot} before the on-demand one "
                f"{name} (Batch requires on-demand environments first)"
            )
    return None


@rule(
    "BK-V3",
    "A job queue has either service environments (SageMaker Training) or compute environments, never both.",
    f"{_CREATE_QUEUE} (a job queue can't have both a serviceEnvironmentOrder and a computeEnvironmentOrder)",
)
def queue_service_or_compute(envs: Environments) -> str | None:
    kinds = {p.kind.service for _, p in envs if p is not None}
    if len(kinds) > 1:
        return "mixes service environments with compute environments (Batch rejects it)"
    return None


@rule(
    "BK-Q6",
    "A queue of ECS Managed Instances environments renders JobQueueType ECS_MANAGED_INSTANCES; other queues "
    "render none (the property is create-only: adding it to an existing queue replaces the queue).",
    f"{_CREATE_QUEUE} (jobQueueType) and "
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-batch-jobqueue.html "
    "(JobQueueType: update requires replacement)",
)
def queue_type(envs: Environments) -> str | None:
    """The ``JobQueueType`` a queue of ``envs`` renders (None: none)."""
    known = [p for _, p in envs if p is not None]
    if known and all(p.kind.managed_instances for p in known):
        return "ECS_MANAGED_INSTANCES"
    return None


QUEUE_RULES = (
    queue_environment_count,
    queue_no_duplicates,
    queue_one_provisioning,
    queue_one_orchestration,
    queue_one_architecture,
    queue_managed_instances_alone,
    queue_managed_instances_on_demand_first,
    queue_service_or_compute,
)


def check_queue(envs: Environments) -> list[tuple[str, str]]:
    """Every queue composition problem as ``(rule id, reason)``."""
    found = []
    for check in QUEUE_RULES:
        why = check(envs)
        if why is not None:
            found.append((check.rule_id, why))  # type: ignore[attr-defined]
    return found


# -- a queue's own settings ----------------------------------------------------------------------------
@rule(
    "BK-Q8",
    "A job queue's priority is 0-1,000.",
    f"{_CREATE_QUEUE} (priority: must be between 0 and 1000)",
)
def queue_priority(settings: QueueSettings) -> Iterator[Problem]:
    value = settings.priority
    if (
        value is not None
        and not is_unresolved(value)
        and not MIN_QUEUE_PRIORITY <= value <= MAX_QUEUE_PRIORITY
    ):
        yield Problem("priority", value, f"must be between {MIN_QUEUE_PRIORITY} and {MAX_QUEUE_PRIORITY}")


@rule(
    "BK-Q9",
    "A job state time limit action waits 600-86,400 seconds.",
    "https://docs.aws.amazon.com/batch/latest/APIReference/API_JobStateTimeLimitAction.html (maxTimeSeconds: "
    "600-86,400)",
)
def queue_state_time_limits(settings: QueueSettings) -> Iterator[Problem]:
    for prop, seconds in settings.state_time_limits:
        plain = seconds is not None and not is_unresolved(seconds)
        if plain and not MIN_STUCK_SECONDS <= seconds <= MAX_STUCK_SECONDS:  # type: ignore[operator]
            yield Problem(
                prop,
                f"{seconds:g} s",
                f"must be between {MIN_STUCK_SECONDS} and {MAX_STUCK_SECONDS} seconds",
            )


@rule(
    "BK-Q10",
    "A job queue name is 1-128 letters, digits, hyphens and underscores.",
    f"{_CREATE_QUEUE} (jobQueueName: up to 128 letters, uppercase and lowercase letters, numbers, "
    "hyphens and underscores)",
)
def queue_name(settings: QueueSettings) -> Iterator[Problem]:
    yield from name_problems("job_queue_name", settings.name, "job queue")


QUEUE_SETTINGS_RULES = (queue_name, queue_priority, queue_state_time_limits)


def check_queue_settings(settings: QueueSettings) -> list[Problem]:
    return apply(QUEUE_SETTINGS_RULES, settings)


# -- importers -----------------------------------------------------------------------------------------
_QUEUE_ARN = "arn:PARTITION:batch:REGION:ACCOUNT:job-queue/NAME"


@rule(
    "BK-Q7",
    "A queue importer (JobQueue.from_job_queue_arn) is given a job queue ARN "
    "(arn:PARTITION:batch:REGION:ACCOUNT:job-queue/NAME), not a name or another resource's ARN.",
    "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsbatch.html (resource type "
    "job-queue: arn:${Partition}:batch:${Region}:${Account}:job-queue/${JobQueueName})",
)
def queue_arn(arn: Any, prop: str = "job_queue_arn") -> Iterator[Problem]:
    if not isinstance(arn, str) or (is_unresolved(arn) and ":" not in arn):
        return
    parts = arn.split(":", 5)
    if parts[0] != "arn" or len(parts) < 6:
        yield Problem(
            prop,
            arn,
            f"is not an ARN: give the queue's ARN ({_QUEUE_ARN}), not its name (or use from_job_queue)",
        )
        return
    service, resource = parts[2], parts[5]
    if not is_unresolved(service) and service != "batch":
        yield Problem(prop, arn, f"is an ARN of {service}, not of an AWS Batch job queue ({_QUEUE_ARN})")
        return
    kind = resource.split("/", 1)[0]
    if is_unresolved(kind):
        return
    if kind != "job-queue":
        yield Problem(prop, arn, f"is a Batch {kind} ARN, not a job queue's ({_QUEUE_ARN})")
    elif not resource.partition("/")[2]:
        yield Problem(prop, arn, f"names no job queue ({_QUEUE_ARN})")


# -- fair-share scheduling policies --------------------------------------------------------------------
_FAIRSHARE = "https://docs.aws.amazon.com/batch/latest/APIReference/API_FairsharePolicy.html"
_SHARE_ATTRIBUTES = "https://docs.aws.amazon.com/batch/latest/APIReference/API_ShareAttributes.html"


@rule(
    "BK-S4",
    "A fair-share policy has at least one share; weights 0.0001-999.9999; decay 0-604,800 s; reservation "
    "0-99 %.",
    f"{_FAIRSHARE} (shareDecaySeconds, computeReservation, shareDistribution) and {_SHARE_ATTRIBUTES} "
    "(weightFactor)",
)
def fair_share_values(policy: FairSharePolicy) -> Iterator[Problem]:
    if not policy.shares:
        yield Problem("shares", {}, "needs at least one share identifier")
    for ident, weight in policy.shares:
        if weight is not None and not is_unresolved(weight) and not MIN_WEIGHT <= weight <= MAX_WEIGHT:
            yield Problem(f"shares[{ident!r}]", weight, f"must be between {MIN_WEIGHT} and {MAX_WEIGHT}")
    decay = policy.share_decay_seconds
    if decay is not None and not is_unresolved(decay) and not 0 <= decay <= MAX_SHARE_DECAY_SECONDS:
        yield Problem(
            "share_decay", f"{decay:g} s", f"must be between 0 and {MAX_SHARE_DECAY_SECONDS} seconds"
        )
    reservation = policy.compute_reservation
    if (
        reservation is not None
        and not is_unresolved(reservation)
        and not 0 <= reservation <= MAX_COMPUTE_RESERVATION
    ):
        yield Problem("compute_reservation", reservation, f"must be between 0 and {MAX_COMPUTE_RESERVATION}")


@rule(
    "BK-S6",
    "A fair-share policy's share identifiers are 1-255 letters and digits, optionally followed by * (a "
    "prefix).",
    f"{_SHARE_ATTRIBUTES} (shareIdentifier: limited to 255 alphanumeric characters, and can be followed "
    "by an asterisk)",
)
def fair_share_identifiers(policy: FairSharePolicy) -> Iterator[Problem]:
    for ident, _ in policy.shares:
        if not is_unresolved(ident) and not SHARE_IDENTIFIER.match(ident):
            yield Problem(
                "shares",
                ident,
                f"share identifiers are 1-{MAX_SHARE_IDENTIFIER} letters and digits, optionally followed "
                "by * (a prefix)",
            )


@rule(
    "BK-S7",
    "A fair-share policy's share identifiers do not overlap: none is listed twice, and a prefix ID* covers "
    "no other entry (UserA* and UserA1 cannot both be listed).",
    f"{_SHARE_ATTRIBUTES} (the list of share identifiers in a fair-share policy can't overlap)",
)
def fair_share_no_overlap(policy: FairSharePolicy) -> Iterator[Problem]:
    idents = [i for i, _ in policy.shares if not is_unresolved(i)]
    for index, first in enumerate(idents):
        for second in idents[index + 1 :]:
            if _overlap(first, second):
                yield Problem(
                    "shares",
                    [first, second],
                    f"{first} and {second} overlap (a fair-share policy's identifiers cannot: a prefix ID* "
                    "covers every identifier starting with ID); merge them or make them distinct",
                )
                return


def _overlap(first: str, second: str) -> bool:
    if first == second:
        return True
    for prefix, other in ((first, second), (second, first)):
        if prefix.endswith("*") and other.rstrip("*").startswith(prefix[:-1]):
            return True
    return False


FAIR_SHARE_RULES = (fair_share_values, fair_share_identifiers, fair_share_no_overlap)


def check_fair_share(policy: FairSharePolicy) -> list[Problem]:
    """Every problem of a fair-share policy (BK-S4, BK-S6, BK-S7)."""
    return apply(FAIR_SHARE_RULES, policy)
