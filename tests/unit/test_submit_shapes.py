"""What a submission carries: consumable resources, the override field of each definition shape on every
submit path, and node overrides in workflow steps. One stack synthesized for the module; rejections
construct small stacks without synthesizing."""

from __future__ import annotations

import json

import aws_cdk as cdk
import botocore.session
import pytest
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk.assertions import Match, Template
from botocore.validate import validate_parameters

from cdk_batchkit.constructs import (
    BatchJobDefinition,
    ComputeKind,
    ComputeProfile,
    ConsumableResource,
    ConsumableResourceType,
    Container,
    ContainerJobDefinition,
    JobQueue,
    JobSchedule,
    MultiNodeJobDefinition,
    NodeOverride,
    NodeRange,
    Platform,
    QueueProfile,
    S3JobRule,
    S3JobSubmitter,
    Step,
    SubmitShape,
    Workflow,
)
from tests.support import SAMPLE_IMAGE, new_stack

IMAGE = ecs.ContainerImage.from_registry(SAMPLE_IMAGE)
ARN = "arn:aws:batch:us-east-1:111122223333:{}"


def _queues(stack: cdk.Stack):
    """Imported queues whose compute is described: Fargate, on-demand EC2 for multi-node jobs, EKS."""
    fargate = JobQueue.from_job_queue_arn(
        stack,
        "FargateQueue",
        ARN.format("job-queue/f"),
        profile=QueueProfile.of([ComputeProfile(ComputeKind.FARGATE, architecture=None, maxv_cpus=64)]),
    )
    ec2 = JobQueue.from_job_queue_arn(
        stack,
        "Ec2Queue",
        ARN.format("job-queue/e"),
        profile=QueueProfile.of(
            [
                ComputeProfile(
                    ComputeKind.EC2,
                    maxv_cpus=64,
                    instance_types=("c6i",),
                    private_egress=True,
                    node_traffic=True,
                )
            ]
        ),
    )
    eks = JobQueue.from_job_queue_arn(
        stack,
        "EksQueue",
        ARN.format("job-queue/k"),
        profile=QueueProfile.of([ComputeProfile(ComputeKind.EKS, maxv_cpus=64)]),
    )
    return fargate, ec2, eks


def _licensed_job(
    stack: cdk.Stack, licences: ConsumableResource, quantity: int = 1, construct_id: str = "Licensed"
):
    return ContainerJobDefinition(
        stack,
        construct_id,
        platform=Platform.FARGATE,
        assign_public_ip=False,
        container=Container(image=IMAGE, vcpus=0.5, memory=cdk.Size.gibibytes(1)),
        consumable_resources={licences: quantity},
    )


def _mnp(stack: cdk.Stack, construct_id: str = "Mnp") -> MultiNodeJobDefinition:
    return MultiNodeJobDefinition(
        stack,
        construct_id,
        nodes=3,
        node_ranges=[
            NodeRange(Container(image=IMAGE, vcpus=2), 0, 0),
            NodeRange(Container(image=IMAGE, vcpus=4, memory=cdk.Size.gibibytes(8)), 1),
        ],
    )


