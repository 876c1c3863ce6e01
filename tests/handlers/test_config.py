"""Configuration: every variable read in one place, errors that name the variable."""

from __future__ import annotations

import pytest

from cdk_batchkit.lambdas.submitter import config as settings


def env(**overrides: str) -> dict[str, str]:
    base = {
        "JOB_QUEUE": "arn:aws:batch:us-east-1:123456789012:job-queue/q",
        "JOB_DEFINITION": "arn:aws:batch:us-east-1:123456789012:job-definition/d:1",
        "SUBMIT_MODE": "ARRAY",
        "MANIFEST_BUCKET": "manifests",
        "MANIFEST_PREFIX": "batchkit/manifests/",
        "IDEMPOTENCY_TABLE": "table",
        "IDEMPOTENCY_TTL_SECONDS": "7200",
        "SKIP_EMPTY_OBJECTS": "false",
        "MAX_SUBMITS_PER_SECOND": "12.5",
        "JOB_NAME_PREFIX": "ingest-",
        "POWERTOOLS_SERVICE_NAME": "submitter",
        "POWERTOOLS_METRICS_NAMESPACE": "BatchKit",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
    base.update(overrides)
    return {name: value for name, value in base.items() if value != "<unset>"}


def test_environment_variables_lists_every_name_the_loader_reads() -> None:
    class Recording(dict):
        def __init__(self, data: dict[str, str]) -> None:
            super().__init__(data)
            self.read: set[str] = set()

        def get(self, name, default=None):  # type: ignore[override]
            self.read.add(name)
            return super().get(name, default)

    recording = Recording(env())
    settings.load(recording)
    # Powertools reads POWERTOOLS_LOG_LEVEL itself; everything else the loader reads must be listed
    # (the fair-share variables as optional: the construct sets them only for a fair-share queue).
    listed = set(settings.ENVIRONMENT_VARIABLES) | set(settings.OPTIONAL_VARIABLES)
    assert recording.read | {"POWERTOOLS_LOG_LEVEL"} == listed
    assert set(settings.ARRAY_ONLY_VARIABLES) <= set(settings.ENVIRONMENT_VARIABLES)


def test_loads_every_value() -> None:
    config = settings.load(env())
    assert config == settings.Config(
        job_queue="arn:aws:batch:us-east-1:123456789012:job-queue/q",
        job_definition="arn:aws:batch:us-east-1:123456789012:job-definition/d:1",
        mode="ARRAY",
        idempotency_table="table",
        idempotency_ttl_seconds=7200,
        manifest_bucket="manifests",
        manifest_prefix="batchkit/manifests/",
        skip_empty_objects=False,
        max_submits_per_second=12.5,
        job_name_prefix="ingest-",
    )


def test_defaults() -> None:
    config = settings.load(
        env(
            SUBMIT_MODE="<unset>",
            IDEMPOTENCY_TTL_SECONDS="",
            SKIP_EMPTY_OBJECTS="<unset>",
            MAX_SUBMITS_PER_SECOND="<unset>",
            JOB_NAME_PREFIX="",
        )
    )
    assert config.mode == "PER_OBJECT" and config.manifest_bucket == ""
    assert config.skip_empty_objects is True
    assert config.idempotency_ttl_seconds == settings.DEFAULT_TTL_SECONDS
    assert config.max_submits_per_second == 50.0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"SUBMIT_MODE": "FOO"}, "SUBMIT_MODE='FOO' is invalid: use PER_OBJECT or ARRAY"),
        ({"JOB_QUEUE": "<unset>"}, "JOB_QUEUE is not set"),
        ({"JOB_DEFINITION": " "}, "JOB_DEFINITION is not set"),
        ({"IDEMPOTENCY_TABLE": ""}, "IDEMPOTENCY_TABLE is not set"),
        ({"MANIFEST_BUCKET": ""}, "MANIFEST_BUCKET is not set: it is required when SUBMIT_MODE=ARRAY"),
        ({"MANIFEST_PREFIX": "<unset>"}, "MANIFEST_PREFIX is not set"),
        ({"MANIFEST_PREFIX": "no-slash"}, "MANIFEST_PREFIX='no-slash' is invalid"),
        ({"MANIFEST_PREFIX": "/abs/"}, "MANIFEST_PREFIX='/abs/' is invalid"),
        ({"IDEMPOTENCY_TTL_SECONDS": "1h"}, "IDEMPOTENCY_TTL_SECONDS='1h' is invalid"),
        ({"IDEMPOTENCY_TTL_SECONDS": "5"}, "IDEMPOTENCY_TTL_SECONDS=5 is invalid"),
        ({"SKIP_EMPTY_OBJECTS": "maybe"}, "SKIP_EMPTY_OBJECTS='maybe' is invalid: use true or false"),
        ({"MAX_SUBMITS_PER_SECOND": "0"}, "MAX_SUBMITS_PER_SECOND='0' is invalid"),
        ({"MAX_SUBMITS_PER_SECOND": "fast"}, "MAX_SUBMITS_PER_SECOND='fast' is invalid"),
        ({"MAX_SUBMITS_PER_SECOND": "inf"}, "MAX_SUBMITS_PER_SECOND='inf' is invalid"),
        ({"JOB_NAME_PREFIX": "-bad"}, "JOB_NAME_PREFIX='-bad' is invalid"),
        ({"JOB_NAME_PREFIX": "has space"}, "JOB_NAME_PREFIX='has space' is invalid"),
        ({"JOB_NAME_PREFIX": "x" * 65}, "JOB_NAME_PREFIX="),
        ({"POWERTOOLS_METRICS_NAMESPACE": ""}, "POWERTOOLS_METRICS_NAMESPACE is not set"),
    ],
)
def test_rejects_bad_values_naming_the_variable(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(settings.ConfigError) as raised:
        settings.load(env(**overrides))
    assert message in str(raised.value)


def test_per_object_mode_does_not_need_the_manifest_variables() -> None:
    config = settings.load(
        env(SUBMIT_MODE="PER_OBJECT", MANIFEST_BUCKET="<unset>", MANIFEST_PREFIX="<unset>")
    )
    assert config.mode == "PER_OBJECT" and not config.is_array
