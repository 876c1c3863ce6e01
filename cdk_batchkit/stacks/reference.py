"""The reference stack: the constructs composed the way we recommend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Duration, Size, Stack, TimeZone
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from ..constructs import (
    S3_OBJECT_ENVIRONMENT,
    BatchMonitoring,
    BatchNetwork,
    Container,
    ContainerJobDefinition,
    Ec2ComputeEnvironment,
    FargateComputeEnvironment,
    JobQueue,
    JobStateNotifications,
    MultiNodeJobDefinition,
    NetworkMode,
    NotificationTopic,
    ObjectCreatedTrigger,
    Platform,
    S3JobSubmitter,
    Step,
    Workflow,
    WorkflowSchedule,
)
from ..lambdas.submitter.manifest import ENV_KEY_ENCODING

#: A small public image, so the reference app deploys without building anything.
SAMPLE_IMAGE = "public.ecr.aws/amazonlinux/amazonlinux:2023"
#: On PRIVATE_WITH_ENDPOINTS jobs pull from ECR only: the same image, built from this directory and pushed
#: to the CDK bootstrap repository by `cdk deploy`.
SAMPLE_IMAGE_DIR = Path(__file__).parent / "sample_image"
#: Uploads under this prefix of the input bucket are submitted as array jobs.
INPUT_PREFIX = "incoming/"
#: Uploads under this prefix start the two-step workflow.
WORKFLOW_PREFIX = "workflow/"


class BatchReferenceStack(Stack):
    """Spot-first EC2 and Fargate queues (and an optional GPU queue), sample jobs, an S3 submitter,
    a two-step workflow started by uploads and nightly, failure notifications and monitoring.

    Idle cost with the default public network: no NAT, no endpoints, no instance (minvCpus 0); only the
    fixed monthly prices of the dashboard, the alarms and the notification topic's KMS key.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        network_mode: NetworkMode = NetworkMode.PUBLIC,
        gpu_queue: bool = False,
        ec2_maxv_cpus: int = 256,
        fargate_maxv_cpus: int = 64,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        alarm_email: str | None = None,
        dashboard: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.network = BatchNetwork(self, "Network", mode=network_mode, flow_log_retention=log_retention)
        image = (
            # Built for x86_64 (the reference compute) whatever the machine running `cdk deploy`.
            ecs.ContainerImage.from_asset(str(SAMPLE_IMAGE_DIR), platform=ecr_assets.Platform.LINUX_AMD64)
            if network_mode is NetworkMode.PRIVATE_WITH_ENDPOINTS
            else ecs.ContainerImage.from_registry(SAMPLE_IMAGE)
        )
        # Multi-node jobs need private egress (their nodes get no public IP): not on the public network.
        multi_node = network_mode is not NetworkMode.PUBLIC

        self.ec2_queue = JobQueue.spot_first(
            self,
            "Ec2Queue",
            spot=Ec2ComputeEnvironment(
                self, "Ec2Spot", network=self.network, spot=True, maxv_cpus=ec2_maxv_cpus
            ),
            on_demand=Ec2ComputeEnvironment(
                self, "Ec2OnDemand", network=self.network, maxv_cpus=ec2_maxv_cpus, multi_node=multi_node
            ),
        )
        self.fargate_queue = JobQueue.spot_first(
            self,
            "FargateQueue",
            spot=FargateComputeEnvironment(
                self, "FargateSpot", network=self.network, spot=True, maxv_cpus=fargate_maxv_cpus
            ),
            on_demand=FargateComputeEnvironment(
                self, "FargateOnDemand", network=self.network, maxv_cpus=fargate_maxv_cpus
            ),
        )

        # Array-ready: child i processes line i of the manifest the S3 submitter writes
        # (real job code calls cdk_batchkit.jobkit.my_object(); see docs/guide/submitter.md).
        self.array_job = ContainerJobDefinition(
            self,
            "ArrayJob",
            platform=Platform.FARGATE,
            container=Container(
                image=image,
                vcpus=0.5,
                memory=Size.gibibytes(1),
                command=[
                    "sh",
                    "-c",
                    'echo "object ${AWS_BATCH_JOB_ARRAY_INDEX:-0} of Ref::count in Ref::manifest"',
                ],
            ),
            parameters={"manifest": "none", "count": "1"},
            log_retention=log_retention,
        )
        self.fargate_queue.add_job_definition(self.array_job)

        # Objects created under incoming/ in the input bucket -> one array job per SQS batch.
        self.submitter = S3JobSubmitter(
            self,
            "Submitter",
            job_queue=self.fargate_queue,
            job_definition=self.array_job,
            prefix=INPUT_PREFIX,
            log_retention=log_retention,
        )
        self.input_bucket = self.submitter.bucket
        self.submitter.grant_read(self.array_job.job_role)

        self.multi_node_job: MultiNodeJobDefinition | None = None
        if multi_node:
            self.multi_node_job = MultiNodeJobDefinition(
                self,
                "MultiNodeJob",
                container=Container(
                    image=image,
                    vcpus=2,
                    memory=Size.gibibytes(4),
                    command=[
                        "sh",
                        "-c",
                        'echo "node ${AWS_BATCH_JOB_NODE_INDEX} of ${AWS_BATCH_JOB_NUM_NODES}"',
                    ],
                ),
                nodes=2,
                log_retention=log_retention,
            )
            self.ec2_queue.add_job_definition(self.multi_node_job)

        # One encrypted topic for job failures, workflow failures and alarms.
        self.notifications = NotificationTopic(self, "Notifications", display_name="Batch reference")
        self._workflow(image, log_retention)

        outputs = {
            "Ec2QueueArn": self.ec2_queue.job_queue_arn,
            "FargateQueueArn": self.fargate_queue.job_queue_arn,
        }
        outputs["ArrayJobDefinitionArn"] = self.array_job.job_definition_arn
        if self.multi_node_job is not None:
            outputs["MultiNodeJobDefinitionArn"] = self.multi_node_job.job_definition_arn
        outputs["InputBucketName"] = self.input_bucket.bucket_name
        outputs["SubmitterDeadLetterQueueUrl"] = self.submitter.dead_letter_queue.queue_url

        self.gpu_queue: JobQueue | None = None
        if gpu_queue:
            gpu_env = Ec2ComputeEnvironment(self, "GpuOnDemand", network=self.network, gpu=True, maxv_cpus=64)
            self.gpu_queue = JobQueue(self, "GpuQueue", compute_environments=[gpu_env])
            self.gpu_job = ContainerJobDefinition(
                self,
                "GpuJob",
                container=Container(
                    image=(
                        image
                        if network_mode is NetworkMode.PRIVATE_WITH_ENDPOINTS
                        else ecs.ContainerImage.from_registry("public.ecr.aws/docker/library/ubuntu:24.04")
                    ),
                    vcpus=4,
                    memory=Size.gibibytes(14),
                    gpus=1,
                    command=["nvidia-smi"],
                ),
                log_retention=log_retention,
            )
            self.gpu_queue.add_job_definition(self.gpu_job)
            outputs["GpuQueueArn"] = self.gpu_queue.job_queue_arn
        queues = [q for q in (self.ec2_queue, self.fargate_queue, self.gpu_queue) if q is not None]
        self.job_failures = JobStateNotifications(
            self, "JobFailures", job_queues=queues, topic=self.notifications
        )
        self.monitoring = BatchMonitoring(
            self,
            "Monitoring",
            job_queues=queues,
            submitters=[self.submitter],
            workflows=[self.workflow],
            topic=self.notifications,
            alarm_email=alarm_email,
            dashboard=dashboard,
            log_retention=log_retention,
        )
        outputs["WorkflowArn"] = self.workflow.state_machine.state_machine_arn
        outputs["NotificationTopicArn"] = self.notifications.topic_arn
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)

    def _workflow(self, image: ecs.ContainerImage, log_retention: logs.RetentionDays) -> None:
        """Transform then load, for each upload under workflow/ and every night at 02:00 UTC."""
        self.step_job = ContainerJobDefinition(
            self,
            "StepJob",
            platform=Platform.FARGATE,
            container=Container(
                image=image,
                vcpus=0.25,
                memory=Size.mebibytes(512),
                command=["sh", "-c", 'echo "$STEP s3://Ref::bucket/Ref::key"'],
            ),
            parameters={"bucket": "none", "key": "none"},
            log_retention=log_retention,
        )
        # The workflow input is the S3 event's fields; EventBridge carries the key URL-encoded.
        env = {ENV_KEY_ENCODING: "url"}
        self.workflow = Workflow(
            self,
            "Workflow",
            steps=[
                Step(
                    "transform",
                    self.step_job,
                    self.fargate_queue,
                    environment={**env, "STEP": "transform"},
                    environment_from_input=S3_OBJECT_ENVIRONMENT,
                ),
                Step(
                    "load",
                    self.step_job,
                    self.fargate_queue,
                    depends_on=["transform"],
                    environment={**env, "STEP": "load"},
                    environment_from_input=S3_OBJECT_ENVIRONMENT,
                ),
            ],
            topic=self.notifications,
            log_retention=log_retention,
        )
        ObjectCreatedTrigger(
            self, "WorkflowTrigger", bucket=self.input_bucket, workflow=self.workflow, prefix=WORKFLOW_PREFIX
        )
        WorkflowSchedule(
            self,
            "Nightly",
            schedule=scheduler.ScheduleExpression.cron(minute="0", hour="2", time_zone=TimeZone.ETC_UTC),
            workflow=self.workflow,
            input={
                "bucket": self.input_bucket.bucket_name,
                "key": "nightly/manifest.txt",
                "size": "0",
                "version": "",
                "etag": "",
                "sequencer": "",
            },
            flexible_window=Duration.minutes(30),
        )
