"""Job definition rules: timeouts, retries, sizes per platform, multi-node ranges, ECS Managed Instances,
kept revisions, what depends on the network, and the ARN importers take (BK-J*, BK-N3, BK-N4, BK-P2,
BK-P3, BK-D1).

Value rules over a :class:`~cdk_batchkit.model.jobs.JobSpec`; :func:`check_job` runs them and the container
rules (:mod:`.containers`) in one order. Props are named as the constructs name them (``timeout``,
``retry.attempts``, ``container.vcpus``, ``node_ranges``), so a construct reports them as they are and a
consumer of an L2 definition prefixes them with the definition (``job_definition(PATH).``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator

from ..jobs import JobSpec
from ..limits import (
    FARGATE_MEMORY,
    MAX_ATTEMPTS,
    MAX_EVALUATE_ON_EXIT,
    MAX_NODES,
    MAX_SCHEDULING_PRIORITY,
    MIN_ATTEMPT_SECONDS,
    MIN_NODES,
    MIN_SCHEDULING_PRIORITY,
)
from ..profiles import Platform, SubmitShape
from ..values import STRING_MARKER
from ._registry import Problem, rule
from .containers import CONTAINER_RULES, ecs_containers

_API = "https://docs.aws.amazon.com/batch/latest/APIReference"
_GUIDE = "https://docs.aws.amazon.com/batch/latest/userguide"
#: The synth-warning id the network warnings (BK-N4, BK-P2, BK-P3) keep from before the rule book.
NETWORK_WARNING = "batchkit:network-unknown"
#: What a definition bound nowhere is told (the ``unknown`` of BK-P2/BK-P3).
NEVER_BOUND = "is not bound to any job queue whose compute is known and was given no network"
_HOW_TO_BIND = (
    "bind it to its queue (queue.add_job_definition(job), job.grant_submit(role, queue), a submitter or a "
    "workflow step), use this library's compute environments, or pass network=..."
)


# -- BK-J1, BK-J2, BK-J6: run policy --------------------------------------------------------------------
@rule("BK-J1", "Attempt timeout at least 60 s.", f"{_API}/API_JobTimeout.html")
def timeout(job: JobSpec) -> Iterator[Problem]:
    if job.timeout_seconds is not None and job.timeout_seconds < MIN_ATTEMPT_SECONDS:
        yield Problem(
            "timeout", f"{job.timeout_seconds:g} s", f"must be at least {MIN_ATTEMPT_SECONDS} seconds"
        )


@rule(
    "BK-J2",
    "Attempts 1-10, at most 5 evaluateOnExit rules, and rules only with 2 or more attempts (with one "
    "attempt, Batch's default when attempts is not set, they never fire).",
    f"{_API}/API_RetryStrategy.html",
)
def retry(job: JobSpec) -> Iterator[Problem]:
    if job.attempts is not None and not 1 <= job.attempts <= MAX_ATTEMPTS:
        yield Problem("retry.attempts", job.attempts, f"must be between 1 and {MAX_ATTEMPTS}")
    if job.retry_rules > MAX_EVALUATE_ON_EXIT:
        yield Problem(
            "retry.rules",
            job.retry_rules,
            f"Batch allows at most {MAX_EVALUATE_ON_EXIT} evaluateOnExit rules",
        )
    if job.retry_rules and (job.attempts if job.attempts is not None else 1) == 1:
        yield Problem(
            "retry.attempts",
            job.attempts,
            "retry rules never fire with a single attempt (Batch's default when attempts is not set)",
        )


@rule(
    "BK-J6",
    "Job definition scheduling priority 0-9999.",
    f"{_API}/API_RegisterJobDefinition.html (schedulingPriority)",
)
def scheduling_priority(job: JobSpec) -> Iterator[Problem]:
    value = job.scheduling_priority
    if value is not None and not MIN_SCHEDULING_PRIORITY <= value <= MAX_SCHEDULING_PRIORITY:
        yield Problem(
            "scheduling_priority",
            value,
            f"must be between {MIN_SCHEDULING_PRIORITY} and {MAX_SCHEDULING_PRIORITY}",
        )


# -- BK-J3, BK-J4: sizes --------------------------------------------------------------------------------
def _fargate_pairs_why(vcpus: float) -> str:
    """The one message of BK-J3's vCPU/memory pairs (a task: the sum of its containers)."""
    allowed = FARGATE_MEMORY.get(vcpus)
    if allowed is None:
        choices = ", ".join(f"{v:g}" for v in FARGATE_MEMORY)
        return f"Fargate takes one of {choices} vCPUs (a task: the sum of its containers')"
    return (
        f"Fargate with {vcpus:g} vCPU takes {allowed.start}-{allowed.stop - 1} MiB in steps of "
        f"{allowed.step} (a task: the sum of its containers')"
    )


