"""CloudFormation to moto: one :class:`StackBuild` per template (top-level or nested) resolves the
template's intrinsics itself (moto's CloudFormation cannot deploy these templates) and creates each
resource through the ordinary AWS APIs, on first reference, with the builder of its type.

Built: compute environments (unmanaged, with a kit-made service role), service environments (stand-ins:
moto has none), scheduling policies, job queues, job definitions, consumable resources (here only: moto
has no such API), S3 buckets and CDK's bucket notifications custom resource, SQS queues (with redrive),
DynamoDB tables, SNS topics and subscriptions, IAM roles, log groups, EventBridge rules (patterns and
targets with input transformers), Step Functions state machines and nested stacks. Lambda functions are
not created in moto: their handlers run in the test's process (:meth:`.handles.Function.invoke`).
Anything else gets stand-in names and ARNs when referenced.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from .assembly import StackTemplate
from .convert import to_request
from .handles import (
    Bucket,
    ComputeEnvironment,
    ConsumableResource,
    Function,
    JobDefinition,
    JobQueue,
    LogGroup,
    NestedStack,
    Queue,
    Resource,
    Role,
    Rule,
    StateMachine,
    Table,
    Topic,
    WorldAPI,
)
from .intrinsics import Resolver
from .s3events import Notifications, test_event

__all__ = ["BUILDERS", "SUPPORTED_TYPES", "Host", "StackBuild"]

_MOTO_CE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,126}[A-Za-z0-9]$")

#: moto delivers EventBridge targets of these services itself; others go through a tap queue.
_DIRECT_TARGETS = ("sqs",)


class Host(WorldAPI, Protocol):
    """What builders ask of the world they build into (implemented by :class:`cdk_batchkit.testing.World`)."""

    #: Service environment ARN -> the unmanaged compute environment standing in for it in moto.
    stand_ins: dict[str, str]
    handles: dict[tuple[str, str], Resource]

    def service_role(self) -> str: ...

    def add_tap(self, url: str, rule: Rule, target: dict[str, Any]) -> None: ...

    def import_value(self, name: str) -> Any: ...

    def add_build(self, build: StackBuild) -> None: ...

    def next_request_id(self) -> str: ...


class StackBuild:
    """One template being built: its resolver, the handles built so far and what was skipped."""

    def __init__(
        self,
        host: Host,
        stack: StackTemplate,
        *,
        parameters: Mapping[str, Any] | None = None,
        top: str | None = None,
    ) -> None:
        self.host = host
        self.stack = stack
        #: The construct path of the top-level stack (the prefix of every full path).
        self.top = top or stack.display
        self.resolver = Resolver(
            stack.template,
            ref=self._ref,
            get_att=self._get_att,
            import_value=host.import_value,
            stack_name=stack.name,
            account=host.account,
            region=host.region,
            parameters=parameters,
        )
        self.handles: dict[str, Resource] = {}
        #: Resource types of the template the kit does not build (logical id -> type).
        self.skipped: dict[str, str] = {}
        self._building: set[str] = set()
        self._placeholders: dict[str, tuple[str, dict[str, str]]] = {}

    def build(self) -> StackBuild:
        for logical_id, resource in self.stack.resources.items():
            if resource.get("Type") in BUILDERS:
                self.ensure(logical_id)
            else:
                self.skipped[logical_id] = resource.get("Type", "")
        return self

    def ensure(self, logical_id: str) -> Resource | None:
        """The handle of ``logical_id``, built now if it was not yet (None: a type the kit does not build,
        a resource whose condition is false, or a reference cycle)."""
        if logical_id in self.handles:
            return self.handles[logical_id]
        resource = self.stack.resources[logical_id]
        builder = BUILDERS.get(resource.get("Type", ""))
        if builder is None or logical_id in self._building:
            return None
        if "Condition" in resource and not self.resolver.condition(resource["Condition"]):
            return None
        self._building.add(logical_id)
        try:
            for dependency in _as_list(resource.get("DependsOn")):
                self.ensure(dependency)
            handle = builder(self, logical_id, resource)
        finally:
            self._building.discard(logical_id)
        self.handles[logical_id] = handle
        self.host.handles[(self.stack.display, logical_id)] = handle
        return handle

    def props(self, resource: Mapping[str, Any]) -> dict[str, Any]:
        resolved = self.resolver.resolve(resource.get("Properties", {}))
        assert isinstance(resolved, dict)
        return resolved

    def output(self, logical_id: str) -> Any:
        """The resolved value of output ``logical_id``."""
        return self.resolver.resolve(self.stack.template["Outputs"][logical_id]["Value"])

    def export_names(self) -> dict[str, str]:
        """Every export of the template, names resolved -> output logical id."""
        found = dict(self.stack.exports)
        for logical_id, output in self.stack.template.get("Outputs", {}).items():
            name = (output.get("Export") or {}).get("Name")
            if name is not None and not isinstance(name, str):
                found[str(self.resolver.resolve(name))] = logical_id
        return found

    def base(self, logical_id: str, resource: Mapping[str, Any], props: dict[str, Any]) -> dict[str, Any]:
        """The fields every handle takes."""
        path = self.stack.path_of(logical_id)
        return {
            "world": self.host,
            "logical_id": logical_id,
            "path": path,
            "type": resource["Type"],
            "properties": props,
            "stack": self.stack.display,
            "full_path": f"{self.top}/{path}" if path else self.top,
        }

    def name(self, logical_id: str, limit: int, pattern: str = r"[^A-Za-z0-9_-]") -> str:
        return physical_name(self.stack.name, logical_id, limit, pattern)

    # -- references ------------------------------------------------------------------------------

    def _ref(self, logical_id: str) -> str:
        handle = self.ensure(logical_id)
        if handle is not None:
            return handle.ref
        return self._placeholder(logical_id)[0]

    def _get_att(self, logical_id: str, attribute: str) -> str:
        handle = self.ensure(logical_id)
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
            name = self.name(logical_id, 64)
            region, account = self.host.region, self.host.account
            arn = f"arn:aws:{service}:{region}:{account}:{kind}/{name}"
            attributes = {"Arn": arn}
            if type_name == "AWS::KMS::Key":
                key_id = str(_uuid(self.stack.name, logical_id))
                name, attributes = key_id, {"Arn": f"arn:aws:kms:{region}:{account}:key/{key_id}"}
            elif type_name == "AWS::EC2::SecurityGroup":
                attributes["GroupId"] = name = f"sg-{_digest(logical_id, size=17)}"
            elif type_name.startswith("AWS::EC2::"):
                name = f"{kind[:6]}-{_digest(logical_id, size=17)}"
            self._placeholders[logical_id] = (name, attributes)
        return self._placeholders[logical_id]


# -- names ------------------------------------------------------------------------------------------


def _digest(*parts: str, size: int = 8) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:size]


def _uuid(*parts: str) -> Any:
    return uuid.UUID(hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32])


def physical_name(stack: str, logical_id: str, limit: int, pattern: str = r"[^A-Za-z0-9_-]") -> str:
    """A physical name the way CloudFormation makes one: stack, logical id, a suffix; within ``limit``."""
    base = re.sub(pattern, "", f"{stack}-{logical_id}")
    suffix = _digest(stack, logical_id, size=6)
    base = base[: limit - len(suffix) - 1]
    name = f"{base}-{suffix}"
    # moto rejects Batch names shorter than 3 characters (AWS allows 1): never shorter here.
    return name if len(name) >= 3 else name.ljust(3, "x")


def _batch_name(name: str) -> str:
    """AWS allows 1-128 letters, digits, '-' and '_'; moto wants 3+ and an alphanumeric last character."""
    return name if _MOTO_CE_NAME.match(name) else f"{name}-{_digest(name, size=6)}"


# -- builders ---------------------------------------------------------------------------------------


def _build_compute_environment(build: StackBuild, logical_id: str, resource: Mapping[str, Any]) -> Resource:
    props = build.props(resource)
    name = _batch_name(props.get("ComputeEnvironmentName") or build.name(logical_id, 128))
    arn = build.host.internal_client("batch").create_compute_environment(
        computeEnvironmentName=name,
        type="UNMANAGED",
        state=props.get("State", "ENABLED"),
        serviceRole=props.get("ServiceRole") or build.host.service_role(),
    )["computeEnvironmentArn"]
    return ComputeEnvironment(
        **build.base(logical_id, resource, props),
        ref=arn,
        attributes={"ComputeEnvironmentArn": arn, "Arn": arn, "Name": name},
    )


def _build_service_environment(build: StackBuild, logical_id: str, resource: Mapping[str, Any]) -> Resource:
    """moto 5.2 has no service environments (CreateServiceEnvironment): an unmanaged compute environment
    of the same name stands in, so a SageMaker Training queue over it can be created and described."""
    props = build.props(resource)
    name = props.get("ServiceEnvironmentName") or build.name(logical_id, 128)
    stand_in = build.host.internal_client("batch").create_compute_environment(
        computeEnvironmentName=_batch_name(name),
        type="UNMANAGED",
        state=props.get("State", "ENABLED"),
        serviceRole=build.host.service_role(),
    )["computeEnvironmentArn"]
    arn = f"arn:aws:batch:{build.host.region}:{build.host.account}:service-environment/{name}"
    build.host.stand_ins[arn] = stand_in
    return Resource(
        **build.base(logical_id, resource, props),
        ref=arn,
        attributes={"ServiceEnvironmentArn": arn, "Arn": arn, "StandIn": stand_in, "Name": name},
    )


def _build_scheduling_policy(build: StackBuild, logical_id: str, resource: Mapping[str, Any]) -> Resource:
    props = build.props(resource)
    name = props.get("Name") or build.name(logical_id, 128)
    request = to_request("batch", "CreateSchedulingPolicy", {**props, "Name": name})
    arn = build.host.internal_client("batch").create_scheduling_policy(**request)["arn"]
    return Resource(**build.base(logical_id, resource, props), ref=arn, attributes={"Arn": arn, "Name": name})


def _build_job_queue(build: StackBuild, logical_id: str, resource: Mapping[str, Any]) -> Resource:
    props = build.props(resource)
    name = props.get("JobQueueName") or build.name(logical_id, 128)
    order = [
        {"order": int(item["Order"]), "computeEnvironment": item["ComputeEnvironment"]}
        for item in props.get("ComputeEnvironmentOrder", [])
    ]
    # A SageMaker Training queue: its service environments' stand-ins (moto has no serviceEnvironmentOrder;
    # the template's JobQueueType and order stay in ``properties``).
    order += [
        {
            "order": int(item["Order"]),
            "computeEnvironment": build.host.stand_ins.get(item["ServiceEnvironment"], ""),
        }
        for item in props.get("ServiceEnvironmentOrder", [])
    ]
    kwargs: dict[str, Any] = {}
    if props.get("SchedulingPolicyArn"):
        kwargs["schedulingPolicyArn"] = props["SchedulingPolicyArn"]
    arn = build.host.internal_client("batch").create_job_queue(
        jobQueueName=name,
        state=props.get("State", "ENABLED"),
        priority=int(props.get("Priority", 1)),
        computeEnvironmentOrder=order,
        **kwargs,
    )["jobQueueArn"]
    return JobQueue(
        **build.base(logical_id, resource, props),
        ref=arn,
        attributes={"JobQueueArn": arn, "Arn": arn, "Name": name},
    )


#: AWS::Batch::JobDefinition properties that only steer CloudFormation (no RegisterJobDefinition field).
_CFN_ONLY_JOB_DEFINITION_PROPERTIES = frozenset({"ResourceRetentionPolicy"})


def _build_job_definition(build: StackBuild, logical_id: str, resource: Mapping[str, Any]) -> Resource:
    props = build.props(resource)
    name = props.get("JobDefinitionName") or build.name(logical_id, 128)
    dropped: list[str] = []
    # CloudFormation-only: what CloudFormation does with the previous revision on update; no API field.
    api_props = {k: v for k, v in props.items() if k not in _CFN_ONLY_JOB_DEFINITION_PROPERTIES}
    request = to_request("batch", "RegisterJobDefinition", {**api_props, "JobDefinitionName": name}, dropped)
    client = build.host.internal_client("batch")
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
        **build.base(logical_id, resource, props),
        ref=arn,
        attributes={"JobDefinitionArn": arn, "Arn": arn, "Name": name},
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


def _build_consumable_resource(build: StackBuild, logical_id: str, resource: Mapping[str, Any]) -> Resource:
    """moto 5.2.5 has no consumable resources: the handle holds the name, ARN and total quantity, which
    the kit checks SubmitJob's consumable requests against."""
    props = build.props(resource)
    name = props.get("ConsumableResourceName") or build.name(logical_id, 128)
    arn = f"arn:aws:batch:{build.host.region}:{build.host.account}:consumable-resource/{name}"
    total = props.get("TotalQuantity")
    return ConsumableResource(
        **build.base(logical_id, resource, props),
        ref=arn,
        attributes={"ConsumableResourceArn": arn, "Arn": arn, "Name": name},
        total_quantity=int(total) if isinstance(total, int | str) and str(total).isdigit() else None,
    )


