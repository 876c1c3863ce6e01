"""The container and job definition rules (BK-T*, BK-J*, BK-N3, BK-N4, BK-P2, BK-P3, BK-D1) on model values:
no stack is built here. Each rule has a test that fails if the rule is removed."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cdk_batchkit.model import (
    RULES,
    ComputeKind,
    ComputeProfile,
    ContainerSpec,
    JobSpec,
    LinuxSettings,
    NodeRangeSpec,
    Platform,
    SubmitShape,
    Tmpfs,
    Ulimit,
    check_fit,
)
from cdk_batchkit.model.jobs import node_assignment
from cdk_batchkit.model.rules import check_job, job_definition_arn, registry_credential_reads
from cdk_batchkit.model.rules.jobs import (
    NEVER_BOUND,
    efs_network,
    kept_revisions,
    public_ip_undecided,
    secret_endpoints,
)

EC2 = Platform.EC2
FARGATE = Platform.FARGATE
MI = Platform.MANAGED_INSTANCES


def _one(container: ContainerSpec, platform: Platform = EC2, **fields: object) -> JobSpec:
    return JobSpec(platform=platform, containers=(container,), **fields)  # type: ignore[arg-type]


def _task(*containers: ContainerSpec, platform: Platform = EC2, **fields: object) -> JobSpec:
    return JobSpec(platform=platform, shape=SubmitShape.ECS_TASK, containers=containers, **fields)  # type: ignore[arg-type]


def _found(job: JobSpec, rule_id: str) -> list[tuple[str, object]]:
    return [(p.prop, p.value) for p in check_job(job) if p.rule == rule_id]


def _whys(job: JobSpec, rule_id: str) -> list[str]:
    return [p.why for p in check_job(job) if p.rule == rule_id]


# -- containers ------------------------------------------------------------------------------------------
def test_rejects_ec2_only_container_options_on_fargate() -> None:
    c = ContainerSpec(
        vcpus=1,
        memory_mib=2048,
        privileged=True,
        ulimits=(Ulimit("nofile", 1, 2),),
        linux_parameters=LinuxSettings(devices=("/dev/fuse",), max_swap_mib=0, swappiness=5),
        host_volumes=("scratch",),
        log_driver="json-file",
    )
    assert _found(_one(c, FARGATE), "BK-T1") == [
        ("container.privileged", True),
        ("container.ulimits", ["nofile"]),
        ("container.linux_parameters.devices", ["/dev/fuse"]),
        ("container.linux_parameters.max_swap", "0 MiB"),
        ("container.linux_parameters.swappiness", 5),
        ("container.volumes", ["scratch"]),
        ("container.logging", "json-file"),
    ]
    assert (
        _found(
            _one(
                c,
                EC2,
            ),
            "BK-T1",
        )
        == []
    )


def test_rejects_linux_parameters_batch_refuses_or_ignores() -> None:
    linux = LinuxSettings(
        swappiness=10,
        shared_memory_mib=1.5,
        tmpfs=(Tmpfs("/t", 4096), Tmpfs("t", 8)),
    )
    found = _found(_one(ContainerSpec(memory_mib=2048, linux_parameters=linux)), "BK-T2")
    assert found == [
        ("container.linux_parameters.swappiness", 10),
        ("container.linux_parameters.shared_memory", "1.5 MiB"),
        ("container.linux_parameters.tmpfs[0].size", "4096 MiB"),
        ("container.linux_parameters.tmpfs[1].container_path", "t"),
    ]
    ok = LinuxSettings(swappiness=10, max_swap_mib=1024, shared_memory_mib=512, tmpfs=(Tmpfs("/t", 8),))
    assert _found(_one(ContainerSpec(linux_parameters=ok)), "BK-T2") == []


def test_rejects_negative_or_inverted_ulimits_and_accepts_unlimited_memlock() -> None:
    # EFA and MPI jobs run with --ulimit memlock=-1:-1: -1 is unlimited, not a negative limit.
    unlimited = ContainerSpec(ulimits=(Ulimit("memlock", -1, -1), Ulimit("stack", 8192, -1)))
    assert _found(_one(unlimited), "BK-T3") == []
    bad = ContainerSpec(
        ulimits=(
            Ulimit("nofile", 10, 5),
            Ulimit("memlock", -1, 1024),
            Ulimit("core", -2, 0),
            Ulimit("x", 1, 1),
        )
    )
    assert _found(_one(bad), "BK-T3") == [
        ("container.ulimits[0].soft_limit", 10),
        ("container.ulimits[1].soft_limit", -1),  # unlimited soft above a finite hard limit
        ("container.ulimits[2].soft_limit", -2),
        ("container.ulimits[3].name", "x"),
    ]


def test_rejects_a_malformed_user_value() -> None:
    assert _found(_one(ContainerSpec(user="me:")), "BK-T4") == [("container.user", "me:")]
    for user in ("me", "1000", "1000:1000", "me:staff"):
        assert _found(_one(ContainerSpec(user=user)), "BK-T4") == []


def test_warns_on_a_privileged_container() -> None:
    (problem,) = [p for p in check_job(_one(ContainerSpec(privileged=True))) if p.rule == "BK-T5"]
    assert (
        problem.warning and problem.warning_id == "batchkit:privileged" and "root-equivalent" in problem.why
    )


def test_registry_credentials_are_read_by_the_execution_role() -> None:
    job = _task(ContainerSpec(name="a"), ContainerSpec(name="b", repository_credentials=True))
    assert registry_credential_reads(job) == ("containers[1]",)
    assert registry_credential_reads(_one(ContainerSpec())) == ()


def test_rejects_task_only_fields_outside_a_task() -> None:
    c = ContainerSpec(name="app", essential=False, firelens="fluentbit", log_driver="awsfirelens")
    assert [prop for prop, _ in _found(_one(c), "BK-T7")] == [
        "container.name",
        "container.essential",
        "container.firelens",
        "container.logging",
    ]
    assert _found(_task(c, ContainerSpec(name="b")), "BK-T7") == []


def test_rejects_task_container_names_counts_and_override() -> None:
    assert _found(_task(), "BK-T8") == [("containers", 0)]
    assert _found(_task(*(ContainerSpec(name=f"c{i}") for i in range(11))), "BK-T8") == [("containers", 11)]
    found = _found(
        _task(
            ContainerSpec(name="app", essential=False),
            ContainerSpec(name="app", essential=False),
            ContainerSpec(name="bad name", essential=False),
            override_container="other",
        ),
        "BK-T8",
    )
    assert found == [
        ("containers[1].name", "app"),
        ("containers[2].name", "bad name"),
        ("containers", ["app", "app", "bad name"]),
        ("override_container", "other"),
    ]


def test_rejects_dependencies_on_unknown_essential_or_cyclic_containers() -> None:
    job = _task(
        ContainerSpec(name="app", depends_on=(("db", "START"), ("side", "SUCCESS"))),
        ContainerSpec(name="side"),
        ContainerSpec(name="a", essential=False, depends_on=(("b", "START"),)),
        ContainerSpec(name="b", essential=False, depends_on=(("a", "START"),)),
    )
    assert _found(job, "BK-T9") == [
        ("containers[0].depends_on", "db"),
        ("containers[0].depends_on", "side: SUCCESS"),
        ("containers", "a -> b -> a"),
    ]


def test_rejects_two_routers_unknown_type_and_awsfirelens_without_router() -> None:
    routers = _task(
        ContainerSpec(name="app"),
        ContainerSpec(name="r1", essential=False, firelens="fluentbit"),
        ContainerSpec(name="r2", essential=False, firelens="vector"),
    )
    assert _found(routers, "BK-T11") == [
        ("containers", ["r1", "r2"]),
        ("containers[2].firelens.type", "vector"),
    ]
    lonely = _task(ContainerSpec(name="app", log_driver="awsfirelens"))
    assert _found(lonely, "BK-T11") == [("containers", ["app"])]


def test_rejects_reserved_environment_names_in_every_ecs_container() -> None:
    bad = ContainerSpec(name="app", environment=("OK", "AWS_BATCH_FOO"))
    assert _found(_one(bad), "BK-T12") == [("container.environment", "AWS_BATCH_FOO")]
    assert _found(_task(bad), "BK-T12") == [("containers[0].environment", "AWS_BATCH_FOO")]
    nodes = JobSpec(EC2, SubmitShape.NODE, node_ranges=(NodeRangeSpec(0, None, bad),), num_nodes=2)
    assert _found(nodes, "BK-T12") == [("node_ranges[0].container.environment", "AWS_BATCH_FOO")]


def test_rejects_swap_shared_memory_tmpfs_and_host_volumes_on_managed_instances() -> None:
    c = ContainerSpec(
        name="app",
        linux_parameters=LinuxSettings(
            max_swap_mib=512, swappiness=10, shared_memory_mib=64, tmpfs=(Tmpfs("/t", 8),)
        ),
        host_volumes=("cache",),
        privileged=True,
        gpus=1,
    )
    assert [prop for prop, _ in _found(_task(c, platform=MI), "BK-T13")] == [
        "containers[0].linux_parameters.max_swap",
        "containers[0].linux_parameters.swappiness",
        "containers[0].linux_parameters.shared_memory",
        "containers[0].linux_parameters.tmpfs",
        "containers[0].volumes",
    ]
    assert _found(_task(c, platform=EC2), "BK-T13") == []


def _fit_warnings(job: JobSpec, env: ComputeProfile) -> list[tuple[str, str]]:
    reqs = job.requirements()
    assert reqs is not None
    result = check_fit(reqs, {"Env": env})
    assert result.fits
    return list(zip(result.warning_rules, result.warnings, strict=True))


def test_warns_on_swappiness_on_amazon_linux_2023() -> None:
    job = _one(ContainerSpec(linux_parameters=LinuxSettings(max_swap_mib=1024, swappiness=10)))
    al2023 = ComputeProfile(ComputeKind.EC2, amazon_linux_2023=True, swap=True)
    (warning,) = _fit_warnings(job, al2023)
    assert warning[0] == "BK-T14" and warning[1].startswith("Env: runs Amazon Linux 2023")
    assert _fit_warnings(job, replace(al2023, amazon_linux_2023=False)) == []
    assert _fit_warnings(job, replace(al2023, amazon_linux_2023=None)) == []  # unknown: not judged


def test_warns_on_max_swap_without_swap() -> None:
    job = _one(ContainerSpec(linux_parameters=LinuxSettings(max_swap_mib=1024)))
    no_swap = ComputeProfile(ComputeKind.EC2, swap=False)
    (warning,) = _fit_warnings(job, no_swap)
    assert warning[0] == "BK-T15" and "no swap space" in warning[1]
    assert _fit_warnings(job, replace(no_swap, swap=True)) == []
    # max_swap 0 (no swap for this container) does what it says anywhere.
    assert _fit_warnings(_one(ContainerSpec(linux_parameters=LinuxSettings(max_swap_mib=0))), no_swap) == []
    assert RULES["BK-T14"].warning and RULES["BK-T15"].warning


def test_warns_on_firelens_outputs_the_job_role_must_reach() -> None:
    router = ContainerSpec(name="router", essential=False, firelens="fluentbit")
    app = ContainerSpec(name="app", log_driver="awsfirelens", log_options=(("Name", "kinesis_firehose"),))
    other = ContainerSpec(name="web", log_driver="awsfirelens", log_options=(("Name", "datadog"),))
    problems = [p for p in check_job(_task(app, other, router, job_role=True)) if p.rule == "BK-T16"]
    assert [(p.prop, p.value, p.warning) for p in problems] == [
        ("containers[0].logging", "kinesis_firehose", True)
    ]
    assert "firehose:PutRecordBatch" in problems[0].why and "job.job_role" in problems[0].why
    (no_role,) = [p for p in check_job(_task(app, router, job_role=False)) if p.rule == "BK-T16"]
    assert "no job role" in no_role.why and "dropped" in no_role.why


# -- job definitions -------------------------------------------------------------------------------------
def test_rejects_a_timeout_under_60_seconds() -> None:
    assert _found(_one(ContainerSpec(), timeout_seconds=59), "BK-J1") == [("timeout", "59 s")]
    assert _found(_one(ContainerSpec(), timeout_seconds=60), "BK-J1") == []


def test_rejects_retry_strategies_batch_refuses_or_never_fires() -> None:
    assert _found(_one(ContainerSpec(), attempts=11), "BK-J2") == [("retry.attempts", 11)]
    assert _found(_one(ContainerSpec(), attempts=3, retry_rules=6), "BK-J2") == [("retry.rules", 6)]
    assert _found(_one(ContainerSpec(), attempts=1, retry_rules=2), "BK-J2") == [("retry.attempts", 1)]
    # An L2 definition with retry_strategies but no retry_attempts: Batch allows one attempt, so the
    # rules never fire.
    assert _found(_one(ContainerSpec(), retry_rules=2), "BK-J2") == [("retry.attempts", None)]


def test_rejects_fargate_sizes_with_one_message_for_both_shapes() -> None:
    single = _found(_one(ContainerSpec(vcpus=1, memory_mib=1024), FARGATE), "BK-J3")
    task = _found(
        _task(
            ContainerSpec(name="a", vcpus=0.5, memory_mib=512),
            ContainerSpec(name="b", vcpus=0.5, memory_mib=512),
            platform=FARGATE,
        ),
        "BK-J3",
    )
    assert single == [("container.memory", "1024 MiB")] and task == [
        ("containers", "1 vCPU, 1024 MiB in total")
    ]
    (why_single,) = _whys(_one(ContainerSpec(vcpus=1, memory_mib=1024), FARGATE), "BK-J3")
    (why_task,) = _whys(
        _task(
            ContainerSpec(name="a", vcpus=0.5, memory_mib=512),
            ContainerSpec(name="b", vcpus=0.5, memory_mib=512),
            platform=FARGATE,
        ),
        "BK-J3",
    )
    assert (
        why_single
        == why_task
        == ("Fargate with 1 vCPU takes 2048-8192 MiB in steps of 1024 (a task: the sum of its containers')")
    )
    assert _found(_one(ContainerSpec(vcpus=0.3, memory_mib=1024), FARGATE), "BK-J3") == [
        ("container.vcpus", 0.3)
    ]
    assert _found(_one(ContainerSpec(gpus=1, memory_mib=2048), FARGATE), "BK-J3") == [("container.gpus", 1)]
    assert _found(_one(ContainerSpec(memory_mib=2048), FARGATE, ephemeral_storage_gib=500), "BK-J3") == [
        ("ephemeral_storage", "500 GiB")
    ]
    assert _found(_one(ContainerSpec(), EC2, assign_public_ip=True), "BK-J3") == [("assign_public_ip", True)]


def test_rejects_ec2_sizes() -> None:
    assert _found(_one(ContainerSpec(vcpus=0.5)), "BK-J4") == [("container.vcpus", 0.5)]
    assert _found(_one(ContainerSpec(memory_mib=2)), "BK-J4") == [("container.memory", "2 MiB")]
    assert _found(_one(ContainerSpec(memory_mib=1.5, vcpus=0.5)), "BK-J4") == [
        ("container.memory", "1.5 MiB")
    ]
    assert _found(_one(ContainerSpec(gpus=17)), "BK-J4") == [("container.gpus", 17)]
    assert _found(_task(ContainerSpec(name="a"), ContainerSpec(name="b", vcpus=0.5)), "BK-J4") == [
        ("containers[1].vcpus", 0.5)
    ]


def _nodes(*ranges: tuple[int, int | None], n: int = 4, **fields: object) -> JobSpec:
    specs = tuple(NodeRangeSpec(s, e, ContainerSpec(vcpus=i + 1)) for i, (s, e) in enumerate(ranges))
    return JobSpec(EC2, SubmitShape.NODE, node_ranges=specs, num_nodes=n, **fields)  # type: ignore[arg-type]


def test_rejects_node_counts_and_main_node() -> None:
    assert _found(_nodes((0, None), n=1), "BK-J5") == [("nodes", 1)]
    assert _found(_nodes((0, None), main_node=4), "BK-J5") == [("main_node", 4)]


def test_rejects_node_ranges_that_overlap_partially_or_leave_gaps() -> None:
    assert _found(_nodes((0, 1), (1, 3)), "BK-N3") == [("node_ranges", "nodes 0-1 and 1-3")]
    assert _found(_nodes((0, 0), (2, None)), "BK-N3") == [("node_ranges", ["0-0", "2-3"])]
    assert _whys(_nodes((0, 0), (2, None)), "BK-N3") == ["nodes 1-1 are in no range"]
    assert _found(_nodes((0, 0), (1, 5)), "BK-N3") == [("node_ranges", "nodes 1-5")]
    assert _found(_nodes((0, 3), (0, 3)), "BK-N3") == [("node_ranges", "nodes 0-3 twice")]


def test_nested_ranges_are_accepted_and_the_highest_start_range_opens() -> None:
    # Given out of order: the range that ends at the last node and starts highest is the one to open.
    out_of_order = _nodes((1, 3), (0, 0))
    assert _found(out_of_order, "BK-N3") == [] and out_of_order.open_range() == 0
    # Nested (the inner 2:3 overrides the outer 0:3): accepted; of the two that end at node 3, 2:3 opens.
    nested = _nodes((0, 3), (2, 3))
    assert _found(nested, "BK-N3") == [] and nested.open_range() == 1
    # A job resized to 6 nodes: the open range's container runs the extra nodes, the main node keeps its own.
    rendered = replace(
        out_of_order,
        node_ranges=(replace(out_of_order.node_ranges[0], end=None), out_of_order.node_ranges[1]),
        num_nodes=6,
    )
    assigned = node_assignment(rendered.node_ranges, 6)
    assert [r.container.vcpus if r else None for r in assigned] == [2, 1, 1, 1, 1, 1]
    reqs = rendered.requirements()
    assert reqs is not None and sorted((g.count, g.vcpus) for g in reqs.node_groups) == [(1, 2), (5, 1)]


def test_rejects_scheduling_priority_out_of_range() -> None:
    assert _found(_one(ContainerSpec(), scheduling_priority=10000), "BK-J6") == [
        ("scheduling_priority", 10000)
    ]
    assert _found(_one(ContainerSpec(), scheduling_priority=9999), "BK-J6") == []


def test_rejects_managed_instances_definitions_batch_refuses() -> None:
    assert _found(_one(ContainerSpec(), MI), "BK-J7") == [("platform", "MANAGED_INSTANCES")]
    job = _task(
        ContainerSpec(name="app"),
        platform=MI,
        network_mode="awsvpc",
        assign_public_ip=True,
        ephemeral_storage_gib=30,
        platform_version="LATEST",
    )
    assert [prop for prop, _ in _found(job, "BK-J7")] == [
        "network_mode",
        "assign_public_ip",
        "ephemeral_storage",
        "platform_version",
    ]
    ok = _task(ContainerSpec(name="app", vcpus=0.5, gpus=1), platform=MI, network_mode="host")
    assert check_job(ok) == []  # fractional vCPUs and GPUs: ECS Managed Instances restricts no sizes


def test_rejects_an_importer_arn_that_is_a_name_or_a_queue() -> None:
    def why(arn: str) -> list[str]:
        return [p.why for p in job_definition_arn(arn)]

    assert why("arn:aws:batch:eu-west-1:123456789012:job-definition/etl:3") == []
    assert why("arn:aws:batch:eu-west-1:123456789012:job-definition/etl") == []
    assert why("${Token[TOKEN.12]}") == []  # unknown at synth
    assert why("arn:${Token[AWS.Partition.9]}:batch:${Token[AWS.Region.10]}:1:job-definition/etl") == []
    (name,) = why("etl")
    assert name.startswith("is not an ARN (a name?)")
    (queue,) = why("arn:aws:batch:eu-west-1:123456789012:job-queue/etl")
    assert queue.startswith("is a job queue's ARN")
    (other,) = why("arn:aws:s3:::bucket")
    assert "service 's3'" in other
    (empty,) = why("arn:aws:batch:eu-west-1:123456789012:job-definition/")
    assert empty.startswith("names no job definition")
    assert [p.rule for p in job_definition_arn("etl")] == ["BK-J8"]


def test_warns_when_a_fargate_public_ip_is_never_decided() -> None:
    job = _one(ContainerSpec(memory_mib=2048), FARGATE)
    (problem,) = public_ip_undecided(job, network_known=False)
    assert problem.warning and problem.warning_id == "batchkit:network-unknown"
    assert "AssignPublicIp DISABLED" in problem.why
    assert public_ip_undecided(job, network_known=True) == []
    assert public_ip_undecided(replace(job, assign_public_ip=False), network_known=False) == []


def test_warns_when_secret_endpoints_cannot_be_added() -> None:
    job = _task(
        ContainerSpec(name="a", secret_sources=("ssm",)),
        ContainerSpec(name="b", secret_sources=("secretsmanager", "ssm")),
    )
    (problem,) = secret_endpoints(job, unknown=NEVER_BOUND)
    assert (problem.prop, problem.value, problem.rule) == ("secrets", ["secretsmanager", "ssm"], "BK-P2")
    assert "VPC interface endpoints for secretsmanager and ssm" in problem.why
    assert secret_endpoints(job, unknown=None) == []


def test_warns_when_nfs_cannot_be_opened() -> None:
    job = _one(ContainerSpec(efs_volumes=("data",)))
    (problem,) = efs_network(job, unknown="on Q: the network of E is unknown")
    assert problem.rule == "BK-P3" and "NFS (TCP 2049)" in problem.why and problem.value == ["data"]
    assert (
        efs_network(job, unknown=None) == [] and efs_network(_one(ContainerSpec()), unknown=NEVER_BOUND) == []
    )


def test_warns_when_a_definition_deregisters_its_revisions() -> None:
    (problem,) = kept_revisions(_one(ContainerSpec(), keeps_revisions=False))
    assert problem.rule == "BK-D1" and problem.warning and "deregisters the previous revision" in problem.why
    assert kept_revisions(_one(ContainerSpec(), keeps_revisions=True)) == []
    # Our definitions keep them unless told otherwise: only a described (L2) definition is warned about.
    assert [p.rule for p in check_job(_one(ContainerSpec(), keeps_revisions=False), described=True)] == [
        "BK-D1"
    ]
    assert check_job(_one(ContainerSpec(), keeps_revisions=False)) == []


def test_every_container_and_job_rule_is_registered_by_the_model_alone() -> None:
    for rule_id in (
        [f"BK-T{i}" for i in range(1, 17) if i != 10]
        + [f"BK-J{i}" for i in range(1, 9)]
        + [
            "BK-N3",
            "BK-N4",
            "BK-P2",
            "BK-P3",
            "BK-D1",
        ]
    ):
        assert rule_id in RULES, rule_id
        assert RULES[rule_id].source.startswith(
            ("https://docs.aws.amazon.com/", "https://docs.docker.com")
        ), rule_id


# -- the API shape, as the L2 renders it -----------------------------------------------------------------
def test_a_definition_parses_volumes_secrets_logs_and_revisions_from_cloudformation() -> None:
    job = JobSpec.from_api(
        {
            "Type": "container",
            "PlatformCapabilities": ["EC2"],
            "ResourceRetentionPolicy": {"SkipDeregisterOnUpdate": True},
            "ContainerProperties": {
                "Image": "public.ecr.aws/x/y:1",
                "JobRoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
                "ResourceRequirements": [{"Type": "VCPU", "Value": "2"}, {"Type": "MEMORY", "Value": "4096"}],
                "Volumes": [
                    {"Name": "cache", "Host": {"SourcePath": "/var/cache"}},
                    {"Name": "data", "EfsVolumeConfiguration": {"FileSystemId": "fs-1"}},
                ],
                "Secrets": [
                    {"Name": "A", "ValueFrom": "arn:aws:secretsmanager:eu-west-1:1:secret:a"},
                    {
                        "Name": "B",
                        "ValueFrom": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":ssm:x"]]},
                    },
                ],
                "LogConfiguration": {"LogDriver": "awslogs", "Options": {"awslogs-group": "g"}},
                "Ulimits": [{"Name": "memlock", "SoftLimit": -1, "HardLimit": -1}],
            },
        }
    )
    (c,) = job.containers
    assert c.host_volumes == ("cache",) and c.efs_volumes == ("data",)
    assert c.secret_sources == ("secretsmanager", "ssm") and c.log_options == (("awslogs-group", "g"),)
    assert c.ulimits == (Ulimit("memlock", -1, -1),)
    assert job.keeps_revisions is True and job.job_role is True and check_job(job) == []


def test_a_managed_instances_task_parses_its_network_mode() -> None:
    job = JobSpec.from_api(
        {
            "platformCapabilities": ["MANAGED_INSTANCES"],
            "ecsProperties": {
                "taskProperties": [
                    {
                        "networkMode": "host",
                        "volumes": [{"name": "v", "host": {"sourcePath": "/x"}}],
                        "containers": [
                            {"name": "app", "image": "i", "mountPoints": [{"sourceVolume": "v"}]},
                            {"name": "side", "image": "i", "essential": False},
                        ],
                    }
                ]
            },
        }
    )
    assert job.platform is MI and job.network_mode == "host" and job.job_role is False
    assert [c.host_volumes for c in job.containers] == [("v",), ()]
    assert [(p.rule, p.prop) for p in check_job(job)] == [("BK-T13", "containers[0].volumes")]


@pytest.mark.parametrize("platform", [EC2, FARGATE, MI])
def test_a_valid_task_passes_every_rule_on_each_platform(platform: Platform) -> None:
    job = _task(
        ContainerSpec(name="app", vcpus=1, memory_mib=3072),
        ContainerSpec(name="side", vcpus=1, memory_mib=1024, essential=False),
        platform=platform,
    )
    assert check_job(job) == []
