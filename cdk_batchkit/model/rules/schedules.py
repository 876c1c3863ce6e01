"""EventBridge Scheduler rules: schedule expressions (BK-E3 form, BK-E4 cron, BK-E5 rate and one-time,
grammar in :mod:`cdk_batchkit.model.schedules`) and the flexible time window (BK-E9)."""

from __future__ import annotations

from collections.abc import Iterator

from ..schedules import FORM_PROBLEM, SCHEDULE_TYPES_DOC, cron_problem, rate_or_at_problem, schedule_form
from ..values import is_unresolved
from ._registry import Problem, rule

_CRON = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html"
_RATE = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rate-expressions.html"
#: FlexibleTimeWindow ``MaximumWindowInMinutes``: 1-1,440.
MAX_FLEXIBLE_WINDOW_MINUTES = 1440


def _known(expression: str) -> bool:
    return isinstance(expression, str) and not is_unresolved(expression)


@rule(
    "BK-E3",
    "A schedule expression is cron(...), rate(...) or at(...) (JobSchedule, WorkflowSchedule; tokens are "
    "left "
    "to deploy time).",
    f"{SCHEDULE_TYPES_DOC}",
)
def schedule_expression_form(expression: str) -> Iterator[Problem]:
    if _known(expression) and schedule_form(expression) is None:
        yield Problem("schedule", expression, f"{FORM_PROBLEM} ({SCHEDULE_TYPES_DOC})")


@rule(
    "BK-E4",
    "A cron expression has 6 fields (a 5-field Unix cron is named as such), exactly one of day-of-month and "
    "day-of-week is ?, and each field takes the values and wildcards the EventBridge cron reference lists.",
    f"{SCHEDULE_TYPES_DOC}#cron-based and {_CRON}",
)
def schedule_cron(expression: str) -> Iterator[Problem]:
    form = schedule_form(expression) if _known(expression) else None
    if form is not None and form[0] == "cron":
        problem = cron_problem(form[1])
        if problem is not None:
            yield Problem("schedule", expression, f"{problem} ({SCHEDULE_TYPES_DOC})")


@rule(
    "BK-E5",
    "A rate expression is a positive whole value and minute(s), hour(s) or day(s), singular for 1 and plural "
    "otherwise; a one-time schedule is at(yyyy-mm-ddThh:mm:ss), a real date and time.",
    f"{SCHEDULE_TYPES_DOC}#rate-based and {_RATE}",
)
def schedule_rate_or_at(expression: str) -> Iterator[Problem]:
    form = schedule_form(expression) if _known(expression) else None
    if form is not None and form[0] in ("rate", "at"):
        problem = rate_or_at_problem(*form)
        if problem is not None:
            yield Problem("schedule", expression, f"{problem} ({SCHEDULE_TYPES_DOC})")


@rule(
    "BK-E9",
    "A schedule's flexible time window is 1-1,440 whole minutes (Scheduler takes MaximumWindowInMinutes).",
    "https://docs.aws.amazon.com/scheduler/latest/APIReference/API_FlexibleTimeWindow.html",
)
def flexible_window(seconds: float | None) -> Iterator[Problem]:
    if seconds is None or is_unresolved(seconds):
        return
    minutes = seconds / 60
    if minutes != int(minutes) or not 1 <= minutes <= MAX_FLEXIBLE_WINDOW_MINUTES:
        yield Problem(
            "flexible_window",
            f"{seconds:g} s",
            f"must be 1 to {MAX_FLEXIBLE_WINDOW_MINUTES} whole minutes (Scheduler's MaximumWindowInMinutes)",
        )


def check_schedule(expression: str) -> list[Problem]:
    """BK-E3, BK-E4 and BK-E5 on one expression."""
    return [
        *schedule_expression_form(expression),
        *schedule_cron(expression),
        *schedule_rate_or_at(expression),
    ]


__all__ = [
    "MAX_FLEXIBLE_WINDOW_MINUTES",
    "check_schedule",
    "flexible_window",
    "schedule_cron",
    "schedule_expression_form",
    "schedule_rate_or_at",
]
