"""Prop validation shared by the constructs.

Every check raises ``ValueError`` naming the construct path, the prop and the
bad value, so a mistake fails ``cdk synth`` in the user's terminal instead of a
CloudFormation rollback twenty minutes later. Unresolved tokens are skipped:
they are only known at deploy time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import jsii
from aws_cdk import Annotations, CfnElement, CfnResource, Duration, Size, SizeRoundingBehavior, Stack, Token
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct, IValidation, Node

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


def remember(obj: Any, attribute: str, value: Any) -> None:
    """Keep ``value`` as what :func:`fetched` answers for ``obj.attribute``: for a value Python passed to
    the CDK itself (a bucket's key), so it is never asked back."""
    obj.__dict__.setdefault(_FETCHED, {})[attribute] = value


def node_path(scope: Any) -> str:
    """``scope.node.path``, fetched once per construct (ids never change)."""
    return fetched(scope, "node.path", lambda: _path(scope))  # type: ignore[no-any-return]


def _path(scope: Any) -> str:
    # A construct's toString() is its path (one round trip; ``node.path`` is two: the node, then its
    # path), except an L1's (``PATH [AWS::Type]``) and the root's (``<root>``).
    cache = scope.__dict__.get(_FETCHED) or {}
    to_string = getattr(scope, "to_string", None)
    if "node" not in cache and to_string is not None and not isinstance(scope, CfnElement):
        text = to_string()
        if isinstance(text, str) and text != "<root>":
            return text
    return node_of(scope).path


def node_of(scope: Any) -> Node:
    """``scope.node``, fetched once per construct (each ``scope.node`` is a round trip)."""
    return fetched(scope, "node", lambda: scope.node)  # type: ignore[no-any-return]


#: What :func:`known_parent` answers for a construct whose parent Python does not know.
UNKNOWN = object()


def known_parent(scope: Any) -> Any:
    """``scope``'s parent when Python knows it without asking (:func:`adopt`, or asked before), else
    :data:`UNKNOWN`."""
    return (scope.__dict__.get(_FETCHED) or {}).get("node.scope", UNKNOWN)


def parent_of(scope: Any) -> IConstruct | None:
    """``scope.node.scope`` (the construct ``scope`` was created in), fetched once per construct."""
    return fetched(scope, "node.scope", lambda: node_of(scope).scope)  # type: ignore[no-any-return]


def default_child(scope: Any) -> IConstruct | None:
    """``scope.node.default_child``, fetched once per construct: an L2's L1 is created in its
    constructor and never replaced (None, asked before it exists, is not kept)."""
    cache = scope.__dict__.setdefault(_FETCHED, {})
    child = cache.get("node.default_child")
    if child is None:
        child = node_of(scope).default_child
        if child is not None:
            cache["node.default_child"] = child
    return child


def stack_of(scope: Any) -> Stack:
    """``Stack.of(scope)``, fetched once per construct (a construct never moves to another stack); a stack
    is its own (as ``Stack.of`` answers), and any other construct whose parent Python knows has its
    parent's (:func:`adopt`)."""
    if isinstance(scope, Stack):
        return scope
    parent = known_parent(scope)
    if parent is UNKNOWN or parent is None:
        return fetched(scope, "stack", lambda: Stack.of(scope))  # type: ignore[no-any-return]
    # Not a stack itself: its parent's (asked once per chain of constructs Python saw made).
    return fetched(scope, "stack", lambda: stack_of(parent))  # type: ignore[no-any-return]


def node_id(scope: Any) -> str:
    """``scope.node.id``, fetched once per construct (known without a round trip after :func:`adopt`)."""
    return fetched(scope, "node.id", lambda: node_of(scope).id)  # type: ignore[no-any-return]


def adopt(child: Any, scope: Any, construct_id: str) -> Any:
    """Record what Python knows of ``child``, just made as ``construct_id`` in ``scope``: its parent, its id
    (sanitized as ``constructs`` does: ``/`` becomes ``--``) and its path when ``scope``'s is known.
    :func:`parent_of`, :func:`node_id` and :func:`node_path` then answer without a round trip, and
    :func:`stack_of` with its parent's stack (unless ``child`` is a stack). Returns ``child``."""
    cache = child.__dict__.setdefault(_FETCHED, {})
    own_id = construct_id.replace("/", "--")
    cache["node.scope"] = scope
    cache["node.id"] = own_id
    parent_path = (scope.__dict__.get(_FETCHED) or {}).get("node.path")
    if parent_path is None and isinstance(scope, Stack):
        parent_path = node_path(scope)  # once per stack
    if parent_path is not None:
        cache["node.path"] = f"{parent_path}/{own_id}" if parent_path else own_id
    return child


class StackEnv(NamedTuple):
    """A stack's partition, region and account (tokens, or the strings of its ``env``)."""

    partition: str
    region: str
    account: str


def stack_env(scope: Any) -> StackEnv:
    """``scope``'s stack's ``partition``, ``region`` and ``account``, asked of the CDK once per stack."""
    stack = stack_of(scope)
    return fetched(  # type: ignore[no-any-return]
        stack, "env", lambda: StackEnv(stack.partition, stack.region, stack.account)
    )


def arn_prefix(scope: Any, service: str) -> str:
    """``arn:PARTITION:SERVICE:REGION:ACCOUNT:`` of ``scope``'s stack, as ``Stack.format_arn`` spells it (its
    :func:`stack_env`): the string ``format_arn`` returns, up to the resource and its ``/``-separated name."""
    env = stack_env(scope)
    return f"arn:{env.partition}:{service}:{env.region}:{env.account}:"


# -- Durations and Sizes: value objects that live in Node ---------------------------------------------
# A Duration or Size never changes: each conversion is asked of the CDK once per object and kept on it,
# and the library's own defaults are made once per process with their value known in Python.

_SECONDS = {"millis": 0.001, "seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
_MIB = {"mebibytes": 1, "gibibytes": 1024, "tebibytes": 1024 * 1024}
_MADE: dict[tuple[str, Any], Any] = {}


def duration(unit: str, amount: float) -> Duration:
    """``Duration.<unit>(amount)`` (``"minutes", 30``), made once per process with its seconds known: the
    same object renders the same as a new one (a Duration is an immutable value)."""
    key = (unit, amount)
    made = _MADE.get(key)
    if made is None:
        made = _MADE[key] = getattr(Duration, unit)(amount)
        seconds = amount * _SECONDS[unit]
        if seconds == int(seconds):  # to_seconds() refuses a fraction of a second
            made.__dict__.setdefault(_FETCHED, {})[("to_seconds", True)] = int(seconds)
    return made  # type: ignore[no-any-return]


def size(unit: str, amount: float) -> Size:
    """``Size.<unit>(amount)`` (``"gibibytes", 2``), made once per process with its MiB known."""
    key = (unit, amount)
    made = _MADE.get(key)
    if made is None:
        made = _MADE[key] = getattr(Size, unit)(amount)
        mib = amount * _MIB[unit]
        cache = made.__dict__.setdefault(_FETCHED, {})
        for rounding in (None, SizeRoundingBehavior.FAIL, SizeRoundingBehavior.NONE):
            cache[("to_mebibytes", rounding)] = mib
        if mib % 1024 == 0:
            cache[("to_gibibytes", None)] = mib // 1024
    return made  # type: ignore[no-any-return]


def service_principal(service: str) -> iam.ServicePrincipal:
    """``iam.ServicePrincipal(service)`` (``"lambda.amazonaws.com"``), made once per process: a principal
    without conditions holds no state, so every role may share it (it renders as a new one would)."""
    key = ("service_principal", service)
    made = _MADE.get(key)
    if made is None:
        made = _MADE[key] = iam.ServicePrincipal(service)
    return made  # type: ignore[no-any-return]


def seconds_of(value: Duration, *, integral: bool = True) -> float:
    """``value.to_seconds(integral=...)``, asked once per Duration (it raises as ``to_seconds`` does: a
    fraction of a second with ``integral``). May be a token (a Duration of an unresolved amount)."""
    cache = value.__dict__.setdefault(_FETCHED, {})
    key = ("to_seconds", integral)
    if key not in cache:
        cache[key] = value.to_seconds() if integral else value.to_seconds(integral=False)
    return cache[key]  # type: ignore[no-any-return]


def human_string(value: Duration) -> str:
    """``value.to_human_string()`` (``"5 minutes"``), asked once per Duration."""
    return fetched(value, "to_human_string", value.to_human_string)  # type: ignore[no-any-return]


def mebibytes_of(value: Size, rounding: SizeRoundingBehavior | None = None) -> float:
    """``value.to_mebibytes(rounding=...)``, asked once per Size and rounding (raises as it does)."""
    cache = value.__dict__.setdefault(_FETCHED, {})
    key = ("to_mebibytes", rounding)
    if key not in cache:
        cache[key] = value.to_mebibytes() if rounding is None else value.to_mebibytes(rounding=rounding)
    return cache[key]  # type: ignore[no-any-return]


def gibibytes_of(value: Size) -> float:
    """``value.to_gibibytes()``, asked once per Size (raises as it does on a fraction of a GiB)."""
    cache = value.__dict__.setdefault(_FETCHED, {})
    key = ("to_gibibytes", None)
    if key not in cache:
        cache[key] = value.to_gibibytes()
    return cache[key]  # type: ignore[no-any-return]


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
    seconds = seconds_of(value)  # one round trip per Duration: it lives in Node
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
class _AtValidation:
    """The checks of one stack that need the finished tree, run when the app is validated: one CDK
    validation per stack (each ``node.add_validation`` of a Python object is a jsii object and a callback
    from Node), the checks in the order they were added."""

    def __init__(self) -> None:
        self.checks: list[Callable[[], list[str] | None]] = []

    def validate(self) -> list[str]:
        errors: list[str] = []
        for check in self.checks:
            errors.extend(check() or [])
        return errors


_AT_VALIDATION = "_batchkit_at_validation"


def at_validation(scope: IConstruct, check: Callable[[], list[str] | None]) -> None:
    """Run ``check`` when the app is validated (after ``prepare``: the tree is final, construct dependencies
    are ``DependsOn`` and cross-stack references are exports); the error texts it returns fail synth on
    ``scope``'s stack. Checks that only warn report on their own construct and return nothing."""
    stack = stack_of(scope)
    holder = stack.__dict__.get(_AT_VALIDATION)
    if holder is None:
        holder = stack.__dict__[_AT_VALIDATION] = _AtValidation()
        node_of(stack).add_validation(holder)
    holder.checks.append(check)


def _drop_dependency(resource: IConstruct, target: IConstruct) -> None:
    resource_l1, target_l1 = default_child(resource), default_child(target)
    if isinstance(resource_l1, CfnResource) and isinstance(target_l1, CfnResource):
        resource_l1.remove_resource_dependency(target_l1)


def drop_redundant_dependency(resource: IConstruct, target: IConstruct) -> None:
    """Remove ``resource``'s ``DependsOn`` on ``target``'s L1 where a ``Ref``/``GetAtt`` already orders them.

    The L2s add a construct dependency on a role (so its default policy exists first) that also renders
    the role itself into ``DependsOn``: cfn-lint W3005. Construct dependencies become ``DependsOn`` when
    the app is prepared, just before validation, so the redundant entry is removed then; the one on
    the role's policy stays.
    """
    at_validation(resource, lambda: _drop_dependency(resource, target))


def report(scope: IConstruct, problems: Iterable[Problem], *, prefix: str = "") -> None:
    """Turn the model's problems into what a user sees: each warning a synth warning on ``scope``, then the
    first error a ``ValueError`` (``PATH: PROP=VALUE is invalid: WHY``, like :func:`fail`).

    ``prefix`` is where the checked value sits among ``scope``'s props (``"containers[1]"``).
    """
    first_error: Problem | None = None
    for problem in problems:
        problem = problem.under(prefix)
        if problem.warning:
            annotations_of(scope).add_warning_v2(problem.warning_id, problem.message(node_path(scope)))
        elif first_error is None:
            first_error = problem
    if first_error is not None:
        raise ValueError(first_error.message(node_path(scope)))


def annotations_of(scope: Any) -> Annotations:
    """``Annotations.of(scope)``, fetched once per construct."""
    return fetched(scope, "annotations", lambda: Annotations.of(scope))  # type: ignore[no-any-return]
