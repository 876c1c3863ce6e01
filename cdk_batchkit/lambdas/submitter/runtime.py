"""The submitter service: SQS batch in, Batch jobs out. AWS clients are injected (or created lazily).

AWS calls made, and nothing else: ``batch:SubmitJob``; ``s3:PutObject`` of manifests under
``MANIFEST_PREFIX`` (ARRAY mode); and the DynamoDB calls of Powertools' idempotency persistence layer
(PutItem, GetItem, UpdateItem, DeleteItem) on ``IDEMPOTENCY_TABLE``. Objects are never read: size,
ETag and version come from the event.

Metrics (EMF, one data point each per invocation, zeros included):

* ``ObjectsAccepted``: objects handed to AWS Batch in a submitted job;
* ``JobsSubmitted``: successful SubmitJob calls;
* ``DuplicatesSkipped``: object events already submitted (redeliveries, repeats inside a batch);
* ``RecordsFailed``: SQS records reported in ``batchItemFailures`` (bad input, failed submissions,
  objects another invocation is still submitting);
* ``RecordsSkipped``: items acknowledged with nothing to do (see :mod:`.core`).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer, DynamoDBPersistenceLayer
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from . import config as settings
from .core import ARRAY_MAX, JobRequest, RateLimiter, identity, parse_body, plan_array, plan_object
from .idempotency import DEFAULT_WORKERS, Claim, Ledger
from .manifest import ManifestEntry

METRIC_NAMES = ("ObjectsAccepted", "JobsSubmitted", "DuplicatesSkipped", "RecordsFailed", "RecordsSkipped")
#: Used for the in-progress expiry when there is no Lambda context (tests, scripts).
DEFAULT_REMAINING_MS = 15 * 60 * 1000

# Throttling (429) and 5xx are retried by botocore; adaptive mode also slows the client down.
# ``total_max_attempts`` counts the first attempt (botocore rewrites ``max_attempts`` into it).
BATCH_TOTAL_ATTEMPTS = 6
BATCH_CLIENT_CONFIG = BotoConfig(
    retries={"mode": "adaptive", "total_max_attempts": BATCH_TOTAL_ATTEMPTS},
    connect_timeout=5,
    read_timeout=30,
)
S3_CLIENT_CONFIG = BotoConfig(
    retries={"mode": "standard", "total_max_attempts": 5}, connect_timeout=5, read_timeout=60
)
DYNAMODB_CLIENT_CONFIG = BotoConfig(
    retries={"mode": "standard", "total_max_attempts": 5},
    connect_timeout=5,
    read_timeout=10,
    max_pool_connections=DEFAULT_WORKERS + 4,
)


class Clients:
    """The boto3 clients, created on first use unless given (tests inject moto-backed ones)."""

    def __init__(
        self, *, batch: Any = None, s3: Any = None, dynamodb: Any = None, session: Any = None
    ) -> None:
        self._clients: dict[str, Any] = {"batch": batch, "s3": s3, "dynamodb": dynamodb}
        self._session = session

    def _get(self, service: str, config: BotoConfig) -> Any:
        client = self._clients[service]
        if client is None:
            if self._session is None:
                import boto3

                self._session = boto3.session.Session()
            client = self._clients[service] = self._session.client(service, config=config)
        return client

    @property
    def batch(self) -> Any:
        return self._get("batch", BATCH_CLIENT_CONFIG)

    @property
    def s3(self) -> Any:
        return self._get("s3", S3_CLIENT_CONFIG)

    @property
    def dynamodb(self) -> Any:
        return self._get("dynamodb", DYNAMODB_CLIENT_CONFIG)


class RecordFailed(Exception):
    """Raised for an SQS record that must be reported in ``batchItemFailures``."""


@dataclass
class Counts:
    accepted: int = 0
    jobs: int = 0
    duplicates: int = 0
    failed: int = 0
    skipped: int = 0

    def as_metrics(self) -> dict[str, int]:
        values = (self.accepted, self.jobs, self.duplicates, self.failed, self.skipped)
        return dict(zip(METRIC_NAMES, values, strict=True))


@dataclass
class _Slot:
    """One distinct object of an ARRAY batch and the SQS messages that carried it."""

    entry: ManifestEntry
    message_ids: list[str] = field(default_factory=list)


def describe(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'Error')}: {error.get('Message', '')}".rstrip(": ")
    return f"{type(exc).__name__}: {exc}"


class Submitter:
    def __init__(
        self,
        config: settings.Config,
        clients: Clients | None = None,
        *,
        logger: Any,
        metrics: Any,
        persistence: BasePersistenceLayer | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        workers: int = DEFAULT_WORKERS,
    ) -> None:
        self.config = config
        self.clients = clients or Clients()
        self.logger = logger
        self.metrics = metrics
        self.rate_limiter = RateLimiter(config.max_submits_per_second, clock=clock, sleep=sleep)
        self._persistence = persistence
        self._workers = workers
        self._ledger: Ledger | None = None

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            persistence = self._persistence or DynamoDBPersistenceLayer(
                table_name=self.config.idempotency_table, boto3_client=self.clients.dynamodb
            )
            self._ledger = Ledger(
                persistence, ttl_seconds=self.config.idempotency_ttl_seconds, workers=self._workers
            )
        return self._ledger

    # -- entry point ---------------------------------------------------------------------------------

    def handle(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        """Process one SQS batch; returns the partial batch response (``batchItemFailures``)."""
        counts = Counts()
        remaining = _remaining_ms(context)
        processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        if self.config.is_array:
            failures = self._process_array(event.get("Records") or [], counts, remaining)

            def record_handler(record: SQSRecord) -> None:
                if record.message_id in failures:
                    raise RecordFailed(failures[record.message_id])

        else:

            def record_handler(record: SQSRecord) -> None:
                self._process_message(record, counts, remaining)

        response = process_partial_response(event, record_handler, processor, context)
        counts.failed = len(response.get("batchItemFailures", []))
        for name, value in counts.as_metrics().items():
            self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
        return dict(response)

    # -- PER_OBJECT ----------------------------------------------------------------------------------

    def _process_message(self, record: SQSRecord, counts: Counts, remaining: Callable[[], int]) -> None:
        message_id = record.message_id
        parsed = parse_body(record.body, skip_empty=self.config.skip_empty_objects)
        reasons = list(parsed.errors)
        self._log_skipped(message_id, parsed.skipped, counts)
        for entry in parsed.entries:
            try:
                claim = self.ledger.claim(entry, remaining())
            except Exception as exc:
                reasons.append(f"idempotency store error for {entry.uri}: {describe(exc)}")
                continue
            if claim is Claim.DONE:
                self._log_duplicate(message_id, entry, counts)
                continue
            if claim is Claim.IN_FLIGHT:
                reasons.append(f"{entry.uri} is being submitted by another invocation: retry later")
                continue
            request = plan_object(entry, self.config.job_name_prefix)
            try:
                response = self._submit(request)
            except Exception as exc:
                self._release([entry], exc)
                reasons.append(f"SubmitJob failed for {entry.uri}: {describe(exc)}")
                continue
            counts.jobs += 1
            counts.accepted += 1
            try:
                self.ledger.complete(entry, _result(response, None))
            except Exception as exc:  # the job exists: acknowledge, but say so
                self._log_complete_error(entry, exc)
        if reasons:
            reason = "; ".join(reasons)
            self.logger.warning("record failed", extra={"message_id": message_id, "reason": reason})
            raise RecordFailed(reason)

    # -- ARRAY ---------------------------------------------------------------------------------------

    def _process_array(
        self, raw_records: Sequence[dict[str, Any]], counts: Counts, remaining: Callable[[], int]
    ) -> dict[str, str]:
        """Submit every new object of the batch as one job; returns failed message id -> reason."""
        reasons: dict[str, list[str]] = defaultdict(list)
        slots: dict[str, _Slot] = {}
        for raw in raw_records:
            record = SQSRecord(raw)
            message_id = record.message_id
            parsed = parse_body(record.body, skip_empty=self.config.skip_empty_objects)
            reasons[message_id].extend(parsed.errors)
            self._log_skipped(message_id, parsed.skipped, counts)
            for entry in parsed.entries:
                slots.setdefault(identity(entry), _Slot(entry)).message_ids.append(message_id)

        ordered = list(slots.values())
        claims = self.ledger.claim_many([slot.entry for slot in ordered], remaining())
        new: list[_Slot] = []
        for slot, claim in zip(ordered, claims, strict=True):
            if isinstance(claim, Exception):
                self._fail(slot, f"idempotency store error for {slot.entry.uri}: {describe(claim)}", reasons)
            elif claim is Claim.DONE:
                for message_id in slot.message_ids:
                    self._log_duplicate(message_id, slot.entry, counts)
            elif claim is Claim.IN_FLIGHT:
                self._fail(
                    slot, f"{slot.entry.uri} is being submitted by another invocation: retry later", reasons
                )
            else:
                new.append(slot)

        for start in range(0, len(new), ARRAY_MAX):
            self._submit_array(new[start : start + ARRAY_MAX], counts, reasons)

        failed = {message_id: "; ".join(texts) for message_id, texts in reasons.items() if texts}
        for message_id, reason in failed.items():
            self.logger.warning("record failed", extra={"message_id": message_id, "reason": reason})
        return failed

    def _submit_array(self, chunk: list[_Slot], counts: Counts, reasons: dict[str, list[str]]) -> None:
        entries = [slot.entry for slot in chunk]
        request = plan_array(
            entries,
            manifest_bucket=self.config.manifest_bucket,
            manifest_prefix=self.config.manifest_prefix,
            prefix=self.config.job_name_prefix,
        )
        try:
            response = self._submit(request)
        except Exception as exc:
            self._release(entries, exc)
            what = "array job" if request.array_size else "job"
            for slot in chunk:
                self._fail(slot, f"SubmitJob ({what} {request.job_name}) failed: {describe(exc)}", reasons)
            return
        counts.jobs += 1
        counts.accepted += len(chunk)
        for slot in chunk:
            for message_id in slot.message_ids[1:]:  # repeats of the same event inside this batch
                self._log_duplicate(message_id, slot.entry, counts)
        indexes = range(len(chunk)) if request.array_size else [None]
        results = [_result(response, index) for index in indexes]
        for entry, error in zip(entries, self.ledger.complete_many(entries, results), strict=True):
            if error is not None:
                self._log_complete_error(entry, error)

    # -- shared --------------------------------------------------------------------------------------

    def _submit(self, request: JobRequest) -> dict[str, Any]:
        if request.manifest is not None:
            self.clients.s3.put_object(
                Bucket=request.manifest.bucket,
                Key=request.manifest.key,
                Body=request.manifest.body,
                ContentType="application/x-ndjson",
            )
        self.rate_limiter.acquire()
        kwargs = request.submit_job_kwargs(
            self.config.job_queue,
            self.config.job_definition,
            share_identifier=self.config.share_identifier,
            scheduling_priority=self.config.scheduling_priority,
        )
        response: dict[str, Any] = self.clients.batch.submit_job(**kwargs)
        self.logger.info(
            "job submitted",
            extra={
                "job_id": response.get("jobId"),
                "job_name": request.job_name,
                "objects": len(request.entries),
                "array_size": request.array_size,
            },
        )
        return response

    def _release(self, entries: Sequence[ManifestEntry], error: BaseException) -> None:
        results: Sequence[None | Exception]
        if len(entries) == 1:
            try:
                self.ledger.release(entries[0], error)
                results = [None]
            except Exception as exc:
                results = [exc]
        else:
            results = self.ledger.release_many(entries, error)
        for entry, problem in zip(entries, results, strict=True):
            if problem is not None:
                self.logger.error(
                    "idempotency record not released: the retry waits for its in-progress expiry",
                    extra={"object": entry.uri, "reason": describe(problem)},
                )

    def _fail(self, slot: _Slot, reason: str, reasons: dict[str, list[str]]) -> None:
        for message_id in slot.message_ids:
            reasons[message_id].append(reason)

    def _log_skipped(self, message_id: str, skipped: list[str], counts: Counts) -> None:
        for reason in skipped:
            counts.skipped += 1
            self.logger.info("record skipped", extra={"message_id": message_id, "reason": reason})

    def _log_duplicate(self, message_id: str, entry: ManifestEntry, counts: Counts) -> None:
        counts.duplicates += 1
        self.logger.info(
            "duplicate skipped",
            extra={
                "message_id": message_id,
                "object": entry.uri,
                "reason": "this S3 event was already submitted",
            },
        )

    def _log_complete_error(self, entry: ManifestEntry, error: BaseException) -> None:
        self.logger.error(
            "job submitted but its idempotency record was not completed",
            extra={"object": entry.uri, "reason": describe(error)},
        )


def _result(response: dict[str, Any], index: int | None) -> dict[str, Any]:
    result: dict[str, Any] = {"jobId": response.get("jobId"), "jobName": response.get("jobName")}
    if index is not None:
        result["arrayIndex"] = index
    return result


def _remaining_ms(context: Any) -> Callable[[], int]:
    get = getattr(context, "get_remaining_time_in_millis", None)
    if callable(get):
        return lambda: int(get())
    return lambda: DEFAULT_REMAINING_MS


def build_submitter(
    *,
    logger: Any,
    metrics: Any,
    environ: dict[str, str] | None = None,
    clients: Clients | None = None,
    **kwargs: Any,
) -> Submitter:
    """A submitter configured from the environment (``os.environ`` by default)."""
    return Submitter(settings.load(environ), clients, logger=logger, metrics=metrics, **kwargs)
