"""No block of the library ranks E or F in cyclomatic complexity (radon): split a function before it gets
there (issue 20)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_no_block_ranks_e_or_f() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "radon", "cc", "--min", "E", "--show-complexity", "cdk_batchkit"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "", f"blocks ranked E or F:\n{result.stdout}"


def test_the_check_sees_a_block_that_ranks_e(tmp_path: Path) -> None:
    """A test that cannot fail is a defect: the same command reports a function of 35 branches."""
    branches = "\n".join(f"    if x == {i}:\n        return {i}" for i in range(35))
    (tmp_path / "tangled.py").write_text(f"def tangled(x):\n{branches}\n    return -1\n")
    result = subprocess.run(
        [sys.executable, "-m", "radon", "cc", "--min", "E", "--show-complexity", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "tangled - E" in result.stdout
