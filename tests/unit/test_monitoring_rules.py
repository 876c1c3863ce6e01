"""The monitoring rules (BK-M1..BK-M6) on model values, the metric factories, and SageMaker Training queues
in BatchMonitoring (refused) and JobStateNotifications (their service-job events matched)."""

from __future__ import annotations

import warnings

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template

from cdk_batchkit.constructs import (
    BatchMonitoring,
    FargateComputeEnvironment,
    JobQueue,
    JobStateNotifications,
    JobStatus,
    QueueMetrics,
    SageMakerTrainingEnvironment,
    SageMakerTrainingQueue,
)
from cdk_batchkit.model import RULES
from cdk_batchkit.model.rules import MonitoringPlan
from cdk_batchkit.model.rules.monitoring import (
    MAX_QUEUES,
    backlog_concurrency,
    costed_definitions,
    monitored_queue_count,
    no_service_queues,
    priced_region,
    spot_price_factor,
)
from cdk_batchkit.model.statuses import CONTAINER_JOB_STATUSES, SERVICE_JOB_STATUSES
from tests.support import network, new_stack

ONE = MonitoringPlan(queues=("Jobs",))

# ------------------------------------------------------------------------------- rules on model values


def test_monitoring_rules_are_model_functions_registered_once() -> None:
    assert {f"BK-M{i}" for i in range(1, 7)} <= set(RULES)
    for check in (monitored_queue_count, backlog_concurrency, costed_definitions, spot_price_factor):
        assert check(ONE) == []


def test_rejects_no_queues_and_more_than_one_log_group_holds() -> None:
    assert [p.value for p in monitored_queue_count(MonitoringPlan())] == [0]
    many = MonitoringPlan(queues=tuple(f"Q{i}" for i in range(MAX_QUEUES + 1)))
    (problem,) = monitored_queue_count(many)
    assert problem.rule == "BK-M1" and problem.prop == "job_queues" and "1 to 20 queues" in problem.why
    assert monitored_queue_count(MonitoringPlan(queues=tuple(f"Q{i}" for i in range(MAX_QUEUES)))) == []


@pytest.mark.parametrize("value", [0, 101, True])
def test_rejects_a_backlog_concurrency_outside_1_to_100(value: int) -> None:
    (problem,) = backlog_concurrency(MonitoringPlan(queues=("Q",), backlog_concurrency=value))
    assert problem.rule == "BK-M2" and "between 1 and 100" in problem.why


def test_rejects_too_many_repeated_or_uncosted_definitions() -> None:
    (many,) = costed_definitions(MonitoringPlan(cost_definitions=tuple(f"D{i}" for i in range(21))))
    assert many.value == 21 and "at most 20" in many.why
    (twice,) = costed_definitions(MonitoringPlan(cost_definitions=("D", "D")))
    assert twice.value == "D" and "same construct id" in twice.why
    (off,) = costed_definitions(MonitoringPlan(cost_definitions=("D",), job_run_time=False))
    assert off.value == ["D"] and "job_run_time=True" in off.why
    assert costed_definitions(MonitoringPlan(cost_definitions=("D",))) == []


@pytest.mark.parametrize("factor", [0, -0.1, 1.01])
def test_rejects_a_spot_price_factor_outside_0_to_1(factor: float) -> None:
    (problem,) = spot_price_factor(MonitoringPlan(spot_price_factor=factor))
    assert problem.rule == "BK-M4" and problem.value == factor
    assert spot_price_factor(MonitoringPlan(spot_price_factor=1)) == []


def test_warns_that_a_region_without_prices_uses_us_east_1_prices() -> None:
    (problem,) = priced_region(MonitoringPlan(region="ap-southeast-7"))
    assert problem.warning and problem.warning_id == "batchkit:price-fallback"
    assert priced_region(MonitoringPlan(region="us-east-1")) == []
    assert priced_region(MonitoringPlan(region=None)) == []  # unknown until deploy
    assert priced_region(MonitoringPlan(region="ap-southeast-7", job_costs=False)) == []


def test_rejects_a_sagemaker_training_queue_in_monitoring() -> None:
    (problem,) = no_service_queues(MonitoringPlan(queues=("Cpu", "Training"), service_queues=("Training",)))
    assert problem.rule == "BK-M6" and problem.value == "Training"
    assert "Batch Service Job State Change" in problem.why and "ListServiceJobs" in problem.why
    assert no_service_queues(ONE) == []


# -------------------------------------------------------------------------------------- constructs


def _training_queue(stack: cdk.Stack) -> SageMakerTrainingQueue:
    environment = SageMakerTrainingEnvironment(stack, "TrainingEnv", max_instances=4)
    return SageMakerTrainingQueue(stack, "Training", service_environments=[environment])


def _container_queue(stack: cdk.Stack) -> JobQueue:
    env = FargateComputeEnvironment(stack, "Fargate", network=network(stack))
    return JobQueue(stack, "Cpu", compute_environments=[env])


def test_monitoring_a_sagemaker_training_queue_fails_synth_clearly() -> None:
    stack = new_stack()
    queues = [_container_queue(stack), _training_queue(stack)]
    with pytest.raises(
        ValueError, match=r"Monitoring: job_queues='Training' is invalid: is a SageMaker Training"
    ):
        BatchMonitoring(stack, "Monitoring", job_queues=queues)


