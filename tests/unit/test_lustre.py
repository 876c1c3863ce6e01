"""FSx for Lustre beside EFS (issue 12, item 8): mounted by the compute environment's launch template,
opened in the security groups, handed to EC2 containers as a host volume, and fit-checked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import boto3
import pytest
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_fsx as fsx
from aws_cdk.assertions import Match, Template
from moto import mock_aws

from cdk_batchkit.constructs import (
    Architecture,
    BatchNetwork,
    Container,
    ContainerJobDefinition,
    Ec2ComputeEnvironment,
    JobQueue,
    LustreMount,
    LustreVolume,
    MultiNodeJobDefinition,
    NodeRange,
    Platform,
    UnmanagedComputeEnvironment,
)
from cdk_batchkit.model import ComputeKind, ComputeProfile, JobRequirements, SharedMount, check_fit
from cdk_batchkit.testing.convert import to_request
from tests.support import SAMPLE_IMAGE, new_stack

IMAGE = ecs.ContainerImage.from_registry(SAMPLE_IMAGE)
IMPORTED_ID = "fs-0123456789abcdef0"


def _file_system(stack: cdk.Stack, vpc: ec2.IVpc, construct_id: str = "Fs") -> fsx.LustreFileSystem:
    return fsx.LustreFileSystem(
        stack,
        construct_id,
        vpc=vpc,
        vpc_subnet=vpc.public_subnets[0],
        storage_capacity_gib=1200,
        lustre_configuration=fsx.LustreConfiguration(deployment_type=fsx.LustreDeploymentType.SCRATCH_2),
    )


def _imported(stack: cdk.Stack) -> fsx.FileSystemBase:
    return fsx.LustreFileSystem.from_lustre_file_system_attributes(
        stack,
        "Imported",
        dns_name=f"{IMPORTED_ID}.fsx.eu-west-1.amazonaws.com",
        file_system_id=IMPORTED_ID,
        security_group=ec2.SecurityGroup.from_security_group_id(stack, "ImportedSg", "sg-0123456789abcdef0"),
    )


@dataclass
class Built:
    stack: cdk.Stack
    template: Template
    resources: dict[str, Any]
    fs: fsx.LustreFileSystem
    x86: Ec2ComputeEnvironment
    arm: Ec2ComputeEnvironment
    job: ContainerJobDefinition
    network: BatchNetwork

    def lid(self, construct: Any) -> str:
        return self.stack.resolve(construct.node.default_child.logical_id)  # type: ignore[no-any-return]

    def user_data(self, env: Ec2ComputeEnvironment) -> list[Any]:
        """The launch template's user data, its MIME parts decoded, as strings and references."""
        data = self.resources[self.lid(env.launch_template)]["Properties"]["LaunchTemplateData"]["UserData"]
        return _flat(data)


def _flat(value: Any) -> list[Any]:
    if isinstance(value, dict) and "Fn::Base64" in value:
        return _flat(value["Fn::Base64"])
    if isinstance(value, dict) and "Fn::Join" in value:
        return [part for item in value["Fn::Join"][1] for part in _flat(item)]
    return [value]


@pytest.fixture(scope="module")
def built() -> Built:
    stack = new_stack("Lustre")
    net = BatchNetwork(stack, "Network", max_azs=1)
    fs = _file_system(stack, net.vpc)
    scratch = LustreMount(fs)
    x86 = Ec2ComputeEnvironment(stack, "X86", network=net, lustre=[scratch])
    arm = Ec2ComputeEnvironment(
        stack,
        "Arm",
        network=net,
        architecture=Architecture.ARM64,
        lustre=[scratch, LustreMount(_imported(stack), mount_path="/scratch", mount_name="abcdefgh")],
    )
    queue = JobQueue(stack, "Queue", compute_environments=[x86])
    job = ContainerJobDefinition(
        stack,
        "Job",
        container=Container(
            image=IMAGE, volumes=[LustreVolume(scratch, container_path="/data", read_only=True)]
        ),
    )
    queue.add_job_definition(job)
    template = Template.from_stack(stack)
    return Built(stack, template, template.to_json()["Resources"], fs, x86, arm, job, net)


