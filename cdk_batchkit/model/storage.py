"""Shared storage (FSx for Lustre) as the storage rules see it: CDK-free values the constructs translate into.

:class:`LustreMountSpec` is one mount of an environment (or a :class:`LustreMount` on its own);
:class:`LaunchTemplateSpec` is what the mount needs to know of the launch template whose user data carries it.
Unknown facts are None and the rules that need them are skipped (or warn), never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LustreMountSpec:
    """An FSx for Lustre file system mounted on the instances at ``mount_path``.

    ``file_system`` is its id when known at synth, else a stable label (its construct path).
    ``mount_name`` is None when not given (a file system of the app brings its own; an imported one has
    none). ``same_vpc`` says whether the file system is in the compute network's VPC (None: cannot be told,
    for example an imported file system); ``network`` names that network in messages.
    """

    file_system: str
    mount_path: str
    mount_name: str | None = None
    imported: bool = False
    same_vpc: bool | None = True
    network: str = ""


@dataclass(frozen=True)
class LaunchTemplateSpec:
    """The launch template whose user data mounts the file systems.

    ``label`` names it (its construct path). ``defined_in_app``: an ``ec2.LaunchTemplate`` of the app (an
    imported one cannot be changed). ``user_data``: ``"mime"`` when it has MIME multipart user data
    (``ec2.MultipartUserData``, which takes another part), ``"other"`` for any other user data, ``None``
    for none. ``terminates_on_shutdown``: its instance-initiated shutdown behavior is ``terminate`` (None:
    unknown).
    """

    label: str
    defined_in_app: bool = True
    user_data: str | None = "mime"
    terminates_on_shutdown: bool | None = True
    library_owned: bool = False
