#!/usr/bin/env python3
"""Are two builds' templates the same? For refactors that must not change what deploys.

``snapshot DIR`` synthesizes, into DIR, every app the template tests read (the reference app's variants, the
kitchen-sink stack, the documented apps: ``tests/templates/conftest.py``) plus a generated 3-unit app
(``benchmarks/synth.py``). ``compare A B`` compares two snapshots template by template: resources (logical
IDs, properties, metadata), outputs, parameters and conditions, with ``Fn::Join``s of strings flattened and
JSON-valued strings (a dashboard body, a state machine definition) parsed, so key order and the way the CDK
splits a string around its tokens do not count; anything else does. It prints each difference and exits 1
when there is one.

    .venv/bin/python benchmarks/templates.py snapshot /tmp/before
    # change the code
    .venv/bin/python benchmarks/templates.py snapshot /tmp/after
    .venv/bin/python benchmarks/templates.py compare /tmp/before /tmp/after
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("Resources", "Outputs", "Parameters", "Conditions", "Rules", "Mappings")


def snapshot(out: Path) -> None:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20,21,23")
    sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
    os.chdir(ROOT)
    import aws_cdk as cdk
    import synth as bench  # benchmarks/synth.py

    from tests.templates.conftest import _builders

    out.mkdir(parents=True, exist_ok=True)
    for name, build in _builders().items():
        (out / name).mkdir(exist_ok=True)
        build(out / name)
    (out / "units3").mkdir(exist_ok=True)
    app = cdk.App(outdir=str(out / "units3"), builtin_cloud_formation_validation=False)
    bench.build_units(app, 3)
    app.synth()


def _flat(value: Any) -> Any:
    if isinstance(value, dict):
        join = value.get("Fn::Join")
        if len(value) == 1 and join is not None and join[0] == "":
            text = "".join(_token(p) for p in join[1])
            return _parsed(text) or {"Fn::Join text": text}
        return {k: _flat(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_flat(v) for v in value]
    if isinstance(value, str) and value[:1] in "{[":
        return _parsed(value) or value
    return value


def _token(part: Any) -> str:
    """A string part as it is; a token as text that stays valid inside a JSON string (no double quote)."""
    return part if isinstance(part, str) else "«" + json.dumps(part, sort_keys=True).replace('"', "'") + "»"


def _parsed(text: str) -> Any:
    try:
        return {"JSON": _flat(json.loads(text))}
    except ValueError:
        return None


def _diff(a: Any, b: Any, path: str, out: list[str]) -> None:
    if type(a) is not type(b) or (not isinstance(a, dict | list) and a != b):
        out.append(f"{path}: {json.dumps(a)[:300]} != {json.dumps(b)[:300]}")
    elif isinstance(a, dict):
        for key in sorted(set(a) | set(b)):
            if key not in b or key not in a:
                side, value = ("A", a[key]) if key in a else ("B", b[key])
                out.append(f"{path}.{key}: only in {side}: {json.dumps(value)[:300]}")
            else:
                _diff(a[key], b[key], f"{path}.{key}", out)
    elif isinstance(a, list):
        if len(a) != len(b):
            out.append(f"{path}: {len(a)} items != {len(b)}")
        else:
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                _diff(x, y, f"{path}[{i}]", out)


def compare(before: Path, after: Path) -> int:
    total = 0
    for path in sorted(before.rglob("*.template.json")):
        other = after / path.relative_to(before)
        if not other.exists():
            print(f"{path.relative_to(before)}: missing in {after}")
            total += 1
            continue
        a, b = json.loads(path.read_text()), json.loads(other.read_text())
        found: list[str] = []
        for section in SECTIONS:
            _diff(_flat(a.get(section, {})), _flat(b.get(section, {})), section, found)
        same_bytes = path.read_bytes() == other.read_bytes()
        print(
            f"{path.relative_to(before)}: {len(found)} difference(s){' (same bytes)' if same_bytes else ''}"
        )
        for line in found:
            print(f"  {line}")
        total += len(found)
    print(f"{total} difference(s)")
    return 1 if total else 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("snapshot").add_argument("dir", type=Path)
    compared = commands.add_parser("compare")
    compared.add_argument("before", type=Path)
    compared.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.command == "snapshot":
        snapshot(args.dir)
        return 0
    return compare(args.before, args.after)


if __name__ == "__main__":
    raise SystemExit(main())
