#!/usr/bin/env python3
"""What a synth costs with cdk-batchkit against a plain-L2 app of the same intent.

For each app it prints, for the build-and-synth phase only (imports and the jsii kernel's start are the
same for both and left out):

* **round trips**: Python -> Node (jsii) requests, counted by wrapping the jsii kernel's ``send`` (a get, a
  set, an invoke, a create, a callback completion: each is one message and one reply);
* **CPU**: the Python process's CPU plus the Node (jsii kernel) process's CPU, read from ``/proc``, plus
  the CPU of any process the synth started and waited for (``RUSAGE_CHILDREN``: the library asks a
  ``python3.13`` whether it can compile the handlers' bytecode when no staged asset serves);
* **peak memory**: the largest resident set of the two processes (``ru_maxrss`` of the finished child,
  which covers its own process and the Node process it waited for);
* **resources** in the synthesized templates.

Apps:

* ``reference``: the reference app (``app.py``'s :class:`BatchReferenceStack`, default context) without the
  cdk-nag plugin, against ``l2-reference``: the same intent (VPC, Spot-first EC2 and Fargate queues, two
  job definitions, an S3 -> SQS -> Lambda submitter, a two-step workflow started by uploads and nightly,
  failure notifications, a log-group-backed job metric set, backlog function, alarms and a dashboard)
  written with the stable ``aws_cdk.aws_batch`` L2 and plain L2s, no hardening. Its functions deploy the
  library's handler code as a user's would: ``Code.from_asset`` of the handler's directory (inline code
  cannot hold a multi-module handler, and an asset has a first-use cost of its own in the CDK;
  ``--l2-code inline`` measures against the one-line inline stand-in the baseline used before).
  ``reference+nag`` is the reference app as ``make synth`` runs it (cdk-nag plugin on), for scale.
* ``units N``: N units, each a queue with two EC2 environments (Spot first, then on-demand), a container job
  definition and an S3 submitter, plus monitoring of every queue and submitter (one monitoring construct
  per 20 queues), against ``l2-units N`` (the same with the L2 and plain L2s).

Each app is synthesized with the built-in CloudFormation validation plugin on and off
(``App(builtin_cloud_formation_validation=...)``, what ``cdk synth --no-validation`` and
``CDK_VALIDATION=false`` set). Every figure is from a fresh process; ``--repeat`` runs each one that many
times and reports the median (CPU time, not wall time: the machine may be shared); an app and its L2
counterpart run in interleaved pairs, and the CPU ratio is the median of the pairs' ratios, so a change in
the machine's load between runs falls on both. The library stages each handler's asset once per content in
the system's temporary directory, so every figure is a synth after the first; ``units N=1, first synth`` is
one in an empty temporary directory (staging, the interpreter probe and the bytecode compile included). Run:

    .venv/bin/python benchmarks/synth.py                   # everything (a few minutes)
    .venv/bin/python benchmarks/synth.py --sizes 1 20 --validation off
    .venv/bin/python benchmarks/synth.py --callers units 20   # where the round trips of one app come from

Targets (issue 19): reference round trips <= 2x the L2 app's; CPU with validation off <= 1.25x the L2 app's,
and that ratio flat (within 10 %) from N=1 to N=50.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SIZES = (1, 5, 20, 50)
#: Queues per monitoring construct (its metric filters: 5 per queue, 100 per log group).
QUEUES_PER_MONITORING = 20
#: The handlers the library ships; the L2 apps deploy the same code as plain ``Code.from_asset`` directories.
HANDLERS = ROOT / "cdk_batchkit" / "lambdas"
#: ``--l2-code inline`` (this benchmark's first baseline: ``Code.from_inline`` of a one-line handler, no
#: asset) reaches the child processes through this variable.
L2_CODE = "BATCHKIT_BENCH_L2_CODE"


def _l2_code(handler_dir: str) -> Any:
    """The code of an L2 app's function: the library's handler directory as an asset (default), or the old
    inline stand-in with ``--l2-code inline``."""
    from aws_cdk import aws_lambda as lambda_

    if os.environ.get(L2_CODE) == "inline":
        return lambda_.Code.from_inline("def handler(event, context):\n    return None\n")
    return lambda_.Code.from_asset(str(HANDLERS / handler_dir))


# ------------------------------------------------------------------------------------------ the apps


def build_reference(app: Any) -> None:
    from cdk_batchkit.stacks import BatchReferenceStack

    BatchReferenceStack(app, "BatchkitReference")


def build_reference_nag(app: Any) -> None:
    sys.path.insert(0, str(ROOT))
    import app as reference_app  # the repository's app.py

    reference_app.build_app(app)


def build_units(app: Any, n: int) -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_ecs as ecs

    from cdk_batchkit.constructs import (
        BatchMonitoring,
        BatchNetwork,
        Container,
        ContainerJobDefinition,
        Ec2ComputeEnvironment,
        JobQueue,
        S3JobSubmitter,
    )

    stack = cdk.Stack(app, "Units")
    network = BatchNetwork(stack, "Network")
    image = ecs.ContainerImage.from_registry("public.ecr.aws/amazonlinux/amazonlinux:2023")
    queues, submitters = [], []
    for i in range(n):
        queue = JobQueue.spot_first(
            stack,
            f"Queue{i}",
            spot=Ec2ComputeEnvironment(stack, f"Spot{i}", network=network, spot=True, maxv_cpus=64),
            on_demand=Ec2ComputeEnvironment(stack, f"OnDemand{i}", network=network, maxv_cpus=64),
        )
        job = ContainerJobDefinition(
            stack,
            f"Job{i}",
            container=Container(image=image, vcpus=1, memory=cdk.Size.gibibytes(2), command=["echo", "hi"]),
        )
        queue.add_job_definition(job)
        submitters.append(S3JobSubmitter(stack, f"Submitter{i}", job_queue=queue, job_definition=job))
        queues.append(queue)
    for c, start in enumerate(range(0, n, QUEUES_PER_MONITORING)):
        BatchMonitoring(
            stack,
            f"Monitoring{c}",
            job_queues=queues[start : start + QUEUES_PER_MONITORING],
            submitters=submitters[start : start + QUEUES_PER_MONITORING],
        )


class _L2:
    """The plain-L2 pieces both L2 apps are made of: what a user writes with aws_cdk.aws_batch alone."""

    def __init__(self, stack: Any) -> None:
        from aws_cdk import aws_ec2 as ec2

        self.stack = stack
        self.vpc = ec2.Vpc(
            stack,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[ec2.SubnetConfiguration(name="Public", subnet_type=ec2.SubnetType.PUBLIC)],
        )
        self.vpc.add_flow_log("FlowLog")
        self.subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC)
        self.queues: list[tuple[str, Any]] = []
        self.submitters: list[tuple[str, Any, Any]] = []

    def ec2_queue(self, name: str) -> Any:
        from aws_cdk import aws_batch as batch
        from aws_cdk import aws_ec2 as ec2

        spot = batch.ManagedEc2EcsComputeEnvironment(
            self.stack,
            f"{name}Spot",
            vpc=self.vpc,
            vpc_subnets=self.subnets,
            spot=True,
            maxv_cpus=64,
            instance_types=[ec2.InstanceType("m6i.large")],
            use_optimal_instance_classes=False,
        )
        on_demand = batch.ManagedEc2EcsComputeEnvironment(
            self.stack,
            f"{name}OnDemand",
            vpc=self.vpc,
            vpc_subnets=self.subnets,
            maxv_cpus=64,
            instance_types=[ec2.InstanceType("m6i.large")],
            use_optimal_instance_classes=False,
        )
        queue = batch.JobQueue(
            self.stack,
            name,
            compute_environments=[
                batch.OrderedComputeEnvironment(compute_environment=spot, order=1),
                batch.OrderedComputeEnvironment(compute_environment=on_demand, order=2),
            ],
        )
        self.queues.append((name, queue))
        return queue

    def fargate_queue(self, name: str) -> Any:
        from aws_cdk import aws_batch as batch

        envs = [
            batch.FargateComputeEnvironment(
                self.stack, f"{name}{kind}", vpc=self.vpc, vpc_subnets=self.subnets, spot=spot, maxv_cpus=64
            )
            for kind, spot in (("Spot", True), ("OnDemand", False))
        ]
        queue = batch.JobQueue(
            self.stack,
            name,
            compute_environments=[
                batch.OrderedComputeEnvironment(compute_environment=e, order=i + 1)
                for i, e in enumerate(envs)
            ],
        )
        self.queues.append((name, queue))
        return queue

    def job(self, name: str, *, fargate: bool, vcpus: float, gib: float, command: list[str]) -> Any:
        import aws_cdk as cdk
        from aws_cdk import aws_batch as batch
        from aws_cdk import aws_ecs as ecs
        from aws_cdk import aws_logs as logs

        image = ecs.ContainerImage.from_registry("public.ecr.aws/amazonlinux/amazonlinux:2023")
        log_group = logs.LogGroup(self.stack, f"{name}Logs", retention=logs.RetentionDays.ONE_MONTH)
        logging = ecs.LogDriver.aws_logs(stream_prefix=name, log_group=log_group)
        memory = cdk.Size.mebibytes(int(gib * 1024))
        container: Any
        if fargate:
            container = batch.EcsFargateContainerDefinition(
                self.stack, f"{name}Container", image=image, cpu=vcpus, memory=memory, command=command,
                logging=logging, assign_public_ip=True,
            )  # fmt: skip
        else:
            container = batch.EcsEc2ContainerDefinition(
                self.stack, f"{name}Container", image=image, cpu=vcpus, memory=memory, command=command,
                logging=logging,
            )  # fmt: skip
        return batch.EcsJobDefinition(
            self.stack,
            name,
            container=container,
            retry_attempts=3,
            retry_strategies=[
                batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.SPOT_INSTANCE_RECLAIMED)
            ],
            timeout=cdk.Duration.hours(1),
        )

    def submitter(self, name: str, queue: Any, job: Any) -> Any:
        """Bucket -> EventBridge -> SQS (with a DLQ) -> Lambda calling SubmitJob, an idempotency table."""
        import aws_cdk as cdk
        from aws_cdk import aws_dynamodb as dynamodb
        from aws_cdk import aws_events as events
        from aws_cdk import aws_events_targets as targets
        from aws_cdk import aws_iam as iam
        from aws_cdk import aws_lambda as lambda_
        from aws_cdk import aws_lambda_event_sources as sources
        from aws_cdk import aws_logs as logs
        from aws_cdk import aws_s3 as s3
        from aws_cdk import aws_sqs as sqs

        bucket = s3.Bucket(
            self.stack, f"{name}Bucket", event_bridge_enabled=True, enforce_ssl=True, versioned=True
        )
        dlq = sqs.Queue(self.stack, f"{name}Dlq", retention_period=cdk.Duration.days(14))
        inbox = sqs.Queue(
            self.stack,
            f"{name}Queue",
            visibility_timeout=cdk.Duration.minutes(6),
            dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=5),
        )
        events.Rule(
            self.stack,
            f"{name}Uploads",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={"bucket": {"name": [bucket.bucket_name]}},
            ),
            targets=[targets.SqsQueue(inbox)],
        )
        table = dynamodb.TableV2(
            self.stack,
            f"{name}Idempotency",
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            time_to_live_attribute="expiration",
        )
        function = lambda_.Function(
            self.stack,
            f"{name}Function",
            runtime=lambda_.Runtime.PYTHON_3_13,
            handler="handler.handler",
            code=_l2_code("submitter"),
            timeout=cdk.Duration.minutes(1),
            memory_size=512,
            environment={
                "JOB_QUEUE": queue.job_queue_arn,
                "JOB_DEFINITION": job.job_definition_arn,
                "TABLE": table.table_name,
            },
            log_group=logs.LogGroup(
                self.stack, f"{name}FunctionLogs", retention=logs.RetentionDays.ONE_MONTH
            ),
        )
        source = sources.SqsEventSource(
            inbox,
            batch_size=1000,
            report_batch_item_failures=True,
            max_batching_window=cdk.Duration.seconds(30),
        )
        function.add_event_source(source)
        table.grant_read_write_data(function)
        bucket.grant_read(function)
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["batch:SubmitJob"], resources=[queue.job_queue_arn, job.job_definition_arn]
            )
        )
        self.submitters.append((name, function, dlq))
        return bucket

    def monitoring(
        self, name: str, queues: list[tuple[str, Any]], submitters: list[tuple[str, Any, Any]]
    ) -> Any:
        """The same metrics by hand: job events to a log group, a metric filter per queue and status, a
        backlog function on a schedule and for finished jobs, the alarms, an SNS topic and a dashboard."""
        import aws_cdk as cdk
        from aws_cdk import aws_cloudwatch as cloudwatch
        from aws_cdk import aws_cloudwatch_actions as actions
        from aws_cdk import aws_events as events
        from aws_cdk import aws_events_targets as targets
        from aws_cdk import aws_iam as iam
        from aws_cdk import aws_lambda as lambda_
        from aws_cdk import aws_logs as logs
        from aws_cdk import aws_sns as sns

        stack = self.stack
        topic = sns.Topic(stack, f"{name}Topic")
        action = actions.SnsAction(topic)
        log_group = logs.LogGroup(stack, f"{name}JobEvents", retention=logs.RetentionDays.ONE_MONTH)
        arns = [q.job_queue_arn for _, q in queues]
        events.Rule(
            stack,
            f"{name}JobEventsRule",
            event_pattern=events.EventPattern(
                source=["aws.batch"], detail_type=["Batch Job State Change"], detail={"jobQueue": arns}
            ),
            targets=[targets.CloudWatchLogGroup(log_group)],
        )
        function = lambda_.Function(
            stack,
            f"{name}Backlog",
            runtime=lambda_.Runtime.PYTHON_3_13,
            handler="handler.handler",
            code=_l2_code("backlog"),
            environment={"QUEUES": stack.to_json_string(arns)},
            reserved_concurrent_executions=2,
            log_group=logs.LogGroup(stack, f"{name}BacklogLogs", retention=logs.RetentionDays.ONE_MONTH),
        )
        function.add_to_role_policy(iam.PolicyStatement(actions=["batch:ListJobs"], resources=["*"]))
        events.Rule(
            stack,
            f"{name}BacklogSchedule",
            schedule=events.Schedule.rate(cdk.Duration.minutes(5)),
            targets=[targets.LambdaFunction(function)],
        )
        events.Rule(
            stack,
            f"{name}Finished",
            event_pattern=events.EventPattern(
                source=["aws.batch"],
                detail_type=["Batch Job State Change"],
                detail={"jobQueue": arns, "status": ["SUCCEEDED", "FAILED"]},
            ),
            targets=[targets.LambdaFunction(function)],
        )
        board = cloudwatch.Dashboard(stack, f"{name}Dashboard")
        namespace = "Jobs"
        for label, queue in queues:
            transitions = []
            for status in ("SUBMITTED", "RUNNABLE", "RUNNING", "SUCCEEDED", "FAILED"):
                metric_name = f"Jobs{status.title()}"
                logs.MetricFilter(
                    stack,
                    f"{name}{label}{status.title()}Filter",
                    log_group=log_group,
                    filter_pattern=logs.FilterPattern.all(
                        logs.FilterPattern.string_value("$.detail.jobQueue", "=", queue.job_queue_arn),
                        logs.FilterPattern.string_value("$.detail.status", "=", status),
                    ),
                    metric_namespace=namespace,
                    metric_name=metric_name,
                    metric_value="1",
                    dimensions={"queue": "$.detail.jobQueue"},
                )
                transitions.append(
                    cloudwatch.Metric(
                        namespace=namespace, metric_name=metric_name,
                        dimensions_map={"queue": queue.job_queue_arn}, statistic="Sum", label=status.title(),
                    )
                )  # fmt: skip

            def metric(metric_name: str, statistic: str = "Sum", queue: Any = queue) -> Any:
                return cloudwatch.Metric(
                    namespace=namespace, metric_name=metric_name, statistic=statistic,
                    dimensions_map={"queue": queue.job_queue_arn, "service": "backlog"},
                )  # fmt: skip

            failed = cloudwatch.Alarm(
                stack, f"{name}{label}Failed", metric=transitions[-1], threshold=1, evaluation_periods=1
            )
            oldest = cloudwatch.Alarm(
                stack, f"{name}{label}Oldest", metric=metric("OldestRunnableAge", "Maximum"), threshold=3600,
                evaluation_periods=2,
            )  # fmt: skip
            for alarm in (failed, oldest):
                alarm.add_alarm_action(action)
                alarm.add_ok_action(action)
            board.add_widgets(
                cloudwatch.GraphWidget(title=f"{label} transitions", left=transitions, width=6),
                cloudwatch.AlarmWidget(title=f"{label} failed", alarm=failed, width=6),
                cloudwatch.GraphWidget(
                    title=f"{label} backlog",
                    left=[metric("RunnableJobs", "Maximum")],
                    right=[metric("OldestRunnableAge", "Maximum")],
                    width=6,
                ),  # fmt: skip
                cloudwatch.GraphWidget(
                    title=f"{label} run time",
                    left=[metric("JobRunTime", s) for s in ("p50", "p90", "Maximum")],
                    width=6,
                ),  # fmt: skip
                cloudwatch.GraphWidget(title=f"{label} cost", left=[metric("EstimatedJobCost")], width=12),
                cloudwatch.GraphWidget(
                    title=f"{label} reserved",
                    left=[metric("JobVcpuSeconds")],
                    right=[metric("JobGibSeconds")],
                    width=12,
                ),  # fmt: skip
            )
        for label, function_, dlq in submitters:
            dead = cloudwatch.Alarm(
                stack, f"{name}{label}Dead", metric=dlq.metric_approximate_number_of_messages_visible(),
                threshold=1, evaluation_periods=1,
            )  # fmt: skip
            errors = cloudwatch.Alarm(
                stack,
                f"{name}{label}Errors",
                metric=function_.metric_errors(),
                threshold=1,
                evaluation_periods=1,
            )
            for alarm in (dead, errors):
                alarm.add_alarm_action(action)
            submitted = [
                cloudwatch.Metric(namespace="Submitter", metric_name=m, dimensions_map={"service": label})
                for m in ("ObjectsAccepted", "JobsSubmitted", "DuplicatesSkipped", "RecordsFailed")
            ]
            board.add_widgets(
                cloudwatch.GraphWidget(title=f"{label} throughput", left=submitted, width=12),
                cloudwatch.GraphWidget(
                    title=f"{label} errors", left=[dead.metric], right=[errors.metric], width=12
                ),
            )
        return topic


def build_l2_units(app: Any, n: int) -> None:
    import aws_cdk as cdk

    stack = cdk.Stack(app, "L2Units")
    l2 = _L2(stack)
    for i in range(n):
        queue = l2.ec2_queue(f"Queue{i}")
        job = l2.job(f"Job{i}", fargate=False, vcpus=1, gib=2, command=["echo", "hi"])
        l2.submitter(f"Submitter{i}", queue, job)
    for c, start in enumerate(range(0, n, QUEUES_PER_MONITORING)):
        end = start + QUEUES_PER_MONITORING
        l2.monitoring(f"Monitoring{c}", l2.queues[start:end], l2.submitters[start:end])


def build_l2_reference(app: Any) -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_events as events
    from aws_cdk import aws_events_targets as targets
    from aws_cdk import aws_scheduler as scheduler
    from aws_cdk import aws_scheduler_targets as scheduler_targets
    from aws_cdk import aws_stepfunctions as sfn
    from aws_cdk import aws_stepfunctions_tasks as tasks

    stack = cdk.Stack(app, "L2Reference")
    l2 = _L2(stack)
    ec2_queue = l2.ec2_queue("Ec2Queue")
    fargate_queue = l2.fargate_queue("FargateQueue")
    array_job = l2.job("ArrayJob", fargate=True, vcpus=0.5, gib=1, command=["sh", "-c", "echo array"])
    bucket = l2.submitter("Submitter", fargate_queue, array_job)
    step_job = l2.job("StepJob", fargate=True, vcpus=0.25, gib=0.5, command=["sh", "-c", "echo step"])
    topic = l2.monitoring("Monitoring", l2.queues, l2.submitters)

    def step(name: str) -> Any:
        return tasks.BatchSubmitJob(
            stack,
            name,
            job_name=name,
            job_queue_arn=fargate_queue.job_queue_arn,
            job_definition_arn=step_job.job_definition_arn,
            container_overrides=tasks.BatchContainerOverrides(environment={"STEP": name}),
        ).add_retry(max_attempts=2)

    machine = sfn.StateMachine(
        stack,
        "Workflow",
        definition_body=sfn.DefinitionBody.from_chainable(step("transform").next(step("load"))),
        timeout=cdk.Duration.hours(6),
        tracing_enabled=True,
    )
    events.Rule(
        stack,
        "WorkflowTrigger",
        event_pattern=events.EventPattern(
            source=["aws.s3"],
            detail_type=["Object Created"],
            detail={"bucket": {"name": [bucket.bucket_name]}, "object": {"key": [{"prefix": "workflow/"}]}},
        ),
        targets=[targets.SfnStateMachine(machine)],
    )
    scheduler.Schedule(
        stack,
        "Nightly",
        schedule=scheduler.ScheduleExpression.cron(minute="0", hour="2"),
        target=scheduler_targets.StepFunctionsStartExecution(machine),
    )
    events.Rule(
        stack,
        "JobFailures",
        event_pattern=events.EventPattern(
            source=["aws.batch"],
            detail_type=["Batch Job State Change"],
            detail={"status": ["FAILED"], "jobQueue": [ec2_queue.job_queue_arn, fargate_queue.job_queue_arn]},
        ),
        targets=[targets.SnsTopic(topic)],
    )
    events.Rule(
        stack,
        "WorkflowFailures",
        event_pattern=events.EventPattern(
            source=["aws.states"],
            detail_type=["Step Functions Execution Status Change"],
            detail={
                "status": ["FAILED", "TIMED_OUT", "ABORTED"],
                "stateMachineArn": [machine.state_machine_arn],
            },
        ),
        targets=[targets.SnsTopic(topic)],
    )
    for name, value in {
        "Ec2QueueArn": ec2_queue.job_queue_arn,
        "FargateQueueArn": fargate_queue.job_queue_arn,
        "ArrayJobDefinitionArn": array_job.job_definition_arn,
        "InputBucketName": bucket.bucket_name,
        "WorkflowArn": machine.state_machine_arn,
        "NotificationTopicArn": topic.topic_arn,
    }.items():
        cdk.CfnOutput(stack, name, value=value)


APPS: dict[str, Any] = {
    "reference": lambda app, n: build_reference(app),
    "reference+nag": lambda app, n: build_reference_nag(app),
    "l2-reference": lambda app, n: build_l2_reference(app),
    "units": build_units,
    "l2-units": build_l2_units,
}


# --------------------------------------------------------------------------------- one measured run


def _node_cpu(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` and its descendants have used so far (jsii's runtime
    script starts the kernel as a child Node process)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # utime, stime, then cutime, cstime (children already waited for)
    total = sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            total += _node_cpu(int(child))
    return total


def child(app_name: str, n: int, validation: bool, callers: bool) -> dict[str, Any]:
    """Build and synthesize one app in this process; return its figures (printed as JSON)."""
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20,21,23")
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    os.environ.pop("CDK_DEFAULT_ACCOUNT", None)
    os.environ.pop("CDK_DEFAULT_REGION", None)
    import resource

    import aws_cdk as cdk
    from jsii._kernel.providers import process as jsii_process

    import cdk_batchkit.constructs  # noqa: F401  (imports are not what is measured)

    def children_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # waited-for children: not the Node process
        return usage.ru_utime + usage.ru_stime

    counts = {"round_trips": 0}
    by_caller: collections.Counter[str] = collections.Counter()
    original = jsii_process._NodeProcess.send

    def counting_send(self: Any, request: Any, response_type: Any) -> Any:
        counts["round_trips"] += 1
        if callers:
            by_caller[_caller()] += 1
        return original(self, request, response_type)

    jsii_process._NodeProcess.send = counting_send  # type: ignore[method-assign]
    with tempfile.TemporaryDirectory() as outdir:
        # Generated apps pass CloudFormation's 500-resource limit past N=20 (the CDK refuses them unless
        # the limit is lifted); the figures are about the CDK's work, the same for both apps.
        app = cdk.App(
            outdir=outdir,
            builtin_cloud_formation_validation=validation,
            context={"@aws-cdk/core:stackResourceLimit": 0},
        )
        node_pid = _provider()._process._process.pid  # the Node process behind jsii
        counts["round_trips"] = 0
        by_caller.clear()
        py0, node0, wall0 = time.process_time(), _node_cpu(node_pid), time.perf_counter()
        children0 = children_cpu()
        APPS[app_name](app, n)
        py1, node1, trips_built = time.process_time(), _node_cpu(node_pid), counts["round_trips"]
        assembly = app.synth()
        py2, node2, wall2 = time.process_time(), _node_cpu(node_pid), time.perf_counter()
        children = children_cpu() - children0
        resources = sum(len(json.loads(Path(s.template_full_path).read_text()).get("Resources", {}))
                        for s in assembly.stacks)  # fmt: skip
    result = {
        "app": app_name,
        "n": n,
        "validation": validation,
        "resources": resources,
        "round_trips": counts["round_trips"],
        "round_trips_build": trips_built,
        "cpu": (py2 - py0) + (node2 - node0) + children,
        "cpu_build": (py1 - py0) + (node1 - node0),
        "cpu_python": py2 - py0,
        "cpu_node": node2 - node0,
        "cpu_children": children,
        "wall": wall2 - wall0,
    }
    if callers:
        result["callers"] = by_caller.most_common(40)
    return result


def _provider() -> Any:
    """The jsii kernel's process provider (started on the first import of aws_cdk)."""
    from jsii._runtime import kernel

    return kernel.provider


