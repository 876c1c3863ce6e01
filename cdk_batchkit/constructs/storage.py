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

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Annotations, Reference, Token, Tokenization
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_fsx as fsx
from constructs import Construct

from ..model import JobRequirements, Platform, QueueProfile, SharedMount
from ..model.rules import register
from ._validation import fail
from .network import BatchNetwork

_FSX = "https://docs.aws.amazon.com/fsx/latest/LustreGuide"
register(
    "BK-L2",
    "FSx for Lustre volumes only on EC2 job definitions: Fargate tasks cannot mount Lustre (no host mounts, "
    "no Lustre client).",
    f"{_FSX}/mounting-ecs.html (mounting FSx for Lustre on the Fargate launch type isn't supported)",
)
register(
    "BK-L3",
    "An environment that mounts FSx for Lustre installs the AL2023 Lustre client and mounts the file system "
    "at boot (a MIME part of the launch template's user data, idempotent, in /etc/fstab) and opens TCP 988 "
    "and 1018-1023 between the compute security group and the file system's.",
    f"{_FSX}/install-lustre-client.html and {_FSX}/mount-fs-auto-mount-onreboot.html and "
    f"{_FSX}/limit-access-security-groups.html and "
    "https://docs.aws.amazon.com/batch/latest/userguide/launch-templates.html",
)
register(
    "BK-L4",
    "A mounted FSx for Lustre file system is in the compute network's VPC: synth fails when its security "
    "group's VPC is known to differ, and warns when it cannot be told (an imported file system).",
    f"{_FSX}/limit-access-security-groups.html (only resources within the associated VPC, or a peered VPC, "
    "can access the file system's network interface)",
)
register(
    "BK-L5",
    "A Lustre mount path is an absolute path of letters, digits and . _ - / outside the system directories, "
    "one per file system and not nested in another on the same environment; an imported file system gives "
    "its mount_name.",
    "https://docs.aws.amazon.com/batch/latest/APIReference/API_Host.html (sourcePath) and "
    f"{_FSX}/mounting-ec2-instance.html (file_system_dns_name@tcp:/mountname) and "
    "https://docs.aws.amazon.com/fsx/latest/APIReference/API_LustreFileSystemConfiguration.html (MountName)",
)

#: Lustre traffic between clients and file servers (TCP 988 and 1018-1023), from
#: https://docs.aws.amazon.com/fsx/latest/LustreGuide/limit-access-security-groups.html
LUSTRE_PORTS = ((988, 988), (1018, 1023))
_PATH = re.compile(r"^(/[A-Za-z0-9._-]+)+$")
_MOUNT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,8}$")
_SYSTEM = ("/proc", "/sys", "/dev", "/etc", "/boot", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/run",
           "/var/lib/docker", "/var/lib/ecs", "/var/log", "/tmp")  # fmt: skip
_WARNING = "batchkit:lustre-unchecked"


def _check_path(owner: str, prop: str, path: str) -> None:
    why = None
    if not _PATH.match(path) or "/../" in f"{path}/" or "/./" in f"{path}/":
        why = "must be an absolute path of letters, digits, '.', '_', '-' and '/' (no trailing '/')"
    elif any(path == d or path.startswith(f"{d}/") for d in _SYSTEM):
        why = "is a system directory of the instance"
    if why:
        raise ValueError(f"{owner}: {prop}={path!r} is invalid: {why}")


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
        _check_path("LustreMount", "mount_path", self.mount_path)
        name = self.mount_name
        if name is None and not isinstance(self.file_system, fsx.LustreFileSystem):
            raise ValueError(
                "LustreMount: mount_name=None is invalid: an imported file system has no known mount name; "
                "pass mount_name= (LustreConfiguration.MountName in `aws fsx describe-file-systems`)"
            )
        if name is not None and not Token.is_unresolved(name) and not _MOUNT_NAME.match(name):
            raise ValueError(
                f"LustreMount: mount_name={name!r} is invalid: "
                "FSx mount names are 1-8 letters, digits, _ or -"
            )

    @property
    def label(self) -> str:
        """The file system's id when known at synth, else its construct path."""
        fs_id = self.file_system.file_system_id
        return self.file_system.node.path if Token.is_unresolved(fs_id) else fs_id

    @property
    def shared(self) -> SharedMount:
        return SharedMount(self.label, self.mount_path)

    @property
    def source(self) -> str:
        """``DNS_NAME@tcp:/MOUNT_NAME``: what ``mount -t lustre`` mounts."""
        name = self.mount_name
        if name is None:
            assert isinstance(self.file_system, fsx.LustreFileSystem)
            name = self.file_system.mount_name
        return f"{self.file_system.dns_name}@tcp:/{name}"


class LustreVolume(batch.HostVolume):
    """A container's view of a :class:`LustreMount`: a Batch host volume whose source is the mount path.
    Put it in ``Container(volumes=[...])`` of an EC2 job definition; the fit check then keeps the job on
    environments that mount the file system.

    :param mount: the mount (the same value the compute environment mounts).
    :param container_path: where the container sees it. Default: the mount path.
    :param read_only: mount it read-only in the container. Default: False.
    :param name: the volume name (unique in the container). Default: ``lustre`` plus the mount path
        (``lustre-fsx``).
    """

    def __init__(
        self,
        mount: LustreMount,
        *,
        container_path: str | None = None,
        read_only: bool = False,
        name: str | None = None,
    ) -> None:
        path = container_path or mount.mount_path
        if not path.startswith("/"):
            raise ValueError(f"LustreVolume: container_path={path!r} is invalid: must be an absolute path")
        super().__init__(
            name=name or "lustre" + mount.mount_path.replace("/", "-").replace(".", "-"),
            container_path=path,
            host_path=mount.mount_path,
            readonly=read_only,
        )
        #: The mount this volume reads from.
        self.mount = mount


