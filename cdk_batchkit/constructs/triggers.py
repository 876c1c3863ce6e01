"""What starts work: S3 uploads (via EventBridge) and EventBridge Scheduler schedules.

* :class:`ObjectCreatedTrigger`: an EventBridge rule on S3 "Object Created" events of one bucket
  (prefix/suffix filters) that starts a :class:`Workflow` with ``{"bucket", "key", "size",
  "version", "etag", "sequencer"}`` as input, every value a string (they become job parameters).
* :class:`JobSchedule`: submits one Batch job directly on a schedule (Scheduler's universal target
  ``arn:aws:scheduler:::aws-sdk:batch:submitJob``): no state machine, no Lambda.
* :class:`WorkflowSchedule`: starts a workflow on a schedule.

Schedules take an ``aws_scheduler.ScheduleExpression``: ``.cron(minute="0", hour="2",
time_zone=TimeZone.EUROPE_BERLIN)``, ``.rate(Duration.hours(6))`` or ``.at(datetime(...), tz)``
(one-time). Every target has a retry policy and an encrypted, TLS-only dead-letter queue.
All of it is pay-per-use: rules and schedules cost nothing while idle.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, Stack
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ..model import SubmitPath
from ..model.rules import check_schedule, job_name_and_parameters, key_filters
from ..model.rules import flexible_window as flexible_window_rule
from ..model.submission import pascal
from ._binding import DefinitionLike, QueueLike, definition_ref, queue_ref
from ._events import (
    S3_EVENT_FIELDS,
    EventDelivery,
    object_created_rule,
    object_key_filter,
    override_input,
    quoted_input,
    resolve_delivery,
)
from ._refs import WorkflowLike, state_machine_ref
from ._submission import plan_submission
from ._validation import fail, node_path, report, seconds_of
from .consumable import ConsumableLike
from .encryption import grant_queue_key
from .workflow import INPUT_FIELD


def _scheduler_role(scope: Construct) -> iam.Role:
    account = Stack.of(scope).account
    return iam.Role(
        scope,
        "Role",
        assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com").with_conditions(
            {"StringEquals": {"aws:SourceAccount": account}}
        ),
        description=f"EventBridge Scheduler target {node_path(scope)}",
    )


def _new_schedule(
    scope: Construct,
    schedule: scheduler.ScheduleExpression,
    target: scheduler.IScheduleTarget,
    flexible_window: Duration | None,
    description: str | None,
    enabled: bool,
) -> scheduler.Schedule:
    # EventBridge Scheduler's grammar (BK-E3..E5, cdk_batchkit.model.schedules) and window (BK-E9): a bad
    # value fails synth here instead of CreateSchedule failing at deploy. A token is only known then.
    report(scope, check_schedule(schedule.expression_string))
    if flexible_window is None:
        window = scheduler.TimeWindow.off()
    else:
        report(scope, flexible_window_rule(seconds_of(flexible_window)))
        window = scheduler.TimeWindow.flexible(flexible_window)
    return scheduler.Schedule(
        scope,
        "Resource",
        schedule=schedule,
        target=target,
        time_window=window,
        description=description,
        enabled=enabled,
    )


class ObjectCreatedTrigger(Construct):
    """Start ``workflow`` for every object created in ``bucket`` (optionally under a prefix / with a suffix).

    The bucket must send its events to EventBridge. A bucket defined in this app (``s3.Bucket``) is
    switched on here (``NotificationConfiguration.EventBridgeConfiguration`` on the ``AWS::S3::Bucket``,
    no custom resource) unless it already has CDK-managed notifications, in which case create it with
    ``event_bridge_enabled=True``. An imported bucket must have it switched on by its owner
    (``aws s3api put-bucket-notification-configuration ... '{"EventBridgeConfiguration": {}}'``).

    Attributes: ``rule`` (its ``EventPattern`` is the filter), ``dead_letter_queue``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        workflow: WorkflowLike,
        prefix: str | None = None,
        suffix: str | None = None,
        delivery: EventDelivery | None = None,
    ) -> None:
        """
        :param bucket: the bucket to watch.
        :param workflow: the workflow to start: a :class:`Workflow` or any ``sfn.IStateMachine``; its input is
            the object (see the module docstring).
        :param prefix: only keys starting with this. Default: any key.
        :param suffix: only keys ending with this (e.g. ``".csv"``). Default: any key.
        :param delivery: retries, event age and dead-letter queue. Default: 8 retries over 6 hours, then
            a new encrypted, TLS-only dead-letter queue.
        """
        super().__init__(scope, construct_id)
        resolved = resolve_delivery(self, delivery)
        report(self, key_filters(prefix, suffix))
        #: Where undeliverable events go.
        self.dead_letter_queue: sqs.IQueue = resolved.dead_letter_queue
        #: The EventBridge rule.
        self.rule = object_created_rule(
            self,
            "Rule",
            bucket=bucket,
            key_filter=object_key_filter(prefix, suffix),
            description=f"Start {node_path(workflow)} on new objects",
        )
        self.rule.add_target(
            targets.SfnStateMachine(
                state_machine_ref(workflow),
                dead_letter_queue=self.dead_letter_queue,
                retry_attempts=resolved.retry_attempts,
                max_event_age=resolved.max_event_age,
            )
        )
        # Every value quoted, so the workflow input is all strings (see _events.quoted_input).
        override_input(self.rule, 0, quoted_input(S3_EVENT_FIELDS))


