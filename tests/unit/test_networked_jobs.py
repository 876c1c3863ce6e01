"""What passes synth runs in AWS: multi-node networking and node ranges, kept revisions, the Fargate
public IP decided or warned about, endpoints mode and EFS completing themselves (issue 10, items 2-6)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_efs as efs
from aws_cdk import aws_secretsmanager as sm
from aws_cdk import aws_ssm as ssm
from aws_cdk.assertions import Annotations, Match, Template

from cdk_batchkit.constructs import (
    BatchNetwork,
    Container,
    ContainerJobDefinition,
    Ec2ComputeEnvironment,
    FargateComputeEnvironment,
    JobQueue,
    MultiNodeJobDefinition,
    NetworkMode,
    NodeRange,
    Platform,
)
from cdk_batchkit.model import ComputeKind, ComputeProfile, JobRequirements, NodeGroup
from cdk_batchkit.model.rules import RULES, check_environment, is_ecr_image
from cdk_batchkit.model.rules.fit import fit_image_registry, fit_multi_node_egress, fit_node_traffic
from tests.support import new_stack

PUBLIC_IMAGE = ecs.ContainerImage.from_registry("public.ecr.aws/amazonlinux/amazonlinux:2023")
ECR_NAME = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/jobs/etl:1"
ECR_IMAGE = ecs.ContainerImage.from_registry(ECR_NAME)


def _services(resources: dict[str, Any]) -> list[str]:
    """The interface endpoint services (``secretsmanager``, ``ecr.api``...) of a template."""
    out = []
    for res in resources.values():
        if res["Type"] == "AWS::EC2::VPCEndpoint" and res["Properties"]["VpcEndpointType"] == "Interface":
            name = res["Properties"]["ServiceName"]
            parts = name["Fn::Join"][1] if isinstance(name, dict) else [name]
            text = "".join(p for p in parts if isinstance(p, str))
            out.append(text.rsplit("com.amazonaws.", 1)[-1].lstrip("."))
    return sorted(out)


@dataclass
class Endpoints:
    stack: cdk.Stack
    template: Template
    resources: dict[str, Any]
    network: BatchNetwork
    fs: efs.FileSystem
    access_point: efs.AccessPoint
    secret_job: ContainerJobDefinition
    mnp: MultiNodeJobDefinition

    def lid(self, construct: Any) -> str:
        return self.stack.resolve(construct.node.default_child.logical_id)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def endpoints() -> Endpoints:
    """PRIVATE_WITH_ENDPOINTS: secrets, EFS with an access point, node ranges, all bound to queues."""
    stack = new_stack("Endpoints")
    net = BatchNetwork(stack, "Network", mode=NetworkMode.PRIVATE_WITH_ENDPOINTS, max_azs=1)
    ec2_queue = JobQueue(
        stack,
        "Ec2Queue",
        compute_environments=[Ec2ComputeEnvironment(stack, "OnDemand", network=net, multi_node=True)],
    )
    fargate_queue = JobQueue(
        stack, "FargateQueue", compute_environments=[FargateComputeEnvironment(stack, "Fargate", network=net)]
    )
    secret = sm.Secret(stack, "Secret")
    param = ssm.StringParameter(stack, "Param", string_value="v")
    fs = efs.FileSystem(stack, "Fs", vpc=net.vpc)
    access_point = fs.add_access_point("Ap")
    repo = ecr.Repository(stack, "Repo")
    secret_job = ContainerJobDefinition(
        stack,
        "SecretJob",
        container=Container(
            image=ecs.ContainerImage.from_ecr_repository(repo, "v1"),
            secrets={
                "DB_PASSWORD": batch.Secret.from_secrets_manager(secret),
                "API_URL": batch.Secret.from_ssm_parameter(param),
            },
            volumes=[
                batch.EcsVolume.efs(
                    name="data",
                    file_system=fs,
                    container_path="/data",
                    access_point_id=access_point.access_point_id,
                    enable_transit_encryption=True,
                    use_job_role=True,
                )
            ],
        ),
    )
    ec2_queue.add_job_definition(secret_job)
    # A second definition with a secret, on the other queue of the same network: no second endpoint.
    fargate_job = ContainerJobDefinition(
        stack,
        "FargateSecretJob",
        platform=Platform.FARGATE,
        container=Container(
            image=ECR_IMAGE,
            vcpus=0.5,
            memory=cdk.Size.gibibytes(1),
            secrets={"TOKEN": batch.Secret.from_secrets_manager(secret)},
        ),
    )
    fargate_queue.add_job_definition(fargate_job)
    mnp = MultiNodeJobDefinition(
        stack,
        "Ranges",
        nodes=4,
        node_ranges=[
            NodeRange(Container(image=ECR_IMAGE, vcpus=1, command=["main"]), start=0, end=0),
            NodeRange(Container(image=ECR_IMAGE, vcpus=4, memory=cdk.Size.gibibytes(8)), start=1),
        ],
    )
    ec2_queue.add_job_definition(mnp)
    template = Template.from_stack(stack)
    return Endpoints(stack, template, template.to_json()["Resources"], net, fs, access_point, secret_job, mnp)


# --- item 6: endpoints and EFS complete themselves ---------------------------------------------


def test_secrets_add_secretsmanager_and_ssm_endpoints_once(endpoints: Endpoints) -> None:
    services = _services(endpoints.resources)
    assert services.count("secretsmanager") == 1
    assert services.count("ssm") == 1
    assert len(services) == 9  # the seven of the mode, plus the two the secrets need


def test_efs_volume_opens_nfs_from_the_compute_security_group(endpoints: Endpoints) -> None:
    fs_sg = endpoints.stack.resolve(endpoints.fs.connections.security_groups[0].security_group_id)
    compute_sg = endpoints.stack.resolve(endpoints.network.security_group.security_group_id)
    rules = [
        r["Properties"]
        for r in endpoints.resources.values()
        if r["Type"] == "AWS::EC2::SecurityGroupIngress" and r["Properties"]["GroupId"] == fs_sg
    ]
    assert rules == [
        {
            "Description": "NFS from Batch compute",
            "FromPort": 2049,
            "GroupId": fs_sg,
            "IpProtocol": "tcp",
            "SourceSecurityGroupId": compute_sg,
            "ToPort": 2049,
        }
    ]


def test_efs_volume_grants_the_job_role_mount_and_write_through_its_access_point(
    endpoints: Endpoints,
) -> None:
    role = endpoints.lid(endpoints.secret_job.job_role)
    statements = [
        st
        for res in endpoints.resources.values()
        if res["Type"] == "AWS::IAM::Policy" and {"Ref": role} in res["Properties"]["Roles"]
        for st in res["Properties"]["PolicyDocument"]["Statement"]
    ]
    (efs_statement,) = [s for s in statements if "elasticfilesystem:ClientMount" in json_text(s["Action"])]
    assert efs_statement["Action"] == ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    assert efs_statement["Resource"] == endpoints.stack.resolve(endpoints.fs.file_system_arn)
    condition = efs_statement["Condition"]["StringEquals"]["elasticfilesystem:AccessPointArn"]
    assert endpoints.stack.resolve(endpoints.access_point.access_point_id) in condition["Fn::Join"][1]


def json_text(value: Any) -> str:
    return str(value)


def test_rejects_public_image_on_endpoints_queue() -> None:
    stack = new_stack()
    net = BatchNetwork(stack, "Network", mode=NetworkMode.PRIVATE_WITH_ENDPOINTS, max_azs=1)
    queue = JobQueue(
        stack, "Queue", compute_environments=[FargateComputeEnvironment(stack, "F", network=net)]
    )
    job = ContainerJobDefinition(
        stack,
        "Job",
        platform=Platform.FARGATE,
        container=Container(image=PUBLIC_IMAGE, vcpus=0.5, memory=cdk.Size.gibibytes(1)),
    )
    with pytest.raises(
        ValueError,
        match=r"pulls image public\.ecr\.aws/amazonlinux/amazonlinux:2023 from outside Amazon ECR.*"
        r"PRIVATE_WITH_ENDPOINTS",
    ):
        queue.add_job_definition(job)


def test_rejects_docker_hub_image_given_an_endpoints_network() -> None:
    stack = new_stack()
    net = BatchNetwork(stack, "Network", mode=NetworkMode.PRIVATE_WITH_ENDPOINTS, max_azs=1)
    with pytest.raises(ValueError, match=r"network=.* is invalid: .*pulls image python:3\.13 from outside"):
        ContainerJobDefinition(
            stack,
            "Job",
            network=net,
            container=Container(image=ecs.ContainerImage.from_registry("python:3.13")),
        )


def test_ecr_images_are_recognised() -> None:
    assert is_ecr_image(ECR_NAME)
    assert is_ecr_image("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/a:1")
    assert is_ecr_image("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/a")
    for name in (
        "public.ecr.aws/x/y",
        "python:3.13",
        "ghcr.io/a/b",
        "quay.io/x",
        "12.dkr.ecr.x.amazonaws.com/a",
    ):
        assert not is_ecr_image(name), name


def test_image_rule_needs_a_known_endpoints_only_network() -> None:
    job = JobRequirements(platform=Platform.EC2, vcpus=1, memory_mib=2048, images=("python:3.13",))
    env = ComputeProfile(kind=ComputeKind.EC2)
    assert fit_image_registry(job, env) is None  # unknown network: not checked
    assert fit_image_registry(job, ComputeProfile(kind=ComputeKind.EC2, internet=True)) is None
    assert "python:3.13" in (
        fit_image_registry(job, ComputeProfile(kind=ComputeKind.EC2, internet=False)) or ""
    )


def test_efs_on_a_queue_of_unknown_network_warns() -> None:
    stack = new_stack()
    net = BatchNetwork(stack, "Network", max_azs=1)
    l2_env = batch.ManagedEc2EcsComputeEnvironment(stack, "L2Env", vpc=net.vpc)
    queue = JobQueue(stack, "Queue", compute_environments=[l2_env])
    fs = efs.FileSystem(stack, "Fs", vpc=net.vpc)
    job = ContainerJobDefinition(
        stack,
        "Job",
        container=Container(
            image=PUBLIC_IMAGE,
            volumes=[batch.EcsVolume.efs(name="d", file_system=fs, container_path="/d")],
        ),
    )
    queue.add_job_definition(job)
    Annotations.from_stack(stack).has_warning(
        "/Test/Job",
        Match.string_like_regexp(r"the network of Test/L2Env is unknown, so this was not set up: NFS"),
    )


# --- item 2: node ranges --------------------------------------------------------------------------


def test_node_ranges_render_one_range_each_with_its_container(endpoints: Endpoints) -> None:
    props = endpoints.resources[endpoints.lid(endpoints.mnp.resource)]["Properties"]["NodeProperties"]
    assert props["NumNodes"] == 4 and props["MainNode"] == 0
    ranges = props["NodeRangeProperties"]
    assert [r["TargetNodes"] for r in ranges] == ["0:0", "1:"]
    assert ranges[0]["Container"]["Command"] == ["main"]
    requirements = [{r["Type"]: r["Value"] for r in n["Container"]["ResourceRequirements"]} for n in ranges]
    assert requirements == [{"MEMORY": "2048", "VCPU": "1"}, {"MEMORY": "8192", "VCPU": "4"}]
    # One execution role for every range.
    assert ranges[0]["Container"]["ExecutionRoleArn"] == ranges[1]["Container"]["ExecutionRoleArn"]


def test_node_range_requirements_list_every_group(endpoints: Endpoints) -> None:
    reqs = endpoints.mnp.requirements
    assert reqs.node_groups == (
        NodeGroup(1, 1, 2048, 0, "nodes 0-0"),
        NodeGroup(3, 4, 8192, 0, "nodes 1-3"),
    )
    assert (reqs.nodes, reqs.vcpus, reqs.memory_mib) == (4, 4, 8192)


def _ranges(stack: cdk.Stack, ranges: list[NodeRange], nodes: int = 4, **kwargs: Any) -> None:
    MultiNodeJobDefinition(stack, "Mnp", node_ranges=ranges, nodes=nodes, **kwargs)


def _c(vcpus: int = 1) -> Container:
    return Container(image=ECR_IMAGE, vcpus=vcpus)


def test_rejects_overlapping_node_ranges() -> None:
    with pytest.raises(ValueError, match=r"node_ranges='nodes 0-1 and 1-3' is invalid: node ranges overlap"):
        _ranges(new_stack(), [NodeRange(_c(), 0, 1), NodeRange(_c(), 1)])


def test_rejects_a_gap_between_node_ranges() -> None:
    with pytest.raises(ValueError, match=r"is invalid: nodes 1-1 are in no range"):
        _ranges(new_stack(), [NodeRange(_c(), 0, 0), NodeRange(_c(), 2)])


def test_rejects_node_ranges_that_miss_the_last_nodes() -> None:
    with pytest.raises(
        ValueError, match=r"node_ranges=\['0-0', '1-2'\] is invalid: nodes 3-3 are in no range"
    ):
        _ranges(new_stack(), [NodeRange(_c(), 0, 0), NodeRange(_c(), 1, 2)])


def test_rejects_a_node_range_beyond_the_nodes() -> None:
    with pytest.raises(ValueError, match=r"node_ranges='nodes 1-5' is invalid: .* within nodes 0-3"):
        _ranges(new_stack(), [NodeRange(_c(), 0, 0), NodeRange(_c(), 1, 5)])


def test_rejects_container_and_node_ranges_together() -> None:
    stack = new_stack()
    with pytest.raises(ValueError, match=r"give exactly one of container and node_ranges"):
        MultiNodeJobDefinition(stack, "Mnp", container=_c(), node_ranges=[NodeRange(_c())])


def test_rejects_an_invalid_container_in_a_node_range() -> None:
    with pytest.raises(ValueError, match=r"node_ranges\[1\]\.container\.vcpus=0\.5 is invalid"):
        _ranges(new_stack(), [NodeRange(_c(), 0, 0), NodeRange(Container(image=ECR_IMAGE, vcpus=0.5), 1)])


def test_rejects_main_node_outside_the_ranges() -> None:
    with pytest.raises(ValueError, match=r"main_node=4 is invalid"):
        _ranges(new_stack(), [NodeRange(_c())], main_node=4)


def _private_queue(stack: cdk.Stack, *, multi_node: bool = True, **kwargs: Any) -> JobQueue:
    net = BatchNetwork(stack, "Network", mode=NetworkMode.PRIVATE_WITH_NAT, max_azs=1)
    env = Ec2ComputeEnvironment(stack, "Env", network=net, multi_node=multi_node, **kwargs)
    return JobQueue(stack, "Queue", compute_environments=[env])


def test_rejects_a_node_range_no_instance_type_can_hold() -> None:
    # The node with most vCPUs fits a c6i.xlarge (4 vCPUs, 8 GiB); the workers' memory does not.
    stack = new_stack()
    queue = _private_queue(stack, instance_types=["c6i.xlarge"])
    main = Container(image=ECR_IMAGE, vcpus=4, memory=cdk.Size.gibibytes(2))
    worker = Container(image=ECR_IMAGE, vcpus=1, memory=cdk.Size.gibibytes(60))
    job = MultiNodeJobDefinition(
        stack, "Mnp", nodes=3, node_ranges=[NodeRange(main, 0, 0), NodeRange(worker, 1)]
    )
    with pytest.raises(ValueError, match=r"needs 1 vCPUs, 61440 MiB per node \(nodes 1-2\), but no allowed"):
        queue.add_job_definition(job)


def test_rejects_node_ranges_that_need_more_than_maxv_cpus() -> None:
    stack = new_stack()
    queue = _private_queue(stack, maxv_cpus=16)
    job = MultiNodeJobDefinition(
        stack, "Mnp", nodes=3, node_ranges=[NodeRange(_c(2), 0, 0), NodeRange(_c(8), 1)]
    )
    with pytest.raises(ValueError, match=r"needs 1 x 2 \+ 2 x 8 = 18 vCPUs but maxvCpus is 16"):
        queue.add_job_definition(job)


# --- item 2: multi-node networking ------------------------------------------------------------------


def test_rejects_multi_node_job_on_the_public_network() -> None:
    stack = new_stack()
    net = BatchNetwork(stack, "Network", max_azs=1)
    env = Ec2ComputeEnvironment(stack, "Env", network=net, multi_node=True)
    queue = JobQueue(stack, "Queue", compute_environments=[env])
    job = MultiNodeJobDefinition(stack, "Mnp", container=_c())
    with pytest.raises(
        ValueError,
        match=r"(?s)can never run on job queue .*private IP only \(no public IP\).*"
        r"mode=NetworkMode\.PRIVATE_WITH_NAT \(or NetworkMode\.PRIVATE_WITH_ENDPOINTS",
    ):
        queue.add_job_definition(job)


def test_rejects_multi_node_job_given_the_public_network() -> None:
    stack = new_stack()
    net = BatchNetwork(stack, "Network", max_azs=1)
    with pytest.raises(
        ValueError, match=r"network='Test/Network' is invalid: .*NetworkMode\.PRIVATE_WITH_NAT"
    ):
        MultiNodeJobDefinition(stack, "Mnp", container=_c(), network=net)


def test_rejects_multi_node_job_where_nodes_cannot_reach_each_other() -> None:
    stack = new_stack()
    queue = _private_queue(stack, multi_node=False)
    job = MultiNodeJobDefinition(stack, "Mnp", container=_c())
    with pytest.raises(ValueError, match=r"allow no traffic between the nodes.*multi_node=True"):
        queue.add_job_definition(job)


def test_multi_node_job_runs_on_a_private_multi_node_environment() -> None:
    stack = new_stack()
    queue = _private_queue(stack, cluster_placement=True)
    queue.add_job_definition(MultiNodeJobDefinition(stack, "Mnp", container=_c()))


def test_multi_node_rules_skip_unknown_networks() -> None:
    job = JobRequirements(platform=Platform.EC2, vcpus=1, memory_mib=2048, nodes=2)
    unknown = ComputeProfile(kind=ComputeKind.EC2)
    assert fit_multi_node_egress(job, unknown) is None and fit_node_traffic(job, unknown) is None
    single = JobRequirements(platform=Platform.EC2, vcpus=1, memory_mib=2048)
    closed = ComputeProfile(kind=ComputeKind.EC2, private_egress=False, node_traffic=False)
    assert fit_multi_node_egress(single, closed) is None and fit_node_traffic(single, closed) is None
    why, _ = check_environment(job, closed)
    assert why is not None and "no public IP" in why


def test_new_rules_are_registered() -> None:
    for rule_id in ("BK-N1", "BK-N2", "BK-N3", "BK-N4", "BK-P1", "BK-P2", "BK-P3", "BK-C9", "BK-D1"):
        assert RULES[rule_id].source.startswith("https://docs.aws.amazon.com/"), rule_id


# --- items 3 and 5: revisions and the Fargate public IP ----------------------------------------------


@dataclass
class Public:
    stack: cdk.Stack
    template: Template
    annotations: Annotations
    jobs: dict[str, Any]

    def definition(self, name: str) -> dict[str, Any]:
        lid = self.stack.resolve(self.jobs[name].resource.node.default_child.logical_id)
        return self.template.to_json()["Resources"][lid]["Properties"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def public() -> Public:
    stack = new_stack("Public")
    net = BatchNetwork(stack, "Network", max_azs=1)
    queue = JobQueue(
        stack, "Queue", compute_environments=[FargateComputeEnvironment(stack, "F", network=net)]
    )
    small = Container(image=PUBLIC_IMAGE, vcpus=0.5, memory=cdk.Size.gibibytes(1))
    fs = efs.FileSystem(stack, "Fs", vpc=net.vpc)
    jobs: dict[str, Any] = {
        "Unbound": ContainerJobDefinition(stack, "Unbound", platform=Platform.FARGATE, container=small),
        "Bound": ContainerJobDefinition(stack, "Bound", platform=Platform.FARGATE, container=small),
        "Given": ContainerJobDefinition(
            stack, "Given", platform=Platform.FARGATE, container=small, network=net
        ),
        "Explicit": ContainerJobDefinition(
            stack, "Explicit", platform=Platform.FARGATE, container=small, assign_public_ip=True
        ),
        "Ec2": ContainerJobDefinition(stack, "Ec2", container=Container(image=PUBLIC_IMAGE)),
        "Efs": ContainerJobDefinition(
            stack,
            "Efs",
            container=Container(
                image=PUBLIC_IMAGE,
                volumes=[batch.EcsVolume.efs(name="d", file_system=fs, container_path="/d")],
            ),
        ),
        "Secrets": ContainerJobDefinition(
            stack,
            "Secrets",
            container=Container(
                image=PUBLIC_IMAGE,
                secrets={
                    "T": batch.Secret.from_ssm_parameter(ssm.StringParameter(stack, "P", string_value="v"))
                },
            ),
        ),
        "Deregisters": ContainerJobDefinition(
            stack, "Deregisters", container=Container(image=PUBLIC_IMAGE), skip_deregister_on_update=False
        ),
    }
    queue.add_job_definition(jobs["Bound"])
    return Public(stack, Template.from_stack(stack), Annotations.from_stack(stack), jobs)


def _warnings(public: Public, path: str) -> list[str]:
    found = public.annotations.find_warning(f"/Public/{path}", Match.any_value())
    return [str(w.entry.data) for w in found]


def test_unbound_fargate_definition_warns_that_its_public_ip_is_disabled(public: Public) -> None:
    (warning,) = _warnings(public, "Unbound")
    assert "AssignPublicIp DISABLED" in warning
    assert "queue.add_job_definition(job)" in warning and "network=" in warning
    assert "assign_public_ip=True" in warning
    assert public.definition("Unbound")["ContainerProperties"]["NetworkConfiguration"] == {
        "AssignPublicIp": "DISABLED"
    }


def test_no_public_ip_warning_once_the_network_is_known_or_the_ip_is_set(public: Public) -> None:
    for name in ("Bound", "Given", "Explicit", "Ec2", "Deregisters"):
        assert _warnings(public, name) == [], name
    for name in ("Bound", "Given", "Explicit"):
        config = public.definition(name)["ContainerProperties"]["NetworkConfiguration"]
        assert config == {"AssignPublicIp": "ENABLED"}, name


def test_unbound_efs_definition_warns_that_nfs_was_not_opened(public: Public) -> None:
    (warning,) = _warnings(public, "Efs")
    assert "NFS (TCP 2049)" in warning and "not opened" in warning


def test_unbound_definition_with_secrets_warns_about_endpoints(public: Public) -> None:
    (warning,) = _warnings(public, "Secrets")
    assert "VPC interface endpoints for ssm" in warning and "PRIVATE_WITH_ENDPOINTS" in warning


def test_job_definitions_keep_old_revisions_by_default(public: Public) -> None:
    for name in ("Unbound", "Bound", "Ec2", "Efs"):
        assert public.definition(name)["ResourceRetentionPolicy"] == {"SkipDeregisterOnUpdate": True}, name
    assert public.definition("Deregisters").get("ResourceRetentionPolicy", {}).get(
        "SkipDeregisterOnUpdate"
    ) in (None, False)


def test_multi_node_definitions_keep_old_revisions_by_default(endpoints: Endpoints) -> None:
    props = endpoints.resources[endpoints.lid(endpoints.mnp.resource)]["Properties"]
    assert props["ResourceRetentionPolicy"] == {"SkipDeregisterOnUpdate": True}


def test_every_range_of_an_l2_multi_node_definition_is_checked() -> None:
    stack = new_stack()
    queue = _private_queue(stack, instance_types=["c6i.xlarge"])
    main = batch.EcsEc2ContainerDefinition(
        stack, "Main", image=ECR_IMAGE, cpu=4, memory=cdk.Size.gibibytes(2)
    )
    worker = batch.EcsEc2ContainerDefinition(
        stack, "Worker", image=ECR_IMAGE, cpu=1, memory=cdk.Size.gibibytes(60)
    )
    l2 = batch.MultiNodeJobDefinition(
        stack,
        "L2Mnp",
        instance_type=ec2.InstanceType("c6i.xlarge"),
        containers=[
            batch.MultiNodeContainer(container=worker, start_node=1, end_node=2),
            batch.MultiNodeContainer(container=main, start_node=0, end_node=0),
        ],
    )
    with pytest.raises(ValueError, match=r"needs 1 vCPUs, 61440 MiB per node \(nodes 1-2\), but no allowed"):
        queue.add_job_definition(l2)


def test_endpoints_added_for_secrets_are_priced(endpoints: Endpoints) -> None:
    from pathlib import Path

    from cdk_batchkit import plan

    lines = plan.idle_cost(
        [plan.Template("Endpoints", Path("Endpoints.template.json"), endpoints.template.to_json())]
    )
    endpoint_cost = sum(
        line.monthly_usd or 0 for line in lines if line.resource_type == "AWS::EC2::VPCEndpoint"
    )
    # Nine interface endpoints ($0.01 per hour each in the one AZ), the S3 gateway endpoint free.
    assert round(endpoint_cost, 2) == 65.70


def test_efs_and_secrets_across_stacks_add_no_reverse_reference() -> None:
    """Network, queue, file system and the job's role in a platform stack; the job in another one."""
    from aws_cdk import aws_iam as iam

    app = cdk.App()
    platform = cdk.Stack(app, "Platform")
    net = BatchNetwork(platform, "Network", mode=NetworkMode.PRIVATE_WITH_ENDPOINTS, max_azs=1)
    queue = JobQueue(
        platform, "Queue", compute_environments=[Ec2ComputeEnvironment(platform, "E", network=net)]
    )
    fs = efs.FileSystem(platform, "Fs", vpc=net.vpc)
    role = iam.Role(platform, "JobRole", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
    secret = sm.Secret(platform, "Secret")
    jobs = cdk.Stack(app, "Jobs")
    job = ContainerJobDefinition(
        jobs,
        "Job",
        job_role=role,
        container=Container(
            image=ECR_IMAGE,
            secrets={"S": batch.Secret.from_secrets_manager(secret)},
            volumes=[batch.EcsVolume.efs(name="d", file_system=fs, container_path="/d", readonly=True)],
        ),
    )
    queue.add_job_definition(job)
    assembly = app.synth()  # raises on a dependency cycle
    stacks = ("Platform", "Jobs")
    depends = {
        name: [d.id for d in assembly.get_stack_by_name(name).dependencies if d.id in stacks]
        for name in stacks
    }
    assert depends == {"Platform": [], "Jobs": ["Platform"]}
    jobs_template = Template.from_stack(jobs)
    jobs_template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Action": "elasticfilesystem:ClientMount"})]  # read-only: no write
                )
            }
        },
    )
    assert "secretsmanager" in _services(Template.from_stack(platform).to_json()["Resources"])
