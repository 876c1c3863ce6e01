"""The S3 submitter and the no-code S3 rule: wiring, defaults, least privilege and validation."""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import aws_cdk as cdk
import botocore.session
import pytest
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template
from botocore.validate import ParamValidator
from moto import mock_aws

from cdk_batchkit.constructs import (
    BatchNetwork,
    Container,
    ContainerJobDefinition,
    FargateComputeEnvironment,
    JobQueue,
    MultiNodeJobDefinition,
    Platform,
)
from cdk_batchkit.constructs._events import object_key_filter
from cdk_batchkit.constructs._lambda import POWERTOOLS_VERSION, powertools_layer_parameter
from cdk_batchkit.constructs.submitter import S3JobRule, S3JobSubmitter, SubmitMode
from tests.eventbridge import routed
from tests.support import new_stack, synth_checked

IMAGE = ecs.ContainerImage.from_registry("public.ecr.aws/amazonlinux/amazonlinux:2023")


def _queue_and_job(stack: cdk.Stack) -> tuple[JobQueue, ContainerJobDefinition]:
    net = BatchNetwork(stack, "Network")
    queue = JobQueue(
        stack, "Queue", compute_environments=[FargateComputeEnvironment(stack, "Fargate", network=net)]
    )
    job = ContainerJobDefinition(
        stack,
        "Job",
        container=Container(image=IMAGE, vcpus=0.5, memory=cdk.Size.gibibytes(1)),
        platform=Platform.FARGATE,
    )
    return queue, job


def _build(stack: cdk.Stack) -> None:
    queue, job = _queue_and_job(stack)
    array = S3JobSubmitter(stack, "Array", job_queue=queue, job_definition=job)
    array.grant_read(job.job_role)
    S3JobSubmitter(
        stack,
        "PerObject",
        job_queue=queue,
        job_definition=job,
        mode=SubmitMode.PER_OBJECT,
        bucket=array.bucket,
        prefix="in/",
        suffix=".csv",
    )
    S3JobRule(stack, "Direct", job_queue=queue, job_definition=job, bucket=array.bucket, prefix="direct/")


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("submitter")


@pytest.fixture(scope="module")
def template(out: Path) -> dict:
    # Synth raises on any unacknowledged cdk-nag finding and asserts zero cfn-lint errors.
    return synth_checked(_build, out, "Submitters")


def _of_type(template: dict, type_name: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_name}


def _one(template: dict, type_name: str, path_part: str) -> dict:
    found = [v for k, v in _of_type(template, type_name).items() if k.startswith(path_part)]
    assert len(found) == 1, f"expected one {type_name} under {path_part}, found {len(found)}"
    return found[0]


def _policy_statements(template: dict, role_prefix: str) -> list[dict]:
    policy = _one(template, "AWS::IAM::Policy", f"{role_prefix}FunctionRoleDefaultPolicy")
    return policy["Properties"]["PolicyDocument"]["Statement"]


def _actions(statements: list[dict]) -> set[str]:
    found: set[str] = set()
    for statement in statements:
        actions = statement["Action"]
        found.update([actions] if isinstance(actions, str) else actions)
    return found


def test_bucket_sends_events_to_eventbridge_without_a_custom_resource(template):
    bucket = _one(template, "AWS::S3::Bucket", "ArrayBucket")["Properties"]
    assert bucket["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    assert not _of_type(template, "Custom::S3BucketNotifications")
    # The only functions are the two submitters: no notification or log-retention handler.
    assert len(_of_type(template, "AWS::Lambda::Function")) == 2
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert {"ExpirationInDays": 30, "Prefix": "batchkit/manifests/", "Status": "Enabled"} in bucket[
        "LifecycleConfiguration"
    ]["Rules"]


def test_queue_is_encrypted_with_a_dead_letter_queue_and_six_times_the_timeout(template):
    queue = _one(template, "AWS::SQS::Queue", "ArrayQueue")["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
    # 6 x 120 s function timeout + the 30 s batching window.
    assert queue["VisibilityTimeout"] == 750
    assert queue["MessageRetentionPeriod"] == 14 * 86400
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 5
    assert queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0].startswith("ArrayDeadLetterQueue")
    policy = _one(template, "AWS::SQS::QueuePolicy", "ArrayQueuePolicy")["Properties"]["PolicyDocument"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy["Statement"]
    )


def test_rule_delivers_to_the_queue_with_retries_and_the_dead_letter_queue(template):
    rule = _one(template, "AWS::Events::Rule", "ArrayObjectCreated")["Properties"]
    (target,) = rule["Targets"]
    assert target["Arn"]["Fn::GetAtt"][0].startswith("ArrayQueue")
    assert target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0].startswith("ArrayDeadLetterQueue")
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}


