"""Build a synthesized stack's resources in moto and find them again by construct path.

:func:`build_world` reads the template (see :mod:`.assembly`), resolves its intrinsics itself
(moto's CloudFormation cannot deploy these templates) and creates, through the ordinary AWS APIs:
compute environments, service environments (stand-ins: moto has none), job queues, job definitions,
S3 buckets, SQS queues (with redrive),
DynamoDB tables, SNS topics and subscriptions, IAM roles, log groups, EventBridge rules (patterns
and targets with input transformers) and Step Functions state machines. Lambda functions are not
created in moto: their handlers run in this process (:meth:`Function.invoke`).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote_plus

import boto3
import botocore.loaders
import botocore.session

from . import functions
from .assembly import StackTemplate, load_stack
from .batch import JobRun, run_job_locally
from .convert import to_request
from .intrinsics import ACCOUNT, REGION, Resolver

__all__ = [
    "Bucket",
    "ComputeEnvironment",
    "Function",
    "JobDefinition",
    "JobQueue",
    "LogGroup",
    "Queue",
    "Resource",
    "Role",
    "Rule",
    "StateMachine",
    "Table",
    "Topic",
    "World",
    "build_world",
]

H = TypeVar("H", bound="Resource")

_MOTO_CE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,126}[A-Za-z0-9]$")

#: moto delivers EventBridge targets of these services itself; others go through a tap queue.
_DIRECT_TARGETS = ("sqs",)


def _digest(*parts: str, size: int = 8) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:size]


def _name(stack: str, logical_id: str, limit: int, pattern: str = r"[^A-Za-z0-9_-]") -> str:
    """A physical name the way CloudFormation makes one: stack, logical id, a suffix; within ``limit``."""
    base = re.sub(pattern, "", f"{stack}-{logical_id}")
    suffix = _digest(stack, logical_id, size=6)
    base = base[: limit - len(suffix) - 1]
    name = f"{base}-{suffix}"
    # moto rejects Batch names shorter than 3 characters (AWS allows 1): never shorter here.
    return name if len(name) >= 3 else name.ljust(3, "x")


# -- handles ----------------------------------------------------------------------------------------


@dataclass
class Resource:
    """A template resource built in moto (or, for functions, emulated). ``properties`` are resolved."""

    world: World = field(repr=False)
    logical_id: str
    path: str
    type: str
    properties: dict[str, Any] = field(repr=False)
    ref: str
    attributes: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def arn(self) -> str:
        return self.attributes.get("Arn", self.ref)

    @property
    def construct_id(self) -> str:
        return _normal(self.path).rsplit("/", 1)[-1]


@dataclass
class ComputeEnvironment(Resource):
    """In moto every compute environment is UNMANAGED with a kit-made service role;
    ``properties`` keep the template's type and compute resources."""

    name: str = ""


@dataclass
class JobQueue(Resource):
    name: str = ""

    def jobs(self, *, children: bool = False) -> list[dict[str, Any]]:
        """Every job in this queue, described, oldest first (array children only if ``children``)."""
        return self.world.jobs(queues=[self], children=children)


@dataclass
class JobDefinition(Resource):
    name: str = ""
    #: Template properties the RegisterJobDefinition API has no member for (not sent to moto).
    dropped: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        found = self.world.client("batch").describe_job_definitions(jobDefinitions=[self.arn])
        return dict(found["jobDefinitions"][0])


@dataclass
class Bucket(Resource):
    eventbridge: bool = False

    @property
    def name(self) -> str:
        return self.ref

    def put_objects(
        self, objects: Mapping[str, bytes | str] | Iterable[str], *, key_encoding: str = "raw"
    ) -> list[dict[str, Any]]:
        """Put objects and publish their "Object Created" events (see :meth:`World.put_objects`)."""
        return self.world.put_objects(self, objects, key_encoding=key_encoding)

    def keys(self, prefix: str = "") -> list[str]:
        s3 = self.world.client("s3")
        keys: list[str] = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return keys


@dataclass
class Queue(Resource):
    @property
    def url(self) -> str:
        return self.ref

    def receive(self, *, delete: bool = True, limit: int = 10_000) -> list[dict[str, Any]]:
        """Messages available now (bodies parsed as JSON when they are JSON), deleted unless asked not to."""
        sqs = self.world.client("sqs")
        found: list[dict[str, Any]] = []
        while len(found) < limit:
            got = sqs.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=0, AttributeNames=["All"]
            ).get("Messages", [])
            if not got:
                break
            for message in got:
                if delete:
                    sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
                found.append(message)
        return found

    def bodies(self) -> list[Any]:
        """Receive and delete every available message; return the bodies (JSON-decoded when possible)."""
        return [_maybe_json(message["Body"]) for message in self.receive()]

    def count(self) -> int:
        attributes = self.world.client("sqs").get_queue_attributes(
            QueueUrl=self.url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])


@dataclass
class Table(Resource):
    @property
    def name(self) -> str:
        return self.ref

    def items(self) -> list[dict[str, Any]]:
        dynamodb = self.world.client("dynamodb")
        items: list[dict[str, Any]] = []
        for page in dynamodb.get_paginator("scan").paginate(TableName=self.name):
            items.extend(page["Items"])
        return items


@dataclass
class Topic(Resource):
    _inbox: Queue | None = field(default=None, repr=False)

    def messages(self) -> list[Any]:
        """Messages published to the topic since the world was built (or since the last call)."""
        assert self._inbox is not None
        return self._inbox.bodies()


@dataclass
class Role(Resource):
    pass


@dataclass
class LogGroup(Resource):
    @property
    def name(self) -> str:
        return self.ref


@dataclass
class Rule(Resource):
    """An EventBridge rule: ``pattern`` and ``targets`` as resolved from the template."""

    pattern: dict[str, Any] | None = None
    targets: list[dict[str, Any]] = field(default_factory=list)
    schedule: str | None = None

    @property
    def name(self) -> str:
        return self.ref

    def fire(self, detail: Mapping[str, Any] | None = None) -> Delivery:
        """Deliver a "Scheduled Event" (or ``detail``) to this rule's targets, as its schedule would,
        then :meth:`World.deliver` what follows."""
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": self.world.account,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "region": self.world.region,
            "resources": [self.arn],
            "detail": dict(detail or {}),
        }
        delivery = Delivery()
        for target in self.targets:
            body = target["Input"] if "Input" in target else json.dumps(event)
            self.world._deliver_to(target["Arn"], body, delivery)
        more = self.world.deliver()
        delivery.invocations.extend(more.invocations)
        delivery.delivered.extend(more.delivered)
        return delivery


