"""One submission per submit path: the construct side of :mod:`cdk_batchkit.model.submission`.

``S3JobSubmitter``, ``S3JobRule``, ``JobSchedule`` and a workflow ``Step`` each call :func:`plan_submission`
with their props. It translates the queue, the definition (its :class:`~cdk_batchkit.model.JobSpec`) and the
consumable resources into one :class:`~cdk_batchkit.model.Submission`, binds the definition to the queue,
runs every submission rule once and reports the problems under the path's own prop names, then gives the
request fields (:meth:`PlannedSubmission.request`, :func:`step_functions_parameters` for Step Functions,
:func:`~cdk_batchkit.model.submission.pascal` for Scheduler) and the grant
(:meth:`PlannedSubmission.grant`: the queue, the definition's ``NAME:*``, every consumable resource ARN,
``batch:TagResource`` when tags are sent).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_batch as batch
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from ..model import (
    ConsumableRequest,
    ContainerSpec,
    JobSpec,
    NodeRangeSpec,
    Platform,
    Problem,
    Submission,
    SubmitPath,
    SubmitShape,
)
from ..model.jobs import parse_target_nodes
from ..model.submission import FromInput, NodeOverrideSpec, Overrides, pascal
from ._binding import DefinitionRef, QueueRef, bound_requirements, require_fit, submit_grant
from ._validation import default_child, report

__all__ = [
    "PlannedSubmission",
    "consumable_requests",
    "job_spec",
    "plan_submission",
    "report_renamed",
    "step_functions_parameters",
]

_UNKNOWN = ContainerSpec(vcpus=None, memory_mib=None, gpus=None)


def _rendered_nodes(job: DefinitionRef) -> tuple[int, int, tuple[NodeRangeSpec, ...]] | None:
    """(main node, numNodes, ranges) of a multi-node definition rendered in this app (ours or the L2's):
    the ranges exactly as their ``targetNodes`` are rendered. None for an imported one."""
    cfn = default_child(job.resource)
    if not isinstance(cfn, batch.CfnJobDefinition) or cfn.node_properties is None:
        return None
    rendered = Stack.of(cfn).resolve(cfn.node_properties)
    if not isinstance(rendered, dict):
        return None
    try:
        texts = [str(r["targetNodes"]) for r in rendered.get("nodeRangeProperties", [])]
        main, num = int(rendered["mainNode"]), int(rendered["numNodes"])
    except (KeyError, TypeError, ValueError):
        return None
    spans = [parse_target_nodes(t) for t in texts]
    if not spans or any(s is None for s in spans):
        return None
    ranges = [NodeRangeSpec(s[0], s[1], _UNKNOWN) for s in spans if s is not None]
    if job.open_last_node_range:
        # Rendered through a property override (NodeRangeProperties.<last>.TargetNodes = "start:"), which
        # the L2's node_properties does not show.
        ranges[-1] = replace(ranges[-1], end=None)
    return main, num, tuple(ranges)


def job_spec(job: DefinitionRef) -> JobSpec:
    """The definition as the submission rules see it: ``job.spec`` when the definition gives one, else
    derived from what is known (shape, override container, consumables) and the rendered template (node
    ranges). Sizes are left to ``job.requirements``."""
    if job.spec is not None:
        return job.spec
    reqs = job.requirements
    platform = (
        reqs.platform if reqs is not None else Platform.EKS if job.shape is SubmitShape.EKS else Platform.EC2
    )
    common: dict[str, Any] = {
        "platform": platform,
        "shape": job.shape,
        "consumables": reqs.consumables if reqs is not None else (),
        "override_container": job.override_container,
        "label": job.label,
    }
    if job.shape is SubmitShape.NODE:
        nodes = _rendered_nodes(job)
        if nodes is None:
            return JobSpec(**common, num_nodes=reqs.nodes if reqs is not None else None)
        main, num, ranges = nodes
        return JobSpec(
            **common,
            node_ranges=ranges,
            num_nodes=num,
            main_node=main,
            instance_type=reqs.instance_type if reqs is not None else None,
        )
    containers = (replace(_UNKNOWN, name=job.override_container),) if job.override_container else ()
    return JobSpec(**common, containers=containers)


def consumable_requests(requested: Mapping[Any, int] | None) -> tuple[ConsumableRequest, ...]:
    """``{ConsumableResource or batch.IConsumableResource: quantity}`` as model values (label, quantity,
    total when known, ARN)."""
    from .consumable import _describe

    found = []
    for resource, quantity in (requested or {}).items():
        arn, label, total = _describe(resource)
        found.append(ConsumableRequest(label, quantity, total, arn=arn))
    return tuple(found)


def _renamed(prop: str, rename: Mapping[str, str]) -> str:
    for old in sorted(rename, key=len, reverse=True):
        if prop == old or prop.startswith((old + ".", old + "[")):
            new, rest = rename[old], prop[len(old) :]
            return new + rest if new else rest.removeprefix(".")
    return prop


def report_renamed(
    scope: IConstruct,
    problems: Iterable[Problem],
    *,
    prefix: str = "",
    rename: Mapping[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
) -> None:
    """:func:`~cdk_batchkit.constructs._validation.report` with each problem's prop (a submission field)
    renamed to the prop the construct offers (``array_size`` -> ``mode``...), and its value shown as
    ``values[prop]`` where the construct's prop holds another value than the submission field."""
    renames, shown = rename or {}, values or {}
    report(
        scope,
        [replace(p, prop=_renamed(p.prop, renames), value=shown.get(p.prop, p.value)) for p in problems],
        prefix=prefix,
    )


@dataclass(frozen=True)
class PlannedSubmission:
    """A submission checked for its path: the value, its queue and definition, and the consumable resources
    it overrides (ARNs)."""

    submission: Submission
    queue: QueueRef
    job: DefinitionRef
    consumable_arns: tuple[str, ...] = ()

    def request(self) -> dict[str, Any]:
        """The SubmitJob fields (camelCase) besides jobName, jobQueue and jobDefinition."""
        return self.submission.request()

    @property
    def sends_tags(self) -> bool:
        """Whether the request tags the job (SubmitJob then needs ``batch:TagResource``)."""
        return bool(self.submission.tags) or self.submission.propagate_tags is True

    @property
    def resources(self) -> list[str]:
        """What SubmitJob is authorized on: the queue, every revision of the definition, every consumable
        resource the job uses (the definition's and the overridden ones)."""
        return list(
            dict.fromkeys(
                [
                    self.queue.job_queue_arn,
                    self.job.name_arn,
                    *self.job.consumable_arns,
                    *self.consumable_arns,
                ]
            )
        )

    def grant(self, scope: IConstruct, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` make this submission (and nothing broader)."""
        return submit_grant(
            scope,
            grantee,
            self.job,
            self.queue,
            with_tags=self.sends_tags,
            consumable_arns=self.consumable_arns,
        )


def plan_submission(
    scope: Construct,
    *,
    path: SubmitPath,
    queue: QueueRef,
    job: DefinitionRef,
    spec: JobSpec | None = None,
    prefix: str = "",
    rename: Mapping[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
    share_identifier: str | None = None,
    scheduling_priority: int | None = None,
    consumable_resources: Mapping[Any, int] | None = None,
    overrides: Overrides | None = None,
    node_overrides: Sequence[NodeOverrideSpec] = (),
    num_nodes: int | None = None,
    array_size: int | str | FromInput | None = None,
    depends_on: int = 0,
    attempts: int | None = None,
    timeout_seconds: float | None = None,
    tags: Mapping[str, str] | None = None,
    job_name: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    propagate_tags: bool | None = None,
) -> PlannedSubmission:
    """Build the submission of one submit path, check it once and report its problems on ``scope``
    (``ValueError`` for the first error, synth warnings for the rest), then check the fit of the job on the
    queue (BK-F*, ``bind``). ``spec``: the definition's :func:`job_spec` when the caller has it.
    ``prefix``: where the submission sits among ``scope``'s props
    (``steps[Render]``); ``rename``: submission field -> the path's prop (``{"array_size": "mode"}``);
    ``values``: submission field -> the value of the path's prop, shown in messages."""
    requests = consumable_requests(consumable_resources)
    requirements = bound_requirements(scope, job, queue)
    submission = Submission(
        path=path,
        queue=queue.profile,
        job=spec if spec is not None else job_spec(job),
        queue_label=queue.label,
        job_label=job.label,
        share_identifier=share_identifier,
        scheduling_priority=scheduling_priority,
        consumables=requests,
        overrides=overrides or Overrides(),
        node_overrides=tuple(node_overrides),
        num_nodes=num_nodes,
        array_size=array_size,
        depends_on=depends_on,
        attempts=attempts,
        timeout_seconds=timeout_seconds,
        tags=dict(tags or {}),
        requirements=requirements,
        job_name=job_name,
        parameters=dict(parameters or {}),
        propagate_tags=propagate_tags,
        job_described=job.spec is not None or job.requirements is not None,
    )
    report_renamed(scope, submission.check(), prefix=prefix, rename=rename, values=values)
    if requirements is not None:
        require_fit(scope, job, queue, requirements)
    return PlannedSubmission(submission, queue, job, tuple(r.arn for r in requests if r.arn))


def _input_paths(value: Any) -> Any:
    """Every :class:`FromInput` value ``{"Key": FromInput("f")}`` as Step Functions' ``{"Key.$": "$.f"}``
    (``States.StringToJson($.f)`` for a JSON field)."""
    if isinstance(value, Mapping):
        found = {}
        for key, item in value.items():
            if isinstance(item, FromInput):
                path = f"$.{item.field}"
                found[f"{key}.$"] = f"States.StringToJson({path})" if item.json else path
            else:
                found[key] = _input_paths(item)
        return found
    if isinstance(value, list | tuple):
        return [_input_paths(v) for v in value]
    return value


def step_functions_parameters(request: Mapping[str, Any]) -> dict[str, Any]:
    """SubmitJob fields (camelCase, :class:`FromInput` values) as a Step Functions task's ``Parameters``:
    PascalCase keys (the user's parameters and tags kept as written), input fields as ``Key.$`` paths."""
    return _input_paths(pascal(dict(request)))  # type: ignore[no-any-return]
