"""BatchMonitoring: job-event rule and log group, metric filters, backlog function, alarms, dashboard.

One stack (two queues, a fake S3 submitter, a fake workflow, an e-mail subscription) is synthesized once
under the cdk-nag plugin and cfn-lint (``synth_checked``); a second, plain synth covers the options.

Metric filter patterns are evaluated against the recorded-shape events in ``tests/events/batch/``
(``state-*.json``) by :func:`filter_matches`, a small evaluator of the filter-pattern subset the construct
renders. moto 5.2.5 cannot do it: its ``filter_log_events`` treats any pattern that starts with ``{`` as
"unsupported" and returns every event, and its metric filters never publish metrics
(``test_moto_ignores_json_filter_patterns`` pins that, so the day moto learns them this file can use it).
"""

from __future__ import annotations

import fnmatch
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import boto3
import pytest
from aws_cdk import Duration
from aws_cdk import aws_batch as batch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Template
from constructs import Construct
from moto import mock_aws

from cdk_batchkit import plan
from cdk_batchkit.constructs import (
    BatchJobDefinition,
    ComputeKind,
    ComputeProfile,
    FargateComputeEnvironment,
    JobQueue,
    QueueProfile,
    SubmitShape,
)
from cdk_batchkit.constructs.monitoring import (
    TRANSITIONS,
    BatchMonitoring,
    MonitoringThresholds,
    queue_price_key,
)
from cdk_batchkit.constructs.notifications import NotificationTopic
from cdk_batchkit.model import Architecture
from cdk_batchkit.model.prices import price_table
from cdk_batchkit.model.statuses import JobStatus
from tests.eventbridge import routed
from tests.support import network, new_stack, synth_checked

EVENTS = Path(__file__).resolve().parents[1] / "events" / "batch"
SAMPLES = {p.stem: json.loads(p.read_text()) for p in sorted(EVENTS.glob("state-*.json"))}
#: The queue ARNs the samples carry: "Primary" stands for the first, "Secondary" for the second.
PRIMARY_ARN = SAMPLES["state-succeeded"]["detail"]["jobQueue"]
SECONDARY_ARN = SAMPLES["state-other-queue-failed"]["detail"]["jobQueue"]
SUBMITTER_NAMESPACE = "BatchKit/Submitter"
RENDER_ARN = "arn:aws:batch:us-east-1:123456789012:job-definition/batchkit-render:7"


# ------------------------------------------------------------------------------------------ fakes


