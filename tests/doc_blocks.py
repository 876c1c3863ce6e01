"""The code blocks of the README and of the documentation pages, and how the tests run them.

Every ```` ```python ```` block of ``README.md`` and ``docs/**/*.md`` runs in a test
(tests/test_docs.py); none is skipped. What a block is, and so how it runs, is said by an HTML comment on
the line just above its fence (invisible on GitHub and on the site):

- no comment: a **fragment**, written as if inside a stack's ``__init__``. The fragments of a page run in
  order, in one namespace that starts with the names of the **prelude** (the block of
  ``docs/guide/index.md`` marked ``<!-- doc-test: prelude -->``: ``app``, ``self``, ``net``, ``queue``,
  ``image``, ``job``); a fragment sees what the fragments above it on the page defined. The page's app is
  synthesized once after its last fragment, without the built-in CloudFormation validation plugin
  (validation is not what a fragment shows; the template tests run it).
- ``<!-- doc-test: file NAME -->``: a file of a small project (``pipeline.py``, ``app.py``,
  ``test_pipeline.py``...). The files of a page are written side by side into one directory: ``app.py``
  runs as ``cdk synth`` would run it, ``test_*.py`` files run with pytest and the testing kit's plugin.
- ``<!-- doc-test: job -->``: job code, run as a Batch job would run it: with the variables the S3
  submitter gives a job of one object (:data:`JOB_ENVIRONMENT`).

A page's ``app.py`` (with the files it imports) that the template tests synthesize under cdk-nag
(tests/templates/conftest.py, ``DOC_APPS``) is not synthesized again by tests/test_docs.py.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PRELUDE_PAGE = DOCS / "guide" / "index.md"

#: The pages whose code blocks are run: the README and every page of the site.
PAGES = [README, *sorted(DOCS.rglob("*.md"))]

#: A fenced block, possibly indented (inside a list item), with the comment line above it if any.
FENCE = re.compile(
    r"^(?:(?P<indent0>[ ]*)<!--\s*doc-test:\s*(?P<spec>[^>]*?)\s*-->[ ]*\n)?"
    r"(?P<indent>[ ]*)```(?P<lang>[A-Za-z0-9_+-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ ]*$",
    re.M | re.S,
)
KINDS = ("fragment", "prelude", "file", "job")

#: What a job of one object gets from the S3 submitter (PER_OBJECT mode, or an ARRAY batch of one).
JOB_ENVIRONMENT = {
    "BATCHKIT_BUCKET": "uploads",
    "BATCHKIT_KEY": "incoming/a.csv",
    "BATCHKIT_SIZE": "5",
    "BATCHKIT_VERSION_ID": "",
}


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the block's first code line (1-based)
    lang: str
    kind: str
    name: str  # a file block's file name
    code: str

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    def compiled(self) -> Any:
        """The block compiled with its own file and line numbers (tracebacks point into the page)."""
        return compile("\n" * (self.line - 1) + self.code, str(self.page), "exec")


def blocks(page: Path) -> list[Block]:
    """Every fenced code block of ``page``, in order."""
    text = page.read_text()
    found = []
    for match in FENCE.finditer(text):
        spec = (match.group("spec") or "fragment").split()
        kind, name = spec[0], " ".join(spec[1:])
        line = text.count("\n", 0, match.start("body")) + 1
        body = textwrap.dedent(match.group("body"))
        found.append(Block(page, line, match.group("lang"), kind, name, body))
    return found


def python_blocks(page: Path) -> list[Block]:
    return [b for b in blocks(page) if b.lang == "python"]


def problems(page: Path) -> Iterator[str]:
    """What is wrong with a page's markings: an unknown kind, a file without a name, a marked
    block that is not Python, two files of one name."""
    names: set[str] = set()
    for block in blocks(page):
        if block.kind != "fragment" and block.lang != "python":
            yield f"{block.where}: a {block.lang or 'plain'} block marked {block.kind}"
        if block.kind not in KINDS:
            yield f"{block.where}: unknown doc-test kind {block.kind!r} (one of {', '.join(KINDS)})"
        if block.kind == "file":
            if not block.name.endswith(".py"):
                yield f"{block.where}: a file block names no .py file: {block.name!r}"
            if block.name in names:
                yield f"{block.where}: file {block.name} given twice"
            names.add(block.name)
        if block.kind == "prelude" and page != PRELUDE_PAGE:
            yield f"{block.where}: the prelude belongs to {PRELUDE_PAGE.relative_to(ROOT)}"


def of_kind(page: Path, kind: str) -> list[Block]:
    return [b for b in python_blocks(page) if b.kind == kind]


def files(page: Path) -> dict[str, Block]:
    """A page's project files, by name."""
    return {b.name: b for b in of_kind(page, "file")}


def file_source(page: Path, name: str) -> str:
    """The text of file ``name`` of ``page``."""
    return files(page)[name].code


def app_source(page: Path) -> str:
    """A page's ``app.py`` preceded by the page's other non-test files it may import, as one program
    (the modules are defined in the order the page gives them)."""
    project = files(page)
    modules = [b for n, b in project.items() if n != "app.py" and not n.startswith("test_")]
    return "".join(b.code + "\n" for b in modules) + _without_local_imports(project["app.py"].code, modules)


def _without_local_imports(code: str, modules: list[Block]) -> str:
    """``code`` without its ``from MODULE import ...`` lines of the page's own modules (they are inlined)."""
    local = {b.name.removesuffix(".py") for b in modules}
    return "".join(
        line
        for line in code.splitlines(keepends=True)
        if not any(re.match(rf"from {re.escape(m)} import ", line) for m in local)
    )


def prelude() -> Block:
    (block,) = of_kind(PRELUDE_PAGE, "prelude")
    return block


def run_fragments(page: Path) -> dict[str, Any]:
    """Run the prelude, then every fragment of ``page`` in order, in one namespace (returned)."""
    namespace: dict[str, Any] = {"__name__": f"doc:{page.name}"}
    for block in [prelude(), *of_kind(page, "fragment")]:
        exec(block.compiled(), namespace)
    return namespace