def _build_bucket(build: StackBuild, logical_id: str, resource: Mapping[str, Any]) -> Resource:
    props = build.props(resource)
    name = props.get("BucketName")
    if not name:
        # Lower case, 3-63 characters, as CloudFormation generates them: stack-logicalid-suffix.
        base = re.sub(r"[^a-z0-9-]", "", f"{build.stack.name}-{logical_id}".lower())[:54]
        name = f"{base}-{_digest(build.stack.name, logical_id)}"
    s3 = build.host.internal_client("s3")
    kwargs: dict[str, Any] = {"Bucket": name}
    if build.host.region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": build.host.region}
    s3.create_bucket(**kwargs)
    status = props.get("VersioningConfiguration", {}).get("Status")
    if status:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": status})
    region = build.host.region
    attributes = {
        "Arn": f"arn:aws:s3:::{name}",
        "DomainName": f"{name}.s3.amazonaws.com",
        "RegionalDomainName": f"{name}.s3.{region}.amazonaws.com",
        "WebsiteURL": f"http://{name}.s3-website-{region}.amazonaws.com",
    }
    notifications = Notifications.from_properties(props.get("NotificationConfiguration"))
    _send_test_events(build.host, name, notifications)
    return Bucket(
        **build.base(logical_id, resource, props),
        ref=name,
        attributes=attributes,
        notifications=notifications,
    )