def test_launch_template_installs_the_al2023_client_and_mounts_the_file_system(built: Built) -> None:
    parts = built.user_data(built.x86)
    text = "".join(p for p in parts if isinstance(p, str))
    assert "Amazon Linux 2023 (x86_64)" in text
    assert "dnf install -y lustre-client" in text
    assert 'echo "$1 $2 lustre defaults,relatime,flock,_netdev 0 0" >> /etc/fstab' in text
    assert 'mountpoint -q "$2" && return 0' in text
    # DNS_NAME@tcp:/MOUNT_NAME at /fsx, from the file system's own attributes.
    fs_lid = built.lid(built.fs)
    assert {"Ref": fs_lid} in parts
    assert {"Fn::GetAtt": [fs_lid, "LustreMountName"]} in parts
    after = parts[parts.index({"Fn::GetAtt": [fs_lid, "LustreMountName"]}) + 1]
    assert after.startswith("' '/fsx' || status=1")
    # A MIME part of its own after the user-data hook, so user_data_commands stay first.
    assert text.index("# cdk-batchkit user-data hook") < text.index("lustre-client")


def test_graviton_environment_mounts_with_the_same_al2023_package_and_an_imported_file_system(
    built: Built,
) -> None:
    parts = built.user_data(built.arm)
    text = "".join(p for p in parts if isinstance(p, str))
    assert "Amazon Linux 2023 (arm64)" in text
    assert "dnf install -y lustre-client" in text
    assert (
        f"batchkit_mount_lustre '{IMPORTED_ID}.fsx.eu-west-1.amazonaws.com@tcp:/abcdefgh' '/scratch'" in text
    )
    assert built.arm.profile.shared_mounts == (
        SharedMount("Lustre/Fs", "/fsx"),
        SharedMount(IMPORTED_ID, "/scratch"),
    )


def _sg(built: Built, group: ec2.ISecurityGroup) -> dict[str, Any]:
    return {"Fn::GetAtt": [built.lid(group), "GroupId"]}


def test_lustre_ports_are_open_between_compute_and_file_system(built: Built) -> None:
    compute = _sg(built, built.network.security_group)
    lustre = _sg(built, built.fs.connections.security_groups[0])
    for low, high in ((988, 988), (1018, 1023)):
        for group, source in ((lustre, compute), (compute, lustre)):
            built.template.has_resource_properties(
                "AWS::EC2::SecurityGroupIngress",
                {
                    "IpProtocol": "tcp",
                    "FromPort": low,
                    "ToPort": high,
                    "GroupId": group,
                    "SourceSecurityGroupId": source,
                },
            )
        # The imported file system's group is opened too (by id).
        built.template.has_resource_properties(
            "AWS::EC2::SecurityGroupIngress",
            {
                "FromPort": low,
                "ToPort": high,
                "GroupId": "sg-0123456789abcdef0",
                "SourceSecurityGroupId": compute,
            },
        )
    # Nothing else: exactly those two ranges, each way, per file system (two environments share the rules).
    ingress = built.template.find_resources("AWS::EC2::SecurityGroupIngress")
    ports = sorted((r["Properties"]["FromPort"], r["Properties"]["ToPort"]) for r in ingress.values())
    assert ports.count((988, 988)) == 4 and ports.count((1018, 1023)) == 4


def test_job_definition_gets_the_host_volume_and_mount_point(built: Built) -> None:
    built.template.has_resource_properties(
        "AWS::Batch::JobDefinition",
        {
            "ContainerProperties": Match.object_like(
                {
                    "Volumes": [{"Host": {"SourcePath": "/fsx"}, "Name": "lustre-fsx"}],
                    "MountPoints": [
                        {"ContainerPath": "/data", "ReadOnly": True, "SourceVolume": "lustre-fsx"}
                    ],
                }
            )
        },
    )
    assert built.job.requirements.shared_mounts == (SharedMount("Lustre/Fs", "/fsx"),)


def _warnings(construct: Any) -> list[str]:
    """The synth warnings added on ``construct`` (read from its metadata: no second synth)."""
    return [str(e.data) for e in construct.node.metadata if e.type == "aws:cdk:warning"]


def test_an_imported_file_system_warns_that_its_vpc_is_unchecked(built: Built) -> None:
    (warning,) = _warnings(built.arm)
    assert f"not checked that FSx for Lustre file system {IMPORTED_ID} is in the VPC" in warning
    assert _warnings(built.x86) == []


