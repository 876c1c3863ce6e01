"""The submission rules and the rules of the paths that deliver work (submitter, events, schedules, workflow
graph), on model values: no stack is synthesized here. Each rule has a test_rejects_... that fails without it;
every submit path and shape renders a request botocore's SubmitJob model accepts."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from cdk_batchkit.model import (
    RULES,
    ComputeKind,
    ComputeProfile,
    ConsumableRequest,
    ContainerSpec,
    FromInput,
    Integration,
    JobRequirements,
    JobSpec,
    NodeGroup,
    NodeOverrideSpec,
    NodeRangeSpec,
    Overrides,
    Platform,
    QueueProfile,
    Submission,
    SubmitPath,
    SubmitShape,
)
from cdk_batchkit.model.delivery import Delivery, SubmitterSettings
from cdk_batchkit.model.rules import (
    check_schedule,
    delivery_limits,
    flexible_window,
    job_name_and_parameters,
    key_filters,
    manifest_prefix_rule,
    submitter_limits,
    workflow_steps,
    workflow_timeout,
    write_prefix_rule,
)
from cdk_batchkit.model.submission import STEP_FUNCTIONS_OPTIMIZED_FIELDS, pascal

SUBMIT_JOB = (
    botocore.session.get_session().get_service_model("batch").operation_model("SubmitJob").input_shape
)
EC2 = QueueProfile.of(
    {
        "Env": ComputeProfile(
            ComputeKind.EC2, maxv_cpus=64, instance_types=("c6i",), private_egress=True, node_traffic=True
        )
    }
)
SINGLE = JobSpec(Platform.EC2, containers=(ContainerSpec(vcpus=2, memory_mib=4096),), label="Single")
SINGLE_NEEDS = JobRequirements(Platform.EC2, 2, 4096)
TASK = JobSpec(
    Platform.EC2,
    shape=SubmitShape.ECS_TASK,
    containers=(
        ContainerSpec(name="app", vcpus=2, memory_mib=4096),
        ContainerSpec(name="log", essential=False),
    ),
    override_container="app",
    label="Task",
)
EKS = JobSpec(Platform.EKS, shape=SubmitShape.EKS, containers=(ContainerSpec(name="main"),), label="Pod")
#: Nodes 0 (main, 2 vCPUs) and 1-2 (workers, 4 vCPUs), the last range open.
MNP = JobSpec(
    Platform.EC2,
    shape=SubmitShape.NODE,
    node_ranges=(
        NodeRangeSpec(0, 0, ContainerSpec(vcpus=2, memory_mib=4096)),
        NodeRangeSpec(1, None, ContainerSpec(vcpus=4, memory_mib=8192)),
    ),
    num_nodes=3,
    main_node=0,
    label="Mnp",
)
MNP_NEEDS = MNP.requirements()
SHAPES = {
    SubmitShape.CONTAINER: SINGLE,
    SubmitShape.ECS_TASK: TASK,
    SubmitShape.EKS: EKS,
    SubmitShape.NODE: MNP,
}


def _rules(problems: list[Any]) -> list[str]:
    return [p.rule for p in problems]


def _resolved(value: Any) -> Any:
    """FromInput values as the path resolves them (a string; a JSON field parsed to a number)."""
    if isinstance(value, FromInput):
        return 7 if value.json else "resolved"
    if isinstance(value, dict):
        return {k: _resolved(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolved(v) for v in value]
    return value


def _valid(request: dict[str, Any]) -> None:
    full = {"jobName": "n", "jobQueue": "q", "jobDefinition": "d", **_resolved(request)}
    report = ParamValidator().validate(full, SUBMIT_JOB)
    assert not report.has_errors(), report.generate_report()


# -- every path, every shape -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path", [SubmitPath.LAMBDA, SubmitPath.SCHEDULER, SubmitPath.STEP_FUNCTIONS, SubmitPath.EVENTBRIDGE]
)
@pytest.mark.parametrize("shape", list(SubmitShape))
def test_every_path_and_shape_renders_a_request_botocore_accepts(
    path: SubmitPath, shape: SubmitShape
) -> None:
    job = SHAPES[shape]
    resized = shape not in (SubmitShape.EKS, SubmitShape.NODE)
    sub = Submission(
        path,
        EC2,
        job,
        share_identifier="teamA",
        scheduling_priority=10,
        consumables=(
            ConsumableRequest("Licences", 1, arn="arn:aws:batch:us-east-1:1:consumable-resource/l"),
        ),
        overrides=Overrides(
            command=("run",),
            environment=(("A", "1"), ("KEY", FromInput("key"))),
            vcpus=4 if resized else None,
            memory_mib=8192 if resized else None,
        ),
        node_overrides=(NodeOverrideSpec("1:", Overrides(vcpus=8, instance_type="c6i.2xlarge")),)
        if shape is SubmitShape.NODE
        else (),
        num_nodes=4 if shape is SubmitShape.NODE else None,
        array_size=None if shape is SubmitShape.NODE else FromInput("count"),
        attempts=2,
        timeout_seconds=600,
        tags={"team": "a"},
        job_name="job-1",
        parameters={"key": "k"},
        propagate_tags=True,
    )
    request = sub.request()
    _valid(request)
    shaped = {"containerOverrides", "ecsPropertiesOverride", "eksPropertiesOverride", "nodeOverrides"}
    assert [k for k in request if k in shaped] == [shape.value]
    # Step Functions and Scheduler take the same fields in PascalCase, the user's maps as written.
    upper = pascal(request)
    assert upper["Tags"] == {"team": "a"} and upper["Parameters"] == {"key": "k"}


def test_overrides_for_every_node_are_merged_with_each_ranges_own() -> None:
    sub = Submission(
        SubmitPath.LAMBDA,
        EC2,
        MNP,
        overrides=Overrides(environment=(("KEY", "k"),)),
        node_overrides=(
            NodeOverrideSpec("1:", Overrides(command=("work",), environment=(("KEY", "worker"),))),
        ),
    )
    listed = sub.request()["nodeOverrides"]["nodePropertyOverrides"]
    assert [o["targetNodes"] for o in listed] == ["0:0", "1:"]
    assert listed[0]["containerOverrides"] == {"environment": [{"name": "KEY", "value": "k"}]}
    assert listed[1]["containerOverrides"] == {
        "command": ["work"],
        "environment": [{"name": "KEY", "value": "worker"}],
    }
    assert sub.node_targets() == ("0:0", "1:")
    # Ranges unknown (an imported definition): the overrides' own targets, or every node.
    unknown = replace(MNP, node_ranges=())
    assert Submission(SubmitPath.LAMBDA, None, unknown).node_targets() == ("0:",)


# -- what each path carries --------------------------------------------------------------------------
def test_step_functions_uses_the_optimized_integration_only_for_what_it_documents() -> None:
    plain = Submission(
        SubmitPath.STEP_FUNCTIONS, EC2, SINGLE, overrides=Overrides(command=("x",)), attempts=2
    )
    assert plain.step_functions_integration() is Integration.OPTIMIZED
    assert set(plain.fields()) <= STEP_FUNCTIONS_OPTIMIZED_FIELDS
    for change in (
        {"share_identifier": "teamA"},
        {"scheduling_priority": 1},
        {"consumables": (ConsumableRequest("Licences", 1),)},
    ):
        assert replace(plain, **change).step_functions_integration() is Integration.SDK, change
    for job in (TASK, EKS, MNP):
        # The .sync integration adds containerOverrides, which Batch refuses for task and EKS jobs.
        assert Submission(SubmitPath.STEP_FUNCTIONS, EC2, job).step_functions_integration() is Integration.SDK


def test_rejects_fields_an_eventbridge_target_cannot_carry() -> None:
    sub = Submission(
        SubmitPath.EVENTBRIDGE,
        EC2,
        SINGLE,
        consumables=(ConsumableRequest("Licences", 1),),
        timeout_seconds=600,
        tags={"a": "b"},
    )
    problems = [p for p in sub.check() if p.rule == "BK-U3"]
    assert [(p.prop, p.value) for p in problems] == [
        ("timeout", "timeout"),
        ("tags", "tags"),
        ("consumable_resources", "consumableResourcePropertiesOverride"),
    ]
    assert "use S3JobSubmitter" in problems[0].why
    # The other paths carry every field.
    assert [p for p in replace(sub, path=SubmitPath.SCHEDULER).check() if p.rule == "BK-U3"] == []


def test_rejects_other_shapes_and_fair_share_on_an_eventbridge_target() -> None:
    assert _rules(Submission(SubmitPath.EVENTBRIDGE, EC2, EKS).check()) == ["BK-U1"]
    fair = replace(EC2, fair_share=True)
    assert _rules(Submission(SubmitPath.EVENTBRIDGE, fair, SINGLE).check())[:1] == ["BK-S3"]


# -- node overrides (issue 18) ------------------------------------------------------------------------
def test_rejects_node_overrides_on_a_single_container_definition() -> None:
    sub = Submission(SubmitPath.STEP_FUNCTIONS, EC2, SINGLE, node_overrides=(NodeOverrideSpec("1:"),))
    (problem,) = sub.check()
    assert (problem.rule, problem.prop) == ("BK-O3", "node_overrides")
    assert "is not a multi-node definition" in problem.why


def test_rejects_a_sub_range_and_malformed_targets() -> None:
    for target in ("1:2", "0:", "1:5"):
        sub = Submission(SubmitPath.STEP_FUNCTIONS, EC2, MNP, node_overrides=(NodeOverrideSpec(target),))
        assert [(p.rule, p.value) for p in sub.check()] == [("BK-O3", target)]
    malformed = Submission(SubmitPath.STEP_FUNCTIONS, EC2, MNP, node_overrides=(NodeOverrideSpec("x"),))
    (problem,) = malformed.check()
    assert problem.rule == "BK-O3" and "use 'a:b'" in problem.why


def test_an_override_that_keeps_sizes_on_a_range_not_starting_at_node_0_is_fine() -> None:
    """Used to crash synth with KeyError: 0 (node_overrides.py)."""
    same = Overrides(vcpus=4, memory_mib=8192)
    sub = Submission(
        SubmitPath.STEP_FUNCTIONS,
        EC2,
        MNP,
        node_overrides=(NodeOverrideSpec("1:", same),),
        requirements=MNP_NEEDS,
    )
    assert sub.check() == []
    grown = replace(sub, num_nodes=6)
    assert grown.check() == []


def test_rejects_a_multi_node_array_job_on_every_path() -> None:
    for path, size in (
        (SubmitPath.LAMBDA, "runtime"),
        (SubmitPath.SCHEDULER, 10),
        (SubmitPath.STEP_FUNCTIONS, FromInput("n")),
    ):
        (problem,) = Submission(path, EC2, MNP, array_size=size).check()
        assert problem.rule == "BK-O4" and "Multinode Array Job not supported" in problem.why
        assert ("PER_OBJECT" in problem.why) is (path is SubmitPath.LAMBDA)
    assert (
        Submission(SubmitPath.STEP_FUNCTIONS, EC2, MNP, array_size=FromInput("n")).check()[0].value == "$.n"
    )


# -- sizes, limits, names ----------------------------------------------------------------------------
def test_rejects_override_sizes_ec2_refuses() -> None:
    nodes = Submission(
        SubmitPath.STEP_FUNCTIONS,
        EC2,
        MNP,
        node_overrides=(NodeOverrideSpec("1:", Overrides(vcpus=0.5, memory_mib=2)),),
    )
    assert [(p.rule, p.prop) for p in nodes.check()] == [
        ("BK-O5", "node_overrides[0].vcpus"),
        ("BK-O5", "node_overrides[0].memory"),
    ]
    container = Submission(
        SubmitPath.STEP_FUNCTIONS, EC2, SINGLE, overrides=Overrides(vcpus=1.5), requirements=SINGLE_NEEDS
    )
    assert [(p.rule, p.prop) for p in container.check()] == [("BK-O5", "overrides.vcpus")]
    # Fargate takes fractions; an unknown platform (imported definition) is not judged.
    fargate = replace(container, requirements=replace(SINGLE_NEEDS, platform=Platform.FARGATE))
    assert [p.rule for p in fargate.check() if p.rule == "BK-O5"] == []
    assert replace(container, requirements=None).check() == []


def test_rejects_a_fargate_override_whose_size_is_no_fargate_pair() -> None:
    """BK-J3, the definition's own Fargate rule, applied to the job as overridden (through BK-O5)."""
    job = JobSpec(Platform.FARGATE, containers=(ContainerSpec(vcpus=0.25, memory_mib=512),))
    queue = QueueProfile.of([ComputeProfile(ComputeKind.FARGATE, architecture=None, maxv_cpus=16)])

    def check(overrides: Overrides) -> list[tuple[str, str, object]]:
        sub = Submission(
            SubmitPath.STEP_FUNCTIONS, queue, job, overrides=overrides, requirements=job.requirements()
        )
        return [(p.rule, p.prop, p.value) for p in sub.check()]

    assert check(Overrides(vcpus=1)) == [("BK-J3", "overrides.memory", "512 MiB")]
    assert check(Overrides(memory_mib=3000)) == [("BK-J3", "overrides.memory", "3000 MiB")]
    assert check(Overrides(vcpus=1, memory_mib=2048)) == []


