"""Fair share in the submitter: the share identifier and priority reach SubmitJob (on a fair-share queue:
the testing kit refuses them elsewhere, as Batch does)."""

from __future__ import annotations

from typing import Any

import pytest

from cdk_batchkit.lambdas.submitter import config as settings
from tests.handlers.support import World, eventbridge_body, sqs_event


def _record_submissions(world: World) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    world.batch.meta.events.register(
        "provide-client-params.batch.SubmitJob", lambda params, **_: sent.append(dict(params))
    )
    return sent


@pytest.mark.parametrize("mode", ["PER_OBJECT", "ARRAY"])
def test_share_identifier_and_priority_are_submitted(world: World, mode: str) -> None:
    sent = _record_submissions(world)
    queue = world.kit.job_queue("FairShareQueue")
    submitter = world.submitter(
        SUBMIT_MODE=mode, JOB_QUEUE=queue.arn, SHARE_IDENTIFIER="teamA", SCHEDULING_PRIORITY_OVERRIDE="7"
    )
    response = submitter.handle(sqs_event(eventbridge_body("in/a.csv"), eventbridge_body("in/b.csv")))
    assert response == {"batchItemFailures": []}
    assert sent and all(p["shareIdentifier"] == "teamA" for p in sent)
    assert all(p["schedulingPriorityOverride"] == 7 for p in sent)
    assert len(queue.jobs()) == len(sent)  # every request accepted


def test_no_share_identifier_without_fair_share(world: World) -> None:
    sent = _record_submissions(world)
    world.submitter().handle(sqs_event(eventbridge_body("in/a.csv")))
    assert sent and all("shareIdentifier" not in p and "schedulingPriorityOverride" not in p for p in sent)


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        (settings.SHARE_IDENTIFIER, "x" * 256, "at most 255"),
        (settings.SCHEDULING_PRIORITY_OVERRIDE, "10000", "0 to 9999"),
        (settings.SCHEDULING_PRIORITY_OVERRIDE, "high", "0 to 9999"),
    ],
)
def test_rejects_bad_fair_share_configuration(world: World, name: str, value: str, match: str) -> None:
    with pytest.raises(settings.ConfigError, match=f"{name}=.*{match}"):
        settings.load(world.env(**{name: value}))
