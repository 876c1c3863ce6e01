"""The synthesized apps every template-wide test reads, built once per test session (per xdist worker):
the reference app in its variants, the kitchen-sink stack and the documented apps (the README's first
stack, the guide's app split across stacks), each under the cdk-nag plugin, written to disk as
``make synth`` writes them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import aws_cdk as cdk
import pytest
from cdk_nag import AwsSolutionsChecks

from tests.doc_blocks import DOCS, README, app_source

#: The documented apps (a page's ``app.py`` and the files it imports, tests/doc_blocks.py), by variant.
DOC_APPS = {"docs-pipeline": README, "docs-multi-stack": DOCS / "guide" / "composition.md"}


def synth_doc_app(outdir: Path, page: Path) -> Path:
    """Run the app of ``page`` as written, its ``cdk.App`` writing to ``outdir`` under the cdk-nag plugin
    (synth raises on any unacknowledged finding and on a dependency cycle)."""
    real_app = cdk.App

    def app_with_nag(*args: object, **kwargs: object) -> cdk.App:
        app = real_app(**{**kwargs, "outdir": str(outdir)})  # type: ignore[arg-type]
        cdk.Validations.of(app).add_plugins(
            AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True)
        )
        return app

    cdk.App = app_with_nag  # type: ignore[misc]
    try:
        exec(compile(app_source(page), str(page), "exec"), {"__name__": "__main__"})
    finally:
        cdk.App = real_app  # type: ignore[misc]
    return outdir


def _builders() -> dict[str, Callable[[Path], Path]]:
    from tests.templates.test_reference_app import _kitchen_sink, _synth_reference

    return {
        "default": lambda out: _synth_reference(out),
        "gpu-endpoints": lambda out: _synth_reference(
            out, **{"batchkit:gpuQueue": True, "batchkit:networkMode": "private-with-endpoints"}
        ),
        "nat": lambda out: _synth_reference(out, **{"batchkit:networkMode": "private-with-nat"}),
        "kitchen-sink": _kitchen_sink,
        **{name: (lambda out, p=page: synth_doc_app(out, p)) for name, page in DOC_APPS.items()},
    }


class Assemblies(dict[str, Path]):
    """Variant name -> cloud assembly directory, synthesized on first use."""

    def __init__(self, base: Path) -> None:
        super().__init__()
        self._base = base

    def __missing__(self, variant: str) -> Path:
        outdir = self._base / variant
        outdir.mkdir()
        self[variant] = _builders()[variant](outdir)
        return self[variant]


@pytest.fixture(scope="session")
def assemblies(tmp_path_factory: pytest.TempPathFactory) -> Assemblies:
    return Assemblies(tmp_path_factory.mktemp("assemblies"))
