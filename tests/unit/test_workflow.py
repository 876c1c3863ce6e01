"""Workflow: the synthesized state machine (structure, retries, catches, failure path), IAM, logs, validation.

Executions of the same definitions run in tests/workflows/.
"""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_stepfunctions as sfn

from cdk_batchkit.constructs import (
    BatchNetwork,
    Container,
    ContainerJobDefinition,
    FargateComputeEnvironment,
    JobQueue,
    Platform,
)
from cdk_batchkit.constructs.notifications import NotificationTopic
from cdk_batchkit.constructs.workflow import RETRYABLE_ERRORS, STEP_FAILED, Step, Workflow, plan_levels
from tests.support import network, new_stack, synth_checked
from tests.workflows import harness

IMAGE = ecs.ContainerImage.from_registry("public.ecr.aws/amazonlinux/amazonlinux:2023")


def _batch(stack: cdk.Stack, vcpus: float = 0.25) -> tuple[JobQueue, ContainerJobDefinition]:
    queue = JobQueue(
        stack, "Queue", compute_environments=[FargateComputeEnvironment(stack, "Env", network=network(stack))]
    )
    job = ContainerJobDefinition(
        stack,
        "Job",
        container=Container(image=IMAGE, vcpus=vcpus, memory=cdk.Size.mebibytes(512)),
        platform=Platform.FARGATE,
    )
    return queue, job


def _build(stack: cdk.Stack) -> None:
    queue, job = _batch(stack)
    untagged = ContainerJobDefinition(
        stack,
        "Untagged",
        container=Container(image=IMAGE, vcpus=0.25, memory=cdk.Size.mebibytes(512)),
        platform=Platform.FARGATE,
        propagate_tags=False,
    )
    Workflow(
        stack,
        "Pipeline",
        topic=NotificationTopic(stack, "Alerts"),
        tracing=True,
        timeout=cdk.Duration.hours(12),
        steps=[
            Step("Prepare", job, queue),
            Step(
                "Render", job, queue, depends_on=["Prepare"], array_size=4, timeout=cdk.Duration.minutes(30)
            ),
            Step(
                "Audio",
                job,
                queue,
                depends_on=["Prepare"],
                vcpus=0.5,
                memory=cdk.Size.gibibytes(1),
                attempts=2,
            ),
            Step("Stitch", job, queue, depends_on=["Render", "Audio"]),
            Step("Index", untagged, queue),
        ],
    )
    Workflow(
        stack,
        "Plain",
        log_level=sfn.LogLevel.ERROR,
        log_retention=cdk.aws_logs.RetentionDays.ONE_WEEK,
        steps=[Step("Only", untagged, queue)],
    )


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict:
    # synth_checked: cdk-nag (zero unacknowledged findings) and cfn-lint (zero errors).
    return synth_checked(_build, tmp_path_factory.mktemp("workflow"), "WorkflowUnit")


def _machines(template: dict) -> dict[str, dict]:
    return {lid.split("Resource")[0]: res for lid, res in harness.state_machines(template).items()}


@pytest.fixture(scope="module")
def asl(template: dict) -> dict:
    (lid,) = [k for k in harness.state_machines(template) if k.startswith("Pipeline")]
    return harness.definition(template["Resources"][lid])


def _all_states(states: dict) -> dict[str, dict]:
    out = {}
    for name, state in states.items():
        out[name] = state
        for branch in state.get("Branches", []):
            out.update(_all_states(branch["States"]))
    return out


def _role_statements(template: dict, prefix: str) -> list[dict]:
    policies = [
        r["Properties"]["PolicyDocument"]["Statement"]
        for lid, r in template["Resources"].items()
        if r["Type"] == "AWS::IAM::Policy" and lid.startswith(f"{prefix}Role")
    ]
    assert len(policies) == 1
    return policies[0]


def test_diamond_is_levels_in_a_group_and_unrelated_steps_are_a_parallel_group(asl: dict) -> None:
    assert asl["StartAt"] == "Run steps"
    run = asl["States"]["Run steps"]
    assert run["Type"] == "Parallel"
    first, second = run["Branches"]
    assert first["StartAt"] == "Prepare"
    assert first["States"]["Prepare"]["Next"] == "Run Render, Audio"
    level = first["States"]["Run Render, Audio"]
    assert level["Type"] == "Parallel" and [b["StartAt"] for b in level["Branches"]] == ["Render", "Audio"]
    assert level["Next"] == "Stitch" and first["States"]["Stitch"]["End"] is True
    assert second["StartAt"] == "Index" and second["States"]["Index"]["End"] is True