@rule(
    "BK-J3",
    "Fargate: the job's vCPUs and memory (a single container's, or the sum of a task's containers) are a "
    "pair from Batch's table, no GPUs, ephemeral storage 21-200 GiB; the Fargate-only settings (public IP, "
    "ephemeral storage, CPU architecture) are not set on EC2 jobs.",
    f"{_API}/API_ResourceRequirement.html and {_API}/API_EphemeralStorage.html and "
    f"{_GUIDE}/multi-container-jobs.html",
)
def fargate_size(job: JobSpec) -> Iterator[Problem]:
    if job.platform is Platform.EC2 and job.shape is not SubmitShape.NODE:
        for prop, value in (
            ("assign_public_ip", job.assign_public_ip),
            (
                "ephemeral_storage",
                None if job.ephemeral_storage_gib is None else f"{job.ephemeral_storage_gib:g} GiB",
            ),
        ):
            if value is not None:
                yield Problem(prop, value, "only applies to Fargate jobs")
        if job.architecture is not None:
            yield Problem(
                "architecture", job.architecture.value, "only applies to Fargate jobs (EC2 follows the queue)"
            )
    if job.platform is not Platform.FARGATE:
        return
    labelled = ecs_containers(job)
    for prop, c in labelled:
        if c.gpus:
            yield Problem(
                f"{prop}.gpus", c.gpus, "Fargate has no GPUs; use platform=Platform.EC2 with a GPU queue"
            )
    gib = job.ephemeral_storage_gib
    if gib is not None and not 21 <= gib <= 200:
        yield Problem("ephemeral_storage", f"{gib:g} GiB", "Fargate takes 21-200 GiB")
    sizes = [(c.vcpus, c.memory_mib) for _, c in labelled]
    if not sizes or any(v is None or m is None for v, m in sizes):
        return
    vcpus = sum(float(v or 0) for v, _ in sizes)
    memory = sum(float(m or 0) for _, m in sizes)
    allowed = FARGATE_MEMORY.get(vcpus)
    if allowed is not None and memory in allowed:
        return
    if len(labelled) == 1 and job.shape is not SubmitShape.ECS_TASK:
        prop = labelled[0][0]
        if allowed is None:
            yield Problem(f"{prop}.vcpus", vcpus, _fargate_pairs_why(vcpus))
        else:
            yield Problem(f"{prop}.memory", f"{memory:g} MiB", _fargate_pairs_why(vcpus))
    else:
        yield Problem("containers", f"{vcpus:g} vCPU, {memory:g} MiB in total", _fargate_pairs_why(vcpus))


@rule(
    "BK-J4",
    "Container sizes: memory in whole MiB; on EC2 (single containers, task containers and node ranges) whole "
    "vCPUs, at least 1, at least 4 MiB and 0-16 GPUs per container.",
    f"{_API}/API_ResourceRequirement.html",
)
def container_sizes(job: JobSpec) -> Iterator[Problem]:
    for prop, c in ecs_containers(job):
        if c.memory_mib is not None and c.memory_mib != int(c.memory_mib):
            yield Problem(f"{prop}.memory", f"{c.memory_mib:g} MiB", "must be a whole number of MiB")
            continue
        if job.platform is not Platform.EC2:
            continue
        if c.vcpus is not None and (c.vcpus < 1 or c.vcpus != int(c.vcpus)):
            yield Problem(f"{prop}.vcpus", c.vcpus, "EC2 jobs take a whole number of vCPUs, at least 1")
        if c.memory_mib is not None and c.memory_mib < 4:
            yield Problem(f"{prop}.memory", f"{c.memory_mib:g} MiB", "must be at least 4 MiB")
        if c.gpus is not None and not 0 <= c.gpus <= 16:
            yield Problem(f"{prop}.gpus", c.gpus, "must be between 0 and 16")


