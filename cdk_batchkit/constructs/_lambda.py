"""The one way this library builds a Lambda function for its handlers in ``cdk_batchkit/lambdas``.

Every function gets: Python 3.13 on arm64 (cheaper per GB-second than x86_64), Powertools for
AWS Lambda from the AWS-managed layer pinned to :data:`POWERTOOLS_VERSION` (the version the
tests run against), boto3 from the runtime, a log group it owns with a retention period, and a
role of its own that may write only to that log group. The asset is the handler's own folder,
so it stays a few kilobytes and needs no Docker bundling.

**Bytecode.** ``/var/task`` is read-only, so without bytecode in the asset Python compiles every module of
the handler on every cold start (about 100 kB of source for the submitter). When a Python 3.13 interpreter
is at hand at synth (the one running the app, or ``python3.13`` on the ``PATH``), the asset also carries
``__pycache__/*.cpython-313.pyc`` for the handler's modules, compiled *checked-hash* (PEP 552): the CDK CLI
zips assets with every file dated 1980-01-01, so a timestamp-based pyc would never match its source and be
ignored; a checked-hash pyc is used exactly when its source's hash matches, and is byte-for-byte the same on
every machine. Measured (``benchmarks/submitter.py``, docs/guide/submitter.md): the handler's cold import
goes from 1.19x to 1.10x a bare ``import boto3``.

The asset's hash is the hash of the handler's *sources*, with or without the bytecode: the bytecode is a
cache the runtime checks against those sources, so a laptop with Python 3.13 and a CI runner without it
write the same template and neither sees the other's deploy as a change. ``CDK_BATCHKIT_BYTECODE=off``
stages the sources only; ``=on`` requires the bytecode (synth fails naming the variable when no Python 3.13
is at hand: set it where the build image is pinned, so a missing interpreter is an error, not a slower cold
start). The staged directory is kept per content in the system's temporary directory, and whether a Python
3.13 is at hand is asked only when none serves: under ``auto`` the first synth of a library version on a
machine decides, and every later one reuses its directory without starting an interpreter.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path

from aws_cdk import AssetHashType, Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ._validation import adopt, drop_redundant_dependency, duration, node_of, service_principal, stack_of
from .encryption import KeyUser, acknowledge_key_grants, encryption_key
from .nag import acknowledge

#: The Powertools release the handlers are tested with (keep equal to the dev pin in pyproject.toml).
POWERTOOLS_VERSION = "3.37.0"
RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
LAMBDAS_DIR = Path(__file__).resolve().parent.parent / "lambdas"


def powertools_layer_parameter(version: str = POWERTOOLS_VERSION) -> str:
    """The public SSM parameter Powertools publishes in every region with its layer's ARN."""
    return f"/aws/service/powertools/python/arm64/python3.13/{version}"


def powertools_layer(scope: Construct) -> lambda_.ILayerVersion:
    """The AWS-managed Powertools layer, resolved per region at deploy time (one per stack)."""
    stack = stack_of(scope)
    made = stack.__dict__.get(_LAYER)
    if made is not None:  # made here before: no round trip to look it up
        return made  # type: ignore[no-any-return]
    layer_id = "PowertoolsLayer"
    existing = node_of(stack).try_find_child(layer_id)
    if existing is not None:
        return existing  # type: ignore[return-value]
    # A CloudFormation parameter of type AWS::SSM::Parameter::Value<String>: the stack stays
    # region-agnostic and the layer version stays pinned to POWERTOOLS_VERSION.
    arn = ssm.StringParameter.value_for_string_parameter(stack, powertools_layer_parameter())
    made = stack.__dict__[_LAYER] = lambda_.LayerVersion.from_layer_version_arn(stack, layer_id, arn)
    return made  # type: ignore[no-any-return]


_LAYER = "_batchkit_powertools_layer"


#: The Lambda runtime's Python (:data:`RUNTIME`), whose bytecode the asset may carry.
RUNTIME_PYTHON = (3, 13)
BYTECODE_SWITCH = "CDK_BATCHKIT_BYTECODE"
# Compiles the given sources (relative to the working directory) into checked-hash pycs; prints the tag.
_COMPILE = """
import importlib.util, py_compile, sys
for source in sys.argv[1:]:
    py_compile.compile(source, cfile=importlib.util.cache_from_source(source), dfile=source,
                       doraise=True, invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
print(sys.implementation.cache_tag)
"""