def test_plan_levels_handles_chains_diamonds_and_independent_groups() -> None:
    stack = new_stack()
    queue, job = _batch(stack)

    def s(name: str, *deps: str) -> Step:
        return Step(name, job, queue, depends_on=deps)

    steps = [s("D", "B", "C"), s("B", "A"), s("A"), s("C", "A"), s("X"), s("Y", "X"), s("Z", "D", "Y")]
    assert plan_levels(steps) == [[["A", "X"], ["B", "C", "Y"], ["D"], ["Z"]]]
    assert plan_levels([s("A"), s("B"), s("C", "A")]) == [[["A"], ["C"]], [["B"]]]


def test_every_batch_task_syncs_retries_throttling_only_and_catches_everything(asl: dict) -> None:
    states = _all_states(asl["States"])
    tasks = {n: s for n, s in states.items() if s["Type"] == "Task" and "batch:submitJob" in s["Resource"]}
    assert set(tasks) == {"Prepare", "Render", "Audio", "Stitch", "Index"}
    for name, task in tasks.items():
        assert task["Resource"].endswith(":states:::batch:submitJob.sync")
        (retry,) = task["Retry"]
        assert retry["ErrorEquals"] == list(RETRYABLE_ERRORS)
        assert (
            retry["JitterStrategy"] == "FULL"
            and retry["BackoffRate"] == 2
            and retry["MaxDelaySeconds"] == 120
        )
        (catch,) = task["Catch"]
        assert catch == {"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": f"{name} failure"}
        # The job name is the step name, the whole input becomes the job parameters, the result is dropped.
        assert task["Parameters"]["JobName"] == name and task["Parameters"]["Parameters.$"] == "$"
        assert task["ResultPath"] is None
        # Failed job -> summary with its id; anything else -> error detail; both end in one Fail.
        choice = states[f"{name} failure"]
        assert choice["Choices"][0]["Next"] == f"{name} job failed"
        assert choice["Default"] == f"{name} error"
        assert states[f"{name} job summary"]["Parameters"]["jobId.$"] == "$.job.JobId"
        assert states[f"{name} job summary"]["Parameters"]["step"] == name
        fail = states[f"{name} failed"]
        assert fail == {"Type": "Fail", "Error": STEP_FAILED, "CausePath": "States.JsonToString($)"}
    assert tasks["Render"]["Parameters"]["ArrayProperties"] == {"Size": 4}
    assert tasks["Render"]["Parameters"]["Timeout"] == {"AttemptDurationSeconds": 1800}
    assert tasks["Audio"]["Parameters"]["RetryStrategy"] == {"Attempts": 2}
    assert sorted(
        tasks["Audio"]["Parameters"]["ContainerOverrides"]["ResourceRequirements"], key=lambda r: r["Type"]
    ) == [{"Type": "MEMORY", "Value": "1024"}, {"Type": "VCPU", "Value": "0.5"}]
    # Steps set Batch's attempt timeout, not a state timeout (that would count the time queued).
    assert all("TimeoutSeconds" not in task for task in tasks.values())


def test_one_catch_on_the_whole_run_notifies_then_fails(asl: dict) -> None:
    run = asl["States"]["Run steps"]
    assert run["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Notify failure"}
    ]
    notify = asl["States"]["Notify failure"]
    assert notify["Resource"].endswith(":states:::sns:publish")
    assert notify["Parameters"]["TopicArn"].startswith("<Ref:Alerts")
    assert notify["Parameters"]["Message"]["error.$"] == "$.failure.Error"
    assert notify["Next"] == "Workflow failed"
    assert notify["Catch"][0]["Next"] == "Workflow failed"
    assert asl["States"]["Workflow failed"] == {
        "Type": "Fail",
        "ErrorPath": "$.failure.Error",
        "CausePath": "$.failure.Cause",
    }


def test_without_notify_the_run_fails_directly(template: dict) -> None:
    (lid,) = [k for k in harness.state_machines(template) if k.startswith("Plain")]
    plain = harness.definition(template["Resources"][lid])
    assert plain["States"]["Run steps"]["Catch"][0]["Next"] == "Workflow failed"
    assert "Notify failure" not in plain["States"]


