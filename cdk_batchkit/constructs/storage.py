"""FSx for Lustre as shared storage for EC2 jobs.

A :class:`LustreMount` names a file system (an ``aws_fsx.LustreFileSystem`` of the app, or one imported
with ``LustreFileSystem.from_lustre_file_system_attributes`` plus its ``mount_name``) and the host path.
``Ec2ComputeEnvironment(lustre=[mount])`` installs the Lustre client and mounts it on every instance at
boot (a part of the launch template's MIME multipart user data) and opens the Lustre ports between the
compute and file system security groups; a :class:`LustreVolume` of the same mount hands the host path to
a container (a Batch host volume). The fit check (BK-L1) keeps a job that uses the volume off queues
whose instances do not mount it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import jsii
from aws_cdk import Annotations, Reference, Stack, Token, Tokenization
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_fsx as fsx
from constructs import Construct, IValidation

from ..model import JobRequirements, Platform, QueueProfile, SharedMount
from ..model.rules import (
    Problem,
    lustre_failed_mount_terminates,
    lustre_in_network,
    lustre_launch_template,
    lustre_paths,
    lustre_volumes_on_ec2,
)
from ..model.rules.storage import UNCHECKED
from ..model.storage import LaunchTemplateSpec, LustreMountSpec
from ..model.values import is_unresolved
from ._validation import default_child, node_of, node_path, report
from .network import BatchNetwork

_FSX = "https://docs.aws.amazon.com/fsx/latest/LustreGuide"

#: Lustre traffic between clients and file servers (TCP 988 and 1018-1023), from
#: https://docs.aws.amazon.com/fsx/latest/LustreGuide/limit-access-security-groups.html
LUSTRE_PORTS = ((988, 988), (1018, 1023))
_WARNING = UNCHECKED
#: The shell function every mount part defines (the template-wide tests look for it).
MOUNT_FUNCTION = "batchkit_mount_lustre"
#: The shell function a failed install or mount calls.
OUT_OF_SERVICE_FUNCTION = "batchkit_out_of_service"


def _raise_first(owner: str, problems: Iterable[Problem]) -> None:
    """A value of its own (not a construct): raise the first error as ``OWNER: PROP=VALUE is invalid``."""
    for problem in problems:
        if not problem.warning:
            raise ValueError(replace(problem, prop=problem.prop.removeprefix("[0].")).message(owner))


@dataclass(frozen=True)
class LustreMount:
    """An FSx for Lustre file system mounted on the instances at ``mount_path``: pass the same value to
    ``Ec2ComputeEnvironment(lustre=[...])`` and to :class:`LustreVolume`.

    :param file_system: an ``aws_fsx.LustreFileSystem`` of the app, or one imported with
        ``LustreFileSystem.from_lustre_file_system_attributes(...)`` (its security group is opened).
    :param mount_path: where the instances mount it. Default: ``/fsx``.
    :param mount_name: the file system's mount name (``aws fsx describe-file-systems``,
        ``LustreConfiguration.MountName``; ``fsx`` for SCRATCH_1). Default: the ``mount_name`` of a
        ``LustreFileSystem`` of the app; required for an imported one.
    """

    file_system: fsx.FileSystemBase
    mount_path: str = "/fsx"
    mount_name: str | None = None

    def __post_init__(self) -> None:
        _raise_first("LustreMount", lustre_paths([self.spec()]))  # BK-L5

    @property
    def imported(self) -> bool:
        """Not an ``aws_fsx.LustreFileSystem`` of the app (its mount name and VPC are what was given)."""
        return not isinstance(self.file_system, fsx.LustreFileSystem)

    def spec(self, network: str = "", same_vpc: bool | None = True) -> LustreMountSpec:
        """The mount as the storage rules see it (``network``, ``same_vpc``: where an environment has it)."""
        return LustreMountSpec(
            file_system=self.label if network else "",
            mount_path=self.mount_path,
            mount_name=self.mount_name,
            imported=self.imported,
            same_vpc=same_vpc,
            network=network,
        )

    @property
    def label(self) -> str:
        """The file system's id when known at synth, else its construct path."""
        fs_id = self.file_system.file_system_id
        return node_path(self.file_system) if is_unresolved(fs_id) else fs_id

    @property
    def shared(self) -> SharedMount:
        return SharedMount(self.label, self.mount_path)

    @property
    def dns_name(self) -> str:
        """The file system's DNS name: the ``DNSName`` attribute CloudFormation returns for a file system of
        the app (``LustreFileSystem.dns_name`` builds ``ID.fsx.REGION.URL_SUFFIX``, which is not the name in
        the China regions), or the ``dns_name`` an imported one was given.

        https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-fsx-filesystem.html
        (Fn::GetAtt DNSName)
        """
        cfn = None if self.imported else default_child(self.file_system)
        if isinstance(cfn, fsx.CfnFileSystem):
            return cfn.attr_dns_name
        return self.file_system.dns_name

    @property
    def source(self) -> str:
        """``DNS_NAME@tcp:/MOUNT_NAME``: what ``mount -t lustre`` mounts."""
        name = self.mount_name
        if name is None:
            assert isinstance(self.file_system, fsx.LustreFileSystem)
            name = self.file_system.mount_name
        return f"{self.dns_name}@tcp:/{name}"