@dataclass
class StateMachine(Resource):
    definition: dict[str, Any] = field(default_factory=dict, repr=False)

    def executions(self) -> list[dict[str, Any]]:
        """Every execution of this state machine (ListExecutions), newest first."""
        sfn = self.world.client("stepfunctions")
        return list(sfn.list_executions(stateMachineArn=self.arn)["executions"])

    def wait(self, *, timeout: float = 60, on_poll: Callable[[], None] | None = None) -> list[Any]:
        """Wait until no execution is RUNNING (those started by rules, schedules...); returns them all
        as :class:`.workflows.WorkflowRun`, oldest first. ``on_poll`` is called while waiting."""
        from .workflows import collect_run

        deadline = time.monotonic() + timeout
        while any(e["status"] == "RUNNING" for e in self.executions()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.path}: executions still RUNNING after {timeout} s")
            if on_poll is not None:
                on_poll()
            time.sleep(0.05)
        return [collect_run(self.world, e["executionArn"]) for e in reversed(self.executions())]

    def run(
        self,
        execution_input: Mapping[str, Any] | None = None,
        *,
        fail_jobs: Iterable[str] | Callable[[str, int | None], bool] = (),
        timeout: float = 60,
    ) -> Any:
        """Start one execution and wait for its end; see :func:`.workflows.run_state_machine`."""
        from .workflows import run_state_machine

        return run_state_machine(self, execution_input or {}, fail_jobs=fail_jobs, timeout=timeout)


@dataclass
class Function(Resource):
    """A Lambda function, run in this process from its staged code asset."""

    handler_name: str = ""
    environment: dict[str, str] = field(default_factory=dict)
    timeout: int = 3
    memory: int = 128
    asset: Path | None = None
    _handler: Any = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.ref

    def handler(self) -> Any:
        """The handler callable, imported once per world from the code asset."""
        if self._handler is None:
            if self.asset is None:
                raise LookupError(
                    f"{self.path}: no staged code asset (inline or container code); call "
                    "invoke(event, handler=your_module.handler) to run it with this function's environment"
                )
            self._handler = functions.load_handler(self.asset, self.handler_name)
        return self._handler

    def invoke(self, event: Any, *, handler: Any = None, context: Any = None) -> functions.Invocation:
        """Call the handler with ``event`` and the synthesized environment variables set.

        ``handler``: run this callable instead of the one in the code asset (your own module), still
        with this function's environment. The invocation (response, error, output, EMF metrics) is
        recorded in :attr:`World.invocations`.
        """
        context = context or functions.LambdaContext(self.name, self.arn, self.memory, self.timeout)
        environment = {**self.world.lambda_environment(self), **self.environment}

        def cold_or_warm(event: Any, context: Any) -> Any:
            # Imported on first use inside the function's environment, as a cold start does.
            return self.handler()(event, context)

        invocation = functions.invoke(self.path, handler or cold_or_warm, event, context, environment)
        self.world.invocations.append(invocation)
        return invocation


# -- results ----------------------------------------------------------------------------------------


@dataclass
class SubmittedJob:
    """A job found in a queue of the world: its description, and what it was given."""

    description: dict[str, Any]
    manifest: list[dict[str, Any]] | None = None

    @property
    def job_id(self) -> str:
        return str(self.description["jobId"])

    @property
    def name(self) -> str:
        return str(self.description["jobName"])

    @property
    def status(self) -> str:
        return str(self.description["status"])

    @property
    def parameters(self) -> dict[str, str]:
        return dict(self.description.get("parameters") or {})

    @property
    def array_size(self) -> int | None:
        size = (self.description.get("arrayProperties") or {}).get("size")
        return int(size) if size else None

    @property
    def environment(self) -> dict[str, str]:
        container = self.description.get("container") or {}
        return {item["name"]: item["value"] for item in container.get("environment", [])}

    @property
    def keys(self) -> list[str]:
        """The object keys this job processes (manifest lines, or its PER_OBJECT key)."""
        if self.manifest is not None:
            return [line["key"] for line in self.manifest]
        key = self.environment.get("BATCHKIT_KEY") or self.parameters.get("key")
        return [key] if key else []

    def run_locally(self, code: Callable[[], Any], *, raise_errors: bool = False) -> list[JobRun]:
        """Run ``code`` as Batch would run this job (see :func:`.batch.run_job_locally`)."""
        return run_job_locally(self.description, code, raise_errors=raise_errors)


@dataclass
class Delivery:
    """What :meth:`World.deliver` did: the functions invoked and the events handed to other targets."""

    invocations: list[functions.Invocation] = field(default_factory=list)
    delivered: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def failures(self) -> list[functions.Invocation]:
        return [i for i in self.invocations if i.error is not None]


@dataclass
class Upload:
    """The result of :meth:`World.upload`: keys put, invocations, and the jobs submitted meanwhile."""

    keys: list[str]
    delivery: Delivery
    jobs: list[SubmittedJob]

    @property
    def objects_in_jobs(self) -> list[str]:
        return [key for job in self.jobs for key in job.keys]


# -- the world --------------------------------------------------------------------------------------


_LOADER: list[botocore.loaders.Loader] = []


def _new_session(region: str) -> boto3.session.Session:
    """A boto3 session sharing one botocore data loader with every other world of this process.

    A fresh session parses botocore's endpoint and service models again (about 0.3 s, most of a small
    world's build); the loader only caches read-only model data, so worlds can share it safely.
    """
    core = botocore.session.Session()
    if _LOADER:
        core.register_component("data_loader", _LOADER[0])
    else:
        _LOADER.append(core.get_component("data_loader"))
    return boto3.session.Session(botocore_session=core, region_name=region)