def test_role_may_submit_only_the_definitions_and_queue_used(template: dict) -> None:
    statements = _role_statements(template, "Pipeline")
    by_action: dict[str, list] = {}
    for st in statements:
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        for action in actions:
            by_action.setdefault(action, []).extend(resources)
    text = json.dumps(statements)
    assert "job-definition/*" not in text
    submit = by_action["batch:SubmitJob"]
    assert {
        "Fn::GetAtt": [next(k for k in template["Resources"] if k.startswith("Queue")), "JobQueueArn"]
    } in submit
    definition_arns = [r for r in submit if "job-definition/" in json.dumps(r)]
    assert len(definition_arns) == 2 and all(json.dumps(r).endswith('":*"]]}') for r in definition_arns)
    assert all("Ref" in json.dumps(r) for r in definition_arns)
    # .sync: poll, terminate on stop, the managed rule. No job_tags: SubmitJob sends no tags, so no
    # batch:TagResource (a definition's propagate_tags is applied by Batch, not by the caller).
    assert by_action["batch:DescribeJobs"] == ["*"]
    assert any(json.dumps(r).endswith(':job/*"]]}') for r in by_action["batch:TerminateJob"])
    assert "batch:TagResource" not in by_action
    for action in ("events:PutTargets", "events:PutRule", "events:DescribeRule"):
        assert json.dumps(by_action[action]).endswith(':rule/StepFunctionsGetEventsForBatchJobsRule"]]}]')
    assert "sns:Publish" in by_action and "kms:GenerateDataKey" in by_action
    assert "xray:PutTraceSegments" in by_action
    assert set(by_action) <= {
        "batch:SubmitJob",
        "batch:TagResource",
        "batch:TerminateJob",
        "batch:DescribeJobs",
        "events:PutTargets",
        "events:PutRule",
        "events:DescribeRule",
        "sns:Publish",
        "kms:GenerateDataKey",
        "kms:Decrypt",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    }


def test_untagged_workflow_gets_no_tag_permission_and_no_xray(template: dict) -> None:
    text = json.dumps(_role_statements(template, "Plain"))
    assert "batch:TagResource" not in text and "xray:" not in text and "sns:Publish" not in text


