"""Scoped, reasoned cdk-nag acknowledgements.

cdk-nag 3.x runs as a CDK policy-validation plugin; a finding is acknowledged on
the construct that causes it, never stack-wide, and always with a reason an
auditor can check. With ``write_suppressions_to_cloud_formation=True`` the
acknowledgements are also written into the template metadata.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import jsii
from aws_cdk import Acknowledgment, Aspects, CfnResource, Stack, Validations
from constructs import IConstruct, IValidation

from ._validation import node_of, stack_of


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
    acknowledge_findings(scope, rule, {applies_to: reason})


def acknowledge_findings(scope: IConstruct, rule: str, reasons: Mapping[str | None, str]) -> None:
    """:func:`acknowledge` of ``rule`` on ``scope`` for each finding of ``reasons`` (its ``applies_to``, or
    None for the rule id alone, -> the reason), in one round trip: the acknowledgements of one scope, as one
    call each would make them."""
    for reason in reasons.values():
        if not reason.strip():
            raise ValueError(f"{scope.node.path}: an acknowledgement of {rule} needs a reason")
    _acknowledge(scope, [(_rule_id(rule, finding), reason) for finding, reason in reasons.items()])


def _rule_id(rule: str, applies_to: str | None) -> str:
    return f"AwsSolutions::AwsSolutions-{rule}" + (f"[{applies_to}]" if applies_to else "")


def _acknowledge(scope: IConstruct, rules: list[tuple[str, str]]) -> None:
    """``Validations.of(scope).acknowledge(...)`` of every ``(rule id, reason)`` in one round trip (it is
    variadic and records each rule as its own call would, in order); one ``Validations.of`` per scope."""
    validations = scope.__dict__.get(_VALIDATIONS)
    if validations is None:  # one Validations.of per scope, however many acknowledgements it gets
        validations = scope.__dict__[_VALIDATIONS] = Validations.of(scope)
    validations.acknowledge(*(Acknowledgment(id=rule_id, reason=reason) for rule_id, reason in rules))


_VALIDATIONS = "_batchkit_validations"
_DEFERRED = "_batchkit_deferred_acknowledgements"


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
    return "Resource::" + _flatten(stack_of(scope).resolve(arn))


@jsii.implements(IValidation)
class _DeferredAcknowledgements:
    """The IAM5 acknowledgements of one stack, made once references are final (validation runs after CDK
    has turned cross-stack references into ``Fn::ImportValue``), and written into the template metadata
    when cdk-nag's ``write_suppressions_to_cloud_formation`` aspect is on (it ran before references were
    final, so it could not see them).

    One validation per stack, not one per acknowledgement: the stack and whether cdk-nag writes
    suppressions are facts of the stack, looked up once."""

    def __init__(self, stack: Stack) -> None:
        self._stack = stack
        self.pending: list[tuple[IConstruct, str, str, str]] = []

    def validate(self) -> list[str]:
        writes = _writes_suppressions(self._stack)
        # Every ARN resolved in one round trip.
        resolved = self._stack.resolve([arn for *_, arn in self.pending]) if self.pending else []
        suppressions: list[tuple[IConstruct, str, str]] = []
        # One acknowledge call per scope with all of its rules, in the order they were asked for.
        per_scope: dict[int, tuple[IConstruct, list[tuple[str, str]]]] = {}
        for (scope, rule, reason, _), value in zip(self.pending, resolved, strict=True):
            rule_id = _rule_id(rule, "Resource::" + _flatten(value))
            per_scope.setdefault(id(scope), (scope, []))[1].append((rule_id, reason))
            suppressions.append((scope, rule_id, reason))
        for scope, rules in per_scope.values():
            _acknowledge(scope, rules)
        if writes:
            _write_suppressions(suppressions)
        return []


def _write_suppressions(suppressions: list[tuple[IConstruct, str, str]]) -> None:
    """Add each ``(scope, rule id, reason)`` to the ``cdk_nag`` metadata of every L1 under ``scope``, in
    order (an id already there is kept): each scope's tree and each L1's metadata read once."""
    trees: dict[int, list[CfnResource]] = {}
    added: dict[int, tuple[CfnResource, list[tuple[str, str]]]] = {}
    for scope, rule_id, reason in suppressions:
        if id(scope) not in trees:
            trees[id(scope)] = [c for c in scope.node.find_all() if isinstance(c, CfnResource)]
        for child in trees[id(scope)]:
            added.setdefault(id(child), (child, []))[1].append((rule_id, reason))
    for child, rules_added in added.values():
        written = child.get_metadata("cdk_nag") or {}
        rules = list(written.get("rules_to_suppress", []))
        for rule_id, reason in rules_added:
            if not any(r.get("id") == rule_id for r in rules):
                rules.append({"id": rule_id, "reason": reason})
        child.add_metadata("cdk_nag", {**written, "rules_to_suppress": rules})


def _writes_suppressions(stack: Stack) -> bool:
    """Whether cdk-nag's suppression-writing aspect applies to ``stack`` (added on it or an ancestor: the
    scope given to ``AwsSolutionsChecks``, an app, a stage or the stack). Asked at validation, when
    aspects are final."""
    return any(
        type(aspect).__name__ == "WriteNagSuppressionsToCloudFormationAspect"
        for node in node_of(stack).scopes
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
    stack = stack_of(scope)
    deferred = stack.__dict__.get(_DEFERRED)
    if deferred is None:
        deferred = stack.__dict__[_DEFERRED] = _DeferredAcknowledgements(stack)
        node_of(stack).add_validation(deferred)
    deferred.pending.append((scope, rule, reason, arn))
