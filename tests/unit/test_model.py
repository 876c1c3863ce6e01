"""The CDK-free model: imports without aws_cdk, one test per rule, the registry and the facts."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cdk_batchkit.model import (
    RULES,
    Architecture,
    ComputeKind,
    ComputeProfile,
    JobRequirements,
    Orchestration,
    Platform,
    QueueProfile,
    check_fit,
    check_queue,
)
from cdk_batchkit.model.rules import fit, queues, submission


def test_model_imports_nothing_but_the_standard_library() -> None:
    # Deterministic, unlike a timed test on a shared machine: the model loads in milliseconds because it
    # imports no third-party package at all (aws-cdk-lib alone takes seconds), so a Lambda, a job or a test
    # can use it. The cron grammar the schedules use is the one allowed exception (one pure-Python file).
    code = (
        "import sys; import cdk_batchkit.model; "
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules} - set(sys.stdlib_module_names))))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    # Interpreter and editable-install machinery (``__main__``, ``_distutils_hack``, the ``__editable__``
    # finder) are not packages the model imports.
    imported = {m for m in out.split() if not m.startswith("_")}
    assert imported <= {"cdk_batchkit", "aws_cron_expression_validator"}, out


def ec2(*types: str, spot: bool = False, maxv: int | None = 256, gpu: bool = False, arch=Architecture.X86_64):
    return ComputeProfile(
        ComputeKind.of(spot=spot),
        architecture=arch,
        maxv_cpus=maxv,
        instance_types=types or ("c6i",),
        gpu=gpu,
    )


FARGATE = ComputeProfile(ComputeKind.FARGATE, architecture=None, maxv_cpus=64)
EKS = ComputeProfile(ComputeKind.EKS, instance_types=("m6i",), maxv_cpus=256)
JOB = JobRequirements(Platform.EC2, vcpus=2, memory_mib=4096)


# -- facts -----------------------------------------------------------------------------------------
def test_compute_kinds_carry_their_facts() -> None:
    assert ComputeKind.of(spot=True, fargate=True) is ComputeKind.FARGATE_SPOT
    assert ComputeKind.of(eks=True, spot=True) is ComputeKind.EKS_SPOT
    assert ComputeKind.EKS.orchestration is Orchestration.EKS and ComputeKind.EKS.provisioning == "EC2"
    assert ComputeKind.FARGATE_SPOT.spot and ComputeKind.FARGATE_SPOT.fargate
    assert ComputeKind.UNMANAGED.runs is Platform.EC2 and not ComputeKind.UNMANAGED.managed
    assert {k.runs for k in ComputeKind} == set(Platform)
    with pytest.raises(ValueError, match="EKS runs on EC2 nodes only"):
        ComputeKind.of(eks=True, fargate=True)


def test_queue_profile_of_a_list_labels_environments_in_order() -> None:
    profile = QueueProfile.of([FARGATE, None])
    assert [name for name, _ in profile.environments] == ["environment 1", "environment 2"]
    assert profile.known == {"environment 1": FARGATE}


def test_every_rule_cites_an_aws_source() -> None:
    assert {rid[:4] for rid in RULES} >= {"BK-Q", "BK-F"}
    for rule in RULES.values():
        assert "docs.aws.amazon.com" in rule.source, rule


# -- queue composition -----------------------------------------------------------------------------
def test_rejects_zero_or_four_environments() -> None:
    assert queues.queue_environment_count([]) is not None
    four = [(f"e{i}", FARGATE) for i in range(4)]
    assert "1 to 3 environments" in str(queues.queue_environment_count(four))
    assert queues.queue_environment_count(four[:3]) is None


def test_rejects_an_environment_listed_twice() -> None:
    assert "e1" in str(queues.queue_no_duplicates([("e1", FARGATE), ("e1", FARGATE)]))
    assert queues.queue_no_duplicates([("e1", FARGATE), ("e2", FARGATE)]) is None


def test_rejects_fargate_mixed_with_ec2() -> None:
    assert "mixes Fargate and EC2" in str(queues.queue_one_provisioning([("a", FARGATE), ("b", ec2())]))
    spot = ComputeProfile(ComputeKind.FARGATE_SPOT, architecture=None)
    assert queues.queue_one_provisioning([("a", FARGATE), ("b", spot)]) is None


def test_rejects_ecs_mixed_with_eks() -> None:
    assert "mixes ECS and EKS" in str(queues.queue_one_orchestration([("a", ec2()), ("b", EKS)]))


def test_rejects_mixed_architectures() -> None:
    mixed = [("a", ec2("c6i")), ("b", ec2("c7g", arch=Architecture.ARM64))]
    assert "arm64, x86_64" in str(queues.queue_one_architecture(mixed))


def test_unknown_environments_are_not_judged() -> None:
    assert check_queue([("a", FARGATE), ("b", None)]) == []
    found = check_queue([("a", FARGATE), ("b", ec2())])
    assert [rule_id for rule_id, _ in found] == ["BK-Q3"]


# -- fit -------------------------------------------------------------------------------------------
def test_rejects_job_on_the_wrong_platform() -> None:
    fargate_job = JobRequirements(Platform.FARGATE, vcpus=1, memory_mib=2048, assign_public_ip=True)
    assert "Fargate job cannot run on an EC2" in str(fit.fit_platform(fargate_job, ec2()))
    assert "EC2 job cannot run on a Fargate" in str(fit.fit_platform(JOB, FARGATE))
    assert "EKS job cannot run on an EC2" in str(
        fit.fit_platform(JobRequirements(Platform.EKS, 1, 1024), ec2())
    )
    assert "EC2 job cannot run on an EKS" in str(fit.fit_platform(JOB, EKS))


def test_rejects_multi_node_on_spot_or_unmanaged() -> None:
    mnp = JobRequirements(Platform.EC2, vcpus=2, memory_mib=4096, nodes=2)
    assert fit.fit_multi_node(mnp, ec2(spot=True)) is not None
    assert fit.fit_multi_node(mnp, ComputeProfile(ComputeKind.UNMANAGED)) is not None
    assert fit.fit_multi_node(mnp, ec2()) is None


def test_rejects_more_vcpus_than_maxv_cpus() -> None:
    assert "maxvCpus is 4" in str(fit.fit_max_vcpus(JobRequirements(Platform.EC2, 8, 1024), ec2(maxv=4)))
    mnp = JobRequirements(Platform.EC2, vcpus=4, memory_mib=1024, nodes=3)
    assert "3 nodes x 4 vCPUs" in str(fit.fit_max_vcpus(mnp, ec2(maxv=8)))
    assert fit.fit_max_vcpus(mnp, ec2(maxv=None)) is None


def test_rejects_gpu_job_without_gpus() -> None:
    gpu_job = JobRequirements(Platform.EC2, vcpus=4, memory_mib=8192, gpus=1)
    assert "GPU" in str(fit.fit_gpu(gpu_job, ec2()))
    assert fit.fit_gpu(gpu_job, ec2("g5", gpu=True)) is None


def test_rejects_pinned_type_the_environment_does_not_allow() -> None:
    pinned = JobRequirements(Platform.EC2, vcpus=2, memory_mib=2048, nodes=2, instance_type="m6i.xlarge")
    assert "pins instance type m6i.xlarge" in str(fit.fit_pinned_type(pinned, ec2("c6i")))
    assert fit.fit_pinned_type(pinned, ec2("m6i")) is None
    assert fit.fit_pinned_type(pinned, ec2("default_x86_64")) is None


def test_rejects_job_larger_than_every_instance_type() -> None:
    huge = JobRequirements(Platform.EC2, vcpus=2, memory_mib=4096 * 1024)
    assert "no allowed instance type" in str(fit.fit_instance_size(huge, ec2("c6i")))
    assert fit.fit_instance_size(JOB, ec2("c6i")) is None
    assert fit.fit_instance_size(JOB, ec2("zz9")) == fit.UNCHECKED


def test_rejects_fargate_task_without_a_route_to_its_image() -> None:
    public = ComputeProfile(ComputeKind.FARGATE, architecture=None, public_subnets=True, private_egress=False)
    no_ip = JobRequirements(Platform.FARGATE, vcpus=1, memory_mib=2048)
    assert "never pull its image" in str(fit.fit_fargate_egress(no_ip, public))
    with_ip = JobRequirements(Platform.FARGATE, vcpus=1, memory_mib=2048, assign_public_ip=True)
    assert fit.fit_fargate_egress(with_ip, public) is None


def test_check_fit_reports_rule_ids_and_unknown_environments() -> None:
    result = check_fit(JobRequirements(Platform.EC2, 8, 1024), [("small", ec2(maxv=4)), ("unknown", None)])
    assert result.fits and result.unchecked == ("unknown",)
    result = check_fit(JobRequirements(Platform.EC2, 8, 1024), {"small": ec2(maxv=4)})
    assert not result.fits and result.rule_ids == ("BK-F3",)


# -- fair share ------------------------------------------------------------------------------------
def test_rejects_missing_or_unexpected_share_identifier() -> None:
    fair = QueueProfile.of([FARGATE], fair_share=True)
    fifo = QueueProfile.of([FARGATE])
    assert "requires a share identifier" in str(submission.share_identifier_matches(fair, None))
    assert submission.share_identifier_matches(fair, "teamA") is None
    assert "rejects a share identifier" in str(submission.share_identifier_matches(fifo, "teamA"))
    assert submission.share_identifier_matches(fifo, None) is None
    assert submission.share_identifier_matches(QueueProfile.of([FARGATE], fair_share=None), "x") is None


# -- consumable resources --------------------------------------------------------------------------
def test_rejects_consumables_over_the_total() -> None:
    from cdk_batchkit.model import ConsumableRequest, check_consumables

    over = JobRequirements(Platform.EC2, 1, 512, consumables=(ConsumableRequest("licences", 3, total=2),))
    assert fit.fit_consumables(over) == (
        "requests 3 of consumable resource licences, whose total quantity is 2, so it can never start"
    )
    # A fit rule: the queue check names it too; an unknown total is not judged.
    assert check_fit(over, {"ec2": ec2()}).rule_ids == ("BK-R1",)
    assert check_consumables([ConsumableRequest("licences", 3)]) is None


def test_rejects_malformed_consumable_requests() -> None:
    from cdk_batchkit.model import ConsumableRequest, check_consumables

    six = [ConsumableRequest(f"r{i}", 1, 10) for i in range(6)]
    assert "up to 5 a job" in str(check_consumables(six))
    assert "twice" in str(check_consumables([ConsumableRequest("r", 1), ConsumableRequest("r", 2)]))
    assert "at least 1" in str(check_consumables([ConsumableRequest("r", 0)]))
    assert check_consumables(six[:5]) is None