def _build(stack: cdk.Stack) -> None:
    fargate, ec2, eks = _queues(stack)
    licences = ConsumableResource(stack, "Licences", total_quantity=4)
    ConsumableResource(
        stack,
        "Quota",
        total_quantity=1000,
        resource_type=ConsumableResourceType.NON_REPLENISHABLE,
        tags={"team": "a"},
    )
    licensed = _licensed_job(stack, licences)
    eks_job = BatchJobDefinition.from_job_definition_arn(
        stack, "EksJob", ARN.format("job-definition/pod"), submit_shape=SubmitShape.EKS
    )
    task_job = BatchJobDefinition.from_job_definition_arn(
        stack,
        "TaskJob",
        ARN.format("job-definition/task"),
        submit_shape=SubmitShape.ECS_TASK,
        override_container="app",
    )
    mnp = _mnp(stack)
    # One submitter (they are large): an EKS definition, imported (its own requests unknown), with a
    # consumable override.
    S3JobRule(
        stack, "Direct", job_queue=fargate, job_definition=licensed, bucket=cdk.aws_s3.Bucket(stack, "In")
    )
    S3JobSubmitter(
        stack, "EksSubmitter", job_queue=eks, job_definition=eks_job, consumable_resources={licences: 2}
    )
    JobSchedule(
        stack,
        "Nightly",
        job_definition=licensed,
        job_queue=fargate,
        schedule=scheduler.ScheduleExpression.cron(minute="0", hour="2"),
        consumable_resources={licences: 3},
    )
    Workflow(
        stack,
        "Flow",
        steps=[
            Step("licensed", licensed, fargate, consumable_resources={licences: 4}),
            Step("pod", eks_job, eks, command=["run"], environment_from_input={"KEY": "key"}),
            Step(
                "task", task_job, fargate, environment={"MODE": "full"}, vcpus=1, memory=cdk.Size.gibibytes(2)
            ),
            Step(
                "mpi",
                mnp,
                ec2,
                environment_from_input={"KEY": "key"},
                node_overrides=[
                    NodeOverride("0:0", command=["main"]),
                    NodeOverride("1:", vcpus=8, memory=cdk.Size.gibibytes(16), instance_type="c6i.4xlarge"),
                ],
            ),
        ],
    )


@pytest.fixture(scope="module")
def template() -> Template:
    stack = new_stack("Shapes")
    _build(stack)
    return Template.from_stack(stack)


def _task(template: Template, state: str) -> dict:
    (machine,) = template.find_resources("AWS::StepFunctions::StateMachine").values()
    text = json.dumps(machine["Properties"]["DefinitionString"])
    # The definition is an Fn::Join of strings and tokens: keep the strings, the tokens become "X".
    parts = json.loads(text)["Fn::Join"][1]
    body = json.loads("".join(p if isinstance(p, str) else "X" for p in parts))

    def find(states: dict) -> dict | None:
        for name, value in states.items():
            if name == state:
                return value
            for branch in value.get("Branches", []):
                found = find(branch["States"])
                if found:
                    return found
        return None

    found = find(body["States"])
    assert found is not None, state
    if found["Type"] == "Parallel":
        # Submitted through the SDK integration: the step is a Parallel around "<step> submit" and its loop.
        (submit,) = [v for k, v in _states(body["States"]).items() if k == f"{state} submit"]
        assert submit["Resource"].endswith(":states:::aws-sdk:batch:submitJob"), submit["Resource"]
        return submit["Parameters"]
    assert found["Resource"].endswith(":states:::batch:submitJob.sync")
    return found["Parameters"]


def _states(states: dict) -> dict:
    out = {}
    for name, value in states.items():
        out[name] = value
        for branch in value.get("Branches", []):
            out.update(_states(branch["States"]))
    return out


def _listed(value):
    return value if isinstance(value, list) else [value]


def _camel(value):
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: _camel(v) for k, v in value.items() if not k.endswith(".$")}
    if isinstance(value, list):
        return [_camel(v) for v in value]
    return value


def _valid_submit_job(parameters: dict) -> None:
    """The task's request, in the API's casing, passes botocore's SubmitJob validation."""
    model = botocore.session.get_session().get_service_model("batch").operation_model("SubmitJob")
    request = _camel(parameters)
    for item in request.get("eksPropertiesOverride", {}).get("podProperties", {}).get("containers", []):
        for env in item.get("env", []):
            env.setdefault("value", "resolved")
    validate_parameters({k: v for k, v in request.items() if k != "parameters"}, model.input_shape)


