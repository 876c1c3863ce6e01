"""The reference stack: the constructs composed the way we recommend."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Size, Stack
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from constructs import Construct

from ..constructs import (
    BatchNetwork,
    ContainerJobDefinition,
    Ec2ComputeEnvironment,
    FargateComputeEnvironment,
    JobQueue,
    MultiNodeJobDefinition,
    NetworkMode,
    Platform,
)

#: A small public image, so the reference app deploys without building anything.
SAMPLE_IMAGE = "public.ecr.aws/amazonlinux/amazonlinux:2023"


class BatchReferenceStack(Stack):
    """A Spot-first EC2 queue, a Fargate Spot-first queue, an optional GPU queue and sample jobs.

    Idle cost with the default public network: $0 (no NAT, no endpoints, minvCpus 0).
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
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.network = BatchNetwork(self, "Network", mode=network_mode, flow_log_retention=log_retention)
        image = ecs.ContainerImage.from_registry(SAMPLE_IMAGE)

        self.ec2_queue = JobQueue.spot_first(
            self,
            "Ec2Queue",
            spot=Ec2ComputeEnvironment(
                self, "Ec2Spot", network=self.network, spot=True, maxv_cpus=ec2_maxv_cpus
            ),
            on_demand=Ec2ComputeEnvironment(
                self, "Ec2OnDemand", network=self.network, maxv_cpus=ec2_maxv_cpus
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

        # Array-ready: each child reads AWS_BATCH_JOB_ARRAY_INDEX.
        self.array_job = ContainerJobDefinition(
            self,
            "ArrayJob",
            platform=Platform.FARGATE,
            image=image,
            vcpus=0.5,
            memory=Size.gibibytes(1),
            command=["sh", "-c", 'echo "processing item ${AWS_BATCH_JOB_ARRAY_INDEX:-0} of Ref::input"'],
            parameters={"input": "none"},
            log_retention=log_retention,
        )
        self.fargate_queue.add_job_definition(self.array_job)

        self.multi_node_job = MultiNodeJobDefinition(
            self,
            "MultiNodeJob",
            image=image,
            nodes=2,
            vcpus=2,
            memory=Size.gibibytes(4),
            command=["sh", "-c", 'echo "node ${AWS_BATCH_JOB_NODE_INDEX} of ${AWS_BATCH_JOB_NUM_NODES}"'],
            log_retention=log_retention,
        )
        self.ec2_queue.add_job_definition(self.multi_node_job)

        outputs = {
            "Ec2QueueArn": self.ec2_queue.job_queue_arn,
            "FargateQueueArn": self.fargate_queue.job_queue_arn,
        }
        outputs["ArrayJobDefinitionArn"] = self.array_job.job_definition_arn
        outputs["MultiNodeJobDefinitionArn"] = self.multi_node_job.job_definition_arn

        self.gpu_queue: JobQueue | None = None
        if gpu_queue:
            gpu_env = Ec2ComputeEnvironment(self, "GpuOnDemand", network=self.network, gpu=True, maxv_cpus=64)
            self.gpu_queue = JobQueue(self, "GpuQueue", compute_environments=[gpu_env])
            self.gpu_job = ContainerJobDefinition(
                self,
                "GpuJob",
                image=ecs.ContainerImage.from_registry("public.ecr.aws/docker/library/ubuntu:24.04"),
                vcpus=4,
                memory=Size.gibibytes(14),
                gpus=1,
                command=["nvidia-smi"],
                log_retention=log_retention,
            )
            self.gpu_queue.add_job_definition(self.gpu_job)
            outputs["GpuQueueArn"] = self.gpu_queue.job_queue_arn
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)
