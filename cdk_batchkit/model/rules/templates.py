"""Template-wide rules (BK-G1..G3): checked on every synthesized CloudFormation template, whoever rendered
the resource (the library, aws-cdk-lib underneath it, or the user's own constructs).

They read the template JSON (a plain ``dict``), not CDK objects: ``python -m cdk_batchkit.plan`` (run by
``make synth``) applies them to the cloud assembly and fails on any problem, and the suite applies them to
the reference app in its variants, the kitchen-sink stack and the documented apps
(``tests/templates/test_template_checks.py``). A problem's ``prop`` is the path in the template
(``Resources.Role.Properties.ManagedPolicyArns[0]``).
"""

from __future__ import annotations

import base64
import binascii
import email
import email.message
import email.policy
from collections.abc import Iterator, Mapping
from typing import Any

from ..aws_managed_policies import AWS_MANAGED_POLICIES
from ._registry import Problem, rule

#: Resource types whose property holds a resource-based policy document (BK-G2).
RESOURCE_POLICIES: dict[str, str] = {
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::S3::BucketPolicy": "PolicyDocument",
    "AWS::KMS::Key": "KeyPolicy",
}
#: Condition keys that tie a service principal's access to this account's (or organization's) resources:
#: https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html
SOURCE_KEYS = frozenset({"aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid", "aws:sourceorgpaths"})
#: Service principals whose documented scoping is another condition key (lower case), by principal prefix.
#: CloudWatch Logs encrypting log groups: the key policy condition is the log group in the encryption
#: context (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html).
EQUIVALENT_KEYS: dict[str, frozenset[str]] = {
    "logs.": frozenset({"kms:encryptioncontext:aws:logs:arn"}),
}
#: EventBridge publishing to SNS: "You can't use Condition blocks in Amazon SNS topic policies for
#: EventBridge" (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html
#: #eb-sns-permissions), and "Adding the aws:SourceAccount, aws:SourceArn, and aws:SourceOrgID to a AWS KMS
#: policy is not supported for EventBridge-to-encrypted topics"
#: (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services).
#: Accepted unconditioned with these actions only: on a topic policy, and on the policy of a key that
#: encrypts a topic of the template.
EVENTS_TO_SNS: dict[str, frozenset[str]] = {
    "AWS::SNS::TopicPolicy": frozenset({"sns:publish"}),
    "AWS::KMS::Key": frozenset({"kms:decrypt", "kms:generatedatakey", "kms:generatedatakey*"}),
}
_MANAGED_PREFIX = ":iam::aws:policy/"
#: A stand-in for a value CloudFormation resolves at deploy time (a Ref, a GetAtt, an import...).
PLACEHOLDER = "CFNVALUE"


