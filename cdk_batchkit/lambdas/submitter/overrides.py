"""Where a SubmitJob request carries per-submission overrides, by the job definition's shape (standard
library only: the submitter imports it at cold start, the constructs at synth).

SubmitJob takes one override field per kind of job definition
(https://docs.aws.amazon.com/batch/latest/APIReference/API_SubmitJob.html); Batch rejects the others
("Container overrides should not be set for ecsProperties jobs"):

* ``containerOverrides``: a single-container ECS job (``containerProperties``);
* ``ecsPropertiesOverride.taskProperties[0].containers[]``: a multi-container ECS job, containers by
  ``name`` (https://docs.aws.amazon.com/batch/latest/APIReference/API_TaskContainerOverrides.html);
* ``eksPropertiesOverride.podProperties.containers[]``: an EKS job, ``name`` optional for a
  single-container pod, variables in ``env``
  (https://docs.aws.amazon.com/batch/latest/APIReference/API_EksContainerOverride.html);
* ``nodeOverrides.nodePropertyOverrides[]``: a multi-node job, per ``targetNodes`` range. Batch matches
  each ``targetNodes`` against the definition's own node ranges and refuses any other ("NodeOverride
  targets should match job definition. Non matching targets - ..."), so variables meant for every node are
  sent once per range of the definition, as the construct configures them (``OVERRIDE_TARGET_NODES``);
  ``0:`` only when none are configured
  (https://docs.aws.amazon.com/batch/latest/APIReference/API_NodePropertyOverride.html).

Everything is built in the API's camelCase, as boto3 takes it. (The constructs build their requests
from :class:`cdk_batchkit.model.Submission`, whose ``pascal`` gives Step Functions' and Scheduler's
PascalCase.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

CONTAINER = "containerOverrides"
ECS_TASK = "ecsPropertiesOverride"
EKS = "eksPropertiesOverride"
NODE = "nodeOverrides"
SHAPES = (CONTAINER, ECS_TASK, EKS, NODE)
#: Every node of a multi-node job whose definition's node ranges are not configured.
ALL_NODES = "0:"
CONSUMABLES = "consumableResourcePropertiesOverride"


def environment_list(environment: Mapping[str, str]) -> list[dict[str, Any]]:
    """``{"A": "1"}`` -> ``[{"name": "A", "value": "1"}]`` (the ECS and EKS variable shape)."""
    return [{"name": name, "value": value} for name, value in environment.items()]


def container_fields(
    *,
    environment: Sequence[Mapping[str, Any]] = (),
    command: Sequence[str] | None = None,
    resources: Sequence[Mapping[str, str]] = (),
    instance_type: str | None = None,
) -> dict[str, Any]:
    """The ECS ``ContainerOverrides`` fields that are set."""
    fields: dict[str, Any] = {}
    if command is not None:
        fields["command"] = list(command)
    if environment:
        fields["environment"] = [dict(item) for item in environment]
    if resources:
        fields["resourceRequirements"] = [dict(item) for item in resources]
    if instance_type:
        fields["instanceType"] = instance_type
    return fields


def overrides_for(
    shape: str,
    *,
    container: str | None = None,
    environment: Sequence[Mapping[str, Any]] = (),
    command: Sequence[str] | None = None,
    resources: Sequence[Mapping[str, str]] = (),
    target_nodes: Sequence[str] = (),
) -> dict[str, Any]:
    """``{field: value}`` carrying ``environment``/``command``/``resources`` for a definition of
    ``shape`` (one of :data:`SHAPES`); ``{}`` when there is nothing to override.

    ``container``: the container that receives them (ECS_TASK: required; EKS: optional). EKS takes no
    ``resources`` here (its containers take Kubernetes ``resources``); a caller passing them gets a
    ``ValueError``. ``target_nodes`` (NODE): the definition's node ranges, each sent the same overrides
    (default: ``0:``).
    """
    fields = container_fields(environment=environment, command=command, resources=resources)
    if not fields:
        return {}
    if shape == CONTAINER:
        return {CONTAINER: fields}
    if shape == NODE:
        targets = list(dict.fromkeys(target_nodes)) or [ALL_NODES]
        return {
            NODE: {
                "nodePropertyOverrides": [
                    {"targetNodes": target, CONTAINER: dict(fields)} for target in targets
                ]
            }
        }
    if shape == ECS_TASK:
        if not container:
            raise ValueError("a multi-container ECS job's overrides need the container's name")
        return {ECS_TASK: {"taskProperties": [{"containers": [{"name": container, **fields}]}]}}
    if shape == EKS:
        if resources:
            raise ValueError("EKS containers take no resourceRequirements overrides")
        eks: dict[str, Any] = {"name": container} if container else {}
        if "command" in fields:
            eks["command"] = fields["command"]
        if "environment" in fields:
            eks["env"] = fields["environment"]
        return {EKS: {"podProperties": {"containers": [eks]}}}
    raise ValueError(f"unknown override shape {shape!r}; expected one of {', '.join(SHAPES)}")


def consumables_override(requests: Mapping[str, int]) -> dict[str, Any]:
    """``consumableResourcePropertiesOverride`` for ``{resource ARN or name: quantity}`` (``{}`` if none)."""
    if not requests:
        return {}
    listed = [{"consumableResource": arn, "quantity": quantity} for arn, quantity in requests.items()]
    return {CONSUMABLES: {"consumableResourceList": listed}}
