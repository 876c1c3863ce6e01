"""docs/features.md covers every property of every AWS::Batch resource type in the CloudFormation schema
bundled with the pinned cfn-lint, gives each a valid status, and names APIs that exist.

The property paths are derived from the schema (``$ref`` followed, arrays written ``[]``), so a cfn-lint
upgrade that brings a new Batch property or resource type fails here, naming it. A row may say that the
fields under its path are listed under another path (``(fields as `Other.Path`)``, for a nested
definition that repeats one already listed, such as a node range's container): then each of its schema
fields must be covered under that other path.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import json
import re
import textwrap
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "docs" / "features.md"
STATUSES = ("supported", "default", "not supported", "in progress (issue 12)")
HEADING = re.compile(r"^## (AWS::Batch::\w+)\s*$")
PATH_CELL = re.compile(r"^`([A-Za-z0-9_.\[\]]+)`(?: \(fields as `([A-Za-z0-9_.\[\]]+)`\))?$")
# An API reference: `[module.]Name[.member][(param=)]`, e.g. `Container(vcpus=)`, `JobQueue.from_job_queue`,
# `batch.EcsVolume.efs(file_system=)`, `cdk.Tags.of`. Only these forms are checked; other code is prose.
API = re.compile(
    r"`(?:(batch|ecs|ec2|iam|cdk)\.)?([A-Z][A-Za-z0-9]*[a-z][A-Za-z0-9]*)((?:\.[a-z_]\w*)?)(\((\w+)=\))?`"
)
MODULES = {
    "batch": "aws_cdk.aws_batch",
    "ecs": "aws_cdk.aws_ecs",
    "ec2": "aws_cdk.aws_ec2",
    "iam": "aws_cdk.aws_iam",
    "cdk": "aws_cdk",
}


def _schema_dir() -> Path:
    spec = importlib.util.find_spec("cfnlint")  # its data only: importing cfn-lint itself is slow
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "schemas"


@cache
def schemas() -> dict[str, dict[str, Any]]:
    """Every AWS::Batch resource type's schema, as bundled with the pinned cfn-lint."""
    base = _schema_dir()
    providers = json.loads((base / "providers" / "us-east-1.json").read_text())
    found = {
        name: json.loads((base / "resources" / f"{digest}.json").read_text())
        for name, digest in providers.items()
        if name.startswith("AWS::Batch::")
    }
    assert found, f"no AWS::Batch types in {base}"
    return found


def schema_paths(schema: dict[str, Any]) -> set[str]:
    """Every settable property path: nested objects and array items followed through ``$ref``."""
    read_only = {
        p.removeprefix("/properties/").replace("/*/", "[].").replace("/", ".")
        for p in schema.get("readOnlyProperties", [])
    }

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = schema
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    paths: set[str] = set()

    def walk(node: dict[str, Any], prefix: str, seen: tuple[str, ...]) -> None:
        ref = node.get("$ref")
        if ref in seen:
            return
        seen = (*seen, ref) if ref else seen
        node = resolve(node)
        if node.get("type") == "array" or "items" in node:
            walk(node.get("items", {}), f"{prefix}[]", seen)
            return
        for name, child in node.get("properties", {}).items():
            path = f"{prefix}.{name}" if prefix else name
            if path in read_only:
                continue
            paths.add(path)
            walk(child, path, seen)

    walk(schema, "", ())
    return paths


@cache
def table() -> dict[str, dict[str, tuple[str | None, str, str, str]]]:
    """Resource type -> property path -> (alias, L2 cell, cdk-batchkit cell, status)."""
    rows: dict[str, dict[str, tuple[str | None, str, str, str]]] = {}
    current = None
    for number, line in enumerate(TABLE.read_text().splitlines(), 1):
        if line.startswith("## "):  # a resource type's table, or another section (current None)
            heading = HEADING.match(line)
            current = heading.group(1) if heading else None
            if current:
                rows.setdefault(current, {})
            continue
        if current is None or not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        assert len(cells) == 4, f"docs/features.md:{number}: a row has 4 cells: {line}"
        match = PATH_CELL.match(cells[0])
        assert match, f"docs/features.md:{number}: first cell is `Path` or `Path` (fields as `Other`)"
        path, alias = match.groups()
        assert path not in rows[current], f"docs/features.md:{number}: {path} listed twice"
        rows[current][path] = (alias, cells[1], cells[2], cells[3])
    return rows


def covered(path: str, rows: dict[str, tuple[str | None, str, str, str]], depth: int = 0) -> bool:
    if path in rows:
        return True
    assert depth < 10, f"alias loop at {path}"
    for listed, (alias, *_) in rows.items():
        for sep in (".", "[]"):
            if (
                alias
                and path.startswith(listed + sep)
                and covered(alias + path[len(listed) :], rows, depth + 1)
            ):
                return True
    return False


def test_every_batch_resource_type_has_a_table() -> None:
    assert sorted(schemas()) == sorted(table()), "one '## AWS::Batch::Type' table per schema resource type"


def test_every_schema_property_is_a_row() -> None:
    missing = [
        f"{kind} {path}"
        for kind, schema in schemas().items()
        for path in sorted(schema_paths(schema))
        if not covered(path, table().get(kind, {}))
    ]
    assert not missing, "docs/features.md lacks rows for:\n" + "\n".join(missing)


