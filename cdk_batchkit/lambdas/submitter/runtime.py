"""The submitter service: SQS batch in, Batch jobs out. AWS clients are injected (or created lazily).

AWS calls made, and nothing else: ``batch:SubmitJob``; ``batch:ListJobs`` (only to reconcile: after a
reclaim, or after a SubmitJob whose outcome is unknown); ``s3:PutObject`` of manifests under
``MANIFEST_PREFIX`` (ARRAY mode); ``s3:HeadObject`` (IAM: ``s3:GetObject``/``s3:GetObjectVersion``)
only for an EventBridge key that reads differently decoded and raw, to find which object the event is
about (see :mod:`.core`); and the DynamoDB calls of Powertools' idempotency persistence layer (PutItem,
GetItem, UpdateItem, DeleteItem) on ``IDEMPOTENCY_TABLE``. Objects are never read: size, ETag and
version come from the event.

Exactly once, and what is left
------------------------------
Every object is claimed (a conditional PutItem that also records the job name it will be submitted
under, see :mod:`.idempotency`) before its SubmitJob, and completed after it. Job names are
deterministic: per object in PER_OBJECT mode, per invocation and chunk in ARRAY mode (recorded in each
claim, so it does not matter which batch a redelivery arrives in).

* **Crash or timeout after SubmitJob, before completion** (also: completion failed after its retries).
  The record stays in progress until the dead invocation's deadline; the SQS redelivery (after the
  visibility timeout) reclaims it, sees it was a reclaim, and asks Batch for the recorded job name
  (``ListJobs`` on the queue with a ``JOB_NAME`` filter, which returns jobs of any status). Found: the
  record is completed with that job, nothing is submitted. Not found: the object is submitted. This
  lookup runs only on reclaims and after ambiguous errors, never in the normal case.
* **SubmitJob outcome unknown** (read timeout, connection closed, HTTP 5xx). The Batch client makes
  exactly one attempt per call (``total_max_attempts=1``): botocore's own retries would resend a
  request that may already have created the job (SubmitJob has no client token). The submitter retries
  blindly only what certainly did not execute (throttling: HTTP 429 / ``TooManyRequestsException``;
  a connection that was never opened) with exponential backoff and jitter; after an ambiguous error it
  waits, looks the name up, and only submits again if the job is not there. A client error (4xx) is
  final: the same request would be rejected again.
* **Copies of one event in one batch**: the invocation remembers what it submitted, so later copies are
  duplicates even when the completion write failed.

The remaining window, exactly: a SubmitJob that Batch accepts but that is not yet visible to ListJobs
when the lookup runs. The lookup happens after the dead invocation's deadline has passed (reclaims:
normally a whole visibility timeout later) or after a backoff (ambiguous errors), and AWS does not
document how soon ListJobs shows a new job. If it did not show it, the object would be submitted a
second time. Also, ListJobs only returns jobs Batch still retains (completed jobs are kept for a limited
time), which is far longer than any redelivery delay here. Records written before this version carry no
job name; an ARRAY-mode reclaim of one is submitted again (logged).

Deadline
--------
No submission (or lookup) starts when the invocation's remaining time is below a margin
(``min(deadline_margin_ms, a quarter of the time the invocation started with)``). Objects not tried are
reported in ``batchItemFailures`` (SQS returns them to the queue; nothing is lost), counted in
``RecordsDeferred`` and not in ``RecordsFailed``. SQS still counts the receive towards the queue's
``maxReceiveCount``: the construct rejects batch sizes that cannot be submitted within the function
timeout at the configured rate, so deferral stays the exception (throttling, slow calls).

Metrics (EMF, one data point each per invocation, zeros included):

* ``ObjectsAccepted``: objects handed to AWS Batch in a job this invocation submitted;
* ``JobsSubmitted``: jobs this invocation submitted (including one whose response was lost and that was
  found by name);
* ``JobsRecovered``: jobs found by name (after a reclaim or a lost response) instead of submitted again;
* ``DuplicatesSkipped``: object events already submitted (redeliveries, repeats inside a batch);
* ``RecordsFailed``: SQS records reported in ``batchItemFailures`` because of an error (bad input,
  failed submissions, objects another invocation is still submitting);
* ``RecordsDeferred``: SQS records returned untried because the invocation ran out of time;
* ``RecordsSkipped``: items acknowledged with nothing to do (see :mod:`.core`).
"""

