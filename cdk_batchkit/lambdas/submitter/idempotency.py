"""Exactly-once submission per S3 event: claims and job records in DynamoDB, written in batches.

Two kinds of record share the idempotency table (partition key ``id``; ``expiration`` is its TTL
attribute, as the construct configures it):

* an **object record** per S3 event, ``id = "object#" + sha256(bucket, key, version id or ETag,
  sequencer)``. Nothing else goes into the key: duplicate detection does not depend on the function's
  name (renaming or replacing the function keeps it), nor on the queue or job definition. Written by a
  **claim** before the event's job is submitted: ``status`` INPROGRESS, ``job_name`` (the job it goes
  into), ``owner`` (the invocation's token) and ``in_progress_expiration`` (the claim's lease: the
  invocation's deadline, epoch milliseconds). It stays so until its TTL: whether its job was submitted
  is answered by the job record.
* a **job record** per submitted job, ``id = "job#" + job name``, status COMPLETED, ``data`` holding
  the job id: written after SubmitJob succeeded (or after a lookup found the job).

A claim of a new object is a Put with ``attribute_not_exists(id)``; many go into one
``TransactWriteItems`` (up to 100 items; a single claim is a plain conditional PutItem, at half the
write units). A transaction is all or nothing, so when some claims conflict the transaction is cancelled,
DynamoDB says which (``CancellationReasons``, with the existing item: ``ReturnValuesOnConditionCheckFailure
= ALL_OLD``), and the others are written again without them. A conflicting object record is then:

* DONE when its job record exists (a duplicate event);
* IN_FLIGHT while its lease runs (another invocation is submitting it: the SQS record is retried later);
* ORPHANED when its lease is over and no job record exists: the invocation that claimed it died (or could
  not write the job record). The caller looks the recorded job name up in Batch first; found, the job is
  recorded and the object is a duplicate; not found, :meth:`Ledger.take_over` claims it again
  (conditional on the record being unchanged), so two invocations never both take it over;
* stale when past its TTL but not deleted yet (DynamoDB deletes expired items within days): claimed again.

Releasing (the submission certainly did not happen) deletes the claims, conditional on their owner.

Why not Powertools' idempotency utility (the previous design, issue 19): it writes one record per call
(two DynamoDB requests per object, about 3.4 ms of CPU per object through botocore and Powertools), it
cannot batch, and its key embeds ``AWS_LAMBDA_FUNCTION_NAME``. This ledger keeps its guarantees (a
conditional claim before any submission, the lease, completion after it) in batches, and one job record
replaces a completion write per object. Records written by the previous version (keys
``<function name>.submitter.submit#<md5>``) can be honoured during an upgrade: see :meth:`Ledger.legacy`.
"""

from __future__ import annotations

import enum
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from .core import idempotency_data, identity
from .manifest import ManifestEntry

KEY_ATTR = "id"
EXPIRY_ATTR = "expiration"
STATUS_ATTR = "status"
LEASE_ATTR = "in_progress_expiration"
DATA_ATTR = "data"
#: The job name a claim's object goes into.
JOB_NAME_ATTR = "job_name"
#: The token of the invocation that holds a claim.
OWNER_ATTR = "owner"
INPROGRESS = "INPROGRESS"
COMPLETED = "COMPLETED"
OBJECT_PREFIX = "object#"
JOB_PREFIX = "job#"
#: TransactWriteItems takes at most 100 actions
#: (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html).
TRANSACTION_MAX = 100
#: Rounds of a batched write: the first, then the items cancelled with a conflicting sibling or
#: throttled, and so on.
WRITE_ROUNDS = 4
#: Job record (PutItem) attempts on top of the DynamoDB client's own retries, and the first backoff.
RECORD_ATTEMPTS = 4
BACKOFF_SECONDS = 0.2
#: The previous version's key: ``<AWS_LAMBDA_FUNCTION_NAME>.submitter.submit#<md5 of the identity>``.
LEGACY_KEY_SUFFIX = ".submitter.submit"


class Claim(enum.Enum):
    NEW = "new"  # this invocation owns the object: submit it under the name it claimed with
    DONE = "done"  # already submitted: a duplicate event
    IN_FLIGHT = "in_flight"  # another invocation holds a live claim: retry later
    ORPHANED = "orphaned"  # a dead claim with no job recorded: look ``previous_job`` up first


class Claimed:
    """A claim's outcome; ``previous_job``: the job name an ORPHANED (or legacy) record names."""

    __slots__ = ("status", "previous_job")

    def __init__(self, status: Claim, previous_job: str | None = None) -> None:
        self.status = status
        self.previous_job = previous_job

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Claimed):
            return NotImplemented
        return (self.status, self.previous_job) == (other.status, other.previous_job)

    def __hash__(self) -> int:
        return hash((self.status, self.previous_job))

    def __repr__(self) -> str:
        return f"Claimed({self.status}, {self.previous_job!r})"


