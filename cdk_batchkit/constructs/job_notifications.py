"""Notifications for Batch job state changes and workflow (Step Functions) execution outcomes.

Both are EventBridge rules on the default bus (AWS services publish these events for free; a rule
costs nothing until it matches). Each routes a readable, one-line message to a
:class:`NotificationTopic` and/or an SQS queue, with a retry policy and a dead-letter queue.

Container jobs emit ``Batch Job State Change`` events; the service jobs of a SageMaker Training queue emit
``Batch Service Job State Change`` events with the same ``detail`` fields the message reads (``jobName``,
``jobId``, ``jobQueue``, ``status``, ``statusReason``) and a ``SCHEDULED`` status of their own
(https://docs.aws.amazon.com/batch/latest/userguide/service-job-events.html,
https://docs.aws.amazon.com/batch/latest/userguide/service-job-status.html). :class:`JobStateNotifications`
matches the event type of each queue it is given (both when the queues mix the two).
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ..model.statuses import (
    CONTAINER_JOB_STATUSES,
    JOB_STATE_CHANGE,
    SERVICE_JOB_STATE_CHANGE,
    SERVICE_JOB_STATUSES,
    JobStatus,
)
from ._binding import QueueLike, queue_ref
from ._events import EventDelivery, resolve_delivery
from ._refs import TopicLike, WorkflowLike, state_machine_ref, topic_ref
from ._validation import fail, node_of

#: Batch job statuses (the ``detail.status`` of "Batch Job State Change" events). DEPRECATED: use
#: :class:`JobStatus` (``model.statuses.CONTAINER_JOB_STATUSES``).
JOB_STATUSES = tuple(s.value for s in CONTAINER_JOB_STATUSES)
#: Step Functions execution statuses that end an execution unsuccessfully.
EXECUTION_FAILURES = ("FAILED", "TIMED_OUT", "ABORTED")
EXECUTION_STATUSES = ("RUNNING", "SUCCEEDED", *EXECUTION_FAILURES)


class _NotificationRule(Construct):
    """A rule with one pattern that delivers ``message`` to a topic and/or a queue."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        # CDK's SQS target conditions its grant to a KMS-encrypted queue (queue and key policies) on the
        # rule's account only under this feature flag, and grants events.amazonaws.com unconditioned
        # otherwise (BK-G2): aws-events-targets/lib/sqs.ts. The rule is ours, so the flag is ours to set.
        node_of(self).set_context("@aws-cdk/aws-events:eventsTargetQueueSameAccount", True)

    def _statuses(self, statuses: Sequence[str], allowed: Sequence[str]) -> list[str]:
        chosen = [str(s) for s in dict.fromkeys(statuses)]
        if not chosen or any(s not in allowed for s in chosen):
            fail(
                self,
                "statuses",
                [str(s) for s in statuses],
                f"must be one or more of {', '.join(str(a) for a in allowed)}",
            )
        return chosen

    def _deliver(
        self,
        pattern: events.EventPattern,
        message: events.RuleTargetInput,
        topic: TopicLike | None,
        sqs_queue: sqs.IQueue | None,
        delivery: EventDelivery | None,
        description: str,
    ) -> None:
        if topic is None and sqs_queue is None:
            fail(
                self,
                "topic",
                None,
                "give a topic, an sqs_queue or both: the notifications need a destination",
            )
        resolved = resolve_delivery(self, delivery)
        #: Where undeliverable notifications go (encrypted, TLS-only, 14 days).
        self.dead_letter_queue = resolved.dead_letter_queue
        #: The EventBridge rule; ``rule.node.default_child.EventPattern`` is the pattern.
        self.rule = events.Rule(self, "Rule", event_pattern=pattern, description=description)
        options = dict(
            dead_letter_queue=self.dead_letter_queue,
            retry_attempts=resolved.retry_attempts,
            max_event_age=resolved.max_event_age,
        )
        if topic is not None:
            # A NotificationTopic's own policies already scope EventBridge to this account; any other
            # topic gets that conditioned statement (targets.SnsTopic would add an unconditioned
            # events.amazonaws.com grant to the topic and key policies: confused deputy).
            self.rule.add_target(topic_ref(topic).event_target(self, message, **options))  # type: ignore[arg-type]
        if sqs_queue is not None:
            self.rule.add_target(targets.SqsQueue(sqs_queue, message=message, **options))  # type: ignore[arg-type]