class FakeSubmitter(Construct):
    """Shaped like the S3 submitter: imported function and queue, so it adds no resources of its own."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.function = lambda_.Function.from_function_arn(
            self, "Function", "arn:aws:lambda:us-east-1:123456789012:function:ingest"
        )
        self.dead_letter_queue = sqs.Queue.from_queue_arn(
            self, "DeadLetterQueue", "arn:aws:sqs:us-east-1:123456789012:ingest-dlq"
        )
        self.metrics_namespace = SUBMITTER_NAMESPACE
        self.service_name = "ingest"


class FakeWorkflow(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.state_machine = sfn.StateMachine.from_state_machine_arn(
            self, "StateMachine", "arn:aws:states:us-east-1:123456789012:stateMachine:nightly"
        )


# -------------------------------------------------------------------------------------- rendering


def render(value: Any, tokens: dict[str, str]) -> Any:
    """Resolve Fn::Join / Fn::GetAtt / Ref to text: known logical ids from ``tokens``, others <...>."""
    if isinstance(value, list):
        return [render(v, tokens) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Fn::Join"}:
        sep, parts = value["Fn::Join"]
        return sep.join(str(render(p, tokens)) for p in parts)
    if set(value) == {"Fn::GetAtt"}:
        logical_id, attr = value["Fn::GetAtt"]
        return tokens.get(logical_id, f"<{logical_id}.{attr}>")
    if set(value) == {"Ref"}:
        return tokens.get(value["Ref"], f"<{value['Ref']}>")
    return {k: render(v, tokens) for k, v in value.items()}


@dataclass
class Synth:
    template: dict[str, Any]
    stack: cdk.Stack
    monitoring: BatchMonitoring
    tokens: dict[str, str]  # queue logical id -> sample ARN

    @property
    def resources(self) -> dict[str, Any]:
        return self.template["Resources"]

    def of_type(self, type_name: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == type_name}

    def props(self, construct: Construct) -> dict[str, Any]:
        child = construct.node.default_child or construct
        logical_id = self.stack.get_logical_id(child)  # type: ignore[arg-type]
        return self.resources[logical_id]["Properties"]

    def logical_id(self, construct: Construct) -> str:
        return self.stack.get_logical_id(construct.node.default_child or construct)  # type: ignore[arg-type]

    def rendered(self, value: Any) -> Any:
        return render(value, self.tokens)


def _build(stack: cdk.Stack, **kwargs: Any) -> tuple[BatchMonitoring, dict[str, str]]:
    env = FargateComputeEnvironment(stack, "Fargate", network=network(stack))
    primary = JobQueue(stack, "Primary", compute_environments=[env])
    secondary = JobQueue(stack, "Secondary", compute_environments=[env])
    monitoring = BatchMonitoring(stack, "Monitoring", job_queues=[primary, secondary], **kwargs)
    tokens = {}
    for queue, arn in ((primary, PRIMARY_ARN), (secondary, SECONDARY_ARN)):
        resolved = stack.resolve(queue.job_queue_arn)
        tokens[resolved["Fn::GetAtt"][0] if "Fn::GetAtt" in resolved else resolved["Ref"]] = arn
    return monitoring, tokens


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    built: dict[str, Any] = {}

    def build(stack: cdk.Stack) -> None:
        built["stack"] = stack
        built["monitoring"], built["tokens"] = _build(
            stack,
            submitters=[FakeSubmitter(stack, "Ingest")],
            workflows=[FakeWorkflow(stack, "Nightly")],
            alarm_email="ops@example.com",
            cost_job_definitions=[
                BatchJobDefinition.from_job_definition_arn(
                    stack, "Render", RENDER_ARN, submit_shape=SubmitShape.CONTAINER
                )
            ],
        )

    template = synth_checked(build, tmp_path_factory.mktemp("monitoring"), "Monitored")
    return Synth(template, built["stack"], built["monitoring"], built["tokens"])


@pytest.fixture(scope="module")
def options() -> Synth:
    """No dashboard, no run time, an existing topic, custom thresholds and interval (plain synth)."""
    stack = new_stack("MonitoredOptions")
    topic = NotificationTopic(stack, "Alerts")
    monitoring, tokens = _build(
        stack,
        topic=topic,
        dashboard=False,
        job_run_time=False,
        backlog_interval=Duration.minutes(10),
        thresholds=MonitoringThresholds(
            period=Duration.minutes(15), failed_jobs=5, oldest_runnable_age=Duration.hours(2)
        ),
        log_retention=cdk.aws_logs.RetentionDays.ONE_WEEK,
        backlog_concurrency=5,
    )
    template = dict(Template.from_stack(stack).to_json())
    return Synth(template, stack, monitoring, tokens)


# --------------------------------------------------------------------- filter-pattern evaluator

_TOKEN = re.compile(
    r"\s*(?:(?P<punct>\{|\}|\(|\)|&&|\|\||!=|>=|<=|=|>|<)"
    r"|(?P<selector>\$(?:\.[A-Za-z_][A-Za-z0-9_-]*|\[\d+\])+)"
    r'|(?P<string>"(?:[^"\\]|\\.)*")'
    r"|(?P<number>-?\d+(?:\.\d+)?))"
)
_MISSING = object()


def _tokens(pattern: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(pattern.rstrip()):
        match = _TOKEN.match(pattern, pos)
        if not match or match.end() == pos:
            raise ValueError(f"unsupported filter-pattern syntax at {pattern[pos:]!r}")
        kind = match.lastgroup
        assert kind is not None
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def _select(event: Any, selector: str) -> Any:
    value = event
    for name, index in re.findall(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]", selector):
        if name and isinstance(value, dict) and name in value:
            value = value[name]
        elif index and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            return _MISSING
    return value


def filter_matches(pattern: str, event: dict[str, Any]) -> bool:
    """Evaluate a CloudWatch Logs JSON filter pattern on ``event``, for the subset this library renders.

    Supported: ``{ ... }`` with ``&&``, ``||``, parentheses, ``$.a.b[0]`` selectors, ``=``/``!=`` on
    quoted strings (``*`` is a wildcard) and ``= != < > <= >=`` on numbers. A missing field never matches.
    Anything else raises ValueError, so an unsupported pattern never passes silently.
    """
    toks = _tokens(pattern)
    if not toks or toks[0] != ("punct", "{") or toks[-1] != ("punct", "}"):
        raise ValueError(f"not a JSON filter pattern: {pattern!r}")
    pos = 1

    def peek() -> tuple[str, str] | None:
        return toks[pos] if pos < len(toks) - 1 else None

    def take() -> tuple[str, str]:
        nonlocal pos
        tok = peek()
        if tok is None:
            raise ValueError(f"unexpected end of {pattern!r}")
        pos += 1
        return tok

    def comparison() -> bool:
        if peek() == ("punct", "("):
            take()
            value = disjunction()
            if take() != ("punct", ")"):
                raise ValueError(f"unbalanced parentheses in {pattern!r}")
            return value
        kind, selector = take()
        op_kind, op = take()
        value_kind, literal = take()
        if kind != "selector" or op_kind != "punct" or op not in ("=", "!=", "<", ">", "<=", ">="):
            raise ValueError(f"unsupported comparison in {pattern!r}")
        actual = _select(event, selector)
        if actual is _MISSING or isinstance(actual, dict | list):
            return False
        if value_kind == "string":
            if op not in ("=", "!="):
                raise ValueError(f"{op} on a string in {pattern!r}")
            expected = json.loads(literal)
            equal = isinstance(actual, str) and fnmatch.fnmatchcase(actual, expected.replace("[", "[[]"))
            return equal if op == "=" else not equal
        if value_kind != "number" or isinstance(actual, bool) or not isinstance(actual, int | float):
            return False
        number = float(literal)
        return {
            "=": actual == number,
            "!=": actual != number,
            "<": actual < number,
            ">": actual > number,
            "<=": actual <= number,
            ">=": actual >= number,
        }[op]

    def conjunction() -> bool:
        result = comparison()
        while peek() == ("punct", "&&"):
            take()
            result = comparison() and result
        return result

    def disjunction() -> bool:
        result = conjunction()
        while peek() == ("punct", "||"):
            take()
            result = conjunction() or result
        return result

    result = disjunction()
    if pos != len(toks) - 1:
        raise ValueError(f"trailing tokens in {pattern!r}")
    return result


@pytest.mark.parametrize(
    ("pattern", "event", "expected"),
    [
        ('{ $.eventType = "UpdateTrail" }', {"eventType": "UpdateTrail"}, True),
        ('{ $.eventType = "UpdateTrail" }', {"eventType": "UpdateTrails"}, False),
        ('{ $.eventType = "Update*" }', {"eventType": "UpdateTrails"}, True),
        ('{ $.eventType != "UpdateTrail" }', {"eventType": "DeleteTrail"}, True),
        ('{ $.eventType = "UpdateTrail" }', {"other": "UpdateTrail"}, False),
        ('{ ($.a.b = "x") && ($.c = "y") }', {"a": {"b": "x"}, "c": "y"}, True),
        ('{ ($.a.b = "x") && ($.c = "y") }', {"a": {"b": "x"}, "c": "z"}, False),
        ('{ ($.a = "x") || ($.c = "y") }', {"a": "q", "c": "y"}, True),
        ("{ $.n > 5 }", {"n": 7}, True),
        ("{ $.n > 5 }", {"n": 5}, False),
        ("{ $.list[1].v = 2 }", {"list": [{"v": 1}, {"v": 2}]}, True),
    ],
)
def test_filter_evaluator_follows_the_documented_semantics(
    pattern: str, event: dict[str, Any], expected: bool
) -> None:
    assert filter_matches(pattern, event) is expected


@pytest.mark.parametrize("pattern", ["{ $.a IS NULL }", '{ ($.a = "x" }', "ERROR", '{ $.a = "x" } extra'])
def test_filter_evaluator_rejects_syntax_it_does_not_implement(pattern: str) -> None:
    with pytest.raises(ValueError):
        filter_matches(pattern, {"a": "x"})


def test_moto_ignores_json_filter_patterns() -> None:
    """Why the evaluator exists: moto returns every event for a JSON pattern, matching or not."""
    now = int(time.time() * 1000)
    messages = [json.dumps(SAMPLES["state-runnable"]), json.dumps(SAMPLES["state-other-queue-failed"])]
    with mock_aws():
        client = boto3.client("logs", region_name="us-east-1")
        client.create_log_group(logGroupName="/aws/events/check")
        client.create_log_stream(logGroupName="/aws/events/check", logStreamName="s")
        client.put_log_events(
            logGroupName="/aws/events/check",
            logStreamName="s",
            logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(messages)],
        )
        pattern = f'{{ ($.detail.jobQueue = "{PRIMARY_ARN}") && ($.detail.status = "FAILED") }}'
        found = client.filter_log_events(logGroupName="/aws/events/check", filterPattern=pattern)["events"]
    assert [filter_matches(pattern, json.loads(m)) for m in messages] == [False, False]
    assert len(found) == 2


# ------------------------------------------------------------------------------- rule and log group


def test_rule_sends_job_state_changes_of_the_monitored_queues_to_the_log_group(synth: Synth) -> None:
    rule = synth.props(synth.monitoring.rule)
    pattern = synth.rendered(rule["EventPattern"])
    assert pattern == {
        "source": ["aws.batch"],
        "detail-type": ["Batch Job State Change"],
        "detail": {"jobQueue": [PRIMARY_ARN, SECONDARY_ARN]},
    }
    (target,) = rule["Targets"]
    log_group_id = synth.logical_id(synth.monitoring.log_group)
    assert target["Arn"]["Fn::Join"][1][-2:] == [":log-group:", {"Ref": log_group_id}]
    assert "RoleArn" not in target  # CloudWatch Logs targets use the resource policy


def test_rule_pattern_routes_exactly_the_monitored_queues(synth: Synth) -> None:
    pattern = synth.rendered(synth.props(synth.monitoring.rule)["EventPattern"])
    pattern["detail"]["jobQueue"] = [PRIMARY_ARN]  # only Primary: the other-queue sample must not route
    compute_env_event = {**SAMPLES["state-failed"], "detail-type": "Batch Compute Environment State Change"}
    samples = [
        SAMPLES["state-failed"],
        SAMPLES["state-succeeded"],
        SAMPLES["state-runnable"],
        SAMPLES["state-other-queue-failed"],
        compute_env_event,
    ]
    with mock_aws():
        assert routed(pattern, samples) == [True, True, True, False, False]


def test_log_group_has_retention_an_events_name_and_a_scoped_resource_policy(synth: Synth) -> None:
    group = synth.props(synth.monitoring.log_group)
    assert group["LogGroupName"].startswith("/aws/events/")
    assert group["RetentionInDays"] == 30
    (policy_id, policy), *others = synth.of_type("AWS::Logs::ResourcePolicy").items()
    assert others == []
    document = json.loads(render(policy["Properties"]["PolicyDocument"], {}))
    (statement,) = document["Statement"]
    assert statement["Effect"] == "Allow"
    assert sorted(statement["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert sorted(statement["Principal"]["Service"]) == [
        "delivery.logs.amazonaws.com",
        "events.amazonaws.com",
    ]
    assert statement["Resource"] == f"<{synth.logical_id(synth.monitoring.log_group)}.Arn>"
    assert policy_id in synth.resources[synth.logical_id(synth.monitoring.rule)]["DependsOn"]


def test_no_custom_resource_and_only_the_backlog_function(synth: Synth) -> None:
    types = {v["Type"] for v in synth.resources.values()}
    assert not any(t.startswith("Custom::") or t == "AWS::CloudFormation::CustomResource" for t in types)
    assert list(synth.of_type("AWS::Lambda::Function")) == [
        synth.logical_id(synth.monitoring.backlog_function)
    ]


# ---------------------------------------------------------------------------------- metric filters


def test_metric_filters_count_each_transition_per_queue(synth: Synth) -> None:
    filters = synth.of_type("AWS::Logs::MetricFilter")
    assert len(filters) == 2 * len(TRANSITIONS)
    log_group_id = synth.logical_id(synth.monitoring.log_group)
    seen = set()
    for label, arn in (("Primary", PRIMARY_ARN), ("Secondary", SECONDARY_ARN)):
        for status, metric_name in TRANSITIONS.items():
            props = synth.props(synth.monitoring.metric_filters[label][status])
            assert synth.rendered(props["FilterPattern"]) == (
                f'{{ ($.detail.jobQueue = "{arn}") && ($.detail.status = "{status}") }}'
            )
            assert props["LogGroupName"] == {"Ref": log_group_id}
            assert props["MetricTransformations"] == [
                {
                    "MetricName": metric_name,
                    "MetricNamespace": "CdkBatchkit/Jobs",
                    "MetricValue": "1",
                    "Unit": "Count",
                    "Dimensions": [{"Key": "queue", "Value": "$.detail.jobQueue"}],
                }
            ]
            seen.add((label, metric_name))
    assert len(seen) == 10


def _published(synth: Synth, sample: dict[str, Any]) -> list[tuple[str, str]]:
    """(metric name, queue dimension value) for every metric filter of the stack that matches ``sample``."""
    out = []
    for resource in synth.of_type("AWS::Logs::MetricFilter").values():
        props = resource["Properties"]
        if filter_matches(synth.rendered(props["FilterPattern"]), sample):
            (transformation,) = props["MetricTransformations"]
            (dimension,) = transformation["Dimensions"]
            out.append((transformation["MetricName"], _select(sample, dimension["Value"])))
    return out


def test_metric_filters_count_the_recorded_events_exactly(synth: Synth) -> None:
    expected = {
        "state-runnable": [("JobsRunnable", PRIMARY_ARN)],
        "state-running": [("JobsRunning", PRIMARY_ARN)],
        "state-succeeded": [("JobsSucceeded", PRIMARY_ARN)],
        "state-failed": [("JobsFailed", PRIMARY_ARN)],
        "state-failed-never-started": [("JobsFailed", PRIMARY_ARN)],
        # Its queue name extends Primary's: only Secondary's filter may count it.
        "state-other-queue-failed": [("JobsFailed", SECONDARY_ARN)],
    }
    assert {name: _published(synth, sample) for name, sample in SAMPLES.items()} == expected


def test_an_unmonitored_queue_counts_nowhere(synth: Synth) -> None:
    stranger = json.loads(json.dumps(SAMPLES["state-failed"]))
    stranger["detail"]["jobQueue"] = "arn:aws:batch:us-east-1:123456789012:job-queue/someone-else"
    assert _published(synth, stranger) == []


# ---------------------------------------------------------------------------------- backlog function


def test_backlog_function_gets_the_queue_arns_and_only_list_jobs(synth: Synth) -> None:
    function = synth.props(synth.monitoring.backlog_function)
    variables = function["Environment"]["Variables"]
    assert json.loads(synth.rendered(variables["QUEUES"])) == [PRIMARY_ARN, SECONDARY_ARN]
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "CdkBatchkit/Jobs"
    assert function["Handler"] == "backlog.handler.handler"
    role_id = synth.logical_id(synth.monitoring.backlog_function.role)  # type: ignore[arg-type]
    (policy,) = [
        p["Properties"]
        for p in synth.of_type("AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": role_id}]
    ]
    actions = {json.dumps(s["Action"]): s["Resource"] for s in policy["PolicyDocument"]["Statement"]}
    assert actions.pop('"batch:ListJobs"') == "*"
    assert set(actions) == {json.dumps(["logs:CreateLogStream", "logs:PutLogEvents"])}


def test_backlog_function_has_a_concurrency_cap_and_no_async_retries(synth: Synth) -> None:
    function = synth.props(synth.monitoring.backlog_function)
    # Every finished job invokes it: capped so a large array finishing cannot starve other functions.
    assert function["ReservedConcurrentExecutions"] == 2
    variables = function["Environment"]["Variables"]
    assert (variables["MAX_PAGES"], variables["MAX_ARRAY_PAGES"]) == ("10", "20")
    # Two queues, at most 40 paced ListJobs calls each (RUNNABLE, PENDING parents, array children).
    assert function["Timeout"] == 60 + 2 * 40
    (config,) = synth.of_type("AWS::Lambda::EventInvokeConfig").values()
    assert config["Properties"]["MaximumRetryAttempts"] == 0
    assert config["Properties"]["FunctionName"] == {
        "Ref": synth.logical_id(synth.monitoring.backlog_function)
    }


def test_backlog_function_runs_on_a_schedule_and_on_finished_jobs(synth: Synth) -> None:
    function_arn = {"Fn::GetAtt": [synth.logical_id(synth.monitoring.backlog_function), "Arn"]}
    schedule = synth.props(synth.monitoring.backlog_schedule)
    assert schedule["ScheduleExpression"] == "rate(5 minutes)"
    assert [t["Arn"] for t in schedule["Targets"]] == [function_arn]
    assert synth.monitoring.run_time_rule is not None
    finished = synth.props(synth.monitoring.run_time_rule)
    assert [t["Arn"] for t in finished["Targets"]] == [function_arn]
    pattern = synth.rendered(finished["EventPattern"])
    assert pattern["detail"]["status"] == ["SUCCEEDED", "FAILED"]
    pattern["detail"]["jobQueue"] = [PRIMARY_ARN]
    samples = [
        SAMPLES[n] for n in ("state-succeeded", "state-failed", "state-runnable", "state-other-queue-failed")
    ]
    with mock_aws():
        assert routed(pattern, samples) == [True, True, False, False]


# --------------------------------------------------------------------------------------------- alarms


def _alarm(synth: Synth, key: str) -> dict[str, Any]:
    return synth.props(synth.monitoring.alarms[key])


def _metric(alarm: dict[str, Any]) -> dict[str, Any]:
    """The alarm's metric as a MetricStat (CDK renders a labelled metric as Metrics, others flat)."""
    if "Metrics" in alarm:
        (query,) = alarm["Metrics"]
        return query["MetricStat"]
    metric = {k: alarm[k] for k in ("Namespace", "MetricName", "Dimensions")}
    return {"Metric": metric, "Period": alarm["Period"], "Stat": alarm["Statistic"]}