def object_key(entry: ManifestEntry) -> str:
    digest = hashlib.sha256("\0".join(identity(entry)).encode("utf-8", errors="surrogatepass")).hexdigest()
    return OBJECT_PREFIX + digest


def job_key(name: str) -> str:
    return JOB_PREFIX + name


def legacy_key(entry: ManifestEntry, function_name: str) -> str:
    """The key Powertools' idempotency utility gave the event in the previous version."""
    data = json.dumps(idempotency_data(entry), sort_keys=True).encode()
    return f"{function_name}{LEGACY_KEY_SUFFIX}#{hashlib.md5(data).hexdigest()}"  # noqa: S324 - their key


class _Conflict:
    """A write whose condition failed; ``item``: the record DynamoDB returned (None when absent)."""

    __slots__ = ("item",)

    def __init__(self, item: dict[str, Any] | None) -> None:
        self.item = item


_PENDING = object()
Outcome = None | _Conflict | Exception


class Ledger:
    def __init__(
        self,
        client: Any,
        table: str,
        *,
        ttl_seconds: int,
        owner: str = "",
        legacy_function: str = "",
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.table = table
        self.ttl_seconds = ttl_seconds
        self.owner = owner
        #: The function name of the previous version's records to honour (empty: none).
        self.legacy_function = legacy_function
        self._clock = clock
        self._sleep = sleep
        self._jobs_seen: dict[str, bool] = {}

    # -- claims --------------------------------------------------------------------------------------

    def claim(
        self, entries: Sequence[ManifestEntry], names: Sequence[str], remaining_ms: int
    ) -> list[Claimed | Exception]:
        """Claim each entry for the job named alongside it, until the invocation's deadline."""
        now = self._clock()
        lease = int(now * 1000) + max(0, remaining_ms)
        keys = [object_key(entry) for entry in entries]
        items = [self._claim_item(key, name, lease, now) for key, name in zip(keys, names, strict=True)]
        results: list[Claimed | Exception | None] = [None] * len(entries)
        ops = [self._put(item, "attribute_not_exists(#id)", {"#id": KEY_ATTR}, {}) for item in items]
        stale: list[int] = []
        for index, outcome in enumerate(self._write(ops)):
            results[index] = self._classify(outcome, items[index], now, stale, index)
        if stale:  # past their TTL, not deleted yet: claim them again, on that condition
            values = {":now": {"N": str(int(now))}}
            retry = [self._put(items[i], "#exp < :now", {"#exp": EXPIRY_ATTR}, values) for i in stale]
            for index, outcome in zip(stale, self._write(retry), strict=True):
                again: list[int] = []
                results[index] = self._classify(outcome, items[index], now, again, index)
                if again:  # expired a second time in between: someone else's problem now
                    results[index] = Claimed(Claim.IN_FLIGHT)
        return self._done(results)

    def take_over(
        self, entries: Sequence[ManifestEntry], previous: str, names: Sequence[str], remaining_ms: int
    ) -> list[Claimed | Exception]:
        """Claim ORPHANED entries whose job ``previous`` the caller looked up and did not find.

        Conditional on each record still naming ``previous`` with its lease over, so that of two
        invocations taking the same orphan over, one wins and the other sees IN_FLIGHT.
        """
        now = self._clock()
        lease = int(now * 1000) + max(0, remaining_ms)
        items = [
            self._claim_item(object_key(entry), name, lease, now)
            for entry, name in zip(entries, names, strict=True)
        ]
        condition = "#job = :previous AND #lease < :now_ms"
        attribute_names = {"#job": JOB_NAME_ATTR, "#lease": LEASE_ATTR}
        values = {":previous": {"S": previous}, ":now_ms": {"N": str(int(now * 1000))}}
        ops = [self._put(item, condition, attribute_names, values) for item in items]
        results: list[Claimed | Exception | None] = []
        for index, outcome in enumerate(self._write(ops)):
            claimed = self._classify(outcome, items[index], now, [], index)
            if isinstance(claimed, Claimed) and claimed.status is Claim.ORPHANED:
                claimed = Claimed(Claim.IN_FLIGHT)  # changed under us: leave it to the next delivery
            results.append(claimed)
        return self._done(results)

    def release(self, entries: Sequence[ManifestEntry]) -> list[Exception | None]:
        """Delete this invocation's claims of ``entries`` (their submission certainly did not happen)."""
        ops = [
            {
                "Delete": {
                    "TableName": self.table,
                    "Key": {KEY_ATTR: {"S": object_key(entry)}},
                    "ConditionExpression": "#owner = :owner",
                    "ExpressionAttributeNames": {"#owner": OWNER_ATTR},
                    "ExpressionAttributeValues": {":owner": {"S": self.owner}},
                }
            }
            for entry in entries
        ]
        # A failed condition: the claim is no longer this invocation's, nothing to release.
        return [outcome if isinstance(outcome, Exception) else None for outcome in self._write(ops)]

    # -- job records ---------------------------------------------------------------------------------

    def record_job(self, name: str, result: dict[str, Any]) -> None:
        """Record that job ``name`` exists (retried with backoff; raises after the last attempt)."""
        item = {
            KEY_ATTR: {"S": job_key(name)},
            STATUS_ATTR: {"S": COMPLETED},
            EXPIRY_ATTR: {"N": str(int(self._clock()) + self.ttl_seconds)},
            DATA_ATTR: {"S": json.dumps(result, sort_keys=True)},
        }
        delay = BACKOFF_SECONDS
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            try:
                self.client.put_item(TableName=self.table, Item=item)
                return
            except Exception:
                if attempt == RECORD_ATTEMPTS:
                    raise
                self._sleep(delay)
                delay *= 2

    def _recorded(self, name: str) -> bool:
        """:meth:`job_recorded`, asked once per job name per invocation (a redelivered batch of 1,000
        objects that went into one job costs one read, not 1,000). A job found recorded stays so; one
        not found yet is at worst looked up in Batch by the caller."""
        known = self._jobs_seen.get(name)
        if known is None:
            known = self._jobs_seen[name] = self.job_recorded(name)
        return known

    def job_recorded(self, name: str) -> bool:
        """True when job ``name`` has a (live) job record."""
        response = self.client.get_item(
            TableName=self.table, Key={KEY_ATTR: {"S": job_key(name)}}, ConsistentRead=True
        )
        item = response.get("Item")
        return bool(item) and not _expired(item, self._clock())

    # -- records of the previous version -------------------------------------------------------------

    def legacy(self, entries: Sequence[ManifestEntry]) -> list[Claimed | None]:
        """What the previous version's records say about ``entries`` (None: nothing to honour).

        Only with ``legacy_function`` set (``LEGACY_IDEMPOTENCY_FUNCTION``, for the records' TTL after an
        upgrade): COMPLETED -> DONE, a live in-progress record -> IN_FLIGHT, an expired one -> ORPHANED
        with the job name it recorded (look it up before claiming), anything else -> None.
        Strongly consistent reads, 100 per ``TransactGetItems`` call.
        """
        if not self.legacy_function or not entries:
            return [None] * len(entries)
        keys = [legacy_key(entry, self.legacy_function) for entry in entries]
        items: list[dict[str, Any] | None] = []
        for start in range(0, len(keys), TRANSACTION_MAX):
            chunk = keys[start : start + TRANSACTION_MAX]
            response = self.client.transact_get_items(
                TransactItems=[{"Get": {"TableName": self.table, "Key": {KEY_ATTR: {"S": k}}}} for k in chunk]
            )
            responses = response.get("Responses") or [{} for _ in chunk]
            items.extend(entry.get("Item") for entry in responses)
        now = self._clock()
        results: list[Claimed | None] = []
        for item in items:
            if not item or _expired(item, now):
                results.append(None)
            elif _text(item, STATUS_ATTR) == COMPLETED:
                results.append(Claimed(Claim.DONE))
            elif _number(item, LEASE_ATTR) >= now * 1000:
                results.append(Claimed(Claim.IN_FLIGHT))
            else:
                results.append(Claimed(Claim.ORPHANED, _text(item, JOB_NAME_ATTR) or None))
        return results

    # -- internals -----------------------------------------------------------------------------------

    def _claim_item(self, key: str, name: str, lease_ms: int, now: float) -> dict[str, Any]:
        return {
            KEY_ATTR: {"S": key},
            STATUS_ATTR: {"S": INPROGRESS},
            JOB_NAME_ATTR: {"S": name},
            OWNER_ATTR: {"S": self.owner},
            LEASE_ATTR: {"N": str(lease_ms)},
            EXPIRY_ATTR: {"N": str(int(now) + self.ttl_seconds)},
        }

    def _put(
        self, item: dict[str, Any], condition: str, names: dict[str, str], values: dict[str, Any]
    ) -> dict[str, Any]:
        put: dict[str, Any] = {
            "TableName": self.table,
            "Item": item,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if values:
            put["ExpressionAttributeValues"] = values
        return {"Put": put}

    def _classify(
        self, outcome: Outcome, mine: dict[str, Any], now: float, stale: list[int], index: int
    ) -> Claimed | Exception:
        if outcome is None:
            return Claimed(Claim.NEW)
        if isinstance(outcome, Exception):
            return outcome
        item = outcome.item
        if item is None:  # the condition failed on a record that is gone now: next delivery
            return Claimed(Claim.IN_FLIGHT)
        if _text(item, OWNER_ATTR) == self.owner and _text(item, JOB_NAME_ATTR) == _text(mine, JOB_NAME_ATTR):
            return Claimed(Claim.NEW)  # our own claim: a retried request whose first attempt landed
        if _expired(item, now):
            stale.append(index)
            return Claimed(Claim.IN_FLIGHT)  # replaced by the caller
        if _text(item, STATUS_ATTR) == COMPLETED:
            return Claimed(Claim.DONE)
        previous = _text(item, JOB_NAME_ATTR)
        try:
            if previous and self._recorded(previous):
                return Claimed(Claim.DONE)
        except Exception as exc:
            return exc
        if _number(item, LEASE_ATTR) >= now * 1000:
            return Claimed(Claim.IN_FLIGHT)
        return Claimed(Claim.ORPHANED, previous or None)

    @staticmethod
    def _done(results: Sequence[Claimed | Exception | None]) -> list[Claimed | Exception]:
        return [result if result is not None else Claimed(Claim.IN_FLIGHT) for result in results]

    def _write(self, ops: Sequence[dict[str, Any]]) -> list[Outcome]:
        """Write ``ops`` (TransactWriteItems actions), :data:`TRANSACTION_MAX` per transaction.

        Returns per action: None (written), a :class:`_Conflict` (its condition failed) or the exception
        that stopped it. A transaction cancelled for some actions is sent again without them.
        """
        results: list[Any] = [_PENDING] * len(ops)
        pending = list(range(len(ops)))
        for round_ in range(WRITE_ROUNDS):
            if not pending:
                break
            retry: list[int] = []
            slow_down = False
            for start in range(0, len(pending), TRANSACTION_MAX):
                chunk = pending[start : start + TRANSACTION_MAX]
                if len(chunk) == 1:
                    slow_down |= self._write_one(chunk[0], ops[chunk[0]], results, retry)
                else:
                    slow_down |= self._write_many(chunk, ops, results, retry)
            pending = retry
            if pending and slow_down and round_ + 1 < WRITE_ROUNDS:
                self._sleep(BACKOFF_SECONDS * 2**round_)
        for index in pending:
            results[index] = RuntimeError(f"not written after {WRITE_ROUNDS} rounds (transaction conflicts)")
        return results

    def _write_one(self, index: int, op: dict[str, Any], results: list[Any], retry: list[int]) -> bool:
        ((kind, request),) = op.items()
        call = self.client.put_item if kind == "Put" else self.client.delete_item
        try:
            call(**request)
            results[index] = None
        except Exception as exc:
            response = getattr(exc, "response", None) or {}
            if response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                results[index] = _Conflict(response.get("Item"))
            else:
                results[index] = exc  # botocore already retried what it could
        return False

    def _write_many(
        self, chunk: list[int], ops: Sequence[dict[str, Any]], results: list[Any], retry: list[int]
    ) -> bool:
        try:
            # botocore fills in ClientRequestToken and reuses it on its own retries, so a retried
            # transaction whose first attempt was applied succeeds without writing twice.
            self.client.transact_write_items(TransactItems=[ops[index] for index in chunk])
        except Exception as exc:
            response = getattr(exc, "response", None) or {}
            reasons = response.get("CancellationReasons") or []
            if response.get("Error", {}).get("Code") != "TransactionCanceledException" or len(reasons) != len(
                chunk
            ):
                for index in chunk:
                    results[index] = exc
                return False
            slow_down = False
            for index, reason in zip(chunk, reasons, strict=True):
                code = reason.get("Code")
                if code == "ConditionalCheckFailed":
                    results[index] = _Conflict(reason.get("Item"))
                else:  # "None": cancelled for a sibling; TransactionConflict, throttling: again
                    retry.append(index)
                    slow_down |= code not in (None, "None")
            return slow_down
        for index in chunk:
            results[index] = None
        return False


def _text(item: dict[str, Any], name: str) -> str:
    value = item.get(name) or {}
    return str(value.get("S", "")) if isinstance(value, dict) else ""


def _number(item: dict[str, Any], name: str) -> float:
    value = item.get(name) or {}
    try:
        return float(value.get("N", 0)) if isinstance(value, dict) else 0.0
    except (TypeError, ValueError):
        return 0.0


def _expired(item: dict[str, Any], now: float) -> bool:
    """Past its TTL (DynamoDB deletes such items eventually, not at once)."""
    expiry = _number(item, EXPIRY_ATTR)
    return bool(expiry) and expiry < now
