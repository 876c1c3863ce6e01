"""Shared props are declared once: each ``TypedDict`` bundle and the dataclass holding its defaults have the
same fields and types, and every constructor that takes a bundle shows its props as keyword parameters."""

from __future__ import annotations

import inspect
import typing
from dataclasses import fields

import pytest

from cdk_batchkit.constructs import (
    ContainerJobDefinition,
    Ec2ComputeEnvironment,
    EcsJobDefinitionProps,
    EcsTaskJobDefinition,
    EksComputeEnvironment,
    EksJobDefinition,
    JobDefinitionProps,
    ManagedEc2Props,
    MultiNodeJobDefinition,
    TaskPlatformProps,
)
from cdk_batchkit.constructs.compute import ManagedEc2Options
from cdk_batchkit.constructs.job_definition import (
    EcsJobDefinitionOptions,
    JobDefinitionOptions,
    TaskPlatformOptions,
)

BUNDLES = [
    (ManagedEc2Props, ManagedEc2Options),
    (JobDefinitionProps, JobDefinitionOptions),
    (EcsJobDefinitionProps, EcsJobDefinitionOptions),
    (TaskPlatformProps, TaskPlatformOptions),
]
TAKERS = [
    (Ec2ComputeEnvironment, ManagedEc2Props),
    (EksComputeEnvironment, ManagedEc2Props),
    (ContainerJobDefinition, TaskPlatformProps),
    (EcsTaskJobDefinition, TaskPlatformProps),
    (MultiNodeJobDefinition, EcsJobDefinitionProps),
    (EksJobDefinition, JobDefinitionProps),
]


@pytest.mark.parametrize(("props", "options"), BUNDLES, ids=lambda v: v.__name__)
def test_a_bundle_and_its_defaults_have_the_same_fields_and_types(props, options):
    declared = {name: getattr(hint, "__forward_arg__", hint) for name, hint in props.__annotations__.items()}
    defaults = {f.name: f.type for f in fields(options)}
    assert declared == defaults
    # Every prop is optional: a constructor's required props are its own parameters.
    assert props.__required_keys__ == frozenset()


@pytest.mark.parametrize(("construct", "props"), TAKERS, ids=lambda v: v.__name__)
def test_constructors_show_every_prop_of_their_bundle(construct, props):
    parameters = inspect.signature(construct.__init__).parameters
    for name in props.__annotations__:
        assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY
    assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    # What type checkers read: the bundle, unpacked.
    hints = typing.get_type_hints(
        construct.__init__, include_extras=True, localns=vars(inspect.getmodule(construct))
    )
    assert hints["props"] == typing.Unpack[props]


def test_the_eks_and_ec2_environments_share_one_declaration():
    ec2 = inspect.signature(Ec2ComputeEnvironment.__init__).parameters
    eks = inspect.signature(EksComputeEnvironment.__init__).parameters
    shared = [name for name in ManagedEc2Props.__annotations__ if name in ec2 and name in eks]
    assert len(shared) == 15
    assert all(ec2[name].default == eks[name].default for name in shared)
