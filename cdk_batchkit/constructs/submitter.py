"""S3-triggered job submission: a buffered, idempotent Lambda submitter, and a no-code rule.

:class:`S3JobSubmitter` (the recommended path)::

    S3 bucket --Object Created--> EventBridge rule (prefix/suffix) --> SQS queue (encrypted)
      --> submitter Lambda (batches, partial failures) --> batch:SubmitJob (one queue, one definition)
    failed deliveries and records that fail maxReceiveCount times --> dead-letter queue

Compared with the usual "S3 notification -> Lambda -> SubmitJob per object" samples: every
record of every message is handled, duplicates (S3 delivers at least once) submit once, a
batch of objects becomes ONE array job (SubmitJob is capped at 50 calls/s per account), a
throttled or bad record is retried and finally dead-lettered (never dropped), and keys are
URL-decoded exactly once. The job-side contract is in ``cdk_batchkit.lambdas.submitter.manifest``
and ``cdk_batchkit.jobkit``.

:class:`S3JobRule` is the no-Lambda alternative for simple, low-volume cases: an EventBridge
rule targeting the job queue directly, one job per object, no de-duplication.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ..lambdas.submitter.config import DEFAULT_MEMORY_MB
from ..lambdas.submitter.manifest import (
    ENV_BUCKET,
    ENV_KEY,
    ENV_KEY_ENCODING,
    ENV_MANIFEST,
    ENV_SIZE,
    ENV_VERSION,
    PARAM_BUCKET,
    PARAM_KEY,
    PARAM_SIZE,
    PARAM_VERSION,
)
from ..model import SubmitPath, SubmitShape
from ..model.delivery import SubmitterSettings
from ..model.object_keys import exclude_prefix
from ..model.rules import key_filters, manifest_prefix_rule, submitter_limits, write_prefix_rule
from ..model.submission import RUNTIME, Overrides
from ._binding import (
    DefinitionLike,
    QueueLike,
    allow,
    definition_ref,
    grant_from,
    objects_arn,
    queue_ref,
)
from ._events import (
    MAX_RETRY_ATTEMPTS,
    S3_EVENT_FIELDS,
    EventDelivery,
    encrypted_queue,
    new_dead_letter_queue,
    object_created_rule,
    object_key_filter,
    override_input,
    resolve_delivery,
)
from ._lambda import HandlerFunction
from ._submission import plan_submission
from ._validation import adopt, duration, fetched, node_of, node_path, remember, report, seconds_of
from .consumable import ConsumableLike
from .encryption import KeyUser, encryption_key
from .nag import acknowledge, acknowledge_findings, acknowledge_resource

METRICS_NAMESPACE = "CdkBatchkit/Submitter"


class SubmitMode(enum.Enum):
    """How the submitter turns objects into jobs."""

    #: One job per object; bucket, key, size and version as job parameters and environment.
    PER_OBJECT = "PER_OBJECT"
    #: The objects of one SQS batch become one array job reading a JSON-lines manifest.
    ARRAY = "ARRAY"


def _new_bucket(scope: Construct, construct_id: str, *rules: s3.LifecycleRule) -> s3.Bucket:
    """The input bucket: versioned, TLS-only, no public access, with ``rules`` after its own lifecycle rule
    (rules given to the constructor render as ``add_lifecycle_rule`` would, in one round trip)."""
    key = encryption_key(scope)
    bucket = s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.KMS if key else s3.BucketEncryption.S3_MANAGED,
        encryption_key=key,
        bucket_key_enabled=True if key else None,  # one KMS request per bucket key, not per object
        block_public_access=_block_all(),
        enforce_ssl=True,
        versioned=True,
        removal_policy=RemovalPolicy.RETAIN,
        lifecycle_rules=[
            s3.LifecycleRule(
                abort_incomplete_multipart_upload_after=duration("days", 7),
                noncurrent_version_expiration=duration("days", 30),
            ),
            *rules,
        ],
    )
    adopt(bucket, scope, construct_id)
    remember(bucket, "encryption_key", key)
    acknowledge(
        bucket,
        "S1",
        "Input bucket: object-level audit belongs to CloudTrail data events, and server access logs need a "
        "second bucket; pass your own bucket (with access logging) as `bucket` where that is required.",
    )
    return bucket


_BLOCK_ALL: list[s3.BlockPublicAccess] = []


def _block_all() -> s3.BlockPublicAccess:
    """``s3.BlockPublicAccess.BLOCK_ALL`` (a constant), asked of the CDK once per process."""
    if not _BLOCK_ALL:
        _BLOCK_ALL.append(s3.BlockPublicAccess.BLOCK_ALL)
    return _BLOCK_ALL[0]


class S3JobSubmitter(Construct):
    """Submit AWS Batch jobs for objects created in an S3 bucket: buffered, idempotent, never lossy.

    Attributes: ``bucket``, ``rule`` (S3 -> SQS), ``queue``, ``dead_letter_queue``, ``table``
    (idempotency records), ``function`` and ``handler`` (the Lambda and its role/log group),
    ``service_name`` and ``metrics_namespace`` (its EMF metrics: ObjectsAccepted, JobsSubmitted,
    DuplicatesSkipped, RecordsFailed, RecordsSkipped).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        job_queue: QueueLike,
        job_definition: DefinitionLike,
        bucket: s3.IBucket | None = None,
        prefix: str | None = None,
        suffix: str | None = None,
        mode: SubmitMode | None = None,
        batch_size: int | None = None,
        max_batching_window: Duration | None = None,
        max_receive_count: int = 5,
        max_submit_rate: float = 10,
        max_concurrency: int = 2,
        function_timeout: Duration | None = None,
        skip_empty_objects: bool = True,
        manifest_bucket: s3.IBucket | None = None,
        manifest_prefix: str = "batchkit/manifests/",
        job_name_prefix: str = "",
        idempotency_ttl: Duration | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        share_identifier: str | None = None,
        scheduling_priority: int | None = None,
        consumable_resources: Mapping[ConsumableLike, int] | None = None,
    ) -> None:
        """
        :param job_queue: where jobs go: a :class:`JobQueue`, an imported one or any ``batch.IJobQueue``.
            The job definition must fit it (checked at synth when the queue's compute is known).
        :param job_definition: the job to submit: ours, imported or any L2 ``batch.IJobDefinition``. The
            object's ``BATCHKIT_*`` variables go in the override field of its shape
            (``containerOverrides``; ``ecsPropertiesOverride`` to its override container;
            ``eksPropertiesOverride``; ``nodeOverrides``, once for each of the definition's node ranges,
            ``targetNodes`` exactly as the definition renders them).
        :param bucket: Default: a new versioned, encrypted, TLS-only bucket with EventBridge delivery on.
            A bucket you pass gets EventBridge delivery turned on too (an imported one must have it already).
        :param prefix: only keys starting with this. Default: every key.
        :param suffix: only keys ending with this. Default: every key.
        :param mode: Default: ARRAY (one array job per SQS batch), except for a multi-node parallel
            definition: PER_OBJECT, one multi-node job per object, since Batch refuses multi-node array jobs
            (``mode=SubmitMode.ARRAY`` with one fails synth, BK-O4).
        :param batch_size: SQS messages per invocation (= objects per array job in ARRAY mode), 1-10,000.
            Default: 1,000 in ARRAY mode, 10 in PER_OBJECT mode.
        :param max_batching_window: how long SQS gathers a batch. Default: 30 s in ARRAY mode
            (fewer, larger array jobs), 1 s in PER_OBJECT mode. Batches over 10 need at least 1 s.
        :param max_receive_count: deliveries before a message is dead-lettered, 1-1,000. Default: 5.
        :param max_submit_rate: SubmitJob calls per second this submitter may make in total (the
            account's limit, 50/s, is shared by everything in it). Default: 10.
        :param max_concurrency: concurrent submitter invocations (reserved concurrency and the SQS event
            source's maximum concurrency), 2-1,000. Default: 2. Each may submit
            max_submit_rate / max_concurrency times per second: together, never above max_submit_rate.
        :param function_timeout: Default: 2 minutes. The queue's visibility timeout is six times this
            plus the batching window, as AWS recommends for SQS event sources.
        :param skip_empty_objects: acknowledge zero-byte objects without a job. Default: True.
        :param manifest_bucket: where ARRAY manifests go. Default: the input bucket.
        :param manifest_prefix: Default: ``batchkit/manifests/``; manifests expire after 30 days in a
            bucket this construct creates.
        :param job_name_prefix: prepended to every job name. Default: no prefix (names start with the
            object's or the batch's).
        :param log_retention: retention of the submitter function's log group. Default: one month.
        :param idempotency_ttl: how long a submitted object is remembered as a duplicate. Default: 14 days
            (the queue's retention, so any redelivery is caught).
        :param share_identifier: the fair-share identifier every job is submitted with: required when the
            job queue has a fair-share scheduling policy, refused when it has none (checked at synth).
            Default: jobs are submitted without one (for a queue without a fair-share policy).
        :param scheduling_priority: ``schedulingPriorityOverride`` of every job (0-9999, fair share only).
            Default: the job definition's.
        :param consumable_resources: per-job consumable resource quantities
            (``consumableResourcePropertiesOverride``), for resources the definition requests. Default: the
            definition's.
        """
        super().__init__(scope, construct_id)
        adopt(self, scope, construct_id)
        # CDK's SqsQueue target conditions its grant to a KMS-encrypted queue (BatchEncryption) on the rule's
        # account only under this flag, and grants unconditioned otherwise (BK-G2). Set before any child.
        node_of(self).set_context("@aws-cdk/aws-events:eventsTargetQueueSameAccount", True)
        function_timeout = function_timeout or duration("minutes", 2)
        idempotency_ttl = idempotency_ttl or duration("days", 14)
        queue, job = queue_ref(job_queue), definition_ref(job_definition)
        if mode is None:
            # Batch refuses multi-node array jobs: one multi-node job per object is the mode that runs.
            mode = SubmitMode.PER_OBJECT if job.shape is SubmitShape.NODE else SubmitMode.ARRAY
        array = mode is SubmitMode.ARRAY
        batch_size = batch_size if batch_size is not None else (1000 if array else 10)
        window = max_batching_window or duration("seconds", 30 if array else 1)
        report(self, key_filters(prefix, suffix))
        separate_manifests = manifest_bucket is not None and manifest_bucket is not bucket
        report(
            self,
            manifest_prefix_rule(
                manifest_prefix, prefix, suffix, in_input_bucket=array and not separate_manifests
            ),
        )
        report(
            self,
            submitter_limits(
                SubmitterSettings(
                    mode=mode.value,
                    batch_size=batch_size,
                    batching_window_seconds=seconds_of(window),
                    max_receive_count=max_receive_count,
                    max_submit_rate=max_submit_rate,
                    max_concurrency=max_concurrency,
                    function_timeout_seconds=seconds_of(function_timeout),
                    idempotency_ttl_seconds=seconds_of(idempotency_ttl),
                    job_name_prefix=job_name_prefix,
                )
            ),
        )
        variables = [ENV_MANIFEST] if array else [ENV_BUCKET, ENV_KEY, ENV_SIZE, ENV_VERSION]
        #: The submission every job is (the object's variables are filled in at run time).
        self.submission = plan_submission(
            self,
            path=SubmitPath.LAMBDA,
            queue=queue,
            job=job,
            rename={"array_size": "mode"},
            values={"array_size": mode.value},
            share_identifier=share_identifier,
            scheduling_priority=scheduling_priority,
            consumable_resources=consumable_resources,
            overrides=Overrides(environment=tuple((name, "(per object)") for name in variables)),
            array_size=RUNTIME if array else None,
        )
        self.mode = mode
        self._prefix, self._suffix = prefix, suffix
        self.job_queue = job_queue
        self.job_definition = job_definition
        self._queue, self._job = queue, job
        self.bucket: s3.IBucket = bucket or _new_bucket(
            self, "Bucket", s3.LifecycleRule(prefix=manifest_prefix, expiration=duration("days", 30))
        )
        self.manifest_bucket = manifest_bucket or self.bucket
        self.manifest_prefix = manifest_prefix

        matcher = object_key_filter(prefix, suffix)
        if array and self.manifest_bucket is self.bucket:
            matcher = self._exclude_manifests(matcher, prefix, suffix)

        self.dead_letter_queue = new_dead_letter_queue(self)
        #: The SQS queue between the rule and the function.
        self.sqs_queue = encrypted_queue(
            self,
            "Queue",
            # AWS's guidance for SQS event sources: at least six times the function timeout.
            visibility_timeout=duration("seconds", 6 * seconds_of(function_timeout) + seconds_of(window)),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=max_receive_count
            ),
        )
        self.rule = object_created_rule(
            self,
            "ObjectCreated",
            bucket=self.bucket,
            key_filter=matcher,
            description=f"Object Created in the input bucket -> {node_path(self)} queue",
            new_bucket=bucket is None,
            # A failed delivery lands in the same dead-letter queue with the same body (the event),
            # so one redrive replays both kinds of failure through the submitter.
            target=targets.SqsQueue(
                self.sqs_queue,
                dead_letter_queue=self.dead_letter_queue,
                retry_attempts=MAX_RETRY_ATTEMPTS,
                max_event_age=duration("hours", 24),
            ),
        )

        self.table = dynamodb.Table(
            self,
            "Idempotency",
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute="expiration",
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED if encryption_key(self) else None,
            encryption_key=encryption_key(self),
            removal_policy=RemovalPolicy.DESTROY,
        )
        acknowledge(
            self.table,
            "DDB3",
            "Idempotency records only: they expire on their own (TTL) and restoring them has no value; "
            "losing the table only means a redelivered S3 event could submit once more.",
        )

        self.service_name = node_path(self).replace("/", "-")
        self.metrics_namespace = METRICS_NAMESPACE
        self.handler = HandlerFunction(
            self,
            "Function",
            handler_dir="submitter",
            description=f"Submits Batch jobs for new objects ({mode.value})",
            service_name=self.service_name,
            metrics_namespace=self.metrics_namespace,
            timeout=function_timeout,
            memory_size=DEFAULT_MEMORY_MB[mode.value],
            log_retention=log_retention,
            reserved_concurrent_executions=max_concurrency,
            environment={
                "JOB_QUEUE": queue.job_queue_arn,
                "JOB_DEFINITION": job.job_definition_arn,
                "SUBMIT_MODE": mode.value,
                "MANIFEST_BUCKET": fetched(self.manifest_bucket, "bucket_name"),
                "MANIFEST_PREFIX": manifest_prefix,
                "IDEMPOTENCY_TABLE": self.table.table_name,
                "IDEMPOTENCY_TTL_SECONDS": str(int(seconds_of(idempotency_ttl))),
                "SKIP_EMPTY_OBJECTS": "true" if skip_empty_objects else "false",
                "MAX_SUBMITS_PER_SECOND": f"{max_submit_rate / max_concurrency:g}",
                "JOB_NAME_PREFIX": job_name_prefix,
                **({"SHARE_IDENTIFIER": share_identifier} if share_identifier else {}),
                **(
                    {"SCHEDULING_PRIORITY_OVERRIDE": str(scheduling_priority)}
                    if scheduling_priority is not None
                    else {}
                ),
                **self._override_environment(),
            },
            events=[
                sources.SqsEventSource(
                    self.sqs_queue,
                    batch_size=batch_size,
                    max_batching_window=window if seconds_of(window) > 0 else None,
                    report_batch_item_failures=True,
                    max_concurrency=max_concurrency,
                )
            ],
        )
        self.function = self.handler.function
        self._grant()

    def _override_environment(self) -> dict[str, str]:
        """Where the runtime puts the object's variables and what else every request carries, from the
        submission (:mod:`cdk_batchkit.lambdas.submitter.config`)."""
        sub, job = self.submission.submission, self._job
        found: dict[str, str] = {}
        if job.shape is not SubmitShape.CONTAINER:
            found["OVERRIDE_SHAPE"] = job.shape.value
        if job.override_container:
            found["OVERRIDE_CONTAINER"] = job.override_container
        if job.shape is SubmitShape.NODE:
            # Batch refuses node overrides whose targets are not the definition's own ranges (BK-O3).
            found["OVERRIDE_TARGET_NODES"] = ",".join(sub.node_targets())
        consumables = {c.arn or c.resource: c.quantity for c in sub.consumables}
        if consumables:
            found["CONSUMABLE_RESOURCES"] = Stack.of(self).to_json_string(consumables)
        return found

    def subscribe_to(self, topic: sns.ITopic, *, raw_message_delivery: bool = False) -> None:
        """Also submit jobs for S3 events published to ``topic`` (S3 -> SNS -> this queue).

        Both deliveries work: the submitter unwraps SNS's JSON envelope, and with
        ``raw_message_delivery`` the message arrives as it is. The same S3 event arriving by both paths
        is submitted once. The topic's messages are not filtered by ``prefix``/``suffix``.
        """
        encryption_key(self, KeyUser.SNS)  # SNS may send to the queue's key (BK-X3)
        topic.add_subscription(
            subscriptions.SqsSubscription(self.sqs_queue, raw_message_delivery=raw_message_delivery)
        )

    def grant_read(self, grantee: iam.IGrantable) -> None:
        """Let job code (``grantee``, usually ``job_definition.job_role``) read its objects and manifests.

        ``s3:GetObject`` (and ``s3:GetObjectVersion``) on the filtered keys and the manifest prefix only.
        A role in another stack (a job role in a platform stack) gets the permission through a policy
        in this construct's stack, so the role's stack never refers back to this one.

        :param grantee: the role (or anything with a role) the job code runs as.
        """
        resources = [objects_arn(self.bucket, f"{self._prefix or ''}*")]
        if self.mode is SubmitMode.ARRAY:
            resources.append(objects_arn(self.manifest_bucket, f"{self.manifest_prefix}*"))
        self._reads = getattr(self, "_reads", 0) + 1
        keys = [
            k
            for k in (fetched(self.bucket, "encryption_key"), fetched(self.manifest_bucket, "encryption_key"))
            if k
        ]
        statements = [
            iam.PolicyStatement(actions=["s3:GetObject", "s3:GetObjectVersion"], resources=resources),
            *_key_statements(keys, "kms:Decrypt"),
        ]
        self._grant_objects(
            f"ReadGrant{self._reads}",
            grantee,
            statements,
            resources,
            f"Job code reads the objects {node_path(self)} submits and their manifests: GetObject on "
            "that key prefix only (object names are only known at run time).",
        )

    def grant_write(self, grantee: iam.IGrantable, prefix: str) -> None:
        """Let job code (``grantee``, usually ``job_definition.job_role``) write objects under ``prefix`` of
        the submitter's input bucket (``s3:PutObject`` and ``s3:AbortMultipartUpload`` on ``prefix*``, and
        ``kms:GenerateDataKey``/``kms:Decrypt`` on the bucket's key when it is SSE-KMS).

        As :meth:`grant_read`, a role in another stack gets the permission through a policy in this
        construct's stack, so the role's stack never refers back to this one (``bucket.grant_put`` would put
        the bucket's ARN into the role's own policy: a cycle when this stack already uses the role).

        :param grantee: the role (or anything with a role) the job code runs as.
        :param prefix: the key prefix job code writes under (``"results/"``). Objects written there must
            not trigger the submitter again: a ``prefix`` that overlaps the submitter's prefix filter, or any
            prefix when the submitter has no filter at all, fails synth; with only a suffix filter synth
            warns (BK-E10).
        """
        in_bucket = self.manifest_bucket is self.bucket and self.mode is SubmitMode.ARRAY
        problems = write_prefix_rule(
            prefix,
            self._prefix,
            self._suffix,
            manifest_prefix=self.manifest_prefix if in_bucket else None,
        )
        report(self, problems, prefix="grant_write")
        resources = [objects_arn(self.bucket, f"{prefix}*")]
        self._writes = getattr(self, "_writes", 0) + 1
        keys = [k for k in (fetched(self.bucket, "encryption_key"),) if k is not None]
        statements = [
            iam.PolicyStatement(actions=["s3:PutObject", "s3:AbortMultipartUpload"], resources=resources),
            *_key_statements(keys, "kms:GenerateDataKey", "kms:Decrypt"),
        ]
        self._grant_objects(
            f"WriteGrant{self._writes}",
            grantee,
            statements,
            resources,
            f"Job code writes its results under {prefix!r} of the input bucket of {node_path(self)}: "
            "PutObject on that key prefix only (object names are only known at run time).",
        )

    def _grant_objects(
        self,
        construct_id: str,
        grantee: iam.IGrantable,
        statements: list[iam.PolicyStatement],
        objects: list[str],
        reason: str,
    ) -> None:
        """``statements`` for ``grantee`` with no reference back to this stack (``_binding.grant_from``), and
        the IAM5 acknowledgement of each object prefix in ``objects``."""
        holder = grant_from(self, construct_id, grantee, *statements)
        if isinstance(holder, Construct):
            for arn in objects:
                acknowledge_resource(holder, "IAM5", reason, arn)

    def _exclude_manifests(
        self, matcher: list[object] | None, prefix: str | None, suffix: str | None
    ) -> list[object] | None:
        """Keep manifests written into the input bucket from triggering the submitter again.

        Without filters the key's only matcher is one ``anything-but`` prefix with every form of the manifest
        prefix; filters that manifests could match fail synth (BK-E8, checked in the constructor): an
        ``anything-but`` next to other matchers in the key's list would be ORed with them.
        """
        if prefix is None and suffix is None:
            return list(exclude_prefix(self.manifest_prefix))
        return matcher

    def _grant(self) -> None:
        role = self.handler.role
        self.submission.grant(self, role)
        if self.mode is SubmitMode.ARRAY:
            manifests = objects_arn(self.manifest_bucket, f"{self.manifest_prefix}*")
            allow(role, ["s3:PutObject"], [manifests])
            manifest_key = fetched(self.manifest_bucket, "encryption_key")
            if manifest_key is not None:
                manifest_key.grant_encrypt(role)
                # The L2's encrypt grant names these action families, on the bucket's one key only.
                reason = (
                    "Writing manifests into an SSE-KMS bucket: the L2 encrypt grant's action family on "
                    "the bucket's key only (resources are that key's ARN)."
                )
                acknowledge_findings(
                    role,
                    "IAM5",
                    {f"Action::{action}": reason for action in ("kms:GenerateDataKey*", "kms:ReEncrypt*")},
                )
            acknowledge_resource(
                role,
                "IAM5",
                "Manifests are written under the submitter's own manifest prefix only (object names are "
                "derived from each batch).",
                manifests,
            )
        # HeadObject (s3:GetObject, s3:GetObjectVersion with a version id) on the filtered keys: resolving a
        # key that reads differently decoded and raw (EventBridge's key encoding is undocumented).
        objects = objects_arn(self.bucket, f"{self._prefix or ''}*")
        allow(role, ["s3:GetObject", "s3:GetObjectVersion"], [objects])
        acknowledge_resource(
            role,
            "IAM5",
            "The submitter checks which object an event names (HeadObject) under the filtered key prefix "
            "only (object names are only known at run time); it never reads object data it submits.",
            objects,
        )
        # Looking a job up by its name (after a reclaim or a SubmitJob whose outcome is unknown).
        allow(role, ["batch:ListJobs"], ["*"])
        acknowledge(
            role,
            "IAM5",
            "batch:ListJobs supports no resource-level permissions (the Service Authorization Reference "
            "lists no resource type for it); the submitter only reads its own queue's jobs by name.",
            applies_to="Resource::*",
        )
        # Exactly the calls the submitter's idempotency ledger makes: claims and releases (conditional
        # PutItem/DeleteItem, alone or inside TransactWriteItems, which IAM authorizes per action), job
        # records (PutItem) and reads (GetItem; TransactGetItems for records of the previous version).
        allow(role, [f"dynamodb:{a}" for a in ("GetItem", "PutItem", "DeleteItem")], [self.table.table_arn])