def test_consumable_resources_and_job_definition_requests(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Batch::ConsumableResource", {"TotalQuantity": 4, "ResourceType": "REPLENISHABLE"}
    )
    template.has_resource_properties(
        "AWS::Batch::ConsumableResource",
        {"TotalQuantity": 1000, "ResourceType": "NON_REPLENISHABLE", "Tags": {"team": "a"}},
    )
    template.has_resource_properties(
        "AWS::Batch::JobDefinition",
        {
            "ConsumableResourceProperties": {
                "ConsumableResourceList": [
                    {
                        "ConsumableResource": {"Ref": Match.string_like_regexp("Licences")},
                        "Quantity": 1,
                    }
                ]
            }
        },
    )


def test_submitter_sends_the_shape_and_consumables_and_is_granted_them(template: Template) -> None:
    (function,) = [
        f
        for name, f in template.find_resources("AWS::Lambda::Function").items()
        if name.startswith("EksSubmitter")
    ]
    env = function["Properties"]["Environment"]["Variables"]
    assert env["OVERRIDE_SHAPE"] == "eksPropertiesOverride" and "OVERRIDE_CONTAINER" not in env
    assert ":2}" in json.dumps(env["CONSUMABLE_RESOURCES"])
    granted = {
        name.split("Role")[0]
        for name, policy in template.find_resources("AWS::IAM::Policy").items()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Action"] == "batch:SubmitJob"
        and any(
            r.get("Ref", "").startswith("Licences")
            for r in _listed(statement["Resource"])
            if isinstance(r, dict)
        )
    }
    # SubmitJob authorizes the consumable resources: every path submitting the licensed job has them.
    # ...and S3JobRule's EventBridge role (the L2 target grants only the queue and the definition).
    assert {"EksSubmitterFunction", "Nightly", "Flow", "LicensedEvents"} <= granted


def test_job_schedule_sends_a_consumable_override(template: Template) -> None:
    (schedule,) = template.find_resources("AWS::Scheduler::Schedule").values()
    text = json.dumps(schedule["Properties"]["Target"]["Input"])
    assert "ConsumableResourcePropertiesOverride" in text and '\\"Quantity\\":3' in text


def test_workflow_steps_send_the_field_of_their_shape(template: Template) -> None:
    licensed = _task(template, "licensed")
    assert licensed["ConsumableResourcePropertiesOverride"]["ConsumableResourceList"][0]["Quantity"] == 4
    pod = _task(template, "pod")
    (container,) = pod["EksPropertiesOverride"]["PodProperties"]["Containers"]
    assert container == {"Command": ["run"], "Env": [{"Name": "KEY", "Value.$": "$.key"}]}
    assert "ContainerOverrides" not in pod
    task = _task(template, "task")
    (task_container,) = task["EcsPropertiesOverride"]["TaskProperties"][0]["Containers"]
    assert task_container["Name"] == "app" and task_container["Environment"] == [
        {"Name": "MODE", "Value": "full"}
    ]
    assert {"Type": "MEMORY", "Value": "2048"} in task_container["ResourceRequirements"]
    mpi = _task(template, "mpi")
    main, workers = mpi["NodeOverrides"]["NodePropertyOverrides"]
    assert main["TargetNodes"] == "0:0" and main["ContainerOverrides"]["Command"] == ["main"]
    assert main["ContainerOverrides"]["Environment"] == [{"Name": "KEY", "Value.$": "$.key"}]
    assert workers["ContainerOverrides"]["InstanceType"] == "c6i.4xlarge"
    assert {"Type": "VCPU", "Value": "8"} in workers["ContainerOverrides"]["ResourceRequirements"]
    for parameters in (licensed, pod, task, mpi):
        _valid_submit_job(parameters)


# -- rejections (no synth) -------------------------------------------------------------------------
def test_rejects_a_request_above_the_total_quantity() -> None:
    stack = new_stack()
    licences = ConsumableResource(stack, "Licences", total_quantity=2)
    with pytest.raises(
        ValueError, match=r"consumable_resources=.*requests 3 of consumable resource .*total quantity is 2"
    ):
        _licensed_job(stack, licences, 3)
    fargate, _, _ = _queues(stack)
    job = _licensed_job(stack, licences, 1, "Fits")
    with pytest.raises(ValueError, match=r"steps\[a\].consumable_resources=.*total quantity is 2"):
        Workflow(stack, "Flow", steps=[Step("a", job, fargate, consumable_resources={licences: 5})])


