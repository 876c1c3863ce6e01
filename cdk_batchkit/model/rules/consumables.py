"""Consumable resources (BK-R3) and requests for them (BK-R2; BK-R1 is a fit rule)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ..limits import MAX_CONSUMABLES_PER_JOB
from ..profiles import (
    ConsumableRequest,
    JobRequirements,
    Platform,
)
from ..queues import ConsumableResourceSettings
from ..values import is_unresolved
from ._registry import Problem, rule
from .compute import tag_problems
from .fit import _CONSUMABLES_FOR_JOBS, fit_consumables


@rule(
    "BK-R2",
    "A job (definition or submission) names at most 5 consumable resources, each once, each with a whole "
    "quantity of at least 1.",
    f"{_CONSUMABLES_FOR_JOBS} (up to 5 resources for each job) and "
    "https://docs.aws.amazon.com/batch/latest/APIReference/API_ConsumableResourceRequirement.html (quantity: "
    "Long)",
)
def consumables_well_formed(requests: Sequence[ConsumableRequest]) -> str | None:
    if len(requests) > MAX_CONSUMABLES_PER_JOB:
        return (
            f"names {len(requests)} consumable resources; Batch allows up to {MAX_CONSUMABLES_PER_JOB} a job"
        )
    names = [c.resource for c in requests]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        return f"names consumable resource {', '.join(twice)} twice"
    bad = [
        c
        for c in requests
        if isinstance(c.quantity, bool) or not isinstance(c.quantity, int) or c.quantity < 1
    ]
    if bad:
        return (
            f"requests {bad[0].quantity!r} of {bad[0].resource}: a quantity is a whole number of at least 1 "
            "(drop a resource the job does not need)"
        )
    return None


def check_consumables(requests: Sequence[ConsumableRequest]) -> str | None:
    """The first problem with a job's consumable resource requests (BK-R2, then BK-R1), or None."""
    why = consumables_well_formed(requests)
    if why is None:
        why = fit_consumables(JobRequirements(Platform.EC2, 1, 4, consumables=tuple(requests)))
    return why


_CREATE = "https://docs.aws.amazon.com/batch/latest/APIReference/API_CreateConsumableResource.html"


@rule(
    "BK-R3",
    "A consumable resource's total quantity is a whole number of at least 0 and its name is not empty; at "
    "most 50 tags, keys 1-128 and values at most 256 characters, no aws: prefix.",
    f"{_CREATE} (totalQuantity: Long, must be non-negative; consumableResourceName: required; tags) and "
    "https://docs.aws.amazon.com/batch/latest/userguide/tag-restrictions.html",
)
def consumable_resource_values(settings: ConsumableResourceSettings) -> Iterator[Problem]:
    total = settings.total_quantity
    if total is not None and not is_unresolved(total):
        if isinstance(total, bool) or not isinstance(total, int | float):
            yield Problem("total_quantity", total, "must be a whole number")
        elif total != int(total):
            yield Problem("total_quantity", f"{total:g} units", "must be a whole number of units")
        elif total < 0:
            yield Problem("total_quantity", total, "must be non-negative (CreateConsumableResource)")
    name = settings.name
    if name is not None and not is_unresolved(name) and not name.strip():
        yield Problem("consumable_resource_name", name, "must not be empty")
    yield from tag_problems(settings.tags)
