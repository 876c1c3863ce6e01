"""Construct side of the compute and queue rules: each new prop's message, the rules applied to the L2's
environments, queues and policies, and the compute facts the profiles carry (Amazon Linux 2023, swap).

Nothing here synthesizes: the constructs are built in small fresh stacks and the errors, warnings and
profiles are read at construction.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Duration, Size
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs

from cdk_batchkit.constructs import (
    ComputeKind,
    Ec2ComputeEnvironment,
    FairShare,
    FargateComputeEnvironment,
    JobQueue,
    ManagedInstancesComputeEnvironment,
    SageMakerTrainingEnvironment,
    SageMakerTrainingQueue,
    UnmanagedComputeEnvironment,
)
from cdk_batchkit.model import ContainerSpec, JobSpec, Platform, Submission, SubmitPath
from tests.support import network


def _warnings(construct: Any) -> list[str]:
    return [str(e.data) for e in construct.node.metadata if e.type == "aws:cdk:warning"]


# -- names (BK-C21, BK-Q10, BK-V4) -----------------------------------------------------------------
def test_rejects_a_compute_environment_name_batch_refuses(stack: cdk.Stack) -> None:
    with pytest.raises(ValueError, match=r"compute_environment_name='render farm' is invalid: .*1-128"):
        FargateComputeEnvironment(stack, "F", network=network(stack), compute_environment_name="render farm")


def test_rejects_a_job_queue_name_batch_refuses(stack: cdk.Stack) -> None:
    env = FargateComputeEnvironment(stack, "F", network=network(stack))
    with pytest.raises(ValueError, match=r"Test/Q: job_queue_name='jobs/high' is invalid: job queue names"):
        JobQueue(stack, "Q", compute_environments=[env], job_queue_name="jobs/high")


def test_rejects_a_service_environment_name_batch_refuses(stack: cdk.Stack) -> None:
    with pytest.raises(
        ValueError,
        match=r"Test/Training: service_environment_name='ml training' is invalid: service environment names "
        r"are 1-128 letters, digits",
    ):
        SageMakerTrainingEnvironment(
            stack, "Training", max_instances=2, service_environment_name="ml training"
        )
    SageMakerTrainingEnvironment(stack, "Ok", max_instances=2, service_environment_name="ml_training-1")


def test_rejects_a_sagemaker_queue_priority_out_of_range(stack: cdk.Stack) -> None:
    env = SageMakerTrainingEnvironment(stack, "Training", max_instances=2)
    with pytest.raises(ValueError, match=r"priority=1001 is invalid: must be between 0 and 1000"):
        SageMakerTrainingQueue(stack, "Q", service_environments=[env], priority=1001)


# -- ECS Managed Instances (BK-I4) ---------------------------------------------------------------------
def test_rejects_a_scale_in_delay_above_an_hour(stack: cdk.Stack) -> None:
    with pytest.raises(
        ValueError,
        match=r"scale_in_after='7200 s' is invalid: must be -1 \(never scale in\) or between 0 and 3600",
    ):
        ManagedInstancesComputeEnvironment(
            stack, "Mi", network=network(stack), scale_in_after=Duration.hours(2)
        )


def test_a_scale_in_delay_within_an_hour_is_rendered(stack: cdk.Stack) -> None:
    env = ManagedInstancesComputeEnvironment(
        stack, "Mi", network=network(stack), scale_in_after=Duration.minutes(60)
    )
    provider = stack.resolve(env.cfn.compute_resources)["managedInstancesProvider"]
    assert provider["infrastructureOptimization"] == {"scaleInAfter": 3600}
    assert env.settings.scale_in_after_seconds == 3600


def test_never_scaling_in_is_rendered_as_minus_one(stack: cdk.Stack) -> None:
    env = ManagedInstancesComputeEnvironment(stack, "Mi", network=network(stack), scale_in_after="never")
    provider = stack.resolve(env.cfn.compute_resources)["managedInstancesProvider"]
    assert provider["infrastructureOptimization"] == {"scaleInAfter": -1}
    assert env.settings.scale_in_after_seconds == -1


def test_rejects_a_scale_in_word_other_than_never(stack: cdk.Stack) -> None:
    with pytest.raises(
        ValueError, match=r"/Mi: scale_in_after='forever' is invalid: give a Duration or \"never\""
    ):
        ManagedInstancesComputeEnvironment(
            stack,
            "Mi",
            network=network(stack),
            scale_in_after="forever",  # type: ignore[arg-type]
        )


# -- fair share (BK-S4, BK-S6, BK-S7) and the queue's share identifiers ------------------------------------
def _fair_queue(stack: cdk.Stack, shares: dict[str, float]) -> JobQueue:
    env = FargateComputeEnvironment(stack, "F", network=network(stack))
    return JobQueue(stack, "Q", compute_environments=[env], fair_share=FairShare(shares=shares))


def test_rejects_share_identifiers_that_are_not_letters_and_digits(stack: cdk.Stack) -> None:
    with pytest.raises(
        ValueError,
        match=r"fair_share\.shares='team-a' is invalid: share identifiers are 1-255 letters and digits",
    ):
        _fair_queue(stack, {"team-a": 1.0})


def test_rejects_overlapping_share_identifiers(stack: cdk.Stack) -> None:
    with pytest.raises(
        ValueError, match=r"fair_share\.shares=\['UserA\*', 'UserA1'\] is invalid: UserA\* and UserA1 overlap"
    ):
        _fair_queue(stack, {"UserA*": 1.0, "UserA1": 0.5})


def test_the_queue_lists_its_policys_identifiers_so_an_unlisted_one_warns(stack: cdk.Stack) -> None:
    queue = _fair_queue(stack, {"teamA": 1.0, "batch*": 0.5})
    assert queue.profile is not None and queue.profile.share_identifiers == ("teamA", "batch*")
    job = JobSpec(Platform.FARGATE, containers=(ContainerSpec(vcpus=0.5, memory_mib=1024),))
    listed = Submission(SubmitPath.LAMBDA, queue.profile, job, share_identifier="batch7").check()
    assert [p.rule for p in listed] == []
    unlisted = Submission(SubmitPath.LAMBDA, queue.profile, job, share_identifier="teamC").check()
    assert [(p.rule, p.warning) for p in unlisted] == [("BK-S5", True)]


def test_an_l2_queues_fair_share_policy_is_judged_and_listed(stack: cdk.Stack) -> None:
    net = network(stack)
    env = batch.FargateComputeEnvironment(stack, "L2Env", vpc=net.vpc, vpc_subnets=net.subnet_selection)
    policy = batch.FairshareSchedulingPolicy(
        stack, "Policy", shares=[batch.Share(share_identifier="teamA", weight_factor=1)]
    )
    l2 = batch.JobQueue(
        stack,
        "L2",
        compute_environments=[batch.OrderedComputeEnvironment(compute_environment=env, order=1)],
        scheduling_policy=policy,
    )
    wrapped = JobQueue.from_job_queue(stack, "Wrapped", l2)
    assert wrapped.profile is not None and wrapped.profile.share_identifiers == ("teamA",)
    policy.add_share(share_identifier="team*", weight_factor=2)
    with pytest.raises(
        ValueError,
        match=r"Test/Again: scheduling_policy\.shares=\['teamA', 'team\*'\] is invalid: .* overlap",
    ):
        JobQueue.from_job_queue(stack, "Again", l2)


# -- importers (BK-Q7) ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("render-jobs", "is not an ARN: give the queue's ARN"),
        ("arn:aws:batch:us-east-1:111122223333:job-definition/render:3", "is a Batch job-definition ARN"),
    ],
)
def test_rejects_a_queue_importer_given_a_name_or_a_definition_arn(
    stack: cdk.Stack, given: str, why: str
) -> None:
    with pytest.raises(ValueError, match=rf"Test/Imported: job_queue_arn='{given}' is invalid: {why}"):
        JobQueue.from_job_queue_arn(stack, "Imported", given)


def test_a_queue_arn_built_from_tokens_is_taken(stack: cdk.Stack) -> None:
    arn = cdk.Stack.of(stack).format_arn(service="batch", resource="job-queue", resource_name="jobs")
    assert JobQueue.from_job_queue_arn(stack, "Imported", arn).profile is None


# -- the L2's environments are judged like ours ----------------------------------------------------
def test_rejects_an_l2_graviton_environment_that_renders_optimal(stack: cdk.Stack) -> None:
    net = network(stack)
    # The L2 appends "optimal" (x86_64) to instance_classes unless told not to: Batch rejects the mix.
    l2 = batch.ManagedEc2EcsComputeEnvironment(
        stack, "L2", vpc=net.vpc, instance_classes=[ec2.InstanceClass.C7G]
    )
    with pytest.raises(
        ValueError,
        match=r"Test/Q: compute_environments\[0\]\.instance_types=\['c7g', 'optimal'\] is invalid: mixes "
        r"architectures: optimal is x86_64 and c7g is arm64",
    ):
        JobQueue(stack, "Q", compute_environments=[l2])


def test_warns_when_an_l2_fargate_environment_renders_update_fields(stack: cdk.Stack) -> None:
    net = network(stack)
    l2 = batch.FargateComputeEnvironment(stack, "L2", vpc=net.vpc, vpc_subnets=net.subnet_selection)
    queue = JobQueue(stack, "Q", compute_environments=[l2])
    assert any("ReplaceComputeEnvironment" in w and "aws-cdk#27054" in w for w in _warnings(queue))
    ours = JobQueue(stack, "Ours", compute_environments=[FargateComputeEnvironment(stack, "F", network=net)])
    assert _warnings(ours) == []


# -- compute facts: Amazon Linux 2023 and swap -----------------------------------------------------
def test_the_library_environment_runs_al2023_without_swap_unless_user_data_makes_it(stack: cdk.Stack) -> None:
    net = network(stack)
    plain = Ec2ComputeEnvironment(stack, "Plain", network=net)
    assert (plain.profile.amazon_linux_2023, plain.profile.swap) == (True, False)
    gpu = Ec2ComputeEnvironment(stack, "Gpu", network=net, gpu=True)
    assert gpu.profile.amazon_linux_2023 is True
    swapping = Ec2ComputeEnvironment(
        stack,
        "Swap",
        network=net,
        user_data_commands=[
            "dd if=/dev/zero of=/swapfile bs=1M count=4096",
            "mkswap /swapfile",
            "swapon /swapfile",
        ],
    )
    assert swapping.profile.swap is True
    # A part added later through .user_data counts too.
    assert plain.user_data is not None
    part = ec2.UserData.for_linux()
    part.add_commands("swapon /dev/nvme1n1")
    plain.user_data.add_user_data_part(part, ec2.MultipartBody.SHELL_SCRIPT, True)
    assert plain.profile.swap is True
    # So does one added through the launch template (the same user data), whatever the method.
    other = Ec2ComputeEnvironment(stack, "Other", network=net)
    assert other.profile.swap is False
    template = other.launch_template
    assert isinstance(template, ec2.LaunchTemplate) and isinstance(template.user_data, ec2.MultipartUserData)
    template.user_data.add_part(
        ec2.MultipartBody.from_raw_body(
            body="#!/bin/bash\nmkswap /swapfile", content_type="text/x-shellscript"
        )
    )
    assert other.profile.swap is True


def test_custom_images_and_templates_leave_the_facts_unknown(stack: cdk.Stack) -> None:
    net = network(stack)
    by_id = Ec2ComputeEnvironment(stack, "ById", network=net, machine_image="ami-0123456789abcdef0")
    by_object = Ec2ComputeEnvironment(
        stack, "ByObject", network=net, machine_image=ecs.EcsOptimizedImage.amazon_linux2023()
    )
    imported = Ec2ComputeEnvironment(
        stack,
        "Imported",
        network=net,
        launch_template=ec2.LaunchTemplate.from_launch_template_attributes(
            stack, "Lt", launch_template_id="lt-0123456789abcdef0", version_number="1"
        ),
    )
    for env in (by_id, by_object, imported):
        assert (env.profile.amazon_linux_2023, env.profile.swap) == (None, None), env.node.path
    yours = ec2.LaunchTemplate(
        stack,
        "Yours",
        http_tokens=ec2.LaunchTemplateHttpTokens.REQUIRED,
        require_imdsv2=True,
        block_devices=[
            ec2.BlockDevice(device_name="/dev/xvda", volume=ec2.BlockDeviceVolume.ebs(50, encrypted=True))
        ],
    )
    own = Ec2ComputeEnvironment(stack, "Own", network=net, launch_template=yours)
    # Your template sets no AMI: Batch's ECS-optimized AL2023 image, and no user data, so no swap.
    assert (own.profile.amazon_linux_2023, own.profile.swap) == (True, False)
    mi = ManagedInstancesComputeEnvironment(stack, "Mi", network=net)
    unmanaged = UnmanagedComputeEnvironment(stack, "Unmanaged")
    for env in (mi, unmanaged):
        assert (env.profile.amazon_linux_2023, env.profile.swap) == (None, None)


def test_an_l2_environment_is_described_with_its_image_and_swap(stack: cdk.Stack) -> None:
    net = network(stack)
    al2023 = batch.ManagedEc2EcsComputeEnvironment(
        stack,
        "Al2023",
        vpc=net.vpc,
        images=[batch.EcsMachineImage(image_type=batch.EcsMachineImageType.ECS_AL2023)],
        instance_types=[ec2.InstanceType("m6g.large")],
        use_optimal_instance_classes=False,
    )
    default = batch.ManagedEc2EcsComputeEnvironment(stack, "Default", vpc=net.vpc)
    queue = JobQueue(stack, "Q", compute_environments=[al2023])
    other = JobQueue(stack, "Other", compute_environments=[default])
    assert queue.profile is not None and other.profile is not None
    described = queue.profile.environments[0][1]
    assert described is not None and described.kind is ComputeKind.EC2
    assert described.instance_types == ("m6g.large",) and described.architecture.value == "arm64"
    assert (described.amazon_linux_2023, described.swap) == (True, False)
    # No image type rendered: Batch's default (AL2 before 2026, AL2023 for new environments since).
    fallback = other.profile.environments[0][1]
    assert fallback is not None and fallback.instance_types == ("optimal",)
    assert (fallback.amazon_linux_2023, fallback.swap) == (None, False)


def test_storage_size_is_still_rendered_in_whole_gib(stack: cdk.Stack) -> None:
    env = ManagedInstancesComputeEnvironment(
        stack, "Mi", network=network(stack), storage_size=Size.gibibytes(80)
    )
    launch = stack.resolve(env.cfn.compute_resources)["managedInstancesProvider"]["instanceLaunchTemplate"]
    assert launch["storageConfiguration"] == {"storageSizeGiB": 80}


def test_the_compute_rules_are_registered_by_the_model_alone(
    fresh_rule_registry: dict[str, list[str]],
) -> None:
    # Every rule of compute environments, queues, service environments and consumable resources is known
    # after importing the model alone (no construct module registers one).
    def ours(ids: list[str]) -> set[str]:
        return {r for r in ids if r[3] in "CIVQSR"}

    alone = ours(fresh_rule_registry["model"])
    added = ours(fresh_rule_registry["constructs"]) - alone
    assert not added, sorted(added)
    assert {
        "BK-C1",
        "BK-C19",
        "BK-I3",
        "BK-I4",
        "BK-V1",
        "BK-V4",
        "BK-Q6",
        "BK-Q7",
        "BK-S4",
        "BK-S7",
        "BK-R3",
    } <= alone