from __future__ import annotations

import os
import random
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer, DynamoDBPersistenceLayer
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError

from . import config as settings
from .core import (
    ARRAY_MAX,
    JobRequest,
    Parsed,
    RateLimiter,
    chunk_job_name,
    identity,
    job_name,
    parse_body,
    plan_array,
    plan_object,
)
from .idempotency import DEFAULT_WORKERS, Claim, Ledger
from .manifest import ManifestEntry

METRIC_NAMES = (
    "ObjectsAccepted",
    "JobsSubmitted",
    "JobsRecovered",
    "DuplicatesSkipped",
    "RecordsFailed",
    "RecordsDeferred",
    "RecordsSkipped",
)
#: Used for the in-progress expiry when there is no Lambda context (tests, scripts).
DEFAULT_REMAINING_MS = 15 * 60 * 1000
#: No submission starts with less than this left (or a quarter of the invocation's time, if smaller):
#: room for one SubmitJob at its read timeout plus the completion writes.
DEFAULT_DEADLINE_MARGIN_MS = int(settings.DEADLINE_MARGIN_SECONDS * 1000)

#: SubmitJob attempts per job, all made by the submitter itself (the client makes one per call).
BATCH_TOTAL_ATTEMPTS = 6
#: ListJobs attempts per lookup (a read: always safe to repeat) and pages read per lookup.
LOOKUP_ATTEMPTS = 4
LOOKUP_PAGES = 10
BACKOFF_BASE_SECONDS = 0.2
BACKOFF_MAX_SECONDS = 5.0
#: Error codes that mean "not executed, slow down" (HTTP 429 as well).
THROTTLING_CODES = frozenset(
    {
        "TooManyRequestsException",
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestLimitExceeded",
    }
)
# One attempt per call: botocore would otherwise resend a SubmitJob after a read timeout or a 5xx, and
# SubmitJob has no client token, so a resend can create a second job. The submitter retries itself,
# blindly only where the request certainly did not execute (see the module docstring).
BATCH_CLIENT_CONFIG = BotoConfig(
    retries={"mode": "standard", "total_max_attempts": 1},
    connect_timeout=3,
    read_timeout=10,
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


class RecordDeferred(RecordFailed):
    """Raised for an SQS record returned untried because the invocation is out of time."""


class SubmitFailed(Exception):
    """A submission did not happen as far as the submitter knows.

    ``certain``: the job certainly does not exist (every attempt was rejected or throttled), so the
    claims may be released; otherwise they stay in progress for a reclaim to look the job up.
    """

    def __init__(self, reason: str, *, certain: bool) -> None:
        super().__init__(reason)
        self.certain = certain


@dataclass
class Counts:
    accepted: int = 0
    jobs: int = 0
    recovered: int = 0
    duplicates: int = 0
    failed: int = 0
    deferred: int = 0
    skipped: int = 0

    def as_metrics(self) -> dict[str, int]:
        values = (
            self.accepted,
            self.jobs,
            self.recovered,
            self.duplicates,
            self.failed,
            self.deferred,
            self.skipped,
        )
        return dict(zip(METRIC_NAMES, values, strict=True))


@dataclass
class _Slot:
    """One distinct object of an ARRAY batch and the SQS messages that carried it."""

    entry: ManifestEntry
    message_ids: list[str] = field(default_factory=list)


@dataclass
class _Run:
    """One invocation: its clock, its margin and what it has submitted so far."""

    remaining: Callable[[], int]
    margin_ms: int
    counts: Counts
    submitted: dict[str, dict[str, Any]] = field(default_factory=dict)

    def allows(self, extra_seconds: float = 0.0) -> bool:
        """True when a call may start now (after waiting ``extra_seconds``) and leave the margin."""
        return self.remaining() - extra_seconds * 1000 >= self.margin_ms

    def deferral(self) -> str:
        return (
            f"returned untried: {self.remaining()} ms left, below the {self.margin_ms} ms margin "
            "(nothing submitted for it)"
        )


def describe(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'Error')}: {error.get('Message', '')}".rstrip(": ")
    return f"{type(exc).__name__}: {exc}"


