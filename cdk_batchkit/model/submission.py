"""One submission: what every submit path sends to SubmitJob, as one value checked by one set of rules.

``S3JobSubmitter`` (a Lambda calling the SDK), ``S3JobRule`` (an EventBridge Batch target), ``JobSchedule``
(EventBridge Scheduler's universal target) and a workflow ``Step`` (Step Functions) each build a
:class:`Submission` from their props, the queue's :class:`~cdk_batchkit.model.QueueProfile` and the
definition's :class:`~cdk_batchkit.model.jobs.JobSpec`, then

* :meth:`Submission.check` runs every submission rule once, in one order (what the path can carry, fair
  share, consumables, overrides and their shape, node overrides against the definition's ranges, array
  size, SubmitJob's limits, the fit of the job with its overrides), and
* :meth:`Submission.request` gives the SubmitJob fields (camelCase, as the API and boto3 take them;
  :func:`pascal` them for Step Functions and Scheduler), without ``jobName``, ``jobQueue`` and
  ``jobDefinition``, which the path fills in.

What each path can carry (``docs/rules.md``, "What each submit path carries", says what is confirmed and
what is assumed):

* the SDK (``S3JobSubmitter``), Scheduler's universal target (``aws-sdk:batch:submitJob``) and Step
  Functions' SDK integration (``arn:aws:states:::aws-sdk:batch:submitJob``) carry every SubmitJob field;
* Step Functions' optimized integration (``arn:aws:states:::batch:submitJob.sync``) is documented for
  :data:`STEP_FUNCTIONS_OPTIMIZED_FIELDS` only, and adds ``containerOverrides`` (``MANAGED_BY_AWS``) to
  every submission, which Batch refuses for multi-container (``ecsProperties``) and EKS jobs: a step
  uses it only for a single-container job whose request fits those fields
  (:meth:`Submission.step_functions_integration`), else the SDK integration with a polling loop;
* an EventBridge rule's Batch target carries :data:`EVENTBRIDGE_FIELDS` (BK-U1, BK-S3, BK-U3).

The testing kit builds the same value from a request a handler sent (:meth:`Submission.from_request`) and
runs the same rules, so what Batch enforces and moto does not (share identifiers, consumable quantities,
node-override targets) fails a user's test as it would fail in AWS. Nothing here imports aws_cdk; values
are opaque (a CDK token is just a string here).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from .jobs import JobSpec
from .profiles import ConsumableRequest, JobRequirements, QueueProfile, SubmitShape


class SubmitPath(Enum):
    """How a submission reaches SubmitJob, which decides the fields it can carry."""

    #: ``S3JobSubmitter``: a Lambda function calling SubmitJob through the SDK (every field).
    LAMBDA = "S3JobSubmitter"
    #: ``S3JobRule``: an EventBridge rule's Batch target (``BatchParameters``: job definition, name, array
    #: properties, retry strategy; ``parameters`` and ``containerOverrides`` through the target input). No
    #: share identifier, no other override field.
    #: https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_BatchParameters.html
    EVENTBRIDGE = "S3JobRule"
    #: ``JobSchedule``: EventBridge Scheduler's universal target ``aws-sdk:batch:submitJob`` (every field).
    SCHEDULER = "JobSchedule"
    #: A workflow ``Step``: Step Functions (the optimized ``batch:submitJob.sync`` integration or the SDK
    #: integration with a polling loop, whichever can carry the submission).
    STEP_FUNCTIONS = "Step"
    #: A request a handler sent, checked by the testing kit.
    REQUEST = "SubmitJob"


#: The SubmitJob fields Step Functions documents for its optimized Batch integration
#: (https://docs.aws.amazon.com/step-functions/latest/dg/connect-batch.html: the supported parameters
#: ArrayProperties, ContainerOverrides, DependsOn, JobDefinition, JobName, JobQueue, Parameters,
#: RetryStrategy, Timeout, Tags; PropagateTags in its example). The same list moto's Step Functions
#: emulator keeps (it drops every other field).
STEP_FUNCTIONS_OPTIMIZED_FIELDS = frozenset(
    {
        "arrayProperties",
        "containerOverrides",
        "dependsOn",
        "jobDefinition",
        "jobName",
        "jobQueue",
        "parameters",
        "retryStrategy",
        "timeout",
        "tags",
        "propagateTags",
    }
)
#: What an EventBridge rule's Batch target sends to SubmitJob: ``BatchParameters`` (JobDefinition,
#: JobName, ArrayProperties, RetryStrategy) and, from the target's input, ``Parameters`` and
#: ``ContainerOverrides``. https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_BatchParameters.html
EVENTBRIDGE_FIELDS = frozenset(
    {
        "arrayProperties",
        "containerOverrides",
        "jobDefinition",
        "jobName",
        "jobQueue",
        "parameters",
        "retryStrategy",
    }
)

#: SubmitJob field (camelCase) -> the submission field (and usual prop name) that sets it.
FIELD_PROPS: Mapping[str, str] = {
    "shareIdentifier": "share_identifier",
    "schedulingPriorityOverride": "scheduling_priority",
    "arrayProperties": "array_size",
    "retryStrategy": "attempts",
    "timeout": "timeout",
    "tags": "tags",
    "propagateTags": "propagate_tags",
    "parameters": "parameters",
    "consumableResourcePropertiesOverride": "consumable_resources",
    "containerOverrides": "overrides",
    "ecsPropertiesOverride": "overrides",
    "eksPropertiesOverride": "overrides",
    "nodeOverrides": "node_overrides",
}


class Integration(Enum):
    """How a workflow step reaches SubmitJob."""

    #: ``arn:aws:states:::batch:submitJob.sync``: Step Functions waits for the job itself.
    OPTIMIZED = "batch:submitJob.sync"
    #: ``arn:aws:states:::aws-sdk:batch:submitJob``, then a DescribeJobs polling loop.
    SDK = "aws-sdk:batch:submitJob"


@dataclass(frozen=True)
class FromInput:
    """A value the submit path reads when it submits: the workflow input's field ``field``
    (``$.field`` in Step Functions). ``json``: the field holds JSON text (a number written as a string)."""

    field: str
    json: bool = False


@dataclass(frozen=True)
class Overrides:
    """Per-submission changes to one container (ECS ``containerOverrides``, one container of a task's
    ``ecsPropertiesOverride``, an EKS container of ``eksPropertiesOverride``, or a node range's).

    ``environment`` pairs names with opaque values (a string, a CDK token, a :class:`FromInput`). Sizes
    are numbers (or a CDK token rendered into a string, which no rule judges).
    """

    command: tuple[str, ...] | None = None
    environment: tuple[tuple[str, Any], ...] = ()
    vcpus: Any = None
    memory_mib: Any = None
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

    def then(self, other: Overrides | None) -> Overrides:
        """These overrides with ``other``'s laid over them (its variables win by name)."""
        if other is None:
            return self
        environment = dict(self.environment)
        environment.update(dict(other.environment))
        return Overrides(
            command=other.command if other.command is not None else self.command,
            environment=tuple(environment.items()),
            vcpus=other.vcpus if other.vcpus is not None else self.vcpus,
            memory_mib=other.memory_mib if other.memory_mib is not None else self.memory_mib,
            gpus=other.gpus if other.gpus is not None else self.gpus,
            instance_type=other.instance_type or self.instance_type,
        )


@dataclass(frozen=True)
class NodeOverrideSpec:
    """The overrides of the nodes ``target_nodes`` (``"0:0"``, ``"1:"``) of a multi-node job."""

    target_nodes: str
    overrides: Overrides = field(default_factory=Overrides)


#: ``array_size`` decided at run time (an object count): bounds not checked here.
RUNTIME = "runtime"


@dataclass(frozen=True)
class Submission:
    """One SubmitJob request as every rule sees it.

    ``queue`` / ``job`` are None when unknown (imported without a profile): the rules that need them are
    skipped (the caller warns). ``overrides`` go to the field of the definition's shape
    (:attr:`JobSpec.shape`); for a multi-node definition they go to every node range of the definition
    (``targetNodes`` exactly as the definition writes them), merged with the ``node_overrides`` of each
    range.
    """

    path: SubmitPath
    queue: QueueProfile | None
    job: JobSpec | None
    queue_label: str = "the job queue"
    job_label: str = "the job definition"
    share_identifier: str | None = None
    scheduling_priority: int | None = None
    #: ``consumableResourcePropertiesOverride``: resource (label; ``arn`` when known) and quantity.
    consumables: tuple[ConsumableRequest, ...] = ()
    overrides: Overrides = field(default_factory=Overrides)
    node_overrides: tuple[NodeOverrideSpec, ...] = ()
    num_nodes: int | None = None
    #: An int, :data:`RUNTIME` (decided when submitting), a :class:`FromInput`, or None (not an array job).
    array_size: int | str | FromInput | None = None
    depends_on: int = 0
    attempts: int | None = None
    timeout_seconds: float | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    #: What the job asks of compute as bound to the queue (the fit with overrides, BK-W2); None: unknown.
    requirements: JobRequirements | None = None
    #: The job name (None: the path names jobs at run time).
    job_name: str | None = None
    #: Job parameters (``Ref::name`` in the command): strings.
    parameters: Mapping[str, Any] = field(default_factory=dict)
    #: ``propagateTags`` (None: the definition's).
    propagate_tags: bool | None = None
    #: False when only the definition's shape (and override container) are known (imported without a
    #: description): rules that need its other facts (the consumable resources it requests) skip it.
    job_described: bool = True

    def check(self) -> list[Any]:
        """Every problem of every submission rule (``model.rules.submission.SUBMISSION_RULES``), in order.
        Each is a :class:`~cdk_batchkit.model.rules.Problem` whose ``prop`` names the submission field
        (``share_identifier``, ``node_overrides[0].target_nodes``...)."""
        from .rules.submission import check_submission

        return check_submission(self)

    @property
    def shape(self) -> SubmitShape:
        return self.job.shape if self.job is not None else SubmitShape.CONTAINER

    # -- what the path carries ------------------------------------------------------------------------
    def node_targets(self) -> tuple[str, ...]:
        """The ``targetNodes`` overrides meant for every node go to: each of the definition's own ranges
        (Batch refuses targets that do not match one); when the ranges are unknown, those of the node
        overrides given, or ``0:``."""
        if self.job is not None and self.job.node_ranges:
            return tuple(r.target_nodes for r in self.job.node_ranges)
        given = tuple(dict.fromkeys(o.target_nodes for o in self.node_overrides))
        return given or ("0:",)

    def fields(self) -> tuple[str, ...]:
        """The SubmitJob fields this submission sends (camelCase), path-filled ones included."""
        return ("jobName", "jobQueue", "jobDefinition", *self.request())

    def uncarried(self) -> tuple[str, ...]:
        """The fields this submission sets that its path cannot carry (empty: it carries them all)."""
        carried = {SubmitPath.EVENTBRIDGE: EVENTBRIDGE_FIELDS}.get(self.path)
        if carried is None:
            return ()
        return tuple(f for f in self.fields() if f not in carried)

    def step_functions_integration(self) -> Integration:
        """The Step Functions integration that carries this submission: the optimized ``.sync`` one for a
        single-container job whose fields it is documented to carry, else the SDK integration."""
        if self.shape is SubmitShape.CONTAINER and set(self.fields()) <= STEP_FUNCTIONS_OPTIMIZED_FIELDS:
            return Integration.OPTIMIZED
        return Integration.SDK

    # -- the request ---------------------------------------------------------------------------------
    def request(self) -> dict[str, Any]:
        """The SubmitJob fields this submission sets (camelCase), except jobName/jobQueue/jobDefinition.
        Values may be :class:`FromInput` (the path resolves them) or CDK tokens."""
        found: dict[str, Any] = {}
        if self.share_identifier is not None:
            found["shareIdentifier"] = self.share_identifier
        if self.scheduling_priority is not None:
            found["schedulingPriorityOverride"] = self.scheduling_priority
        if isinstance(self.array_size, int) and not isinstance(self.array_size, bool):
            found["arrayProperties"] = {"size": self.array_size}
        elif isinstance(self.array_size, FromInput):
            found["arrayProperties"] = {"size": replace(self.array_size, json=True)}
        if self.parameters:
            found["parameters"] = dict(self.parameters)
        if self.attempts is not None:
            found["retryStrategy"] = {"attempts": self.attempts}
        if self.timeout_seconds is not None:
            timeout = self.timeout_seconds
            found["timeout"] = {
                "attemptDurationSeconds": int(timeout) if isinstance(timeout, int | float) else timeout
            }
        if self.tags:
            found["tags"] = dict(self.tags)
        if self.propagate_tags is not None:
            found["propagateTags"] = self.propagate_tags
        if self.consumables:
            found["consumableResourcePropertiesOverride"] = {
                "consumableResourceList": [
                    {"consumableResource": c.arn or c.resource, "quantity": c.quantity}
                    for c in self.consumables
                ]
            }
        found.update(self._override_fields())
        return found

    def node_property_overrides(self) -> list[tuple[str, Overrides]]:
        """``(targetNodes, overrides)`` per node range: the submission's overrides (every node) merged
        with the node overrides of that range; ranges left unchanged are not listed."""
        given: dict[str, Overrides] = {}
        for o in self.node_overrides:
            given[o.target_nodes] = given.get(o.target_nodes, Overrides()).then(o.overrides)
        targets = list(self.node_targets()) if not self.overrides.empty else []
        targets += [t for t in given if t not in targets]
        found = []
        for target in targets:
            merged = self.overrides.then(given.get(target))
            if not merged.empty:
                found.append((target, merged))
        return found

    def _override_fields(self) -> dict[str, Any]:
        shape = self.shape
        if shape is SubmitShape.NODE:
            node: dict[str, Any] = {}
            if self.num_nodes is not None:
                node["numNodes"] = self.num_nodes
            listed = self.node_property_overrides()
            if listed:
                node["nodePropertyOverrides"] = [
                    {"targetNodes": target, "containerOverrides": container_fields(o)} for target, o in listed
                ]
            return {"nodeOverrides": node} if node else {}
        if self.overrides.empty:
            return {}
        fields = container_fields(self.overrides)
        if shape is SubmitShape.CONTAINER:
            return {"containerOverrides": fields}
        chosen = self.job.container_for_overrides() if self.job is not None else None
        container_name = chosen.name if chosen is not None else None
        if shape is SubmitShape.ECS_TASK:
            fields.pop("instanceType", None)  # TaskContainerOverrides has no instance type
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
            job_name=r.get("jobName"),
            parameters=dict(r.get("parameters") or {}),
            propagate_tags=r.get("propagateTags"),
        )


