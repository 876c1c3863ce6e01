"""A model of AWS in front of a moto server: per-call latency per service and SubmitJob's account quota.

moto answers every call in about the same few milliseconds of Python and has no SubmitJob limit, so a
benchmark on plain moto measures moto. :class:`ModelProxy` is a loopback HTTP proxy (127.0.0.1 only)
that forwards each request to a moto server (which keeps all state: jobs, items, objects) and:

* charges each call the latency :data:`LATENCY_SECONDS` gives its service, on a **modelled clock**
  (:class:`ModelClock`), not by sleeping: moto's own time, which AWS does not have, is left out, and
  the run takes as long as moto needs, not as long as AWS would;
* enforces AWS Batch's SubmitJob quota, 50 calls per second per account, on that clock: beyond it the
  call is answered HTTP 429 ``ThrottlingException`` without reaching moto.

Latency figures (per call, client in the same Region; modelled, not measured):

* DynamoDB item calls, 10 ms: DynamoDB advertises "single-digit millisecond performance at any scale"
  (https://aws.amazon.com/dynamodb/); 10 ms is the top of that range plus the in-Region round trip.
* S3 PutObject of a small object, 100 ms: the low end of the 100-200 ms first-byte latency that the S3
  performance guidelines give for small objects
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance-guidelines.html).
* AWS Batch (SubmitJob, ListJobs), 50 ms: AWS publishes no latency for the Batch API; an assumption.

The SubmitJob quota: "SubmitJob: 50 transactions per second" per account and Region, AWS Batch service
quotas (https://docs.aws.amazon.com/batch/latest/userguide/service_limits.html); modelled as at most 50
accepted calls in any one second of modelled time.

* DynamoDB batch and transaction calls (``TransactWriteItems``, ``TransactGetItems``, ``BatchWriteItem``,
  ``BatchGetItem``): the call's latency plus :data:`ITEM_LATENCY_SECONDS` (1 ms) per item in it. AWS
  publishes no latency for them; an assumption (a 100-item transaction costs 110 ms).

Concurrency on the modelled clock: each simulated process (a Lambda execution environment, a naive
worker) is a thread registered with :meth:`ModelClock.enroll`; only one runs at a time, always the one
with the earliest modelled time, so calls happen in modelled-time order. Calls made by a registered
thread's own worker pool are charged to it divided by the pool's width (they overlap): the client marks
them with the :data:`OVERLAP_HEADER` header.

**CPU is charged too.** A simulated process given a memory size (``run_concurrently(memory_mb=...)``)
has the Python CPU time it uses on this machine (``time.thread_time``) added to its modelled time,
scaled by what Lambda gives that memory: one vCPU at 1,769 MB ("at 1,769 MB, a function has the
equivalent of one vCPU", https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html), a
proportional share below it; a single Python thread gains nothing above it. So at 512 MB one second
of CPU costs 3.46 modelled seconds. CPU is charged before each AWS call and when the process ends;
CPU spent in a worker pool is charged to the process that owns the pool in full (the GIL serializes it),
through :func:`charged_pools`. The proxy's and moto's own CPU are not charged (they stand in for AWS).

The proxy stops by itself: its accept loop is bounded by ``max_seconds`` of real time.
"""

from __future__ import annotations

import http.client
import http.server
import itertools
import json
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

#: Modelled latency per call, seconds, by service (see the module docstring for the sources).
LATENCY_SECONDS: dict[str, float] = {"dynamodb": 0.010, "s3": 0.100, "batch": 0.050}
#: Extra modelled latency per item of a DynamoDB batch or transaction call (an assumption, see above).
ITEM_LATENCY_SECONDS = 0.001
_ITEM_OPERATIONS = {
    "TransactWriteItems": ("TransactItems",),
    "TransactGetItems": ("TransactItems",),
    "BatchWriteItem": ("RequestItems",),
    "BatchGetItem": ("RequestItems",),
}
#: AWS Batch SubmitJob calls per second per account.
SUBMIT_JOB_RATE = 50
#: Lambda memory at which a function has one vCPU.
VCPU_MEMORY_MB = 1769
OVERLAP_HEADER = "x-batchkit-model-overlap"
_BATCH_OPERATIONS = {
    "submitjob": "SubmitJob",
    "listjobs": "ListJobs",
    "describejobs": "DescribeJobs",
    "canceljob": "CancelJob",
    "terminatejob": "TerminateJob",
}
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-connection",
}


