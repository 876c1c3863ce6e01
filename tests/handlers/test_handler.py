"""The Lambda entry point: Powertools decorators, EMF metrics on stdout, and a light import."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from types import ModuleType

import pytest

from tests.handlers.support import FakeContext, World, eventbridge_body, load_event, sqs_event

_SERVICES = iter(range(1_000_000))


@pytest.fixture
def handler_module(
    capsys: pytest.CaptureFixture[str], world: World, monkeypatch: pytest.MonkeyPatch
) -> ModuleType:
    # A fresh service name per test: Powertools Logger binds stdout once per logger name.
    service = f"submitter-{next(_SERVICES)}"
    for name, value in world.env(SUBMIT_MODE="ARRAY", POWERTOOLS_SERVICE_NAME=service).items():
        monkeypatch.setenv(name, value)
    from cdk_batchkit.lambdas.submitter import handler

    handler = importlib.reload(handler)  # Logger/Metrics read the environment when created
    handler.use(None)
    yield handler
    handler.use(None)


def emf_documents(out: str) -> list[dict]:
    docs = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [doc for doc in docs if "_aws" in doc]


def test_handler_emits_the_seven_metrics_as_emf(
    world: World, handler_module: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    handler_module.use(
        world.submitter(SUBMIT_MODE="ARRAY", metrics=handler_module.metrics, logger=handler_module.logger)
    )
    body = eventbridge_body("a.csv")
    event = sqs_event(
        body,
        body,
        eventbridge_body("b.csv"),
        "not json",
        json.dumps(load_event("s3/test-event.json")),
        ids=["a", "a-again", "b", "bad", "test"],
    )
    capsys.readouterr()
    response = handler_module.handler(event, FakeContext())
    assert response == {"batchItemFailures": [{"itemIdentifier": "bad"}]}

    (emf,) = emf_documents(capsys.readouterr().out)
    (directive,) = emf["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "BatchKitTest"
    assert directive["Dimensions"] == [["service"]]
    assert emf["service"] == handler_module.logger.service
    assert {metric["Name"] for metric in directive["Metrics"]} == {
        "ObjectsAccepted",
        "JobsSubmitted",
        "JobsRecovered",
        "DuplicatesSkipped",
        "RecordsFailed",
        "RecordsDeferred",
        "RecordsSkipped",
    }
    assert all(metric["Unit"] == "Count" for metric in directive["Metrics"])
    values = {name: emf[name] for name in ("ObjectsAccepted", "JobsSubmitted", "DuplicatesSkipped")}
    assert values == {"ObjectsAccepted": [2.0], "JobsSubmitted": [1.0], "DuplicatesSkipped": [1.0]}
    assert (emf["RecordsFailed"], emf["RecordsSkipped"]) == ([1.0], [1.0])
    assert (emf["JobsRecovered"], emf["RecordsDeferred"]) == ([0.0], [0.0])


def test_handler_builds_its_submitter_from_the_environment(world: World, handler_module: ModuleType) -> None:
    # No injection: boto3 clients are created lazily (moto serves them), config from os.environ.
    response = handler_module.handler(
        sqs_event(eventbridge_body("x.csv"), eventbridge_body("y.csv")), FakeContext()
    )
    assert response == {"batchItemFailures": []}
    (job,) = world.jobs()
    assert job["arrayProperties"]["size"] == 2
    assert handler_module.submitter().config.mode == "ARRAY"


def test_a_configuration_error_names_the_variable(
    handler_module: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUBMIT_MODE", "FOO")
    with pytest.raises(ValueError, match="SUBMIT_MODE='FOO' is invalid: use PER_OBJECT or ARRAY"):
        handler_module.handler(sqs_event(eventbridge_body("x.csv")), FakeContext())


def test_handler_imports_no_cdk_and_only_allowed_packages() -> None:
    code = (
        "import sys; import cdk_batchkit.lambdas.submitter.handler as h; "
        "print(sorted({m.split('.')[0] for m in sys.modules}))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    top_level = set(json.loads(out.replace("'", '"')))
    assert "aws_cdk" not in top_level and "constructs" not in top_level and "jsii" not in top_level
    assert "aws_lambda_powertools" in top_level