def test_every_alarm_notifies_the_topic_and_ignores_missing_data(synth: Synth) -> None:
    topic = {"Ref": synth.logical_id(synth.monitoring.topic.topic)}
    assert sorted(synth.monitoring.alarms) == [
        "Ingest/DeadLetterQueue",
        "Ingest/Errors",
        "Monitoring/BacklogFunctionErrors",
        "Nightly/FailedExecutions",
        "Primary/FailedJobs",
        "Primary/OldestRunnableAge",
        "Secondary/FailedJobs",
        "Secondary/OldestRunnableAge",
    ]
    assert len(synth.of_type("AWS::CloudWatch::Alarm")) == 8
    for key in synth.monitoring.alarms:
        alarm = _alarm(synth, key)
        assert alarm["AlarmActions"] == [topic] and alarm["OKActions"] == [topic], key
        assert alarm["TreatMissingData"] == "notBreaching", key


def test_failed_jobs_alarm_per_queue(synth: Synth) -> None:
    for label, arn in (("Primary", PRIMARY_ARN), ("Secondary", SECONDARY_ARN)):
        alarm = _alarm(synth, f"{label}/FailedJobs")
        assert (alarm["ComparisonOperator"], alarm["Threshold"], alarm["EvaluationPeriods"]) == (
            "GreaterThanOrEqualToThreshold",
            1,
            1,
        )
        stat = synth.rendered(_metric(alarm))
        assert stat == {
            "Metric": {
                "Namespace": "CdkBatchkit/Jobs",
                "MetricName": "JobsFailed",
                "Dimensions": [{"Name": "queue", "Value": arn}],
            },
            "Period": 300,
            "Stat": "Sum",
        }