def _build_bucket_notifications(build: StackBuild, logical_id: str, resource: Mapping[str, Any]) -> Resource:
    """CDK's ``Custom::S3BucketNotifications`` (``event_bridge_enabled=True``, ``add_event_notification``):
    its Lambda puts the configuration on the bucket, replacing the bucket's own when ``Managed`` (the
    default), adding to it otherwise."""
    props = build.props(resource)
    name = str(props.get("BucketName", ""))
    bucket = next((h for h in build.host.handles.values() if isinstance(h, Bucket) and h.name == name), None)
    configured = Notifications.from_properties(props.get("NotificationConfiguration"))
    if bucket is not None:
        managed = str(props.get("Managed", True)).lower() != "false"
        bucket.notifications = configured if managed else bucket.notifications.merge(configured)
        _send_test_events(build.host, name, configured)
    return Resource(
        **build.base(logical_id, resource, props),
        ref=f"{name}-notifications",
        attributes={"BucketName": name},
    )


def _send_test_events(host: Host, bucket: str, notifications: Notifications) -> None:
    """S3 sends every SQS and SNS destination a test message when the configuration is put."""
    for destination in notifications.destinations:
        body = json.dumps(test_event(bucket, host.next_request_id()))
        if destination.kind == "queue":
            url = _queue_url(host, destination.arn)
            if url is not None:
                host.internal_client("sqs").send_message(QueueUrl=url, MessageBody=body)
        elif destination.kind == "topic":
            host.internal_client("sns").publish(
                TopicArn=destination.arn, Message=body, Subject="Amazon S3 Notification"
            )


