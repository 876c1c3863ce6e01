"""Moved to the testing kit: :mod:`cdk_batchkit.testing.sfn_shim` (re-exported for old imports)."""

from __future__ import annotations

from cdk_batchkit.testing.sfn_shim import PINNED_MOTO, batch_integration_shim

__all__ = ["PINNED_MOTO", "batch_integration_shim"]
