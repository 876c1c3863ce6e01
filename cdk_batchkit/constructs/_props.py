"""Shared props, declared once: a ``TypedDict`` that constructors take as ``**props: Unpack[...]``, and the
frozen dataclass holding its defaults that the constructors read.

Why ``TypedDict`` + ``Unpack`` (PEP 692) rather than a bundle value passed as one prop
(``Ec2ComputeEnvironment(instances=InstanceOptions(spot=True))``):

* calls stay flat and keyword-only, as with the L2 and before (``Ec2ComputeEnvironment(network=n,
  spot=True)``); a bundle would be one more concept to learn and would break every caller;
* type checkers (mypy, Pyright/Pylance, PyCharm) expand ``Unpack[...]`` into keyword parameters: completion,
  signature help and a typo (``spto=True``) reported as an unexpected keyword argument;
* mkdocstrings renders each constructor's expanded parameters with the field docstrings when griffe's
  built-in ``unpack_typeddict`` extension is on, so every parameter keeps its own documentation;
* plain Python, no jsii.

A ``TypedDict`` carries no defaults: each bundle's defaults live in one frozen dataclass with the same fields
(``tests/unit/test_shared_props.py`` checks they match), built by :func:`resolve`, which also refuses a
keyword the bundle does not have, as a plain signature would.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")


def resolve(owner: object, options: type[T], props: Mapping[str, Any]) -> T:
    """``options(**props)`` (the defaults of a props bundle applied); ``TypeError`` naming ``owner``'s class
    for a keyword the bundle does not have, as Python says it for any other keyword argument."""
    known = {f.name for f in fields(options)}  # type: ignore[arg-type]
    for name in props:
        if name not in known:
            raise TypeError(f"{type(owner).__name__}() got an unexpected keyword argument {name!r}")
    return options(**props)


F = TypeVar("F", bound=Callable[..., Any])
_UNPACK = "Unpack["


def expand_props(options: type) -> Callable[[F], F]:
    """Give the decorated constructor a signature whose ``**props: Unpack[SomeProps]`` is expanded into one
    keyword-only parameter per prop, with its default from ``options`` (the bundle's defaults dataclass):
    what ``inspect.signature``, ``help()`` and run-time completion (Jupyter, IPython) show. Type checkers
    and the documentation read the ``Unpack`` itself. The bundle is kept as ``__unpacked__``."""
    defaults = {f.name: f.default for f in fields(options)}  # type: ignore[arg-type]

    def decorate(function: F) -> F:
        signature = inspect.signature(function)
        parameters: list[inspect.Parameter] = []
        unpacked: list[type] = []
        for parameter in signature.parameters.values():
            annotation = parameter.annotation
            if parameter.kind is not parameter.VAR_KEYWORD or not str(annotation).startswith(_UNPACK):
                parameters.append(parameter)
                continue
            bundle = function.__globals__[str(annotation)[len(_UNPACK) : -1]]
            unpacked.append(bundle)
            for name, hint in bundle.__annotations__.items():
                parameters.append(
                    inspect.Parameter(
                        name,
                        inspect.Parameter.KEYWORD_ONLY,
                        default=defaults[name],
                        annotation=getattr(hint, "__forward_arg__", hint),
                    )
                )
        function.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        function.__unpacked__ = tuple(unpacked)  # type: ignore[attr-defined]
        return function

    return decorate