class World:
    """A synthesized stack's resources in moto. Build one with :func:`build_world`.

    Finders take a construct path (``"Submitter/Queue"``, with or without the stack name and the
    trailing ``Resource``), a path prefix that is unambiguous (``"Submitter"`` for its only bucket),
    a construct id or a logical id; an ambiguous or unknown name raises ``LookupError`` listing the
    candidates.
    """

    def __init__(
        self,
        stack: StackTemplate,
        *,
        session: Any = None,
        endpoint_url: str | None = None,
        region: str = REGION,
        account: str = ACCOUNT,
        parameters: Mapping[str, str] | None = None,
    ) -> None:
        self.stack = stack
        self.region = region
        self.account = account
        self.endpoint_url = endpoint_url
        self.session = session or _new_session(region)
        self._clients: dict[str, Any] = {}
        self.resolver = Resolver(
            stack.template,
            ref=self._ref,
            get_att=self._get_att,
            stack_name=stack.name,
            account=account,
            region=region,
            parameters=parameters,
        )
        self.handles: dict[str, Resource] = {}
        self._building: set[str] = set()
        self._placeholders: dict[str, tuple[str, dict[str, str]]] = {}
        self._service_role: str | None = None
        #: Service environment ARN -> the unmanaged compute environment standing in for it in moto.
        self._stand_ins: dict[str, str] = {}
        self._taps: dict[str, list[tuple[Rule, dict[str, Any]]]] = {}
        #: Every in-process Lambda invocation, in order.
        self.invocations: list[functions.Invocation] = []
        #: Events routed to targets the kit cannot deliver (kept, not lost): (target ARN, body).
        self.undelivered: list[tuple[str, Any]] = []
        #: Resource types of the template the kit does not build (logical id -> type).
        self.skipped: dict[str, str] = {}
        self._sequencer = 0

    # -- clients ---------------------------------------------------------------------------------

    def client(self, service: str) -> Any:
        """A boto3 client of this world (moto in process, or the moto server at ``endpoint_url``)."""
        if service not in self._clients:
            self._clients[service] = self.session.client(
                service, region_name=self.region, endpoint_url=self.endpoint_url
            )
        return self._clients[service]

    def lambda_environment(self, function: Function) -> dict[str, str]:
        env = {
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        }
        if self.endpoint_url:
            env["AWS_ENDPOINT_URL"] = self.endpoint_url
        return env

    # -- building --------------------------------------------------------------------------------

    def build(self) -> World:
        for logical_id, resource in self.stack.resources.items():
            if resource.get("Type") in _BUILDERS:
                self._ensure(logical_id)
            else:
                self.skipped[logical_id] = resource.get("Type", "")
        return self

    def _ensure(self, logical_id: str) -> Resource | None:
        if logical_id in self.handles:
            return self.handles[logical_id]
        resource = self.stack.resources[logical_id]
        builder = _BUILDERS.get(resource.get("Type", ""))
        if builder is None or logical_id in self._building:
            return None
        if "Condition" in resource and not self.resolver.condition(resource["Condition"]):
            return None
        self._building.add(logical_id)
        try:
            for dependency in _as_list(resource.get("DependsOn")):
                self._ensure(dependency)
            handle = builder(self, logical_id, resource)
        finally:
            self._building.discard(logical_id)
        self.handles[logical_id] = handle
        return handle

    def _ref(self, logical_id: str) -> str:
        handle = self._ensure(logical_id)
        if handle is not None:
            return handle.ref
        return self._placeholder(logical_id)[0]

    def _get_att(self, logical_id: str, attribute: str) -> str:
        handle = self._ensure(logical_id)
        if handle is not None:
            if attribute in handle.attributes:
                return handle.attributes[attribute]
            raise KeyError(f"{handle.path}: no attribute {attribute!r} (have {sorted(handle.attributes)})")
        ref, attributes = self._placeholder(logical_id)
        return attributes.get(attribute) or f"{ref}.{attribute}"

    def _placeholder(self, logical_id: str) -> tuple[str, dict[str, str]]:
        """Stand-in names/ARNs for resources the kit does not build (roles of nothing, KMS keys...)."""
        if logical_id not in self._placeholders:
            type_name = self.stack.resources[logical_id].get("Type", "")
            service = type_name.split("::")[1].lower() if type_name.count("::") == 2 else "custom"
            kind = type_name.rsplit("::", 1)[-1].lower()
            name = _name(self.stack.name, logical_id, 64)
            arn = f"arn:aws:{service}:{self.region}:{self.account}:{kind}/{name}"
            attributes = {"Arn": arn}
            if type_name == "AWS::KMS::Key":
                key_id = str(_uuid(self.stack.name, logical_id))
                name, attributes = key_id, {"Arn": f"arn:aws:kms:{self.region}:{self.account}:key/{key_id}"}
            elif type_name == "AWS::EC2::SecurityGroup":
                attributes["GroupId"] = name = f"sg-{_digest(logical_id, size=17)}"
            elif type_name.startswith("AWS::EC2::"):
                name = f"{kind[:6]}-{_digest(logical_id, size=17)}"
            self._placeholders[logical_id] = (name, attributes)
        return self._placeholders[logical_id]

    def service_role(self) -> str:
        """The role moto's CreateComputeEnvironment insists on (AWS uses the service-linked role)."""
        if self._service_role is None:
            self._service_role = self.client("iam").create_role(
                RoleName=_name(self.stack.name, "BatchkitServiceRole", 64),
                AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
            )["Role"]["Arn"]
        return self._service_role

    def _props(self, resource: Mapping[str, Any]) -> dict[str, Any]:
        resolved = self.resolver.resolve(resource.get("Properties", {}))
        assert isinstance(resolved, dict)
        return resolved

    # -- finding ---------------------------------------------------------------------------------

    def find(self, query: str, kind: type[H] = Resource) -> H:  # type: ignore[assignment]
        """The one handle of class ``kind`` that ``query`` names (see the class docstring)."""
        candidates = [h for h in self.handles.values() if isinstance(h, kind)]
        wanted = _normal(query)
        stack_prefix = f"{self.stack.name}/"
        if wanted.startswith(stack_prefix):
            wanted = wanted[len(stack_prefix) :]
        tiers: list[Callable[[Resource], bool]] = [
            lambda h: h.logical_id == query,
            lambda h: _normal(h.path) == wanted,
            lambda h: _normal(h.path).startswith(wanted + "/"),
            lambda h: h.construct_id == wanted,
            lambda h: _normal(h.path).replace("/", "") == wanted,
        ]
        for matches in tiers:
            found = [h for h in candidates if matches(h)]
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                names = sorted(_normal(h.path) for h in found)
                raise LookupError(f"{query!r} names several {kind.__name__} resources: use one of {names}")
        names = sorted(_normal(h.path) for h in candidates)
        raise LookupError(f"no {kind.__name__} named {query!r} in {self.stack.name}: have {names}")

    def all(self, kind: type[H]) -> list[H]:
        """Every handle of class ``kind``, in template order."""
        return [h for h in self.handles.values() if isinstance(h, kind)]

    def compute_environment(self, query: str) -> ComputeEnvironment:
        return self.find(query, ComputeEnvironment)

    def job_queue(self, query: str) -> JobQueue:
        return self.find(query, JobQueue)

    def job_definition(self, query: str) -> JobDefinition:
        return self.find(query, JobDefinition)

    def bucket(self, query: str) -> Bucket:
        return self.find(query, Bucket)

    def queue(self, query: str) -> Queue:
        return self.find(query, Queue)

    def table(self, query: str) -> Table:
        return self.find(query, Table)

    def topic(self, query: str) -> Topic:
        return self.find(query, Topic)

    def role(self, query: str) -> Role:
        return self.find(query, Role)

    def log_group(self, query: str) -> LogGroup:
        return self.find(query, LogGroup)

    def rule(self, query: str) -> Rule:
        return self.find(query, Rule)

    def state_machine(self, query: str) -> StateMachine:
        return self.find(query, StateMachine)

    def function(self, query: str) -> Function:
        return self.find(query, Function)

    # -- jobs ------------------------------------------------------------------------------------

    def jobs(
        self, *, queues: Sequence[JobQueue] | None = None, children: bool = False
    ) -> list[dict[str, Any]]:
        """Every job in the world's queues (or ``queues``), described, oldest first."""
        batch = self.client("batch")
        ids: list[str] = []
        for queue in queues if queues is not None else self.all(JobQueue):
            kwargs: dict[str, Any] = {"jobQueue": queue.arn}
            while True:
                try:
                    page = batch.list_jobs(**kwargs)
                except batch.exceptions.ClientException:  # the queue was deleted
                    break
                ids.extend(j["jobId"] for j in page["jobSummaryList"])
                if not page.get("nextToken"):
                    break
                kwargs["nextToken"] = page["nextToken"]
        if not children:
            ids = [i for i in ids if ":" not in i]
        described: list[dict[str, Any]] = []
        for start in range(0, len(ids), 100):
            described.extend(batch.describe_jobs(jobs=ids[start : start + 100])["jobs"])
        return sorted(described, key=lambda j: (j.get("createdAt", 0), j["jobId"]))

    def submitted_job(self, description: Mapping[str, Any]) -> SubmittedJob:
        """Wrap a job description, reading its manifest from S3 when it has one."""
        job = SubmittedJob(dict(description))
        uri = job.environment.get("BATCHKIT_MANIFEST") or job.parameters.get("manifest", "")
        if uri.startswith("s3://"):
            bucket, _, key = uri[5:].partition("/")
            try:
                body = self.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode()
            except Exception:
                return job
            job.manifest = [json.loads(line) for line in body.splitlines() if line.strip()]
        return job

    # -- S3 events and delivery ------------------------------------------------------------------

    def object_created_event(
        self,
        bucket: str,
        key: str,
        *,
        size: int,
        etag: str = "",
        version_id: str | None = None,
        key_encoding: str = "raw",
    ) -> dict[str, Any]:
        """An EventBridge "Object Created" entry for ``put_events``, as S3 sends it.

        ``key_encoding``: ``"raw"`` (the key as stored; what moto's own S3 notifications and a
        published real event show) or ``"url"`` (URL-encoded like classic S3 notifications).
        """
        self._sequencer += 1
        detail: dict[str, Any] = {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {
                "key": quote_plus(key, safe="/") if key_encoding == "url" else key,
                "size": size,
                "etag": etag.strip('"'),
                "sequencer": f"{int(time.time() * 1000):012X}{self._sequencer:08X}",
            },
            "request-id": f"BATCHKIT{self._sequencer:08d}",
            "requester": self.account,
            "source-ip-address": "127.0.0.1",
            "reason": "PutObject",
        }
        if version_id and version_id != "null":
            detail["object"]["version-id"] = version_id
        return {
            "Source": "aws.s3",
            "DetailType": "Object Created",
            "Detail": json.dumps(detail),
            "Resources": [f"arn:aws:s3:::{bucket}"],
        }

    def put_objects(
        self,
        bucket: Bucket | str,
        objects: Mapping[str, bytes | str] | Iterable[str],
        *,
        key_encoding: str = "raw",
    ) -> list[dict[str, Any]]:
        """Put objects in ``bucket`` (keys alone: a small body each) and, when the bucket sends
        EventBridge notifications in the template, publish their "Object Created" events through
        the rules. Returns the events published. Nothing runs until :meth:`deliver`."""
        handle = bucket if isinstance(bucket, Bucket) else self.bucket(bucket)
        items = objects.items() if isinstance(objects, Mapping) else ((k, f"object {k}\n") for k in objects)
        s3 = self.client("s3")
        entries = []
        for key, body in items:
            data = body.encode() if isinstance(body, str) else body
            put = s3.put_object(Bucket=handle.name, Key=key, Body=data)
            if handle.eventbridge:
                entries.append(
                    self.object_created_event(
                        handle.name,
                        key,
                        size=len(data),
                        etag=put.get("ETag", ""),
                        version_id=put.get("VersionId"),
                        key_encoding=key_encoding,
                    )
                )
        self.put_events(entries)
        return entries

    def put_events(self, entries: Sequence[Mapping[str, Any]]) -> None:
        """Publish EventBridge entries to the default bus (moto routes them through the rules)."""
        events = self.client("events")
        for start in range(0, len(entries), 10):
            result = events.put_events(Entries=list(entries[start : start + 10]))
            if result.get("FailedEntryCount"):
                raise RuntimeError(f"moto rejected events: {result['Entries']}")

    def deliver(self, *, max_rounds: int = 50) -> Delivery:
        """Move events until nothing is left to move, like AWS would in the background:
        EventBridge targets moto cannot reach (Lambda, Step Functions, SNS, CloudWatch Logs) get what
        their rule routed, and every SQS event source mapping invokes its function in process with
        up to ``BatchSize`` messages, deleting what the handler does not report as a failure."""
        delivery = Delivery()
        for _ in range(max_rounds):
            moved = self._drain_taps(delivery)
            moved += self._poll_event_sources(delivery)
            if not moved:
                return delivery
        return delivery

    def upload(
        self,
        bucket: Bucket | str,
        objects: Mapping[str, bytes | str] | Iterable[str],
        *,
        key_encoding: str = "raw",
    ) -> Upload:
        """Put objects, deliver their events (the S3 submitter runs), and return the jobs submitted."""
        before = {job["jobId"] for job in self.jobs()}
        entries = self.put_objects(bucket, objects, key_encoding=key_encoding)
        delivery = self.deliver()
        jobs = [self.submitted_job(job) for job in self.jobs() if job["jobId"] not in before]
        keys = [json.loads(e["Detail"])["object"]["key"] for e in entries]
        return Upload(keys=keys, delivery=delivery, jobs=jobs)

    def _drain_taps(self, delivery: Delivery) -> int:
        sqs = self.client("sqs")
        moved = 0
        for url, routes in self._taps.items():
            while True:
                got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
                    "Messages", []
                )
                if not got:
                    break
                for message in got:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                    for _rule, target in routes:
                        self._deliver_to(target["Arn"], message["Body"], delivery)
                    moved += 1
        return moved

    def _deliver_to(self, arn: str, body: str, delivery: Delivery) -> None:
        service = arn.split(":")[2]
        if service == "lambda":
            function = next((f for f in self.all(Function) if f.arn == arn), None)
            if function is not None and function.asset is not None:
                delivery.invocations.append(function.invoke(_maybe_json(body)))
                delivery.delivered.append((arn, body))
                return
        elif service == "states":
            self.client("stepfunctions").start_execution(
                stateMachineArn=arn, name=str(uuid.uuid4()), input=_as_object_text(body)
            )
            delivery.delivered.append((arn, body))
            return
        elif service == "sns":
            self.client("sns").publish(TopicArn=arn, Message=_as_message(body))
            delivery.delivered.append((arn, body))
            return
        elif service == "logs":
            group = arn.split(":log-group:", 1)[-1].removesuffix(":*")
            logs = self.client("logs")
            stream = f"batchkit-{_digest(body)}"
            try:
                logs.create_log_stream(logGroupName=group, logStreamName=stream)
            except logs.exceptions.ResourceAlreadyExistsException:
                pass
            except logs.exceptions.ResourceNotFoundException:
                self.undelivered.append((arn, body))
                return
            logs.put_log_events(
                logGroupName=group,
                logStreamName=stream,
                logEvents=[{"timestamp": int(time.time() * 1000), "message": body}],
            )
            delivery.delivered.append((arn, body))
            return
        self.undelivered.append((arn, body))

    def _poll_event_sources(self, delivery: Delivery) -> int:
        moved = 0
        sqs = self.client("sqs")
        for resource in self.stack.of_type("AWS::Lambda::EventSourceMapping").values():
            props = self._props(resource)
            if props.get("Enabled") is False or ":sqs:" not in str(props.get("EventSourceArn", "")):
                continue
            queue = next((q for q in self.all(Queue) if q.arn == props["EventSourceArn"]), None)
            name = props.get("FunctionName")
            function = next((f for f in self.all(Function) if name in (f.name, f.arn)), None)
            if queue is None or function is None:
                continue
            batch_size = int(props.get("BatchSize", 10))
            messages = queue.receive(delete=False, limit=batch_size)
            if not messages:
                continue
            moved += len(messages)
            invocation = function.invoke(_sqs_event(messages[:batch_size], queue.arn, self.region))
            delivery.invocations.append(invocation)
            failed: set[str] = set()
            if invocation.error is not None:
                failed = {m["MessageId"] for m in messages}
            elif "ReportBatchItemFailures" in props.get("FunctionResponseTypes", []):
                response = invocation.response or {}
                failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
            for message in messages:
                if message["MessageId"] in failed:
                    sqs.change_message_visibility(
                        QueueUrl=queue.url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                    )
                else:
                    sqs.delete_message(QueueUrl=queue.url, ReceiptHandle=message["ReceiptHandle"])
        return moved

    def emit_job_events(self, jobs: Sequence[Mapping[str, Any]] | None = None) -> Delivery:
        """Publish a "Batch Job State Change" event for each job (default: every job of the world
        in a final state), as AWS Batch does, then :meth:`deliver` what the rules route (failure
        notifications, monitoring). moto's Batch publishes no such events itself."""
        described = (
            list(jobs)
            if jobs is not None
            else [j for j in self.jobs(children=False) if j["status"] in ("SUCCEEDED", "FAILED")]
        )
        self.put_events(
            [
                {
                    "Source": "aws.batch",
                    "DetailType": "Batch Job State Change",
                    "Detail": json.dumps(job, default=str),
                    "Resources": [job.get("jobArn", job["jobId"])],
                }
                for job in described
            ]
        )
        return self.deliver()

    # -- job code --------------------------------------------------------------------------------

    def run_job(
        self,
        job: Mapping[str, Any] | SubmittedJob,
        code: Callable[[], Any],
        *,
        raise_errors: bool = False,
        index: int | None = None,
    ) -> list[JobRun]:
        """Run ``code`` once per array child of ``job`` (or child ``index`` only) as Batch would:
        the job's environment, ``AWS_BATCH_JOB_ARRAY_INDEX``, and this world's endpoint
        (``AWS_ENDPOINT_URL``) when it talks to a moto server."""
        description = job.description if isinstance(job, SubmittedJob) else job
        extra = {"AWS_DEFAULT_REGION": self.region}
        if self.endpoint_url:
            extra["AWS_ENDPOINT_URL"] = self.endpoint_url
        return run_job_locally(
            description, code, extra_environment=extra, raise_errors=raise_errors, index=index
        )