def _size(value: Any) -> str:
    """A resource value as SubmitJob takes it (a string); a token or a string is passed through."""
    if isinstance(value, str):
        return value
    return f"{value:g}"


def container_fields(overrides: Overrides) -> dict[str, Any]:
    """The ECS ``ContainerOverrides`` fields an :class:`Overrides` sets (camelCase)."""
    found: dict[str, Any] = {}
    if overrides.command is not None:
        found["command"] = list(overrides.command)
    if overrides.environment:
        found["environment"] = [{"name": n, "value": v} for n, v in overrides.environment]
    resources = []
    if overrides.vcpus is not None:
        resources.append({"type": "VCPU", "value": _size(overrides.vcpus)})
    if overrides.memory_mib is not None:
        resources.append({"type": "MEMORY", "value": _size(overrides.memory_mib)})
    if overrides.gpus is not None:
        resources.append({"type": "GPU", "value": str(overrides.gpus)})
    if resources:
        found["resourceRequirements"] = resources
    if overrides.instance_type is not None:
        found["instanceType"] = overrides.instance_type
    return found


def pascal(value: Any) -> Any:
    """Keys of every nested mapping with their first letter upper-cased, as Step Functions and EventBridge
    Scheduler take SubmitJob's fields; the user's own maps (``parameters``, ``tags``) keep their keys."""
    if isinstance(value, Mapping):
        return {
            (k[:1].upper() + k[1:]): (v if k in ("parameters", "tags") else pascal(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [pascal(v) for v in value]
    return value


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


__all__ = [
    "EVENTBRIDGE_FIELDS",
    "FIELD_PROPS",
    "RUNTIME",
    "STEP_FUNCTIONS_OPTIMIZED_FIELDS",
    "FromInput",
    "Integration",
    "NodeOverrideSpec",
    "Overrides",
    "SubmitPath",
    "Submission",
    "container_fields",
    "pascal",
]
