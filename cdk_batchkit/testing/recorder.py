"""What code under test sent to AWS, and what Batch refuses that moto accepts.

Every boto3 client of the process reports its calls here (a botocore handler in ``BUILTIN_HANDLERS``, as
moto's own mock is installed; so clients created before this module is imported are not seen): each call
made while a world is live is recorded, with its parameters as sent, in :meth:`World.requests`. The
world's own bookkeeping calls (building, delivering, finding jobs) are not recorded.

A ``SubmitJob`` to a job queue of a world is checked first, as Batch would, with the library's one rule
book: :meth:`cdk_batchkit.model.Submission.from_request` against the queue's profile (its fair-share
policy and share identifiers, its environments) and the job definition (:meth:`JobSpec.from_api` of its
template properties), consumable quantities against the template's totals. A refused request raises the
botocore ``ClientError`` Batch raises (``ClientException``, HTTP 400) and never reaches moto.
"""

from __future__ import annotations

import threading
import uuid
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from botocore import handlers as _botocore_handlers
from botocore.awsrequest import AWSResponse

from .handles import ComputeEnvironment, ConsumableResource, JobDefinition, JobQueue, Resource, normal_path

__all__ = ["Request", "check_submit_job", "compute_profile", "queue_profile"]

_RECORDED = "batchkit_request"
_CHECKED = "batchkit_checked"


@dataclass
class Request:
    """One API call as code under test made it: ``service`` as boto3 names it (``"batch"``), the
    ``operation`` (``"SubmitJob"``), the ``parameters`` as passed to the client method, and, when the
    kit refused it as AWS would, ``error`` (the ``ClientException`` message). ``warnings``: what AWS
    accepts but the rule book warns about (a share identifier the fair-share policy does not list)."""

    service: str
    operation: str
    parameters: dict[str, Any]
    error: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return self.error is not None


class Watcher(Protocol):
    """A live world, as the handlers see it."""

    def record_request(self, request: Request) -> None: ...

    def check_request(self, request: Request) -> tuple[list[str], list[str]] | None: ...


_lock = threading.Lock()
_watchers: list[weakref.ref[Any]] = []


def watch(world: Watcher) -> None:
    """Record calls for ``world`` from now on (and check its job queues' SubmitJob requests)."""
    with _lock:
        _watchers[:] = [w for w in _watchers if w() is not None and w() is not world]
        _watchers.append(weakref.ref(world))
    _register_on_default_session()


def unwatch_all() -> None:
    """Forget every world (the kit's moto context does this when it ends)."""
    with _lock:
        _watchers.clear()


def _live() -> list[Watcher]:
    with _lock:
        return [w for w in (ref() for ref in _watchers) if w is not None]


# -- the botocore handlers ----------------------------------------------------------------------------


