"""Every public parameter has its own documentation, with its default said as behaviour (issue 20): each
constructor parameter of every class ``cdk_batchkit.constructs`` exports (constructs and values), and each
prop of the shared bundles (``**props: Unpack[...]``, documented once on the ``TypedDict``)."""

from __future__ import annotations

import ast
import enum
import inspect
import re
import textwrap
from functools import cache

import pytest

import cdk_batchkit.constructs as api

#: Parameters every construct takes from ``constructs.Construct`` (documented there).
CONSTRUCT_PARAMETERS = {"self", "scope", "construct_id", "id"}
#: A default said as a value, not as behaviour.
UNSAID = re.compile(r"Default:\s*(None|unset|``None``|none)\s*\.?\s*$", re.I)


def _public_classes() -> list[type]:
    found = []
    for name in api.__all__:
        value = getattr(api, name)
        if inspect.isclass(value) and not issubclass(value, enum.Enum):
            found.append(value)
    return found


def _param_docs(text: str | None) -> dict[str, str]:
    """``:param name: text`` entries of a Sphinx-style docstring (text up to the next field or blank line)."""
    docs: dict[str, str] = {}
    if not text:
        return docs
    text = inspect.cleandoc(text)
    for match in re.finditer(r"^:param (\w+):(.*?)(?=^:\w|^\s*$|\Z)", text, re.M | re.S):
        docs.setdefault(match.group(1), " ".join(match.group(2).split()))
    return docs


@cache
def _attribute_docs(cls: type) -> dict[str, str]:
    """The docstrings under the annotated attributes of ``cls`` and its bases (a ``TypedDict``'s fields)."""
    docs: dict[str, str] = {}
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    # A TypedDict's bases are not in its __mro__: read them from the class statement.
    module = vars(inspect.getmodule(cls))
    for name in (b.id for b in tree.body[0].bases if isinstance(b, ast.Name)):  # type: ignore[attr-defined]
        base = module.get(name)
        if isinstance(base, type) and base.__module__.startswith("cdk_batchkit"):
            docs.update(_attribute_docs(base))
    body = tree.body[0].body  # type: ignore[attr-defined]
    for node, following in zip(body, [*body[1:], None], strict=True):
        documented = isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and documented:
            docs[node.target.id] = " ".join(str(following.value.value).split())  # type: ignore[union-attr]
    return docs


def _documentation(cls: type, name: str) -> str | None:
    """Where ``name`` of ``cls``'s constructor is documented: its own ``:param:`` (the constructor's
    docstring or the class's; a dataclass field inherited from a base, the base's) or, for a prop of an
    unpacked bundle, the bundle's field docstring."""
    for owner in cls.__mro__:
        if not owner.__module__.startswith("cdk_batchkit"):
            continue
        init = owner.__dict__.get("__init__")
        for text in (getattr(init, "__doc__", None), owner.__doc__):
            doc = _param_docs(text).get(name)
            if doc:
                return doc
    for bundle in getattr(cls.__init__, "__unpacked__", ()):
        if name in _attribute_docs(bundle):
            return _attribute_docs(bundle)[name]
    return None


def _parameters() -> list[tuple[str, inspect.Parameter, type]]:
    found = []
    for cls in _public_classes():
        init = cls.__init__
        if not getattr(init, "__module__", "").startswith("cdk_batchkit"):
            continue  # constructs.Construct's own (scope, id)
        for parameter in inspect.signature(init).parameters.values():
            if parameter.name in CONSTRUCT_PARAMETERS or parameter.kind is parameter.VAR_KEYWORD:
                continue
            found.append((f"{cls.__name__}({parameter.name}=)", parameter, cls))
    return found


PARAMETERS = _parameters()


def test_the_check_sees_every_public_constructor():
    names = {label.split("(")[0] for label, _, _ in PARAMETERS}
    assert {"Ec2ComputeEnvironment", "EksComputeEnvironment", "ContainerJobDefinition", "Step"} <= names
    # The shared props count once per constructor that takes them.
    assert "EksComputeEnvironment(spot=)" in {label for label, _, _ in PARAMETERS}
    assert len(PARAMETERS) > 300


@pytest.mark.parametrize(("label", "parameter", "cls"), PARAMETERS, ids=[p[0] for p in PARAMETERS])
def test_every_public_parameter_is_documented_with_its_default(label, parameter, cls):
    doc = _documentation(cls, parameter.name)
    assert doc, f"{label} has no documentation of its own"
    if parameter.default is not inspect.Parameter.empty:
        assert "Default" in doc, f"{label} does not say its default: {doc!r}"
        assert not UNSAID.search(doc), f"{label} says its default as a value, not as behaviour: {doc!r}"


BUNDLES = [api.ManagedEc2Props, api.JobDefinitionProps, api.EcsJobDefinitionProps, api.TaskPlatformProps]


@pytest.mark.parametrize("bundle", BUNDLES, ids=lambda b: b.__name__)
def test_every_shared_prop_is_documented_once_on_its_bundle(bundle):
    docs = _attribute_docs(bundle)
    for name in bundle.__annotations__:
        assert "Default" in docs.get(name, ""), f"{bundle.__name__}.{name} does not say its default"


def test_an_undocumented_parameter_fails_the_check():
    class Undocumented:
        def __init__(self, *, spot: bool = False, tags: dict | None = None) -> None:
            """:param spot: run on Spot. Default: None."""

    Undocumented.__module__ = "cdk_batchkit.example"
    Undocumented.__init__.__module__ = "cdk_batchkit.example"
    assert _documentation(Undocumented, "tags") is None
    assert UNSAID.search(_documentation(Undocumented, "spot") or "")
