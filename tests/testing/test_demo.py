"""`make demo` at a reduced size: it finishes, reports every object as exactly one job, stops its server."""

from __future__ import annotations

import contextlib
import io
import json
import re
import time
import urllib.request
from pathlib import Path

from cdk_batchkit.testing.demo import main

ROOT = Path(__file__).resolve().parents[2]


def test_make_demo_at_a_reduced_size() -> None:
    """``make demo``'s program, in process (the jsii runtime is already up), at a reduced size.

    One test (not a module fixture shared by several): pytest-xdist would run it once per worker.
    """
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        status = main(["--objects", "30", "--waves", "3", "--fail", "1", "--max-seconds", "300"])
    text = output.getvalue()
    assert status == 0, text[-4000:]
    (line,) = [line for line in text.splitlines() if line.startswith("SUMMARY ")]
    summary = json.loads(line.removeprefix("SUMMARY "))

    # Every object becomes exactly one job.
    assert summary["every_object_in_exactly_one_job"] is True
    assert summary["objects"] == summary["objects_in_jobs"] == 30
    assert summary["missing"] == summary["duplicated"] == summary["unexpected"] == 0
    assert summary["array_jobs"] == 3 and sum(summary["array_sizes"]) == 30
    assert "every object in exactly one job: yes" in text
    # The children ran (one failing on purpose), the workflow ran, the monitoring published.
    assert summary["children_succeeded"] == 29 and summary["children_failed"] == 1
    assert summary["notifications"] == 1  # the failed array job's notification
    assert summary["workflow"] == "SUCCEEDED"
    for metric in ("ObjectsAccepted", "JobsSubmitted", "RunnableJobs", "JobRunTime"):
        assert re.search(rf"\b{metric}\b", text), metric
    assert re.search(r"ObjectsAccepted\s+30 Count", text)
    # On loopback, and stopped at the end.
    assert summary["server"].startswith("http://127.0.0.1:")
    assert not _answers(summary["server"])


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
