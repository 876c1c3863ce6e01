"""What the synth rules know about EC2 instance types (sizes, architecture, GPUs).

AWS Batch keeps a job RUNNABLE forever when no instance it may launch can hold
it. To catch that at synth we need, for every instance family a compute
environment allows, the largest instance's vCPUs, memory and GPUs. The table
below covers the families Batch users actually pick; a family it does not know
makes the check skip that environment (with a synth warning) rather than guess.

Figures are the largest size of each family (us-east-1, 2026). Memory usable by
jobs is lower than installed memory: the ECS agent registers about 2.5 % less
(an m4.large's 8 GiB registers as 7985 MiB) and the Batch AMI reserves 32 MiB.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class Architecture(Enum):
    """CPU architecture of a compute environment or a job."""

    X86_64 = "x86_64"
    ARM64 = "arm64"


@dataclass(frozen=True)
class InstanceShape:
    """The largest instance a family (or one exact type) offers."""

    vcpus: int
    memory_mib: int
    gpus: int
    architecture: Architecture

    @property
    def usable_memory_mib(self) -> int:
        """Memory a job can request on this instance (agent overhead and reservation removed)."""
        return int(self.memory_mib * 0.98) - 32


_X, _A = Architecture.X86_64, Architecture.ARM64

# family: (largest vCPUs, largest memory GiB, GPUs at the largest size, GiB per vCPU)
# fmt: off
_FAMILIES: dict[str, tuple[int, int, int, float]] = {
    # general purpose / compute / memory, x86
    "c4": (36, 60, 0, 1.875), "c5": (96, 192, 0, 2), "c5a": (96, 192, 0, 2), "c5d": (96, 192, 0, 2),
    "c5n": (72, 192, 0, 2.625), "c6i": (128, 256, 0, 2), "c6id": (128, 256, 0, 2), "c6a": (192, 384, 0, 2),
    "c7i": (192, 384, 0, 2), "c7a": (192, 384, 0, 2),
    "m4": (64, 256, 0, 4), "m5": (96, 384, 0, 4), "m5a": (96, 384, 0, 4), "m5d": (96, 384, 0, 4),
    "m6i": (128, 512, 0, 4), "m6id": (128, 512, 0, 4), "m6a": (192, 768, 0, 4), "m7i": (192, 768, 0, 4),
    "m7a": (192, 768, 0, 4),
    "r4": (64, 488, 0, 7.625), "r5": (96, 768, 0, 8), "r5a": (96, 768, 0, 8), "r5d": (96, 768, 0, 8),
    "r6i": (128, 1024, 0, 8), "r6id": (128, 1024, 0, 8), "r6a": (192, 1536, 0, 8), "r7i": (192, 1536, 0, 8),
    "r7a": (192, 1536, 0, 8), "x2idn": (128, 2048, 0, 16), "t3": (8, 32, 0, 4), "t3a": (8, 32, 0, 4),
    # Graviton
    "c6g": (64, 128, 0, 2), "c6gd": (64, 128, 0, 2), "c6gn": (64, 128, 0, 2), "c7g": (64, 128, 0, 2),
    "c7gd": (64, 128, 0, 2), "c7gn": (64, 128, 0, 2), "c8g": (192, 384, 0, 2),
    "m6g": (64, 256, 0, 4), "m6gd": (64, 256, 0, 4), "m7g": (64, 256, 0, 4), "m7gd": (64, 256, 0, 4),
    "m8g": (192, 768, 0, 4), "r6g": (64, 512, 0, 8), "r6gd": (64, 512, 0, 8), "r7g": (64, 512, 0, 8),
    "r8g": (192, 1536, 0, 8), "t4g": (8, 32, 0, 4), "g5g": (64, 128, 2, 2),
    # GPU, x86
    "g4dn": (96, 384, 8, 4), "g5": (192, 768, 8, 4), "g6": (192, 768, 8, 4), "g6e": (192, 1536, 8, 8),
    "p3": (64, 488, 8, 7.625), "p4d": (96, 1152, 8, 12), "p5": (192, 2048, 8, 10.67),
}
# fmt: on

# Batch's own aliases. "optimal" picks from c4/m4/r4 or c5/m5/r5 (largest r5.24xlarge);
# default_x86_64 / default_arm64 pick current-generation general, compute and memory families.
_ALIASES: dict[str, InstanceShape] = {
    "optimal": InstanceShape(96, 768 * 1024, 0, _X),
    "default_x86_64": InstanceShape(192, 1536 * 1024, 0, _X),
    "default_arm64": InstanceShape(64, 512 * 1024, 0, _A),
}

GPU_FAMILIES = frozenset(f for f, spec in _FAMILIES.items() if spec[2] > 0)
# NVIDIA GPU families, including those whose sizes the table above does not list (p5e, gr6, ...).
# g4ad (AMD Radeon) is excluded: ECS schedules NVIDIA GPUs only.
_NVIDIA = re.compile(r"^(p\d+|g\d+|gr\d+)[a-z]*$")

_SIZE = re.compile(r"^(?:(\d+)?x)?large$")
_GRAVITON = re.compile(r"^(a1|[a-z]+\d+g[a-z]*)$")
# GPUs per size for the GPU families whose count is not proportional to size.
_GPU_SIZES = {"12xlarge": 4, "24xlarge": 4, "48xlarge": 8}
_P3_GPUS = {"2xlarge": 1, "8xlarge": 4, "16xlarge": 8}


def architecture_of(instance_type: str) -> Architecture:
    """Architecture of an instance family, exact type or Batch alias (``c7g`` -> ARM64)."""
    name = instance_type.lower()
    if name in _ALIASES:
        return _ALIASES[name].architecture
    family = name.split(".", 1)[0]
    return _A if _GRAVITON.match(family) else _X


def is_gpu(instance_type: str) -> bool:
    family = instance_type.lower().split(".", 1)[0]
    return family in GPU_FAMILIES or (family != "g4ad" and bool(_NVIDIA.match(family)))


def shape_of(instance_type: str) -> InstanceShape | None:
    """The largest instance ``instance_type`` can launch, or None when unknown.

    A family (``c6i``) or alias (``optimal``) gives its largest size; an exact
    type (``c6i.2xlarge``) gives that size.
    """
    name = instance_type.lower()
    if name in _ALIASES:
        return _ALIASES[name]
    family, _, size = name.partition(".")
    spec = _FAMILIES.get(family)
    if spec is None:
        return None
    max_vcpus, max_mem_gib, max_gpus, gib_per_vcpu = spec
    arch = architecture_of(family)
    if not size or size == "metal":
        return InstanceShape(max_vcpus, max_mem_gib * 1024, max_gpus, arch)
    if size == "medium":
        vcpus = 1
    else:
        match = _SIZE.match(size)
        if match is None:
            return None
        vcpus = 2 if not size.endswith("xlarge") else 4 * int(match.group(1) or 1)
    vcpus = min(vcpus, max_vcpus)
    gpus = 0
    if max_gpus:
        if family in ("p4d", "p5"):  # sold only at their largest size
            gpus = max_gpus
        elif family == "p3":
            gpus = _P3_GPUS.get(size, 0)
        else:
            gpus = _GPU_SIZES.get(size, 1)
        gpus = min(gpus, max_gpus)
    return InstanceShape(vcpus, int(vcpus * gib_per_vcpu * 1024), gpus, arch)