# -- builders ---------------------------------------------------------------------------------------


def _base(
    world: World, logical_id: str, resource: Mapping[str, Any], props: dict[str, Any]
) -> dict[str, Any]:
    return {
        "world": world,
        "logical_id": logical_id,
        "path": world.stack.path_of(logical_id),
        "type": resource["Type"],
        "properties": props,
    }


def _build_compute_environment(world: World, logical_id: str, resource: Mapping[str, Any]) -> Resource:
    props = world._props(resource)
    name = props.get("ComputeEnvironmentName") or _name(world.stack.name, logical_id, 128)
    if not _MOTO_CE_NAME.match(name):
        # AWS allows 1-128 letters, digits, '-' and '_'; moto wants 3+ and an alphanumeric last character.
        name = f"{name}-{_digest(name, size=6)}"
    arn = world.client("batch").create_compute_environment(
        computeEnvironmentName=name,
        type="UNMANAGED",
        state=props.get("State", "ENABLED"),
        serviceRole=props.get("ServiceRole") or world.service_role(),
    )["computeEnvironmentArn"]
    return ComputeEnvironment(
        **_base(world, logical_id, resource, props),
        ref=arn,
        attributes={"ComputeEnvironmentArn": arn, "Arn": arn},
        name=name,
    )


def _build_service_environment(world: World, logical_id: str, resource: Mapping[str, Any]) -> Resource:
    """moto 5.2 has no service environments (CreateServiceEnvironment): an unmanaged compute environment
    of the same name stands in, so a SageMaker Training queue over it can be created and described."""
    props = world._props(resource)
    name = props.get("ServiceEnvironmentName") or _name(world.stack.name, logical_id, 128)
    stand_in = world.client("batch").create_compute_environment(
        computeEnvironmentName=name if _MOTO_CE_NAME.match(name) else f"{name}-{_digest(name, size=6)}",
        type="UNMANAGED",
        state=props.get("State", "ENABLED"),
        serviceRole=world.service_role(),
    )["computeEnvironmentArn"]
    arn = f"arn:aws:batch:{world.region}:{world.account}:service-environment/{name}"
    world._stand_ins[arn] = stand_in
    return Resource(
        **_base(world, logical_id, resource, props),
        ref=arn,
        attributes={"ServiceEnvironmentArn": arn, "Arn": arn, "StandIn": stand_in},
    )


