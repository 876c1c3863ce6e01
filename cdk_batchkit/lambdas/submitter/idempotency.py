"""Exactly-once submission per S3 event, on Powertools' idempotency persistence layer (DynamoDB).

Powertools' ``@idempotent_function`` wraps one call; ARRAY mode submits many objects in one call, so
this ledger drives the same persistence layer step by step, exactly as ``IdempotencyHandler`` does:

1. ``claim``: ``save_inprogress`` (a conditional PutItem). It fails when a live record exists; then
   COMPLETED means a duplicate (skip it), INPROGRESS means another invocation holds it (fail the SQS
   record so it is redelivered later, never submitted twice). An expired in-progress record is claimed
   again: a **reclaim** (see below).
2. ``complete``: ``save_success`` (UpdateItem) once the job is submitted, retried with backoff.
3. ``release``: ``delete_record`` (DeleteItem) when the submission certainly did not happen, so the SQS
   retry can submit.

Records use Powertools' table layout (``id``, ``expiration``, ``status``, ``data``,
``in_progress_expiration``) plus one attribute of ours, ``job_name``: the claim's PutItem also writes
the name of the job the claimer is about to submit, and asks for the item it replaced
(``ReturnValues=ALL_OLD``, no extra request and no extra write). So a claim knows when it takes over an
expired in-progress record left by a crashed or timed-out invocation, and which job name that
invocation used: the submitter then looks that name up in Batch before submitting anything (see
:mod:`.runtime`). Both are done by wrapping the DynamoDB client Powertools is given; a persistence
layer other than DynamoDB works, without reclaim detection.

The in-progress expiry is the invocation's deadline. Many entries are processed concurrently (boto3
clients are thread-safe): per-item DynamoDB latency, not the Batch API, is what bounds an ARRAY batch
of thousands of objects.
"""

from __future__ import annotations

import datetime as dt
import enum
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer, IdempotencyConfig
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import STATUS_CONSTANTS, DataRecord

from .config import ARRAY_WORKERS
from .core import idempotency_data
from .manifest import ManifestEntry

#: Part of every idempotency key (Powertools: ``<function name>.<this>#<md5 of the event identity>``).
FUNCTION_NAME = "submitter.submit"
#: Our attribute on the in-progress record: the job name the claimer submits under.
JOB_NAME_ATTR = "job_name"
DEFAULT_WORKERS = ARRAY_WORKERS
_ATTEMPTS = 3
#: Completion (UpdateItem) attempts on top of the DynamoDB client's own retries, and the first backoff.
COMPLETE_ATTEMPTS = 4
COMPLETE_BACKOFF_SECONDS = 0.2
T = TypeVar("T")
R = TypeVar("R")


class Claim(enum.Enum):
    NEW = "new"  # this invocation owns the object: submit it
    RECLAIMED = "reclaimed"  # owned now, but a dead invocation held it: look its job up first
    DONE = "done"  # already submitted: a duplicate event
    IN_FLIGHT = "in_flight"  # another invocation is submitting it right now


@dataclass(frozen=True)
class Claimed:
    """A claim's outcome; ``previous_job`` is the job name the dead holder of a RECLAIMED record used."""

    status: Claim
    previous_job: str | None = None


