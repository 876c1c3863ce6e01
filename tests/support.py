"""Helpers for construct tests (the environment is prepared in conftest.py)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk.assertions import Template

from cdk_batchkit.constructs import BatchNetwork


def new_stack(name: str = "Test") -> cdk.Stack:
    """A stack in a fresh app (no synth yet: cheap)."""
    return cdk.Stack(cdk.App(), name)


def network(stack: cdk.Stack, **kwargs: object) -> BatchNetwork:
    return BatchNetwork(stack, "Network", **kwargs)  # type: ignore[arg-type]


def template_of(stack: cdk.Stack) -> Template:
    return Template.from_stack(stack)


def only(template: Template, type_name: str) -> dict:
    """The properties of the single resource of ``type_name``."""
    found = template.find_resources(type_name)
    assert len(found) == 1, f"expected one {type_name}, found {len(found)}"
    return next(iter(found.values()))["Properties"]