class LustreVolume(batch.HostVolume):
    """A container's view of a :class:`LustreMount`: a Batch host volume whose source is the mount path.
    Put it in ``Container(volumes=[...])`` of an EC2 job definition; the fit check then keeps the job on
    environments that mount the file system.

    :param mount: the mount (the same value the compute environment mounts).
    :param container_path: where the container sees it. Default: the mount path.
    :param readonly: mount it read-only in the container (as ``batch.EcsVolume.host(readonly=)``). Default:
        False (read-write).
    :param name: the volume name (unique in the container). Default: ``lustre`` plus the mount path
        (``lustre-fsx``).
    """

    def __init__(
        self,
        mount: LustreMount,
        *,
        container_path: str | None = None,
        readonly: bool = False,
        name: str | None = None,
    ) -> None:
        path = container_path or mount.mount_path
        _raise_first("LustreVolume", lustre_paths(container_path=path))  # BK-L5
        super().__init__(
            name=name or "lustre" + mount.mount_path.replace("/", "-").replace(".", "-"),
            container_path=path,
            host_path=mount.mount_path,
            readonly=readonly,
        )
        #: The mount this volume reads from.
        self.mount = mount


def _mount_script(scope: Construct, mounts: Sequence[LustreMount], architecture: str) -> ec2.UserData:
    """The user-data part (bash, run by cloud-init's scripts-user in cloud-final) that installs the client and
    mounts ``mounts``, or takes the instance out of service.

    Out of service: ``ecs.service`` on the ECS-optimized AMIs is ordered ``After=cloud-final.service``
    (https://github.com/aws/amazon-ecs-agent/blob/master/packaging/amazon-linux-ami-integrated/ecs.service),
    so while this part runs the ECS agent has not registered the instance. Masking the unit keeps it from
    ever starting (Batch places no job on an instance that never joins the cluster), and the shutdown
    stops the instance, or terminates it when the launch template's instance-initiated shutdown behavior is
    ``terminate`` (the library's template sets it; BK-L6 warns on yours):
    https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_ChangingInstanceInitiatedShutdownBehavior.html
    """
    part = ec2.UserData.for_linux()
    part.add_commands(
        f"# cdk-batchkit: FSx for Lustre mounts of {node_path(scope)}, Amazon Linux 2023 ({architecture}):",
        "# the AL2023 repository's lustre-client, for x86_64 and arm64 alike; mounted by the file system's",
        "# DNS name, once, then from /etc/fstab on reboot.",
        f"# {_FSX}/install-lustre-client.html",
        "# A failed install or mount takes the instance out of service: ecs.service (ordered after",
        "# cloud-final, where this part runs) is masked so the ECS agent never registers the instance, and",
        "# the instance shuts down (terminated when the launch template says so).",
        f"{OUT_OF_SERVICE_FUNCTION}() {{",
        '  echo "cdk-batchkit: $1; taking the instance out of service (ECS agent masked, shutting down)" >&2',
        "  systemctl mask ecs.service",
        "  shutdown -P now",
        "  exit 1",
        "}",
        "for _ in 1 2 3 4 5; do",
        "  rpm -q lustre-client >/dev/null 2>&1 && break",
        "  dnf install -y lustre-client || sleep 10",
        "done",
        f'rpm -q lustre-client >/dev/null 2>&1 || {OUT_OF_SERVICE_FUNCTION} "cannot install lustre-client"',
        f"{MOUNT_FUNCTION}() {{",
        '  mkdir -p "$2"',
        "  # An unmounted mount point stays immutable: jobs fail instead of writing to the root volume.",
        '  mountpoint -q "$2" || chattr +i "$2"',
        '  grep -qs " $2 lustre " /etc/fstab ||',
        '    echo "$1 $2 lustre defaults,relatime,flock,_netdev 0 0" >> /etc/fstab',
        "  for _ in $(seq 1 30); do",
        '    mountpoint -q "$2" && return 0',
        '    mount "$2" && return 0',
        "    sleep 10",
        "  done",
        "  return 1",
        "}",
        *(
            f"{MOUNT_FUNCTION} '{m.source}' '{m.mount_path}' || "
            f"{OUT_OF_SERVICE_FUNCTION} 'could not mount {m.label} at {m.mount_path}'"
            for m in mounts
        ),
    )
    return part


