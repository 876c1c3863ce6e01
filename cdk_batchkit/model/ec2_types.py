"""Which EC2 instance types and families exist, from a list that stays current with AWS (no CDK import).

The list is the ``InstanceType`` enum of the EC2 service model that botocore ships
(``botocore/data/ec2/<api-version>/service-2.json.gz``), written to ``ec2_instance_types.json`` beside
this module so that nothing imports botocore at synth. Regenerate it after upgrading botocore::

    python -m cdk_batchkit.model.ec2_types --write    # rewrite the JSON from the installed botocore
    python -m cdk_batchkit.model.ec2_types --check    # exit 1 when the JSON is stale

(``tests/unit/test_ec2_types.py`` fails when the file and the pinned botocore disagree.)

What Batch accepts in a compute environment's ``instanceTypes``: exact types (``c5.8xlarge``), families
(``c5``, "any instance type within those families") and the aliases ``optimal``, ``default_x86_64`` and
``default_arm64`` (https://docs.aws.amazon.com/batch/latest/APIReference/API_ComputeResource.html,
``instanceTypes``). :func:`instance_type_problem` says what is wrong with one entry, with the closest
known name as a suggestion.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).with_name("ec2_instance_types.json")
COMPUTE_RESOURCE_DOC = "https://docs.aws.amazon.com/batch/latest/APIReference/API_ComputeResource.html"
#: Batch's own instance type aliases (ComputeResource.instanceTypes).
BATCH_ALIASES = frozenset({"optimal", "default_x86_64", "default_arm64"})


@cache
def _data() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    return loaded


@cache
def known_types() -> frozenset[str]:
    """Every instance type in the EC2 service model (``c6i.4xlarge``, ...)."""
    return frozenset(_data()["instance_types"])


@cache
def known_families() -> frozenset[str]:
    """Every family: the part of a known type before the dot (``c6i``, ``hpc7a``, ...)."""
    return frozenset(name.partition(".")[0] for name in known_types())


def source() -> str:
    """Where the list comes from (botocore version and EC2 API version)."""
    data = _data()
    return f"botocore {data['botocore_version']}, EC2 API {data['ec2_api_version']}"


def family_of(name: str) -> str:
    """``c6i.4xlarge`` -> ``c6i``; a family is its own family."""
    return name.partition(".")[0]


def is_alias(name: str) -> bool:
    """``optimal``, ``default_x86_64`` or ``default_arm64``."""
    return name in BATCH_ALIASES


def is_known_type(name: str) -> bool:
    """An exact instance type EC2 knows (``c6i.4xlarge``); False for families and aliases."""
    return name in known_types()


def is_known_family(family: str) -> bool:
    """A family EC2 knows (``c6i``, ``hpc7a``); False for exact types and aliases."""
    return family in known_families()


def is_known(name: str) -> bool:
    """Whatever Batch accepts in ``instanceTypes``: a known exact type, a known family or an alias."""
    return is_alias(name) or is_known_type(name) or is_known_family(name)


def suggest(name: str) -> str | None:
    """The known type, family or alias closest to ``name`` (``c6i.4xlarg`` -> ``c6i.4xlarge``), or None."""
    lowered = name.strip().lower()
    if lowered != name and is_known(lowered):
        return lowered
    if "." in lowered:
        candidates: frozenset[str] = known_types()
    else:
        candidates = known_families() | BATCH_ALIASES
    matches = difflib.get_close_matches(lowered, sorted(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def instance_type_problem(name: str) -> str | None:
    """What is wrong with one ``instance_types`` entry, or None when Batch would accept it."""
    if is_known(name):
        return None
    hint = suggest(name)
    did_you_mean = f"; did you mean {hint}?" if hint else ""
    kind = "instance type" if "." in name else "instance family or Batch alias"
    return (
        f"{name!r} is not a known EC2 {kind}{did_you_mean} (the list comes from {source()}; a type "
        "released after it is missing until cdk-batchkit's botocore pin moves)"
    )


# ------------------------------------------------------------------------------------------ generator


def generate() -> dict[str, Any]:
    """The data file's content from the installed botocore (imported here only)."""
    import botocore
    import botocore.session

    model = botocore.session.get_session().get_service_model("ec2")
    enum = model.shape_for("InstanceType").enum
    return {
        "source": "botocore/data/ec2/<api-version>/service-2.json: shape InstanceType, enum",
        "botocore_version": botocore.__version__,
        "ec2_api_version": model.api_version,
        "instance_types": sorted(set(enum)),
    }


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true", help=f"rewrite {DATA_FILE.name}")
    group.add_argument("--check", action="store_true", help=f"fail when {DATA_FILE.name} is stale")
    args = parser.parse_args(argv)
    fresh = render(generate())
    if args.write:
        DATA_FILE.write_text(fresh, encoding="utf-8")
        print(f"wrote {DATA_FILE} ({len(json.loads(fresh)['instance_types'])} types)")
        return 0
    if DATA_FILE.read_text(encoding="utf-8") != fresh:
        print(f"{DATA_FILE} is stale: run python -m cdk_batchkit.model.ec2_types --write", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