def bytecode_switch() -> str:
    """``CDK_BATCHKIT_BYTECODE`` as ``"auto"`` (unset or ``auto``: the default), ``"on"`` or ``"off"``;
    ``RuntimeError`` naming the variable for any other value."""
    switch = os.environ.get(BYTECODE_SWITCH, "").strip().lower() or "auto"
    if switch in ("off", "0", "false", "no"):
        return "off"
    if switch in ("on", "1", "true", "yes"):
        return "on"
    if switch != "auto":
        raise RuntimeError(f"{BYTECODE_SWITCH}={switch!r}: use auto (the default), on or off")
    return switch


@cache
def runtime_python() -> str | None:
    """An interpreter of the runtime's Python version (this one or ``python3.13`` on the PATH) to compile the
    asset's bytecode with, or None (sources only): ``CDK_BATCHKIT_BYTECODE`` unset or ``auto``, whichever is
    at hand; ``off``, None; ``on``, one is required (``RuntimeError`` naming the variable)."""
    switch = bytecode_switch()
    if switch == "off":
        return None
    found = _runtime_interpreter()
    if found is None and switch == "on":
        raise RuntimeError(
            f"{BYTECODE_SWITCH}={switch} asks for bytecode of the Lambda runtime's Python "
            "{}.{}, but neither this interpreter nor python{}.{} on the PATH is one; install it or set "
            "it to auto".format(*RUNTIME_PYTHON, *RUNTIME_PYTHON)
        )
    return found


