"""CloudWatch metrics, alarms and dashboards as data: what an alarm's properties and a dashboard's body
hold, rendered in Python.

The monitoring constructs describe every metric they chart and alarm on as a :class:`MetricSpec` (or a
:class:`MathSpec`), and write the alarms (``AWS::CloudWatch::Alarm`` properties) and the dashboard body
(CloudWatch's dashboard body structure) from these values. Building the same thing out of
``aws_cloudwatch`` L2 objects costs a Python -> Node round trip per metric, widget, alarm and action; as
data it costs none until the template is written. The output is the same JSON the L2s write
(``aws_cloudwatch``'s ``Alarm`` and ``GraphWidget`` rendering, aws-cdk-lib 2.275), checked by the
template tests.

Values may be CDK tokens (a queue ARN, ``${AWS::Region}``): they are opaque strings here and are resolved
when the stack writes its template.

Sources: the dashboard body structure
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html)
and ``AWS::CloudWatch::Alarm`` (MetricDataQuery, extended statistics ``pNN``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: The width of a dashboard's grid (CloudWatch's 24 columns).
GRID_WIDTH = 24
#: The height of a graph or alarm widget when none is given (the CDK's default).
WIDGET_HEIGHT = 6
#: The period a dashboard graph uses when a metric names none (omitted from the body).
DEFAULT_GRAPH_PERIOD = 300
#: The statistic a dashboard graph uses when a metric names none (omitted from the body).
DEFAULT_GRAPH_STAT = "Average"

_STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
_PERCENTILE = re.compile(r"^p\d{1,2}(\.\d+)?$")


@dataclass(frozen=True)
class MetricSpec:
    """One CloudWatch metric with its statistic and period.

    :param namespace: the metric's namespace (``AWS/Lambda``, ``CdkBatchkit/Jobs``).
    :param metric_name: its name.
    :param dimensions: ``(name, value)`` pairs (kept and rendered sorted by name, as the CDK renders them:
        CloudWatch does not order dimensions, so two specs of the same dimensions are equal).
    :param statistic: ``Sum``, ``Maximum``... or a percentile (``p90``: an extended statistic).
    :param period: seconds (a multiple of 60, or 1, 5, 10, 30 for high resolution).
    :param label: the dashboard's legend label (an alarm on one metric does not render it).
    """

    namespace: str
    metric_name: str
    dimensions: tuple[tuple[str, str], ...] = ()
    statistic: str = "Average"
    period: int = DEFAULT_GRAPH_PERIOD
    label: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "dimensions", tuple(sorted(self.dimensions)))
        if self.statistic not in _STATISTICS and not _PERCENTILE.match(self.statistic):
            raise ValueError(
                f"{self.statistic!r} is not a CloudWatch statistic ({', '.join(_STATISTICS)} or pNN)"
            )

    @property
    def dimensions_map(self) -> dict[str, str]:
        return dict(self.dimensions)

    def alarm_properties(self) -> dict[str, Any]:
        """The ``AWS::CloudWatch::Alarm`` properties of an alarm watching this metric: namespace, name,
        dimensions, period and (extended) statistic; a labelled metric as a one-query ``Metrics`` list,
        which keeps the label (as the CDK's ``Alarm`` renders it)."""
        if self.label is not None:
            return {"Metrics": [{"Id": "m1", "Label": self.label, **self.metric_stat(), "ReturnData": True}]}
        props: dict[str, Any] = {
            "Namespace": self.namespace,
            "MetricName": self.metric_name,
            "Dimensions": _dimensions(self.dimensions),
            "Period": self.period,
        }
        props["Statistic" if self.statistic in _STATISTICS else "ExtendedStatistic"] = self.statistic
        return props

    def metric_stat(self) -> dict[str, Any]:
        """This metric as a ``MetricDataQuery``'s ``MetricStat``."""
        metric = {
            "Dimensions": _dimensions(self.dimensions),
            "MetricName": self.metric_name,
            "Namespace": self.namespace,
        }
        return {"MetricStat": {"Metric": metric, "Period": self.period, "Stat": self.statistic}}

    def graph_entry(self, y_axis: str = "left", query_id: str | None = None) -> list[Any]:
        """This metric in a dashboard graph's ``metrics`` array: namespace, name, each dimension's name
        and value, then its options (label, period and statistic where not the defaults, axis, id)."""
        entry: list[Any] = [self.namespace, self.metric_name]
        for name, value in self.dimensions:
            entry += [name, value]
        options: dict[str, Any] = {}
        if self.label is not None:
            options["label"] = self.label
        if self.period != DEFAULT_GRAPH_PERIOD:
            options["period"] = self.period
        if self.statistic != DEFAULT_GRAPH_STAT:
            options["stat"] = self.statistic
        if y_axis != "left":
            options["yAxis"] = y_axis
        if query_id is not None:
            options["id"] = query_id
        if options:
            entry.append(options)
        return entry


@dataclass(frozen=True)
class MathSpec:
    """A metric math expression over named metrics (``FILL(failed, 0) + FILL(timedOut, 0)``).

    :param expression: the expression, naming the metrics by their ids.
    :param using: id -> metric (ids start with a lowercase letter).
    :param period: seconds.
    :param label: the expression's label.
    """

    expression: str
    using: tuple[tuple[str, MetricSpec], ...]
    period: int = DEFAULT_GRAPH_PERIOD
    label: str | None = None

    def alarm_properties(self) -> dict[str, Any]:
        """The ``AWS::CloudWatch::Alarm`` ``metrics`` of an alarm on this expression: the expression
        (``expr_1``, the one returned) and each metric it uses (not returned)."""
        expression: dict[str, Any] = {"Expression": self.expression, "Id": "expr_1"}
        if self.label is not None:
            expression["Label"] = self.label
        if self.period != DEFAULT_GRAPH_PERIOD:
            expression["Period"] = self.period
        expression["ReturnData"] = True
        queries = [expression]
        for query_id, metric in self.using:
            queries.append({**metric.metric_stat(), "Id": query_id, "ReturnData": False})
        return {"Metrics": queries}


Metric = MetricSpec | MathSpec


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm: its metric, threshold and actions (every alarm of the library notifies on ALARM and OK).

    :param metric: what it watches.
    :param threshold: the threshold.
    :param comparison: a CloudWatch ``ComparisonOperator``.
    :param evaluation_periods: periods evaluated.
    :param datapoints_to_alarm: breaching data points among them that fire the alarm.
    :param treat_missing_data: ``notBreaching``, ``breaching``, ``ignore`` or ``missing``.
    :param description: the alarm's description.
    :param actions: ARNs notified on ALARM and on OK.
    """

    metric: Metric
    threshold: float
    description: str
    comparison: str = "GreaterThanOrEqualToThreshold"
    evaluation_periods: int = 1
    datapoints_to_alarm: int = 1
    treat_missing_data: str = "notBreaching"
    actions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= self.datapoints_to_alarm <= self.evaluation_periods:
            raise ValueError(
                f"datapoints_to_alarm ({self.datapoints_to_alarm}) must be between 1 and evaluation_periods "
                f"({self.evaluation_periods})"
            )

    def properties(self) -> dict[str, Any]:
        """The ``AWS::CloudWatch::Alarm`` properties, as the template holds them."""
        props: dict[str, Any] = {
            "ComparisonOperator": self.comparison,
            "EvaluationPeriods": self.evaluation_periods,
            "AlarmDescription": self.description,
            "DatapointsToAlarm": self.datapoints_to_alarm,
            **self.metric.alarm_properties(),
            "Threshold": self.threshold,
            "TreatMissingData": self.treat_missing_data,
        }
        if self.actions:
            props["AlarmActions"] = list(self.actions)
            props["OKActions"] = list(self.actions)
        return props


# -- dashboards ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GraphWidget:
    """A time-series graph of metrics on a left and a right axis.

    :param left_axis: the left axis' options (``{"label": "USD", "showUnits": False}``).
    """

    title: str
    left: Sequence[MetricSpec] = ()
    right: Sequence[MetricSpec] = ()
    width: int = 6
    height: int = WIDGET_HEIGHT
    left_axis: Mapping[str, Any] | None = None

    def body(self, region: str) -> dict[str, Any]:
        metrics = _graph_metrics(self.left, self.right)
        y_axis: dict[str, Any] = {}
        if self.left_axis is not None:
            y_axis["left"] = dict(self.left_axis)
        properties: dict[str, Any] = {"view": "timeSeries", "title": self.title, "region": region}
        if metrics:
            properties["metrics"] = metrics
        properties["yAxis"] = y_axis
        return {"type": "metric", "properties": properties}


@dataclass(frozen=True)
class AlarmWidget:
    """An alarm's metric with its threshold, by the alarm's ARN."""

    title: str
    alarm_arn: str
    width: int = 6
    height: int = WIDGET_HEIGHT

    def body(self, region: str) -> dict[str, Any]:
        return {
            "type": "metric",
            "properties": {
                "view": "timeSeries",
                "title": self.title,
                "region": region,
                "annotations": {"alarms": [self.alarm_arn]},
                "yAxis": {},
            },
        }


@dataclass(frozen=True)
class TextWidget:
    """Markdown text."""

    markdown: str
    width: int = 24
    height: int = 2

    def body(self, region: str) -> dict[str, Any]:
        return {"type": "text", "properties": {"markdown": self.markdown}}


Widget = GraphWidget | AlarmWidget | TextWidget


@dataclass
class WidgetRow:
    """Widgets placed left to right, wrapping at the grid's 24 columns (how the CDK's ``Row`` places what
    one ``Dashboard.add_widgets`` call gets): each widget starts a new line when it would overflow, below
    the tallest widget placed so far."""

    widgets: list[Widget] = field(default_factory=list)

    def placed(self) -> list[tuple[int, int, Widget]]:
        """``(x, y, widget)`` of each widget, relative to the row's top left corner."""
        placed, x, y, height = [], 0, 0, 0
        for widget in self.widgets:
            if widget.width > GRID_WIDTH:
                raise ValueError(f"a widget is {widget.width} columns wide: at most {GRID_WIDTH}")
            if x + widget.width > GRID_WIDTH:
                x, y = 0, height
            placed.append((x, y, widget))
            height = max(height, y + widget.height)
            x += widget.width
        return placed

    @property
    def height(self) -> int:
        return max((y + w.height for _, y, w in self.placed()), default=0)

    def body(self, region: str, x0: int = 0, y0: int = 0) -> list[dict[str, Any]]:
        """The dashboard body's ``widgets`` for this row, its top left corner at ``(x0, y0)``."""
        rendered = []
        for x, y, widget in self.placed():
            body = widget.body(region)
            rendered.append(
                {
                    "type": body["type"],
                    "width": widget.width,
                    "height": widget.height,
                    "x": x0 + x,
                    "y": y0 + y,
                    "properties": body["properties"],
                }
            )
        return rendered


def _dimensions(dimensions: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    return [{"Name": name, "Value": value} for name, value in dimensions]


def _graph_metrics(left: Sequence[MetricSpec], right: Sequence[MetricSpec]) -> list[list[Any]]:
    """A graph's ``metrics`` array: each distinct metric once, on the axis it was first given."""
    seen: set[MetricSpec] = set()
    entries = []
    for axis, metrics in (("left", left), ("right", right)):
        for metric in metrics:
            if metric not in seen:
                seen.add(metric)
                entries.append(metric.graph_entry(axis))
    return entries


__all__ = [
    "GRID_WIDTH",
    "AlarmSpec",
    "AlarmWidget",
    "GraphWidget",
    "MathSpec",
    "Metric",
    "MetricSpec",
    "TextWidget",
    "Widget",
    "WidgetRow",
]
