"""Handles: the resources of a world as a test sees them, and the results of what the world does.

A handle holds what the template said (``properties``, resolved) and what moto made of it (``ref``,
``attributes``), and offers the few operations a test needs (``Queue.messages()``,
``Function.invoke()``, ``StateMachine.run()``...). Handles talk to their world through the
:class:`WorldAPI` protocol only, so this module never imports the world.
"""

from __future__ import annotations

import json
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..lambdas.submitter.manifest import ManifestEntry
from . import functions
from .batch import JobRun
from .s3events import Notifications
from .workflows import WorkflowRun, collect_run, run_state_machine

__all__ = [
    "Bucket",
    "ComputeEnvironment",
    "ConsumableResource",
    "Delivery",
    "Function",
    "JobDefinition",
    "JobQueue",
    "LogGroup",
    "NestedStack",
    "Queue",
    "Resource",
    "Role",
    "Rule",
    "StateMachine",
    "SubmittedJob",
    "Table",
    "Topic",
    "Upload",
    "WorldAPI",
]


class WorldAPI(Protocol):
    """What handles ask of their world (implemented by :class:`cdk_batchkit.testing.World`)."""

    region: str
    account: str
    endpoint_url: str | None
    invocations: list[functions.Invocation]

    def internal_client(self, service: str) -> Any: ...

    def jobs(
        self, *, queues: Sequence[JobQueue] | None = None, children: bool = False
    ) -> list[dict[str, Any]]: ...

    def put_objects(
        self,
        bucket: Bucket | str,
        objects: Mapping[str, bytes | str] | Iterable[str],
        *,
        key_encoding: str = "raw",
    ) -> list[dict[str, Any]]: ...

    def deliver(self, *, max_rounds: int = 50) -> Delivery: ...

    def deliver_to(self, arn: str, body: str, delivery: Delivery) -> None: ...

    def lambda_environment(self, function: Function) -> dict[str, str]: ...

    def run_job(
        self,
        job: Mapping[str, Any] | SubmittedJob,
        code: Callable[[], Any],
        *,
        raise_errors: bool = False,
        index: int | None = None,
    ) -> list[JobRun]: ...


@dataclass
class Resource:
    """A template resource built in moto (or, for functions, emulated). ``properties`` are resolved.

    ``path`` is the construct path without the top-level stack (``Submitter/Queue/Resource``),
    ``stack`` the construct path of the stack holding it (``Ingest``, or ``Parent/Inner`` in a nested
    stack) and ``full_path`` the path with the top-level stack (``Ingest/Submitter/Queue/Resource``).
    """

    world: WorldAPI = field(repr=False)
    logical_id: str
    path: str
    type: str
    properties: dict[str, Any] = field(repr=False)
    ref: str
    attributes: dict[str, str] = field(default_factory=dict, repr=False)
    stack: str = ""
    full_path: str = field(default="", repr=False)

    @property
    def arn(self) -> str:
        return self.attributes.get("Arn", self.ref)

    @property
    def name(self) -> str:
        """The physical name (what ``Ref`` returns for most types; see each handle)."""
        return self.attributes.get("Name", self.ref)

    @property
    def construct_id(self) -> str:
        return normal_path(self.path).rsplit("/", 1)[-1]


@dataclass
class ComputeEnvironment(Resource):
    """In moto every compute environment is UNMANAGED with a kit-made service role;
    ``properties`` keep the template's type and compute resources."""


@dataclass
class JobQueue(Resource):
    def jobs(self, *, children: bool = False) -> list[dict[str, Any]]:
        """Every job in this queue, described, oldest first (array children only if ``children``)."""
        return self.world.jobs(queues=[self], children=children)


@dataclass
class JobDefinition(Resource):
    #: Template properties the RegisterJobDefinition API has no member for (not sent to moto).
    dropped: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        found = self.world.internal_client("batch").describe_job_definitions(jobDefinitions=[self.arn])
        return dict(found["jobDefinitions"][0])