# -- BK-J5, BK-N3: multi-node -----------------------------------------------------------------------------
@rule(
    "BK-J5",
    "Multi-node jobs: 2-1,000 nodes, main node inside the range.",
    f"{_API}/API_NodeProperties.html",
)
def nodes(job: JobSpec) -> Iterator[Problem]:
    if job.shape is not SubmitShape.NODE or job.num_nodes is None:
        return
    if not MIN_NODES <= job.num_nodes <= MAX_NODES:
        yield Problem("nodes", job.num_nodes, f"must be between {MIN_NODES} and {MAX_NODES}")
    elif job.main_node is not None and not 0 <= job.main_node < job.num_nodes:
        yield Problem("main_node", job.main_node, f"must be a node index between 0 and {job.num_nodes - 1}")


@rule(
    "BK-N3",
    "A multi-node job's node ranges together cover nodes 0 to nodes-1 (so the main node is in one); two "
    "ranges are either apart or nested (the inner one overrides the outer); each range's container is a "
    "valid EC2 container; the range that ends at the last node and starts highest is rendered open "
    "(start:), so SubmitJob's numNodes can resize the job, and the fit check gives every node the range "
    "Batch gives it.",
    f"{_API}/API_NodeRangeProperty.html (targetNodes: accumulative ranges account for all nodes; nested "
    f"ranges override) and {_GUIDE}/mnp-node-groups.html and "
    f"{_API}/API_NodeOverrides.html (numNodes: a range with an open upper boundary)",
)
def node_ranges(job: JobSpec) -> Iterator[Problem]:
    if job.shape is not SubmitShape.NODE or job.num_nodes is None:
        return
    n = job.num_nodes
    if not job.node_ranges:
        yield Problem("node_ranges", [], "needs at least one node range")
        return
    spans = [(r.start, r.last(n)) for r in job.node_ranges]
    for start, end in spans:
        if not 0 <= start <= end <= n - 1:
            yield Problem(
                "node_ranges",
                f"nodes {start}-{end}",
                f"a range must run from a start to an end within nodes 0-{n - 1}",
            )
            return
    ordered = sorted(spans)
    for i, (s1, e1) in enumerate(ordered):
        for s2, e2 in ordered[i + 1 :]:
            if s2 > e1:
                break
            if (s1, e1) == (s2, e2):
                yield Problem("node_ranges", f"nodes {s1}-{e1} twice", "two ranges cover the same nodes")
                return
            if not (s1 <= s2 and e2 <= e1):
                yield Problem(
                    "node_ranges",
                    f"nodes {s1}-{e1} and {s2}-{e2}",
                    "node ranges overlap without one containing the other (nested ranges are allowed: the "
                    "inner one overrides the outer)",
                )
                return
    covered: set[int] = set()
    for start, end in spans:
        covered.update(range(start, end + 1))
    missing = [node for node in range(n) if node not in covered]
    if missing:
        first = missing[0]
        last = first
        while last + 1 in missing:
            last += 1
        yield Problem("node_ranges", [f"{s}-{e}" for s, e in spans], f"nodes {first}-{last} are in no range")


# -- BK-J7: ECS Managed Instances ----------------------------------------------------------------------
@rule(
    "BK-J7",
    "ECS Managed Instances job definitions (platformCapabilities MANAGED_INSTANCES) use ecsProperties only "
    "(no containerProperties or nodeProperties), the host network mode, and no Fargate settings (platform "
    "version, public IP, ephemeral storage).",
    f"{_GUIDE}/ecs-managed-instances-job-definitions.html and "
    "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/managed-instances-tasks-services.html "
    "(ephemeralStorage is not valid)",
)
def managed_instances_job(job: JobSpec) -> Iterator[Problem]:
    if job.platform is not Platform.MANAGED_INSTANCES:
        return
    if job.shape is not SubmitShape.ECS_TASK:
        yield Problem(
            "platform",
            Platform.MANAGED_INSTANCES.value,
            "ECS Managed Instances jobs take ecsProperties only (no containerProperties or nodeProperties): "
            "use EcsTaskJobDefinition(platform=Platform.MANAGED_INSTANCES)",
        )
        return
    if job.network_mode is not None and job.network_mode != "host":
        yield Problem(
            "network_mode", job.network_mode, "ECS Managed Instances jobs use the host network mode"
        )
    for prop, value in (
        ("assign_public_ip", job.assign_public_ip),
        (
            "ephemeral_storage",
            None if job.ephemeral_storage_gib is None else f"{job.ephemeral_storage_gib:g} GiB",
        ),
        ("platform_version", job.platform_version),
    ):
        if value is not None:
            yield Problem(prop, value, "only applies to Fargate jobs (ECS Managed Instances tasks take none)")


