"""Names AWS reserves or constrains, shared by every value that carries them (containers of every kind,
per-submission overrides, node overrides)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ._registry import Problem, rule

_API = "https://docs.aws.amazon.com/batch/latest/APIReference"
#: Batch sets these itself ("Environment variables cannot start with AWS_BATCH").
RESERVED_ENVIRONMENT_PREFIX = "AWS_BATCH"


@rule(
    "BK-T12",
    "Environment variable names do not start with AWS_BATCH (Batch reserves the prefix for the variables it "
    "sets), in every container (ECS, multi-container task, node range, EKS) and every override.",
    f"{_API}/API_ContainerProperties.html (environment: cannot start with AWS_BATCH) and "
    f"{_API}/API_ContainerOverrides.html and {_API}/API_EksContainerEnvironmentVariable.html",
)
def environment_names(names: Iterable[str], prop: str = "environment") -> Iterator[Problem]:
    for name in names:
        if isinstance(name, str) and name.startswith(RESERVED_ENVIRONMENT_PREFIX) and "${Token[" not in name:
            yield Problem(
                prop,
                name,
                f"names starting with {RESERVED_ENVIRONMENT_PREFIX} are reserved for the variables "
                "Batch sets",
            )