def test_event_source_reports_partial_failures_and_caps_concurrency(template):
    mapping = _one(template, "AWS::Lambda::EventSourceMapping", "ArrayFunctionSqsEventSource")["Properties"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == 1000
    assert mapping["MaximumBatchingWindowInSeconds"] == 30
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 2}
    per_object = _one(template, "AWS::Lambda::EventSourceMapping", "PerObjectFunctionSqsEventSource")
    assert per_object["Properties"]["BatchSize"] == 10


def test_function_is_python_313_arm64_with_the_pinned_powertools_layer(template):
    function = _one(template, "AWS::Lambda::Function", "ArrayFunction")["Properties"]
    assert function["Runtime"] == "python3.13"
    assert function["Architectures"] == ["arm64"]
    assert function["Handler"] == "submitter.handler.handler"
    # Two concurrent environments at 5 submits/s each: never above the submitter's 10/s.
    assert function["ReservedConcurrentExecutions"] == 2
    assert function["Environment"]["Variables"]["MAX_SUBMITS_PER_SECOND"] == "5"
    (layer,) = function["Layers"]
    parameter = template["Parameters"][layer["Ref"]]
    assert parameter["Type"] == "AWS::SSM::Parameter::Value<String>"
    assert parameter["Default"] == powertools_layer_parameter()


def test_powertools_layer_is_the_release_the_handler_tests_run_against():
    assert version("aws-lambda-powertools") == POWERTOOLS_VERSION
    assert powertools_layer_parameter().endswith(f"/arm64/python3.13/{POWERTOOLS_VERSION}")


def test_asset_holds_only_the_submitter_code(template, out):
    function = _one(template, "AWS::Lambda::Function", "ArrayFunction")
    asset = out / f"asset.{function['Properties']['Code']['S3Key'].removesuffix('.zip')}"
    files = sorted(str(p.relative_to(asset)) for p in asset.rglob("*") if p.is_file())
    assert "submitter/handler.py" in files and "submitter/manifest.py" in files
    assert all(f.startswith("submitter/") or f == "__init__.py" for f in files), files
    # The sources, and their bytecode when Python 3.13 was at hand at synth (constructs/_lambda.py).
    assert sum((asset / f).stat().st_size for f in files) < 300_000


def test_array_submitter_may_only_submit_write_manifests_and_use_its_table(template):
    statements = _policy_statements(template, "Array")
    assert _actions(statements) == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "sqs:ReceiveMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueUrl",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "batch:SubmitJob",
        "batch:ListJobs",
        "s3:PutObject",
        "s3:GetObject",
        "s3:GetObjectVersion",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
    }
    (put,) = [s for s in statements if s["Action"] == "s3:PutObject"]
    assert put["Resource"]["Fn::Join"][1][-1] == "/batchkit/manifests/*"
    (submit,) = [s for s in statements if s["Action"] == "batch:SubmitJob"]
    definition = json.dumps(submit["Resource"][1])
    assert ":job-definition/" in definition and definition.endswith('":*"]]}')
    (table,) = [s for s in statements if "dynamodb:PutItem" in s["Action"]]
    assert table["Resource"]["Fn::GetAtt"][0].startswith("ArrayIdempotency")
    (lookup,) = [s for s in statements if s["Action"] == "batch:ListJobs"]
    assert lookup["Resource"] == "*"  # ListJobs has no resource-level permissions


def test_per_object_submitter_cannot_write_to_the_bucket(template):
    actions = _actions(_policy_statements(template, "PerObject"))
    assert "s3:PutObject" not in actions and "batch:TagResource" not in actions
    assert "batch:SubmitJob" in actions


def test_submitter_may_check_objects_under_its_prefix_only(template):
    # HeadObject (s3:GetObject / s3:GetObjectVersion) resolves keys that read differently decoded and raw.
    statements = _policy_statements(template, "PerObject")
    (head,) = [s for s in statements if s["Action"] == ["s3:GetObject", "s3:GetObjectVersion"]]
    assert head["Resource"]["Fn::Join"][1][-1] == "/in/*"