def _queue_url(host: Host, arn: str) -> str | None:
    return next((h.url for h in host.handles.values() if isinstance(h, Queue) and h.arn == arn), None)


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


def _build_queue(build: StackBuild, logical_id: str, resource: Mapping[str, Any]) -> Resource:
    props = build.props(resource)
    fifo = str(props.get("FifoQueue", "")).lower() == "true"
    name = props.get("QueueName") or build.name(logical_id, 75 if fifo else 80)
    if fifo and not name.endswith(".fifo"):
        name += ".fifo"
    attributes = {key: attribute_text(props[key]) for key in _SQS_ATTRIBUTES if key in props}
    for key in ("RedrivePolicy", "RedriveAllowPolicy"):
        if key in props:
            attributes[key] = json.dumps(props[key]) if isinstance(props[key], dict) else str(props[key])
    url = build.host.internal_client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = f"arn:aws:sqs:{build.host.region}:{build.host.account}:{name}"
    return Queue(
        **build.base(logical_id, resource, props),
        ref=url,
        attributes={"Arn": arn, "QueueName": name, "QueueUrl": url},
    )


def _build_table(build: StackBuild, logical_id: str, resource: Mapping[str, Any]) -> Resource:
    props = build.props(resource)
    name = props.get("TableName") or build.name(logical_id, 255)
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
    dynamodb = build.host.internal_client("dynamodb")
    table = dynamodb.create_table(**kwargs)["TableDescription"]
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
        )
    attributes = {"Arn": table["TableArn"]}
    if table.get("LatestStreamArn"):
        attributes["StreamArn"] = table["LatestStreamArn"]
    return Table(**build.base(logical_id, resource, props), ref=name, attributes=attributes)


