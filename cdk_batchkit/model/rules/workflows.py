"""Workflow rules: the steps of a workflow form a graph Step Functions can run (BK-W3). Each step's own
submission is checked by the submission rules (BK-W1, BK-W2...)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence

from ..values import is_unresolved
from ._registry import Problem, rule

#: Step names become Batch job names and state names (plus suffixes of up to 16 characters such as
#: `` job summary``; state names are at most 80 characters): 1-64 letters, digits, ``-``, ``_``.
STEP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def find_cycle(names: Sequence[str], parents: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A dependency cycle as ``[a, b, ..., a]``, or None (unknown parents are ignored)."""
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for parent in parents.get(node, ()):
            if parent not in parents:
                continue
            if state.get(parent) == 1:
                return [*stack[stack.index(parent) :], parent]
            if parent not in state:
                found = visit(parent)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for name in names:
        if name not in state:
            found = visit(name)
            if found:
                return found
    return None


@rule(
    "BK-W3",
    "A workflow has at least one step; step names are unique, 1-64 letters, digits, - and _ (they become "
    "state names, at most 80 characters with the states each step adds, and job names); dependencies name "
    "other steps of the workflow, once each, and form no cycle.",
    "https://docs.aws.amazon.com/step-functions/latest/dg/statemachine-structure.html (state names unique) "
    "and https://docs.aws.amazon.com/step-functions/latest/apireference/API_StateExitedEventDetails.html "
    "(name: 1-80 characters)",
)
def workflow_steps(steps: Sequence[tuple[str, Sequence[str]]]) -> Iterator[Problem]:
    if not steps:
        yield Problem("steps", [], "needs at least one step")
        return
    seen: set[str] = set()
    for name, _ in steps:
        if not isinstance(name, str) or not STEP_NAME.match(name):
            yield Problem(
                "steps.name",
                name,
                "step names are 1-64 letters, digits, '-' or '_', starting with a letter or digit",
            )
        elif name in seen:
            yield Problem("steps.name", name, "is used by two steps; step names must be unique")
        seen.add(name)
    names = [n for n, _ in steps]
    for name, depends_on in steps:
        deps = list(depends_on)
        unknown = [d for d in deps if d not in seen]
        if unknown:
            yield Problem(
                f"steps[{name}].depends_on",
                unknown,
                f"names no step of this workflow (steps: {sorted(seen)})",
            )
        if name in deps:
            yield Problem(f"steps[{name}].depends_on", deps, "a step cannot depend on itself")
        elif len(set(deps)) != len(deps):
            yield Problem(f"steps[{name}].depends_on", deps, "lists a step twice")
    cycle = find_cycle(names, {n: [d for d in deps if d != n] for n, deps in steps})
    if cycle:
        yield Problem("steps.depends_on", " -> ".join(cycle), "is a dependency cycle")


#: A Standard workflow's execution runs at most one year.
MAX_EXECUTION_SECONDS = 31_536_000


@rule(
    "BK-W4",
    "A workflow's execution timeout is 1 s to one year (a Standard workflow's longest execution).",
    "https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html (maximum execution time: 1 "
    "year) and https://docs.aws.amazon.com/step-functions/latest/dg/statemachine-structure.html "
    "(TimeoutSeconds)",
)
def workflow_timeout(seconds: float | None) -> Iterator[Problem]:
    if seconds is None or isinstance(seconds, bool) or is_unresolved(seconds):
        return
    if not 1 <= seconds <= MAX_EXECUTION_SECONDS:
        yield Problem("timeout", f"{seconds:g} s", f"must be between 1 and {MAX_EXECUTION_SECONDS} seconds")


__all__ = ["MAX_EXECUTION_SECONDS", "STEP_NAME", "find_cycle", "workflow_steps", "workflow_timeout"]
