"""The job/queue fit check: jobs that could never leave RUNNABLE fail synth."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecs as ecs

from cdk_batchkit.constructs import (
    Architecture,
    Container,
    ContainerJobDefinition,
    Ec2ComputeEnvironment,
    FargateComputeEnvironment,
    JobQueue,
    JobRequirements,
    MultiNodeJobDefinition,
    NetworkMode,
    Platform,
    UnmanagedComputeEnvironment,
)
from cdk_batchkit.model import ComputeKind, ComputeProfile
from cdk_batchkit.model.instances import architecture_of, is_gpu, shape_of
from cdk_batchkit.model.rules import check_environment, check_fit
from tests.support import network, new_stack

IMAGE = ecs.ContainerImage.from_registry("public.ecr.aws/amazonlinux/amazonlinux:2023")


def ec2_env(types=("c6i",), maxv=256, gpu=False, spot=False) -> ComputeProfile:
    return ComputeProfile(
        kind=ComputeKind.of(spot=spot),
        architecture=architecture_of(types[0]),
        maxv_cpus=maxv,
        instance_types=tuple(types),
        gpu=gpu,
    )


def fargate_env(maxv=256, public=True, egress=False) -> ComputeProfile:
    return ComputeProfile(
        kind=ComputeKind.FARGATE,
        architecture=None,
        maxv_cpus=maxv,
        public_subnets=public,
        private_egress=egress,
    )


def ec2_job(vcpus=1, mib=2048, gpus=0, nodes=1, instance_type=None) -> JobRequirements:
    return JobRequirements(
        platform=Platform.EC2,
        vcpus=vcpus,
        memory_mib=mib,
        gpus=gpus,
        nodes=nodes,
        instance_type=instance_type,
    )


# --- catalog ------------------------------------------------------------------------------


def test_catalog_shapes():
    assert shape_of("c6i").vcpus == 128 and shape_of("c6i").memory_mib == 256 * 1024
    large = shape_of("c6i.large")
    assert (large.vcpus, large.memory_mib) == (2, 4096)
    assert shape_of("m5.4xlarge").vcpus == 16 and shape_of("m5.4xlarge").memory_mib == 64 * 1024
    assert shape_of("g5.xlarge").gpus == 1 and shape_of("g5.12xlarge").gpus == 4 and shape_of("g5").gpus == 8
    assert shape_of("p4d.24xlarge").gpus == 8
    assert shape_of("unknownfamily9") is None


def test_catalog_architecture_and_gpu():
    assert architecture_of("c7g") is Architecture.ARM64
    assert architecture_of("c7gn.large") is Architecture.ARM64
    assert architecture_of("g5") is Architecture.X86_64
    assert architecture_of("optimal") is Architecture.X86_64
    assert architecture_of("default_arm64") is Architecture.ARM64
    assert is_gpu("g4dn.xlarge") and not is_gpu("c6i")


def test_usable_memory_is_below_installed_memory():
    # An m4.large's 8 GiB registers as ~7985 MiB, minus 32 MiB reserved: 8192 MiB never fits.
    shape = shape_of("m4.large")
    assert 7900 < shape.usable_memory_mib < 8192


# --- pure checks --------------------------------------------------------------------------


def test_fits_on_a_big_enough_family():
    assert check_fit(ec2_job(vcpus=64, mib=100_000), {"env": ec2_env(("c6i", "m6i"))}).fits


def test_too_many_vcpus_for_any_instance():
    why, checked = check_environment(ec2_job(vcpus=200, mib=1024), ec2_env(("c6i",), maxv=1024))
    assert checked and "200 vCPUs" in why and "largest offers 128 vCPUs" in why


def test_too_much_memory_for_any_instance():
    why, _ = check_environment(ec2_job(vcpus=2, mib=300 * 1024), ec2_env(("c6i",)))
    assert why is not None and "MiB" in why


def test_exact_type_memory_edge():
    # c6i.large has 4 GiB installed: 4096 MiB can never be placed; 3800 MiB can.
    assert check_environment(ec2_job(vcpus=2, mib=4096), ec2_env(("c6i.large",)))[0] is not None
    assert check_environment(ec2_job(vcpus=2, mib=3800), ec2_env(("c6i.large",)))[0] is None


def test_more_vcpus_than_maxv_cpus():
    why, _ = check_environment(ec2_job(vcpus=8), ec2_env(maxv=4))
    assert "maxvCpus is 4" in why


def test_gpu_job_on_non_gpu_environment():
    why, _ = check_environment(ec2_job(gpus=1), ec2_env())
    assert "GPU" in why


def test_gpu_job_needing_more_gpus_than_any_instance():
    why, _ = check_environment(ec2_job(vcpus=4, mib=8192, gpus=9), ec2_env(("g5",), gpu=True))
    assert "9 GPU" in why


def test_fargate_job_on_ec2_and_reverse():
    fargate_job = JobRequirements(platform=Platform.FARGATE, vcpus=1, memory_mib=2048, assign_public_ip=True)
    assert "Fargate job cannot run on an EC2" in check_environment(fargate_job, ec2_env())[0]
    assert "EC2 job cannot run on a Fargate" in check_environment(ec2_job(), fargate_env())[0]


def test_fargate_without_public_ip_in_public_subnets_without_nat():
    job = JobRequirements(platform=Platform.FARGATE, vcpus=1, memory_mib=2048, assign_public_ip=False)
    assert "never pull its image" in check_environment(job, fargate_env(public=True, egress=False))[0]
    assert check_environment(job, fargate_env(public=False, egress=True))[0] is None


def test_multi_node_needs_all_nodes_within_maxv_cpus():
    why, _ = check_environment(ec2_job(vcpus=96, mib=1024, nodes=4), ec2_env(("c5",), maxv=256))
    assert "4 nodes x 96 vCPUs" in why


def test_multi_node_not_on_spot():
    why, _ = check_environment(ec2_job(vcpus=2, nodes=2), ec2_env(spot=True))
    assert "Spot" in why


def test_multi_node_pinned_instance_type_must_be_allowed():
    why, _ = check_environment(ec2_job(vcpus=2, nodes=2, instance_type="r6i.large"), ec2_env(("c6i",)))
    assert "r6i.large" in why
    assert (
        check_environment(ec2_job(vcpus=2, mib=3000, nodes=2, instance_type="c6i.large"), ec2_env(("c6i",)))[
            0
        ]
        is None
    )


def test_unknown_family_is_not_guessed():
    result = check_fit(ec2_job(vcpus=500), {"env": ec2_env(("zz9",), maxv=1024)})
    assert result.fits and result.unchecked == ("env",)


def test_job_fits_if_any_environment_fits():
    result = check_fit(ec2_job(vcpus=100), {"small": ec2_env(("c6i.large",)), "big": ec2_env(("c6a",))})
    assert result.fits and len(result.problems) == 1


# --- wired into the constructs: bad bindings fail synth -----------------------------------


@pytest.fixture
def queues():
    stack = new_stack()
    net = network(stack)
    ec2_queue = JobQueue(
        stack,
        "Ec2Queue",
        compute_environments=[Ec2ComputeEnvironment(stack, "Ec2", network=net, maxv_cpus=64)],
    )
    fargate_queue = JobQueue(
        stack, "FargateQueue", compute_environments=[FargateComputeEnvironment(stack, "Fargate", network=net)]
    )
    spot_queue = JobQueue(
        stack,
        "SpotQueue",
        compute_environments=[Ec2ComputeEnvironment(stack, "Spot", network=net, spot=True)],
    )
    return stack, ec2_queue, fargate_queue, spot_queue


def test_rejects_job_larger_than_queue_at_bind(queues):
    stack, ec2_queue, _, _ = queues
    job = ContainerJobDefinition(
        stack,
        "Big",
        container=Container(image=IMAGE, vcpus=128),
    )
    with pytest.raises(ValueError, match=r"(?s)Big can never run on job queue .*Ec2Queue.*maxvCpus is 64"):
        ec2_queue.add_job_definition(job)


def test_rejects_gpu_job_on_non_gpu_queue(queues):
    stack, ec2_queue, _, _ = queues
    job = ContainerJobDefinition(
        stack,
        "Gpu",
        container=Container(image=IMAGE, vcpus=4, gpus=1),
    )
    with pytest.raises(ValueError, match=r"needs 1 GPU\(s\) but the environment has no GPU"):
        ec2_queue.add_job_definition(job)


def test_rejects_fargate_job_on_ec2_queue_and_reverse(queues):
    stack, ec2_queue, fargate_queue, _ = queues
    fargate_job = ContainerJobDefinition(
        stack,
        "F",
        container=Container(image=IMAGE, vcpus=1),
        platform=Platform.FARGATE,
    )
    with pytest.raises(ValueError, match=r"Fargate job cannot run on an EC2"):
        ec2_queue.add_job_definition(fargate_job)
    with pytest.raises(ValueError, match=r"EC2 job cannot run on a Fargate"):
        fargate_queue.add_job_definition(
            ContainerJobDefinition(
                stack,
                "E",
                container=Container(image=IMAGE),
            )
        )


def test_rejects_fargate_job_without_public_ip_in_public_network(queues):
    stack, _, fargate_queue, _ = queues
    job = ContainerJobDefinition(
        stack,
        "NoIp",
        container=Container(image=IMAGE, vcpus=1),
        platform=Platform.FARGATE,
        assign_public_ip=False,
    )
    with pytest.raises(ValueError, match=r"never pull its image"):
        fargate_queue.add_job_definition(job)


def test_fargate_job_without_public_ip_is_fine_behind_nat():
    stack = new_stack()
    net = network(stack, mode=NetworkMode.PRIVATE_WITH_NAT)
    queue = JobQueue(stack, "Q", compute_environments=[FargateComputeEnvironment(stack, "F", network=net)])
    job = ContainerJobDefinition(
        stack,
        "J",
        container=Container(image=IMAGE, vcpus=1),
        platform=Platform.FARGATE,
    )
    queue.add_job_definition(job)
    assert job.requirements.assign_public_ip is False


def test_rejects_multi_node_job_on_spot_only_queue(queues):
    stack, _, _, spot_queue = queues
    job = MultiNodeJobDefinition(
        stack,
        "Mnp",
        container=Container(image=IMAGE, vcpus=2),
        nodes=2,
    )
    with pytest.raises(ValueError, match=r"multi-node parallel jobs cannot run on Spot"):
        spot_queue.add_job_definition(job)


def test_grant_submit_runs_the_fit_check(queues):
    from aws_cdk import aws_iam as iam

    stack, ec2_queue, _, _ = queues
    job = ContainerJobDefinition(
        stack,
        "Huge",
        container=Container(image=IMAGE, vcpus=2, memory=cdk.Size.gibibytes(4096)),
    )
    role = iam.Role(stack, "R", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    with pytest.raises(ValueError, match=r"Huge can never run"):
        job.grant_submit(role, ec2_queue)


def test_unmanaged_environment_sizes_are_not_guessed():
    stack = new_stack()
    queue = JobQueue(stack, "Q", compute_environments=[UnmanagedComputeEnvironment(stack, "U")])
    job = ContainerJobDefinition(
        stack,
        "J",
        container=Container(image=IMAGE, vcpus=512),
    )
    queue.add_job_definition(job)  # cannot be checked: must not raise
    with pytest.raises(ValueError, match=r"EC2 job|Fargate job"):
        queue.add_job_definition(
            ContainerJobDefinition(
                stack,
                "F",
                container=Container(image=IMAGE, vcpus=1),
                platform=Platform.FARGATE,
            )
        )