def _record(params: Mapping[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
    if context.get(_RECORDED) is not None or context.get("is_presign_request"):
        return  # registered twice on this client (built-in and default session), or only presigning
    worlds = _live()
    if not worlds:
        return
    request = Request(model.service_model.service_name, model.name, _copy(params))
    context[_RECORDED] = request
    for world in worlds:
        world.record_request(request)


def _check(context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
    request = context.get(_RECORDED)
    if not isinstance(request, Request) or context.get(_CHECKED):
        return None
    context[_CHECKED] = True
    for world in reversed(_live()):
        verdict = world.check_request(request)
        if verdict is None:
            continue  # not one of this world's queues
        errors, warnings = verdict
        request.warnings.extend(warnings)
        if errors:
            request.error = "; ".join(errors)
            return _client_exception(request.error)
        return None
    return None


def _client_exception(message: str) -> tuple[AWSResponse, dict[str, Any]]:
    request_id = str(uuid.uuid4())
    headers = {"x-amzn-requestid": request_id, "x-amzn-errortype": "ClientException:"}
    return AWSResponse("", 400, headers, None), {  # type: ignore[arg-type]
        "Error": {"Code": "ClientException", "Message": message},
        "message": message,
        "ResponseMetadata": {
            "RequestId": request_id,
            "HTTPStatusCode": 400,
            "HTTPHeaders": headers,
            "RetryAttempts": 0,
        },
    }


#: (event, handler): recorded for every call; checked before a SubmitJob is sent.
HANDLERS = (("before-parameter-build", _record), ("before-call.batch.SubmitJob", _check))


def _install() -> None:
    for spec in HANDLERS:
        if spec not in _botocore_handlers.BUILTIN_HANDLERS:
            _botocore_handlers.BUILTIN_HANDLERS.append(spec)


def _register_on_default_session() -> None:
    """boto3's default session, when it was created before this module was imported, lacks the
    built-in handlers: give it them (a second registration is harmless, see the context flags)."""
    import boto3

    session = boto3.DEFAULT_SESSION
    if session is None:
        return
    for event, handler in HANDLERS:
        session.events.register(event, handler, unique_id=f"batchkit-{event}")


def ignore(client: Any) -> Any:
    """``client`` without the recorder (the world's own bookkeeping clients)."""
    client.meta.events.unregister("before-parameter-build", _record)
    client.meta.events.unregister(
        "before-parameter-build", _record, unique_id="batchkit-before-parameter-build"
    )
    return client


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_copy(v) for v in value]
    return value


_install()


# -- SubmitJob as Batch checks it -----------------------------------------------------------------------


def compute_profile(properties: Mapping[str, Any]) -> Any:
    """An ``AWS::Batch::ComputeEnvironment``'s resolved properties as a
    :class:`~cdk_batchkit.model.ComputeProfile` (kind, maxvCpus, instance types and the architecture they
    share; unknown facts stay None)."""
    from cdk_batchkit.model import ComputeKind, ComputeProfile
    from cdk_batchkit.model.instances import architecture_of

    resources = properties.get("ComputeResources") or {}
    eks = bool(properties.get("EksConfiguration"))
    provisioning = str(resources.get("Type", "")).upper()
    if str(properties.get("Type", "")).upper() == "UNMANAGED":
        kind = ComputeKind.UNMANAGED
    elif provisioning.startswith("ECS_MANAGED_INSTANCES"):
        spot = str(resources.get("CapacityOptionType", "")).upper() == "SPOT"
        kind = ComputeKind.ECS_MANAGED_INSTANCES_SPOT if spot else ComputeKind.ECS_MANAGED_INSTANCES
    else:
        kind = ComputeKind.of(
            spot=provisioning in ("SPOT", "FARGATE_SPOT"), fargate=provisioning.startswith("FARGATE"), eks=eks
        )
    types = tuple(str(t) for t in resources.get("InstanceTypes") or [] if isinstance(t, str))
    architectures: set[Any] = set()
    for name in types:
        try:
            architectures.add(architecture_of(name))
        except (KeyError, ValueError):
            architectures.add(None)
    architecture = next(iter(architectures)) if len(architectures) == 1 and not kind.fargate else None
    maxv = resources.get("MaxvCpus")
    return ComputeProfile(
        kind,
        architecture=architecture,
        maxv_cpus=int(str(maxv)) if str(maxv).isdigit() else None,
        instance_types=types,
    )


def queue_profile(queue: JobQueue, handles: Iterable[Resource]) -> Any:
    """The :class:`~cdk_batchkit.model.QueueProfile` of a job queue of the world: its environments in
    order, whether it has a fair-share scheduling policy, and the share identifiers that policy lists
    (None when the policy is not in the world)."""
    from cdk_batchkit.model import QueueProfile

    known = list(handles)
    props = queue.properties
    policy_arn = props.get("SchedulingPolicyArn")
    shares: tuple[str, ...] | None = None
    policy = next(
        (h for h in known if h.type == "AWS::Batch::SchedulingPolicy" and h.arn == policy_arn), None
    )
    if policy is not None:
        distribution = (policy.properties.get("FairsharePolicy") or {}).get("ShareDistribution") or []
        shares = tuple(str(d.get("ShareIdentifier")) for d in distribution if d.get("ShareIdentifier"))
    environments: list[tuple[str, Any]] = []
    for item in sorted(props.get("ComputeEnvironmentOrder") or [], key=lambda i: int(i.get("Order", 0))):
        arn = item.get("ComputeEnvironment")
        env = next((h for h in known if isinstance(h, ComputeEnvironment) and arn in (h.arn, h.name)), None)
        label = normal_path(env.full_path) if env is not None else str(arn)
        environments.append((label, compute_profile(env.properties) if env is not None else None))
    return QueueProfile(tuple(environments), fair_share=bool(policy_arn), share_identifiers=shares)


def check_submit_job(
    parameters: Mapping[str, Any],
    *,
    queue: JobQueue,
    definition: JobDefinition | None,
    handles: Sequence[Resource],
) -> tuple[list[str], list[str]]:
    """(errors, warnings) of one SubmitJob request to ``queue`` of the world, as Batch would answer it:
    messages reading like Batch's where its wording is known, each followed by the rule book's reason."""
    from cdk_batchkit.model import ConsumableRequest, JobSpec, Submission

    consumables = [h for h in handles if isinstance(h, ConsumableResource)]

    def canonical(resource: str) -> tuple[str, int | None]:
        found = next((c for c in consumables if resource in (c.arn, c.name)), None)
        return (found.arn, found.total_quantity) if found is not None else (resource, None)

    job = None
    if definition is not None:
        job = JobSpec.from_api(definition.properties, label=normal_path(definition.full_path))
        job = replace(
            job,
            consumables=tuple(
                ConsumableRequest(canonical(c.resource)[0], c.quantity, canonical(c.resource)[1])
                for c in job.consumables
            ),
        )
    sub = Submission.from_request(
        parameters,
        queue=queue_profile(queue, handles),
        job=job,
        queue_label=normal_path(queue.full_path),
        job_label=normal_path(definition.full_path) if definition is not None else None,
    )
    if sub.consumables:
        sub = replace(
            sub,
            consumables=tuple(
                ConsumableRequest(canonical(c.resource)[0], c.quantity, canonical(c.resource)[1])
                for c in sub.consumables
            ),
        )
    problems = sub.check()
    errors = [_batch_message(p) for p in problems if not p.warning]
    warnings = [f"{p.rule}: {p.why}" for p in problems if p.warning]
    return errors, warnings


#: The rule book's submission fields -> SubmitJob's request fields, for messages about a request.
_FIELDS = {
    "share_identifier": "shareIdentifier",
    "scheduling_priority": "schedulingPriorityOverride",
    "consumable_resources": "consumableResourcePropertiesOverride",
    "num_nodes": "nodeOverrides.numNodes",
    "array_size": "arrayProperties.size",
    "node_overrides": "nodeOverrides",
    "job_definition": "jobDefinition",
    "job_queue": "jobQueue",
}


def _field(prop: str) -> str:
    """``node_overrides[1].target_nodes`` -> ``nodeOverrides.nodePropertyOverrides[1].targetNodes``."""
    head, dot, rest = prop.partition(".")
    name, bracket, index = head.partition("[")
    if name == "node_overrides" and bracket:
        base = f"nodeOverrides.nodePropertyOverrides[{index}"
    else:
        base = _FIELDS.get(name, name) + (bracket + index if bracket else "")
    if not dot:
        return base
    return f"{base}.{rest.split('_')[0]}{''.join(w.title() for w in rest.split('_')[1:])}"


def _batch_message(problem: Any) -> str:
    """Batch's own wording where it is known (quoted in the rule book and DESIGN.md), else the request
    field and value; then the rule book's reason."""
    said = None
    if problem.rule == "BK-S1" and problem.value is None:
        # A ClientException reported in boto/boto3#3158.
        said = "shareIdentifier must be specified."
    elif problem.rule == "BK-O3" and "target" in problem.prop:
        said = f"NodeOverride targets should match job definition. Non matching targets - [{problem.value}]"
    elif problem.rule == "BK-O4" and "Multinode" in problem.why:
        said = "Multinode Array Job not supported"
    if said is None:
        said = f"{_field(problem.prop)}={problem.value!r} is not accepted"
    return f"{said} (cdk-batchkit {problem.rule}: {problem.why})"