def _key_statements(keys: list[kms.IKey], *actions: str) -> list[iam.PolicyStatement]:
    """``actions`` on ``keys`` (each once) as an identity grant: SSE-KMS buckets need them in the same
    policy (the key policy must trust the account, as CDK's default key policy does). Not
    ``key.grant_*``, which would also put the role's ARN into the key policy and the key's ARN into the
    role's own policy: a cycle across stacks."""
    unique = {id(k): k for k in keys}
    if not unique:
        return []
    return [iam.PolicyStatement(actions=list(actions), resources=[k.key_arn for k in unique.values()])]


class S3JobRule(Construct):
    """The no-code path: an EventBridge rule submitting one job per created object, no Lambda.

    Fine for simple, low-volume buckets. There is no de-duplication (S3 and EventBridge deliver
    at least once) and no batching, and every object costs one SubmitJob call (50/s per account):
    use :class:`S3JobSubmitter` beyond that. The job gets parameters ``bucket``, ``key``, ``size``
    and ``version`` and the same ``BATCHKIT_*`` variables as the submitter's PER_OBJECT mode, except
    that the key is URL-encoded as S3 sent it (``BATCHKIT_KEY_ENCODING=url``;
    ``cdk_batchkit.jobkit.my_object()`` decodes it). Attributes: ``rule``, ``dead_letter_queue``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        job_queue: QueueLike,
        job_definition: DefinitionLike,
        bucket: s3.IBucket,
        prefix: str | None = None,
        suffix: str | None = None,
        job_name: str = "s3-object",
        delivery: EventDelivery | None = None,
    ) -> None:
        """
        :param job_queue: as for :class:`S3JobSubmitter`.
        :param job_definition: as for :class:`S3JobSubmitter` (a single-container definition).
        :param bucket: the bucket to watch (EventBridge delivery is turned on for a bucket of this app).
        :param prefix: only keys starting with this. Default: every key.
        :param suffix: only keys ending with this. Default: every key.
        :param job_name: Default: ``s3-object``.
        :param delivery: EventBridge retries, event age and dead-letter queue. Default: 185 retries over
            24 hours, then a new encrypted dead-letter queue.
        """
        super().__init__(scope, construct_id)
        queue, job = queue_ref(job_queue), definition_ref(job_definition)
        report(self, key_filters(prefix, suffix))
        resolved = resolve_delivery(
            self, delivery, retry_attempts=MAX_RETRY_ATTEMPTS, max_event_age=duration("hours", 24)
        )
        # What the target input sends (see _job_input_transformer): EventBridge's Batch target carries the
        # input's Parameters and ContainerOverrides and nothing else of SubmitJob's overrides, no share
        # identifier (BK-U1, BK-S3, BK-U3).
        #: The submission every job is (the object's fields are filled in by the input transformer).
        self.submission = plan_submission(
            self,
            path=SubmitPath.EVENTBRIDGE,
            queue=queue,
            job=job,
            overrides=Overrides(
                environment=tuple(
                    (name, "(from the event)")
                    for name in (ENV_BUCKET, ENV_KEY, ENV_SIZE, ENV_VERSION, ENV_KEY_ENCODING)
                )
            ),
            parameters=dict.fromkeys(
                (PARAM_BUCKET, PARAM_KEY, PARAM_SIZE, PARAM_VERSION), "(from the event)"
            ),
            job_name=job_name,
        )
        self.dead_letter_queue = resolved.dead_letter_queue
        self.rule = object_created_rule(
            self,
            "ObjectCreated",
            bucket=bucket,
            key_filter=object_key_filter(prefix, suffix),
            description=f"Object Created -> one Batch job ({node_path(self)})",
        )
        self.rule.add_target(
            targets.BatchJob(
                queue.job_queue_arn,
                queue.resource,
                job.job_definition_arn,
                job.resource,
                job_name=job_name,
                dead_letter_queue=self.dead_letter_queue,
                retry_attempts=resolved.retry_attempts,
                max_event_age=resolved.max_event_age,
            )
        )
        if job.consumable_arns:
            # SubmitJob authorizes the definition's consumable resources too; the L2 target's role (created
            # under the definition) is granted the queue and definition only.
            role = node_of(job.resource).try_find_child("EventsRole")
            if isinstance(role, iam.Role):
                allow(role, ["batch:SubmitJob"], job.consumable_arns)
        # Written by hand: Batch parameters must be strings, and CDK renders a field that is a whole
        # value unquoted (size is a number in the event). Keys are assumed URL-encoded (no quote to
        # escape); whether EventBridge events carry them encoded is undocumented (see
        # cdk_batchkit.model.object_keys). A missing version-id (unversioned bucket) becomes "".
        override_input(self.rule, 0, _job_input_transformer())


def _job_input_transformer() -> dict[str, object]:
    paths = {name: S3_EVENT_FIELDS[name] for name in ("bucket", "key", "size", "version")}
    env = {ENV_BUCKET: "bucket", ENV_KEY: "key", ENV_SIZE: "size", ENV_VERSION: "version"}
    parameters = ",".join(f'"{name}":"<{name}>"' for name in paths)
    environment = ",".join(
        [f'{{"Name":"{var}","Value":"<{field}>"}}' for var, field in env.items()]
        + [f'{{"Name":"{ENV_KEY_ENCODING}","Value":"url"}}']
    )
    template = f'{{"Parameters":{{{parameters}}},"ContainerOverrides":{{"Environment":[{environment}]}}}}'
    return {"InputPathsMap": paths, "InputTemplate": template}