def test_idempotency_table_is_on_demand_with_ttl(template):
    table = _one(template, "AWS::DynamoDB::Table", "ArrayIdempotency")["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}


def test_function_environment_names_its_queue_definition_and_table(template):
    env = _one(template, "AWS::Lambda::Function", "ArrayFunction")["Properties"]["Environment"]["Variables"]
    assert env["SUBMIT_MODE"] == "ARRAY"
    assert env["JOB_QUEUE"]["Fn::GetAtt"][1] == "JobQueueArn"
    assert env["JOB_DEFINITION"]["Ref"].startswith("Job")
    assert env["IDEMPOTENCY_TABLE"]["Ref"].startswith("ArrayIdempotency")
    assert env["MANIFEST_BUCKET"]["Ref"].startswith("ArrayBucket")
    assert env["IDEMPOTENCY_TTL_SECONDS"] == str(14 * 86400)
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "CdkBatchkit/Submitter"
    assert env["POWERTOOLS_SERVICE_NAME"] == "Submitters-Array"


def _s3_event(bucket: str, key: str) -> dict:
    return {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {"version": "0", "bucket": {"name": bucket}, "object": {"key": key, "size": 5}},
    }


def _pattern(template: dict, rule_prefix: str) -> dict:
    pattern = _one(template, "AWS::Events::Rule", rule_prefix)["Properties"]["EventPattern"]
    # The bucket name is a Ref at synth time: give it the name the sample events use.
    pattern["detail"]["bucket"]["name"] = ["input-bucket"]
    return pattern


@pytest.mark.parametrize(
    ("rule", "key", "bucket", "expected"),
    [
        ("ArrayObjectCreated", "data/a.csv", "input-bucket", True),
        ("ArrayObjectCreated", "batchkit/manifests/x.jsonl", "input-bucket", False),
        ("ArrayObjectCreated", "data/a.csv", "other-bucket", False),
        ("PerObjectObjectCreated", "in/day 1/a.csv", "input-bucket", True),
        ("PerObjectObjectCreated", "in/a.txt", "input-bucket", False),
        ("PerObjectObjectCreated", "out/a.csv", "input-bucket", False),
        ("DirectObjectCreated", "direct/x", "input-bucket", True),
        ("DirectObjectCreated", "indirect/x", "input-bucket", False),
    ],
)
def test_rule_patterns_route_only_matching_objects(template, rule, key, bucket, expected):
    with mock_aws():
        assert routed(_pattern(template, rule), [_s3_event(bucket, key)]) == [expected]


def test_key_filter_builds_a_wildcard_per_key_form_for_prefix_and_suffix():
    # Raw (and Java-style form encoding, which keeps '*') first, then Python's form encoding ('*' as %2A).
    assert object_key_filter("a*b/", ".csv") == [{"wildcard": "a\\*b/*.csv"}, {"wildcard": "a%2Ab/*.csv"}]
    assert object_key_filter("in/", ".csv") == [{"wildcard": "in/*.csv"}]
    assert object_key_filter(None, None) is None


def test_direct_rule_passes_the_object_as_string_parameters_and_environment(template):
    rule = _one(template, "AWS::Events::Rule", "DirectObjectCreated")["Properties"]
    (target,) = rule["Targets"]
    assert target["BatchParameters"]["JobName"] == "s3-object"
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
    assert target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0].startswith("DirectDeadLetterQueue")
    transformer = target["InputTransformer"]
    assert transformer["InputPathsMap"]["key"] == "$.detail.object.key"
    rendered = transformer["InputTemplate"]
    for name in transformer["InputPathsMap"]:
        rendered = rendered.replace(f"<{name}>", f"{name}-value")
    body = json.loads(rendered)
    assert body["Parameters"] == {
        "bucket": "bucket-value",
        "key": "key-value",
        "size": "size-value",
        "version": "version-value",
    }
    env = {e["Name"]: e["Value"] for e in body["ContainerOverrides"]["Environment"]}
    assert env["BATCHKIT_KEY"] == "key-value" and env["BATCHKIT_KEY_ENCODING"] == "url"
    # What EventBridge sends to SubmitJob (BatchParameters and the input) passes botocore's SubmitJob model.
    request = {
        "jobName": target["BatchParameters"]["JobName"],
        "jobQueue": "q",
        "jobDefinition": "d",
        "parameters": body["Parameters"],
        "containerOverrides": {
            "environment": [
                {"name": e["Name"], "value": e["Value"]} for e in body["ContainerOverrides"]["Environment"]
            ]
        },
    }
    model = botocore.session.get_session().get_service_model("batch").operation_model("SubmitJob")
    report = ParamValidator().validate(request, model.input_shape)
    assert not report.has_errors(), report.generate_report()
    role = _one(template, "AWS::IAM::Policy", "JobEventsRoleDefaultPolicy")["Properties"]["PolicyDocument"]
    assert _actions(role["Statement"]) == {"batch:SubmitJob"}


