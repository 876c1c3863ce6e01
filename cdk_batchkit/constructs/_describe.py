"""Describe CDK objects in the model's terms: L2 compute environments, queues and job definitions.

Reads the L2 objects' own properties (the same ones they render into the template). Anything that cannot
be known at synth (an imported ARN, a token) is None, and the rules that need it are skipped with a
warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from aws_cdk import Token
from aws_cdk import aws_batch as batch

from ..model import (
    ComputeKind,
    ComputeProfile,
    JobRequirements,
    JobSpec,
    Problem,
    QueueProfile,
    SubmitShape,
)
from ..model.compute import ComputeSettings
from ..model.eks import EksPodSpec
from ..model.queues import FairSharePolicy
from ..model.rules import check_job, check_pod
from ._validation import default_child, node_path, parent_of, seconds_of, stack_of

_L2_ENVIRONMENTS = (
    batch.ManagedEc2EcsComputeEnvironment,
    batch.ManagedEc2EksComputeEnvironment,
    batch.FargateComputeEnvironment,
    batch.UnmanagedComputeEnvironment,
)


def _our_environment(env: Any) -> Any:
    """The compute construct of this library whose L2 resource ``env`` is, else None. Asks the CDK for
    ``env``'s parent once; the construct's profile is not computed (an EC2 environment reads its user
    data for it)."""
    owner = parent_of(env)
    if getattr(owner, "resource", None) is not env:
        return None
    return owner if isinstance(_made_profile(owner), ComputeProfile) else None


def _made_profile(owner: Any) -> Any:
    """The profile a compute construct was made with: ``BatchComputeEnvironment`` keeps it in ``_profile``
    (its ``profile`` property may compute more), other constructs in a plain ``profile`` attribute."""
    state = vars(owner)
    return state["_profile"] if "_profile" in state else state.get("profile")


def is_ours(env: Any) -> bool:
    """Whether ``env`` is the L2 resource of one of this library's compute constructs."""
    return _our_environment(env) is not None


def settings_of_environment(env: Any) -> ComputeSettings | None:
    """The settings an ``aws_batch`` compute environment defined in this app renders (read from its L1's
    properties, so exactly what the template holds, "optimal" included), or None (imported, or one of
    this library's, whose constructs keep their own settings)."""
    if not isinstance(env, _L2_ENVIRONMENTS) or is_ours(env):
        return None
    cfn = default_child(env)
    if not isinstance(cfn, batch.CfnComputeEnvironment):
        return None
    # The L1's properties as the L2 set them (camelCase); raw overrides added later are not seen.
    properties = stack_of(cfn).resolve(cfn._cfn_properties)
    return ComputeSettings.from_api(properties) if isinstance(properties, dict) else None


def profile_of_environment(env: Any, *, exact: bool = True) -> ComputeProfile | None:
    """The profile of a compute environment: ours (with network facts), an L2 one (from the properties
    it renders: kind, maxvCpus, instance types and their architecture, and whether its instances run
    Amazon Linux 2023 and have swap, where that is knowable), or None for an imported one.

    ``exact=False``: for one of ours, the profile as it was made, without reading its user data again
    for swap (enough for its kind, Spot or not, architecture...)."""
    owner = _our_environment(env)
    if owner is not None:
        profile: ComputeProfile = owner.profile if exact else _made_profile(owner)
        return profile
    settings = settings_of_environment(env)
    return None if settings is None else profile_of_settings(settings)


def profile_of_settings(settings: ComputeSettings) -> ComputeProfile:
    """The profile of an environment described by its rendered settings."""
    if settings.kind is ComputeKind.UNMANAGED:
        # Your instances: architecture, GPUs and AMI unknown.
        return ComputeProfile(ComputeKind.UNMANAGED, architecture=None)
    return settings.profile()


def fair_share_of_queue(queue: batch.IJobQueue) -> FairSharePolicy | None:
    """The fair-share policy of an L2 job queue defined in this app (None: none, or not knowable)."""
    policy = getattr(queue, "scheduling_policy", None) if isinstance(queue, batch.JobQueue) else None
    if not isinstance(policy, batch.FairshareSchedulingPolicy):
        return None
    decay, reservation = policy.share_decay, policy.compute_reservation
    seconds = None if decay is None else seconds_of(decay)
    return FairSharePolicy.of(
        [(s.share_identifier, s.weight_factor) for s in policy.shares],
        share_decay_seconds=None if seconds is None or Token.is_unresolved(seconds) else seconds,
        compute_reservation=None
        if reservation is None or Token.is_unresolved(reservation)
        else int(reservation),
    )