@dataclass
class ConsumableResource(Resource):
    """A Batch consumable resource: moto 5.2.5 has no such API, so it exists only here, with the total
    the template gives it (SubmitJob requests are checked against it)."""

    total_quantity: int | None = None


@dataclass
class NestedStack(Resource):
    """An ``AWS::CloudFormation::Stack`` of the app: its resources are built in the same world; its
    ``Outputs.NAME`` attributes are the nested stack's resolved outputs."""

    @property
    def outputs(self) -> dict[str, str]:
        return {k.removeprefix("Outputs."): v for k, v in self.attributes.items() if k.startswith("Outputs.")}


@dataclass
class Bucket(Resource):
    #: What the bucket sends when objects are created (its own configuration, replaced or extended by
    #: CDK's ``Custom::S3BucketNotifications``).
    notifications: Notifications = field(default_factory=Notifications, repr=False)

    @property
    def name(self) -> str:
        return self.ref

    @property
    def eventbridge(self) -> bool:
        """Whether the bucket sends its events to EventBridge."""
        return self.notifications.eventbridge

    def put_objects(
        self, objects: Mapping[str, bytes | str] | Iterable[str], *, key_encoding: str = "raw"
    ) -> list[dict[str, Any]]:
        """Put objects and send the events the bucket's notifications say (see :meth:`World.put_objects`)."""
        return self.world.put_objects(self, objects, key_encoding=key_encoding)

    def keys(self, prefix: str = "") -> list[str]:
        s3 = self.world.internal_client("s3")
        keys: list[str] = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return keys


@dataclass
class Queue(Resource):
    @property
    def url(self) -> str:
        return self.ref

    @property
    def name(self) -> str:
        return self.attributes.get("QueueName", self.ref.rsplit("/", 1)[-1])

    def receive(self, *, delete: bool = True, limit: int = 10_000) -> list[dict[str, Any]]:
        """Messages available now, as ReceiveMessage returns them, deleted unless asked not to."""
        sqs = self.world.internal_client("sqs")
        found: list[dict[str, Any]] = []
        while len(found) < limit:
            got = sqs.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=min(10, limit - len(found)),
                WaitTimeSeconds=0,
                AttributeNames=["All"],
            ).get("Messages", [])
            if not got:
                break
            for message in got:
                if delete:
                    sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
                found.append(message)
        return found

    def messages(self) -> list[Any]:
        """Receive and delete every available message; return the bodies (JSON-decoded when they are
        JSON), as :meth:`Topic.messages` does."""
        return [maybe_json(message["Body"]) for message in self.receive()]

    def bodies(self) -> list[Any]:
        """Deprecated: :meth:`messages`."""
        warnings.warn("Queue.bodies() is now Queue.messages()", DeprecationWarning, stacklevel=2)
        return self.messages()

    def count(self) -> int:
        attributes = self.world.internal_client("sqs").get_queue_attributes(
            QueueUrl=self.url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])


@dataclass
class Table(Resource):
    @property
    def name(self) -> str:
        return self.ref

    def items(self) -> list[dict[str, Any]]:
        dynamodb = self.world.internal_client("dynamodb")
        items: list[dict[str, Any]] = []
        for page in dynamodb.get_paginator("scan").paginate(TableName=self.name):
            items.extend(page["Items"])
        return items


@dataclass
class Topic(Resource):
    inbox: Queue | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.attributes.get("TopicName", self.ref.rsplit(":", 1)[-1])

    def messages(self) -> list[Any]:
        """Messages published to the topic since the world was built (or since the last call), JSON-decoded
        when they are JSON."""
        assert self.inbox is not None
        return self.inbox.messages()


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
            self.world.deliver_to(target["Arn"], body, delivery)
        delivery.extend(self.world.deliver())
        return delivery