def _build_topic(build: StackBuild, logical_id: str, resource: Mapping[str, Any]) -> Resource:
    props = build.props(resource)
    fifo = str(props.get("FifoTopic", "")).lower() == "true"
    name = props.get("TopicName") or build.name(logical_id, 250 if fifo else 256)
    if fifo and not name.endswith(".fifo"):
        name += ".fifo"
    attributes = {
        key: attribute_text(props[key])
        for key in ("DisplayName", "FifoTopic", "ContentBasedDeduplication")
        if key in props
    }
    sns = build.host.internal_client("sns")
    arn = sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]
    for subscription in props.get("Subscription", []):
        sns.subscribe(TopicArn=arn, Protocol=subscription["Protocol"], Endpoint=subscription["Endpoint"])
    # An inbox queue subscribed with raw delivery, so tests can read what was published.
    region, account = build.host.region, build.host.account
    inbox_name = build.name(f"{logical_id}Inbox", 80)
    inbox_url = build.host.internal_client("sqs").create_queue(QueueName=inbox_name)["QueueUrl"]
    inbox_arn = f"arn:aws:sqs:{region}:{account}:{inbox_name}"
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=inbox_arn, Attributes={"RawMessageDelivery": "true"})
    base = build.base(logical_id, resource, props)
    inbox = Queue(
        world=build.host,
        logical_id=f"{logical_id}Inbox",
        path=f"{base['path']}/(batchkit inbox)",
        type="AWS::SQS::Queue",
        properties={},
        ref=inbox_url,
        attributes={"Arn": inbox_arn, "QueueName": inbox_name, "QueueUrl": inbox_url},
        stack=base["stack"],
        full_path=f"{base['full_path']}/(batchkit inbox)",
    )
    return Topic(**base, ref=arn, attributes={"TopicArn": arn, "TopicName": name, "Arn": arn}, inbox=inbox)


def _build_subscription(build: StackBuild, logical_id: str, resource: Mapping[str, Any]) -> Resource:
    props = build.props(resource)
    attributes: dict[str, str] = {}
    if "RawMessageDelivery" in props:
        attributes["RawMessageDelivery"] = attribute_text(props["RawMessageDelivery"])
    if "FilterPolicy" in props:
        attributes["FilterPolicy"] = json.dumps(props["FilterPolicy"])
    arn = build.host.internal_client("sns").subscribe(
        TopicArn=props["TopicArn"],
        Protocol=props["Protocol"],
        Endpoint=props.get("Endpoint", ""),
        Attributes=attributes,
    )["SubscriptionArn"]
    return Resource(**build.base(logical_id, resource, props), ref=arn, attributes={"Arn": arn})


