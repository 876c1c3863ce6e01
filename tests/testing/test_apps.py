"""The kit on the documented app split across stacks (docs/guide/composition.md): three stacks, their
exports and imports, one world.

The guide's example runs as written (its ``cdk.App`` writes to a temporary directory); the same app, with
a user's test file appended (tests/testing/split_app.py), runs through the wheel's pytest plugin outside the
repository in tests/test_packaging.py.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest

from cdk_batchkit.testing import StackTemplate, UnresolvableError, World, build_world, load_stacks
from tests.testing.split_app import COMPOSITION, split_app_source

STACKS = ["Platform", "Ingest", "Reports"]


@pytest.fixture(scope="module")
def split_app(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The guide example's namespace (``app``, ``platform``...), synthesized once."""
    outdir = tmp_path_factory.mktemp("split")
    real_app = cdk.App
    cdk.App = lambda *args, **kwargs: real_app(outdir=str(outdir))  # type: ignore[misc]
    try:
        namespace: dict[str, Any] = {"__name__": "split_app"}
        exec(compile(split_app_source(), str(COMPOSITION), "exec"), namespace)
    finally:
        cdk.App = real_app  # type: ignore[misc]
    return namespace


@pytest.fixture(scope="module")
def batchkit_stack(split_app: dict[str, Any]) -> cdk.App:
    return split_app["app"]


def test_every_stack_is_built_with_the_values_it_imports(batchkit_world: World) -> None:
    assert list(batchkit_world.stacks) == STACKS  # deployment order: the platform first
    queue = batchkit_world.job_queue("Platform/Queue")
    definition = batchkit_world.job_definition("Platform/Transform")
    # Fn::ImportValue of the platform's exports, in the team stacks.
    submitter = batchkit_world.function("Ingest/Submitter")
    assert submitter.environment["JOB_QUEUE"] == queue.arn
    assert submitter.environment["JOB_DEFINITION"] == definition.arn
    nightly = batchkit_world.state_machine("Reports/Nightly")
    assert queue.arn in str(nightly.definition) and definition.arn in str(nightly.definition)


def test_the_testing_guide_names_every_type_the_app_leaves_out(batchkit_world: World) -> None:
    from tests.testing.guide_lists import unnamed_skipped_types

    assert unnamed_skipped_types(batchkit_world) == []


def test_finders_take_paths_with_or_without_the_stack(batchkit_world: World) -> None:
    assert batchkit_world.job_queue("Queue") is batchkit_world.job_queue("Platform/Queue/Resource")
    assert batchkit_world.bucket("Submitter").stack == "Ingest"
    # Candidates are listed with their stack.
    with pytest.raises(
        LookupError, match=r"no Topic named 'Nope' in Platform, Ingest, Reports: .*'Reports/Alerts"
    ):
        batchkit_world.topic("Nope")
    with pytest.raises(LookupError, match="this world has 3 stacks"):
        batchkit_world.stack  # noqa: B018


def test_an_upload_in_one_stack_submits_to_the_queue_of_another(batchkit_world: World) -> None:
    upload = batchkit_world.upload("Ingest/Submitter", ["incoming/x.csv"])
    (job,) = upload.jobs
    assert job.description["jobQueue"] == batchkit_world.job_queue("Platform/Queue").arn
    (sent,) = batchkit_world.requests("batch", "SubmitJob")
    assert sent.parameters["jobQueue"] == job.description["jobQueue"] and not sent.refused
    assert [r.operation for r in batchkit_world.requests("s3")] == ["PutObject"]  # the manifest


def test_a_workflow_step_is_recorded_and_checked_like_a_handler(batchkit_world: World) -> None:
    run = batchkit_world.state_machine("Reports/Nightly").run({})
    assert run.succeeded, run.cause
    (sent,) = batchkit_world.requests("batch", "SubmitJob")  # sent by Step Functions
    assert sent.parameters["jobName"] == "report" and sent.parameters["jobQueue"] == run.jobs[0]["jobQueue"]


def test_building_one_stack_brings_the_stacks_it_imports_from(
    split_app: dict[str, Any], batchkit_aws: None
) -> None:
    ingest = next(
        s for s in split_app["app"].node.children if isinstance(s, cdk.Stack) and s.stack_name == "Ingest"
    )
    world = build_world(ingest)
    assert list(world.stacks) == ["Platform", "Ingest"]
    assert world.function("Submitter").environment["JOB_QUEUE"] == world.job_queue("Queue").arn
    assert [s.name for s in load_stacks(split_app["app"], "Reports")] == ["Platform", "Reports"]


def test_a_stack_built_without_its_exporter_names_the_import(
    split_app: dict[str, Any], batchkit_aws: None
) -> None:
    (ingest,) = [s for s in load_stacks(split_app["app"]) if s.name == "Ingest"]
    alone = StackTemplate.from_template(ingest.template, "Ingest")
    with pytest.raises(
        UnresolvableError, match=r"Fn::ImportValue 'Platform:ExportsOutput.*no stack of this world"
    ):
        build_world(alone)
