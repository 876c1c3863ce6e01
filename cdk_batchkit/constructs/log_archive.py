"""Job logs archived to S3 as well as CloudWatch Logs: subscription filter -> Firehose -> S3.

:class:`JobLogArchive` subscribes to the log groups of job definitions (ours own one each:
``definition.log_group``) and copies every log event, within the buffer interval, into an S3 bucket
through an Amazon Data Firehose delivery stream, with no code of its own:

* **Subscription.** One ``AWS::Logs::SubscriptionFilter`` per log group (pattern: every event) with the
  role CloudWatch Logs assumes to call ``firehose:PutRecord``/``PutRecordBatch`` on this stream only
  ("Using CloudWatch Logs subscription filters", Firehose example). A log group takes at most two
  subscription filters (BK-A1).
* **Firehose.** CloudWatch Logs sends each batch as one gzip-compressed JSON envelope (``logGroup``,
  ``logStream`` - the job's stream, so its job id -, ``logEvents``). The stream decompresses it with
  Firehose's built-in Decompression processor and appends a newline, so the archive is JSON lines that
  Athena or ``jq`` read, one envelope a line; it then gzip-compresses each S3 object. Message extraction
  (``CloudWatchLogProcessing``) is not used: it would drop ``logStream``, so the job a line came from.
  Encrypted at rest with an AWS-owned key (no charge); errors go to a log group of its own.
* **Bucket.** New by default: SSE-S3, SSL only, public access blocked, object ownership enforced,
  retained on stack deletion; keys ``<prefix>logs/year=YYYY/month=MM/day=DD/`` (Hive-style date
  partitions), failed records under ``<prefix>errors/<error type>/``. A lifecycle rule on ``prefix``
  expires objects after ``retention`` and moves them to S3 Glacier Instant Retrieval after
  ``archive_after`` (same millisecond reads, about a sixth of S3 Standard's storage price, 90-day
  minimum storage duration).

Idle cost: $0. Firehose (Direct PUT) is priced per GB ingested (each record rounded up to 5 KB) and
decompressed, S3 per GB stored and per request; nothing is charged while no job writes logs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Protocol

import jsii
from aws_cdk import Annotations, Duration, RemovalPolicy, Size, SizeRoundingBehavior, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_logs as logs
from aws_cdk import aws_logs_destinations as destinations
from aws_cdk import aws_s3 as s3
from constructs import Construct, IValidation

from ..model.archive import ArchivedLogGroup, LogArchiveSpec
from ..model.rules.archive import (
    GLACIER_IR_MINIMUM_DAYS,
    MAX_BUFFER_MIB,
    MAX_BUFFER_SECONDS,
    MAX_SUBSCRIPTION_FILTERS,
    archive_log_groups,
    check_archive,
    default_archive_after_days,
)
from ..model.values import known
from ._binding import objects_arn
from ._validation import (
    duration,
    mebibytes_of,
    node_of,
    node_path,
    report,
    seconds_of,
    size,
    stack_env,
    stack_of,
)
from .encryption import KeyUser, acknowledge_key_grants, encryption_key
from .nag import acknowledge, acknowledge_findings, acknowledge_resource

__all__ = [
    "GLACIER_IR_MINIMUM_DAYS",
    "MAX_BUFFER_MIB",
    "MAX_BUFFER_SECONDS",
    "MAX_SUBSCRIPTION_FILTERS",
    "JobLogArchive",
]


class _HasLogGroup(Protocol):
    @property
    def node(self) -> Any: ...

    @property
    def log_group(self) -> logs.ILogGroup | None: ...


@jsii.implements(IValidation)
class _AtMostTwoFilters:
    """BK-A1 once the tree is complete: count the subscription filters on each archived log group."""

    def __init__(self, owner: JobLogArchive) -> None:
        self._owner = owner

    def validate(self) -> list[str]:
        filters = [
            c for c in self._owner.node.root.node.find_all() if isinstance(c, logs.CfnSubscriptionFilter)
        ]
        counts = {}
        for label, group in self._owner.log_groups.items():
            name = Stack.of(group).resolve(group.log_group_name)
            counts[label] = sum(1 for cfn in filters if Stack.of(cfn).resolve(cfn.log_group_name) == name)
        return [f"log group {p.value} {p.why}" for p in archive_log_groups((), counts)]


def _days(value: Duration | None) -> float | None:
    """Whole or not, in days (None: not given, or a token)."""
    if value is None:
        return None
    seconds = known(seconds_of(value, integral=False))
    return seconds / 86_400 if seconds is not None else None


def _group_entry(group: logs.ILogGroup, label: str, prop: str) -> ArchivedLogGroup:
    env = group.env
    return ArchivedLogGroup(label, prop, node_path(group), env.region, env.account)


class JobLogArchive(Construct):
    """Archive job logs to S3 through a subscription filter and a Firehose delivery stream.

    Attributes: ``bucket``, ``delivery_stream``, ``subscription_filters`` (``{label: SubscriptionFilter}``),
    ``log_groups`` (``{label: ILogGroup}``), ``data_prefix`` and ``error_prefix`` (Firehose expressions).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        job_definitions: Sequence[_HasLogGroup] = (),
        log_groups: Sequence[logs.ILogGroup] = (),
        bucket: s3.IBucket | None = None,
        retention: Duration | None = None,
        archive_after: Duration | None = None,
        prefix: str = "batch-logs/",
        buffer_interval: Duration | None = None,
        buffer_size: Size | None = None,
        error_log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
    ) -> None:
        """
        :param job_definitions: job definitions whose log group (``definition.log_group``) is archived.
            Default: none (give them or ``log_groups``).
        :param log_groups: more log groups to archive (any ``logs.ILogGroup``, imported ones included).
            Default: none besides the job definitions'.
        :param bucket: where the archive goes. Default: a new bucket (SSE-S3, SSL only, no public access,
            retained when the stack is deleted). A bucket of yours gets the lifecycle rule only when it is
            an ``s3.Bucket`` defined in this app (otherwise a synth warning says retention is not applied).
        :param retention: objects under ``prefix`` expire after this many whole days. Default: 365 days.
        :param archive_after: move objects to S3 Glacier Instant Retrieval after this many whole days
            (at least 90 days before ``retention``). Default: 30 days when ``retention`` is 120 days or
            more, otherwise never.
        :param prefix: key prefix of the archive (ends with ``/``). Default: ``batch-logs/``.
        :param buffer_interval: how long Firehose buffers before writing an object (0-900 s): the
            archive's latency. Default: 300 seconds.
        :param buffer_size: or until this much is buffered (1-128 MiB). Default: 64 MiB (fewer, larger
            objects: cheaper requests, and objects under 128 KiB are never moved to Glacier IR).
        :param error_log_retention: retention of the delivery stream's error log group. Default: one month.
        """
        super().__init__(scope, construct_id)
        retention = retention or duration("days", 365)
        buffer_interval = buffer_interval if buffer_interval is not None else duration("seconds", 300)
        buffer_size = buffer_size or size("mebibytes", 64)
        retention_days = _days(retention)
        if archive_after is None and (after := default_archive_after_days(retention_days)) is not None:
            archive_after = Duration.days(after)
        #: label (construct path) -> log group.
        self.log_groups: dict[str, logs.ILogGroup] = {}
        entries: list[ArchivedLogGroup] = []
        for definition in job_definitions:
            group = getattr(definition, "log_group", None)
            label = node_path(definition)
            if group is None:
                entries.append(ArchivedLogGroup(label, "job_definitions"))
                continue
            entries.append(_group_entry(group, label, "job_definitions"))
            self.log_groups.setdefault(label, group)
        for group in log_groups:
            label = node_path(group)
            entries.append(_group_entry(group, label, "log_groups"))
            self.log_groups.setdefault(label, group)
        stack, env = stack_of(self), stack_env(self)
        #: The archive as the rules see it (BK-A1 to BK-A4).
        self.spec = LogArchiveSpec(
            groups=tuple(entries),
            region=env.region,
            account=env.account,
            retention_days=retention_days,
            archive_after_days=_days(archive_after),
            buffer_seconds=known(seconds_of(buffer_interval, integral=False)),
            buffer_mib=known(mebibytes_of(buffer_size, SizeRoundingBehavior.NONE)),
            prefix=prefix,
        )
        report(self, check_archive(self.spec))

        #: The archive bucket.
        self.bucket: s3.IBucket = bucket or self._new_bucket()
        self._lifecycle(self.bucket, prefix, retention, archive_after)
        #: Firehose expressions of the object keys: date partitions of the delivery time (UTC).
        self.data_prefix = (
            f"{prefix}logs/year=!{{timestamp:yyyy}}/month=!{{timestamp:MM}}/day=!{{timestamp:dd}}/"
        )
        self.error_prefix = f"{prefix}errors/!{{firehose:error-output-type}}/!{{timestamp:yyyy/MM/dd}}/"
        error_logs = logs.LogGroup(
            self,
            "DeliveryErrors",
            retention=error_log_retention,
            removal_policy=RemovalPolicy.DESTROY,
            encryption_key=encryption_key(self, KeyUser.LOGS),
        )
        #: The Firehose delivery stream (Direct PUT, encrypted with an AWS-owned key).
        self.delivery_stream = firehose.DeliveryStream(
            self,
            "DeliveryStream",
            encryption=firehose.StreamEncryption.aws_owned_key(),
            destination=firehose.S3Bucket(
                self.bucket,
                compression=firehose.Compression.GZIP,
                data_output_prefix=self.data_prefix,
                error_output_prefix=self.error_prefix,
                buffering_interval=buffer_interval,
                buffering_size=buffer_size,
                processors=[firehose.DecompressionProcessor(), firehose.AppendDelimiterToRecordProcessor()],
                logging_config=firehose.EnableLogging(error_logs),
            ),
        )
        # The L2 builds a region -> Firehose CIDR mapping for VPC destinations (Redshift, Splunk); an S3
        # destination never uses it, and an unreferenced mapping is a template warning (W7001).
        stack.node.try_remove_child("@aws-cdk--aws-kinesisfirehose.CidrBlocks")
        # The L2 S3 destination always grants its role bucket.grantReadWrite (its s3-bucket.js).
        acknowledge_findings(
            self.delivery_stream,
            "IAM5",
            {
                f"Action::{action}": "The aws_kinesisfirehose L2 grants its S3 destination role "
                f"bucket.grantReadWrite, whose wildcard actions ({action}) cover what Firehose's "
                "documented S3 access needs (Get/List the bucket, Put/Get objects, abort multipart uploads); "
                "the role is assumed by Firehose only and scoped to this one archive bucket."
                for action in ("s3:GetObject*", "s3:GetBucket*", "s3:List*", "s3:DeleteObject*", "s3:Abort*")
            },
        )
        acknowledge_resource(
            self.delivery_stream,
            "IAM5",
            "Firehose writes objects under keys it generates (date partitions and random suffixes), so the "
            "grant is every object of this one archive bucket.",
            objects_arn(self.bucket, "*"),
        )
        # With a BatchEncryption key, that grant includes the key's action families (on that key only).
        acknowledge_key_grants(self.delivery_stream)
        #: The role CloudWatch Logs assumes to put records into the stream (this stream only).
        self.role = iam.Role(
            self,
            "SubscriptionRole",
            # The confused-deputy condition of the CloudWatch Logs user guide's Firehose example.
            assumed_by=iam.ServicePrincipal(
                "logs.amazonaws.com",
                conditions={
                    "StringLike": {"aws:SourceArn": f"arn:{env.partition}:logs:{env.region}:{env.account}:*"}
                },
            ),
            description="CloudWatch Logs puts subscribed job log events into the archive delivery stream",
        )
        self.delivery_stream.grant_put_records(self.role)
        destination = destinations.FirehoseDestination(self.delivery_stream, role=self.role)
        #: label -> the subscription filter on that log group.
        self.subscription_filters: dict[str, logs.SubscriptionFilter] = {}
        for label, group in self.log_groups.items():
            # The id follows the log group, not its position: reordering the list must not replace a
            # filter (CloudFormation creates the new one before deleting the old, a third on the group).
            digest = hashlib.sha256(label.encode()).hexdigest()[:8].upper()
            self.subscription_filters[label] = logs.SubscriptionFilter(
                self,
                f"Subscription{digest}",
                log_group=group,
                destination=destination,
                filter_pattern=logs.FilterPattern.all_events(),
            )
        node_of(self).add_validation(_AtMostTwoFilters(self))

    def _new_bucket(self) -> s3.Bucket:
        # With a BatchEncryption key the archive is SSE-KMS with it (the Firehose role's bucket grant
        # includes the key); one KMS request per bucket key, not per object.
        key = encryption_key(self)
        bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS if key else s3.BucketEncryption.S3_MANAGED,
            encryption_key=key,
            bucket_key_enabled=True if key else None,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            bucket,
            "S1",
            "Job log archive: written only by this construct's Firehose stream; object-level audit belongs "
            "to CloudTrail data events, and server access logs would need a second bucket (pass your own "
            "bucket, with access logging, as `bucket` where that is required).",
        )
        return bucket

    def _lifecycle(
        self, bucket: s3.IBucket, prefix: str, retention: Duration, archive_after: Duration | None
    ) -> None:
        transitions = (
            [
                s3.Transition(
                    storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, transition_after=archive_after
                )
            ]
            if archive_after is not None
            else None
        )
        if isinstance(bucket, s3.Bucket):
            bucket.add_lifecycle_rule(
                id="BatchkitJobLogArchive",
                prefix=prefix,
                expiration=retention,
                transitions=transitions,
                abort_incomplete_multipart_upload_after=duration("days", 1),
            )
            return
        Annotations.of(self).add_warning_v2(
            "batchkit:archive-retention",
            f"bucket {node_path(bucket)} is not an s3.Bucket of this app: retention and archive_after are "
            f"not applied; add a lifecycle rule for prefix {prefix!r} to it yourself.",
        )
