"""The testing kit (cdk_batchkit.testing) against the reference stack, through its pytest plugin.

``batchkit_stack`` is overridden here (module scope: one synth); ``batchkit_world`` builds it in moto
for each test.
"""

from __future__ import annotations

import json
import subprocess
import sys

import aws_cdk as cdk
import pytest

from cdk_batchkit import jobkit
from cdk_batchkit.stacks import BatchReferenceStack
from cdk_batchkit.testing import (
    SUPPORTED_TYPES,
    Resolver,
    StackTemplate,
    UnresolvableError,
    World,
    build_world,
)

KEYS = [f"incoming/batch 1/part-{index:03}.csv" for index in range(30)]


@pytest.fixture(scope="module")
def batchkit_stack(tmp_path_factory: pytest.TempPathFactory) -> cdk.Stack:
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("reference")))
    return BatchReferenceStack(app, "Reference", dashboard=False)


def test_the_submitter_runs_with_its_synthesized_environment(batchkit_world: World) -> None:
    function = batchkit_world.function("Submitter")
    # Every variable comes from the synthesized function, tokens resolved to the moto resources.
    assert function.environment["SUBMIT_MODE"] == "ARRAY"
    assert function.environment["JOB_QUEUE"] == batchkit_world.job_queue("FargateQueue").arn
    assert function.environment["JOB_DEFINITION"] == batchkit_world.job_definition("ArrayJob").arn
    assert function.environment["IDEMPOTENCY_TABLE"] == batchkit_world.table("Submitter").name
    assert function.handler_name == "submitter.handler.handler" and function.asset is not None


def test_objects_become_one_array_job_with_their_manifest(batchkit_world: World) -> None:
    upload = batchkit_world.upload("Submitter", [*KEYS, "elsewhere/not-mine.csv"])
    assert [i.error for i in upload.delivery.invocations] == [None]
    (job,) = upload.jobs
    assert job.array_size == len(KEYS)
    assert sorted(job.keys) == sorted(KEYS)  # exactly the objects under incoming/, each once
    assert job.description["jobQueue"] == batchkit_world.job_queue("FargateQueue").arn
    assert job.description["jobDefinition"] == batchkit_world.job_definition("ArrayJob").arn
    assert job.parameters["count"] == str(len(KEYS))
    assert job.parameters["manifest"] == job.environment["BATCHKIT_MANIFEST"]
    metrics = {m.name: m.value for m in upload.delivery.invocations[0].metrics}
    assert metrics["ObjectsAccepted"] == len(KEYS) and metrics["JobsSubmitted"] == 1
    # The submitter's queue is empty: every message was acknowledged.
    assert batchkit_world.queue("Submitter/Queue").count() == 0
    # A second delivery of the same events submits nothing (the idempotency table remembers them).
    again = batchkit_world.deliver()
    assert again.invocations == []


def test_job_code_reads_its_own_object_per_array_child(batchkit_world: World) -> None:
    (job,) = batchkit_world.upload("Submitter", KEYS[:5]).jobs

    def job_code() -> str:
        entry = jobkit.my_object()
        body = batchkit_world.client("s3").get_object(Bucket=entry.bucket, Key=entry.key)["Body"].read()
        return f"{entry.key}={body.decode().strip()}"

    runs = batchkit_world.run_job(job, job_code, raise_errors=True)
    assert [run.index for run in runs] == [0, 1, 2, 3, 4]
    assert [r.result for r in job.run(job_code)] == [r.result for r in runs]  # the same, from the job
    with pytest.deprecated_call():
        assert [r.result for r in job.run_locally(job_code)] == [r.result for r in runs]
    assert [run.environment["AWS_BATCH_JOB_ARRAY_INDEX"] for run in runs] == ["0", "1", "2", "3", "4"]
    assert [run.result for run in runs] == [f"{entry.key}=object {entry.key}" for entry in job.manifest or []]


def test_keys_with_line_separators_are_in_the_manifest_once_each(batchkit_world: World) -> None:
    """JSON leaves U+2028, U+2029 and U+0085 unescaped: the manifest is read as job code reads it, so a key
    holding one is one line (str.splitlines would cut it in two)."""
    keys = ["incoming/a\u2028b.csv", "incoming/c\x85d.csv", "incoming/e\u2029f.csv", "incoming/plain.csv"]
    (job,) = batchkit_world.upload("Submitter", keys).jobs
    assert sorted(job.keys) == sorted(keys)
    assert job.manifest is not None and len(job.manifest) == len(keys) == job.array_size

    def job_code() -> str:
        return jobkit.my_object().key

    assert sorted(run.result for run in job.run(job_code, raise_errors=True)) == sorted(keys)