def test_moto_batch_accepts_the_lustre_volume(built: Built) -> None:
    (props,) = [
        r["Properties"]["ContainerProperties"]
        for r in built.resources.values()
        if r["Type"] == "AWS::Batch::JobDefinition"
    ]
    request = to_request(
        "batch",
        "RegisterJobDefinition",
        {
            "JobDefinitionName": "lustre",
            "Type": "container",
            "ContainerProperties": {
                "Image": props["Image"],
                "ResourceRequirements": props["ResourceRequirements"],
                "Volumes": props["Volumes"],
                "MountPoints": props["MountPoints"],
            },
        },
    )
    with mock_aws(config={"batch": {"use_docker": False}}):
        client = boto3.client("batch", region_name="eu-west-1")
        client.register_job_definition(**request)
        (described,) = client.describe_job_definitions(jobDefinitionName="lustre")["jobDefinitions"]
    container = described["containerProperties"]
    assert container["volumes"] == [{"host": {"sourcePath": "/fsx"}, "name": "lustre-fsx"}]
    assert container["mountPoints"] == [
        {"containerPath": "/data", "readOnly": True, "sourceVolume": "lustre-fsx"}
    ]


def test_fit_rule_needs_the_mount_at_the_same_path_on_every_environment_that_may_run_the_job() -> None:
    job = JobRequirements(Platform.EC2, 1, 1024, shared_mounts=(SharedMount("fs-1", "/fsx"),))
    mounted = ComputeProfile(ComputeKind.EC2, shared_mounts=(SharedMount("fs-1", "/fsx"),))
    elsewhere = ComputeProfile(ComputeKind.EC2, shared_mounts=(SharedMount("fs-1", "/mnt"),))
    unknown = ComputeProfile(ComputeKind.EC2)
    fargate = ComputeProfile(ComputeKind.FARGATE, architecture=None, shared_mounts=())
    assert check_fit(job, {"a": mounted}).fits
    assert check_fit(job, {"a": mounted, "unknown": unknown}).fits
    # Batch never places an EC2 job on Fargate: that environment needs no mount.
    assert check_fit(job, {"a": mounted, "fargate": fargate}).fits
    # One environment that may run the job without the mount is enough to fail: Batch may pick it.
    result = check_fit(job, {"a": mounted, "b": elsewhere})
    assert not result.fits and result.rule_ids == ("BK-L1",)
    assert "b: Batch may place the job here" in result.problems[0]
    assert "file system fs-1 mounted at /fsx" in result.problems[0]


# -- validations: each in a fresh, small stack, without synthesizing ----------------------------------
def _env_and_fs(stack: cdk.Stack) -> tuple[BatchNetwork, fsx.LustreFileSystem]:
    net = BatchNetwork(stack, "Network", max_azs=1)
    return net, _file_system(stack, net.vpc)


def test_rejects_a_job_on_a_queue_whose_environments_do_not_mount_its_file_system() -> None:
    stack = new_stack()
    net, fs = _env_and_fs(stack)
    mount = LustreMount(fs)
    mounted = Ec2ComputeEnvironment(stack, "Mounted", network=net, lustre=[mount])
    plain = Ec2ComputeEnvironment(stack, "Plain", network=net)
    # Batch may place the job on either environment: one without the mount is enough to fail.
    queue = JobQueue(stack, "Queue", compute_environments=[mounted, plain])
    job = ContainerJobDefinition(
        stack, "Job", container=Container(image=IMAGE, volumes=[LustreVolume(mount)])
    )
    with pytest.raises(
        ValueError,
        match=r"Test/Plain: Batch may place the job here, but it needs file system Test/Fs mounted at /fsx",
    ):
        queue.add_job_definition(job)


def test_multi_node_job_needs_the_mounts_of_every_node_range() -> None:
    stack = new_stack()
    _, fs = _env_and_fs(stack)
    job = MultiNodeJobDefinition(
        stack,
        "Job",
        node_ranges=[
            NodeRange(Container(image=IMAGE), 0, 0),
            NodeRange(Container(image=IMAGE, volumes=[LustreVolume(LustreMount(fs, "/mnt/a"))]), 1),
        ],
    )
    assert job.requirements.shared_mounts == (SharedMount("Test/Fs", "/mnt/a"),)


def test_rejects_lustre_volume_on_fargate() -> None:
    volume = LustreVolume(LustreMount(_file_system(*_stack_and_vpc())))
    stack = new_stack("Fargate")
    # A Lustre volume is a host volume: BK-T1 refuses it on Fargate before BK-L2 is reached.
    with pytest.raises(ValueError, match=r"container.volumes=\['lustre-fsx'\] is invalid: Fargate does not"):
        ContainerJobDefinition(
            stack,
            "Job",
            container=Container(image=IMAGE, vcpus=0.25, memory=cdk.Size.mebibytes(512), volumes=[volume]),
            platform=Platform.FARGATE,
        )


def _stack_and_vpc() -> tuple[cdk.Stack, ec2.IVpc]:
    stack = new_stack("Storage")
    return stack, BatchNetwork(stack, "Network", max_azs=1).vpc


