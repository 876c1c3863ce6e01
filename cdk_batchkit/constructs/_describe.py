"""Describe CDK objects in the model's terms: L2 compute environments, queues and job definitions.

Reads what the object will render (its L1's properties, resolved), so a description matches the
template Batch receives. Anything that cannot be known at synth (an imported ARN, a token) is None,
and the rules that need it are skipped with a warning.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack, Token
from aws_cdk import aws_batch as batch
from constructs import IConstruct

from ..model import (
    Architecture,
    ComputeKind,
    ComputeProfile,
    JobRequirements,
    Platform,
    QueueProfile,
    architecture_of,
    is_gpu,
)


def _resolved(construct: IConstruct, value: Any) -> Any:
    return Stack.of(construct).resolve(value)


def _number(value: Any) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def profile_of_environment(env: Any) -> ComputeProfile | None:
    """The profile of a compute environment: ours (with network facts), an L2 one (from what it
    renders), or None for an imported one."""
    owner = env.node.scope
    profile = getattr(owner, "profile", None)
    if isinstance(profile, ComputeProfile) and getattr(owner, "resource", None) is env:
        return profile
    cfn = env.node.default_child
    if not isinstance(cfn, batch.CfnComputeEnvironment):
        return None
    if str(_resolved(env, cfn.type)).upper() == "UNMANAGED":
        return ComputeProfile(ComputeKind.UNMANAGED, architecture=None)
    resources = _resolved(env, cfn.compute_resources) or {}
    kind_name = str(resources.get("type", resources.get("Type", ""))).upper()
    eks = cfn.eks_configuration is not None
    kinds = {
        "EC2": ComputeKind.of(eks=eks),
        "SPOT": ComputeKind.of(spot=True, eks=eks),
        "FARGATE": ComputeKind.FARGATE,
        "FARGATE_SPOT": ComputeKind.FARGATE_SPOT,
    }
    kind = kinds.get(kind_name)
    if kind is None:
        return None
    maxv = _number(resources.get("maxvCpus", resources.get("MaxvCpus")))
    if kind.fargate:
        return ComputeProfile(kind, architecture=None, maxv_cpus=None if maxv is None else int(maxv))
    types = resources.get("instanceTypes", resources.get("InstanceTypes")) or []
    names = tuple(t for t in types if isinstance(t, str))
    archs = {architecture_of(t) for t in names}
    return ComputeProfile(
        kind,
        architecture=archs.pop() if len(archs) == 1 else Architecture.X86_64,
        maxv_cpus=None if maxv is None else int(maxv),
        instance_types=names if len(names) == len(types) else (),
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


def _mib(size: Any) -> int:
    mib = size.to_mebibytes() if size is not None else 0
    return 0 if Token.is_unresolved(mib) else int(mib)


def _cpu(value: Any) -> float:
    return 0 if value is None or Token.is_unresolved(value) else float(value)


def requirements_of_definition(definition: batch.IJobDefinition) -> JobRequirements | None:
    """What an L2 job definition defined in this app asks of its compute (None for an imported one)."""
    if isinstance(definition, batch.EcsJobDefinition):
        container = definition.container
        fargate = isinstance(container, batch.EcsFargateContainerDefinition)
        return JobRequirements(
            platform=Platform.FARGATE if fargate else Platform.EC2,
            vcpus=_cpu(container.cpu),
            memory_mib=_mib(container.memory),
            gpus=0 if fargate else int(getattr(container, "gpu", None) or 0),
            assign_public_ip=bool(getattr(container, "assign_public_ip", False)),
        )
    if isinstance(definition, batch.MultiNodeJobDefinition):
        ranges = list(definition.containers)
        if not ranges:
            return None
        nodes = max(int(r.end_node if r.end_node is not None else 0) for r in ranges) + 1
        largest = max(ranges, key=lambda r: (_cpu(r.container.cpu), _mib(r.container.memory)))
        instance_type = definition.instance_type.to_string() if definition.instance_type else None
        return JobRequirements(
            platform=Platform.EC2,
            vcpus=_cpu(largest.container.cpu),
            memory_mib=_mib(largest.container.memory),
            gpus=int(getattr(largest.container, "gpu", None) or 0),
            nodes=max(nodes, 2),
            instance_type=instance_type,
        )
    if isinstance(definition, batch.EksJobDefinition):
        pod = definition.container
        return JobRequirements(
            platform=Platform.EKS,
            vcpus=_cpu(pod.cpu_reservation or pod.cpu_limit),
            memory_mib=_mib(pod.memory_reservation or pod.memory_limit),
            gpus=int(pod.gpu_reservation or pod.gpu_limit or 0),
        )
    return None
