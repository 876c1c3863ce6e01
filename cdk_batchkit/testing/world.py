"""A synthesized app's resources in moto, found again by construct path, with AWS's background work.

:func:`build_world` reads the app (see :mod:`.assembly`): every stack, in the order CloudFormation deploys
them, each stack's nested stacks, and the exports other stacks import. The builders
(:mod:`.builders`) create the resources in moto; the world then finds them (:meth:`World.find` and the
typed finders), moves what AWS would move in the background (:meth:`World.deliver`: EventBridge targets
moto cannot reach, SQS event sources, S3 notifications to functions), runs job code as Batch would
(:meth:`World.run_job`), records what code under test sent (:meth:`World.requests`) and refuses what
Batch refuses and moto accepts (see :mod:`.recorder`).
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import boto3
import botocore.loaders
import botocore.session
from botocore import xform_name

from ..lambdas.submitter.manifest import entries
from . import functions, recorder
from .assembly import StackTemplate, load_stacks
from .batch import JobRun, run_job_locally
from .builders import SUPPORTED_TYPES, StackBuild, physical_name
from .handles import (
    Bucket,
    ComputeEnvironment,
    ConsumableResource,
    Delivery,
    Function,
    JobDefinition,
    JobQueue,
    LogGroup,
    Queue,
    Resource,
    Role,
    Rule,
    StateMachine,
    SubmittedJob,
    Table,
    Topic,
    Upload,
    maybe_json,
    normal_path,
)
from .intrinsics import ACCOUNT, REGION, UnresolvableError
from .recorder import Request
from .s3events import eventbridge_entry, record, sequencer
from .workflows import quiet_engine_logs

__all__ = ["SUPPORTED_TYPES", "World", "build_world"]

H = TypeVar("H", bound=Resource)

_LOADER: list[botocore.loaders.Loader] = []
#: The kit's own clients, shared by the worlds of a process that use the default session: creating a client
#: costs more than building a small world. They are mocked like any client (moto's handler is built in),
#: and nothing registers handlers on them.
_INTERNAL: dict[tuple[str, str, str | None], Any] = {}


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
    """A synthesized app's resources in moto. Build one with :func:`build_world`.

    Finders take a construct path (``"Submitter/Queue"`` or ``"Ingest/Submitter/Queue"``, with or without
    the trailing ``Resource``), a path prefix that is unambiguous (``"Submitter"`` for its only bucket),
    a construct id or a logical id; an ambiguous or unknown name raises ``LookupError`` listing the
    candidates. Resources of nested stacks are found by their path under the top-level stack
    (``"Inner/Bucket"``).
    """

    def __init__(
        self,
        stacks: StackTemplate | Sequence[StackTemplate],
        *,
        session: Any = None,
        endpoint_url: str | None = None,
        region: str = REGION,
        account: str = ACCOUNT,
        parameters: Mapping[str, str] | None = None,
        check_requests: bool = True,
    ) -> None:
        self._top = [stacks] if isinstance(stacks, StackTemplate) else list(stacks)
        if not self._top:
            raise ValueError("a world needs at least one stack")
        self.region = region
        self.account = account
        self.endpoint_url = endpoint_url
        self._session = session
        self.parameters = dict(parameters or {})
        #: Whether SubmitJob requests to this world's queues are checked as Batch checks them.
        self.check_requests = check_requests
        self._clients: dict[str, Any] = {}
        self._internal: dict[str, Any] = {}
        #: Every stack built (nested ones included), by construct path (``Ingest``, ``Parent/Inner``).
        self.stacks: dict[str, StackTemplate] = {}
        self.builds: dict[str, StackBuild] = {}
        #: Every handle, by (stack construct path, logical id).
        self.handles: dict[tuple[str, str], Resource] = {}
        self.stand_ins: dict[str, str] = {}
        self._exports: dict[str, tuple[StackBuild, str]] | None = None
        self._service_role: str | None = None
        self._taps: dict[str, list[tuple[Rule, dict[str, Any]]]] = {}
        self._pending: list[tuple[str, str]] = []
        self._requests: list[Request] = []
        #: Every in-process Lambda invocation, in order.
        self.invocations: list[functions.Invocation] = []
        #: Events routed to targets the kit cannot deliver (kept, not lost): (target ARN, body).
        self.undelivered: list[tuple[str, Any]] = []
        self._sequencer = 0

    # -- stacks ----------------------------------------------------------------------------------

    @property
    def stack(self) -> StackTemplate:
        """The world's one top-level stack (a world of several: :attr:`stacks`)."""
        if len(self._top) != 1:
            names = [s.display for s in self._top]
            raise LookupError(
                f"this world has {len(names)} stacks ({', '.join(names)}): use world.stacks[name]"
            )
        return self._top[0]

    @property
    def skipped(self) -> dict[tuple[str, str], str]:
        """Resources of the templates the kit does not build: (stack, logical id) -> type."""
        return {(name, lid): kind for name, b in self.builds.items() for lid, kind in b.skipped.items()}

    # -- clients ---------------------------------------------------------------------------------

    @property
    def session(self) -> Any:
        """The boto3 session of this world's clients (a new one sharing botocore's loaded models unless
        you gave one)."""
        if self._session is None:
            self._session = _new_session(self.region)
        return self._session

    def client(self, service: str) -> Any:
        """A boto3 client of this world (moto in process, or the moto server at ``endpoint_url``); its
        calls are recorded in :meth:`requests` like those of the code under test."""
        if service not in self._clients:
            self._clients[service] = self.session.client(
                service, region_name=self.region, endpoint_url=self.endpoint_url
            )
        return self._clients[service]

    def internal_client(self, service: str) -> Any:
        """The client the kit itself uses (building, delivering, finding jobs): not recorded."""
        if service not in self._internal:
            key = (service, self.region, self.endpoint_url)
            shared = self._session is None
            client = _INTERNAL.get(key) if shared else None
            if client is None:
                client = recorder.ignore(
                    self.session.client(service, region_name=self.region, endpoint_url=self.endpoint_url)
                )
                if shared:
                    _INTERNAL[key] = client
            self._internal[service] = client
        return self._internal[service]

    def lambda_environment(self, function: Function) -> dict[str, str]:
        """What ``function``'s code finds in its environment: the template's variables and those the Lambda
        runtime sets (region, function name, memory, version, handler, log group and stream, runtime;
        the log format and level when ``LoggingConfig`` sets them), plus ``AWS_ENDPOINT_URL`` when the
        world talks to a moto server. Source:
        https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
        """
        logging_config = function.properties.get("LoggingConfig") or {}
        log_group = logging_config.get("LogGroup") or f"/aws/lambda/{function.name}"
        env = {
            **function.environment,
            "_HANDLER": function.handler_name,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.properties.get('Runtime', 'python3')}",
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": str(log_group),
            "AWS_LAMBDA_LOG_STREAM_NAME": "batchkit/[$LATEST]local",
        }
        if logging_config.get("LogFormat"):
            env["AWS_LAMBDA_LOG_FORMAT"] = str(logging_config["LogFormat"])
            if str(logging_config["LogFormat"]).upper() == "JSON" and logging_config.get(
                "ApplicationLogLevel"
            ):
                env["AWS_LAMBDA_LOG_LEVEL"] = str(logging_config["ApplicationLogLevel"])
        if function.asset is not None:
            env["LAMBDA_TASK_ROOT"] = str(function.asset)
        if self.endpoint_url:
            env["AWS_ENDPOINT_URL"] = self.endpoint_url
        return env

    # -- building --------------------------------------------------------------------------------

    def build(self) -> World:
        """Create every stack's resources (dependencies first); then record calls (:meth:`requests`)."""
        quiet_engine_logs()
        top = [StackBuild(self, stack, parameters=self.parameters) for stack in self._top]
        for build in top:
            self.add_build(build)
        for build in top:
            build.build()
        recorder.watch(self)
        return self

    def add_build(self, build: StackBuild) -> None:
        self.builds[build.stack.display] = build
        self.stacks[build.stack.display] = build.stack
        self._exports = None

    def import_value(self, name: str) -> Any:
        """What ``Fn::ImportValue`` of ``name`` gives: the export of a stack of this world."""
        if self._exports is None or name not in self._exports:
            self._exports = {}
            for build in self.builds.values():
                for export, output in build.export_names().items():
                    self._exports[export] = (build, output)
        if name not in self._exports:
            raise UnresolvableError(
                f"Fn::ImportValue {name!r}: no stack of this world exports it (stacks: "
                f"{', '.join(self.builds)}); build the app (build_world(app)), or the stack with the "
                "stacks it imports from (build_world(stack) adds the stacks it depends on)"
            )
        build, output = self._exports[name]
        return build.output(output)

    def service_role(self) -> str:
        """The role moto's CreateComputeEnvironment insists on (AWS uses the service-linked role)."""
        if self._service_role is None:
            self._service_role = self.internal_client("iam").create_role(
                RoleName=physical_name(self._top[0].name, "BatchkitServiceRole", 64),
                AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
            )["Role"]["Arn"]
        return self._service_role

    def add_tap(self, url: str, rule: Rule, target: dict[str, Any]) -> None:
        self._taps.setdefault(url, []).append((rule, target))

    def next_request_id(self) -> str:
        self._sequencer += 1
        return f"BATCHKIT{self._sequencer:08d}"

    # -- what was sent ---------------------------------------------------------------------------

    def requests(self, service: str | None = None, operation: str | None = None) -> list[Request]:
        """Every AWS call made since the world was built by code under test (handlers run by the kit,
        your own code, state machines, :meth:`client`), oldest first, refused ones included; the kit's
        own calls are not recorded. ``service`` as boto3 names it (``"batch"``), ``operation`` as the API
        (``"SubmitJob"``) or the client method (``"submit_job"``)::

            (sent,) = world.requests("batch", "SubmitJob")
            assert sent.parameters["shareIdentifier"] == "teamA" and not sent.refused
        """
        wanted = None if operation is None else xform_name(operation)
        return [
            r
            for r in list(self._requests)
            if (service is None or r.service == service)
            and (wanted is None or xform_name(r.operation) == wanted)
        ]

    def record_request(self, request: Request) -> None:
        self._requests.append(request)

    def check_request(self, request: Request) -> tuple[list[str], list[str]] | None:
        """Batch's checks of a SubmitJob to one of this world's queues (None: not one of them)."""
        if not self.check_requests or request.service != "batch" or request.operation != "SubmitJob":
            return None
        name = str(request.parameters.get("jobQueue", ""))
        queue = next((q for q in self.all(JobQueue) if name in (q.arn, q.name)), None)
        if queue is None:
            return None
        wanted = str(request.parameters.get("jobDefinition", ""))
        definition = next((d for d in self.all(JobDefinition) if _same_definition(d, wanted)), None)
        return recorder.check_submit_job(
            request.parameters, queue=queue, definition=definition, handles=list(self.handles.values())
        )

    # -- finding ---------------------------------------------------------------------------------

    def find(self, query: str, kind: type[H] = Resource) -> H:  # type: ignore[assignment]
        """The one handle of class ``kind`` that ``query`` names (see the class docstring)."""
        candidates = [h for h in self.handles.values() if isinstance(h, kind)]
        wanted = normal_path(query)
        tiers: list[Callable[[Resource], bool]] = [
            lambda h: h.logical_id == query,
            lambda h: normal_path(h.full_path) == wanted,
            lambda h: normal_path(h.path) == wanted,
            lambda h: normal_path(h.full_path).startswith(wanted + "/"),
            lambda h: normal_path(h.path).startswith(wanted + "/"),
            lambda h: h.construct_id == wanted,
            lambda h: normal_path(h.path).replace("/", "") == wanted,
        ]
        for matches in tiers:
            found = [h for h in candidates if matches(h)]
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                raise LookupError(
                    f"{query!r} names several {kind.__name__} resources: use one of {self._names(found)}"
                )
        where = ", ".join(s.display for s in self._top)
        raise LookupError(f"no {kind.__name__} named {query!r} in {where}: have {self._names(candidates)}")

    def _names(self, handles: Iterable[Resource]) -> list[str]:
        full = len(self._top) > 1
        return sorted(normal_path(h.full_path if full else h.path) for h in handles)

    def all(self, kind: type[H]) -> list[H]:
        """Every handle of class ``kind``, in build order."""
        return [h for h in self.handles.values() if isinstance(h, kind)]

    def compute_environment(self, query: str) -> ComputeEnvironment:
        return self.find(query, ComputeEnvironment)

    def job_queue(self, query: str) -> JobQueue:
        return self.find(query, JobQueue)

    def job_definition(self, query: str) -> JobDefinition:
        return self.find(query, JobDefinition)

    def consumable_resource(self, query: str) -> ConsumableResource:
        return self.find(query, ConsumableResource)

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
        batch = self.internal_client("batch")
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
        """Wrap a job description, reading its manifest from S3 when it has one, as job code reads it
        (:func:`cdk_batchkit.jobkit.my_object`: the body's lines, split on ``\\n`` and ``\\r`` only)."""
        job = SubmittedJob(dict(description), world=self)
        uri = job.environment.get("BATCHKIT_MANIFEST") or job.parameters.get("manifest", "")
        if uri.startswith("s3://"):
            bucket, _, key = uri[5:].partition("/")
            try:
                body = self.internal_client("s3").get_object(Bucket=bucket, Key=key)["Body"]
            except Exception:
                return job
            job.manifest = entries(body.iter_lines())
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
        request_id = self.next_request_id()
        return eventbridge_entry(
            bucket=bucket,
            key=key,
            size=size,
            etag=etag,
            version_id=version_id,
            sequence=sequencer(self._sequencer),
            request_id=request_id,
            account=self.account,
            key_encoding=key_encoding,
        )

    def put_objects(
        self,
        bucket: Bucket | str,
        objects: Mapping[str, bytes | str] | Iterable[str],
        *,
        key_encoding: str = "raw",
    ) -> list[dict[str, Any]]:
        """Put objects in ``bucket`` (keys alone: a small body each) and send what the bucket's
        notifications say: "Object Created" events to EventBridge (routed through the rules by moto),
        classic S3 notifications to its SQS queues and SNS topics now, and to its functions at the next
        :meth:`deliver`. Returns the events sent (EventBridge entries and classic records). Nothing runs
        until :meth:`deliver`.

        ``key_encoding`` applies to EventBridge events (see :meth:`object_created_event`); classic
        notifications carry the key URL-encoded, as S3 documents.
        """
        handle = bucket if isinstance(bucket, Bucket) else self.bucket(bucket)
        items = objects.items() if isinstance(objects, Mapping) else ((k, f"object {k}\n") for k in objects)
        s3 = self.internal_client("s3")
        entries_: list[dict[str, Any]] = []
        sent: list[dict[str, Any]] = []
        for key, body in items:
            data = body.encode() if isinstance(body, str) else body
            put = s3.put_object(Bucket=handle.name, Key=key, Body=data)
            request_id = self.next_request_id()
            facts: dict[str, Any] = {
                "bucket": handle.name,
                "key": key,
                "size": len(data),
                "etag": put.get("ETag", ""),
                "version_id": put.get("VersionId"),
                "sequence": sequencer(self._sequencer),
                "request_id": request_id,
                "account": self.account,
            }
            if handle.eventbridge:
                entries_.append(eventbridge_entry(**facts, key_encoding=key_encoding))
            for destination in handle.notifications.destinations:
                if not destination.matches("s3:ObjectCreated:Put", key):
                    continue
                message = record(
                    event_name="s3:ObjectCreated:Put",
                    region=self.region,
                    configuration_id=destination.id,
                    **facts,
                )
                sent.append(message)
                self._notify(destination.kind, destination.arn, json.dumps(message))
        self.put_events(entries_)
        return [*entries_, *sent]

    def _notify(self, kind: str, arn: str, body: str) -> None:
        if kind == "queue":
            queue = next((q for q in self.all(Queue) if q.arn == arn), None)
            if queue is not None:
                self.internal_client("sqs").send_message(QueueUrl=queue.url, MessageBody=body)
            else:
                self.undelivered.append((arn, body))
        elif kind == "topic":
            self.internal_client("sns").publish(TopicArn=arn, Message=body, Subject="Amazon S3 Notification")
        else:
            # S3 invokes functions asynchronously: at the next deliver().
            self._pending.append((arn, body))

    def put_events(self, entries: Sequence[Mapping[str, Any]]) -> None:
        """Publish EventBridge entries to the default bus (moto routes them through the rules)."""
        events = self.internal_client("events")
        for start in range(0, len(entries), 10):
            result = events.put_events(Entries=list(entries[start : start + 10]))
            if result.get("FailedEntryCount"):
                raise RuntimeError(f"moto rejected events: {result['Entries']}")

    def deliver(self, *, max_rounds: int = 50) -> Delivery:
        """Move events until nothing is left to move, like AWS would in the background:
        EventBridge targets moto cannot reach (Lambda, Step Functions, SNS, CloudWatch Logs) get what
        their rule routed, S3 notifications reach their functions, and every SQS event source mapping
        invokes its function in process with up to ``BatchSize`` messages, deleting what the handler
        does not report as a failure."""
        delivery = Delivery()
        for _ in range(max_rounds):
            moved = self._drain_pending(delivery)
            moved += self._drain_taps(delivery)
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
        """Put objects, deliver their events (the S3 submitter runs), and return the jobs submitted.

        Raises ``ValueError`` for a bucket that sends no notifications at all (nothing could react; use
        :meth:`put_objects` to only put objects)."""
        before = {job["jobId"] for job in self.jobs()}
        handle = bucket if isinstance(bucket, Bucket) else self.bucket(bucket)
        if not handle.eventbridge and not handle.notifications.destinations:
            raise ValueError(
                f"{handle.full_path}: the bucket sends no event notifications (no EventBridge, no SQS, SNS "
                "or Lambda destination in its NotificationConfiguration or a Custom::S3BucketNotifications), "
                "so nothing can react to an upload; put_objects() only puts objects"
            )
        items = dict(objects) if isinstance(objects, Mapping) else {k: f"object {k}\n" for k in objects}
        self.put_objects(handle, items, key_encoding=key_encoding)
        delivery = self.deliver()
        jobs = [self.submitted_job(job) for job in self.jobs() if job["jobId"] not in before]
        return Upload(keys=list(items), delivery=delivery, jobs=jobs)

    def _drain_pending(self, delivery: Delivery) -> int:
        pending, self._pending = self._pending, []
        for arn, body in pending:
            self.deliver_to(arn, body, delivery)
        return len(pending)

    def _drain_taps(self, delivery: Delivery) -> int:
        sqs = self.internal_client("sqs")
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
                        self.deliver_to(target["Arn"], message["Body"], delivery)
                    moved += 1
        return moved

    def deliver_to(self, arn: str, body: str, delivery: Delivery) -> None:
        """Hand ``body`` to the target ``arn`` as its service would receive it (a function is invoked
        in process; a target the kit cannot reach is kept in :attr:`undelivered`)."""
        service = arn.split(":")[2]
        if service == "lambda":
            function = next((f for f in self.all(Function) if f.arn == arn), None)
            if function is not None and function.asset is not None:
                delivery.invocations.append(function.invoke(maybe_json(body)))
                delivery.delivered.append((arn, body))
                return
        elif service == "states":
            self.internal_client("stepfunctions").start_execution(
                stateMachineArn=arn, name=str(uuid.uuid4()), input=_as_object_text(body)
            )
            delivery.delivered.append((arn, body))
            return
        elif service == "sns":
            self.internal_client("sns").publish(TopicArn=arn, Message=_as_message(body))
            delivery.delivered.append((arn, body))
            return
        elif service == "logs":
            group = arn.split(":log-group:", 1)[-1].removesuffix(":*")
            logs = self.internal_client("logs")
            stream = f"batchkit-{hashlib.sha256(body.encode()).hexdigest()[:8]}"
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
        sqs = self.internal_client("sqs")
        for build in self.builds.values():
            for resource in build.stack.of_type("AWS::Lambda::EventSourceMapping").values():
                props = build.props(resource)
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