def test_oldest_runnable_alarm_per_queue(synth: Synth) -> None:
    alarm = _alarm(synth, "Primary/OldestRunnableAge")
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 3600)
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (2, 1)
    stat = synth.rendered(_metric(alarm))
    assert stat["Metric"]["MetricName"] == "OldestRunnableAge"
    assert sorted((d["Name"], d["Value"]) for d in stat["Metric"]["Dimensions"]) == [
        ("queue", PRIMARY_ARN),
        ("service", "batch-monitoring"),
    ]
    assert (stat["Period"], stat["Stat"]) == (300, "Maximum")


def test_submitter_alarms_watch_its_dead_letter_queue_and_errors(synth: Synth) -> None:
    dlq = _alarm(synth, "Ingest/DeadLetterQueue")
    assert (dlq["ComparisonOperator"], dlq["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)
    assert _metric(dlq)["Metric"] == {
        "Namespace": "AWS/SQS",
        "MetricName": "ApproximateNumberOfMessagesVisible",
        "Dimensions": [{"Name": "QueueName", "Value": "ingest-dlq"}],
    }
    assert _metric(dlq)["Stat"] == "Maximum"
    errors = _alarm(synth, "Ingest/Errors")
    assert _metric(errors)["Metric"] == {
        "Namespace": "AWS/Lambda",
        "MetricName": "Errors",
        "Dimensions": [{"Name": "FunctionName", "Value": "ingest"}],
    }
    assert (_metric(errors)["Stat"], errors["Threshold"]) == ("Sum", 1)


def test_workflow_alarm_adds_failed_and_timed_out_executions(synth: Synth) -> None:
    alarm = _alarm(synth, "Nightly/FailedExecutions")
    queries = {q["Id"]: q for q in alarm["Metrics"]}
    (expression,) = [q for q in queries.values() if "Expression" in q]
    assert expression["Expression"] == "FILL(failed, 0) + FILL(timedOut, 0)"
    assert queries["failed"]["MetricStat"]["Metric"]["MetricName"] == "ExecutionsFailed"
    assert queries["timedOut"]["MetricStat"]["Metric"]["MetricName"] == "ExecutionsTimedOut"
    for name in ("failed", "timedOut"):
        assert queries[name]["MetricStat"]["Metric"]["Dimensions"] == [
            {"Name": "StateMachineArn", "Value": "arn:aws:states:us-east-1:123456789012:stateMachine:nightly"}
        ]
        assert queries[name]["ReturnData"] is False
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)


def test_backlog_function_errors_alarm(synth: Synth) -> None:
    alarm = _alarm(synth, "Monitoring/BacklogFunctionErrors")
    metric = _metric(alarm)["Metric"]
    assert metric["MetricName"] == "Errors"
    assert metric["Dimensions"] == [
        {"Name": "FunctionName", "Value": {"Ref": synth.logical_id(synth.monitoring.backlog_function)}}
    ]


def test_topic_is_encrypted_and_the_alarm_email_is_subscribed(synth: Synth) -> None:
    topic = synth.props(synth.monitoring.topic.topic)
    assert "KmsMasterKeyId" in topic
    (subscription,) = [s["Properties"] for s in synth.of_type("AWS::SNS::Subscription").values()]
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", "ops@example.com")


# ------------------------------------------------------------------------------------------ dashboard


def _widgets(synth: Synth) -> dict[str, dict[str, Any]]:
    assert synth.monitoring.dashboard is not None
    body = synth.rendered(synth.props(synth.monitoring.dashboard)["DashboardBody"])
    return {w["properties"].get("title", "header"): w["properties"] for w in json.loads(body)["widgets"]}


def _names(widget: dict[str, Any]) -> list[str]:
    return [m[1] for m in widget.get("metrics", [])]


def test_dashboard_shows_each_queue(synth: Synth) -> None:
    widgets = _widgets(synth)
    for label, arn in (("Primary", PRIMARY_ARN), ("Secondary", SECONDARY_ARN)):
        transitions = widgets[f"{label}: job state transitions"]
        assert _names(transitions) == list(TRANSITIONS.values())
        assert {m[3] for m in transitions["metrics"]} == {arn}
        failed = widgets[f"{label}: failed jobs"]
        assert failed["annotations"]["alarms"] == [
            f"<{synth.logical_id(synth.monitoring.alarms[f'{label}/FailedJobs'])}.Arn>"
        ]
        backlog = widgets[f"{label}: RUNNABLE backlog"]
        assert _names(backlog) == ["RunnableJobs", "OldestRunnableAge"]
        assert backlog["metrics"][1][-1]["yAxis"] == "right"
        run_time = widgets[f"{label}: job run time (s)"]
        assert _names(run_time) == ["JobRunTime"] * 3
        assert [m[-1]["stat"] for m in run_time["metrics"]] == ["p50", "p90", "Maximum"]


def test_dashboard_shows_submitter_and_workflow(synth: Synth) -> None:
    widgets = _widgets(synth)
    throughput = widgets["Ingest: throughput"]
    assert _names(throughput) == ["ObjectsAccepted", "JobsSubmitted"]
    assert {(m[0], m[2], m[3]) for m in throughput["metrics"]} == {(SUBMITTER_NAMESPACE, "service", "ingest")}
    assert _names(widgets["Ingest: duplicates and failures"]) == [
        "DuplicatesSkipped",
        "RecordsFailed",
        "RecordsSkipped",
    ]
    assert _names(widgets["Ingest: dead-letter queue and errors"]) == [
        "ApproximateNumberOfMessagesVisible",
        "Errors",
    ]
    assert _names(widgets["Nightly: workflow outcomes"]) == [
        "ExecutionsSucceeded",
        "ExecutionsFailed",
        "ExecutionsTimedOut",
        "ExecutionsAborted",
    ]


def test_idle_cost_is_alarms_dashboard_and_the_topic_key(synth: Synth, tmp_path: Path) -> None:
    path = tmp_path / "Monitored.template.json"
    path.write_text(json.dumps(synth.template))
    lines = plan.idle_cost(plan.load_templates(tmp_path))
    by_type: dict[str, float] = {}
    for line in lines:
        assert line.monthly_usd is not None, line
        by_type[line.resource_type] = by_type.get(line.resource_type, 0) + line.monthly_usd
    assert by_type == pytest.approx(
        {"AWS::CloudWatch::Dashboard": 3.0, "AWS::CloudWatch::Alarm": 0.9, "AWS::KMS::Key": 1.0}
    )


# ----------------------------------------------------------------------------------------- options


def test_options_existing_topic_no_dashboard_no_run_time(options: Synth) -> None:
    types = [v["Type"] for v in options.resources.values()]
    assert "AWS::CloudWatch::Dashboard" not in types
    assert options.monitoring.dashboard is None and options.monitoring.run_time_rule is None
    assert types.count("AWS::KMS::Key") == 1  # the given topic's: no second topic
    assert types.count("AWS::Events::Rule") == 2
    topic = {"Ref": options.logical_id(options.monitoring.topic.topic)}
    assert options.monitoring.topic.node.path == "MonitoredOptions/Alerts"
    for key in options.monitoring.alarms:
        assert options.props(options.monitoring.alarms[key])["AlarmActions"] == [topic]


def test_options_thresholds_interval_and_retention(options: Synth) -> None:
    failed = _alarm(options, "Primary/FailedJobs")
    assert (failed["Threshold"], _metric(failed)["Period"]) == (5, 900)
    oldest = _alarm(options, "Primary/OldestRunnableAge")
    assert (oldest["Threshold"], _metric(oldest)["Period"]) == (7200, 600)
    assert options.props(options.monitoring.backlog_schedule)["ScheduleExpression"] == "rate(10 minutes)"
    assert options.props(options.monitoring.log_group)["RetentionInDays"] == 7
    assert options.props(options.monitoring.backlog_function)["ReservedConcurrentExecutions"] == 5


# -------------------------------------------------------------------------------------- validation


def _queues(stack: cdk.Stack, count: int) -> list[batch.IJobQueue]:
    return [
        batch.JobQueue.from_job_queue_arn(
            stack, f"Q{i}", f"arn:aws:batch:us-east-1:123456789012:job-queue/q{i}"
        )
        for i in range(count)
    ]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"backlog_interval": Duration.seconds(30)}, r"backlog_interval='30 s' is invalid"),
        ({"backlog_interval": Duration.seconds(90)}, r"backlog_interval='1.5 minutes' is invalid"),
        ({"thresholds": MonitoringThresholds(failed_jobs=0)}, r"thresholds.failed_jobs=0 is invalid"),
        ({"thresholds": MonitoringThresholds(period=Duration.seconds(10))}, r"thresholds.period='10 s'"),
        ({"log_group_name": "/batch/events"}, r"log_group_name='/batch/events' is invalid.*/aws/events/"),
        ({"alarm_email": "not-an-address"}, r"email_addresses='not-an-address'"),
        ({"backlog_concurrency": 0}, r"backlog_concurrency=0 is invalid: must be between 1 and 100"),
    ],
)
def test_rejects_bad_props(kwargs: dict[str, Any], match: str) -> None:
    stack = new_stack()
    with pytest.raises(ValueError, match=match):
        BatchMonitoring(stack, "Monitoring", job_queues=_queues(stack, 1), **kwargs)