def _build_scheduling_policy(world: World, logical_id: str, resource: Mapping[str, Any]) -> Resource:
    props = world._props(resource)
    name = props.get("Name") or _name(world.stack.name, logical_id, 128)
    request = to_request("batch", "CreateSchedulingPolicy", {**props, "Name": name})
    arn = world.client("batch").create_scheduling_policy(**request)["arn"]
    return Resource(**_base(world, logical_id, resource, props), ref=arn, attributes={"Arn": arn})


def _build_job_queue(world: World, logical_id: str, resource: Mapping[str, Any]) -> Resource:
    props = world._props(resource)
    name = props.get("JobQueueName") or _name(world.stack.name, logical_id, 128)
    order = [
        {"order": int(item["Order"]), "computeEnvironment": item["ComputeEnvironment"]}
        for item in props.get("ComputeEnvironmentOrder", [])
    ]
    # A SageMaker Training queue: its service environments' stand-ins (moto has no serviceEnvironmentOrder;
    # the template's JobQueueType and order stay in ``properties``).
    order += [
        {
            "order": int(item["Order"]),
            "computeEnvironment": world._stand_ins.get(item["ServiceEnvironment"], ""),
        }
        for item in props.get("ServiceEnvironmentOrder", [])
    ]
    kwargs: dict[str, Any] = {}
    if props.get("SchedulingPolicyArn"):
        kwargs["schedulingPolicyArn"] = props["SchedulingPolicyArn"]
    arn = world.client("batch").create_job_queue(
        jobQueueName=name,
        state=props.get("State", "ENABLED"),
        priority=int(props.get("Priority", 1)),
        computeEnvironmentOrder=order,
        **kwargs,
    )["jobQueueArn"]
    return JobQueue(
        **_base(world, logical_id, resource, props),
        ref=arn,
        attributes={"JobQueueArn": arn, "Arn": arn},
        name=name,
    )


