"""docs/rules.md lists every registered synth rule with its source, and names tests that exist."""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import cdk_batchkit.constructs  # noqa: F401  (registers the rules the constructs enforce)
from cdk_batchkit.model import RULES

ROOT = Path(__file__).resolve().parents[1]
TABLE = (ROOT / "docs" / "rules.md").read_text()
ROW = re.compile(r"^\| (BK-[A-Z]+\d+) \| (.*?) \| (.*?) \| (.*?) \|$", re.M)


def _rows() -> dict[str, tuple[str, str, str]]:
    rows = {m.group(1): (m.group(2), m.group(3), m.group(4)) for m in ROW.finditer(TABLE)}
    assert rows, "no rule rows found in docs/rules.md"
    return rows


def test_every_registered_rule_is_in_the_table_with_its_source() -> None:
    rows = _rows()
    for rule_id, rule in RULES.items():
        assert rule_id in rows, f"{rule_id} ({rule.summary}) is missing from docs/rules.md"
        url = rule.source.split(" ", 1)[0]
        assert url in rows[rule_id][1], f"{rule_id}: the table cites {rows[rule_id][1]!r}, the rule {url!r}"


def test_every_row_cites_an_aws_source_and_existing_tests() -> None:
    for rule_id, (_, source, tests) in _rows().items():
        assert "docs.aws.amazon.com" in source, rule_id
        refs = [t.strip() for t in tests.split(",") if t.strip()]
        assert refs, f"{rule_id} names no test"
        for ref in refs:
            path, _, name = ref.partition("::")
            assert (ROOT / path).is_file(), f"{rule_id}: {path} does not exist"
            assert name in _functions(path), f"{rule_id}: {ref} does not exist"


@functools.cache
def _functions(path: str) -> frozenset[str]:
    """The names of the functions a test module defines (each module parsed once: rows share modules)."""
    tree = ast.parse((ROOT / path).read_text())
    return frozenset(n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef))


def test_every_row_is_a_registered_rule() -> None:
    unregistered = sorted(set(_rows()) - set(RULES))
    assert not unregistered, f"docs/rules.md lists rules no model function registers: {unregistered}"


def test_the_model_alone_registers_every_rule(fresh_rule_registry: dict[str, list[str]]) -> None:
    """One rule, one place: ``import cdk_batchkit.model`` registers every rule; importing the constructs (or
    the testing kit) registers none, so no construct holds a rule of its own."""
    alone = fresh_rule_registry["model"]
    added = sorted(set(fresh_rule_registry["testing"]) - set(alone))
    assert added == [], added
    assert len(alone) == len(RULES) and len(alone) > 100


def test_rule_ids_are_unique() -> None:
    ids = ROW.findall(TABLE)
    assert len({i[0] for i in ids}) == len(ids)
