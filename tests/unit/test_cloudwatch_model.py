"""The CDK-free CloudWatch values (cdk_batchkit.model.cloudwatch) and the L1 keyword translation the
constructs hand them to (constructs/_l1.py). That the rendering equals what aws_cloudwatch's L2s write is
checked on the templates (test_monitoring.py); here, the rules of each value."""

from __future__ import annotations

import pytest

from cdk_batchkit.constructs._l1 import camel, l1_kwargs, snake
from cdk_batchkit.model.cloudwatch import (
    AlarmSpec,
    AlarmWidget,
    GraphWidget,
    MathSpec,
    MetricSpec,
    TextWidget,
    WidgetRow,
)

FAILED = MetricSpec("Ns", "JobsFailed", (("queue", "q1"),), "Sum", 300, "Failed")


def test_a_labelled_metric_alarms_through_one_query_that_keeps_its_label() -> None:
    assert FAILED.alarm_properties() == {
        "Metrics": [
            {
                "Id": "m1",
                "Label": "Failed",
                "MetricStat": {
                    "Metric": {"Dimensions": [{"Name": "queue", "Value": "q1"}], "MetricName": "JobsFailed",
                               "Namespace": "Ns"},
                    "Period": 300,
                    "Stat": "Sum",
                },
                "ReturnData": True,
            }
        ]
    }  # fmt: skip


def test_an_unlabelled_percentile_is_an_extended_statistic() -> None:
    props = MetricSpec("AWS/Lambda", "Duration", (("FunctionName", "f"),), "p90", 60).alarm_properties()
    assert props == {
        "Namespace": "AWS/Lambda",
        "MetricName": "Duration",
        "Dimensions": [{"Name": "FunctionName", "Value": "f"}],
        "Period": 60,
        "ExtendedStatistic": "p90",
    }
    plain = MetricSpec("N", "M", statistic="Maximum").alarm_properties()
    assert plain["Statistic"] == "Maximum" and "ExtendedStatistic" not in plain


@pytest.mark.parametrize("statistic", ["sum", "p", "p100", "Median", ""])
def test_a_statistic_cloudwatch_does_not_know_is_refused(statistic: str) -> None:
    with pytest.raises(ValueError, match="not a CloudWatch statistic"):
        MetricSpec("N", "M", statistic=statistic)


def test_dimensions_are_kept_sorted_so_equal_metrics_compare_equal() -> None:
    a = MetricSpec("N", "M", (("service", "s"), ("queue", "q")))
    b = MetricSpec("N", "M", (("queue", "q"), ("service", "s")))
    assert a == b and hash(a) == hash(b)
    assert a.graph_entry() == ["N", "M", "queue", "q", "service", "s"]  # Average, 300 s: no options


def test_graph_entries_name_only_what_differs_from_the_graph_defaults() -> None:
    assert FAILED.graph_entry("right", "f") == [
        "Ns", "JobsFailed", "queue", "q1", {"label": "Failed", "stat": "Sum", "yAxis": "right", "id": "f"}
    ]  # fmt: skip
    assert MetricSpec("N", "M", period=60).graph_entry() == ["N", "M", {"period": 60}]


def test_math_alarms_return_the_expression_only() -> None:
    math = MathSpec("FILL(a, 0) + FILL(b, 0)", (("a", FAILED), ("b", FAILED)), 300, "both")
    expression, *used = math.alarm_properties()["Metrics"]
    assert expression == {"Expression": "FILL(a, 0) + FILL(b, 0)", "Id": "expr_1", "Label": "both",
                          "ReturnData": True}  # fmt: skip
    assert [(q["Id"], q["ReturnData"], q["MetricStat"]["Stat"]) for q in used] == [
        ("a", False, "Sum"),
        ("b", False, "Sum"),
    ]
    assert "Label" not in used[0]  # a used metric's label is not rendered


def test_an_alarm_notifies_on_alarm_and_ok_and_checks_its_datapoints() -> None:
    alarm = AlarmSpec(FAILED, 1, "d", actions=("arn:topic",), evaluation_periods=2)
    props = alarm.properties()
    assert props["AlarmActions"] == props["OKActions"] == ["arn:topic"]
    assert (props["TreatMissingData"], props["DatapointsToAlarm"], props["EvaluationPeriods"]) == (
        "notBreaching", 1, 2
    )  # fmt: skip
    assert "AlarmActions" not in AlarmSpec(FAILED, 1, "d").properties()
    with pytest.raises(
        ValueError, match=r"datapoints_to_alarm \(3\) must be between 1 and evaluation_periods"
    ):
        AlarmSpec(FAILED, 1, "d", evaluation_periods=2, datapoints_to_alarm=3)


def test_a_row_wraps_at_24_columns_below_its_tallest_widget() -> None:
    row = WidgetRow(
        [
            TextWidget("# t", width=24, height=2),
            *(GraphWidget(f"g{i}", width=6) for i in range(4)),
            GraphWidget("wide", width=12, height=3),
            AlarmWidget("a", "arn:alarm", width=12),
            GraphWidget("next", width=8),
        ]
    )
    assert [(x, y, w.title if hasattr(w, "title") else "text") for x, y, w in row.placed()] == [
        (0, 0, "text"),
        (0, 2, "g0"), (6, 2, "g1"), (12, 2, "g2"), (18, 2, "g3"),
        (0, 8, "wide"), (12, 8, "a"),
        (0, 14, "next"),
    ]  # fmt: skip
    assert row.height == 20
    body = row.body("REGION", 0, 5)
    assert (body[0]["type"], body[0]["y"], body[0]["properties"]) == ("text", 5, {"markdown": "# t"})
    assert body[6]["properties"]["annotations"] == {"alarms": ["arn:alarm"]}
    assert body[1]["properties"] == {"view": "timeSeries", "title": "g0", "region": "REGION", "yAxis": {}}
    with pytest.raises(ValueError, match="25 columns wide: at most 24"):
        WidgetRow([GraphWidget("x", width=25)]).placed()


def test_graph_metrics_appear_once_on_the_axis_first_given() -> None:
    graph = GraphWidget("g", left=[FAILED], right=[FAILED, MetricSpec("N", "M")], left_axis={"label": "USD"})
    properties = graph.body("R")["properties"]
    assert [m[1] for m in properties["metrics"]] == ["JobsFailed", "M"]
    assert properties["metrics"][1][-1] == {"yAxis": "right"}
    assert properties["yAxis"] == {"left": {"label": "USD"}}


@pytest.mark.parametrize(
    ("cfn", "python", "jsii"),
    [
        ("OKActions", "ok_actions", "okActions"),
        ("DatapointsToAlarm", "datapoints_to_alarm", "datapointsToAlarm"),
        ("Id", "id", "id"),
        ("MetricStat", "metric_stat", "metricStat"),
        ("KMSKeyId", "kms_key_id", "kmsKeyId"),
    ],
)
def test_cloudformation_names_become_l1_keywords_and_struct_fields(cfn: str, python: str, jsii: str) -> None:
    assert (snake(cfn), camel(cfn)) == (python, jsii)


def test_l1_kwargs_translate_nested_structs_not_values() -> None:
    assert l1_kwargs({"Metrics": [{"MetricStat": {"Period": 60}, "Id": "Value Kept"}], "Threshold": 1}) == {
        "metrics": [{"metricStat": {"period": 60}, "id": "Value Kept"}],
        "threshold": 1,
    }