def _build_role(build: StackBuild, logical_id: str, resource: Mapping[str, Any]) -> Resource:
    props = build.props(resource)
    name = props.get("RoleName") or build.name(logical_id, 64)
    role = build.host.internal_client("iam").create_role(
        RoleName=name,
        Path=props.get("Path", "/"),
        AssumeRolePolicyDocument=json.dumps(props.get("AssumeRolePolicyDocument", {})),
    )["Role"]
    return Role(
        **build.base(logical_id, resource, props),
        ref=name,
        attributes={"Arn": role["Arn"], "RoleId": role["RoleId"]},
    )


def _build_log_group(build: StackBuild, logical_id: str, resource: Mapping[str, Any]) -> Resource:
    props = build.props(resource)
    name = props.get("LogGroupName") or f"/batchkit/{build.name(logical_id, 200)}"
    logs = build.host.internal_client("logs")
    logs.create_log_group(logGroupName=name)
    if "RetentionInDays" in props:
        logs.put_retention_policy(logGroupName=name, retentionInDays=int(props["RetentionInDays"]))
    arn = f"arn:aws:logs:{build.host.region}:{build.host.account}:log-group:{name}:*"
    return LogGroup(**build.base(logical_id, resource, props), ref=name, attributes={"Arn": arn})


def _build_function(build: StackBuild, logical_id: str, resource: Mapping[str, Any]) -> Resource:
    props = build.props(resource)
    name = props.get("FunctionName") or build.name(logical_id, 64)
    arn = f"arn:aws:lambda:{build.host.region}:{build.host.account}:function:{name}"
    variables = props.get("Environment", {}).get("Variables", {})
    return Function(
        **build.base(logical_id, resource, props),
        ref=name,
        attributes={"Arn": arn},
        handler_name=props.get("Handler", "index.handler"),
        environment={k: attribute_text(v) for k, v in variables.items()},
        timeout=int(props.get("Timeout", 3)),
        memory=int(props.get("MemorySize", 128)),
        asset=build.stack.asset_directory(logical_id),
    )


def _build_rule(build: StackBuild, logical_id: str, resource: Mapping[str, Any]) -> Resource:
    props = build.props(resource)
    name = props.get("Name") or build.name(logical_id, 64)
    events = build.host.internal_client("events")
    bus = props.get("EventBusName", "default")
    rule: dict[str, Any] = {"Name": name, "State": props.get("State", "ENABLED"), "EventBusName": bus}
    pattern = props.get("EventPattern")
    if pattern is not None:
        rule["EventPattern"] = json.dumps(pattern) if not isinstance(pattern, str) else pattern
    if props.get("ScheduleExpression"):
        rule["ScheduleExpression"] = props["ScheduleExpression"]
    arn = events.put_rule(**rule)["RuleArn"]
    handle = Rule(
        **build.base(logical_id, resource, props),
        ref=name,
        attributes={"Arn": arn},
        pattern=json.loads(pattern) if isinstance(pattern, str) else pattern,
        targets=list(props.get("Targets", [])),
        schedule=props.get("ScheduleExpression"),
    )
    moto_targets = []
    sqs = build.host.internal_client("sqs")
    region, account = build.host.region, build.host.account
    # moto matches a rule without a pattern (a schedule) to every event: its targets are only
    # reached through Rule.fire().
    for target in handle.targets if pattern is not None else []:
        entry: dict[str, Any] = {
            key: target[key] for key in ("Id", "Input", "InputPath", "InputTransformer") if key in target
        }
        if target["Arn"].split(":")[2] in _DIRECT_TARGETS:
            entry["Arn"] = target["Arn"]
        else:
            tap = build.name(f"{logical_id}Tap{target['Id']}", 80)
            url = sqs.create_queue(QueueName=tap)["QueueUrl"]
            build.host.add_tap(url, handle, target)
            entry["Arn"] = f"arn:aws:sqs:{region}:{account}:{tap}"
        moto_targets.append(entry)
    if moto_targets:
        events.put_targets(Rule=name, EventBusName=bus, Targets=moto_targets)
    return handle


