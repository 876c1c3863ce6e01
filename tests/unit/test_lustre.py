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
from cdk_batchkit.model import (
    ComputeKind,
    ComputeProfile,
    JobRequirements,
    LaunchTemplateSpec,
    LustreMountSpec,
    SharedMount,
    check_fit,
)
from cdk_batchkit.model.rules import (
    lustre_failed_mount_terminates,
    lustre_in_network,
    lustre_launch_template,
    lustre_paths,
    lustre_volumes_on_ec2,
)
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
            image=IMAGE, volumes=[LustreVolume(scratch, container_path="/data", readonly=True)]
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
    # DNS_NAME@tcp:/MOUNT_NAME at /fsx, from the file system's own attributes: its DNSName, never a name
    # built from the id, the region and the URL suffix (which is not the name in the China regions).
    fs_lid = built.lid(built.fs)
    assert parts[parts.index({"Fn::GetAtt": [fs_lid, "DNSName"]}) + 1] == "@tcp:/"
    assert {"Ref": "AWS::URLSuffix"} not in parts and {"Ref": fs_lid} not in parts
    assert {"Fn::GetAtt": [fs_lid, "LustreMountName"]} in parts
    after = parts[parts.index({"Fn::GetAtt": [fs_lid, "LustreMountName"]}) + 1]
    assert after.startswith("' '/fsx' || batchkit_out_of_service 'could not mount Lustre/Fs at /fsx'")
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


# -- a failed mount takes the instance out of service (BK-L3, BK-L6) -----------------------------------
def test_a_failed_install_or_mount_takes_the_instance_out_of_service(built: Built) -> None:
    text = "".join(p for p in built.user_data(built.x86) if isinstance(p, str))
    # ecs.service starts after cloud-final (where this part runs): masked, the agent never registers the
    # instance; then the instance shuts down.
    body = text[text.index("batchkit_out_of_service() {") :]
    body = body[: body.index("}")]
    assert "systemctl mask ecs.service" in body and "shutdown -P now" in body
    assert 'rpm -q lustre-client >/dev/null 2>&1 || batchkit_out_of_service "cannot install' in text
    mounts = [line for line in text.splitlines() if line.startswith("batchkit_mount_lustre '")]
    assert mounts and all("|| batchkit_out_of_service 'could not mount" in line for line in mounts)
    # The library's template terminates an instance that shuts itself down (only where Lustre is mounted).
    data = built.resources[built.lid(built.x86.launch_template)]["Properties"]["LaunchTemplateData"]
    assert data["InstanceInitiatedShutdownBehavior"] == "terminate"
    plain = Ec2ComputeEnvironment(new_stack(), "Plain", network=BatchNetwork(new_stack(), "Net", max_azs=1))
    assert (
        plain.launch_template.node.default_child.launch_template_data.instance_initiated_shutdown_behavior
        is None
    )


def test_the_mount_uses_the_dns_name_attribute_in_the_china_partition() -> None:
    stack = cdk.Stack(cdk.App(), "China", env=cdk.Environment(account="123456789012", region="cn-north-1"))
    net = BatchNetwork(stack, "Network", max_azs=1)
    fs = fsx.LustreFileSystem(
        stack,
        "Fs",
        vpc=net.vpc,
        vpc_subnet=net.vpc.public_subnets[0],
        storage_capacity_gib=1200,
        lustre_configuration=fsx.LustreConfiguration(
            deployment_type=fsx.LustreDeploymentType.PERSISTENT_2, per_unit_storage_throughput=125
        ),  # fmt: skip
    )
    env = Ec2ComputeEnvironment(stack, "Env", network=net, lustre=[LustreMount(fs)])
    template = stack.resolve(env.launch_template.node.default_child.launch_template_data)
    rendered = str(template)
    assert "DNSName" in rendered
    # LustreFileSystem.dns_name would have been ID.fsx.cn-north-1.amazonaws.com.cn.
    assert "fsx.cn-north-1" not in rendered and "URLSuffix" not in rendered