class ModelClock:
    """Modelled time. Unregistered callers share one timeline; registered threads each have their own.

    Registered threads run one at a time (a baton), always the one with the earliest time, so the
    proxy sees calls in modelled-time order and charges each call to the thread that holds the baton.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._shared = 0.0
        self._times: dict[int, float] = {}
        self._rank: dict[int, int] = {}
        self._order = itertools.count()
        self._holder: int | None = None
        self.finished: list[float] = []
        #: Registered thread -> modelled seconds per CPU second (absent: CPU is free).
        self._scale: dict[int, float] = {}
        #: Registered thread -> its thread CPU time when last charged.
        self._cpu_mark: dict[int, float] = {}
        #: Registered thread -> CPU seconds it (and its pools) used, unscaled.
        self.cpu_used: dict[int, float] = {}

    def now(self) -> float:
        with self._cond:
            return self._times[self._holder] if self._holder is not None else self._shared

    def charge(self, seconds: float) -> None:
        """Add ``seconds`` to the running timeline (the baton holder's, or the shared one)."""
        with self._cond:
            if self._holder is not None:
                self._times[self._holder] += seconds
            else:
                self._shared += seconds

    sleep = charge

    def enroll(self, idents: list[int], start: float, *, memory_mb: float | None = None) -> None:
        """Register threads (not yet acting) at modelled time ``start``, all at once; with ``memory_mb``
        their CPU is charged as a Lambda function of that memory runs it."""
        with self._cond:
            if self._times:
                raise RuntimeError("enroll while other simulated processes run")
            for ident in idents:
                self._times[ident] = start
                self._rank[ident] = next(self._order)
                if memory_mb is not None:
                    self._scale[ident] = cpu_scale(memory_mb)
            self._pass()

    def _charge_cpu(self, me: int) -> None:
        """Add this registered thread's CPU since its last charge to its time (under the lock)."""
        used = time.thread_time()
        last = self._cpu_mark.get(me)
        self._cpu_mark[me] = used
        if last is not None:
            self.cpu_used[me] = self.cpu_used.get(me, 0.0) + used - last
            if me in self._scale:
                self._times[me] += (used - last) * self._scale[me]

    def charge_pool_cpu(self, seconds: float) -> None:
        """CPU a worker pool used for the running process: charged to it in full, at its scale."""
        with self._cond:
            holder = self._holder
            if holder is None:
                return
            self.cpu_used[holder] = self.cpu_used.get(holder, 0.0) + seconds
            if holder in self._scale:
                self._times[holder] += seconds * self._scale[holder]

    def turn(self) -> None:
        """Before an action: charge the CPU used so far, then let any registered thread with an earlier
        time act first."""
        me = threading.get_ident()
        with self._cond:
            if me not in self._times:
                return
            self._charge_cpu(me)
            self._pass()
            self._cond.wait_for(lambda: self._holder == me)

    def leave(self) -> None:
        me = threading.get_ident()
        with self._cond:
            self._charge_cpu(me)
            self._scale.pop(me, None)
            self._cpu_mark.pop(me, None)
            final = self._times.pop(me)
            self.finished.append(final)
            self._shared = max(self._shared, final)  # the next run starts where the last one ended
            self._rank.pop(me)
            if self._holder == me:
                self._holder = None
            self._pass()

    def _pass(self) -> None:
        if self._times:
            self._holder = min(self._times, key=lambda ident: (self._times[ident], self._rank[ident]))
        self._cond.notify_all()


def cpu_scale(memory_mb: float) -> float:
    """Modelled seconds per second of CPU for one thread of a Lambda function with ``memory_mb``."""
    return max(1.0, VCPU_MEMORY_MB / memory_mb)


def run_concurrently(
    clock: ModelClock, start: float, jobs: list[Callable[[], Any]], *, memory_mb: float | None = None
) -> list[Any]:
    """Run ``jobs`` as concurrent simulated processes from modelled time ``start``; their results.

    ``memory_mb``: charge each one's CPU as a Lambda function of that memory runs it (None: CPU is free).
    """
    results: list[Any] = [None] * len(jobs)
    errors: list[BaseException] = []
    ready = threading.Event()

    def body(index: int, job: Callable[[], Any]) -> None:
        ready.wait()
        clock.turn()  # the first turn marks the thread's CPU clock
        try:
            results[index] = job()
        except BaseException as exc:  # reported by the caller
            errors.append(exc)
        finally:
            clock.leave()

    threads = [threading.Thread(target=body, args=(i, job), daemon=True) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    clock.enroll([thread.ident for thread in threads if thread.ident is not None], start, memory_mb=memory_mb)
    ready.set()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


class SlidingQuota:
    """At most ``rate`` accepted calls in any one second of modelled time."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._accepted: deque[float] = deque()
        self._lock = threading.Lock()

    def take(self, now: float) -> bool:
        with self._lock:
            while self._accepted and self._accepted[0] <= now - 1.0:
                self._accepted.popleft()
            if len(self._accepted) >= self.rate:
                return False
            self._accepted.append(now)
            return True


def operation_of(method: str, path: str, headers: Any) -> tuple[str, str]:
    """(service, Operation) of a signed AWS request, from its credential scope and protocol."""
    authorization = headers.get("Authorization", "")
    service = "unknown"
    if "Credential=" in authorization:
        scope = authorization.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        if len(scope) >= 4:
            service = scope[3]
    target = headers.get("X-Amz-Target")
    if target:
        return service, target.rsplit(".", 1)[-1]
    if service == "batch":
        name = urlsplit(path).path.rstrip("/").rsplit("/", 1)[-1]
        return service, _BATCH_OPERATIONS.get(name.lower(), name)
    if service == "s3":
        parts = urlsplit(path).path.strip("/").split("/", 1)
        kind = "Object" if len(parts) == 2 and parts[1] else "Bucket"
        verb = {"PUT": "Put", "GET": "Get", "HEAD": "Head", "DELETE": "Delete", "POST": "Post"}[method]
        return service, f"{verb}{kind}"
    return service, method


def items_in(operation: str, body: bytes) -> int:
    """Items in a DynamoDB batch or transaction request (0 for every other call)."""
    fields = _ITEM_OPERATIONS.get(operation)
    if not fields or not body:
        return 0
    request = json.loads(body)
    value = request.get(fields[0])
    if isinstance(value, dict):  # BatchWriteItem / BatchGetItem: table -> requests (or {"Keys": [...]})
        return sum(len(v["Keys"]) if isinstance(v, dict) else len(v) for v in value.values())
    return len(value or [])


def charged_pools(clock: ModelClock, *modules: Any) -> Any:
    """A context manager giving ``modules`` a ``ThreadPoolExecutor`` whose tasks' CPU is charged to the
    simulated process that submitted them (:meth:`ModelClock.charge_pool_cpu`)."""
    import contextlib
    from concurrent.futures import ThreadPoolExecutor

    class Charged(ThreadPoolExecutor):
        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            def run() -> Any:
                started = time.thread_time()
                try:
                    return fn(*args, **kwargs)
                finally:
                    clock.charge_pool_cpu(time.thread_time() - started)

            return super().submit(run)

    @contextlib.contextmanager
    def patched() -> Any:
        saved = [(module, module.ThreadPoolExecutor) for module in modules]
        for module, _ in saved:
            module.ThreadPoolExecutor = Charged
        try:
            yield
        finally:
            for module, original in saved:
                module.ThreadPoolExecutor = original

    return patched()


class ModelProxy:
    """The loopback proxy (see the module docstring). Use as a context manager; ``url`` to point at."""

    def __init__(
        self,
        upstream: str,
        clock: ModelClock,
        *,
        latency: dict[str, float] | None = None,
        submit_job_rate: int = SUBMIT_JOB_RATE,
        item_latency: float = ITEM_LATENCY_SECONDS,
        max_seconds: float = 3600.0,
    ) -> None:
        target = urlsplit(upstream)
        if target.hostname not in ("127.0.0.1", "localhost"):
            raise ValueError(f"upstream={upstream!r} is invalid: the model only forwards to loopback")
        self.upstream = (target.hostname, target.port or 80)
        self.clock = clock
        self.latency = dict(LATENCY_SECONDS if latency is None else latency)
        self.quota = SlidingQuota(submit_job_rate)
        self.item_latency = item_latency
        self.max_seconds = max_seconds
        self.calls: Counter[str] = Counter()
        #: Items carried by DynamoDB batch and transaction calls, by operation.
        self.items: Counter[str] = Counter()
        self.throttled = 0
        self._lock = threading.Lock()
        self._local = threading.local()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._server.timeout = 0.2
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> ModelProxy:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._server.server_close()

    def _serve(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and time.monotonic() < deadline:  # bounded: stops by itself
            self._server.handle_request()

    def total(self, service: str | None = None) -> int:
        return sum(n for name, n in self.calls.items() if service is None or name.startswith(f"{service}:"))

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = http.client.HTTPConnection(*self.upstream, timeout=120)
        return connection

    def _forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Any, bytes]:
        for attempt in range(2):  # one reconnect if moto closed a kept-alive connection
            connection = self._connection()
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                return response.status, response.getheaders(), response.read()
            except (http.client.HTTPException, ConnectionError):
                connection.close()
                self._local.connection = None
                if attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _handler_class(self) -> type[http.server.BaseHTTPRequestHandler]:
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                return

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                service, operation = operation_of(self.command, self.path, self.headers)
                overlap = max(1, int(self.headers.get(OVERLAP_HEADER) or 1))
                with proxy._lock:
                    proxy.calls[f"{service}:{operation}"] += 1
                if (
                    service == "batch"
                    and operation == "SubmitJob"
                    and not proxy.quota.take(proxy.clock.now())
                ):
                    with proxy._lock:
                        proxy.throttled += 1
                    proxy.clock.charge(proxy.latency.get(service, 0.0) / overlap)
                    payload = json.dumps({"__type": "ThrottlingException", "message": "Too Many Requests"})
                    self._reply(
                        429,
                        [("Content-Type", "application/json"), ("x-amzn-ErrorType", "ThrottlingException")],
                        payload.encode(),
                    )
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                headers.pop(OVERLAP_HEADER, None)
                status, response_headers, data = proxy._forward(self.command, self.path, headers, body)
                items = items_in(operation, body)
                if items:
                    with proxy._lock:
                        proxy.items[operation] += items
                latency = proxy.latency.get(service, 0.0) + proxy.item_latency * items
                proxy.clock.charge(latency / overlap)
                self._reply(status, response_headers, data)

            def _reply(self, status: int, headers: Any, data: bytes) -> None:
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        return Handler


def watch(client: Any, clock: ModelClock, *, pool_width: int = 1) -> Any:
    """Make ``client`` wait its modelled turn before each call and mark calls from worker pools.

    A call made from a thread that is not the registered one (a ``ThreadPoolExecutor`` worker of the
    submitter's idempotency ledger) overlaps ``pool_width`` others: the proxy charges 1/``pool_width``.
    """

    def before(**_: Any) -> None:
        clock.turn()

    def mark(request: Any, **_: Any) -> None:
        if threading.current_thread().name.startswith("ThreadPoolExecutor") and pool_width > 1:
            request.headers[OVERLAP_HEADER] = str(pool_width)

    client.meta.events.register("before-call.*.*", before)
    client.meta.events.register("before-sign.*.*", mark)
    return client