def _build_state_machine(build: StackBuild, logical_id: str, resource: Mapping[str, Any]) -> Resource:
    props = build.props(resource)
    name = props.get("StateMachineName") or build.name(logical_id, 80)
    if "DefinitionString" in props:
        text = props["DefinitionString"]
    else:
        text = json.dumps(props.get("Definition", {}))
    for key, value in props.get("DefinitionSubstitutions", {}).items():
        text = text.replace("${" + key + "}", str(value))
    role = props.get("RoleArn") or build.host.service_role()
    kwargs: dict[str, Any] = {"name": name, "definition": text, "roleArn": role}
    if props.get("StateMachineType"):
        kwargs["type"] = props["StateMachineType"]
    arn = build.host.internal_client("stepfunctions").create_state_machine(**kwargs)["stateMachineArn"]
    return StateMachine(
        **build.base(logical_id, resource, props),
        ref=arn,
        attributes={"Arn": arn, "Name": name},
        definition=json.loads(text),
    )


def _build_nested_stack(build: StackBuild, logical_id: str, resource: Mapping[str, Any]) -> Resource:
    """An ``AWS::CloudFormation::Stack``: its template (from the cloud assembly) is built in the same
    world with the parameters the parent passes; its outputs become ``Outputs.NAME`` attributes."""
    props = build.props(resource)
    template = build.stack.nested.get(logical_id)
    if template is None:
        raise LookupError(
            f"{build.stack.display}/{build.stack.path_of(logical_id)}: the template of nested stack "
            f"{logical_id} is not in the cloud assembly (TemplateURL {props.get('TemplateURL')!r}); build "
            "from the cdk.out directory, the cdk.App or the cdk.Stack that defines it, or pass "
            "StackTemplate.from_template(..., nested={logical_id: its template})"
        )
    child = StackBuild(build.host, template, parameters=props.get("Parameters") or {}, top=build.top)
    build.host.add_build(child)
    child.build()
    outputs = {
        f"Outputs.{name}": attribute_text(child.output(name)) for name in template.template.get("Outputs", {})
    }
    arn = (
        f"arn:aws:cloudformation:{build.host.region}:{build.host.account}:stack/{template.name}/"
        f"{_uuid(template.name)}"
    )
    return NestedStack(**build.base(logical_id, resource, props), ref=arn, attributes={"Arn": arn, **outputs})


BUILDERS: dict[str, Callable[[StackBuild, str, Mapping[str, Any]], Resource]] = {
    "AWS::IAM::Role": _build_role,
    "AWS::Logs::LogGroup": _build_log_group,
    "AWS::Batch::ComputeEnvironment": _build_compute_environment,
    "AWS::Batch::SchedulingPolicy": _build_scheduling_policy,
    "AWS::Batch::ServiceEnvironment": _build_service_environment,
    "AWS::Batch::JobQueue": _build_job_queue,
    "AWS::Batch::JobDefinition": _build_job_definition,
    "AWS::Batch::ConsumableResource": _build_consumable_resource,
    "AWS::S3::Bucket": _build_bucket,
    "Custom::S3BucketNotifications": _build_bucket_notifications,
    "AWS::SQS::Queue": _build_queue,
    "AWS::DynamoDB::Table": _build_table,
    "AWS::SNS::Topic": _build_topic,
    "AWS::SNS::Subscription": _build_subscription,
    "AWS::Lambda::Function": _build_function,
    "AWS::Events::Rule": _build_rule,
    "AWS::StepFunctions::StateMachine": _build_state_machine,
    "AWS::CloudFormation::Stack": _build_nested_stack,
}

#: The CloudFormation types :func:`build_world` creates (or, for Lambda functions, consumable resources
#: and CDK's bucket notifications, emulates; nested stacks are built in the same world).
SUPPORTED_TYPES: tuple[str, ...] = tuple(BUILDERS)


# -- helpers ----------------------------------------------------------------------------------------


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def attribute_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)
