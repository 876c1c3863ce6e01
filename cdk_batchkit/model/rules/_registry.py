"""The rule registry: every AWS rule the library enforces, registered once with the document it encodes.

A rule is a plain function over CDK-free model values, decorated with :func:`rule`. Two kinds exist:

* **Fit rules** take ``(job, environment)`` and return a reason (``str``) or None; :func:`check_fit`
  composes them ("can this job ever leave RUNNABLE here?").
* **Value rules** take model values (a container, a job definition, a submission, compute settings...)
  and *yield* :class:`Problem` values, each naming the prop (relative to the value checked), the bad value
  and why. The decorator turns the generator into a function returning a list, with the rule's id (and
  severity) stamped on every problem.

Constructs translate CDK objects (ours, the L2's, imported ones described by a profile) into model values,
call the rules and report the problems (``constructs._validation.report``): an error raises ``ValueError``
naming the construct path, the prop, the value and why; a warning becomes a synth warning. The testing kit
calls the same rules on the requests handlers send. Nothing here imports aws_cdk.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, TypeVar


@dataclass(frozen=True)
class Rule:
    """A synth rule: ``id`` (``BK-...``), what it enforces, the AWS document or limit it encodes, and
    whether a violation is a warning (AWS accepts it, but it does nothing or is risky) or an error."""

    id: str
    summary: str
    source: str
    warning: bool = False


#: Every rule the model enforces, by id. Complete after ``import cdk_batchkit.model``.
RULES: dict[str, Rule] = {}


@dataclass(frozen=True)
class Problem:
    """One finding of a value rule.

    ``prop`` is the path of the offending prop relative to the value checked (``"memory"``,
    ``"linux_parameters.swappiness"``); callers prefix it with where the value sits
    (:meth:`under`: ``"containers[1]"``). ``value`` is shown with ``repr`` unless it is a string already
    formatted for people (``"512 MiB"``), see :meth:`message`.
    """

    prop: str
    value: Any
    why: str
    #: The id of the rule that found it (stamped by :func:`rule`).
    rule: str = ""
    #: A warning (AWS accepts it but it does nothing or is risky), not an error.
    warning: bool = False
    #: The synth-warning id (``batchkit:...``); default ``batchkit:<rule id>``.
    code: str | None = None

    def under(self, prefix: str) -> Problem:
        """The same problem with ``prefix`` (a prop path) put before its prop."""
        if not prefix:
            return self
        prop = (
            f"{prefix}.{self.prop}" if self.prop and not self.prop.startswith("[") else f"{prefix}{self.prop}"
        )
        return replace(self, prop=prop)

    def message(self, path: str) -> str:
        """The text constructs raise or warn with: ``PATH: PROP=VALUE is invalid: WHY``."""
        if self.warning:
            where = f"{path}: {self.prop}" if self.prop else path
            return f"{where}: {self.why}"
        return f"{path}: {self.prop}={self.value!r} is invalid: {self.why}"

    @property
    def warning_id(self) -> str:
        return self.code or f"batchkit:{self.rule}"


F = TypeVar("F", bound=Callable[..., Any])


def rule(rule_id: str, summary: str, source: str, *, warning: bool = False) -> Callable[[F], F]:
    """Register ``func`` as the one function of rule ``rule_id`` (a second registration is an error).

    A generator function (a value rule) is wrapped to return ``list[Problem]`` with ``rule_id`` (and
    ``warning``) stamped; any other function (a fit rule) is returned as it is. ``func.rule_id`` names it.
    """

    def register_function(func: F) -> F:
        if rule_id in RULES:
            raise ValueError(f"rule {rule_id} is registered twice")
        RULES[rule_id] = Rule(rule_id, summary, source, warning)
        if inspect.isgeneratorfunction(func):
            original = func

            @functools.wraps(original)
            def wrapper(*args: Any, **kwargs: Any) -> list[Problem]:
                return [
                    replace(p, rule=p.rule or rule_id, warning=p.warning or warning)
                    for p in original(*args, **kwargs)
                ]

            wrapper.rule_id = rule_id  # type: ignore[attr-defined]
            return wrapper  # type: ignore[return-value]
        func.rule_id = rule_id  # type: ignore[attr-defined]
        return func

    return register_function


def run(checks: Iterable[Callable[..., list[Problem]]], *args: Any, **kwargs: Any) -> list[Problem]:
    """Every problem of ``checks`` (value rules) on the same arguments, in order."""
    found: list[Problem] = []
    for check in checks:
        found.extend(check(*args, **kwargs))
    return found


def errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if not p.warning]


def warnings(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.warning]