def _template_spec(template: ec2.ILaunchTemplate, own: bool) -> LaunchTemplateSpec:
    """What BK-L3/L6 need to know of ``template`` (no resolve: its user data renders once, when resolved)."""
    label = node_path(template)
    if not isinstance(template, ec2.LaunchTemplate):
        return LaunchTemplateSpec(label, defined_in_app=False, user_data=None, terminates_on_shutdown=None)
    given = template.user_data
    kind = None if given is None else "mime" if isinstance(given, ec2.MultipartUserData) else "other"
    terminates: bool | None = True
    if not own:
        cfn = default_child(template)
        data = cfn.launch_template_data if isinstance(cfn, ec2.CfnLaunchTemplate) else None
        behavior = getattr(data, "instance_initiated_shutdown_behavior", None)
        terminates = None if is_unresolved(behavior) else behavior == "terminate"
    return LaunchTemplateSpec(label, user_data=kind, terminates_on_shutdown=terminates, library_owned=own)


@jsii.implements(IValidation)
class _MountRendered:
    """Fails synth when the mount part is missing from the rendered template: a launch template renders its
    user data once, when something first resolves it, and a part added afterwards is silently dropped."""

    def __init__(self, scope: Construct, template: ec2.LaunchTemplate, mounts: Sequence[LustreMount]) -> None:
        self._scope, self._template, self._mounts = scope, template, mounts

    def validate(self) -> list[str]:
        cfn = default_child(self._template)
        if not isinstance(cfn, ec2.CfnLaunchTemplate):
            return []
        rendered = json.dumps(Stack.of(cfn).resolve(cfn.launch_template_data))
        if f"FSx for Lustre mounts of {node_path(self._scope)}," in rendered:
            return []
        return [
            f"{node_path(self._scope)}: lustre={[m.mount_path for m in self._mounts]!r} is invalid: launch "
            f"template {node_path(self._template)} rendered its user data before the mount part was added "
            "(something resolved the template first), so its instances would not mount the file system(s) "
            "(BK-L3)"
        ]


def mount_lustre(
    scope: Construct,
    network: BatchNetwork,
    template: ec2.ILaunchTemplate,
    mounts: Sequence[LustreMount],
    architecture: str,
    *,
    own: bool,
) -> tuple[SharedMount, ...]:
    """Mount ``mounts`` on the instances of ``scope`` through ``template``'s user data (BK-L3 to L6);
    returns them for its profile. ``own``: the library's hardened template (made to terminate instances on
    shutdown) rather than one of yours."""
    if not mounts:
        return ()
    spec = _template_spec(template, own)
    vpc_checks = [_same_vpc(mount, network) for mount in mounts]
    specs = [m.spec(node_path(network), same) for m, same in zip(mounts, vpc_checks, strict=True)]
    report(
        scope,
        [
            *lustre_launch_template(specs, spec),
            *(p.under("lustre") for p in lustre_paths(specs)),
            *(p.under("lustre") for p in lustre_in_network(specs)),
            *lustre_failed_mount_terminates(specs, spec),
        ],
    )
    assert isinstance(template, ec2.LaunchTemplate) and isinstance(template.user_data, ec2.MultipartUserData)
    for mount in mounts:
        _open_ports(scope, network, mount.file_system)
    if own:
        # The library's template: a shutdown from the instance (a failed mount) terminates it.
        cfn = default_child(template)
        assert isinstance(cfn, ec2.CfnLaunchTemplate)
        cfn.add_property_override("LaunchTemplateData.InstanceInitiatedShutdownBehavior", "terminate")
    template.user_data.add_user_data_part(
        _mount_script(scope, mounts, architecture), ec2.MultipartBody.SHELL_SCRIPT, True
    )
    node_of(scope).add_validation(_MountRendered(scope, template, mounts))
    return tuple(m.shared for m in mounts)


