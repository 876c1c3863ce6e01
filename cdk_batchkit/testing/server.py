"""Where the kit's moto runs: in this process (``mock_environment``) or as a loopback server.

Both run moto's Batch without Docker and let Step Functions execute state machines. The server
is moto's ``ThreadedMotoServer`` in this process (so the kit's patches apply to it), bound to
127.0.0.1 only, and stopped after ``max_seconds`` even if its user forgets.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .batch import patched_environ

__all__ = ["FAKE_CREDENTIALS", "MOTO_CONFIG", "fake_credentials", "mock_environment", "moto_server"]

#: moto configuration the kit needs: no Docker for Batch, executed state machines.
MOTO_CONFIG: dict[str, Any] = {
    "batch": {"use_docker": False},
    "stepfunctions": {"execute_state_machine": True},
}
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@contextmanager
def fake_credentials() -> Iterator[None]:
    """Fake AWS credentials in ``os.environ`` (and no profile) for the block: nothing reaches AWS."""
    with patched_environ(FAKE_CREDENTIALS, unset=["AWS_PROFILE"]):
        yield


@contextmanager
def mock_environment() -> Iterator[None]:
    """moto in this process (``mock_aws``) configured for the kit, with fake credentials and the
    Step Functions Batch integration shim (so executions started by EventBridge rules work too)."""
    from moto import mock_aws

    from . import recorder
    from .sfn_shim import batch_integration_shim
    from .workflows import quiet_engine_logs

    quiet_engine_logs()
    try:
        with fake_credentials(), mock_aws(config=MOTO_CONFIG), batch_integration_shim(strict=False):  # type: ignore[call-overload]
            yield
    finally:
        # The worlds built in this moto are gone with it: stop recording and checking for them.
        recorder.unwatch_all()


@contextmanager
def moto_server(*, port: int = 0, max_seconds: float = 900) -> Iterator[str]:
    """Start moto's server on 127.0.0.1 (``port`` 0: a free one); yields its URL; stops it on exit
    or after ``max_seconds``, whichever comes first."""
    from moto.server import ThreadedMotoServer

    from .sfn_shim import batch_integration_shim

    shim = batch_integration_shim(strict=False)
    shim.__enter__()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound = server.get_host_and_port()
    url = f"http://{host}:{bound}"
    # moto's Step Functions engine calls the other services at localhost:$MOTO_PORT in server mode.
    saved_port = os.environ.get("MOTO_PORT")
    os.environ["MOTO_PORT"] = str(bound)
    stopped = threading.Event()

    def stop() -> None:
        if not stopped.is_set():
            stopped.set()
            server.stop()

    watchdog = threading.Timer(max_seconds, stop)
    watchdog.daemon = True
    watchdog.start()
    try:
        request = urllib.request.Request(
            f"{url}/moto-api/config",
            data=json.dumps(MOTO_CONFIG).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        urllib.request.urlopen(request, timeout=10).read()
        yield url
    finally:
        from . import recorder

        recorder.unwatch_all()  # the worlds built against this server are gone with it
        watchdog.cancel()
        stop()
        shim.__exit__(None, None, None)
        if saved_port is None:
            os.environ.pop("MOTO_PORT", None)
        else:
            os.environ["MOTO_PORT"] = saved_port
