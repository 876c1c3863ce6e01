"""The benchmark's moto server: ``python -m benchmarks.motoserver -H 127.0.0.1 -p PORT`` (moto.server's
arguments), with one change to moto's DynamoDB.

moto's ``TransactWriteItems`` deep-copies every table it touches before each transaction, to roll back
if the transaction is cancelled. Once a table holds a few thousand items that takes seconds per
transaction on this machine (about 8 s at 1,500 items under load), so a 10,000-object run took hours of
real time. It is moto's own time, which the model leaves out (the proxy charges a modelled latency), so
only the benchmark's wall time suffers; but it made ``make bench`` unusable. Here a transaction made
only of ``Put``, ``Delete`` and ``ConditionCheck`` actions snapshots the table object and its item
dictionary (those actions replace or remove items, they never change one in place), which rolls back
the same; a transaction with an ``Update`` keeps moto's deep copy.
"""

from __future__ import annotations

import copy
import sys
from typing import Any

from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.server import main

_original = DynamoDBBackend.transact_write_items


class _SnapshotCopy:
    """Stands in for the ``copy`` module inside moto.dynamodb.models during one transaction."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        if not isinstance(value, Table):
            return copy.deepcopy(value, memo)
        snapshot = copy.copy(value)
        items = copy.copy(value.items)
        if value.has_range_key:
            for hash_key, ranges in items.items():
                items[hash_key] = dict(ranges)
        snapshot.items = items
        return snapshot


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    if any("Update" in item for item in transact_items):
        return _original(self, transact_items)
    dynamodb_models.copy = _SnapshotCopy()  # type: ignore[assignment]
    try:
        return _original(self, transact_items)
    finally:
        dynamodb_models.copy = copy


def install() -> None:
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def uninstall() -> None:
    DynamoDBBackend.transact_write_items = _original  # type: ignore[method-assign]


if __name__ == "__main__":
    install()
    main(sys.argv[1:])