def _own_template(stack: cdk.Stack, **kwargs: Any) -> ec2.LaunchTemplate:
    user_data = ec2.MultipartUserData()
    user_data.add_user_data_part(ec2.UserData.for_linux(), ec2.MultipartBody.SHELL_SCRIPT, True)
    return ec2.LaunchTemplate(
        stack,
        "OwnTemplate",
        require_imdsv2=True,
        http_put_response_hop_limit=1,
        user_data=kwargs.pop("user_data", user_data),
        block_devices=[
            ec2.BlockDevice(device_name="/dev/xvda", volume=ec2.BlockDeviceVolume.ebs(30, encrypted=True))
        ],
        **kwargs,
    )


def test_your_launch_template_gets_the_mount_it_reports() -> None:
    """Issue 18: the mount went only into the library's template, yet the environment reported it."""
    stack = new_stack()
    net, fs = _env_and_fs(stack)
    template = _own_template(
        stack, instance_initiated_shutdown_behavior=ec2.InstanceInitiatedShutdownBehavior.TERMINATE
    )
    env = Ec2ComputeEnvironment(stack, "Env", network=net, launch_template=template, lustre=[LustreMount(fs)])
    assert env.profile.shared_mounts == (SharedMount("Test/Fs", "/fsx"),)
    resources = Template.from_stack(stack).to_json()["Resources"]
    data = resources[stack.resolve(template.node.default_child.logical_id)]["Properties"]
    parts = _flat(data["LaunchTemplateData"]["UserData"])
    text = "".join(p for p in parts if isinstance(p, str))
    assert "batchkit_mount_lustre '" in text and "systemctl mask ecs.service" in text
    assert {"Fn::GetAtt": [stack.resolve(fs.node.default_child.logical_id), "DNSName"]} in parts
    # Your template's settings are yours: the library does not change its shutdown behavior.
    assert _warnings(env) == []


def test_warns_when_your_template_only_stops_an_instance_whose_mount_failed() -> None:
    stack = new_stack()
    net, fs = _env_and_fs(stack)
    env = Ec2ComputeEnvironment(
        stack, "Env", network=net, launch_template=_own_template(stack), lustre=[LustreMount(fs)]
    )
    (warning,) = _warnings(env)
    assert "does not set instance_initiated_shutdown_behavior=TERMINATE" in warning
    assert "InstanceInitiatedShutdownBehavior" not in str(
        stack.resolve(env.launch_template.node.default_child.launch_template_data)
    )


def test_rejects_lustre_through_a_template_without_user_data_or_imported() -> None:
    stack = new_stack()
    net, fs = _env_and_fs(stack)
    bare = ec2.LaunchTemplate(stack, "Bare", require_imdsv2=True, http_put_response_hop_limit=1)
    with pytest.raises(
        ValueError,
        match=r"Test/NoUserData: lustre=\['/fsx'\] is invalid: launch_template Test/Bare has no user data",
    ):
        Ec2ComputeEnvironment(
            stack, "NoUserData", network=net, launch_template=bare, lustre=[LustreMount(fs)]
        )
    imported = ec2.LaunchTemplate.from_launch_template_attributes(
        stack, "Imported", launch_template_id="lt-0123456789abcdef0", version_number="1"
    )
    with pytest.raises(
        ValueError, match=r"launch_template Test/Imported is imported: its user data cannot take"
    ):
        Ec2ComputeEnvironment(stack, "Imp", network=net, launch_template=imported, lustre=[LustreMount(fs)])


