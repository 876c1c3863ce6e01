"""The submitter service: SQS batch in, Batch jobs out. AWS clients are injected (or created lazily).

AWS calls made, and nothing else: ``batch:SubmitJob``; ``batch:ListJobs`` (only to reconcile: after an
orphaned claim, or after a SubmitJob whose outcome is unknown); ``s3:PutObject`` of manifests under
``MANIFEST_PREFIX`` (ARRAY mode); ``s3:HeadObject`` (IAM: ``s3:GetObject``/``s3:GetObjectVersion``)
only for an EventBridge key that reads differently decoded and raw, to find which object the event is
about (see :mod:`.core`); and on ``IDEMPOTENCY_TABLE`` (see :mod:`.idempotency`): ``TransactWriteItems``
of claims and releases (IAM: ``dynamodb:PutItem``/``dynamodb:DeleteItem``), ``PutItem``, ``DeleteItem``,
``GetItem`` and, with ``LEGACY_IDEMPOTENCY_FUNCTION`` set, ``TransactGetItems`` (IAM: ``GetItem``).
Objects are never read: size, ETag and version come from the event.

Exactly once, and what is left
------------------------------
Every object is claimed (a conditional write that also records the name of the job it will go into,
see :mod:`.idempotency`) before its SubmitJob; the job is recorded after it. Job names are
deterministic: per S3 event in PER_OBJECT mode (bucket, key, version or ETag, sequencer), per
invocation and chunk in ARRAY mode (recorded in each claim, so it does not matter which batch a
redelivery arrives in).

* **Crash or timeout after the claim** (before SubmitJob, or after it and before the job record; also: a
  job record that failed after its retries). The claim stays until the dead invocation's deadline; the
  SQS redelivery (after the visibility timeout) finds it ORPHANED: no job record, lease over. It asks
  Batch for the recorded job name (``ListJobs`` on the queue with a ``JOB_NAME`` filter, which returns
  jobs of any status). Found: the job is recorded and nothing is submitted. Not found: the object is
  claimed again (conditional on the record being unchanged) and submitted. This lookup runs only for
  orphans and after ambiguous errors, never in the normal case.
* **SubmitJob outcome unknown** (read timeout, connection closed, HTTP 5xx). The Batch client makes
  exactly one attempt per call (``total_max_attempts=1``): botocore's own retries would resend a
  request that may already have created the job (SubmitJob has no client token). The submitter retries
  blindly only what certainly did not execute (throttling: HTTP 429 / ``TooManyRequestsException``;
  a connection that was never opened) with exponential backoff and jitter; after an ambiguous error it
  waits, looks the name up, and only submits again if the job is not there.
* **Copies of one event in one batch**: submitted once (the batch is de-duplicated before claiming).

The remaining window, exactly: a SubmitJob that Batch accepts but that is not yet visible to ListJobs
when the lookup runs. The lookup happens after the dead invocation's deadline has passed (orphans:
normally a whole visibility timeout later) or after a backoff (ambiguous errors), and AWS does not
document how soon ListJobs shows a new job. If it did not show it, the object would be submitted a
second time. Also, ListJobs only returns jobs Batch still retains (completed jobs are kept for a limited
time), which is far longer than any redelivery delay here.

Deadline
--------
No submission (or lookup) starts when the invocation's remaining time is below a margin
(``min(deadline_margin_ms, a quarter of the time the invocation started with)``). Objects not tried are
released and reported in ``batchItemFailures`` (SQS returns them to the queue; nothing is lost),
counted in ``RecordsDeferred`` and not in ``RecordsFailed``. SQS still counts the receive towards the
queue's ``maxReceiveCount``: the construct rejects batch sizes that cannot be submitted within the
function timeout at the configured rate, so deferral stays the exception (throttling, slow calls).

Metrics (EMF, one data point each per invocation, zeros included):

* ``ObjectsAccepted``: objects handed to AWS Batch in a job this invocation submitted;
* ``JobsSubmitted``: jobs this invocation submitted (including one whose response was lost and that was
  found by name);
* ``JobsRecovered``: jobs found by name (for orphaned claims or after a lost response) instead of
  submitted again;
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
from dataclasses import replace
from typing import Any

import boto3  # at import time: the first invocation needs it anyway (and cold starts are measured so)
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
from .idempotency import Claim, Claimed, Ledger
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
#: Used for the claims' lease when there is no Lambda context (tests, scripts).
DEFAULT_REMAINING_MS = 15 * 60 * 1000
#: No submission starts with less than this left (or a quarter of the invocation's time, if smaller):
#: room for one SubmitJob at its read timeout plus the job record.
DEFAULT_DEADLINE_MARGIN_MS = int(settings.DEADLINE_MARGIN_SECONDS * 1000)
#: Ambiguous S3 keys resolved (HeadObject) at once.
RESOLVE_WORKERS = 8

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
# botocore retries TransactWriteItems with the ClientRequestToken it generated, so a retried transaction
# is applied once; a retried conditional PutItem whose first attempt landed is recognised by its owner.
DYNAMODB_CLIENT_CONFIG = BotoConfig(
    retries={"mode": "standard", "total_max_attempts": 5}, connect_timeout=5, read_timeout=10
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


class SubmitFailed(Exception):
    """A submission did not happen as far as the submitter knows.

    ``certain``: the job certainly does not exist (every attempt was rejected or throttled), so the
    claims may be released; otherwise they stay for a later delivery to look the job up.
    """

    def __init__(self, reason: str, *, certain: bool) -> None:
        super().__init__(reason)
        self.certain = certain


class Counts:
    # Plain classes here and below: a dataclass costs about a millisecond of every cold start to create.
    __slots__ = ("accepted", "jobs", "recovered", "duplicates", "failed", "deferred", "skipped")

    def __init__(self) -> None:
        self.accepted = self.jobs = self.recovered = self.duplicates = 0
        self.failed = self.deferred = self.skipped = 0

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


class _Slot:
    """One distinct object of the batch and the SQS messages that carried it."""

    __slots__ = ("entry", "message_ids")

    def __init__(self, entry: ManifestEntry) -> None:
        self.entry = entry
        self.message_ids: list[str] = []


class _Run:
    """One invocation: its clock, its margin, and what becomes of its SQS records."""

    __slots__ = ("remaining", "margin_ms", "counts", "reasons", "deferred")

    def __init__(self, remaining: Callable[[], int], margin_ms: int) -> None:
        self.remaining = remaining
        self.margin_ms = margin_ms
        self.counts = Counts()
        self.reasons: dict[str, list[str]] = defaultdict(list)
        self.deferred: set[str] = set()

    def allows(self, extra_seconds: float = 0.0) -> bool:
        """True when a call may start now (after waiting ``extra_seconds``) and leave the margin."""
        return self.remaining() - extra_seconds * 1000 >= self.margin_ms

    def fail(self, slot: _Slot, reason: str) -> None:
        for message_id in slot.message_ids:
            self.reasons[message_id].append(reason)

    def defer(self, slots: Sequence[_Slot]) -> None:
        for slot in slots:
            self.deferred.update(slot.message_ids)


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
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        deadline_margin_ms: int = DEFAULT_DEADLINE_MARGIN_MS,
        token: Callable[[], str] = lambda: os.urandom(8).hex(),
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.clients = clients or Clients()
        self.logger = logger
        self.metrics = metrics
        self.rate_limiter = RateLimiter(config.max_submits_per_second, clock=clock, sleep=sleep)
        self.deadline_margin_ms = deadline_margin_ms
        self._sleep = sleep
        self._token = token
        self._wall_clock = wall_clock

    def ledger(self, owner: str) -> Ledger:
        """The idempotency ledger of one invocation (``owner``: its token)."""
        return Ledger(
            self.clients.dynamodb,
            self.config.idempotency_table,
            ttl_seconds=self.config.idempotency_ttl_seconds,
            owner=owner,
            legacy_function=self.config.legacy_idempotency_function,
            clock=self._wall_clock,
            sleep=self._sleep,
        )

    # -- entry point ---------------------------------------------------------------------------------

    def handle(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        """Process one SQS batch; returns the partial batch response (``batchItemFailures``)."""
        remaining = _remaining_ms(context)
        margin = max(0, min(self.deadline_margin_ms, remaining() // 4))
        run = _Run(remaining, margin)
        records = event.get("Records") or []
        slots = self._collect(records, run)
        if slots:
            ledger = self.ledger(self._token())
            if self.config.is_array:
                self._process_array(slots, ledger, run)
            else:
                self._process_objects(slots, ledger, run)
        return self._respond(records, run)

    def _collect(self, records: Sequence[dict[str, Any]], run: _Run) -> list[_Slot]:
        """Parse every record; the distinct objects of the batch in first-seen order."""
        messages: list[tuple[str, Parsed]] = []
        skip_empty = self.config.skip_empty_objects
        for record in records:
            message_id = record["messageId"]
            parsed = parse_body(record.get("body"), skip_empty=skip_empty)
            if parsed.errors:
                run.reasons[message_id].extend(parsed.errors)
            if parsed.skipped:
                self._log_skipped(message_id, parsed.skipped, run.counts)
            messages.append((message_id, parsed))
        resolved = self._resolve_all(messages, run)
        slots: dict[tuple[str, str, str, str], _Slot] = {}
        for message_id, parsed in messages:
            for index, entry in enumerate(parsed.entries):
                if index in parsed.candidates:
                    found = resolved.get((message_id, index))
                    if found is None:
                        continue  # reported failed or deferred
                    entry = found
                slot = slots.get(key := identity(entry))
                if slot is None:
                    slot = slots[key] = _Slot(entry)
                slot.message_ids.append(message_id)
        return list(slots.values())

    def _respond(self, records: Sequence[dict[str, Any]], run: _Run) -> dict[str, Any]:
        """The partial batch response, in record order; logs and metrics."""
        failures: list[dict[str, str]] = []
        counts = run.counts
        seen: set[str] = set()
        for record in records:
            message_id = record["messageId"]
            if message_id in seen:
                continue
            seen.add(message_id)
            texts = run.reasons.get(message_id)
            if texts:
                counts.failed += 1
                reason = "; ".join(texts)
                self.logger.warning("record failed", extra={"message_id": message_id, "reason": reason})
            elif message_id in run.deferred:
                counts.deferred += 1
                self.logger.info(
                    "record deferred", extra={"message_id": message_id, "reason": _deferral(run)}
                )
            else:
                continue
            failures.append({"itemIdentifier": message_id})
        for name, value in counts.as_metrics().items():
            self.metrics.add_metric(name=name, unit="Count", value=value)
        return {"batchItemFailures": failures}

    # -- PER_OBJECT ----------------------------------------------------------------------------------

    def _process_objects(self, slots: list[_Slot], ledger: Ledger, run: _Run) -> None:
        """One job per object, each claimed just before its submission (a single conditional PutItem)."""
        prefix = self.config.job_name_prefix
        for position, slot in enumerate(slots):
            if not run.allows(self.rate_limiter.wait_needed()):
                run.defer(slots[position:])
                return
            entry, name = slot.entry, job_name(slot.entry, prefix)
            if ledger.legacy_function and self._settled_by_legacy([slot], ledger, run):
                continue
            (claimed,) = ledger.claim([entry], [name], run.remaining())
            if isinstance(claimed, Claimed) and claimed.status is Claim.ORPHANED:
                (adopted,) = self._adopt(claimed.previous_job, [slot], [name], ledger, run)
                if adopted is None:
                    continue  # recovered, reported failed or deferred
                claimed = adopted
            if not self._new(slot, claimed, run):
                continue
            try:
                response = self._submit(plan_object(entry, prefix), run)
            except SubmitFailed as exc:
                if exc.certain:
                    self._release(ledger, [entry], exc)
                run.fail(slot, f"SubmitJob failed for {entry.uri}: {exc}")
                continue
            self._submitted([slot], name, response, ledger, run)

    # -- ARRAY ---------------------------------------------------------------------------------------

    def _process_array(self, slots: list[_Slot], ledger: Ledger, run: _Run) -> None:
        """Every new object of the batch in one array job per chunk of :data:`ARRAY_MAX`."""
        if not run.allows(self.rate_limiter.wait_needed()):
            run.defer(slots)
            return
        if ledger.legacy_function:
            slots = [
                slot
                for slot, settled in zip(slots, self._legacy_flags(slots, ledger, run), strict=True)
                if not settled
            ]
            if not slots:
                return
        prefix = self.config.job_name_prefix
        names = [chunk_job_name(ledger.owner, index // ARRAY_MAX, prefix) for index in range(len(slots))]
        claims = ledger.claim([slot.entry for slot in slots], names, run.remaining())
        chunks: dict[int, list[_Slot]] = defaultdict(list)
        orphans: dict[str | None, list[int]] = defaultdict(list)
        for index, (slot, claimed) in enumerate(zip(slots, claims, strict=True)):
            if isinstance(claimed, Claimed) and claimed.status is Claim.ORPHANED:
                orphans[claimed.previous_job].append(index)
            elif self._new(slot, claimed, run):
                chunks[index // ARRAY_MAX].append(slot)
        for previous, indexes in orphans.items():
            group = [slots[index] for index in indexes]
            outcomes = self._adopt(previous, group, [names[index] for index in indexes], ledger, run)
            for index, slot, adopted in zip(indexes, group, outcomes, strict=True):
                if adopted is not None and self._new(slot, adopted, run):
                    chunks[index // ARRAY_MAX].append(slot)
        for chunk in sorted(chunks):
            members = chunks[chunk]
            if not run.allows(self.rate_limiter.wait_needed()):
                self._release(ledger, [slot.entry for slot in members], TimeoutError("deferred"))
                run.defer(members)
                continue
            self._submit_array(members, names[chunk * ARRAY_MAX], ledger, run)

    def _submit_array(self, chunk: list[_Slot], name: str, ledger: Ledger, run: _Run) -> None:
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
                self._release(ledger, entries, exc)
            what = "array job" if request.array_size else "job"
            reason = f"SubmitJob ({what} {request.job_name}) failed: {exc}"
            for slot in chunk:
                run.fail(slot, reason)
            return
        self._submitted(chunk, name, response, ledger, run)

    # -- shared --------------------------------------------------------------------------------------

    def _new(self, slot: _Slot, claimed: Claimed | Exception, run: _Run) -> bool:
        """True for a claim this invocation now holds; reports every other outcome."""
        if isinstance(claimed, Exception):
            run.fail(slot, f"idempotency store error for {slot.entry.uri}: {describe(claimed)}")
        elif claimed.status is Claim.NEW:
            return True
        elif claimed.status is Claim.DONE:
            for message_id in slot.message_ids:
                self._log_duplicate(message_id, slot.entry, run.counts)
        else:
            run.fail(slot, f"{slot.entry.uri} is being submitted by another invocation: retry later")
        return False

    def _adopt(
        self, previous: str | None, group: list[_Slot], names: list[str], ledger: Ledger, run: _Run
    ) -> list[Claimed | Exception | None]:
        """Orphaned claims that named job ``previous``: look it up; found, record it (the objects are done,
        None for each); not found, take the claims over. None also for objects reported failed/deferred."""
        if not run.allows():
            run.defer(group)
            return [None] * len(group)
        if previous is not None:
            try:
                found = self._find_job(previous)
            except Exception as exc:  # unknown: the claims stay as they are for the next delivery
                for slot in group:
                    run.fail(slot, f"{slot.entry.uri}: could not look up job {previous}: {describe(exc)}")
                return [None] * len(group)
            if found is not None:
                self._recovered(previous, found, group, ledger, run)
                return [None] * len(group)
        return list(ledger.take_over([slot.entry for slot in group], previous or "", names, run.remaining()))

    def _submitted(
        self, chunk: Sequence[_Slot], name: str, response: dict[str, Any], ledger: Ledger, run: _Run
    ) -> None:
        counts = run.counts
        counts.jobs += 1
        counts.accepted += len(chunk)
        for slot in chunk:
            for message_id in slot.message_ids[1:]:  # repeats of the same event inside this batch
                self._log_duplicate(message_id, slot.entry, counts)
        self._record(ledger, name, {"jobId": response.get("jobId"), "jobName": name, "objects": len(chunk)})

    def _recovered(
        self, name: str, found: dict[str, Any], group: Sequence[_Slot], ledger: Ledger, run: _Run
    ) -> None:
        """Objects whose dead invocation's job ``name`` exists: record it; nothing is submitted."""
        run.counts.recovered += 1
        for slot in group:
            for message_id in slot.message_ids[1:]:
                self._log_duplicate(message_id, slot.entry, run.counts)
        self._record(ledger, name, {"jobId": found.get("jobId"), "jobName": name, "recovered": True})

    def _record(self, ledger: Ledger, name: str, result: dict[str, Any]) -> None:
        try:
            ledger.record_job(name, result)
        except Exception as exc:  # the job exists: acknowledge, but say so
            self.logger.error(
                "job submitted but not recorded: a later delivery will find it by name",
                extra={"job_name": name, "reason": describe(exc)},
            )

    def _release(self, ledger: Ledger, entries: Sequence[ManifestEntry], error: BaseException) -> None:
        for entry, problem in zip(entries, ledger.release(entries), strict=True):
            if problem is not None:
                self.logger.error(
                    "claim not released: the retry waits for its lease to end",
                    extra={"object": entry.uri, "reason": describe(problem), "because": describe(error)},
                )

    # -- records of the previous version ---------------------------------------------------------------

    def _legacy_flags(self, slots: list[_Slot], ledger: Ledger, run: _Run) -> list[bool]:
        """For each slot: True when a record of the previous version settled it (see Ledger.legacy)."""
        try:
            found = ledger.legacy([slot.entry for slot in slots])
        except Exception as exc:
            for slot in slots:
                run.fail(slot, f"idempotency store error for {slot.entry.uri}: {describe(exc)}")
            return [True] * len(slots)
        settled: list[bool] = []
        lookups: dict[str, bool] = {}
        for slot, claimed in zip(slots, found, strict=True):
            if claimed is None:
                settled.append(False)
            elif claimed.status is not Claim.ORPHANED:
                self._new(slot, claimed, run)  # DONE: duplicate; IN_FLIGHT: failed
                settled.append(True)
            elif claimed.previous_job is None:
                self.logger.warning(
                    "previous version's record has no job name: submitting again",
                    extra={"object": slot.entry.uri},
                )
                settled.append(False)
            else:
                name = claimed.previous_job
                try:
                    if name not in lookups:
                        lookups[name] = self._find_job(name) is not None
                except Exception as exc:
                    run.fail(slot, f"{slot.entry.uri}: could not look up job {name}: {describe(exc)}")
                    settled.append(True)
                    continue
                if lookups[name]:
                    run.counts.recovered += 1
                    self._new(slot, Claimed(Claim.DONE), run)
                settled.append(lookups[name])
        return settled

    def _settled_by_legacy(self, slots: list[_Slot], ledger: Ledger, run: _Run) -> bool:
        return all(self._legacy_flags(slots, ledger, run))

    # -- keys that read differently decoded and raw ---------------------------------------------------

    def _resolve_all(
        self, messages: list[tuple[str, Parsed]], run: _Run
    ) -> dict[tuple[str, int], ManifestEntry]:
        """Resolve every ambiguous key of the batch, :data:`RESOLVE_WORKERS` at a time."""
        todo = [
            (message_id, index, parsed.entries[index], keys)
            for message_id, parsed in messages
            for index, keys in parsed.candidates.items()
        ]
        if not todo:
            return {}
        if not run.allows():
            run.deferred.update(message_id for message_id, *_ in todo)
            return {}
        with ThreadPoolExecutor(max_workers=min(RESOLVE_WORKERS, len(todo))) as pool:
            results = list(pool.map(lambda item: self._resolve(item[2], item[3]), todo))
        found: dict[tuple[str, int], ManifestEntry] = {}
        for (message_id, index, _, _), result in zip(todo, results, strict=True):
            if isinstance(result, str):
                run.reasons[message_id].append(result)
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

    # -- logs ----------------------------------------------------------------------------------------

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


def _deferral(run: _Run) -> str:
    return (
        f"returned untried: {run.remaining()} ms left, below the {run.margin_ms} ms margin "
        "(nothing submitted for it)"
    )


def _backoff(attempt: int) -> float:
    """Exponential backoff with jitter: about 0.2, 0.4, 0.8 ... s, at most 5 s."""
    ceiling = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not security


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
