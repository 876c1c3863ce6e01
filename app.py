#!/usr/bin/env python3
"""The reference app. Configure it through cdk.json context (or `-c key=value`).

Synth needs no AWS credentials: the stack is environment-agnostic unless
CDK_DEFAULT_ACCOUNT/REGION are set (as `cdk deploy` does with credentials).
"""

from __future__ import annotations

import os

import aws_cdk as cdk
from aws_cdk import aws_logs as logs
from cdk_nag import AwsSolutionsChecks

from cdk_batchkit.constructs import NetworkMode
from cdk_batchkit.stacks import BatchReferenceStack

_RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    731: logs.RetentionDays.TWO_YEARS,
}


def _retention(value: object) -> logs.RetentionDays:
    days = int(str(value))
    if days not in _RETENTION:
        raise ValueError(
            f"context batchkit:logRetentionDays={value!r} is invalid: use one of {sorted(_RETENTION)}"
        )
    return _RETENTION[days]


def _bool(value: object) -> bool:
    return value is True or str(value).lower() in ("true", "1", "yes")


def build_app(app: cdk.App | None = None) -> cdk.App:
    """Build the reference app (tests call this too)."""
    app = app or cdk.App()
    ctx = app.node.try_get_context
    # cdk-nag 3.x: a policy-validation plugin that fails synth on any unacknowledged finding;
    # acknowledgements are written into the template metadata for auditors.
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True))
    account, region = os.environ.get("CDK_DEFAULT_ACCOUNT"), os.environ.get("CDK_DEFAULT_REGION")
    env = cdk.Environment(account=account, region=region) if account and region else None
    BatchReferenceStack(
        app,
        ctx("batchkit:stackName") or "BatchkitReference",
        env=env,
        network_mode=NetworkMode(ctx("batchkit:networkMode") or "public"),
        gpu_queue=_bool(ctx("batchkit:gpuQueue")),
        ec2_maxv_cpus=int(ctx("batchkit:ec2MaxVcpus") or 256),
        fargate_maxv_cpus=int(ctx("batchkit:fargateMaxVcpus") or 64),
        log_retention=_retention(ctx("batchkit:logRetentionDays") or 30),
        alarm_email=ctx("batchkit:alarmEmail") or None,
        dashboard=_bool(ctx("batchkit:dashboard") if ctx("batchkit:dashboard") is not None else True),
        description="cdk-batchkit reference: Spot-first Batch queues, S3 submitter, workflow, monitoring",
    )
    return app


if __name__ == "__main__":
    build_app().synth()
