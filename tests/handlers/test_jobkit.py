"""The job-side helper: my_object() in both modes, the CLI, and a light import."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from cdk_batchkit import jobkit
from cdk_batchkit.lambdas.submitter.core import parse_body, plan_array
from cdk_batchkit.lambdas.submitter.manifest import ManifestEntry
from tests.handlers.support import MANIFEST_BUCKET, MANIFEST_PREFIX, World, eventbridge_body, sqs_event

PER_OBJECT_ENV = {
    "BATCHKIT_BUCKET": "input-bucket",
    "BATCHKIT_KEY": "dir/a b.csv",
    "BATCHKIT_SIZE": "42",
    "BATCHKIT_VERSION_ID": "v7",
}


def test_per_object_environment() -> None:
    assert jobkit.my_object(PER_OBJECT_ENV) == ManifestEntry(
        bucket="input-bucket", key="dir/a b.csv", size=42, version_id="v7"
    )


def test_url_encoded_key_from_the_no_code_rule_or_a_workflow_is_decoded_once() -> None:
    # S3JobRule and S3-started workflows pass the key as EventBridge carries it, URL-encoded.
    env = {**PER_OBJECT_ENV, "BATCHKIT_KEY": "dir/a+b%2Bc%25d%C3%BC.csv", "BATCHKIT_KEY_ENCODING": "url"}
    assert jobkit.my_object(env).key == "dir/a b+c%dü.csv"


def test_unknown_key_encoding_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="BATCHKIT_KEY_ENCODING='base64' is invalid"):
        jobkit.my_object({**PER_OBJECT_ENV, "BATCHKIT_KEY_ENCODING": "base64"})


def test_array_child_reads_its_line_of_the_manifest_written_by_the_submitter(world: World) -> None:
    keys = [f"arr/{index}.csv" for index in range(4)]
    world.submitter(SUBMIT_MODE="ARRAY").handle(sqs_event(*(eventbridge_body(key) for key in keys)))
    (job,) = world.jobs()
    uri = job["parameters"]["manifest"]
    for index, key in enumerate(keys):
        env = {"BATCHKIT_MANIFEST": uri, "AWS_BATCH_JOB_ARRAY_INDEX": str(index)}
        assert jobkit.my_object(env, s3=world.s3).key == key


def test_plain_job_defaults_to_index_zero(world: World) -> None:
    (entry,) = parse_body(eventbridge_body("only.csv")).entries
    plan = plan_array([entry], manifest_bucket=MANIFEST_BUCKET, manifest_prefix=MANIFEST_PREFIX)
    assert plan.manifest is not None
    world.s3.put_object(Bucket=MANIFEST_BUCKET, Key=plan.manifest.key, Body=plan.manifest.body)
    assert jobkit.my_object({"BATCHKIT_MANIFEST": plan.manifest.uri}, s3=world.s3) == entry


def test_index_past_the_manifest_end_is_an_index_error(world: World) -> None:
    world.s3.put_object(
        Bucket=MANIFEST_BUCKET, Key="manifests/two.jsonl", Body=b'{"bucket":"b","key":"k","size":1}\n'
    )
    env = {
        "BATCHKIT_MANIFEST": f"s3://{MANIFEST_BUCKET}/manifests/two.jsonl",
        "AWS_BATCH_JOB_ARRAY_INDEX": "3",
    }
    with pytest.raises(IndexError, match="no line 3: it has 1 line"):
        jobkit.my_object(env, s3=world.s3)


def test_bad_index_and_bad_uri_are_clear() -> None:
    with pytest.raises(ValueError, match="AWS_BATCH_JOB_ARRAY_INDEX='x' is invalid"):
        jobkit.my_object({"BATCHKIT_MANIFEST": "s3://b/k", "AWS_BATCH_JOB_ARRAY_INDEX": "x"}, s3=object())
    with pytest.raises(ValueError, match="BATCHKIT_MANIFEST='http://x' is invalid"):
        jobkit.my_object({"BATCHKIT_MANIFEST": "http://x"}, s3=object())


def _manifest(world: World, body: bytes, name: str = "bad.jsonl") -> str:
    world.s3.put_object(Bucket=MANIFEST_BUCKET, Key=f"manifests/{name}", Body=body)
    return f"s3://{MANIFEST_BUCKET}/manifests/{name}"


GOOD_LINE = b'{"bucket":"b","key":"k","size":1}\n'


@pytest.mark.parametrize(
    ("line", "says"),
    [
        (b'{"key":"k","size":1}', "has no 'bucket' (got None)"),
        (b'{"bucket":"b","size":1}', "has no 'key' (got None)"),
        (b'{"bucket":"b","key":"","size":1}', "has no 'key' (got '')"),
        (b'{"bucket":"b","key":"k"}', "has no valid 'size' (got None)"),
        (b'{"bucket":"b","key":"k","size":"12"}', "has no valid 'size' (got '12')"),
        (b'{"bucket":"b","key":"k","size":1,"etag":5}', "invalid 'etag' (got 5)"),
        (b'["b","k"]', "is JSON list, not an object"),
        (b'{"bucket":"b","key":"k","si', "is not JSON (Unterminated string"),
    ],
)
def test_a_bad_manifest_line_is_an_error_naming_the_manifest_and_the_line(
    world: World, line: bytes, says: str
) -> None:
    # Before: a line without bucket/key became an entry holding None; a truncated one a bare JSONDecodeError.
    uri = _manifest(world, GOOD_LINE + line + b"\n")
    env = {"BATCHKIT_MANIFEST": uri, "AWS_BATCH_JOB_ARRAY_INDEX": "1"}
    with pytest.raises(jobkit.ManifestError) as raised:
        jobkit.my_object(env, s3=world.s3)
    message = str(raised.value)
    assert f"BATCHKIT_MANIFEST={uri!r} line 2 (array index 1)" in message and says in message
    assert isinstance(raised.value, ValueError)
    # The good line before it still reads.
    assert jobkit.my_object({**env, "AWS_BATCH_JOB_ARRAY_INDEX": "0"}, s3=world.s3).key == "k"


def test_a_truncated_last_line_without_its_newline_is_reported(world: World) -> None:
    uri = _manifest(world, GOOD_LINE + b'{"bucket":"b","key":"k2","size":1', "cut.jsonl")
    with pytest.raises(jobkit.ManifestError, match="line 2 .*is not JSON.*truncated"):
        jobkit.my_object({"BATCHKIT_MANIFEST": uri, "AWS_BATCH_JOB_ARRAY_INDEX": "1"}, s3=world.s3)


def test_a_missing_manifest_names_the_manifest(world: World) -> None:
    uri = f"s3://{MANIFEST_BUCKET}/manifests/gone.jsonl"
    with pytest.raises(
        FileNotFoundError, match=f"BATCHKIT_MANIFEST='{uri}': no such manifest \\(NoSuchKey\\)"
    ):
        jobkit.my_object({"BATCHKIT_MANIFEST": uri}, s3=world.s3)
    with pytest.raises(FileNotFoundError, match="no such manifest"):
        jobkit.my_object({"BATCHKIT_MANIFEST": "s3://no-such-bucket-here/m.jsonl"}, s3=world.s3)


def test_a_manifest_the_role_may_not_read_names_the_manifest_and_the_permission() -> None:
    from botocore.exceptions import ClientError

    class Denied:
        def get_object(self, **_: object) -> None:
            error = {"Error": {"Code": "AccessDenied"}, "ResponseMetadata": {"HTTPStatusCode": 403}}
            raise ClientError(error, "GetObject")  # type: ignore[arg-type]

    with pytest.raises(PermissionError, match="BATCHKIT_MANIFEST='s3://b/m.jsonl'.*s3:GetObject"):
        jobkit.my_object({"BATCHKIT_MANIFEST": "s3://b/m.jsonl"}, s3=Denied())


@pytest.mark.parametrize("size", ["12 bytes", "1.5", "-3"])
def test_a_bad_size_variable_names_the_variable(size: str) -> None:
    with pytest.raises(ValueError, match=f"BATCHKIT_SIZE='{size}' is invalid: expected the object's size"):
        jobkit.my_object({**PER_OBJECT_ENV, "BATCHKIT_SIZE": size})


def test_an_empty_bucket_or_key_variable_is_an_error() -> None:
    with pytest.raises(ValueError, match="BATCHKIT_KEY is set but empty"):
        jobkit.my_object({**PER_OBJECT_ENV, "BATCHKIT_KEY": ""})


def test_no_object_is_a_lookup_error_naming_the_variables() -> None:
    with pytest.raises(LookupError, match="BATCHKIT_MANIFEST.*BATCHKIT_BUCKET.*BATCHKIT_KEY"):
        jobkit.my_object({})


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("BATCHKIT_")}, **PER_OBJECT_ENV}
    return subprocess.run(
        [sys.executable, "-m", "cdk_batchkit.jobkit", *args], env=env, capture_output=True, text=True
    )


def test_cli_prints_the_object_and_single_fields() -> None:
    whole = _cli()
    assert whole.returncode == 0
    assert json.loads(whole.stdout) == {
        "bucket": "input-bucket",
        "key": "dir/a b.csv",
        "size": 42,
        "version_id": "v7",
        "etag": None,
        "sequencer": None,
        "event_time": None,
    }
    assert _cli("key").stdout == "dir/a b.csv\n"
    assert _cli("size").stdout == "42\n"
    assert _cli("etag").stdout == "\n"
    unknown = _cli("nope")
    assert unknown.returncode == 2 and "unknown field 'nope'" in unknown.stderr


def test_import_loads_neither_cdk_nor_powertools() -> None:
    code = (
        "import sys, cdk_batchkit.jobkit; print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'aws_cdk', 'aws_lambda_powertools', 'constructs', 'jsii', 'boto3'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"
