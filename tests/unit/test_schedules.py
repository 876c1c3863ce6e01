"""EventBridge Scheduler expressions checked at synth (cdk_batchkit.model.schedules, no CDK)."""

from __future__ import annotations

import pytest

from cdk_batchkit.model.schedules import check_schedule_expression, schedule_problem

VALID = [
    # Examples of https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html
    "cron(0 10 * * ? *)",
    "cron(15 12 * * ? *)",
    "cron(0 18 ? * MON-FRI *)",
    "cron(0 8 1 * ? *)",
    "cron(0/15 * * * ? *)",
    "cron(0/10 * ? * MON-FRI *)",
    "cron(0/5 8-17 ? * MON-FRI *)",
    "cron(0 9 ? * 2#1 *)",
    "cron(15 10 ? * 6L 2019-2022)",
    "cron(0 0 L * ? *)",
    "cron(0 8 3W * ? *)",
    "cron(0 0 1 JAN,JUL ? 2030)",
    "cron(*/5 * * * ? *)",
    "rate(1 minute)",
    "rate(5 minutes)",
    "rate(1 hour)",
    "rate(12 hours)",
    "rate(1 day)",
    "rate(7 days)",
    "at(2027-01-01T06:00:00)",
    "at(2028-02-29T23:59:59)",
]


@pytest.mark.parametrize("expression", VALID)
def test_accepts_what_aws_documents(expression: str) -> None:
    assert schedule_problem(expression) is None
    check_schedule_expression(expression)


@pytest.mark.parametrize(
    ("expression", "match"),
    [
        ("cron(61 2 * * ? *)", r"minutes field '61' is invalid \(allowed: 0-59"),
        ("cron(0 24 * * ? *)", r"hours field '24'"),
        ("cron(0 2 32 * ? *)", r"day-of-month field '32'"),
        ("cron(0 2 * 13 ? *)", r"month field '13'"),
        ("cron(0 2 ? * 8 *)", r"day-of-week field '8'"),
        ("cron(0 2 ? * 2/2 *)", r"day-of-week field '2/2'"),  # '/' is not a day-of-week wildcard
        ("cron(0 2 * * ? 1969)", r"year field '1969'"),
        ("cron(0 2 * * ? 2200)", r"year field '2200'"),
        ("cron(0 2 ? * 2#6 *)", r"day-of-week field '2#6'"),
        ("cron(0 2 * * * *)", r"exactly one of day-of-month \('\*'\) and day-of-week \('\*'\) must be '\?'"),
        ("cron(0 2 1 * MON *)", r"exactly one of day-of-month \('1'\) and day-of-week \('MON'\)"),
        ("cron(0 2 ? * ? *)", r"exactly one of"),
        ("cron(every night)", r"6 fields .* got 2"),
        ("cron(0 0 2 * * ? *)", r"6 fields .* got 7"),
        (
            "cron(0 2 * * *)",
            r"looks like a 5-field Unix cron; EventBridge Scheduler needs 6 fields.*cron\(0 2 \* \* \? \*\)",
        ),
        ("cron(30 4 * * 1)", r"looks like a 5-field Unix cron.*day-of-week runs 1-7 from SUN"),
        ("rate(0 minutes)", r"value '0' must be a positive whole number"),
        ("rate(1.5 hours)", r"value '1.5' must be a positive whole number"),
        ("rate(-1 day)", r"value '-1'"),
        ("rate(1 hours)", r"write rate\(1 hour\): the unit is singular for 1 and plural otherwise"),
        ("rate(5 minute)", r"write rate\(5 minutes\)"),
        ("rate(2 weeks)", r"unit 'weeks' must be minute\(s\), hour\(s\) or day\(s\)"),
        ("rate(5)", r"rate\(value unit\)"),
        ("at(2027-02-30T06:00:00)", r"at\(yyyy-mm-ddThh:mm:ss\) with a real date"),
        ("at(2027-01-01 06:00)", r"at\(yyyy-mm-ddThh:mm:ss\)"),
        ("every night", r"must be cron\(...\), rate\(...\) or at\(...\)"),
        ("0 2 * * ? *", r"must be cron"),
    ],
)
def test_rejects_invalid_expressions(expression: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        check_schedule_expression(expression)


def test_the_model_imports_no_cdk() -> None:
    import subprocess
    import sys

    code = (
        "import sys, cdk_batchkit.model.schedules; "
        "sys.exit(any(m == 'aws_cdk' or m.startswith('aws_cdk.') for m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
