"""Exactly-once submission per S3 event, on Powertools' idempotency persistence layer (DynamoDB).

Powertools' ``@idempotent_function`` wraps one call; ARRAY mode submits many objects in one call, so
this ledger drives the same persistence layer step by step, exactly as ``IdempotencyHandler`` does:

1. ``claim``: ``save_inprogress`` (a conditional PutItem). It fails when a live record exists; then
   COMPLETED means a duplicate (skip it), INPROGRESS means another invocation holds it (fail the SQS
   record so it is redelivered later, never submitted twice). An expired record is claimed again.
2. ``complete``: ``save_success`` (UpdateItem) once the job is submitted.
3. ``release``: ``delete_record`` (DeleteItem) when the submission failed, so the SQS retry can submit.

Records use Powertools' table layout (``id``, ``expiration``, ``status``, ``data``,
``in_progress_expiration``). The in-progress expiry is the invocation's deadline, so a record left by
a crashed invocation is claimable again by the redelivery. Many entries are processed concurrently
(boto3 clients are thread-safe): per-item DynamoDB latency, not the Batch API, is what bounds an
ARRAY batch of thousands of objects.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer, IdempotencyConfig
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import STATUS_CONSTANTS, DataRecord

from .core import idempotency_data
from .manifest import ManifestEntry

#: Part of every idempotency key (Powertools: ``<function name>.<this>#<md5 of the event identity>``).
FUNCTION_NAME = "submitter.submit"
DEFAULT_WORKERS = 16
_ATTEMPTS = 3
T = TypeVar("T")
R = TypeVar("R")


class Claim(enum.Enum):
    NEW = "new"  # this invocation owns the object: submit it
    DONE = "done"  # already submitted: a duplicate event
    IN_FLIGHT = "in_flight"  # another invocation is submitting it right now


class Ledger:
    def __init__(
        self,
        persistence: BasePersistenceLayer,
        *,
        ttl_seconds: int,
        workers: int = DEFAULT_WORKERS,
    ) -> None:
        self.persistence = persistence
        self.workers = max(1, workers)
        persistence.configure(
            IdempotencyConfig(expires_after_seconds=ttl_seconds, raise_on_no_idempotency_key=True),
            function_name=FUNCTION_NAME,
        )

    # -- one entry (Powertools calls) ----------------------------------------------------------------

    def claim(self, entry: ManifestEntry, remaining_ms: int) -> Claim:
        data = idempotency_data(entry)
        for _ in range(_ATTEMPTS):
            try:
                self.persistence.save_inprogress(data=data, remaining_time_in_millis=remaining_ms)
                return Claim.NEW
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
                    return claim
        return Claim.IN_FLIGHT

    def complete(self, entry: ManifestEntry, result: dict[str, Any]) -> None:
        self.persistence.save_success(data=idempotency_data(entry), result=result)

    def release(self, entry: ManifestEntry, error: BaseException) -> None:
        self.persistence.delete_record(data=idempotency_data(entry), exception=error)  # type: ignore[arg-type]

    # -- many entries, concurrently ------------------------------------------------------------------

    def claim_many(self, entries: Sequence[ManifestEntry], remaining_ms: int) -> list[Claim | Exception]:
        return self._each(entries, lambda entry: self.claim(entry, remaining_ms))

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
