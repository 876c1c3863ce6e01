"""Describe CDK objects in the model's terms: L2 compute environments, queues and job definitions.

Reads the L2 objects' own properties (the same ones they render into the template). Anything that cannot
be known at synth (an imported ARN, a token) is None, and the rules that need it are skipped with a
warning.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aws_cdk import Stack, Token
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2

from ..model import (
    Architecture,
    ComputeKind,
    ComputeProfile,
    JobRequirements,
    JobSpec,
    Problem,
    QueueProfile,
    architecture_of,
    is_gpu,
)
from ..model.rules import check_job


def profile_of_environment(env: Any) -> ComputeProfile | None:
    """The profile of a compute environment: ours (with network facts), an L2 one (from its properties),
    or None for an imported one."""
    owner = env.node.scope
    profile = getattr(owner, "profile", None)
    if isinstance(profile, ComputeProfile) and getattr(owner, "resource", None) is env:
        return profile
    maxv = getattr(env, "maxv_cpus", None)
    maxv_cpus = None if maxv is None or Token.is_unresolved(maxv) else int(maxv)
    if isinstance(env, batch.UnmanagedComputeEnvironment):
        return ComputeProfile(ComputeKind.UNMANAGED, architecture=None)
    if isinstance(env, batch.FargateComputeEnvironment):
        return ComputeProfile(
            ComputeKind.of(spot=bool(env.spot), fargate=True), architecture=None, maxv_cpus=maxv_cpus
        )
    eks = isinstance(env, batch.ManagedEc2EksComputeEnvironment)
    if not (eks or isinstance(env, batch.ManagedEc2EcsComputeEnvironment)):
        return None
    names = [t.to_string() for t in env.instance_types or []]
    names += [
        ec2.InstanceType.of(c, ec2.InstanceSize.LARGE).to_string().split(".", 1)[0]
        for c in env.instance_classes or []
    ]
    archs = {architecture_of(t) for t in names}
    # The L2 appends "optimal" unless told not to (a prop it does not expose): assume it does, so a job
    # is never rejected for want of instances the environment may well have.
    types = (*names, "optimal") if archs <= {Architecture.X86_64} else tuple(names)
    return ComputeProfile(
        ComputeKind.of(spot=bool(env.spot), eks=eks),
        architecture=archs.pop() if len(archs) == 1 else Architecture.X86_64,
        maxv_cpus=maxv_cpus,
        instance_types=types,
        gpu=any(is_gpu(t) for t in names),
    )


def profile_of_queue(queue: batch.IJobQueue) -> QueueProfile | None:
    """The profile of an L2 job queue defined in this app (None for an imported one)."""
    if not isinstance(queue, batch.JobQueue):
        return None
    ordered = sorted(queue.compute_environments, key=lambda o: o.order)
    environments = tuple(
        (_label(o.compute_environment), profile_of_environment(o.compute_environment)) for o in ordered
    )
    return QueueProfile(environments, fair_share=queue.scheduling_policy is not None)


def _label(env: Any) -> str:
    """Our compute construct's path for its L2 resource, else the L2's own path."""
    owner = env.node.scope
    return str(owner.node.path) if getattr(owner, "resource", None) is env else str(env.node.path)


def describe_definition(definition: Any) -> tuple[JobSpec | None, tuple[Problem, ...]]:
    """An L2 job definition defined in this app as the rules see it, and what the job and container rules
    find in it (each prop prefixed ``job_definition(PATH).``, so the consumer that reports them names the
    definition). ``(None, ())`` for an imported one.

    Reads the L1's properties as the L2 rendered them (one ``resolve``: property overrides added to the L1
    later are not seen), the same ones CloudFormation receives.
    """
    if not isinstance(definition, _DESCRIBED):
        return None, ()
    cfn = definition.node.default_child
    if not isinstance(cfn, batch.CfnJobDefinition):
        return None, ()
    props = Stack.of(cfn).resolve(cfn._cfn_properties)
    if not isinstance(props, dict):
        return None, ()
    spec = JobSpec.from_api(props, label=str(definition.node.path))
    if spec.keeps_revisions is None:
        # CloudFormation's default: the previous revision is deregistered on update.
        spec = replace(spec, keeps_revisions=False)
    prefix = f"job_definition({definition.node.path})"
    return spec, tuple(p.under(prefix) for p in check_job(spec, described=True))


_DESCRIBED = (batch.EcsJobDefinition, batch.MultiNodeJobDefinition, batch.EksJobDefinition)


def requirements_of_definition(definition: batch.IJobDefinition) -> JobRequirements | None:
    """What an L2 job definition defined in this app asks of its compute (None for an imported one)."""
    spec, _ = describe_definition(definition)
    return spec.requirements() if spec is not None else None