class JobSchedule(Construct):
    """Submit one Batch job on a schedule, straight from EventBridge Scheduler (universal target).

    The schedule's role may submit only ``job_definition`` (any revision) to ``job_queue``
    (plus ``batch:TagResource`` when the definition propagates tags) and send to its dead-letter queue.
    Attributes: ``schedule``, ``role``, ``dead_letter_queue``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        schedule: scheduler.ScheduleExpression,
        job_definition: DefinitionLike,
        job_queue: QueueLike,
        job_name: str | None = None,
        parameters: Mapping[str, str] | None = None,
        array_size: int | None = None,
        flexible_window: Duration | None = None,
        delivery: EventDelivery | None = None,
        description: str | None = None,
        enabled: bool = True,
        share_identifier: str | None = None,
        scheduling_priority: int | None = None,
        consumable_resources: Mapping[ConsumableLike, int] | None = None,
    ) -> None:
        """
        :param schedule: ``ScheduleExpression.cron(...)`` (with ``time_zone``), ``.rate(...)``
            or ``.at(...)``.
        :param job_definition: the job to submit: ours, imported or any ``batch.IJobDefinition`` (any
            shape: the schedule sends no container overrides).
        :param job_queue: the queue to submit to: ours, imported or any ``batch.IJobQueue`` (checked at
            synth when its compute is known: the job must fit it).
        :param job_name: Default: this construct's id.
        :param parameters: job parameters (``Ref::name`` in the command). Default: the definition's
            defaults.
        :param array_size: submit an array job of this size (2-10,000). Default: a plain job.
        :param flexible_window: let Scheduler start up to this much later (1 min - 24 h), spreading
            load. Default: off (on time).
        :param delivery: retries when SubmitJob fails, event age and dead-letter queue. Default: 8
            retries over 6 hours, then a new encrypted, TLS-only dead-letter queue.
        :param description: the schedule's description. Default: no description.
        :param enabled: whether the schedule runs. Default: True (False creates it disabled).
        :param share_identifier: fair-share identifier of the job: required when the queue has a
            fair-share policy, refused when it has none (checked at synth). Default: the job is submitted
            without one (for a queue without a fair-share policy).
        :param scheduling_priority: ``schedulingPriorityOverride`` (0-9999, fair share only).
            Default: the job definition's.
        :param consumable_resources: ``{ConsumableResource: quantity}`` for each submitted job
            (``ConsumableResourcePropertiesOverride``), for resources the definition requests. Default:
            the definition's.
        """
        super().__init__(scope, construct_id)
        resolved = resolve_delivery(self, delivery)
        job, queue = definition_ref(job_definition), queue_ref(job_queue)
        name = job_name or construct_id
        #: The submission every scheduled job is.
        self.submission = plan_submission(
            self,
            path=SubmitPath.SCHEDULER,
            queue=queue,
            job=job,
            share_identifier=share_identifier,
            scheduling_priority=scheduling_priority,
            consumable_resources=consumable_resources,
            array_size=array_size,
            job_name=name,
            parameters=dict(parameters or {}),
            # Sent as the definition says (the schedule's request overrides it otherwise).
            propagate_tags=True if job.propagate_tags else None,
        )
        #: The schedule's role (SubmitJob scoped to one definition and queue).
        self.role = _scheduler_role(self)
        self.submission.grant(self, self.role)
        #: Where failed submissions go.
        self.dead_letter_queue: sqs.IQueue = resolved.dead_letter_queue
        grant_queue_key(self.role, self.dead_letter_queue)  # Scheduler sends to it as this role
        # Scheduler's universal target calls SubmitJob with this input as the request (PascalCase, as in
        # Scheduler's and CDK's examples): every SubmitJob field, every definition shape.
        request: dict[str, object] = {
            "JobName": name,
            "JobQueue": queue.job_queue_arn,
            "JobDefinition": job.job_definition_arn,
            **pascal(self.submission.request()),
        }
        target = scheduler_targets.Universal(
            service="batch",
            action="submitJob",
            input=scheduler.ScheduleTargetInput.from_object(request),
            role=self.role,
            # Scoped statements come from the submission's grant above; listing them here keeps the L2's
            # default (batch:SubmitJob on "*") out.
            policy_statements=[
                iam.PolicyStatement(actions=["batch:SubmitJob"], resources=self.submission.resources)
            ],
            dead_letter_queue=self.dead_letter_queue,
            retry_attempts=resolved.retry_attempts,
            max_event_age=resolved.max_event_age,
        )
        #: The EventBridge Scheduler schedule.
        self.schedule = _new_schedule(self, schedule, target, flexible_window, description, enabled)


class WorkflowSchedule(Construct):
    """Start ``workflow`` on a schedule with a fixed input (a flat mapping of strings).

    Attributes: ``schedule``, ``role``, ``dead_letter_queue``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        schedule: scheduler.ScheduleExpression,
        workflow: WorkflowLike,
        input: Mapping[str, str] | None = None,
        flexible_window: Duration | None = None,
        delivery: EventDelivery | None = None,
        description: str | None = None,
        enabled: bool = True,
    ) -> None:
        """
        :param schedule: ``ScheduleExpression.cron(...)`` (with ``time_zone``), ``.rate(...)``
            or ``.at(...)``.
        :param workflow: the workflow to start: a :class:`Workflow` or any ``sfn.IStateMachine``.
        :param input: the execution input; every value reaches every job as a parameter, so values
            are strings. Default: ``{}``.
        :param flexible_window: let Scheduler start up to this much later (1 min - 24 h). Default: off.
        :param delivery: retries when StartExecution fails, event age and dead-letter queue. Default: 8
            retries over 6 hours, then a new encrypted, TLS-only dead-letter queue.
        :param description: the schedule's description. Default: no description.
        :param enabled: whether the schedule runs. Default: True (False creates it disabled).
        """
        super().__init__(scope, construct_id)
        resolved = resolve_delivery(self, delivery)
        execution_input = dict(input or {})
        for key in execution_input:
            if not INPUT_FIELD.match(key):
                # Read with $.field by the steps: the library's input contract.
                fail(self, "input", key, "input field names are letters, digits and '_'")
        # Every value reaches every job as a Batch parameter (BK-E2).
        report(self, job_name_and_parameters(None, execution_input, parameters_prop="input"))
        #: The schedule's role (StartExecution on this workflow only).
        self.role = _scheduler_role(self)
        #: Where failed starts go.
        self.dead_letter_queue: sqs.IQueue = resolved.dead_letter_queue
        grant_queue_key(self.role, self.dead_letter_queue)  # Scheduler sends to it as this role
        target = scheduler_targets.StepFunctionsStartExecution(
            state_machine_ref(workflow),
            input=scheduler.ScheduleTargetInput.from_object(execution_input),
            role=self.role,
            dead_letter_queue=self.dead_letter_queue,
            retry_attempts=resolved.retry_attempts,
            max_event_age=resolved.max_event_age,
        )
        #: The EventBridge Scheduler schedule.
        self.schedule = _new_schedule(self, schedule, target, flexible_window, description, enabled)