def test_queues_and_topics_name_their_messages_alike(batchkit_world: World) -> None:
    queue = batchkit_world.queue("Submitter/DeadLetterQueue")
    batchkit_world.internal_client("sqs").send_message(QueueUrl=queue.url, MessageBody='{"a": 1}')
    with pytest.deprecated_call():
        assert queue.bodies() == [{"a": 1}]
    batchkit_world.internal_client("sqs").send_message(QueueUrl=queue.url, MessageBody="plain")
    assert (
        queue.messages() == ["plain"]
        and queue.name in queue.url
        and queue.name == queue.attributes["QueueName"]
    )
    assert batchkit_world.topic("Notifications").name in batchkit_world.topic("Notifications").arn


def test_a_workflow_started_by_an_upload_runs_both_steps(batchkit_world: World) -> None:
    batchkit_world.upload("Submitter", {"workflow/scene 1.json": b"{}"})
    (run,) = batchkit_world.state_machine("Workflow").wait()
    assert run.succeeded, run.execution
    assert list(run.jobs_by_name) == ["transform", "load"]
    transform = run.jobs_by_name["transform"][0]
    env = {e["name"]: e["value"] for e in transform["container"]["environment"]}
    assert env["BATCHKIT_KEY"] == "workflow/scene 1.json" and env["STEP"] == "transform"


def test_a_chosen_job_fails_and_the_failure_is_notified(batchkit_world: World) -> None:
    run = batchkit_world.state_machine("Workflow").run(
        {"bucket": "b", "key": "k", "size": "1", "version": "", "etag": "", "sequencer": ""},
        fail_jobs=["load"],
    )
    assert run.status == "FAILED" and run.cause["step"] == "load"
    assert [j["status"] for j in run.jobs] == ["SUCCEEDED", "FAILED"]
    topic = batchkit_world.topic("Notifications")
    (workflow_failure,) = topic.messages()
    assert workflow_failure["error"] == "StepFailed"
    # Batch's own state-change events, which moto does not publish, reach the failure rule and
    # the monitoring function.
    delivery = batchkit_world.emit_job_events(run.jobs)
    (job_failure,) = topic.messages()
    assert "is FAILED" in job_failure and run.jobs[1]["jobId"] in job_failure
    monitoring = [i for i in delivery.invocations if i.function.startswith("Monitoring/")]
    assert len(monitoring) == 2 and all(i.error is None for i in monitoring)