@dataclass
class StateMachine(Resource):
    definition: dict[str, Any] = field(default_factory=dict, repr=False)

    def executions(self) -> list[dict[str, Any]]:
        """Every execution of this state machine (ListExecutions), newest first."""
        sfn = self.world.internal_client("stepfunctions")
        return list(sfn.list_executions(stateMachineArn=self.arn)["executions"])

    def wait(self, *, timeout: float = 60, on_poll: Callable[[], None] | None = None) -> list[WorkflowRun]:
        """Wait until no execution is RUNNING (those started by rules, schedules...); returns them all,
        oldest first. ``on_poll`` is called while waiting."""
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
    ) -> WorkflowRun:
        """Start one execution and wait for its end; see :func:`.workflows.run_state_machine`."""
        return run_state_machine(self, execution_input or {}, fail_jobs=fail_jobs, timeout=timeout)


@dataclass
class Function(Resource):
    """A Lambda function, run in this process from its staged code asset."""

    handler_name: str = ""
    #: The variables of the template's ``Environment`` (resolved); the function gets these and the
    #: runtime's own (:meth:`World.lambda_environment`).
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
        """Call the handler with ``event`` and the function's environment set (what
        :meth:`World.lambda_environment` gives: the template's variables and the runtime's).

        ``handler``: run this callable instead of the one in the code asset (your own module), still
        with this function's environment. The invocation (response, error, output, EMF metrics) is
        recorded in :attr:`World.invocations`.
        """
        context = context or functions.LambdaContext(self.name, self.arn, self.memory, self.timeout)

        def cold_or_warm(event: Any, context: Any) -> Any:
            # Imported on first use inside the function's environment, as a cold start does.
            return self.handler()(event, context)

        invocation = functions.invoke(
            self.path, handler or cold_or_warm, event, context, self.world.lambda_environment(self)
        )
        self.world.invocations.append(invocation)
        return invocation


# -- results ----------------------------------------------------------------------------------------


@dataclass
class SubmittedJob:
    """A job found in a queue of the world: its description, and the objects it was given."""

    description: dict[str, Any]
    #: The manifest's entries (ARRAY mode), read as job code reads them (:mod:`cdk_batchkit.jobkit`).
    manifest: list[ManifestEntry] | None = None
    world: WorldAPI | None = field(default=None, repr=False)

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
            return [entry.key for entry in self.manifest]
        key = self.environment.get("BATCHKIT_KEY") or self.parameters.get("key")
        return [key] if key else []

    def run(
        self, code: Callable[[], Any], *, raise_errors: bool = False, index: int | None = None
    ) -> list[JobRun]:
        """Run ``code`` as Batch would run this job, once per array child (see :meth:`World.run_job`)."""
        if self.world is None:
            from .batch import run_job_locally

            return run_job_locally(self.description, code, raise_errors=raise_errors, index=index)
        return self.world.run_job(self, code, raise_errors=raise_errors, index=index)

    def run_locally(self, code: Callable[[], Any], *, raise_errors: bool = False) -> list[JobRun]:
        """Deprecated: :meth:`run` (which also sets the world's region and endpoint)."""
        warnings.warn(
            "SubmittedJob.run_locally() is now SubmittedJob.run()", DeprecationWarning, stacklevel=2
        )
        return self.run(code, raise_errors=raise_errors)


@dataclass
class Delivery:
    """What :meth:`World.deliver` did: the functions invoked and the events handed to other targets."""

    invocations: list[functions.Invocation] = field(default_factory=list)
    delivered: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def failures(self) -> list[functions.Invocation]:
        return [i for i in self.invocations if i.error is not None]

    def extend(self, other: Delivery) -> None:
        self.invocations.extend(other.invocations)
        self.delivered.extend(other.delivered)


@dataclass
class Upload:
    """The result of :meth:`World.upload`: keys put, invocations, and the jobs submitted meanwhile."""

    keys: list[str]
    delivery: Delivery
    jobs: list[SubmittedJob]

    @property
    def objects_in_jobs(self) -> list[str]:
        return [key for job in self.jobs for key in job.keys]


# -- helpers ----------------------------------------------------------------------------------------


def normal_path(path: str) -> str:
    """A construct path without the trailing ``Resource``/``Default`` children."""
    parts = [p for p in path.strip("/").split("/") if p]
    while len(parts) > 1 and parts[-1] in ("Resource", "Default"):
        parts.pop()
    return "/".join(parts)


def maybe_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
