"""Compute, service environment, queue, fair-share and consumable rules on CDK-free values (no synth).

One ``test_rejects_...`` / ``test_warns_...`` per rule on :class:`ComputeSettings`,
:class:`ServiceEnvironmentSettings`, :class:`QueueSettings`, :class:`FairSharePolicy` and
:class:`ConsumableResourceSettings`; the construct tests (one per prop, for the message) are in
``test_compute.py``, ``test_compute_options.py``, ``test_queue.py`` and ``test_compute_settings.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from cdk_batchkit.model import RULES, Architecture, ComputeKind, Problem
from cdk_batchkit.model.compute import (
    AllocationStrategy,
    ComputeSettings,
    EbsVolume,
    LaunchTemplateFacts,
    ServiceEnvironmentSettings,
    user_data_creates_swap,
)
from cdk_batchkit.model.queues import ConsumableResourceSettings, FairSharePolicy, QueueSettings
from cdk_batchkit.model.rules import (
    check_compute,
    check_fair_share,
    check_queue_settings,
    check_service_environment,
    consumable_resource_values,
    fargate_not_updatable,
    queue_arn,
    queue_type,
)
from cdk_batchkit.model.rules import compute as rules

EC2 = ComputeKind.EC2
TOKEN = "${Token[TOKEN.42]}"


def ec2(**kwargs: Any) -> ComputeSettings:
    values: dict[str, Any] = {
        "kind": EC2,
        "minv_cpus": 0,
        "maxv_cpus": 256,
        "architecture": Architecture.X86_64,
        "gpu": False,
        "instance_types": ("c6i",),
    }
    values.update(kwargs)
    return ComputeSettings(**values)


def ids(problems: list[Problem]) -> list[str]:
    return [p.rule for p in problems]


def errors_of(problems: list[Problem], rule_id: str) -> list[Problem]:
    return [p for p in problems if p.rule == rule_id and not p.warning]


def test_the_library_defaults_pass_every_rule() -> None:
    assert check_compute(ec2()) == []
    assert check_compute(ComputeSettings(ComputeKind.FARGATE_SPOT, maxv_cpus=64)) == []
    assert check_compute(ComputeSettings(ComputeKind.ECS_MANAGED_INSTANCES, maxv_cpus=64)) == []


# -- BK-C1 .. BK-C4, BK-C19, BK-C20 ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("settings", "prop", "why"),
    [
        (ec2(minv_cpus=16, maxv_cpus=8), "minv_cpus", "must not exceed maxv_cpus (8)"),
        (ec2(maxv_cpus=0), "maxv_cpus", "must be between 1 and 100000"),
        (ec2(minv_cpus=-1), "minv_cpus", "must be between 0 and 100000"),
        (ComputeSettings(ComputeKind.UNMANAGED, unmanaged_vcpus=-1), "unmanagedv_cpus", "between 0 and"),
    ],
)
def test_rejects_capacity_batch_refuses(settings: ComputeSettings, prop: str, why: str) -> None:
    found = errors_of(check_compute(settings), "BK-C1")
    assert found and found[0].prop == prop and why in found[0].why


def test_rejects_a_spot_bid_out_of_range_or_without_spot() -> None:
    assert "must be between 1 and 100" in errors_of(check_compute(ec2(kind=ComputeKind.EC2_SPOT,
        spot_bid_percentage=101)), "BK-C2")[0].why  # fmt: skip
    assert (
        "only applies with spot=True" in errors_of(check_compute(ec2(spot_bid_percentage=50)), "BK-C2")[0].why
    )
    assert errors_of(check_compute(ec2(kind=ComputeKind.EC2_SPOT, spot_bid_percentage=50)), "BK-C2") == []


@pytest.mark.parametrize(("seconds", "why"), [(59, "between 60 and 21600"), (90, "whole number of minutes")])
def test_rejects_update_timeouts_batch_refuses(seconds: float, why: str) -> None:
    assert why in errors_of(check_compute(ec2(update_timeout_seconds=seconds)), "BK-C3")[0].why


def test_rejects_in_place_updates_of_best_fit() -> None:
    settings = ec2(allocation_strategy="BEST_FIT", replace_compute_environment=False)
    assert errors_of(check_compute(settings), "BK-C4")[0].prop == "replace_compute_environment"
    assert ec2(allocation_strategy="best_fit").replaces is True  # BEST_FIT replaces by default


@pytest.mark.parametrize(
    ("spot", "strategy", "why"),
    [
        (False, "SPOT_CAPACITY_OPTIMIZED", "Spot strategies need spot=True"),
        (True, AllocationStrategy.BEST_FIT_PROGRESSIVE_ORDERED, "only available for on-demand"),
        (False, "FASTEST", "must be one of"),
    ],
)
def test_rejects_allocation_strategy_pairing(spot: bool, strategy: Any, why: str) -> None:
    settings = ec2(kind=ComputeKind.of(spot=spot), allocation_strategy=strategy)
    assert why in errors_of(check_compute(settings), "BK-C19")[0].why


def test_rejects_multi_node_on_spot() -> None:
    found = errors_of(check_compute(ec2(kind=ComputeKind.EC2_SPOT, multi_node=True)), "BK-C20")
    assert found[0].prop == "multi_node"
    assert errors_of(check_compute(ec2(multi_node=True)), "BK-C20") == []


# -- instance types (BK-C6, BK-C7, BK-C8) ----------------------------------------------------------
def test_rejects_types_of_the_other_architecture_and_gpu_mismatches() -> None:
    arm = ec2(architecture=Architecture.ARM64, instance_types=("c7g", "c6i"))
    assert "c6i is x86_64 but architecture is arm64" in errors_of(check_compute(arm), "BK-C6")[0].why
    assert "g5 is a GPU family" in errors_of(check_compute(ec2(instance_types=("g5",))), "BK-C6")[0].why
    gpu_arm = ec2(architecture=Architecture.ARM64, gpu=True, instance_types=("g5g",))
    assert errors_of(check_compute(gpu_arm), "BK-C6")[0].prop == "gpu"
    eks = ec2(kind=ComputeKind.EKS, architecture=Architecture.ARM64, gpu=True)
    assert "EKS image" in errors_of(check_compute(eks), "BK-C6")[0].why


def test_rejects_an_environment_described_from_its_properties_that_mixes_architectures() -> None:
    # What the aws_batch L2 renders for instance_classes=[C7G]: Batch rejects it.
    described = ComputeSettings(EC2, maxv_cpus=256, instance_types=("c7g", "optimal"))
    found = errors_of(check_compute(described, described=True), "BK-C6")
    assert "optimal is x86_64 and c7g is arm64" in found[0].why


@pytest.mark.parametrize(
    ("types", "why"),
    [((), "needs at least one"), (("",), "is not an instance type"), (("c6i.4xlarg",), "c6i.4xlarge")],
)
def test_rejects_instance_types_that_do_not_exist(types: tuple[str, ...], why: str) -> None:
    assert why in errors_of(check_compute(ec2(instance_types=types)), "BK-C7")[0].why


def test_warns_on_a_family_missing_from_the_size_catalog() -> None:
    found = [p for p in check_compute(ec2(instance_types=("hpc7a",))) if p.rule == "BK-C8"]
    assert found and found[0].warning and found[0].warning_id == "batchkit:instance-size-unchecked"


# -- images, templates, tags, subnets, names -------------------------------------------------------
def test_rejects_a_root_volume_below_30_gib_or_not_whole() -> None:
    assert "at least 30 GiB" in errors_of(check_compute(ec2(root_volume_gib=29)), "BK-C5")[0].why
    assert "whole number of GiB" in errors_of(check_compute(ec2(root_volume_gib=31.5)), "BK-C5")[0].why


def test_rejects_a_malformed_ami_id() -> None:
    assert errors_of(check_compute(ec2(image_id="ami-xyz")), "BK-C14")[0].value == "ami-xyz"
    assert errors_of(check_compute(ec2(image_id="ami-0123456789abcdef0")), "BK-C14") == []
    assert errors_of(check_compute(ec2(image_id=TOKEN)), "BK-C14") == []


@pytest.mark.parametrize(
    ("tags", "why"),
    [
        ({f"k{i}": "v" for i in range(51)}, "at most 50 tags"),
        ({"k" * 129: "v"}, "tag keys are 1-128"),
        ({"k": "v" * 257}, "tag values are at most 256"),
        ({"aws:team": "x"}, "aws: prefix"),
        ({"team": "AWS:x"}, "aws: prefix"),
    ],
)
def test_rejects_tags_aws_refuses(tags: dict[str, str], why: str) -> None:
    assert why in errors_of(check_compute(ec2(tags=tags)), "BK-C17")[0].why


def test_rejects_subnets_outside_the_network_or_with_cluster_placement() -> None:
    outside = ec2(subnets=(("s-9", "Other/Subnet"),), network_subnets=("s-1", "s-2"))
    assert errors_of(check_compute(outside), "BK-C16")[0].value == ["Other/Subnet"]
    placed = ec2(subnets=(("s-1", "Net/Subnet1"),), network_subnets=("s-1",), cluster_placement=True)
    assert "cluster_placement" in errors_of(check_compute(placed), "BK-C16")[0].why
    inside = ec2(subnets=(("s-1", "Net/Subnet1"),), network_subnets=("s-1", "s-2"))
    assert errors_of(check_compute(inside), "BK-C16") == []


def _template(**kwargs: Any) -> LaunchTemplateFacts:
    values: dict[str, Any] = {
        "label": "App/Template",
        "http_tokens": "required",
        "hop_limit": 2,
        "volumes": (EbsVolume("/dev/xvda", True),),
    }
    values.update(kwargs)
    return LaunchTemplateFacts(**values)


def test_rejects_a_template_without_imdsv2_or_with_a_high_hop_limit() -> None:
    assert (
        "HttpTokens is 'optional'"
        in errors_of(check_compute(ec2(launch_template=_template(http_tokens="optional"))), "BK-C10")[0].why
    )
    assert (
        "hop limit 3"
        in errors_of(check_compute(ec2(launch_template=_template(hop_limit=3))), "BK-C10")[0].why
    )


def test_rejects_an_unencrypted_volume_and_warns_without_a_root_volume() -> None:
    plain = _template(volumes=(EbsVolume("/dev/xvda", None),))
    assert (
        "/dev/xvda is not encrypted" in errors_of(check_compute(ec2(launch_template=plain)), "BK-C11")[0].why
    )
    snapshot = _template(volumes=(EbsVolume("/dev/xvda", None, snapshot=True),))
    assert errors_of(check_compute(ec2(launch_template=snapshot)), "BK-C11") == []
    rootless = [p for p in check_compute(ec2(launch_template=_template(volumes=()))) if p.rule == "BK-C11"]
    assert rootless[0].warning and "maps no root volume" in rootless[0].why


def test_rejects_plain_user_data_and_the_library_template_props_next_to_yours() -> None:
    plain = _template(has_user_data=True, multipart_user_data=False)
    assert "MIME multipart" in errors_of(check_compute(ec2(launch_template=plain)), "BK-C12")[0].why
    props = ec2(launch_template=_template(), library_template_props=("user_data_commands",))
    assert "root_volume_size and user_data_commands" in errors_of(check_compute(props), "BK-C12")[0].why


def test_warns_that_an_imported_template_is_not_checked() -> None:
    imported = LaunchTemplateFacts("lt-0123", imported=True, version="7", sets_image=None)
    found = [p for p in check_compute(ec2(launch_template=imported)) if p.rule == "BK-C13"]
    assert found[0].warning and "referenced as version 7" in found[0].why
    assert not errors_of(check_compute(ec2(launch_template=imported)), "BK-C10")


def test_warns_about_a_key_pair() -> None:
    found = [p for p in check_compute(ec2(key_pair="ops")) if p.rule == "BK-C15"]
    assert found[0].warning and "Session Manager" in found[0].why


def test_warns_when_an_l2_fargate_environment_renders_update_fields() -> None:
    rendered = ComputeSettings(ComputeKind.FARGATE, maxv_cpus=8, update_fields=("ReplaceComputeEnvironment",))
    found = [p for p in check_compute(rendered, described=True) if p.rule == "BK-C9"]
    assert found[0].warning and "aws-cdk#27054" in found[0].why
    assert fargate_not_updatable(ComputeKind.FARGATE_SPOT) == rules.FARGATE_NOT_UPDATABLE
    assert fargate_not_updatable(EC2) == ()


@pytest.mark.parametrize("name", ["my env", "x" * 129, "", "env.1"])
def test_rejects_compute_environment_names_batch_refuses(name: str) -> None:
    assert errors_of(check_compute(ec2(name=name)), "BK-C21")[0].prop == "compute_environment_name"


def test_accepts_compute_environment_names_batch_takes() -> None:
    for name in ("Env_1-a", "x" * 128, TOKEN, None):
        assert errors_of(check_compute(ec2(name=name)), "BK-C21") == []


# -- ECS Managed Instances (BK-I3, BK-I4) ----------------------------------------------------------
def _mi(**kwargs: Any) -> ComputeSettings:
    return ComputeSettings(ComputeKind.ECS_MANAGED_INSTANCES, maxv_cpus=64, **kwargs)


def test_rejects_managed_instances_aliases_unknown_types_and_storage() -> None:
    assert "Batch alias" in errors_of(check_compute(_mi(instance_types=("optimal",))), "BK-I3")[0].why
    assert "m7i.2xlarg" in errors_of(check_compute(_mi(instance_types=("m7i.2xlarg",))), "BK-I3")[0].why
    assert errors_of(check_compute(_mi(instance_types=("m7i.*", "c7g.2xlarge"))), "BK-I3") == []
    assert "between 1 and 16384" in errors_of(check_compute(_mi(storage_gib=16_385)), "BK-I3")[0].why
    assert "whole number of GiB" in errors_of(check_compute(_mi(storage_gib=1.5)), "BK-I3")[0].why


@pytest.mark.parametrize(
    ("seconds", "why"), [(3601, "between 0 and 3600"), (-2, "-1 (never"), (1.5, "whole")]
)
def test_rejects_a_scale_in_delay_ecs_refuses(seconds: float, why: str) -> None:
    assert why in errors_of(check_compute(_mi(scale_in_after_seconds=seconds)), "BK-I4")[0].why


def test_accepts_never_and_the_bounds_of_the_scale_in_delay() -> None:
    for seconds in (-1, 0, 3600):
        assert errors_of(check_compute(_mi(scale_in_after_seconds=seconds)), "BK-I4") == []


# -- service environments (BK-V1, BK-V4) -----------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "why"), [(0, "between 1 and"), (1.5, "whole number"), (True, "whole number")]
)
def test_rejects_service_capacity_below_one_or_not_whole(value: Any, why: str) -> None:
    found = check_service_environment(ServiceEnvironmentSettings(max_instances=value))
    assert found[0].rule == "BK-V1" and why in found[0].why


@pytest.mark.parametrize("name", ["training env", "a" * 129, "", "ml/env"])
def test_rejects_service_environment_names_batch_refuses(name: str) -> None:
    found = check_service_environment(ServiceEnvironmentSettings(name=name, max_instances=1))
    assert ids(found) == ["BK-V4"] and found[0].prop == "service_environment_name"
    assert "1-128 letters, digits, hyphens (-) and underscores (_)" in found[0].why


def test_accepts_service_environment_names_batch_takes() -> None:
    for name in ("training_env-1", "a" * 128, TOKEN, None):
        assert check_service_environment(ServiceEnvironmentSettings(name=name, max_instances=1)) == []


# -- queues (BK-Q6 .. BK-Q10) ----------------------------------------------------------------------
def test_queues_of_managed_instances_render_their_type_only() -> None:
    from cdk_batchkit.model import ComputeProfile

    mi = ComputeProfile(ComputeKind.ECS_MANAGED_INSTANCES, architecture=None)
    assert queue_type((("a", mi),)) == "ECS_MANAGED_INSTANCES"
    assert queue_type((("a", ComputeProfile(EC2)),)) is None
    assert queue_type((("a", None),)) is None


@pytest.mark.parametrize(
    ("arn", "why"),
    [
        ("my-queue", "is not an ARN"),
        ("arn:aws:batch:us-east-1:111122223333:job-definition/render:3", "is a Batch job-definition ARN"),
        ("arn:aws:sqs:us-east-1:111122223333:inbox", "is an ARN of sqs"),
        ("arn:aws:batch:us-east-1:111122223333:job-queue", "names no job queue"),
    ],
)
def test_rejects_a_queue_importer_given_a_name_or_another_arn(arn: str, why: str) -> None:
    found = queue_arn(arn)
    assert found[0].rule == "BK-Q7" and why in found[0].why and "job-queue/NAME" in found[0].why


def test_accepts_queue_arns_and_tokens() -> None:
    for arn in (
        "arn:aws:batch:us-east-1:111122223333:job-queue/q",
        "arn:aws-cn:batch:cn-north-1:111122223333:job-queue/q",
        f"arn:{TOKEN}:batch:{TOKEN}:{TOKEN}:job-queue/q",
        TOKEN,
    ):
        assert queue_arn(arn) == []


def test_rejects_a_queue_priority_out_of_range() -> None:
    found = check_queue_settings(QueueSettings(priority=1001))
    assert ids(found) == ["BK-Q8"] and "between 0 and 1000" in found[0].why


def test_rejects_job_state_time_limits_out_of_range() -> None:
    found = check_queue_settings(QueueSettings(state_time_limits=(("cancel_misfit_after", 599), ("x", None))))
    assert ids(found) == ["BK-Q9"] and found[0].value == "599 s"


@pytest.mark.parametrize("name", ["my queue", "q" * 129, "q:1"])
def test_rejects_job_queue_names_batch_refuses(name: str) -> None:
    assert ids(check_queue_settings(QueueSettings(name=name))) == ["BK-Q10"]


# -- fair share (BK-S4, BK-S6, BK-S7) --------------------------------------------------------------
def test_rejects_fair_share_values_out_of_range() -> None:
    assert ids(check_fair_share(FairSharePolicy())) == ["BK-S4"]
    found = check_fair_share(
        FairSharePolicy.of({"a": 1000.0}, share_decay_seconds=604_801, compute_reservation=100)
    )
    assert [p.prop for p in found] == ["shares['a']", "share_decay", "compute_reservation"]
    assert "must be between 0.0001 and 999.9999" in found[0].why


@pytest.mark.parametrize("ident", ["team-a", "team a", "*", "a**", "x" * 256, ""])
def test_rejects_share_identifiers_that_are_not_alphanumeric(ident: str) -> None:
    found = check_fair_share(FairSharePolicy.of({ident: 1.0}))
    assert ids(found) == ["BK-S6"] and found[0].value == ident


@pytest.mark.parametrize(
    "pair",
    [("UserA*", "UserA1"), ("UserA1", "UserA*"), ("UserA*", "UserAB*"), ("UserA", "UserA*"), ("a", "a")],
)
def test_rejects_overlapping_share_identifiers(pair: tuple[str, str]) -> None:
    found = check_fair_share(FairSharePolicy.of(list(zip(pair, (1.0, 2.0), strict=True))))
    assert ids(found) == ["BK-S7"] and "overlap" in found[0].why


def test_accepts_distinct_identifiers_and_lists_them_for_the_queue() -> None:
    policy = FairSharePolicy.of({"UserA*": 1.0, "UserB1": 0.5, "UserB2": 0.5})
    assert check_fair_share(policy) == []
    assert policy.share_identifiers == ("UserA*", "UserB1", "UserB2")
    assert FairSharePolicy.of({TOKEN: 1.0}).share_identifiers is None


def test_a_fair_share_policy_parses_from_the_api_and_cloudformation() -> None:
    api = {"shareDecaySeconds": 60, "computeReservation": 5, "shareDistribution": [
        {"shareIdentifier": "a*", "weightFactor": 0.5}]}  # fmt: skip
    cfn = {"ShareDecaySeconds": 60, "ComputeReservation": 5, "ShareDistribution": [
        {"ShareIdentifier": "a*", "WeightFactor": 0.5}]}  # fmt: skip
    assert (
        FairSharePolicy.from_api(api)
        == FairSharePolicy.from_api(cfn)
        == FairSharePolicy((("a*", 0.5),), 60.0, 5)
    )


# -- consumable resources (BK-R3) ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("settings", "prop", "why"),
    [
        (ConsumableResourceSettings(-1), "total_quantity", "non-negative"),
        (ConsumableResourceSettings(2.5), "total_quantity", "whole number of units"),
        (ConsumableResourceSettings("4"), "total_quantity", "must be a whole number"),
        (ConsumableResourceSettings(1, name=" "), "consumable_resource_name", "must not be empty"),
        (ConsumableResourceSettings(1, tags={"k" * 129: "v"}), "tags", "tag keys are 1-128"),
    ],
)
def test_rejects_consumable_resources_batch_refuses(
    settings: ConsumableResourceSettings, prop: str, why: str
) -> None:
    found = consumable_resource_values(settings)
    assert found[0].rule == "BK-R3" and found[0].prop == prop and why in found[0].why


# -- parsing and facts -------------------------------------------------------------------------------
def test_settings_parse_from_the_api_and_cloudformation_alike() -> None:
    api = {
        "computeEnvironmentName": "env",
        "type": "MANAGED",
        "computeResources": {
            "type": "SPOT",
            "minvCpus": 0,
            "maxvCpus": 64,
            "instanceTypes": ["c7g", "optimal"],
            "allocationStrategy": "SPOT_PRICE_CAPACITY_OPTIMIZED",
            "bidPercentage": 80,
            "ec2Configuration": [{"imageType": "ECS_AL2023"}],
        },
        "updatePolicy": {"jobExecutionTimeoutMinutes": 30},
        "replaceComputeEnvironment": False,
    }
    cfn = {
        "ComputeEnvironmentName": "env",
        "Type": "managed",
        "ComputeResources": {
            "Type": "SPOT",
            "MinvCpus": 0,
            "MaxvCpus": 64,
            "InstanceTypes": ["c7g", "optimal"],
            "AllocationStrategy": "SPOT_PRICE_CAPACITY_OPTIMIZED",
            "BidPercentage": 80,
            "Ec2Configuration": [{"ImageType": "ECS_AL2023"}],
        },
        "UpdatePolicy": {"JobExecutionTimeoutMinutes": 30},
        "ReplaceComputeEnvironment": False,
    }
    settings = ComputeSettings.from_api(api)
    assert settings == ComputeSettings.from_api(cfn)
    assert settings.kind is ComputeKind.EC2_SPOT and settings.spot_bid_percentage == 80
    assert settings.update_timeout_seconds == 1800 and settings.replace_compute_environment is False
    assert settings.amazon_linux_2023 is True and settings.swap is False
    managed = ComputeSettings.from_api(
        {
            "computeResources": {
                "type": "ECS_MANAGED_INSTANCES",
                "maxvCpus": 8,
                "managedInstancesProvider": {
                    "instanceLaunchTemplate": {
                        "capacityOptionType": "SPOT",
                        "instanceRequirements": {"allowedInstanceTypes": ["m7i.*"]},
                        "storageConfiguration": {"storageSizeGiB": 100},
                    },
                    "infrastructureOptimization": {"scaleInAfter": -1},
                },
            }
        }
    )
    assert managed.kind is ComputeKind.ECS_MANAGED_INSTANCES_SPOT and managed.instance_types == ("m7i.*",)
    assert managed.storage_gib == 100 and managed.scale_in_after_seconds == -1
    eks = ComputeSettings.from_api({"eksConfiguration": {"kubernetesNamespace": "b"}, "computeResources": {}})
    assert eks.kind is ComputeKind.EKS


def test_amazon_linux_2023_and_swap_are_known_only_for_batch_images() -> None:
    ours = ec2(image_type="ECS_AL2023")
    assert (ours.amazon_linux_2023, ours.swap) == (True, False)
    assert ec2(image_type="ECS_AL2023", user_data_swap=True).swap is True
    assert ec2(image_type="ECS_AL2").amazon_linux_2023 is False
    # Batch's default image type changed from AL2 to AL2023 in 2026: not knowable from the settings.
    assert ec2().amazon_linux_2023 is None and ec2().swap is False
    for custom in (
        ec2(image_type="ECS_AL2023", image_id="ami-0123456789abcdef0"),
        ec2(image_type="ECS_AL2023", custom_image=True),
        ec2(
            image_type="ECS_AL2023", launch_template=LaunchTemplateFacts("lt", imported=True, sets_image=None)
        ),
        ec2(image_type="ECS_AL2023", launch_template=_template(sets_image=True)),
    ):
        assert (custom.amazon_linux_2023, custom.swap) == (None, None)
    yours = ec2(image_type="ECS_AL2023", launch_template=_template(has_user_data=True, user_data_swap=True))
    assert (yours.amazon_linux_2023, yours.swap) == (True, True)
    fargate = ComputeSettings(ComputeKind.FARGATE).profile()
    assert (fargate.amazon_linux_2023, fargate.swap, fargate.architecture) == (None, None, None)
    assert user_data_creates_swap("fallocate -l 4G /swap && mkswap /swap && swapon /swap") is True
    assert user_data_creates_swap("echo hi  # no swap here: swapfile") is False
    assert user_data_creates_swap(None) is None


def test_every_rule_here_is_registered_once_with_a_source() -> None:
    for rule_id in (
        *(f"BK-C{i}" for i in (*range(1, 18), 19, 20, 21)),
        "BK-I3",
        "BK-I4",
        "BK-V1",
        "BK-V4",
        *(f"BK-Q{i}" for i in range(6, 11)),
        "BK-S4",
        "BK-S6",
        "BK-S7",
        "BK-R3",
    ):
        assert RULES[rule_id].source.startswith("https://docs.aws.amazon.com/"), rule_id
