"""The submitter's configuration: every environment variable it reads, read here and only here.

The construct sets all of :data:`ENVIRONMENT_VARIABLES` on the function (PER_OBJECT mode may
leave :data:`ARRAY_ONLY_VARIABLES` empty). A bad value raises :class:`ConfigError` naming the
variable and the value, e.g. ``SUBMIT_MODE='FOO' is invalid: use PER_OBJECT or ARRAY``.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

JOB_QUEUE = "JOB_QUEUE"
JOB_DEFINITION = "JOB_DEFINITION"
SUBMIT_MODE = "SUBMIT_MODE"
MANIFEST_BUCKET = "MANIFEST_BUCKET"
MANIFEST_PREFIX = "MANIFEST_PREFIX"
IDEMPOTENCY_TABLE = "IDEMPOTENCY_TABLE"
IDEMPOTENCY_TTL_SECONDS = "IDEMPOTENCY_TTL_SECONDS"
SKIP_EMPTY_OBJECTS = "SKIP_EMPTY_OBJECTS"
MAX_SUBMITS_PER_SECOND = "MAX_SUBMITS_PER_SECOND"
JOB_NAME_PREFIX = "JOB_NAME_PREFIX"
# Set only for a fair-share job queue (SubmitJob shareIdentifier / schedulingPriorityOverride).
SHARE_IDENTIFIER = "SHARE_IDENTIFIER"
SCHEDULING_PRIORITY_OVERRIDE = "SCHEDULING_PRIORITY_OVERRIDE"
# Set only when the job definition is not a single-container ECS one (the SubmitJob override field
# and the container that gets the object's variables) or when jobs request consumable resources.
OVERRIDE_SHAPE = "OVERRIDE_SHAPE"
OVERRIDE_CONTAINER = "OVERRIDE_CONTAINER"
# Multi-node definitions: their node ranges as they render them ("0:0,1:"), which Batch requires node
# overrides to target.
OVERRIDE_TARGET_NODES = "OVERRIDE_TARGET_NODES"
CONSUMABLE_RESOURCES = "CONSUMABLE_RESOURCES"
# Set by you, not the construct, for the idempotency TTL after upgrading from a version that keyed its
# records on the function's name: that function's name (see CHANGELOG.md and .idempotency).
LEGACY_IDEMPOTENCY_FUNCTION = "LEGACY_IDEMPOTENCY_FUNCTION"
# Read by Powertools itself (Logger, Metrics); checked here so a missing one fails clearly.
POWERTOOLS_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
POWERTOOLS_METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"
POWERTOOLS_LOG_LEVEL = "POWERTOOLS_LOG_LEVEL"

#: Every environment variable the handler reads (directly or through Powertools).
ENVIRONMENT_VARIABLES: tuple[str, ...] = (
    JOB_QUEUE,
    JOB_DEFINITION,
    SUBMIT_MODE,
    MANIFEST_BUCKET,
    MANIFEST_PREFIX,
    IDEMPOTENCY_TABLE,
    IDEMPOTENCY_TTL_SECONDS,
    SKIP_EMPTY_OBJECTS,
    MAX_SUBMITS_PER_SECOND,
    JOB_NAME_PREFIX,
    POWERTOOLS_SERVICE_NAME,
    POWERTOOLS_METRICS_NAMESPACE,
    POWERTOOLS_LOG_LEVEL,
)
#: Set by the construct only when the job queue uses fair share.
OPTIONAL_VARIABLES: tuple[str, ...] = (
    SHARE_IDENTIFIER,
    SCHEDULING_PRIORITY_OVERRIDE,
    OVERRIDE_SHAPE,
    OVERRIDE_CONTAINER,
    OVERRIDE_TARGET_NODES,
    CONSUMABLE_RESOURCES,
    LEGACY_IDEMPOTENCY_FUNCTION,
)
#: Read only when ``SUBMIT_MODE=ARRAY``.
ARRAY_ONLY_VARIABLES: tuple[str, ...] = (MANIFEST_BUCKET, MANIFEST_PREFIX)

PER_OBJECT = "PER_OBJECT"
ARRAY = "ARRAY"
MODES = (PER_OBJECT, ARRAY)

DEFAULT_TTL_SECONDS = 24 * 3600
#: Without a cap set, one environment never exceeds AWS Batch's account-wide SubmitJob limit.
DEFAULT_MAX_SUBMITS_PER_SECOND = 50.0
#: Room left for the cleaned key and the hash in a 128-character job name.
MAX_JOB_NAME_PREFIX = 64
_JOB_NAME_PREFIX_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no")


#: The submitter starts no submission with less than min(this, a quarter of its time) left.
DEADLINE_MARGIN_SECONDS = 15.0
#: The function's memory by mode, chosen from `make bench`'s sweep (README, "Measured"): ARRAY mode
#: reaches about 90 % of its 1,769 MB objects/s at 1,024 MB (over 50x the naive function, CPU charged),
#: for Lambda compute of about $0.02 per million objects; PER_OBJECT mode keeps its SubmitJob rate at
#: 256 MB (it mostly waits for its rate), where 512 MB doubles its compute cost and 128 MB falls behind.
DEFAULT_MEMORY_MB = {ARRAY: 1024, PER_OBJECT: 256}
#: Claims per DynamoDB transaction (TransactWriteItems takes at most 100 actions).
CLAIMS_PER_TRANSACTION = 100
#: Time per transaction of claims assumed at synth: the benchmark's model charges 10 ms plus 1 ms per
#: item, 110 ms for 100 (AWS publishes no latency for transactions); rounded up.
DYNAMODB_TRANSACTION_SECONDS = 0.15
#: The submitter's own CPU per object assumed at synth, at ARRAY mode's default memory: about four times
#: what `make bench` measures (0.13 ms at one vCPU, 0.23 ms at 1,024 MB).
OBJECT_CPU_SECONDS = 0.001
#: Objects per array job (AWS Batch: array size 2-10,000).
ARRAY_CHUNK = 10_000


def deadline_margin_seconds(timeout_seconds: float) -> float:
    """The time the submitter keeps in hand at the end of an invocation of ``timeout_seconds``."""
    return min(DEADLINE_MARGIN_SECONDS, timeout_seconds / 4)


def batch_seconds(mode: str, batch_size: int, rate_per_invocation: float) -> float:
    """The least time one invocation needs to submit a full batch (synth-time estimate).

    PER_OBJECT: one SubmitJob per object at the invocation's rate. ARRAY: one SubmitJob per 10,000
    objects, plus the claims (:data:`CLAIMS_PER_TRANSACTION` per transaction, one transaction at a time)
    and the submitter's CPU per object.
    """
    if mode == PER_OBJECT:
        return batch_size / rate_per_invocation
    chunks = -(-batch_size // ARRAY_CHUNK)
    transactions = -(-batch_size // CLAIMS_PER_TRANSACTION)
    return (
        chunks / rate_per_invocation
        + transactions * DYNAMODB_TRANSACTION_SECONDS
        + batch_size * OBJECT_CPU_SECONDS
    )


class ConfigError(ValueError):
    """An environment variable is missing or invalid; the message names it."""


@dataclass(frozen=True)
class Config:
    job_queue: str
    job_definition: str
    mode: str
    idempotency_table: str
    idempotency_ttl_seconds: int = DEFAULT_TTL_SECONDS
    manifest_bucket: str = ""
    manifest_prefix: str = ""
    skip_empty_objects: bool = True
    max_submits_per_second: float = DEFAULT_MAX_SUBMITS_PER_SECOND
    job_name_prefix: str = ""
    share_identifier: str = ""
    scheduling_priority: int | None = None
    #: The SubmitJob field the object's variables go in (see :mod:`.overrides`).
    override_shape: str = "containerOverrides"
    override_container: str = ""
    #: ``nodeOverrides``: the definition's node ranges (``targetNodes``); empty: ``0:``.
    override_target_nodes: tuple[str, ...] = ()
    #: ``consumableResourcePropertiesOverride``: resource ARN -> quantity.
    consumable_resources: Mapping[str, int] = field(default_factory=dict)
    #: Honour the idempotency records of the previous version, written by this function (see
    #: :meth:`.idempotency.Ledger.legacy`); empty: do not look them up.
    legacy_idempotency_function: str = ""

    @property
    def is_array(self) -> bool:
        return self.mode == ARRAY


def _required(env: Mapping[str, str], name: str, why: str = "") -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is not set{why}")
    return value


def load(environ: Mapping[str, str] | None = None, *, check_powertools: bool = True) -> Config:
    """Read and validate the configuration (``os.environ`` by default)."""
    env = os.environ if environ is None else environ

    mode = env.get(SUBMIT_MODE, "").strip().upper() or PER_OBJECT
    if mode not in MODES:
        raise ConfigError(f"{SUBMIT_MODE}={env.get(SUBMIT_MODE)!r} is invalid: use PER_OBJECT or ARRAY")

    ttl_text = env.get(IDEMPOTENCY_TTL_SECONDS, "").strip() or str(DEFAULT_TTL_SECONDS)
    try:
        ttl = int(ttl_text)
    except ValueError:
        raise ConfigError(
            f"{IDEMPOTENCY_TTL_SECONDS}={ttl_text!r} is invalid: expected whole seconds"
        ) from None
    if ttl < 60:
        raise ConfigError(f"{IDEMPOTENCY_TTL_SECONDS}={ttl} is invalid: must be >= 60 seconds")

    skip_text = env.get(SKIP_EMPTY_OBJECTS, "").strip().lower() or "true"
    if skip_text not in _TRUE + _FALSE:
        raise ConfigError(
            f"{SKIP_EMPTY_OBJECTS}={env.get(SKIP_EMPTY_OBJECTS)!r} is invalid: use true or false"
        )

    rate_text = env.get(MAX_SUBMITS_PER_SECOND, "").strip() or str(DEFAULT_MAX_SUBMITS_PER_SECOND)
    try:
        rate = float(rate_text)
    except ValueError:
        rate = math.nan
    if not math.isfinite(rate) or rate <= 0:
        raise ConfigError(f"{MAX_SUBMITS_PER_SECOND}={rate_text!r} is invalid: expected a number > 0")

    prefix = env.get(JOB_NAME_PREFIX, "").strip()
    if prefix and (len(prefix) > MAX_JOB_NAME_PREFIX or not _JOB_NAME_PREFIX_RE.match(prefix)):
        raise ConfigError(
            f"{JOB_NAME_PREFIX}={prefix!r} is invalid: up to {MAX_JOB_NAME_PREFIX} letters, digits, '-' "
            "or '_', starting with a letter or digit"
        )

    share = env.get(SHARE_IDENTIFIER, "").strip()
    if len(share) > 255:
        raise ConfigError(f"{SHARE_IDENTIFIER}={share!r} is invalid: at most 255 characters")
    priority_text = env.get(SCHEDULING_PRIORITY_OVERRIDE, "").strip()
    priority: int | None = None
    if priority_text:
        if not priority_text.isdigit() or int(priority_text) > 9999:
            raise ConfigError(
                f"{SCHEDULING_PRIORITY_OVERRIDE}={priority_text!r} is invalid: a whole number from 0 to 9999"
            )
        priority = int(priority_text)

    shape = env.get(OVERRIDE_SHAPE, "").strip() or "containerOverrides"
    if shape not in _SHAPES:
        raise ConfigError(f"{OVERRIDE_SHAPE}={shape!r} is invalid: use one of {', '.join(_SHAPES)}")
    container = env.get(OVERRIDE_CONTAINER, "").strip()
    if shape == "ecsPropertiesOverride" and not container:
        raise ConfigError(f"{OVERRIDE_CONTAINER} is not set: it is required when {OVERRIDE_SHAPE}={shape}")
    consumables = _consumables(env.get(CONSUMABLE_RESOURCES, "").strip())
    target_nodes = _target_nodes(env.get(OVERRIDE_TARGET_NODES, "").strip())

    manifest_bucket = manifest_prefix = ""
    if mode == ARRAY:
        why = f": it is required when {SUBMIT_MODE}=ARRAY"
        manifest_bucket = _required(env, MANIFEST_BUCKET, why)
        manifest_prefix = _required(env, MANIFEST_PREFIX, why)
        if not manifest_prefix.endswith("/") or manifest_prefix.startswith("/"):
            raise ConfigError(
                f"{MANIFEST_PREFIX}={manifest_prefix!r} is invalid: "
                "it must end with '/' and not start with '/'"
            )

    if check_powertools:
        _required(env, POWERTOOLS_SERVICE_NAME)
        _required(env, POWERTOOLS_METRICS_NAMESPACE)

    return Config(
        job_queue=_required(env, JOB_QUEUE),
        job_definition=_required(env, JOB_DEFINITION),
        mode=mode,
        idempotency_table=_required(env, IDEMPOTENCY_TABLE),
        idempotency_ttl_seconds=ttl,
        manifest_bucket=manifest_bucket,
        manifest_prefix=manifest_prefix,
        skip_empty_objects=skip_text in _TRUE,
        max_submits_per_second=rate,
        job_name_prefix=prefix,
        share_identifier=share,
        scheduling_priority=priority,
        override_shape=shape,
        override_container=container,
        override_target_nodes=target_nodes,
        consumable_resources=consumables,
        legacy_idempotency_function=env.get(LEGACY_IDEMPOTENCY_FUNCTION, "").strip(),
    )


_SHAPES = ("containerOverrides", "ecsPropertiesOverride", "eksPropertiesOverride", "nodeOverrides")


#: ``a:b``, ``:b``, ``a:``, ``:`` or ``a`` (NodeRangeProperty ``targetNodes``).
_TARGET_NODES = re.compile(r"^(\d+:?\d*|:\d*)$")


def _target_nodes(text: str) -> tuple[str, ...]:
    if not text:
        return ()
    targets = tuple(t.strip() for t in text.split(","))
    bad = [t for t in targets if not _TARGET_NODES.match(t)]
    if bad:
        raise ConfigError(
            f"{OVERRIDE_TARGET_NODES}={text!r} is invalid: expected node ranges separated by commas, as the "
            "job definition writes them (0:0,1:)"
        )
    return targets


def _consumables(text: str) -> dict[str, int]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and k and isinstance(v, int) and not isinstance(v, bool) and v >= 1
        for k, v in value.items()
    ):
        raise ConfigError(
            f"{CONSUMABLE_RESOURCES}={text!r} is invalid: expected a JSON object of resource ARN -> "
            "quantity >= 1"
        )
    return value
