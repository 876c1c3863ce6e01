"""Scoped, reasoned cdk-nag acknowledgements.

cdk-nag 3.x runs as a CDK policy-validation plugin; a finding is acknowledged on
the construct that causes it, never stack-wide, and always with a reason an
auditor can check. With ``write_suppressions_to_cloud_formation=True`` the
acknowledgements are also written into the template metadata.
"""

from __future__ import annotations

import json
from typing import Any

import jsii
from aws_cdk import Acknowledgment, Aspects, CfnResource, Stack, Validations
from constructs import IConstruct, IValidation


def acknowledge(scope: IConstruct, rule: str, reason: str, *, applies_to: str | None = None) -> None:
    """Acknowledge AwsSolutions ``rule`` on ``scope`` and its children, with a reason an auditor can check.

    cdk-nag 3 matches acknowledgements exactly. A rule it reports once per resource (``"S1"``, ``"SF2"``) is
    acknowledged by its id alone. A rule it reports once per finding (IAM4, IAM5, EKS2, RDS16, DOC5, OS9:
    ``AwsSolutions-IAM5[Resource::*]``) needs ``applies_to`` naming the finding; without it none of that
    rule's findings is acknowledged. For a resource that may be another stack's, use
    :func:`acknowledge_resource`; for every finding of a rule under a scope,
    :func:`~cdk_batchkit.constructs.acknowledge_rule`.

    :param scope: the construct the findings are on (its children's are acknowledged too).
    :param rule: the AwsSolutions rule without the pack prefix (``"IAM4"``, ``"S1"``).
    :param reason: why the finding is acceptable (required).
    :param applies_to: the finding, for a rule cdk-nag reports per finding: ``"Resource::*"``,
        ``"Action::s3:*"``, ``"Policy::arn:<AWS::Partition>:iam::aws:policy/NAME"`` (see
        :func:`managed_policy_finding`). Default: the rule id alone (a rule reported per resource).
    """
    if not reason.strip():
        raise ValueError(f"{scope.node.path}: an acknowledgement of {rule} needs a reason")
    rule_id = f"AwsSolutions::AwsSolutions-{rule}" + (f"[{applies_to}]" if applies_to else "")
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def managed_policy_finding(name: str) -> str:
    """The ``applies_to`` text of an AwsSolutions-IAM4 finding for an AWS managed policy.

    :param name: the policy's name with its path below ``policy/`` (``"service-role/AWSBatchServiceRole"``).
    """
    return f"Policy::arn:<AWS::Partition>:iam::aws:policy/{name}"


def _flatten(part: Any) -> str:
    """cdk-nag 3's ``flattenCfnReference``: how an IAM5 finding spells a resource."""
    if isinstance(part, str):
        return part.replace("${", "<").replace("}", ">")
    if isinstance(part, dict) and "Fn::Join" in part:
        delimiter, items = part["Fn::Join"]
        return str(delimiter).join(_flatten(p) for p in items)
    if isinstance(part, dict) and "Fn::Sub" in part:
        return _flatten(part["Fn::Sub"])
    if isinstance(part, dict) and "Fn::GetAtt" in part:
        resource, attribute = part["Fn::GetAtt"]
        return f"<{_flatten(resource)}.{_flatten(attribute)}>"
    if isinstance(part, dict) and "Fn::ImportValue" in part:
        return _flatten(part["Fn::ImportValue"])
    if isinstance(part, dict) and "Ref" in part:
        return f"<{_flatten(part['Ref'])}>"
    return json.dumps(part, separators=(",", ":"), ensure_ascii=False)


def resource_finding(scope: IConstruct, arn: str) -> str:
    """The ``applies_to`` text of an AwsSolutions-IAM5 finding for resource ``arn`` (a string or token),
    as resolved in ``scope``'s stack *now* (see :func:`acknowledge_resource` for values that may cross
    a stack boundary)."""
    return "Resource::" + _flatten(Stack.of(scope).resolve(arn))


@jsii.implements(IValidation)
class _DeferredAcknowledgement:
    """Acknowledges an IAM5 finding once references are final (validation runs after CDK has turned
    cross-stack references into ``Fn::ImportValue``), and writes it into the template metadata when
    cdk-nag's ``write_suppressions_to_cloud_formation`` aspect is on (it ran before references were
    final, so it could not see this one)."""

    def __init__(self, scope: IConstruct, rule: str, reason: str, arn: str) -> None:
        self._scope, self._rule, self._reason, self._arn = scope, rule, reason, arn

    def validate(self) -> list[str]:
        finding = resource_finding(self._scope, self._arn)
        acknowledge(self._scope, self._rule, self._reason, applies_to=finding)
        if _writes_suppressions(self._scope):
            rule_id = f"AwsSolutions::AwsSolutions-{self._rule}[{finding}]"
            for child in self._scope.node.find_all():
                if isinstance(child, CfnResource):
                    written = child.get_metadata("cdk_nag") or {}
                    rules = list(written.get("rules_to_suppress", []))
                    if not any(r.get("id") == rule_id for r in rules):
                        rules.append({"id": rule_id, "reason": self._reason})
                    child.add_metadata("cdk_nag", {**written, "rules_to_suppress": rules})
        return []


def _writes_suppressions(scope: IConstruct) -> bool:
    return any(
        type(aspect).__name__ == "WriteNagSuppressionsToCloudFormationAspect"
        for node in scope.node.scopes
        for aspect in Aspects.of(node).all
    )


def acknowledge_resource(scope: IConstruct, rule: str, reason: str, arn: str) -> None:
    """Acknowledge AwsSolutions ``rule`` for the one resource ``arn`` in ``scope``'s policies.

    The finding text is computed when the app is validated, from the value as the template will hold
    it: a reference to another stack's resource becomes ``Fn::ImportValue`` only then, and an
    acknowledgement computed from the ``Ref`` would no longer match.

    :param scope: the construct holding the policy (a role, an ``iam.Policy``) or one of its parents.
    :param rule: the AwsSolutions rule (``"IAM5"``).
    :param reason: why the permission is acceptable (required).
    :param arn: the resource as given to the policy statement (a string or a token, ``bucket.arn_for_objects
        ("in/*")``).
    """
    if not reason.strip():
        raise ValueError(f"{scope.node.path}: an acknowledgement of {rule} needs a reason")
    scope.node.add_validation(_DeferredAcknowledgement(scope, rule, reason, arn))