def test_rejects_no_queues_and_more_than_fit_in_one_log_group() -> None:
    stack = new_stack()
    with pytest.raises(ValueError, match=r"job_queues=0 is invalid: needs 1 to 20 queues"):
        BatchMonitoring(stack, "None", job_queues=[])
    with pytest.raises(ValueError, match=r"job_queues=21 is invalid: needs 1 to 20 queues"):
        BatchMonitoring(stack, "TooMany", job_queues=_queues(stack, 21))


def test_rejects_two_queues_with_the_same_id() -> None:
    stack = new_stack()
    first, second = Construct(stack, "A"), Construct(stack, "B")
    arn = "arn:aws:batch:us-east-1:123456789012:job-queue/"
    queues = [batch.JobQueue.from_job_queue_arn(s, "Jobs", arn + s.node.id) for s in (first, second)]
    with pytest.raises(ValueError, match=r"job_queues='Jobs' is invalid: lists two queues"):
        BatchMonitoring(stack, "Monitoring", job_queues=queues)


def test_queue_metric_rejects_unknown_queues_and_metrics(options: Synth) -> None:
    with pytest.raises(ValueError, match=r"label='Nope' is invalid"):
        options.monitoring.queue_metric("Nope", "JobsFailed")
    with pytest.raises(ValueError, match=r"metric_name='Jobs' is invalid"):
        options.monitoring.queue_metric("Primary", "Jobs")


