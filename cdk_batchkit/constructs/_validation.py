"""Prop validation shared by the constructs.

Every check raises ``ValueError`` naming the construct path, the prop and the
bad value, so a mistake fails ``cdk synth`` in the user's terminal instead of a
CloudFormation rollback twenty minutes later. Unresolved tokens are skipped:
they are only known at deploy time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import jsii
from aws_cdk import Annotations, CfnResource, Duration, Token
from constructs import Construct, IConstruct, IValidation

from ..model.rules import Problem
from ..model.values import LIST_MARKER, is_unresolved

#: Values whose token-ness Python answers (CDK encodes a token inside them): no jsii round trip.
_PLAIN = (bool, int, float, str)


def is_token(value: Any) -> bool:
    """``Token.is_unresolved(value)``, answered in Python wherever the value is a plain Python value.

    A bool, an int, a float or a string is a token only by CDK's encoding (``${Token[`` in a string, the
    ``0xFBFF`` marker in a float's top bits), which :func:`cdk_batchkit.model.values.is_unresolved` reads
    without a round trip to Node. A list is a token only as CDK's one-element list encoding (as
    ``Token.is_unresolved`` answers it); a dict never is. Anything else (an ``IResolvable``, a ``Lazy``,
    a CDK object) is asked of the CDK.
    """
    if value is None or isinstance(value, _PLAIN):
        return is_unresolved(value)
    if isinstance(value, list | tuple):
        return len(value) == 1 and isinstance(value[0], str) and LIST_MARKER in value[0]
    if isinstance(value, dict):
        return False
    return bool(Token.is_unresolved(value))


_FETCHED = "_batchkit_fetched"


def fetched(obj: Any, attribute: str, build: Callable[[], Any] | None = None) -> Any:
    """``obj.attribute`` (or ``build()``), asked of the CDK once per object and kept on it.

    For values that never change once the object exists (a construct's path, an L2's ARN token, a name
    derived from it): each ``obj.attribute`` of a CDK object is a round trip to Node."""
    cache = obj.__dict__.get(_FETCHED)
    if cache is None:
        cache = obj.__dict__[_FETCHED] = {}
    if attribute not in cache:
        cache[attribute] = build() if build is not None else getattr(obj, attribute)
    return cache[attribute]


def node_path(scope: IConstruct) -> str:
    """``scope.node.path``, fetched once per construct (ids never change)."""
    return fetched(scope, "node.path", lambda: scope.node.path)  # type: ignore[no-any-return]


def fail(scope: Construct, prop: str, value: Any, why: str) -> None:
    raise ValueError(f"{scope.node.path}: {prop}={value!r} is invalid: {why}")


def check_range(scope: Construct, prop: str, value: float | None, low: float, high: float) -> None:
    """Reject ``value`` outside ``[low, high]`` (None and tokens pass)."""
    if value is None or is_token(value):
        return
    if not low <= value <= high:
        fail(scope, prop, value, f"must be between {low:g} and {high:g}")


def check_seconds(scope: Construct, prop: str, value: Duration | None, low: int, high: int | None) -> None:
    """Reject a Duration outside ``[low, high]`` seconds (None and tokens pass)."""
    if value is None:
        return
    seconds = value.to_seconds()  # one round trip: a Duration lives in Node
    if is_token(seconds):
        return
    if seconds < low or (high is not None and seconds > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        fail(scope, prop, f"{seconds:g} s", f"must be {bound} seconds")


def check_whole(scope: Construct, prop: str, value: float, unit: str) -> None:
    """Reject a quantity CloudFormation needs as a whole number of ``unit``."""
    if not is_token(value) and value != int(value):
        fail(scope, prop, f"{value:g} {unit}", f"must be a whole number of {unit}")


@jsii.implements(IValidation)
class _DropDependency:
    def __init__(self, resource: IConstruct, target: IConstruct) -> None:
        self._resource, self._target = resource, target

    def validate(self) -> list[str]:
        resource, target = self._resource.node.default_child, self._target.node.default_child
        if isinstance(resource, CfnResource) and isinstance(target, CfnResource):
            resource.remove_resource_dependency(target)
        return []


def drop_redundant_dependency(resource: IConstruct, target: IConstruct) -> None:
    """Remove ``resource``'s ``DependsOn`` on ``target``'s L1 where a ``Ref``/``GetAtt`` already orders them.

    The L2s add a construct dependency on a role (so its default policy exists first) that also renders
    the role itself into ``DependsOn``: cfn-lint W3005. Construct dependencies become ``DependsOn`` when
    the app is prepared, just before validation, so the redundant entry is removed then; the one on
    the role's policy stays.
    """
    resource.node.add_validation(_DropDependency(resource, target))


def report(scope: IConstruct, problems: Iterable[Problem], *, prefix: str = "") -> None:
    """Turn the model's problems into what a user sees: each warning a synth warning on ``scope``, then the
    first error a ``ValueError`` (``PATH: PROP=VALUE is invalid: WHY``, like :func:`fail`).

    ``prefix`` is where the checked value sits among ``scope``'s props (``"containers[1]"``).
    """
    first_error: Problem | None = None
    for problem in problems:
        problem = problem.under(prefix)
        if problem.warning:
            Annotations.of(scope).add_warning_v2(problem.warning_id, problem.message(scope.node.path))
        elif first_error is None:
            first_error = problem
    if first_error is not None:
        raise ValueError(first_error.message(scope.node.path))
