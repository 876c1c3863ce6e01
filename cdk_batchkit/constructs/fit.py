"""The job/queue fit check: can this job ever leave RUNNABLE on this queue?

"Jobs stuck in RUNNABLE" is the most common AWS Batch complaint, and most cases
are knowable before deploy: the job asks for more vCPUs, memory or GPUs than any
instance the queue may launch, more vCPUs than maxvCpus, runs on the wrong
platform, or is a Fargate task without a route to its image registry. These
functions are pure (profiles in, reasons out) so they are easy to test and to
call on their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .compute import ComputeKind, ComputeProfile
from .instance_catalog import shape_of


class Platform(Enum):
    """Where a job definition runs."""

    EC2 = "EC2"
    FARGATE = "FARGATE"


@dataclass(frozen=True)
class JobRequirements:
    """What one job asks of a compute environment."""

    platform: Platform
    vcpus: float
    memory_mib: int
    gpus: int = 0
    #: Multi-node parallel jobs: every node must be placed at once.
    nodes: int = 1
    #: Multi-node parallel jobs may pin an instance type.
    instance_type: str | None = None
    #: Fargate only: whether the task gets a public IP.
    assign_public_ip: bool = False


@dataclass(frozen=True)
class FitResult:
    #: Why the job cannot run in each environment it cannot run in.
    problems: tuple[str, ...]
    #: Environments whose instance types the catalog does not know (not checked).
    unchecked: tuple[str, ...]
    #: True when at least one environment can run the job (or could not be checked).
    fits: bool


def check_environment(job: JobRequirements, env: ComputeProfile) -> tuple[str | None, bool]:
    """Return (why the job can never run on ``env`` or None, whether sizes could be checked)."""
    if job.platform is Platform.FARGATE:
        if env.kind is not ComputeKind.FARGATE:
            return "a Fargate job cannot run on an EC2 compute environment", True
        if env.maxv_cpus is not None and job.vcpus > env.maxv_cpus:
            return f"needs {job.vcpus:g} vCPUs but maxvCpus is {env.maxv_cpus}", True
        if env.public_subnets and not env.private_egress and not job.assign_public_ip:
            return (
                "runs in public subnets with no NAT or VPC endpoints, so a task without a public IP can "
                "never pull its image; set assign_public_ip=True (or leave it unset) or use a private network"
            ), True
        return None, True
    if env.kind is ComputeKind.FARGATE:
        return "an EC2 job cannot run on a Fargate compute environment", True
    if job.nodes > 1 and (env.spot or env.kind is ComputeKind.UNMANAGED):
        return "multi-node parallel jobs cannot run on Spot or unmanaged environments", True
    total_vcpus = job.vcpus * job.nodes
    if env.maxv_cpus is not None and total_vcpus > env.maxv_cpus:
        what = f"{job.nodes} nodes x {job.vcpus:g} vCPUs" if job.nodes > 1 else f"{job.vcpus:g} vCPUs"
        return f"needs {what} but maxvCpus is {env.maxv_cpus}", True
    if job.gpus and not env.gpu:
        return f"needs {job.gpus} GPU(s) but the environment has no GPU instances", True
    if env.kind is ComputeKind.UNMANAGED:
        return None, False
    types = env.instance_types
    if job.instance_type is not None:
        family = job.instance_type.split(".", 1)[0]
        alias = any(t.startswith(("optimal", "default_")) for t in types)
        if job.instance_type not in types and family not in types and not alias:
            return (
                f"pins instance type {job.instance_type}, which the environment does not allow "
                f"({', '.join(types)})"
            ), True
        types = (job.instance_type,)
    shapes = [shape_of(t) for t in types]
    if any(s is None for s in shapes):
        return None, False
    best = [s for s in shapes if s is not None]
    if any(
        s.vcpus >= job.vcpus and s.usable_memory_mib >= job.memory_mib and s.gpus >= job.gpus for s in best
    ):
        return None, True
    largest = max(best, key=lambda s: (s.vcpus, s.memory_mib, s.gpus))
    return (
        f"needs {job.vcpus:g} vCPUs, {job.memory_mib} MiB"
        + (f", {job.gpus} GPU(s)" if job.gpus else "")
        + f" per node, but no allowed instance type ({', '.join(types)}) offers that; the largest offers "
        f"{largest.vcpus} vCPUs, about {largest.usable_memory_mib} MiB usable"
        + (f", {largest.gpus} GPU(s)" if job.gpus else "")
    ), True


def check_fit(job: JobRequirements, environments: dict[str, ComputeProfile]) -> FitResult:
    """Check ``job`` against every environment of a queue (name -> profile)."""
    problems: list[str] = []
    unchecked: list[str] = []
    runnable = False
    for name, env in environments.items():
        why, checked = check_environment(job, env)
        if why is not None:
            problems.append(f"{name}: {why}")
        else:
            runnable = True
            if not checked:
                unchecked.append(name)
    return FitResult(tuple(problems), tuple(unchecked), runnable)