# ------------------------------------------------------------------------------------------- job cost


def test_backlog_function_gets_each_queues_price_key_the_price_table_and_the_costed_definitions(
    synth: Synth,
) -> None:
    variables = synth.props(synth.monitoring.backlog_function)["Environment"]["Variables"]
    # Parallel to QUEUES: both queues run on one on-demand Fargate environment (architecture per job).
    assert json.loads(variables["QUEUE_PRICE_KEYS"]) == ["FARGATE/", "FARGATE/"]
    prices = json.loads(variables["PRICES"])
    keys = [f"{k}/{a}" for k in ("EC2", "EC2_SPOT", "FARGATE", "FARGATE_SPOT") for a in ("x86_64", "arm64")]
    assert prices == price_table(keys)
    assert prices["us-east-1"]["FARGATE/x86_64"] == [0.04048, 0.004445]
    assert variables["PRICE_FALLBACK_REGION"] == "us-east-1"
    assert json.loads(synth.rendered(variables["COST_JOB_DEFINITIONS"])) == [RENDER_ARN]
    # The finished-job rule already sends these events: cost adds no rule, permission or function.
    assert len(synth.of_type("AWS::Lambda::Function")) == 1


def test_dashboard_shows_estimated_cost_per_queue_and_definition_beside_backlog(synth: Synth) -> None:
    widgets = _widgets(synth)
    for label, arn in (("Primary", PRIMARY_ARN), ("Secondary", SECONDARY_ARN)):
        cost = widgets[f"{label}: ESTIMATED job cost (USD, public prices, not a bill)"]
        assert _names(cost) == ["EstimatedJobCost", "EstimatedJobCost"]
        queue_line, render_line = cost["metrics"]

        def dimensions(metric: list[Any]) -> dict[str, str]:
            names = metric[2:-1]
            return dict(zip(names[::2], names[1::2], strict=True))

        assert dimensions(queue_line) == {"queue": arn, "service": "batch-monitoring"}
        assert dimensions(render_line) == {
            "queue": arn,
            "service": "batch-monitoring",
            "job_definition": "batchkit-render",  # the name, without the revision
        }
        assert [m[-1]["stat"] for m in cost["metrics"]] == ["Sum", "Sum"]
        assert cost["yAxis"]["left"]["label"] == "USD (estimate)"
        usage = widgets[f"{label}: reserved vCPU-seconds and GiB-seconds of finished jobs"]
        assert _names(usage) == ["JobVcpuSeconds", "JobGibSeconds"]
    titles = list(widgets)
    assert (
        titles.index("Primary: RUNNABLE backlog")
        < titles.index("Primary: ESTIMATED job cost (USD, public prices, not a bill)")
        < titles.index("Secondary: job state transitions")
    )


