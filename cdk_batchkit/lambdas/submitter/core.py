"""Pure submitter logic (no AWS calls): parse SQS bodies into objects, name jobs, plan submissions.

Accepted SQS message bodies
---------------------------
* an EventBridge ``Object Created`` event from S3 (S3 -> EventBridge rule -> SQS, the construct's path);
* a classic S3 notification ``{"Records": [...]}`` (S3 -> SQS directly); one message may carry several
  records, each becomes one object;
* ``{"Event": "s3:TestEvent", ...}``, sent by S3 when a notification is configured;
* any of these inside an SNS notification (S3 or EventBridge -> SNS topic -> SQS subscription). With raw
  message delivery the body is the message itself (above); without it, the body is SNS's JSON envelope
  (``"Type": "Notification"``, ``"TopicArn"``, the message as a string in ``"Message"``), unwrapped
  once here. The object's identity (bucket, key, version, sequencer) does not depend on the envelope,
  so the same S3 event delivered raw, wrapped, or both is submitted once. SNS subscription and
  unsubscribe confirmations are skipped.

Object keys: classic S3 notifications carry keys URL-encoded (``+`` for a space, ``%2B`` for a literal
plus), as the S3 user guide documents; they are decoded exactly once. For EventBridge events nothing is
documented (Powertools decodes them; a published real event shows raw characters), so the handler does
not guess: a key that reads differently decoded and raw (it contains ``+`` or ``%``) gets both readings
as candidates (:attr:`Parsed.candidates`), and the submitter resolves it against S3 (HeadObject, matched
by version id or ETag) before submitting anything; an unresolvable key is reported failed, not submitted.

Bad input and skip policy
-------------------------
Bad input is never dropped and never fails the good records of its batch. It is logged (one line naming
the SQS message id and the reason), counted in ``RecordsFailed`` and reported in ``batchItemFailures``,
so SQS redelivers it and finally moves it to the dead-letter queue where someone can look at it:

* a body that is not JSON;
* JSON that is not an S3 event (or an S3 event missing the bucket, key or size);
* a key longer than S3's limit (1024 bytes of UTF-8).

Input that is valid but has nothing to do is acknowledged, logged and counted in ``RecordsSkipped``:

* ``s3:TestEvent`` messages;
* S3 events other than Object Created (the EventBridge rule and the notification only send those);
* folder markers (a key ending in ``/`` with size 0);
* zero-byte objects, when ``SKIP_EMPTY_OBJECTS`` is true (the default).

A message carrying several classic records is failed if any of its records is bad; its good records
are still submitted (idempotency makes the redelivery skip them).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import unquote_plus

from .manifest import ENV_MANIFEST, PARAM_COUNT, PARAM_MANIFEST, ManifestEntry, encode
from .overrides import consumables_override, environment_list, overrides_for

#: S3's limit on the length of an object key, in bytes of UTF-8.
S3_KEY_MAX_BYTES = 1024
#: AWS Batch job names: 1-128 letters, digits, '-' and '_', starting with a letter or digit.
JOB_NAME_MAX = 128
JOB_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
#: Batch array jobs hold 2 to 10,000 children.
ARRAY_MIN, ARRAY_MAX = 2, 10_000
_HASH_CHARS = 12
_NOT_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]+")


class Parsed:
    """What one SQS message body holds: objects to submit, skipped items and errors (reasons).

    (A plain class, like the runtime's other internal values: a dataclass costs about a millisecond of
    every cold start to create.)
    """

    __slots__ = ("entries", "skipped", "errors", "candidates")

    def __init__(self) -> None:
        self.entries: list[ManifestEntry] = []
        self.skipped: list[str] = []
        self.errors: list[str] = []
        #: index in ``entries`` -> the keys that entry's object may have (decoded reading first, then
        #: raw), for EventBridge keys that read differently decoded and raw: resolve before submitting.
        self.candidates: dict[int, tuple[str, ...]] = {}


#: SNS envelope types sent to a subscribed queue besides notifications (nothing to submit).
SNS_CONTROL_TYPES = ("SubscriptionConfirmation", "UnsubscribeConfirmation")


def parse_body(body: str | None, *, skip_empty: bool = True) -> Parsed:
    """Classify one SQS message body (see the module docstring for the policy)."""
    parsed = Parsed()
    if not body:
        parsed.errors.append("the message body is empty")
        return parsed
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        parsed.errors.append(f"the body is not JSON ({exc.msg} at position {exc.pos})")
        return parsed
    if _is_sns_envelope(data):
        if data["Type"] in SNS_CONTROL_TYPES:
            parsed.skipped.append(f"SNS {data['Type']} from {data.get('TopicArn')}")
            return parsed
        message = data.get("Message")
        if not isinstance(message, str) or not message:
            parsed.errors.append(f"the SNS notification from {data.get('TopicArn')} has no Message")
            return parsed
        try:
            data = json.loads(message)
        except json.JSONDecodeError as exc:
            parsed.errors.append(f"the SNS Message is not JSON ({exc.msg} at position {exc.pos})")
            return parsed
        if _is_sns_envelope(data):
            parsed.errors.append("the SNS Message is itself an SNS envelope (only one is unwrapped)")
            return parsed
    if not isinstance(data, dict):
        parsed.errors.append(f"the body is JSON {type(data).__name__}, not an S3 event")
    elif data.get("Event") == "s3:TestEvent":
        parsed.skipped.append("s3:TestEvent")
    elif data.get("source") == "aws.s3" and isinstance(data.get("detail"), dict):
        _parse_eventbridge(data, parsed, skip_empty)
    elif isinstance(data.get("Records"), list) and data["Records"]:
        for index, record in enumerate(data["Records"]):
            _parse_notification_record(record, index, parsed, skip_empty)
    else:
        keys = ", ".join(sorted(map(str, data))[:5]) or "none"
        parsed.errors.append(f"the body is not an S3 event (top-level keys: {keys})")
    return parsed


def _is_sns_envelope(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and data.get("Type") in ("Notification", *SNS_CONTROL_TYPES)
        and isinstance(data.get("TopicArn"), str)
    )


def _parse_eventbridge(data: dict[str, Any], parsed: Parsed, skip_empty: bool) -> None:
    # Plain dictionary reads (the shape of Powertools' S3EventBridgeNotificationEvent, without its
    # wrapper objects per field: this runs once per object, thousands of times per invocation).
    detail_type = data.get("detail-type")
    if detail_type != "Object Created":
        parsed.skipped.append(f"EventBridge detail-type {detail_type!r} is not 'Object Created'")
        return
    detail = data["detail"]
    try:
        raw_object = detail["object"]
        entry = _entry(
            bucket=detail["bucket"]["name"],
            key=unquote_plus(raw_object["key"]),  # as Powertools reads it: the one decoding
            size=raw_object.get("size"),
            version_id=raw_object.get("version-id"),
            etag=raw_object.get("etag"),
            sequencer=raw_object.get("sequencer"),
            event_time=data.get("time"),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        parsed.errors.append(f"the EventBridge S3 event lacks {exc}")
        return
    except ValueError as exc:
        parsed.errors.append(str(exc))
        return
    accepted = len(parsed.entries)
    _accept(entry, parsed, skip_empty)
    raw_key = raw_object.get("key")
    if len(parsed.entries) > accepted and isinstance(raw_key, str) and raw_key != entry.key:
        parsed.candidates[accepted] = (entry.key, raw_key)


def _parse_notification_record(record: Any, index: int, parsed: Parsed, skip_empty: bool) -> None:
    where = f"Records[{index}]"
    if not isinstance(record, dict) or record.get("eventSource") != "aws:s3":
        parsed.errors.append(f"{where} is not an S3 event record")
        return
    event_name = str(record.get("eventName", ""))
    if not event_name.startswith("ObjectCreated:"):
        parsed.skipped.append(f"{where} eventName {event_name!r} is not ObjectCreated:*")
        return
    try:
        message = record["s3"]
        # Intelligent-Tiering events name the object 'get_object' (as Powertools' S3Message reads it).
        obj = message.get("get_object") or message["object"]
        entry = _entry(
            bucket=message["bucket"]["name"],
            key=unquote_plus(obj["key"]),  # the one decoding: the raw key is URL-encoded
            size=obj.get("size"),
            version_id=obj.get("versionId"),
            etag=obj.get("eTag"),
            sequencer=obj.get("sequencer"),
            event_time=record.get("eventTime"),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        parsed.errors.append(f"{where} lacks {exc}")
        return
    except ValueError as exc:
        parsed.errors.append(f"{where}: {exc}")
        return
    _accept(entry, parsed, skip_empty)


def _entry(
    *,
    bucket: Any,
    key: Any,
    size: Any,
    version_id: Any,
    etag: Any,
    sequencer: Any,
    event_time: Any,
) -> ManifestEntry:
    if not isinstance(bucket, str) or not bucket:
        raise ValueError("the S3 event has no bucket name")
    if not isinstance(key, str) or not key:
        raise ValueError("the S3 event has no object key")
    key_bytes = len(key.encode("utf-8", errors="surrogatepass"))
    if key_bytes > S3_KEY_MAX_BYTES:
        raise ValueError(f"the key is {key_bytes} bytes of UTF-8, over S3's limit of {S3_KEY_MAX_BYTES}")
    if isinstance(size, bool) or not isinstance(size, int | str):
        raise ValueError(f"the S3 event has no valid object size ({size!r})")
    try:
        size_value = int(size)
    except ValueError:
        raise ValueError(f"the S3 event has no valid object size ({size!r})") from None
    if size_value < 0:
        raise ValueError(f"the S3 event has a negative object size ({size_value})")
    return ManifestEntry(
        bucket=bucket,
        key=key,
        size=size_value,
        version_id=str(version_id) if version_id else None,
        etag=str(etag).strip('"') if etag else None,
        sequencer=str(sequencer) if sequencer else None,
        event_time=str(event_time) if event_time else None,
    )


def _accept(entry: ManifestEntry, parsed: Parsed, skip_empty: bool) -> None:
    if entry.size == 0 and entry.key.endswith("/"):
        parsed.skipped.append(f"folder marker {entry.uri}")
    elif entry.size == 0 and skip_empty:
        parsed.skipped.append(f"empty object {entry.uri} (SKIP_EMPTY_OBJECTS=true)")
    else:
        parsed.entries.append(entry)


# -- identity and names -----------------------------------------------------------------------------


def idempotency_data(entry: ManifestEntry) -> dict[str, str]:
    """What makes one S3 event unique: bucket, key, version id (or ETag when unversioned), sequencer."""
    return {
        "bucket": entry.bucket,
        "key": entry.key,
        "version": entry.version_id or entry.etag or "",
        "sequencer": entry.sequencer or "",
    }


def identity(entry: ManifestEntry) -> tuple[str, str, str, str]:
    """:func:`idempotency_data` as a tuple: bucket, key, version id or ETag, sequencer (to find duplicates
    inside one batch, and hashed into the idempotency record's key)."""
    return (entry.bucket, entry.key, entry.version_id or entry.etag or "", entry.sequencer or "")


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8", errors="surrogatepass")).hexdigest()[:_HASH_CHARS]


def _clean(text: str) -> str:
    return _NOT_NAME_CHARS.sub("-", text).strip("-_")


def job_name(entry: ManifestEntry, prefix: str = "") -> str:
    """A valid, stable Batch job name for one S3 event: cleaned tail of the key + hash of the event.

    ``prefix`` must itself be valid (checked by the configuration). Two keys that clean to the same
    text still get different names. The hash covers everything that identifies the event
    (:func:`idempotency_data`: bucket, key, version id or ETag, and the sequencer), because a name is
    also what a lookup after a crash or an ambiguous SubmitJob error finds: the same bytes uploaded
    again to an unversioned bucket have the same ETag, and only the sequencer tells the second upload's
    job from the first's.
    """
    digest = _digest(*identity(entry))
    budget = JOB_NAME_MAX - len(prefix) - 1 - len(digest)
    tail = _clean(entry.key)[-budget:] if budget > 0 else ""
    tail = tail.lstrip("-_") if not prefix else tail
    tail = tail.rstrip("-_")
    if not prefix and not tail:
        tail = "object"
    name = f"{prefix}{tail}-{digest}" if tail else f"{prefix}{digest}"
    return name[:JOB_NAME_MAX]


def array_job_name(manifest_body: bytes, count: int, prefix: str = "") -> str:
    """A stable name for an array job: its size and a hash of its manifest."""
    digest = hashlib.sha256(manifest_body).hexdigest()[:16]
    return f"{prefix}array-{count}-{digest}"


def chunk_job_name(token: str, chunk: int, prefix: str = "") -> str:
    """The ARRAY-mode job name of chunk ``chunk`` of one invocation (``token`` is unique to it).

    Known before the objects are claimed, so each claim records it: a later reclaim of any of those
    objects finds the job by this name, whatever batch the redelivery arrives in.
    """
    return f"{prefix}array-{token}-{chunk}"


# -- submission plans -------------------------------------------------------------------------------


class Manifest(NamedTuple):  # a NamedTuple costs a fraction of a dataclass at cold start
    bucket: str
    key: str
    body: bytes

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


@dataclass(frozen=True)
class JobRequest:
    """One SubmitJob call, and the manifest to write before it (ARRAY mode)."""

    job_name: str
    entries: tuple[ManifestEntry, ...]
    parameters: Mapping[str, str]
    environment: Mapping[str, str]
    array_size: int | None = None
    manifest: Manifest | None = None

    def submit_job_kwargs(
        self,
        job_queue: str,
        job_definition: str,
        *,
        share_identifier: str = "",
        scheduling_priority: int | None = None,
        override_shape: str = "containerOverrides",
        override_container: str = "",
        consumable_resources: Mapping[str, int] | None = None,
        override_target_nodes: Sequence[str] = (),
    ) -> dict[str, Any]:
        """The SubmitJob request; ``share_identifier`` (and its priority) for a fair-share queue; the
        object's variables in the override field of the definition's shape (``override_shape``, see
        :mod:`.overrides`); ``consumable_resources`` (ARN -> quantity) as a consumable override."""
        kwargs: dict[str, Any] = {
            "jobName": self.job_name,
            "jobQueue": job_queue,
            "jobDefinition": job_definition,
            "parameters": dict(self.parameters),
            **overrides_for(
                override_shape,
                container=override_container or None,
                environment=environment_list(self.environment),
                target_nodes=override_target_nodes,
            ),
            **consumables_override(consumable_resources or {}),
        }
        if self.array_size is not None:
            kwargs["arrayProperties"] = {"size": self.array_size}
        if share_identifier:
            kwargs["shareIdentifier"] = share_identifier
            if scheduling_priority is not None:
                kwargs["schedulingPriorityOverride"] = scheduling_priority
        return kwargs


def plan_object(entry: ManifestEntry, prefix: str = "") -> JobRequest:
    """PER_OBJECT: one plain job, the object as parameters and environment."""
    return JobRequest(
        job_name=job_name(entry, prefix),
        entries=(entry,),
        parameters=entry.parameters(),
        environment=entry.environment(),
    )


def plan_array(
    entries: Sequence[ManifestEntry],
    *,
    manifest_bucket: str,
    manifest_prefix: str,
    prefix: str = "",
    name: str | None = None,
) -> JobRequest:
    """ARRAY: one job for all ``entries`` (in order) with a JSON-lines manifest.

    One entry gives a plain job (Batch arrays need at least 2 children) that still gets the one-line
    manifest, plus the PER_OBJECT parameters and environment. ``name``: the job name (the submitter
    passes :func:`chunk_job_name`); default: derived from the entries.
    """
    count = len(entries)
    if not ARRAY_MIN - 1 <= count <= ARRAY_MAX:
        raise ValueError(f"an array job holds 1 to {ARRAY_MAX} objects, not {count}")
    body = encode(entries)
    if name is None:
        name = job_name(entries[0], prefix) if count == 1 else array_job_name(body, count, prefix)
    manifest = Manifest(bucket=manifest_bucket, key=f"{manifest_prefix}{name}.jsonl", body=body)
    parameters = {PARAM_MANIFEST: manifest.uri, PARAM_COUNT: str(count)}
    environment = {ENV_MANIFEST: manifest.uri}
    if count == 1:
        parameters = {**entries[0].parameters(), **parameters}
        environment = {**entries[0].environment(), **environment}
    return JobRequest(
        job_name=name,
        entries=tuple(entries),
        parameters=parameters,
        environment=environment,
        array_size=count if count >= ARRAY_MIN else None,
        manifest=manifest,
    )


# -- rate cap ---------------------------------------------------------------------------------------


class RateLimiter:
    """At most ``per_second`` acquisitions per second in this execution environment (even spacing).

    The construct sets reserved concurrency C and ``MAX_SUBMITS_PER_SECOND = account rate / C``, so all
    environments together stay under AWS Batch's account-wide SubmitJob limit.
    """

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_second <= 0:
            raise ValueError(f"per_second={per_second} is invalid: must be > 0")
        self.interval = 1.0 / per_second
        self._clock = clock
        self._sleep = sleep
        self._next: float | None = None

    def acquire(self) -> float:
        """Wait until the next submission is allowed; returns the seconds waited."""
        now = self._clock()
        waited = 0.0
        if self._next is not None and now < self._next:
            waited = self._next - now
            self._sleep(waited)
            now = self._next
        self._next = now + self.interval
        return waited

    def wait_needed(self) -> float:
        """Seconds the next :meth:`acquire` would wait (0 when it would not)."""
        if self._next is None:
            return 0.0
        return max(0.0, self._next - self._clock())
