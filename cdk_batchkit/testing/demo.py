"""The reference pipeline running locally: ``make demo`` (or ``python -m cdk_batchkit.testing.demo``).

No AWS account, no Docker: a moto server on 127.0.0.1 (stopped at the end, and after
``--max-seconds`` whatever happens), the reference stack synthesized and built in it with the
testing kit, a few hundred uploads becoming array jobs through the S3 submitter, the jobs moving
RUNNABLE -> RUNNING -> SUCCEEDED while a local "compute environment" runs each array child's code
(``cdk_batchkit.jobkit.my_object()`` against the real manifest), the workflow started by an upload,
and the metrics the monitoring would publish. The last line is a JSON summary (``SUMMARY {...}``);
the exit status is 1 when an object did not end up in exactly one job.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

INPUT_PREFIX = "incoming/"
WORKFLOW_KEY = "workflow/nightly-report.json"


class Bar:
    """A one-line progress bar: redrawn in place on a terminal, printed once when done otherwise."""

    def __init__(self, label: str, total: int, out: TextIO, width: int = 30) -> None:
        self.label, self.total, self.out, self.width = label, max(total, 1), out, width
        self.done = 0
        self.note = ""
        self.tty = out.isatty()
        self._closed = False

    def update(self, done: int, note: str = "") -> None:
        self.done, self.note = done, note
        if self.tty:
            self.out.write("\r" + self._line())
            self.out.flush()

    def close(self, note: str | None = None) -> None:
        if self._closed:
            return
        self._closed = True
        if note is not None:
            self.note = note
        self.out.write(("\r" if self.tty else "") + self._line() + "\n")
        self.out.flush()

    def _line(self) -> str:
        filled = int(self.width * min(self.done, self.total) / self.total)
        bar = "#" * filled + "." * (self.width - filled)
        return f"  {self.label:<24} [{bar}] {self.done:>4}/{self.total:<4} {self.note}".rstrip().ljust(100)


def say(out: TextIO, text: str) -> None:
    out.write(text + "\n")
    out.flush()


@contextmanager
def quiet_logs() -> Iterator[None]:
    """moto's server and Step Functions engine log every request and failure: keep the demo readable."""
    names = ["werkzeug", "moto", "botocore", "aws_lambda_powertools"]
    saved = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def synthesize(outdir: str) -> Any:
    import aws_cdk as cdk

    from cdk_batchkit.stacks import BatchReferenceStack

    app = cdk.App(outdir=outdir)
    stack = BatchReferenceStack(app, "BatchkitReference")
    app.synth()
    return stack


def run(
    objects: int, waves: int, capacity: int, pace: float, max_seconds: float, out: TextIO, fail: int = 0
) -> dict[str, Any]:
    """Run the demo; returns the summary (also printed as the last line, ``SUMMARY {json}``).

    ``fail``: that many array children (spread over the jobs) raise in their code, so their jobs end
    FAILED and the job-failure notification fires.
    """
    from .batch import job_control
    from .server import fake_credentials, moto_server

    demo = Demo(objects, waves, capacity, pace, max_seconds, out, fail)
    say(out, "cdk-batchkit demo: the reference pipeline in moto (no AWS account, no Docker)\n")
    say(out, "1. Synthesize the reference stack (cdk_batchkit.stacks.BatchReferenceStack)")
    with tempfile.TemporaryDirectory(prefix="batchkit-demo-") as outdir:
        stack = synthesize(outdir)
        demo.phase("synth")
        with fake_credentials(), quiet_logs(), moto_server(max_seconds=max_seconds) as url:
            demo.build(stack, url)
            with job_control(demo.control):
                demo.upload()
                demo.monitor()
                demo.run_children()
                demo.workflow()
            demo.metrics()
    return demo.report()