def build_world(
    source: Any,
    *,
    stack: str | Sequence[str] | None = None,
    endpoint_url: str | None = None,
    session: Any = None,
    region: str = REGION,
    account: str = ACCOUNT,
    parameters: Mapping[str, str] | None = None,
    check_requests: bool = True,
) -> World:
    """Create the resources of a synthesized app in moto and return the :class:`World`.

    ``source``: a ``cdk.App`` or a ``cdk.out`` directory (every stack, in deployment order, their
    exports and imports, nested stacks), a ``cdk.Stack`` (that stack and the stacks it imports from), a
    :class:`StackTemplate` or a list of them. ``stack`` builds only the named stacks (and the stacks they
    import from). Call it inside ``moto.mock_aws()`` (the ``batchkit_aws`` fixture), or pass
    ``endpoint_url`` of a moto server. ``parameters`` answers template parameters without defaults.
    ``check_requests=False`` lets SubmitJob requests through as moto takes them (see :mod:`.recorder`;
    they are still recorded).
    """
    if isinstance(source, StackTemplate):
        templates = [source]
    elif (
        isinstance(source, Sequence)
        and not isinstance(source, str)
        and all(isinstance(s, StackTemplate) for s in source)
    ):
        templates = list(source)
    else:
        templates = load_stacks(source, stack)
    return World(
        templates,
        session=session,
        endpoint_url=endpoint_url,
        region=region,
        account=account,
        parameters=parameters,
        check_requests=check_requests,
    ).build()


# -- helpers ----------------------------------------------------------------------------------------


def _same_definition(definition: JobDefinition, wanted: str) -> bool:
    """SubmitJob's ``jobDefinition``: name, name:revision, or the ARN with or without the revision."""
    if wanted in (definition.arn, definition.name):
        return True
    arn_base = definition.arn.rsplit(":", 1)[0]
    revision = definition.arn.rsplit(":", 1)[-1]
    return wanted in (arn_base, f"{definition.name}:{revision}")


def _as_object_text(body: str) -> str:
    value = maybe_json(body)
    return json.dumps(value) if not isinstance(value, str) else value


def _as_message(body: str) -> str:
    value = maybe_json(body)
    return value if isinstance(value, str) else json.dumps(value)


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
