"""Consumable resource requests (BK-R2; BK-R1 is a fit rule)."""

from __future__ import annotations

from collections.abc import Sequence

from ..limits import MAX_CONSUMABLES_PER_JOB
from ..profiles import (
    ConsumableRequest,
    JobRequirements,
    Platform,
)
from ._registry import rule
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
