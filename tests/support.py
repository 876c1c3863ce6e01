"""Helpers for construct tests (the environment is prepared in conftest.py)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk.assertions import Template

from cdk_batchkit.constructs import (
    BatchNetwork,
    Container,
    ContainerJobDefinition,
    FargateComputeEnvironment,
    JobQueue,
    Platform,
)

#: A small public image for job definitions under test.
SAMPLE_IMAGE = "public.ecr.aws/amazonlinux/amazonlinux:2023"


def new_stack(name: str = "Test") -> cdk.Stack:
    """A stack in a fresh app (no synth yet: cheap)."""
    return cdk.Stack(cdk.App(), name)


def network(stack: cdk.Stack, **kwargs: object) -> BatchNetwork:
    return BatchNetwork(stack, "Network", **kwargs)  # type: ignore[arg-type]


def fargate_queue_and_job(stack: cdk.Stack) -> tuple[JobQueue, ContainerJobDefinition]:
    """A one-environment Fargate queue ("Queue") and a quarter-vCPU Fargate job ("Job") that fits it."""
    from aws_cdk import aws_ecs as ecs

    queue = JobQueue(
        stack, "Queue", compute_environments=[FargateComputeEnvironment(stack, "Env", network=network(stack))]
    )
    job = ContainerJobDefinition(
        stack,
        "Job",
        container=Container(
            image=ecs.ContainerImage.from_registry(SAMPLE_IMAGE), vcpus=0.25, memory=cdk.Size.mebibytes(512)
        ),
        platform=Platform.FARGATE,
    )
    return queue, job


def template_of(stack: cdk.Stack) -> Template:
    return Template.from_stack(stack)


def only(template: Template, type_name: str) -> dict:
    """The properties of the single resource of ``type_name``."""
    found = template.find_resources(type_name)
    assert len(found) == 1, f"expected one {type_name}, found {len(found)}"
    return next(iter(found.values()))["Properties"]


def synth_checked(build, outdir, name: str = "Checked") -> dict:
    """Synthesize ``build(stack)`` under the cdk-nag plugin, as the reference app does.

    Synth raises on any unacknowledged finding; this also fails on any cfn-lint error.
    Returns the template as a dict (its file is ``outdir/<name>.template.json``).
    """
    import json
    from pathlib import Path

    from cdk_nag import AwsSolutionsChecks

    from cdk_batchkit import plan

    app = cdk.App(outdir=str(outdir))
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True))
    stack = cdk.Stack(app, name)
    build(stack)
    app.synth()
    path = Path(outdir) / f"{name}.template.json"
    errors = [f for f in plan.lint([path]) if f.severity == "error"]
    assert errors == [], "\n".join(f"{f.rule_id} {f.location}: {f.message}" for f in errors)
    return json.loads(path.read_text())
