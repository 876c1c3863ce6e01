"""The kit's modules form layers without cycles: handles and builders never import the world, workflows
import neither. Every import counts, including those inside functions and under ``TYPE_CHECKING``."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "cdk_batchkit" / "testing"
MODULES = {path.stem for path in PACKAGE.glob("*.py")}


def _imports(module: str) -> set[str]:
    """The kit's modules that ``module`` imports, wherever the import statement is."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:
                if node.module:
                    found.add(node.module.split(".")[0])
                else:
                    found.update(alias.name for alias in node.names)
            elif node.level == 0 and (node.module or "").startswith("cdk_batchkit.testing"):
                parts = (node.module or "").split(".")
                if len(parts) > 2:
                    found.add(parts[2])
                else:
                    found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[:2] == ["cdk_batchkit", "testing"] and len(parts) > 2:
                    found.add(parts[2])
    return (found & MODULES) - {module}


GRAPH = {module: _imports(module) for module in MODULES if module != "__init__"}


def _cycles() -> list[list[str]]:
    found: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        for imported in sorted(GRAPH.get(module, ())):
            if imported in path:
                found.append([*path[path.index(imported) :], imported])
            elif imported in GRAPH:
                visit(imported, [*path, imported])

    for module in sorted(GRAPH):
        visit(module, [module])
    return found


def test_the_kits_modules_import_each_other_without_cycles() -> None:
    assert _cycles() == []


def test_handles_builders_and_workflows_do_not_import_the_world() -> None:
    assert "world" not in GRAPH["handles"] | GRAPH["builders"] | GRAPH["workflows"]
    assert not {"handles", "builders"} & GRAPH["workflows"]
    assert {"handles", "builders", "recorder"} <= GRAPH["world"]


def test_the_layout_reader_sees_a_cycle() -> None:
    """The check itself can fail: a deferred import back into the world is a cycle."""
    GRAPH["workflows"].add("world")
    try:
        assert any("world" in cycle and "workflows" in cycle for cycle in _cycles())
    finally:
        GRAPH["workflows"].discard("world")


def test_loading_the_plugin_imports_none_of_the_kit_and_no_moto() -> None:
    """pytest loads the plugin (entry point ``pytest11``) in every run of every project with the kit
    installed: it costs nothing until a fixture is used. Each public name is loaded on first use."""
    import subprocess
    import sys

    probe = (
        "import sys, cdk_batchkit.testing.plugin, cdk_batchkit.testing as kit\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('moto', 'cdk_batchkit.testing.')))\n"
        "assert loaded == ['cdk_batchkit.testing.plugin'], loaded\n"
        "assert kit.World.__module__ == 'cdk_batchkit.testing.world' and 'moto' in sys.modules\n"
        "assert set(kit.__all__) <= set(dir(kit))\n"
        "from importlib import import_module as load\n"
        "for name, module in kit._EXPORTS.items():\n"
        "    assert getattr(load(f'cdk_batchkit.testing.{module}'), name) is getattr(kit, name), name\n"
        "try:\n    kit.Nope\nexcept AttributeError as e:\n    print(e)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "module 'cdk_batchkit.testing' has no attribute 'Nope'"