def test_options_without_run_time_publish_no_cost(options: Synth) -> None:
    variables = options.props(options.monitoring.backlog_function)["Environment"]["Variables"]
    assert not {"PRICES", "QUEUE_PRICE_KEYS", "COST_JOB_DEFINITIONS"} & set(variables)
    assert options.monitoring.job_costs is False


def test_queue_price_key_is_the_first_known_environment() -> None:
    arm_spot = ComputeProfile(ComputeKind.EC2_SPOT, architecture=Architecture.ARM64)
    on_demand = ComputeProfile(ComputeKind.EC2)
    assert queue_price_key(QueueProfile.of([arm_spot, on_demand])) == "EC2_SPOT/arm64"
    assert queue_price_key(QueueProfile.of([None, on_demand])) == "EC2/x86_64"
    assert queue_price_key(
        QueueProfile.of([ComputeProfile(ComputeKind.FARGATE_SPOT, architecture=None)])
    ) == ("FARGATE_SPOT/")
    assert queue_price_key(QueueProfile.of([ComputeProfile(ComputeKind.UNMANAGED)])) == "EC2/x86_64"
    assert queue_price_key(QueueProfile.of([ComputeProfile(ComputeKind.EKS_SPOT)])) == "EC2_SPOT/x86_64"
    assert queue_price_key(None) is None


def _definitions(stack: cdk.Stack, count: int) -> list[Any]:
    arn = "arn:aws:batch:us-east-1:123456789012:job-definition/d"
    return [BatchJobDefinition.from_job_definition_arn(stack, f"D{i}", f"{arn}{i}:1") for i in range(count)]


def test_rejects_a_spot_price_factor_outside_0_to_1() -> None:
    for factor in (0, 1.5):
        stack = new_stack()
        with pytest.raises(ValueError, match=rf"spot_price_factor={factor} is invalid: must be above 0"):
            BatchMonitoring(stack, "Monitoring", job_queues=_queues(stack, 1), spot_price_factor=factor)


def test_rejects_more_than_20_costed_definitions_or_without_run_time() -> None:
    stack = new_stack()
    with pytest.raises(ValueError, match=r"cost_job_definitions=21 is invalid: at most 20"):
        BatchMonitoring(
            stack, "Monitoring", job_queues=_queues(stack, 1), cost_job_definitions=_definitions(stack, 21)
        )
    stack = new_stack()
    with pytest.raises(
        ValueError, match=r"cost_job_definitions=\['D0'\] is invalid: needs job_costs=True and job_run_time"
    ):
        BatchMonitoring(
            stack,
            "Monitoring",
            job_queues=_queues(stack, 1),
            cost_job_definitions=_definitions(stack, 1),
            job_run_time=False,
        )
    stack = new_stack()
    definition = _definitions(stack, 1)[0]
    with pytest.raises(ValueError, match=r"cost_job_definitions='D0' is invalid: lists two definitions"):
        BatchMonitoring(
            stack, "Monitoring", job_queues=_queues(stack, 1), cost_job_definitions=[definition, definition]
        )


