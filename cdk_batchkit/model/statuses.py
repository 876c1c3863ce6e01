"""Job statuses, as AWS Batch names them in its APIs and its EventBridge events (no aws_cdk import).

Container jobs (SubmitJob) go SUBMITTED, PENDING, RUNNABLE, STARTING, RUNNING, then SUCCEEDED or FAILED
(https://docs.aws.amazon.com/batch/latest/userguide/job_states.html); service jobs (SubmitServiceJob,
SageMaker Training) add SCHEDULED between RUNNABLE and STARTING
(https://docs.aws.amazon.com/batch/latest/userguide/service-job-status.html; botocore's ``JobStatus`` and
``ServiceJobStatus`` enums). A :class:`JobStatus` is a ``str``: it compares equal to the plain status text.
"""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    """The ``status`` of a Batch job (``detail.status`` of its state-change events)."""

    SUBMITTED = "SUBMITTED"
    PENDING = "PENDING"
    RUNNABLE = "RUNNABLE"
    #: Service jobs only: handed to SageMaker AI, not started yet.
    SCHEDULED = "SCHEDULED"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED)


#: The statuses of container jobs (SubmitJob), in lifecycle order.
CONTAINER_JOB_STATUSES: tuple[JobStatus, ...] = tuple(s for s in JobStatus if s is not JobStatus.SCHEDULED)
#: The statuses of service jobs (SubmitServiceJob), in lifecycle order.
SERVICE_JOB_STATUSES: tuple[JobStatus, ...] = tuple(JobStatus)

#: The EventBridge ``detail-type`` of container jobs' state changes (source ``aws.batch``).
JOB_STATE_CHANGE = "Batch Job State Change"
#: The EventBridge ``detail-type`` of service jobs' state changes (source ``aws.batch``): same ``detail``
#: fields ``jobName``, ``jobId``, ``jobQueue``, ``status``, ``statusReason`` (as DescribeServiceJob returns
#: them, without ``tags`` and ``serviceRequestPayload``).
SERVICE_JOB_STATE_CHANGE = "Batch Service Job State Change"
#: Where AWS documents the two event types.
JOB_EVENTS_DOC = "https://docs.aws.amazon.com/batch/latest/userguide/batch_job_events.html"
SERVICE_JOB_EVENTS_DOC = "https://docs.aws.amazon.com/batch/latest/userguide/service-job-events.html"