def classify_error(exc: BaseException) -> str:
    """``throttled``, ``not_sent`` (both certainly not executed), ``rejected`` (4xx) or ``ambiguous``."""
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code in THROTTLING_CODES or status == 429:
            return "throttled"
        if 400 <= status < 500 or (status == 0 and code.endswith("ClientException")):
            return "rejected"
        return "ambiguous"  # 5xx: Batch may have created the job before failing
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        return "not_sent"  # no connection was made: the request never left
    return "ambiguous"  # read timeout, connection closed, anything unexpected


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
        deadline_margin_ms: int = DEFAULT_DEADLINE_MARGIN_MS,
        token: Callable[[], str] = lambda: os.urandom(8).hex(),
    ) -> None:
        self.config = config
        self.clients = clients or Clients()
        self.logger = logger
        self.metrics = metrics
        self.rate_limiter = RateLimiter(config.max_submits_per_second, clock=clock, sleep=sleep)
        self.deadline_margin_ms = deadline_margin_ms
        self._sleep = sleep
        self._token = token
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
                persistence,
                ttl_seconds=self.config.idempotency_ttl_seconds,
                workers=self._workers,
                sleep=self._sleep,
            )
        return self._ledger

    # -- entry point ---------------------------------------------------------------------------------

    def handle(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        """Process one SQS batch; returns the partial batch response (``batchItemFailures``)."""
        remaining = _remaining_ms(context)
        margin = max(0, min(self.deadline_margin_ms, remaining() // 4))
        run = _Run(remaining=remaining, margin_ms=margin, counts=Counts())
        processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        if self.config.is_array:
            failures, deferred = self._process_array(event.get("Records") or [], run)

            def record_handler(record: SQSRecord) -> None:
                if record.message_id in failures:
                    raise RecordFailed(failures[record.message_id])
                if record.message_id in deferred:
                    raise RecordDeferred(run.deferral())

        else:

            def record_handler(record: SQSRecord) -> None:
                self._process_message(record, run)

        response = process_partial_response(event, record_handler, processor, context)
        counts = run.counts
        counts.failed = len(response.get("batchItemFailures", [])) - counts.deferred
        for name, value in counts.as_metrics().items():
            self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
        return dict(response)

    # -- PER_OBJECT ----------------------------------------------------------------------------------

    def _process_message(self, record: SQSRecord, run: _Run) -> None:
        message_id = record.message_id
        counts = run.counts
        parsed = parse_body(record.body, skip_empty=self.config.skip_empty_objects)
        reasons = list(parsed.errors)
        deferred = False
        self._log_skipped(message_id, parsed.skipped, counts)
        for index, entry in enumerate(parsed.entries):
            if index in parsed.candidates:
                if not run.allows():
                    deferred = True
                    continue
                resolved = self._resolve(entry, parsed.candidates[index])
                if isinstance(resolved, str):
                    reasons.append(resolved)
                    continue
                entry = resolved
            key = identity(entry)
            if key in run.submitted:  # a copy of an event this invocation already submitted
                self._log_duplicate(message_id, entry, counts)
                continue
            if not run.allows(self.rate_limiter.wait_needed()):
                deferred = True
                continue
            name = job_name(entry, self.config.job_name_prefix)
            try:
                claimed = self.ledger.claim(entry, run.remaining(), name)
            except Exception as exc:
                reasons.append(f"idempotency store error for {entry.uri}: {describe(exc)}")
                continue
            if claimed.status is Claim.DONE:
                self._log_duplicate(message_id, entry, counts)
                continue
            if claimed.status is Claim.IN_FLIGHT:
                reasons.append(f"{entry.uri} is being submitted by another invocation: retry later")
                continue
            if claimed.status is Claim.RECLAIMED:
                try:
                    found = self._find_job(claimed.previous_job or name)
                except Exception as exc:  # unknown: keep the claim, the next reclaim looks again
                    reasons.append(f"{entry.uri}: could not look up job {name}: {describe(exc)}")
                    continue
                if found is not None:
                    self._recovered(found, [entry], run)
                    continue
            request = plan_object(entry, self.config.job_name_prefix)
            try:
                response = self._submit(request, run)
            except SubmitFailed as exc:
                if exc.certain:
                    self._release([entry], exc)
                reasons.append(f"SubmitJob failed for {entry.uri}: {exc}")
                continue
            counts.jobs += 1
            counts.accepted += 1
            result = _result(response, None)
            run.submitted[key] = result
            try:
                self.ledger.complete(entry, result)
            except Exception as exc:  # the job exists: acknowledge, but say so
                self._log_complete_error(entry, request.job_name, exc)
        if reasons:
            reason = "; ".join(reasons)
            self.logger.warning("record failed", extra={"message_id": message_id, "reason": reason})
            raise RecordFailed(reason)
        if deferred:
            counts.deferred += 1
            self.logger.info("record deferred", extra={"message_id": message_id, "reason": run.deferral()})
            raise RecordDeferred(run.deferral())

    # -- ARRAY ---------------------------------------------------------------------------------------

    def _process_array(
        self, raw_records: Sequence[dict[str, Any]], run: _Run
    ) -> tuple[dict[str, str], set[str]]:
        """Submit every new object of the batch as one job per chunk.

        Returns failed message id -> reason, and the message ids returned untried (deferred).
        """
        counts = run.counts
        reasons: dict[str, list[str]] = defaultdict(list)
        deferred: set[str] = set()
        slots: dict[str, _Slot] = {}
        messages: list[tuple[str, Parsed]] = []
        for raw in raw_records:
            record = SQSRecord(raw)
            message_id = record.message_id
            parsed = parse_body(record.body, skip_empty=self.config.skip_empty_objects)
            reasons[message_id].extend(parsed.errors)
            self._log_skipped(message_id, parsed.skipped, counts)
            messages.append((message_id, parsed))
        resolved = self._resolve_all(messages, reasons, deferred, run)
        for message_id, parsed in messages:
            for index, entry in enumerate(parsed.entries):
                if index in parsed.candidates:
                    found = resolved.get((message_id, index))
                    if found is None:
                        continue  # reported failed or deferred
                    entry = found
                slots.setdefault(identity(entry), _Slot(entry)).message_ids.append(message_id)

        ordered = list(slots.values())
        if ordered and not run.allows(self.rate_limiter.wait_needed()):
            for slot in ordered:
                deferred.update(slot.message_ids)
            return self._array_outcome(reasons, deferred, counts)

        token = self._token()
        prefix = self.config.job_name_prefix
        names = [chunk_job_name(token, index // ARRAY_MAX, prefix) for index in range(len(ordered))]
        claims = self.ledger.claim_many([slot.entry for slot in ordered], run.remaining(), names)
        chunks: dict[int, list[_Slot]] = defaultdict(list)
        reclaimed: dict[str | None, list[tuple[int, _Slot]]] = defaultdict(list)
        for index, (slot, claim) in enumerate(zip(ordered, claims, strict=True)):
            chunk = index // ARRAY_MAX
            if isinstance(claim, Exception):
                self._fail(slot, f"idempotency store error for {slot.entry.uri}: {describe(claim)}", reasons)
            elif claim.status is Claim.DONE:
                for message_id in slot.message_ids:
                    self._log_duplicate(message_id, slot.entry, counts)
            elif claim.status is Claim.IN_FLIGHT:
                self._fail(
                    slot, f"{slot.entry.uri} is being submitted by another invocation: retry later", reasons
                )
            elif claim.status is Claim.RECLAIMED:
                reclaimed[claim.previous_job].append((chunk, slot))
            else:
                chunks[chunk].append(slot)

        for previous, group in reclaimed.items():
            self._reconcile_array(previous, group, chunks, reasons, deferred, run)

        for chunk in sorted(chunks):
            members = chunks[chunk]
            if not run.allows(self.rate_limiter.wait_needed()):
                self._release([slot.entry for slot in members], TimeoutError("deferred"))
                for slot in members:
                    deferred.update(slot.message_ids)
                continue
            self._submit_array(members, names[chunk * ARRAY_MAX], reasons, run)
        return self._array_outcome(reasons, deferred, counts)

    def _reconcile_array(
        self,
        previous: str | None,
        group: list[tuple[int, _Slot]],
        chunks: dict[int, list[_Slot]],
        reasons: dict[str, list[str]],
        deferred: set[str],
        run: _Run,
    ) -> None:
        """Objects reclaimed from a dead invocation that used job name ``previous``."""
        if previous is None:  # a record from before job names were recorded: nothing to look up
            for chunk, slot in group:
                self.logger.warning(
                    "reclaimed record has no job name: submitting again",
                    extra={"object": slot.entry.uri},
                )
                chunks[chunk].append(slot)
            return
        entries = [slot.entry for _, slot in group]
        if not run.allows():
            self._restore(entries, previous)
            for _, slot in group:
                deferred.update(slot.message_ids)
            return
        try:
            found = self._find_job(previous)
        except Exception as exc:
            self._restore(entries, previous)
            for _, slot in group:
                self._fail(
                    slot, f"{slot.entry.uri}: could not look up job {previous}: {describe(exc)}", reasons
                )
            return
        if found is None:
            for chunk, slot in group:
                chunks[chunk].append(slot)
            return
        self._recovered(found, entries, run)
        for _, slot in group:
            for message_id in slot.message_ids[1:]:
                self._log_duplicate(message_id, slot.entry, run.counts)

    def _array_outcome(
        self, reasons: dict[str, list[str]], deferred: set[str], counts: Counts
    ) -> tuple[dict[str, str], set[str]]:
        failed = {message_id: "; ".join(texts) for message_id, texts in reasons.items() if texts}
        for message_id, reason in failed.items():
            self.logger.warning("record failed", extra={"message_id": message_id, "reason": reason})
        deferred -= set(failed)
        counts.deferred += len(deferred)
        for message_id in sorted(deferred):
            self.logger.info("record deferred", extra={"message_id": message_id, "reason": "out of time"})
        return failed, deferred

    def _submit_array(self, chunk: list[_Slot], name: str, reasons: dict[str, list[str]], run: _Run) -> None:
        counts = run.counts
        entries = [slot.entry for slot in chunk]
        request = plan_array(
            entries,
            manifest_bucket=self.config.manifest_bucket,
            manifest_prefix=self.config.manifest_prefix,
            prefix=self.config.job_name_prefix,
            name=name,
        )
        try:
            response = self._submit(request, run)
        except SubmitFailed as exc:
            if exc.certain:
                self._release(entries, exc)
            what = "array job" if request.array_size else "job"
            for slot in chunk:
                self._fail(slot, f"SubmitJob ({what} {request.job_name}) failed: {exc}", reasons)
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
                self._log_complete_error(entry, request.job_name, error)

    # -- keys that read differently decoded and raw ---------------------------------------------------

    def _resolve_all(
        self, messages: list[tuple[str, Parsed]], reasons: dict[str, list[str]], deferred: set[str], run: _Run
    ) -> dict[tuple[str, int], ManifestEntry]:
        """Resolve every ambiguous key of the batch, :data:`DEFAULT_WORKERS` at a time."""
        todo = [
            (message_id, index, parsed.entries[index], keys)
            for message_id, parsed in messages
            for index, keys in parsed.candidates.items()
        ]
        if not todo:
            return {}
        if not run.allows():
            deferred.update(message_id for message_id, *_ in todo)
            return {}
        with ThreadPoolExecutor(max_workers=min(self._workers, len(todo))) as pool:
            results = list(pool.map(lambda item: self._resolve(item[2], item[3]), todo))
        found: dict[tuple[str, int], ManifestEntry] = {}
        for (message_id, index, _, _), result in zip(todo, results, strict=True):
            if isinstance(result, str):
                reasons[message_id].append(result)
            else:
                found[(message_id, index)] = result
        return found

    def _resolve(self, entry: ManifestEntry, keys: Sequence[str]) -> ManifestEntry | str:
        """The entry with the one candidate key whose object matches the event (version id or ETag).

        Returns a reason (the record is reported failed, never submitted) when none or several match.
        """
        if not entry.version_id and not entry.etag:
            return f"key {keys!r} in s3://{entry.bucket} is ambiguous and the event has no version or ETag"
        matches: list[str] = []
        for key in keys:
            kwargs = {"Bucket": entry.bucket, "Key": key}
            if entry.version_id:
                kwargs["VersionId"] = entry.version_id
            try:
                head = self.clients.s3.head_object(**kwargs)
            except ClientError as exc:
                status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
                # No such key or version; 403 too: without s3:ListBucket, S3 answers a missing key 403,
                # and the role may read only the filtered prefix (the other reading can be outside it).
                if status in (400, 403, 404):
                    continue
                return f"could not check s3://{entry.bucket}/{key}: {describe(exc)}"
            except Exception as exc:
                return f"could not check s3://{entry.bucket}/{key}: {describe(exc)}"
            if entry.version_id:
                same = head.get("VersionId") == entry.version_id
            else:
                same = str(head.get("ETag", "")).strip('"') == entry.etag
            if same:
                matches.append(key)
        if len(matches) == 1:
            if matches[0] != entry.key:
                self.logger.info(
                    "key resolved as sent", extra={"object": f"s3://{entry.bucket}/{matches[0]}"}
                )
            return replace(entry, key=matches[0])
        what = "no object" if not matches else "an object under each reading"
        return (
            f"the key reads {keys[0]!r} decoded and {keys[1]!r} as sent, and S3 has {what} with version "
            f"{entry.version_id or '-'} / ETag {entry.etag or '-'}: not submitted"
        )

    # -- Batch calls ---------------------------------------------------------------------------------

    def _submit(self, request: JobRequest, run: _Run) -> dict[str, Any]:
        """SubmitJob with reconciliation; raises :class:`SubmitFailed`."""
        if request.manifest is not None:
            try:
                self.clients.s3.put_object(
                    Bucket=request.manifest.bucket,
                    Key=request.manifest.key,
                    Body=request.manifest.body,
                    ContentType="application/x-ndjson",
                )
            except Exception as exc:
                raise SubmitFailed(f"manifest not written: {describe(exc)}", certain=True) from exc
        kwargs = request.submit_job_kwargs(
            self.config.job_queue,
            self.config.job_definition,
            share_identifier=self.config.share_identifier,
            scheduling_priority=self.config.scheduling_priority,
            override_shape=self.config.override_shape,
            override_container=self.config.override_container,
            consumable_resources=self.config.consumable_resources,
            override_target_nodes=self.config.override_target_nodes,
        )
        ambiguous = False
        last: BaseException | None = None
        attempt = 0
        for attempt in range(1, BATCH_TOTAL_ATTEMPTS + 1):  # noqa: B007 - reported below
            self.rate_limiter.acquire()
            try:
                response: dict[str, Any] = self.clients.batch.submit_job(**kwargs)
            except Exception as exc:
                last = exc
                kind = classify_error(exc)
                if kind == "rejected":
                    raise SubmitFailed(describe(exc), certain=not ambiguous) from exc
                delay = _backoff(attempt)
                if kind == "ambiguous":
                    ambiguous = True
                    self.logger.warning(
                        "SubmitJob outcome unknown: looking the job up by name",
                        extra={"job_name": request.job_name, "reason": describe(exc)},
                    )
                    self._sleep(delay)  # give Batch time to show a job it did create
                    try:
                        found = self._find_job(request.job_name)
                    except Exception as lookup:
                        raise SubmitFailed(
                            f"{describe(exc)}, and looking the job up failed: {describe(lookup)}",
                            certain=False,
                        ) from lookup
                    if found is not None:
                        run.counts.recovered += 1
                        return found
                    delay = 0.0
                if attempt == BATCH_TOTAL_ATTEMPTS or not run.allows(delay + self.rate_limiter.wait_needed()):
                    break
                if delay:
                    self._sleep(delay)
                continue
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
        assert last is not None
        raise SubmitFailed(f"{describe(last)} (after {attempt} attempt(s))", certain=not ambiguous)

    def _find_job(self, name: str) -> dict[str, Any] | None:
        """The job named ``name`` in the queue (any status), or None. ListJobs is a read: retried."""
        kwargs: dict[str, Any] = {
            "jobQueue": self.config.job_queue,
            "filters": [{"name": "JOB_NAME", "values": [name]}],
        }
        matches: list[dict[str, Any]] = []
        for _ in range(LOOKUP_PAGES):
            page = self._list_jobs(kwargs)
            # The filter is case-insensitive (and '*' would be a prefix match): compare exactly.
            matches.extend(job for job in page.get("jobSummaryList", []) if job.get("jobName") == name)
            token = page.get("nextToken")
            if not token:
                break
            kwargs["nextToken"] = token
        if not matches:
            return None
        first = min(matches, key=lambda job: job.get("createdAt") or 0)
        self.logger.info("job found by name", extra={"job_id": first.get("jobId"), "job_name": name})
        return {"jobId": first.get("jobId"), "jobName": name}

    def _list_jobs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        for attempt in range(1, LOOKUP_ATTEMPTS + 1):
            try:
                page: dict[str, Any] = self.clients.batch.list_jobs(**kwargs)
                return page
            except Exception as exc:
                if attempt == LOOKUP_ATTEMPTS or classify_error(exc) == "rejected":
                    raise
                self._sleep(_backoff(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    # -- shared --------------------------------------------------------------------------------------

    def _recovered(self, found: dict[str, Any], entries: Sequence[ManifestEntry], run: _Run) -> None:
        """Complete reclaimed ``entries`` with the job a dead invocation submitted for them."""
        run.counts.recovered += 1
        result = {**_result(found, None), "recovered": True}
        for entry in entries:
            run.submitted[identity(entry)] = result
        for entry, error in zip(
            entries, self.ledger.complete_many(entries, [result] * len(entries)), strict=True
        ):
            if error is not None:
                self._log_complete_error(entry, str(found.get("jobName")), error)

    def _restore(self, entries: Sequence[ManifestEntry], previous: str) -> None:
        for entry in entries:
            try:
                self.ledger.restore_job_name(entry, previous)
            except Exception as exc:
                self.logger.error(
                    "reclaimed record not restored: a later reclaim may not find the previous job",
                    extra={"object": entry.uri, "job_name": previous, "reason": describe(exc)},
                )

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

    def _log_complete_error(self, entry: ManifestEntry, name: str, error: BaseException) -> None:
        self.logger.error(
            "job submitted but its idempotency record was not completed: a reclaim will find it by name",
            extra={"object": entry.uri, "job_name": name, "reason": describe(error)},
        )


def _backoff(attempt: int) -> float:
    """Exponential backoff with jitter: about 0.2, 0.4, 0.8 ... s, at most 5 s."""
    ceiling = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not security


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