def test_rejects_attempts_timeouts_and_dependencies_batch_refuses() -> None:
    base = Submission(SubmitPath.STEP_FUNCTIONS, EC2, SINGLE)
    assert [(p.rule, p.prop) for p in replace(base, attempts=11).check()] == [("BK-W1", "attempts")]
    assert [(p.rule, p.prop) for p in replace(base, attempts=0).check()] == [("BK-W1", "attempts")]
    (timeout,) = replace(base, timeout_seconds=30).check()
    assert (timeout.rule, timeout.value) == ("BK-W1", "30 s") and "at least 60" in timeout.why
    (deps,) = replace(base, depends_on=21).check()
    assert deps.rule == "BK-W1" and "at most 20 dependencies" in deps.why
    assert replace(base, attempts=10, timeout_seconds=60, depends_on=20).check() == []


def test_rejects_job_names_and_parameters_batch_refuses() -> None:
    base = Submission(SubmitPath.SCHEDULER, EC2, SINGLE)
    for name in ("has space", "-leading", "x" * 129):
        assert [(p.rule, p.prop) for p in replace(base, job_name=name).check()] == [("BK-E2", "job_name")]
    assert replace(base, job_name="a" * 128).check() == []
    assert replace(base, job_name="${Token[TOKEN.1]}").check() == []
    (param,) = replace(base, parameters={"n": 3}).check()
    assert (param.rule, param.prop) == ("BK-E2", "parameters['n']")
    (workflow_input,) = job_name_and_parameters(None, {"count": 3}, parameters_prop="input")
    assert workflow_input.prop == "input['count']" and workflow_input.rule == "BK-E2"