class JobStateNotifications(_NotificationRule):
    """Notify when jobs in the given queues reach the given statuses (Default: FAILED).

    The message reads: ``Batch job NAME (ID) in queue ARN is FAILED: REASON. Log stream: STREAM.``
    (fields a job does not have, e.g. the log stream of a job that never started or of a SageMaker
    Training service job, are left empty).

    SageMaker Training (service) queues are watched through their ``Batch Service Job State Change``
    events (a queue whose compute is unknown, imported without a profile, is watched as a container-job
    queue).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        job_queues: Sequence[QueueLike],
        statuses: Sequence[JobStatus | str] = (JobStatus.FAILED,),
        topic: TopicLike | None = None,
        sqs_queue: sqs.IQueue | None = None,
        delivery: EventDelivery | None = None,
    ) -> None:
        """
        :param job_queues: the job queues to watch (at least one): ours, imported or any
            ``batch.IJobQueue``.
        :param statuses: job statuses to notify about (:class:`JobStatus`; plain strings are still
            accepted). Default: FAILED only (add SUCCEEDED for completion notices). ``SCHEDULED`` exists
            for service jobs only: it needs a SageMaker Training queue among ``job_queues``.
        :param topic: publish to this topic: a :class:`NotificationTopic` or any ``sns.ITopic`` (which gets
            the statements EventBridge needs, conditioned on this account; an imported one a synth warning
            naming them). Default: no topic (give a topic, an ``sqs_queue`` or both).
        :param sqs_queue: send to this SQS queue. Default: no queue.
        :param delivery: retries, event age and dead-letter queue. Default: 8 retries over 6 hours, then
            a new encrypted dead-letter queue.
        """
        super().__init__(scope, construct_id)
        if not job_queues:
            fail(self, "job_queues", [], "needs at least one job queue")
        refs = [queue_ref(q) for q in job_queues]
        service = [r.profile is not None and r.profile.service for r in refs]
        detail_types = ([JOB_STATE_CHANGE] if not all(service) else []) + (
            [SERVICE_JOB_STATE_CHANGE] if any(service) else []
        )
        chosen = self._statuses(statuses, SERVICE_JOB_STATUSES if any(service) else CONTAINER_JOB_STATUSES)
        #: The EventBridge detail types matched: container jobs', service jobs' or both.
        self.detail_types = detail_types
        pattern = events.EventPattern(
            source=["aws.batch"],
            detail_type=detail_types,
            detail={"status": chosen, "jobQueue": [r.job_queue_arn for r in refs]},
        )
        message = events.RuleTargetInput.from_text(
            f"Batch job {events.EventField.from_path('$.detail.jobName')} "
            f"({events.EventField.from_path('$.detail.jobId')}) in queue "
            f"{events.EventField.from_path('$.detail.jobQueue')} is "
            f"{events.EventField.from_path('$.detail.status')}: "
            f"{events.EventField.from_path('$.detail.statusReason')}. Log stream: "
            f"{events.EventField.from_path('$.detail.container.logStreamName')}."
        )
        self._deliver(
            pattern,
            message,
            topic,
            sqs_queue,
            delivery,
            f"Batch jobs {', '.join(chosen)}",
        )


class WorkflowNotifications(_NotificationRule):
    """Notify when executions of the given workflows end FAILED, TIMED_OUT or ABORTED.

    The message reads: ``Workflow execution NAME of STATE_MACHINE_ARN is TIMED_OUT (ERROR: CAUSE).
    Execution: EXECUTION_ARN.``
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        workflows: Sequence[WorkflowLike],
        statuses: Sequence[str] = EXECUTION_FAILURES,
        topic: TopicLike | None = None,
        sqs_queue: sqs.IQueue | None = None,
        delivery: EventDelivery | None = None,
    ) -> None:
        """
        :param workflows: the workflows to watch (at least one): :class:`Workflow` constructs or any
            ``sfn.IStateMachine``.
        :param statuses: execution statuses to notify about. Default: FAILED, TIMED_OUT and ABORTED.
        :param topic: publish to this topic: a :class:`NotificationTopic` or any ``sns.ITopic`` (which gets
            the statements EventBridge needs, conditioned on this account; an imported one a synth warning
            naming them). Default: no topic (give a topic, an ``sqs_queue`` or both).
        :param sqs_queue: send to this SQS queue. Default: no queue.
        :param delivery: retries, event age and dead-letter queue. Default: 8 retries over 6 hours, then
            a new encrypted dead-letter queue.
        """
        super().__init__(scope, construct_id)
        if not workflows:
            fail(self, "workflows", [], "needs at least one workflow")
        chosen = self._statuses(statuses, EXECUTION_STATUSES)
        pattern = events.EventPattern(
            source=["aws.states"],
            detail_type=["Step Functions Execution Status Change"],
            detail={
                "status": chosen,
                "stateMachineArn": [state_machine_ref(w).state_machine_arn for w in workflows],
            },
        )
        message = events.RuleTargetInput.from_text(
            f"Workflow execution {events.EventField.from_path('$.detail.name')} of "
            f"{events.EventField.from_path('$.detail.stateMachineArn')} is "
            f"{events.EventField.from_path('$.detail.status')} "
            f"({events.EventField.from_path('$.detail.error')}: "
            f"{events.EventField.from_path('$.detail.cause')})."
            f" Execution: {events.EventField.from_path('$.detail.executionArn')}."
        )
        self._deliver(
            pattern,
            message,
            topic,
            sqs_queue,
            delivery,
            f"Workflow executions {', '.join(chosen)}",
        )
