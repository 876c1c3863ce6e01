"""Scoped, reasoned cdk-nag acknowledgements.

cdk-nag 3.x runs as a CDK policy-validation plugin; a finding is acknowledged on
the construct that causes it, never stack-wide, and always with a reason an
auditor can check. With ``write_suppressions_to_cloud_formation=True`` the
acknowledgements are also written into the template metadata.
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct


def acknowledge(scope: IConstruct, rule: str, reason: str, *, applies_to: str | None = None) -> None:
    """Acknowledge AwsSolutions ``rule`` (for example ``"IAM4"``) on ``scope`` and its children.

    ``applies_to`` narrows it to one finding (``"Policy::arn:<AWS::Partition>:iam::aws:policy/..."``).
    """
    if not reason.strip():
        raise ValueError(f"{scope.node.path}: an acknowledgement of {rule} needs a reason")
    rule_id = f"AwsSolutions::AwsSolutions-{rule}" + (f"[{applies_to}]" if applies_to else "")
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def managed_policy_finding(name: str) -> str:
    """The ``applies_to`` text of an AwsSolutions-IAM4 finding for an AWS managed policy."""
    return f"Policy::arn:<AWS::Partition>:iam::aws:policy/{name}"


def _render(part: Any) -> str:
    if isinstance(part, str):
        return part
    if isinstance(part, dict) and set(part) == {"Ref"}:
        return f"<{part['Ref']}>"
    if isinstance(part, dict) and set(part) == {"Fn::GetAtt"}:
        return "<" + ".".join(part["Fn::GetAtt"]) + ">"
    if isinstance(part, dict) and set(part) == {"Fn::Join"} and part["Fn::Join"][0] == "":
        return "".join(_render(p) for p in part["Fn::Join"][1])
    return json.dumps(part, separators=(",", ":"), ensure_ascii=False)


def resource_finding(scope: IConstruct, arn: str) -> str:
    """The ``applies_to`` text of an AwsSolutions-IAM5 finding for resource ``arn`` (a string or token).

    cdk-nag renders references as ``<AWS::Region>`` / ``<LogicalId>`` / ``<LogicalId.Attr>`` and other
    intrinsics as compact JSON.
    """
    return "Resource::" + _render(Stack.of(scope).resolve(arn))
