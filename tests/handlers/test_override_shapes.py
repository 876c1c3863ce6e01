"""The submitter's SubmitJob request for every definition shape, and consumable overrides, against moto."""

from __future__ import annotations

import os

import pytest
from botocore.validate import ParamValidator

from cdk_batchkit.lambdas.submitter import config as settings
from cdk_batchkit.lambdas.submitter.core import plan_object
from cdk_batchkit.lambdas.submitter.manifest import ENV_KEY, ManifestEntry
from cdk_batchkit.testing import run_job_locally
from tests.handlers.support import World, eventbridge_body, sqs_event

ENTRY = ManifestEntry(bucket="b", key="in/a.csv", size=3, version_id="v1")
LICENCES = "arn:aws:batch:us-east-1:123456789012:consumable-resource/licences"
BASE_ENV = {settings.JOB_QUEUE: "q", settings.JOB_DEFINITION: "d", settings.IDEMPOTENCY_TABLE: "t"}


def _kwargs(shape: str, container: str = "") -> dict:
    return plan_object(ENTRY).submit_job_kwargs(
        "queue",
        "definition",
        override_shape=shape,
        override_container=container,
        consumable_resources={LICENCES: 2},
    )


def test_each_shape_carries_the_object_in_its_own_field_and_botocore_accepts_it(world: World) -> None:
    container = _kwargs("containerOverrides")
    assert container["containerOverrides"]["environment"][1] == {"name": ENV_KEY, "value": "in/a.csv"}
    task = _kwargs("ecsPropertiesOverride", "app")["ecsPropertiesOverride"]
    assert task["taskProperties"][0]["containers"][0]["name"] == "app"
    eks = _kwargs("eksPropertiesOverride")["eksPropertiesOverride"]["podProperties"]["containers"][0]
    assert "name" not in eks and {"name": ENV_KEY, "value": "in/a.csv"} in eks["env"]
    node = _kwargs("nodeOverrides")["nodeOverrides"]["nodePropertyOverrides"][0]
    assert node["targetNodes"] == "0:" and "environment" in node["containerOverrides"]
    for shape, name in [
        ("containerOverrides", ""),
        ("ecsPropertiesOverride", "app"),
        ("eksPropertiesOverride", ""),
        ("nodeOverrides", ""),
    ]:
        kwargs = _kwargs(shape, name)
        assert [k for k in kwargs if k.endswith(("Overrides", "Override"))] == [
            shape,
            "consumableResourcePropertiesOverride",
        ]
        assert kwargs["consumableResourcePropertiesOverride"] == {
            "consumableResourceList": [{"consumableResource": LICENCES, "quantity": 2}]
        }
        # Every field is valid for the SubmitJob model (what botocore checks before sending). The world's
        # single-container definition takes only one of these shapes (the testing kit refuses the others,
        # as Batch does), so the request is validated, not sent.
        kwargs.update(jobQueue=world.queue_arn, jobDefinition=world.definition_arn)
        shape_model = world.batch.meta.service_model.operation_model("SubmitJob").input_shape
        report = ParamValidator().validate(kwargs, shape_model)
        assert not report.has_errors(), report.generate_report()


def test_an_eks_job_gets_the_objects_variables_in_its_pod(world: World) -> None:
    arn = world.batch.register_job_definition(
        jobDefinitionName="pod",
        type="container",
        eksProperties={"podProperties": {"containers": [{"name": "main", "image": "busybox"}]}},
    )["jobDefinitionArn"]
    submitter = world.submitter(
        JOB_DEFINITION=arn, OVERRIDE_SHAPE="eksPropertiesOverride", OVERRIDE_CONTAINER="main"
    )
    assert submitter.handle(sqs_event(eventbridge_body("in/pod.csv"))) == {"batchItemFailures": []}
    (job,) = world.jobs()
    (container,) = job["eksProperties"]["podProperties"]["containers"]
    assert {"name": ENV_KEY, "value": "in/pod.csv"} in container["env"]
    # The testing kit runs job code with the pod's variables.
    (run,) = run_job_locally(job, lambda: os.environ[ENV_KEY])
    assert run.result == "in/pod.csv"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({settings.OVERRIDE_SHAPE: "podOverrides"}, "OVERRIDE_SHAPE='podOverrides' is invalid"),
        ({settings.OVERRIDE_SHAPE: "ecsPropertiesOverride"}, "OVERRIDE_CONTAINER is not set"),
        ({settings.CONSUMABLE_RESOURCES: '{"arn": 0}'}, "CONSUMABLE_RESOURCES=.* is invalid"),
        ({settings.CONSUMABLE_RESOURCES: "licences"}, "CONSUMABLE_RESOURCES=.* is invalid"),
    ],
)
def test_rejects_bad_override_configuration(env: dict[str, str], message: str) -> None:
    with pytest.raises(settings.ConfigError, match=message):
        settings.load({**BASE_ENV, **env}, check_powertools=False)


def test_consumables_are_read_from_the_environment() -> None:
    config = settings.load(
        {**BASE_ENV, settings.CONSUMABLE_RESOURCES: f'{{"{LICENCES}": 3}}'}, check_powertools=False
    )
    assert config.consumable_resources == {LICENCES: 3} and config.override_shape == "containerOverrides"
