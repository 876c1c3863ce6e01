"""Job queues, fair-share scheduling policies and consumable resources as the rules see them (CDK-free).

``JobQueue``, ``SageMakerTrainingQueue``, the queue importers, ``ConsumableResource`` and the L2 describer
translate what they know into these values; the rules in :mod:`cdk_batchkit.model.rules.queues` and
:mod:`cdk_batchkit.model.rules.consumables` are functions of them. None is unknown (or a CDK token).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .values import is_unresolved


@dataclass(frozen=True)
class FairSharePolicy:
    """A fair-share scheduling policy (CreateSchedulingPolicy ``fairsharePolicy``).

    ``shares`` pairs each share identifier (``ID``, or a prefix ``ID*``) with its weight factor, in the
    order given (a list may name an identifier twice; a mapping cannot).
    """

    shares: tuple[tuple[str, float], ...] = ()
    share_decay_seconds: float | None = None
    compute_reservation: int | None = None

    @staticmethod
    def of(
        shares: Mapping[str, float] | Sequence[tuple[str, float]],
        *,
        share_decay_seconds: float | None = None,
        compute_reservation: int | None = None,
    ) -> FairSharePolicy:
        pairs = tuple(shares.items()) if isinstance(shares, Mapping) else tuple(shares)
        return FairSharePolicy(pairs, share_decay_seconds, compute_reservation)

    @staticmethod
    def from_api(policy: Mapping[str, Any]) -> FairSharePolicy:
        """Parse a ``fairsharePolicy`` (CreateSchedulingPolicy, camelCase) or ``FairsharePolicy``
        (``AWS::Batch::SchedulingPolicy``, PascalCase)."""

        def get(data: Any, camel: str) -> Any:
            if not isinstance(data, Mapping):
                return None
            return data.get(camel, data.get(camel[0].upper() + camel[1:]))

        shares = []
        for entry in get(policy, "shareDistribution") or []:
            ident, weight = get(entry, "shareIdentifier"), get(entry, "weightFactor")
            if isinstance(ident, str):
                shares.append((ident, weight))
        decay, reservation = get(policy, "shareDecaySeconds"), get(policy, "computeReservation")
        return FairSharePolicy(
            tuple(shares),
            None if decay is None or is_unresolved(decay) else float(decay),
            None if reservation is None or is_unresolved(reservation) else int(reservation),
        )

    @property
    def share_identifiers(self) -> tuple[str, ...] | None:
        """The identifiers the policy lists (None when one of them is a token: not all known)."""
        idents = tuple(ident for ident, _ in self.shares)
        return None if any(is_unresolved(i) for i in idents) else idents


@dataclass(frozen=True)
class QueueSettings:
    """A job queue's own settings (CreateJobQueue): name, priority and job state time limits
    ``(prop, seconds)`` (None: a token)."""

    name: str | None = None
    priority: int | None = None
    state_time_limits: tuple[tuple[str, float | None], ...] = ()


@dataclass(frozen=True)
class ConsumableResourceSettings:
    """A consumable resource (CreateConsumableResource): its total quantity, name and tags."""

    total_quantity: Any = None
    name: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