def test_a_region_without_prices_warns_that_us_east_1_prices_are_used() -> None:
    def warnings(region: str) -> list[str]:
        stack = cdk.Stack(cdk.App(), "Priced", env=cdk.Environment(account="123456789012", region=region))
        monitoring = BatchMonitoring(stack, "Monitoring", job_queues=_queues(stack, 1))
        return [str(e.data) for e in monitoring.node.metadata if e.type == "aws:cdk:warning"]

    (warning,) = warnings("ap-southeast-7")
    assert "No public prices for ap-southeast-7" in warning and "us-east-1's prices" in warning
    assert warnings("us-east-1") == []


def test_definition_metric_rejects_unknown_definitions_and_metrics(synth: Synth) -> None:
    with pytest.raises(ValueError, match=r"definition='Nope' is invalid: is not in cost_job_definitions"):
        synth.monitoring.definition_metric("Primary", "Nope")
    with pytest.raises(ValueError, match=r"metric_name='JobRunTime' is invalid: is not a cost metric"):
        synth.monitoring.definition_metric("Primary", "Render", "JobRunTime")


# ------------------------------------------------------------------ alarms and dashboard as data


def test_alarms_compose_into_your_composite_alarms_and_your_widgets_go_below_ours() -> None:
    """``alarm(key)`` gives an ``IAlarm`` of the rendered alarm; a widget you add lands below the library's
    rows (its widgets are one block of the L2 dashboard, placed first)."""
    from aws_cdk import aws_cloudwatch as cloudwatch

    stack = new_stack("Composed")
    monitoring, _ = _build(stack)
    failed, oldest = (monitoring.alarm(f"Primary/{what}") for what in ("FailedJobs", "OldestRunnableAge"))
    assert monitoring.alarm("Primary/FailedJobs") is failed  # made once
    cloudwatch.CompositeAlarm(
        stack,
        "Stuck",
        alarm_rule=cloudwatch.AlarmRule.all_of(
            cloudwatch.AlarmRule.from_alarm(failed, cloudwatch.AlarmState.ALARM),
            cloudwatch.AlarmRule.from_alarm(oldest, cloudwatch.AlarmState.ALARM),
        ),
    )
    assert monitoring.dashboard is not None
    monitoring.dashboard.add_widgets(cloudwatch.TextWidget(markdown="mine", width=24, height=1))
    with pytest.raises(ValueError, match="Composed/Monitoring.*key.*'Nope/FailedJobs'.*not an alarm"):
        monitoring.alarm("Nope/FailedJobs")

    template = Template.from_stack(stack).to_json()
    resources = template["Resources"]
    ids = {key: stack.get_logical_id(alarm) for key, alarm in monitoring.alarms.items()}
    (composite,) = (r for r in resources.values() if r["Type"] == "AWS::CloudWatch::CompositeAlarm")
    rule = json.dumps(composite["Properties"]["AlarmRule"])
    assert ids["Primary/FailedJobs"] in rule and ids["Primary/OldestRunnableAge"] in rule
    (board,) = (r for r in resources.values() if r["Type"] == "AWS::CloudWatch::Dashboard")
    body = json.loads(render(board["Properties"]["DashboardBody"], {}))
    widgets = body["widgets"]
    assert widgets[0]["properties"]["markdown"].startswith("# AWS Batch queues")
    assert (widgets[0]["x"], widgets[0]["y"]) == (0, 0)
    mine = widgets[-1]
    ours_bottom = max(w["y"] + w["height"] for w in widgets[:-1])
    assert (mine["properties"]["markdown"], mine["x"], mine["y"]) == ("mine", 0, ours_bottom)


def test_alarm_specs_describe_what_each_rendered_alarm_holds(synth: Synth) -> None:
    """``alarm_specs`` is the data each alarm was written from: same keys, same rendered properties."""
    assert sorted(synth.monitoring.alarm_specs) == sorted(synth.monitoring.alarms)
    for key, spec in synth.monitoring.alarm_specs.items():
        rendered = synth.rendered(_alarm(synth, key))
        assert rendered["Threshold"] == spec.threshold and rendered["AlarmDescription"] == spec.description
        assert rendered["ComparisonOperator"] == spec.comparison, key
    oldest = synth.monitoring.alarm_specs["Primary/OldestRunnableAge"]
    assert (oldest.evaluation_periods, oldest.datapoints_to_alarm) == (2, 1)


def test_metric_factories_hand_out_the_metrics_the_alarms_watch(synth: Synth) -> None:
    """The L2 metric of a factory and the alarm's rendering come from the same description."""
    queue = synth.monitoring.queue_metrics["Primary"]
    assert (
        queue.spec_transitions(JobStatus.FAILED) == synth.monitoring.alarm_specs["Primary/FailedJobs"].metric
    )
    metric = queue.transitions(JobStatus.FAILED)
    assert (metric.metric_name, metric.namespace, metric.statistic) == (
        "JobsFailed",
        "CdkBatchkit/Jobs",
        "Sum",
    )
    assert queue.transitions("FAILED") is metric  # one aws_cloudwatch object per description
    submitter = synth.monitoring.submitter_metrics["Ingest"]
    assert submitter.dead_letter_messages().metric_name == "ApproximateNumberOfMessagesVisible"
    assert submitter.spec_errors() == synth.monitoring.alarm_specs["Ingest/Errors"].metric
    failures = synth.monitoring.workflow_metrics["Nightly"].failures()
    assert failures.expression == "FILL(failed, 0) + FILL(timedOut, 0)"
    assert sorted(failures.using_metrics) == ["failed", "timedOut"]
