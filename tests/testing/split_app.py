"""A user's test of the documented app split across stacks (docs/guide/composition.md, "Apps split across
stacks"): the guide's code as written, then a test file's fixtures and tests. It runs in the repository
(tests/testing/test_apps.py) and outside it against the installed wheel (tests/test_packaging.py)."""

from __future__ import annotations

from tests.doc_blocks import DOCS, file_source

#: The page that holds the app (its ``app.py``).
COMPOSITION = DOCS / "guide" / "composition.md"

#: What a user appends to the guide's app to test it with the kit's pytest plugin.
USER_TEST = """

# -- the user's tests: the whole app (three stacks, their exports and imports) built in moto -------------
import pytest


@pytest.fixture(scope="module")
def batchkit_stack():
    return app  # every stack of the app


def test_an_upload_to_the_ingest_stack_runs_on_the_platforms_queue(batchkit_world):
    upload = batchkit_world.upload("Ingest/Submitter", ["incoming/a.csv", "incoming/b.csv"])
    (job,) = upload.jobs
    assert sorted(job.keys) == ["incoming/a.csv", "incoming/b.csv"]
    assert job.description["jobQueue"] == batchkit_world.job_queue("Platform/Queue").arn
    # What the submitter sent, as sent.
    (sent,) = batchkit_world.requests("batch", "SubmitJob")
    assert sent.parameters["jobDefinition"] == batchkit_world.job_definition("Platform/Transform").arn
    assert sent.parameters["arrayProperties"] == {"size": 2}


def test_the_reports_workflow_submits_to_the_shared_queue(batchkit_world):
    run = batchkit_world.state_machine("Reports/Nightly").run({})
    assert run.succeeded, run.cause
    (job,) = run.jobs
    assert job["jobQueue"] == batchkit_world.job_queue("Platform/Queue").arn


def test_batch_refuses_a_share_identifier_on_a_queue_without_fair_share(batchkit_world):
    batch = batchkit_world.client("batch")
    with pytest.raises(batch.exceptions.ClientException, match="no fair-share scheduling policy"):
        batch.submit_job(
            jobName="adhoc",
            jobQueue=batchkit_world.job_queue("Platform/Queue").arn,
            jobDefinition=batchkit_world.job_definition("Platform/Transform").arn,
            shareIdentifier="teamA",
        )
    (refused,) = batchkit_world.requests("batch", "SubmitJob")
    assert refused.refused
"""

#: How many tests :data:`USER_TEST` holds.
USER_TESTS = USER_TEST.count("\ndef test_")


def split_app_source() -> str:
    """The guide's multi-stack app, as written."""
    return file_source(COMPOSITION, "app.py")


def user_test_source() -> str:
    """A complete user test file: the guide's app, then :data:`USER_TEST`."""
    return split_app_source() + USER_TEST
