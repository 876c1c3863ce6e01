"""Job-side helper: "which object is mine?" for jobs fed by the S3 submitter or a workflow.

Dependency-light: the standard library plus boto3 (only to read an ARRAY-mode manifest).
Importing it never loads aws-cdk-lib, so a job image can ``pip install --no-deps cdk-batchkit``
(or copy this file and ``lambdas/submitter/manifest.py``). From Python::

    from cdk_batchkit.jobkit import my_object
    obj = my_object()          # ManifestEntry(bucket=..., key=..., size=..., version_id=...)

From a shell: ``python -m cdk_batchkit.jobkit`` prints the object as one JSON line, and
``python -m cdk_batchkit.jobkit key`` prints one field.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

from .lambdas.submitter.manifest import (
    ENV_ARRAY_INDEX,
    ENV_MANIFEST,
    ManifestEntry,
    ManifestError,
    entry_at,
    entry_from_environment,
    split_uri,
)

__all__ = ["ManifestEntry", "ManifestError", "my_object"]


def my_object(environ: Mapping[str, str] | None = None, s3: Any = None) -> ManifestEntry:
    """The object this job (or array child) must process.

    ARRAY mode: line ``AWS_BATCH_JOB_ARRAY_INDEX`` (0 for a plain job) of the manifest named
    by ``BATCHKIT_MANIFEST``. PER_OBJECT mode: the ``BATCHKIT_BUCKET``/``BATCHKIT_KEY``/... variables.
    Raises ``LookupError`` naming the variables when neither is set, ``FileNotFoundError`` or
    ``PermissionError`` naming the manifest when it cannot be read, ``ManifestError`` (a ``ValueError``)
    naming the manifest and the line when the line is not one the submitter writes, and ``ValueError``
    naming the variable for a bad ``AWS_BATCH_JOB_ARRAY_INDEX`` or ``BATCHKIT_SIZE``.
    """
    env = os.environ if environ is None else environ
    uri = env.get(ENV_MANIFEST)
    if uri:
        index_text = env.get(ENV_ARRAY_INDEX, "0")
        try:
            index = int(index_text)
        except ValueError:
            raise ValueError(f"{ENV_ARRAY_INDEX}={index_text!r} is invalid: expected an integer") from None
        bucket, key = split_uri(uri)
        if s3 is None:
            import boto3  # only jobs that read a manifest need boto3

            s3 = boto3.client("s3")
        try:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"]
        except Exception as exc:
            raise _read_error(uri, exc) from exc
        return entry_at(body.iter_lines(), index, source=f"{ENV_MANIFEST}={uri!r}")
    entry = entry_from_environment(env)
    if entry is None:
        raise LookupError(
            f"no object for this job: set {ENV_MANIFEST} (ARRAY mode) or BATCHKIT_BUCKET and "
            "BATCHKIT_KEY (PER_OBJECT mode); the S3 submitter and the workflows set them"
        )
    return entry


def _read_error(uri: str, exc: Exception) -> Exception:
    """A clear error for a manifest that cannot be read: missing (FileNotFoundError), not allowed
    (PermissionError); anything else is returned as it is."""
    error = getattr(exc, "response", None) or {}
    code = str(error.get("Error", {}).get("Code", ""))
    status = error.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in ("NoSuchKey", "NoSuchBucket", "404") or status == 404:
        return FileNotFoundError(
            f"{ENV_MANIFEST}={uri!r}: no such manifest ({code or status}). The submitter writes it before "
            "submitting the job: it was deleted (manifests in a bucket the construct creates expire after 30 "
            "days) or the variable was changed"
        )
    if code in ("AccessDenied", "403") or status == 403:
        return PermissionError(
            f"{ENV_MANIFEST}={uri!r}: access denied ({code or status}); the job role needs s3:GetObject on "
            "it (and kms:Decrypt on the bucket's key, if it has one)"
        )
    return exc


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    entry = my_object()
    if not args:
        print(entry.to_json())
        return 0
    value = getattr(entry, args[0], None) if args[0] in ManifestEntry.__dataclass_fields__ else None
    if value is None and args[0] not in ManifestEntry.__dataclass_fields__:
        print(
            f"unknown field {args[0]!r}: use one of {sorted(ManifestEntry.__dataclass_fields__)}",
            file=sys.stderr,
        )
        return 2
    print("" if value is None else value)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
