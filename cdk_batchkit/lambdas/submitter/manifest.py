"""The job-side contract between the S3 submitter and the job code (standard library only).

PER_OBJECT mode: one job per object. The object is passed twice: as job parameters
(``bucket``, ``key``, ``size``, ``version``; usable as ``Ref::key`` in a command) and as
environment variables (:data:`ENV_BUCKET`, :data:`ENV_KEY`, :data:`ENV_SIZE`, :data:`ENV_VERSION`).

ARRAY mode: the objects of one SQS batch become one array job. The submitter writes a
JSON-lines manifest (one :class:`ManifestEntry` per line, in array-index order) and passes
its ``s3://`` URI as the job parameter ``manifest`` and the environment variable
:data:`ENV_MANIFEST`; child ``i`` (``AWS_BATCH_JOB_ARRAY_INDEX``) owns line ``i``. A batch of
one object becomes a plain job with a one-line manifest and the PER_OBJECT variables too.

Keys are always the real, decoded object key (S3 events carry them URL-encoded).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote_plus

ENV_MANIFEST = "BATCHKIT_MANIFEST"
ENV_BUCKET = "BATCHKIT_BUCKET"
ENV_KEY = "BATCHKIT_KEY"
ENV_SIZE = "BATCHKIT_SIZE"
ENV_VERSION = "BATCHKIT_VERSION_ID"
ENV_ARRAY_INDEX = "AWS_BATCH_JOB_ARRAY_INDEX"
#: ``url`` when BATCHKIT_KEY holds the key URL-encoded, as S3 puts it in events (the no-code
#: ``S3JobRule`` and workflows started by S3 events pass it on untouched); absent: the real key.
ENV_KEY_ENCODING = "BATCHKIT_KEY_ENCODING"

#: Job parameter names (``Ref::<name>`` in a job definition's command).
PARAM_MANIFEST = "manifest"
PARAM_COUNT = "count"
PARAM_BUCKET = "bucket"
PARAM_KEY = "key"
PARAM_SIZE = "size"
PARAM_VERSION = "version"


class ManifestError(ValueError):
    """A manifest (or a line of one) that is not what the submitter writes; the message says where."""


@dataclass(frozen=True)
class ManifestEntry:
    """One object: one manifest line, or one PER_OBJECT job."""

    bucket: str
    key: str
    size: int
    version_id: str | None = None
    etag: str | None = None
    sequencer: str | None = None
    event_time: str | None = None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def to_json(self) -> str:
        # The fields in sorted order, as a literal: dataclasses.asdict deep-copies (slow per line).
        data = {
            "bucket": self.bucket,
            "etag": self.etag,
            "event_time": self.event_time,
            "key": self.key,
            "sequencer": self.sequencer,
            "size": self.size,
            "version_id": self.version_id,
        }
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str | bytes, *, where: str = "the manifest line") -> ManifestEntry:
        """One manifest line; :class:`ManifestError` naming ``where`` for anything that is not one."""
        try:
            data = json.loads(line)
        except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
            reason = f"{exc.msg} at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else str(exc)
            raise ManifestError(f"{where} is not JSON ({reason}): is the manifest truncated?") from None
        if not isinstance(data, dict):
            raise ManifestError(f"{where} is JSON {type(data).__name__}, not an object")
        for name in ("bucket", "key"):
            value = data.get(name)
            if not isinstance(value, str) or not value:
                raise ManifestError(f"{where} has no {name!r} (got {value!r})")
        size = data.get("size")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ManifestError(f"{where} has no valid 'size' (got {size!r}): expected a whole number >= 0")
        optional: dict[str, str | None] = {}
        for name in ("version_id", "etag", "sequencer", "event_time"):
            value = data.get(name)
            if value is not None and not isinstance(value, str):
                raise ManifestError(f"{where} has an invalid {name!r} (got {value!r}): expected a string")
            optional[name] = value
        return cls(bucket=data["bucket"], key=data["key"], size=size, **optional)

    def parameters(self) -> dict[str, str]:
        """PER_OBJECT job parameters (Batch parameters are strings)."""
        return {
            PARAM_BUCKET: self.bucket,
            PARAM_KEY: self.key,
            PARAM_SIZE: str(self.size),
            PARAM_VERSION: self.version_id or "",
        }

    def environment(self) -> dict[str, str]:
        """PER_OBJECT container environment."""
        return {
            ENV_BUCKET: self.bucket,
            ENV_KEY: self.key,
            ENV_SIZE: str(self.size),
            ENV_VERSION: self.version_id or "",
        }


def encode(entries: Iterable[ManifestEntry]) -> bytes:
    """The manifest body: one JSON object per line, UTF-8, newline-terminated."""
    return "".join(entry.to_json() + "\n" for entry in entries).encode("utf-8")


def entry_at(lines: Iterable[str | bytes], index: int, *, source: str = "the manifest") -> ManifestEntry:
    """Line ``index`` (0-based) of a manifest, read as a stream; errors name ``source`` and the line."""
    if index < 0:
        raise ValueError(f"array index {index} is invalid: must be >= 0")
    count = 0
    for count, line in enumerate(lines, start=1):
        if count - 1 == index:
            return ManifestEntry.from_json(line, where=f"{source} line {count} (array index {index})")
    raise IndexError(f"{source} has no line {index}: it has {count} line(s)")


def parse_line(line: str | bytes, *, where: str = "the manifest line") -> ManifestEntry:
    """One manifest line, as ``StreamingBody.iter_lines()`` yields it, as its entry (:class:`ManifestError`
    naming ``where`` for a line that is not one)."""
    return ManifestEntry.from_json(line, where=where)


def entries(lines: Iterable[str | bytes], *, source: str = "the manifest") -> list[ManifestEntry]:
    """Every entry of a manifest, read as :func:`entry_at` reads it: ``lines`` from the S3 body's
    ``iter_lines()``, which splits on ``\\n`` and ``\\r`` only (``str.splitlines`` would also split
    on U+2028, U+0085 and the like, which keys may contain and JSON leaves unescaped)."""
    return [parse_line(line, where=f"{source} line {n}") for n, line in enumerate(lines, start=1)]


def split_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key)."""
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ValueError(f"{ENV_MANIFEST}={uri!r} is invalid: expected s3://bucket/key")
    bucket, key = uri[5:].split("/", 1)
    return bucket, key


def entry_from_environment(environ: Mapping[str, str]) -> ManifestEntry | None:
    """The PER_OBJECT object from the environment, or None if the variables are absent."""
    if ENV_BUCKET not in environ or ENV_KEY not in environ:
        return None
    key = environ[ENV_KEY]
    encoding = environ.get(ENV_KEY_ENCODING, "")
    if encoding == "url":
        key = unquote_plus(key)
    elif encoding:
        raise ValueError(f"{ENV_KEY_ENCODING}={encoding!r} is invalid: use 'url' or leave it unset")
    for name in (ENV_BUCKET, ENV_KEY):
        if not environ[name]:
            raise ValueError(
                f"{name} is set but empty: expected the object's {name.removeprefix('BATCHKIT_').lower()}"
            )
    size_text = environ.get(ENV_SIZE) or "0"
    try:
        size = int(size_text)
    except ValueError:
        size = -1
    if size < 0:
        raise ValueError(
            f"{ENV_SIZE}={size_text!r} is invalid: expected the object's size in bytes, a whole number"
        )
    return ManifestEntry(
        bucket=environ[ENV_BUCKET],
        key=key,
        size=size,
        version_id=environ.get(ENV_VERSION) or None,
    )
