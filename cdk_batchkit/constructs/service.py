"""SageMaker Training service environments and their job queues (AWS Batch service jobs).

A service environment caps how many SageMaker Training instances the jobs of its queues may use at once;
Batch queues and prioritises the jobs, SageMaker AI runs them. Jobs reach such a queue only through
``SubmitServiceJob`` with a SageMaker ``CreateTrainingJob`` payload: never through ``SubmitJob`` with a
job definition, so every consumer of this library that submits a job definition (submitter, rule,
workflow step, schedule, ``add_job_definition``) fails synth on one of these queues (rule BK-V2).
The aws_batch L2 has no construct for either resource; these build the L1s.

Sources: https://docs.aws.amazon.com/batch/latest/userguide/service-jobs.html,
https://docs.aws.amazon.com/batch/latest/userguide/create-sagemaker-job-queue.html,
https://docs.aws.amazon.com/batch/latest/APIReference/API_CreateServiceEnvironment.html,
https://docs.aws.amazon.com/batch/latest/APIReference/API_SubmitServiceJob.html.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_batch as batch
from aws_cdk import aws_iam as iam
from constructs import Construct

from ..model import ComputeKind, ComputeProfile, QueueProfile
from ..model.compute import ServiceEnvironmentSettings
from ..model.queues import QueueSettings
from ..model.rules import check_queue_settings, check_service_environment
from ._validation import node_path, report
from .queue import JobQueueBase, _check_composition


class SageMakerTrainingEnvironment(Construct):
    """A service environment for SageMaker Training jobs: at most ``max_instances`` training instances
    run at once for the queues that use it; more jobs wait RUNNABLE."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        max_instances: int,
        enabled: bool = True,
        service_environment_name: str | None = None,
    ) -> None:
        """
        :param max_instances: how many SageMaker Training instances this environment's jobs may use at
            once (a job with ``InstanceCount: 4`` uses 4).
        :param enabled: set False to stop new jobs being scheduled on it. Default: True.
        :param service_environment_name: physical name: 1-128 letters, digits, hyphens and underscores.
            Default: generated.
        """
        super().__init__(scope, construct_id)
        #: What the rules judged: the settings of this environment (CDK-free).
        self.settings = ServiceEnvironmentSettings(name=service_environment_name, max_instances=max_instances)
        report(self, check_service_environment(self.settings))
        #: The AWS::Batch::ServiceEnvironment.
        self.resource = batch.CfnServiceEnvironment(
            self,
            "Resource",
            service_environment_type="SAGEMAKER_TRAINING",
            capacity_limits=[
                batch.CfnServiceEnvironment.CapacityLimitProperty(
                    capacity_unit="NUM_INSTANCES", max_capacity=max_instances
                )
            ],
            state="ENABLED" if enabled else "DISABLED",
            service_environment_name=service_environment_name,
        )
        self.profile = ComputeProfile(ComputeKind.SAGEMAKER_TRAINING, architecture=None)

    @property
    def service_environment_arn(self) -> str:
        return self.resource.attr_service_environment_arn


class SageMakerTrainingQueue(JobQueueBase):
    """A job queue of SageMaker Training service environments (``jobQueueType: SAGEMAKER_TRAINING``).

    Submit with ``SubmitServiceJob`` (``serviceJobType: SAGEMAKER_TRAINING`` and a ``CreateTrainingJob``
    payload); let a role do so with :meth:`grant_submit_service_job`. Job definitions are refused at synth.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        service_environments: Sequence[SageMakerTrainingEnvironment],
        priority: int = 1,
        enabled: bool = True,
        job_queue_name: str | None = None,
    ) -> None:
        """
        :param service_environments: the service environments, tried in this order.
        :param priority: 0-1000; higher-priority queues sharing an environment are scheduled first.
            Default: 1.
        :param enabled: set False to refuse new jobs (queued ones still finish). Default: True.
        :param job_queue_name: physical name. Default: generated.
        """
        super().__init__(scope, construct_id)
        given = list(service_environments)
        environments = tuple((node_path(e), e.profile) for e in given)
        _check_composition(self, QueueProfile(environments))
        report(self, check_queue_settings(QueueSettings(name=job_queue_name, priority=priority)))
        #: The AWS::Batch::JobQueue.
        self.cfn = batch.CfnJobQueue(
            self,
            "Resource",
            job_queue_type="SAGEMAKER_TRAINING",
            priority=priority,
            state="ENABLED" if enabled else "DISABLED",
            service_environment_order=[
                batch.CfnJobQueue.ServiceEnvironmentOrderProperty(
                    order=i + 1, service_environment=e.service_environment_arn
                )
                for i, e in enumerate(given)
            ],
            job_queue_name=job_queue_name,
        )
        #: The queue as consumers take it (``batch.IJobQueue``).
        self.resource = batch.JobQueue.from_job_queue_arn(self, "Ref", self.cfn.attr_job_queue_arn)
        #: The service environments, in order.
        self.service_environments = tuple(given)
        #: What the fit check knows: service environments only, so every job definition is refused.
        self.profile: QueueProfile | None = QueueProfile(environments)

    def grant_submit_service_job(
        self, grantee: iam.IGrantable, *, training_role: iam.IRole | None = None
    ) -> iam.Grant:
        """Let ``grantee`` call ``batch:SubmitServiceJob`` on this queue only, and, with ``training_role``
        (the SageMaker AI execution role named in the payload's ``RoleArn``), pass that role to SageMaker."""
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=["batch:SubmitServiceJob"], resource_arns=[self.job_queue_arn]
        )
        if training_role is not None:
            iam.Grant.add_to_principal(
                grantee=grantee,
                actions=["iam:PassRole"],
                resource_arns=[training_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        return grant