def _open_ports(scope: Construct, network: BatchNetwork, file_system: fsx.FileSystemBase) -> None:
    """Lustre's ports both ways between the compute security group and the file system's, once per pair.

    The rules are created here, in the environment's stack, which already refers to the network and the
    file system: placed with either security group, they would make the network's stack refer to a file
    system whose stack refers to the network's VPC (a cycle). EC2 rejects the same rule twice, so a pair
    already opened (by another environment of the network) is skipped.
    """
    compute = network.security_group
    opened: set[tuple[str, int]] = getattr(network, "_lustre_ports_opened", set())
    setattr(network, "_lustre_ports_opened", opened)  # noqa: B010  (one record per network object)
    for group in file_system.connections.security_groups:
        for low, high in LUSTRE_PORTS:
            key = (group.node.addr, low)
            if key in opened:
                continue
            opened.add(key)
            name = f"Lustre{len(opened)}"
            for suffix, target, source, why in (
                ("ToFileSystem", group, compute, "Lustre from Batch compute"),
                ("FromFileSystem", compute, group, "Lustre from FSx for Lustre"),
            ):
                ec2.CfnSecurityGroupIngress(
                    scope,
                    f"{name}{suffix}",
                    ip_protocol="tcp",
                    from_port=low,
                    to_port=high,
                    group_id=target.security_group_id,
                    source_security_group_id=source.security_group_id,
                    description=f"{why} (TCP {low}-{high})",
                )


def _vpc_of(file_system: fsx.FileSystemBase) -> str | None:
    for group in file_system.connections.security_groups:
        cfn = default_child(group) if isinstance(group, ec2.SecurityGroup) else None
        if isinstance(cfn, ec2.CfnSecurityGroup) and cfn.vpc_id is not None:
            return cfn.vpc_id
    return None


def _target(value: str) -> Any:
    """The resource a token that is exactly one ``Ref`` refers to (None otherwise)."""
    fragments = Tokenization.reverse_string(value)
    token = fragments.first_token if fragments.length == 1 else None
    return token.target if isinstance(token, Reference) else None


def _same_vpc(mount: LustreMount, network: BatchNetwork) -> bool | None:
    """Whether the file system's security group is in ``network``'s VPC (None: cannot be told at synth)."""
    theirs, ours = _vpc_of(mount.file_system), network.vpc.vpc_id
    if theirs == ours:
        return True
    if theirs is not None and not Token.is_unresolved(theirs) and not Token.is_unresolved(ours):
        return False
    if theirs is not None and _target(theirs) is not None and _target(ours) is not None:
        return _target(theirs) is _target(ours)
    return None


def lustre_mounts(
    scope: Construct, volumes: Iterable[batch.EcsVolume], platform: Platform
) -> tuple[SharedMount, ...]:
    """The Lustre mounts a job's containers use (BK-L2: EC2 only)."""
    found: list[SharedMount] = []
    names: list[str] = []
    for volume in volumes:
        if isinstance(volume, LustreVolume):
            names.append(volume.name)
            if volume.mount.shared not in found:
                found.append(volume.mount.shared)
    report(scope, lustre_volumes_on_ec2(platform, names))
    return tuple(found)


def warn_unchecked_mounts(
    scope: Construct, requirements: JobRequirements, queue: QueueProfile, label: str
) -> None:
    """Warn when some environment of ``queue`` may run the job but what it mounts is unknown."""
    if not requirements.shared_mounts:
        return
    unknown = [
        name
        for name, p in queue.environments
        if p is None or (p.shared_mounts is None and p.kind.runs is requirements.platform)
    ]
    if unknown:
        Annotations.of(scope).add_warning_v2(
            _WARNING,
            f"{node_path(scope)} on {label}: not checked that {', '.join(unknown)} mount(s) its FSx for "
            "Lustre file system(s) (what their instances mount is unknown); use "
            "Ec2ComputeEnvironment(lustre=[...]).",
        )