def _mount_script(mounts: Sequence[LustreMount], architecture: str) -> ec2.UserData:
    part = ec2.UserData.for_linux()
    part.add_commands(
        f"# cdk-batchkit: FSx for Lustre on Amazon Linux 2023 ({architecture}): the AL2023 repository's",
        "# lustre-client, for x86_64 and arm64 alike; mounted once, then from /etc/fstab on reboot.",
        f"# {_FSX}/install-lustre-client.html",
        "for attempt in 1 2 3 4 5; do",
        "  rpm -q lustre-client >/dev/null 2>&1 && break",
        "  dnf install -y lustre-client || sleep 10",
        "done",
        "batchkit_mount_lustre() {",
        '  mkdir -p "$2"',
        "  # An unmounted mount point stays immutable: jobs fail instead of writing to the root volume.",
        '  mountpoint -q "$2" || chattr +i "$2"',
        '  grep -qs " $2 lustre " /etc/fstab ||',
        '    echo "$1 $2 lustre defaults,relatime,flock,_netdev 0 0" >> /etc/fstab',
        "  for attempt in $(seq 1 30); do",
        '    mountpoint -q "$2" && return 0',
        '    mount "$2" && return 0',
        "    sleep 10",
        "  done",
        '  echo "cdk-batchkit: could not mount $1 at $2" >&2',
        "  return 1",
        "}",
        "status=0",
        *(f"batchkit_mount_lustre '{m.source}' '{m.mount_path}' || status=1" for m in mounts),
        'exit "$status"',
    )
    return part


def mount_lustre(
    scope: Construct,
    network: BatchNetwork,
    user_data: ec2.MultipartUserData,
    mounts: Sequence[LustreMount],
    architecture: str,
) -> tuple[SharedMount, ...]:
    """Mount ``mounts`` on the instances of ``scope`` (BK-L3, L4, L5); returns them for its profile."""
    if not mounts:
        return ()
    paths = sorted((m.mount_path, i) for i, m in enumerate(mounts))
    for (outer, _), (inner, i) in zip(paths, paths[1:], strict=False):
        if inner == outer or inner.startswith(f"{outer}/"):
            fail(scope, f"lustre[{i}].mount_path", inner, f"overlaps the mount at {outer}")
    for index, mount in enumerate(mounts):
        _check_vpc(scope, f"lustre[{index}].file_system", mount, network)
        _open_ports(scope, network, mount.file_system)
    user_data.add_user_data_part(_mount_script(mounts, architecture), ec2.MultipartBody.SHELL_SCRIPT, True)
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
        cfn = group.node.default_child if isinstance(group, ec2.SecurityGroup) else None
        if isinstance(cfn, ec2.CfnSecurityGroup) and cfn.vpc_id is not None:
            return cfn.vpc_id
    return None


def _target(value: str) -> Any:
    """The resource a token that is exactly one ``Ref`` refers to (None otherwise)."""
    fragments = Tokenization.reverse_string(value)
    token = fragments.first_token if fragments.length == 1 else None
    return token.target if isinstance(token, Reference) else None


def _check_vpc(scope: Construct, prop: str, mount: LustreMount, network: BatchNetwork) -> None:
    theirs, ours = _vpc_of(mount.file_system), network.vpc.vpc_id
    if theirs == ours:
        return
    same: bool | None = None
    if theirs is not None and not Token.is_unresolved(theirs) and not Token.is_unresolved(ours):
        same = False
    elif theirs is not None and _target(theirs) is not None and _target(ours) is not None:
        same = _target(theirs) is _target(ours)
    if same:
        return
    if same is False:
        fail(
            scope,
            prop,
            mount.label,
            f"the file system is in another VPC than network {network.node.path}; instances reach it only "
            "from its own (or a peered) VPC",
        )
    Annotations.of(scope).add_warning_v2(
        _WARNING,
        f"{scope.node.path}: not checked that FSx for Lustre file system {mount.label} is in the VPC of "
        f"{network.node.path} (its security group's VPC is unknown); instances reach it only from its own "
        "(or a peered) VPC.",
    )


def lustre_mounts(
    scope: Construct, volumes: Iterable[batch.EcsVolume], platform: Platform
) -> tuple[SharedMount, ...]:
    """The Lustre mounts a job's containers use (BK-L2: EC2 only)."""
    found: list[SharedMount] = []
    for volume in volumes:
        if isinstance(volume, LustreVolume):
            if platform is not Platform.EC2:
                fail(
                    scope,
                    "container.volumes",
                    volume.name,
                    f"FSx for Lustre volumes need EC2 compute: {platform.value} tasks cannot mount Lustre",
                )
            if volume.mount.shared not in found:
                found.append(volume.mount.shared)
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
            f"{scope.node.path} on {label}: not checked that {', '.join(unknown)} mount(s) its FSx for "
            "Lustre file system(s) (what their instances mount is unknown); use "
            "Ec2ComputeEnvironment(lustre=[...]).",
        )
