"""EventBridge Scheduler schedule expressions, checked at synth (no CDK import).

Scheduler accepts three forms (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html):

* ``cron(minutes hours day-of-month month day-of-week year)``: six fields, ``?`` in exactly one of the two
  day fields; the field grammar (ranges, names, ``, - * / ? L W #``) is checked by
  ``aws-cron-expression-validator``, which implements the table of the EventBridge cron reference
  (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html);
* ``rate(value unit)``: a positive whole value and ``minute(s)``, ``hour(s)`` or ``day(s)``, singular
  for 1 and plural otherwise (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rate-expressions.html);
* ``at(yyyy-mm-ddThh:mm:ss)``: one time, a real date and time.

:func:`schedule_problem` says what is wrong with an expression (None when it is valid);
:func:`check_schedule_expression` raises it as a ``ValueError``.
"""

from __future__ import annotations

import re
from datetime import datetime

from aws_cron_expression_validator.validator import (
    AWSCronExpressionDayOfMonthError,
    AWSCronExpressionDayOfWeekError,
    AWSCronExpressionError,
    AWSCronExpressionHourError,
    AWSCronExpressionMinuteError,
    AWSCronExpressionMonthError,
    AWSCronExpressionValidator,
    AWSCronExpressionYearError,
)

SCHEDULE_TYPES_DOC = "https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html"

_FORM = re.compile(r"^(?P<kind>cron|rate|at)\((?P<body>.*)\)$", re.DOTALL)
#: The six cron fields in order, with the values the EventBridge cron reference allows.
CRON_FIELDS: tuple[tuple[str, str], ...] = (
    ("minutes", "0-59 and , - * /"),
    ("hours", "0-23 and , - * /"),
    ("day-of-month", "1-31 and , - * ? / L W"),
    ("month", "1-12 or JAN-DEC and , - * /"),
    ("day-of-week", "1-7 or SUN-SAT and , - * ? L #"),
    ("year", "1970-2199 and , - * /"),
)
_FIELD_ERRORS: dict[type[AWSCronExpressionError], int] = {
    AWSCronExpressionMinuteError: 0,
    AWSCronExpressionHourError: 1,
    AWSCronExpressionDayOfMonthError: 2,
    AWSCronExpressionMonthError: 3,
    AWSCronExpressionDayOfWeekError: 4,
    AWSCronExpressionYearError: 5,
}
RATE_UNITS = ("minute", "hour", "day")


def _cron_problem(body: str) -> str | None:
    fields = body.split()
    if len(fields) == 5:
        hint = _unix_to_aws(fields)
        return (
            "looks like a 5-field Unix cron; EventBridge Scheduler needs 6 fields "
            "(minutes hours day-of-month month day-of-week year) with '?' in one of the two day fields"
            + (f", e.g. cron({' '.join(hint)})" if hint else "; its day-of-week runs 1-7 from SUN")
        )
    if len(fields) != 6:
        return (
            f"a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), "
            f"got {len(fields)}"
        )
    day_of_month, day_of_week = fields[2], fields[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        return (
            f"exactly one of day-of-month ({day_of_month!r}) and day-of-week ({day_of_week!r}) must be '?' "
            "(cron(0 2 * * ? *) runs every day, cron(0 2 ? * MON *) every Monday)"
        )
    try:
        AWSCronExpressionValidator.validate(" ".join(fields))
    except AWSCronExpressionError as error:
        index = _FIELD_ERRORS.get(type(error))
        if index is None:
            return str(error)
        name, allowed = CRON_FIELDS[index]
        return f"{name} field {fields[index]!r} is invalid (allowed: {allowed})"
    return None


def _unix_to_aws(fields: list[str]) -> list[str] | None:
    """A Unix ``m h dom mon dow`` as Scheduler's six fields; None when day-of-week is numeric (Unix counts
    0-6 from Sunday, Scheduler 1-7 from SUN: renumbering is left to the user)."""
    minute, hour, dom, month, dow = fields
    if dow in ("*", "?"):
        return [minute, hour, dom, month, "?", "*"]
    if any(c.isdigit() for c in dow):
        return None
    return [minute, hour, "?", month, dow, "*"]


def _rate_problem(body: str) -> str | None:
    match = re.fullmatch(r"\s*(\S+)\s+(\S+)\s*", body)
    if not match:
        return "a rate expression is rate(value unit), e.g. rate(5 minutes)"
    value, unit = match.groups()
    if not value.isdigit() or int(value) < 1:
        return f"the value {value!r} must be a positive whole number"
    number = int(value)
    singular = unit[:-1] if unit.endswith("s") else unit
    if singular not in RATE_UNITS:
        return f"the unit {unit!r} must be minute(s), hour(s) or day(s)"
    expected = singular if number == 1 else singular + "s"
    if unit != expected:
        return f"write rate({number} {expected}): the unit is singular for 1 and plural otherwise"
    return None


def _at_problem(body: str) -> str | None:
    try:
        datetime.strptime(body, "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return f"a one-time schedule is at(yyyy-mm-ddThh:mm:ss) with a real date and time, got at({body})"
    return None


#: The form an expression has to take (BK-E3).
FORM_PROBLEM = "must be cron(...), rate(...) or at(...)"


def schedule_form(expression: str) -> tuple[str, str] | None:
    """``(kind, body)`` of ``cron(body)``, ``rate(body)`` or ``at(body)``; None for any other form."""
    match = _FORM.match(expression.strip())
    return None if match is None else (match.group("kind"), match.group("body"))


def cron_problem(body: str) -> str | None:
    """What is wrong with the fields of ``cron(body)`` (BK-E4), or None."""
    return _cron_problem(body)


def rate_or_at_problem(kind: str, body: str) -> str | None:
    """What is wrong with ``rate(body)`` or ``at(body)`` (BK-E5), or None."""
    return _rate_problem(body) if kind == "rate" else _at_problem(body)


def schedule_problem(expression: str) -> str | None:
    """What is wrong with an EventBridge Scheduler ``expression``, or None when it is valid."""
    form = schedule_form(expression)
    if form is None:
        return FORM_PROBLEM
    kind, body = form
    if kind == "cron":
        return _cron_problem(body)
    return rate_or_at_problem(kind, body)


def check_schedule_expression(expression: str) -> None:
    """Raise ``ValueError`` saying what is wrong with ``expression`` (see :func:`schedule_problem`)."""
    problem = schedule_problem(expression)
    if problem is not None:
        raise ValueError(f"{problem} (see {SCHEDULE_TYPES_DOC})")
