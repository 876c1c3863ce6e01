"""Queues and job definitions as every consumer sees them, whatever the user passed.

A consumer (submitter, rule, workflow step, schedule, notifications, monitoring) accepts this
library's constructs, the L2's ``batch.IJobQueue`` / ``batch.IJobDefinition`` (created in the app or
imported) and our importers' results. :func:`queue_ref` and :func:`definition_ref` turn any of them
into one small value; :func:`bind` runs the fit check (or warns that it could not) and
:func:`grant_submit` writes the narrow SubmitJob grant. Neither ``queue.py`` nor
``job_definition.py`` imports the other: both depend on this module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aws_cdk import Annotations, Token
from aws_cdk import aws_batch as batch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct, IConstruct, Node

from ..model import JobRequirements, JobSpec, Problem, QueueProfile, SubmitShape, check_fit
from ._describe import describe_definition, profile_of_queue
from ._validation import arn_prefix, fetched, is_token, node_path, report, stack_of
from .nag import acknowledge_resource


@dataclass(frozen=True)
class QueueRef:
    """A job queue: its L2 object, a label for messages and what is known of its compute."""

    resource: batch.IJobQueue
    label: str
    profile: QueueProfile | None
    #: The ``BatchNetwork`` of each environment whose network is known (each once).
    networks: tuple[Any, ...] = ()
    #: Labels of the environments whose network is not known (L2, imported or unmanaged ones), or
    #: ``("its compute environments",)`` when nothing is known of the queue.
    unknown_networks: tuple[str, ...] = ("its compute environments",)

    @property
    def job_queue_arn(self) -> str:
        return fetched(self.resource, "job_queue_arn")  # type: ignore[no-any-return]


@dataclass(frozen=True)
class DefinitionRef:
    """A job definition: its L2 object, a label, what it asks of compute (None: unknown) and how
    it is submitted."""

    resource: batch.IJobDefinition
    label: str
    requirements: JobRequirements | None
    #: Whether jobs propagate tags (then SubmitJob needs batch:TagResource when tags are sent).
    propagate_tags: bool = False
    #: Which SubmitJob override field the definition takes.
    shape: SubmitShape = SubmitShape.CONTAINER
    #: ECS_TASK / EKS: the name of the container that receives per-submission overrides (command,
    #: environment, resources). None: the only (or first essential) container.
    override_container: str | None = None
    #: Called when bound to a queue whose profile is known; may adjust the definition and returns
    #: the requirements to check (our Fargate definitions turn on a public IP where it is needed).
    #: NODE: the definition renders its last node range open (``n:``), so SubmitJob may set numNodes.
    open_last_node_range: bool = False
    on_bind: Callable[[QueueRef], JobRequirements] | None = None
    #: The ARNs of the consumable resources the definition requests (SubmitJob is granted on them).
    consumable_arns: tuple[str, ...] = ()
    #: What the job and container rules found in a definition made elsewhere (an L2 one), props prefixed
    #: with the definition: :func:`bind` reports them on the consumer.
    problems: tuple[Problem, ...] = ()
    #: The definition as the rules see it (containers, node ranges as rendered...). None: derived from
    #: the rendered template by ``_submission.job_spec``.
    spec: JobSpec | None = None

    @property
    def job_definition_arn(self) -> str:
        return fetched(self.resource, "job_definition_arn")  # type: ignore[no-any-return]

    @property
    def container_overrides(self) -> bool:
        """Whether SubmitJob may carry ``containerOverrides`` (single-container ECS jobs)."""
        return self.shape is SubmitShape.CONTAINER

    @property
    def name_arn(self) -> str:
        """``arn:...:job-definition/NAME:*``: every revision of this definition, and nothing else."""
        return fetched(self.resource, "name_arn", self._name_arn)  # type: ignore[no-any-return]

    def _name_arn(self) -> str:
        # The ARN is arn:PARTITION:batch:REGION:ACCOUNT:job-definition/NAME[:REVISION]. What
        # Fn.select(1, Fn.split("/", Fn.select(5, Fn.split(":", ARN)))) renders, made in one round trip (each
        # Fn call is one), in the definition's stack as Stack.format_arn spells it.
        arn = self.job_definition_arn
        if is_token(arn):
            name = Token.as_string(
                {"Fn::Select": [1, {"Fn::Split": ["/", {"Fn::Select": [5, {"Fn::Split": [":", arn]}]}]}]}
            )
        else:  # Fn.split and Fn.select answer a plain string in place
            name = arn.split(":")[5].split("/")[1]
        return f"{arn_prefix(self.resource, 'batch')}job-definition/{name}:*"


class _HasQueueRef(Protocol):
    @property
    def node(self) -> Node: ...

    def queue_ref(self) -> QueueRef: ...


class _HasDefinitionRef(Protocol):
    @property
    def node(self) -> Node: ...

    def definition_ref(self) -> DefinitionRef: ...


#: What consumers accept as a job queue.
QueueLike = _HasQueueRef | batch.IJobQueue
#: What consumers accept as a job definition.
DefinitionLike = _HasDefinitionRef | batch.IJobDefinition


def queue_ref(queue: Any) -> QueueRef:
    """Our queue constructs, an L2 queue (profile derived from its compute) or an imported one."""
    if hasattr(queue, "queue_ref"):
        return queue.queue_ref()  # type: ignore[no-any-return]
    if not hasattr(queue, "job_queue_arn"):
        raise TypeError(f"{queue!r} is not a job queue (a JobQueue, batch.IJobQueue or an imported queue)")
    return QueueRef(queue, node_path(queue), profile_of_queue(queue))


_L2_SHAPES: dict[type, SubmitShape] = {
    batch.MultiNodeJobDefinition: SubmitShape.NODE,
    batch.EksJobDefinition: SubmitShape.EKS,
}


def definition_ref(definition: Any) -> DefinitionRef:
    """Our job definition constructs, an L2 definition (requirements derived) or an imported one."""
    if hasattr(definition, "definition_ref"):
        return definition.definition_ref()  # type: ignore[no-any-return]
    if not hasattr(definition, "job_definition_arn"):
        raise TypeError(f"{definition!r} is not a job definition (ours, batch.IJobDefinition or imported)")
    owner = definition.node.scope
    if hasattr(owner, "definition_ref") and getattr(owner, "resource", None) is definition:
        # The L2 inside one of our definitions (``job.resource``): ours knows more (a multi-container task
        # is an L2 EcsJobDefinition rendered with EcsProperties, submitted with ecsPropertiesOverride).
        return owner.definition_ref()  # type: ignore[no-any-return]
    spec, problems = describe_definition(definition)
    return DefinitionRef(
        definition,
        node_path(definition),
        spec.requirements() if spec is not None else None,
        propagate_tags=bool(getattr(definition, "propagate_tags", False)),
        # An imported definition is assumed single-container ECS.
        shape=_L2_SHAPES.get(type(definition), SubmitShape.CONTAINER),
        problems=problems,
        spec=spec,
    )


_UNCHECKED = "batchkit:fit-unchecked"


def bind(scope: IConstruct, job: DefinitionRef, queue: QueueRef) -> JobRequirements | None:
    """Check at synth that ``job`` can leave RUNNABLE on ``queue``; ``ValueError`` when it never can.

    Where the queue's compute or the job's needs are unknown, the check is skipped with a synth warning
    on ``scope`` naming what was not checked. Returns the requirements checked (None when skipped).
    What the rules found in a definition made elsewhere (``job.problems``) is reported on ``scope`` first;
    fit warnings (``FitResult.warnings``: AWS accepts it, it does nothing there) become synth warnings.
    """
    report(scope, job.problems)
    requirements = bound_requirements(scope, job, queue)
    if requirements is not None:
        require_fit(scope, job, queue, requirements)
    return requirements


def bound_requirements(scope: IConstruct, job: DefinitionRef, queue: QueueRef) -> JobRequirements | None:
    """What ``job`` asks of ``queue``'s compute once bound to it (the definition may adapt: a Fargate
    definition turns on a public IP where only that reaches its image); None, with a synth warning on
    ``scope`` naming what was not checked, when the queue's compute or the job's needs are unknown."""
    if queue.profile is None or job.requirements is None:
        missing = []
        if queue.profile is None:
            missing.append(
                f"the compute of job queue {queue.label} is unknown (pass profile=QueueProfile.of(...) to "
                "JobQueue.from_job_queue_arn / JobQueue.from_job_queue)"
            )
        if job.requirements is None:
            missing.append(
                f"what job definition {job.label} needs is unknown (pass requirements=JobRequirements(...) "
                "to BatchJobDefinition.from_job_definition_arn)"
            )
        Annotations.of(scope).add_warning_v2(
            _UNCHECKED,
            f"Not checked whether {job.label} can run on {queue.label} (vCPUs, memory, GPUs, platform, "
            "network, fair share): " + "; ".join(missing) + ".",
        )
        return None
    return job.on_bind(queue) if job.on_bind is not None else job.requirements


def require_fit(
    scope: IConstruct, job: DefinitionRef, queue: QueueRef, requirements: JobRequirements
) -> None:
    """The fit rules (BK-F*) of ``requirements`` on ``queue``: ``ValueError`` when the job can never run
    there, a synth warning on ``scope`` for what could not be checked."""
    assert queue.profile is not None
    result = check_fit(requirements, queue.profile.environments)
    if not result.fits:
        raise ValueError(
            f"{job.label} can never run on job queue {queue.label} (it would stay RUNNABLE or fail to "
            "start):\n  " + "\n  ".join(result.problems)
        )
    if result.unchecked:
        Annotations.of(scope).add_warning_v2(
            _UNCHECKED,
            f"{job.label} on {queue.label}: instance sizes not checked for {', '.join(result.unchecked)} "
            "(unknown instance types or compute).",
        )
    for warning, rule_id in zip(result.warnings, result.warning_rules, strict=True):
        Annotations.of(scope).add_warning_v2(
            f"batchkit:{rule_id}", f"{job.label} on {queue.label}: {warning}"
        )


def grant_principal(grantee: iam.IGrantable) -> iam.IPrincipal:
    """``grantee.grant_principal``: a ``Role`` is its own (answered in Python), anything else is asked."""
    return grantee if isinstance(grantee, iam.Role) else grantee.grant_principal


def principal_construct(grantee: iam.IGrantable) -> Construct | None:
    principal = grant_principal(grantee)
    return principal if isinstance(principal, Construct) else None


def grant_submit(
    scope: IConstruct,
    grantee: iam.IGrantable,
    job: DefinitionRef,
    queue: QueueRef,
    *,
    with_tags: bool | None = None,
    consumable_arns: Sequence[str] = (),
) -> iam.Grant:
    """Check the fit (see :func:`bind`) and let ``grantee`` submit ``job`` (any revision) to ``queue`` only.

    ``with_tags``: also allow ``batch:TagResource`` on jobs, which SubmitJob needs when the request
    carries tags. Default: when the definition propagates tags. ``consumable_arns``: consumable resources
    the submissions override, besides the definition's own (SubmitJob authorizes the consumable-resource
    resource type: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsbatch.html).
    """
    bind(scope, job, queue)
    return submit_grant(scope, grantee, job, queue, with_tags=with_tags, consumable_arns=consumable_arns)


def submit_grant(
    scope: IConstruct,
    grantee: iam.IGrantable,
    job: DefinitionRef,
    queue: QueueRef,
    *,
    with_tags: bool | None = None,
    consumable_arns: Sequence[str] = (),
) -> iam.Grant:
    """The statements of :func:`grant_submit` without its fit check (for a caller that checked it)."""
    consumables = list(dict.fromkeys([*job.consumable_arns, *consumable_arns]))
    grant = iam.Grant.add_to_principal(
        grantee=grantee,
        actions=["batch:SubmitJob"],
        resource_arns=[queue.job_queue_arn, job.name_arn, *consumables],
    )
    principal = principal_construct(grantee)
    if principal is not None:
        acknowledge_resource(
            principal,
            "IAM5",
            f"SubmitJob on {job.label}: job-definition/NAME:* is every revision of this one "
            "definition (the revision is part of the ARN and changes on each update).",
            job.name_arn,
        )
    if job.propagate_tags if with_tags is None else with_tags:
        job_arn = f"{arn_prefix(principal or scope, 'batch')}job/*"
        iam.Grant.add_to_principal(grantee=grantee, actions=["batch:TagResource"], resource_arns=[job_arn])
        if principal is not None:
            acknowledge_resource(
                principal,
                "IAM5",
                "Tagging a job at submission needs batch:TagResource on the job, whose ARN holds an ID "
                "Batch generates during SubmitJob; SubmitJob itself is scoped to one queue and definition.",
                job_arn,
            )
    return grant


def grant_from(
    scope: Construct, construct_id: str, grantee: iam.IGrantable, *statements: iam.PolicyStatement
) -> object:
    """Add ``statements`` to ``grantee`` without a reference from ``grantee``'s stack back to ``scope``'s.

    A role in another stack (a job role in a platform stack, say) gets the statement through an
    ``iam.Policy`` created here and attached to it, so only this stack refers to the role; adding it to
    the role's own policy would make the role's stack depend on this one (a cycle when this one already
    depends on it). Returns the construct that holds the statement (for acknowledgements).
    """
    principal = grant_principal(grantee)
    is_role = isinstance(principal, Construct) and (
        isinstance(principal, iam.Role) or hasattr(principal, "role_arn")
    )
    if is_role and stack_of(principal) is not stack_of(scope):
        return iam.Policy(scope, construct_id, roles=[principal], statements=list(statements))  # type: ignore[list-item]
    for statement in statements:
        add_to_principal(principal, statement)
    return principal


def allow(grantee: iam.IGrantable, actions: Sequence[str], resources: Sequence[str]) -> None:
    """Allow ``actions`` on ``resources`` in ``grantee``'s identity policy: one round trip
    (``iam.Grant.add_to_principal`` makes the statement in Node and adds it as ``add_to_principal_policy``
    does; a ``PolicyStatement`` made in Python and then added is two)."""
    iam.Grant.add_to_principal(grantee=grantee, actions=list(actions), resource_arns=list(resources))


def objects_arn(bucket: s3.IBucket, key_pattern: str) -> str:
    """``bucket.arn_for_objects(key_pattern)`` (``BUCKET_ARN/PATTERN``) with the bucket's ARN asked of the
    CDK once per bucket."""
    return f"{fetched(bucket, 'bucket_arn')}/{key_pattern}"


def add_to_principal(principal: iam.IPrincipal, statement: iam.PolicyStatement) -> None:
    """``principal.add_to_principal_policy(statement)``: for a ``Role`` through ``add_to_policy``, which
    does the same and answers a bool (one round trip; the struct ``add_to_principal_policy`` answers is
    read field by field, three)."""
    if isinstance(principal, iam.Role):
        principal.add_to_policy(statement)
    else:
        principal.add_to_principal_policy(statement)
