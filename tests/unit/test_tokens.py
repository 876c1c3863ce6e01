"""``_validation.is_token`` answers in Python what ``Token.is_unresolved`` answers in Node, on real values.

The corpus is what constructs are given and what the CDK hands back: plain values, every kind of token
the CDK encodes (string, number, list; attributes, ``Lazy``, ``Fn``, ``Aws``, context-free ``Token.as_*``),
and strings built from them.
"""

from __future__ import annotations

import math
from typing import Any

import aws_cdk as cdk
import jsii
import pytest
from aws_cdk import (
    Aws,
    Fn,
    IStableAnyProducer,
    IStableListProducer,
    IStableNumberProducer,
    IStableStringProducer,
    Lazy,
    Token,
)
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs

from cdk_batchkit.constructs import _validation
from cdk_batchkit.constructs._validation import is_token
from cdk_batchkit.model.values import is_unresolved


@jsii.implements(IStableNumberProducer)
class _Number:
    def produce(self) -> float:
        return 3


@jsii.implements(IStableStringProducer)
class _String:
    def produce(self) -> str:
        return "x"


@jsii.implements(IStableListProducer)
class _List:
    def produce(self) -> list[str]:
        return ["a"]


@jsii.implements(IStableAnyProducer)
class _Any:
    def produce(self) -> Any:
        return 1


def _corpus() -> list[tuple[str, Any]]:
    stack = cdk.Stack(cdk.App(), "Tokens")
    bucket = s3.Bucket(stack, "Bucket")
    queue = sqs.Queue(stack, "Queue")
    number = Token.as_number(Lazy.number(_Number()))
    string = Lazy.string(_String())
    values: list[tuple[str, Any]] = [
        ("None", None),
        ("True", True),
        ("False", False),
        ("zero", 0),
        ("int", 256),
        ("negative int", -1),
        ("big int", 2**60),
        ("float", 0.25),
        ("negative float", -1.5),
        ("huge float", 1e300),
        ("-1e289 (near the marker)", -1e289),
        ("empty string", ""),
        ("plain string", "public.ecr.aws/amazonlinux/amazonlinux:2023"),
        ("Ref:: parameter", "Ref::manifest"),
        ("shell variable", "${AWS_BATCH_JOB_ARRAY_INDEX:-0}"),
        ("stringified number, no Token[", str(-1.8881545897087626e289)),
        ("bucket name", bucket.bucket_name),
        ("bucket ARN", bucket.bucket_arn),
        ("queue URL", queue.queue_url),
        ("ARN in an f-string", f"{bucket.bucket_arn}/*"),
        ("Fn.join", Fn.join("-", ["a", bucket.bucket_name])),
        ("Fn.select of Fn.split", Fn.select(1, Fn.split("/", bucket.bucket_arn))),
        ("Aws.REGION", Aws.REGION),
        ("stack.region", stack.region),
        ("stack.account", stack.account),
        ("Lazy.string", string),
        ("Token.as_string(Lazy.number)", Token.as_string(Lazy.number(_Number()))),
        ("number token", number),
        ("Lazy.number", Lazy.number(_Number())),
        ("Token.as_number(Aws.ACCOUNT_ID)", Token.as_number(Aws.ACCOUNT_ID)),
        ("Duration.to_seconds of a token", cdk.Duration.seconds(number).to_seconds()),
        ("Size.to_mebibytes of a token", cdk.Size.mebibytes(number).to_mebibytes()),
        ("plain Duration.to_seconds", cdk.Duration.minutes(5).to_seconds()),
        ("plain Size.to_mebibytes", cdk.Size.gibibytes(2).to_mebibytes()),
        ("number token in an f-string", f"{number}"),
        ("number token in text", f"cpus={number}"),
        ("list token", Token.as_list(Lazy.list(_List()))),
        ("Fn.split", Fn.split(",", bucket.bucket_name)),
        ("Fn.get_azs", Fn.get_azs()),
        ("empty list", []),
        ("plain list", ["a", "b"]),
        ("one plain string in a list", ["a"]),
        ("list with a string token", [bucket.bucket_name]),
        ("two-element list with a token", [bucket.bucket_name, "a"]),
        ("dict", {"a": bucket.bucket_name}),
        ("empty dict", {}),
        ("IResolvable (Lazy.any)", Lazy.any(_Any())),
        ("Fn.get_att (IResolvable)", Fn.get_att("Bucket", "Arn")),
    ]
    return values


CORPUS = _corpus()


@pytest.mark.parametrize(("name", "value"), CORPUS, ids=[n for n, _ in CORPUS])
def test_is_token_equals_token_is_unresolved(name: str, value: Any) -> None:
    expected = value is not None and Token.is_unresolved(value)
    assert is_token(value) is expected, name


def test_non_finite_floats_are_plain_and_never_sent_to_node() -> None:
    """jsii cannot carry inf or nan (``Token.is_unresolved(math.inf)`` kills the Node process with a JSON
    syntax error); the CDK's encoding makes neither a token."""
    assert [is_token(v) for v in (math.inf, -math.inf, math.nan)] == [False, False, False]


def test_the_corpus_holds_tokens_of_every_encoding() -> None:
    found = {type(v).__name__ for _, v in CORPUS if v is not None and Token.is_unresolved(v)}
    # strings, numbers (floats), lists and objects: a corpus that lost one would test nothing there
    assert {"str", "float", "list"} <= found
    assert len(found) >= 4


def test_a_list_token_element_counts_as_unknown_in_the_model() -> None:
    """The one deliberate difference: the model treats ``#{Token[...]}`` (an element of a list token) as
    unknown, the CDK's string test does not; ``is_token`` keeps the CDK's answer."""
    (element,) = Token.as_list(Lazy.list(_List()))
    assert is_unresolved(element) is True
    assert Token.is_unresolved(element) is False
    assert is_token([element]) is True


def test_plain_values_need_no_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every plain value (and every encoded token) is answered without asking Node."""

    class Refuse:
        @staticmethod
        def is_unresolved(value: Any) -> bool:
            raise AssertionError(f"round trip for {value!r}")

    monkeypatch.setattr(_validation, "Token", Refuse)
    for _, value in CORPUS:
        if value is None or isinstance(value, bool | int | float | str | list | tuple | dict):
            is_token(value)


def test_node_path_and_fetched_ask_the_cdk_once_per_object(monkeypatch: pytest.MonkeyPatch) -> None:
    from jsii._kernel.providers import process as jsii_process

    from cdk_batchkit.constructs._validation import fetched, node_path

    stack = cdk.Stack(cdk.App(), "Paths")
    bucket = s3.Bucket(stack, "Bucket")
    sent: list[object] = []
    original = jsii_process._NodeProcess.send

    def counting(self: Any, request: Any, response_type: Any) -> Any:
        sent.append(request)
        return original(self, request, response_type)

    monkeypatch.setattr(jsii_process._NodeProcess, "send", counting)
    assert node_path(bucket) == "Paths/Bucket"
    asked = len(sent)
    assert asked > 0  # the first answer comes from the CDK
    assert node_path(bucket) == "Paths/Bucket" and len(sent) == asked
    arn = fetched(bucket, "bucket_arn")
    asked = len(sent)
    assert fetched(bucket, "bucket_arn") == arn and len(sent) == asked
    assert fetched(stack, "node.path", lambda: "built") == "built"  # per object, per key