# -- the fit with overrides (BK-W2) ------------------------------------------------------------------
def test_rejects_overrides_that_no_longer_fit_the_queue() -> None:
    big = Submission(
        SubmitPath.STEP_FUNCTIONS, EC2, SINGLE, overrides=Overrides(vcpus=128), requirements=SINGLE_NEEDS
    )
    (problem,) = big.check()
    assert (problem.rule, problem.prop) == ("BK-W2", "overrides.resources")
    assert "can never run on job queue" in problem.why and problem.value == "128 vCPUs, 4096 MiB"
    workers = Submission(
        SubmitPath.STEP_FUNCTIONS,
        EC2,
        MNP,
        node_overrides=(NodeOverrideSpec("1:", Overrides(vcpus=48)),),
        requirements=MNP_NEEDS,
    )
    # Each group alone (48 vCPUs x 2 nodes fit no c6i instance... and together above maxvCpus 64).
    problems = workers.check()
    assert [p.rule for p in problems] == ["BK-W2", "BK-W2"]
    assert problems[0].prop == "node_overrides[0]" and problems[0].value.startswith("nodes 1-2: 48 vCPUs")
    assert problems[1].prop == "node_overrides" and "maxvCpus is 64" in problems[1].why
    wider = Submission(SubmitPath.STEP_FUNCTIONS, EC2, MNP, num_nodes=20, requirements=MNP_NEEDS)
    (too_many,) = wider.check()
    assert (too_many.rule, too_many.prop) == ("BK-W2", "num_nodes") and "maxvCpus" in too_many.why


