"""Consumable resources: finite things jobs hold while they run (licence seats, an API's quota).

Declared once (:class:`ConsumableResource`), then referenced by job definitions
(``consumable_resources={licences: 1}``, rendered as ``ConsumableResourceProperties``, which the L2 job
definitions do not offer) and by submit paths (a per-submission ``consumableResourcePropertiesOverride``).
Batch keeps a job RUNNABLE until every unit it asks for is free, so a job asking for more than a
resource's total would never start: that fails synth (BK-R1).

https://docs.aws.amazon.com/batch/latest/userguide/resource-aware-scheduling.html
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Token
from aws_cdk import aws_batch as batch
from constructs import Construct

from ..model import ConsumableRequest, check_consumables
from ..model.queues import ConsumableResourceSettings
from ..model.rules import consumable_resource_values
from ._validation import default_child, fail, is_token, node_path, report

ConsumableResourceType = batch.ConsumableResourceType


class ConsumableResource(Construct):
    """A Batch consumable resource: ``total_quantity`` units that jobs hold while they run.

    ``ConsumableResource(self, "Licences", total_quantity=4)``; then
    ``ContainerJobDefinition(..., consumable_resources={licences: 1})``. Attributes: ``resource`` (the L2
    ``batch.ConsumableResource``), ``consumable_resource_arn``, ``consumable_resource_name``,
    ``total_quantity``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        total_quantity: int,
        resource_type: batch.ConsumableResourceType = batch.ConsumableResourceType.REPLENISHABLE,
        consumable_resource_name: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        """
        :param total_quantity: the units available (a whole number, at least 0). A job definition or
            submission asking for more fails synth.
        :param resource_type: REPLENISHABLE (units come back when a job ends: licence seats) or
            NON_REPLENISHABLE (units are used up: a monthly quota). Default: REPLENISHABLE, Batch's default.
        :param consumable_resource_name: physical name, unique in the account and Region; changing it (or
            the type) replaces the resource. Default: generated.
        :param tags: at most 50; keys 1-128 and values at most 256 characters, neither starting with
            ``aws:``. Default: no tags of its own.
        """
        super().__init__(scope, construct_id)
        tags = dict(tags or {})
        settings = ConsumableResourceSettings(total_quantity, consumable_resource_name, tags)
        report(self, consumable_resource_values(settings))
        #: The L2 consumable resource.
        self.resource = batch.ConsumableResource(
            self,
            "Resource",
            total_quantity=total_quantity,
            resource_type=resource_type,
            consumable_resource_name=consumable_resource_name,
            tags=tags or None,
        )
        #: The units available (None when it is a token).
        self.total_quantity: int | None = None if is_token(total_quantity) else int(total_quantity)

    @property
    def consumable_resource_arn(self) -> str:
        return self.resource.consumable_resource_arn

    @property
    def consumable_resource_name(self) -> str:
        return self.resource.consumable_resource_name


#: What job definitions and submit paths accept as a consumable resource.
ConsumableLike = ConsumableResource | batch.IConsumableResource


def _describe(resource: Any) -> tuple[str, str, int | None]:
    """(ARN, label, total quantity or None) of ours, an L2 one defined in the app, or an imported one."""
    if isinstance(resource, ConsumableResource):
        return resource.consumable_resource_arn, node_path(resource), resource.total_quantity
    if not hasattr(resource, "consumable_resource_arn"):
        raise TypeError(
            f"{resource!r} is not a consumable resource (ConsumableResource or batch.IConsumableResource)"
        )
    total = None
    cfn = default_child(resource)
    if isinstance(cfn, batch.CfnConsumableResource) and not Token.is_unresolved(cfn.total_quantity):
        total = int(cfn.total_quantity)
    return resource.consumable_resource_arn, node_path(resource), total


def consumable_requests(
    scope: Construct, prop: str, requested: Mapping[Any, int] | None
) -> tuple[tuple[str, ...], tuple[ConsumableRequest, ...]]:
    """Check ``{resource: quantity}`` (BK-R1, BK-R2) and return the resources' ARNs and the requests."""
    arns: list[str] = []
    requests: list[ConsumableRequest] = []
    for resource, quantity in (requested or {}).items():
        arn, label, total = _describe(resource)
        arns.append(arn)
        requests.append(ConsumableRequest(label, quantity, total))
    why = check_consumables(requests)
    if why is not None:
        fail(scope, prop, {r.resource: r.quantity for r in requests}, why)
    return tuple(arns), tuple(requests)


def cfn_consumables(
    arns: tuple[str, ...], requests: tuple[ConsumableRequest, ...]
) -> batch.CfnJobDefinition.ConsumableResourcePropertiesProperty:
    """A job definition's ``ConsumableResourceProperties``."""
    return batch.CfnJobDefinition.ConsumableResourcePropertiesProperty(
        consumable_resource_list=[
            batch.CfnJobDefinition.ConsumableResourceRequirementProperty(
                consumable_resource=arn, quantity=r.quantity
            )
            for arn, r in zip(arns, requests, strict=True)
        ]
    )