def test_logging_tracing_and_timeout(template: dict) -> None:
    machines = {lid: r["Properties"] for lid, r in harness.state_machines(template).items()}
    pipeline = next(p for lid, p in machines.items() if lid.startswith("Pipeline"))
    plain = next(p for lid, p in machines.items() if lid.startswith("Plain"))
    log = pipeline["LoggingConfiguration"]
    assert log["Level"] == "ALL" and log["IncludeExecutionData"] is True
    group = log["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    assert group.startswith("PipelineLogGroup")
    assert template["Resources"][group]["Properties"]["RetentionInDays"] == 30
    assert pipeline["TracingConfiguration"] == {"Enabled": True}
    assert plain["LoggingConfiguration"]["Level"] == "ERROR"
    assert plain.get("TracingConfiguration", {}).get("Enabled") in (None, False)
    assert json.loads(_definition_text(pipeline))["TimeoutSeconds"] == 43200
    # The role's policy exists before the state machine (log delivery is checked at creation).
    pipeline_lid = next(lid for lid in machines if lid.startswith("Pipeline"))
    assert any(
        d.startswith("PipelineRoleDefaultPolicy") for d in template["Resources"][pipeline_lid]["DependsOn"]
    )


def _definition_text(props: dict) -> str:
    return json.dumps(harness.definition({"Properties": props}))


def test_timed_out_and_aborted_executions_notify_through_eventbridge(template: dict) -> None:
    rules = [r for lid, r in template["Resources"].items() if r["Type"] == "AWS::Events::Rule"]
    (rule,) = [r for r in rules if r["Properties"]["EventPattern"].get("source") == ["aws.states"]]
    assert rule["Properties"]["EventPattern"]["detail"]["status"] == ["TIMED_OUT", "ABORTED"]
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"]["Ref"].startswith("Alerts") and "DeadLetterConfig" in target


# -- validation ------------------------------------------------------------------------------------
@pytest.fixture
def parts() -> tuple[cdk.Stack, JobQueue, ContainerJobDefinition]:
    stack = new_stack()
    queue, job = _batch(stack)
    return stack, queue, job


def test_rejects_a_dependency_cycle_naming_it(parts) -> None:
    stack, queue, job = parts
    steps = [Step("A", job, queue, depends_on=["C"]), Step("B", job, queue, depends_on=["A"])]
    steps.append(Step("C", job, queue, depends_on=["B"]))
    with pytest.raises(ValueError, match=r"A -> C -> B -> A.*dependency cycle"):
        Workflow(stack, "W", steps=steps)


def test_rejects_unknown_step_names(parts) -> None:
    stack, queue, job = parts
    with pytest.raises(ValueError, match=r"depends_on=\['Missing'\].*names no step"):
        Workflow(stack, "W", steps=[Step("A", job, queue, depends_on=["Missing"])])


def test_rejects_duplicate_step_names(parts) -> None:
    stack, queue, job = parts
    with pytest.raises(ValueError, match="'A'.*unique"):
        Workflow(stack, "W", steps=[Step("A", job, queue), Step("A", job, queue)])


def test_rejects_more_than_20_dependencies(parts) -> None:
    stack, queue, job = parts
    roots = [Step(f"S{i}", job, queue) for i in range(21)]
    with pytest.raises(ValueError, match="at most 20 dependencies"):
        Workflow(stack, "W", steps=[*roots, Step("Join", job, queue, depends_on=[s.name for s in roots])])


@pytest.mark.parametrize("size", [1, 10_001])
def test_rejects_array_size_outside_batch_limits(parts, size: int) -> None:
    stack, queue, job = parts
    with pytest.raises(ValueError, match=r"array_size.*between 2 and 10000"):
        Workflow(stack, "W", steps=[Step("A", job, queue, array_size=size)])


def test_rejects_a_job_that_does_not_fit_the_queue(parts) -> None:
    stack, queue, _ = parts
    ec2_job = ContainerJobDefinition(
        stack,
        "Ec2Job",
        container=Container(image=IMAGE),
    )
    with pytest.raises(ValueError, match="can never run on job queue"):
        Workflow(stack, "W", steps=[Step("A", ec2_job, queue)])


def test_rejects_overrides_that_do_not_fit_the_queue() -> None:
    stack = new_stack()
    _, job = _batch(stack)
    small = JobQueue(
        stack,
        "Small",
        compute_environments=[
            FargateComputeEnvironment(stack, "SmallEnv", network=BatchNetwork(stack, "Net2"), maxv_cpus=4)
        ],
    )
    big = Step("A", job, small, vcpus=8, memory=cdk.Size.gibibytes(16))  # a valid Fargate pair
    with pytest.raises(ValueError, match=r"vcpus/memory.*can never run"):
        Workflow(stack, "W", steps=[big])


def test_rejects_overrides_that_make_no_fargate_pair(parts) -> None:
    stack, queue, job = parts
    with pytest.raises(ValueError, match=r"steps\[A\]\.memory='512 MiB' is invalid: Fargate with 1 vCPU"):
        Workflow(stack, "W", steps=[Step("A", job, queue, vcpus=1)])


def test_rejects_bad_step_names_and_self_dependencies(parts) -> None:
    stack, queue, job = parts
    with pytest.raises(ValueError, match="step names are 1-64"):
        Workflow(stack, "W", steps=[Step("has space", job, queue)])
    with pytest.raises(ValueError, match="cannot depend on itself"):
        Workflow(stack, "W2", steps=[Step("A", job, queue, depends_on=["A"])])


def test_rejects_attempts_and_timeout_outside_batch_limits(parts) -> None:
    stack, queue, job = parts
    with pytest.raises(ValueError, match=r"attempts.*between 1 and 10"):
        Workflow(stack, "W", steps=[Step("A", job, queue, attempts=11)])
    with pytest.raises(ValueError, match=r"timeout.*at least 60"):
        Workflow(stack, "W2", steps=[Step("A", job, queue, timeout=cdk.Duration.seconds(30))])


def test_rejects_no_steps(parts) -> None:
    stack, _, _ = parts
    with pytest.raises(ValueError, match="at least one step"):
        Workflow(stack, "W", steps=[])


def test_job_tags_add_tag_resource_on_jobs_only() -> None:
    stack = new_stack()
    queue, job = _batch(stack)
    Workflow(stack, "W", steps=[Step("A", job, queue)], job_tags={"team": "data"})
    template = cdk.assertions.Template.from_stack(stack).to_json()
    statements = _role_statements(template, "W")
    (tagging,) = [s for s in statements if "batch:TagResource" in json.dumps(s["Action"])]
    assert json.dumps(tagging["Resource"]).endswith(':job/*"]]}')
