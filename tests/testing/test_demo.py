"""`make demo` at a reduced size: it finishes, reports every object as exactly one job, stops its server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo() -> tuple[subprocess.CompletedProcess[str], dict]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "18,20,21,23",
    }
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        env.pop(name, None)  # the demo sets its own fake credentials
    result = subprocess.run(
        [sys.executable, "-m", "cdk_batchkit.testing.demo", "--objects", "30", "--waves", "3", "--fail", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("SUMMARY ")]
    return result, json.loads(line.removeprefix("SUMMARY "))


def test_every_object_becomes_exactly_one_job(demo: tuple[subprocess.CompletedProcess[str], dict]) -> None:
    result, summary = demo
    assert summary["every_object_in_exactly_one_job"] is True
    assert summary["objects"] == summary["objects_in_jobs"] == 30
    assert summary["missing"] == summary["duplicated"] == summary["unexpected"] == 0
    assert summary["array_jobs"] == 3 and sum(summary["array_sizes"]) == 30
    assert "every object in exactly one job: yes" in result.stdout


def test_jobs_run_the_workflow_runs_and_the_monitoring_publishes(
    demo: tuple[subprocess.CompletedProcess[str], dict],
) -> None:
    result, summary = demo
    assert summary["children_succeeded"] == 29 and summary["children_failed"] == 1
    assert summary["notifications"] == 1  # the failed array job's notification
    assert summary["workflow"] == "SUCCEEDED"
    for metric in ("ObjectsAccepted", "JobsSubmitted", "RunnableJobs", "JobRunTime"):
        assert re.search(rf"\b{metric}\b", result.stdout), metric
    assert re.search(r"ObjectsAccepted\s+30 Count", result.stdout)


def test_the_server_listened_on_loopback(demo: tuple[subprocess.CompletedProcess[str], dict]) -> None:
    assert demo[1]["server"].startswith("http://127.0.0.1:")


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(f"{url}/moto-api/config", timeout=2).read()
        return True
    except OSError:
        return False


def test_the_moto_server_stops_on_exit_and_by_itself() -> None:
    from cdk_batchkit.testing import moto_server

    with moto_server() as url:
        assert url.startswith("http://127.0.0.1:") and _answers(url)
    assert not _answers(url)
    # Bounded: a forgotten server stops itself after max_seconds.
    with moto_server(max_seconds=0.2) as url:
        for _ in range(100):
            if not _answers(url):
                break
            time.sleep(0.1)
        assert not _answers(url)


def test_make_demo_sets_itself_up_first() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo: setup$", makefile, re.M)
    assert "-m cdk_batchkit.testing.demo" in makefile
