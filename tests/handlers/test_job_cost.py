"""EstimatedJobCost, JobVcpuSeconds and JobGibSeconds of the backlog function, from recorded-shape
``Batch Job State Change`` events (``tests/events/batch/``): a Fargate Spot job, an EC2 array child with
a retried attempt, its array parent (skipped), a multi-node job (every node counted once) and a node job
(skipped). Prices come from the table the construct passes (:func:`cdk_batchkit.model.prices.price_table`).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from cdk_batchkit.lambdas.backlog import core
from cdk_batchkit.model.prices import price_table, unit_price
from tests.handlers.test_backlog import NAMESPACE, SERVICE, emf_lines, load_event, no_client, recent

KEYS = [f"{k}/{a}" for k in ("EC2", "EC2_SPOT", "FARGATE", "FARGATE_SPOT") for a in ("x86_64", "arm64")]
QUEUE = load_event("state-succeeded.json")["detail"]["jobQueue"]


@pytest.fixture(autouse=True)
def _metrics_on(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("POWERTOOLS_DEV", "POWERTOOLS_METRICS_DISABLED"):
        monkeypatch.delenv(var, raising=False)


def settings(key: str | None, definitions: frozenset[str] = frozenset()) -> core.Settings:
    table = price_table(KEYS)
    return core.Settings(
        queues=(QUEUE,),
        namespace=NAMESPACE,
        service=SERVICE,
        queue_price_keys=(key,),
        prices={r: {k: (v[0], v[1]) for k, v in t.items()} for r, t in table.items()},
        cost_definitions=definitions,
    )


def run(event: dict[str, Any], key: str | None, capsys: pytest.CaptureFixture[str], **kw: Any) -> list[dict]:
    core.handle(recent(event), settings=settings(key, **kw), client=no_client)
    return emf_lines(capsys.readouterr().out)


def usd(key: str, vcpu_seconds: float, gib_seconds: float) -> float:
    price, _ = unit_price(key, "us-east-1")
    return (vcpu_seconds * price.vcpu_hour + gib_seconds * price.gib_hour) / 3600


def test_fargate_spot_job_cost_uses_the_jobs_architecture(capsys: pytest.CaptureFixture[str]) -> None:
    # 1 vCPU, 2048 MiB, ARM64 runtime platform, one attempt of 1472.492 s on a Fargate Spot queue.
    (line,) = run(load_event("state-succeeded.json"), "FARGATE_SPOT/", capsys)
    assert line["JobVcpuSeconds"] == pytest.approx(1472.492)
    assert line["JobGibSeconds"] == pytest.approx(2 * 1472.492)
    assert line["EstimatedJobCost"] == pytest.approx(
        usd("FARGATE_SPOT/arm64", 1472.492, 2 * 1472.492), abs=1e-6
    )
    assert line["price_key"] == "FARGATE_SPOT/arm64" and line["price_region"] == "us-east-1"
    assert line["JobRunTime"] == pytest.approx(1472.492)  # in the same line, dimension queue
    names = [m["Name"] for m in line["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
    assert names == ["JobRunTime", "JobVcpuSeconds", "JobGibSeconds", "EstimatedJobCost"]
    assert line["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["queue", "service"]]
    assert line["_aws"]["CloudWatchMetrics"][0]["Namespace"] == NAMESPACE


def multi_container_fargate_event(architecture: str) -> dict[str, Any]:
    """The Fargate Spot job of ``state-succeeded.json`` as a multi-container ECS job: no ``container``;
    the task's ``runtimePlatform`` and its two containers (0.75 + 0.25 vCPU, 1536 + 512 MiB) under
    ``ecsProperties.taskProperties[]`` (API_EcsTaskDetails)."""
    event = load_event("state-succeeded.json")
    detail = event["detail"]
    detail.pop("container")
    detail["ecsProperties"] = {
        "taskProperties": [
            {
                "runtimePlatform": {"operatingSystemFamily": "LINUX", "cpuArchitecture": architecture},
                "containers": [
                    {
                        "name": "main",
                        "resourceRequirements": [
                            {"type": "VCPU", "value": "0.75"},
                            {"type": "MEMORY", "value": "1536"},
                        ],
                    },
                    {
                        "name": "sidecar",
                        "resourceRequirements": [
                            {"type": "VCPU", "value": "0.25"},
                            {"type": "MEMORY", "value": "512"},
                        ],
                    },
                ],
            }
        ]
    }
    return event


@pytest.mark.parametrize(("architecture", "key"), [("ARM64", "arm64"), ("X86_64", "x86_64")])
def test_multi_container_fargate_job_is_priced_at_its_tasks_architecture(
    capsys: pytest.CaptureFixture[str], architecture: str, key: str
) -> None:
    # Before: only container.runtimePlatform was read, so an arm64 task was priced as x86_64 (25 % high).
    for queue_key in ("FARGATE_SPOT/", None):  # the queue's kind without an architecture; unknown compute
        (line,) = run(multi_container_fargate_event(architecture), queue_key, capsys)
        kind = "FARGATE_SPOT" if queue_key else "FARGATE"
        assert line["price_key"] == f"{kind}/{key}"
        assert line["JobVcpuSeconds"] == pytest.approx(1472.492)
        assert line["EstimatedJobCost"] == pytest.approx(
            usd(f"{kind}/{key}", 1472.492, 2 * 1472.492), abs=1e-6
        )


def test_job_usage_reads_the_architecture_of_every_shape() -> None:
    usage = core.job_usage(multi_container_fargate_event("ARM64"))
    assert usage is not None and usage.architecture == "arm64"
    two_tasks = multi_container_fargate_event("ARM64")
    two_tasks["detail"]["ecsProperties"]["taskProperties"].append(
        {"runtimePlatform": {"cpuArchitecture": "X86_64"}, "containers": []}
    )
    disagreeing = core.job_usage(two_tasks)
    assert disagreeing is not None and disagreeing.architecture is None  # tasks disagree: unknown


def test_array_child_counts_every_attempt_at_the_queues_ec2_spot_price(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # 2 vCPU, 4 GiB; a 300 s attempt lost with its Spot host, then a 300 s attempt that succeeded.
    (line,) = run(load_event("cost-array-child-succeeded.json"), "EC2_SPOT/arm64", capsys)
    assert (line["JobVcpuSeconds"], line["JobGibSeconds"]) == (pytest.approx(1200), pytest.approx(2400))
    assert line["EstimatedJobCost"] == pytest.approx(usd("EC2_SPOT/arm64", 1200, 2400), abs=1e-6)
    assert line["JobRunTime"] == pytest.approx(300)  # run time stays the last attempt's


def test_array_parent_and_node_jobs_carry_no_cost(capsys: pytest.CaptureFixture[str]) -> None:
    (parent,) = run(load_event("cost-array-parent-succeeded.json"), "EC2/x86_64", capsys)
    assert "EstimatedJobCost" not in parent and "JobVcpuSeconds" not in parent
    assert parent["JobRunTime"] == pytest.approx(800)  # the parent's run time is still published
    node = load_event("cost-multi-node-succeeded.json")
    node["detail"]["jobId"] += "#1"
    node["detail"]["nodeDetails"] = {"nodeIndex": 1, "isMainNode": False}
    (line,) = run(node, "EC2/x86_64", capsys)
    assert "EstimatedJobCost" not in line
    node["detail"]["jobId"] = node["detail"]["jobId"].split("#")[0]
    node["detail"].pop("nodeProperties")
    node["detail"]["container"] = {"resourceRequirements": [{"type": "VCPU", "value": "2"}]}
    (line,) = run(node, "EC2/x86_64", capsys)
    assert "EstimatedJobCost" not in line  # a node's own description, without the parent's ranges


def test_multi_node_job_counts_every_node_of_every_range(capsys: pytest.CaptureFixture[str]) -> None:
    # Node 0: 4 vCPU / 8 GiB; nodes 1-2 ("1:" of 3 nodes): 2 vCPU / 4 GiB each; 900 s. Counted from the
    # parent even if its event carried nodeDetails (undocumented either way).
    event = load_event("cost-multi-node-succeeded.json")
    event["detail"]["nodeDetails"] = {"nodeIndex": 0, "isMainNode": True}
    (line,) = run(event, "EC2/x86_64", capsys)
    assert line["JobVcpuSeconds"] == pytest.approx(8 * 900)
    assert line["JobGibSeconds"] == pytest.approx(16 * 900)
    assert line["EstimatedJobCost"] == pytest.approx(usd("EC2/x86_64", 8 * 900, 16 * 900), abs=1e-6)


def test_listed_definition_gets_a_second_line_with_its_name(capsys: pytest.CaptureFixture[str]) -> None:
    lines = run(
        load_event("cost-array-child-succeeded.json"),
        "EC2/x86_64",
        capsys,
        definitions=frozenset({"batchkit-resize"}),
    )
    queue_line, definition_line = lines
    assert definition_line["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [
        ["queue", "job_definition", "service"]
    ]
    assert definition_line["job_definition"] == "batchkit-resize"  # without the revision
    assert definition_line["EstimatedJobCost"] == queue_line["EstimatedJobCost"]
    assert "JobRunTime" not in definition_line
    # Not listed: the queue line only (the definition dimension's cardinality stays what synth allowed).
    assert (
        len(
            run(
                load_event("cost-multi-node-succeeded.json"),
                "EC2/x86_64",
                capsys,
                definitions=frozenset({"batchkit-resize"}),
            )
        )
        == 1
    )


def test_unknown_queue_compute_is_priced_on_demand_from_the_event(capsys: pytest.CaptureFixture[str]) -> None:
    (fargate,) = run(load_event("state-succeeded.json"), None, capsys)
    assert fargate["price_key"] == "FARGATE/arm64"
    (ec2,) = run(load_event("cost-multi-node-succeeded.json"), None, capsys)
    assert ec2["price_key"] == "EC2/x86_64"


def test_a_region_missing_from_the_table_uses_the_fallback_prices(capsys: pytest.CaptureFixture[str]) -> None:
    event = load_event("state-succeeded.json")
    event["region"] = "ap-southeast-7"
    (line,) = run(event, "FARGATE/", capsys)
    assert line["price_region"] == "us-east-1"
    assert line["EstimatedJobCost"] == pytest.approx(usd("FARGATE/arm64", 1472.492, 2 * 1472.492), abs=1e-6)


def test_fargate_attempts_are_billed_at_least_a_minute() -> None:
    event = load_event("state-succeeded.json")
    attempt = event["detail"]["attempts"][0]
    attempt["stoppedAt"] = attempt["startedAt"] + 5_000
    usage = core.job_usage(event)
    assert usage is not None and usage.vcpu_seconds == pytest.approx(60)
    event["detail"]["platformCapabilities"] = ["EC2"]
    assert core.job_usage(event).vcpu_seconds == pytest.approx(5)  # type: ignore[union-attr]


def test_no_cost_without_a_price_table(capsys: pytest.CaptureFixture[str]) -> None:
    plain = core.Settings(queues=(QUEUE,), namespace=NAMESPACE, service=SERVICE)
    core.handle(recent(load_event("state-succeeded.json")), settings=plain, client=no_client)
    (line,) = emf_lines(capsys.readouterr().out)
    assert [m["Name"] for m in line["_aws"]["CloudWatchMetrics"][0]["Metrics"]] == ["JobRunTime"]


def test_settings_read_prices_keys_and_definitions_from_the_environment() -> None:
    env = {
        core.ENV_QUEUES: json.dumps([QUEUE, "arn:aws:batch:us-east-1:123456789012:job-queue/other"]),
        core.ENV_QUEUE_PRICE_KEYS: json.dumps(["FARGATE_SPOT/", None]),
        core.ENV_PRICES: json.dumps(price_table(KEYS)),
        core.ENV_COST_DEFINITIONS: json.dumps(
            ["arn:aws:batch:us-east-1:123456789012:job-definition/render:7", "load"]
        ),
    }
    parsed = core.Settings.from_env(env)
    assert parsed.price_key(QUEUE) == "FARGATE_SPOT/" and parsed.price_key("unknown") is None
    assert parsed.cost_definitions == {"render", "load"}
    assert parsed.prices["us-east-1"]["EC2/x86_64"] == pytest.approx(
        tuple(price_table(KEYS)["us-east-1"]["EC2/x86_64"])
    )
    with pytest.raises(ValueError, match="PRICES must be JSON"):
        core.Settings.from_env({**env, core.ENV_PRICES: "{"})


def test_eks_pod_is_priced_from_its_containers_requests_over_every_attempt(
    capsys: pytest.CaptureFixture[str],
) -> None:
    event = load_event("state-succeeded.json")
    detail = event["detail"]
    detail.pop("container")
    detail["platformCapabilities"] = []
    detail["jobDefinition"] = "arn:aws:batch:us-east-1:123456789012:job-definition/batchkit-eks:2"
    detail["eksProperties"] = {
        "podProperties": {
            "containers": [
                {"name": "main", "resources": {"requests": {"cpu": "500m", "memory": "2Gi"}}},
                {"name": "sidecar", "resources": {"limits": {"cpu": "0.25", "memory": "512Mi"}}},
            ]
        }
    }
    start = detail["startedAt"]
    detail["attempts"] = []
    detail["eksAttempts"] = [
        {"startedAt": start, "stoppedAt": start + 100_000},
        {"startedAt": start + 200_000, "stoppedAt": start + 300_000},
    ]
    (line,) = run(event, "EC2_SPOT/x86_64", capsys)  # an EKS Spot queue is priced as EC2 Spot
    assert line["JobVcpuSeconds"] == pytest.approx(0.75 * 200)
    assert line["JobGibSeconds"] == pytest.approx(2.5 * 200)
    assert line["EstimatedJobCost"] == pytest.approx(usd("EC2_SPOT/x86_64", 150, 500), abs=1e-6)