class Demo:
    """The demo's state and one method per numbered step (see :func:`run`)."""

    def __init__(
        self, objects: int, waves: int, capacity: int, pace: float, max_seconds: float, out: TextIO, fail: int
    ) -> None:
        from .batch import JobControl

        self.objects, self.waves, self.capacity, self.pace = objects, waves, capacity, pace
        self.max_seconds, self.out, self.fail = max_seconds, out, fail
        self.started = time.monotonic()
        self.summary: dict[str, Any] = {"objects": objects}
        self.phases: dict[str, float] = {}
        self._mark = self.started
        self.control = JobControl(hold=True)
        self.keys = [f"{INPUT_PREFIX}day-{i % 7}/scan-{i:04}.csv" for i in range(objects)]
        self.jobs: list[Any] = []
        self.invocations: list[Any] = []
        self.processed: Counter[str] = Counter()
        self.world: Any = None
        self.bucket: Any = None
        self.status = "NOT STARTED"

    def phase(self, name: str) -> None:
        now = time.monotonic()
        self.phases[name] = round(now - self._mark, 2)
        self._mark = now

    def build(self, stack: Any, url: str) -> None:
        from .world import SUPPORTED_TYPES, build_world

        self.summary["server"] = url
        say(
            self.out,
            f"2. moto server on {url} (loopback only; stops at the end or after {self.max_seconds:.0f} s)",
        )
        self.world = build_world(stack, endpoint_url=url)
        self.phase("build")
        built = Counter(h.type.split("::", 1)[1] for h in self.world.handles.values())
        say(
            self.out,
            f"   built {len(self.world.handles)} resources of {len(SUPPORTED_TYPES)} supported types:",
        )
        say(self.out, "   " + ", ".join(f"{count} {kind}" for kind, count in sorted(built.items())))
        self.bucket = self.world.bucket("Submitter")

    def upload(self) -> None:
        world, out = self.world, self.out
        say(
            out,
            f"\n3. Upload {self.objects} objects under s3://{self.bucket.name}/{INPUT_PREFIX} "
            f"in {self.waves} waves",
        )
        uploaded = Bar("objects uploaded", self.objects, out)
        into_jobs = Bar("objects -> array jobs", self.objects, out)
        per_wave = -(-self.objects // self.waves)
        for start in range(0, self.objects, per_wave):
            upload_wave(world, self.bucket, self.keys[start : start + per_wave], uploaded, start)
            # The event source mapping's batching window ends: the submitter runs.
            before = {j.job_id for j in self.jobs}
            self.invocations.extend(world.deliver().invocations)
            for job in world.jobs():
                if job["jobId"] not in before and job["jobName"].startswith("array-"):
                    self.jobs.append(world.submitted_job(job))
            into_jobs.update(sum(len(j.keys) for j in self.jobs), f"{len(self.jobs)} array jobs")
        uploaded.close()
        into_jobs.close(f"{len(self.jobs)} array jobs, sizes {[j.array_size or 1 for j in self.jobs]}")
        self.phase("upload+submit")

    def monitor(self) -> None:
        say(self.out, "\n4. Monitoring, while the jobs wait for capacity (backlog function, every 5 minutes)")
        backlog = self.world.rule("Monitoring/BacklogSchedule").fire()
        show_metrics(
            self.out, [m for i in backlog.invocations for m in i.metrics if m.name == "RunnableJobs"]
        )

    def run_children(self) -> None:
        from cdk_batchkit import jobkit

        world, control = self.world, self.control
        say(
            self.out,
            f"\n5. Run the array children ({self.capacity} at a time), each calling jobkit.my_object()",
        )
        self.children = sum(j.array_size or 1 for j in self.jobs)
        states = Bar("children finished", self.children, self.out)
        failing = set(self.keys[:: max(1, self.objects // self.fail)][: self.fail]) if self.fail else set()

        def child_code() -> str:
            entry = jobkit.my_object()
            if entry.key in failing:
                raise RuntimeError(f"demo: simulated failure processing {entry.key}")
            world.internal_client("s3").head_object(Bucket=entry.bucket, Key=entry.key)
            return entry.key

        by_id = {j.job_id: j for j in self.jobs}
        finished = 0
        while runnable := [i for i in control.runnable() if i.split(":")[0] in by_id]:
            batch = runnable[: self.capacity]
            for job_id in batch:
                control.start(job_id)
            states.update(finished, state_note(world, self.jobs))
            if self.pace:
                time.sleep(self.pace)
            for job_id in batch:
                parent_id, _, index = job_id.partition(":")
                (run,) = world.run_job(by_id[parent_id], child_code, index=int(index) if index else None)
                if run.succeeded:
                    self.processed[run.result] += 1
                control.finish(job_id, success=run.succeeded)
                finished += 1
            states.update(finished, state_note(world, self.jobs))
        states.close(state_note(world, self.jobs))
        self.phase("run children")

    def workflow(self) -> None:
        world, control = self.world, self.control
        say(self.out, f"\n6. The workflow, started by an upload to {WORKFLOW_KEY}")
        world.put_objects(self.bucket, {WORKFLOW_KEY: b'{"report": "nightly"}'})
        world.deliver()
        steps = Bar("workflow steps", 2, self.out)

        def advance() -> None:
            for job_id in control.runnable():
                control.start(job_id)
                control.finish(job_id)
            done = sum(
                1
                for j in world.jobs()
                if j["jobName"] in ("transform", "load") and j["status"] == "SUCCEEDED"
            )
            steps.update(done, "transform -> load")

        runs = world.state_machine("Workflow").wait(timeout=max(30.0, self.max_seconds / 4), on_poll=advance)
        workflow = runs[-1] if runs else None
        steps.update(len(workflow.jobs) if workflow else 0)
        self.status = workflow.status if workflow else "NOT STARTED"
        self.phase("workflow")
        ran = ", ".join(f"{j['jobName']} {j['status']}" for j in (workflow.jobs if workflow else []))
        steps.close(f"{self.status}: {ran}")

    def metrics(self) -> None:
        world = self.world
        say(self.out, "\n7. Metrics the monitoring would publish (the functions' EMF lines)")
        finished_events = world.emit_job_events(describe(world, [j.job_id for j in self.jobs]))
        submitter_metrics = [m for i in self.invocations for m in i.metrics]
        show_metrics(
            self.out,
            aggregate(submitter_metrics + [m for i in finished_events.invocations for m in i.metrics]),
        )
        notifications = world.topic("Notifications").messages()
        self.phase("metrics")
        in_jobs = Counter(key for job in self.jobs for key in job.keys)
        self.summary.update(
            array_jobs=len(self.jobs),
            array_sizes=[j.array_size or 1 for j in self.jobs],
            objects_in_jobs=sum(in_jobs.values()),
            missing=len(set(self.keys) - set(in_jobs)),
            duplicated=len([k for k, n in in_jobs.items() if n != 1]),
            unexpected=len(set(in_jobs) - set(self.keys)),
            children_succeeded=sum(self.processed.values()),
            children_failed=self.children - sum(self.processed.values()),
            workflow=self.status,
            notifications=len(notifications),
            submitter_invocations=len(self.invocations),
        )

    def report(self) -> dict[str, Any]:
        summary, out = self.summary, self.out
        summary["seconds"] = round(time.monotonic() - self.started, 1)
        summary["phases"] = self.phases
        ok = summary["missing"] == summary["duplicated"] == summary["unexpected"] == 0
        summary["every_object_in_exactly_one_job"] = ok
        say(out, "\nSummary")
        say(
            out,
            f"  {self.objects} objects uploaded -> {summary['array_jobs']} array jobs "
            f"{summary['array_sizes']}",
        )
        say(
            out,
            f"  every object in exactly one job: {'yes' if ok else 'NO'} "
            f"(missing {summary['missing']}, duplicated {summary['duplicated']}, "
            f"unexpected {summary['unexpected']})",
        )
        say(
            out,
            f"  array children run locally: {summary['children_succeeded']} succeeded, "
            f"{summary['children_failed']} failed (simulated)",
        )
        say(
            out,
            f"  workflow: {summary['workflow']}; job failure notifications sent: {summary['notifications']}",
        )
        say(out, f"  {summary['seconds']} s; moto server {summary['server']} stopped")
        say(out, "SUMMARY " + json.dumps(summary, sort_keys=True))
        return summary


def upload_wave(world: Any, bucket: Any, wave: list[str], bar: Bar, offset: int) -> None:
    for index in range(0, len(wave), 25):
        chunk = wave[index : index + 25]
        world.put_objects(bucket, {key: f"{key},{len(key)}\n".encode() for key in chunk})
        bar.update(offset + index + len(chunk))


def describe(world: Any, ids: list[str]) -> list[dict[str, Any]]:
    batch = world.internal_client("batch")
    return [
        j
        for start in range(0, len(ids), 100)
        for j in batch.describe_jobs(jobs=ids[start : start + 100])["jobs"]
    ]


def state_note(world: Any, jobs: list[Any]) -> str:
    counts: Counter[str] = Counter()
    ids = [j.job_id for j in jobs]
    batch = world.internal_client("batch")
    for start in range(0, len(ids), 100):
        for parent in batch.describe_jobs(jobs=ids[start : start + 100])["jobs"]:
            summary = (parent.get("arrayProperties") or {}).get("statusSummary")
            if summary:
                counts.update({k: v for k, v in summary.items() if v})
            else:
                counts[parent["status"]] += 1
    order = ("RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")
    return " ".join(f"{state} {counts[state]}" for state in order if counts[state]) or "-"


def aggregate(metrics: list[Any]) -> list[Any]:
    """Sum Count metrics per (namespace, name); keep the largest of others (run time seconds)."""
    from .functions import Metric

    merged: dict[tuple[str, str], Metric] = {}
    for metric in metrics:
        key = (metric.namespace, metric.name)
        previous = merged.get(key)
        if previous is None:
            merged[key] = Metric(metric.namespace, metric.name, metric.value, metric.unit, {})
        elif metric.unit == "Count":
            merged[key] = Metric(
                metric.namespace, metric.name, previous.value + metric.value, metric.unit, {}
            )
        else:
            merged[key] = Metric(
                metric.namespace, metric.name, max(previous.value, metric.value), metric.unit, {}
            )
    return list(merged.values())


def show_metrics(out: TextIO, metrics: list[Any]) -> None:
    for metric in metrics:
        where = ", ".join(
            f"{k}={v.rsplit('/', 1)[-1]}" for k, v in metric.dimensions.items() if k != "service"
        )
        value = int(metric.value) if metric.value == int(metric.value) else round(metric.value, 3)
        say(out, f"  {metric.namespace:<24} {metric.name:<20} {value!s:>8} {metric.unit:<8} {where}".rstrip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--objects", type=int, default=int(os.environ.get("DEMO_OBJECTS", "300")))
    parser.add_argument("--waves", type=int, default=6, help="upload waves (each ends in one submitter run)")
    parser.add_argument("--capacity", type=int, default=64, help="array children running at a time")
    parser.add_argument("--fail", type=int, default=2, help="array children whose code fails (simulated)")
    parser.add_argument("--pace", type=float, default=None, help="seconds shown per scheduling tick")
    parser.add_argument("--max-seconds", type=float, default=600, help="the moto server stops after this")
    args = parser.parse_args(argv)
    if not 1 <= args.objects <= 10_000:
        parser.error(f"--objects={args.objects} is invalid: use 1 to 10000")
    pace = args.pace if args.pace is not None else (0.15 if sys.stdout.isatty() else 0.0)
    summary = run(
        args.objects,
        max(1, args.waves),
        max(1, args.capacity),
        pace,
        args.max_seconds,
        sys.stdout,
        fail=max(0, min(args.fail, args.objects)),
    )
    return 0 if summary["every_object_in_exactly_one_job"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