#: AWS::Batch::JobDefinition properties that only steer CloudFormation (no RegisterJobDefinition field).
_CFN_ONLY_JOB_DEFINITION_PROPERTIES = frozenset({"ResourceRetentionPolicy"})


def _build_job_definition(world: World, logical_id: str, resource: Mapping[str, Any]) -> Resource:
    props = world._props(resource)
    name = props.get("JobDefinitionName") or _name(world.stack.name, logical_id, 128)
    dropped: list[str] = []
    # CloudFormation-only: what CloudFormation does with the previous revision on update; no API field.
    api_props = {k: v for k, v in props.items() if k not in _CFN_ONLY_JOB_DEFINITION_PROPERTIES}
    request = to_request("batch", "RegisterJobDefinition", {**api_props, "JobDefinitionName": name}, dropped)
    client = world.client("batch")
    try:
        arn = client.register_job_definition(**request)["jobDefinitionArn"]
    except client.exceptions.ClientException as error:
        # moto 5.2 validates the request (botocore) but registers no ecsProperties: the task's first
        # essential container stands in as containerProperties.
        if "ecsProperties" not in request or "containerProperties" not in str(error):
            raise
        ecs = request.pop("ecsProperties")
        request["containerProperties"] = _task_as_container(ecs)
        dropped.append("EcsProperties (moto registers none: its first essential container stands in)")
        arn = client.register_job_definition(**request)["jobDefinitionArn"]
    return JobDefinition(
        **_base(world, logical_id, resource, props),
        ref=arn,
        attributes={"JobDefinitionArn": arn, "Arn": arn},
        name=name,
        dropped=dropped,
    )


#: TaskContainerProperties members that ContainerProperties lacks.
_TASK_ONLY = ("name", "essential", "dependsOn", "firelensConfiguration", "startTimeout", "stopTimeout")


def _task_as_container(ecs: Mapping[str, Any]) -> dict[str, Any]:
    """``ecsProperties`` (one task) as the ``containerProperties`` of its first essential container."""
    task = dict(ecs["taskProperties"][0])
    containers = task.pop("containers")
    chosen = next((c for c in containers if c.get("essential", True)), containers[0])
    container = {k: v for k, v in chosen.items() if k not in _TASK_ONLY}
    if "taskRoleArn" in task:
        container["jobRoleArn"] = task.pop("taskRoleArn")
    if "platformVersion" in task:
        container["fargatePlatformConfiguration"] = {"platformVersion": task.pop("platformVersion")}
    return {**task, **container}


def _build_bucket(world: World, logical_id: str, resource: Mapping[str, Any]) -> Resource:
    props = world._props(resource)
    name = props.get("BucketName")
    if not name:
        # Lower case, 3-63 characters, as CloudFormation generates them: stack-logicalid-suffix.
        base = re.sub(r"[^a-z0-9-]", "", f"{world.stack.name}-{logical_id}".lower())[:54]
        name = f"{base}-{_digest(world.stack.name, logical_id)}"
    s3 = world.client("s3")
    kwargs: dict[str, Any] = {"Bucket": name}
    if world.region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": world.region}
    s3.create_bucket(**kwargs)
    status = props.get("VersioningConfiguration", {}).get("Status")
    if status:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": status})
    eventbridge = bool(
        props.get("NotificationConfiguration", {})
        .get("EventBridgeConfiguration", {})
        .get("EventBridgeEnabled")
    )
    attributes = {
        "Arn": f"arn:aws:s3:::{name}",
        "DomainName": f"{name}.s3.amazonaws.com",
        "RegionalDomainName": f"{name}.s3.{world.region}.amazonaws.com",
        "WebsiteURL": f"http://{name}.s3-website-{world.region}.amazonaws.com",
    }
    return Bucket(
        **_base(world, logical_id, resource, props), ref=name, attributes=attributes, eventbridge=eventbridge
    )