def test_a_task_override_is_fitted_as_the_sum_of_the_task() -> None:
    needs = JobRequirements(Platform.EC2, 3, 6144)
    assert (
        Submission(SubmitPath.LAMBDA, EC2, TASK, overrides=Overrides(vcpus=63), requirements=needs).check()
        == []
    )
    sub = Submission(SubmitPath.LAMBDA, EC2, TASK, overrides=Overrides(vcpus=64), requirements=needs)
    (problem,) = sub.check()
    # The app container goes from 2 to 64 vCPUs; with the log router's 1 the task needs 65: above maxvCpus.
    assert (
        problem.rule == "BK-W2" and problem.value == "65 vCPUs, 6144 MiB" and "maxvCpus is 64" in problem.why
    )
    unknown = replace(sub, job=replace(TASK, containers=(ContainerSpec(name="app", vcpus=None),)))
    assert unknown.check() == []


def test_node_groups_of_the_requirements_follow_the_ranges() -> None:
    assert MNP_NEEDS is not None and MNP_NEEDS.node_groups == (
        NodeGroup(1, 2, 4096, 0, "nodes 0-0"),
        NodeGroup(2, 4, 8192, 0, "nodes 1-2"),
    )


# -- the S3 submitter, delivery, key filters, manifests -------------------------------------------------
GOOD = SubmitterSettings(
    mode="ARRAY",
    batch_size=1000,
    batching_window_seconds=30,
    max_receive_count=5,
    max_submit_rate=10,
    max_concurrency=2,
    function_timeout_seconds=120,
    idempotency_ttl_seconds=86400,
)


