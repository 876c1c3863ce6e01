"""FSx for Lustre: where a Lustre volume can run (BK-L2), what an environment's launch template must take to
mount it and what happens when the mount fails (BK-L3, BK-L6), the network (BK-L4) and the paths (BK-L5).

BK-L1 (a job using the volume only runs where it is mounted) is a fit rule in :mod:`.fit`. The constructs
(``constructs/storage.py``) translate ``LustreMount``/``LustreVolume`` and launch templates into
:class:`~cdk_batchkit.model.storage.LustreMountSpec` and
:class:`~cdk_batchkit.model.storage.LaunchTemplateSpec` and report what these rules find.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from ..profiles import Platform
from ..storage import LaunchTemplateSpec, LustreMountSpec
from ..values import is_unresolved
from ._registry import Problem, rule

_FSX = "https://docs.aws.amazon.com/fsx/latest/LustreGuide"
_LAUNCH_TEMPLATES = "https://docs.aws.amazon.com/batch/latest/userguide/launch-templates.html"
#: A host path Batch accepts and a mount point we create: absolute, no trailing slash, no . or .. parts.
_PATH = re.compile(r"^(/[A-Za-z0-9._-]+)+$")
#: LustreConfiguration.MountName: https://docs.aws.amazon.com/fsx/latest/APIReference/API_LustreFileSystemConfiguration.html
_MOUNT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,8}$")
#: Directories of the instance a mount must not cover (the OS, Docker's and the ECS agent's state, logs).
SYSTEM_DIRECTORIES = ("/proc", "/sys", "/dev", "/etc", "/boot", "/usr", "/bin", "/sbin", "/lib", "/lib64",
                      "/run", "/var/lib/docker", "/var/lib/ecs", "/var/log", "/tmp")  # fmt: skip
#: The synth-warning id of Lustre facts that could not be checked.
UNCHECKED = "batchkit:lustre-unchecked"


@rule(
    "BK-L2",
    "FSx for Lustre volumes only on EC2 job definitions: Fargate tasks cannot mount Lustre (no host mounts, "
    "no Lustre client).",
    f"{_FSX}/mounting-ecs.html (mounting FSx for Lustre on the Fargate launch type isn't supported)",
)
def lustre_volumes_on_ec2(platform: Platform, volumes: Sequence[str]) -> Iterator[Problem]:
    """``volumes``: the names of a job's Lustre volumes; ``platform``: what runs the job."""
    if platform is Platform.EC2:
        return
    for name in volumes:
        yield Problem(
            "container.volumes",
            name,
            f"FSx for Lustre volumes need EC2 compute: {platform.value} tasks cannot mount Lustre",
        )


@rule(
    "BK-L3",
    "An environment that mounts FSx for Lustre adds a part to its launch template's MIME multipart user "
    "data: it installs the AL2023 Lustre client, mounts each file system by its DNSName attribute (an "
    "/etc/fstab entry, retried, the mount point immutable while unmounted) and takes the instance out of "
    "service when the install or a mount fails (ecs.service, which starts after cloud-final, is masked so "
    "the ECS agent never registers the instance, and the instance shuts down); TCP 988 and 1018-1023 are "
    "opened between the compute and file system security groups. The template must take that part: one "
    "defined in the app with ec2.MultipartUserData; an imported template, or one without MIME multipart user "
    "data, fails synth instead of reporting a mount its instances would not have.",
    f"{_LAUNCH_TEMPLATES} (user data in a launch template must be a MIME multi-part archive) and "
    f"{_FSX}/install-lustre-client.html and {_FSX}/mount-fs-auto-mount-onreboot.html and "
    f"{_FSX}/limit-access-security-groups.html and "
    "https://github.com/aws/amazon-ecs-agent/blob/master/packaging/amazon-linux-ami-integrated/ecs.service "
    "(After=cloud-final.service)",
)
def lustre_launch_template(
    mounts: Sequence[LustreMountSpec], template: LaunchTemplateSpec
) -> Iterator[Problem]:
    if not mounts:
        return
    paths = [m.mount_path for m in mounts]
    if not template.defined_in_app:
        why = (
            f"launch_template {template.label} is imported: its user data cannot take the part that mounts "
            "the file system(s), so the instances would not mount them; define the template in the app with "
            "MIME multipart user data (ec2.LaunchTemplate(user_data=ec2.MultipartUserData()))"
        )
    elif template.user_data is None:
        why = (
            f"launch_template {template.label} has no user data to take the part that mounts the file "
            "system(s); give it MIME multipart user data "
            "(ec2.LaunchTemplate(user_data=ec2.MultipartUserData()))"
        )
    elif template.user_data != "mime":
        why = (
            f"launch_template {template.label} has user data that is not MIME multipart, which cannot take "
            "the part that mounts the file system(s) (and Batch refuses); use ec2.MultipartUserData"
        )
    else:
        return
    yield Problem("lustre", paths, why)


