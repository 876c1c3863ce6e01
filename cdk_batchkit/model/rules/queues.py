"""Queue composition rules (BK-Q1 to BK-Q5, BK-I1, BK-I2, BK-V3): they take a queue's ordered environments,
``(label, profile or None)`` pairs, and return a reason or None."""

from __future__ import annotations

from collections.abc import Sequence

from ..limits import MAX_ENVIRONMENTS_PER_QUEUE
from ..profiles import (
    ComputeProfile,
    Orchestration,
)
from ._registry import rule

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