def test_rejects_malformed_consumable_requests() -> None:
    stack = new_stack()
    resources = [ConsumableResource(stack, f"R{i}", total_quantity=10) for i in range(6)]
    with pytest.raises(ValueError, match="up to 5 a job"):
        ContainerJobDefinition(
            stack, "Six", container=Container(image=IMAGE), consumable_resources=dict.fromkeys(resources, 1)
        )
    with pytest.raises(ValueError, match="whole number of at least 1"):
        ContainerJobDefinition(
            stack, "Zero", container=Container(image=IMAGE), consumable_resources={resources[0]: 0}
        )


def test_rejects_bad_consumable_resource_props() -> None:
    stack = new_stack()
    with pytest.raises(ValueError, match="total_quantity=-1 is invalid: must be non-negative"):
        ConsumableResource(stack, "Negative", total_quantity=-1)
    with pytest.raises(ValueError, match="total_quantity='2.5 units' is invalid"):
        ConsumableResource(stack, "Half", total_quantity=2.5)
    with pytest.raises(ValueError, match="tag keys are 1-128"):
        ConsumableResource(stack, "Tags", total_quantity=1, tags={"k" * 129: "v"})
    with pytest.raises(ValueError, match="at most 50 tags"):
        ConsumableResource(stack, "ManyTags", total_quantity=1, tags={f"k{i}": "v" for i in range(51)})


def test_rejects_overriding_a_resource_the_definition_does_not_request() -> None:
    stack = new_stack()
    fargate, _, _ = _queues(stack)
    licences = ConsumableResource(stack, "Licences", total_quantity=4)
    other = ConsumableResource(stack, "Other", total_quantity=4)
    job = _licensed_job(stack, licences)
    with pytest.raises(
        ValueError,
        match=r"consumable_resources='Test/Other' is invalid: job definition Test/Licensed requests "
        r"Test/Licences; a submission overrides only the quantities of those",
    ):
        JobSchedule(
            stack,
            "Sched",
            job_definition=job,
            job_queue=fargate,
            schedule=scheduler.ScheduleExpression.rate(cdk.Duration.hours(1)),
            consumable_resources={other: 1},
        )


def test_rejects_overrides_a_shape_cannot_carry() -> None:
    stack = new_stack()
    fargate, _, eks = _queues(stack)
    eks_job = BatchJobDefinition.from_job_definition_arn(
        stack, "Eks", ARN.format("job-definition/p"), submit_shape=SubmitShape.EKS
    )
    bucket = cdk.aws_s3.Bucket(stack, "B")
    with pytest.raises(ValueError, match="can send only containerOverrides"):
        S3JobRule(stack, "Rule", job_queue=eks, job_definition=eks_job, bucket=bucket)
    with pytest.raises(ValueError, match=r"steps\[a\].vcpus/memory=.*Batch on EKS takes no vCPU, memory"):
        Workflow(stack, "Flow", steps=[Step("a", eks_job, eks, vcpus=2)])
    task = BatchJobDefinition.from_job_definition_arn(
        stack, "Task", ARN.format("job-definition/t"), submit_shape=SubmitShape.ECS_TASK
    )
    with pytest.raises(ValueError, match="override container is unknown"):
        S3JobSubmitter(stack, "Sub", job_queue=fargate, job_definition=task)


