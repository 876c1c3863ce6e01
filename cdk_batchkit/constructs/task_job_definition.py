"""Multi-container ECS task job definitions (``ecsProperties``): EC2, Fargate and ECS Managed Instances.

The aws_batch L2 has no multi-container definition (aws-cdk#29326, #31243): each container is rendered by
the L2 (image, grants, logging, volumes, secrets), then the task is assembled as
``EcsProperties.TaskProperties`` with the job's defaults (log group with retention, one job role and one
execution role for the task, timeout, retries, kept revisions, narrow submit grants). ECS Managed Instances
jobs are ``ecsProperties`` only, so this is also the job definition an ECS Managed Instances queue binds.

Sources: https://docs.aws.amazon.com/batch/latest/userguide/multi-container-jobs.html,
https://docs.aws.amazon.com/batch/latest/APIReference/API_EcsTaskProperties.html,
https://docs.aws.amazon.com/batch/latest/userguide/ecs-managed-instances-job-definitions.html.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Unpack

import jsii
from aws_cdk import IAnyProducer, IResolveContext, Lazy
from aws_cdk import aws_batch as batch
from constructs import Construct

from ..model import Architecture, Platform, SubmitShape
from ..model.rules import registry_credential_reads
from ._props import expand_props
from ._validation import fail
from .container_options import ContainerCondition, FireLens, task_container
from .job_definition import Container, EcsJobDefinitionBase, TaskPlatformOptions, TaskPlatformProps

_PLATFORMS = (Platform.EC2, Platform.FARGATE, Platform.MANAGED_INSTANCES)


@dataclass(frozen=True, kw_only=True)
class TaskContainer(Container):
    """One container of a multi-container task: a :class:`~cdk_batchkit.constructs.Container` with the
    fields only a task has. Pass it to :class:`EcsTaskJobDefinition`
    (``TaskContainer(name="app", image=..., vcpus=2)``).

    :param name: the container's name, unique in the task (letters, digits, ``-`` and ``_``).
    :param essential: whether the job ends when this container stops (at least one is). Default: True.
    :param depends_on: containers this one waits for, name -> :class:`ContainerCondition`
        (COMPLETE and SUCCESS only on containers with ``essential=False``). Default: it starts with the task.
    :param firelens: makes this container the task's FireLens log router (:class:`FireLens`); the others
        log to it with ``ecs.LogDrivers.firelens(options=...)``. Not on Fargate (Batch allows awslogs and
        splunk only there). Default: the container is no log router.

    Every other field is a :class:`~cdk_batchkit.constructs.Container`'s.
    """

    name: str
    essential: bool = True
    depends_on: Mapping[str, ContainerCondition] = field(default_factory=dict)
    firelens: FireLens | None = None


class EcsTaskJobDefinition(EcsJobDefinitionBase):
    """A job whose ECS task runs several containers (sidecars, an init container, a FireLens log router),
    on EC2, Fargate or ECS Managed Instances compute environments (``EcsProperties``).

    The task needs the sum of its containers' vCPUs, memory and GPUs (on Fargate a valid Fargate pair); the
    fit check sees the sums. Jobs are submitted with ``ecsPropertiesOverride``
    (``submit_shape`` is ``SubmitShape.ECS_TASK``); per-submission overrides go to ``override_container``.
    """

    submit_shape = SubmitShape.ECS_TASK

    @expand_props(TaskPlatformOptions)
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        containers: Sequence[TaskContainer],
        override_container: str | None = None,
        platform: Platform = Platform.EC2,
        **props: Unpack[TaskPlatformProps],
    ) -> None:
        """
        :param containers: 1 to 10 :class:`TaskContainer` values with unique names, at least one essential.
        :param override_container: the container per-submission overrides (command, environment,
            resources) go to. Default: the first essential container.
        :param platform: EC2, FARGATE or MANAGED_INSTANCES (an ECS Managed Instances queue: the task runs in
            the instance's network, Batch's ``host`` mode, with no swap, shared memory or tmpfs settings
            and no host volumes). Default: EC2.
        :param props: the props of every ECS definition whose task may run on Fargate
            (:class:`~cdk_batchkit.constructs.TaskPlatformProps`): ``parameters``, ``timeout``, ``retry``,
            ``scheduling_priority``, ``skip_deregister_on_update``, ``job_definition_name``, ``job_role``
            and ``execution_role`` (one each for the whole task), ``log_group``, ``log_retention``,
            ``propagate_tags``, ``consumable_resources``, ``network``, ``assign_public_ip``,
            ``architecture`` (Fargate and ECS Managed Instances: the task's ``runtimePlatform``),
            ``ephemeral_storage``.
        """
        options = TaskPlatformOptions.of(self, props)
        super().__init__(scope, construct_id, options)
        if platform not in _PLATFORMS:
            fail(self, "platform", platform.value, "an ECS task runs on EC2, FARGATE or MANAGED_INSTANCES")
        values = list(containers)
        for index, value in enumerate(values):
            if not isinstance(value, TaskContainer):
                fail(
                    self,
                    f"containers[{index}]",
                    type(value).__name__,
                    "the containers of a task are TaskContainer values (a Container with a name)",
                )
        override = override_container
        if override is None:
            override = next((c.name for c in values if c.essential), None)
        self._containers = list(values)
        spec_fields = self._task_fields(
            platform, options, shape=SubmitShape.ECS_TASK, override_container=override
        )
        # Every rule the props alone decide (BK-T8 names, BK-T9 dependencies, sizes...), before any L2 exists.
        self._check(
            self._spec(platform, containers=tuple(self._container_spec(c) for c in values), **spec_fields)
        )
        self.override_container = override
        definitions: list[batch.IEcsContainerDefinition] = []
        for index, value in enumerate(values):
            # One execution role for every container.
            role = options.execution_role or (definitions[0].execution_role if definitions else None)
            construct_id = "Container" if index == 0 else f"Container{index}"
            definitions.append(self._l2_container(construct_id, value, role, index, platform))
        #: The L2 container definition of the first container.
        self.container = definitions[0]
        #: The L2 container definitions, one per container.
        self.containers = definitions
        self.resource = batch.EcsJobDefinition(
            self, "Resource", container=definitions[0], **self._definition_props()
        )
        cfn = self.resource.node.default_child
        assert isinstance(cfn, batch.CfnJobDefinition)
        rendered = [cfn.container_properties, *(self._render(d, i) for i, d in enumerate(definitions[1:], 1))]
        # Again with what the L2 bound: the log drivers (BK-T1, BK-T11, BK-T16) and the images.
        spec = self._spec(
            platform,
            containers=tuple(
                self._container_spec(c, d, getattr(r, "image", None))
                for c, d, r in zip(values, definitions, rendered, strict=True)
            ),
            **spec_fields,
        )
        self._check(spec)
        self._task_properties(cfn, rendered, values, platform, options.architecture)
        self._public_ip_override = "EcsProperties.TaskProperties.0.NetworkConfiguration.AssignPublicIp"
        reads = set(registry_credential_reads(spec))
        for index, (value, definition) in enumerate(zip(values, definitions, strict=True)):
            extra = self._bound(definition, value, reads_credentials=f"containers[{index}]" in reads)
            self._override(cfn, f"EcsProperties.TaskProperties.0.Containers.{index}", extra)
        self._finish(options.network)

    def _render(
        self, definition: batch.IEcsContainerDefinition, index: int
    ) -> batch.CfnJobDefinition.ContainerPropertiesProperty:
        """The L2's rendering of a container (image, grants, logging, volumes...): it renders containers only
        inside a job definition, so one is made and removed again."""
        scratch = batch.EcsJobDefinition(self, f"Render{index}", container=definition)
        cfn = scratch.node.default_child
        assert isinstance(cfn, batch.CfnJobDefinition)
        rendered = cfn.container_properties
        self.node.try_remove_child(scratch.node.id)
        return rendered  # type: ignore[return-value]

    @staticmethod
    def _task_properties(
        cfn: batch.CfnJobDefinition,
        rendered: Sequence[Any],
        containers: Sequence[TaskContainer],
        platform: Platform,
        architecture: Architecture,
    ) -> None:
        """Replace ``ContainerProperties`` with ``EcsProperties``: one task of every container; the task
        takes the job and execution roles, Fargate settings and the volumes of every container (once). ECS
        Managed Instances: ``platformCapabilities: MANAGED_INSTANCES`` and the runtime platform; the network
        mode is left to Batch's default, ``host``, the only one it documents for these jobs."""
        first = rendered[0]
        volumes = [r.volumes for r in rendered if r.volumes is not None]
        fargate_platform = first.fargate_platform_configuration
        runtime_platform = first.runtime_platform
        if platform is Platform.MANAGED_INSTANCES:
            # https://docs.aws.amazon.com/batch/latest/userguide/ecs-managed-instances-job-definitions.html
            cfn.platform_capabilities = [Platform.MANAGED_INSTANCES.value]
            runtime_platform = batch.CfnJobDefinition.RuntimePlatformProperty(
                cpu_architecture="ARM64" if architecture is Architecture.ARM64 else "X86_64",
                operating_system_family="LINUX",
            )
        task = batch.CfnJobDefinition.EcsTaskPropertiesProperty(
            containers=[task_container(r, c) for r, c in zip(rendered, containers, strict=True)],
            execution_role_arn=first.execution_role_arn,
            task_role_arn=first.job_role_arn,
            volumes=Lazy.uncached_any(_VolumeUnion(volumes), omit_empty_array=True) if volumes else None,
            ephemeral_storage=first.ephemeral_storage,
            network_configuration=first.network_configuration,
            runtime_platform=runtime_platform,
            platform_version=getattr(fargate_platform, "platform_version", None),
        )
        cfn.container_properties = None
        cfn.ecs_properties = batch.CfnJobDefinition.EcsPropertiesProperty(task_properties=[task])


@jsii.implements(IAnyProducer)
class _VolumeUnion:
    """The volumes of every container of a task, each name once (containers may share a volume)."""

    def __init__(self, parts: Sequence[Any]) -> None:
        self._parts = parts

    def produce(self, context: IResolveContext) -> Any:
        union: dict[str, Any] = {}
        for part in self._parts:
            for volume in context.resolve(part) or []:
                union.setdefault(str(volume.get("name", volume.get("Name"))), volume)
        return list(union.values())