def test_imported_bucket_gets_a_warning_to_turn_on_eventbridge():
    stack = new_stack()
    queue, job = _queue_and_job(stack)
    S3JobSubmitter(
        stack,
        "Sub",
        job_queue=queue,
        job_definition=job,
        bucket=s3.Bucket.from_bucket_name(stack, "B", "their-bucket"),
    )
    Annotations.from_stack(stack).has_warning(
        "/Test/Sub", Match.string_like_regexp("EventBridge notifications")
    )


def test_bucket_with_l2_notifications_keeps_them_and_adds_eventbridge():
    stack = new_stack()
    queue, job = _queue_and_job(stack)
    bucket = s3.Bucket(stack, "B")
    bucket.add_object_created_notification(
        cdk.aws_s3_notifications.SqsDestination(cdk.aws_sqs.Queue(stack, "Other"))
    )
    S3JobSubmitter(stack, "Sub", job_queue=queue, job_definition=job, bucket=bucket)
    template = cdk.assertions.Template.from_stack(stack).to_json()
    (custom,) = [r for r in template["Resources"].values() if r["Type"] == "Custom::S3BucketNotifications"]
    assert custom["Properties"]["NotificationConfiguration"]["EventBridgeConfiguration"] == {}
    (cfn_bucket,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::S3::Bucket"]
    assert "NotificationConfiguration" not in cfn_bucket.get("Properties", {})


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"batch_size": 0}, "batch_size=0 is invalid"),
        ({"batch_size": 10_001}, "batch_size=10001 is invalid"),
        ({"batch_size": 50, "max_batching_window": cdk.Duration.seconds(0)}, "at least 1 second"),
        ({"max_receive_count": 0}, "max_receive_count=0 is invalid"),
        ({"max_submit_rate": 0}, "max_submit_rate=0 is invalid"),
        ({"max_submit_rate": 51}, "at most 50"),
        ({"max_concurrency": 1}, "max_concurrency=1 is invalid"),
        ({"function_timeout": cdk.Duration.minutes(16)}, "function_timeout"),
        ({"manifest_prefix": "manifests"}, "must end with '/'"),
        (
            {"manifest_prefix": "/manifests/"},
            "manifest_prefix='/manifests/' is invalid: must not start with '/'",
        ),
        ({"prefix": "/incoming/"}, "prefix='/incoming/' is invalid: must not start with '/'.*'incoming/'"),
        # Encoded, the manifest key "a b/..." is "a+b/...", which the raw filter "a+" matches.
        ({"prefix": "a+", "manifest_prefix": "a b/"}, "manifests written there would match prefix='a\\+'"),
        ({"prefix": ""}, "prefix='' is invalid"),
        ({"suffix": "x" * 1025}, "suffix=.* is invalid"),
        ({"prefix": "batch"}, "would match prefix='batch'"),
        ({"suffix": ".jsonl"}, "would match prefix=None suffix='.jsonl'"),
        ({"job_name_prefix": "-bad"}, "job_name_prefix='-bad' is invalid"),
        ({"job_name_prefix": "a" * 41}, "job_name_prefix=.* is invalid"),
    ],
)
def test_rejects_bad_props(props, message):
    stack = new_stack()
    queue, job = _queue_and_job(stack)
    with pytest.raises(ValueError, match=message):
        S3JobSubmitter(stack, "Sub", job_queue=queue, job_definition=job, **props)


def test_accepts_a_manifest_prefix_outside_the_filter():
    stack = new_stack()
    queue, job = _queue_and_job(stack)
    sub = S3JobSubmitter(stack, "Sub", job_queue=queue, job_definition=job, prefix="incoming/")
    assert sub.manifest_prefix == "batchkit/manifests/"


def test_rule_rejects_a_definition_without_container_overrides():
    stack = new_stack()
    queue, _ = _queue_and_job(stack)
    mnp = MultiNodeJobDefinition(
        stack,
        "Mnp",
        container=Container(image=IMAGE, vcpus=2),
        nodes=2,
    )
    with pytest.raises(ValueError, match="job_definition=.*can send only containerOverrides"):
        S3JobRule(stack, "Rule", job_queue=queue, job_definition=mnp, bucket=s3.Bucket(stack, "B"))


