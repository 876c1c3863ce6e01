"""Workflows of Batch jobs: steps declared in plain Python, run by a Step Functions state machine.

Shape of the state machine
--------------------------
Steps form a DAG through ``depends_on``. Step Functions has no "wait for these N states" join, only
``Parallel`` (all branches start together, the state ends when all end), so a DAG is laid out as:

* every weakly connected group of steps is one branch of the top-level ``Parallel`` ("Run steps"),
  so unrelated pipelines never wait for each other;
* inside a group, steps are ordered in topological *levels* (level = longest chain of parents);
  each level is a ``Parallel`` of its steps (or the step itself when alone), and levels run one
  after the other.

A diamond (A -> B, A -> C, {B, C} -> D) is exactly A, Parallel(B, C), D. The trade-off: a step waits
for its whole previous level, not only for its own parents (in A -> B -> D, A -> C with a slow C, D
also waits for C). Every dependency is honoured and the layout is predictable and readable in the
console; an exact DAG would need Batch-level ``dependsOn`` and polling instead of ``submitJob.sync``.

Each step is one submission (:mod:`cdk_batchkit.model.submission`, checked once) submitted the way Step
Functions can carry it:

* a single-container job whose request has only the fields the optimized integration documents is a
  ``batch:submitJob.sync`` task (the state waits for the job; Step Functions adds
  ``MANAGED_BY_AWS=STARTED_BY_STEP_FUNCTIONS`` to its container overrides and terminates the job when the
  execution is stopped);
* any other (a multi-container task or EKS job, for which Batch refuses those injected container
  overrides; a multi-node job; a request with a share identifier, a scheduling priority or consumable
  resources) is a ``Parallel`` state named after the step around an ``aws-sdk:batch:submitJob`` task and a
  polling loop (Wait ``job_poll_interval``, ``aws-sdk:batch:describeJobs``, Choices on the status), which ends
  in a ``Succeed`` state or, for a FAILED job, in a ``Fail`` state with error :data:`JOB_FAILED` and the
  described job as cause. Stopping the execution does not terminate such a job.

Both have the same failure handling:

* ``Retry`` with exponential backoff and full jitter on Batch API throttling and service errors
  (:data:`RETRYABLE_ERRORS`; :data:`SDK_RETRYABLE_ERRORS` for the SDK integration's calls). A job that
  *failed by itself* is not retried here: the job definition's retry strategy already decided that.
* ``Catch`` on every task: the failure is summarised (``step``, ``error``, and for a failed job its
  ``jobId``, ``jobName``, ``status``) into a ``Fail`` state (error :data:`STEP_FAILED`, cause = that
  summary as JSON). That fails the top-level ``Parallel``, whose single ``Catch`` publishes one
  notification (when ``topic`` is given) and ends in the ``Workflow failed`` state carrying the
  same error and cause. One failure, one notification, however many steps were running.

The workflow input is a flat JSON object of strings (what an :class:`ObjectCreatedTrigger` or a
:class:`WorkflowSchedule` sends); it is passed unchanged to every job as its Batch *parameters*
(``Ref::key`` in a command), and any field can also become an environment variable
(``environment_from_input``). A fan-out step is an array job whose size comes from an input field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import Aws, Duration, Size
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from ..lambdas.submitter.manifest import (
    ENV_BUCKET,
    ENV_KEY,
    ENV_MANIFEST,
    ENV_SIZE,
    ENV_VERSION,
    PARAM_BUCKET,
    PARAM_COUNT,
    PARAM_KEY,
    PARAM_MANIFEST,
    PARAM_SIZE,
    PARAM_VERSION,
)
from ..model import Integration, SubmitPath, SubmitShape
from ..model.rules import workflow_steps, workflow_timeout
from ..model.submission import FromInput, NodeOverrideSpec, Overrides
from ..model.workflow_asl import (  # the constants and plan_levels are also this module's, as before
    FAILED_STATE,
    JOB_FAILED,
    RETRYABLE_ERRORS,
    SDK_RETRYABLE_ERRORS,
    STEP_FAILED,
    StepTask,
    definition,
    plan_levels,
    render_json,
)
from ._binding import DefinitionLike, QueueLike, definition_ref, queue_ref, submit_grant
from ._refs import TopicLike, TopicRef, topic_ref
from ._submission import PlannedSubmission, job_spec, plan_submission, step_functions_parameters
from ._validation import (
    check_seconds,
    drop_redundant_dependency,
    duration,
    fail,
    fetched,
    node_of,
    node_path,
    report,
    seconds_of,
    stack_of,
)
from .consumable import ConsumableLike
from .encryption import KeyUser, encryption_key
from .job_notifications import WorkflowNotifications
from .nag import acknowledge, acknowledge_resource
from .node_overrides import NodeOverride, environment_items, memory_mib, size_value

#: Input fields are read with ``$.field``.
INPUT_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
#: A step's submission field -> the step's prop (in messages).
_STEP_PROPS = {
    "overrides.resources": "vcpus/memory",
    "overrides": "",
    "job_name": "name",
}
#: The managed rule Step Functions creates to learn about Batch job completion (``.sync``).
SYNC_RULE = "StepFunctionsGetEventsForBatchJobsRule"

_PARTITION: list[str] = []


def _partition() -> str:
    """``Aws.PARTITION`` (the token the L2 tasks put in their ``Resource``), read once per process."""
    if not _PARTITION:
        _PARTITION.append(Aws.PARTITION)
    return _PARTITION[0]


#: ``environment_from_input`` for a step fed one S3 object (the S3 trigger's fields), so the job's
#: ``cdk_batchkit.jobkit.my_object()`` finds it as it does for the S3 submitter's PER_OBJECT jobs.
S3_OBJECT_ENVIRONMENT: Mapping[str, str] = {
    ENV_BUCKET: PARAM_BUCKET,
    ENV_KEY: PARAM_KEY,
    ENV_SIZE: PARAM_SIZE,
    ENV_VERSION: PARAM_VERSION,
}


@dataclass(frozen=True)
class Step:
    """One Batch job of a :class:`Workflow`.

    :param name: unique within the workflow; also the Batch job name and the state name
        (1-64 letters, digits, ``-``, ``_``).
    :param job_definition: the job to run: one of our job definitions, an imported one or any L2
        ``batch.IJobDefinition``.
    :param job_queue: the queue to submit it to: a :class:`JobQueue`, an imported one or any
        ``batch.IJobQueue`` (checked at synth when its compute is known: the job must fit it).
    :param depends_on: names of the steps that must succeed first (at most 20). Default: none: the
        step starts with the workflow.
    :param array_size: run as an array job: a fixed size (2-10,000), or the name of an input field
        whose value is the size as a string (e.g. ``"count"``). Default: a plain job.
    :param command: override the definition's command. Default: the definition's.
    :param environment: extra environment variables. Default: the definition's only.
    :param environment_from_input: environment variable -> input field, e.g.
        :data:`S3_OBJECT_ENVIRONMENT`. Default: no variable from the input.
    :param vcpus: override the vCPUs (checked against the queue). Default: the definition's.
    :param memory: override the memory (checked against the queue). Default: the definition's.
    :param timeout: Batch attempt timeout for this run (at least 60 s). Default: the definition's.
    :param attempts: Batch attempts for this run (1-10). Default: the definition's.
    :param share_identifier: fair-share identifier of the job: required when the queue has a fair-share
        scheduling policy, refused when it has none (checked at synth). Default: the job is submitted
        without one (for a queue without a fair-share policy).
    :param scheduling_priority: ``schedulingPriorityOverride`` (0-9999, fair share only). Default: the
        definition's.
    :param consumable_resources: ``{ConsumableResource: quantity}`` for this run
        (``ConsumableResourcePropertiesOverride``), for resources the definition requests. Default: the
        definition's.
    :param node_overrides: multi-node jobs: :class:`NodeOverride` values, each for one of the definition's
        node ranges as it renders them (or, without ``target_nodes``, for every range), checked against the
        definition's ranges and the queue. The step's ``environment`` and ``environment_from_input`` go to
        every node: once per node range of the definition, merged with that range's override.
        Default: every node runs as its range is defined.
    :param num_nodes: multi-node jobs: the number of nodes for this run (``NodeOverrides.NumNodes``; the
        definition needs an open last node range). Default: the definition's.

    Overrides go in the field of the definition's shape: ``ContainerOverrides``,
    ``EcsPropertiesOverride`` (its override container), ``EksPropertiesOverride`` (command and
    environment only) or ``NodeOverrides``.
    """

    name: str
    job_definition: DefinitionLike
    job_queue: QueueLike
    depends_on: Sequence[str] = ()
    array_size: int | str | None = None
    command: Sequence[str] | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    environment_from_input: Mapping[str, str] = field(default_factory=dict)
    vcpus: float | None = None
    memory: Size | None = None
    timeout: Duration | None = None
    attempts: int | None = None
    share_identifier: str | None = None
    scheduling_priority: int | None = None
    consumable_resources: Mapping[ConsumableLike, int] = field(default_factory=dict)
    node_overrides: Sequence[NodeOverride] = ()
    num_nodes: int | None = None

    @classmethod
    def fan_out(
        cls,
        name: str,
        job_definition: DefinitionLike,
        job_queue: QueueLike,
        *,
        manifest_field: str = PARAM_MANIFEST,
        count_field: str = PARAM_COUNT,
        **kwargs: object,
    ) -> Step:
        """An array step over a JSON-lines manifest (the S3 submitter's ARRAY contract).

        The input must carry the manifest's ``s3://`` URI in ``manifest_field`` and its line count
        (as a string) in ``count_field``; child ``i`` gets line ``i`` through ``jobkit.my_object()``
        (the URI arrives as job parameter ``manifest`` and environment variable ``BATCHKIT_MANIFEST``).
        """
        env = dict(kwargs.pop("environment_from_input", None) or {})  # type: ignore[call-overload]
        env[ENV_MANIFEST] = manifest_field
        return cls(
            name,
            job_definition,
            job_queue,
            array_size=count_field,
            environment_from_input=env,
            **kwargs,  # type: ignore[arg-type]
        )


class Workflow(Construct):
    """A Step Functions state machine that runs Batch jobs with dependencies, retries and failure handling.

    Attributes: ``state_machine`` (the L2 ``sfn.StateMachine``), ``role`` (its IAM role: add your own
    statements there), ``log_group``, ``steps``. See the module docstring for the state machine's
    shape, its failure path and the input contract.

    IAM: the role may submit only the job definitions used (``job-definition/NAME:*``) to the queues
    used, tag jobs when needed, describe/terminate jobs, manage the managed ``.sync`` rule, deliver
    logs, publish to ``topic`` and (with ``tracing``) write X-Ray traces. The state machine is given
    ``role.without_policy_updates()`` (the statements the L2 ``StateMachine`` adds for logging and
    tracing are dropped) and the role gets exactly the statements above.

    The definition is rendered as plain data (:mod:`cdk_batchkit.model.workflow_asl`), not built from L2
    state objects: the L2 Batch task would also grant ``batch:SubmitJob`` on every job definition
    (``job-definition/*``) and omit ``batch:TagResource``, and each L2 state is a jsii round trip.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        steps: Sequence[Step],
        topic: TopicLike | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        log_level: sfn.LogLevel = sfn.LogLevel.ALL,
        include_execution_data: bool = True,
        tracing: bool = False,
        timeout: Duration | None = None,
        job_tags: Mapping[str, str] | None = None,
        comment: str | None = None,
        state_machine_name: str | None = None,
        job_poll_interval: Duration | None = None,
    ) -> None:
        """
        :param steps: the jobs (at least one); see :class:`Step`.
        :param topic: on failure, publish one message (workflow, execution, error, cause with the
            failed step and job id) to this topic; TIMED_OUT and ABORTED executions (which no state
            can catch) are published by an EventBridge rule. A :class:`NotificationTopic` or any
            ``sns.ITopic`` (which gets the statement EventBridge needs, conditioned on this account; an
            imported one a synth warning naming it). Default: no notification.
        :param log_retention: retention of the execution log group. Default: one month.
        :param log_level: Default: ALL (every state transition; what cdk-nag's SF1 asks for). ERROR
            logs only failures, which is cheaper for chatty workflows.
        :param include_execution_data: log inputs and outputs too. Default: True.
        :param tracing: X-Ray tracing. Default: False (pay-per-trace; enable to debug latency).
        :param timeout: execution timeout. Default: none beyond Step Functions' one year (each job
            still has its own attempt timeout).
        :param job_tags: tags put on every job (propagated to ECS tasks by definitions with
            ``propagate_tags``). Default: jobs get no tags from the workflow.
        :param comment: the state machine's comment. Default: no comment.
        :param state_machine_name: physical name. Default: generated.
        :param job_poll_interval: how often a step submitted through the SDK integration (see the module
            docstring) asks Batch whether its job has ended, 1 s to 1 hour. Default: 30 seconds (each poll
            is five state transitions: about 120 polls, $0.015, per hour of job on Standard workflows).
        """
        super().__init__(scope, construct_id)
        self.steps: tuple[Step, ...] = tuple(steps)
        self._job_tags = dict(job_tags or {})
        self._poll = job_poll_interval or duration("seconds", 30)
        check_seconds(self, "job_poll_interval", self._poll, 1, 3600)
        self._validate()
        report(self, workflow_timeout(seconds_of(timeout) if timeout is not None else None))

        #: The role the state machine runs as (only the statements listed in the class docstring).
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("states.amazonaws.com").with_conditions(
                {"StringEquals": {"aws:SourceAccount": stack_of(self).account}}
            ),
            description=f"Step Functions workflow {node_path(self)}",
        )
        #: Execution history log group.
        self.log_group = logs.LogGroup(
            self, "LogGroup", retention=log_retention, encryption_key=encryption_key(self, KeyUser.LOGS)
        )
        notify = topic_ref(topic) if topic is not None else None
        #: The L2 state machine. Its definition is rendered here as data (comment and timeout included: the
        #: L2 writes them only into definitions it renders itself).
        self.state_machine = sfn.StateMachine(
            self,
            "Resource",
            definition_body=sfn.DefinitionBody.from_string(self._definition_string(notify, comment, timeout)),
            role=self.role.without_policy_updates(),
            logs=sfn.LogOptions(
                destination=self.log_group, level=log_level, include_execution_data=include_execution_data
            ),
            tracing_enabled=tracing,
            state_machine_name=state_machine_name,
        )
        # Step Functions checks the log delivery permissions at creation: the policy must exist first
        # (the role itself is already ordered by the RoleArn GetAtt: cfn-lint W3005).
        node_of(self.state_machine).add_dependency(self.role)
        drop_redundant_dependency(self.state_machine, self.role)
        self._grant(notify, tracing)
        if not tracing:
            acknowledge(
                self.state_machine,
                "SF2",
                "X-Ray tracing is opt-in (tracing=True): traces are billed per trace and the execution "
                "history plus ALL-level logs already show every step's timing.",
            )
        if log_level not in (sfn.LogLevel.ALL,):
            acknowledge(
                self.state_machine,
                "SF1",
                f"Logging at {log_level.value} was chosen explicitly (log_level) to reduce log volume.",
            )
        #: The EventBridge notifications for TIMED_OUT / ABORTED executions (when ``topic`` is given).
        self.notifications: WorkflowNotifications | None = None
        if topic is not None:
            self.notifications = WorkflowNotifications(
                self,
                "Notifications",
                workflows=[self.state_machine],
                statuses=("TIMED_OUT", "ABORTED"),
                topic=topic,
            )

    # -- validation --------------------------------------------------------------------------------
    def _validate(self) -> None:
        # The graph (BK-W3), then each step's submission, checked once (BK-W1, BK-W2, BK-O*, BK-S*...).
        report(self, workflow_steps([(s.name, list(s.depends_on)) for s in self.steps]))
        #: Each step's submission, by step name.
        self.submissions: dict[str, PlannedSubmission] = {s.name: self._plan_step(s) for s in self.steps}

    def _plan_step(self, step: Step) -> PlannedSubmission:
        prop = f"steps[{step.name}]"
        size = step.array_size
        if isinstance(size, bool) or (size is not None and not isinstance(size, (int, str))):
            fail(self, f"{prop}.array_size", size, "must be an int or the name of an input field")
        if isinstance(size, str) and not INPUT_FIELD.match(size):
            fail(self, f"{prop}.array_size", size, "is not a valid input field name")
        from_input = [(prop, step.environment_from_input)] + [
            (f"{prop}.node_overrides[{i}]", o.environment_from_input)
            for i, o in enumerate(step.node_overrides)
        ]
        for where, mapping in from_input:
            for env_name, input_field in mapping.items():
                if not INPUT_FIELD.match(input_field):
                    fail(
                        self,
                        f"{where}.environment_from_input[{env_name!r}]",
                        input_field,
                        "is not an input field name",
                    )
        both = set(step.environment) & set(step.environment_from_input)
        if both:
            fail(self, f"{prop}.environment", sorted(both), "is also set by environment_from_input")
        job, queue = definition_ref(step.job_definition), queue_ref(step.job_queue)
        sized = step.vcpus is not None or step.memory is not None
        if job.shape is SubmitShape.NODE and (sized or step.command is not None):
            fail(
                self,
                f"{prop}.command/vcpus/memory",
                job.label,
                "is a multi-node definition: set command, vcpus and memory per range in node_overrides",
            )
        spec = job_spec(job)
        ranges = [r.target_nodes for r in spec.node_ranges]
        # A NodeOverride without target_nodes is one override per range: problems name the step's own.
        node_specs: list[NodeOverrideSpec] = []
        renames = dict(_STEP_PROPS)
        for index, override in enumerate(step.node_overrides):
            for node_spec in override.specs(ranges):
                renames[f"node_overrides[{len(node_specs)}]"] = f"node_overrides[{index}]"
                node_specs.append(node_spec)
        return plan_submission(
            self,
            path=SubmitPath.STEP_FUNCTIONS,
            queue=queue,
            job=job,
            spec=spec,
            prefix=prop,
            rename=renames,
            share_identifier=step.share_identifier,
            scheduling_priority=step.scheduling_priority,
            consumable_resources=step.consumable_resources,
            overrides=Overrides(
                command=tuple(step.command) if step.command is not None else None,
                environment=environment_items(step.environment, step.environment_from_input),
                vcpus=size_value(step.vcpus),
                memory_mib=memory_mib(step.memory),
            ),
            node_overrides=node_specs,
            num_nodes=step.num_nodes,
            array_size=FromInput(size, json=True) if isinstance(size, str) else size,
            depends_on=len(step.depends_on),
            attempts=step.attempts,
            timeout_seconds=seconds_of(step.timeout) if step.timeout is not None else None,
            tags=self._job_tags,
            job_name=step.name,
        )

    # -- definition --------------------------------------------------------------------------------
    def _definition_string(
        self, notify: TopicRef | None, comment: str | None, timeout: Duration | None
    ) -> str:
        """The definition (:func:`cdk_batchkit.model.workflow_asl.definition`) as JSON text. Each value the
        CDK has not resolved yet (an ARN, the partition) is written by ``Stack.to_json_string``, once per
        distinct value, exactly as the L2 states wrote it (the rest is plain JSON, written in Python)."""
        tasks = [
            StepTask(
                name=step.name,
                depends_on=tuple(step.depends_on),
                parameters=self._step_parameters(step),
                integration=self.submissions[step.name].submission.step_functions_integration(),
            )
            for step in self.steps
        ]
        body = definition(
            tasks,
            partition=_partition(),
            poll_seconds=seconds_of(self._poll),
            topic_arn=fetched(notify.topic, "topic_arn") if notify is not None else None,
            comment=comment,
            timeout_seconds=seconds_of(timeout) if timeout is not None else None,
        )
        stack = stack_of(self)
        encoded: dict[Any, str] = {}

        def unresolved(value: Any) -> str:
            key = tuple(value) if isinstance(value, list | tuple) else value
            if key not in encoded:
                encoded[key] = stack.to_json_string(value)
            return encoded[key]

        return render_json(body, unresolved)

    def _step_parameters(self, step: Step) -> dict[str, Any]:
        """SubmitJob's ``Parameters`` for the step: its submission's request, the workflow input as the
        job's parameters."""
        planned = self.submissions[step.name]
        return {
            "JobName": step.name,
            "JobQueue": planned.queue.job_queue_arn,
            "JobDefinition": planned.job.job_definition_arn,
            # The whole workflow input becomes the job's parameters (Ref::key in a command).
            "Parameters.$": "$",
            **step_functions_parameters(planned.request()),
        }

    # -- IAM ---------------------------------------------------------------------------------------
    def _grant(self, notify: TopicRef | None, tracing: bool) -> None:
        stack = stack_of(self)
        role = self.role
        pairs: dict[tuple[int, int], list[PlannedSubmission]] = {}
        for step in self.steps:
            pairs.setdefault((id(step.job_definition), id(step.job_queue)), []).append(
                self.submissions[step.name]
            )
        for planned in pairs.values():
            # One statement per queue and definition, with every consumable resource its steps override;
            # tags (job_tags) are granted once below.
            first = planned[0]
            submit_grant(
                self,
                role,
                first.job,
                first.queue,
                with_tags=False,
                consumable_arns=[arn for p in planned for arn in p.consumable_arns],
            )
        optimized = any(
            p.submission.step_functions_integration() is Integration.OPTIMIZED
            for p in self.submissions.values()
        )
        job_arn = stack.format_arn(service="batch", resource="job", resource_name="*")
        job_actions = ["batch:TerminateJob"] if optimized else []
        if self._job_tags:
            job_actions.append("batch:TagResource")
        if job_actions:
            role.add_to_policy(iam.PolicyStatement(actions=job_actions, resources=[job_arn]))
            acknowledge_resource(
                role,
                "IAM5",
                "submitJob.sync terminates the job when the execution is stopped (and tags it at "
                "submission): "
                "job ARNs hold an ID Batch generates during SubmitJob, so job/* is the narrowest resource; "
                "SubmitJob itself is scoped to the queues and job definitions used.",
                job_arn,
            )
        if optimized:
            # The managed rule through which submitJob.sync learns that a job ended.
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                    resources=[stack.format_arn(service="events", resource="rule", resource_name=SYNC_RULE)],
                )
            )
        star_reasons = [
            "batch:DescribeJobs (submitJob.sync and the SDK integration's loop poll the job; DescribeJobs "
            "has no resource-level permissions)",
            "logs:*LogDelivery/PutResourcePolicy/DescribeResourcePolicies/DescribeLogGroups (vended log "
            "delivery for Step Functions logging supports only '*')",
        ]
        role.add_to_policy(iam.PolicyStatement(actions=["batch:DescribeJobs"], resources=["*"]))
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "logs:CreateLogDelivery",
                    "logs:GetLogDelivery",
                    "logs:UpdateLogDelivery",
                    "logs:DeleteLogDelivery",
                    "logs:ListLogDeliveries",
                    "logs:PutResourcePolicy",
                    "logs:DescribeResourcePolicies",
                    "logs:DescribeLogGroups",
                ],
                resources=["*"],
            )
        )
        if tracing:
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=[
                        "xray:PutTraceSegments",
                        "xray:PutTelemetryRecords",
                        "xray:GetSamplingRules",
                        "xray:GetSamplingTargets",
                    ],
                    resources=["*"],
                )
            )
            star_reasons.append("xray:PutTraceSegments/... (X-Ray has no resource-level permissions)")
        acknowledge(
            role,
            "IAM5",
            "Actions without resource-level permissions: " + "; ".join(star_reasons) + ".",
            applies_to="Resource::*",
        )
        if notify is not None:
            notify.grant_publish(role)


__all__ = [
    "FAILED_STATE",
    "INPUT_FIELD",
    "JOB_FAILED",
    "RETRYABLE_ERRORS",
    "S3_OBJECT_ENVIRONMENT",
    "SDK_RETRYABLE_ERRORS",
    "STEP_FAILED",
    "SYNC_RULE",
    "Step",
    "Workflow",
    "plan_levels",
]
