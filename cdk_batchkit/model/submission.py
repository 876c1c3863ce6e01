"""One submission: what every submit path sends to SubmitJob, as one value checked by one set of rules.

``S3JobSubmitter`` (a Lambda calling the SDK), ``S3JobRule`` (an EventBridge Batch target), ``JobSchedule``
(EventBridge Scheduler's universal target) and a workflow ``Step`` (Step Functions) each build a
:class:`Submission` from their props, the queue's :class:`~cdk_batchkit.model.QueueProfile` and the
definition's :class:`~cdk_batchkit.model.jobs.JobSpec`, then

* :meth:`Submission.check` runs every submission rule once, in one order (fair share, consumables,
  overrides and their shape, node overrides against the definition's ranges, array size, what the path
  can carry, the fit of the job with its overrides), and
* :meth:`Submission.request` gives the SubmitJob fields (camelCase, as the API and boto3 take them;
  ``pascal`` them for Step Functions and Scheduler), without ``jobName``, ``jobQueue`` and
  ``jobDefinition``, which the path fills in.

The testing kit builds the same value from a request a handler sent (:meth:`Submission.from_request`) and
runs the same rules, so what Batch enforces and moto does not (share identifiers, consumable quantities,
node-override targets) fails a user's test as it would fail in AWS. Nothing here imports aws_cdk; values
are opaque (a CDK token is just a string here).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .jobs import JobSpec
from .profiles import ConsumableRequest, QueueProfile, SubmitShape


class SubmitPath(Enum):
    """How a submission reaches SubmitJob, which decides the fields it can carry."""

    #: ``S3JobSubmitter``: a Lambda function calling SubmitJob through the SDK (every field).
    LAMBDA = "S3JobSubmitter"
    #: ``S3JobRule``: an EventBridge rule's Batch target (``BatchParameters``: job definition, name, array
    #: properties, retry strategy; ``containerOverrides`` through the target input). No share identifier,
    #: no other override field.
    #: https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_BatchParameters.html
    EVENTBRIDGE = "S3JobRule"
    #: ``JobSchedule``: EventBridge Scheduler's universal target ``aws-sdk:batch:submitJob`` (every field).
    SCHEDULER = "JobSchedule"
    #: A workflow ``Step``: Step Functions (the optimized ``batch:submitJob.sync`` integration or the SDK
    #: integration with a polling loop, whichever can carry the submission).
    STEP_FUNCTIONS = "Step"
    #: A request a handler sent, checked by the testing kit.
    REQUEST = "SubmitJob"


@dataclass(frozen=True)
class Overrides:
    """Per-submission changes to one container (ECS ``containerOverrides``, one container of a task's
    ``ecsPropertiesOverride``, an EKS container of ``eksPropertiesOverride``, or a node range's).

    ``environment`` pairs names with opaque values (a string, a CDK token, a JSONPath the path resolves).
    """

    command: tuple[str, ...] | None = None
    environment: tuple[tuple[str, Any], ...] = ()
    vcpus: float | None = None
    memory_mib: float | None = None
    gpus: int | None = None
    instance_type: str | None = None

    @property
    def empty(self) -> bool:
        return (
            self.command is None
            and not self.environment
            and self.vcpus is None
            and self.memory_mib is None
            and self.gpus is None
            and self.instance_type is None
        )

    @property
    def resized(self) -> bool:
        return self.vcpus is not None or self.memory_mib is not None or self.gpus is not None


@dataclass(frozen=True)
class NodeOverrideSpec:
    """The overrides of the nodes ``target_nodes`` (``"0:"``, ``"1:3"``) of a multi-node job."""

    target_nodes: str
    overrides: Overrides = field(default_factory=Overrides)


#: ``array_size`` decided at run time (a workflow input field, an object count): bounds not checked here.
RUNTIME = "runtime"


@dataclass(frozen=True)
class Submission:
    """One SubmitJob request as every rule sees it.

    ``queue`` / ``job`` are None when unknown (imported without a profile): the rules that need them are
    skipped (the caller warns). ``overrides`` go to the field of the definition's shape
    (:attr:`JobSpec.shape`); for a multi-node definition they go to every node range of the definition
    (``targetNodes`` exactly as the definition writes them) unless ``node_overrides`` are given.
    """

    path: SubmitPath
    queue: QueueProfile | None
    job: JobSpec | None
    queue_label: str = "the job queue"
    job_label: str = "the job definition"
    share_identifier: str | None = None
    scheduling_priority: int | None = None
    #: ``consumableResourcePropertiesOverride``: resource (ARN or name) and quantity, as the definition
    #: names them.
    consumables: tuple[ConsumableRequest, ...] = ()
    overrides: Overrides = field(default_factory=Overrides)
    node_overrides: tuple[NodeOverrideSpec, ...] = ()
    num_nodes: int | None = None
    #: An int, :data:`RUNTIME` (decided when submitting), or None (not an array job).
    array_size: int | str | None = None
    depends_on: int = 0
    attempts: int | None = None
    timeout_seconds: float | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    def check(self) -> list[Any]:
        """Every problem of every submission rule (``model.rules.submission.SUBMISSION_RULES``), in order.
        Each is a :class:`~cdk_batchkit.model.rules.Problem` whose ``prop`` names the submission field
        (``share_identifier``, ``node_overrides[0].target_nodes``...)."""
        from .rules.submission import check_submission

        return check_submission(self)

    # -- the request ---------------------------------------------------------------------------------
    def node_targets(self) -> tuple[str, ...]:
        """The ``targetNodes`` the submission's node overrides use: those given, or (overrides for every
        node) each of the definition's own ranges, since Batch refuses targets that do not match one."""
        if self.node_overrides:
            return tuple(o.target_nodes for o in self.node_overrides)
        if self.job is not None and self.job.node_ranges:
            return tuple(r.target_nodes for r in self.job.node_ranges)
        return ("0:",)

    def request(self) -> dict[str, Any]:
        """The SubmitJob fields this submission sets (camelCase), except jobName/jobQueue/jobDefinition."""
        found: dict[str, Any] = {}
        if self.share_identifier is not None:
            found["shareIdentifier"] = self.share_identifier
        if self.scheduling_priority is not None:
            found["schedulingPriorityOverride"] = self.scheduling_priority
        if isinstance(self.array_size, int):
            found["arrayProperties"] = {"size": self.array_size}
        if self.attempts is not None:
            found["retryStrategy"] = {"attempts": self.attempts}
        if self.timeout_seconds is not None:
            found["timeout"] = {"attemptDurationSeconds": int(self.timeout_seconds)}
        if self.tags:
            found["tags"] = dict(self.tags)
        if self.consumables:
            found["consumableResourcePropertiesOverride"] = {
                "consumableResourceList": [
                    {"consumableResource": c.resource, "quantity": c.quantity} for c in self.consumables
                ]
            }
        found.update(self._override_fields())
        return found

    def _override_fields(self) -> dict[str, Any]:
        shape = self.job.shape if self.job is not None else SubmitShape.CONTAINER
        if shape is SubmitShape.NODE:
            overrides = [
                (o.target_nodes, o.overrides) for o in self.node_overrides if not o.overrides.empty
            ] or ([(t, self.overrides) for t in self.node_targets()] if not self.overrides.empty else [])
            node: dict[str, Any] = {}
            if self.num_nodes is not None:
                node["numNodes"] = self.num_nodes
            if overrides:
                node["nodePropertyOverrides"] = [
                    {"targetNodes": target, "containerOverrides": container_fields(o)}
                    for target, o in overrides
                ]
            return {"nodeOverrides": node} if node else {}
        if self.overrides.empty:
            return {}
        fields = container_fields(self.overrides)
        if shape is SubmitShape.CONTAINER:
            return {"containerOverrides": fields}
        name = self.job.container_for_overrides() if self.job is not None else None
        container_name = name.name if name is not None else None
        if shape is SubmitShape.ECS_TASK:
            return {
                "ecsPropertiesOverride": {
                    "taskProperties": [{"containers": [{"name": container_name, **fields}]}]
                }
            }
        eks: dict[str, Any] = {"name": container_name} if container_name else {}
        if "command" in fields:
            eks["command"] = fields["command"]
        if "environment" in fields:
            eks["env"] = fields["environment"]
        return {"eksPropertiesOverride": {"podProperties": {"containers": [eks]}}}

    # -- from a request --------------------------------------------------------------------------------
    @staticmethod
    def from_request(
        request: Mapping[str, Any],
        *,
        queue: QueueProfile | None,
        job: JobSpec | None,
        path: SubmitPath = SubmitPath.REQUEST,
        queue_label: str | None = None,
        job_label: str | None = None,
    ) -> Submission:
        """The submission a SubmitJob request (boto3's camelCase keyword arguments) makes, to check it
        against the queue and definition it names (as the stack describes them)."""
        r = request
        consumables = tuple(
            ConsumableRequest(str(c.get("consumableResource")), c.get("quantity"))
            for c in (
                (r.get("consumableResourcePropertiesOverride") or {}).get("consumableResourceList") or []
            )
        )
        node = r.get("nodeOverrides") or {}
        node_overrides = tuple(
            NodeOverrideSpec(str(o.get("targetNodes")), _overrides(o.get("containerOverrides") or {}))
            for o in node.get("nodePropertyOverrides") or []
        )
        overrides = _overrides(r.get("containerOverrides") or {})
        task = (r.get("ecsPropertiesOverride") or {}).get("taskProperties") or []
        if task and (task[0].get("containers") or []):
            overrides = _overrides(task[0]["containers"][0])
        pod = ((r.get("eksPropertiesOverride") or {}).get("podProperties") or {}).get("containers") or []
        if pod:
            c = pod[0]
            overrides = _overrides({"command": c.get("command"), "environment": c.get("env")})
        retry = r.get("retryStrategy") or {}
        timeout = r.get("timeout") or {}
        array = (r.get("arrayProperties") or {}).get("size")
        return Submission(
            path=path,
            queue=queue,
            job=job,
            queue_label=queue_label or str(r.get("jobQueue") or "the job queue"),
            job_label=job_label or str(r.get("jobDefinition") or "the job definition"),
            share_identifier=r.get("shareIdentifier"),
            scheduling_priority=r.get("schedulingPriorityOverride"),
            consumables=consumables,
            overrides=overrides,
            node_overrides=node_overrides,
            num_nodes=node.get("numNodes"),
            array_size=array,
            depends_on=len(r.get("dependsOn") or []),
            attempts=retry.get("attempts"),
            timeout_seconds=timeout.get("attemptDurationSeconds"),
            tags=dict(r.get("tags") or {}),
        )