def render(value: Any) -> str:
    """A template value as the text it becomes at deploy time, intrinsics other than ``Fn::Join``,
    ``Fn::Base64`` and ``AWS::Partition`` replaced by :data:`PLACEHOLDER` (shell-safe, one word)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, Mapping) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list):
            return render(arg[0]).join(render(part) for part in arg[1])
        if key == "Fn::Base64":
            return base64.b64encode(render(arg).encode()).decode()
        if key == "Ref" and arg == "AWS::Partition":
            return "aws"
    return PLACEHOLDER


def _resources(template: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    resources = template.get("Resources")
    for logical_id, resource in resources.items() if isinstance(resources, Mapping) else ():
        if isinstance(resource, Mapping):
            yield str(logical_id), resource


def _props(resource: Mapping[str, Any]) -> Mapping[str, Any]:
    props = resource.get("Properties")
    return props if isinstance(props, Mapping) else {}


def managed_policy_arns(template: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """``(where, arn)`` of every ``ManagedPolicyArns`` entry (roles, users, groups), rendered in ``aws``."""
    for logical_id, resource in _resources(template):
        arns = _props(resource).get("ManagedPolicyArns")
        for index, arn in enumerate(arns if isinstance(arns, list) else []):
            yield f"Resources.{logical_id}.Properties.ManagedPolicyArns[{index}]", render(arn)


@rule(
    "BK-G1",
    "Every AWS managed policy a template attaches (ManagedPolicyArns) is one AWS publishes, at the path it "
    "publishes it under (service-role/ or the root): a checked list, "
    "cdk_batchkit/model/aws_managed_policies.py, records each with its source.",
    "https://docs.aws.amazon.com/aws-managed-policy/latest/reference/aws-managed-policy.pdf (the AWS Managed "
    "Policy Reference Guide: each policy's ARN) and "
    "https://github.com/iann0036/iam-dataset (aws/managedpolicies, a public mirror of every AWS managed "
    "policy)",
)
def managed_policies_published(template: Mapping[str, Any]) -> Iterator[Problem]:
    names = {path.rsplit("/", 1)[-1]: path for path in AWS_MANAGED_POLICIES}
    for where, arn in managed_policy_arns(template):
        if _MANAGED_PREFIX not in arn or PLACEHOLDER in arn.split(_MANAGED_PREFIX, 1)[1]:
            continue  # a customer managed policy, or one named at deploy time
        path = arn.split(_MANAGED_PREFIX, 1)[1]
        if path in AWS_MANAGED_POLICIES:
            continue
        name = path.rsplit("/", 1)[-1]
        if name in names:
            why = f"AWS publishes this policy as arn:aws:iam::aws:policy/{names[name]}: the path is wrong"
        else:
            why = (
                "is not in the checked list of AWS managed policies "
                "(cdk_batchkit/model/aws_managed_policies.py); check its ARN in the AWS managed policy "
                "reference and add it"
            )
        yield Problem(where, arn, why)


def _principals(statement: Mapping[str, Any]) -> list[str]:
    principal = statement.get("Principal")
    services = principal.get("Service") if isinstance(principal, Mapping) else None
    values = services if isinstance(services, list) else [services] if services is not None else []
    return [render(v) for v in values]


def _condition_keys(statement: Mapping[str, Any]) -> set[str]:
    condition = statement.get("Condition")
    keys: set[str] = set()
    for block in condition.values() if isinstance(condition, Mapping) else ():
        if isinstance(block, Mapping):
            keys.update(str(k).lower() for k in block)
    return keys


def service_grants(template: Mapping[str, Any]) -> Iterator[tuple[str, str, Mapping[str, Any] | None]]:
    """``(where, service principal, statement)`` of every Allow statement (and Lambda permission, whose
    statement is None) granting an AWS service principal in a resource policy."""
    for logical_id, resource in _resources(template):
        kind, props = resource.get("Type"), _props(resource)
        if kind == "AWS::Lambda::Permission":
            principal = render(props.get("Principal", ""))
            if principal.endswith(".amazonaws.com") or principal.endswith(".amazonaws.com.cn"):
                yield f"Resources.{logical_id}.Properties", principal, None
            continue
        prop = RESOURCE_POLICIES.get(str(kind))
        document = props.get(prop) if prop else None
        statements = document.get("Statement") if isinstance(document, Mapping) else None
        for index, statement in enumerate(statements if isinstance(statements, list) else []):
            if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
                continue
            for service in _principals(statement):
                yield f"Resources.{logical_id}.Properties.{prop}.Statement[{index}]", service, statement


@rule(
    "BK-G2",
    "A topic, queue, bucket or key policy (and a Lambda permission) that grants an AWS service principal is "
    "conditioned on aws:SourceAccount or aws:SourceArn (or the organization keys), so no other account's "
    "resource can make the service act on ours (the confused deputy); the documented exceptions kept are "
    "CloudWatch Logs' kms:EncryptionContext:aws:logs:arn on a key policy, and EventBridge publishing to SNS "
    "(sns:Publish on a topic policy, kms:Decrypt/GenerateDataKey* on the key of a topic), whose topic "
    "policies cannot use Condition blocks.",
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html and "
    "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-conditions.html (EventBridge sets "
    "aws:SourceAccount and aws:SourceArn) and "
    "https://docs.aws.amazon.com/kms/latest/developerguide/least-privilege.html and "
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html and "
    "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions "
    '("You can\'t use Condition blocks in Amazon SNS topic policies for EventBridge") and '
    "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services "
    "(source keys in a KMS policy are not supported for EventBridge-to-encrypted topics)",
)
def service_grants_scoped(template: Mapping[str, Any]) -> Iterator[Problem]:
    resources = dict(_resources(template))
    topic_keys = _topic_keys(resources)
    for where, service, statement in service_grants(template):
        if statement is None:
            logical_id = where.split(".")[1]
            props = _props(resources[logical_id])
            if "SourceArn" in props or "SourceAccount" in props:
                continue
            yield Problem(where, service, "grants the service with neither SourceArn nor SourceAccount")
            continue
        if _events_to_sns(where, service, statement, resources, topic_keys):
            continue
        keys = _condition_keys(statement)
        allowed = SOURCE_KEYS | next(
            (extra for prefix, extra in EQUIVALENT_KEYS.items() if service.startswith(prefix)), frozenset()
        )
        if keys & allowed:
            continue
        yield Problem(
            where,
            service,
            f"grants {service} {statement.get('Action')!r} with no aws:SourceAccount or aws:SourceArn "
            "condition: any account's resource could make the service use it (confused deputy)",
        )


def _topic_keys(resources: Mapping[str, Mapping[str, Any]]) -> set[str]:
    """Logical ids of the keys that encrypt an SNS topic of the template (``KmsMasterKeyId``: a Ref, a
    GetAtt)."""
    found: set[str] = set()
    for resource in resources.values():
        if resource.get("Type") != "AWS::SNS::Topic":
            continue
        key = _props(resource).get("KmsMasterKeyId")
        if isinstance(key, Mapping) and "Ref" in key:
            found.add(str(key["Ref"]))
        elif isinstance(key, Mapping) and isinstance(key.get("Fn::GetAtt"), list) and key["Fn::GetAtt"]:
            found.add(str(key["Fn::GetAtt"][0]))
    return found


def _events_to_sns(
    where: str,
    service: str,
    statement: Mapping[str, Any],
    resources: Mapping[str, Mapping[str, Any]],
    topic_keys: set[str],
) -> bool:
    """An EventBridge grant SNS documents as unconditioned (:data:`EVENTS_TO_SNS`)."""
    if service != "events.amazonaws.com":
        return False
    logical_id = where.split(".")[1]
    kind = str(resources[logical_id].get("Type"))
    if kind not in EVENTS_TO_SNS or (kind == "AWS::KMS::Key" and logical_id not in topic_keys):
        return False
    action = statement.get("Action")
    actions = action if isinstance(action, list) else [action]
    return bool(actions) and all(isinstance(a, str) and a.lower() in EVENTS_TO_SNS[kind] for a in actions)


def user_data(template: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """``(where, text)`` of every launch template's user data, decoded from base64, intrinsics rendered as
    :data:`PLACEHOLDER`."""
    for logical_id, resource in _resources(template):
        if resource.get("Type") != "AWS::EC2::LaunchTemplate":
            continue
        data = _props(resource).get("LaunchTemplateData")
        value = data.get("UserData") if isinstance(data, Mapping) else None
        if value is None:
            continue
        where = f"Resources.{logical_id}.Properties.LaunchTemplateData.UserData"
        try:
            yield where, base64.b64decode(render(value), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            yield where, ""


def mime_parts(text: str) -> tuple[list[tuple[str, str]], str | None]:
    """The parts of a MIME multipart user data document, ``(content type, decoded body)`` each, and the
    first reason it is not a valid multipart document (None when it is)."""
    message = email.message_from_string(text, policy=email.policy.compat32)
    if message.get("MIME-Version") is None:
        return [], "has no MIME-Version header"
    if not message.is_multipart() or message.get_content_type() != "multipart/mixed":
        return [], f"is {message.get_content_type()}, not multipart/mixed"
    if message.defects:
        return [], f"is malformed ({', '.join(type(d).__name__ for d in message.defects)})"
    parts: list[tuple[str, str]] = []
    payload = message.get_payload()
    for part in payload if isinstance(payload, list) else []:
        if not isinstance(part, email.message.Message):
            return parts, "has a part that is not a MIME entity"
        if part.defects:
            return parts, f"has a malformed part ({', '.join(type(d).__name__ for d in part.defects)})"
        body = part.get_payload(decode=True)
        if not isinstance(body, bytes):
            return parts, f"has a {part.get_content_type()} part with no body"
        parts.append((part.get_content_type(), body.decode(errors="replace")))
    if not parts:
        return parts, "has no part"
    return parts, None


@rule(
    "BK-G3",
    "Every launch template's user data is a MIME multipart archive (multipart/mixed with a MIME-Version "
    "header and well-formed parts), as Batch requires of launch templates; the shell parts also pass "
    "shellcheck in the suite.",
    "https://docs.aws.amazon.com/batch/latest/userguide/launch-templates.html (user data must be in the MIME "
    "multi-part archive format) and https://cloudinit.readthedocs.io/en/latest/explanation/format.html",
)
def user_data_is_mime_multipart(template: Mapping[str, Any]) -> Iterator[Problem]:
    for where, text in user_data(template):
        if not text:
            yield Problem(where, "(not base64 text)", "is not base64-encoded text")
            continue
        _, why = mime_parts(text)
        if why is not None:
            yield Problem(where, text[:60], why)


#: The template-wide rules, in the order the plan reports them.
TEMPLATE_RULES = (managed_policies_published, service_grants_scoped, user_data_is_mime_multipart)


def check_template(template: Mapping[str, Any]) -> list[Problem]:
    """Every BK-G problem of one template."""
    return [p for check in TEMPLATE_RULES for p in check(template)]