# -- BK-D1: kept revisions ------------------------------------------------------------------------------
@rule(
    "BK-D1",
    "Job definitions keep their previous revisions ACTIVE on update (ResourceRetentionPolicy."
    "SkipDeregisterOnUpdate) unless skip_deregister_on_update=False; a definition consumed here that does "
    "not (an L2 one by default) warns: submits by an older revision ARN fail after a deploy.",
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"
    "aws-properties-batch-jobdefinition-resourceretentionpolicy.html",
    warning=True,
)
def kept_revisions(job: JobSpec) -> Iterator[Problem]:
    if job.keeps_revisions is False:
        yield Problem(
            "skip_deregister_on_update",
            False,
            "CloudFormation deregisters the previous revision on every update, so whatever submits an older "
            "revision ARN after a deploy (a running workflow, a queued retry) fails; set "
            "skip_deregister_on_update=True (the L2 job definitions take it too)",
        )


# -- BK-N4, BK-P2, BK-P3: what depends on the network -------------------------------------------------
@rule(
    "BK-N4",
    "A Fargate job definition whose assign_public_ip is unset and whose network is never known (never bound "
    "to a queue of known compute, no network=) gets a synth warning: AssignPublicIp stays DISABLED.",
    f"{_GUIDE}/fargate.html and "
    "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-task-networking.html",
    warning=True,
)
def public_ip_undecided(job: JobSpec, *, network_known: bool) -> Iterator[Problem]:
    if job.platform is Platform.FARGATE and job.assign_public_ip is None and not network_known:
        yield Problem(
            "assign_public_ip",
            None,
            f"was left unset and the definition {NEVER_BOUND}, so its Fargate tasks get AssignPublicIp "
            "DISABLED and, in public subnets without NAT or VPC endpoints, can never pull their image; set "
            f"assign_public_ip=True/False, or {_HOW_TO_BIND}",
            code=NETWORK_WARNING,
        )


def secret_services(job: JobSpec) -> tuple[str, ...]:
    """``secretsmanager`` and/or ``ssm``: the services the containers' secrets (and registry credentials)
    are read from, each once."""
    return tuple(sorted({s for _, c in ecs_containers(job) for s in c.secret_sources}))


def efs_volumes(job: JobSpec) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for _, c in ecs_containers(job) for v in c.efs_volumes))


@rule(
    "BK-P2",
    "A job with Secrets Manager or SSM secrets on PRIVATE_WITH_ENDPOINTS compute adds the secretsmanager / "
    "ssm interface endpoints to that network (once per network); a synth warning when the network is "
    "unknown.",
    f"{_GUIDE}/specifying-sensitive-data.html and "
    "https://docs.aws.amazon.com/secretsmanager/latest/userguide/vpc-endpoint-overview.html and "
    "https://docs.aws.amazon.com/systems-manager/latest/userguide/setup-create-vpc.html",
    warning=True,
)
def secret_endpoints(job: JobSpec, *, unknown: str | None) -> Iterator[Problem]:
    """``unknown``: why the network is not known (``"on QUEUE: the network of ENV is unknown"``, or
    :data:`NEVER_BOUND`); None when it is known (the construct adds the endpoints)."""
    services = secret_services(job)
    if services and unknown:
        yield Problem(
            "secrets",
            list(services),
            f"{unknown}, so no VPC interface endpoints for {' and '.join(services)} were added: its compute "
            "needs them when it reaches AWS through endpoints only (NetworkMode.PRIVATE_WITH_ENDPOINTS); add "
            f"them yourself, or {_HOW_TO_BIND}",
            code=NETWORK_WARNING,
        )