def _runtime_interpreter() -> str | None:
    if sys.version_info[:2] == RUNTIME_PYTHON and sys.implementation.name == "cpython":
        return sys.executable
    name = shutil.which("python{}.{}".format(*RUNTIME_PYTHON))
    if name is None:
        return None
    probe = "import sys; print(sys.implementation.name, '%d.%d' % sys.version_info[:2])"
    try:
        answer = subprocess.run([name, "-c", probe], capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return None  # e.g. a version manager's shim for a version not selected
    return name if answer.stdout.split() == ["cpython", "{}.{}".format(*RUNTIME_PYTHON)] else None


def stage_handler(handler_dir: str, target: Path, *, python: str | None = None) -> Path:
    """Write the asset of ``handler_dir`` into ``target`` (created): the package marker and the handler's
    ``.py`` files, plus their checked-hash bytecode compiled by ``python`` (None: :func:`runtime_python`;
    ``""``: no bytecode). Returns ``target``."""
    python = python if python is not None else runtime_python()
    sources = sorted(
        path.relative_to(LAMBDAS_DIR)
        for path in (LAMBDAS_DIR / handler_dir).rglob("*.py")
        if "__pycache__" not in path.parts
    )
    target.mkdir(parents=True)
    shutil.copyfile(LAMBDAS_DIR / "__init__.py", target / "__init__.py")
    for source in sources:
        (target / source).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(LAMBDAS_DIR / source, target / source)
    if python:
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}
        subprocess.run(
            [python, "-c", _COMPILE, *map(str, sources)],
            cwd=target,
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
    return target


@cache
def sources_hash(handler_dir: str) -> str:
    """The hash of ``handler_dir``'s sources (and the package marker): the asset's hash, whether or not the
    asset carries their bytecode."""
    digest = hashlib.sha256()
    for path in sorted((LAMBDAS_DIR / handler_dir).rglob("*.py")) + [LAMBDAS_DIR / "__init__.py"]:
        if "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(LAMBDAS_DIR)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def staged_asset(handler_dir: str) -> Path:
    """The asset directory of ``handler_dir``, staged once per content in the system's temporary
    directory (sources and, with Python 3.13 at hand, bytecode; see the module docstring).

    Whether a Python 3.13 is at hand is asked (a subprocess: about 0.1 s of CPU behind a version manager's
    shim) only when no staged directory of these sources serves: one with bytecode serves ``auto`` and
    ``on``, one without serves ``auto`` and ``off``. So under ``auto`` the choice is made by the first synth
    of a library version on a machine; ``CDK_BATCHKIT_BYTECODE=on`` compiles the bytecode later."""
    switch = bytecode_switch()
    stem = f"{handler_dir}-{sources_hash(handler_dir)[:24]}"
    root = Path(tempfile.gettempdir()) / "cdk-batchkit-assets"
    with_bytecode, sources_only = root / f"{stem}-bytecode", root / f"{stem}-sources"
    if switch != "off" and with_bytecode.is_dir():
        return with_bytecode
    if switch != "on" and sources_only.is_dir():
        return sources_only
    python = runtime_python()
    final = with_bytecode if python is not None else sources_only
    root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{handler_dir}-", dir=root))
    stage_handler(handler_dir, scratch / "asset", python=python or "")
    try:
        (scratch / "asset").rename(final)  # atomic: a concurrent synth finds it whole or not at all
    except OSError:
        if not final.is_dir():
            raise
    shutil.rmtree(scratch, ignore_errors=True)
    return final


_CODES = "_batchkit_asset_codes"


def _asset_code(scope: Construct, handler_dir: str) -> lambda_.Code:
    """``lambda_.Code.from_asset`` of ``handler_dir``'s staged asset, made once per stack: the L2 binds an
    ``AssetCode`` to the first function only (one asset, staged once) and points every other function of
    the stack at the same object key, as separate codes of the same directory would."""
    path = str(staged_asset(handler_dir))
    codes = stack_of(scope).__dict__.setdefault(_CODES, {})
    if path not in codes:
        # The sources' hash: the same template whether or not this machine could add the bytecode.
        codes[path] = lambda_.Code.from_asset(
            path, asset_hash=sources_hash(handler_dir), asset_hash_type=AssetHashType.CUSTOM
        )
    return codes[path]  # type: ignore[no-any-return]


class HandlerFunction(Construct):
    """A function running ``cdk_batchkit/lambdas/<handler_dir>/handler.py``'s ``handler``.

    Attributes: ``function``, ``role`` (grant the function's permissions to it), ``log_group``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler_dir: str,
        description: str,
        service_name: str,
        metrics_namespace: str,
        environment: Mapping[str, str] | None = None,
        timeout: Duration | None = None,
        memory_size: int = 256,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        reserved_concurrent_executions: int | None = None,
        log_level: str = "INFO",
        events: Sequence[lambda_.IEventSource] = (),
    ) -> None:
        """
        :param events: event sources, added by the function's constructor after its log group's write grant
            (one round trip each fewer than ``function.add_event_source``; the role's statements keep the same
            order).
        """
        super().__init__(scope, construct_id)
        adopt(self, scope, construct_id)
        if not (LAMBDAS_DIR / handler_dir / "handler.py").is_file():
            raise ValueError(f"{self.node.path}: handler_dir={handler_dir!r} has no handler.py")
        self.log_group = logs.LogGroup(
            self, "LogGroup", retention=log_retention, encryption_key=encryption_key(self, KeyUser.LOGS)
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=service_principal("lambda.amazonaws.com"),
            description=f"{description} (writes only to its own log group)",
        )
        adopt(self.role, self, "Role")
        acknowledge_key_grants(self.role)
        # Only CreateLogStream/PutLogEvents on its own group (no AWSLambdaBasicExecutionRole): the role's
        # first statement, before those of its event sources.
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Resource",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=_asset_code(self, handler_dir),
            handler=f"{handler_dir}.handler.handler",
            description=description,
            role=self.role,
            timeout=timeout or duration("seconds", 60),
            memory_size=memory_size,
            log_group=self.log_group,
            reserved_concurrent_executions=reserved_concurrent_executions,
            layers=[powertools_layer(self)],
            environment={
                "POWERTOOLS_SERVICE_NAME": service_name,
                "POWERTOOLS_METRICS_NAMESPACE": metrics_namespace,
                "POWERTOOLS_LOG_LEVEL": log_level,
                **(environment or {}),
            },
            events=list(events) or None,
        )
        adopt(self.function, self, "Resource")
        # Role: GetAtt already orders it (W3005); the DependsOn on its default policy stays.
        drop_redundant_dependency(self.function, self.role)
        acknowledge(
            self.function,
            "L1",
            "Pinned to Python 3.13 on purpose: the AWS-managed Powertools layer and the handler tests are "
            f"pinned to that runtime (Powertools {POWERTOOLS_VERSION}); moving runtimes is a tested change.",
        )