def test_rejects_a_template_whose_user_data_was_rendered_before_the_mount() -> None:
    """A template renders its user data once, when first resolved: a part added later would be dropped."""
    stack = new_stack()
    net, fs = _env_and_fs(stack)
    template = _own_template(
        stack, instance_initiated_shutdown_behavior=ec2.InstanceInitiatedShutdownBehavior.TERMINATE
    )
    stack.resolve(template.node.default_child.launch_template_data)  # e.g. a check of yours, or an aspect
    Ec2ComputeEnvironment(stack, "Env", network=net, launch_template=template, lustre=[LustreMount(fs)])
    with pytest.raises(Exception, match=r"rendered its user data before the mount part was added"):
        Template.from_stack(stack)


# -- the storage rules on model values (no stack) -------------------------------------------------------
def _spec(path: str = "/fsx", **kwargs: Any) -> LustreMountSpec:
    return LustreMountSpec(file_system=kwargs.pop("file_system", "fs-1"), mount_path=path, **kwargs)


def test_rejects_lustre_volumes_off_ec2() -> None:
    assert lustre_volumes_on_ec2(Platform.EC2, ["lustre-fsx"]) == []
    (problem,) = lustre_volumes_on_ec2(Platform.FARGATE, ["lustre-fsx"])
    assert problem.rule == "BK-L2" and problem.value == "lustre-fsx" and "FARGATE" in problem.why.upper()


def test_rejects_a_launch_template_that_cannot_take_the_mount() -> None:
    mounts = [_spec()]
    assert lustre_launch_template(mounts, LaunchTemplateSpec("T")) == []
    assert lustre_launch_template([], LaunchTemplateSpec("T", defined_in_app=False)) == []
    for spec, why in (
        (LaunchTemplateSpec("T", defined_in_app=False, user_data=None), "is imported"),
        (LaunchTemplateSpec("T", user_data=None), "has no user data"),
        (LaunchTemplateSpec("T", user_data="other"), "not MIME multipart"),
    ):
        (problem,) = lustre_launch_template(mounts, spec)
        assert problem.rule == "BK-L3" and problem.prop == "lustre" and why in problem.why


def test_rejects_a_file_system_of_another_vpc_and_warns_when_unknown() -> None:
    assert lustre_in_network([_spec(same_vpc=True)]) == []
    error, warning = lustre_in_network([_spec(same_vpc=False, network="N"), _spec("/b", same_vpc=None)])
    assert not error.warning and error.prop == "[0].file_system" and "another VPC than network N" in error.why
    assert warning.warning and warning.warning_id == "batchkit:lustre-unchecked"


def test_rejects_bad_mount_paths_names_and_container_paths_on_values() -> None:
    assert lustre_paths([_spec(), _spec("/scratch", mount_name="abc_1")], container_path="/data") == []
    found = {
        (p.prop, p.why.split(" ")[0])
        for p in lustre_paths(
            [
                _spec("/fsx"),
                _spec("/fsx/inner"),
                _spec("/etc/x"),
                _spec("/ok", imported=True),
                _spec("/ok2", mount_name="way-too-long"),
            ],
            container_path="data",
        )
    }
    assert found == {
        ("[1].mount_path", "overlaps"),
        ("[2].mount_path", "is"),
        ("[3].mount_name", "an"),
        ("[4].mount_name", "FSx"),
        ("container_path", "must"),
    }
    # Tokens are not judged.
    assert lustre_paths([_spec("${Token[TOKEN.1]}", mount_name="${Token[TOKEN.2]}")]) == []


def test_warns_when_a_template_of_yours_does_not_terminate_on_shutdown() -> None:
    mounts = [_spec()]
    assert lustre_failed_mount_terminates(mounts, LaunchTemplateSpec("T")) == []
    for terminates in (False, None):
        (problem,) = lustre_failed_mount_terminates(
            mounts, LaunchTemplateSpec("T", terminates_on_shutdown=terminates)
        )
        assert problem.warning and problem.rule == "BK-L6"
    # Nothing to say when the mount cannot go in at all (BK-L3 fails first).
    assert lustre_failed_mount_terminates(mounts, LaunchTemplateSpec("T", user_data=None)) == []
