"""JobLogArchive: subscription filters -> Firehose (decompress, newline, gzip, date partitions) -> S3.

One stack (a job definition's log group and an L2 log group archived into a new bucket) is synthesized
once; cdk-nag and cfn-lint run on the kitchen-sink stack (tests/templates). moto accepts the synthesized
delivery-stream configuration and subscription filters, refuses a third filter on a log group (the limit
BK-A1 checks at synth) and delivers a log event as CloudWatch Logs does: one gzip-compressed JSON envelope.
"""

from __future__ import annotations

import gzip
import json
import time
from typing import Any

import aws_cdk as cdk
import boto3
import pytest
from aws_cdk import Duration, Size
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template
from botocore.config import Config
from moto import mock_aws

from cdk_batchkit.constructs import Container, ContainerJobDefinition, JobLogArchive
from cdk_batchkit.model.archive import ArchivedLogGroup, LogArchiveSpec
from cdk_batchkit.model.rules.archive import (
    archive_buffering,
    archive_log_group_places,
    archive_log_groups,
    archive_retention,
    default_archive_after_days,
)
from tests.support import SAMPLE_IMAGE, new_stack

IMAGE = ecs.ContainerImage.from_registry(SAMPLE_IMAGE)


@pytest.fixture(scope="module")
def archived() -> tuple[Template, cdk.Stack, JobLogArchive, ContainerJobDefinition]:
    stack = new_stack("Archived")
    job = ContainerJobDefinition(stack, "Render", container=Container(image=IMAGE))
    other = logs.LogGroup(stack, "Other", retention=logs.RetentionDays.ONE_WEEK)
    archive = JobLogArchive(stack, "Archive", job_definitions=[job], log_groups=[other])
    # Your own bucket, a 90-day retention (no transition) and another prefix, in the same synth.
    JobLogArchive(
        stack,
        "Mine",
        log_groups=[logs.LogGroup(stack, "Own")],
        bucket=s3.Bucket(stack, "Logs"),
        retention=Duration.days(90),
        prefix="jobs/",
    )
    return Template.from_stack(stack), stack, archive, job


def _of(archived: Any, construct: Any) -> dict[str, Any]:
    template, stack, *_ = archived
    return template.to_json()["Resources"][stack.get_logical_id(construct.node.default_child or construct)]


def test_every_log_group_is_subscribed_to_the_delivery_stream(archived) -> None:
    template, stack, archive, job = archived
    filters = {
        k: v
        for k, v in template.find_resources("AWS::Logs::SubscriptionFilter").items()
        if k.startswith("Archive")
    }
    assert len(filters) == 2
    stream = stack.get_logical_id(archive.delivery_stream.node.default_child)
    role = stack.get_logical_id(archive.role.node.default_child)
    groups = set()
    for resource in filters.values():
        props = resource["Properties"]
        assert props["FilterPattern"] == ""  # every event
        assert props["DestinationArn"] == {"Fn::GetAtt": [stream, "Arn"]}
        assert props["RoleArn"] == {"Fn::GetAtt": [role, "Arn"]}
        groups.add(props["LogGroupName"]["Ref"])
    assert groups == {
        stack.get_logical_id(job.log_group.node.default_child),
        stack.get_logical_id(archive.node.scope.node.find_child("Other").node.default_child),
    }  # type: ignore[union-attr]


def test_cloudwatch_logs_may_only_put_records_into_this_stream(archived) -> None:
    template, stack, archive, _ = archived
    role = template.find_resources("AWS::IAM::Role")[stack.get_logical_id(archive.role.node.default_child)]
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "logs.amazonaws.com"}
    assert statement["Condition"]["StringLike"]["aws:SourceArn"] == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":logs:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                ":*",
            ],
        ]
    }
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": [{"Ref": stack.get_logical_id(archive.role.node.default_child)}],
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": ["firehose:PutRecord", "firehose:PutRecordBatch"],
                        "Effect": "Allow",
                        "Resource": {
                            "Fn::GetAtt": [
                                stack.get_logical_id(archive.delivery_stream.node.default_child),
                                "Arn",
                            ]
                        },
                    }
                ]
            },
        },
    )