def test_rejects_node_overrides_outside_the_job_or_on_other_shapes() -> None:
    stack = new_stack()
    fargate, ec2, _ = _queues(stack)
    mnp = _mnp(stack)
    licences = ConsumableResource(stack, "Licences", total_quantity=4)
    job = _licensed_job(stack, licences)
    with pytest.raises(ValueError, match="node_overrides=.* is not a multi-node definition"):
        Workflow(stack, "A", steps=[Step("a", job, fargate, node_overrides=[NodeOverride()])])
    with pytest.raises(
        ValueError,
        match=r"node_overrides\[0\].target_nodes='2:5' is invalid: matches none of the node ranges of "
        r"Test/Mnp \(0:0, 1:\)",
    ):
        Workflow(stack, "B", steps=[Step("a", mnp, ec2, node_overrides=[NodeOverride("2:5")])])
    with pytest.raises(ValueError, match="target_nodes='x' is invalid"):
        Workflow(stack, "C", steps=[Step("a", mnp, ec2, node_overrides=[NodeOverride("x")])])
    with pytest.raises(ValueError, match="set command, vcpus and memory per range"):
        Workflow(stack, "D", steps=[Step("a", mnp, ec2, command=["x"])])


def test_rejects_num_nodes_batch_would_refuse() -> None:
    stack = new_stack()
    _, ec2, _ = _queues(stack)
    # The L2 renders every range closed ("0:2"); ours renders the last one open (see below).
    l2 = batch.MultiNodeJobDefinition(
        stack,
        "L2",
        containers=[
            batch.MultiNodeContainer(
                container=batch.EcsEc2ContainerDefinition(
                    stack, "L2Container", image=IMAGE, cpu=1, memory=cdk.Size.gibibytes(2)
                ),
                start_node=0,
                end_node=2,
            )
        ],
    )
    with pytest.raises(
        ValueError,
        match=r"num_nodes=4 is invalid: job definition .* has only closed node ranges \(0:2\)",
    ):
        Workflow(stack, "A", steps=[Step("a", l2, ec2, num_nodes=4)])
    with pytest.raises(ValueError, match="num_nodes=1001 is invalid: must be between 2 and 1000"):
        Workflow(stack, "B", steps=[Step("a", _mnp(stack), ec2, num_nodes=1001)])


def test_our_multi_node_definitions_can_be_resized_per_submission() -> None:
    """Our last node range renders open ("1:", the same nodes), which SubmitJob's numNodes needs."""
    stack = new_stack()
    _, ec2, _ = _queues(stack)
    mnp = _mnp(stack)
    Workflow(stack, "A", steps=[Step("a", mnp, ec2, num_nodes=6)])
    template = Template.from_stack(stack)
    (definition,) = template.find_resources(
        "AWS::Batch::JobDefinition", {"Properties": {"Type": "multinode"}}
    ).values()
    ranges = definition["Properties"]["NodeProperties"]["NodeRangeProperties"]
    assert [r["TargetNodes"] for r in ranges] == ["0:0", "1:"]
    assert '"NumNodes\\":6' in json.dumps(template.to_json())


def test_rejects_node_overrides_that_no_longer_fit_the_queue() -> None:
    stack = new_stack()
    _, ec2, _ = _queues(stack)
    mnp = _mnp(stack)
    with pytest.raises(
        ValueError, match=r"node_overrides\[0\]=.*nodes 1-2: 256 vCPUs.*can never run on job queue"
    ):
        Workflow(stack, "A", steps=[Step("a", mnp, ec2, node_overrides=[NodeOverride("1:", vcpus=256)])])
    # Without target_nodes, an override goes to every range of the definition.
    with pytest.raises(ValueError, match=r"node_overrides=.*maxvCpus is 64"):
        Workflow(stack, "B", steps=[Step("a", mnp, ec2, node_overrides=[NodeOverride(vcpus=32)])])
    with pytest.raises(ValueError, match=r"pins instance type m6i.large"):
        Workflow(
            stack,
            "C",
            steps=[Step("a", mnp, ec2, node_overrides=[NodeOverride("0:0", instance_type="m6i.large")])],
        )


def test_an_l2_consumable_resource_is_described() -> None:
    stack = new_stack()
    l2 = batch.ConsumableResource(stack, "L2", total_quantity=2)
    with pytest.raises(ValueError, match="total quantity is 2"):
        ContainerJobDefinition(stack, "J", container=Container(image=IMAGE), consumable_resources={l2: 3})
