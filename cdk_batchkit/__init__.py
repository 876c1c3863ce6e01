"""cdk-batchkit: production-grade AWS Batch constructs for the AWS CDK.

The constructs are re-exported lazily, so importing ``cdk_batchkit.lambdas`` or
``cdk_batchkit.plan`` never loads aws-cdk-lib (and its jsii runtime).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    constructs = importlib.import_module(".constructs", __name__)
    if name in constructs.__all__:
        return getattr(constructs, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