def test_stream_decompresses_appends_a_newline_gzips_and_partitions_by_date(archived) -> None:
    template, _, archive, _ = archived
    props = _of(archived, archive.delivery_stream)["Properties"]
    assert props["DeliveryStreamEncryptionConfigurationInput"] == {"KeyType": "AWS_OWNED_CMK"}
    s3_config = props["ExtendedS3DestinationConfiguration"]
    assert s3_config["ProcessingConfiguration"] == {
        "Enabled": True,
        "Processors": [
            {
                "Type": "Decompression",
                "Parameters": [{"ParameterName": "CompressionFormat", "ParameterValue": "GZIP"}],
            },
            {"Type": "AppendDelimiterToRecord", "Parameters": []},
        ],
    }
    assert s3_config["CompressionFormat"] == "GZIP"
    assert (
        s3_config["Prefix"]
        == "batch-logs/logs/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/"
    )
    assert (
        s3_config["ErrorOutputPrefix"]
        == "batch-logs/errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/"
    )
    assert s3_config["BufferingHints"] == {"IntervalInSeconds": 300, "SizeInMBs": 64}
    assert s3_config["CloudWatchLoggingOptions"]["Enabled"] is True
    assert "Mappings" not in template.to_json()  # the L2's unused Firehose CIDR mapping is dropped (W7001)


def test_bucket_is_encrypted_ssl_only_private_retained_and_expires_the_archive(archived) -> None:
    template, _, archive, _ = archived
    bucket = _of(archived, archive.bucket)
    assert bucket["DeletionPolicy"] == "Retain"
    props = bucket["Properties"]
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["LifecycleConfiguration"]["Rules"] == [
        {
            "Id": "BatchkitJobLogArchive",
            "Prefix": "batch-logs/",
            "Status": "Enabled",
            "ExpirationInDays": 365,
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
            "Transitions": [{"StorageClass": "GLACIER_IR", "TransitionInDays": 30}],
        }
    ]
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                        )
                    ]
                )
            }
        },
    )


def test_your_bucket_gets_the_rule_and_a_short_retention_no_transition(archived) -> None:
    template, stack, *_ = archived
    buckets = template.find_resources("AWS::S3::Bucket")
    assert len(buckets) == 2  # the default archive's and yours: none created for yours
    (rule,) = buckets[stack.get_logical_id(stack.node.find_child("Logs").node.default_child)]["Properties"][
        "LifecycleConfiguration"
    ]["Rules"]
    assert (rule["Prefix"], rule["ExpirationInDays"], rule.get("Transitions")) == ("jobs/", 90, None)
    imported = s3.Bucket.from_bucket_name(new_stack(), "Imported", "archive-bucket")
    archive = JobLogArchive(
        imported.stack, "Second", log_groups=[logs.LogGroup(imported.stack, "Group")], bucket=imported
    )
    (warning,) = [e.data for e in archive.node.metadata if e.type == "aws:cdk:warning"]
    assert "retention and archive_after are not applied" in str(warning)