@pytest.mark.parametrize(
    ("change", "prop"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 10_001}, "batch_size"),
        ({"batching_window_seconds": 301}, "max_batching_window"),
        ({"batching_window_seconds": 0}, "max_batching_window"),
        ({"max_receive_count": 0}, "max_receive_count"),
        ({"max_concurrency": 1}, "max_concurrency"),
        ({"max_submit_rate": 51}, "max_submit_rate"),
        ({"function_timeout_seconds": 901}, "function_timeout"),
        ({"idempotency_ttl_seconds": 59}, "idempotency_ttl"),
        ({"job_name_prefix": "-x"}, "job_name_prefix"),
        ({"mode": "PER_OBJECT", "batch_size": 600}, "batch_size"),
    ],
)
def test_rejects_submitter_settings_lambda_sqs_or_batch_refuse(change: dict[str, Any], prop: str) -> None:
    assert submitter_limits(GOOD) == []
    problems = submitter_limits(replace(GOOD, **change))
    assert [p.prop for p in problems][:1] == [prop] and {p.rule for p in problems} == {"BK-U2"}


def test_rejects_delivery_outside_eventbridge_and_scheduler_limits() -> None:
    assert delivery_limits(Delivery(185, 86_400)) == []
    assert [p.prop for p in delivery_limits(Delivery(186, 59))] == [
        "delivery.retry_attempts",
        "delivery.max_event_age",
    ]
    assert {p.rule for p in delivery_limits(Delivery(-1, 60))} == {"BK-E1"}


def test_rejects_key_filters_that_match_nothing_or_are_unknown() -> None:
    assert key_filters("incoming/", "/_SUCCESS") == []
    assert [(p.rule, p.prop) for p in key_filters("/incoming/", None)] == [("BK-E6", "prefix")]
    assert "must be known at synth" in key_filters("${Token[TOKEN.9]}", None)[0].why
    assert [p.prop for p in key_filters(None, "")] == ["suffix"]


def test_rejects_manifest_prefixes_that_would_trigger_the_submitter() -> None:
    assert manifest_prefix_rule("batchkit/manifests/", "incoming/", None, in_input_bucket=True) == []
    (overlap,) = manifest_prefix_rule("batchkit/manifests/", "batch", None, in_input_bucket=True)
    assert overlap.rule == "BK-E8" and "would match prefix='batch'" in overlap.why
    assert manifest_prefix_rule("batchkit/manifests/", "batch", None, in_input_bucket=False) == []
    assert "must end with '/'" in manifest_prefix_rule("m", None, None, in_input_bucket=True)[0].why
    assert "known at synth" in manifest_prefix_rule("${Token[T.1]}", None, None, in_input_bucket=True)[0].why