_SQS_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "SqsManagedSseEnabled",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
)


def _build_queue(world: World, logical_id: str, resource: Mapping[str, Any]) -> Resource:
    props = world._props(resource)
    fifo = str(props.get("FifoQueue", "")).lower() == "true"
    name = props.get("QueueName") or _name(world.stack.name, logical_id, 75 if fifo else 80)
    if fifo and not name.endswith(".fifo"):
        name += ".fifo"
    attributes = {key: _attribute(props[key]) for key in _SQS_ATTRIBUTES if key in props}
    for key in ("RedrivePolicy", "RedriveAllowPolicy"):
        if key in props:
            attributes[key] = json.dumps(props[key]) if isinstance(props[key], dict) else str(props[key])
    sqs = world.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = f"arn:aws:sqs:{world.region}:{world.account}:{name}"
    return Queue(
        **_base(world, logical_id, resource, props),
        ref=url,
        attributes={"Arn": arn, "QueueName": name, "QueueUrl": url},
    )


def _build_table(world: World, logical_id: str, resource: Mapping[str, Any]) -> Resource:
    props = world._props(resource)
    name = props.get("TableName") or _name(world.stack.name, logical_id, 255)
    kwargs: dict[str, Any] = {
        "TableName": name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    for key in ("ProvisionedThroughput", "GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if key in props:
            kwargs[key] = props[key]
    if kwargs["BillingMode"] == "PROVISIONED" and "ProvisionedThroughput" not in kwargs:
        kwargs["ProvisionedThroughput"] = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    stream = props.get("StreamSpecification")
    if stream:
        kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    dynamodb = world.client("dynamodb")
    table = dynamodb.create_table(**kwargs)["TableDescription"]
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
        )
    attributes = {"Arn": table["TableArn"]}
    if table.get("LatestStreamArn"):
        attributes["StreamArn"] = table["LatestStreamArn"]
    return Table(**_base(world, logical_id, resource, props), ref=name, attributes=attributes)


def _build_topic(world: World, logical_id: str, resource: Mapping[str, Any]) -> Resource:
    props = world._props(resource)
    fifo = str(props.get("FifoTopic", "")).lower() == "true"
    name = props.get("TopicName") or _name(world.stack.name, logical_id, 250 if fifo else 256)
    if fifo and not name.endswith(".fifo"):
        name += ".fifo"
    attributes = {
        key: _attribute(props[key])
        for key in ("DisplayName", "FifoTopic", "ContentBasedDeduplication")
        if key in props
    }
    sns = world.client("sns")
    arn = sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]
    for subscription in props.get("Subscription", []):
        sns.subscribe(TopicArn=arn, Protocol=subscription["Protocol"], Endpoint=subscription["Endpoint"])
    # An inbox queue subscribed with raw delivery, so tests can read what was published.
    sqs = world.client("sqs")
    inbox_name = _name(world.stack.name, f"{logical_id}Inbox", 80)
    inbox_url = sqs.create_queue(QueueName=inbox_name)["QueueUrl"]
    inbox_arn = f"arn:aws:sqs:{world.region}:{world.account}:{inbox_name}"
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=inbox_arn, Attributes={"RawMessageDelivery": "true"})
    base = _base(world, logical_id, resource, props)
    inbox = Queue(
        world=world,
        logical_id=f"{logical_id}Inbox",
        path=f"{base['path']}/(batchkit inbox)",
        type="AWS::SQS::Queue",
        properties={},
        ref=inbox_url,
        attributes={"Arn": inbox_arn, "QueueName": inbox_name, "QueueUrl": inbox_url},
    )
    return Topic(**base, ref=arn, attributes={"TopicArn": arn, "TopicName": name, "Arn": arn}, _inbox=inbox)


def _build_subscription(world: World, logical_id: str, resource: Mapping[str, Any]) -> Resource:
    props = world._props(resource)
    attributes: dict[str, str] = {}
    if "RawMessageDelivery" in props:
        attributes["RawMessageDelivery"] = _attribute(props["RawMessageDelivery"])
    if "FilterPolicy" in props:
        attributes["FilterPolicy"] = json.dumps(props["FilterPolicy"])
    arn = world.client("sns").subscribe(
        TopicArn=props["TopicArn"],
        Protocol=props["Protocol"],
        Endpoint=props.get("Endpoint", ""),
        Attributes=attributes,
    )["SubscriptionArn"]
    return Resource(**_base(world, logical_id, resource, props), ref=arn, attributes={"Arn": arn})


def _build_role(world: World, logical_id: str, resource: Mapping[str, Any]) -> Resource:
    props = world._props(resource)
    name = props.get("RoleName") or _name(world.stack.name, logical_id, 64)
    role = world.client("iam").create_role(
        RoleName=name,
        Path=props.get("Path", "/"),
        AssumeRolePolicyDocument=json.dumps(props.get("AssumeRolePolicyDocument", {})),
    )["Role"]
    return Role(
        **_base(world, logical_id, resource, props),
        ref=name,
        attributes={"Arn": role["Arn"], "RoleId": role["RoleId"]},
    )


def _build_log_group(world: World, logical_id: str, resource: Mapping[str, Any]) -> Resource:
    props = world._props(resource)
    name = props.get("LogGroupName") or f"/batchkit/{_name(world.stack.name, logical_id, 200)}"
    logs = world.client("logs")
    logs.create_log_group(logGroupName=name)
    if "RetentionInDays" in props:
        logs.put_retention_policy(logGroupName=name, retentionInDays=int(props["RetentionInDays"]))
    arn = f"arn:aws:logs:{world.region}:{world.account}:log-group:{name}:*"
    return LogGroup(**_base(world, logical_id, resource, props), ref=name, attributes={"Arn": arn})


def _build_function(world: World, logical_id: str, resource: Mapping[str, Any]) -> Resource:
    props = world._props(resource)
    name = props.get("FunctionName") or _name(world.stack.name, logical_id, 64)
    arn = f"arn:aws:lambda:{world.region}:{world.account}:function:{name}"
    variables = props.get("Environment", {}).get("Variables", {})
    return Function(
        **_base(world, logical_id, resource, props),
        ref=name,
        attributes={"Arn": arn},
        handler_name=props.get("Handler", "index.handler"),
        environment={k: _attribute(v) for k, v in variables.items()},
        timeout=int(props.get("Timeout", 3)),
        memory=int(props.get("MemorySize", 128)),
        asset=world.stack.asset_directory(logical_id),
    )


