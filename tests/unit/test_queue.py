"""JobQueue: ordered environments, stuck-job actions, spot_first, fair share, validation.

Several queues share the compute environments of one stack, synthesized once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Duration
from aws_cdk.assertions import Match, Template

from cdk_batchkit.constructs import (
    Architecture,
    Ec2ComputeEnvironment,
    FairShare,
    FargateComputeEnvironment,
    JobQueue,
    UnmanagedComputeEnvironment,
)
from tests.support import network, new_stack, template_of

MISFIT_REASONS = (
    "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
    "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE",
)
CAPACITY_REASON = "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY"


@dataclass
class Synth:
    stack: cdk.Stack
    template: Template
    resources: dict[str, Any]
    envs: dict[str, Any]
    queues: dict[str, JobQueue]

    def queue(self, name: str) -> dict[str, Any]:
        child = self.queues[name].resource.node.default_child
        assert child is not None
        res = self.resources[self.stack.resolve(child.logical_id)]  # type: ignore[attr-defined]
        assert res["Type"] == "AWS::Batch::JobQueue"
        return res["Properties"]

    def arn(self, env: str) -> Any:
        return self.stack.resolve(self.envs[env].compute_environment_arn)


@pytest.fixture(scope="module")
def synth() -> Synth:
    stack = new_stack("Queues")
    net = network(stack)
    envs: dict[str, Any] = {
        "OnDemand": Ec2ComputeEnvironment(stack, "OnDemand", network=net),
        "Spot": Ec2ComputeEnvironment(stack, "Spot", network=net, spot=True),
        "Fargate": FargateComputeEnvironment(stack, "Fargate", network=net),
        "FargateSpot": FargateComputeEnvironment(stack, "FargateSpot", network=net, spot=True),
        "Unmanaged": UnmanagedComputeEnvironment(stack, "Unmanaged", unmanagedv_cpus=16),
    }
    queues = {
        "Default": JobQueue(stack, "Default", compute_environments=[envs["OnDemand"], envs["Spot"]]),
        "Custom": JobQueue(
            stack,
            "Custom",
            compute_environments=[envs["Fargate"]],
            priority=500,
            cancel_misfit_after=Duration.minutes(30),
            cancel_no_capacity_after=Duration.hours(1),
        ),
        "NoCancel": JobQueue(
            stack, "NoCancel", compute_environments=[envs["Unmanaged"]], cancel_stuck_jobs=False
        ),
        "SpotFirst": JobQueue.spot_first(stack, "SpotFirst", spot=envs["Spot"], on_demand=envs["OnDemand"]),
        "FargateSpotFirst": JobQueue.spot_first(
            stack, "FargateSpotFirst", spot=envs["FargateSpot"], on_demand=envs["Fargate"], priority=7
        ),
        "FairShare": JobQueue(
            stack,
            "FairShare",
            compute_environments=[envs["OnDemand"], envs["Unmanaged"]],
            fair_share=FairShare(
                shares={"teamA": 1.0, "teamB*": 0.5},
                share_decay=Duration.minutes(30),
                compute_reservation=10,
            ),
        ),
    }
    template = template_of(stack)
    return Synth(stack, template, template.to_json()["Resources"], envs, queues)


# --- ordering and priority --------------------------------------------------------------------


def test_environments_are_ordered_as_given(synth: Synth) -> None:
    assert synth.queue("Default")["ComputeEnvironmentOrder"] == [
        {"ComputeEnvironment": synth.arn("OnDemand"), "Order": 1},
        {"ComputeEnvironment": synth.arn("Spot"), "Order": 2},
    ]
    assert synth.queues["Default"].compute_environments == (synth.envs["OnDemand"], synth.envs["Spot"])


def test_default_priority_is_1(synth: Synth) -> None:
    assert synth.queue("Default")["Priority"] == 1
    assert synth.queue("Custom")["Priority"] == 500


def test_profiles_are_keyed_by_environment_path(synth: Synth) -> None:
    profiles = synth.queues["Default"].profiles
    assert list(profiles) == ["Queues/OnDemand", "Queues/Spot"]
    assert profiles["Queues/Spot"].spot is True


# --- stuck jobs -------------------------------------------------------------------------------


def _actions(props: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["Reason"]: a for a in props.get("JobStateTimeLimitActions", [])}


def test_stuck_runnable_jobs_are_cancelled_by_default(synth: Synth) -> None:
    actions = _actions(synth.queue("Default"))
    assert set(actions) == {*MISFIT_REASONS, CAPACITY_REASON}
    assert len(synth.queue("Default")["JobStateTimeLimitActions"]) == 3
    for reason in MISFIT_REASONS:
        assert actions[reason] == {
            "Action": "CANCEL",
            "MaxTimeSeconds": 600,
            "Reason": reason,
            "State": "RUNNABLE",
        }
    assert actions[CAPACITY_REASON] == {
        "Action": "CANCEL",
        "MaxTimeSeconds": 14400,
        "Reason": CAPACITY_REASON,
        "State": "RUNNABLE",
    }


def test_stuck_job_durations_are_configurable(synth: Synth) -> None:
    actions = _actions(synth.queue("Custom"))
    assert {r: a["MaxTimeSeconds"] for r, a in actions.items()} == {
        MISFIT_REASONS[0]: 1800,
        MISFIT_REASONS[1]: 1800,
        CAPACITY_REASON: 3600,
    }


def test_cancel_stuck_jobs_false_removes_the_actions(synth: Synth) -> None:
    assert "JobStateTimeLimitActions" not in synth.queue("NoCancel")
    assert synth.queue("NoCancel")["ComputeEnvironmentOrder"] == [
        {"ComputeEnvironment": synth.arn("Unmanaged"), "Order": 1}
    ]


# --- spot_first -------------------------------------------------------------------------------


def test_spot_first_puts_spot_at_order_1(synth: Synth) -> None:
    assert synth.queue("SpotFirst")["ComputeEnvironmentOrder"] == [
        {"ComputeEnvironment": synth.arn("Spot"), "Order": 1},
        {"ComputeEnvironment": synth.arn("OnDemand"), "Order": 2},
    ]
    assert len(synth.queue("SpotFirst")["JobStateTimeLimitActions"]) == 3


def test_spot_first_works_with_fargate_and_passes_priority(synth: Synth) -> None:
    props = synth.queue("FargateSpotFirst")
    assert props["ComputeEnvironmentOrder"] == [
        {"ComputeEnvironment": synth.arn("FargateSpot"), "Order": 1},
        {"ComputeEnvironment": synth.arn("Fargate"), "Order": 2},
    ]
    assert props["Priority"] == 7


# --- fair share -------------------------------------------------------------------------------


def test_fair_share_creates_a_scheduling_policy(synth: Synth) -> None:
    synth.template.resource_count_is("AWS::Batch::SchedulingPolicy", 1)
    synth.template.has_resource_properties(
        "AWS::Batch::SchedulingPolicy",
        {
            "FairsharePolicy": {
                "ComputeReservation": 10,
                "ShareDecaySeconds": 1800,
                "ShareDistribution": Match.array_with(
                    [
                        {"ShareIdentifier": "teamA", "WeightFactor": 1},
                        {"ShareIdentifier": "teamB*", "WeightFactor": 0.5},
                    ]
                ),
            }
        },
    )


def test_fair_share_queue_references_the_policy(synth: Synth) -> None:
    policy = synth.queues["FairShare"].scheduling_policy
    assert policy is not None
    assert synth.queue("FairShare")["SchedulingPolicyArn"] == synth.stack.resolve(
        policy.scheduling_policy_arn
    )
    assert synth.queues["Default"].scheduling_policy is None
    assert "SchedulingPolicyArn" not in synth.queue("Default")


# --- validation -------------------------------------------------------------------------------


def _unmanaged(stack: cdk.Stack, count: int) -> list[UnmanagedComputeEnvironment]:
    return [UnmanagedComputeEnvironment(stack, f"Unmanaged{i}") for i in range(count)]


@pytest.mark.parametrize("count", [0, 4])
def test_rejects_environment_count_outside_1_to_3(count: int) -> None:
    stack = new_stack()
    with pytest.raises(ValueError, match=r"compute_environments=.* is invalid: needs 1 to 3 environments"):
        JobQueue(stack, "Queue", compute_environments=_unmanaged(stack, count))


def test_rejects_the_same_environment_twice() -> None:
    stack = new_stack()
    (env,) = _unmanaged(stack, 1)
    with pytest.raises(ValueError, match=r"compute_environments=.* is invalid: lists an environment twice"):
        JobQueue(stack, "Queue", compute_environments=[env, env])


def test_rejects_fargate_mixed_with_ec2() -> None:
    stack = new_stack()
    net = network(stack)
    envs = [
        FargateComputeEnvironment(stack, "Fargate", network=net),
        Ec2ComputeEnvironment(stack, "Ec2", network=net),
    ]
    with pytest.raises(ValueError, match=r"compute_environments=.* is invalid: mixes Fargate and EC2"):
        JobQueue(stack, "Queue", compute_environments=envs)


def test_rejects_fargate_mixed_with_unmanaged() -> None:
    stack = new_stack()
    envs = [
        UnmanagedComputeEnvironment(stack, "Unmanaged"),
        FargateComputeEnvironment(stack, "F", network=network(stack)),
    ]
    with pytest.raises(ValueError, match=r"compute_environments=.* is invalid: mixes Fargate and EC2"):
        JobQueue(stack, "Queue", compute_environments=envs)


def test_rejects_x86_mixed_with_arm64() -> None:
    stack = new_stack()
    net = network(stack)
    envs = [
        Ec2ComputeEnvironment(stack, "X86", network=net),
        Ec2ComputeEnvironment(stack, "Arm", network=net, architecture=Architecture.ARM64),
    ]
    with pytest.raises(
        ValueError, match=r"compute_environments=.* is invalid: mixes CPU architectures arm64, x86_64"
    ):
        JobQueue(stack, "Queue", compute_environments=envs)


def test_rejects_unmanaged_arm64_mixed_with_ec2_x86() -> None:
    stack = new_stack()
    envs = [
        Ec2ComputeEnvironment(stack, "X86", network=network(stack)),
        UnmanagedComputeEnvironment(stack, "Arm", architecture=Architecture.ARM64),
    ]
    with pytest.raises(ValueError, match=r"compute_environments=.* is invalid: mixes CPU architectures"):
        JobQueue(stack, "Queue", compute_environments=envs)


@pytest.mark.parametrize("priority", [-1, 1001])
def test_rejects_priority_out_of_range(priority: int) -> None:
    stack = new_stack()
    with pytest.raises(ValueError, match=rf"priority={priority} is invalid: must be between 0 and 1000"):
        JobQueue(stack, "Queue", compute_environments=_unmanaged(stack, 1), priority=priority)


@pytest.mark.parametrize("prop", ["cancel_misfit_after", "cancel_no_capacity_after"])
@pytest.mark.parametrize("seconds", [599, 86_401])
def test_rejects_cancel_durations_out_of_range(prop: str, seconds: int) -> None:
    stack = new_stack()
    duration: dict[str, Any] = {prop: Duration.seconds(seconds)}
    with pytest.raises(
        ValueError, match=rf"{prop}='{seconds} s' is invalid: must be between 600 and 86400 seconds"
    ):
        JobQueue(stack, "Queue", compute_environments=_unmanaged(stack, 1), **duration)


def test_rejects_spot_first_with_on_demand_first() -> None:
    stack = new_stack()
    net = network(stack)
    on_demand = Ec2ComputeEnvironment(stack, "OnDemand", network=net)
    other = Ec2ComputeEnvironment(stack, "OtherOnDemand", network=net)
    with pytest.raises(
        ValueError, match=r"spot='Test/OnDemand' is invalid: spot_first needs a Spot environment"
    ):
        JobQueue.spot_first(stack, "Queue", spot=on_demand, on_demand=other)


def test_rejects_spot_first_with_spot_second() -> None:
    stack = new_stack()
    net = network(stack)
    spot = Ec2ComputeEnvironment(stack, "Spot", network=net, spot=True)
    other = Ec2ComputeEnvironment(stack, "OtherSpot", network=net, spot=True)
    with pytest.raises(
        ValueError, match=r"on_demand='Test/OtherSpot' is invalid: spot_first needs an on-demand"
    ):
        JobQueue.spot_first(stack, "Queue", spot=spot, on_demand=other)


def _fair_share_queue(fair_share: FairShare) -> JobQueue:
    stack = new_stack()
    return JobQueue(stack, "Queue", compute_environments=_unmanaged(stack, 1), fair_share=fair_share)


def test_rejects_fair_share_without_shares() -> None:
    with pytest.raises(
        ValueError, match=r"fair_share\.shares=\{\} is invalid: needs at least one share identifier"
    ):
        _fair_share_queue(FairShare())


@pytest.mark.parametrize("weight", [0, 1000])
def test_rejects_fair_share_weight_out_of_range(weight: float) -> None:
    with pytest.raises(
        ValueError, match=r"fair_share\.shares\['team'\]=.* is invalid: must be between 0.0001 and"
    ):
        _fair_share_queue(FairShare(shares={"team": weight}))


def test_rejects_fair_share_empty_identifier() -> None:
    with pytest.raises(ValueError, match=r"fair_share\.shares='' is invalid: share identifiers are 1-255"):
        _fair_share_queue(FairShare(shares={"": 1.0}))


def test_rejects_fair_share_compute_reservation_100() -> None:
    with pytest.raises(
        ValueError, match=r"fair_share\.compute_reservation=100 is invalid: must be between 0 and 99"
    ):
        _fair_share_queue(FairShare(shares={"team": 1.0}, compute_reservation=100))


def test_rejects_fair_share_decay_above_a_week() -> None:
    with pytest.raises(ValueError, match=r"fair_share\.share_decay=.* is invalid"):
        _fair_share_queue(FairShare(shares={"team": 1.0}, share_decay=Duration.days(8)))