@rule(
    "BK-P3",
    "An EFS volume opens NFS (TCP 2049) from the compute security group to the file system's security "
    "groups and grants the job role ClientMount (and ClientWrite unless read-only), restricted to the "
    "access point when one is given; a synth warning when the network is unknown.",
    f"{_GUIDE}/efs-volumes.html and https://docs.aws.amazon.com/efs/latest/ug/network-access.html and "
    "https://docs.aws.amazon.com/efs/latest/ug/iam-access-control-nfs-efs.html",
    warning=True,
)
def efs_network(job: JobSpec, *, unknown: str | None) -> Iterator[Problem]:
    volumes = efs_volumes(job)
    if volumes and unknown:
        yield Problem(
            "volumes",
            list(volumes),
            f"{unknown}, so this was not set up: NFS (TCP 2049) from the compute security group to the EFS "
            f"file system was not opened; open it yourself, or {_HOW_TO_BIND}",
            code=NETWORK_WARNING,
        )


# -- BK-J8: the ARN importers take ---------------------------------------------------------------------
_ARN = re.compile(r"^arn:([^:]*):([^:]*):([^:]*):([^:]*):([^/:]*)([/:].*)?$")


@rule(
    "BK-J8",
    "A job definition imported by ARN is given an ARN of resource type job-definition "
    "(arn:PARTITION:batch:REGION:ACCOUNT:job-definition/NAME[:REVISION]), not a name or another resource's "
    "ARN (a job queue's).",
    "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsbatch.html (resource types: "
    f"job-definition) and {_API}/API_JobDefinition.html (jobDefinitionArn)",
)
def job_definition_arn(arn: str, prop: str = "job_definition_arn") -> Iterator[Problem]:
    """Skips what is unresolved; a token inside the ARN stands for any one field."""
    if not isinstance(arn, str) or not arn or _whole_token(arn):
        return
    example = "arn:PARTITION:batch:REGION:ACCOUNT:job-definition/NAME[:REVISION]"
    text = re.sub(r"\$\{Token\[[^\]]*\]\}", "\x00", arn)
    match = _ARN.match(text)
    if match is None:
        yield Problem(
            prop,
            arn,
            f"is not an ARN (a name?): pass the definition's ARN, {example} (for example "
            "Stack.of(self).format_arn(service='batch', resource='job-definition', resource_name=NAME))",
        )
        return
    service, resource, rest = match.group(2), match.group(5), match.group(6) or ""
    if service not in ("batch", "\x00"):
        yield Problem(
            prop, arn, f"is an ARN of service {service!r}, not a Batch job definition's ({example})"
        )
    elif resource not in ("job-definition", "\x00"):
        what = "a job queue's" if resource == "job-queue" else f"of resource type {resource!r}"
        yield Problem(prop, arn, f"is {what} ARN, not a job definition's ({example})")
    elif resource == "job-definition" and (not rest.startswith("/") or rest == "/"):
        yield Problem(prop, arn, f"names no job definition ({example})")


def _whole_token(text: str) -> bool:
    return text.startswith(STRING_MARKER) and text.endswith("]}") and text.count(STRING_MARKER) == 1


#: Value rules over one job definition (besides the container rules), in the order they report.
JOB_RULES = (
    timeout,
    retry,
    scheduling_priority,
    nodes,
    node_ranges,
    managed_instances_job,
    container_sizes,
    fargate_size,
)


def check_job(job: JobSpec, *, described: bool = False) -> list[Problem]:
    """Every job and container rule on ``job``, errors in the order users meet them.

    ``described``: ``job`` describes a definition made elsewhere (an L2 one): BK-D1 then warns when it does
    not keep its revisions (ours keep them unless told otherwise, a choice not worth a warning).
    """
    checks: list[Callable[[JobSpec], Iterable[Problem]]] = [
        *JOB_RULES[:5],
        *CONTAINER_RULES[:2],  # platform restrictions first: they name the platform to use
        *JOB_RULES[5:],
        *CONTAINER_RULES[2:],
    ]
    if described:
        checks.append(kept_revisions)
    return [problem for check in checks for problem in check(job)]


__all__ = [
    "JOB_RULES",
    "NETWORK_WARNING",
    "NEVER_BOUND",
    "check_job",
    "efs_network",
    "efs_volumes",
    "job_definition_arn",
    "kept_revisions",
    "public_ip_undecided",
    "secret_endpoints",
    "secret_services",
]