@rule(
    "BK-L4",
    "A mounted FSx for Lustre file system is in the compute network's VPC: synth fails when its security "
    "group's VPC is known to differ, and warns when it cannot be told (an imported file system).",
    f"{_FSX}/limit-access-security-groups.html (only resources within the associated VPC, or a peered VPC, "
    "can access the file system's network interface)",
)
def lustre_in_network(mounts: Sequence[LustreMountSpec]) -> Iterator[Problem]:
    for index, mount in enumerate(mounts):
        if mount.same_vpc is False:
            yield Problem(
                f"[{index}].file_system",
                mount.file_system,
                f"the file system is in another VPC than network {mount.network}; instances reach it only "
                "from its own (or a peered) VPC",
            )
        elif mount.same_vpc is None:
            yield Problem(
                f"[{index}].file_system",
                mount.file_system,
                f"not checked that FSx for Lustre file system {mount.file_system} is in the VPC of "
                f"{mount.network} (its security group's VPC is unknown); instances reach it only from its "
                "own (or a peered) VPC.",
                warning=True,
                code=UNCHECKED,
            )


def _path_problem(path: str) -> str | None:
    if not _PATH.match(path) or "/../" in f"{path}/" or "/./" in f"{path}/":
        return "must be an absolute path of letters, digits, '.', '_', '-' and '/' (no trailing '/')"
    if any(path == d or path.startswith(f"{d}/") for d in SYSTEM_DIRECTORIES):
        return "is a system directory of the instance"
    return None


@rule(
    "BK-L5",
    "A Lustre mount path is an absolute path of letters, digits and . _ - / outside the system directories, "
    "one per file system and not nested in another on the same environment; an imported file system gives "
    "its mount_name (1-8 letters, digits, _ or -); a container path is absolute.",
    "https://docs.aws.amazon.com/batch/latest/APIReference/API_Host.html (sourcePath) and "
    f"{_FSX}/mounting-ec2-instance.html (file_system_dns_name@tcp:/mountname) and "
    "https://docs.aws.amazon.com/fsx/latest/APIReference/API_LustreFileSystemConfiguration.html (MountName)",
)
def lustre_paths(
    mounts: Sequence[LustreMountSpec] = (), container_path: str | None = None
) -> Iterator[Problem]:
    """Props are ``[i].mount_path``/``[i].mount_name`` (the i-th mount) and ``container_path``."""
    known = [(i, m) for i, m in enumerate(mounts) if not is_unresolved(m.mount_path)]
    for index, mount in known:
        why = _path_problem(mount.mount_path)
        if why:
            yield Problem(f"[{index}].mount_path", mount.mount_path, why)
    for index, mount in enumerate(mounts):
        name = mount.mount_name
        if name is None and mount.imported:
            yield Problem(
                f"[{index}].mount_name",
                None,
                "an imported file system has no known mount name; pass mount_name= "
                "(LustreConfiguration.MountName in `aws fsx describe-file-systems`)",
            )
        elif name is not None and not is_unresolved(name) and not _MOUNT_NAME.match(name):
            yield Problem(f"[{index}].mount_name", name, "FSx mount names are 1-8 letters, digits, _ or -")
    paths = sorted((m.mount_path, i) for i, m in known)
    for (outer, _), (inner, index) in zip(paths, paths[1:], strict=False):
        if inner == outer or inner.startswith(f"{outer}/"):
            yield Problem(f"[{index}].mount_path", inner, f"overlaps the mount at {outer}")
    if (
        container_path is not None
        and not is_unresolved(container_path)
        and not container_path.startswith("/")
    ):
        yield Problem("container_path", container_path, "must be an absolute path")


@rule(
    "BK-L6",
    "*Warning*: a launch template of yours that mounts FSx for Lustre terminates its instances on an "
    "instance-initiated shutdown (InstanceInitiatedShutdownBehavior terminate, as the library's own template "
    "does when it mounts Lustre); otherwise an instance whose mount fails is only stopped, and stays until "
    "its Auto Scaling group or fleet replaces it.",
    "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/"
    "Using_ChangingInstanceInitiatedShutdownBehavior.html (a shutdown from the instance stops it by "
    "default) and "
    "https://docs.aws.amazon.com/autoscaling/ec2/userguide/health-checks-overview.html",
    warning=True,
)
def lustre_failed_mount_terminates(
    mounts: Sequence[LustreMountSpec], template: LaunchTemplateSpec
) -> Iterator[Problem]:
    if not mounts or not template.defined_in_app or template.user_data != "mime":
        return
    if template.terminates_on_shutdown is not True:
        yield Problem(
            "launch_template",
            template.label,
            f"launch_template {template.label} does not set "
            "instance_initiated_shutdown_behavior=TERMINATE: an instance whose Lustre mount fails "
            "leaves service (its ECS agent never starts) and shuts down, "
            "but is only stopped, not terminated; set ec2.InstanceInitiatedShutdownBehavior.TERMINATE",
        )