def profile_of_queue(queue: batch.IJobQueue) -> QueueProfile | None:
    """The profile of an L2 job queue defined in this app (None for an imported one): its environments
    and, with a fair-share policy, the share identifiers it lists."""
    if not isinstance(queue, batch.JobQueue):
        return None
    ordered = sorted(queue.compute_environments, key=lambda o: o.order)
    environments = tuple(
        (_label(o.compute_environment), profile_of_environment(o.compute_environment)) for o in ordered
    )
    policy = fair_share_of_queue(queue)
    return QueueProfile(
        environments,
        fair_share=queue.scheduling_policy is not None,
        share_identifiers=None if policy is None else policy.share_identifiers,
    )


def _label(env: Any) -> str:
    """Our compute construct's path for its L2 resource, else the L2's own path."""
    owner = parent_of(env)
    return (
        node_path(owner) if owner is not None and getattr(owner, "resource", None) is env else node_path(env)
    )


def describe_definition(definition: Any) -> tuple[JobSpec | None, tuple[Problem, ...]]:
    """An L2 job definition defined in this app as the rules see it, and what the job and container rules
    find in it (each prop prefixed ``job_definition(PATH).``, so the consumer that reports them names the
    definition). ``(None, ())`` for an imported one.

    Reads the L1's properties as the L2 rendered them (one ``resolve``: property overrides added to the L1
    later are not seen), the same ones CloudFormation receives.
    """
    if not isinstance(definition, _DESCRIBED):
        return None, ()
    cfn = default_child(definition)
    if not isinstance(cfn, batch.CfnJobDefinition):
        return None, ()
    props = stack_of(cfn).resolve(cfn._cfn_properties)
    if not isinstance(props, dict):
        return None, ()
    label = node_path(definition)
    spec = JobSpec.from_api(props, label=label)
    if spec.keeps_revisions is None:
        # CloudFormation's default: the previous revision is deregistered on update.
        spec = replace(spec, keeps_revisions=False)
    prefix = f"job_definition({label})"
    found = check_job(spec, described=True)
    if spec.shape is SubmitShape.EKS:
        # The pod rules (resources, names, volumes, privileged, reserved variable names) are EKS's own.
        pod = EksPodSpec.from_api(props, label=label)
        if pod is not None:
            found = [*found, *check_pod(pod)]
    return spec, tuple(p.under(prefix) for p in found)


def rendered_properties(cfn: batch.CfnJobDefinition) -> dict[str, Any]:
    """The properties of a job definition's L1 as the L2 set them, unresolved (one round trip): plain
    values stay plain, tokens stay token strings, lazily rendered fields are opaque objects. Reading
    ``cfn.container_properties`` instead asks the CDK for each of its ~30 fields."""
    props = cfn._cfn_properties
    return props if isinstance(props, dict) else {}


def rendered_container(cfn: batch.CfnJobDefinition) -> dict[str, Any]:
    """The ``containerProperties`` the L2 rendered into ``cfn`` (image, log configuration...), unresolved;
    empty when it has none (or renders them lazily)."""
    container = rendered_properties(cfn).get("containerProperties")
    return container if isinstance(container, dict) else {}


def log_of_rendered(container: Mapping[str, Any]) -> tuple[str | None, Mapping[str, str]]:
    """The log driver and options of a rendered container (what ``log_of`` reads from the L2)."""
    config = container.get("logConfiguration")
    if not isinstance(config, dict):
        return None, {}
    options = config.get("options")
    return config.get("logDriver"), dict(options) if isinstance(options, dict) else {}


_DESCRIBED = (batch.EcsJobDefinition, batch.MultiNodeJobDefinition, batch.EksJobDefinition)


def requirements_of_definition(definition: batch.IJobDefinition) -> JobRequirements | None:
    """What an L2 job definition defined in this app asks of its compute (None for an imported one)."""
    spec, _ = describe_definition(definition)
    return spec.requirements() if spec is not None else None