def test_rejects_a_file_system_in_another_vpc() -> None:
    stack = new_stack()
    net = BatchNetwork(stack, "Network", max_azs=1)
    other = ec2.Vpc(stack, "Other", max_azs=1, nat_gateways=0)
    fs = _file_system(stack, other)
    with pytest.raises(ValueError, match=r"lustre\[0\].file_system='Test/Fs' is invalid: .* another VPC"):
        Ec2ComputeEnvironment(stack, "Env", network=net, lustre=[LustreMount(fs)])


def _ingress(stack: cdk.Stack) -> list[ec2.CfnSecurityGroupIngress]:
    return [c for c in stack.node.find_all() if isinstance(c, ec2.CfnSecurityGroupIngress)]


def test_file_system_of_the_same_vpc_in_another_stack_passes_and_its_rules_stay_with_the_compute() -> None:
    app = cdk.App()
    net = BatchNetwork(cdk.Stack(app, "Net"), "Network", max_azs=1)
    storage = cdk.Stack(app, "Storage")
    fs = _file_system(storage, net.vpc)
    compute = cdk.Stack(app, "Compute")
    mount = LustreMount(fs)
    env = Ec2ComputeEnvironment(compute, "Env", network=net, lustre=[mount])
    Ec2ComputeEnvironment(compute, "Again", network=net, lustre=[mount])
    assert env.profile.shared_mounts == (SharedMount("Storage/Fs", "/fsx"),)
    assert _warnings(env) == []
    # The network's stack never refers to the file system's (which refers to the network's VPC): the four
    # rules are in the compute stack, once for both environments (EC2 rejects a duplicate rule).
    assert len(_ingress(compute)) == 4
    assert _ingress(cdk.Stack.of(net)) == [] and len(_ingress(storage)) == 1  # the file system's own rule


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("fsx", "absolute path"),
        ("/fsx/", "absolute path"),
        ("/a/../etc", "absolute path"),
        ("/etc/fsx", "system directory"),
        ("/fs x", "absolute path"),
    ],
)
def test_rejects_bad_mount_paths(path: str, why: str) -> None:
    fs = _file_system(*_stack_and_vpc())
    with pytest.raises(ValueError, match=rf"LustreMount: mount_path='{path}' is invalid: .*{why}"):
        LustreMount(fs, mount_path=path)


def test_rejects_overlapping_mount_paths() -> None:
    stack = new_stack()
    net, fs = _env_and_fs(stack)
    second = _file_system(stack, net.vpc, "Second")
    with pytest.raises(
        ValueError, match=r"lustre\[1\].mount_path='/fsx/b' is invalid: overlaps the mount at /fsx"
    ):
        Ec2ComputeEnvironment(
            stack, "Env", network=net, lustre=[LustreMount(fs), LustreMount(second, "/fsx/b")]
        )


def test_rejects_imported_file_system_without_mount_name() -> None:
    with pytest.raises(ValueError, match=r"mount_name=None is invalid: an imported file system"):
        LustreMount(_imported(new_stack()))


def test_rejects_bad_mount_name() -> None:
    with pytest.raises(ValueError, match=r"mount_name='not/a-name' is invalid"):
        LustreMount(_imported(new_stack()), mount_name="not/a-name")


def test_rejects_relative_container_path() -> None:
    fs = _file_system(*_stack_and_vpc())
    with pytest.raises(ValueError, match=r"container_path='data' is invalid"):
        LustreVolume(LustreMount(fs), container_path="data")


def test_lustre_job_on_an_environment_of_unknown_mounts_warns() -> None:
    stack = new_stack()
    _, fs = _env_and_fs(stack)
    queue = JobQueue(stack, "Queue", compute_environments=[UnmanagedComputeEnvironment(stack, "Own")])
    job = ContainerJobDefinition(
        stack, "Job", container=Container(image=IMAGE, volumes=[LustreVolume(LustreMount(fs))])
    )
    queue.add_job_definition(job)
    (warning,) = [w for w in _warnings(job) if "Lustre" in w]
    assert "not checked that Test/Own mount(s) its FSx for Lustre file system(s)" in warning


def test_l2_host_volumes_stay_plain(built: Built) -> None:
    # A plain host volume is not a Lustre one: no mount requirement.
    stack = new_stack()
    job = ContainerJobDefinition(
        stack,
        "Job",
        container=Container(
            image=IMAGE, volumes=[batch.EcsVolume.host(name="scratch", container_path="/s", host_path="/s")]
        ),
    )
    assert job.requirements.shared_mounts == ()