def _archive(**kwargs: Any) -> None:
    stack = new_stack()
    kwargs.setdefault("log_groups", [logs.LogGroup(stack, "Group")])
    JobLogArchive(stack, "Archive", **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"retention": Duration.hours(12)},
            r"retention='0.5 days' is invalid: must be a whole number of days",
        ),
        ({"retention": Duration.days(0)}, r"retention='0 days' is invalid: must be at least 1 day"),
        (
            {"retention": Duration.days(30), "archive_after": Duration.days(30)},
            r"archive_after='30 days' is invalid: must be shorter than retention",
        ),
        (
            {"retention": Duration.days(100), "archive_after": Duration.days(30)},
            r"archive_after='30 days' is invalid: .*90-day minimum storage duration",
        ),
        ({"buffer_interval": Duration.seconds(901)}, r"buffer_interval='901 s' is invalid: must be 0-900"),
        ({"buffer_size": Size.mebibytes(129)}, r"buffer_size='129 MiB' is invalid: must be 1-128"),
        ({"prefix": "/logs/"}, r"prefix='/logs/' is invalid: must not start with '/'"),
        ({"prefix": "logs"}, r"prefix='logs' is invalid"),
        ({"prefix": "logs/!{timestamp:yyyy}/"}, r"is invalid: .*no '!\{...\}' expression"),
    ],
)
def test_rejects_bad_retention_buffering_and_prefix(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _archive(**kwargs)


def test_rejects_no_log_group_a_definition_without_one_and_a_group_twice() -> None:
    with pytest.raises(ValueError, match=r"job_definitions=\[\] is invalid: needs at least one"):
        _archive(log_groups=[])
    stack = new_stack()
    own_logging = ContainerJobDefinition(
        stack, "Own", container=Container(image=IMAGE, logging=ecs.LogDriver.aws_logs(stream_prefix="own"))
    )
    with pytest.raises(
        ValueError, match=r"job_definitions='Test/Own' is invalid: has no log group of its own"
    ):
        JobLogArchive(stack, "Archive", job_definitions=[own_logging])
    stack = new_stack()
    group = logs.LogGroup(stack, "Group")
    with pytest.raises(ValueError, match=r"log_groups='Test/Group' is invalid: lists a log group twice"):
        JobLogArchive(stack, "Archive", log_groups=[group, group])


def test_rejects_a_third_subscription_filter_on_a_log_group() -> None:
    stack = new_stack("Full")
    group = logs.LogGroup(stack, "Group")
    archives = [JobLogArchive(stack, f"Archive{n}", log_groups=[group]) for n in "ABC"]
    # node.validate() runs the check synth runs (after the tree is complete), without synthesizing.
    (error,) = archives[-1].node.validate()
    assert "log group Full/Group has 3 subscription filters; CloudWatch Logs allows at most 2" in error
    assert archives[0].node.validate() != []  # every archive of that group reports it
    assert JobLogArchive(stack, "Other", log_groups=[logs.LogGroup(stack, "Two")]).node.validate() == []


def _concrete(value: Any, names: dict[str, str]) -> Any:
    """Replace the template's references with the concrete names the moto resources got."""
    if isinstance(value, dict):
        if set(value) in ({"Ref"}, {"Fn::GetAtt"}):
            logical = value.get("Ref") or value["Fn::GetAtt"][0]
            return names[logical]
        return {k: _concrete(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_concrete(v, names) for v in value]
    return value


def test_moto_accepts_the_stream_and_filters_and_receives_gzipped_envelopes(archived) -> None:
    template, stack, archive, _ = archived
    config = _of(archived, archive.delivery_stream)["Properties"]["ExtendedS3DestinationConfiguration"]
    with mock_aws():
        region, account = "us-east-1", "123456789012"
        # No SDK retries: the refused third filter (LimitExceededException) would otherwise be sent four
        # more times, botocore sleeping about 1.5 s between them, before the same error is raised.
        s3_client, firehose, logs_client = (
            boto3.client(n, region_name=region, config=Config(retries={"total_max_attempts": 1}))
            for n in ("s3", "firehose", "logs")
        )
        s3_client.create_bucket(Bucket="archive")
        logs_client.create_log_group(logGroupName="job-logs")
        logs_client.create_log_group(logGroupName="errors")
        names = {
            stack.get_logical_id(archive.bucket.node.default_child): "arn:aws:s3:::archive",
            stack.get_logical_id(archive.node.find_child("DeliveryErrors").node.default_child): "errors",
        }
        names.update(
            {k: f"arn:aws:iam::{account}:role/{k}" for k in template.find_resources("AWS::IAM::Role")}
        )
        names.update({k: "S3Destination" for k in template.find_resources("AWS::Logs::LogStream")})
        arn = firehose.create_delivery_stream(
            DeliveryStreamName="archive",
            DeliveryStreamType="DirectPut",
            ExtendedS3DestinationConfiguration=_concrete(config, names),
        )["DeliveryStreamARN"]
        role = f"arn:aws:iam::{account}:role/cwl"
        for name in ("archive", "second"):
            logs_client.put_subscription_filter(
                logGroupName="job-logs", filterName=name, filterPattern="", destinationArn=arn, roleArn=role
            )
        with pytest.raises(logs_client.exceptions.LimitExceededException):
            logs_client.put_subscription_filter(
                logGroupName="job-logs",
                filterName="third",
                filterPattern="",
                destinationArn=arn,
                roleArn=role,
            )
        logs_client.create_log_stream(logGroupName="job-logs", logStreamName="Render/default/abc123")
        logs_client.put_log_events(
            logGroupName="job-logs",
            logStreamName="Render/default/abc123",
            # Relative to now: CloudWatch Logs (and moto) drop events older than 14 days.
            logEvents=[{"timestamp": int(time.time() * 1000), "message": "frame 1 rendered"}],
        )
        keys = [o["Key"] for o in s3_client.list_objects_v2(Bucket="archive")["Contents"]]
        body = s3_client.get_object(Bucket="archive", Key=keys[0])["Body"].read()
    envelope = json.loads(gzip.decompress(body))
    # What the Decompression processor undoes: the job's stream name survives (no message extraction).
    assert envelope["logStream"] == "Render/default/abc123"
    assert [e["message"] for e in envelope["logEvents"]] == ["frame 1 rendered"]


def test_filter_ids_follow_the_log_group_not_its_position() -> None:
    def ids(order: list[str]) -> dict[str, str]:
        stack = new_stack()
        groups = {name: logs.LogGroup(stack, name) for name in ("A", "B")}
        archive = JobLogArchive(stack, "Archive", log_groups=[groups[n] for n in order])
        return {label: f.node.id for label, f in archive.subscription_filters.items()}

    # Reordering would otherwise replace both filters (a new one created before the old is deleted).
    assert ids(["A", "B"]) == ids(["B", "A"])


def test_the_archive_costs_nothing_while_no_job_writes_logs(archived) -> None:
    from cdk_batchkit import plan

    template, *_ = archived
    resources = template.to_json()["Resources"]
    types = {r["Type"] for r in resources.values()}
    assert {
        "AWS::KinesisFirehose::DeliveryStream",
        "AWS::S3::Bucket",
        "AWS::Logs::SubscriptionFilter",
    } <= types
    # Firehose Direct PUT, S3, subscription filters and log groups are priced per use: no idle line.
    assert [plan.resource_cost(r, resources) for r in resources.values()] == [None] * len(resources)


# -- the archive rules on model values (no stack) -------------------------------------------------------
def _entry(label: str, prop: str = "log_groups", **kwargs: Any) -> ArchivedLogGroup:
    return ArchivedLogGroup(label, prop, kwargs.pop("identity", label), **kwargs)


def test_rejects_no_group_a_definition_without_one_and_a_group_twice_in_the_model() -> None:
    (empty,) = archive_log_groups(())
    assert (empty.rule, empty.prop, empty.value) == ("BK-A1", "job_definitions", [])
    (missing,) = archive_log_groups((ArchivedLogGroup("S/Own", "job_definitions"),))
    assert (missing.prop, missing.value) == ("job_definitions", "S/Own") and "no log group" in missing.why
    twice = (_entry("S/Job", "job_definitions", identity="S/Job/LogGroup"), _entry("S/Job/LogGroup"))
    (duplicate,) = archive_log_groups(twice)
    assert (duplicate.prop, duplicate.value) == ("log_groups", "S/Job/LogGroup") and "twice" in duplicate.why
    assert archive_log_groups((_entry("S/A"), _entry("S/B"))) == []


def test_rejects_a_third_subscription_filter_in_the_model() -> None:
    (problem,) = archive_log_groups((), {"S/Group": 3, "S/Other": 2})
    assert problem.rule == "BK-A1" and problem.value == "S/Group" and "at most 2" in problem.why


@pytest.mark.parametrize(
    ("spec", "prop", "value"),
    [
        (LogArchiveSpec(retention_days=0.5), "retention", "0.5 days"),
        (LogArchiveSpec(retention_days=0), "retention", "0 days"),
        (LogArchiveSpec(retention_days=30, archive_after_days=30), "archive_after", "30 days"),
        (LogArchiveSpec(retention_days=100, archive_after_days=30), "archive_after", "30 days"),
        (LogArchiveSpec(retention_days=365, archive_after_days=1.5), "archive_after", "1.5 days"),
    ],
)
def test_rejects_retention_and_transitions_s3_refuses_or_bills_in_the_model(spec, prop, value) -> None:
    (problem,) = archive_retention(spec)
    assert (problem.rule, problem.prop, problem.value) == ("BK-A2", prop, value)


def test_the_default_transition_leaves_objects_90_days_in_glacier_ir() -> None:
    assert default_archive_after_days(365) == 30 and default_archive_after_days(120) == 30
    assert default_archive_after_days(119) is None and default_archive_after_days(None) is None
    assert archive_retention(LogArchiveSpec(retention_days=120, archive_after_days=30)) == []


@pytest.mark.parametrize(
    ("spec", "prop"),
    [
        (LogArchiveSpec(buffer_seconds=901), "buffer_interval"),
        (LogArchiveSpec(buffer_seconds=1.5), "buffer_interval"),
        (LogArchiveSpec(buffer_mib=0.5), "buffer_size"),
        (LogArchiveSpec(buffer_mib=129), "buffer_size"),
        (LogArchiveSpec(prefix="/logs/"), "prefix"),
        (LogArchiveSpec(prefix="logs"), "prefix"),
        (LogArchiveSpec(prefix="logs/!{timestamp:yyyy}/"), "prefix"),
    ],
)
def test_rejects_buffering_and_prefixes_firehose_refuses_in_the_model(spec, prop) -> None:
    assert [(p.rule, p.prop) for p in archive_buffering(spec)] == [("BK-A3", prop)]


def test_rejects_a_log_group_of_another_region_or_account_in_the_model() -> None:
    here = {"region": "us-east-1", "account": "111111111111"}
    spec = LogArchiveSpec(
        groups=(
            _entry("S/Here", **here),
            _entry("S/Ireland", region="eu-west-1", account="111111111111"),
            _entry("S/Partner", region="us-east-1", account="222222222222"),
        ),
        **here,
    )
    ireland, partner = archive_log_group_places(spec)
    assert (ireland.rule, ireland.value, ireland.warning) == ("BK-A4", "S/Ireland", False)
    assert "Region eu-west-1, not us-east-1" in ireland.why
    assert "account 222222222222, not 111111111111" in partner.why


def test_warns_when_a_log_groups_place_cannot_be_compared_in_the_model() -> None:
    region, account = "${Token[AWS.Region.7]}", "${Token[AWS.AccountId.3]}"
    spec = LogArchiveSpec(
        groups=(
            _entry("S/Own", region=region, account=account),  # a log group of the stack: same tokens
            _entry("S/Imported", region="eu-west-1", account="222222222222"),
        ),
        region=region,
        account=account,
    )
    (problem,) = archive_log_group_places(spec)
    assert problem.warning and problem.value == "S/Imported" and "Region eu-west-1" in problem.why


# -- BK-A4 through the construct -------------------------------------------------------------------------
def test_rejects_a_log_group_imported_from_another_region() -> None:
    stack = cdk.Stack(cdk.App(), "Pinned", env=cdk.Environment(account="111111111111", region="us-east-1"))
    group = logs.LogGroup.from_log_group_arn(
        stack, "Ireland", "arn:aws:logs:eu-west-1:111111111111:log-group:/aws/batch/job:*"
    )
    with pytest.raises(
        ValueError,
        match=r"log_groups='Pinned/Ireland' is invalid: is a log group in Region eu-west-1, not us-",
    ):
        JobLogArchive(stack, "Archive", log_groups=[group])


def test_warns_on_an_imported_log_group_in_an_environment_agnostic_stack() -> None:
    stack = new_stack()
    group = logs.LogGroup.from_log_group_arn(
        stack, "Partner", "arn:aws:logs:eu-west-1:222222222222:log-group:/aws/batch/job:*"
    )
    archive = JobLogArchive(stack, "Archive", log_groups=[group, logs.LogGroup(stack, "Own")])
    (warning,) = [str(e.data) for e in archive.node.metadata if "batchkit:BK-A4" in str(e.data)]
    assert "log_groups: Test/Partner may be a log group of another Region or account" in warning