def _caller() -> str:
    """The innermost frame of this repository (not of jsii or aws_cdk) that led to a round trip."""
    frames = traceback.extract_stack(limit=60)
    for frame in reversed(frames[:-2]):
        path = frame.filename
        if str(ROOT) in path and "/.venv/" not in path and not path.endswith("benchmarks/synth.py"):
            return f"{Path(path).relative_to(ROOT)}:{frame.lineno} {frame.name}"
    for frame in reversed(frames[:-2]):
        if "/.venv/" not in frame.filename:
            return f"{frame.filename}:{frame.lineno} {frame.name}"
    return "?"


def run_with_memory(
    app_name: str, n: int, validation: bool, callers: bool = False, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """:func:`run` in a wrapper that reads the finished child's ``ru_maxrss`` (kB) with ``os.wait4``."""
    cmd = [sys.executable, __file__, "--child", app_name, str(n), "on" if validation else "off"]
    if callers:
        cmd.append("--callers-child")
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=ROOT, text=True, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{err.read()[-4000:]}")
        lines = [line for line in out.read().splitlines() if line.startswith("{")]
    result: dict[str, Any] = json.loads(lines[-1])
    result["peak_mib"] = usage.ru_maxrss / 1024
    # The whole process (interpreter start, imports, the jsii kernel's start, build, synth), Node included.
    result["cpu_process"] = usage.ru_utime + usage.ru_stime
    return result


# ---------------------------------------------------------------------------------------- reporting


def first_synth(app_name: str, n: int, validation: bool) -> dict[str, Any]:
    """One run in an empty temporary directory: the first synth of this library version on a machine."""
    with tempfile.TemporaryDirectory() as temp:
        return run_with_memory(app_name, n, validation, env={**os.environ, "TMPDIR": temp})


def _medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    merged = dict(runs[0])
    for key in (
        "cpu", "cpu_build", "cpu_python", "cpu_node", "cpu_children", "cpu_process", "wall", "peak_mib"
    ):  # fmt: skip
        merged[key] = statistics.median(r[key] for r in runs)
    return merged


def median_run(app_name: str, n: int, validation: bool, repeat: int) -> dict[str, Any]:
    return _medians([run_with_memory(app_name, n, validation) for _ in range(repeat)])


def paired_runs(
    ours_app: str, l2_app: str, n: int, validation: bool, repeat: int
) -> tuple[dict[str, Any], dict[str, Any], float]:
    """``repeat`` pairs of runs, interleaved (ours then the L2's, the L2's then ours, ...), so a change in
    the machine's load falls on both: each app's medians, and the median of the pairs' CPU ratios."""
    ours_runs, l2_runs = [], []
    for i in range(repeat):
        order = ((ours_app, ours_runs), (l2_app, l2_runs))
        for app_name, runs in order if i % 2 == 0 else order[::-1]:
            runs.append(run_with_memory(app_name, n, validation))
    ratio = statistics.median(a["cpu"] / b["cpu"] for a, b in zip(ours_runs, l2_runs, strict=True))
    return _medians(ours_runs), _medians(l2_runs), ratio


def _row(label: str, ours: dict[str, Any], l2: dict[str, Any], cpu_ratio: float) -> str:
    return (
        f"{label:<22} {ours['resources']:>5} {l2['resources']:>5}  "
        f"{ours['round_trips']:>7} {l2['round_trips']:>6} {ours['round_trips'] / l2['round_trips']:>6.2f}x  "
        f"{ours['cpu']:>7.2f} {l2['cpu']:>6.2f} {cpu_ratio:>6.2f}x  "
        f"{ours['peak_mib']:>6.0f} {l2['peak_mib']:>6.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", type=int, nargs="*", default=list(SIZES), help="unit counts (default 1 5 20 50)"
    )
    parser.add_argument("--validation", choices=("on", "off", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=1, help="runs per figure (median; default 1)")
    parser.add_argument("--no-reference", action="store_true", help="skip the reference apps")
    parser.add_argument("--json", help="also write every figure to this file")
    parser.add_argument(
        "--l2-code",
        choices=("asset", "inline"),
        default="asset",
        help="the L2 apps' function code: the handler directories as assets (default) or the inline "
        "one-line stand-in of this benchmark's first baseline",
    )
    parser.add_argument("--callers", nargs=2, metavar=("APP", "N"), help="print the top round-trip callers")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--callers-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        name, n, validation = args.child
        print(json.dumps(child(name, int(n), validation == "on", args.callers_child)))
        return
    if args.callers:
        name, n = args.callers
        result = run_with_memory(name, int(n), validation=False, callers=True)
        print(
            f"{name} N={n}: {result['round_trips']} round trips, {result['cpu']:.2f} s CPU (validation off)"
        )
        for where, count in result["callers"]:
            print(f"{count:>7}  {where}")
        return

    os.environ[L2_CODE] = args.l2_code  # read by the child processes
    validations = {"on": [True], "off": [False], "both": [False, True]}[args.validation]
    figures: list[dict[str, Any]] = []
    header = (
        f"{'app':<22} {'res':>5} {'L2':>5}  {'trips':>7} {'L2':>6} {'ratio':>7}  "
        f"{'CPU s':>7} {'L2':>6} {'ratio':>7}  {'MiB':>6} {'L2':>6}"
    )
    print("Build + synth of each app in a fresh process: jsii round trips, CPU (Python + Node), peak RSS.")
    for validation in validations:
        print(f"\n== CloudFormation validation plugin {'ON' if validation else 'OFF'} ==")
        print(header)
        ratios = []
        if not args.no_reference:
            ours, l2, ratio = paired_runs("reference", "l2-reference", 0, validation, args.repeat)
            figures += [{**ours, "cpu_ratio": ratio}, l2]
            print(_row("reference", ours, l2, ratio), flush=True)
        for n in args.sizes:
            ours, l2, ratio = paired_runs("units", "l2-units", n, validation, args.repeat)
            figures += [{**ours, "cpu_ratio": ratio}, l2]
            ratios.append(ratio)
            print(_row(f"units N={n}", ours, l2, ratio), flush=True)
        if args.sizes and args.sizes[0] == 1:
            first = first_synth("units", 1, validation)
            figures.append({**first, "first_synth": True})
            print(
                f"{'units N=1, first synth':<22} {'':>5} {'':>5}  {'':>7} {'':>6} {'':>7}  "
                f"{first['cpu']:>7.2f}   (of which {first['cpu_children']:.2f} s in processes it started)"
            )
        if len(ratios) > 1:
            spread = (max(ratios) - min(ratios)) / min(ratios)
            print(
                f"CPU ratio from N={args.sizes[0]} to N={args.sizes[-1]}: spread {spread:.0%} "
                "(target: within 10 %)"
            )
        if not args.no_reference:
            nag = median_run("reference+nag", 0, validation, args.repeat)
            figures.append(nag)
            print(
                f"{'reference + cdk-nag':<22} {nag['resources']:>5} {'':>5}  {nag['round_trips']:>7} "
                f"{'':>6} {'':>7}  {nag['cpu']:>7.2f}"
            )
    print(
        "\nTargets: reference round trips <= 2x the L2 app's; CPU with validation off <= 1.25x the L2 app's "
        "and the ratio flat within 10 % from N=1 to N=50."
    )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