def test_resources_keep_the_synthesized_settings(batchkit_world: World) -> None:
    template = batchkit_world.stack.template["Resources"]
    definition = batchkit_world.job_definition("ArrayJob")
    described = definition.describe()
    container = template[definition.logical_id]["Properties"]["ContainerProperties"]
    assert described["containerProperties"]["image"] == container["Image"]
    assert described["parameters"] == {"manifest": "none", "count": "1"}
    assert described["retryStrategy"]["attempts"] == 3
    last_rule = described["retryStrategy"]["evaluateOnExit"][-1]
    # moto stores the action in lower case (AWS accepts either case).
    assert (last_rule["action"].upper(), last_rule["onStatusReason"]) == ("EXIT", "*")
    assert described["timeout"] == {"attemptDurationSeconds": 86400}
    assert {r["type"]: r["value"] for r in described["containerProperties"]["resourceRequirements"]} == {
        "MEMORY": "1024",
        "VCPU": "0.5",
    }
    assert described["platformCapabilities"] == ["FARGATE"] and definition.dropped == []
    queue = batchkit_world.queue("Submitter/Queue")
    attributes = batchkit_world.client("sqs").get_queue_attributes(QueueUrl=queue.url, AttributeNames=["All"])
    redrive = json.loads(attributes["Attributes"]["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == batchkit_world.queue("Submitter/DeadLetterQueue").arn
    assert int(redrive["maxReceiveCount"]) == 5
    rule = batchkit_world.rule("Submitter/ObjectCreated")
    moto_rule = batchkit_world.client("events").describe_rule(Name=rule.name)
    assert json.loads(moto_rule["EventPattern"])["detail"]["bucket"]["name"] == [
        batchkit_world.bucket("Submitter").name
    ]
    ttl = batchkit_world.client("dynamodb").describe_time_to_live(
        TableName=batchkit_world.table("Submitter").name
    )
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expiration"


def test_finders_name_the_candidates_when_a_name_is_ambiguous_or_unknown(batchkit_world: World) -> None:
    with pytest.raises(LookupError, match=r"several Queue.*Submitter/DeadLetterQueue.*Submitter/Queue"):
        batchkit_world.queue("Submitter")
    with pytest.raises(LookupError, match=r"no JobQueue named 'Nope'.*Ec2Queue.*FargateQueue"):
        batchkit_world.job_queue("Nope")
    queue = batchkit_world.job_queue("Reference/FargateQueue/Resource/Resource")
    assert batchkit_world.job_queue("FargateQueue") is queue
    assert batchkit_world.job_queue(queue.logical_id) is queue


def test_the_resolver_handles_sub_select_split_and_conditions() -> None:
    template = {
        "Parameters": {"Env": {"Type": "String", "Default": "prod"}},
        "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}},
        "Resources": {"Thing": {"Type": "AWS::X::Y"}},
    }
    resolver = Resolver(template, ref=lambda lid: f"ref-{lid}", get_att=lambda lid, att: f"{lid}.{att}")
    assert resolver.resolve({"Fn::Sub": "${AWS::Region}/${Thing}/${Thing.Arn}/${!Literal}"}) == (
        "us-east-1/ref-Thing/Thing.Arn/${Literal}"
    )
    assert resolver.resolve({"Fn::Sub": ["${A}-${Env}", {"A": {"Ref": "Thing"}}]}) == "ref-Thing-prod"
    assert resolver.resolve({"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]}) == "b"
    assert resolver.resolve({"Fn::If": ["IsProd", "big", "small"]}) == "big"
    assert resolver.resolve([{"Ref": "AWS::NoValue"}, "kept"]) == ["kept"]
    with pytest.raises(UnresolvableError, match="Fn::ImportValue"):
        resolver.resolve({"Fn::ImportValue": "Other"})


def test_a_handwritten_template_is_built_with_moto_gaps_absorbed(batchkit_aws: None) -> None:
    """A two-character compute environment name and no service role: moto would reject both."""
    template = {
        "Resources": {
            "Ce": {
                "Type": "AWS::Batch::ComputeEnvironment",
                "Properties": {
                    "ComputeEnvironmentName": "ce",
                    "Type": "managed",
                    "ComputeResources": {"Type": "FARGATE", "MaxvCpus": 2},
                },
            },
            "Q": {
                "Type": "AWS::Batch::JobQueue",
                "Properties": {
                    "Priority": 1,
                    "ComputeEnvironmentOrder": [{"Order": 1, "ComputeEnvironment": {"Ref": "Ce"}}],
                },
            },
        }
    }
    world = build_world(StackTemplate.from_template(template, "T"))
    assert world.job_queue("Q").arn.startswith("arn:aws:batch:")
    environment = world.compute_environment("Ce")
    assert environment.properties["Type"] == "managed"
    assert environment.properties["ComputeEnvironmentName"] == "ce" and environment.name.startswith("ce-")


def test_importing_the_library_never_imports_the_testing_kit_dependencies() -> None:
    code = (
        "import sys, cdk_batchkit, cdk_batchkit.jobkit, cdk_batchkit.lambdas.submitter.config; "
        "print(sorted(m for m in ('moto', 'pytest', 'cdk_batchkit.testing') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout.strip().replace("'", '"')) == []


def test_the_step_functions_shim_is_pinned_to_the_installed_moto() -> None:
    """The kit skips its shim (with a warning) on another moto; the project's pin must match it."""
    from cdk_batchkit.testing.sfn_shim import batch_integration_shim

    with batch_integration_shim(strict=True):
        pass


def test_the_testing_guide_lists_what_is_built_and_what_is_not(batchkit_world: World) -> None:
    from tests.testing.guide_lists import built_types, unnamed_skipped_types

    assert built_types() == set(SUPPORTED_TYPES)
    assert unnamed_skipped_types(batchkit_world) == []