class _ClaimingClient:
    """The DynamoDB client given to Powertools, with PutItem (the claim) extended.

    The claim also writes :data:`JOB_NAME_ATTR` (set per thread by :meth:`Ledger.claim`) and returns
    the item it replaced (``ReturnValues=ALL_OLD``). Everything else is the client itself, so botocore
    events (and the calls they record) are unchanged.
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self._local = threading.local()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def prepare(self, job_name: str | None) -> None:
        self._local.job_name = job_name
        self._local.replaced = None

    def replaced(self) -> dict[str, Any] | None:
        return getattr(self._local, "replaced", None)

    def put_item(self, **kwargs: Any) -> Any:
        job_name = getattr(self._local, "job_name", None)
        if job_name:
            kwargs["Item"] = {**kwargs["Item"], JOB_NAME_ATTR: {"S": job_name}}
        kwargs.setdefault("ReturnValues", "ALL_OLD")
        response = self._client.put_item(**kwargs)
        self._local.replaced = response.get("Attributes")
        return response


class Ledger:
    def __init__(
        self,
        persistence: BasePersistenceLayer,
        *,
        ttl_seconds: int,
        workers: int = DEFAULT_WORKERS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.persistence = persistence
        self.workers = max(1, workers)
        self._sleep = sleep
        persistence.configure(
            IdempotencyConfig(expires_after_seconds=ttl_seconds, raise_on_no_idempotency_key=True),
            function_name=FUNCTION_NAME,
        )
        client = getattr(persistence, "client", None)
        self._client: _ClaimingClient | None = None
        if client is not None:
            if not isinstance(client, _ClaimingClient):
                client = _ClaimingClient(client)
                persistence.client = client  # type: ignore[attr-defined]
            self._client = client

    @property
    def detects_reclaims(self) -> bool:
        """True when a claim can tell a reclaim from a new object (the DynamoDB persistence layer)."""
        return self._client is not None

    # -- one entry (Powertools calls) ----------------------------------------------------------------

    def claim(self, entry: ManifestEntry, remaining_ms: int, job_name: str | None = None) -> Claimed:
        """Claim ``entry`` for a submission under ``job_name`` (stored on the in-progress record)."""
        data = idempotency_data(entry)
        for _ in range(_ATTEMPTS):
            if self._client is not None:
                self._client.prepare(job_name)
            try:
                self.persistence.save_inprogress(data=data, remaining_time_in_millis=remaining_ms)
                return self._claimed()
            except IdempotencyItemAlreadyExistsError as exc:
                record = exc.old_data_record
                if record is None:
                    try:
                        record = self.persistence.get_record(data=data)
                    except IdempotencyItemNotFoundError:
                        continue  # deleted between the put and the get: try again
                if record is None:  # pragma: no cover - only without an idempotency key
                    continue
                claim = _classify(record)
                if claim is not None:
                    return Claimed(claim)
        return Claimed(Claim.IN_FLIGHT)

    def _claimed(self) -> Claimed:
        replaced = self._client.replaced() if self._client is not None else None
        status_attr = getattr(self.persistence, "status_attr", "status")
        if not replaced or replaced.get(status_attr, {}).get("S") != STATUS_CONSTANTS["INPROGRESS"]:
            return Claimed(Claim.NEW)  # a new key, or a COMPLETED record past its TTL
        previous = replaced.get(JOB_NAME_ATTR, {}).get("S")
        return Claimed(Claim.RECLAIMED, previous)

    def complete(self, entry: ManifestEntry, result: dict[str, Any]) -> None:
        """Mark ``entry`` COMPLETED with ``result``, retried with exponential backoff."""
        data = idempotency_data(entry)
        delay = COMPLETE_BACKOFF_SECONDS
        for attempt in range(1, COMPLETE_ATTEMPTS + 1):
            try:
                self.persistence.save_success(data=data, result=result)
                return
            except Exception:
                if attempt == COMPLETE_ATTEMPTS:
                    raise
                self._sleep(delay)
                delay *= 2

    def release(self, entry: ManifestEntry, error: BaseException) -> None:
        self.persistence.delete_record(data=idempotency_data(entry), exception=error)  # type: ignore[arg-type]

    def restore_job_name(self, entry: ManifestEntry, job_name: str) -> None:
        """Put back the job name a reclaim overwrote, when that job could not be looked up.

        The record stays in progress under the old name with an expired deadline, so the next delivery
        reclaims it at once and looks the old name up again.
        """
        if self._client is None:  # pragma: no cover - reclaims are only detected with DynamoDB
            return
        persistence: Any = self.persistence
        key = persistence._get_hashed_idempotency_key(data=idempotency_data(entry))
        self._client.update_item(
            TableName=persistence.table_name,
            Key=persistence._get_key(key),
            UpdateExpression="SET #job = :job, #deadline = :past",
            ConditionExpression="#status = :inprogress",
            ExpressionAttributeNames={
                "#job": JOB_NAME_ATTR,
                "#deadline": persistence.in_progress_expiry_attr,
                "#status": persistence.status_attr,
            },
            ExpressionAttributeValues={
                ":job": {"S": job_name},
                ":past": {"N": "0"},
                ":inprogress": {"S": STATUS_CONSTANTS["INPROGRESS"]},
            },
        )

    # -- many entries, concurrently ------------------------------------------------------------------

    def claim_many(
        self,
        entries: Sequence[ManifestEntry],
        remaining_ms: int,
        job_names: Sequence[str | None] | None = None,
    ) -> list[Claimed | Exception]:
        names = list(job_names) if job_names is not None else [None] * len(entries)
        pairs = list(zip(entries, names, strict=True))
        return self._each(pairs, lambda pair: self.claim(pair[0], remaining_ms, pair[1]))

    def complete_many(
        self, entries: Sequence[ManifestEntry], results: Sequence[dict[str, Any]]
    ) -> list[None | Exception]:
        pairs = list(zip(entries, results, strict=True))
        return self._each(pairs, lambda pair: self.complete(*pair))

    def release_many(self, entries: Sequence[ManifestEntry], error: BaseException) -> list[None | Exception]:
        return self._each(entries, lambda entry: self.release(entry, error))

    def _each(self, items: Sequence[T], call: Callable[[T], R]) -> list[R | Exception]:
        def safe(item: T) -> R | Exception:
            try:
                return call(item)
            except Exception as exc:  # reported per item by the caller
                return exc

        if len(items) <= 1 or self.workers == 1:
            return [safe(item) for item in items]
        with ThreadPoolExecutor(max_workers=min(self.workers, len(items))) as pool:
            return list(pool.map(safe, items))


def _classify(record: DataRecord) -> Claim | None:
    """COMPLETED -> DONE, live INPROGRESS -> IN_FLIGHT, expired -> None (claim it again)."""
    status = record.status
    if status == STATUS_CONSTANTS["COMPLETED"]:
        return Claim.DONE
    if status == STATUS_CONSTANTS["INPROGRESS"]:
        deadline = record.in_progress_expiry_timestamp
        now_ms = int(dt.datetime.now().timestamp() * 1000)
        if deadline is None or deadline >= now_ms:
            return Claim.IN_FLIGHT
    return None