def test_rejects_write_prefixes_that_would_trigger_the_submitter() -> None:
    assert write_prefix_rule("results/", "incoming/", None) == []
    # Either prefix may contain the other: "in" holds "incoming/x", and "incoming/out/" is under the filter.
    for written in ("incoming/out/", "in"):
        (overlap,) = write_prefix_rule(written, "incoming/", ".csv")
        assert overlap.rule == "BK-E10" and not overlap.warning and "trigger it again" in overlap.why
    # Any form of the key: the filter "a b/" is also rendered "a+b/".
    assert write_prefix_rule("a+b/x", "a b/", None)
    (everything,) = write_prefix_rule("results/", None, None)
    assert not everything.warning and "no prefix/suffix filter" in everything.why
    assert "known at synth" in write_prefix_rule("${Token[T.1]}", "incoming/", None)[0].why
    assert "must not start with '/'" in write_prefix_rule("/results/", "incoming/", None)[0].why
    assert "anywhere in the bucket" in write_prefix_rule("", "incoming/", None)[0].why


def test_warns_about_write_prefixes_that_may_trigger_the_submitter_or_expire() -> None:
    (suffix,) = write_prefix_rule("results/", None, ".csv")
    assert suffix.warning and "end with '.csv'" in suffix.why
    (manifests,) = write_prefix_rule(
        "batchkit/manifests/out/", "in/", None, manifest_prefix="batchkit/manifests/"
    )
    assert manifests.warning and "expire with the manifests" in manifests.why
    assert write_prefix_rule("results/", "in/", None, manifest_prefix="batchkit/manifests/") == []


# -- schedules -----------------------------------------------------------------------------------------
def test_rejects_schedule_expressions_by_form_cron_and_rate() -> None:
    assert check_schedule("cron(0 2 * * ? *)") == [] and check_schedule("${Token[TOKEN.5]}") == []
    assert _rules(check_schedule("every day")) == ["BK-E3"]
    assert _rules(check_schedule("cron(0 2 * * *)")) == ["BK-E4"]
    assert _rules(check_schedule("rate(1 hours)")) == ["BK-E5"]
    assert _rules(check_schedule("at(2027-02-30T00:00:00)")) == ["BK-E5"]


def test_rejects_a_flexible_window_scheduler_refuses() -> None:
    assert flexible_window(900) == [] and flexible_window(None) == []
    for seconds in (30, 90, 86_460):
        (problem,) = flexible_window(seconds)
        assert problem.rule == "BK-E9" and "whole minutes" in problem.why


# -- the workflow graph --------------------------------------------------------------------------------
def test_rejects_workflow_graphs_step_functions_cannot_run() -> None:
    assert workflow_steps([("A", []), ("B", ["A"])]) == []
    assert [p.why for p in workflow_steps([])] == ["needs at least one step"]
    cases = {
        "step names are 1-64": [("has space", [])],
        "must be unique": [("A", []), ("A", [])],
        "names no step": [("A", ["Missing"])],
        "cannot depend on itself": [("A", ["A"])],
        "lists a step twice": [("A", []), ("B", ["A", "A"])],
        "is a dependency cycle": [("A", ["C"]), ("B", ["A"]), ("C", ["B"])],
    }
    for why, steps in cases.items():
        problems = workflow_steps(steps)
        assert problems and why in problems[0].why and {p.rule for p in problems} == {"BK-W3"}, why
    (cycle,) = workflow_steps(cases["is a dependency cycle"])
    assert cycle.value == "A -> C -> B -> A"


def test_rejects_a_workflow_timeout_step_functions_refuses() -> None:
    assert workflow_timeout(31_536_000) == [] and workflow_timeout(None) == []
    for seconds in (0, 31_536_001):
        (problem,) = workflow_timeout(seconds)
        assert (problem.rule, problem.prop) == ("BK-W4", "timeout")


def test_every_new_rule_is_registered_with_an_aws_source() -> None:
    for rule_id in ("BK-U2", "BK-U3", "BK-O5", "BK-W1", "BK-W2", "BK-W3", "BK-E1", "BK-E2", "BK-E3", "BK-E4"):
        assert RULES[rule_id].source.startswith("https://docs.aws.amazon.com/"), rule_id
    for rule_id in ("BK-E5", "BK-E6", "BK-E8", "BK-E9"):
        assert RULES[rule_id].source.startswith("https://docs.aws.amazon.com/"), rule_id