def _build_rule(world: World, logical_id: str, resource: Mapping[str, Any]) -> Resource:
    props = world._props(resource)
    name = props.get("Name") or _name(world.stack.name, logical_id, 64)
    events = world.client("events")
    bus = props.get("EventBusName", "default")
    rule: dict[str, Any] = {"Name": name, "State": props.get("State", "ENABLED"), "EventBusName": bus}
    pattern = props.get("EventPattern")
    if pattern is not None:
        rule["EventPattern"] = json.dumps(pattern) if not isinstance(pattern, str) else pattern
    if props.get("ScheduleExpression"):
        rule["ScheduleExpression"] = props["ScheduleExpression"]
    arn = events.put_rule(**rule)["RuleArn"]
    handle = Rule(
        **_base(world, logical_id, resource, props),
        ref=name,
        attributes={"Arn": arn},
        pattern=json.loads(pattern) if isinstance(pattern, str) else pattern,
        targets=list(props.get("Targets", [])),
        schedule=props.get("ScheduleExpression"),
    )
    moto_targets = []
    sqs = world.client("sqs")
    # moto matches a rule without a pattern (a schedule) to every event: its targets are only
    # reached through Rule.fire().
    for target in handle.targets if pattern is not None else []:
        entry: dict[str, Any] = {
            key: target[key] for key in ("Id", "Input", "InputPath", "InputTransformer") if key in target
        }
        if target["Arn"].split(":")[2] in _DIRECT_TARGETS:
            entry["Arn"] = target["Arn"]
        else:
            tap = _name(world.stack.name, f"{logical_id}Tap{target['Id']}", 80)
            url = sqs.create_queue(QueueName=tap)["QueueUrl"]
            world._taps.setdefault(url, []).append((handle, target))
            entry["Arn"] = f"arn:aws:sqs:{world.region}:{world.account}:{tap}"
        moto_targets.append(entry)
    if moto_targets:
        events.put_targets(Rule=name, EventBusName=bus, Targets=moto_targets)
    return handle


def _build_state_machine(world: World, logical_id: str, resource: Mapping[str, Any]) -> Resource:
    props = world._props(resource)
    name = props.get("StateMachineName") or _name(world.stack.name, logical_id, 80)
    if "DefinitionString" in props:
        text = props["DefinitionString"]
    else:
        text = json.dumps(props.get("Definition", {}))
    for key, value in props.get("DefinitionSubstitutions", {}).items():
        text = text.replace("${" + key + "}", str(value))
    role = props.get("RoleArn") or world.service_role()
    kwargs: dict[str, Any] = {"name": name, "definition": text, "roleArn": role}
    if props.get("StateMachineType"):
        kwargs["type"] = props["StateMachineType"]
    arn = world.client("stepfunctions").create_state_machine(**kwargs)["stateMachineArn"]
    return StateMachine(
        **_base(world, logical_id, resource, props),
        ref=arn,
        attributes={"Arn": arn, "Name": name},
        definition=json.loads(text),
    )


_BUILDERS: dict[str, Callable[[World, str, Mapping[str, Any]], Resource]] = {
    "AWS::IAM::Role": _build_role,
    "AWS::Logs::LogGroup": _build_log_group,
    "AWS::Batch::ComputeEnvironment": _build_compute_environment,
    "AWS::Batch::SchedulingPolicy": _build_scheduling_policy,
    "AWS::Batch::ServiceEnvironment": _build_service_environment,
    "AWS::Batch::JobQueue": _build_job_queue,
    "AWS::Batch::JobDefinition": _build_job_definition,
    "AWS::S3::Bucket": _build_bucket,
    "AWS::SQS::Queue": _build_queue,
    "AWS::DynamoDB::Table": _build_table,
    "AWS::SNS::Topic": _build_topic,
    "AWS::SNS::Subscription": _build_subscription,
    "AWS::Lambda::Function": _build_function,
    "AWS::Events::Rule": _build_rule,
    "AWS::StepFunctions::StateMachine": _build_state_machine,
}

#: The CloudFormation types :func:`build_world` creates (or, for Lambda functions, emulates).
SUPPORTED_TYPES: tuple[str, ...] = tuple(_BUILDERS)


def build_world(
    source: Any,
    *,
    stack: str | None = None,
    endpoint_url: str | None = None,
    session: Any = None,
    region: str = REGION,
    account: str = ACCOUNT,
    parameters: Mapping[str, str] | None = None,
) -> World:
    """Create the resources of a synthesized stack in moto and return the :class:`World`.

    ``source``: a ``cdk.Stack``, a ``cdk.App`` or a ``cdk.out`` directory (``stack`` picks one when
    there are several). Call it inside ``moto.mock_aws()`` (the ``batchkit_aws`` fixture), or pass
    ``endpoint_url`` of a moto server. ``parameters`` answers template parameters without defaults.
    """
    template = source if isinstance(source, StackTemplate) else load_stack(source, stack)
    return World(
        template,
        session=session,
        endpoint_url=endpoint_url,
        region=region,
        account=account,
        parameters=parameters,
    ).build()


# -- helpers ----------------------------------------------------------------------------------------


def _normal(path: str) -> str:
    parts = [p for p in path.strip("/").split("/") if p]
    while len(parts) > 1 and parts[-1] in ("Resource", "Default"):
        parts.pop()
    return "/".join(parts)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _attribute(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _maybe_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _as_object_text(body: str) -> str:
    value = _maybe_json(body)
    return json.dumps(value) if not isinstance(value, str) else value


def _as_message(body: str) -> str:
    value = _maybe_json(body)
    return value if isinstance(value, str) else json.dumps(value)


def _uuid(*parts: str) -> Any:
    return uuid.UUID(hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32])


def _sqs_event(messages: Sequence[Mapping[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    records = []
    for message in messages:
        attributes = dict(message.get("Attributes", {}))
        records.append(
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {
                    "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
                    "SentTimestamp": attributes.get("SentTimestamp", str(int(time.time() * 1000))),
                    "SenderId": attributes.get("SenderId", "AIDAEXAMPLE"),
                    "ApproximateFirstReceiveTimestamp": attributes.get(
                        "ApproximateFirstReceiveTimestamp", str(int(time.time() * 1000))
                    ),
                },
                "messageAttributes": {},
                "md5OfBody": message.get("MD5OfBody", hashlib.md5(message["Body"].encode()).hexdigest()),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
        )
    return {"Records": records}
