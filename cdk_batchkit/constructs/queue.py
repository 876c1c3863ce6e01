"""Job queues: ordered compute environments checked at synth, stuck-job actions, fair share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aws_cdk import Annotations, Duration
from aws_cdk import aws_batch as batch
from constructs import Construct

from ._validation import check_range, check_seconds, fail
from .compute import BatchComputeEnvironment, ComputeKind, ComputeProfile
from .fit import FitResult, JobRequirements, check_fit

if TYPE_CHECKING:
    from .job_definition import BatchJobDefinition

#: Batch allows at most three compute environments per queue.
MAX_ENVIRONMENTS = 3
_STUCK_MIN, _STUCK_MAX = 600, 86_400


@dataclass(frozen=True)
class FairShare:
    """A fair-share scheduling policy (jobs must then be submitted with a share identifier).

    :param shares: share identifier (a prefix may end in ``*``) -> weight factor (0.0001-999.9999;
        a lower weight gets more compute).
    :param share_decay: how far back usage counts (0-604800 s). Default: 1 hour.
    :param compute_reservation: percentage of capacity (0-99) kept for share identifiers not yet
        active. Default: 0.
    """

    shares: Mapping[str, float] = field(default_factory=dict)
    share_decay: Duration = field(default_factory=lambda: Duration.hours(1))
    compute_reservation: int = 0


class JobQueue(Construct):
    """A job queue over up to three ordered compute environments of one platform and architecture.

    Jobs are placed in the first environment (in list order) that can take them. Batch moves on to
    the next environment only when the earlier one is at its ``maxv_cpus``: it does *not* fall back
    when Spot capacity is short. Jobs stuck RUNNABLE for a reason that never resolves itself (no
    instance type or maxvCpus can hold them) are cancelled after ``cancel_misfit_after``, and jobs
    waiting for capacity after ``cancel_no_capacity_after``, so one stuck job cannot block the head
    of the queue forever.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        compute_environments: Sequence[BatchComputeEnvironment],
        priority: int = 1,
        fair_share: FairShare | None = None,
        cancel_misfit_after: Duration | None = None,
        cancel_no_capacity_after: Duration | None = None,
        cancel_stuck_jobs: bool = True,
        job_queue_name: str | None = None,
    ) -> None:
        """
        :param compute_environments: 1-3 environments, tried in this order; all Fargate or all EC2
            (managed or unmanaged), and all EC2 ones of one architecture.
        :param priority: 0-1000; higher-priority queues sharing an environment are scheduled first.
            Default: 1.
        :param fair_share: Default: first-in, first-out.
        :param cancel_misfit_after: cancel a RUNNABLE job whose reason is that no instance type or
            maxvCpus of any environment can hold it (600-86400 s). Default: 10 minutes.
        :param cancel_no_capacity_after: cancel a RUNNABLE job waiting on insufficient instance
            capacity (600-86400 s). Default: 4 hours.
        :param cancel_stuck_jobs: set False to leave stuck jobs alone. Default: True.
        :param job_queue_name: physical name. Default: generated.
        """
        super().__init__(scope, construct_id)
        envs = list(compute_environments)
        self._check_environments(envs)
        check_range(self, "priority", priority, 0, 1000)
        misfit = cancel_misfit_after or Duration.seconds(_STUCK_MIN)
        capacity = cancel_no_capacity_after or Duration.hours(4)
        check_seconds(self, "cancel_misfit_after", misfit, _STUCK_MIN, _STUCK_MAX)
        check_seconds(self, "cancel_no_capacity_after", capacity, _STUCK_MIN, _STUCK_MAX)
        actions = []
        if cancel_stuck_jobs:
            reasons = batch.JobStateTimeLimitActionsReason
            actions = [
                batch.JobStateTimeLimitAction(max_time=misfit, reason=reasons.JOB_RESOURCE_REQUIREMENT),
                batch.JobStateTimeLimitAction(
                    max_time=misfit, reason=reasons.COMPUTE_ENVIRONMENT_MAX_RESOURCE
                ),
                batch.JobStateTimeLimitAction(
                    max_time=capacity, reason=reasons.INSUFFICIENT_INSTANCE_CAPACITY
                ),
            ]
        #: The fair-share policy, when ``fair_share`` was given.
        self.scheduling_policy = self._fair_share_policy(fair_share) if fair_share else None
        #: The underlying L2 job queue.
        self.resource = batch.JobQueue(
            self,
            "Resource",
            compute_environments=[
                batch.OrderedComputeEnvironment(compute_environment=env.resource, order=i + 1)
                for i, env in enumerate(envs)
            ],
            priority=priority,
            job_state_time_limit_actions=actions or None,
            scheduling_policy=self.scheduling_policy,
            job_queue_name=job_queue_name,
        )
        self.compute_environments: tuple[BatchComputeEnvironment, ...] = tuple(envs)

    @classmethod
    def spot_first(
        cls,
        scope: Construct,
        construct_id: str,
        *,
        spot: BatchComputeEnvironment,
        on_demand: BatchComputeEnvironment,
        priority: int = 1,
        **kwargs: object,
    ) -> JobQueue:
        """A queue that fills ``spot`` first, then ``on_demand``.

        Real behaviour: Batch places jobs on the on-demand environment only once the Spot one is at its
        ``maxv_cpus``. If Spot capacity is short below that limit, jobs wait (and are cancelled after
        ``cancel_no_capacity_after``); they do not move to on-demand. Size the Spot environment's
        ``maxv_cpus`` to the share of work you want on Spot.
        """
        if not spot.profile.spot:
            fail(spot, "spot", spot.node.path, "spot_first needs a Spot environment first")
        if on_demand.profile.spot:
            fail(
                on_demand,
                "on_demand",
                on_demand.node.path,
                "spot_first needs an on-demand environment second",
            )
        return cls(scope, construct_id, compute_environments=[spot, on_demand], priority=priority, **kwargs)  # type: ignore[arg-type]

    @property
    def job_queue_arn(self) -> str:
        return self.resource.job_queue_arn

    @property
    def profiles(self) -> dict[str, ComputeProfile]:
        return {env.node.path: env.profile for env in self.compute_environments}

    def check_fit(self, job: JobRequirements) -> FitResult:
        """Whether ``job`` can run in at least one of this queue's environments."""
        return check_fit(job, self.profiles)

    def add_job_definition(self, job_definition: BatchJobDefinition) -> None:
        """Declare that ``job_definition`` is submitted here: fails synth if it can never run here."""
        job_definition.bind(self)

    def _check_environments(self, envs: list[BatchComputeEnvironment]) -> None:
        names = [e.node.path for e in envs]
        if not 1 <= len(envs) <= MAX_ENVIRONMENTS:
            fail(
                self,
                "compute_environments",
                names,
                f"needs 1 to {MAX_ENVIRONMENTS} environments (Batch limit)",
            )
        if len(set(map(id, envs))) != len(envs):
            fail(self, "compute_environments", names, "lists an environment twice")
        kinds = {e.profile.kind is ComputeKind.FARGATE for e in envs}
        if len(kinds) > 1:
            fail(self, "compute_environments", names, "mixes Fargate and EC2 environments (Batch rejects it)")
        archs = {e.profile.architecture for e in envs if e.profile.kind is not ComputeKind.FARGATE}
        if len(archs) > 1:
            fail(
                self,
                "compute_environments",
                names,
                "mixes CPU architectures "
                + ", ".join(sorted(a.value for a in archs))
                + " (one image cannot run on both)",
            )
        if any(e.profile.kind is ComputeKind.UNMANAGED for e in envs):
            Annotations.of(self).add_info("Unmanaged environments: instance sizes are not checked at synth.")

    def _fair_share_policy(self, fair_share: FairShare) -> batch.FairshareSchedulingPolicy:
        if not fair_share.shares:
            fail(self, "fair_share.shares", dict(fair_share.shares), "needs at least one share identifier")
        for ident, weight in fair_share.shares.items():
            if not ident or len(ident) > 255:
                fail(self, "fair_share.shares", ident, "share identifiers are 1-255 characters")
            check_range(self, f"fair_share.shares[{ident!r}]", weight, 0.0001, 999.9999)
        check_seconds(self, "fair_share.share_decay", fair_share.share_decay, 0, 604_800)
        check_range(self, "fair_share.compute_reservation", fair_share.compute_reservation, 0, 99)
        return batch.FairshareSchedulingPolicy(
            self,
            "FairSharePolicy",
            share_decay=fair_share.share_decay,
            compute_reservation=fair_share.compute_reservation,
            shares=[batch.Share(share_identifier=k, weight_factor=v) for k, v in fair_share.shares.items()],
        )