def test_rule_rejects_a_bad_job_name():
    stack = new_stack()
    queue, job = _queue_and_job(stack)
    with pytest.raises(ValueError, match="job_name='s3 object' is invalid"):
        S3JobRule(
            stack,
            "Rule",
            job_queue=queue,
            job_definition=job,
            bucket=s3.Bucket(stack, "B"),
            job_name="s3 object",
        )


def test_grant_read_gives_job_code_its_objects_and_manifests_only(template):
    policy = _one(template, "AWS::IAM::Policy", "JobJobRoleDefaultPolicy")["Properties"]["PolicyDocument"]
    (statement,) = policy["Statement"]
    assert set(statement["Action"]) == {"s3:GetObject", "s3:GetObjectVersion"}
    suffixes = sorted(r["Fn::Join"][1][-1] for r in statement["Resource"])
    assert suffixes == ["/*", "/batchkit/manifests/*"]


def test_grant_write_to_a_role_in_another_stack_makes_no_cycle_and_is_acknowledged():
    from aws_cdk import aws_kms as kms
    from cdk_nag import AwsSolutionsChecks

    from cdk_batchkit.constructs import acknowledge

    app = cdk.App()
    # Synth fails on any finding cdk-nag reports that is not acknowledged (the IAM5 one on results/* too).
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    platform, team = cdk.Stack(app, "Platform"), cdk.Stack(app, "Team")
    queue, job = _queue_and_job(platform)
    key = kms.Key(team, "Key", enable_key_rotation=True)
    bucket = s3.Bucket(team, "Uploads", encryption_key=key, enforce_ssl=True)
    acknowledge(bucket, "S1", "A test bucket: no server access logs.")
    submitter = S3JobSubmitter(
        team, "Submitter", job_queue=queue, job_definition=job, bucket=bucket, prefix="incoming/"
    )
    submitter.grant_write(job.job_role, "results/")
    assembly = app.synth()  # a reference from Platform back to Team would be a cycle: synth raises
    assert "Fn::ImportValue" not in json.dumps(assembly.get_stack_by_name("Platform").template)
    policies = assembly.get_stack_by_name("Team").template["Resources"]
    (written,) = [
        r["Properties"]
        for k, r in policies.items()
        if r["Type"] == "AWS::IAM::Policy" and k.startswith("SubmitterWriteGrant1")
    ]
    assert "Fn::ImportValue" in json.dumps(written["Roles"])
    by_action = {json.dumps(s["Action"]): s["Resource"] for s in written["PolicyDocument"]["Statement"]}
    objects = by_action[json.dumps(["s3:PutObject", "s3:AbortMultipartUpload"])]
    assert objects["Fn::Join"][1][-1] == "/results/*"
    assert json.dumps(["kms:GenerateDataKey", "kms:Decrypt"]) in by_action


def test_rejects_a_write_prefix_that_would_trigger_the_submitter_again():
    stack = new_stack()
    queue, job = _queue_and_job(stack)
    submitter = S3JobSubmitter(stack, "Submitter", job_queue=queue, job_definition=job, prefix="incoming/")
    with pytest.raises(ValueError, match=r"Submitter: grant_write.prefix='incoming/out/' is invalid: .*loop"):
        submitter.grant_write(job.job_role, "incoming/out/")
    unfiltered = S3JobSubmitter(stack, "Everything", job_queue=queue, job_definition=job)
    with pytest.raises(
        ValueError, match=r"grant_write.prefix='results/' is invalid: .*no prefix/suffix filter"
    ):
        unfiltered.grant_write(job.job_role, "results/")


def test_grant_read_to_a_role_in_another_stack_with_a_kms_bucket_makes_no_cycle():
    app = cdk.App()
    platform, team = cdk.Stack(app, "Platform"), cdk.Stack(app, "Team")
    queue, job = _queue_and_job(platform)
    bucket = s3.Bucket(team, "Uploads", encryption=s3.BucketEncryption.KMS)
    submitter = S3JobSubmitter(team, "Submitter", job_queue=queue, job_definition=job, bucket=bucket)
    submitter.grant_read(job.job_role)
    assembly = app.synth()  # a reference from Platform back to Team would be a cycle: synth raises
    assert "Fn::ImportValue" not in json.dumps(assembly.get_stack_by_name("Platform").template)
    policies = Template.from_stack(team).find_resources("AWS::IAM::Policy").values()
    read = [p for p in policies if "Fn::ImportValue" in json.dumps(p["Properties"]["Roles"])]
    statements = [s for p in read for s in p["Properties"]["PolicyDocument"]["Statement"]]
    actions = json.dumps([s["Action"] for s in statements])
    assert "s3:GetObject" in actions and "kms:Decrypt" in actions
