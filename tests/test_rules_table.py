"""docs/rules.md lists every registered synth rule with its source, and names tests that exist."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
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
            module = ROOT / path
            assert module.is_file(), f"{rule_id}: {path} does not exist"
            names = {
                n.name for n in ast.walk(ast.parse(module.read_text())) if isinstance(n, ast.FunctionDef)
            }
            assert name in names, f"{rule_id}: {ref} does not exist"


def test_every_row_is_a_registered_rule() -> None:
    unregistered = sorted(set(_rows()) - set(RULES))
    assert not unregistered, f"docs/rules.md lists rules no model function registers: {unregistered}"


def test_the_model_alone_registers_every_rule() -> None:
    """One rule, one place: ``import cdk_batchkit.model`` registers every rule; importing the constructs (or
    the testing kit) registers none, so no construct holds a rule of its own."""
    code = (
        "import cdk_batchkit.model as m; alone = sorted(m.RULES); "
        "import cdk_batchkit.constructs, cdk_batchkit.testing; "
        "print(len(alone), sorted(set(m.RULES) - set(alone)))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    count, added = out.split(" ", 1)
    assert added.strip() == "[]", added
    assert int(count) == len(RULES) and int(count) > 100


def test_rule_ids_are_unique() -> None:
    ids = ROW.findall(TABLE)
    assert len({i[0] for i in ids}) == len(ids)