@pytest.fixture(scope="module")
def notified() -> tuple[JobStateNotifications, JobStateNotifications, JobStateNotifications, Template]:
    stack = new_stack("Notified")
    inbox = sqs.Queue(stack, "Inbox")
    cpu, training = _container_queue(stack), _training_queue(stack)
    only_service = JobStateNotifications(
        stack,
        "TrainingJobs",
        job_queues=[training],
        statuses=[JobStatus.SCHEDULED, JobStatus.FAILED],
        sqs_queue=inbox,
    )
    mixed = JobStateNotifications(stack, "Mixed", job_queues=[cpu, training], sqs_queue=inbox)
    containers = JobStateNotifications(
        stack, "CpuJobs", job_queues=[cpu], statuses=["FAILED"], sqs_queue=inbox
    )
    return only_service, mixed, containers, Template.from_stack(stack)


def _pattern(template: Template, notifications: JobStateNotifications) -> dict:
    rule = notifications.rule.node.default_child
    logical_id = cdk.Stack.of(rule).get_logical_id(rule)  # type: ignore[arg-type]
    return template.to_json()["Resources"][logical_id]["Properties"]["EventPattern"]  # type: ignore[no-any-return]


def test_notifications_match_service_job_events_of_a_sagemaker_queue(notified) -> None:  # type: ignore[no-untyped-def]
    only_service, _, _, template = notified
    pattern = _pattern(template, only_service)
    assert pattern["detail-type"] == ["Batch Service Job State Change"]
    assert pattern["detail"]["status"] == ["SCHEDULED", "FAILED"]


def test_notifications_of_mixed_queues_match_both_event_types(notified) -> None:  # type: ignore[no-untyped-def]
    _, mixed, containers, template = notified
    assert _pattern(template, mixed)["detail-type"] == [
        "Batch Job State Change",
        "Batch Service Job State Change",
    ]
    assert _pattern(template, containers)["detail-type"] == ["Batch Job State Change"]
    assert _pattern(template, containers)["detail"]["status"] == ["FAILED"]


def test_scheduled_needs_a_service_queue() -> None:
    stack = new_stack()
    with pytest.raises(
        ValueError, match=r"statuses=\['SCHEDULED'\] is invalid: must be one or more of SUBMITTED"
    ):
        JobStateNotifications(
            stack,
            "Scheduled",
            job_queues=[_container_queue(stack)],
            statuses=[JobStatus.SCHEDULED],
            sqs_queue=sqs.Queue(stack, "Inbox"),
        )


def test_job_status_lists_follow_botocore() -> None:
    import botocore.session

    model = botocore.session.get_session().get_service_model("batch")
    assert [str(s) for s in CONTAINER_JOB_STATUSES] == model.shape_for("JobStatus").enum
    assert [str(s) for s in SERVICE_JOB_STATUSES] == model.shape_for("ServiceJobStatus").enum


# ----------------------------------------------------------------------------------- metric factories


def _factory() -> QueueMetrics:
    return QueueMetrics(
        label="Primary",
        queue_arn="arn:aws:batch:us-east-1:123456789012:job-queue/primary",
        namespace="Jobs",
        service_name="monitor",
        period=cdk.Duration.minutes(5),
        backlog_period=cdk.Duration.minutes(10),
        definitions={"Render": "arn:aws:batch:us-east-1:123456789012:job-definition/render:3"},
    )


def test_queue_metrics_are_built_once_and_typed() -> None:
    metrics = _factory()
    failed = metrics.transitions(JobStatus.FAILED)
    assert metrics.transitions("FAILED") is failed  # the same object for the alarm and the widget
    assert (failed.metric_name, failed.statistic, failed.label) == ("JobsFailed", "Sum", "Failed")
    assert failed.dimensions == {"queue": metrics.queue_arn}
    runnable = metrics.runnable_jobs()
    assert (runnable.metric_name, runnable.statistic) == ("RunnableJobs", "Maximum")
    assert runnable.period.to_minutes() == 10 and runnable.dimensions["service"] == "monitor"
    assert metrics.run_time("p90").statistic == "p90"
    cost = metrics.estimated_cost("Render")
    assert cost.metric_name == "EstimatedJobCost" and set(cost.dimensions) == {
        "queue",
        "service",
        "job_definition",
    }
    with pytest.raises(ValueError, match="PENDING transitions are not counted"):
        metrics.transitions(JobStatus.PENDING)


def test_old_string_methods_still_work_and_warn() -> None:
    stack = new_stack()
    monitoring = BatchMonitoring(stack, "Monitoring", job_queues=[_container_queue(stack)], dashboard=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        metric = monitoring.queue_metric("Cpu", "JobsFailed")
    assert any(issubclass(w.category, DeprecationWarning) for w in caught)
    assert isinstance(metric, cloudwatch.Metric) and metric.metric_name == "JobsFailed"
    assert monitoring.queue_metrics["Cpu"].transitions(JobStatus.FAILED).metric_name == "JobsFailed"
