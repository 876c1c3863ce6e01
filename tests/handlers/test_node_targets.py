"""The submitter sends a multi-node job's variables to each of the definition's own node ranges
(``OVERRIDE_TARGET_NODES``, set by ``S3JobSubmitter`` from the definition): Batch refuses node overrides whose
``targetNodes`` match none of them ("NodeOverride targets should match job definition")."""

from __future__ import annotations

from typing import Any

import pytest

from cdk_batchkit.lambdas.submitter import config as settings
from cdk_batchkit.lambdas.submitter.core import plan_object
from cdk_batchkit.lambdas.submitter.manifest import ENV_KEY, ManifestEntry
from cdk_batchkit.lambdas.submitter.overrides import ALL_NODES, overrides_for
from cdk_batchkit.model import JobSpec, Submission
from tests.handlers.support import World, eventbridge_body, sqs_event

NODES = {
    "numNodes": 3,
    "mainNode": 0,
    "nodeRangeProperties": [
        {"targetNodes": "0:0", "container": {"image": "busybox", "vcpus": 1, "memory": 512}},
        {"targetNodes": "1:", "container": {"image": "busybox", "vcpus": 1, "memory": 512}},
    ],
}


def test_variables_go_once_to_each_configured_range() -> None:
    env = [{"name": ENV_KEY, "value": "in/a.csv"}]
    listed = overrides_for("nodeOverrides", environment=env, target_nodes=("0:0", "1:"))["nodeOverrides"]
    assert [o["targetNodes"] for o in listed["nodePropertyOverrides"]] == ["0:0", "1:"]
    assert all(o["containerOverrides"]["environment"] == env for o in listed["nodePropertyOverrides"])
    # Without configured ranges (an older deployment): every node, as before.
    (only,) = overrides_for("nodeOverrides", environment=env)["nodeOverrides"]["nodePropertyOverrides"]
    assert only["targetNodes"] == ALL_NODES
    kwargs = plan_object(ManifestEntry("b", "k", 1)).submit_job_kwargs(
        "q", "d", override_shape="nodeOverrides", override_target_nodes=("0:0", "1:")
    )
    assert len(kwargs["nodeOverrides"]["nodePropertyOverrides"]) == 2


@pytest.mark.parametrize(
    ("text", "expected"), [("", ()), ("0:0,1:", ("0:0", "1:")), ("0:1, 2:", ("0:1", "2:")), (":3", (":3",))]
)
def test_reads_the_ranges_from_the_environment(text: str, expected: tuple[str, ...]) -> None:
    env = {settings.JOB_QUEUE: "q", settings.JOB_DEFINITION: "d", settings.IDEMPOTENCY_TABLE: "t"}
    loaded = settings.load({**env, settings.OVERRIDE_TARGET_NODES: text}, check_powertools=False)
    assert loaded.override_target_nodes == expected


def test_rejects_a_malformed_range() -> None:
    env = {settings.JOB_QUEUE: "q", settings.JOB_DEFINITION: "d", settings.IDEMPOTENCY_TABLE: "t"}
    with pytest.raises(settings.ConfigError, match=r"OVERRIDE_TARGET_NODES='0:0;1:' is invalid"):
        settings.load({**env, settings.OVERRIDE_TARGET_NODES: "0:0;1:"}, check_powertools=False)


def test_the_submitter_sends_requests_the_definition_accepts(world: World) -> None:
    arn = world.batch.register_job_definition(
        jobDefinitionName="mpi", type="multinode", nodeProperties=NODES
    )["jobDefinitionArn"]
    sent: list[dict[str, Any]] = []
    world.batch.meta.events.register(
        "provide-client-params.batch.SubmitJob", lambda params, **_: sent.append(params)
    )
    submitter = world.submitter(
        JOB_DEFINITION=arn, OVERRIDE_SHAPE="nodeOverrides", OVERRIDE_TARGET_NODES="0:0,1:"
    )
    assert submitter.handle(sqs_event(eventbridge_body("in/mpi.csv"))) == {"batchItemFailures": []}
    (request,) = sent
    targets = [o["targetNodes"] for o in request["nodeOverrides"]["nodePropertyOverrides"]]
    assert targets == ["0:0", "1:"]
    # The request passes the rule Batch enforces on node-override targets (BK-O3); "0:" would not.
    job = JobSpec.from_api({"type": "multinode", "nodeProperties": NODES}, label="mpi")
    assert Submission.from_request(request, queue=None, job=job).check() == []
    wrong = {**request, "nodeOverrides": {"nodePropertyOverrides": [{"targetNodes": "0:"}]}}
    assert [p.rule for p in Submission.from_request(wrong, queue=None, job=job).check()] == ["BK-O3"]