def test_every_row_is_a_schema_property() -> None:
    stale = []
    for kind, rows in table().items():
        paths = schema_paths(schemas()[kind]) if kind in schemas() else set()
        for path, (alias, *_) in rows.items():
            stale += [f"{kind} {p}" for p in (path, alias) if p is not None and p not in paths]
    assert not stale, "rows for paths the schema does not have:\n" + "\n".join(stale)


def test_every_row_has_a_valid_status() -> None:
    bad = [
        f"{kind} {path}: {status!r}"
        for kind, rows in table().items()
        for path, (*_, status) in rows.items()
        if status not in STATUSES
    ]
    assert not bad, f"status must be one of {STATUSES}:\n" + "\n".join(bad)


def test_no_row_is_in_progress() -> None:
    pending = [
        f"{kind} {path}"
        for kind, rows in table().items()
        for path, (*_, status) in rows.items()
        if status.startswith("in progress")
    ]
    assert not pending, "still in progress:\n" + "\n".join(pending)


def _api_problem(module: str, name: str, member: str, param: str | None) -> str | None:
    owner: Any = None
    for candidate in (module,) if module else ("cdk_batchkit.constructs", "cdk_batchkit.model"):
        owner = getattr(importlib.import_module(candidate), name, None)
        if owner is not None:
            break
    if owner is None:
        return f"{name} does not exist"
    target = owner
    if member:
        target = getattr(owner, member, None)
        if target is None and not (inspect.isclass(owner) and _sets_attribute(owner, member)):
            return f"{name}.{member} does not exist"
    if param is not None and target is not None:
        function = target.__init__ if inspect.isclass(target) else target
        if param not in inspect.signature(function).parameters:
            return f"{name}{'.' + member if member else ''} takes no {param}="
    return None


def _sets_attribute(cls: type, member: str) -> bool:
    """An instance attribute assigned in a method of the class or a base of this library: ``self.x = ...``,
    ``self.x: T = ...`` or one target of a tuple (``self.launch_template, self.user_data = ...``)."""

    def names(target: ast.expr) -> list[str]:
        if isinstance(target, ast.Tuple | ast.List):
            return [n for element in target.elts for n in names(element)]
        if isinstance(target, ast.Starred):
            return names(target.value)
        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
            return [target.attr] if target.value.id == "self" else []
        return []

    for c in cls.__mro__:
        if not c.__module__.startswith("cdk_"):
            continue
        for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(c)))):
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AnnAssign):
                targets = [node.target]
            else:
                continue
            if any(member in names(target) for target in targets):
                return True
    return False


def test_every_named_api_exists() -> None:
    problems = []
    for kind, rows in table().items():
        for path, (_, l2, ours, status) in rows.items():
            checked = 0
            for column, cell in (("L2", l2), ("cdk-batchkit", ours)):
                for module, name, member, _, param in API.findall(cell):
                    if column == "L2" and not module:
                        module = "batch"
                    problem = _api_problem(MODULES.get(module, ""), name, member.lstrip("."), param or None)
                    if problem:
                        problems.append(f"{kind} {path} ({column}): {problem}")
                    checked += column == "cdk-batchkit"
            if status == "supported" and not checked:
                problems.append(
                    f"{kind} {path}: a supported row names its API (`Class(param=)`, `Class.attr`)"
                )
    assert not problems, "\n".join(problems)


def test_the_checks_see_a_new_nested_property_and_follow_aliases() -> None:
    """The machinery above on a small schema: $ref and arrays followed, read-only skipped, aliases mapped."""
    schema = {
        "readOnlyProperties": ["/properties/Arn"],
        "properties": {
            "Arn": {"type": "string"},
            "Main": {"$ref": "#/definitions/Box"},
            "Nodes": {"type": "array", "items": {"$ref": "#/definitions/Node"}},
        },
        "definitions": {
            "Box": {"type": "object", "properties": {"Size": {"type": "integer"}, "New": {"type": "string"}}},
            "Node": {"type": "object", "properties": {"Box": {"$ref": "#/definitions/Box"}}},
        },
    }
    paths = schema_paths(schema)
    assert paths == {
        "Main",
        "Main.Size",
        "Main.New",
        "Nodes",
        "Nodes[].Box",
        "Nodes[].Box.Size",
        "Nodes[].Box.New",
    }
    row = (None, "-", "-", "supported")
    rows = {"Main": row, "Main.Size": row, "Nodes": row, "Nodes[].Box": ("Main", "-", "-", "supported")}
    assert [p for p in sorted(paths) if not covered(p, rows)] == ["Main.New", "Nodes[].Box.New"]


def test_attribute_detection_sees_plain_annotated_and_tuple_assignments() -> None:
    from cdk_batchkit.constructs import ConsumableResource, EksComputeEnvironment

    # self.launch_template, self.user_data = ...
    assert _sets_attribute(EksComputeEnvironment, "launch_template")
    assert _sets_attribute(EksComputeEnvironment, "user_data")
    assert _sets_attribute(ConsumableResource, "resource")  # self.resource = ...
    assert _sets_attribute(ConsumableResource, "total_quantity")  # self.total_quantity: int | None = ...
    assert not _sets_attribute(EksComputeEnvironment, "no_such_attribute")
