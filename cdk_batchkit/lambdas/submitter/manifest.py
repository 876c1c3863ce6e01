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
from dataclasses import asdict, dataclass
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
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> ManifestEntry:
        data = json.loads(line)
        return cls(**{name: data.get(name) for name in cls.__dataclass_fields__})

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


def entry_at(lines: Iterable[str | bytes], index: int) -> ManifestEntry:
    """Line ``index`` (0-based) of a manifest, read as a stream."""
    if index < 0:
        raise ValueError(f"array index {index} is invalid: must be >= 0")
    count = 0
    for count, line in enumerate(lines, start=1):
        if count - 1 == index:
            return parse_line(line)
    raise IndexError(f"the manifest has no line {index}: it has {count} line(s)")


def parse_line(line: str | bytes) -> ManifestEntry:
    """One manifest line, as ``StreamingBody.iter_lines()`` yields it, as its entry."""
    text = line.decode("utf-8") if isinstance(line, bytes) else line
    return ManifestEntry.from_json(text)


def entries(lines: Iterable[str | bytes]) -> list[ManifestEntry]:
    """Every entry of a manifest, read as :func:`entry_at` reads it: ``lines`` from the S3 body's
    ``iter_lines()``, which splits on ``\\n`` and ``\\r`` only (``str.splitlines`` would also split
    on U+2028, U+0085 and the like, which keys may contain and JSON leaves unescaped)."""
    return [parse_line(line) for line in lines]


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
    return ManifestEntry(
        bucket=environ[ENV_BUCKET],
        key=key,
        size=int(environ.get(ENV_SIZE) or 0),
        version_id=environ.get(ENV_VERSION) or None,
    )
