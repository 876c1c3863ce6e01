"""Notifications for Batch job state changes and workflow (Step Functions) execution outcomes.

Both are EventBridge rules on the default bus (AWS services publish these events for free; a rule
costs nothing until it matches). Each routes a readable, one-line message to a
:class:`NotificationTopic` and/or an SQS queue, with a retry policy and a dead-letter queue.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from ._events import DEFAULT_MAX_EVENT_AGE, DEFAULT_RETRY_ATTEMPTS, check_retry, new_dead_letter_queue
from ._validation import fail
from .notifications import NotificationTopic
from .queue import JobQueue

#: Batch job statuses (the ``detail.status`` of "Batch Job State Change" events).
JOB_STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")
#: Step Functions execution statuses that end an execution unsuccessfully.
EXECUTION_FAILURES = ("FAILED", "TIMED_OUT", "ABORTED")
EXECUTION_STATUSES = ("RUNNING", "SUCCEEDED", *EXECUTION_FAILURES)


class _NotificationRule(Construct):
    """A rule with one pattern that delivers ``message`` to a topic and/or a queue."""

    def _statuses(self, statuses: Sequence[str], allowed: Sequence[str]) -> list[str]:
        chosen = list(dict.fromkeys(statuses))
        if not chosen or any(s not in allowed for s in chosen):
            fail(self, "statuses", list(statuses), f"must be one or more of {', '.join(allowed)}")
        return chosen

    def _deliver(
        self,
        pattern: events.EventPattern,
        message: events.RuleTargetInput,
        topic: NotificationTopic | None,
        queue: sqs.IQueue | None,
        retry_attempts: int,
        max_event_age: Duration,
        description: str,
    ) -> None:
        if topic is None and queue is None:
            fail(self, "topic", None, "give a topic, a queue or both: the notifications need a destination")
        check_retry(self, retry_attempts, max_event_age)
        #: Where undeliverable notifications go (encrypted, TLS-only, 14 days).
        self.dead_letter_queue = new_dead_letter_queue(self)
        #: The EventBridge rule; ``rule.node.default_child.EventPattern`` is the pattern.
        self.rule = events.Rule(self, "Rule", event_pattern=pattern, description=description)
        delivery = dict(
            dead_letter_queue=self.dead_letter_queue,
            retry_attempts=retry_attempts,
            max_event_age=max_event_age,
        )
        if topic is not None:
            self.rule.add_target(targets.SnsTopic(topic.topic, message=message, **delivery))  # type: ignore[arg-type]
        if queue is not None:
            self.rule.add_target(targets.SqsQueue(queue, message=message, **delivery))  # type: ignore[arg-type]


class JobStateNotifications(_NotificationRule):
    """Notify when jobs in the given queues reach the given statuses (Default: FAILED).

    The message reads: ``Batch job NAME (ID) in queue ARN is FAILED: REASON. Log stream: STREAM.``
    (fields a job does not have, e.g. the log stream of a job that never started, are left empty).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        queues: Sequence[JobQueue],
        statuses: Sequence[str] = ("FAILED",),
        topic: NotificationTopic | None = None,
        queue: sqs.IQueue | None = None,
        retry_attempts: int = DEFAULT_RETRY_ATTEMPTS,
        max_event_age: Duration = DEFAULT_MAX_EVENT_AGE,
    ) -> None:
        """
        :param queues: the job queues to watch (at least one).
        :param statuses: job statuses to notify about. Default: FAILED only (add SUCCEEDED for
            completion notices).
        :param topic: publish to this topic. Default: no topic (give a topic, a queue or both).
        :param queue: send to this SQS queue. Default: no queue.
        :param retry_attempts: delivery retries (0-185). Default: 8.
        :param max_event_age: give up (to the dead-letter queue) after this long. Default: 6 hours.
        """
        super().__init__(scope, construct_id)
        if not queues:
            fail(self, "queues", [], "needs at least one job queue")
        chosen = self._statuses(statuses, JOB_STATUSES)
        pattern = events.EventPattern(
            source=["aws.batch"],
            detail_type=["Batch Job State Change"],
            detail={"status": chosen, "jobQueue": [q.job_queue_arn for q in queues]},
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
            queue,
            retry_attempts,
            max_event_age,
            f"Batch jobs {', '.join(chosen)}",
        )


class WorkflowNotifications(_NotificationRule):
    """Notify when executions of the given state machines end FAILED, TIMED_OUT or ABORTED.

    The message reads: ``Workflow execution NAME of STATE_MACHINE_ARN is TIMED_OUT (ERROR: CAUSE).
    Execution: EXECUTION_ARN.``
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machines: Sequence[sfn.IStateMachine],
        statuses: Sequence[str] = EXECUTION_FAILURES,
        topic: NotificationTopic | None = None,
        queue: sqs.IQueue | None = None,
        retry_attempts: int = DEFAULT_RETRY_ATTEMPTS,
        max_event_age: Duration = DEFAULT_MAX_EVENT_AGE,
    ) -> None:
        """
        :param state_machines: the state machines to watch (a :class:`Workflow`'s ``state_machine``).
        :param statuses: execution statuses to notify about. Default: FAILED, TIMED_OUT and ABORTED.
        :param topic: publish to this topic. Default: no topic (give a topic, a queue or both).
        :param queue: send to this SQS queue. Default: no queue.
        :param retry_attempts: delivery retries (0-185). Default: 8.
        :param max_event_age: give up (to the dead-letter queue) after this long. Default: 6 hours.
        """
        super().__init__(scope, construct_id)
        if not state_machines:
            fail(self, "state_machines", [], "needs at least one state machine")
        chosen = self._statuses(statuses, EXECUTION_STATUSES)
        pattern = events.EventPattern(
            source=["aws.states"],
            detail_type=["Step Functions Execution Status Change"],
            detail={"status": chosen, "stateMachineArn": [m.state_machine_arn for m in state_machines]},
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
            queue,
            retry_attempts,
            max_event_age,
            f"Workflow executions {', '.join(chosen)}",
        )
