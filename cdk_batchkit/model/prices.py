"""Public compute prices behind the ``EstimatedJobCost`` metric: an estimate, never a bill.

Per vCPU-hour and per GiB-hour of what a job *reserved* (its vCPU and memory requirements, summed over
attempts and nodes), Linux, per region and architecture:

* **Fargate** publishes these two prices directly (https://aws.amazon.com/fargate/pricing/).
* **EC2** prices instances, not vCPUs: a per-vCPU and per-GiB price is derived from a reference instance
  of the general-purpose family (m7i.large for x86_64, m7g.large for arm64: 2 vCPUs, 8 GiB), splitting
  its hourly price in the ratio of Fargate's vCPU and GiB prices for the same architecture. On EC2 you
  pay for the instances Batch starts, idle capacity and bin-packing waste included, so the estimate is
  the job's share of well-packed capacity (a lower bound of what EC2 environments cost).
* **Spot** (EC2 Spot, Fargate Spot) is the on-demand price times :data:`SPOT_PRICE_FACTOR` (0.3: AWS
  advertises Fargate Spot at "up to 70%" off and EC2 Spot at "up to 90%" off; actual Spot prices move
  with supply and demand).
* GPUs, ephemeral storage above 20 GiB, data transfer and EBS are not priced.

Regions missing from :data:`REFERENCE_PRICES` use :data:`FALLBACK_REGION`'s prices (the function marks
such data points with ``price_region`` in the EMF metadata). Each figure names its source and the date
it was read. Plain Python, no aws_cdk import: the constructs pass the table to the monitoring function
as JSON.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .instances import Architecture
from .profiles import ComputeKind

FARGATE_PRICING = "https://aws.amazon.com/fargate/pricing/"
EC2_PRICING = "https://aws.amazon.com/ec2/pricing/on-demand/"
SPOT_PRICING = "https://aws.amazon.com/ec2/spot/pricing/"
#: When the figures below were read (from restatements of the AWS pages: the pages themselves could
#: not be opened from the build machine; see docs/guide/monitoring.md).
READ_ON = "2026-11-21"
FALLBACK_REGION = "us-east-1"
#: On-demand price x this = the Spot estimate (EC2 Spot and Fargate Spot).
SPOT_PRICE_FACTOR = 0.3


@dataclass(frozen=True)
class UnitPrice:
    """USD per vCPU-hour and per GiB-hour, with where the figures come from."""

    vcpu_hour: float
    gib_hour: float
    source: str
    read_on: str = READ_ON

    def times(self, factor: float, why: str) -> UnitPrice:
        return UnitPrice(
            self.vcpu_hour * factor, self.gib_hour * factor, f"{self.source}; {why}", self.read_on
        )


@dataclass(frozen=True)
class ReferenceInstance:
    """An EC2 instance type whose on-demand price stands for its family's per-vCPU/per-GiB price."""

    instance_type: str
    vcpus: int
    memory_gib: int
    hourly: float
    source: str = EC2_PRICING
    read_on: str = READ_ON

    def unit_price(self, fargate: UnitPrice) -> UnitPrice:
        """Split :attr:`hourly` into vCPU and GiB prices in the ratio of ``fargate``'s."""
        ratio = fargate.vcpu_hour / fargate.gib_hour
        gib_hour = self.hourly / (self.vcpus * ratio + self.memory_gib)
        return UnitPrice(
            gib_hour * ratio,
            gib_hour,
            f"{self.source} ({self.instance_type} ${self.hourly}/h, {self.vcpus} vCPU, "
            f"{self.memory_gib} GiB, split in Fargate's vCPU:GiB price ratio)",
            self.read_on,
        )


@dataclass(frozen=True)
class RegionPrices:
    fargate: dict[Architecture, UnitPrice]
    ec2: dict[Architecture, ReferenceInstance]


#: Linux on-demand prices per region.
REFERENCE_PRICES: dict[str, RegionPrices] = {
    "us-east-1": RegionPrices(
        fargate={
            Architecture.X86_64: UnitPrice(0.04048, 0.004445, FARGATE_PRICING),
            Architecture.ARM64: UnitPrice(0.03238, 0.00356, FARGATE_PRICING),
        },
        ec2={
            Architecture.X86_64: ReferenceInstance("m7i.large", 2, 8, 0.1008),
            Architecture.ARM64: ReferenceInstance("m7g.large", 2, 8, 0.0816),
        },
    ),
}


def price_key(kind: ComputeKind, architecture: Architecture | None) -> str:
    """``"FARGATE_SPOT/arm64"``: what the monitoring function looks prices up by. EKS kinds run on EC2
    nodes and unmanaged environments on EC2 instances you run: both are priced as EC2."""
    base = "FARGATE" if kind.fargate else "EC2"
    spot = "_SPOT" if kind.spot else ""
    return f"{base}{spot}/{(architecture or Architecture.X86_64).value}"


def unit_price(key: str, region: str, *, spot_factor: float = SPOT_PRICE_FACTOR) -> tuple[UnitPrice, str]:
    """The price of ``key`` (see :func:`price_key`) in ``region`` and the region whose prices were used."""
    used = region if region in REFERENCE_PRICES else FALLBACK_REGION
    prices = REFERENCE_PRICES[used]
    kind, _, arch_name = key.partition("/")
    architecture = Architecture(arch_name)
    fargate = prices.fargate[architecture]
    base = fargate if kind.startswith("FARGATE") else prices.ec2[architecture].unit_price(fargate)
    if kind.endswith("_SPOT"):
        base = base.times(spot_factor, f"Spot: x{spot_factor:g} ({SPOT_PRICING})")
    return base, used


def price_table(
    keys: Iterable[str], *, spot_factor: float = SPOT_PRICE_FACTOR
) -> dict[str, dict[str, list[float]]]:
    """``{region: {key: [usd per vCPU-hour, usd per GiB-hour]}}`` for every region of the table."""
    return {
        region: {
            key: [round(p.vcpu_hour, 8), round(p.gib_hour, 8)]
            for key in sorted(set(keys))
            for p in [unit_price(key, region, spot_factor=spot_factor)[0]]
        }
        for region in REFERENCE_PRICES
    }
