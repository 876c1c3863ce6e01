"""The one way this library builds a Lambda function for its handlers in ``cdk_batchkit/lambdas``.

Every function gets: Python 3.13 on arm64 (cheaper per GB-second than x86_64), Powertools for
AWS Lambda from the AWS-managed layer pinned to :data:`POWERTOOLS_VERSION` (the version the
tests run against), boto3 from the runtime, a log group it owns with a retention period, and a
role of its own that may write only to that log group. The asset is the handler's own folder,
so it stays a few kilobytes and needs no Docker bundling.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ._validation import drop_redundant_dependency, duration, node_of, stack_of
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


def asset_excludes(handler_dir: str) -> list[str]:
    """Exclude every other handler's folder, so editing one handler never redeploys another."""
    others = [
        p.name
        for p in LAMBDAS_DIR.iterdir()
        if p.name not in (handler_dir, "__init__.py") and not p.name.startswith(".")
    ]
    return sorted(others) + ["**/__pycache__", "**/*.pyc"]


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
    ) -> None:
        super().__init__(scope, construct_id)
        if not (LAMBDAS_DIR / handler_dir / "handler.py").is_file():
            raise ValueError(f"{self.node.path}: handler_dir={handler_dir!r} has no handler.py")
        self.log_group = logs.LogGroup(
            self, "LogGroup", retention=log_retention, encryption_key=encryption_key(self, KeyUser.LOGS)
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{description} (writes only to its own log group)",
        )
        acknowledge_key_grants(self.role)
        self.function = lambda_.Function(
            self,
            "Resource",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=lambda_.Code.from_asset(str(LAMBDAS_DIR), exclude=asset_excludes(handler_dir)),
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
        )
        # Only CreateLogStream/PutLogEvents on its own group (no AWSLambdaBasicExecutionRole).
        self.log_group.grant_write(self.role)
        # Role: GetAtt already orders it (W3005); the DependsOn on its default policy stays.
        drop_redundant_dependency(self.function, self.role)
        acknowledge(
            self.function,
            "L1",
            "Pinned to Python 3.13 on purpose: the AWS-managed Powertools layer and the handler tests are "
            f"pinned to that runtime (Powertools {POWERTOOLS_VERSION}); moving runtimes is a tested change.",
        )
