"""S3JobSubmitter: batch sizes that cannot be submitted in time fail synth; SNS topics feed the queue."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

from cdk_batchkit.constructs.submitter import S3JobSubmitter, SubmitMode
from cdk_batchkit.lambdas.submitter import config as settings
from tests.support import new_stack
from tests.unit.test_submitter import _queue_and_job


def _submitter(**props: object) -> S3JobSubmitter:
    stack = new_stack()
    queue, job = _queue_and_job(stack)
    return S3JobSubmitter(stack, "Sub", job_queue=queue, job_definition=job, **props)  # type: ignore[arg-type]


def test_rejects_a_per_object_batch_size_that_cannot_be_submitted_within_the_timeout():
    # 10,000 objects at 10/s shared by 2 invocations = 5/s each: 2,000 s, above Lambda's 900 s maximum.
    with pytest.raises(
        ValueError,
        match=r"batch_size=10000 is invalid: a full batch needs about 2000 s in PER_OBJECT mode at 5 "
        r"SubmitJob/s per invocation .* function_timeout=900 s leaves 885 s",
    ):
        _submitter(mode=SubmitMode.PER_OBJECT, batch_size=10_000, function_timeout=cdk.Duration.minutes(15))


def test_rejects_a_per_object_batch_size_just_over_the_default_timeout():
    # 2 minutes leave 105 s: 530 objects at 5/s need 106 s.
    with pytest.raises(ValueError, match=r"batch_size=530 is invalid: .* leaves 105 s"):
        _submitter(mode=SubmitMode.PER_OBJECT, batch_size=530)


def test_accepts_the_largest_per_object_batch_that_fits():
    assert _submitter(mode=SubmitMode.PER_OBJECT, batch_size=525).mode is SubmitMode.PER_OBJECT


def test_rejects_an_array_batch_size_whose_claims_cannot_fit_the_timeout():
    # 10,000 claims and completions, 16 at a time at 20 ms each: 25 s; a 20 s timeout leaves 15 s.
    with pytest.raises(
        ValueError, match=r"batch_size=10000 is invalid: a full batch needs about 25 s in ARRAY"
    ):
        _submitter(mode=SubmitMode.ARRAY, batch_size=10_000, function_timeout=cdk.Duration.seconds(20))


def test_accepts_a_full_array_batch_with_the_default_timeout():
    assert _submitter(mode=SubmitMode.ARRAY, batch_size=10_000).mode is SubmitMode.ARRAY


def test_the_rule_uses_the_margin_the_handler_keeps():
    assert settings.deadline_margin_seconds(120) == 15 and settings.deadline_margin_seconds(20) == 5
    assert settings.batch_seconds("PER_OBJECT", 10, 5) == 2


def test_subscribe_to_a_topic_delivers_to_the_queue_raw_or_not():
    # Inspected on the construct tree (no synth: the stack's Lambda asset makes synth slow).
    submitter = _submitter()
    submitter.subscribe_to(sns.Topic(submitter, "Wrapped"))
    submitter.subscribe_to(sns.Topic(submitter, "Raw"), raw_message_delivery=True)
    stack = cdk.Stack.of(submitter)
    found = [c for c in submitter.node.find_all() if isinstance(c, sns.CfnSubscription)]
    assert sorted(bool(s.raw_message_delivery) for s in found) == [False, True]
    assert {s.protocol for s in found} == {"sqs"}
    assert all(stack.resolve(s.endpoint) == stack.resolve(submitter.sqs_queue.queue_arn) for s in found)
    policy = submitter.sqs_queue.node.try_find_child("Policy")
    assert isinstance(policy, sqs.QueuePolicy)
    statements = stack.resolve(policy.document.to_json())["Statement"]
    assert any(
        st["Action"] == "sqs:SendMessage" and st["Principal"] == {"Service": "sns.amazonaws.com"}
        for st in statements
    )