def container_fields(overrides: Overrides) -> dict[str, Any]:
    """The ECS ``ContainerOverrides`` fields an :class:`Overrides` sets (camelCase)."""
    found: dict[str, Any] = {}
    if overrides.command is not None:
        found["command"] = list(overrides.command)
    if overrides.environment:
        found["environment"] = [{"name": n, "value": v} for n, v in overrides.environment]
    resources = []
    if overrides.vcpus is not None:
        resources.append({"type": "VCPU", "value": f"{overrides.vcpus:g}"})
    if overrides.memory_mib is not None:
        resources.append({"type": "MEMORY", "value": f"{overrides.memory_mib:g}"})
    if overrides.gpus is not None:
        resources.append({"type": "GPU", "value": str(overrides.gpus)})
    if resources:
        found["resourceRequirements"] = resources
    if overrides.instance_type is not None:
        found["instanceType"] = overrides.instance_type
    return found


def _overrides(c: Mapping[str, Any]) -> Overrides:
    found: dict[Any, Any] = {
        r.get("type"): r.get("value") for r in c.get("resourceRequirements") or [] if isinstance(r, Mapping)
    }

    def number(value: Any) -> float | None:
        try:
            return None if value is None else float(value)
        except (TypeError, ValueError):
            return None

    return Overrides(
        command=tuple(str(x) for x in c["command"]) if isinstance(c.get("command"), list | tuple) else None,
        environment=tuple(
            (str(e.get("name")), e.get("value")) for e in c.get("environment") or [] if isinstance(e, Mapping)
        ),
        vcpus=number(found.get("VCPU", c.get("vcpus"))),
        memory_mib=number(found.get("MEMORY", c.get("memory"))),
        gpus=int(found["GPU"]) if "GPU" in found and str(found["GPU"]).isdigit() else None,
        instance_type=c.get("instanceType"),
    )


__all__ = ["RUNTIME", "NodeOverrideSpec", "Overrides", "SubmitPath", "Submission", "container_fields"]
